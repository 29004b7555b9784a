"""lms.projects.services on a real database: facts, the project's own context, enrolment rules."""

from datetime import date

import pytest
from sqlalchemy import func, select

from lms import access
from lms.extensions import db
from lms.projects import services
from lms.projects.models import ProjectEnrolment
from lms.projects.services import ProjectError
from tests.factories import make_user
from tests.projects.conftest import facts


def _rows(project) -> int:
    return db.session.scalar(select(func.count(ProjectEnrolment.id)).where(ProjectEnrolment.project_id == project.id))


def test_a_project_has_its_own_context_under_its_region(world, projects):
    a = projects.a
    assert a.context.kind == "project" and a.context.parent_id == world.county_a.context_id
    assert a.context.path.startswith(world.county_a.context.path) and a.context.name == a.name
    assert a.online_hours == 50 and a.onsite_days == 7 and a.places == 100 and a.mode == "blended"
    assert a.enrolled_count == 1 and _rows(a) == 1


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"name": "  "}, "name_required"),
        ({"mode": "correspondence"}, "bad_mode"),
        ({"online_hours": "-1"}, "bad_hours"),
        ({"online_hours": "abc"}, "bad_hours"),
        ({"online_hours": "NaN"}, "bad_hours"),
        ({"online_hours": "2001"}, "bad_hours"),
        ({"onsite_days": "七"}, "bad_days"),
        ({"onsite_days": 400}, "bad_days"),
        ({"places": -5}, "bad_places"),
        ({"places": True}, "bad_places"),
        ({"starts_on": "2026-01-01"}, "bad_dates"),
        ({"starts_on": date(2026, 5, 1), "ends_on": date(2026, 4, 1)}, "end_before_start"),
    ],
)
def test_bad_facts_are_refused_with_a_code(kw, code):
    name = kw.pop("name", "项目")
    with pytest.raises(ProjectError) as err:
        facts(name, **kw)
    assert str(err.value) == code


def test_facts_are_cleaned():
    f = facts("  国培计划\u0000（2026）  ", hours_text="  50学时 ", online_hours="12.34", places="", onsite_days="")
    assert f.name == "国培计划 （2026）" and f.hours_text == "50学时"
    assert str(f.online_hours) == "12.3" and f.places is None and f.onsite_days is None


def test_who_creates_and_edits(world, projects):
    w = world
    for role, region in (("county_admin", w.county_b), ("school_admin", w.county_a), ("teacher", w.county_a),
                         ("supervisor", w.county_a), ("project_manager", w.county_a)):  # fmt: skip
        with pytest.raises(ProjectError):
            services.create(w[role], region, facts("不应创建"))
    assert [r.name for r in services.regions_for_new(w["county_admin"])] == ["东湖区"]
    services.update_facts(w["county_admin"], projects.a, facts("东湖区乡村教师工作坊研修（二期）"))
    assert projects.a.context.name == "东湖区乡村教师工作坊研修（二期）"
    for role in ("county_admin_b", "school_admin"):
        with pytest.raises(ProjectError):
            services.update_facts(w[role], projects.a, facts("改名"))
    with pytest.raises(ProjectError):  # the manager of A runs A's enrolment, not its facts
        services.update_facts(projects.pm_a, projects.a, facts("改名"))


def test_enrol_is_counted_once_and_withdrawn(world, projects):
    w, a = world, projects.a
    assert services.enrol(w["county_admin"], a, [w["teacher"], w["member"]]) == 1  # the teacher was in already
    assert a.enrolled_count == 2 and _rows(a) == 2
    assert services.enrol(projects.pm_a, a, [w["member"]]) == 0
    assert services.unenrol(projects.pm_a, a, w["member"]) is True
    assert services.unenrol(projects.pm_a, a, w["member"]) is False
    assert a.enrolled_count == 1 and _rows(a) == 1


