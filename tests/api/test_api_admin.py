"""The administration endpoints of /api/v1 (issue 2): regions and schools, roles, accounts. The same
checks as the pages: region.manage above, role.assign limited to the roles one's own roles hand out,
user.manage on the person; another county's things are 404, never data; refusals store nothing."""

import pytest
from sqlalchemy import func, select

from lms.access.models import Context, RoleAssignment
from lms.accounts.models import ApiToken, User
from lms.accounts.services import authenticate
from lms.audit.models import AuditEntry
from lms.communities import services
from lms.communities.models import Region, School
from lms.extensions import db
from tests.api.helpers import API, error_of


def _counts():
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Region, School, Context, RoleAssignment))


# --- regions and schools -----------------------------------------------------------------------------


def test_create_and_rename_regions_and_schools(world, api_as, conforms):
    w = world
    city = api_as(w["city_admin"])
    r = city.post(f"{API}/regions", json={"parent_id": w.city.id, "name": "青山湖区", "code": "360111"})
    assert r.status_code == 201
    county = conforms(r, "RegionSummary")
    assert county["level"] == "county" and county["code"] == "360111"
    r = city.patch(f"{API}/regions/{county['id']}", json={"name": "青山湖新区"})
    assert r.status_code == 200 and conforms(r, "RegionSummary")["code"] == "360111"  # absent: kept
    r = city.post(f"{API}/schools", json={"county_id": county["id"], "name": "青山湖小学", "stage": "primary"})
    assert r.status_code == 201
    school = conforms(r, "SchoolRef")
    r = city.patch(f"{API}/schools/{school['id']}", json={"stage": None})
    assert r.status_code == 200 and r.get_json()["stage"] is None and r.get_json()["name"] == "青山湖小学"
    # The site admin creates provinces.
    r = api_as(w["site_admin"]).post(f"{API}/regions", json={"name": "第二省"})
    assert r.status_code == 201 and r.get_json()["level"] == "province"


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "status", "code"),
    [
        ("city_admin", "post", "/regions", {"parent_id": "city", "name": "东湖区"}, 409, "region_name_taken"),
        ("city_admin", "post", "/regions", {"parent_id": "city", "name": " "}, 400, "name_required"),
        ("city_admin", "post", "/regions", {"parent_id": "city", "name": "x", "code": "36"}, 400, "invalid_body"),
        ("city_admin", "post", "/regions", {"parent_id": "county_a", "name": "某镇"}, 400, "no_sub_regions"),
        ("city_admin", "post", "/regions", {"name": "第二省"}, 403, "forbidden"),
        ("county_admin", "post", "/regions", {"parent_id": "city", "name": "新区"}, 403, "forbidden"),
        ("county_admin", "post", "/regions", {"parent_id": "county_b", "name": "新区"}, 404, "not_found"),
        ("county_admin", "patch", "/regions/county_a", {"name": "改名"}, 403, "forbidden"),
        ("county_admin", "patch", "/regions/county_b", {"name": "改名"}, 404, "not_found"),
        ("county_admin", "post", "/schools", {"county_id": "county_a", "name": "东湖小学"}, 409, "school_name_taken"),
        ("county_admin", "post", "/schools", {"county_id": "county_b", "name": "偷建小学"}, 404, "not_found"),
        ("county_admin", "post", "/schools", {"county_id": "county_a", "name": "x", "stage": "uni"}, 400,
         "invalid_body"),
        ("county_admin", "patch", "/schools/school_b", {"name": "偷改中学"}, 404, "not_found"),
        ("school_admin", "patch", "/schools/school_a", {"name": "自改小学"}, 403, "forbidden"),
        ("teacher", "post", "/schools", {"county_id": "county_a", "name": "新校"}, 403, "forbidden"),
    ],
)  # fmt: skip
def test_structure_refusals_store_nothing(world, api_as, role, method, path, body, status, code):
    w = world

    def resolve(value):
        return getattr(w, value).id if isinstance(value, str) and hasattr(w, value) else value

    path = "/".join(str(resolve(p)) for p in path.split("/"))
    body = {k: resolve(v) if k.endswith("_id") else v for k, v in body.items()}
    before = _counts()
    r = getattr(api_as(w[role]), method)(API + path, json=body)
    assert r.status_code == status, r.get_json()
    assert error_of(r) == code
    assert "西湖" not in r.get_data(as_text=True)
    db.session.rollback()
    assert _counts() == before
    assert db.session.get(Region, w.county_a.id).name == "东湖区"
    assert db.session.get(School, w.school_b.id).name == "西湖中学"


