"""A project manager 项目管理员 is the training institution running one project (DOMAIN.md §2–3): held
in that project, never over a region. Attempts across projects and regions are refused, 404 where
the project is not theirs to see and 403 where it is, and no data comes back with the refusal.

`projects.pm_a` manages project A (county A); `world["project_manager"]` is a province-wide holder
appointed before projects existed (roles.LEGACY_CONTEXTS): it keeps its inspection of the region,
not a project manager's powers over the region's projects or its workshops' courses."""

import pytest
from sqlalchemy import func, select

from lms import access
from lms.access.models import RoleAssignment
from lms.courses import services as courses
from lms.courses.models import CourseAssignment
from lms.courses.services import CourseError
from lms.extensions import db
from lms.projects import services
from lms.projects.models import ProjectEnrolment
from tests.api.conftest import api_as  # noqa: F401 - fixture
from tests.api.helpers import API, error_of
from tests.courses.conftest import make_course


def _enrolments() -> int:
    return db.session.scalar(select(func.count()).select_from(ProjectEnrolment))


def _assignments() -> int:
    return db.session.scalar(select(func.count()).select_from(CourseAssignment))


@pytest.fixture
def course(world):
    return make_course(world.province.context, "国培乡村教师信息化教学能力提升", hours=6, lessons=2)


def test_region_wide_manager_has_no_power_over_projects_or_courses(world, projects, course):
    legacy = world["project_manager"]
    for p in (projects.a, projects.q, projects.b, projects.city):
        for cap in ("project.view", "project.enrol", "course.assign"):
            assert not access.can(legacy, cap, p), (cap, p)
        assert services.get_visible(legacy, p.id) is None
        assert not services.may_enrol(legacy, p)
    for place in (world.province, world.county_a, world.workshop_a, world.workshop_b):
        assert not access.can(legacy, "course.assign", place)
    assert services.visible_projects(legacy).total == 0
    assert courses.assignable_contexts(legacy) == []
    before = (_enrolments(), _assignments())
    with pytest.raises(services.ProjectError):
        services.enrol(legacy, projects.a, [world["member"]])
    with pytest.raises(CourseError):
        courses.assign(legacy, course, world.workshop_a.context, required=True)
    with pytest.raises(CourseError):
        courses.assign(legacy, course, projects.a.context, required=True)
    assert (_enrolments(), _assignments()) == before
    # What it had as inspection over the region stays (statistics, lists, announcements).
    for cap in ("stats.view", "member.list", "announcement.post", "roster.export"):
        assert access.can(legacy, cap, world.county_b), cap


def test_project_manager_pages_across_projects(world, projects, login_as):
    """The manager of A, on Q (same county), on B (the next county) and on the city's project."""
    c = login_as(projects.pm_a)
    assert c.get(f"/projects/{projects.a.id}/enrolment").status_code == 200
    before = _enrolments()
    for p in (projects.q, projects.b, projects.city):
        for r in (c.get(f"/projects/{p.id}"), c.get(f"/projects/{p.id}/enrolment"),
                  c.post(f"/projects/{p.id}/enrolment", data={"user_id": world["member"].id}),
                  c.post(f"/projects/{p.id}/enrolment", data={"action": "school", "school_id": world.school_a.id}),
                  c.get(f"/projects/{p.id}/edit")):  # fmt: skip
            assert r.status_code == 404, (p.name, r.request.path)
            assert p.name not in r.get_data(as_text=True)
    assert _enrolments() == before
    index = c.get("/projects").get_data(as_text=True)
    assert projects.a.name in index and all(p.name not in index for p in (projects.q, projects.b, projects.city))
    # Its own project: enrolling a teacher of the next county is refused, nothing stored.
    r = c.post(f"/projects/{projects.a.id}/enrolment", data={"user_id": world["teacher_b"].id}, follow_redirects=True)
    assert r.status_code == 200 and _enrolments() == before
    assert world["teacher_b"].name not in r.get_data(as_text=True).split('id="enrolled"')[-1]


def test_region_wide_manager_pages_and_api(world, projects, login_as, api_as):  # noqa: F811
    legacy = world["project_manager"]
    c = login_as(legacy)
    before = _enrolments()
    for p in (projects.a, projects.b):
        assert c.get(f"/projects/{p.id}").status_code == 404
        assert c.post(f"/projects/{p.id}/enrolment", data={"user_id": world["member"].id}).status_code == 404
    assert projects.a.name not in c.get("/projects").get_data(as_text=True)
    api = api_as(legacy)
    body = api.get(f"{API}/projects").get_json()
    assert body["items"] == [] and body["total"] == 0
    r = api.post(f"{API}/projects/{projects.a.id}/enrolments", json={"user_ids": [world["member"].id]})
    assert r.status_code == 404 and error_of(r) == "not_found" and "enrolled_count" not in r.get_json()
    assert api.delete(f"{API}/projects/{projects.a.id}/enrolments/{world['teacher'].id}").status_code == 404
    assert _enrolments() == before


