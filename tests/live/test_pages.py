"""Live pages: schedule, session (viewer and host), pre-session questions without JS, Q&A area,
rota, panels, HLS serving permission, demo data."""

from datetime import timedelta

from sqlalchemy import func, select

from lms.core.db import utcnow
from lms.live import services
from lms.live.models import DutySlot, LiveQuestion, LiveSession, QaAnswer, QaThread


def test_expert_schedules_a_teacher_cannot(world, login_as, db):
    assert login_as(world["teacher"]).get("/live/new").status_code == 403
    expert = login_as(world["expert"])
    page = expert.get("/live/new").get_data(as_text=True)
    assert "东湖数学工作坊" in page
    r = expert.post("/live/new", data={
        "title": "小学数学专家答疑", "context_id": world.workshop_a.context_id, "subject": "math",
        "starts_at": "2030-03-01T19:00", "ends_at": "2030-03-01T20:30", "experts": "host_a", "description": "",
    })  # fmt: skip
    assert r.status_code == 302, r.get_data(as_text=True)
    s = db.session.scalar(select(LiveSession))
    assert s.title == "小学数学专家答疑" and s.starts_at.hour == 11  # 19:00 Beijing = 11:00 UTC
    assert {e.user.username for e in s.experts} == {"expert", "host_a"}
    # An expert who cannot host there is refused.
    r = expert.post("/live/new", data={
        "title": "x", "context_id": world.workshop_a.context_id, "starts_at": "2030-03-01T19:00",
        "ends_at": "2030-03-01T20:30", "experts": "host_b"})  # fmt: skip
    assert r.status_code == 200 and db.session.scalar(select(func.count()).select_from(LiveSession)) == 1


def test_session_page_viewer_and_host(world, login_as, session):
    services.ask(world["member"], session, "分层作业怎么设计？")
    viewer = login_as(world["member"]).get(f"/live/{session.id}").get_data(as_text=True)
    assert "分层作业怎么设计？" in viewer and 'id="live-broadcast"' not in viewer and "data-mark" not in viewer
    host = login_as(world["expert"]).get(f"/live/{session.id}").get_data(as_text=True)
    assert 'id="live-broadcast"' in host and "data-mark" in host
    for role in ("teacher", "teacher_b", "outsider"):
        assert login_as(world[role]).get(f"/live/{session.id}").status_code == 404, role
    # A county admin above the workshop sees and may host it.
    assert 'id="live-host"' in login_as(world["county_admin"]).get(f"/live/{session.id}").get_data(as_text=True)


def test_questions_and_votes_without_javascript(world, login_as, session, db):
    member = login_as(world["member"])
    assert member.post(f"/live/{session.id}/questions", data={"body": "课前提问"}).status_code == 302
    q = db.session.scalar(select(LiveQuestion))
    for _ in range(2):
        member.post(f"/live/questions/{q.id}/vote")
    login_as(world["leader"]).post(f"/live/questions/{q.id}/vote")
    db.session.expire_all()
    assert db.session.get(LiveQuestion, q.id).vote_count == 2
    assert login_as(world["teacher"]).post(f"/live/questions/{q.id}/vote").status_code == 404
    assert member.post(f"/live/questions/{q.id}/mark", data={"status": "answered"}).status_code == 403
    assert (
        login_as(world["expert"]).post(f"/live/questions/{q.id}/mark", data={"status": "answered"}).status_code == 302
    )
    db.session.expire_all()
    assert db.session.get(LiveQuestion, q.id).status == "answered"


def test_status_and_replay_page(world, login_as, session, db):
    services.ask(world["member"], session, "回放里能看到问题吗？")
    expert = login_as(world["expert"])
    assert login_as(world["member"]).post(f"/live/{session.id}/status", data={"status": "live"}).status_code == 403
    expert.post(f"/live/{session.id}/status", data={"status": "live"})
    expert.post(f"/live/{session.id}/status", data={"status": "ended"})
    db.session.expire_all()
    assert db.session.get(LiveSession, session.id).status == "ended"
    page = login_as(world["member"]).get(f"/live/{session.id}/replay").get_data(as_text=True)
    assert "回放里能看到问题吗？" in page
    assert (
        "回放里能看到问题吗？"
        not in login_as(world["member"]).get("/live").get_data(as_text=True).split('id="past"')[0]
    )


