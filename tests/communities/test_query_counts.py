"""Community pages run a fixed number of SQL statements, however many rows they show (no N+1)."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from lms.access.services import assign
from lms.accounts.models import User
from lms.communities import services
from lms.communities.models import Region, School, Workshop
from lms.extensions import db as _db
from tests.factories import make_user
from tests.sql_counting import counting

# A page showing more rows must not cost more statements; this bound catches a page that grows a lot.
# Issue 4 added fixed-cost panels per community page (briefs; research writing or feed; the
# workshop's activities): one statement each, whatever the number of rows, hence 20. The personal
# space then gained courses, study progress, recommendations, homework and live panels (21 on /me,
# every statement a different panel's): 22.
MAX_STATEMENTS = 22


def statements_for(client, url: str) -> int:
    assert client.get(url).status_code == 200, url  # warm-up: first-request work is not what we measure
    from lms.search import services as search

    search.flush()  # the search writer thread reads documents queued by the demo: not this page's statements
    with counting() as statements:
        resp = client.get(url)
    assert resp.status_code == 200, url
    return len(statements)


def _county(city: Region, name: str, n_schools: int, per_school: int) -> tuple[Region, list[School], list[User]]:
    county = services.create_region(name, "county", city)
    schools = [services.create_school(f"{name}第{i + 1}小学", county, stage="primary") for i in range(n_schools)]
    _db.session.flush()
    teachers = [
        make_user(None, f"韩老师{i}{j}", school, subject="math", stage="primary")
        for i, school in enumerate(schools)
        for j in range(per_school)
    ]
    return county, schools, teachers


@pytest.fixture
def pages(app, db):
    """The demo province (1,000 teachers) plus small and large units built side by side for comparison."""
    result = app.test_cli_runner().invoke(args=["lms", "demo", "--scale", "1000", "--seed", "11"])
    assert result.exit_code == 0, result.output
    by_name = {u.username: u for u in db.session.scalars(select(User).where(User.username.like("demo_%")))}
    province = db.session.scalar(select(Region).where(Region.level == "province"))
    city = db.session.scalar(select(Region).where(Region.level == "city").order_by(Region.id))

    small_county, small_schools, small_teachers = _county(city, "小县", 2, 3)
    big_county, big_schools, big_teachers = _county(city, "大县", 8, 4)
    small_ws = services.create_workshop("小县数学工作坊", small_county, subject="math", stage="primary")
    big_ws = [services.create_workshop(f"大县数学工作坊{i}", big_county, subject="math") for i in range(4)]
    _db.session.flush()
    small_group = services.create_group(small_ws, "第一组")
    big_groups = [services.create_group(big_ws[0], f"第{i}组") for i in range(6)]
    _db.session.flush()
    for t in small_teachers[:5]:
        services.add_member(small_ws, t, small_group)
    for i, t in enumerate(big_teachers):
        services.add_member(big_ws[0], t, big_groups[i % 6])
    _db.session.flush()
    services.set_group_leader(small_group, small_teachers[0])
    for i, g in enumerate(big_groups):
        services.set_group_leader(g, big_teachers[i])

    # A second province with a single city and nothing at province level.
    lone = services.create_region("孤省", "province")
    lone_city = services.create_region("孤市", "city", lone)
    _county(lone_city, "孤县", 1, 2)

    # /me: one membership, one admin role and one hosted workshop, against six memberships and seven roles.
    me_small = make_user("me_small", "少老师", small_schools[0], subject="math")
    services.add_member(small_ws, me_small, small_group)
    me_big = make_user("me_big", "多老师", big_schools[0], subject="math")
    _db.session.flush()
    assign(me_small, "school_admin", small_schools[0].context)
    assign(me_small, "host", big_ws[3].context)
    for ws in big_ws:
        services.add_member(ws, me_big, big_groups[0] if ws is big_ws[0] else None)
    services.add_member(small_ws, me_big, small_group)
    for s in big_schools[:3]:
        assign(me_big, "school_admin", s.context)
    assign(me_big, "county_admin", big_county.context)
    assign(me_big, "host", big_ws[1].context)
    assign(me_big, "host", big_ws[2].context)
    services.refresh_counters()
    _db.session.commit()
    demo_ws = db.session.scalar(select(Workshop).where(Workshop.kind == "class").order_by(Workshop.id))
    return SimpleNamespace(
        users=by_name, province=province, lone=lone, small_county=small_county, big_county=big_county,
        small_school=small_schools[0], big_school=by_name["demo_teacher"].school, small_ws=small_ws,
        big_ws=demo_ws, me_small=me_small, me_big=me_big,
    )  # fmt: skip


def compare(client, small_url: str, big_url: str) -> tuple[int, int]:
    small, big = statements_for(client, small_url), statements_for(client, big_url)
    assert big == small, f"{big_url} runs {big} statements, {small_url} {small}: a query per row?"
    assert big <= MAX_STATEMENTS, f"{big_url}: {big} statements"
    return small, big


def test_personal_space(pages, login_as):
    small = statements_for(login_as(pages.me_small), "/me")
    big_client = login_as(pages.me_big)
    html = big_client.get("/me").get_data(as_text=True)
    assert html.count("/workshops/") >= 6 and "大县" in html
    big = statements_for(big_client, "/me")
    assert big == small, f"/me: {big} statements with many memberships and roles, {small} with one"
    assert big <= MAX_STATEMENTS


def test_workshop_page(pages, login_as):
    client = login_as(pages.users["demo_admin"])
    assert pages.small_ws.member_count == 7 and pages.big_ws.member_count >= 40
    big_html = client.get(f"/workshops/{pages.big_ws.id}").get_data(as_text=True)
    assert big_html.count("<tr>") >= 20  # a full page of members
    compare(client, f"/workshops/{pages.small_ws.id}", f"/workshops/{pages.big_ws.id}")


def test_school_page(pages, login_as):
    client = login_as(pages.users["demo_admin"])
    assert pages.small_school.teacher_count < 5 and pages.big_school.teacher_count > 20
    compare(client, f"/schools/{pages.small_school.id}", f"/schools/{pages.big_school.id}")


def test_county_page(pages, login_as):
    client = login_as(pages.users["demo_admin"])
    assert pages.small_county.school_count == 2 and pages.big_county.school_count == 8
    compare(client, f"/regions/{pages.small_county.id}", f"/regions/{pages.big_county.id}")


def test_province_page(pages, login_as):
    client = login_as(pages.users["demo_admin"])
    assert pages.province.teacher_count > 1000 and pages.lone.teacher_count == 2
    compare(client, f"/regions/{pages.lone.id}", f"/regions/{pages.province.id}")


def test_pages_for_the_people_who_use_them(pages, login_as):
    """The same pages seen by a county admin and a teacher stay within the bound too."""
    county_admin = login_as(pages.users["demo_county_admin"])
    teacher = login_as(pages.users["demo_teacher"])
    county = pages.users["demo_teacher"].school.county
    for client, url in (
        (county_admin, f"/regions/{county.id}"),
        (county_admin, f"/schools/{pages.big_school.id}"),
        (teacher, "/me"),
        (teacher, f"/workshops/{pages.big_ws.id}"),
        (teacher, f"/regions/{pages.province.id}"),
    ):
        assert statements_for(client, url) <= MAX_STATEMENTS, url


def test_healthz_is_bare(client):
    """The benchmark's baseline: JSON, no session cookie, not a single SQL statement."""
    with counting() as statements:
        resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert statements == [] and "Set-Cookie" not in resp.headers


