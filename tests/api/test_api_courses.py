"""Courses through /api/v1: lessons, own progress, members' progress, quizzes, course management."""

import pytest
from sqlalchemy import func, select

from lms.courses import services, watch
from lms.courses.models import Course, Lesson, QuizAttempt
from lms.extensions import db as _db
from tests.api.helpers import API, error_of
from tests.courses.watch.conftest import make_course, make_lesson
from tests.courses.watch.test_watch_progress import watched


@pytest.fixture(autouse=True)
def _fresh_watch_caches(app):
    yield
    watch.forget_accounts()
    watch.forget_rendition()
    fast = app.extensions.get("watch_fast")
    if fast is not None:
        fast.forget()


@pytest.fixture
def study(world):
    """A published county-A course: a 120 s video lesson and a text lesson with a two-question quiz."""
    course = make_course(world.county_a.context)
    video = make_lesson(course, duration=120)
    text = Lesson(course_id=course.id, title="阅读材料", kind="text", body_html="<p>读一读</p>", position=2)
    _db.session.add(text)
    course.lesson_count = 2
    _db.session.commit()
    _db.session.refresh(course)
    admin = world["county_admin"]
    q1 = services.add_question(admin, text, "1+1=?", "single", ["1", "2", "3"], [1])
    q2 = services.add_question(admin, text, "哪些是偶数?", "multiple", ["2", "3", "4"], [0, 2])
    watch.forget_rendition()
    return {"course": course, "video": video, "text": text, "q1": q1.id, "q2": q2.id}


def _fresh():
    _db.session.commit()
    _db.session.expire_all()


def _attempts() -> int:
    _fresh()
    return _db.session.scalar(select(func.count(QuizAttempt.id)))


# --- lessons ----------------------------------------------------------------------------------------


def test_lessons_of_a_visible_course(world, study, api_as, login_as, conforms):
    url = f"{API}/courses/{study['course'].id}/lessons"
    data = conforms(api_as(world["teacher"]).get(url), "LessonList")
    assert [(x["title"], x["kind"], x["has_quiz"]) for x in data["items"]] == [
        ("第一课 微课设计", "video", False), ("阅读材料", "text", True)]  # fmt: skip
    assert login_as(world["teacher"]).get(url).status_code == 200  # the session works for GET
    resp = api_as(world["teacher_b"]).get(url)
    assert resp.status_code == 404 and error_of(resp) == "not_found"


def test_lesson_detail(world, study, api_as, conforms):
    data = conforms(api_as(world["teacher"]).get(f"{API}/lessons/{study['text'].id}"), "LessonDetail")
    assert data["body_html"] == "<p>读一读</p>" and data["question_count"] == 2
    assert data["progress"]["completed"] is False
    assert api_as(world["teacher_b"]).get(f"{API}/lessons/{study['text'].id}").status_code == 404
    assert api_as(world["teacher"]).get(f"{API}/lessons/999999").status_code == 404


# --- progress ---------------------------------------------------------------------------------------


def test_own_progress_per_lesson_and_course(world, study, api_as, conforms):
    teacher = world["teacher"]
    watched(teacher, study["video"], 120)
    api = api_as(teacher)
    data = conforms(api.get(f"{API}/courses/{study['course'].id}/progress"), "CourseProgress")
    video, text = data["lessons"]
    assert video["lesson_id"] == study["video"].id and video["completed"] is True and video["minutes"] == 2
    assert text["completed"] is False and text["percent"] == 0
    # Every lesson counts: the video is done, the reading (with its quiz) is not yet.
    assert (data["lesson_count"], data["completed"], data["percent"], data["minutes"]) == (2, 1, 50, 2)

    mine = conforms(api.get(f"{API}/me/course-progress"), "MyStudy")
    assert mine["minutes"] == 2 and mine["full_minutes"] == watch.FULL_SCORE_MINUTES
    assert mine["score"] == watch.course_study_score(120) > 0
    assert mine["courses"][0]["id"] == study["course"].id and mine["courses"][0]["percent"] == 50
    # Someone else's progress is not theirs.
    other = conforms(api_as(world["member"]).get(f"{API}/me/course-progress"), "MyStudy")
    assert other["minutes"] == 0 and other["courses"] == []
    assert api_as(world["teacher_b"]).get(f"{API}/courses/{study['course'].id}/progress").status_code == 404


