"""/api/v1 endpoints of research writing, briefs and the feed: the same checks as the pages.

Writing is read with `writing.view` on its workshop (or by its author), briefs with
`community.view` on their community, composed with `brief.post`; 404 when not visible at all.
"""

from flask import jsonify, request

from lms import access
from lms.activities import briefs, feed, writing
from lms.activities.models import WRITING_KINDS, Writing
from lms.api import (
    DATETIME,
    INT,
    PAGING_PARAMS,
    STR,
    ApiError,
    api_user,
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
from lms.communities.models import Region, School, Workshop
from lms.extensions import db

KIND = {**STR, "enum": list(WRITING_KINDS)}
schema("WritingItem", obj(
    ("id", "kind", "title", "body_html", "year", "workshop_id", "author", "created_at", "url"),
    id=INT, kind=KIND, title=STR, body_html={**STR, "description": "Sanitized HTML"}, year=INT, workshop_id=INT,
    author=ref("PersonRef"), created_at=DATETIME, updated_at=nullable(DATETIME), url=STR,
))  # fmt: skip
schema("WritingPage", page_schema(ref("WritingItem")))
schema("NewWriting", obj(
    ("workshop_id", "kind", "title"),
    workshop_id=INT, kind=KIND, title={**STR, "minLength": 1, "maxLength": 200},
    body={**STR, "maxLength": 50000, "description": "HTML (sanitized) or plain text (blank line = paragraph)"},
))  # fmt: skip
schema("WritingChange", obj(
    ("title",), title={**STR, "minLength": 1, "maxLength": 200}, body={**STR, "maxLength": 50000},
))  # fmt: skip
schema("BriefItem", obj(
    ("id", "title", "body_html", "context", "author", "images", "created_at", "url"),
    id=INT, title=STR, body_html=STR,
    context=obj(("kind", "name"), kind={**STR, "enum": ["workshop", "school", "region"]}, name=STR),
    author=nullable(ref("PersonRef")), images={"type": "array", "items": STR}, created_at=DATETIME,
    updated_at=nullable(DATETIME), url=STR,
))  # fmt: skip
schema("BriefPage", page_schema(ref("BriefItem")))
schema("NewBrief", obj(
    ("title",), title={**STR, "minLength": 1, "maxLength": 200}, body={**STR, "maxLength": 50000},
))  # fmt: skip
schema("FeedItem", obj(
    ("id", "kind", "ref_id", "title", "url", "actor", "created_at"),
    id=INT, kind=STR, ref_id=INT, title=STR, url=STR, actor=nullable(STR), created_at=DATETIME,
))  # fmt: skip
schema("FeedPage", page_schema(ref("FeedItem")))


def _person(u):
    return {"id": u.id, "name": u.name} if u is not None else None


def writing_dict(w: Writing) -> dict:
    return {
        "id": w.id,
        "kind": w.kind,
        "title": w.title,
        "body_html": w.body_html,
        "year": w.year,
        "workshop_id": w.workshop_id,
        "author": _person(w.author),
        "created_at": w.created_at.isoformat(),
        "updated_at": w.updated_at.isoformat() if w.updated_at else None,
        "url": writing._url(w),
    }


def brief_dict(b) -> dict:
    from flask import url_for

    return {
        "id": b.id,
        "title": b.title,
        "body_html": b.body_html,
        "context": {"kind": b.context.kind, "name": b.context.name},
        "author": _person(b.author),
        "images": [url_for("research.brief_image", ident=b.id, image_id=i.id) for i in b.images],
        "created_at": b.created_at.isoformat(),
        "updated_at": b.updated_at.isoformat() if b.updated_at else None,
        "url": briefs.url_of(b),
    }


def _bad(exc) -> ApiError:
    field = "body" if str(exc) == "body_too_long" else "title"
    return ApiError(400, str(exc), {"field": field, "reason": str(exc)})


def _writing(ident: int) -> Writing:
    item = db.session.get(Writing, ident)
    if item is None:
        raise ApiError(404, "not_found")
    if not writing.may_view(api_user(), item):
        access.require(api_user(), "writing.view", item.workshop)
    return item


@route("/me/writing", summary="The caller's research writing, newest first", params=PAGING_PARAMS,
       response="WritingPage")  # fmt: skip
def my_writing_list():
    page_no, per_page = paging_args()
    page = writing.mine(api_user(), page_no, per_page)
    return jsonify(page_body(page, [writing_dict(w) for w in page.items]))


@route("/writing", methods=("POST",), summary="Write a research plan, log or summary", body="NewWriting",
       response="WritingItem", status=201, errors=(403, 404))  # fmt: skip
def writing_create(body):
    user = api_user()
    ws = db.session.get(Workshop, body["workshop_id"])
    if ws is None:
        raise ApiError(404, "not_found")
    access.require(user, "community.view", ws)
    try:
        item = writing.create(user, ws, body["kind"], body["title"], body.get("body", ""))
    except PermissionError:
        raise ApiError(403, "forbidden") from None
    except writing.WritingError as exc:
        raise _bad(exc) from None
    return jsonify(writing_dict(item)), 201


@route("/writing/<int:ident>", summary="One piece of research writing", response="WritingItem", errors=(404,))
def writing_get(ident):
    return jsonify(writing_dict(_writing(ident)))


@route("/writing/<int:ident>", methods=("PATCH",), summary="Edit one's own writing", body="WritingChange",
       response="WritingItem", errors=(403, 404))  # fmt: skip
def writing_patch(ident, body):
    item = _writing(ident)
    try:
        writing.update(api_user(), item, body["title"], body.get("body", ""))
    except PermissionError:
        raise ApiError(403, "forbidden") from None
    except writing.WritingError as exc:
        raise _bad(exc) from None
    return jsonify(writing_dict(item))


@route("/writing/<int:ident>", methods=("DELETE",), summary="Delete one's own writing", status=204,
       errors=(403, 404))  # fmt: skip
def writing_delete(ident):
    item = _writing(ident)
    try:
        writing.delete(api_user(), item)
    except PermissionError:
        raise ApiError(403, "forbidden") from None
    return "", 204


@route("/workshops/<int:ident>/writing", summary="A workshop's research writing, newest first",
       params=[*PAGING_PARAMS, query_param("kind", {**STR, "enum": [*WRITING_KINDS, "teacher", "host"]})],
       response="WritingPage", errors=(403, 404))  # fmt: skip
def workshop_writing_list(ident):
    ws = db.session.get(Workshop, ident)
    if ws is None:
        raise ApiError(404, "not_found")
    access.require(api_user(), "writing.view", ws)
    kind = request.args.get("kind")
    if kind and kind not in (*WRITING_KINDS, "teacher", "host"):
        raise ApiError(400, "bad_parameter", {"field": "kind", "reason": "enum"})
    page_no, per_page = paging_args()
    page = writing.in_workshop(ws, kind, page_no, per_page)
    return jsonify(page_body(page, [writing_dict(w) for w in page.items]))


@route("/briefs/<int:ident>", summary="One brief", response="BriefItem", errors=(404,))
def brief_get(ident):
    item = briefs.get(ident)
    if item is None:
        raise ApiError(404, "not_found")
    access.require(api_user(), "community.view", item.context)
    return jsonify(brief_dict(item))


def _brief_endpoints(segment: str, model) -> None:
    def community(ident):
        obj_ = db.session.get(model, ident)
        if obj_ is None:
            raise ApiError(404, "not_found")
        access.require(api_user(), "community.view", obj_)
        return obj_

    def list_briefs(ident):
        page_no, per_page = paging_args()
        page = briefs.listing(community(ident), page_no, per_page)
        return jsonify(page_body(page, [brief_dict(b) for b in page.items]))

    def create_brief(ident, body):
        c = community(ident)
        access.require(api_user(), "brief.post", c)
        try:
            item = briefs.post(api_user(), c.context, body["title"], body.get("body", ""))
        except briefs.BriefError as exc:
            raise _bad(exc) from None
        return jsonify(brief_dict(item)), 201

    name = segment.rstrip("s")
    list_briefs.__name__ = f"{name}_briefs_list"
    create_brief.__name__ = f"{name}_brief_create"
    route(f"/{segment}/<int:ident>/briefs", summary=f"Briefs of a {name}, newest first", params=PAGING_PARAMS,
          response="BriefPage", errors=(404,))(list_briefs)  # fmt: skip
    route(f"/{segment}/<int:ident>/briefs", methods=("POST",), summary=f"Compose a brief for a {name} (no images)",
          body="NewBrief", response="BriefItem", status=201, errors=(403, 404))(create_brief)  # fmt: skip


for _segment, _model in (("workshops", Workshop), ("schools", School), ("regions", Region)):
    _brief_endpoints(_segment, _model)


@route("/me/feed", summary="What happened in the caller's communities, newest first",
       params=[*PAGING_PARAMS, query_param("kind", STR)], response="FeedPage")  # fmt: skip
def my_feed():
    page_no, per_page = paging_args()
    kind = request.args.get("kind") or None
    page = feed.entries(api_user(), page_no, per_page, kind=kind)
    return jsonify(page_body(page, [feed.as_dict(e) for e in page.items]))