def test_project_manager_api_across_projects(world, projects, api_as):  # noqa: F811
    api = api_as(projects.pm_a)
    before = _enrolments()
    for p in (projects.q, projects.b, projects.city):
        r = api.get(f"{API}/projects/{p.id}")
        assert r.status_code == 404 and p.name not in r.get_data(as_text=True)
        r = api.post(f"{API}/projects/{p.id}/enrolments", json={"school_id": world.school_a.id})
        assert r.status_code == 404 and error_of(r) == "not_found"
    # A trainee of A sees A and cannot enrol into it: 403, no count.
    r = api_as(world["teacher"]).post(f"{API}/projects/{projects.a.id}/enrolments",
                                      json={"user_ids": [world["member"].id]})  # fmt: skip
    assert r.status_code == 403 and "enrolled_count" not in r.get_json()
    assert _enrolments() == before


def test_course_assign_within_the_project_only(world, projects, course, login_as):
    """A project manager makes courses required for their project, not for workshops or regions, nor
    another project (through the course page's form, as a browser would post it)."""
    pm = projects.pm_a
    assert [c.id for c in courses.assignable_contexts(pm)] == [projects.a.context_id]
    c = login_as(pm)
    before = _assignments()
    for ctx in (world.workshop_a.context, world.county_a.context, projects.q.context, projects.b.context):
        c.post(f"/courses/{course.id}/assign", data={"context": ctx.id, "required": "1"})
        assert _assignments() == before, ctx
    c.post(f"/courses/{course.id}/assign", data={"context": projects.a.context_id, "required": "1"})
    assert _assignments() == before + 1


def test_region_level_manager_no_longer_appointed(world, projects):
    """New appointments go into a project; the region-wide ones still held can be revoked, by whoever
    could have given them, and are never given anew."""
    admin = world["province_admin"]
    for place in (world.province, world.city, world.county_a):
        assert "project_manager" not in access.assignable_roles(admin, place)
        with pytest.raises(access.AccessError, match="role_not_here"):
            access.appoint(admin, world["member"], "project_manager", place)
    assert "project_manager" in access.revocable_roles(admin, world.province)
    assert "project_manager" not in access.revocable_roles(world["county_admin"], world.province)
    held = db.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.role == "project_manager", RoleAssignment.context_id == world.province.context_id
        )
    )
    with pytest.raises(access.AccessError):
        access.dismiss(world["city_admin"], held)  # the province is above the city admin
    access.dismiss(admin, held)
    assert db.session.get(RoleAssignment, held.id) is None


def test_region_wide_manager_revoked_from_the_admin_page(world, login_as):
    held = db.session.scalar(select(RoleAssignment).where(RoleAssignment.role == "project_manager"))
    c = login_as(world["province_admin"])
    url = f"/regions/{world.province.id}/manage"
    page = c.get(url).get_data(as_text=True)
    assert f'name="assignment_id" value="{held.id}"' in page
    assert '<option value="project_manager"' not in page  # revoked here, not given here
    held_id = held.id
    r = c.post(url, data={"action": "revoke", "assignment_id": held_id})
    db.session.expire_all()
    assert r.status_code == 302 and db.session.get(RoleAssignment, held_id) is None


def test_shell_grants_a_project_manager_in_a_project_only(app, world, projects):
    def run(*args):
        return app.test_cli_runner().invoke(args=["lms", "grant-role", *args])

    r = run("member_a", "project_manager", "--region", str(world.county_a.id))
    assert r.exit_code != 0 and not access.can(world["member"], "project.enrol", projects.a)
    r = run("member_a", "project_manager", "--project", str(projects.q.id))
    assert r.exit_code == 0, r.output
    db.session.expire_all()
    assert services.may_enrol(world["member"], projects.q) and not services.may_enrol(world["member"], projects.a)
    assert run("member_a", "project_manager", "--project", "999999").exit_code != 0
    assert run("member_a", "project_manager", "--project", str(projects.q.id), "--region", "1").exit_code != 0
    # The province-wide holder of before projects is revoked from the shell too.
    r = run("pm", "project_manager", "--region", str(world.province.id), "--revoke")
    assert r.exit_code == 0, r.output
