"""GET/PATCH /api/v1/me: profile, school, roles with their contexts, workshops; profile edits."""

import pytest

from tests.api.helpers import API, error_of


def _roles(data):
    return {(r["role"], r["context"]["kind"], r["context"]["name"]) for r in data["roles"]}


def test_me_of_a_workshop_member(world, api_as, conforms):
    user = world["member"]
    resp = api_as(user).get(f"{API}/me")
    assert resp.status_code == 200
    data = conforms(resp, "Me")
    assert data["username"] == "member_a" and data["name"] == "李老师"
    assert data["school"]["id"] == world.school_a.id
    assert [r["name"] for r in data["regions"]] == ["江西省", "南昌市", "东湖区"]
    assert _roles(data) == {("teacher", "school", "东湖小学"), ("member", "workshop", "东湖数学工作坊")}
    school_role = next(r for r in data["roles"] if r["role"] == "teacher")
    assert school_role["context"]["id"] == world.school_a.id
    [ws] = data["workshops"]
    assert ws["id"] == world.workshop_a.id and ws["roles"] == ["member"]
    assert ws["group"] == {"id": world.group_a.id, "name": "第一组"}
    # The own ID-card number is masked too; the full number is never in the answer.
    assert data["id_card_masked"] == user.id_card[:4] + "*" * 10 + user.id_card[-4:]
    assert user.id_card not in resp.get_data(as_text=True)
    assert "id_card" not in data


def test_me_of_leader_host_and_admins(world, api_as):
    leader = api_as(world["leader"]).get(f"{API}/me").get_json()
    [ws] = leader["workshops"]
    assert set(ws["roles"]) == {"member", "group_leader"}

    host = api_as(world["host"]).get(f"{API}/me").get_json()
    hosted = {w["id"]: w["roles"] for w in host["workshops"]}
    assert hosted == {world.workshop_a.id: ["host"]}

    county = api_as(world["county_admin"]).get(f"{API}/me").get_json()
    assert county["school"] is None and county["regions"] == [] and county["workshops"] == []
    [role] = county["roles"]
    assert role == {"role": "county_admin", "context": {"kind": "region", "id": world.county_a.id, "name": "东湖区"}}

    site = api_as(world["site_admin"]).get(f"{API}/me").get_json()
    assert site["roles"] == [{"role": "site_admin", "context": {"kind": "site", "id": None, "name": "site"}}]

    outsider = api_as(world["outsider"]).get(f"{API}/me").get_json()
    assert outsider["roles"] == [] and outsider["workshops"] == []


def test_patch_me_changes_given_fields_only(world, api_as, db, conforms):
    user = world["teacher"]
    api = api_as(user)
    resp = api.patch(f"{API}/me", json={"name": "张新名", "subject": "chinese", "bio": "  教语文  "})
    assert resp.status_code == 200
    data = conforms(resp, "Me")
    assert data["name"] == "张新名" and data["subject"] == "chinese" and data["bio"] == "教语文"
    db.session.refresh(user)
    assert (user.name, user.subject, user.bio) == ("张新名", "chinese", "教语文")
    assert user.phone is not None and user.stage is None  # untouched

    resp = api.patch(f"{API}/me", json={"phone": "13800138000", "email": "t@example.org", "stage": "primary"})
    assert resp.get_json()["phone"] == "13800138000"
    assert api.patch(f"{API}/me", json={"email": ""}).get_json()["email"] is None
    resp = api.patch(f"{API}/me", json={"phone": None, "subject": None})
    db.session.refresh(user)
    assert resp.status_code == 200 and user.phone is None and user.subject is None and user.stage == "primary"


@pytest.mark.parametrize(
    "body,code",
    [
        ({"name": " "}, "bad_name"),
        ({"phone": "12345"}, "bad_phone"),
        ({"phone": "taken"}, "phone_taken"),
        ({"name": "x" * 65}, "invalid_body"),
        ({"bio": "x" * 2001}, "invalid_body"),
        ({"subject": "alchemy"}, "invalid_body"),
        ({"name": None}, "invalid_body"),
        ({"id_card": "360102198503150011"}, "invalid_body"),
        ({"username": "root"}, "invalid_body"),
        ({"email": "not-an-address"}, "invalid_body"),
        ({"email": "a@b"}, "invalid_body"),
    ],
)
def test_patch_me_errors(world, api_as, db, body, code):
    user = world["teacher"]
    if body.get("phone") == "taken":
        body = {"phone": world["teacher_b"].phone}
    before = (user.name, user.phone, user.username)
    resp = api_as(user).patch(f"{API}/me", json=body)
    assert resp.status_code == 400
    assert error_of(resp) == code
    db.session.refresh(user)
    assert (user.name, user.phone, user.username) == before


def test_invalid_body_names_the_field(world, api_as):
    resp = api_as(world["teacher"]).patch(f"{API}/me", json={"subject": "alchemy"})
    assert resp.get_json()["error"]["details"] == {"field": "subject", "reason": "enum"}
