"""Account endpoints of /api/v1: bearer tokens, the signed-in user's profile and password; and for
holders of user.manage, the accounts within their reach (reset a password, deactivate, reactivate)."""

from flask import current_app, jsonify, request

from lms import access
from lms.accounts import services
from lms.accounts.limits import login_limits, record_failure
from lms.api import (
    BOOL,
    DATETIME,
    INT,
    PAGING_PARAMS,
    STR,
    ApiError,
    api_token,
    api_user,
    array,
    error,
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
from lms.communities import services as communities
from lms.communities.api import region_ref, school_ref
from lms.core import idcard, taxonomy
from lms.signals import user_logged_in

# --- schemas ----------------------------------------------------------------------------------

schema("TokenRequest", obj(
    ("login", "password"),
    login={**STR, "minLength": 1, "maxLength": 64, "description": "Username or phone number"},
    password={**STR, "minLength": 1, "maxLength": 128},
    name={**STR, "maxLength": 64, "description": "A label for the token, e.g. the device"},
))  # fmt: skip
schema("Token", obj(
    ("token", "expires_at"),
    token={**STR, "description": "Send as `Authorization: Bearer <token>`"},
    expires_at=DATETIME,
    must_change_password=BOOL,
))  # fmt: skip
schema("PasswordChange", obj(
    ("current", "new"),
    current={**STR, "maxLength": 128},
    new={**STR, "maxLength": 128, "description": "At least 8 characters, letters and digits"},
))  # fmt: skip
SUBJECT = nullable({**STR, "enum": list(taxonomy.SUBJECTS)})
STAGE = nullable({**STR, "enum": list(taxonomy.STAGES)})
schema("ProfileUpdate", obj(
    name={**STR, "maxLength": 64},
    phone=nullable({**STR, "maxLength": 20, "description": "11-digit mainland mobile number"}),
    email=nullable({**STR, "maxLength": 120, "pattern": r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$"}),
    bio={**STR, "maxLength": 2000},
    subject=SUBJECT,
    stage=STAGE,
))  # fmt: skip
schema("ContextRef", obj(
    ("kind", "id", "name"),
    kind={**STR, "enum": ["site", "region", "school", "workshop", "project"]},
    id=nullable({**INT, "description": "Id of the region, school or workshop (null for the site)"}),
    name=STR,
))  # fmt: skip
schema("Me", obj(
    ("id", "username", "name", "roles", "workshops"),
    id=INT,
    username=STR,
    name=STR,
    gender=nullable(STR),
    phone=nullable(STR),
    email=nullable(STR),
    bio=STR,
    subject=nullable(STR),
    stage=nullable(STR),
    locale=nullable(STR),
    id_card_masked=nullable(STR),
    must_change_password=BOOL,
    school=nullable(ref("SchoolRef")),
    regions=array(ref("RegionRef")),
    roles=array(obj(("role", "context"), role=STR, context=ref("ContextRef"))),
    workshops=array(obj(
        ("id", "name", "roles"),
        id=INT, name=STR, kind=STR, subject=nullable(STR), stage=nullable(STR),
        roles=array(STR),
        group=nullable(obj(("id", "name"), id=INT, name=STR)),
    )),
))  # fmt: skip


# --- tokens -----------------------------------------------------------------------------------


def _token_body(token: str, user) -> dict:
    row = services.token_record(token)
    return {"token": token, "expires_at": row.expires_at.isoformat(), "must_change_password": user.must_change_password}


@route("/auth/token", methods=("POST",), auth=False, body="TokenRequest", response="Token", status=201,
       errors=(403, 429), summary="Sign in with username or phone and password; get a bearer token")  # fmt: skip
@login_limits  # the sign-in form's budgets, not second ones
def issue_token(body):
    try:
        user = services.authenticate(body["login"], body["password"])
    except services.AccountError:
        raise ApiError(403, "account_deactivated") from None
    if user is None:
        record_failure()
        raise ApiError(401, "invalid_credentials")
    token = services.issue_token(user, current_app.config["API_TOKEN_DAYS"], name=body.get("name") or "api")
    services.record_login(user)
    user_logged_in.send(user)
    return jsonify(_token_body(token, user)), 201


@route("/auth/token", methods=("DELETE",), status=204, before_own_password=True,
       summary="Revoke the bearer token of this request")  # fmt: skip
def revoke_token():
    services.revoke_token(api_token())
    return "", 204


# --- the signed-in user -----------------------------------------------------------------------


def _context_ref(ctx, thing) -> dict:
    return {"kind": ctx.kind, "id": thing.id if thing is not None else None, "name": ctx.name}


def _me_body(user) -> dict:
    o = communities.account_overview(user)
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "gender": user.gender,
        "phone": user.phone,
        "email": user.email,
        "bio": user.bio or "",
        "subject": user.subject,
        "stage": user.stage,
        "locale": user.locale,
        "id_card_masked": idcard.mask(user.id_card) or None,
        "must_change_password": user.must_change_password,
        "school": school_ref(o["school"]) if o["school"] else None,
        "regions": [region_ref(r) for r in o["regions"]],
        "roles": [{"role": role, "context": _context_ref(ctx, thing)} for role, ctx, thing in o["roles"]],
        "workshops": [
            {
                "id": w["workshop"].id,
                "name": w["workshop"].name,
                "kind": w["workshop"].kind,
                "subject": w["workshop"].subject,
                "stage": w["workshop"].stage,
                "roles": w["roles"],
                "group": {"id": w["group"].id, "name": w["group"].name} if w["group"] else None,
            }
            for w in o["workshops"]
        ],
    }


@route("/me", response="Me", before_own_password=True,
       summary="The signed-in user: profile, school, roles and workshops")  # fmt: skip
def get_me():
    return jsonify(_me_body(api_user()))


@route("/me", methods=("PATCH",), body="ProfileUpdate", response="Me",
       summary="Change one's own profile; absent fields keep their value")  # fmt: skip
def update_me(body):
    user = api_user()
    fields = {k: getattr(user, k) for k in ("name", "phone", "email", "bio", "subject", "stage")} | body
    try:
        services.update_profile(user, **fields)
    except services.AccountError as exc:
        return error(400, str(exc))
    return jsonify(_me_body(user))


@route("/me/password", methods=("POST",), body="PasswordChange", response="Token", before_own_password=True,
       summary="Change one's password: every token and session ends; a new token is returned")  # fmt: skip
def change_password(body):
    user = api_user()
    try:
        services.change_password(user, body["current"], body["new"])
    except services.AccountError as exc:
        return error(400, str(exc))
    token = services.issue_token(user, current_app.config["API_TOKEN_DAYS"], name="api")
    return jsonify(_token_body(token, user))


# --- administration: accounts within reach (issue 2) ---------------------------------------------
# user.manage on the person, as access.can judges it: their school, and every role they hold must be
# one the caller could have given (a school admin cannot reset the password of a city admin).

_ACCOUNT = dict(
    id=INT, username=STR, name=STR, active=BOOL, must_change_password=BOOL,
    school=nullable(ref("SchoolRef")),
    phone=nullable({**STR, "description": "Only with member.contact on the person"}),
    last_login_at=nullable(DATETIME),
    manageable={**BOOL, "description": "Whether the caller may reset the password or (de)activate"},
)  # fmt: skip
_ACCOUNT_REQUIRED = ("id", "username", "name", "active", "must_change_password", "manageable")
schema("Account", obj(_ACCOUNT_REQUIRED, **_ACCOUNT))
schema("AccountDetail", obj(
    (*_ACCOUNT_REQUIRED, "roles"), **_ACCOUNT,
    roles={**array(obj(("id", "role", "context"), id=INT, role=STR, context=ref("ContextRef"))),
           "description": "Roles given to the person (not school or workshop membership), active or not"},
))  # fmt: skip
schema("AccountPage", page_schema(ref("Account")))
schema("AccountUpdate", obj(("active",), active={**BOOL, "description": "false deactivates, true reactivates"}))
schema("OneTimePassword", obj(
    ("password", "must_change_password"),
    password={**STR, "description": "Shown this once, never stored; hand it to the person"},
    must_change_password=BOOL,
))  # fmt: skip
USER_PARAMS = [
    query_param("q", {**STR, "maxLength": 64}, "Part of a name or username, or the start of a phone number"),
    query_param("purpose", {**STR, "enum": ["manage", "appoint"], "default": "manage"},
                "manage: accounts within user.manage reach (deactivated too); appoint: active people one may "
                "appoint (role.assign reach)"),
    *PAGING_PARAMS,
]  # fmt: skip


def _account(user, manageable: bool, roles=None) -> dict:
    d = {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "active": user.active,
        "must_change_password": user.must_change_password,
        "school": school_ref(user.school) if user.school else None,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "manageable": manageable,
    }
    if access.can(api_user(), "member.contact", user):
        d["phone"] = user.phone
    if roles is not None:
        d["roles"] = [{"id": ra.id, "role": ra.role, "context": _context_ref(ra.context, thing)} for ra, thing in roles]
    return d


@route("/users", params=USER_PARAMS, response="AccountPage", errors=(400, 404),
       summary="Find people within the caller's reach by name, username or phone")  # fmt: skip
def list_users():
    purpose = request.args.get("purpose") or "manage"
    if purpose not in ("manage", "appoint"):
        raise ApiError(400, "bad_parameter", {"field": "purpose", "reason": "enum"})
    capability = "user.manage" if purpose == "manage" else "role.assign"
    if not access.holds_anywhere(api_user(), capability):
        raise ApiError(404, "not_found")
    page, per_page = paging_args()
    found = services.search_people(api_user(), request.args.get("q") or "", capability, role_holders=True,
                                   active_only=purpose == "appoint", page=page, per_page=per_page)  # fmt: skip
    ok = access.manageable(api_user(), found.items)
    return jsonify(page_body(found, [_account(u, u.id in ok) for u in found.items]))


def _managed(user_id: int):
    from lms.accounts.models import User
    from lms.extensions import db

    person = db.session.get(User, user_id)
    if person is None:
        raise ApiError(404, "not_found")
    access.require(api_user(), "user.manage", person)
    return person


def _detail(person):
    return jsonify(_account(person, True, communities.explicit_roles(person)))


@route("/users/<int:user_id>", response="AccountDetail", errors=(403, 404),
       summary="An account the caller may manage (user.manage on the person)")  # fmt: skip
def get_user(user_id):
    return _detail(_managed(user_id))


@route("/users/<int:user_id>", methods=("PATCH",), body="AccountUpdate", response="AccountDetail",
       errors=(403, 404), summary="Deactivate (no sign-in; sessions and tokens end) or reactivate")  # fmt: skip
def update_user(user_id, body):
    person = _managed(user_id)
    try:
        services.set_active(api_user(), person, body["active"])
    except services.AccountError as exc:
        return error(400, str(exc))
    return _detail(person)


@route("/users/<int:user_id>/password-reset", methods=("POST",), response="OneTimePassword", errors=(403, 404),
       summary="Reset a password: a one-time password, returned once; sessions and tokens end")  # fmt: skip
def reset_user_password(user_id):
    person = _managed(user_id)
    try:
        temp = services.admin_reset_password(api_user(), person)
    except services.AccountError as exc:
        return error(400, str(exc))
    resp = jsonify(password=temp, must_change_password=True)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# Roster import/export endpoints live beside the roster pages.
from lms.accounts import roster_api  # noqa: E402, F401