def test_host_pages_through_members_progress(world, study, api_as, login_as, conforms):
    watched(world["member"], study["video"], 60)
    url = f"{API}/workshops/{world.workshop_a.id}/course-progress"
    data = conforms(api_as(world["host"]).get(url), "MemberStudyPage")
    assert data["total"] == 2
    rows = {r["user"]["name"]: r for r in data["items"]}
    assert rows["李老师"]["minutes"] == 1 and rows["李老师"]["courses"][0]["title"] == study["course"].title
    assert rows["王组长"]["minutes"] == 0
    page = api_as(world["host"]).get(url + "?per_page=1&page=2").get_json()
    assert (page["page"], page["per_page"], len(page["items"]), page["total"]) == (2, 1, 1, 2)
    assert login_as(world["expert"]).get(url).status_code == 200  # stats.view; the session works for GET
    assert api_as(world["host"]).get(url + "?page=x").status_code == 400


@pytest.mark.parametrize("role,status", [("teacher", 404), ("member", 403), ("host_b", 404), ("county_admin_b", 404)])
def test_members_progress_needs_stats_view_there(world, study, api_as, role, status):
    watched(world["member"], study["video"], 60)
    resp = api_as(world[role]).get(f"{API}/workshops/{world.workshop_a.id}/course-progress")
    assert resp.status_code == status
    assert "李老师" not in resp.get_data(as_text=True)


# --- quizzes ----------------------------------------------------------------------------------------


def test_quiz_questions_come_without_the_key(world, study, api_as, conforms):
    resp = api_as(world["teacher"]).get(f"{API}/lessons/{study['text'].id}/quiz")
    data = conforms(resp, "Quiz")
    assert [q["prompt"] for q in data["questions"]] == ["1+1=?", "哪些是偶数?"]
    assert data["last_attempt"] is None
    assert all(set(q) == {"id", "position", "kind", "prompt", "options"} for q in data["questions"])
    assert "answer" not in resp.get_data(as_text=True)
    no_quiz = api_as(world["teacher"]).get(f"{API}/lessons/{study['video'].id}/quiz")
    assert no_quiz.status_code == 404 and error_of(no_quiz) == "no_quiz"


def test_submitting_answers_scores_the_attempt(world, study, api_as, conforms):
    api = api_as(world["teacher"])
    url = f"{API}/lessons/{study['text'].id}/quiz/attempts"
    resp = api.post(url, json={"answers": {str(study["q1"]): [1], str(study["q2"]): [0, 2]}})
    assert resp.status_code == 201, resp.get_json()
    assert conforms(resp, "QuizAttempt")["score"] == 100.0
    last = api.get(f"{API}/lessons/{study['text'].id}/quiz").get_json()["last_attempt"]
    assert last["id"] == resp.get_json()["id"] and last["score"] == 100.0
    # Passed: the quiz is closed (its key may now be shown), as on the page.
    again = api.post(url, json={"answers": {str(study["q1"]): [0], str(study["q2"]): [0, 2]}})
    assert again.status_code == 409 and error_of(again) == "quiz_closed"


def test_the_quiz_rules_of_the_page_hold_in_the_api(world, study, api_as, app, monkeypatch):
    """Every question answered; a wait between attempts (429 with how long); at most the cap."""
    api = api_as(world["teacher"])
    url = f"{API}/lessons/{study['text'].id}/quiz/attempts"
    half = api.post(url, json={"answers": {str(study["q1"]): [1]}})
    assert half.status_code == 400 and error_of(half) == "unanswered" and _attempts() == 0
    wrong = {"answers": {str(study["q1"]): [0], str(study["q2"]): [1]}}
    first = api.post(url, json=wrong)
    assert first.status_code == 201 and (first.get_json()["correct"], first.get_json()["total"]) == (0, 2)
    soon = api.post(url, json=wrong)
    assert soon.status_code == 429 and error_of(soon) == "quiz_wait"
    assert soon.get_json()["error"]["details"]["retry_after"] > 0
    monkeypatch.setitem(app.config, "COURSE_QUIZ_MIN_INTERVAL_SECONDS", 0)
    assert [api.post(url, json=wrong).status_code for _ in range(3)] == [201, 201, 409]  # 3 attempts at most
    assert _attempts() == 3


