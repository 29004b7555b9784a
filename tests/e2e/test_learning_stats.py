"""A county admin follows learning progress: from the county page's figures to the report, to a
school's teachers least studied first, on a phone and on a desktop."""

import re

from playwright.sync_api import expect

from lms.courses.watch_models import WatchState
from lms.extensions import db
from tests.e2e.conftest import login, no_horizontal_scroll, snap


def test_county_admin_follows_learning_progress(page, e2e_world):
    w = e2e_world
    db.session.add(WatchState(user_id=w["member"].id, seconds=1260 * 60, position=0.0, playing=False))
    db.session.commit()
    login(page, "cadmin_a")
    page.goto(f"/regions/{w.county_a.id}")
    panel = page.locator("#learning-figures")
    expect(panel).to_contain_text("学情概览")
    expect(panel).to_contain_text("学习率")
    panel.get_by_role("link", name="完整报告").click()
    expect(page).to_have_title(re.compile("学情统计"))
    expect(page.locator("main h1")).to_contain_text("东湖区学情统计")
    units = page.locator("#stats-units")
    expect(units).to_contain_text("东湖小学")
    expect(page.locator("#stats-total")).to_contain_text("学时达标率")
    assert no_horizontal_scroll(page)  # the table scrolls inside its card, never the page
    snap(page, "county-stats")

    units.get_by_role("link", name="东湖小学").click()
    expect(page.locator("main h1")).to_contain_text("东湖小学学情统计")
    people = page.locator("#stats-people")
    expect(people).not_to_contain_text("李老师")  # least studied first: the one who studied is last
    people.locator("a[rel=next]").click()
    expect(people.locator("li.list-group-item").last).to_contain_text("李老师")
    people.get_by_role("link", name="尚未学习").click()
    expect(page).to_have_url(re.compile(r"show=not_studying"))
    expect(people).not_to_contain_text("李老师")
    assert no_horizontal_scroll(page)
    snap(page, "school-stats")


def test_a_teacher_sees_no_figures(page, e2e_world):
    w = e2e_world
    login(page, "member_a")
    page.goto(f"/regions/{w.county_a.id}")
    expect(page.locator("main h1")).to_contain_text("东湖区")
    expect(page.locator("#learning-figures")).to_have_count(0)
    assert page.request.get(f"/schools/{w.school_a.id}/stats").status == 403
