"""The JSON API under /api/v1: one blueprint, token or session auth, an OpenAPI document.

Each domain adds its endpoints in its own api.py with `route(...)`, which registers the view and
describes it in the OpenAPI document served at /api/v1/openapi.json. Request bodies are declared
as component schemas (`schema(...)`) and checked against them before the view runs, so the
document and the server agree on what a valid request is.

Authentication: `Authorization: Bearer <token>` (POST /api/v1/auth/token) for every method; the
browser session cookie for safe methods only. Unsafe methods never accept the cookie, which is
why the blueprint needs no CSRF token.

Errors: {"error": {"code": <HTTP status>, "message": <code string>, "details": {...}?}}.
"""

import re
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from lms.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # Unsafe methods require a bearer token (never the cookie), so CSRF cannot ride on it.

OPENAPI_PATHS: dict = {}
OPENAPI_SCHEMAS: dict = {}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_PER_PAGE = 100

# The message of an HTTP error raised by abort() inside the API (403/404 from access.require…).
HTTP_CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    500: "internal_error",
}
ERROR_DESCRIPTIONS = {
    400: "Invalid request (message names the problem, details the field)",
    401: "Not signed in, or the bearer token is invalid, expired or revoked",
    403: "The community is visible but the caller lacks the capability; or (password_change_required) the "
    "account still has a one-time password: only GET /me, POST /me/password and DELETE /auth/token answer",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with what exists or is not possible now (a duplicate, already done)",
    413: "The upload is over its cap (details.reason says which)",
    422: "Well-formed but refused as a whole (e.g. a roster file): details lists every problem; nothing was stored",
    429: "Too many attempts",
}


class ApiError(Exception):
    """Raise in an API view to answer with the JSON error envelope."""

    def __init__(self, status: int, code: str, details: dict | None = None):
        super().__init__(code)
        self.status, self.code, self.details = status, code, details


def api_user():
    return g.get("api_user")


def api_token() -> str | None:
    """The bearer token this request authenticated with (None for session auth)."""
    return g.get("api_token")


@bp.before_request
def _authenticate():
    from lms.accounts.services import user_for_token

    g.api_user = g.api_token = None
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        user = user_for_token(token)
        if user is None:
            return error(401, "invalid_token")
        g.api_user, g.api_token = user, token
    elif current_user.is_authenticated and request.method in SAFE_METHODS:
        g.api_user = current_user._get_current_object()


def error(status: int, code: str, details=None):
    body = {"error": {"code": status, "message": code}}
    if details is not None:
        body["error"]["details"] = details
    resp = jsonify(body)
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return resp


@bp.errorhandler(ApiError)
def _api_error(e: ApiError):
    return error(e.status, e.code, e.details)


def _http_error(e: HTTPException):
    return error(e.code or 500, HTTP_CODES.get(e.code, "error"))


# By status code too: Flask prefers the app's handler for a code over a blueprint's HTTPException one.
# Routing errors (unknown path, wrong method) never reach the blueprint; lms.core.web answers those.
bp.register_error_handler(HTTPException, _http_error)
for _code in HTTP_CODES:
    bp.register_error_handler(_code, _http_error)


# --- OpenAPI description ----------------------------------------------------------------------


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def schema(name: str, spec: dict) -> dict:
    """Add a component schema to the document; returns a $ref to it."""
    OPENAPI_SCHEMAS[name] = spec
    return ref(name)


def nullable(spec: dict) -> dict:
    if "$ref" in spec:
        # OpenAPI 3.0 ignores siblings of $ref, and validators test null against allOf parts: inline it.
        spec = OPENAPI_SCHEMAS[spec["$ref"].rsplit("/", 1)[1]]
    return {**spec, "nullable": True}


def obj(required=(), **properties) -> dict:
    """A closed object schema: `obj(("id",), id={"type": "integer"})`."""
    spec = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        spec["required"] = list(required)
    return spec


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}

schema(
    "Error",
    obj(
        ("error",),
        error=obj(
            ("code", "message"),
            code={"type": "integer", "description": "The HTTP status"},
            message={"type": "string", "description": "A stable code, e.g. not_found, bad_phone"},
            details={"type": "object", "description": "e.g. {field, reason} for invalid_body"},
        ),
    ),
)


def query_param(name: str, spec: dict, description: str = "") -> dict:
    p = {"name": name, "in": "query", "required": False, "schema": spec}
    if description:
        p["description"] = description
    return p


PAGING_PARAMS = [
    query_param("page", {"type": "integer", "minimum": 1, "default": 1}),
    query_param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}, "Default PAGE_SIZE; capped"),
]


def _error_response(status: int) -> dict:
    return {"description": ERROR_DESCRIPTIONS[status], "content": {"application/json": {"schema": ref("Error")}}}


