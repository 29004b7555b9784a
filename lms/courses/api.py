"""Courses under /api/v1: the catalogue, a course with its lessons, selecting electives, my courses."""

from flask import jsonify, request, url_for

from lms.api import BOOL, INT, PAGING_PARAMS, STR, ApiError, api_user, array, nullable, obj, query_param, route, schema
from lms.core.pagination import page_arg
from lms.courses import services

NUM = {"type": "number"}
COURSE = schema(
    "Course",
    obj(("id", "title", "kind", "stage", "subject", "hours", "lesson_count", "status", "published", "url"),
        id=INT, title=STR, kind=STR, stage=nullable(STR), subject=nullable(STR), hours=NUM, lesson_count=INT,
        status={"type": "string", "enum": ["required", "selected", "available"]}, published=BOOL, url=STR),
)  # fmt: skip
LESSON = schema(
    "Lesson",
    obj(("id", "position", "title", "kind", "duration_seconds", "ready", "has_quiz", "url"),
        id=INT, position=INT, title=STR, kind=STR, duration_seconds=nullable(INT), ready=BOOL, has_quiz=BOOL, url=STR),
)  # fmt: skip
schema("CourseList", obj(("items", "page", "pages", "total"), items=array(COURSE), page=INT, pages=INT, total=INT))
schema(
    "CourseDetail",
    obj(("course", "description_html", "lessons"), course=COURSE, description_html=STR, lessons=array(LESSON)),
)
schema("Selection", obj(("selected",), selected=BOOL))
schema("SelectionResult", obj(("status", "changed"), status=STR, changed=BOOL))
# obj() takes the required list as its first argument, so a property named "required" is added by hand.
_MINE = obj(("selected", "hours"), selected=array(COURSE), hours=NUM)
_MINE["properties"]["required"] = array(COURSE)
_MINE["required"].append("required")
schema("MyCourses", _MINE)


def _course(c, status: str) -> dict:
    return {"id": c.id, "title": c.title, "kind": c.kind, "stage": c.stage, "subject": c.subject,
            "hours": float(c.hours), "lesson_count": c.lesson_count, "status": status, "published": c.published,
            "url": url_for("courses.course", course_id=c.id)}  # fmt: skip


def _lesson(x) -> dict:
    return {"id": x.id, "position": x.position, "title": x.title, "kind": x.kind,
            "duration_seconds": x.duration_seconds, "ready": x.kind != "video" or bool(x.rendition_dir),
            "has_quiz": x.has_quiz, "url": url_for("courses.lesson", lesson_id=x.id)}  # fmt: skip


def _per_page() -> int:
    from lms.api import MAX_PER_PAGE

    try:
        return max(1, min(MAX_PER_PAGE, int(request.args.get("per_page", services.per_page()))))
    except ValueError:
        return services.per_page()


FILTERS = [
    query_param("q", STR, "Part of the title"),
    query_param("stage", STR, "学段 code"),
    query_param("subject", STR, "学科 code"),
    query_param("kind", {"type": "string", "enum": ["ethics", "it_methods", "integration", "cases"]}),
    query_param("need", {"type": "string", "enum": ["required", "elective"]}),
]


@route("/courses", summary="The course supermarket as the caller sees it", params=FILTERS + PAGING_PARAMS,
       response="CourseList")  # fmt: skip
def courses_list():
    user = api_user()
    a = request.args
    page = services.catalogue(
        user, q=a.get("q", ""), stage=a.get("stage"), subject=a.get("subject"), kind=a.get("kind"),
        need=a.get("need"), page=page_arg(request), per_page=_per_page(),
    )  # fmt: skip
    req, sel = services.required_ids(user), services.selected_ids(user)
    items = [_course(c, services.status_for(user, c, req, sel)) for c in page.items]
    return jsonify(items=items, page=page.page, pages=page.pages, total=page.total)


@route("/courses/<int:course_id>", summary="A course with its ordered lessons", response="CourseDetail",
       errors=(404,))  # fmt: skip
def course_detail(course_id):
    user = api_user()
    c = services.get_visible(user, course_id, lessons=True)
    if c is None:
        raise ApiError(404, "not_found")
    lessons = [_lesson(x) for x in c.lessons]
    return jsonify(course=_course(c, services.status_for(user, c)), description_html=c.description_html,
                   lessons=lessons)  # fmt: skip


@route("/courses/<int:course_id>/selection", methods=("PUT",), summary="Select (true) or unselect (false) an elective",
       body="Selection", response="SelectionResult", errors=(404,))  # fmt: skip
def course_select(course_id, body):
    user = api_user()
    c = services.get_visible(user, course_id)
    if c is None:
        raise ApiError(404, "not_found")
    if body["selected"]:
        try:
            changed = services.select_course(user, c)
        except services.CourseError:
            raise ApiError(404, "not_found") from None
    else:
        changed = services.unselect_course(user, c)
    return jsonify(status=services.status_for(user, c), changed=changed)


@route("/me/courses", summary="The caller's required and selected courses with their hours", response="MyCourses")
def my_courses():
    user = api_user()
    mine = services.my_courses(user)
    return jsonify(required=[_course(c, "required") for c in mine["required"]],
                   selected=[_course(c, "selected") for c in mine["selected"]], hours=float(mine["hours"]))  # fmt: skip


# Lessons, progress and quizzes; course management: their own modules, on the same blueprint.
from lms.courses import manage_api, study_api  # noqa: E402, F401
