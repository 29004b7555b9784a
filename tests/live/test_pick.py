"""Picking Q&A-area threads 答疑区 into a session's question queue, the hosts' "collected questions"
panel, the thread's "answered in the live Q&A" link, replays of sessions that never went live, and
the ingest body cap."""

from datetime import timedelta

from sqlalchemy import func, select

from lms.core.db import utcnow
from lms.extensions import db as _db
from lms.live import services, video
from lms.live.models import LiveQuestion, LiveSession, QaThread
from lms.notifications.models import Notification
from tests.factories import make_user
from tests.live.conftest import NS, call, events
from tests.live.test_query_counts import statements


def _thread(world, who="member", title="大单元教学如何设计评价？", ctx=None, subject="math"):
    return services.ask_thread(world[who], ctx or world.workshop_a.context, title, "请专家举例说明。", subject)


def _told(user, needle):
    return [(n.text, n.url) for n in _db.session.scalars(select(Notification).where(Notification.user_id == user.id))
            if needle in n.text]  # fmt: skip


def _picked(thread_id):
    return _db.session.scalars(select(LiveQuestion).where(LiveQuestion.thread_id == thread_id)).all()


def test_host_picks_a_thread_into_the_queue_once(world, session, sock, login_as, db):
    t = _thread(world)
    viewer = sock(world["leader"])
    assert call(viewer, "join", session_id=session.id)["ok"]
    viewer.get_received(NS)
    r = login_as(world["expert"]).post(f"/live/{session.id}/pick/{t.id}", follow_redirects=True)
    assert r.status_code == 200 and "问题已加入提问队列" in r.get_data(as_text=True)
    [q] = _picked(t.id)
    assert (q.session_id, q.author_id, q.status) == (session.id, world["member"].id, "open")
    assert q.body.startswith("大单元教学如何设计评价？") and "请专家举例说明。" in q.body
    # Everyone in the room sees it arrive, with the link back to the thread.
    [ev] = events(viewer, "question.new")
    assert ev["data"]["id"] == q.id and ev["data"]["thread"] == t.id and ev["data"]["author"] == "李老师"
    told = _told(world["member"], "将在直播答疑")
    assert told == [(told[0][0], f"/live/{session.id}")] and "数学大单元教学专家答疑" in told[0][0]
    # Twice: nothing more (no second question, event or notification).
    r = login_as(world["expert"]).post(f"/live/{session.id}/pick/{t.id}", follow_redirects=True)
    assert "这个问题已经选用过了" in r.get_data(as_text=True)
    assert len(_picked(t.id)) == 1 and not events(viewer, "question.new")
    assert len(_told(world["member"], "将在直播答疑")) == 1
    _db.session.expire_all()
    assert _db.session.get(LiveSession, session.id).question_count == 1
    page = login_as(world["leader"]).get(f"/live/{session.id}").get_data(as_text=True)
    assert f'href="/live/qa/{t.id}"' in page and "来自答疑区" in page


def test_teachers_and_hosts_elsewhere_cannot_pick(world, session, login_as, db, app):
    t = _thread(world)
    for who in ("member", "leader"):  # viewers of the session, not hosts
        assert login_as(world[who]).post(f"/live/{session.id}/pick/{t.id}").status_code == 403
        assert 'id="collected"' not in login_as(world[who]).get(f"/live/{session.id}").get_data(as_text=True)
    # The host of workshop B hosts its own session but cannot see workshop A's thread.
    start = utcnow() + timedelta(hours=2)
    other = services.schedule(world["host_b"], world.workshop_b.context, "语文答疑", start, start + timedelta(hours=1))
    r = login_as(world["host_b"]).post(f"/live/{other.id}/pick/{t.id}", follow_redirects=True)
    assert "您没有执行此操作的权限" in r.get_data(as_text=True)
    assert "大单元教学如何设计评价" not in r.get_data(as_text=True)
    assert services.collected_threads(world["host_b"], other) == []
    # A thread of another subject, or one an expert already answered, is not pickable either.
    chinese = _thread(world, title="作文怎么教？", subject="chinese")
    answered = _thread(world, title="已经答过的问题")
    services.answer_thread(world["expert"], answered, "见附件。")
    for th in (chinese, answered):
        r = login_as(world["expert"]).post(f"/live/{session.id}/pick/{th.id}", follow_redirects=True)
        assert "这个问题不能选入本场直播" in r.get_data(as_text=True)
    assert _picked(chinese.id) == [] and _picked(answered.id) == []
    assert not _told(world["member"], "将在直播答疑")