@pytest.mark.parametrize(
    "answers,reason",
    [
        ({"999999": [0]}, "unknown_question"),
        ({"Q1": [9]}, "no_such_option"),
        ({"Q1": [-1]}, "too_small"),
        ({"Q1": ["a"]}, "type"),
        ({"Q1": 1}, "type"),
        ([1], "type"),
    ],
)
def test_bad_answers_are_400_and_nothing_is_stored(world, study, api_as, answers, reason):
    if isinstance(answers, dict):
        answers = {k.replace("Q1", str(study["q1"])): v for k, v in answers.items()}
    before = _attempts()
    resp = api_as(world["teacher"]).post(f"{API}/lessons/{study['text'].id}/quiz/attempts", json={"answers": answers})
    assert resp.status_code == 400
    assert error_of(resp) == "invalid_body"
    assert resp.get_json()["error"]["details"]["reason"] == reason
    assert _attempts() == before


def test_quiz_of_an_invisible_course_or_by_cookie_is_refused(world, study, api_as, login_as):
    url = f"{API}/lessons/{study['text'].id}/quiz/attempts"
    body = {"answers": {str(study["q1"]): [1]}}
    assert api_as(world["teacher_b"]).post(url, json=body).status_code == 404
    assert api_as(world["teacher_b"]).get(f"{API}/lessons/{study['text'].id}/quiz").status_code == 404
    assert login_as(world["teacher"]).post(url, json=body).status_code == 401
    assert api_as(world["teacher"]).post(f"{API}/lessons/{study['video'].id}/quiz/attempts",
                                         json={"answers": {}}).status_code == 404  # fmt: skip
    assert _attempts() == 0


# --- course management ------------------------------------------------------------------------------


def _courses() -> int:
    _fresh()
    return _db.session.scalar(select(func.count(Course.id)))


NEW = {"title": "API 新课程", "kind": "cases", "hours": 2.5, "stage": "primary", "subject": "math",
       "description": "<p>简介</p><script>x</script>", "published": True}  # fmt: skip


def test_course_manager_creates_and_edits_a_course(world, api_as, conforms):
    api = api_as(world["county_admin"])
    resp = api.post(f"{API}/courses", json={"context_id": world.county_a.context.id, **NEW})
    assert resp.status_code == 201, resp.get_json()
    data = conforms(resp, "ManagedCourse")
    assert data["course"]["title"] == "API 新课程" and data["course"]["hours"] == 2.5
    assert "<script>" not in data["description_html"]
    cid = data["course"]["id"]
    edited = api.patch(f"{API}/courses/{cid}", json={"title": "改名课程", "published": False})
    assert edited.status_code == 200
    course = conforms(edited, "ManagedCourse")["course"]
    assert (course["title"], course["published"], course["kind"], course["hours"]) == ("改名课程", False, "cases", 2.5)
    # Unpublished: the county's teachers no longer see it.
    assert api_as(world["teacher"]).get(f"{API}/courses/{cid}").status_code == 404


@pytest.mark.parametrize(
    "patch,status,code",
    [
        ({"hours": 0}, 400, "bad_hours"),
        ({"hours": 500}, 400, "bad_hours"),
        ({"title": "   "}, 400, "title_required"),
        ({"kind": "magic"}, 400, "invalid_body"),
        ({"context_id": 1}, 400, "invalid_body"),
    ],
)
def test_bad_course_edits_change_nothing(world, study, api_as, patch, status, code):
    resp = api_as(world["county_admin"]).patch(f"{API}/courses/{study['course'].id}", json=patch)
    assert resp.status_code == status
    assert error_of(resp) == code
    _fresh()
    assert _db.session.get(Course, study["course"].id).title == "信息技术与学科教学融合"


def test_bad_new_course_stores_nothing(world, api_as):
    before = _courses()
    api = api_as(world["county_admin"])
    ctx = world.county_a.context.id
    for body in ({**NEW, "context_id": ctx, "hours": -1}, {**NEW, "context_id": ctx, "title": ""},
                 {**NEW, "context_id": ctx, "subject": "alchemy"}, NEW):  # fmt: skip
        assert api.post(f"{API}/courses", json=body).status_code == 400, body
    assert api.post(f"{API}/courses", json={**NEW, "context_id": 999999}).status_code == 404
    assert _courses() == before


@pytest.mark.parametrize("role,status", [("teacher", 403), ("host", 403), ("county_admin_b", 404)])
def test_only_course_managers_create_there(world, api_as, role, status):
    before = _courses()
    resp = api_as(world[role]).post(f"{API}/courses", json={"context_id": world.county_a.context.id, **NEW})
    assert resp.status_code == status
    assert _courses() == before


