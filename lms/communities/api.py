"""Community endpoints of /api/v1: regions, schools, workshops and their member lists; and their
administration: creating and renaming regions and schools, appointing and revoking roles.

The same checks as the pages: `community.view` to open a community (404 when it is not visible at
all, no existence leak), `member.list` for its members (403 when visible but not allowed).
ID-card numbers appear in full only to holders of `idcard.view_full`, phones only with `member.contact`.
`region.manage` on the region above to create or rename a region or school; `role.assign` to
appoint, limited to the roles the caller's own roles hand out (lms.access.roles.ASSIGNABLE).
"""

from flask import jsonify, request

from lms import access
from lms.access.roles import CAPABILITIES, ROLE_CONTEXTS
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
    query_param,
    ref,
    route,
    schema,
)
from lms.communities import services
from lms.communities.models import Region, School, Workshop
from lms.core import idcard, taxonomy
from lms.extensions import db

# --- schemas ----------------------------------------------------------------------------------

schema("PersonRef", obj(("id", "name"), id=INT, name=STR))
LEVEL = {**STR, "enum": ["province", "city", "county"]}
schema("RegionRef", obj(("id", "name", "level"), id=INT, name=STR, level=LEVEL))
schema("SchoolRef", obj(("id", "name"), id=INT, name=STR, stage=nullable(STR), teacher_count=INT))
schema("WorkshopRef", obj(
    ("id", "name", "kind"),
    id=INT, name=STR, kind={**STR, "enum": ["class", "subject"]}, subject=nullable(STR), stage=nullable(STR),
    member_count=INT,
))  # fmt: skip
schema("RegionSummary", obj(
    ("id", "name", "level"),
    id=INT, name=STR, level=LEVEL, code=nullable(STR), school_count=INT, teacher_count=INT, workshop_count=INT,
))  # fmt: skip
schema("Admins", {
    "type": "object",
    "description": "People holding each role exactly here, by role name (e.g. county_admin, host)",
    "additionalProperties": array(ref("PersonRef")),
})  # fmt: skip
CAPS = {
    **array({**STR, "enum": list(CAPABILITIES)}),
    "description": "The caller's capabilities on this community (e.g. member.list, idcard.view_full)",
}
schema("Region", obj(
    ("id", "name", "level", "trail", "children", "schools", "workshops", "admins", "capabilities"),
    id=INT, name=STR, level=STR, code=nullable(STR),
    parent=nullable(ref("RegionRef")),
    trail=array(ref("RegionRef")),
    school_count=INT, teacher_count=INT, workshop_count=INT,
    children={**array(ref("RegionSummary")), "description": "Sub-regions the caller may see"},
    schools={**array(ref("SchoolRef")), "description": "A county's schools the caller may see"},
    workshops={**array(ref("WorkshopRef")), "description": "Workshops run by this region the caller may see"},
    admins=ref("Admins"),
    capabilities=CAPS,
))  # fmt: skip
schema("School", obj(
    ("id", "name", "county", "trail", "workshops", "admins", "capabilities"),
    id=INT, name=STR, stage=nullable(STR), teacher_count=INT,
    county=ref("RegionRef"),
    trail=array(ref("RegionRef")),
    workshops={**array(ref("WorkshopRef")), "description": "Workshops of the school or its teachers (visible ones)"},
    admins=ref("Admins"),
    capabilities=CAPS,
))  # fmt: skip
schema("Workshop", obj(
    ("id", "name", "kind", "region", "groups", "hosts", "experts", "capabilities"),
    id=INT, name=STR, kind=STR, subject=nullable(STR), stage=nullable(STR), description=STR,
    member_count=INT, group_count=INT,
    region=ref("RegionRef"),
    school=nullable(ref("SchoolRef")),
    trail=array(ref("RegionRef")),
    groups=array(obj(("id", "name", "leader"), id=INT, name=STR, member_count=INT, leader=nullable(ref("PersonRef")))),
    hosts=array(ref("PersonRef")),
    experts=array(ref("PersonRef")),
    capabilities=CAPS,
))  # fmt: skip
schema("Member", obj(
    ("id", "name"),
    id=INT, name=STR, gender=nullable(STR), subject=nullable(STR), stage=nullable(STR),
    school=nullable(ref("SchoolRef")),
    group=nullable({**obj(("id", "name"), id=INT, name=STR), "description": "Study group (workshop lists only)"}),
    id_card={**STR, "description": "Full number; only with idcard.view_full on the community"},
    id_card_masked=nullable({**STR, "description": "e.g. 3601**********123X; when id_card is not given"}),
    phone=nullable({**STR, "description": "Only with member.contact on the community"}),
))  # fmt: skip
schema("MemberPage", page_schema(ref("Member")))
schema("RegionList", obj(("items",), items=array(ref("RegionSummary"))))

