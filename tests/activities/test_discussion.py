"""Discussion posts: lifecycle and windows, replies and quoting, likes, moderation rights."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.activities import workshop_services as svc
from lms.activities.models import Activity, ActivityMemberStat, Post, PostLike
from lms.core.db import utcnow
from lms.extensions import db
from tests.activities.conftest import LONG


def test_host_creates_activity_members_see_it_in_the_workshop_panel(world, login_as):
    host = login_as(world["host"])
    ws = world.workshop_a
    page = host.get(f"/workshops/{ws.id}/activities/new")
    assert page.status_code == 200
    r = host.post(
        f"/workshops/{ws.id}/activities/new",
        data={"kind": "discussion", "title": "课堂互动研讨", "description": "第一段\n\n第二段",
              "opens_at": "2020-01-01T08:00", "closes_at": "2099-01-01T08:00", "questions": ""},
    )  # fmt: skip
    assert r.status_code == 302, r.get_data(as_text=True)
    activity = db.session.scalar(select(Activity))
    assert activity.description_html == "<p>第一段</p><p>第二段</p>"
    # 08:00 in Shanghai is 00:00 UTC
    assert activity.opens_at.hour == 0
    member = login_as(world["member"])
    html = member.get(f"/workshops/{ws.id}").get_data(as_text=True)
    assert "课堂互动研讨" in html
    assert member.get(f"/activities/{activity.id}").status_code == 200
    # Members were told it opened, the host (its author) was not.
    from lms.notifications.models import Notification

    told = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "activity")))
    assert world["member"].id in told and world["leader"].id in told
    assert world["host"].id not in told
    assert world["member_b"].id not in told


def test_window_order_and_required_title(world, login_as):
    host = login_as(world["host"])
    ws = world.workshop_a
    r = host.post(f"/workshops/{ws.id}/activities/new", data={"kind": "discussion", "title": "x",
                  "opens_at": "2030-01-02T08:00", "closes_at": "2030-01-01T08:00"})  # fmt: skip
    assert r.status_code == 200
    assert "关闭时间必须晚于开放时间" in r.get_data(as_text=True) or "closing time" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Activity.id))) == 0


@pytest.mark.parametrize("role", ["member", "leader", "teacher", "outsider", "supervisor", "member_b"])
def test_who_may_not_create_activities(world, login_as, role):
    r = login_as(world[role]).post(
        f"/workshops/{world.workshop_a.id}/activities/new",
        data={"kind": "discussion", "title": "x", "opens_at": "2020-01-01T08:00"},
    )
    assert r.status_code in (403, 404)
    assert db.session.scalar(select(func.count(Activity.id))) == 0


def test_no_posting_before_open_or_after_close(world, login_as, make_activity):
    upcoming = make_activity(opens=2, closes=5)
    closed = make_activity(opens=-5, closes=-1)
    member = login_as(world["member"])
    for activity, words in ((upcoming, "尚未开放"), (closed, "已结束")):
        r = member.post(f"/activities/{activity.id}/posts", data={"body": LONG}, follow_redirects=True)
        html = r.get_data(as_text=True)
        assert words in html, html
        with pytest.raises(svc.ActivityError):
            svc.create_post(world["member"], activity, LONG)
    assert db.session.scalar(select(func.count(Post.id))) == 0
    # The page says so and shows no form.
    html = member.get(f"/activities/{closed.id}").get_data(as_text=True)
    assert 'id="new-post"' not in html
    # At the boundary: closes_at itself is closed.
    a = db.session.get(Activity, closed.id)
    assert a.phase(a.closes_at) == "closed" and a.phase(a.closes_at - timedelta(seconds=1)) == "open"


def test_post_reply_and_reply_to_reply_quotes(world, login_as, make_activity):
    activity = make_activity()
    member = login_as(world["member"])
    r = member.post(f"/activities/{activity.id}/posts", data={"body": LONG})
    assert r.status_code == 302
    post = db.session.scalar(select(Post))
    leader = login_as(world["leader"])
    assert leader.post(f"/posts/{post.id}/reply", data={"body": "很有启发，我也试试。"}).status_code == 302
    reply = db.session.scalar(select(Post).where(Post.parent_id == post.id))
    # A reply to the reply goes into the same thread and quotes it.
    assert member.post(f"/posts/{reply.id}/reply", data={"body": "谢谢，欢迎交流效果。"}).status_code == 302
    second = db.session.scalar(select(Post).where(Post.quote_id == reply.id))
    assert second.parent_id == post.id
    db.session.expire_all()
    assert db.session.get(Post, post.id).reply_count == 2
    assert db.session.get(Activity, activity.id).post_count == 3
    html = member.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "很有启发" in html and 'class="quote"' in html


def test_like_once_and_counter(world, login_as, make_activity):
    activity = make_activity()
    post = svc.create_post(world["member"], activity, LONG)
    leader = login_as(world["leader"])
    for _ in range(3):
        assert leader.post(f"/posts/{post.id}/like").status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post.id).like_count == 1
    assert db.session.scalar(select(func.count()).select_from(PostLike)) == 1
    leader.post(f"/posts/{post.id}/like", data={"undo": "1"})
    db.session.expire_all()
    assert db.session.get(Post, post.id).like_count == 0


@pytest.mark.parametrize(
    "role,allowed",
    [("host", True), ("expert", True), ("county_admin", True), ("school_admin", False), ("member", False),
     ("leader", False), ("host_b", False), ("supervisor", False), ("site_admin", True)],
)  # fmt: skip
def test_who_may_pin_and_hide(world, login_as, make_activity, role, allowed):
    activity = make_activity()
    post = svc.create_post(world["member"], activity, LONG)
    client = login_as(world[role])
    for action in ("pin", "hide"):
        r = client.post(f"/posts/{post.id}/moderate", data={"action": action})
        assert (r.status_code == 302) is allowed, (role, action, r.status_code)
        if not allowed:
            assert r.status_code in (403, 404)
    db.session.expire_all()
    p = db.session.get(Post, post.id)
    assert (p.pinned and p.hidden) is allowed


def test_hidden_posts_visible_to_host_only(world, login_as, make_activity):
    activity = make_activity()
    post = svc.create_post(world["member"], activity, "这是一条不当言论，需要坊主隐藏处理的帖子内容示例。")
    svc.moderate(world["host"], post, "hide")
    assert "不当言论" in login_as(world["host"]).get(f"/activities/{activity.id}").get_data(as_text=True)
    for role in ("member", "leader"):
        assert "不当言论" not in login_as(world[role]).get(f"/activities/{activity.id}").get_data(as_text=True)
    assert login_as(world["leader"]).post(f"/posts/{post.id}/reply", data={"body": "回复"}).status_code == 404
    api = login_as(world["leader"]).get(f"/api/v1/activities/{activity.id}/posts").get_json()
    assert api["items"] == []


def test_pin_puts_post_first_and_feature_filter(world, login_as, make_activity):
    activity = make_activity()
    first = svc.create_post(world["member"], activity, LONG)
    svc.create_post(world["leader"], activity, "第二条帖子：我用思维导图带学生梳理文章结构，效果很好。")
    svc.moderate(world["host"], first, "pin")
    svc.moderate(world["host"], first, "feature")
    thread = svc.thread_page(activity, world["member"])
    assert thread["page"].items[0].id == first.id
    featured = svc.thread_page(activity, world["member"], featured=True)
    assert [p.id for p in featured["page"].items] == [first.id]
    with pytest.raises(svc.ActivityError):
        reply = svc.create_post(world["leader"], activity, "回复一下", parent=first)
        svc.moderate(world["host"], reply, "pin")


def test_edit_and_delete_own_post_only(world, login_as, make_activity):
    activity = make_activity()
    post = svc.create_post(world["member"], activity, LONG)
    svc.create_post(world["member"], activity, "补充一句：我用的是希沃白板的课堂活动功能，操作简单。", parent=post)
    leader = login_as(world["leader"])
    assert leader.post(f"/posts/{post.id}/edit", data={"body": "改掉"}).status_code == 403
    assert leader.post(f"/posts/{post.id}/delete").status_code == 403
    member = login_as(world["member"])
    assert member.post(f"/posts/{post.id}/edit", data={"body": LONG + "（补充）"}).status_code == 302
    # Only their own replies under it: the whole thread goes.
    assert member.post(f"/posts/{post.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(Post.id))) == 0
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).post_count == 0
    stats = {s.user_id: (s.post_count, s.effective_count) for s in db.session.scalars(select(ActivityMemberStat))}
    assert stats[world["member"].id] == (0, 0)


def _stats():
    db.session.expire_all()
    return {s.user_id: (s.post_count, s.effective_count) for s in db.session.scalars(select(ActivityMemberStat))}


def test_author_deleting_a_thread_others_replied_to_keeps_their_replies(world, login_as, make_activity):
    import io

    from lms.media.models import StoredFile
    from tests.activities.test_isolation_xss import PNG

    activity = make_activity()
    member, leader = world["member"], world["leader"]
    client = login_as(member)
    client.post(f"/activities/{activity.id}/posts", content_type="multipart/form-data",
                data={"body": LONG, "files": (io.BytesIO(PNG), "板书.png")})  # fmt: skip
    post = db.session.scalar(select(Post))
    file_id = post.attachments[0].stored_file_id
    reply = svc.create_post(leader, activity, "很有启发！我们年级也在用平板推送练习，学生的反馈很积极。", parent=post)
    svc.like(leader, post)
    assert _stats()[member.id] == (1, 1) and _stats()[leader.id] == (1, 1)
    # The author's page warns that the replies stay; the delete is not a whole-thread delete.
    html = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "其他成员已回复：他们的回复会保留" in html and 'name="whole_thread"' not in html
    r = client.post(f"/posts/{post.id}/delete", follow_redirects=True)
    assert r.status_code == 200 and "回复会保留" in r.get_data(as_text=True)
    db.session.expire_all()
    post = db.session.get(Post, post.id)
    assert post is not None and post.deleted_at is not None
    assert post.body_html == "" and post.body_text == "" and post.attachments == [] and post.like_count == 0
    assert db.session.get(StoredFile, file_id) is None  # the author's file went with the text
    assert db.session.get(Post, reply.id).parent_id == post.id
    # The author's post no longer counts; the reply still does.
    assert _stats()[member.id] == (0, 0) and _stats()[leader.id] == (1, 1)
    assert db.session.get(Activity, activity.id).post_count == 1
    # Everyone sees the placeholder with the reply under it; the thread takes replies still.
    other = login_as(leader)
    html = other.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "该帖已被作者删除" in html and "我们年级也在用平板推送练习" in html and LONG not in html
    assert other.post(f"/posts/{post.id}/reply", data={"body": "同意楼上的看法。"}).status_code == 302
    api = other.get(f"/api/v1/activities/{activity.id}/posts").get_json()
    assert api["items"][0]["deleted"] is True and api["items"][0]["body_html"] == ""
    assert len(api["items"][0]["replies"]) == 2
    # The placeholder can be neither edited, liked nor deleted again by its author.
    assert client.post(f"/posts/{post.id}/edit", data={"body": LONG}).status_code == 403
    with pytest.raises(svc.ActivityError):
        svc.like(leader, post)
    assert client.post(f"/posts/{post.id}/delete").status_code == 403
    # Search and the feed forget it.
    from lms.activities.wiring import load_posts

    assert [d["id"] for d in load_posts([post.id, reply.id])] == [reply.id]


def test_only_moderators_remove_a_thread_with_others_replies(world, login_as, make_activity):
    activity = make_activity()
    member, leader, host = world["member"], world["leader"], world["host"]
    post = svc.create_post(member, activity, LONG)
    svc.create_post(leader, activity, "很有启发！我们年级也在用平板推送练习，学生的反馈很积极。", parent=post)
    # The author may not ask for the whole thread; nothing is lost.
    assert login_as(member).post(f"/posts/{post.id}/delete", data={"whole_thread": "1"}).status_code == 403
    with pytest.raises(PermissionError):
        svc.delete_post(member, post, whole_thread=True)
    # A moderator's plain delete of someone else's thread is refused with a reason…
    host_client = login_as(host)
    r = host_client.post(f"/posts/{post.id}/delete", follow_redirects=True)
    assert "只有删除整个主题帖" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Post.id))) == 2
    # …the page offers the whole thread, with a confirm text saying the replies go too.
    html = host_client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert 'name="whole_thread" value="1"' in html and "删除整个主题帖" in html
    assert "连同其他成员的回复" in html
    assert host_client.post(f"/posts/{post.id}/delete", data={"whole_thread": "1"}).status_code == 302
    assert db.session.scalar(select(func.count(Post.id))) == 0
    assert _stats()[member.id] == (0, 0) and _stats()[leader.id] == (0, 0)
    assert db.session.get(Activity, activity.id).post_count == 0


def test_moderator_removes_a_thread_whose_head_its_author_deleted(world, make_activity):
    activity = make_activity()
    post = svc.create_post(world["member"], activity, LONG)
    svc.create_post(world["leader"], activity, "很有启发！我们年级也在用平板推送练习，学生的反馈很积极。", parent=post)
    assert svc.delete_post(world["member"], post) == "blanked"
    assert db.session.get(Activity, activity.id).post_count == 1
    assert svc.delete_post(world["host"], post, whole_thread=True) == "deleted"
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).post_count == 0  # the placeholder was not counted twice


def _close(activity):
    activity.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def test_members_cannot_delete_posts_after_the_activity_closed(world, login_as, make_activity):
    activity = make_activity()
    post = svc.create_post(world["member"], activity, LONG)
    reply = svc.create_post(
        world["member"], activity, "补充一句：我用的是希沃白板的课堂活动功能，操作简单。", parent=post
    )
    _close(activity)
    member = login_as(world["member"])
    html = member.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f'/posts/{post.id}/delete"' not in html and f'/posts/{reply.id}/delete"' not in html
    for target in (post, reply):
        r = member.post(f"/posts/{target.id}/delete", follow_redirects=True)
        assert "本活动已结束，不能再发帖、上传或删除" in r.get_data(as_text=True)
    with pytest.raises(svc.ActivityError):
        svc.delete_post(world["member"], post)
    assert db.session.scalar(select(func.count(Post.id))) == 2
    assert _stats()[world["member"].id] == (2, 2)
    # The host may still clean up.
    assert f'/posts/{post.id}/delete"' in login_as(world["host"]).get(f"/activities/{activity.id}").get_data(
        as_text=True
    )
    assert svc.delete_post(world["host"], reply) == "deleted"


def test_delete_activity_removes_everything(world, login_as, make_activity):
    activity = make_activity()
    svc.create_post(world["member"], activity, LONG)
    assert login_as(world["member"]).post(f"/activities/{activity.id}/delete").status_code == 403
    assert login_as(world["host"]).post(f"/activities/{activity.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(Post.id))) == 0
    assert db.session.scalar(select(func.count(ActivityMemberStat.user_id))) == 0


def test_opening_later_notifies_when_it_opens(world, make_activity):
    from lms.notifications.models import Notification

    activity = make_activity(opens=1, closes=5)
    count = select(func.count(Notification.id)).where(Notification.kind == "activity")
    assert db.session.scalar(count) == 0
    assert svc.announce_opened() == 0
    activity.opens_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert svc.announce_opened() == 1
    assert svc.announce_opened() == 0
    assert db.session.scalar(count) >= 2


def test_the_scheduler_announces_an_activity_when_it_opens(app, world, make_activity):
    """No page view and no cron: the periodic task tells the members once the opening time has passed."""
    from lms.core.schedule import run_due
    from lms.notifications.models import Notification

    activity = make_activity(opens=1, closes=5)
    told = select(Notification.user_id).where(Notification.kind == "activity")
    assert run_due(app, force=True)["activities.announce_opened"] == "ok"
    assert list(db.session.scalars(told)) == []
    activity.opens_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    run_due(app, force=True)
    assert world["member"].id in set(db.session.scalars(told))
    assert activity.author_id not in set(db.session.scalars(told))
