"""access.can / access.require / access.visible against the matrix written out in expected.py."""

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound

from lms import access
from lms.access.models import Context
from lms.access.roles import CAPABILITIES, ROLE_CAPABILITIES, ROLE_CONTEXTS
from lms.communities.models import Region, School, Workshop
from lms.extensions import db
from tests.access.expected import ALL, EXPECTED, OBJECTS, ROLES, expected

CAPS = sorted(ALL)


def test_expected_table_names_every_capability():
    assert set(CAPABILITIES) == ALL
    assert set(EXPECTED) == set(ROLES)
    for role, row in EXPECTED.items():
        assert set(row) <= set(OBJECTS), role
        for caps in row.values():
            assert caps <= ALL, role


def test_every_role_of_the_table_has_a_label_and_known_capabilities():
    from lms.access.roles import ROLE_LABELS

    assert set(ROLE_CAPABILITIES) == set(ROLE_LABELS)
    for role, caps in ROLE_CAPABILITIES.items():
        assert caps <= set(CAPABILITIES), role
    # Explicit roles may be held somewhere; teacher/member/group_leader/trainee are implied by membership
    # and enrolment.
    assert set(ROLE_CONTEXTS) == set(ROLE_CAPABILITIES) - {"teacher", "member", "group_leader", "trainee"}


@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("capability", CAPS)
@pytest.mark.parametrize("role", ROLES)
def test_can(shared_world, role, capability, obj):
    user = shared_world[role]
    target = getattr(shared_world, obj)
    assert access.can(user, capability, target) is expected(role, capability, obj), (
        f"{role} {'should' if expected(role, capability, obj) else 'should not'} have {capability} on {obj}"
    )


@pytest.mark.parametrize("role", ROLES)
def test_can_accepts_the_context_itself(shared_world, role):
    """Passing the access Context gives the same answer as passing the community object."""
    user = shared_world[role]
    for obj in OBJECTS:
        target = getattr(shared_world, obj)
        for cap in CAPS:
            assert access.can(user, cap, target.context) is access.can(user, cap, target), (role, cap, obj)


@pytest.mark.parametrize("role", ROLES)
def test_require_is_404_when_unseen_403_when_seen_but_not_allowed(app, shared_world, role):
    user = shared_world[role]
    with app.test_request_context():
        for obj in OBJECTS:
            target = getattr(shared_world, obj)
            for cap in CAPS:
                if expected(role, cap, obj):
                    access.require(user, cap, target)
                    continue
                error = Forbidden if expected(role, "community.view", obj) else NotFound
                with pytest.raises(error):
                    access.require(user, cap, target)


def test_anonymous_and_none_have_nothing(shared_world):
    from flask_login import AnonymousUserMixin

    for user in (None, AnonymousUserMixin()):
        for obj in OBJECTS:
            for cap in CAPS:
                assert not access.can(user, cap, getattr(shared_world, obj))


# --- listing: access.visible must agree with access.can, so lists never leak -----------------------

_LISTS = {
    "region": (Region, ("province", "city", "county_a", "county_b")),
    "school": (School, ("school_a", "school_b")),
    "workshop": (Workshop, ("workshop_a", "workshop_b")),
}


def _visible_names(world, model, names, user, capability):
    stmt = select(model.id).join(Context, model.context_id == Context.id)
    ids = set(db.session.scalars(access.visible(stmt, user, capability, Context.path)))
    return {n for n in names if getattr(world, n).id in ids}


@pytest.mark.parametrize("kind", sorted(_LISTS))
@pytest.mark.parametrize("role", ROLES)
def test_visible_lists_exactly_what_can_allows(shared_world, role, kind):
    model, names = _LISTS[kind]
    user = shared_world[role]
    for cap in CAPS:
        want = {n for n in names if expected(role, cap, n)}
        assert _visible_names(shared_world, model, names, user, cap) == want, (role, cap)


def test_visible_examples(shared_world):
    """The same thing told plainly for a few users."""
    w = shared_world

    def regions(role, cap="community.view"):
        return _visible_names(w, Region, ("province", "city", "county_a", "county_b"), w[role], cap)

    def workshops(role, cap="community.view"):
        return _visible_names(w, Workshop, ("workshop_a", "workshop_b"), w[role], cap)

    def schools(role, cap="community.view"):
        return _visible_names(w, School, ("school_a", "school_b"), w[role], cap)

    assert regions("teacher") == {"province", "city", "county_a"}
    assert regions("teacher", "member.list") == set()
    assert schools("teacher") == {"school_a"}
    assert workshops("teacher") == set()
    assert workshops("member") == {"workshop_a"}
    assert regions("county_admin") == {"province", "city", "county_a"}
    assert regions("county_admin", "region.manage") == {"county_a"}
    assert schools("county_admin") == {"school_a"}
    assert workshops("county_admin_b") == {"workshop_b"}
    assert schools("school_admin_b") == {"school_b"}
    assert regions("city_admin", "member.list") == {"city", "county_a", "county_b"}
    assert schools("supervisor", "stats.view") == {"school_a"}
    assert schools("supervisor", "user.manage") == set()
    assert regions("outsider") == set()
    assert regions("site_admin", "role.assign") == {"province", "city", "county_a", "county_b"}


# --- edge cases of the decision itself ----------------------------------------------------------------


