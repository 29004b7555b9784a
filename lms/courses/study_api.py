"""Studying under /api/v1: a course's lessons, one lesson, the caller's own progress, a workshop's
members' progress (hosts and others with stats.view), and lesson quizzes.

Whoever may see a course (lms.courses.services.may_view) sees its lessons, their own progress and
takes its quizzes; anything else is 404 (no existence leak). Quiz questions are sent without their
answer key; scoring and the attempt rules are lms.courses.services.submit_quiz's, never repeated here.
Watch time is only earned by the player's heartbeats (the pages), never through this API.
"""

from flask import jsonify, url_for

from lms import access
from lms.api import (
    BOOL,
    DATETIME,
    INT,
    PAGING_PARAMS,
    STR,
    ApiError,
    api_user,
    array,
    int_arg,
    nullable,
    obj,
    page_body,
    page_schema,
    paging_args,
    query_param,
    ref,
    route,
    schema,
)
from lms.courses import services, watch
from lms.courses.api import _lesson
from lms.courses.models import Lesson
from lms.extensions import db

NUM = {"type": "number"}

schema("LessonList", obj(("course_id", "items"), course_id=INT, items=array(ref("Lesson"))))
schema("LessonState", obj(
    ("seconds", "minutes", "completed", "percent", "resume"),
    seconds={**NUM, "description": "Credited watch time (video lessons)"},
    minutes=INT,
    completed={**BOOL, "description": "A video lesson counts as completed once 90% of it was watched"},
    percent={**INT, "description": "Share of the video's duration credited (0 for text and document lessons)"},
    resume={**NUM, "description": "Where the player resumes (seconds)"},
))  # fmt: skip
schema("LessonDetail", obj(
    ("lesson", "course_id", "course_title", "body_html", "progress", "question_count"),
    lesson=ref("Lesson"), course_id=INT, course_title=STR, body_html=STR,
    document_url=nullable({**STR, "description": "The PDF of a document lesson (the page's URL, session auth)"}),
    progress=ref("LessonState"),
    question_count=INT,
))  # fmt: skip
schema("CourseProgress", obj(
    ("course_id", "title", "lessons", "seconds", "minutes", "lesson_count", "completed", "percent"),
    course_id=INT, title=STR,
    lessons=array(obj(("lesson_id", "kind", "seconds", "minutes", "completed", "percent", "resume"),
                      lesson_id=INT, kind=STR, seconds=NUM, minutes=INT, completed=BOOL, percent=INT, resume=NUM)),
    seconds={**NUM, "description": "Credited watch time in this course"},
    minutes=INT,
    lesson_count={**INT, "description": "All lessons of the course"},
    completed={**INT, "description": "Lessons done: content completed (video watched, text opened), quiz passed"},
    percent={**INT, "description": "completed / lesson_count, in percent"},
))  # fmt: skip
COURSE_ROW = schema("CourseProgressRow", obj(
    ("id", "title", "lessons", "completed", "seconds", "minutes", "percent"),
    id=INT, title=STR, lessons={**INT, "description": "All lessons of the course"},
    completed={**INT, "description": "Lessons done (content completed, quiz passed)"},
    seconds={**INT, "description": "Credited video time in this course"}, minutes=INT, percent=INT,
))  # fmt: skip
_STUDY = dict(
    minutes={**INT, "description": "Credited course-study minutes, all courses"},
    hours={**NUM, "description": "The same as study hours 学时 (one decimal)"},
    score={**NUM, "description": "Course-study score: linear up to full_points at full_minutes (DOMAIN §9)"},
    percent={**INT, "description": "minutes / full_minutes, in percent (at most 100)"},
)
schema("MyStudy", obj(
    ("minutes", "hours", "score", "full_minutes", "full_points", "percent", "courses"),
    **_STUDY, full_minutes=INT, full_points=NUM,
    courses={**array(COURSE_ROW), "description": "Courses studied, most recent first"},
))  # fmt: skip
schema("MemberStudy", obj(
    ("user", "minutes", "hours", "score", "percent", "courses"),
    user=ref("PersonRef"), **_STUDY, courses=array(COURSE_ROW),
))  # fmt: skip
_PAGE = page_schema(ref("MemberStudy"))
_PAGE["properties"].update(full_minutes=INT, full_points=NUM)
schema("MemberStudyPage", _PAGE)
schema("QuizQuestion", obj(
    ("id", "position", "kind", "prompt", "options"),
    id=INT, position=INT, kind={**STR, "enum": ["single", "multiple"]}, prompt=STR,
    options={**array(STR), "description": "Answer with their 0-based indexes"},
))  # fmt: skip
schema("QuizAttempt", obj(
    ("id", "score", "correct", "total", "created_at"),
    id=INT, score={**NUM, "description": "0–100"}, correct=INT, total=INT, created_at=DATETIME,
))  # fmt: skip
schema("Quiz", obj(
    ("lesson_id", "questions", "last_attempt"),
    lesson_id=INT,
    questions={**array(ref("QuizQuestion")), "description": "Without the answer key"},
    last_attempt=nullable(ref("QuizAttempt")),
))  # fmt: skip
schema("QuizAnswers", obj(
    ("answers",),
    answers={"type": "object", "description": "Question id → the chosen option indexes (one for single choice)",
             "additionalProperties": {**array({**INT, "minimum": 0}), "maxItems": 8}},
))  # fmt: skip