def test_lessons_add_edit_reorder_delete(world, study, api_as, conforms):
    api = api_as(world["county_admin"])
    cid = study["course"].id
    resp = api.post(f"{API}/courses/{cid}/lessons", json={"title": "第三课", "kind": "video"})
    assert resp.status_code == 201
    new = conforms(resp, "Lesson")
    assert new["position"] == 3 and new["ready"] is False
    edited = api.patch(f"{API}/lessons/{new['id']}", json={"title": "第三课（修订）"})
    assert edited.get_json()["title"] == "第三课（修订）"
    order = [new["id"], study["text"].id, study["video"].id]
    resp = api.put(f"{API}/courses/{cid}/lesson-order", json={"lesson_ids": order})
    assert resp.status_code == 200
    assert [x["id"] for x in conforms(resp, "LessonList")["items"]] == order
    assert api.delete(f"{API}/lessons/{study['text'].id}").status_code == 204
    listed = api.get(f"{API}/courses/{cid}/lessons").get_json()["items"]
    assert [(x["id"], x["position"]) for x in listed] == [(new["id"], 1), (study["video"].id, 2)]
    _fresh()
    assert _db.session.get(Course, cid).lesson_count == 2


def test_bad_lesson_input_is_400(world, study, api_as):
    api = api_as(world["county_admin"])
    cid = study["course"].id
    assert api.post(f"{API}/courses/{cid}/lessons", json={"title": "x", "kind": "podcast"}).status_code == 400
    assert api.post(f"{API}/courses/{cid}/lessons", json={"title": " ", "kind": "text"}).status_code == 400
    for ids in ([study["video"].id], [study["video"].id, study["video"].id], [study["video"].id, 999999], []):
        resp = api.put(f"{API}/courses/{cid}/lesson-order", json={"lesson_ids": ids})
        assert resp.status_code == 400, ids
    _fresh()
    course = _db.session.get(Course, cid)
    assert [(x.title, x.position) for x in sorted(course.lessons, key=lambda x: x.position)] == [
        ("第一课 微课设计", 1), ("阅读材料", 2)]  # fmt: skip


@pytest.mark.parametrize("role,status", [("teacher", 403), ("expert", 403), ("host", 403), ("county_admin_b", 404)])
def test_only_managers_of_the_course_change_it(world, study, api_as, role, status):
    api = api_as(world[role])
    cid, lid = study["course"].id, study["text"].id
    calls = [
        api.patch(f"{API}/courses/{cid}", json={"title": "越权"}),
        api.post(f"{API}/courses/{cid}/lessons", json={"title": "越权", "kind": "text"}),
        api.put(f"{API}/courses/{cid}/lesson-order", json={"lesson_ids": [lid, study["video"].id]}),
        api.patch(f"{API}/lessons/{lid}", json={"title": "越权"}),
        api.delete(f"{API}/lessons/{lid}"),
        api.delete(f"{API}/courses/{cid}"),
    ]
    assert [r.status_code for r in calls] == [status] * len(calls)
    _fresh()
    course = _db.session.get(Course, cid)
    assert course.title == "信息技术与学科教学融合" and len(course.lessons) == 2
    assert [x.id for x in sorted(course.lessons, key=lambda x: x.position)] == [study["video"].id, lid]


def test_video_upload_is_documented_on_the_lesson_endpoint(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    summary = doc["paths"]["/courses/{course_id}/lessons"]["post"]["summary"]
    assert "/courses/lessons/{lesson_id}/video/uploads" in summary and "Content-Range" in summary


def test_a_group_leader_sees_their_own_group_only(world, study, api_as, db):
    """As on the page: 小组长 follow their group's progress, nobody else's."""
    from lms.communities import services as community
    from tests.factories import make_user

    other = community.create_group(world.workshop_a, "第二组")
    stranger = make_user("g2_member", "孙老师", world.school_a, subject="math")
    community.add_member(world.workshop_a, stranger, other)
    db.session.commit()
    url = f"{API}/workshops/{world.workshop_a.id}/course-progress"
    names = {r["user"]["name"] for r in api_as(world["leader"]).get(url).get_json()["items"]}
    assert names == {"李老师", "王组长"}
    assert "孙老师" in {r["user"]["name"] for r in api_as(world["host"]).get(url).get_json()["items"]}
