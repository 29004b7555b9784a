"""Assessment of workshop members (DOMAIN.md §9): each item scored from what members really did,
the total and result, hidden homework grades, who sees what, the export, and plugin schemes."""

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from werkzeug.datastructures import FileStorage

from lms.activities import workshop_services as svc
from lms.activities import writing
from lms.assessment import services
from lms.communities import services as community
from lms.core.db import utcnow
from lms.courses.watch_models import WatchState
from lms.extensions import db
from lms.homework.models import Assignment, ReviewerGrade, Submission
from tests.activities.test_isolation_xss import PNG
from tests.factories import make_user
from tests.sql_counting import counting

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
POSTS = [
    "小组合作时我给每个组员分配了记录员和汇报员的角色，讨论明显更有序了。",
    "分层作业让学困生也能完成基础题，优等生挑战拓展题，作业上交率提高了。",
    "用平板推送当堂练习，系统自动统计正确率，讲评时能直奔易错点。",
    "思维导图帮助学生梳理单元知识结构，复习课的效率比以往高很多。",
    "情境导入选用了学生熟悉的超市购物场景，孩子们一下子就被吸引住了。",
    "错题讲评前先让学生互相说说错因，再由我点拨，印象更加深刻。",
    "翻转课堂的前提是微课要短小精悍，五分钟以内学生最愿意看完。",
    "项目学习需要提前设计好评价量规，否则最后的成果展示难以比较。",
    "游戏化练习适合低年级，但要控制时间，避免课堂秩序失控的情况。",
    "即时反馈器让每个学生都必须作答，沉默的孩子也参与进来了。",
    "学习单上留出反思栏，课后翻看能发现学生真实的困惑在哪里。",
    "同伴互评前要先示范怎样给出具体建议，不然评语都是一句很好。",
]


def _file(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), name)


def _activity(world, kind):
    now = utcnow()
    return svc.create_activity(world["host"], world.workshop_a, kind=kind, title=f"{kind}活动", description="请参与。",
                               opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=7))  # fmt: skip


def _homework(world, user, grade, reviewing, phase="closed"):
    a = Assignment(context_id=world.workshop_a.context_id, workshop_id=world.workshop_a.id, author_id=world["host"].id,
                   title="研修作业", phase=phase, form={})  # fmt: skip
    db.session.add(a)
    db.session.flush()
    db.session.add(Submission(assignment_id=a.id, author_id=user.id, title="我的作业", final_grade=grade))
    db.session.add(ReviewerGrade(assignment_id=a.id, user_id=user.id, reviews_done=5, reviews_moved=0, grade=reviewing))
    db.session.commit()
    return a


@pytest.fixture
def did_things(world):
    """李老师 (member of workshop A) did a bit of everything; 王组长 (leader) nothing."""
    member = world["member"]
    ws = world.workshop_a
    writing.create(member, ws, "plan", "研修计划", "<p>本年度我计划围绕信息技术与课堂融合开展研修。</p>")
    writing.create(member, ws, "summary", "研修总结", "<p>一年来我完成了课程学习、主题研讨和线下实践。</p>")
    talk = _activity(world, "discussion")
    for body in POSTS:
        svc.create_post(member, talk, body)
    offline = _activity(world, "offline")
    record = svc.submit_offline(member, offline, _file(PNG, "鉴定表.png"),
                                [_file(PDF, "教案.pdf"), _file(PDF, "反思.pdf")])  # fmt: skip
    svc.mark_offline(world["host"], record, score=90, passed=True)
    db.session.add(WatchState(user_id=member.id, seconds=630 * 60, position=0.0, playing=False))
    db.session.commit()
    _homework(world, member, 8.0, 4.0)
    return world


def _scores(app, workshop):
    with app.test_request_context():
        return {s.name: s for s in services.workshop_scores(workshop)}


def test_every_item_is_scored_from_what_the_member_did(app, did_things):
    w = did_things
    s = _scores(app, w.workshop_a)["李老师"]
    assert s.points == {"plan": 5.0, "study": 17.5, "activities": 10.0, "homework": 8.0, "reviews": 4.0,
                        "summary": 5.0, "offline": 18.0, "offline_resources": 10.0}  # fmt: skip
    assert s.total == 77.5 and s.result == "pass" and not s.provisional
    nothing = _scores(app, w.workshop_a)["王组长"]
    assert nothing.total == 0 and nothing.result == "fail"
    assert set(nothing.points.values()) == {0.0}


def test_partial_credit_and_caps(app, world):
    w = world
    leader = w["leader"]
    talk = _activity(w, "discussion")
    for body in POSTS[:4]:
        svc.create_post(leader, talk, body)
    svc.create_post(leader, talk, "好")  # too short: not an effective post
    sharing = _activity(w, "sharing")
    svc.share_resource(leader, sharing, _file(PDF, "课件.pdf"), "课件")
    db.session.add(WatchState(user_id=leader.id, seconds=5000 * 60, position=0.0, playing=False))
    db.session.commit()
    s = _scores(app, w.workshop_a)["王组长"]
    assert s.points["activities"] == 10.0  # 4 posts + a shared resource: capped at 10
    assert s.points["study"] == 35.0  # beyond 1,260 minutes: still 35
    assert s.points["offline_resources"] == 0.0  # sharing resources are not offline products


