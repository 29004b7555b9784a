"""Workshop management through /api/v1: creation, members, study groups, leaders; the pages' checks."""

import pytest
from sqlalchemy import func, select

from lms.access.services import can
from lms.communities.models import StudyGroup, Workshop, WorkshopMembership
from tests.api.helpers import API, error_of


def _fresh(db):
    db.session.commit()  # a fresh transaction sees what the requests committed
    db.session.expire_all()


def _workshops(db) -> int:
    _fresh(db)
    return db.session.scalar(select(func.count(Workshop.id)))


def _membership(db, ws, user):
    _fresh(db)
    return db.session.scalar(
        select(WorkshopMembership).where(WorkshopMembership.workshop_id == ws.id, WorkshopMembership.user_id == user.id)
    )


def _ws(w, key="workshop_a", suffix=""):
    return f"{API}/workshops/{getattr(w, key).id}{suffix}"


# --- creating a workshop ----------------------------------------------------------------------------


def test_county_admin_creates_a_workshop_with_its_host(world, api_as, db, conforms):
    before = _workshops(db)
    body = {"name": "东湖英语工作坊", "kind": "class", "subject": "english", "stage": "primary",
            "host": "teacher_a", "description": "新坊"}  # fmt: skip
    resp = api_as(world["county_admin"]).post(f"{API}/regions/{world.county_a.id}/workshops", json=body)
    assert resp.status_code == 201, resp.get_json()
    data = conforms(resp, "WorkshopRef")
    assert data["name"] == "东湖英语工作坊" and data["kind"] == "class" and data["subject"] == "english"
    assert _workshops(db) == before + 1
    ws = db.session.get(Workshop, data["id"])
    assert ws.region_id == world.county_a.id
    assert can(world["teacher"], "workshop.manage", ws)


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"name": "坊", "kind": "class", "host": "no-such-person"}, 400, "host_unknown"),
        ({"name": "坊", "kind": "class", "host": "teacher_b"}, 400, "host_unknown"),  # outside the admin's reach
        ({"name": "   ", "kind": "class", "host": "teacher_a"}, 400, "workshop_name_required"),
        ({"name": "坊", "kind": "club", "host": "teacher_a"}, 400, "invalid_body"),
        ({"name": "坊", "kind": "class", "host": "teacher_a", "subject": "alchemy"}, 400, "invalid_body"),
        ({"name": "坊", "kind": "class"}, 400, "invalid_body"),
    ],
)
def test_bad_workshop_is_refused_and_nothing_is_stored(world, api_as, db, body, status, code):
    before = _workshops(db)
    resp = api_as(world["county_admin"]).post(f"{API}/regions/{world.county_a.id}/workshops", json=body)
    assert resp.status_code == status
    assert error_of(resp) == code
    assert _workshops(db) == before


@pytest.mark.parametrize(
    "role,status", [("teacher", 403), ("host", 403), ("school_admin", 403), ("county_admin_b", 404)]
)
def test_only_workshop_creators_of_the_region_create(world, api_as, db, role, status):
    before = _workshops(db)
    body = {"name": "越权工作坊", "kind": "class", "host": "teacher_a"}
    resp = api_as(world[role]).post(f"{API}/regions/{world.county_a.id}/workshops", json=body)
    assert resp.status_code == status
    assert _workshops(db) == before


def test_session_cookie_cannot_create(world, login_as, db):
    before = _workshops(db)
    body = {"name": "坊", "kind": "class", "host": "teacher_a"}
    resp = login_as(world["county_admin"]).post(f"{API}/regions/{world.county_a.id}/workshops", json=body)
    assert resp.status_code == 401
    assert _workshops(db) == before


# --- members ----------------------------------------------------------------------------------------


