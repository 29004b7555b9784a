"""Workshop management under /api/v1: create a workshop in a region, add and remove members, study
groups (create, rename, delete), group leaders, moving a member between groups.

The same checks and services as the pages (lms.communities.views.manage_workshop / new_workshop):
`workshop.create` on the region, `workshop.manage` on the workshop (a host manages theirs only;
another workshop is 404 when they cannot see it, 403 when they can). Refusals answer with the
services' codes (e.g. group_name_taken), as the rest of this API does.
"""

from flask import jsonify

from lms import access
from lms.api import INT, STR, ApiError, api_user, array, nullable, obj, ref, route, schema
from lms.communities import services
from lms.communities.api import _group, person_ref, workshop_ref
from lms.communities.models import Region, StudyGroup, Workshop
from lms.core import taxonomy
from lms.extensions import db

# The status of each refusal the services give; the message is the code itself.
MANAGE_STATUS = {
    "workshop_name_required": 400,
    "host_unknown": 400,
    "group_name_required": 400,
    "group_name_taken": 409,
    "no_such_group": 404,
    "not_member": 404,
    "bad_placement": 400,
    "leader_not_in_group": 409,
}

schema("NewWorkshop", obj(
    ("name", "kind", "host"),
    name={**STR, "minLength": 1, "maxLength": 100},
    kind={**STR, "enum": ["class", "subject"], "description": "class: 班级工作坊; subject: 学科工作坊"},
    subject=nullable({**STR, "enum": list(taxonomy.SUBJECTS)}),
    stage=nullable({**STR, "enum": list(taxonomy.STAGES)}),
    host={**STR, "minLength": 1, "maxLength": 64,
          "description": "The host's username or phone number: an active person within the caller's reach"},
    description={**STR, "maxLength": 2000},
))  # fmt: skip
schema("NewMembers", obj(
    ("logins",),
    logins={**array({**STR, "minLength": 1, "maxLength": 64}), "minItems": 1, "maxItems": 500,
            "description": "Usernames or phone numbers"},
))  # fmt: skip
schema("MembersAdded", obj(
    ("added", "refused", "unknown"),
    added={**array(ref("PersonRef")), "description": "Now members (already members are not listed)"},
    refused={**array(ref("PersonRef")), "description": "Teach outside the workshop's region or school: not added"},
    unknown={**array(STR), "description": "Logins that match no account"},
))  # fmt: skip
GROUP = schema("StudyGroup", obj(
    ("id", "name", "member_count", "leader"),
    id=INT, name=STR, member_count=INT, leader=nullable(ref("PersonRef")),
))  # fmt: skip
schema("NewGroup", obj(("name",), name={**STR, "minLength": 1, "maxLength": 64}))
schema("GroupUpdate", obj(("name",), name={**STR, "minLength": 1, "maxLength": 64}))
schema("GroupLeader", obj(
    ("user_id",),
    user_id=nullable({**INT, "description": "A member of this group; null: the group has no leader"}),
))  # fmt: skip
schema("GroupPlacement", obj(
    ("group_id",),
    group_id=nullable({**INT, "description": "The study group to move the member into; null: no group"}),
))  # fmt: skip
schema("GroupList", obj(("items",), items=array(GROUP)))


def _refused(exc):
    code = str(exc)
    raise ApiError(MANAGE_STATUS.get(code, 400), code) from None


def _managed(workshop_id: int) -> Workshop:
    ws = services.get_or_404(Workshop, workshop_id)
    access.require(api_user(), "workshop.manage", ws)
    return ws


def _groups(ws: Workshop):
    return jsonify(items=[_group(g) for g in services.groups_of(ws)])


_ERRORS = (400, 403, 404, 409)


@route("/regions/<int:region_id>/workshops", methods=("POST",), body="NewWorkshop", response="WorkshopRef",
       status=201, errors=_ERRORS,
       summary="Create a workshop in a region and name its host (workshop.create)")  # fmt: skip
def create_workshop(region_id, body):
    region = services.get_or_404(Region, region_id)
    access.require(api_user(), "workshop.create", region)
    try:
        ws = services.new_workshop(region, body["name"], body["kind"], body.get("subject"), body.get("stage"),
                                   body["host"], body.get("description") or "", actor=api_user())  # fmt: skip
    except services.CommunityError as exc:
        _refused(exc)
    return jsonify(workshop_ref(ws)), 201


