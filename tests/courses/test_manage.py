"""Who may make and edit courses; lessons, reordering, assignment; quizzes; XSS stays inert."""

import re

import pytest

from lms.access.services import assign as give_role
from lms.courses import services
from lms.courses.models import Course, QuizAttempt
from lms.extensions import db
from tests.courses.conftest import make_course

# A live tag: a script element, an event-handler attribute, or a javascript: URL in an attribute.
DANGER = re.compile(
    r"<script(?![^<>]*src=\"/static/)|<[a-z][^<>]*\son\w+\s*=|<[a-z][^<>]*(?:href|src)\s*=\s*[\"']?\s*javascript:", re.I
)


def _data(**kw):
    return {"title": "新课程", "description": "<p>简介</p>", "stage": "primary", "subject": "math",
            "kind": "integration", "hours": "2.5", "published": True, **kw}  # fmt: skip


@pytest.mark.parametrize("role", ["teacher", "member", "host", "school_admin", "supervisor", "outsider"])
def test_teacher_like_roles_cannot_create(world, login_as, role):
    c = login_as(world[role])
    assert c.get("/courses/new").status_code == 403
    assert c.post("/courses/new", data={"title": "x", "kind": "ethics", "hours": "1", "context": 1}).status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(Course)) == 0


@pytest.mark.parametrize("role", ["expert", "county_admin", "city_admin", "province_admin", "site_admin"])
def test_managers_create(world, login_as, role):
    ctxs = services.manage_contexts(world[role])
    assert ctxs
    c = login_as(world[role])
    r = c.post("/courses/new", data={"context": ctxs[0].id, "title": "新课程", "kind": "ethics", "hours": "2",
                                     "published": "y", "stage": "", "subject": ""})  # fmt: skip
    assert r.status_code == 302
    course = db.session.scalar(db.select(Course))
    assert course.context_id == ctxs[0].id and course.published


def test_expert_of_county_a_cannot_edit_county_b_course(world, login_as):
    expert_a = world["expert"]
    give_role(expert_a, "expert", world.county_a.context)
    db.session.commit()
    mine = make_course(world.county_a.context, "东湖课程")
    theirs = make_course(world.county_b.context, "西湖课程")
    c = login_as(expert_a)
    assert c.get(f"/courses/{mine.id}/edit").status_code == 200
    assert c.get(f"/courses/{theirs.id}/edit").status_code == 404  # not even visible
    r = c.post(f"/courses/{theirs.id}/edit", data={"title": "改掉", "kind": "ethics", "hours": "1"})
    assert r.status_code == 404
    with pytest.raises(services.CourseError):
        services.update_course(expert_a, theirs, _data(title="改掉"))
    db.session.refresh(theirs)
    assert theirs.title == "西湖课程"
    # A province course is visible to the county expert but not editable.
    prov = make_course(world.province.context, "省级课程")
    assert c.get(f"/courses/{prov.id}/edit").status_code == 403
    # Nor may they assign into county B.
    with pytest.raises(services.CourseError):
        services.assign(expert_a, mine, world.workshop_b.context)
    county_admin_b = world["county_admin_b"]
    assert not services.may_manage(county_admin_b, mine)
    assert services.may_manage(world["city_admin"], mine) and services.may_manage(world["city_admin"], theirs)


def test_lessons_order_and_assignment(world):
    admin = world["county_admin"]
    course = services.create_course(admin, world.county_a.context, _data())
    a = services.add_lesson(admin, course, "甲", "text", "<p>一</p>")
    b = services.add_lesson(admin, course, "乙", "text")
    c = services.add_lesson(admin, course, "丙", "video")
    assert [x.title for x in course.lessons] == ["甲", "乙", "丙"] and course.lesson_count == 3
    services.move_lesson(admin, c, -1)
    db.session.expire_all()
    assert [x.title for x in db.session.get(Course, course.id).lessons] == ["甲", "丙", "乙"]
    services.reorder_lessons(admin, course, [b.id, a.id])
    db.session.expire_all()
    assert [x.title for x in db.session.get(Course, course.id).lessons] == ["乙", "甲", "丙"]
    services.delete_lesson(admin, db.session.get(type(a), a.id))
    db.session.expire_all()
    course = db.session.get(Course, course.id)
    assert [x.position for x in course.lessons] == [1, 2] and course.lesson_count == 2
    services.assign(admin, course, world.workshop_a.context, required=True)
    assert course.id in services.required_ids(world["member"])
    assert course.id not in services.required_ids(world["teacher"])
    services.assign(admin, course, world.workshop_a.context, required=False)  # same row, now elective
    assert course.id not in services.required_ids(world["member"])