def test_host_adds_members_and_sees_who_was_refused(world, api_as, db, conforms):
    resp = api_as(world["host"]).post(
        _ws(world, suffix="/members"), json={"logins": ["teacher_a", "teacher_b", "nobody", "member_a"]}
    )
    assert resp.status_code == 200, resp.get_json()
    data = conforms(resp, "MembersAdded")
    assert [p["name"] for p in data["added"]] == ["张老师"]  # member_a is already in
    # Someone of county B is not found from here, as a name that does not exist: the answer never
    # names people outside the workshop's region.
    assert data["refused"] == [] and data["unknown"] == ["teacher_b", "nobody"]
    assert "赵老师" not in resp.get_data(as_text=True)
    assert _membership(db, world.workshop_a, world["teacher"]) is not None
    assert _membership(db, world.workshop_a, world["teacher_b"]) is None
    assert db.session.get(Workshop, world.workshop_a.id).member_count == 3


def test_bad_member_list_is_400(world, api_as, db):
    api = api_as(world["host"])
    for body in ({"logins": []}, {"logins": "teacher_a"}, {"logins": [1]}, {}):
        resp = api.post(_ws(world, suffix="/members"), json=body)
        assert resp.status_code == 400, body
        assert error_of(resp) == "invalid_body"
    assert _membership(db, world.workshop_a, world["teacher"]) is None


def test_host_removes_a_member(world, api_as, db):
    api = api_as(world["host"])
    resp = api.delete(_ws(world, suffix=f"/members/{world['leader'].id}"))
    assert resp.status_code == 204
    assert _membership(db, world.workshop_a, world["leader"]) is None
    assert db.session.get(StudyGroup, world.group_a.id).leader_id is None  # stopped leading
    again = api.delete(_ws(world, suffix=f"/members/{world['leader'].id}"))
    assert again.status_code == 404
    assert error_of(again) == "not_member"


# --- study groups -----------------------------------------------------------------------------------


def test_groups_create_rename_delete(world, api_as, db, conforms):
    api = api_as(world["host"])
    resp = api.post(_ws(world, suffix="/groups"), json={"name": "第二组"})
    assert resp.status_code == 201
    gid = conforms(resp, "StudyGroup")["id"]
    dup = api.post(_ws(world, suffix="/groups"), json={"name": "第一组"})
    assert dup.status_code == 409 and error_of(dup) == "group_name_taken"
    assert api.post(_ws(world, suffix="/groups"), json={"name": ""}).status_code == 400

    resp = api.patch(_ws(world, suffix=f"/groups/{gid}"), json={"name": "第三组"})
    assert resp.status_code == 200 and resp.get_json()["name"] == "第三组"
    taken = api.patch(_ws(world, suffix=f"/groups/{gid}"), json={"name": "第一组"})
    assert taken.status_code == 409 and error_of(taken) == "group_name_taken"
    _fresh(db)
    assert db.session.get(StudyGroup, gid).name == "第三组"

    listed = conforms(api.get(_ws(world, suffix="/groups")), "GroupList")
    assert [g["name"] for g in listed["items"]] == ["第一组", "第三组"]

    assert api.delete(_ws(world, suffix=f"/groups/{gid}")).status_code == 204
    _fresh(db)
    assert db.session.get(StudyGroup, gid) is None
    gone = api.delete(_ws(world, suffix=f"/groups/{gid}"))
    assert gone.status_code == 404 and error_of(gone) == "no_such_group"


def test_a_group_of_another_workshop_is_not_found(world, api_as, db):
    other = StudyGroup(workshop_id=world.workshop_b.id, name="西湖组")
    db.session.add(other)
    db.session.commit()
    api = api_as(world["host"])
    assert api.patch(_ws(world, suffix=f"/groups/{other.id}"), json={"name": "x"}).status_code == 404
    assert api.delete(_ws(world, suffix=f"/groups/{other.id}")).status_code == 404
    assert api.put(_ws(world, suffix=f"/groups/{other.id}/leader"), json={"user_id": None}).status_code == 404
    _fresh(db)
    assert db.session.get(StudyGroup, other.id).name == "西湖组"


