"""A session's life after scheduling: the list shows what is live or still to come, the host edits
or cancels it (forms), and sessions nobody ended are ended by the scheduler after their end time."""

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from lms.core.db import utcnow
from lms.core.schedule import run_due
from lms.extensions import db as _db
from lms.live import services, video
from lms.live.models import LiveEvent, LiveSession
from lms.media import live_hls
from lms.notifications.models import Notification
from tests.live.test_video import _chunks


def _schedule(world, title, starts_in, hours=1.0, user="expert"):
    start = utcnow() + starts_in
    return services.schedule(
        world[user], world.workshop_a.context, title, start, start + timedelta(hours=hours), "math"
    )


def _fresh(session_id) -> LiveSession:
    _db.session.expire_all()
    return _db.session.get(LiveSession, session_id)


def _told(user, needle):
    return [n.text for n in _db.session.scalars(select(Notification).where(Notification.user_id == user.id))
            if needle in n.text]  # fmt: skip


def test_upcoming_list_live_first_then_by_date_without_overdue(world, login_as, db):
    later = _schedule(world, "下周的答疑", timedelta(days=7))
    soon = _schedule(world, "明天的答疑", timedelta(days=1))
    overdue = _schedule(world, "上周忘了结束的答疑", -timedelta(days=7))  # scheduled, never held
    live = _schedule(world, "正在进行的答疑", -timedelta(minutes=10))
    services.set_status(world["expert"], live, "live")
    assert [s.id for s in services.visible_sessions(world["member"])] == [live.id, soon.id, later.id]
    page = login_as(world["member"]).get("/live").get_data(as_text=True).split('id="past"')[0]
    assert page.index("正在进行的答疑") < page.index("明天的答疑") < page.index("下周的答疑")
    assert "上周忘了结束的答疑" not in page
    space = login_as(world["member"]).get("/me").get_data(as_text=True)
    assert "明天的答疑" in space and "上周忘了结束的答疑" not in space
    assert overdue.status == "scheduled"


def test_scheduler_ends_sessions_past_their_end(app, world, db, webm):  # noqa: F811
    grace = timedelta(minutes=app.config["LIVE_END_GRACE_MINUTES"])
    forgotten = _schedule(world, "忘了结束的直播", -timedelta(hours=3))
    services.set_status(world["expert"], forgotten, "live")
    never = _schedule(world, "没有开始的答疑", -timedelta(days=2))
    overtime = _schedule(world, "拖堂的直播", -(timedelta(hours=1) + grace - timedelta(minutes=5)))
    services.set_status(world["expert"], overtime, "live")
    coming = _schedule(world, "明天的答疑", timedelta(days=1))
    # The forgotten session's camera is still sending: the end finishes its recording too.
    root = Path(app.config["MEDIA_ROOT"]) / video.relpath(forgotten.id)
    for n, c in enumerate(_chunks(webm)):
        video.feed(forgotten, c, n)
    assert video.running(forgotten.id)
    assert run_due(app, force=True)["live.end_overdue"] == "ok"
    assert [(_fresh(s.id).status) for s in (forgotten, never, overtime, coming)] == ["ended", "ended", "live",
                                                                                     "scheduled"]  # fmt: skip
    assert services.end_overdue() == 0  # once
    end = time.monotonic() + 60
    while _fresh(forgotten.id).video_status != "ready" and time.monotonic() < end:
        time.sleep(0.2)
    assert _fresh(forgotten.id).video_status == "ready" and not video.running(forgotten.id)
    assert (root / live_hls.PLAYLIST).read_text().rstrip().endswith("#EXT-X-ENDLIST")
    ended = [e.data for e in _db.session.scalars(select(LiveEvent).where(LiveEvent.session_id == never.id))]
    assert ended == [{"status": "ended"}]
    assert _fresh(never.id).ended_at is not None