MEMBER_PARAMS = [
    query_param("q", {**STR, "maxLength": 64}, "Part of a name or username"),
    query_param("subject", {**STR, "enum": list(taxonomy.SUBJECTS)}),
    *PAGING_PARAMS,
]


# --- representations --------------------------------------------------------------------------


def person_ref(user) -> dict:
    return {"id": user.id, "name": user.name}


def region_ref(region: Region) -> dict:
    return {"id": region.id, "name": region.name, "level": region.level}


def region_summary(region: Region) -> dict:
    return region_ref(region) | {
        "code": region.code,
        "school_count": region.school_count,
        "teacher_count": region.teacher_count,
        "workshop_count": region.workshop_count,
    }


def school_ref(school: School) -> dict:
    return {"id": school.id, "name": school.name, "stage": school.stage, "teacher_count": school.teacher_count}


def workshop_ref(ws: Workshop) -> dict:
    return {"id": ws.id, "name": ws.name, "kind": ws.kind, "subject": ws.subject, "stage": ws.stage,
            "member_count": ws.member_count}  # fmt: skip


def _group(group) -> dict:
    leader = person_ref(group.leader) if group.leader else None
    return {"id": group.id, "name": group.name, "member_count": group.member_count, "leader": leader}


def _admins(admins: dict) -> dict:
    return {role: [person_ref(u) for u in people] for role, people in admins.items()}


def _capabilities(user, community) -> list[str]:
    return [c for c in CAPABILITIES if access.can(user, c, community)]


def _member(user, *, full_id: bool, contact: bool, group=None, in_workshop=False) -> dict:
    d = {
        "id": user.id,
        "name": user.name,
        "gender": user.gender,
        "subject": user.subject,
        "stage": user.stage,
        "school": school_ref(user.school) if user.school else None,
    }
    if full_id and user.id_card:
        d["id_card"] = user.id_card
    else:
        d["id_card_masked"] = idcard.mask(user.id_card) or None
    if contact:
        d["phone"] = user.phone
    if in_workshop:
        d["group"] = {"id": group.id, "name": group.name} if group else None
    return d


# --- endpoints --------------------------------------------------------------------------------


def _visible(model, ident):
    thing = services.get_or_404(model, ident)
    access.require(api_user(), "community.view", thing)
    return thing


@route("/regions", response="RegionList", summary="The highest regions the caller can see")
def list_regions():
    return jsonify(items=[region_summary(r) for r in services.top_regions(api_user())])


@route("/regions/<int:region_id>", response="Region", errors=(404,),
       summary="A region: counts, sub-regions, schools (county), workshops, admins")  # fmt: skip
def get_region(region_id):
    region = _visible(Region, region_id)
    o = services.region_overview(region, api_user())
    return jsonify(
        region_summary(region)
        | {
            "parent": region_ref(region.parent) if region.parent else None,
            "trail": [region_ref(r) for r in o["trail"]],
            "children": [region_summary(r) for r in o["children"]],
            "schools": [school_ref(s) for s in o["schools"]],
            "workshops": [workshop_ref(w) for w in o["workshops"]],
            "admins": _admins(o["admins"]),
            "capabilities": _capabilities(api_user(), region),
        }
    )


@route("/schools/<int:school_id>", response="School", errors=(404,), summary="A school community")
def get_school(school_id):
    school = _visible(School, school_id)
    o = services.school_overview(school, api_user())
    return jsonify(
        school_ref(school)
        | {
            "county": region_ref(school.county),
            "trail": [region_ref(r) for r in o["trail"]],
            "workshops": [workshop_ref(w) for w in o["workshops"]],
            "admins": _admins(o["admins"]),
            "capabilities": _capabilities(api_user(), school),
        }
    )


