"""Learning statistics of regions and schools: the figures, the roll-up, the daily snapshot, the
pages, export and API, and who may see them."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from lms.communities import services as community
from lms.courses.watch_models import WatchState
from lms.extensions import db
from lms.stats import services
from lms.stats.models import LearningSnapshot
from tests.factories import make_user
from tests.html_checks import live_markup
from tests.sql_counting import counting

FULL = 1260 * 60
NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


def _study(user, seconds):
    db.session.add(WatchState(user_id=user.id, seconds=seconds, position=0.0, playing=False))


def _signed_in(user, seen=None):
    user.last_login_at = seen or NOW - timedelta(days=20)
    user.last_seen_at = seen or NOW - timedelta(days=20)


@pytest.fixture
def studied(world):
    """school_a (6 teachers): teacher full time and seen today, member 10 minutes; school_b (4):
    teacher_b 30 s. Signed in: those three and leader (who has not studied)."""
    _study(world["teacher"], FULL + 100)
    _study(world["member"], 600)
    _study(world["teacher_b"], 30)
    _signed_in(world["teacher"], NOW - timedelta(hours=2))
    for role in ("member", "teacher_b", "leader"):
        _signed_in(world[role])
    db.session.commit()
    return world


def test_a_county_by_school_and_a_city_by_county(app, studied):
    w = studied
    with app.test_request_context():
        county = services.region_report(w.county_a, now=NOW)
    assert county["child_kind"] == "school"
    assert [r["unit"].name for r in county["rows"]] == ["东湖小学"]
    f = county["total"]
    assert (f.teachers, f.signed_in, f.studying, f.completed, f.active_week) == (6, 3, 2, 1, 1)
    assert f.seconds == FULL + 100 + 600
    assert (f.participation, f.learning, f.completion) == (50.0, 33.3, 16.7)
    assert f.avg_minutes == int((FULL + 700) / 60 / 6)

    with app.test_request_context():
        city = services.region_report(w.city, now=NOW)
    assert city["child_kind"] == "region"
    by = {r["unit"].name: r["figures"] for r in city["rows"]}
    assert (by["东湖区"].teachers, by["西湖区"].teachers) == (6, 4)
    assert (by["东湖区"].studying, by["西湖区"].studying) == (2, 1)
    assert city["total"].teachers == 10 and city["total"].signed_in == 4
    with app.test_request_context():
        province = services.region_report(w.province, now=NOW)
    assert [r["unit"].name for r in province["rows"]] == ["南昌市"]
    assert province["total"].teachers == 10


def test_inactive_accounts_and_people_without_a_school_do_not_count(app, studied):
    w = studied
    w["member"].active = False
    db.session.commit()
    f = services.totals(w.school_a)
    assert (f.teachers, f.studying, f.seconds) == (5, 1, FULL + 100)
    # admins without a school (county_admin, expert…) are not teachers of any unit
    assert services.totals(w.province).teachers == 9


def test_a_school_lists_its_teachers_least_studied_first(app, studied):
    w = studied
    people = services.school_people(w.school_a, now=NOW)
    names = [p["name"] for p in people.items]
    assert names[-1] == "张老师" and names[-2] == "李老师"
    assert people.total == 6
    top = people.items[-1]
    assert top["score"] == 35.0 and top["active_week"] and top["signed_in"]
    assert {p["name"] for p in services.school_people(w.school_a, "not_studying").items} == {
        "王组长", "孙坊主", "郑培训者", "冯校管"}  # fmt: skip
    assert {p["name"] for p in services.school_people(w.school_a, "not_signed_in").items} == {
        "孙坊主", "郑培训者", "冯校管"}  # fmt: skip
    assert "张老师" not in {p["name"] for p in services.school_people(w.school_a, "not_completed").items}
    page2 = services.school_people(w.school_a, page=2, per_page=4)
    assert (page2.page, len(page2.items), page2.pages) == (2, 2, 2)
    # a page past the end shows the last one
    assert services.school_people(w.school_a, page=9, per_page=4).page == 2


def test_the_daily_snapshot_rolls_up_and_replaces_the_day(app, studied):
    w = studied
    yesterday = NOW - timedelta(days=1)
    with app.app_context():
        written = services.take_snapshot(now=yesterday)
    # every school and every region, one row each
    assert written == 2 + 4
    rows = {(r.unit_kind, r.unit_id): r for r in db.session.scalars(select(LearningSnapshot))}
    assert rows[("region", w.province.id)].teachers == 10
    assert rows[("region", w.county_a.id)].studying == 2
    assert rows[("school", w.school_b.id)].studying == 1

    # another teacher starts today; today's snapshot, taken twice, leaves one row per unit
    _study(w["leader"], 120)
    db.session.commit()
    with app.app_context():
        services.take_snapshot(now=NOW)
        services.take_snapshot(now=NOW)
    assert db.session.scalar(select(func.count()).select_from(LearningSnapshot)) == 12
    with app.test_request_context():
        report = services.region_report(w.county_a, now=NOW)
    assert report["rows"][0]["new_learners"] == 1  # 3 studying today, 2 in yesterday's snapshot
    assert [d["studying"] for d in report["trend"]] == [2, 3]
    with app.test_request_context():
        city = services.region_report(w.city, now=NOW)
    assert {r["unit"].name: r["new_learners"] for r in city["rows"]} == {"东湖区": 1, "西湖区": 0}


def test_a_closed_or_new_unit_without_history_shows_no_change(app, studied):
    w = studied
    new_school = community.create_school("新建小学", w.county_a)
    make_user("new_t", "新老师", new_school)
    db.session.commit()
    with app.test_request_context():
        report = services.region_report(w.county_a, now=NOW)
    row = next(r for r in report["rows"] if r["unit"].id == new_school.id)
    assert row["new_learners"] is None and row["figures"].teachers == 1


def test_queries_do_not_grow_with_schools_or_teachers(app, login_as, studied):
    w = studied
    client = login_as(w["county_admin"])
    county, school = f"/regions/{w.county_a.id}/stats", f"/schools/{w.school_a.id}/stats"
    client.get(county)
    with counting() as few:
        assert client.get(county).status_code == 200
    for i in range(6):
        new = community.create_school(f"第{i}小学", w.county_a)
        for j in range(5):
            _study(make_user(f"t{i}_{j}", f"老师{i}{j}", new), 60 * (i + j))
    db.session.commit()
    with counting() as many:
        assert client.get(county).status_code == 200
    assert len(many) == len(few)
    client.get(school)
    with counting() as school_page:
        assert client.get(school).status_code == 200
    for j in range(15):
        _study(make_user(f"more{j}", f"多{j}", w.school_a), 10)
    db.session.commit()
    with counting() as school_more:
        assert client.get(school).status_code == 200
    assert len(school_more) == len(school_page)


@pytest.mark.parametrize(
    ("role", "unit", "status"),
    [
        ("county_admin", "county_a", 200),
        ("county_admin", "school_a", 200),
        ("county_admin", "county_b", 404),  # the next county: not even there
        ("county_admin", "school_b", 404),
        ("county_admin", "city", 403),  # sees the city's page, not its statistics
        ("city_admin", "city", 200),
        ("city_admin", "county_b", 200),
        ("province_admin", "province", 200),
        ("supervisor", "county_a", 200),  # read-only inspection of the region
        ("supervisor", "county_b", 404),
        ("school_admin", "school_a", 200),
        ("school_admin", "school_b", 404),
        ("school_admin", "county_a", 403),
        ("school_trainer", "school_a", 200),
        ("teacher", "school_a", 403),
        ("teacher", "county_a", 403),
        ("teacher_b", "school_a", 404),
        ("host", "school_a", 403),  # a host sees their workshop's progress, not the school's
        ("outsider", "county_a", 404),
        ("site_admin", "province", 200),
    ],
)
def test_who_may_see_the_statistics(app, login_as, studied, role, unit, status):
    w = studied
    obj = getattr(w, unit)
    kind = "schools" if unit.startswith("school") else "regions"
    client = login_as(w[role])
    for path in (f"/{kind}/{obj.id}/stats", f"/{kind}/{obj.id}/stats.xlsx", f"/api/v1/{kind}/{obj.id}/stats"):
        resp = client.get(path)
        assert resp.status_code == status, path
        if status != 200:
            assert "李老师" not in resp.get_data(as_text=True)


def test_the_panel_shows_only_to_those_who_may_see_the_statistics(app, login_as, studied):
    w = studied
    page = login_as(w["county_admin"]).get(f"/regions/{w.county_a.id}").get_data(as_text=True)
    assert 'id="learning-figures"' in page and f"/regions/{w.county_a.id}/stats" in page
    page = login_as(w["teacher"]).get(f"/regions/{w.county_a.id}").get_data(as_text=True)
    assert 'id="learning-figures"' not in page
    page = login_as(w["school_admin"]).get(f"/schools/{w.school_a.id}").get_data(as_text=True)
    assert 'id="learning-figures"' in page and "33.3%" in page


def test_the_pages_show_the_figures(app, login_as, studied):
    w = studied
    with app.app_context():
        services.take_snapshot(now=datetime.now(UTC) - timedelta(days=1))
        services.take_snapshot()
    client = login_as(w["city_admin"])
    html = client.get(f"/regions/{w.city.id}/stats").get_data(as_text=True)
    for text in ("东湖区", "西湖区", "40%", 'id="stats-trend"', "data-stats-chart"):
        assert text in html, text
    html = client.get(f"/schools/{w.school_a.id}/stats?show=not_signed_in").get_data(as_text=True)
    assert "冯校管" in html and "张老师" not in html
    # a filter that is not one of ours shows everyone, never an error
    assert client.get(f"/schools/{w.school_a.id}/stats?show=%3Cscript%3E&page=x").status_code == 200


def test_the_export_holds_every_unit_and_the_total(app, login_as, studied):
    w = studied
    resp = login_as(w["city_admin"]).get(f"/regions/{w.city.id}/stats.xlsx")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert "stats-region" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["东湖区", "西湖区", rows[-1][0]]
    assert rows[-1][1] == 10  # teachers in all
    resp = login_as(w["school_admin"]).get(f"/schools/{w.school_a.id}/stats.xlsx")
    sheet = load_workbook(io.BytesIO(resp.data)).worksheets[1]
    names = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(names) == 6 and names[-1] == "张老师"


def test_a_teacher_name_that_looks_like_a_formula_stays_text_in_the_export(app, login_as, studied):
    w = studied
    make_user("evil", '=HYPERLINK("http://x")', w.school_a)
    db.session.commit()
    resp = login_as(w["school_admin"]).get(f"/schools/{w.school_a.id}/stats.xlsx")
    sheet = load_workbook(io.BytesIO(resp.data)).worksheets[1]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value and str(c.value).startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_the_api_matches_the_pages(app, login_as, studied):
    w = studied
    client = login_as(w["city_admin"])
    body = client.get(f"/api/v1/regions/{w.city.id}/stats").get_json()
    assert body["unit"] == {"id": w.city.id, "name": "南昌市", "kind": "region"}
    assert body["total"]["teachers"] == 10 and body["total"]["participation"] == 40.0
    assert {u["unit"]["name"]: u["figures"]["studying"] for u in body["units"]} == {"东湖区": 2, "西湖区": 1}
    body = client.get(f"/api/v1/schools/{w.school_a.id}/stats?show=not_completed&per_page=2").get_json()
    assert body["people"]["total"] == 5 and len(body["people"]["items"]) == 2
    assert body["people"]["items"][0]["minutes"] == 0
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/regions/{region_id}/stats" in spec["paths"] and "LearningFigures" in spec["components"]["schemas"]


def test_xss_in_unit_and_teacher_names_is_inert(app, login_as, studied, xss_payloads):
    w = studied
    for i, payload in enumerate(xss_payloads):
        make_user(f"xss{i}", payload[:64], w.school_a)
    w.school_a.name = xss_payloads[0][:100]
    db.session.commit()
    client = login_as(w["county_admin"])
    pages = [f"/regions/{w.county_a.id}/stats", f"/regions/{w.county_a.id}"]
    pages += [f"/schools/{w.school_a.id}/stats?page={n}" for n in range(1, len(xss_payloads) // 20 + 3)]
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert live_markup(resp.get_data(as_text=True)) == [], path


def test_a_learning_bulletin_is_drafted_from_the_figures(app, login_as, studied):
    w = studied
    client = login_as(w["city_admin"])
    page = client.get(f"/regions/{w.city.id}/stats").get_data(as_text=True)
    assert 'id="stats-bulletin"' in page
    form = client.get(f"/regions/{w.city.id}/briefs/new?draft=stats").get_data(as_text=True)
    assert "南昌市" in form and "东湖区" in form and "西湖区" in form and "&lt;ol&gt;&lt;li&gt;" in form
    # published as any brief: the list survives sanitizing
    from lms.activities import briefs

    with app.test_request_context():
        draft = services.bulletin(w.city)
    item = briefs.post(w["city_admin"], w.city.context, draft["title"], draft["body"])
    assert "<ol><li>东湖区" in item.body_html and "<p>&lt;" not in item.body_html
    # a school's bulletin has no list, only the sentence
    with app.test_request_context():
        assert "<ol>" not in services.bulletin(w.school_a)["body"]


def test_no_bulletin_draft_without_the_statistics(app, login_as, studied):
    w = studied
    # a host composes briefs in their workshop, never a draft from statistics it may not read
    resp = login_as(w["host"]).get(f"/workshops/{w.workshop_a.id}/briefs/new?draft=stats")
    assert resp.status_code == 200 and "东湖区" not in resp.get_data(as_text=True)
    # the school trainer may post briefs at the school and read its statistics
    html = login_as(w["school_trainer"]).get(f"/schools/{w.school_a.id}/briefs/new?draft=stats").get_data(as_text=True)
    assert "33.3%" in html


def test_figures_are_kept_a_minute_per_unit(app, studied):
    w = studied
    app.config["STATS_CACHE_SECONDS"] = 60
    try:
        with app.test_request_context():
            services.forget()
            assert services.totals(w.county_a).studying == 2
            assert services.totals(w.school_b).studying == 1
            _study(w["leader"], 50)
            db.session.commit()
            # kept: the county's figures are a minute old at most; another unit has its own entry
            assert services.totals(w.county_a).studying == 2
            assert services.totals(w.school_a).studying == 3
            assert services.region_report(w.county_a)["total"].studying == 2
            # a report as of another time is computed afresh
            assert services.region_report(w.county_a, now=NOW)["total"].studying == 3
            services.take_snapshot()  # a snapshot has just computed everything: kept figures go
            assert services.totals(w.county_a).studying == 3
    finally:
        app.config["STATS_CACHE_SECONDS"] = 0
        with app.app_context():
            services.forget()