def test_hls_needs_permission(world, login_as, session, app, db):
    from pathlib import Path

    d = Path(app.config["MEDIA_ROOT"]) / "live" / str(session.id)
    d.mkdir(parents=True, exist_ok=True)
    (d / "index.m3u8").write_text("#EXTM3U\n")
    (d / "seg_00000.ts").write_bytes(b"\x47" * 188 * 4)
    session.video_path, session.video_status = f"live/{session.id}", "live"
    db.session.commit()
    member = login_as(world["member"])
    r = member.get(f"/live/{session.id}/hls/index.m3u8")
    assert (
        r.status_code == 200
        and r.mimetype == "application/vnd.apple.mpegurl"
        and "no-cache" in r.headers["Cache-Control"]
    )
    r = member.get(f"/live/{session.id}/hls/seg_00000.ts", headers={"Range": "bytes=0-187"})
    assert r.status_code == 206 and len(r.data) == 188
    assert login_as(world["teacher_b"]).get(f"/live/{session.id}/hls/index.m3u8").status_code == 404
    assert member.get(f"/live/{session.id}/hls/..%2Fsecret").status_code == 404
    assert member.get(f"/live/{session.id}/hls/other.txt").status_code == 404
    # Only a host may push video.
    assert member.post(f"/live/{session.id}/ingest?n=0", data=b"x").status_code == 403


def test_qa_area_expert_answer(world, login_as, db):
    member = login_as(world["member"])
    page = member.get("/live/qa").get_data(as_text=True)
    assert "东湖数学工作坊" in page
    r = member.post("/live/qa", data={"title": "怎样上好复习课？", "context_id": world.workshop_a.context_id,
                                      "subject": "math", "body": "<b>复习课</b>总是很枯燥"})  # fmt: skip
    assert r.status_code == 302
    t = db.session.scalar(select(QaThread))
    login_as(world["expert"]).post(f"/live/qa/{t.id}", data={"body": "先让学生自己整理知识结构图。"})
    member.post(f"/live/qa/{t.id}", data={"body": "谢谢专家"})
    answers = list(db.session.scalars(select(QaAnswer).order_by(QaAnswer.id)))
    assert [a.by_expert for a in answers] == [True, False]
    html = member.get(f"/live/qa/{t.id}").get_data(as_text=True)
    assert "&lt;b&gt;复习课&lt;/b&gt;" in html and "live-expert-answer" in html
    db.session.expire_all()
    assert db.session.get(QaThread, t.id).answer_count == 2
    assert login_as(world["teacher_b"]).get(f"/live/qa/{t.id}").status_code == 404
    assert "怎样上好复习课" not in login_as(world["teacher_b"]).get("/live/qa").get_data(as_text=True)


def test_rota_and_on_duty(world, login_as, db):
    expert = login_as(world["expert"])
    r = expert.post("/live/rota", data={"context_id": world.workshop_a.context_id, "subject": "math",
                                        "weekday": 0, "starts": "19:00", "ends": "21:00"})  # fmt: skip
    assert r.status_code == 302
    for day in range(1, 7):
        services.add_slot(world["expert"], world.workshop_a.context, "math", day)
    page = login_as(world["member"]).get("/live/rota").get_data(as_text=True)
    assert "吴专家" in page and "添加" not in page.split('id="rota"')[1]
    # A teacher cannot add a slot; the member sees today's expert on the live page and in their space.
    login_as(world["member"]).post("/live/rota", data={"context_id": world.workshop_a.context_id,
                                                       "subject": "math", "weekday": 1})  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(DutySlot)) == 7
    assert "吴专家" in login_as(world["member"]).get("/live").get_data(as_text=True)
    space = login_as(world["member"]).get("/me").get_data(as_text=True)
    assert 'id="live-panel"' in space and "吴专家" in space
    assert "吴专家" not in login_as(world["teacher_b"]).get("/live").get_data(as_text=True)


def test_panels_and_nav(world, login_as, session):
    space = login_as(world["member"]).get("/me").get_data(as_text=True)
    assert "数学大单元教学专家答疑" in space and 'href="/live"' in space
    ws = login_as(world["member"]).get(f"/workshops/{world.workshop_a.id}").get_data(as_text=True)
    assert "数学大单元教学专家答疑" in ws
    assert "数学大单元教学专家答疑" not in login_as(world["teacher_b"]).get("/me").get_data(as_text=True)


