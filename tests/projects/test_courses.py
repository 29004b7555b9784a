"""Courses through a project: whoever holds course.assign in it makes courses required (or elective)
for it, and its trainees find them required in the supermarket, the personal space and the API."""

import pytest

from lms.courses import services as courses
from lms.courses.services import CourseError
from lms.projects import services
from tests.courses.conftest import make_course


@pytest.fixture
def course(world):
    return make_course(world.province.context, "国培乡村教师信息化教学能力提升", hours=6, lessons=2)


def test_project_manager_assigns_and_trainees_see_it_required(world, projects, course, login_as):
    w, a = world, projects.a
    assert [c.id for c in courses.assignable_contexts(projects.pm_a)] == [a.context_id]
    courses.assign(projects.pm_a, course, a.context, required=True)
    assert course.id in courses.required_ids(w["teacher"])  # enrolled in A
    assert course.id not in courses.required_ids(w["member"])  # same school, not enrolled
    assert [c.id for c in courses.my_courses(w["teacher"])["required"]] == [course.id]
    assert [c.id for c in courses.catalogue(w["teacher"], need="required").items] == [course.id]
    assert [(c.id, req) for c, req in services.courses_of(a)] == [(course.id, True)]
    # Enrolled later, required at once; withdrawn, no longer.
    services.enrol(projects.pm_a, a, [w["member"]])
    assert course.id in courses.required_ids(w["member"])
    services.unenrol(projects.pm_a, a, w["member"])
    assert course.id not in courses.required_ids(w["member"])
    # An elective of the project is offered, not required.
    other = make_course(w.county_a.context, "东湖区选修课")
    courses.assign(w["county_admin"], other, a.context, required=False)
    assert other.id not in courses.required_ids(w["teacher"])
    assert {(c.id, req) for c, req in services.courses_of(a)} == {(course.id, True), (other.id, False)}


def test_pages_show_the_requirement(world, projects, course, login_as):
    courses.assign(projects.pm_a, course, projects.a.context, required=True)
    c = login_as(world["teacher"])
    html = c.get("/courses/?need=required").get_data(as_text=True)
    assert course.title in html and "必修" in html
    html = c.get(f"/projects/{projects.a.id}").get_data(as_text=True)
    assert course.title in html and "必修" in html
    assert course.title in c.get("/me").get_data(as_text=True)
    html = login_as(world["member"]).get("/courses/?need=required").get_data(as_text=True)
    assert course.title not in html


def test_assigning_stays_within_the_project(world, projects, course):
    w = world
    with pytest.raises(CourseError):  # the manager of A, on Q in the same county
        courses.assign(projects.pm_a, course, projects.q.context)
    with pytest.raises(CourseError):  # the county admin of B, on A
        courses.assign(w["county_admin_b"], course, projects.a.context)
    with pytest.raises(CourseError):  # a trainee
        courses.assign(w["teacher"], course, projects.a.context)
    county_b_course = make_course(w.county_b.context, "西湖区本地课程")
    with pytest.raises(CourseError) as err:  # A's trainees could not open it
        courses.assign(w["city_admin"], county_b_course, projects.a.context)
    assert str(err.value) == "audience_cannot_see"
    courses.assign(w["city_admin"], county_b_course, projects.b.context)
    assert county_b_course.id not in courses.required_ids(w["teacher"])


def test_api_lists_project_courses(world, projects, course, client):
    from lms.accounts import services as accounts

    courses.assign(projects.pm_a, course, projects.a.context, required=True)
    headers = {"Authorization": f"Bearer {accounts.issue_token(world['teacher'], 1)}"}
    body = client.get(f"/api/v1/projects/{projects.a.id}", headers=headers).get_json()
    assert body["courses"] == [{"id": course.id, "title": course.title, "required": True, "hours": 6.0}]
    body = client.get("/api/v1/me/courses", headers=headers).get_json()
    assert [c["id"] for c in body["required"]] == [course.id]