@route("/workshops/<int:workshop_id>", response="Workshop", errors=(404,),
       summary="A workshop with its study groups and leaders, hosts and experts")  # fmt: skip
def get_workshop(workshop_id):
    ws = _visible(Workshop, workshop_id)
    o = services.workshop_overview(ws)
    return jsonify(
        workshop_ref(ws)
        | {
            "description": ws.description or "",
            "group_count": ws.group_count,
            "region": region_ref(ws.region),
            "school": school_ref(ws.school) if ws.school else None,
            "trail": [region_ref(r) for r in o["trail"]],
            "groups": [_group(g) for g in o["groups"]],
            "hosts": [person_ref(u) for u in o["admins"].get("host", [])],
            "experts": [person_ref(u) for u in o["admins"].get("expert", [])],
            "capabilities": _capabilities(api_user(), ws),
        }
    )


def _member_args() -> dict:
    subject = request.args.get("subject") or None
    if subject is not None and subject not in taxonomy.SUBJECTS:
        raise ApiError(400, "bad_parameter", {"field": "subject", "reason": "enum"})
    page, per_page = paging_args()
    return {"q": (request.args.get("q") or "").strip()[:64], "subject": subject, "page": page, "per_page": per_page}


def _members(community):
    user = api_user()
    access.require(user, "member.list", community)
    result = services.member_page(community, **_member_args())
    full_id = access.can(user, "idcard.view_full", community)
    contact = access.can(user, "member.contact", community)
    if isinstance(community, Workshop):
        groups = {g.id: g for g in community.groups}
        items = [_member(u, full_id=full_id, contact=contact, group=groups.get(gid), in_workshop=True)
                 for u, gid in result.items]  # fmt: skip
    else:
        items = [_member(u, full_id=full_id, contact=contact) for u in result.items]
    return jsonify(page_body(result, items))


@route("/regions/<int:region_id>/members", params=MEMBER_PARAMS, response="MemberPage", errors=(400, 403, 404),
       summary="Teachers of the schools in a region (needs member.list)")  # fmt: skip
def region_members(region_id):
    return _members(services.get_or_404(Region, region_id))


@route("/schools/<int:school_id>/members", params=MEMBER_PARAMS, response="MemberPage", errors=(400, 403, 404),
       summary="Teachers of a school (needs member.list)")  # fmt: skip
def school_members(school_id):
    return _members(services.get_or_404(School, school_id))


@route("/workshops/<int:workshop_id>/members", params=MEMBER_PARAMS, response="MemberPage", errors=(400, 403, 404),
       summary="Members of a workshop with their study group (needs member.list)")  # fmt: skip
def workshop_members(workshop_id):
    return _members(services.get_or_404(Workshop, workshop_id))


# --- administration: regions, schools, roles (issue 2) ---------------------------------------------

