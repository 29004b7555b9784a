"""Moving a school to another county and closing a school (after a merger): everything under a moved
school follows it (teachers, workshops, roles, resources, access paths) and the counters stay as a
full recount makes them; a county admin moves nothing out of their county; a closed school leaves
lists, pickers and the roster import, and nothing is deleted."""

import pytest
from sqlalchemy import func, select

from lms import access
from lms.access.models import Context, RoleAssignment
from lms.accounts.models import User
from lms.audit.models import AuditEntry
from lms.communities import services
from lms.communities.models import Region, School, Workshop
from lms.extensions import db
from tests.access.dom import parse


def _text(resp) -> str:
    return parse(resp.get_data(as_text=True)).text


def _counters():
    db.session.expire_all()
    regions = {r.id: (r.school_count, r.teacher_count, r.workshop_count) for r in db.session.scalars(select(Region))}
    schools = {s.id: s.teacher_count for s in db.session.scalars(select(School))}
    return regions, schools


def _assert_counters_as_recounted():
    """The counters the move or close maintained equal what a full recount gives."""
    kept = _counters()
    services.refresh_counters()
    db.session.commit()
    assert _counters() == kept


def _snapshot():
    db.session.expire_all()
    return (
        [(s.id, s.name, s.county_id, s.closed_at) for s in db.session.scalars(select(School).order_by(School.id))],
        [(c.id, c.parent_id, c.path) for c in db.session.scalars(select(Context).order_by(Context.id))],
        [(u.id, u.school_id) for u in db.session.scalars(select(User).order_by(User.id))],
        db.session.scalar(select(func.count(AuditEntry.id))),
    )


@pytest.fixture
def school_workshop(world):
    """A workshop run by school A, with a host, so that a move has a subtree to carry."""
    ws = services.create_workshop("东湖小学语文坊", world.county_a, school=world.school_a)
    db.session.flush()
    access.services.assign(world["host"], "host", ws.context)
    services.refresh_counters()
    db.session.commit()
    return ws


# --- moving ----------------------------------------------------------------------------------------


def test_a_moved_school_takes_everything_under_it(world, school_workshop):
    w, ws = world, school_workshop
    services.move_school(w.school_a, w.county_b, actor=w["city_admin"])
    db.session.expire_all()
    school, county_b = db.session.get(School, w.school_a.id), db.session.get(Region, w.county_b.id)
    assert school.county_id == county_b.id
    assert school.context.parent_id == county_b.context_id
    assert school.context.path == f"{county_b.context.path}{school.context_id}/"
    ws = db.session.get(Workshop, ws.id)
    assert ws.region_id == county_b.id and ws.context.path.startswith(school.context.path)
    # The teachers stayed in their school, and so they are the next county's now.
    teacher = db.session.get(User, w["teacher"].id)
    assert teacher.school_id == school.id
    assert access.can(w["county_admin_b"], "user.manage", teacher)
    assert not access.can(w["county_admin"], "user.manage", teacher)
    assert not access.can(w["county_admin"], "community.view", school)
    # Roles held at the school and its workshop follow by context (nothing rewritten but paths).
    host_role = db.session.scalar(select(RoleAssignment).where(RoleAssignment.context_id == ws.context_id))
    assert host_role.user_id == w["host"].id and access.can(w["host"], "workshop.manage", ws)
    _assert_counters_as_recounted()
    a, b = db.session.get(Region, w.county_a.id), db.session.get(Region, w.county_b.id)
    assert (a.school_count, b.school_count) == (0, 2)
    assert b.teacher_count == school.teacher_count + db.session.get(School, w.school_b.id).teacher_count


def test_the_school_page_shows_the_new_county(world, login_as):
    w = world
    services.move_school(w.school_a, w.county_b, actor=w["city_admin"])
    client = login_as(w["county_admin_b"])
    assert "东湖小学" in _text(client.get(f"/regions/{w.county_b.id}"))
    assert client.get(f"/schools/{w.school_a.id}/manage").status_code == 200
    assert login_as(w["county_admin"]).get(f"/schools/{w.school_a.id}/manage").status_code == 404


@pytest.mark.parametrize(
    ("target", "error"),
    [("county_a", "same_county"), ("city", "target_not_county"), (None, "target_not_county")],
)
def test_bad_moves_are_refused_and_change_nothing(world, target, error):
    before = _snapshot()
    with pytest.raises(services.CommunityError, match=error):
        services.move_school(world.school_a, getattr(world, target) if target else None, actor=world["city_admin"])
    db.session.rollback()
    assert _snapshot() == before