def test_host_edits_a_session(world, login_as, db):
    s = _schedule(world, "数学答疑", timedelta(days=3))
    assert login_as(world["member"]).get(f"/live/{s.id}/edit").status_code == 403
    assert login_as(world["member"]).post(f"/live/{s.id}/edit", data={"title": "改"}).status_code == 403
    host = login_as(world["host"])  # the workshop's host may schedule there, so may edit
    page = host.get(f"/live/{s.id}/edit").get_data(as_text=True)
    assert "数学答疑" in page and 'name="csrf_token"' in page and "取消" in page
    data = {"title": "数学答疑（改期）", "subject": "math", "starts_at": "2030-03-01T19:00",
            "ends_at": "2030-03-01T20:30", "description": "改到周五晚上"}  # fmt: skip
    r = host.post(f"/live/{s.id}/edit", data=data)
    assert r.status_code == 302
    s = _fresh(s.id)
    assert (s.title, s.starts_at.hour, s.description) == ("数学答疑（改期）", 11, "改到周五晚上")  # 19:00 Beijing
    assert any("2030-03-01 19:00" in t for t in _told(world["member"], "数学答疑（改期）"))  # the new time
    # Ending before it starts is refused, and nothing changes.
    r = host.post(f"/live/{s.id}/edit", data={"title": "坏的", "starts_at": "2030-03-01T19:00",
                                              "ends_at": "2030-03-01T18:00"})  # fmt: skip
    assert r.status_code == 200 and "结束时间" in r.get_data(as_text=True)
    assert _fresh(s.id).title == "数学答疑（改期）"
    assert f'href="/live/{s.id}/edit"' in host.get(f"/live/{s.id}").get_data(as_text=True)
    assert "/edit" not in login_as(world["member"]).get(f"/live/{s.id}").get_data(as_text=True)


def test_forms_need_the_csrf_token(app, world, login_as, db):
    s = _schedule(world, "数学答疑", timedelta(days=3))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        host = login_as(world["expert"])
        assert host.post(f"/live/{s.id}/cancel", data={"reason": "x"}).status_code == 400
        assert host.post(f"/live/{s.id}/edit", data={"title": "x", "starts_at": "2030-03-01T19:00",
                                                     "ends_at": "2030-03-01T20:00"}).status_code == 400  # fmt: skip
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _fresh(s.id).status == "scheduled" and _fresh(s.id).title == "数学答疑"


def test_host_cancels_and_the_audience_is_told(world, login_as, db):
    s = _schedule(world, "周三数学答疑", timedelta(days=2))
    services.ask(world["member"], s, "课前的问题")
    assert login_as(world["member"]).post(f"/live/{s.id}/cancel", data={"reason": "x"}).status_code == 403
    r = login_as(world["expert"]).post(f"/live/{s.id}/cancel", data={"reason": "专家临时出差"})
    assert r.status_code == 302
    assert _fresh(s.id).status == "cancelled"
    told = _told(world["member"], "周三数学答疑")
    assert any("取消" in t and "专家临时出差" in t for t in told), told
    assert _told(world["leader"], "取消")  # everyone the session was announced to
    assert _told(world["teacher_b"], "取消") == []
    page = login_as(world["member"]).get(f"/live/{s.id}").get_data(as_text=True)
    assert "已取消" in page and 'id="live-ask"' not in page
    assert "周三数学答疑" not in login_as(world["member"]).get("/live").get_data(as_text=True)
    try:
        services.ask(world["member"], _fresh(s.id), "还能问吗")
        raise AssertionError("a cancelled session took a question")
    except services.LiveError as err:
        assert err.code == "closed"
    kinds = [e.data for e in _db.session.scalars(select(LiveEvent).where(LiveEvent.kind == "session.status"))]
    assert kinds == [{"status": "cancelled"}]


def test_a_live_or_ended_session_cannot_be_cancelled_or_edited(world, login_as, db):
    s = _schedule(world, "进行中的答疑", -timedelta(minutes=5))
    services.set_status(world["expert"], s, "live")
    host = login_as(world["expert"])
    r = host.post(f"/live/{s.id}/cancel", data={"reason": ""}, follow_redirects=True)
    assert "只能取消尚未开始的场次" in r.get_data(as_text=True)
    assert _fresh(s.id).status == "live"
    assert 'id="live-cancel"' not in host.get(f"/live/{s.id}/edit").get_data(as_text=True)  # edit only
    services.set_status(world["expert"], _fresh(s.id), "ended")
    r = host.get(f"/live/{s.id}/edit")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/live/{s.id}")
    r = host.post(f"/live/{s.id}/edit", data={"title": "改", "starts_at": "2030-03-01T19:00",
                                              "ends_at": "2030-03-01T20:00"})  # fmt: skip
    assert r.status_code == 302 and _fresh(s.id).title == "进行中的答疑"
    assert "Edit or cancel" not in host.get(f"/live/{s.id}").get_data(as_text=True)
    assert "/edit" not in host.get(f"/live/{s.id}").get_data(as_text=True)
