"""Appointing and revoking roles (access.appoint / dismiss / replace_holders), whose account one may
manage (can(..., "user.manage", person)), and which people one may find (visible_people)."""

import logging

import pytest
from sqlalchemy import func, select

from lms import access
from lms.access.models import RoleAssignment
from lms.accounts.models import User
from lms.extensions import db
from tests.factories import make_user


def _count():
    return db.session.scalar(select(func.count(RoleAssignment.id)))


def _ra(user, role) -> RoleAssignment:
    return db.session.scalar(
        select(RoleAssignment).where(RoleAssignment.role == role, RoleAssignment.user_id == user.id)
    )


def _hosts(ws) -> set[int]:
    stmt = select(RoleAssignment.user_id).where(
        RoleAssignment.role == "host", RoleAssignment.context_id == ws.context_id
    )
    return set(db.session.scalars(stmt))


def _holds(user, role, obj) -> bool:
    return (
        db.session.scalar(
            select(RoleAssignment.id).where(
                RoleAssignment.user_id == user.id,
                RoleAssignment.role == role,
                RoleAssignment.context_id == obj.context_id,
            )
        )
        is not None
    )


def test_county_admin_appoints_a_school_admin_and_it_takes_effect(world, caplog):
    w = world
    teacher = w["teacher"]
    assert not access.can(teacher, "roster.import", w.school_a)
    with caplog.at_level(logging.INFO, logger="lms.audit"):
        access.appoint(w["county_admin"], teacher, "school_admin", w.school_a)
    assert _holds(teacher, "school_admin", w.school_a)
    assert access.can(teacher, "roster.import", w.school_a)
    assert "school_admin" in caplog.text and "cadmin_a" in caplog.text and "teacher_a" in caplog.text
    assert teacher.id_card not in caplog.text  # never an ID number in the log


@pytest.mark.parametrize(
    ("granter", "role", "where", "code"),
    [
        ("county_admin", "province_admin", "province", "role_above_you"),  # above their own, not in reach
        ("county_admin", "county_admin", "county_a", "role_above_you"),  # their own level
        ("county_admin", "city_admin", "county_a", "role_not_here"),  # a city admin sits in a city
        ("county_admin", "school_admin", "school_b", "role_above_you"),  # the next county
        ("school_admin", "school_admin", "school_a", "role_above_you"),
        ("school_admin", "host", "workshop_a", "role_above_you"),
        ("host", "host", "workshop_a", "role_above_you"),  # hosts do not appoint
        ("teacher", "school_trainer", "school_a", "role_above_you"),
        ("site_admin", "site_admin", "province", "role_not_here"),
        ("province_admin", "wizard", "province", "unknown_role"),
    ],
)
def test_refused_appointments_store_nothing(world, granter, role, where, code):
    before = _count()
    with pytest.raises(access.AccessError) as err:
        access.appoint(world[granter], world["teacher"], role, getattr(world, where))
    assert str(err.value) == code
    db.session.rollback()
    assert _count() == before


def test_person_outside_reach_is_unknown(world):
    """A county admin cannot appoint a teacher of the next county (told exactly as an unknown person)."""
    w = world
    before = _count()
    for person in (w["teacher_b"], None):
        with pytest.raises(access.AccessError, match="person_unknown"):
            access.appoint(w["county_admin"], person, "host", w.workshop_a)
    assert _count() == before
    # The city admin above both counties reaches the teacher of county B.
    access.appoint(w["city_admin"], w["teacher_b"], "host", w.workshop_a)
    assert _holds(w["teacher_b"], "host", w.workshop_a)


def test_staff_without_a_school_are_in_reach_through_their_roles(world):
    """County staff often have no school: the province admin finds the county's supervisor by the role
    they hold in the province's subtree; a county admin of the next county does not."""
    w = world
    assert w["supervisor"].school is None
    assert access.in_reach(w["province_admin"], w["supervisor"])
    assert access.in_reach(w["county_admin"], w["supervisor"])  # supervisor of county A
    assert not access.in_reach(w["county_admin_b"], w["supervisor"])
    assert not access.in_reach(w["county_admin"], w["outsider"])
    assert access.in_reach(w["site_admin"], w["outsider"])


def test_already_held_and_inactive(world):
    w = world
    with pytest.raises(access.AccessError, match="already_held"):
        access.appoint(w["county_admin"], w["host"], "host", w.workshop_a)
    w["teacher"].active = False
    db.session.commit()
    with pytest.raises(access.AccessError, match="person_inactive"):
        access.appoint(w["county_admin"], w["teacher"], "host", w.workshop_a)


