"""Course management under /api/v1 for holders of `course.manage` (experts, region admins): create and
edit courses, add, edit, reorder and delete lessons. The pages' services (lms.courses.services) decide.

A course the caller cannot see is 404; one they see but may not manage is 403.

Lesson videos are uploaded with the resumable upload the lesson page uses (session cookie and CSRF
token, not this API): POST /courses/lessons/{lesson_id}/video/uploads with {filename, size} answers
{upload_id, chunk_size, url}; then PUT each chunk to /courses/video-uploads/{upload_id} with
`Content-Range: bytes start-end/total` (GET there gives the offset to resume from); the last chunk
queues the transcode, whose state GET /courses/lessons/{lesson_id}/transcode reports.
"""

from flask import jsonify

from lms import access
from lms.access.models import Context
from lms.api import BOOL, INT, STR, ApiError, api_user, array, nullable, obj, ref, route, schema
from lms.core.taxonomy import STAGES, SUBJECTS
from lms.courses import services
from lms.courses.api import _course, _lesson
from lms.courses.models import COURSE_KINDS, LESSON_KINDS
from lms.courses.study_api import refused, visible_course, visible_lesson
from lms.extensions import db

VIDEO_UPLOAD_NOTE = (
    "Video lessons: upload the file with the lesson page's resumable upload (session cookie + CSRF token): "
    "POST /courses/lessons/{lesson_id}/video/uploads {filename, size}, then PUT chunks to "
    "/courses/video-uploads/{upload_id} with Content-Range; GET /courses/lessons/{lesson_id}/transcode for the state."
)
TITLE = {**STR, "minLength": 1, "maxLength": 200}
_COURSE_FIELDS = dict(
    title=TITLE,
    description={**STR, "maxLength": 100000, "description": "HTML; sanitized"},
    stage=nullable({**STR, "enum": list(STAGES)}),
    subject=nullable({**STR, "enum": list(SUBJECTS)}),
    kind={**STR, "enum": list(COURSE_KINDS)},
    hours={"type": "number", "description": "Study hours 学时, 0.1 to 200"},
    published={**BOOL, "description": "Unpublished courses are seen by their managers only"},
)
schema("NewCourse", obj(
    ("context_id", "title", "kind", "hours"),
    context_id={**INT, "description": "Where the course is offered: a context where the caller holds course.manage "
                                      "(see ManagedCourse.context_id of existing courses)"},
    **_COURSE_FIELDS,
))  # fmt: skip
schema("CourseUpdate", obj(**_COURSE_FIELDS))
schema("ManagedCourse", obj(
    ("course", "context_id", "description_html", "lessons"),
    course=ref("Course"), context_id=INT, description_html=STR, lessons=array(ref("Lesson")),
))  # fmt: skip
schema("NewLesson", obj(
    ("title", "kind"),
    title=TITLE,
    kind={**STR, "enum": list(LESSON_KINDS), "description": "video: upload the file afterwards (see the summary); "
                                                            "document: attach the PDF on the lesson page"},
    body={**STR, "maxLength": 100000, "description": "HTML; sanitized"},
))  # fmt: skip
schema("LessonUpdate", obj(title=TITLE, body={**STR, "maxLength": 100000}))
schema("LessonOrder", obj(
    ("lesson_ids",),
    lesson_ids={**array(INT), "minItems": 1, "maxItems": 1000,
                "description": "Every lesson of the course, each once, in the new order"},
))  # fmt: skip


def _managed(course_id: int):
    course = visible_course(course_id, lessons=True)
    if not services.may_manage(api_user(), course):
        raise ApiError(403, "forbidden")
    return course


def _managed_lesson(lesson_id: int):
    lesson = visible_lesson(lesson_id)
    if not services.may_manage(api_user(), lesson.course):
        raise ApiError(403, "forbidden")
    return lesson