def test_a_homework_grade_is_pending_for_the_member_until_released(app, login_as, world):
    w = world
    a = _homework(w, w["leader"], 9.0, 5.0, phase="review")
    host_view = _scores(app, w.workshop_a)["王组长"]
    assert host_view.points["homework"] == 9.0
    with app.test_request_context():
        mine = dict(services.my_scores(w["leader"]))[w.workshop_a]
    assert mine.points["homework"] is None and mine.provisional and mine.total == 5.0
    html = login_as(w["leader"]).get("/me").get_data(as_text=True)
    assert 'id="my-assessment"' in html and "待发布" in html and "暂定" in html
    a.phase = "closed"
    db.session.commit()
    with app.test_request_context():
        assert dict(services.my_scores(w["leader"]))[w.workshop_a].points["homework"] == 9.0


def test_marks_are_configurable(app, did_things):
    w = did_things
    app.config["ASSESSMENT_PASS"] = 80.0
    try:
        assert _scores(app, w.workshop_a)["李老师"].result == "fail"
        app.config["ASSESSMENT_EXCELLENT"] = 77.5
        app.config["ASSESSMENT_PASS"] = 60.0
        assert _scores(app, w.workshop_a)["李老师"].result == "excellent"
    finally:
        app.config["ASSESSMENT_PASS"] = app.config["ASSESSMENT_EXCELLENT"] = 0.0


@pytest.mark.parametrize(
    ("role", "status"),
    [("host", 200), ("expert", 200), ("county_admin", 200), ("supervisor", 200), ("school_admin", 404),
     ("member", 403), ("leader", 403), ("host_b", 404), ("county_admin_b", 404), ("outsider", 404)],
)  # fmt: skip
def test_who_sees_the_workshop_results(app, login_as, did_things, role, status):
    w = did_things
    client = login_as(w[role])
    for path in (f"/workshops/{w.workshop_a.id}/assessment", f"/workshops/{w.workshop_a.id}/assessment.xlsx"):
        resp = client.get(path)
        assert resp.status_code == status, path
        if status == 200 and path.endswith("assessment"):
            assert "李老师" in resp.get_data(as_text=True) and "77.5" in resp.get_data(as_text=True)
        if status != 200:
            assert "77.5" not in resp.get_data(as_text=True)
    workshop_page = client.get(f"/workshops/{w.workshop_a.id}")
    if workshop_page.status_code == 200:
        assert ('id="assessment-panel"' in workshop_page.get_data(as_text=True)) == (status == 200)


def test_a_member_sees_only_their_own(app, login_as, did_things):
    w = did_things
    html = login_as(w["member"]).get("/me").get_data(as_text=True)
    assert 'id="my-assessment"' in html and "77.5 / 100" in html and "合格" in html
    assert "王组长" not in html
    assert 'id="my-assessment"' not in login_as(w["outsider"]).get("/me").get_data(as_text=True)


def test_the_export_has_a_row_per_member_with_the_result(app, login_as, did_things):
    w = did_things
    resp = login_as(w["host"]).get(f"/workshops/{w.workshop_a.id}/assessment.xlsx")
    assert resp.headers["Cache-Control"] == "no-store"
    rows = list(load_workbook(io.BytesIO(resp.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "姓名" and rows[0][-1] == "考核情况" and "研修计划（5）" in rows[0]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["李老师"][-2:] == (77.5, "合格") and by_name["王组长"][-1] == "不合格"


def test_queries_do_not_grow_with_members(app, login_as, did_things):
    w = did_things
    client = login_as(w["host"])
    path = f"/workshops/{w.workshop_a.id}/assessment"
    client.get(path)
    with counting() as few:
        assert client.get(path).status_code == 200
    for i in range(12):
        community.add_member(w.workshop_a, make_user(f"m{i}", f"成员{i}", w.school_a))
    db.session.commit()
    with counting() as many:
        assert client.get(path).status_code == 200
    assert len(many) == len(few)


def test_a_plugin_scheme_replaces_the_default(app, login_as, did_things):
    from lms.plugins import AssessmentItem, AssessmentScheme, PluginAPI

    w = did_things
    scheme = AssessmentScheme("posts_only", "只看研讨", (
        AssessmentItem("activities", "研讨", 100, "auto", lambda i: min(1.0, i["effective_posts"] / 12)),
    ), pass_mark=50)  # fmt: skip
    PluginAPI(app, "test").register_assessment_scheme(scheme)
    app.config["ASSESSMENT_SCHEME"] = "posts_only"
    try:
        s = _scores(app, w.workshop_a)["李老师"]
        assert s.points == {"activities": 100.0} and s.result == "excellent"
        html = login_as(w["host"]).get(f"/workshops/{w.workshop_a.id}/assessment").get_data(as_text=True)
        assert "只看研讨" in html and "研究计划" not in html
    finally:
        app.config["ASSESSMENT_SCHEME"] = "trainee"
