"""The JSON API under /api/v1: one blueprint, token or session auth, an OpenAPI document.

Each domain adds its endpoints in its own api.py with `route(...)`, which also records the
endpoint in the OpenAPI document served at /api/v1/openapi.json.
"""

from flask import Blueprint, g, jsonify, request
from flask_login import current_user

from lms.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # Unsafe methods require a bearer token (never the cookie), so CSRF cannot ride on it.

OPENAPI_PATHS: dict = {}
OPENAPI_SCHEMAS: dict = {}


def api_user():
    return g.get("api_user")


@bp.before_request
def _authenticate():
    from lms.accounts.services import user_for_token

    g.api_user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = user_for_token(header[7:].strip())
        if user is None:
            return error(401, "invalid_token")
        g.api_user = user
    elif current_user.is_authenticated and request.method in ("GET", "HEAD", "OPTIONS"):
        g.api_user = current_user._get_current_object()


def error(status: int, code: str, details=None):
    body = {"error": {"code": status, "message": code}}
    if details is not None:
        body["error"]["details"] = details
    return jsonify(body), status


def route(path: str, methods=("GET",), summary: str = "", auth: bool = True, params=None, responses=None, body=None):
    """Register a view on the API blueprint and describe it in the OpenAPI document.

    `path` uses Flask syntax (<int:id>); the document gets the OpenAPI form ({id}).
    """

    def decorator(fn):
        import re

        oa_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        path_params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "integer" if t == "int" else "string"}}
            for t, n in re.findall(r"<(?:(\w+):)?(\w+)>", path)
        ]
        for method in methods:
            op = {
                "summary": summary or (fn.__doc__ or "").strip().split("\n")[0],
                "operationId": f"{fn.__name__}_{method.lower()}",
                "parameters": path_params + list(params or []),
                "responses": responses or {"200": {"description": "OK"}},
            }
            if auth:
                op["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
                op["responses"].setdefault("401", {"description": "Not signed in"})
            if body:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
            OPENAPI_PATHS.setdefault(oa_path, {})[method.lower()] = op

        def wrapper(*args, **kwargs):
            if auth and api_user() is None:
                return error(401, "authentication_required")
            return fn(*args, **kwargs)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        bp.add_url_rule(path, fn.__name__, wrapper, methods=list(methods))
        return wrapper

    return decorator


def openapi_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Yanxiu API", "version": "1.0.0", "description": "Learning-community server API."},
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


@bp.route("/openapi.json")
def openapi_json():
    return jsonify(openapi_document())


# Domain endpoints register themselves on import.
from lms.accounts import api as _accounts_api  # noqa: E402,F401
from lms.communities import api as _communities_api  # noqa: E402,F401