def test_quiz_scoring(world):
    admin = world["province_admin"]
    course = services.create_course(admin, world.province.context, _data())
    lesson = services.add_lesson(admin, course, "第一讲", "text")
    q1 = services.add_question(admin, lesson, "60学时是多少学分？", "single", ["1", "3", "5"], [1])
    q2 = services.add_question(admin, lesson, "哪些是研修活动？", "multiple", ["研讨", "游戏", "磨课"], [0, 2])
    with pytest.raises(services.CourseError):
        services.add_question(admin, lesson, "错", "single", ["a", "b"], [0, 1])
    with pytest.raises(services.CourseError):
        services.add_question(admin, lesson, "错", "single", ["a"], [0])
    t = world["teacher"]
    # One teacher each: attempts are capped and spaced (tests/courses/test_quiz.py).
    assert services.submit_quiz(t, lesson, {q1.id: [1], q2.id: [0, 2]}).score == 100.0
    assert services.submit_quiz(world["member"], lesson, {q1.id: [1], q2.id: [0]}).score == 50.0  # partial = wrong
    assert services.submit_quiz(world["leader"], lesson, {str(q1.id): "0", q2.id: [2, 0, 9]}).score == 50.0
    with pytest.raises(services.CourseError, match="unanswered"):
        services.submit_quiz(world["host"], lesson, {})
    assert db.session.scalar(db.select(db.func.count()).select_from(QuizAttempt)) == 3
    assert services.last_attempt(t, lesson).score == 100.0
    with pytest.raises(services.CourseError):
        services.add_question(t, lesson, "教师出题", "single", ["a", "b"], [0])


def test_quiz_page(world, login_as):
    admin = world["province_admin"]
    course = services.create_course(admin, world.province.context, _data())
    lesson = services.add_lesson(admin, course, "第一讲", "text")
    q = services.add_question(admin, lesson, "选B", "single", ["A项", "B项"], [1])
    c = login_as(world["teacher"])
    r = c.post(f"/courses/lessons/{lesson.id}/quiz", data={f"q{q.id}": "1"}, follow_redirects=True)
    assert "100" in r.get_data(as_text=True)


def test_xss_inert(world, login_as, xss_payloads):
    admin = world["province_admin"]
    for payload in xss_payloads[:40]:
        course = services.create_course(admin, world.province.context,
                                        _data(title=payload[:200] or "x", description=payload))  # fmt: skip
        lesson = services.add_lesson(admin, course, payload[:200] or "x", "text", payload)
        services.add_question(admin, lesson, payload[:500] or "x", "single", [payload[:200] or "a", "b"], [0])
        for html in (course.description_html, lesson.body_html):
            assert not DANGER.search(html), html
    c = login_as(world["teacher"])
    for url in ["/courses/"] + [f"/courses/{x.id}" for x in db.session.scalars(db.select(Course).limit(10))]:
        html = c.get(url).get_data(as_text=True)
        assert not DANGER.search(html.replace('<script src="/static/', "")), url


def test_a_host_makes_a_course_required_for_their_own_workshop(world, login_as):
    from lms.courses.models import CourseAssignment

    course = make_course(world.province.context, "省级必修课")
    ws_a, ws_b = world.workshop_a.context, world.workshop_b.context
    host = login_as(world["host"])
    page = host.get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'id="assign"' in page and "东湖数学工作坊" in page and "西湖语文工作坊" not in page
    assert host.get(f"/courses/{course.id}/edit").status_code == 403  # assigning is not editing
    r = host.post(f"/courses/{course.id}/assign", data={"context": ws_a.id, "required": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/courses/{course.id}#assign")
    assert course.id in services.required_ids(world["member"])
    assert course.id not in services.required_ids(world["teacher"])  # same school, not in the workshop
    # Not another workshop, nor the county above their own.
    for ctx in (ws_b, world.county_a.context):
        r = host.post(f"/courses/{course.id}/assign", data={"context": ctx.id, "required": "1"}, follow_redirects=True)
        assert "没有执行此操作的权限" in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(CourseAssignment)) == 1
    # A county assignment shows on the host's page without a remove button; their own has one.
    services.assign(world["county_admin"], course, world.county_a.context, required=False)
    rows = {a.context_id: a for a in services.assignments_of(course)}
    page = host.get(f"/courses/{course.id}").get_data(as_text=True)
    assert f"/courses/assignments/{rows[ws_a.id].id}/delete" in page
    assert f"/courses/assignments/{rows[world.county_a.context_id].id}/delete" not in page
    assert host.post(f"/courses/assignments/{rows[world.county_a.context_id].id}/delete").status_code == 403
    assert host.post(f"/courses/assignments/{rows[ws_a.id].id}/delete").status_code == 302
    assert course.id not in services.required_ids(world["member"])
    # Members and teachers see no assignment panel.
    assert 'id="assign"' not in login_as(world["member"]).get(f"/courses/{course.id}").get_data(as_text=True)


def test_a_course_cannot_be_required_where_its_members_cannot_see_it(world, login_as):
    """An expert of workshops A and B must not require a course made for A from B's members, who
    would find it in "My courses" and get 404 on its page."""
    from lms.courses.models import CourseAssignment

    expert = world["expert"]
    give_role(expert, "expert", world.workshop_b.context)
    db.session.commit()
    course = services.create_course(expert, world.workshop_a.context, _data(title="东湖坊内课程"))
    with pytest.raises(services.CourseError, match="audience_cannot_see"):
        services.assign(expert, course, world.workshop_b.context)
    c = login_as(expert)
    r = c.post(f"/courses/{course.id}/assign", data={"context": world.workshop_b.context_id, "required": "1"},
               follow_redirects=True)  # fmt: skip
    assert "那里的成员看不到这门课程" in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(CourseAssignment)) == 0
    edit = c.get(f"/courses/{course.id}/edit").get_data(as_text=True)
    assert "西湖语文工作坊" not in edit.split('id="assign"')[1]  # not offered as a choice
    # Its own workshop is fine; a province course may be required for workshop B too.
    services.assign(expert, course, world.workshop_a.context)
    assert course.id in services.required_ids(world["member"])
    prov = make_course(world.province.context, "省级课程")
    services.assign(expert, prov, world.workshop_b.context)
    assert prov.id in services.required_ids(world["member_b"])
    # A row from before the rule never shows a course its member cannot open.
    db.session.add(CourseAssignment(course_id=course.id, context_id=world.workshop_b.context_id, required=True))
    db.session.commit()
    mine = services.my_courses(world["member_b"])
    assert [x.title for x in mine["required"]] == ["省级课程"]
    assert login_as(world["member_b"]).get(f"/courses/{course.id}").status_code == 404