def test_administration_pages(pages, login_as):
    """Issue 2: the administration pages list sub-units, roles, search results and accounts in a
    fixed number of statements."""
    # Someone holds a role at each small unit too: an empty list skips a statement, which is not a saving.
    assign(pages.me_small, "supervisor", pages.small_county.context)
    assign(pages.me_small, "supervisor", pages.lone.context)
    _db.session.commit()
    admin = login_as(pages.users["demo_admin"])
    compare(admin, f"/regions/{pages.small_county.id}/manage", f"/regions/{pages.big_county.id}/manage")
    compare(admin, f"/regions/{pages.lone.id}/manage", f"/regions/{pages.province.id}/manage")
    compare(admin, f"/workshops/{pages.small_ws.id}/roles", f"/workshops/{pages.big_ws.id}/roles")
    compare(
        admin, f"/schools/{pages.small_school.id}/manage?who=少老师", f"/schools/{pages.big_school.id}/manage?who=老师"
    )
    compare(admin, f"/manage/people/{pages.me_small.id}", f"/manage/people/{pages.me_big.id}")
    compare(admin, "/manage/people?q=少老师", "/manage/people?q=老师")
    county_admin = login_as(pages.users["demo_county_admin"])
    assert statements_for(county_admin, "/manage") <= MAX_STATEMENTS
    assert statements_for(county_admin, "/manage/people") <= MAX_STATEMENTS