def test_dismiss_only_what_one_could_give(world):
    w = world
    host_ra, county_ra = _ra(w["host"], "host"), _ra(w["county_admin"], "county_admin")
    with pytest.raises(access.AccessError, match="role_above_you"):
        access.dismiss(w["county_admin_b"], host_ra)  # the next county's admin
    with pytest.raises(access.AccessError, match="role_above_you"):
        access.dismiss(w["county_admin"], county_ra)  # their own role
    with pytest.raises(access.AccessError, match="role_above_you"):
        access.dismiss(w["school_admin"], host_ra)
    db.session.rollback()
    assert _holds(w["host"], "host", w.workshop_a) and _holds(w["county_admin"], "county_admin", w.county_a)
    access.dismiss(w["county_admin"], host_ra)
    assert not _holds(w["host"], "host", w.workshop_a)
    assert not access.can(w["host"], "workshop.manage", w.workshop_a)
    access.dismiss(w["city_admin"], county_ra)
    assert not access.can(w["county_admin"], "region.manage", w.county_a)


def test_replace_host_in_one_step(world):
    w = world
    new_host = w["teacher"]
    access.replace_holders(w["county_admin"], new_host, "host", w.workshop_a)
    assert _hosts(w.workshop_a) == {new_host.id}
    with pytest.raises(access.AccessError, match="already_held"):
        access.replace_holders(w["county_admin"], new_host, "host", w.workshop_a)
    with pytest.raises(access.AccessError, match="person_unknown"):
        access.replace_holders(w["county_admin"], w["teacher_b"], "host", w.workshop_a)
    db.session.rollback()
    assert _hosts(w.workshop_a) == {new_host.id}


# --- user.manage on a person: their school, and every role they hold ------------------------------------


def test_nobody_manages_an_account_holding_a_role_they_could_not_give(world):
    """A teacher of school A who is also the city admin: their school admin and county admin must not
    reset that password (it would hand them the city); a peer city admin neither; the province may."""
    w = world
    boss = make_user("boss", "程市管", w.school_a)
    access.services.assign(boss, "city_admin", w.city.context)
    db.session.commit()
    for role in ("school_admin", "county_admin", "city_admin"):
        assert access.can(w[role], "user.manage", w["teacher"]), role
        assert not access.can(w[role], "user.manage", boss), role
    assert access.can(w["province_admin"], "user.manage", boss)
    assert access.can(w["site_admin"], "user.manage", boss)
    # Nor oneself: one's own role is never one one may give.
    for role in ("school_admin", "county_admin", "site_admin"):
        assert not access.can(w[role], "user.manage", w[role]), role
    # The batch form used by lists agrees with the single check.
    people = list(db.session.scalars(select(User).order_by(User.id)))
    for role in ("school_admin", "county_admin", "city_admin", "province_admin", "site_admin", "teacher", "host"):
        assert access.manageable(w[role], people) == {p.id for p in people if access.can(w[role], "user.manage", p)}, (
            role
        )


def test_visible_people_never_crosses_counties(world):
    w = world

    def names(user, capability="user.manage", role_holders=False):
        stmt = access.visible_people(select(User.username), user, capability, role_holders=role_holders)
        return set(db.session.scalars(stmt))

    a = names(w["county_admin"])
    assert {"teacher_a", "member_a", "host_a", "sadmin_a"} <= a
    assert not a & {"teacher_b", "member_b", "sadmin_b", "cadmin_b", "outsider"}
    # With role holders: county A's schoolless staff (its supervisor, its workshop's expert) too.
    assert {"supervisor_a", "expert", "cadmin_a"} <= names(w["county_admin"], "role.assign", True)
    assert "cadmin_b" not in names(w["county_admin"], "role.assign", True)
    assert names(w["school_admin"]) == {u.username for u in db.session.scalars(select(User).where(
        User.school_id == w.school_a.id))}  # fmt: skip
    assert names(w["teacher"]) == set()
    assert "outsider" in names(w["site_admin"])


def test_audit_lines_reach_a_handler_by_default(app):
    """No logging configuration needed: INFO lines of lms.audit pass their logger and reach a handler
    (in production Flask's stderr handler on the "lms" logger, which stamps each line with its time)."""
    from flask.logging import has_level_handler

    audit = logging.getLogger("lms.audit")
    assert audit.isEnabledFor(logging.INFO) and has_level_handler(audit)


@pytest.mark.parametrize(("who", "role"), [("city_admin", "expert"), ("county_admin", "project_manager"),
                                         ("county_admin", "supervisor")])  # fmt: skip
def test_nobody_appoints_themselves(world, who, role):
    """An expert publishes excellent work, which a city admin's own role does not: appointing
    oneself would be a way up. The site admin, who holds everything, may. (A project manager is
    appointed in a project of the county, the others in the county itself.)"""
    from tests.projects.conftest import facts

    admin = world[who]
    place = world.county_a
    if role == "project_manager":
        from lms.projects import services as projects

        place = projects.create(admin, world.county_a, facts("自我任命测试项目"))
    before = _count()
    with pytest.raises(access.AccessError, match="own_account"):
        access.appoint(admin, admin, role, place)
    with pytest.raises(access.AccessError, match="own_account"):
        access.replace_holders(admin, admin, role, place)
    assert _count() == before
    assert not access.can(admin, "homework.publish", place)
    # The same role for someone else in reach is fine.
    access.appoint(admin, world["teacher"], role, place)
    assert _holds(world["teacher"], role, place)
    root = world["site_admin"]
    access.appoint(root, root, role, place)
    assert _holds(root, role, place)
