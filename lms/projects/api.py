"""Training projects under /api/v1: the list the caller may see, one project, enrolment."""

from flask import jsonify, request, url_for

from lms.api import (
    INT,
    PAGING_PARAMS,
    STR,
    ApiError,
    api_user,
    array,
    nullable,
    obj,
    paging_args,
    query_param,
    route,
    schema,
)
from lms.projects import services
from lms.projects.models import MODES

NUM = {"type": "number"}
DATE = {"type": "string", "format": "date"}
PROJECT = schema(
    "Project",
    obj(("id", "name", "mode", "region", "enrolled_count", "url"),
        id=INT, name=STR, target_group=STR, mode={"type": "string", "enum": list(MODES)}, hours_text=STR,
        online_hours=nullable(NUM), onsite_days=nullable(INT), places=nullable(INT),
        region=obj(("id", "name"), id=INT, name=STR), institution=STR, starts_on=nullable(DATE),
        ends_on=nullable(DATE), enrolled_count=INT, url=STR),
)  # fmt: skip
schema("ProjectList", obj(("items", "page", "pages", "total"), items=array(PROJECT), page=INT, pages=INT, total=INT))
_COURSE = obj(("id", "title", "required", "hours"), id=INT, title=STR, hours=NUM)
_COURSE["properties"]["required"] = {"type": "boolean"}
schema(
    "ProjectDetail",
    obj(("project", "description", "enrolled", "courses"), project=PROJECT, description=STR,
        enrolled={"type": "boolean", "description": "Whether the caller is enrolled"}, courses=array(_COURSE)),
)  # fmt: skip
schema(
    "EnrolRequest",
    obj((), user_ids={"type": "array", "items": INT, "minItems": 1, "maxItems": services.MAX_BULK},
        school_id=INT),
)  # fmt: skip
schema("EnrolResult", obj(("added", "enrolled_count"), added=INT, enrolled_count=INT))


def _project(p) -> dict:
    return {"id": p.id, "name": p.name, "target_group": p.target_group, "mode": p.mode, "hours_text": p.hours_text,
            "online_hours": float(p.online_hours) if p.online_hours is not None else None,
            "onsite_days": p.onsite_days, "places": p.places, "region": {"id": p.region.id, "name": p.region.name},
            "institution": p.institution, "starts_on": p.starts_on.isoformat() if p.starts_on else None,
            "ends_on": p.ends_on.isoformat() if p.ends_on else None, "enrolled_count": p.enrolled_count,
            "url": url_for("projects.detail", project_id=p.id)}  # fmt: skip


def _visible_or_404(project_id: int):
    p = services.get_visible(api_user(), project_id)
    if p is None:
        raise ApiError(404, "not_found")
    return p


@route("/projects", summary="The training projects the caller may see",
       params=[query_param("q", STR, "Part of the name")] + PAGING_PARAMS, response="ProjectList")  # fmt: skip
def projects_list():
    page_no, per_page = paging_args()
    page = services.visible_projects(api_user(), q=request.args.get("q", ""), page=page_no, per_page=per_page)
    return jsonify(items=[_project(p) for p in page.items], page=page.page, pages=page.pages, total=page.total)


@route("/projects/<int:project_id>", summary="A training project with its courses", response="ProjectDetail",
       errors=(404,))  # fmt: skip
def project_detail(project_id):
    p = _visible_or_404(project_id)
    courses = [{"id": c.id, "title": c.title, "required": bool(req), "hours": float(c.hours)}
               for c, req in services.courses_of(p)]  # fmt: skip
    return jsonify(project=_project(p), description=p.description,
                   enrolled=services.enrolment_of(api_user(), p) is not None, courses=courses)  # fmt: skip


@route("/projects/<int:project_id>/enrolments", methods=("POST",),
       summary="Enrol teachers (user_ids) or a whole school (school_id); all or nothing",
       body="EnrolRequest", response="EnrolResult", errors=(404,))  # fmt: skip
def project_enrol(project_id, body):
    user = api_user()
    p = _visible_or_404(project_id)
    if not services.may_enrol(user, p):
        raise ApiError(403, "forbidden")
    try:
        if "school_id" in body:
            added = services.enrol_school(user, p, services.find_school(body["school_id"]))
        elif body.get("user_ids"):
            ids = body["user_ids"]
            if len(ids) > services.MAX_BULK or any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
                raise ApiError(400, "invalid_body", {"field": "user_ids", "reason": "type"})
            teachers = [services.find_teacher(uid) for uid in body["user_ids"]]
            if any(t is None for t in teachers):
                raise services.ProjectError("teacher_out_of_scope")
            added = services.enrol(user, p, teachers)
        else:
            raise ApiError(400, "invalid_body", {"field": "user_ids", "reason": "user_ids or school_id required"})
    except services.ProjectError as exc:
        raise ApiError(403 if str(exc) == "forbidden" else 400, str(exc)) from None
    return jsonify(added=added, enrolled_count=p.enrolled_count)


@route("/projects/<int:project_id>/enrolments/<int:user_id>", methods=("DELETE",),
       summary="Withdraw a teacher from the project", status=204, errors=(404,))  # fmt: skip
def project_unenrol(project_id, user_id):
    user = api_user()
    p = _visible_or_404(project_id)
    if not services.may_enrol(user, p):
        raise ApiError(403, "forbidden")
    try:
        removed = services.unenrol(user, p, services.find_teacher(user_id))
    except services.ProjectError as exc:
        raise ApiError(403, str(exc)) from None
    if not removed:
        raise ApiError(404, "not_found")
    return "", 204