def test_a_teacher_who_moved_away_can_still_be_withdrawn(world, projects, db):
    """Enrolled in county A's project, then moved to county B (or left without a school): those who
    enrol for the project still withdraw them, so the grant does not outlive the enrolment."""
    w, a = world, projects.a
    w["teacher"].school_id = w.school_b.id
    db.session.commit()
    assert services.unenrol(w["county_admin"], a, w["teacher"]) is True
    assert a.enrolled_count == 0 and _rows(a) == 0
    services.enrol(w["county_admin"], a, [w["member"]])
    w["member"].school_id = None
    db.session.commit()
    with pytest.raises(services.ProjectError):
        services.unenrol(w["school_admin"], a, w["member"])  # a nominator: own school's teachers only
    assert services.unenrol(projects.pm_a, a, w["member"]) is True


def test_only_teachers_of_the_scope_and_all_or_nothing(world, projects):
    w, a = world, projects.a
    before = _rows(a)
    for who in ([w["teacher_b"]], [w["member"], w["teacher_b"]], [w["expert"]]):  # county B, no school
        with pytest.raises(ProjectError) as err:
            services.enrol(w["county_admin"], a, who)
        assert str(err.value) == "teacher_out_of_scope"
    assert _rows(a) == before
    w["member"].active = False
    db.session.commit()
    with pytest.raises(ProjectError):
        services.enrol(w["county_admin"], a, [w["member"]])
    with pytest.raises(ProjectError) as err:
        services.enrol(w["county_admin"], a, [])
    assert str(err.value) == "nobody"
    # A city project takes teachers of both counties.
    assert services.enrol(w["city_admin"], projects.city, [w["teacher"], w["teacher_b"]]) == 2


def test_cross_county_and_other_project_refused(world, projects):
    w = world
    with pytest.raises(ProjectError) as err:
        services.enrol(w["county_admin_b"], projects.a, [w["teacher_b"]])
    assert str(err.value) == "forbidden"
    with pytest.raises(ProjectError):  # the manager of A cannot touch Q, in the same county
        services.enrol(projects.pm_a, projects.q, [w["member"]])
    with pytest.raises(ProjectError):
        services.unenrol(projects.pm_a, projects.q, w["member"])
    with pytest.raises(ProjectError):  # nor the city's project above it
        services.enrol(projects.pm_a, projects.city, [w["member"]])
    with pytest.raises(ProjectError):  # a teacher does not enrol
        services.enrol(w["teacher"], projects.a, [w["member"]])


def test_school_admin_nominates_own_school_only(world, projects):
    w = world
    sa = w["school_admin"]
    assert services.may_enrol(sa, projects.a) and services.may_enrol(sa, projects.city)
    assert not services.may_enrol(sa, projects.b)
    assert services.enrol(sa, projects.a, [w["member"]]) == 1
    with pytest.raises(ProjectError):
        services.enrol(sa, projects.city, [w["teacher_b"]])  # the city's project, but another school
    with pytest.raises(ProjectError):
        services.enrol(sa, projects.b, [w["member"]])  # county B's project
    with pytest.raises(ProjectError):
        services.enrol_school(sa, projects.city, w.school_b)
    assert services.unenrol(sa, projects.a, w["member"]) is True
    services.enrol(w["city_admin"], projects.city, [w["teacher_b"]])
    with pytest.raises(ProjectError):
        services.unenrol(sa, projects.city, w["teacher_b"])  # not theirs to withdraw
    # What they list: candidates and enrolled teachers of their own school only.
    names = {u.username for u, _s, _in in services.candidates(sa, projects.city, per_page=100).items}
    assert names and all(u.school_id == w.school_a.id for u, _s, _in in services.candidates(sa, projects.city).items)
    assert "teacher_b" not in names
    assert [s.name for s in services.schools_in_scope(sa, projects.city)] == ["东湖小学"]
    assert [u.username for u, _s, _t in services.enrolled(sa, projects.city).items] == []
    assert [u.username for u, _s, _t in services.enrolled(w["city_admin"], projects.city).items] == ["teacher_b"]


