"""`flask lms demo`: a consistent demo province, idempotent with --if-empty, usable logins."""

import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from lms.access.models import Context, RoleAssignment
from lms.accounts.models import User
from lms.accounts.services import PHONE_RE
from lms.activities.models import Announcement
from lms.communities import demo
from lms.communities.models import Region, School, StudyGroup, Workshop, WorkshopMembership
from lms.core import idcard

SCALE = 300


def run_demo(app, *args):
    return app.test_cli_runner().invoke(args=["lms", "demo", *args])


@pytest.fixture
def demo_output(app, db):
    result = run_demo(app, "--scale", str(SCALE), "--seed", "7")
    assert result.exit_code == 0, result.output
    return result.output


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_plan_hits_the_documented_anchors():
    assert demo.Plan.for_scale(3000) == demo.Plan(3000, 3, 8, 60, 40, 4)
    p = demo.Plan.for_scale(11140)  # the 004 project: 19 counties, 136 workshops
    assert (p.counties, p.workshops) == (19, 136)
    big = demo.Plan.for_scale(100_000)
    assert big.schools == 2000 and 900 < big.workshops < 1200 and big.counties > 50


def test_counts_match_the_plan(db, demo_output):
    plan = demo.Plan.for_scale(SCALE)
    assert count(db, Region, Region.level == "province") == 1
    assert count(db, Region, Region.level == "city") == plan.cities
    assert count(db, Region, Region.level == "county") == plan.counties
    assert count(db, School) == plan.schools
    assert count(db, Workshop) == plan.workshops
    assert count(db, Workshop, Workshop.kind == "subject") == plan.subject_workshops
    assert count(db, User, User.school_id.is_not(None)) == SCALE
    assert count(db, Announcement) >= 4
    assert f"{SCALE} teachers" in demo_output


def test_hierarchy_is_consistent(db, demo_output):
    regions = {r.id: r for r in db.session.scalars(select(Region))}
    for r in regions.values():
        parent = regions.get(r.parent_id)
        expected = {"province": None, "city": "province", "county": "city"}[r.level]
        assert (parent.level if parent else None) == expected
        if parent:
            assert r.context.parent_id == parent.context_id
            assert r.context.path.startswith(parent.context.path)
            assert r.code.startswith(parent.code[: 2 if parent.level == "province" else 4])
    schools = {s.id: s for s in db.session.scalars(select(School))}
    for s in schools.values():
        assert s.county.level == "county"
        assert s.context.parent_id == s.county.context_id
        assert s.stage in demo.STAGE_SUBJECTS
    for ws in db.session.scalars(select(Workshop)):
        assert ws.context.path.startswith(ws.region.context.path)
        assert ws.region.level == ("province" if ws.kind == "subject" else "county")

    teachers = list(db.session.scalars(select(User).where(User.school_id.is_not(None))))
    for t in teachers:
        school = schools[t.school_id]
        assert t.stage == school.stage
        assert t.subject in demo.STAGE_SUBJECTS[school.stage]
        assert idcard.validate(t.id_card) == t.id_card
        assert t.id_card.startswith(school.county.code)  # region code consistent per county
        assert idcard.gender(t.id_card) == t.gender
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", t.name)
    everyone = list(db.session.scalars(select(User)))
    assert all(PHONE_RE.match(u.phone) and u.phone.startswith("1990") for u in everyone)
    assert len({u.phone for u in everyone}) == len(everyone)
    assert len({u.id_card for u in everyone}) == len(everyone)
    # Realistic names: many surnames, few exact repeats.
    assert len({t.name[0] for t in teachers}) > 30
    assert Counter(t.name for t in teachers).most_common(1)[0][1] < 8


def test_counters_are_maintained(db, demo_output):
    for ws in db.session.scalars(select(Workshop)):
        assert ws.member_count == count(db, WorkshopMembership, WorkshopMembership.workshop_id == ws.id)
        assert ws.group_count == count(db, StudyGroup, StudyGroup.workshop_id == ws.id)
    for s in db.session.scalars(select(School)):
        assert s.teacher_count == count(db, User, User.school_id == s.id)
    province = db.session.scalar(select(Region).where(Region.level == "province"))
    assert province.teacher_count == SCALE
    assert province.school_count == demo.Plan.for_scale(SCALE).schools