def test_unsafe_methods_need_a_token_not_the_cookie(world, login_as):
    client = login_as(world["site_admin"])
    r = client.post(f"{API}/regions", json={"name": "第二省"})
    assert r.status_code == 401
    assert db.session.scalar(select(Region).where(Region.name == "第二省")) is None


# --- roles -------------------------------------------------------------------------------------------


def test_list_appoint_and_revoke(world, api_as, conforms):
    w = world
    api = api_as(w["county_admin"])
    r = api.get(f"{API}/schools/{w.school_a.id}/roles")
    data = conforms(r, "RoleList")
    assert set(data["assignable"]) == {"school_admin", "school_trainer"}
    assert [(i["role"], i["user"]["username"], i["revocable"]) for i in data["items"]] == [
        ("school_admin", "sadmin_a", True),
        ("school_trainer", "trainer_a", True),
    ]
    r = api.post(f"{API}/schools/{w.school_a.id}/roles", json={"role": "school_trainer", "login": "teacher_a"})
    assert r.status_code == 201
    items = conforms(r, "RoleList")["items"]
    new = next(i for i in items if i["user"]["username"] == "teacher_a")
    assert api_as(w["county_admin_b"]).delete(f"{API}/role-assignments/{new['id']}").status_code == 404
    assert api_as(w["school_trainer"]).delete(f"{API}/role-assignments/{new['id']}").status_code == 403
    assert api.delete(f"{API}/role-assignments/{new['id']}").status_code == 204
    assert db.session.get(RoleAssignment, new["id"]) is None
    assert api.delete(f"{API}/role-assignments/{new['id']}").status_code == 404


def test_change_host(world, api_as, conforms):
    w = world
    api = api_as(w["county_admin"])
    r = api.put(f"{API}/workshops/{w.workshop_a.id}/host", json={"user_id": w["teacher"].id})
    assert r.status_code == 200
    hosts = [i["user"]["id"] for i in conforms(r, "RoleList")["items"] if i["role"] == "host"]
    assert hosts == [w["teacher"].id]
    r = api.put(f"{API}/workshops/{w.workshop_a.id}/host", json={"user_id": w["teacher"].id})
    assert r.status_code == 409 and error_of(r) == "already_held"
    r = api.put(f"{API}/workshops/{w.workshop_b.id}/host", json={"user_id": w["teacher"].id})
    assert r.status_code == 404
    r = api_as(w["member"]).put(f"{API}/workshops/{w.workshop_a.id}/host", json={"login": "member_a"})
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("role", "where", "body", "status", "code"),
    [
        ("county_admin", "regions/province", {"role": "province_admin", "login": "teacher_a"}, 403, "forbidden"),
        ("county_admin", "regions/county_a", {"role": "county_admin", "login": "teacher_a"}, 403, "role_above_you"),
        ("county_admin", "regions/county_a", {"role": "school_admin", "login": "teacher_a"}, 400, "role_not_here"),
        ("county_admin", "schools/school_a", {"role": "school_admin", "login": "teacher_b"}, 400, "person_unknown"),
        ("county_admin", "schools/school_a", {"role": "school_admin", "user_id": 999999}, 400, "person_unknown"),
        ("county_admin", "schools/school_a", {"role": "school_admin"}, 400, "person_unknown"),
        ("county_admin", "schools/school_a", {"role": "school_admin", "login": "sadmin_a"}, 409, "already_held"),
        ("county_admin", "schools/school_b", {"role": "school_admin", "login": "teacher_a"}, 404, "not_found"),
        ("county_admin", "schools/school_a", {"role": "site_admin", "login": "teacher_a"}, 400, "invalid_body"),
        ("school_admin", "schools/school_a", {"role": "school_admin", "login": "teacher_a"}, 403, "role_above_you"),
        ("host", "workshops/workshop_a", {"role": "host", "login": "teacher_a"}, 403, "forbidden"),
    ],
)
def test_role_refusals_store_nothing(world, api_as, role, where, body, status, code):
    kind, name = where.split("/")
    before = _counts()
    r = api_as(world[role]).post(f"{API}/{kind}/{getattr(world, name).id}/roles", json=body)
    assert r.status_code == status, r.get_json()
    assert error_of(r) == code
    db.session.rollback()
    assert _counts() == before