ERROR_DESCRIPTIONS.setdefault(409, "Conflicts with what exists or is not possible now (a duplicate, already done)")
# The status of each refusal the services give; the message is the code itself (e.g. region_name_taken).
ADMIN_STATUS = {
    "region_name_taken": 409,
    "code_taken": 409,
    "school_name_taken": 409,
    "already_held": 409,
    "person_inactive": 409,
    "school_closed": 409,
    "role_above_you": 403,
    "no_such_assignment": 404,
}
NAME = {**STR, "minLength": 1, "maxLength": services.NAME_MAX}
CODE = nullable({**STR, "pattern": r"^[0-9]{6}([0-9]{6})?$", "description": "Administrative division code"})
STAGE = nullable({**STR, "enum": list(taxonomy.STAGES)})
ROLE = {**STR, "enum": [r for r in ROLE_CONTEXTS if r != "site_admin"]}
schema("NewRegion", obj(
    ("name",),
    name=NAME, code=CODE,
    parent_id=nullable({**INT, "description": "The region above; null or absent for a province (site admins)"}),
))  # fmt: skip
schema("RegionUpdate", obj(name=NAME, code=CODE))
schema("NewSchool", obj(("county_id", "name"), county_id=INT, name=NAME, stage=STAGE))
schema("SchoolUpdate", obj(name=NAME, stage=STAGE))
schema("PersonSummary", obj(
    ("id", "name", "username"),
    id=INT, name=STR, username=STR, active=BOOL, school=nullable(ref("SchoolRef")),
))  # fmt: skip
schema("RoleAssignment", obj(
    ("id", "role", "user", "granted_at", "revocable"),
    id=INT, role=STR, user=ref("PersonSummary"), granted_at=DATETIME,
    revocable={**BOOL, "description": "Whether the caller may revoke it (a role their own roles hand out)"},
))  # fmt: skip
schema("RoleList", obj(
    ("items", "assignable"),
    items={**array(ref("RoleAssignment")), "description": "Roles held exactly here, highest first"},
    assignable={**array(ROLE), "description": "Roles the caller may appoint here"},
))  # fmt: skip
schema("NewRoleAssignment", obj(
    ("role",),
    role=ROLE,
    user_id={**INT, "description": "The person (GET /users?purpose=appoint finds them); or give login"},
    login={**STR, "maxLength": 64, "description": "Username or phone number, instead of user_id"},
    replace={**BOOL, "description": "Make the person the only holder here (the others lose the role)"},
))  # fmt: skip
schema("HostChange", obj(
    user_id={**INT, "description": "The new host; or give login"},
    login={**STR, "maxLength": 64, "description": "Username or phone number, instead of user_id"},
))  # fmt: skip


def _admin_error(exc):
    code = str(exc)
    raise ApiError(ADMIN_STATUS.get(code, 400), code) from None


def _manager_of(region: Region | None):
    """region.manage on the region above (the site for a province): 404 when not visible, else 403."""
    from lms.access.services import site_context

    access.require(api_user(), "region.manage", region if region is not None else site_context())


@route("/regions", methods=("POST",), body="NewRegion", response="RegionSummary", status=201, errors=(403, 404, 409),
       summary="Create a region under parent_id (needs region.manage there), one level down")  # fmt: skip
def create_region(body):
    parent = services.get_or_404(Region, body["parent_id"]) if body.get("parent_id") is not None else None
    _manager_of(parent)
    try:
        region = services.add_region(parent, body["name"], body.get("code"), api_user())
    except services.CommunityError as exc:
        _admin_error(exc)
    return jsonify(region_summary(region)), 201


@route("/regions/<int:region_id>", methods=("PATCH",), body="RegionUpdate", response="RegionSummary",
       errors=(403, 404, 409), summary="Rename a region or change its code (region.manage above it)")  # fmt: skip
def update_region(region_id, body):
    region = _visible(Region, region_id)  # 404 for a region the caller cannot even see
    _manager_of(region.parent)
    fields = {"name": region.name, "code": region.code} | body
    try:
        services.edit_region(region, fields["name"], fields["code"], api_user())
    except services.CommunityError as exc:
        _admin_error(exc)
    return jsonify(region_summary(region))


@route("/schools", methods=("POST",), body="NewSchool", response="SchoolRef", status=201, errors=(403, 404, 409),
       summary="Create a school in a county (region.manage on the county)")  # fmt: skip
def create_school(body):
    county = services.get_or_404(Region, body["county_id"])
    _manager_of(county)
    try:
        school = services.add_school(county, body["name"], body.get("stage"), api_user())
    except services.CommunityError as exc:
        _admin_error(exc)
    return jsonify(school_ref(school)), 201


@route("/schools/<int:school_id>", methods=("PATCH",), body="SchoolUpdate", response="SchoolRef",
       errors=(403, 404, 409), summary="Rename a school or change its stage (region.manage on its county)")  # fmt: skip
def update_school(school_id, body):
    school = _visible(School, school_id)
    _manager_of(school.county)
    fields = {"name": school.name, "stage": school.stage} | body
    try:
        services.edit_school(school, fields["name"], fields["stage"], api_user())
    except services.CommunityError as exc:
        _admin_error(exc)
    return jsonify(school_ref(school))


# --- roles ------------------------------------------------------------------------------------------


def person_summary(user) -> dict:
    school = school_ref(user.school) if user.school else None
    return {"id": user.id, "name": user.name, "username": user.username, "active": user.active, "school": school}