def test_every_workshop_has_a_host_and_led_groups(db, demo_output):
    for ws in db.session.scalars(select(Workshop)):
        hosts = list(
            db.session.scalars(
                select(RoleAssignment.user_id).where(
                    RoleAssignment.role == "host", RoleAssignment.context_id == ws.context_id
                )
            )
        )
        assert len(hosts) == 1, ws.name
        member_ids = {
            m.user_id: m.group_id
            for m in db.session.scalars(select(WorkshopMembership).where(WorkshopMembership.workshop_id == ws.id))
        }
        assert hosts[0] not in member_ids
        groups = list(db.session.scalars(select(StudyGroup).where(StudyGroup.workshop_id == ws.id)))
        assert 4 <= len(groups) <= 8, ws.name
        for g in groups:
            assert g.leader_id is not None
            assert member_ids.get(g.leader_id) == g.id  # the leader is a member of that very group
        assert all(gid is not None for gid in member_ids.values())
        if ws.kind == "class":  # a class workshop gathers teachers of its own county
            county_ids = set(
                db.session.scalars(
                    select(User.id).join(School, User.school_id == School.id).where(School.county_id == ws.region_id)
                )
            )
            assert set(member_ids) <= county_ids


def test_roles_cover_every_level(db, demo_output):
    roles = Counter(db.session.scalars(select(RoleAssignment.role)))
    plan = demo.Plan.for_scale(SCALE)
    assert roles["host"] == plan.workshops
    assert roles["school_admin"] == plan.schools and roles["school_trainer"] == plan.schools
    assert roles["county_admin"] == plan.counties and roles["city_admin"] == plan.cities
    for role in ("province_admin", "supervisor", "project_manager", "site_admin", "expert"):
        assert roles[role] >= 1, role
    site = db.session.scalar(select(Context).where(Context.kind == "site"))
    admin = db.session.scalar(select(User).where(User.username == "demo_admin"))
    assert db.session.scalar(select(RoleAssignment.context_id).where(RoleAssignment.user_id == admin.id)) == site.id


def test_demo_teacher_has_a_full_personal_space(db, demo_output):
    teacher = db.session.scalar(select(User).where(User.username == "demo_teacher"))
    assert teacher.school is not None
    rows = db.session.execute(
        select(Workshop.kind, WorkshopMembership.group_id)
        .join(Workshop, Workshop.id == WorkshopMembership.workshop_id)
        .where(WorkshopMembership.user_id == teacher.id)
    ).all()
    assert {"class", "subject"} <= {kind for kind, _ in rows}
    assert all(gid is not None for _, gid in rows)


def test_same_seed_same_province(app, db, demo_output):
    first = sorted(db.session.execute(select(User.username, User.name, User.id_card)).all())
    db.session.remove()
    from tests.conftest import _clear

    _clear(app)
    again = run_demo(app, "--scale", str(SCALE), "--seed", "7")
    assert again.exit_code == 0, again.output
    assert sorted(db.session.execute(select(User.username, User.name, User.id_card)).all()) == first


def test_if_empty_does_nothing_the_second_time(app, db, demo_output):
    before = count(db, User), count(db, WorkshopMembership), count(db, RoleAssignment)
    db.session.remove()
    again = run_demo(app, "--if-empty")
    assert again.exit_code == 0, again.output
    assert "not loaded" in again.output
    assert (count(db, User), count(db, WorkshopMembership), count(db, RoleAssignment)) == before
    db.session.remove()
    refused = run_demo(app)  # without --if-empty a non-empty database is refused, not doubled
    assert refused.exit_code != 0
    assert count(db, User) == before[0]


def test_printed_logins_work(app, db, demo_output):
    password = re.search(r"password for every demo account: (\S+)\)", demo_output).group(1)
    assert password == demo.DEFAULT_PASSWORD
    usernames = re.findall(r"^\s+(demo_\w+)\s", demo_output, flags=re.M)
    expected = {"demo_teacher", "demo_host", "demo_school_admin", "demo_county_admin", "demo_city_admin",
                "demo_province_admin", "demo_expert", "demo_supervisor", "demo_admin"}  # fmt: skip
    assert expected <= set(usernames)
    for username in usernames:
        client = app.test_client()
        resp = client.post("/login", data={"identifier": username, "password": password})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/me"), username
        assert client.get("/me").status_code == 200
    bad = app.test_client().post("/login", data={"identifier": "demo_teacher", "password": "wrong-Password1"})
    assert bad.status_code == 200  # the form again, not a redirect


def test_custom_password_and_weak_password(app, db):
    weak = run_demo(app, "--scale", "60", "--password", "short")
    assert weak.exit_code != 0 and count(db, User) == 0
    db.session.remove()
    ok = run_demo(app, "--scale", "60", "--password", "Another2026pw")
    assert ok.exit_code == 0, ok.output
    client = app.test_client()
    resp = client.post("/login", data={"identifier": "demo_host", "password": "Another2026pw"})
    assert resp.status_code == 302