# --- accounts ------------------------------------------------------------------------------------------


def test_find_people_within_reach(world, api_as, conforms):
    w = world
    api = api_as(w["county_admin"])
    data = conforms(api.get(f"{API}/users?q=老师"), "AccountPage")
    names = {i["name"] for i in data["items"]}
    assert {"张老师", "李老师"} <= names and "赵老师" not in names and "钱老师" not in names
    data = api.get(f"{API}/users?q={w['teacher'].phone}").get_json()
    assert [i["username"] for i in data["items"]] == ["teacher_a"]
    assert data["items"][0]["phone"] == w["teacher"].phone and data["items"][0]["manageable"]
    # For appointing: active people only.
    w["member"].active = False
    db.session.commit()
    assert "member_a" not in {i["username"] for i in api.get(f"{API}/users?purpose=appoint").get_json()["items"]}
    assert "member_a" in {i["username"] for i in api.get(f"{API}/users").get_json()["items"]}
    assert error_of(api.get(f"{API}/users?purpose=x")) == "bad_parameter"
    assert api_as(w["teacher"]).get(f"{API}/users").status_code == 404
    assert api_as(w["host"]).get(f"{API}/users?purpose=appoint").status_code == 404


def test_reset_password_and_deactivate(world, api_as, app, conforms):
    w = world
    teacher = w["teacher"]
    teacher_api = api_as(teacher)
    api = api_as(w["school_admin"])
    detail = conforms(api.get(f"{API}/users/{teacher.id}"), "AccountDetail")
    assert detail["roles"] == [] and detail["active"]
    r = api.post(f"{API}/users/{teacher.id}/password-reset")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    temp = conforms(r, "OneTimePassword")["password"]
    assert teacher_api.get(f"{API}/me").status_code == 401  # the teacher's token ended
    db.session.expire_all()
    user = authenticate("teacher_a", temp)
    assert user is not None and user.must_change_password
    r = api.patch(f"{API}/users/{teacher.id}", json={"active": False})
    assert r.status_code == 200 and conforms(r, "AccountDetail")["active"] is False
    r = app.test_client().post(f"{API}/auth/token", json={"login": "teacher_a", "password": temp})
    assert r.status_code == 403 and r.get_json()["error"]["message"] == "account_deactivated"
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == teacher.id)) is None
    r = api.patch(f"{API}/users/{teacher.id}", json={"active": True})
    assert r.status_code == 200 and r.get_json()["active"] is True
    assert error_of(api.patch(f"{API}/users/{teacher.id}", json={"active": "no"})) == "invalid_body"


@pytest.mark.parametrize(
    ("role", "person", "status"),
    [
        ("county_admin", "teacher_b", 404),
        ("school_admin", "teacher_b", 404),
        ("school_admin", "county_admin", 403),  # no school: seen site-wide, but not theirs to manage
        ("school_admin", "school_admin", 403),  # oneself
        ("county_admin_b", "supervisor", 403),  # county A's supervisor
        ("host", "member", 403),
    ],
)
def test_accounts_out_of_reach(world, api_as, role, person, status):
    w = world
    target = w[person]
    hash_before = target.password_hash
    api = api_as(w[role])
    assert api.get(f"{API}/users/{target.id}").status_code == status
    r = api.post(f"{API}/users/{target.id}/password-reset")
    assert r.status_code == status and "password" not in r.get_json()
    assert api.patch(f"{API}/users/{target.id}", json={"active": False}).status_code == status
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.password_hash == hash_before and user.active


def test_the_api_files_too_and_a_closed_school_is_not_renamed(world, api_as):
    w = world
    city = api_as(w["city_admin"])
    r = city.patch(f"{API}/schools/{w.school_b.id}", json={"name": "西湖实验中学"})
    assert r.status_code == 200
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "school.renamed")).all()[-1]
    assert entry.actor_id == w["city_admin"].id and entry.detail["new"] == "西湖实验中学"
    empty = services.add_school(w.county_a, "东湖三小")
    services.close_school(empty, actor=w["city_admin"])
    r = city.patch(f"{API}/schools/{empty.id}", json={"name": "复活小学"})
    assert r.status_code == 409 and error_of(r) == "school_closed"
    r = city.post(f"{API}/schools/{empty.id}/roles", json={"login": "teacher_a", "role": "school_admin"})
    assert r.status_code == 409 and error_of(r) == "school_closed"
