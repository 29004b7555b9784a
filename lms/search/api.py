from flask import jsonify, request

from lms.api import DATETIME, INT, MAX_PER_PAGE, STR, api_user, array, nullable, obj, query_param, route, schema
from lms.core.pagination import page_arg
from lms.search import services

HIT = schema(
    "SearchHit",
    obj(("kind", "id", "title", "url", "title_html", "snippet_html"), kind=STR, id=INT, title=STR, url=STR,
        title_html={"type": "string", "description": "Escaped title, matches in <mark>"},
        snippet_html={"type": "string", "description": "Escaped snippet, matches in <mark>"},
        stage=nullable(STR), subject=nullable(STR), type=nullable(STR), created_at=nullable(DATETIME)),
)  # fmt: skip
schema(
    "SearchResults",
    obj(("query", "items", "total", "page", "pages", "per_page"), query=STR, items=array(HIT), total=INT,
        page=INT, pages=INT, per_page=INT),
)  # fmt: skip

PARAMS = [
    query_param("q", STR, "Words, Chinese or English"),
    *(query_param(f, STR) for f in ("kind", "type", "stage", "subject")),
    query_param("community", STR, "A community's context id: only documents in it and below"),
    query_param("page", {"type": "integer", "minimum": 1, "default": 1}),
    query_param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
]


@route("/search", summary="Full-text search over what the caller may see", params=PARAMS, response="SearchResults")
def search_api():
    try:
        per_page = max(1, min(MAX_PER_PAGE, int(request.args.get("per_page", 20))))
    except ValueError:
        per_page = 20
    r = services.search(api_user(), request.args.get("q", ""), request.args, page_arg(request), per_page)
    keys = ("kind", "id", "title", "url", "title_html", "snippet_html", "stage", "subject", "type")
    items = []
    for h in r.hits:
        item = {k: h[k] for k in keys}
        item["created_at"] = h["created_at"].isoformat() if h["created_at"] else None
        items.append(item)
    return jsonify(query=r.query, items=items, total=r.total, page=r.page, pages=r.pages, per_page=r.per_page)