def route(
    path: str,
    methods=("GET",),
    summary: str = "",
    auth: bool = True,
    params=None,
    body: str | None = None,
    response: str | dict | None = None,
    status: int = 200,
    errors=(),
    before_own_password: bool = False,
    upload: dict | None = None,
    produces: str | None = None,
):
    """Register a view on the API blueprint and describe it in the OpenAPI document.

    `path` uses Flask syntax (<int:id>); the document gets the OpenAPI form ({id}).
    `body` names a component schema: the JSON body is checked against it and passed as `body=`.
    `response` names the component schema (or is an inline schema) of the `status` answer;
    `errors` lists further statuses the endpoint may answer (401 is added when `auth`).
    `before_own_password`: open while the account still has a one-time password (roster import, admin
    reset); every other endpoint answers 403 password_change_required until it is replaced, as the
    pages do (lms.accounts.views._require_own_password).
    `upload`: a multipart/form-data request body schema (file uploads); the view reads request.files.
    `produces`: the media type of a binary success answer (e.g. an .xlsx download) instead of JSON.
    """

    def decorator(fn):
        oa_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        path_params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "integer" if t == "int" else "string"}}
            for t, n in re.findall(r"<(?:(\w+):)?(\w+)>", path)
        ]
        ok = {"description": {201: "Created", 204: "No content"}.get(status, "OK")}
        if produces is not None:
            ok["content"] = {produces: {"schema": {"type": "string", "format": "binary"}}}
        elif response is not None:
            ok["content"] = {"application/json": {"schema": ref(response) if isinstance(response, str) else response}}
        statuses = set(errors) | ({400} if body or upload else set()) | ({401} if auth else set())
        statuses |= {403} if auth and not before_own_password else set()
        for method in methods:
            unsafe = method.upper() not in SAFE_METHODS
            op = {
                "summary": summary or (fn.__doc__ or "").strip().split("\n")[0],
                "operationId": fn.__name__ if len(methods) == 1 else f"{fn.__name__}_{method.lower()}",
                "tags": [path.strip("/").split("/")[0]],
                "parameters": path_params + list(params or []),
                "responses": {str(status): ok} | {str(s): _error_response(s) for s in sorted(statuses)},
                # The cookie is accepted for safe methods only (no CSRF token on this API).
                "security": ([{"bearerAuth": []}] if unsafe else [{"bearerAuth": []}, {"cookieAuth": []}])
                if auth
                else [],
            }
            if body:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
            elif upload:
                op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": upload}}}
            OPENAPI_PATHS.setdefault(oa_path, {})[method.lower()] = op

        @wraps(fn)
        def wrapper(*args, **kwargs):
            if auth and api_user() is None:
                return error(401, "authentication_required")
            if auth and not before_own_password and api_user().must_change_password:
                return error(403, "password_change_required")
            if body:
                kwargs["body"] = json_body(body)
            return fn(*args, **kwargs)

        bp.add_url_rule(path, fn.__name__, wrapper, methods=list(methods))
        return wrapper

    return decorator


def openapi_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Yanxiu API",
            "version": "1.0.0",
            "description": "Learning-community server API. Errors use the Error schema. Unsafe methods "
            "need a bearer token from POST /auth/token; the session cookie works for GET only.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": OPENAPI_PATHS,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": OPENAPI_SCHEMAS,
        },
    }


# --- request parsing ----------------------------------------------------------------------------

_TYPES = {"object": dict, "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list}


def json_body(schema_name: str) -> dict:
    """The JSON body, checked against a component schema (type, required, enum, lengths, pattern, closed objects)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json")
    _check(data, OPENAPI_SCHEMAS[schema_name], "")
    return data


def _check(value, spec: dict, field: str) -> None:
    if "$ref" in spec:
        spec = OPENAPI_SCHEMAS[spec["$ref"].rsplit("/", 1)[1]]

    def bad(reason):
        raise ApiError(400, "invalid_body", {"field": field, "reason": reason})

    if value is None:
        if not spec.get("nullable"):
            bad("null")
        return
    kind = spec.get("type")
    if kind and (not isinstance(value, _TYPES[kind]) or (kind in ("integer", "number") and isinstance(value, bool))):
        bad("type")
    if "enum" in spec and value not in spec["enum"]:
        bad("enum")
    if kind in ("integer", "number"):
        if "minimum" in spec and value < spec["minimum"]:
            bad("too_small")
        if "maximum" in spec and value > spec["maximum"]:
            bad("too_large")
    if kind == "string":
        if len(value) > spec.get("maxLength", len(value)):
            bad("too_long")
        if len(value) < spec.get("minLength", 0):
            bad("too_short")
        if "pattern" in spec and not re.search(spec["pattern"], value):
            bad("pattern")
    if kind == "object":
        props = spec.get("properties", {})
        for name in spec.get("required", ()):
            if name not in value:
                raise ApiError(400, "invalid_body", {"field": f"{field}.{name}".lstrip("."), "reason": "required"})
        for key, item in value.items():
            if key in props:
                _check(item, props[key], f"{field}.{key}".lstrip("."))
            elif spec.get("additionalProperties", True) is False:
                raise ApiError(400, "invalid_body", {"field": f"{field}.{key}".lstrip("."), "reason": "unknown"})
            elif isinstance(spec.get("additionalProperties"), dict):  # a map: every value has this schema
                _check(item, spec["additionalProperties"], f"{field}.{key}".lstrip("."))
    if kind == "array":
        for i, item in enumerate(value[: spec.get("maxItems", len(value))]):
            _check(item, spec.get("items", {}), f"{field}[{i}]")
        if len(value) > spec.get("maxItems", len(value)):
            bad("too_many")
        if len(value) < spec.get("minItems", 0):
            bad("too_few")


def int_arg(name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_parameter", {"field": name, "reason": "type"}) from None
    value = max(minimum, value)
    return min(value, maximum) if maximum is not None else value


def paging_args() -> tuple[int, int]:
    """(page, per_page) from the query string; per_page defaults to PAGE_SIZE and is capped at 100."""
    default = min(current_app.config["PAGE_SIZE"], MAX_PER_PAGE)
    return int_arg("page", 1), int_arg("per_page", default, maximum=MAX_PER_PAGE)


def page_body(page, items: list) -> dict:
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}


def page_schema(item: dict) -> dict:
    return obj(("items", "page", "per_page", "total"), items=array(item), page=INT, per_page=INT, total=INT)


@route("/openapi.json", auth=False, summary="This OpenAPI document", response={"type": "object"})
def openapi_json():
    return jsonify(openapi_document())


# Domain endpoints register themselves when create_app imports each domain's api module.