def test_collected_panel_for_hosts(world, session, login_as, db):
    old = _thread(world, title="旧问题")
    popular = _thread(world, title="大家都关心的问题")
    services.answer_thread(world["leader"], popular, "我也想知道。")  # a colleague's reply: still open
    new = _thread(world, title="新问题")
    county = _thread(world, title="县里的问题", ctx=world.county_a.context)  # the asker is in the audience
    picked = _thread(world, title="已选用的问题")
    services.pick_thread(world["expert"], session, picked)
    page = login_as(world["expert"]).get(f"/live/{session.id}").get_data(as_text=True)
    panel = page.split('id="collected"')[1].split("</section>")[0]
    assert panel.index("大家都关心的问题") < panel.index("新问题") < panel.index("旧问题")
    assert "县里的问题" in panel and "已选用的问题" not in panel
    assert f'action="/live/{session.id}/pick/{old.id}"' in panel and 'name="csrf_token"' in panel
    assert {t.id for t in services.collected_threads(world["expert"], session)} == {old.id, popular.id, new.id,
                                                                                      county.id}  # fmt: skip
    services.set_status(world["expert"], session, "ended")
    assert 'id="collected"' not in login_as(world["expert"]).get(f"/live/{session.id}").get_data(as_text=True)
    r = login_as(world["expert"]).post(f"/live/{session.id}/pick/{old.id}", follow_redirects=True)
    assert "本场直播已结束" in r.get_data(as_text=True)
    assert _picked(old.id) == []


def test_thread_shows_it_was_answered_live(world, session, sock, login_as, db):
    t = _thread(world)
    q, added = services.pick_thread(world["expert"], session, t)
    assert added
    page = login_as(world["member"]).get(f"/live/qa/{t.id}").get_data(as_text=True)
    assert "已选入直播答疑" in page and f'href="/live/{session.id}"' in page
    host = sock(world["expert"])
    assert call(host, "status", session_id=session.id, status="live")["ok"]
    assert call(host, "mark", question_id=q.id, status="answered")["ok"]
    services.set_status(world["expert"], session, "ended")
    page = login_as(world["member"]).get(f"/live/qa/{t.id}").get_data(as_text=True)
    assert "已在直播答疑中解答" in page and f'href="/live/{session.id}/replay"' in page
    replay = login_as(world["member"]).get(f"/live/{session.id}/replay").get_data(as_text=True)
    assert f'href="/live/qa/{t.id}"' in replay
    # The thread can go; the question stays in the replay, unlinked.
    _db.session.delete(_db.session.get(QaThread, t.id))
    _db.session.commit()
    _db.session.expire_all()
    assert _db.session.get(LiveQuestion, q.id).thread_id is None


def test_sessions_that_never_went_live_are_not_replays(world, login_as, db, app):
    start = utcnow() - timedelta(days=2)
    never = services.schedule(world["expert"], world.workshop_a.context, "没有开播的答疑", start,
                              start + timedelta(hours=1), "math")  # fmt: skip
    held = services.schedule(world["expert"], world.workshop_a.context, "开过的答疑", start,
                             start + timedelta(hours=1), "math")  # fmt: skip
    services.set_status(world["expert"], held, "live")
    assert services.end_overdue() == 2
    past = login_as(world["member"]).get("/live").get_data(as_text=True).split('id="past"')[1]
    assert "开过的答疑" in past and "没有开播的答疑" not in past
    assert [s.id for s in services.visible_sessions(world["member"], ("ended",), held=True)] == [held.id]
    assert never.id in [s.id for s in services.visible_sessions(world["member"], ("ended",))]


