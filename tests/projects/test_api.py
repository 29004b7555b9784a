"""/api/v1/projects: list, detail, enrolment, with the same checks as the pages."""

from tests.api.conftest import api_as, conforms  # noqa: F401 - fixtures
from tests.api.helpers import API, error_of


def test_list_and_detail(world, projects, api_as, conforms):  # noqa: F811
    c = api_as(world["teacher"])
    body = conforms(c.get(f"{API}/projects"), "ProjectList")
    assert [p["name"] for p in body["items"]] == [projects.a.name] and body["total"] == 1
    body = conforms(c.get(f"{API}/projects/{projects.a.id}"), "ProjectDetail")
    assert body["enrolled"] is True and body["project"]["mode"] == "blended"
    assert body["project"]["online_hours"] == 50 and body["project"]["region"]["name"] == "东湖区"
    r = c.get(f"{API}/projects/{projects.q.id}")
    assert r.status_code == 404 and error_of(r) == "not_found"
    body = api_as(world["city_admin"]).get(f"{API}/projects?per_page=3&page=2").get_json()
    assert len(body["items"]) == 1 and body["total"] == 4 and body["pages"] == 2
    assert api_as(None).get(f"{API}/projects").status_code == 401


def test_enrol_and_withdraw(world, projects, api_as, conforms):  # noqa: F811
    c = api_as(projects.pm_a)
    url = f"{API}/projects/{projects.a.id}/enrolments"
    body = conforms(c.post(url, json={"user_ids": [world["member"].id, world["teacher"].id]}), "EnrolResult")
    assert body == {"added": 1, "enrolled_count": 2}
    r = c.post(url, json={"user_ids": [world["teacher_b"].id]})
    assert r.status_code == 400 and error_of(r) == "teacher_out_of_scope"
    r = c.post(url, json={"user_ids": [999999]})
    assert r.status_code == 400 and error_of(r) == "teacher_out_of_scope"
    r = c.post(url, json={"user_ids": ["x"]})
    assert r.status_code == 400 and error_of(r) == "invalid_body"
    r = c.post(url, json={})
    assert r.status_code == 400 and error_of(r) == "invalid_body"
    r = c.post(url, json={"school_id": world.school_a.id})
    assert r.status_code == 200 and r.get_json()["added"] >= 1
    assert c.delete(f"{url}/{world['member'].id}").status_code == 204
    assert c.delete(f"{url}/{world['member'].id}").status_code == 404
    # The manager of A cannot touch Q; the county admin of B cannot see A; a trainee cannot enrol.
    r = c.post(f"{API}/projects/{projects.q.id}/enrolments", json={"user_ids": [world["member"].id]})
    assert r.status_code == 404
    r = api_as(world["county_admin_b"]).post(url, json={"user_ids": [world["teacher_b"].id]})
    assert r.status_code == 404
    r = api_as(world["teacher"]).post(url, json={"user_ids": [world["member"].id]})
    assert r.status_code == 403 and error_of(r) == "forbidden"


def test_school_admin_enrols_own_school_only(world, projects, api_as):  # noqa: F811
    c = api_as(world["school_admin"])
    url = f"{API}/projects/{projects.city.id}/enrolments"
    assert c.post(url, json={"user_ids": [world["member"].id]}).get_json()["added"] == 1
    r = c.post(url, json={"user_ids": [world["teacher_b"].id]})
    assert r.status_code == 400
    r = c.post(url, json={"school_id": world.school_b.id})
    assert r.status_code == 400 and error_of(r) == "school_out_of_scope"


def test_the_session_cookie_cannot_enrol(world, projects, login_as):
    c = login_as(world["county_admin"])
    r = c.post(f"{API}/projects/{projects.a.id}/enrolments", json={"user_ids": [world["member"].id]})
    assert r.status_code == 401


def test_me_lists_the_trainee_role(world, projects, api_as, conforms):  # noqa: F811
    body = conforms(api_as(world["teacher"]).get(f"{API}/me"), "Me")
    assert {"role": "trainee", "context": {"kind": "project", "id": None, "name": projects.a.name}} in body["roles"]
    body = conforms(api_as(projects.pm_a).get(f"{API}/me"), "Me")
    assert [r["role"] for r in body["roles"]] == ["project_manager"]
