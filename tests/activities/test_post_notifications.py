"""Authors hear about replies, likes (coalesced) and a host hiding or featuring their post: stored
for an offline author, pushed live on /notify to a connected one, in the site's language."""

from datetime import timedelta

from sqlalchemy import select

from lms.activities import workshop_services as svc
from lms.activities.models import Post
from lms.extensions import db, socketio
from lms.notifications.models import Notification
from tests.activities.conftest import LONG


def _rows(user, kind=None):
    db.session.expire_all()
    stmt = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


def _socket(app, client):
    with app.app_context():  # its own context, as a real connection has
        return socketio.test_client(app, namespace="/notify", flask_test_client=client)


def _pushed(sc):
    return [e["args"][0] for e in sc.get_received("/notify") if e["name"] == "notification"]


def test_reply_notifies_the_parent_author_not_the_replier(world, login_as, make_activity):
    activity = make_activity(title="课堂互动")
    member, leader = world["member"], world["leader"]
    post = svc.create_post(member, activity, LONG)
    # Offline author: the reply is stored for later, in Chinese, linking to the reply.
    r = login_as(leader).post(f"/posts/{post.id}/reply", data={"body": "同意你的看法，我也试过。"})
    assert r.status_code == 302
    reply = db.session.scalar(select(Post).where(Post.parent_id == post.id))
    rows = _rows(member, "post_reply")
    assert [n.text for n in rows] == [f"{leader.name} 回复了你在“课堂互动”中的帖子。"]
    assert rows[0].url == f"/activities/{activity.id}#post-{reply.id}"
    assert rows[0].actor_id == leader.id
    # Replying in one's own thread tells nobody about it (the replier is dropped).
    svc.create_post(member, activity, "补充一点：学生反馈很好。", parent=post)
    assert len(_rows(member, "post_reply")) == 1
    assert _rows(leader, "post_reply") == []
    # A reply to a reply tells the quoted author and the thread's author.
    svc.create_post(world["host"], activity, "说得好", parent=reply)
    assert len(_rows(leader, "post_reply")) == 1
    assert len(_rows(member, "post_reply")) == 2


def test_reply_pushed_live_to_a_connected_author(app, world, login_as, make_activity):
    activity = make_activity()
    post = svc.create_post(world["member"], activity, LONG)
    sc = _socket(app, login_as(world["member"]))
    assert sc.is_connected("/notify")
    sc.get_received("/notify")
    assert login_as(world["leader"]).post(f"/posts/{post.id}/reply", data={"body": "赞同"}).status_code == 302
    got = _pushed(sc)
    assert len(got) == 1 and got[0]["kind"] == "post_reply" and "回复了你" in got[0]["text"]
    assert got[0]["unread"] == len([n for n in _rows(world["member"]) if n.read_at is None])
    sc.disconnect("/notify")


def test_likes_are_coalesced_one_notice_per_post_per_hour(app, world, login_as, make_activity):
    activity = make_activity(title="课堂互动")
    member = world["member"]
    post = svc.create_post(member, activity, LONG)
    sc = _socket(app, login_as(member))
    sc.get_received("/notify")
    svc.like(member, post)  # one's own like: no notice
    assert _rows(member, "post_liked") == []
    assert login_as(world["leader"]).post(f"/posts/{post.id}/like").status_code == 302
    got = _pushed(sc)
    assert [g["kind"] for g in got] == ["post_liked"]
    assert got[0]["text"] == f"{world['leader'].name} 赞了你在“课堂互动”中的帖子。"
    svc.like(world["host"], post)
    svc.like(world["expert"], post)
    svc.unlike(world["leader"], post)
    svc.like(world["leader"], post)
    assert len(_rows(member, "post_liked")) == 1
    assert _pushed(sc) == []
    # An hour later the next like tells again.
    first = _rows(member, "post_liked")[0]
    first.created_at -= svc.LIKE_NOTICE_WINDOW + timedelta(seconds=1)
    db.session.commit()
    svc.unlike(world["host"], post)
    svc.like(world["host"], post)
    assert len(_rows(member, "post_liked")) == 2
    # Another post of the same author has its own window.
    other = svc.create_post(member, activity, "第二个帖子：分层作业的设计与反馈很重要。")
    svc.like(world["host"], other)
    assert len(_rows(member, "post_liked")) == 3
    sc.disconnect("/notify")


def test_hide_unhide_and_feature_tell_the_author(app, world, login_as, make_activity):
    activity = make_activity(title="课堂互动")
    member = world["member"]
    post = svc.create_post(member, activity, LONG)
    host = login_as(world["host"])
    assert host.post(f"/posts/{post.id}/moderate", data={"action": "hide"}).status_code == 302
    (hidden,) = _rows(member, "post_hide")
    assert "隐藏" in hidden.text and "有效帖" in hidden.text and "课堂互动" in hidden.text
    assert hidden.url == f"/activities/{activity.id}"
    # Hiding it again (a stale page) tells nothing new.
    host.post(f"/posts/{post.id}/moderate", data={"action": "hide"})
    assert len(_rows(member, "post_hide")) == 1
    sc = _socket(app, login_as(member))
    sc.get_received("/notify")
    host.post(f"/posts/{post.id}/moderate", data={"action": "unhide"})
    host.post(f"/posts/{post.id}/moderate", data={"action": "feature"})
    assert [g["kind"] for g in _pushed(sc)] == ["post_unhide", "post_feature"]
    assert "精华" in _rows(member, "post_feature")[0].text
    # Pinning, unfeaturing: no notice. A host moderating their own post: none either.
    host.post(f"/posts/{post.id}/moderate", data={"action": "pin"})
    host.post(f"/posts/{post.id}/moderate", data={"action": "unfeature"})
    assert _pushed(sc) == []
    own = svc.create_post(world["host"], activity, "主持人的帖子：请大家结合课例讨论。")
    svc.moderate(world["host"], own, "feature")
    assert _rows(world["host"], "post_feature") == []
    sc.disconnect("/notify")


def test_notices_are_in_the_site_language_from_an_english_request(world, login_as, make_activity):
    activity = make_activity(title="课堂互动")
    post = svc.create_post(world["member"], activity, LONG)
    leader = login_as(world["leader"])
    leader.post("/lang/en", data={"next": "/"})
    leader.post(f"/posts/{post.id}/like")
    assert _rows(world["member"], "post_liked")[0].text.endswith("赞了你在“课堂互动”中的帖子。")