def test_enrol_a_whole_school(world, projects):
    w = world
    n = services.enrol_school(w["county_admin"], projects.q, w.school_a)
    teachers = db.session.scalar(select(func.count()).select_from(
        select(access.services._user_model().id).where(access.services._user_model().school_id == w.school_a.id)
        .subquery()))  # fmt: skip
    assert n == teachers and projects.q.enrolled_count == teachers
    with pytest.raises(ProjectError) as err:
        services.enrol_school(w["county_admin"], projects.q, w.school_b)
    assert str(err.value) == "school_out_of_scope"
    with pytest.raises(ProjectError):
        services.enrol_school(w["county_admin"], projects.q, None)


def test_candidates_search_and_paging(world, projects):
    w = world
    for i in range(25):
        make_user(f"extra{i}", f"附加教师{i:02d}", w.school_a)
    db.session.commit()
    page = services.candidates(w["county_admin"], projects.a, q="附加", per_page=10, page=3)
    assert page.total == 25 and len(page.items) == 5 and page.pages == 3
    hit = services.candidates(w["county_admin"], projects.a, q="teacher_a").items
    assert [(u.username, enrolled) for u, _s, enrolled in hit] == [("teacher_a", True)]
    assert services.candidates(w["county_admin"], projects.a, school_id=w.school_b.id).total == 0
    assert services.candidates(w["teacher"], projects.a).total == 0


def test_visibility_and_my_projects(world, projects):
    w, p = world, projects

    def names(user):
        return {x.name for x in services.visible_projects(user, per_page=100).items}

    assert names(w["teacher"]) == {p.a.name}  # enrolled only
    assert names(w["member"]) == set()
    assert names(w["county_admin"]) == {p.a.name, p.q.name}
    assert names(w["county_admin_b"]) == {p.b.name}
    assert names(w["city_admin"]) == {p.a.name, p.q.name, p.b.name, p.city.name}
    assert names(w["school_admin"]) == {p.a.name, p.q.name, p.city.name}  # regions above the school
    assert names(w["school_admin_b"]) == {p.b.name, p.city.name}
    assert names(p.pm_a) == {p.a.name}
    assert names(w["supervisor"]) == {p.a.name, p.q.name}
    assert names(w["outsider"]) == set()
    assert {x.name for x in services.visible_projects(w["city_admin"], q="西湖").items} == {p.b.name}
    assert services.my_projects(w["teacher"]) == [(p.a, "trainee")]
    assert services.my_projects(p.pm_a) == [(p.a, "project_manager")]
    assert services.trainee_context_ids(w["teacher"]) == {p.a.context_id}
    assert services.get_visible(w["county_admin_b"], p.a.id) is None
    assert services.get_visible(w["teacher"], p.q.id) is None


def test_a_region_admin_appoints_a_manager_for_one_project(world, projects):
    w = world
    assert "project_manager" in access.assignable_roles(w["county_admin"], projects.q)
    assert access.assignable_roles(w["county_admin_b"], projects.q) == []
    access.appoint(w["county_admin"], w["host"], "project_manager", projects.q)
    assert services.may_enrol(w["host"], projects.q) and not services.may_enrol(w["host"], projects.a)
    assert not access.can(w["host"], "roster.export", w.county_a)  # the region's roster stays out of reach
    assert not access.can(w["host"], "homework.grade", w.workshop_b)
    with pytest.raises(access.AccessError):
        access.appoint(w["school_admin"], w["member"], "project_manager", projects.q)


def test_two_admins_enrolling_at_once_enrol_each_teacher_once(app, world, projects):
    from tests.conftest import at_once

    w, a = world, projects.a
    ids = (w["county_admin"].id, w["member"].id, w["leader"].id, a.id)

    def go():
        from lms.accounts.models import User
        from lms.projects.models import Project

        admin, member, leader, project = (db.session.get(User, ids[0]), db.session.get(User, ids[1]),
                                          db.session.get(User, ids[2]), db.session.get(Project, ids[3]))  # fmt: skip
        return services.enrol(admin, project, [member, leader])

    got = at_once(app, 4, go)
    assert len(got) == 4 and sum(got) == 2
    db.session.expire_all()
    assert _rows(a) == 3 and db.session.get(type(a), a.id).enrolled_count == 3