@route("/workshops/<int:workshop_id>/members", methods=("POST",), body="NewMembers", response="MembersAdded",
       errors=_ERRORS, summary="Add members by username or phone (people outside its region: unknown)")  # fmt: skip
def add_workshop_members(workshop_id, body):
    ws = _managed(workshop_id)
    users, unknown = services.resolve_logins(ws, "\n".join(body["logins"]))
    added, refused = services.add_members(ws, users)
    return jsonify(added=[person_ref(u) for u in added], refused=[person_ref(u) for u in refused], unknown=unknown)


@route("/workshops/<int:workshop_id>/members/<int:user_id>", methods=("DELETE",), status=204, errors=_ERRORS,
       summary="Remove a member (they stop leading any group of the workshop)")  # fmt: skip
def remove_workshop_member(workshop_id, user_id):
    ws = _managed(workshop_id)
    try:
        services.remove_member(ws, user_id)
    except services.CommunityError as exc:
        _refused(exc)
    return "", 204


@route("/workshops/<int:workshop_id>/members/<int:user_id>/group", methods=("PUT",), body="GroupPlacement",
       response="GroupList", errors=_ERRORS,
       summary="Move a member into a study group (null: no group); a leader who leaves stops leading")  # fmt: skip
def place_workshop_member(workshop_id, user_id, body):
    ws = _managed(workshop_id)
    try:
        services.arrange_groups(ws, {user_id: body["group_id"]}, {})
    except services.CommunityError as exc:
        _refused(exc)
    return _groups(ws)


@route("/workshops/<int:workshop_id>/groups", response="GroupList", errors=(403, 404),
       summary="The workshop's study groups with their leaders (workshop.manage)")  # fmt: skip
def list_workshop_groups(workshop_id):
    return _groups(_managed(workshop_id))


@route("/workshops/<int:workshop_id>/groups", methods=("POST",), body="NewGroup", response="StudyGroup",
       status=201, errors=_ERRORS, summary="Create a study group")  # fmt: skip
def create_workshop_group(workshop_id, body):
    ws = _managed(workshop_id)
    try:
        group = services.add_group(ws, body["name"])
    except services.CommunityError as exc:
        _refused(exc)
    return jsonify(_group(group)), 201


def _own_group(ws: Workshop, group_id: int) -> StudyGroup:
    group = db.session.get(StudyGroup, group_id)
    if group is None or group.workshop_id != ws.id:
        raise ApiError(404, "no_such_group")
    return group


@route("/workshops/<int:workshop_id>/groups/<int:group_id>", methods=("PATCH",), body="GroupUpdate",
       response="StudyGroup", errors=_ERRORS, summary="Rename a study group")  # fmt: skip
def rename_workshop_group(workshop_id, group_id, body):
    ws = _managed(workshop_id)
    try:
        group = services.rename_group(ws, group_id, body["name"])
    except services.CommunityError as exc:
        _refused(exc)
    return jsonify(_group(group))


@route("/workshops/<int:workshop_id>/groups/<int:group_id>/leader", methods=("PUT",), body="GroupLeader",
       response="StudyGroup", errors=_ERRORS,
       summary="Set a study group's leader (a member of that group) or, with null, remove the leader")  # fmt: skip
def set_workshop_group_leader(workshop_id, group_id, body):
    ws = _managed(workshop_id)
    group = _own_group(ws, group_id)
    try:
        services.arrange_groups(ws, {}, {group.id: body["user_id"]})
    except services.CommunityError as exc:
        _refused(exc)
    return jsonify(_group(group))


@route("/workshops/<int:workshop_id>/groups/<int:group_id>", methods=("DELETE",), status=204, errors=_ERRORS,
       summary="Delete a study group; its members stay in the workshop without a group")  # fmt: skip
def delete_workshop_group(workshop_id, group_id):
    ws = _managed(workshop_id)
    try:
        services.delete_group(ws, group_id)
    except services.CommunityError as exc:
        _refused(exc)
    return "", 204