def test_a_move_into_a_county_with_a_school_of_that_name_is_refused(world):
    services.add_school(world.county_a, "西湖中学")  # the name of county B's school
    clash = db.session.scalar(select(School).where(School.county_id == world.county_a.id, School.name == "西湖中学"))
    before = _snapshot()
    with pytest.raises(services.CommunityError, match="school_name_taken"):
        services.move_school(clash, world.county_b)
    db.session.rollback()
    assert _snapshot() == before


def test_a_county_admin_cannot_move_a_school_out_of_the_county(world, login_as):
    w, client = world, login_as(world["county_admin"])
    url = f"/regions/{w.county_a.id}/manage"
    page = client.get(url)
    assert "西湖区" not in _text(page)  # no other county in the picker
    before = _snapshot()
    r = client.post(url, data={"action": "move_school", "school_id": w.school_a.id, "county_id": w.county_b.id})
    assert r.status_code == 422 and "请选择您管理的县（市、区）" in _text(r)
    assert "西湖" not in _text(r)
    # County B's school through county A's page, or county B's own page: nothing, not even a name.
    for u, data in (
        (url, {"action": "move_school", "school_id": w.school_b.id, "county_id": w.county_a.id}),
        (
            f"/regions/{w.county_b.id}/manage",
            {"action": "move_school", "school_id": w.school_b.id, "county_id": w.county_a.id},
        ),  # fmt: skip
        (f"/regions/{w.county_b.id}/manage", {"action": "close_school", "school_id": w.school_b.id}),
    ):
        r = client.post(u, data=data)
        assert r.status_code == 404 and "西湖中学" not in r.get_data(as_text=True)
    assert _snapshot() == before


def test_a_city_admin_moves_a_school_between_its_counties(world, login_as):
    w, client = world, login_as(world["city_admin"])
    url = f"/regions/{w.county_a.id}/manage"
    page = client.get(url)
    picker = parse(page.get_data(as_text=True))
    assert any(o.attrs.get("value") == str(w.county_b.id) for o in picker.iter("option"))
    r = client.post(url, data={"action": "move_school", "school_id": w.school_a.id, "county_id": w.county_b.id})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(School, w.school_a.id).county_id == w.county_b.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "school.moved"))
    assert entry.actor_id == w["city_admin"].id and entry.target_id == w.school_a.id
    assert entry.detail == {"name": "东湖小学", "from": "东湖区", "to": "西湖区"}


def test_the_form_needs_its_csrf_token(app, world, login_as):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = login_as(world["city_admin"]).post(
            f"/regions/{world.county_a.id}/manage",
            data={"action": "move_school", "school_id": world.school_a.id, "county_id": world.county_b.id},
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert r.status_code == 400
    db.session.expire_all()
    assert db.session.get(School, world.school_a.id).county_id == world.county_a.id


# --- renaming and the roster import --------------------------------------------------------------------


def test_the_roster_finds_a_renamed_and_a_moved_school_by_its_name_and_county(world, login_as):
    from tests.accounts.test_roster import person, post, region_url, xlsx

    w = world
    services.edit_school(w.school_a, "东湖实验小学", "primary", actor=w["county_admin"])
    client = login_as(w["city_admin"])
    r = post(client, region_url(w.county_a), xlsx([person(1, school="东湖小学")]))
    assert r.status_code == 422  # the old name is no longer a school of the county
    r = post(client, region_url(w.county_a), xlsx([person(2, school="东湖实验小学")]))
    assert r.status_code == 200
    services.move_school(w.school_a, w.county_b, actor=w["city_admin"])
    r = post(client, region_url(w.city), xlsx([person(3, school="东湖实验小学", county="西湖区")]))
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.name == "教师3")).school_id == w.school_a.id
    _assert_counters_as_recounted()


# --- closing ---------------------------------------------------------------------------------------------


def test_a_school_with_active_teachers_does_not_close_as_it_is(world, login_as):
    w, client = world, login_as(world["county_admin"])
    before = _snapshot()
    r = client.post(f"/regions/{w.county_a.id}/manage", data={"action": "close_school", "school_id": w.school_a.id})
    assert r.status_code == 422 and "该校仍有在职教师" in _text(r)
    assert _snapshot() == before


