from flask import jsonify, request

from lms.api import BOOL, DATETIME, INT, PAGING_PARAMS, STR, ApiError, api_user, array, nullable, obj, route, schema
from lms.core.pagination import page_arg
from lms.notifications import services

NOTIFICATION = schema(
    "Notification",
    obj(("id", "kind", "text", "url", "created_at", "read"), id=INT, kind=STR, text=STR, url=nullable(STR),
        created_at=DATETIME, read=BOOL),
)  # fmt: skip
schema(
    "NotificationList",
    obj(("items", "page", "pages", "total", "unread"), items=array(NOTIFICATION), page=INT, pages=INT, total=INT,
        unread=INT),
)  # fmt: skip
schema(
    "MarkRead",
    obj((), ids=array(INT), all=BOOL),
)
schema("MarkReadResult", obj(("marked", "unread"), marked=INT, unread=INT))


def _per_page() -> int:
    from lms.api import MAX_PER_PAGE

    try:
        return max(1, min(MAX_PER_PAGE, int(request.args.get("per_page", services.PER_PAGE))))
    except ValueError:
        return services.PER_PAGE


@route("/notifications", summary="The caller's notifications, newest first", params=PAGING_PARAMS,
       response="NotificationList")  # fmt: skip
def notifications_list():
    user = api_user()
    page = services.recent(user, page_arg(request), _per_page())
    return jsonify(
        items=[services.as_dict(n) for n in page.items],
        page=page.page,
        pages=page.pages,
        total=page.total,
        unread=services.unread_count(user),
    )


@route("/notifications", methods=("POST",), summary="Mark notifications read (ids, or all)", body="MarkRead",
       response="MarkReadResult")  # fmt: skip
def notifications_mark_read(body):
    user = api_user()
    if body.get("all"):
        n = services.mark_read(user, "all")
    elif body.get("ids"):
        n = services.mark_read(user, body["ids"])
    else:
        raise ApiError(400, "invalid_body", {"field": "ids", "reason": "required"})
    return jsonify(marked=n, unread=services.unread_count(user))