def _role_list(place):
    assignable = access.assignable_roles(api_user(), place)
    revocable = set(access.revocable_roles(api_user(), place))
    items = [
        {"id": ra.id, "role": ra.role, "user": person_summary(ra.user), "granted_at": ra.created_at.isoformat(),
         "revocable": ra.role in revocable}
        for ra in access.assignments_at(place)
    ]  # fmt: skip
    return jsonify(items=items, assignable=assignable)


def _person(body):
    from lms.accounts.models import User
    from lms.accounts.services import find_by_login

    if body.get("user_id") is not None:
        return db.session.get(User, body["user_id"])
    return find_by_login(body.get("login") or "")


def _roles(place, body=None):
    access.require(api_user(), "role.assign", place)
    if body is None:
        return _role_list(place)
    try:
        if isinstance(place, School) and place.closed_at is not None:
            raise access.AccessError("school_closed")  # as on the page: a closed school's roles stay
        appoint = access.replace_holders if body.get("replace") else access.appoint
        appoint(api_user(), _person(body), body["role"], place)
    except access.AccessError as exc:
        _admin_error(exc)
    return _role_list(place), 201


_ROLE_ERRORS = (400, 403, 404, 409)


@route("/regions/<int:region_id>/roles", response="RoleList", errors=(403, 404),
       summary="Roles held at a region, and those the caller may appoint (role.assign)")  # fmt: skip
def region_roles(region_id):
    return _roles(services.get_or_404(Region, region_id))


@route("/regions/<int:region_id>/roles", methods=("POST",), body="NewRoleAssignment", response="RoleList",
       status=201, errors=_ROLE_ERRORS, summary="Appoint someone within reach to a role at a region")  # fmt: skip
def appoint_at_region(region_id, body):
    return _roles(services.get_or_404(Region, region_id), body)


@route("/schools/<int:school_id>/roles", response="RoleList", errors=(403, 404),
       summary="Roles held at a school, and those the caller may appoint (role.assign)")  # fmt: skip
def school_roles(school_id):
    return _roles(services.get_or_404(School, school_id))


@route("/schools/<int:school_id>/roles", methods=("POST",), body="NewRoleAssignment", response="RoleList",
       status=201, errors=_ROLE_ERRORS, summary="Appoint someone within reach to a role at a school")  # fmt: skip
def appoint_at_school(school_id, body):
    return _roles(services.get_or_404(School, school_id), body)


@route("/workshops/<int:workshop_id>/roles", response="RoleList", errors=(403, 404),
       summary="Hosts and experts of a workshop, and the roles the caller may appoint (role.assign)")  # fmt: skip
def workshop_roles(workshop_id):
    return _roles(services.get_or_404(Workshop, workshop_id))


@route("/workshops/<int:workshop_id>/roles", methods=("POST",), body="NewRoleAssignment", response="RoleList",
       status=201, errors=_ROLE_ERRORS, summary="Appoint a host or expert of a workshop")  # fmt: skip
def appoint_at_workshop(workshop_id, body):
    return _roles(services.get_or_404(Workshop, workshop_id), body)


@route("/workshops/<int:workshop_id>/host", methods=("PUT",), body="HostChange", response="RoleList",
       errors=_ROLE_ERRORS, summary="Change the host: the person becomes the only host of the workshop")  # fmt: skip
def change_host(workshop_id, body):
    ws = services.get_or_404(Workshop, workshop_id)
    resp, _status = _roles(ws, {**body, "role": "host", "replace": True})
    return resp


@route("/role-assignments/<int:assignment_id>", methods=("DELETE",), status=204, errors=(403, 404),
       summary="Revoke a role (only one the caller's own roles hand out at that place)")  # fmt: skip
def revoke_role(assignment_id):
    from lms.access.models import RoleAssignment

    ra = db.session.get(RoleAssignment, assignment_id)
    if ra is None:
        raise ApiError(404, "not_found")
    access.require(api_user(), "role.assign", ra.context)
    try:
        access.dismiss(api_user(), ra)
    except access.AccessError as exc:
        _admin_error(exc)
    return "", 204


# Workshop management (members, study groups, leaders, creation) has its own module.
from lms.communities import workshop_api  # noqa: E402, F401