def test_closing_into_another_school_moves_the_teachers_and_keeps_everything(world, login_as):
    w, client = world, login_as(world["county_admin"])
    merged = services.add_school(w.county_a, "东湖二小")
    teachers = set(db.session.scalars(select(User.id).where(User.school_id == w.school_a.id)))
    url = f"/regions/{w.county_a.id}/manage"
    page = client.get(url)
    form = next(f for f in parse(page.get_data(as_text=True)).iter("form")
                if f.find("input", name="action", value="close_school") is not None)  # fmt: skip
    assert "confirm-form" in form.attrs.get("class", "") and form.attrs.get("data-confirm")
    r = client.post(url, data={"action": "close_school", "school_id": w.school_a.id, "into_id": merged.id})
    assert r.status_code == 302
    db.session.expire_all()
    closed = db.session.get(School, w.school_a.id)
    assert closed is not None and closed.closed_at is not None  # nothing deleted
    assert set(db.session.scalars(select(User.id).where(User.school_id == merged.id))) == teachers
    assert db.session.get(School, merged.id).teacher_count == len(
        [u for u in teachers if db.session.get(User, u).active]
    )
    _assert_counters_as_recounted()
    # Gone from the lists and pickers; the teachers are the other school's now.
    client.get(url)  # (the page with the message saying it is closed)
    assert "东湖小学" not in _text(client.get(url)).replace("东湖小学语文坊", "")
    assert "东湖小学" not in _text(client.get(f"/regions/{w.county_a.id}"))
    assert access.can(w["county_admin"], "user.manage", db.session.get(User, w["teacher"].id))
    # Its page stays for those who reach it, saying it is closed; nothing more can be done to it.
    assert "已于" in _text(client.get(f"/schools/{closed.id}"))
    r = client.post(url, data={"action": "edit_school", "school_id": closed.id, "name": "复活小学"})
    assert r.status_code == 404
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "school.closed"))
    assert entry.detail == {"name": "东湖小学", "into": "东湖二小", "moved_teachers": len(teachers)}
    assert entry.origin_path == db.session.get(School, merged.id).context.path  # the receiving school sees it


def test_the_roster_import_does_not_match_a_closed_school(world, login_as):
    from tests.accounts.test_roster import person, post, region_url, xlsx

    w = world
    empty = services.add_school(w.county_a, "东湖三小")
    services.close_school(empty, actor=w["county_admin"])
    r = post(login_as(w["county_admin"]), region_url(w.county_a), xlsx([person(1, school="东湖三小")]))
    assert r.status_code == 422
    assert db.session.scalar(select(func.count(User.id)).where(User.school_id == empty.id)) == 0


def test_bad_closings_are_refused(world):
    w = world
    other = services.add_school(w.county_a, "东湖二小")
    services.close_school(other)
    for school, into, error in (
        (w.school_a, w.school_a, "merge_into_itself"),
        (w.school_a, other, "target_closed"),
        (other, None, "school_closed"),
    ):
        before = _snapshot()
        with pytest.raises(services.CommunityError, match=error):
            services.close_school(school, into=into)
        db.session.rollback()
        assert _snapshot() == before
    with pytest.raises(services.CommunityError, match="school_closed"):
        services.move_school(other, w.county_b)
    with pytest.raises(services.CommunityError, match="school_closed"):
        services.edit_school(other, "新名", None)


def test_a_county_admin_cannot_merge_teachers_into_the_next_county(world, login_as):
    w = world
    before = _snapshot()
    r = login_as(w["county_admin"]).post(
        f"/regions/{w.county_a.id}/manage",
        data={"action": "close_school", "school_id": w.school_a.id, "into_id": w.school_b.id},
    )
    assert r.status_code == 422 and "西湖" not in _text(r)
    assert _snapshot() == before


def test_nobody_is_appointed_at_a_closed_school(world, login_as):
    w = world
    empty = services.add_school(w.county_a, "东湖三小")
    services.close_school(empty, actor=w["county_admin"])
    before = _snapshot()
    data = {"action": "appoint", "login": "teacher_a", "role": "school_admin"}
    r = login_as(w["county_admin"]).post(f"/schools/{empty.id}/manage", data=data)
    assert r.status_code == 422 and "该校已关闭" in _text(r)
    assert _snapshot() == before
    assert db.session.scalar(select(RoleAssignment).where(RoleAssignment.context_id == empty.context_id)) is None