def _body(course):
    return jsonify(course=_course(course, services.status_for(api_user(), course)), context_id=course.context_id,
                   description_html=course.description_html or "",
                   lessons=[_lesson(x) for x in course.lessons])  # fmt: skip


_ERRORS = (400, 403, 404)


@route("/courses", methods=("POST",), body="NewCourse", response="ManagedCourse", status=201, errors=_ERRORS,
       summary="Create a course offered in a context where the caller holds course.manage")  # fmt: skip
def create_course(body):
    ctx = db.session.get(Context, body["context_id"])
    if ctx is None:
        raise ApiError(404, "not_found")
    access.require(api_user(), "course.manage", ctx)
    try:
        course = services.create_course(api_user(), ctx, body)
    except services.CourseError as exc:
        db.session.rollback()
        refused(exc)
    return _body(course), 201


@route("/courses/<int:course_id>", methods=("PATCH",), body="CourseUpdate", response="ManagedCourse",
       errors=_ERRORS, summary="Edit a course; absent fields keep their value (course.manage)")  # fmt: skip
def update_course(course_id, body):
    course = _managed(course_id)
    current = {"title": course.title, "description": course.description_html, "stage": course.stage,
               "subject": course.subject, "kind": course.kind, "hours": course.hours,
               "published": course.published}  # fmt: skip
    try:
        services.update_course(api_user(), course, current | body)
    except services.CourseError as exc:
        db.session.rollback()
        refused(exc)
    return _body(course)


@route("/courses/<int:course_id>", methods=("DELETE",), status=204, errors=(403, 404),
       summary="Delete a course with its lessons (course.manage)")  # fmt: skip
def delete_course(course_id):
    services.delete_course(api_user(), _managed(course_id))
    return "", 204


@route("/courses/<int:course_id>/lessons", methods=("POST",), body="NewLesson", response="Lesson", status=201,
       errors=_ERRORS, summary="Add a lesson at the end of a course. " + VIDEO_UPLOAD_NOTE)  # fmt: skip
def add_course_lesson(course_id, body):
    course = _managed(course_id)
    try:
        lesson = services.add_lesson(api_user(), course, body["title"], body["kind"], body.get("body") or "")
    except services.CourseError as exc:
        db.session.rollback()
        refused(exc)
    return jsonify(_lesson(lesson)), 201


@route("/courses/<int:course_id>/lesson-order", methods=("PUT",), body="LessonOrder", response="LessonList",
       errors=_ERRORS, summary="Put a course's lessons in a new order (every lesson id, each once)")  # fmt: skip
def reorder_course_lessons(course_id, body):
    course = _managed(course_id)
    ids = body["lesson_ids"]
    if len(set(ids)) != len(ids) or set(ids) != {x.id for x in course.lessons}:
        raise ApiError(400, "invalid_body", {"field": "lesson_ids", "reason": "not_the_course_lessons"})
    services.reorder_lessons(api_user(), course, ids)
    db.session.refresh(course)
    return jsonify(course_id=course.id, items=[_lesson(x) for x in sorted(course.lessons, key=lambda x: x.position)])


@route("/lessons/<int:lesson_id>", methods=("PATCH",), body="LessonUpdate", response="Lesson", errors=_ERRORS,
       summary="Edit a lesson's title or text; absent fields keep their value (course.manage)")  # fmt: skip
def update_course_lesson(lesson_id, body):
    lesson = _managed_lesson(lesson_id)
    try:
        services.update_lesson(api_user(), lesson, body.get("title", lesson.title), body.get("body", lesson.body_html))
    except services.CourseError as exc:
        db.session.rollback()
        refused(exc)
    return jsonify(_lesson(lesson))


@route("/lessons/<int:lesson_id>", methods=("DELETE",), status=204, errors=(403, 404),
       summary="Delete a lesson; the others close up (course.manage)")  # fmt: skip
def delete_course_lesson(lesson_id):
    lesson = _managed_lesson(lesson_id)
    services.delete_lesson(api_user(), lesson)
    return "", 204