def test_leaders_and_moving_members(world, api_as, db, conforms):
    api = api_as(world["host"])
    g2 = api.post(_ws(world, suffix="/groups"), json={"name": "第二组"}).get_json()["id"]
    # A leader must belong to the group.
    resp = api.put(_ws(world, suffix=f"/groups/{g2}/leader"), json={"user_id": world["member"].id})
    assert resp.status_code == 409 and error_of(resp) == "leader_not_in_group"
    # Move the member, then name them leader.
    moved = api.put(_ws(world, suffix=f"/members/{world['member'].id}/group"), json={"group_id": g2})
    assert moved.status_code == 200
    conforms(moved, "GroupList")
    resp = api.put(_ws(world, suffix=f"/groups/{g2}/leader"), json={"user_id": world["member"].id})
    assert resp.status_code == 200
    assert conforms(resp, "StudyGroup")["leader"]["name"] == "李老师"
    # Moving the leader of group 1 out of it ends their leadership there.
    api.put(_ws(world, suffix=f"/members/{world['leader'].id}/group"), json={"group_id": None})
    _fresh(db)
    assert db.session.get(StudyGroup, world.group_a.id).leader_id is None
    # Removing a leader.
    resp = api.put(_ws(world, suffix=f"/groups/{g2}/leader"), json={"user_id": None})
    assert resp.get_json()["leader"] is None


@pytest.mark.parametrize(
    "body,who,status,code",
    [
        ({"group_id": 999999}, "member", 400, "bad_placement"),
        ({"group_id": None}, "teacher", 400, "bad_placement"),  # not a member
        ({"group_id": "x"}, "member", 400, "invalid_body"),
        ({}, "member", 400, "invalid_body"),
    ],
)
def test_bad_moves_change_nothing(world, api_as, db, body, who, status, code):
    resp = api_as(world["host"]).put(_ws(world, suffix=f"/members/{world[who].id}/group"), json=body)
    assert resp.status_code == status
    assert error_of(resp) == code
    m = _membership(db, world.workshop_a, world["member"])
    assert m.group_id == world.group_a.id


# --- the permission matrix --------------------------------------------------------------------------


def _calls(w):
    g = w.group_a.id
    member = w["member"].id
    return [
        ("post", "/members", {"logins": ["teacher_a"]}),
        ("delete", f"/members/{member}", None),
        ("put", f"/members/{member}/group", {"group_id": None}),
        ("get", "/groups", None),
        ("post", "/groups", {"name": "越权组"}),
        ("patch", f"/groups/{g}", {"name": "越权组"}),
        ("put", f"/groups/{g}/leader", {"user_id": None}),
        ("delete", f"/groups/{g}", None),
    ]


@pytest.mark.parametrize(
    "role,status",
    [("teacher", 404), ("member", 403), ("leader", 403), ("expert", 403), ("host_b", 404), ("county_admin_b", 404)],
)
def test_only_managers_of_the_workshop_manage_it(world, api_as, db, role, status):
    api = api_as(world[role])
    for method, suffix, body in _calls(world):
        resp = (
            getattr(api, method)(_ws(world, suffix=suffix), json=body)
            if body
            else getattr(api, method)(_ws(world, suffix=suffix))
        )
        assert resp.status_code == status, (role, method, suffix)
        assert "李老师" not in resp.get_data(as_text=True)
    _fresh(db)
    group = db.session.get(StudyGroup, world.group_a.id)
    assert group.name == "第一组" and group.leader_id == world["leader"].id
    assert _membership(db, world.workshop_a, world["member"]) is not None
    assert _membership(db, world.workshop_a, world["teacher"]) is None


def test_host_of_a_cannot_manage_b_but_the_county_admin_can_manage_a(world, api_as):
    assert api_as(world["host"]).post(_ws(world, "workshop_b", "/groups"), json={"name": "B组"}).status_code == 404
    resp = api_as(world["county_admin"]).post(_ws(world, suffix="/groups"), json={"name": "县管组"})
    assert resp.status_code == 201


def test_session_cookie_reads_groups_but_cannot_change_them(world, login_as):
    client = login_as(world["host"])
    assert client.get(_ws(world, suffix="/groups")).status_code == 200
    assert client.post(_ws(world, suffix="/groups"), json={"name": "会话组"}).status_code == 401