def test_ingest_refuses_an_oversized_chunk_unread(world, session, login_as, db):
    from lms.core.uploads import FORM_OVERHEAD

    client = login_as(world["expert"])
    services.set_status(world["expert"], session, "live")
    r = client.post(f"/live/{session.id}/ingest?n=0&rec=1", data=b"\0" * (video.MAX_CHUNK + FORM_OVERHEAD + 1),
                    headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert r.status_code == 413
    _db.session.expire_all()
    assert _db.session.get(LiveSession, session.id).video_status == "none"


def test_pages_with_picked_threads_are_n_plus_1_free(world, session, login_as, db):
    client = login_as(world["expert"])

    def grow(n):
        for i in range(n):
            u = make_user(f"asker{session.id}_{_db.session.scalar(select(func.count(QaThread.id)))}_{i}", "新老师",
                          world.school_a, subject="math")  # fmt: skip
            from lms.communities import services as community

            community.add_member(world.workshop_a, u)
            _db.session.commit()
            services.pick_thread(
                world["expert"], session, _thread({"member": u}, title=f"选用 {i}", ctx=world.workshop_a.context)
            )
            _thread({"member": u}, title=f"待选 {i}", ctx=world.workshop_a.context)

    grow(2)
    few = len(statements(client, f"/live/{session.id}"))
    t = _db.session.scalars(select(QaThread).order_by(QaThread.id.desc())).first()
    few_thread = len(statements(client, f"/live/qa/{t.id}"))
    grow(6)
    assert len(statements(client, f"/live/{session.id}")) == few
    t = _db.session.scalars(select(QaThread).order_by(QaThread.id.desc())).first()
    assert len(statements(client, f"/live/qa/{t.id}")) == few_thread


def test_two_hosts_picking_at_once_add_one_question(world, session, app, db):
    from lms.accounts.models import User
    from tests.conftest import at_once

    start = utcnow() + timedelta(hours=3)
    county = services.schedule(world["county_admin"], world.county_a.context, "县级答疑", start,
                               start + timedelta(hours=1), "math")  # fmt: skip
    hosts = [(world["expert"].id, session.id), (world["county_admin"].id, county.id)] * 2
    for round_ in range(3):
        tid = _thread(world, title=f"抢着选的问题{round_}").id
        turn = iter(hosts)

        def act(tid=tid, turn=turn):
            uid, sid = next(turn)
            try:
                _q, added = services.pick_thread(_db.session.get(User, uid), _db.session.get(LiveSession, sid),
                                                 _db.session.get(QaThread, tid))  # fmt: skip
                return added
            except Exception as err:  # noqa: BLE001 - reported below
                _db.session.rollback()
                return repr(err)

        results = at_once(app, len(hosts), act)
        assert sorted(results, key=str) == [False] * (len(hosts) - 1) + [True], results
        _db.session.expire_all()
        assert len(_picked(tid)) == 1
        assert len(_told(world["member"], f"抢着选的问题{round_}")) == 1
    _db.session.expire_all()
    counts = [_db.session.get(LiveSession, s).question_count for s in (session.id, county.id)]
    assert sum(counts) == 3


def test_a_cancelled_sessions_threads_can_be_picked_again(world, session, db):
    """Calling a session off sends its picked threads back to the Q&A area: another session takes
    them, and the asker hears of the cancellation."""
    t = _thread(world)
    services.pick_thread(world["expert"], session, t)
    services.cancel(world["expert"], session, "专家临时出差")
    assert _picked(t.id) == []  # the cancelled session keeps the question, unlinked
    assert services.thread_live_question(t) is None
    start = utcnow() + timedelta(days=2)
    end = start + timedelta(hours=1)
    other = services.schedule(world["expert"], world.workshop_a.context, "改期的答疑", start, end, "math")
    assert t in services.collected_threads(world["expert"], other)
    q, new = services.pick_thread(world["expert"], other, t)
    assert new and q.session_id == other.id and [x.id for x in _picked(t.id)] == [q.id]
    assert _told(world["member"], "专家临时出差")
