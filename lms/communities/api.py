"""Community endpoints of /api/v1: regions, schools, workshops and their member lists.

The same checks as the pages: `community.view` to open a community (404 when it is not visible at
all, no existence leak), `member.list` for its members (403 when visible but not allowed).
ID-card numbers appear in full only to holders of `idcard.view_full`, phones only with `member.contact`.
"""

from flask import jsonify, request

from lms import access
from lms.access.roles import CAPABILITIES
from lms.api import (
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