def test_english_ui(world, login_as, session):
    client = login_as(world["member"])
    assert "直播答疑" in client.get("/live").get_data(as_text=True)
    client.post("/lang/en", data={"next": "/live"})
    page = client.get(f"/live/{session.id}").get_data(as_text=True)
    assert "Live Q&A" in page and "Questions" in page and "直播答疑" not in page


def test_demo_adds_rota_and_a_session(app, db):
    result = app.test_cli_runner().invoke(args=["lms", "demo", "--scale", "300", "--seed", "7"])
    assert result.exit_code == 0, result.output
    s = db.session.scalar(select(LiveSession))
    assert s is not None and "答疑" in s.title and s.status == "scheduled" and s.starts_at > utcnow()
    qs = services.ranked_questions(s)
    assert len(qs) >= 3 and qs[0].vote_count >= qs[-1].vote_count
    assert db.session.scalar(select(func.count()).select_from(DutySlot)) >= 2
    assert s.last_seq == len(qs)
    assert utcnow() - timedelta(days=1) < s.created_at


def test_moderation_controls_for_hosts_only(world, login_as, session):
    """Hosts get hide/reopen on questions, unpin on the pinned message and the muted list with
    unmute; a hidden question is gone from viewers' pages and dimmed on the host's."""
    q = services.ask(world["member"], session, "跑题的问题")
    services.ask(world["leader"], session, "正题")
    m = services.chat(world["member"], session, "请大家看置顶")
    services.pin(world["expert"], session, m)
    services.mute(world["expert"], session, world["leader"].id)
    services.mark(world["expert"], q, "hidden")
    host = login_as(world["expert"]).get(f"/live/{session.id}").get_data(as_text=True)
    assert 'data-mark="hidden"' in host and 'data-mark="open"' in host and 'id="live-unpin"' in host
    muted = host.split('id="live-muted"')[1].split("</ul>")[0]
    assert "王组长" in muted and f'data-unmute="{world["leader"].id}"' in muted
    assert "跑题的问题" in host and f'live-q-hidden" data-qid="{q.id}"' in host
    viewer = login_as(world["member"]).get(f"/live/{session.id}").get_data(as_text=True)
    assert "跑题的问题" not in viewer and "正题" in viewer
    assert "data-mark" not in viewer and "live-unpin" not in viewer and "live-muted" not in viewer
    assert "跑题的问题" not in login_as(world["member"]).get(f"/live/{session.id}/replay").get_data(as_text=True)


def test_qa_area_pages_and_filters(world, login_as, db, app):
    """Experts on duty find older open questions: the list pages, and filters by "awaiting an
    expert" (a teacher's reply does not count as an answer) and by subject."""
    titles = []
    for i in range(25):
        subject = "math" if i % 5 else "chinese"
        titles.append(services.ask_thread(world["member"], world.workshop_a.context, f"问题{i:02d}", "", subject).title)
    threads = list(db.session.scalars(select(QaThread).order_by(QaThread.id)))
    services.answer_thread(world["expert"], threads[1], "专家的回答")
    services.answer_thread(world["leader"], threads[2], "同事的回复")  # not an expert: still awaiting
    expert = login_as(world["expert"])
    size = app.config["PAGE_SIZE"]

    def shown(query=""):
        html = expert.get(f"/live/qa{query}").get_data(as_text=True)
        return sorted((t for t in titles if f">{t}<" in html), key=lambda t: html.index(f">{t}<")), html

    first, html = shown()
    assert first == titles[::-1][:size] and "下一页" in html
    second, _ = shown("?page=2")
    assert second == titles[::-1][size:]
    awaiting, html = shown("?status=awaiting")
    rest = shown("?status=awaiting&page=2")[0]
    assert awaiting + rest == [t for t in titles[::-1] if t != "问题01"]  # 问题02 has only a colleague's reply
    assert len(awaiting) == size and html.count("待专家解答") > size  # a badge on each, and the filter's option
    chinese, _ = shown("?subject=chinese")
    assert chinese == [t for t in titles[::-1] if int(t[-2:]) % 5 == 0]
    assert shown("?subject=chinese&status=awaiting")[0] == ["问题20", "问题15", "问题10", "问题05", "问题00"]
    # Nonsense in the query string shows the first page of everything, not an error.
    assert shown("?page=abc&subject=<b>&status=x")[0] == first
    assert shown("?page=99")[0] == []
    other = login_as(world["teacher_b"]).get("/live/qa?status=awaiting").get_data(as_text=True)
    assert not any(f">{t}<" in other for t in titles)
