"""The main pages of each role as a phone and a desktop show them: nothing wider than the screen,
touch-sized controls on a phone, no script or CSP errors (the `page` fixture fails on any), and the
English UI's counts and tabs."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from lms.activities import workshop_services as activities
from lms.communities import services as community
from lms.core.db import utcnow
from lms.extensions import db
from lms.projects import services as projects
from tests.e2e.conftest import EXTRA_TEACHERS, login, no_horizontal_scroll, snap
from tests.homework.conftest import hw  # noqa: F401 (a fixture)

# "1 members", "1 hours"…: an English count that ignored its number.
SINGULAR_AS_PLURAL = re.compile(r"(?<![\d.])1 (members|posts|hours|lessons|answers|questions|downloads|resources)\b")

# Controls a thumb must hit on a phone. Compact ones (.p-0/.py-0: header buttons with a larger
# invisible hit area, star ratings) and links inside text are not counted.
SMALL_CONTROLS = """() => [...document.querySelectorAll(
    'main .btn, main .form-control, main .form-select, main .page-link, footer .btn')]
  .filter(e => e.offsetParent !== null && !e.matches('.p-0, .py-0, [type=hidden]'))
  .map(e => [e.getBoundingClientRect().height, (e.innerText || e.name || e.className).trim().slice(0, 30)])
  .filter(([h]) => h < 39.5)"""


def _project(world):
    facts = projects.check_facts(
        "东湖区信息技术应用能力提升培训", mode="online", hours_text="网络研修50学时", online_hours="50",
        onsite_days=None, places=100, institution="东湖区教师发展中心", target_group="全体在职教师",
        starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30), description="第一阶段：报名\n第二阶段：网络研修",
    )  # fmt: skip
    project = projects.create(world["county_admin"], world.county_a, facts)
    db.session.commit()
    projects.enrol(world["county_admin"], project, [world["member"]])
    return project


def _discussion(world):
    now = utcnow()
    activity = activities.create_activity(world["host"], world.workshop_a, kind="discussion", title="主题研讨",
                                          description="谈谈你的做法。", opens_at=now - timedelta(days=1),
                                          closes_at=now + timedelta(days=7))  # fmt: skip
    activities.create_post(world["leader"], activity, "我先抛砖引玉：课堂上用随机点名工具，学生参与度明显提高了。")
    db.session.commit()
    return activity


def _pages(w, project, activity):
    wa, sa, ca = w.workshop_a.id, w.school_a.id, w.county_a.id
    return {
        "member_a": ["/me", "/courses/", f"/workshops/{wa}", f"/activities/{activity.id}", "/me/writing",
                     "/me/writing/new", "/resources", "/search?q=数学", "/notifications", "/account/profile",
                     "/account/password", "/live", "/live/qa", "/projects", f"/projects/{project.id}"],
        "host_a": [f"/workshops/{wa}/manage", f"/workshops/{wa}/activities/new", f"/workshops/{wa}/stats",
                   f"/activities/{activity.id}/stats", f"/workshops/{wa}/briefs/new", f"/workshops/{wa}/homework"],
        "sadmin_a": ["/manage", f"/schools/{sa}", f"/schools/{sa}/manage", "/manage/people",
                     f"/schools/{sa}/roster/import"],
        "cadmin_a": [f"/regions/{ca}", f"/regions/{ca}/manage", f"/regions/{ca}/roster/import", "/projects/new",
                     f"/projects/{project.id}", f"/projects/{project.id}/enrolment"],
        "expert": ["/live/new", "/live/rota", "/live/qa"],
    }  # fmt: skip


@pytest.mark.parametrize("username", ["member_a", "host_a", "sadmin_a", "cadmin_a", "expert"])
def test_main_pages_fit_the_screen_and_the_thumb(page, e2e_world, username):
    project, activity = _project(e2e_world), _discussion(e2e_world)
    login(page, username)
    for url in _pages(e2e_world, project, activity)[username]:
        response = page.goto(url)
        assert response.ok, (url, response.status)
        assert no_horizontal_scroll(page), (url, page.evaluate("document.documentElement.scrollWidth"))
        if page.device == "phone":
            assert page.evaluate(SMALL_CONTROLS) == [], url
        snap(page, f"{username}-{url.strip('/').replace('/', '-').replace('?', '-') or 'home'}")


def test_project_description_keeps_its_lines_without_a_style_attribute(page, e2e_world):
    project = _project(e2e_world)
    login(page, "member_a")
    page.goto(f"/projects/{project.id}")
    description = page.locator(".project-description")
    expect(description).to_contain_text("第一阶段：报名")
    assert description.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-line"
    assert description.evaluate("e => e.getClientRects().length && e.innerText.split('\\n').length") == 2
    # (the fixture fails the test on the console error a blocked style attribute logs)


def test_save_groups_stays_in_reach_on_a_long_member_list(page, e2e_world):
    from sqlalchemy import select

    from lms.accounts.models import User

    w = e2e_world
    for user in db.session.scalars(select(User).where(User.name.in_(EXTRA_TEACHERS))):
        community.add_member(w.workshop_a, user)
    community.refresh_counters()
    db.session.commit()
    login(page, "host_a")
    page.goto(f"/workshops/{w.workshop_a.id}/manage")
    save = page.get_by_role("button", name="保存分组")
    page.locator("#arrange tbody tr").nth(12).scroll_into_view_if_needed()
    box, height = save.bounding_box(), page.viewport_size["height"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (box, height)
    # A group's "Delete" stays on one line beside its name field.
    delete = page.locator("li", has=page.locator("input[name=name]")).first.get_by_role("button", name="删除")
    assert delete.bounding_box()["height"] < 45
    snap(page, "workshop-manage-scrolled")


def test_english_counts_and_tabs(page, e2e_world):
    _discussion(e2e_world)
    login(page, "member_a")
    page.locator("footer").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for url in ("/me", f"/workshops/{e2e_world.workshop_a.id}", "/resources", "/courses/",
                f"/workshops/{e2e_world.workshop_a.id}/activities"):  # fmt: skip
        page.goto(url)
        text = page.locator("main").inner_text()
        assert not SINGULAR_AS_PLURAL.search(text), url
        assert no_horizontal_scroll(page), url
    page.goto("/resources")
    tabs = page.locator(".res-tabs .nav-link")
    expect(tabs).to_have_text(["All", "My uploads", "My favourites"])
    right = tabs.last.evaluate("e => e.getBoundingClientRect().right")
    assert right <= page.viewport_size["width"], right  # the last tab is not cut off on a phone
    page.locator("footer").get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_rating_stars_are_thumb_sized_on_a_phone(page, e2e_world, app):
    from lms.resources import services as resources
    from tests.resources.conftest import upload_file

    with app.test_request_context():
        resource = resources.upload(e2e_world["host"], file=upload_file(), context=e2e_world.workshop_a.context,
                                    title="分数的初步认识教学设计")  # fmt: skip
    login(page, "member_a")
    page.goto(f"/resources/{resource.id}")
    stars = page.locator(".res-rate .star")
    expect(stars).to_have_count(5)
    heights = [b["height"] for b in (stars.nth(i).bounding_box() for i in range(5))]
    if page.device == "phone":
        assert min(heights) >= 40, heights
    assert page.evaluate(SMALL_CONTROLS) == [] or page.device == "desktop"
    assert no_horizontal_scroll(page)
    stars.nth(3).click()
    expect(page.locator(".res-rate .star.on")).to_have_count(4)


def test_compact_buttons_take_a_thumb_above_and_below_on_a_phone(page, e2e_world):
    """Card-header buttons keep their 23 px look; their invisible hit area is 40 px tall."""
    login(page, "member_a")
    button = page.locator("main a.btn.py-0").first  # a card header's button on the personal space
    page.set_viewport_size({"width": page.viewport_size["width"], "height": 2000})  # all of it on screen
    box = button.bounding_box()
    hit = (
        """([x, y]) => { const b = document.elementFromPoint(x, y)?.closest('.btn'); return b ? b.innerText : null }"""
    )
    x = box["x"] + box["width"] / 2
    above, below = page.evaluate(hit, [x, box["y"] - 6]), page.evaluate(hit, [x, box["y"] + box["height"] + 6])
    if page.device == "phone":
        assert box["height"] < 30 and above == below == button.inner_text(), (box, above, below)
    else:
        assert above is None and below is None


@pytest.mark.parametrize("lang", ["中文", "English"])
def test_the_bar_fits_a_small_laptop_in_both_languages(page, e2e_world, lang):
    """992 px is the narrowest screen with the full bar (below it, the menu button)."""
    if page.device != "desktop":
        pytest.skip("desktop widths")
    login(page, "cadmin_a")
    page.locator("footer").get_by_role("button", name=lang).click()
    page.wait_for_load_state()
    for width in (992, 1024, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        assert no_horizontal_scroll(page), (lang, width, page.evaluate("document.documentElement.scrollWidth"))
        search = page.locator(".navbar .nav-search input").bounding_box()
        assert search["width"] >= 100, (lang, width, search)
        assert page.locator(".navbar").bounding_box()["height"] < 70, (lang, width)  # one row
    if lang == "English":
        page.locator("footer").get_by_role("button", name="中文").click()


@pytest.mark.parametrize("lang", ["中文", "English"])
def test_homework_results_table_scrolls_inside_its_box_on_a_tablet(page, e2e_world, hw, lang):  # noqa: F811
    from lms.homework import services as homework

    if page.device != "desktop":
        pytest.skip("tablet width: the results table shows from 768 px")
    homework.sync(hw["a"], hw["now"])
    login(page, "host_a")
    page.locator("footer").get_by_role("button", name=lang).click()
    page.wait_for_load_state()
    page.set_viewport_size({"width": 768, "height": 900})
    page.goto(f"/homework/{hw['a'].id}/results")
    expect(page.locator(".hw-results-table table")).to_be_visible()
    assert no_horizontal_scroll(page), (lang, page.evaluate("document.documentElement.scrollWidth"))
    if lang == "English":
        page.locator("footer").get_by_role("button", name="中文").click()


def test_a_new_post_is_marked_where_the_page_opens(page, e2e_world):
    activity = _discussion(e2e_world)
    login(page, "member_a")
    page.goto(f"/activities/{activity.id}")
    page.locator(".rich-editor .ql-editor").first.click()
    page.keyboard.type("我在数学课上用平板推送练习，全班正确率即时可见。")
    page.get_by_role("button", name="发布").click()
    page.wait_for_url(re.compile(r"#post-\d+$"))
    mine = page.locator("article.post:target")
    expect(mine).to_contain_text("平板推送练习")
    assert mine.evaluate("e => getComputedStyle(e).backgroundColor") != "rgb(255, 255, 255)"
    assert no_horizontal_scroll(page)
