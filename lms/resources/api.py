"""Resource library JSON API under /api/v1: list, detail, upload (multipart)."""

from flask import jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from lms import access
from lms.access.models import Context
from lms.api import (
    DATETIME,
    INT,
    PAGING_PARAMS,
    STR,
    ApiError,
    api_user,
    array,
    nullable,
    obj,
    page_body,
    paging_args,
    query_param,
    route,
    schema,
)
from lms.core.uploads import UploadError, body_limit
from lms.extensions import db
from lms.media import services as media
from lms.resources import services

NUM = {"type": "number"}
RESOURCE_FIELDS = dict(
    id=INT, title=STR, kind=STR, stage=nullable(STR), subject=nullable(STR), tags=array(STR), status=STR,
    library=STR, library_name=nullable(STR), owner=nullable(STR), download_count=INT, rating=NUM,
    rating_count=INT, favourite_count=INT, comment_count=INT, created_at=DATETIME, url=STR,
)  # fmt: skip
RESOURCE = schema("Resource", obj(tuple(RESOURCE_FIELDS), **RESOURCE_FIELDS))
schema(
    "ResourceList",
    obj(("items", "page", "per_page", "total"), items=array(RESOURCE), page=INT, per_page=INT, total=INT),
)
FILE = obj(("name", "mime", "size", "download_url"), name=STR, mime=STR, size=INT, download_url=STR)
schema(
    "ResourceDetail",
    obj((*RESOURCE_FIELDS, "description_html", "file"), **RESOURCE_FIELDS, description_html=STR, file=nullable(FILE)),
)

schema(
    "ResourceChange",
    obj((), title={**STR, "minLength": 1, "maxLength": 200}, description={**STR, "maxLength": 50000},
        stage=nullable(STR), subject=nullable(STR), kind=STR, tags=array({**STR, "maxLength": 20})),
)  # fmt: skip

LIST_PARAMS = [
    *PAGING_PARAMS,
    query_param("library", INT, "An access context id (workshop, school or region library)"),
    query_param("stage", STR),
    query_param("subject", STR),
    query_param("kind", STR),
    query_param("status", STR),
    query_param("q", STR, "Words in the title or tags"),
    query_param("community", INT, "A community's context id: its library and the libraries below it"),
    query_param("sort", {"type": "string", "enum": list(services.SORTS)}),
]


def _visible_or_404(resource_id: int):
    r = services.get_visible(api_user(), resource_id)
    if r is None:
        raise ApiError(404, "not_found")
    return r


@route("/resources", summary="Resources the caller may see, filtered and sorted", params=LIST_PARAMS,
       response="ResourceList", errors=(404,))  # fmt: skip
def resources_list():
    user = api_user()
    page_no, per_page = paging_args()
    ctx = None
    if request.args.get("library"):
        try:
            ctx = db.session.get(Context, int(request.args["library"]))
        except ValueError:
            raise ApiError(400, "bad_parameter", {"field": "library", "reason": "type"}) from None
        if ctx is None or not access.can(user, "community.view", ctx):
            raise ApiError(404, "not_found")
    page = services.browse(user, services.Filters.from_args(request.args), context=ctx, page=page_no,
                           per_page=per_page)  # fmt: skip
    return jsonify(page_body(page, [services.as_dict(r) for r in page.items]))


@route("/resources/<int:resource_id>", summary="One resource", response="ResourceDetail", errors=(404,))
def resources_detail(resource_id):
    r = _visible_or_404(resource_id)
    services.record_view(api_user(), r)  # an opening, as on the page: counts, and is not recommended again
    return jsonify(services.as_dict(r, detail=True))


@route("/resources/<int:resource_id>", methods=("PATCH",), summary="Change a resource's details (its owner or "
       "a curator of its library); fields not sent stay", body="ResourceChange", response="ResourceDetail",
       errors=(403, 404))  # fmt: skip
def resources_change(resource_id, body):
    r = _visible_or_404(resource_id)
    try:
        services.edit(api_user(), r, **body)
    except services.ResourceError as err:
        code = str(err)
        raise ApiError(403 if code == "forbidden" else 400, code) from None
    return jsonify(services.as_dict(r, detail=True))


@route("/resources", methods=("POST",), summary="Upload a resource (multipart/form-data: file, title, library, "
       "kind, stage, subject, tags, description)", response="ResourceDetail", status=201,
       errors=(400, 403, 404, 413))  # fmt: skip
@body_limit(services.max_bytes)
def resources_upload():
    user = api_user()
    try:
        form, file = request.form, request.files.get("file")
    except RequestEntityTooLarge:  # over the cap: refused from its Content-Length, never read
        reason = media.upload_error_message(UploadError(f"too_large:{services.max_bytes()}"))
        raise ApiError(413, "upload_too_large", {"reason": reason}) from None
    ctx = None
    if form.get("library"):
        try:
            ctx = db.session.get(Context, int(form["library"]))
        except ValueError:
            raise ApiError(400, "invalid_body", {"field": "library", "reason": "type"}) from None
        if ctx is None or not access.can(user, "community.view", ctx):
            raise ApiError(404, "not_found")
    try:
        r = services.upload(user, title=form.get("title", ""), file=file, context=ctx,
                            description=form.get("description", ""), stage=form.get("stage") or None,
                            subject=form.get("subject") or None, kind=form.get("kind") or None,
                            tags=form.get("tags", ""))  # fmt: skip
    except services.ResourceError as err:
        code = str(err)
        if code == "forbidden":
            raise ApiError(403, "forbidden") from None
        raise ApiError(400, code) from None
    except UploadError as err:
        code = str(err)
        status = 413 if code.startswith("too_large") else 400
        raise ApiError(status, "upload_" + code.split(":")[0], {"reason": media.upload_error_message(err)}) from None
    resp = jsonify(services.as_dict(r, detail=True))
    resp.status_code = 201
    return resp