def test_inactive_user_holds_nothing(shared_world):
    admin = shared_world["county_admin"]
    admin.active = False
    try:
        assert not access.can(admin, "community.view", shared_world.county_a)
        assert access.services.grants(admin) == []
    finally:
        db.session.rollback()
    assert access.can(admin, "community.view", shared_world.county_a)


def test_can_without_object_means_somewhere(shared_world):
    w = shared_world
    assert access.can(w["county_admin"], "roster.import")
    assert access.holds_anywhere(w["county_admin"], "roster.import")
    assert not access.can(w["teacher"], "roster.import")
    assert not access.holds_anywhere(w["supervisor"], "user.manage")


def test_user_objects_are_judged_by_their_school(shared_world):
    """user.manage on a person: the admins above that person's school, never a neighbour's."""
    w = shared_world
    teacher_a, teacher_b, expert = w["teacher"], w["teacher_b"], w["expert"]
    assert access.can(w["school_admin"], "user.manage", teacher_a)
    assert not access.can(w["school_admin"], "user.manage", teacher_b)
    assert access.can(w["county_admin"], "idcard.view_full", teacher_a)
    assert not access.can(w["county_admin"], "idcard.view_full", teacher_b)
    assert access.can(w["city_admin"], "user.manage", teacher_b)
    assert not access.can(w["host"], "user.manage", teacher_a)
    # Someone without a school hangs under the site for what concerns their school...
    assert not access.can(w["province_admin"], "idcard.view_full", expert)
    assert access.can(w["site_admin"], "user.manage", expert)
    # ...but their account is managed from above the roles they hold (access.PERSON_GUARDED): the
    # province and city admins reach the expert of workshop A; county admins do not (they do not
    # appoint experts, roles.ASSIGNABLE), A's no more than B's; someone with neither school nor role
    # is the site's alone.
    assert access.can(w["province_admin"], "user.manage", expert)
    assert access.can(w["city_admin"], "user.manage", expert)
    assert not access.can(w["county_admin"], "user.manage", expert)
    assert not access.can(w["county_admin_b"], "user.manage", expert)
    assert not access.can(w["province_admin"], "user.manage", w["outsider"])
    assert access.can(w["site_admin"], "user.manage", w["outsider"])


def test_context_paths_do_not_match_by_digit_prefix(shared_world):
    """Context /1/2/ must not reach /1/23/: paths end with '/', so prefixes are whole ids."""
    w = shared_world
    for ctx in db.session.scalars(select(Context)):
        assert ctx.path.startswith("/") and ctx.path.endswith("/"), ctx
    county = w.county_a.context
    sibling = Context(kind="school", name="x", path=county.path.rstrip("/") + "9/")
    assert not county.contains(sibling)
    assert county.contains(w.school_a.context)
    assert not county.contains(w.school_b.context)
    assert access.services.site_context().contains(w.school_b.context)


def test_assign_checks_where_a_role_may_be_held(shared_world):
    from lms.access.services import AccessError, assign

    w = shared_world
    with pytest.raises(AccessError):
        assign(w["outsider"], "county_admin", w.school_a.context)
    with pytest.raises(AccessError):
        assign(w["outsider"], "host", w.county_a.context)
    with pytest.raises(AccessError):
        assign(w["outsider"], "teacher", w.school_a.context)  # implied by the school, never assigned
    with pytest.raises(AccessError):
        assign(w["outsider"], "city_admin", w.county_a.context)
    db.session.rollback()


def test_visible_upward_only_through_roles_that_hold_the_capability(shared_world, monkeypatch):
    """Ancestors are listed because a role holding the capability sits below them, not for any grant."""
    from lms.access import roles

    w = shared_world
    monkeypatch.setitem(roles.ROLE_CAPABILITIES, "teacher", {"member.list"})
    names = ("province", "city", "county_a", "county_b")
    assert not access.can(w["teacher"], "community.view", w.county_a)
    assert _visible_names(w, Region, names, w["teacher"], "community.view") == set()
    # The host still reaches upward through the host role held in workshop A.
    assert _visible_names(w, Region, names, w["host"], "community.view") == {"province", "city", "county_a"}


def test_roles_do_not_share_capability_sets():
    """A plugin granting a capability to one role must not grant it to others by aliasing."""
    from lms.plugins import PluginAPI

    sets = list(ROLE_CAPABILITIES.values())
    assert len({id(s) for s in sets}) == len(sets)
    try:
        PluginAPI(None, "t").add_capability("test.only_county", "test", ["county_admin"])
        holders = {role for role, caps in ROLE_CAPABILITIES.items() if "test.only_county" in caps}
        assert holders == {"county_admin", "site_admin"}  # the site admin holds every capability
    finally:
        CAPABILITIES.pop("test.only_county", None)
        for caps in ROLE_CAPABILITIES.values():
            caps.discard("test.only_county")


# --- who appoints whom: access.assignable_roles against the table written out in expected.py ---------


@pytest.mark.parametrize("role", ROLES)
def test_assignable_roles(shared_world, role):
    from lms.access.roles import ASSIGNABLE
    from tests.access.expected import APPOINTS

    user = shared_world[role]
    for obj in OBJECTS:
        got = set(access.assignable_roles(user, getattr(shared_world, obj)))
        assert got == APPOINTS.get(role, {}).get(obj, set()), (role, obj)
    # Nobody hands out their own role or site_admin; every granter holds role.assign.
    for granter, roles in ASSIGNABLE.items():
        assert granter not in roles and "site_admin" not in roles
        assert "role.assign" in ROLE_CAPABILITIES[granter]
