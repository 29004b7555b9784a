"""JSON API for workshop activities and discussion posts (/api/v1)."""

from flask import abort, jsonify

from lms import access
from lms.activities import workshop_services as svc
from lms.activities.kinds import kind_label
from lms.activities.models import Activity, Post
from lms.api import (
    BOOL,
    DATETIME,
    ERROR_DESCRIPTIONS,
    INT,
    PAGING_PARAMS,
    STR,
    ApiError,
    api_user,
    array,
    nullable,
    obj,
    page_body,
    page_schema,
    paging_args,
    route,
    schema,
)
from lms.communities.models import Workshop
from lms.core.db import utcnow
from lms.extensions import db

ERROR_DESCRIPTIONS.setdefault(409, "Not possible now (e.g. the activity is not open, already answered)")

ACTIVITY = schema(
    "Activity",
    obj(("id", "workshop_id", "kind", "kind_label", "title", "description_html", "opens_at", "closes_at", "phase",
         "post_count", "resource_count", "response_count"),
        id=INT, workshop_id=INT, kind=STR, kind_label=STR, title=STR, description_html=STR, opens_at=DATETIME,
        closes_at=nullable(DATETIME), phase={"type": "string", "enum": ["upcoming", "open", "closed"]},
        post_count=INT, resource_count=INT, response_count=INT),
)  # fmt: skip
schema("ActivityList", obj(("items",), items=array(ACTIVITY)))
_POST_FIELDS = dict(
    id=INT, activity_id=INT, parent_id=nullable(INT), quote_id=nullable(INT), author_id=nullable(INT),
    author_name=STR, body_html=STR, created_at=DATETIME, updated_at=nullable(DATETIME), pinned=BOOL, hidden=BOOL,
    featured=BOOL, effective=BOOL, deleted=BOOL, like_count=INT, reply_count=INT, liked=BOOL,
    attachments=array(obj(("id", "filename", "mime", "url"), id=INT, filename=STR, mime=STR, url=STR)),
)  # fmt: skip
REPLY = schema("Reply", obj(tuple(_POST_FIELDS), **_POST_FIELDS))
POST = schema("Post", obj((*_POST_FIELDS, "replies"), **_POST_FIELDS, replies=array(REPLY)))
schema("PostPage", page_schema(POST))
schema("NewPost", obj(("body",), body={"type": "string", "minLength": 1, "maxLength": svc.BODY_MAX}))
schema("LikeResult", obj(("like_count", "liked"), like_count=INT, liked=BOOL))

ERRORS = {
    "not_open_yet": 409,
    "closed": 409,
    "already_answered": 409,
}


def activity_dict(a: Activity) -> dict:
    return {
        "id": a.id,
        "workshop_id": a.workshop_id,
        "kind": a.kind,
        "kind_label": kind_label(a.kind),
        "title": a.title,
        "description_html": a.description_html,
        "opens_at": a.opens_at.isoformat(),
        "closes_at": a.closes_at.isoformat() if a.closes_at else None,
        "phase": a.phase(utcnow()),
        "post_count": a.post_count,
        "resource_count": a.resource_count,
        "response_count": a.response_count,
    }


def post_dict(p: Post, liked: set[int], replies: list | None = None) -> dict:
    out = {
        "id": p.id,
        "activity_id": p.activity_id,
        "parent_id": p.parent_id,
        "quote_id": p.quote_id,
        "author_id": p.author_id,
        "author_name": p.author.name if p.author else "",
        "body_html": p.body_html,
        "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat() if p.updated_at else None,
        "pinned": p.pinned,
        "hidden": p.hidden,
        "featured": p.featured,
        "effective": p.effective,
        # Deleted by its author after others replied: an empty placeholder heading their replies.
        "deleted": p.deleted_at is not None,
        "like_count": p.like_count,
        "reply_count": p.reply_count,
        "liked": p.id in liked,
        "attachments": [
            {"id": a.file.id, "filename": a.file.filename, "mime": a.file.mime, "url": f"/activities/files/{a.file.id}"}
            for a in p.attachments
        ],  # fmt: skip
    }
    if replies is not None:
        out["replies"] = [post_dict(r, liked) for r in replies]
    return out


def _activity(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id) or abort(404)
    access.require(api_user(), "community.view", activity)
    return activity


def _post(post_id: int) -> Post:
    post = db.session.get(Post, post_id) or abort(404)
    access.require(api_user(), "community.view", post.activity)
    if post.hidden and not svc.may_moderate(api_user(), post.activity):
        abort(404)
    return post


def _raise(exc: svc.ActivityError):
    code = str(exc)
    raise ApiError(ERRORS.get(code, 400), code) from None


@route("/workshops/<int:workshop_id>/activities", summary="A workshop's activities", response="ActivityList",
       errors=(404,))  # fmt: skip
def api_workshop_activities(workshop_id):
    ws = db.session.get(Workshop, workshop_id) or abort(404)
    access.require(api_user(), "community.view", ws)
    return jsonify(items=[activity_dict(a) for a in svc.activities_of(ws)])


@route("/activities/<int:activity_id>", summary="One activity", response="Activity", errors=(404,))
def api_activity(activity_id):
    return jsonify(activity_dict(_activity(activity_id)))


@route("/activities/<int:activity_id>/posts", summary="Posts of a discussion, with their replies",
       params=PAGING_PARAMS, response="PostPage", errors=(404,))  # fmt: skip
def api_posts(activity_id):
    activity = _activity(activity_id)
    page, per_page = paging_args()
    thread = svc.thread_page(activity, api_user(), page, per_page)
    items = [post_dict(p, thread["liked"], thread["replies"].get(p.id, [])) for p in thread["page"].items]
    return jsonify(page_body(thread["page"], items))


@route("/activities/<int:activity_id>/posts", methods=("POST",), summary="Post in a discussion", body="NewPost",
       response="Post", status=201, errors=(403, 404, 409))  # fmt: skip
def api_new_post(activity_id, body):
    activity = _activity(activity_id)
    access.require(api_user(), "activity.participate", activity)
    try:
        post = svc.create_post(api_user(), activity, body["body"])
    except svc.ActivityError as exc:
        _raise(exc)
    return jsonify(post_dict(post, set(), [])), 201


@route("/posts/<int:post_id>/replies", methods=("POST",), summary="Reply to a post (a reply to a reply quotes it)",
       body="NewPost", response="Reply", status=201, errors=(403, 404, 409))  # fmt: skip
def api_reply(post_id, body):
    parent = _post(post_id)
    access.require(api_user(), "activity.participate", parent.activity)
    try:
        post = svc.create_post(api_user(), parent.activity, body["body"], parent=parent)
    except svc.ActivityError as exc:
        _raise(exc)
    return jsonify(post_dict(post, set())), 201


@route("/posts/<int:post_id>/like", methods=("POST", "DELETE"), summary="Like (POST) or unlike (DELETE) a post",
       response="LikeResult", errors=(403, 404))  # fmt: skip
def api_like(post_id):
    from flask import request

    post = _post(post_id)
    access.require(api_user(), "activity.participate", post.activity)
    try:
        if request.method == "DELETE":
            count = svc.unlike(api_user(), post)
        else:
            count = svc.like(api_user(), post)
    except svc.ActivityError as exc:
        _raise(exc)
    return jsonify(like_count=count, liked=request.method != "DELETE")
