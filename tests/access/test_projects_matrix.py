"""The role × capability matrix on training projects (lms.projects): each project's context hangs
under the region that runs it, so roles reach it from above, a project manager held in one project
reaches that project only, and an enrolled teacher (trainee) only sees it.

Projects: A and Q in county A, B in county B, C run by the city. `teacher` is enrolled in A; `pm_a`
manages A only; `project_manager` is the older region-wide holder (the province), which keeps its
inspection of the region but no power over projects or courses: those are held in a project only."""

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound

from lms import access
from lms.access.models import Context
from lms.extensions import db
from lms.projects.models import Project
from tests.projects.conftest import build_projects

PROJECTS = ["a", "q", "b", "city"]
CAPS = ["community.view", "member.list", "project.view", "project.manage", "project.enrol", "project.nominate",
        "course.assign", "roster.export", "homework.grade", "user.manage"]  # fmt: skip

ADMIN = {"community.view", "member.list", "project.view", "project.manage", "project.enrol", "course.assign",
         "roster.export", "user.manage"}  # fmt: skip
MANAGER = {"community.view", "member.list", "project.view", "project.enrol", "course.assign", "roster.export",
           "homework.grade"}  # fmt: skip
TRAINEE = {"community.view", "project.view"}  # of CAPS; also live.view and live.ask (tests/projects)
SUPERVISOR = {"community.view", "member.list", "project.view"}
# A province-wide project manager of before projects: what its role carries over the region, not
# project.* or course.assign (roles.HELD_IN), so it cannot even open the region's projects.
LEGACY_MANAGER = {"community.view", "member.list", "roster.export", "homework.grade"}

EXPECTED = {
    "teacher": {"a": TRAINEE},
    "member": {},
    "host": {},
    "school_admin": {},  # nominates from the school (project.nominate looks up at the region, not here)
    "county_admin": {"a": ADMIN, "q": ADMIN},
    "county_admin_b": {"b": ADMIN},
    "city_admin": {p: ADMIN for p in PROJECTS},
    "province_admin": {p: ADMIN for p in PROJECTS},
    "supervisor": {"a": SUPERVISOR, "q": SUPERVISOR},
    "project_manager": {p: LEGACY_MANAGER for p in PROJECTS},
    "pm_a": {"a": MANAGER},
    "site_admin": {p: set(CAPS) for p in PROJECTS},
    "outsider": {},
}


@pytest.fixture(scope="module")
def pw(shared_world):
    projects = build_projects(shared_world)
    shared_world.users["pm_a"] = projects.pm_a
    return shared_world, projects


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_can_on_projects(pw, role):
    w, projects = pw
    for name in PROJECTS:
        project = getattr(projects, name)
        for cap in CAPS:
            want = cap in EXPECTED[role].get(name, set())
            assert access.can(w[role], cap, project) is want, (role, cap, name)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_require_on_projects_never_leaks(app, pw, role):
    """Unseen: 404; seen but not allowed: 403 (a trainee asking to manage their own project)."""
    w, projects = pw
    with app.test_request_context():
        for name in PROJECTS:
            project = getattr(projects, name)
            caps = EXPECTED[role].get(name, set())
            for cap in CAPS:
                if cap in caps:
                    access.require(w[role], cap, project)
                    continue
                with pytest.raises(Forbidden if "community.view" in caps else NotFound):
                    access.require(w[role], cap, project)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_visible_lists_what_can_allows(pw, role):
    w, projects = pw
    ids = {getattr(projects, n).id: n for n in PROJECTS}
    for cap in CAPS:
        stmt = select(Project.id).join(Context, Project.context_id == Context.id)
        seen = {ids[i] for i in db.session.scalars(access.visible(stmt, w[role], cap, Context.path))}
        assert seen == {n for n in PROJECTS if cap in EXPECTED[role].get(n, set())}, (role, cap)


def test_school_admin_nominates_up_the_tree_only(pw):
    w, projects = pw
    sa = w["school_admin"]
    assert access.can(sa, "project.nominate", w.school_a) and access.can(sa, "project.nominate", w.county_a)
    assert access.can(sa, "project.nominate", w.city) and not access.can(sa, "project.nominate", w.county_b)
    assert not access.can(sa, "project.nominate", w.school_b)
    assert not access.can(w["school_admin_b"], "project.nominate", w.county_a)


def test_project_manager_may_be_held_in_a_project(pw):
    from lms.access.services import may_hold

    _w, projects = pw
    assert may_hold("project_manager", projects.a.context)
    for role in ("host", "county_admin", "school_admin", "expert", "supervisor"):
        assert not may_hold(role, projects.a.context), role