def test_the_course_page_says_where_a_requirement_comes_from(world, login_as):
    course = make_course(world.province.context, "师德必修")
    services.assign(world["county_admin"], course, world.county_a.context)
    services.assign(world["host"], course, world.workshop_a.context)
    html = login_as(world["member"]).get(f"/courses/{course.id}").get_data(as_text=True)
    assert "东湖数学工作坊、东湖区将本课程列为你的必修课" in html
    html = login_as(world["teacher"]).get(f"/courses/{course.id}").get_data(as_text=True)
    assert "东湖区将本课程列为你的必修课" in html and "东湖数学工作坊" not in html


def test_the_workshop_page_lists_its_courses(world, login_as):
    """Members see what their workshop requires and offers; its host also sees where to add one."""
    from tests.access.dom import parse
    from tests.courses.conftest import make_course

    admin = world["county_admin"]
    ws = world.workshop_a
    must = make_course(world.county_a.context, "课堂提问的艺术", hours=3)
    extra = make_course(world.county_a.context, "板书设计", hours=1.5)
    hidden = make_course(world.county_a.context, "未发布课程", published=False)
    for course, required in ((must, True), (extra, False), (hidden, True)):
        services.assign(admin, course, ws.context, required=required)
    db.session.commit()

    def panel(user):
        doc = parse(login_as(user).get(f"/workshops/{ws.id}").get_data(as_text=True))
        return next((s for s in doc.iter("section") if s.attrs.get("id") == "workshop-courses"), None)

    shown = panel(world["member"])
    rows = [" ".join(li.text.split()) for li in shown.iter("li")]
    assert rows == ["课堂提问的艺术 必修 3 学时", "板书设计 选修 1.5 学时"]
    assert "课程超市" not in shown.text  # members do not assign
    assert "到课程超市指定课程" in panel(world["host"]).text
    # The other workshop's page shows nothing of these.
    other = parse(login_as(world["member_b"]).get(f"/workshops/{world.workshop_b.id}").get_data(as_text=True))
    assert not any(s.attrs.get("id") == "workshop-courses" for s in other.iter("section"))


def test_a_host_cannot_undo_what_the_county_required(world, login_as):
    """The county made a course required for the workshop: its host neither turns it elective nor
    withdraws it; what the host assigned, the host changes; the county changes either."""
    from lms.courses.models import CourseAssignment
    from tests.courses.conftest import make_course

    ws, host, admin = world.workshop_a, world["host"], world["county_admin"]
    county_course = make_course(world.county_a.context, "县定必修课")
    own_course = make_course(world.county_a.context, "坊主选的课")
    row = services.assign(admin, county_course, ws.context, required=True)
    with pytest.raises(services.CourseError, match="set_above"):
        services.assign(host, county_course, ws.context, required=False)
    assert not services.may_unassign(host, row)
    resp = login_as(host).post(f"/courses/assignments/{row.id}/delete")
    assert resp.status_code in (403, 302)
    db.session.expire_all()
    kept = db.session.get(CourseAssignment, row.id)
    assert kept is not None and kept.required is True and kept.assigned_by == admin.id

    mine = services.assign(host, own_course, ws.context, required=True)
    services.assign(host, own_course, ws.context, required=False)
    assert db.session.get(CourseAssignment, mine.id).required is False
    assert services.may_unassign(host, mine) and services.may_unassign(admin, mine)
    services.assign(admin, county_course, ws.context, required=False)  # the county changes its own
    db.session.expire_all()
    assert db.session.get(CourseAssignment, row.id).required is False