# The status of each refusal of the course services; the message is the code itself.
COURSE_STATUS = {"forbidden": 403, "no_quiz": 404, "not_available": 404, "unanswered": 400, "quiz_closed": 409,
                 "quiz_wait": 429}  # fmt: skip


def refused(exc):
    code = str(exc)
    # Too soon after the last attempt: how long to wait (the page says the same).
    details = {"retry_after": exc.seconds} if isinstance(exc, services.QuizWait) else None
    raise ApiError(COURSE_STATUS.get(code, 400), code, details) from None


def visible_course(course_id: int, lessons: bool = False):
    course = services.get_visible(api_user(), course_id, lessons=lessons)
    if course is None:
        raise ApiError(404, "not_found")
    return course


def visible_lesson(lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not services.may_view(api_user(), lesson.course):
        raise ApiError(404, "not_found")
    return lesson


def _state(row: dict) -> dict:
    return {k: row[k] for k in ("seconds", "minutes", "completed", "percent", "resume")}


def _attempt(a) -> dict | None:
    if a is None:
        return None
    return {
        "id": a.id,
        "score": a.score,
        "correct": a.correct,
        "total": a.total,
        "created_at": a.created_at.isoformat(),
    }


# --- lessons ----------------------------------------------------------------------------------------


@route("/courses/<int:course_id>/lessons", response="LessonList", errors=(404,),
       summary="A course's lessons in order")  # fmt: skip
def course_lessons(course_id):
    course = visible_course(course_id, lessons=True)
    return jsonify(course_id=course.id, items=[_lesson(x) for x in course.lessons])


@route("/lessons/<int:lesson_id>", response="LessonDetail", errors=(404,),
       summary="One lesson: its text, the caller's progress in it, how many quiz questions it has")  # fmt: skip
def lesson_detail(lesson_id):
    lesson = visible_lesson(lesson_id)
    progress = watch.course_progress(api_user().id, lesson.course)
    row = next(x for x in progress["lessons"] if x["lesson_id"] == lesson.id)
    document = None
    if lesson.kind == "document" and lesson.media_file_id:
        document = url_for("courses.document", lesson_id=lesson.id)
    return jsonify(lesson=_lesson(lesson), course_id=lesson.course_id, course_title=lesson.course.title,
                   body_html=lesson.body_html or "", document_url=document, progress=_state(row),
                   question_count=len(lesson.questions))  # fmt: skip


# --- progress ---------------------------------------------------------------------------------------


@route("/courses/<int:course_id>/progress", response="CourseProgress", errors=(404,),
       summary="The caller's progress in a course: each lesson and the course totals")  # fmt: skip
def my_course_progress(course_id):
    course = visible_course(course_id, lessons=True)
    return jsonify(course_id=course.id, title=course.title, **watch.course_progress(api_user().id, course))


def _study(d: dict) -> dict:
    return {"minutes": d["minutes"], "hours": d["hours"], "score": d["score"], "percent": d["percent"],
            "courses": d["courses"]}  # fmt: skip


@route("/me/course-progress", response="MyStudy",
       params=[query_param("limit", {**INT, "minimum": 1, "maximum": 100, "default": 20}, "Courses listed")],
       summary="The caller's course-study totals (minutes, hours, course-study score) and recent courses")  # fmt: skip
def my_study():
    d = watch.my_progress(api_user().id, limit=int_arg("limit", 20, maximum=100))
    return jsonify(_study(d) | {"full_minutes": d["full_minutes"], "full_points": d["full_points"]})


@route("/workshops/<int:workshop_id>/course-progress", response="MemberStudyPage", params=PAGING_PARAMS,
       errors=(400, 403, 404),
       summary="Members' study totals and progress (stats.view; a group leader: their groups)")  # fmt: skip
def workshop_study(workshop_id):
    from lms.communities.api import person_ref
    from lms.communities.models import Workshop
    from lms.communities.services import get_or_404

    ws = get_or_404(Workshop, workshop_id)
    groups = watch.progress_groups(api_user(), ws)  # a group leader: the groups they lead
    if groups is None:
        access.require(api_user(), "stats.view", ws)
    page, per_page = paging_args()
    d = watch.workshop_progress(ws, page=page, per_page=per_page, groups=[g.id for g in groups] if groups else None)
    items = [{"user": person_ref(r["user"])} | _study(r) for r in d["rows"]]
    return jsonify(page_body(d["members"], items) | {"full_minutes": d["full_minutes"],
                                                     "full_points": d["full_points"]})  # fmt: skip


# --- quizzes ----------------------------------------------------------------------------------------


@route("/lessons/<int:lesson_id>/quiz", response="Quiz", errors=(404,),
       summary="A lesson's quiz questions (without the answer key) and the caller's last attempt")  # fmt: skip
def lesson_quiz(lesson_id):
    lesson = visible_lesson(lesson_id)
    if not lesson.questions:
        raise ApiError(404, "no_quiz")
    questions = [{"id": q.id, "position": q.position, "kind": q.kind, "prompt": q.prompt, "options": list(q.options)}
                 for q in lesson.questions]  # fmt: skip
    return jsonify(lesson_id=lesson.id, questions=questions,
                   last_attempt=_attempt(services.last_attempt(api_user(), lesson)))  # fmt: skip


@route("/lessons/<int:lesson_id>/quiz/attempts", methods=("POST",), body="QuizAnswers", response="QuizAttempt",
       status=201, errors=(404, 409),
       summary="Submit answers to a lesson's quiz; the attempt is scored and kept")  # fmt: skip
def submit_lesson_quiz(lesson_id, body):
    lesson = visible_lesson(lesson_id)
    options = {str(q.id): len(q.options) for q in lesson.questions}
    for key, chosen in body["answers"].items():
        # A misaddressed answer is the client's mistake: say so rather than score it as unanswered.
        if key not in options:
            raise ApiError(400, "invalid_body", {"field": f"answers.{key}", "reason": "unknown_question"})
        if any(i >= options[key] for i in chosen):
            raise ApiError(400, "invalid_body", {"field": f"answers.{key}", "reason": "no_such_option"})
    try:
        attempt = services.submit_quiz(api_user(), lesson, body["answers"])
    except services.CourseError as exc:
        refused(exc)
    return jsonify(_attempt(attempt)), 201
