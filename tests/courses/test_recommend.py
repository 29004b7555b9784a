"""智能推送 of courses: fitting stage and subject and what workshop colleagues chose or watched; never
what the teacher already has, watched, or may not open."""

from lms.courses import services
from lms.courses.models import CourseAssignment, CourseSelection
from lms.courses.watch_models import CourseProgress
from lms.extensions import db
from tests.courses.conftest import make_course


def _setup(world):
    prov = world.province.context
    c = {
        "fit": make_course(prov, "小学数学信息化教学", stage="primary", subject="math"),
        "subject_only": make_course(prov, "高中数学建模", stage="senior", subject="math"),
        "general": make_course(prov, "师德修养", stage=None, subject="general", kind="ethics"),
        "other": make_course(prov, "高中历史解释", stage="senior", subject="history"),
        "colleagues": make_course(prov, "同伴在学的美术课", stage="senior", subject="art"),
        "selected": make_course(prov, "已选的课", stage="primary", subject="math"),
        "watched": make_course(prov, "看过的课", stage="primary", subject="math"),
        "required": make_course(world.county_a.context, "东湖必修课", stage="primary", subject="math"),
        "draft": make_course(prov, "未发布", stage="primary", subject="math", published=False),
        "county_b": make_course(world.county_b.context, "西湖区课程", stage="primary", subject="math"),
    }
    member = world["member"]  # primary math teacher of school A, in workshop A with the leader
    db.session.add(CourseSelection(course_id=c["selected"].id, user_id=member.id))
    db.session.add(CourseProgress(course_id=c["watched"].id, user_id=member.id, seconds=30.0))
    db.session.add(CourseAssignment(course_id=c["required"].id, context_id=world.county_a.context_id, required=True))
    db.session.add(CourseSelection(course_id=c["colleagues"].id, user_id=world["leader"].id))
    db.session.add(CourseProgress(course_id=c["colleagues"].id, user_id=world["host"].id, seconds=5.0))
    db.session.commit()
    return c


def test_scoring_and_exclusions(world, login_as):
    _setup(world)
    member = world["member"]
    got = [c.title for c in services.recommend(member, limit=20)]
    assert got[0] == "小学数学信息化教学"  # stage + subject
    assert set(got) == {"小学数学信息化教学", "高中数学建模", "师德修养", "高中历史解释", "同伴在学的美术课"}
    # A course for every teacher beats another stage's course of the same subject, which beats one
    # where stage and subject both differ.
    assert got.index("师德修养") < got.index("高中数学建模") < got.index("高中历史解释")
    assert got.index("同伴在学的美术课") < got.index("高中历史解释")  # a colleague chose it
    html = login_as(member).get("/me").get_data(as_text=True)
    assert 'id="recommended-courses"' in html and "小学数学信息化教学" in html
    for absent in ("已选的课", "看过的课", "未发布", "西湖区课程"):
        assert absent not in html.split('id="recommended-courses"')[1].split("</ul>")[0], absent


def test_choosing_a_recommended_course_removes_it(world):
    c = _setup(world)
    member = world["member"]
    assert c["fit"].id in {x.id for x in services.recommend(member, limit=20)}
    db.session.add(CourseSelection(course_id=c["fit"].id, user_id=member.id))
    db.session.commit()
    assert c["fit"].id not in {x.id for x in services.recommend(member, limit=20)}


def test_another_county_and_nobody(world):
    _setup(world)
    got = {c.title for c in services.recommend(world["teacher_b"], limit=20)}
    assert "西湖区课程" in got and "东湖必修课" not in got
    assert services.recommend(None) == []
    assert services.recommend(world["outsider"], limit=20) == []
