"""What a teacher and a county admin see, signed in through the real forms, on a phone and on a desktop."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import login, no_horizontal_scroll, snap


def open_menu(page):
    """On a phone the navbar is collapsed behind the toggler: open it. On a desktop it is always open."""
    if page.device == "phone":
        page.locator(".navbar-toggler").click()
        expect(page.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))
    expect(page.locator("#nav")).to_be_visible()


def test_login_page_is_chinese_by_default(page):
    page.goto("/login")
    expect(page).to_have_title(re.compile("登录"))
    expect(page.locator("main h1")).to_contain_text("登录")
    expect(page.locator("main form button[type=submit]")).to_have_text("登录")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # Signed out, the navbar has nothing to collapse.
    expect(page.locator(".navbar-toggler")).to_have_count(0)
    assert no_horizontal_scroll(page)
    snap(page, "login")


def test_wrong_password_stays_on_login(page):
    page.goto("/login")
    page.locator("main input[name=identifier]").fill("member_a")
    page.locator("main input[name=password]").fill("not-the-password")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".alert-danger")).to_be_visible()
    assert page.url.endswith("/login")


def test_teacher_personal_space(page, e2e_world):
    login(page, "member_a")
    expect(page).to_have_title(re.compile("个人空间"))
    expect(page.locator("main h1")).to_contain_text("李老师")
    workshops = page.locator("#my-workshops")
    expect(workshops).to_contain_text("我的工作坊")
    expect(workshops.get_by_role("link", name="东湖数学工作坊")).to_be_visible()
    expect(workshops).to_contain_text("第一组")
    communities = page.locator("#my-communities")
    for name in ("东湖小学", "东湖区", "南昌市", "江西省"):
        expect(communities.get_by_role("link", name=name)).to_be_visible()
    expect(page.locator("#announcements")).to_contain_text("公告")
    expect(page.locator("main")).not_to_contain_text("西湖")
    assert no_horizontal_scroll(page)
    snap(page, "teacher-personal-space")


def test_phone_navbar_collapses_into_toggler(page, e2e_world):
    login(page, "member_a")
    toggler = page.locator(".navbar-toggler")
    if page.device == "desktop":
        expect(toggler).to_be_hidden()
        expect(page.locator("#nav")).to_be_visible()
        return
    expect(toggler).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    toggler.click()
    menu = page.locator("#nav")
    expect(menu).to_be_visible()
    expect(menu).to_have_class(re.compile(r"\bshow\b"))  # opened, not still sliding down
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="个人空间")).to_be_visible()
    expect(menu.get_by_role("button", name="退出")).to_be_visible()
    assert no_horizontal_scroll(page)
    snap(page, "teacher-menu-open")


def test_teacher_opens_workshop(page, e2e_world):
    login(page, "member_a")
    page.locator("#my-workshops").get_by_role("link", name="东湖数学工作坊").click()
    page.wait_for_url(f"**/workshops/{e2e_world.workshop_a.id}")
    expect(page.locator("main h1")).to_have_text("东湖数学工作坊")
    expect(page.locator("main")).to_contain_text("孙坊主")  # the host
    groups = page.locator("#groups")
    expect(groups).to_contain_text("第一组")
    expect(groups).to_contain_text("王组长")
    members = page.locator("#members")
    expect(members.locator("tbody tr")).to_have_count(2)
    expect(members).to_contain_text("李老师")
    expect(members).to_contain_text("王组长")
    # The breadcrumb leads back up the region tree.
    expect(page.locator(".breadcrumb").get_by_role("link", name="东湖区")).to_be_visible()
    assert no_horizontal_scroll(page)
    snap(page, "teacher-workshop")


def test_teacher_cannot_open_the_next_county(page, e2e_world):
    login(page, "member_a")
    for url in (
        f"/regions/{e2e_world.county_b.id}",
        f"/schools/{e2e_world.school_b.id}",
        f"/workshops/{e2e_world.workshop_b.id}",
    ):
        response = page.goto(url)
        assert response.status == 404, url
        expect(page.locator("main h1")).to_have_text("404")
        expect(page.locator("main")).to_contain_text("页面不存在")
        expect(page.locator("main")).not_to_contain_text("西湖")
    assert no_horizontal_scroll(page)
    snap(page, "teacher-404")
    page.get_by_role("link", name="返回个人空间").click()
    page.wait_for_url("**/me")
    page.errors.clear()  # Chromium logs the 404 responses on the console


def test_teacher_walks_up_the_community_tree(page, e2e_world):
    """School, county, city and province pages all open for a teacher and fit the screen."""
    w = e2e_world
    login(page, "member_a")
    page.locator("#my-communities").get_by_role("link", name="东湖小学").click()
    expect(page.locator("main h1")).to_have_text("东湖小学")
    expect(page.locator("main")).to_contain_text("东湖数学工作坊")
    assert no_horizontal_scroll(page)
    snap(page, "teacher-school")
    for region, name in ((w.county_a, "county"), (w.city, "city"), (w.province, "province")):
        page.goto(f"/regions/{region.id}")
        expect(page.locator("main h1")).to_have_text(region.name)
        assert no_horizontal_scroll(page), name
        snap(page, f"teacher-{name}")
    expect(page.locator("main")).to_contain_text("南昌市")  # the province lists its city


def test_county_admin_county_page(page, e2e_world):
    w = e2e_world
    login(page, "cadmin_a")
    admin = page.locator("#my-admin")
    expect(admin).to_contain_text("我管理的")
    admin.get_by_role("link", name="东湖区").click()
    page.wait_for_url(f"**/regions/{w.county_a.id}")
    main = page.locator("main")
    expect(main.locator("h1")).to_have_text("东湖区")
    expect(page.locator("#schools").get_by_role("link", name="东湖小学")).to_be_visible()
    expect(page.locator("#workshops").get_by_role("link", name="东湖数学工作坊")).to_be_visible()
    expect(main).not_to_contain_text("西湖")
    roster = f"/regions/{w.county_a.id}/roster"
    expect(main.get_by_role("link", name="导入名单")).to_have_attribute("href", f"{roster}/import")
    expect(main.get_by_role("link", name=re.compile("导出名单"))).to_have_attribute("href", f"{roster}.xlsx")

    # 6 teachers of the world plus 22 more: two pages of 20.
    members = page.locator("#members")
    expect(members.locator("tbody tr")).to_have_count(20)
    expect(members).to_contain_text("第 1 / 2 页")
    assert no_horizontal_scroll(page)
    snap(page, "admin-county")
    members.get_by_role("link", name="下一页").click()
    expect(members).to_contain_text("第 2 / 2 页")
    expect(members.locator("tbody tr")).to_have_count(8)

    members.locator("input[name=q]").fill("李老师")
    members.get_by_role("button", name="搜索").click()
    expect(members.locator("tbody tr")).to_have_count(1)
    expect(members.locator("tbody")).to_contain_text("李老师")
    expect(members.locator("input[name=q]")).to_have_value("李老师")
    assert "page=" not in page.url  # a new search starts on page 1
    members.locator("input[name=q]").fill("没有这个人")
    members.get_by_role("button", name="搜索").click()
    expect(members).to_contain_text("没有符合条件的成员")
    assert no_horizontal_scroll(page)

    page.goto(f"/schools/{w.school_a.id}")
    expect(page.locator("#members")).to_contain_text("第 1 / 2 页")
    assert no_horizontal_scroll(page)
    snap(page, "admin-school")

    response = page.goto(f"/regions/{w.county_b.id}")
    assert response.status == 404
    expect(main).to_contain_text("页面不存在")
    page.errors.clear()


def test_sign_out(page, e2e_world):
    login(page, "cadmin_a")
    open_menu(page)
    page.locator("#nav").get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")
    expect(page.locator(".alert")).to_contain_text("您已退出登录")
    page.goto("/me")
    page.wait_for_url(re.compile(r"/login\?next="))
    expect(page.locator("main h1")).to_contain_text("登录")


def test_language_switch(page, e2e_world):
    login(page, "member_a")
    expect(page.locator("#my-workshops")).to_contain_text("我的工作坊")
    page.locator("footer").get_by_role("button", name="English").click()
    expect(page.locator("#my-workshops")).to_contain_text("My workshops")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title(re.compile("My space"))
    assert page.url.endswith("/me")
    assert no_horizontal_scroll(page)
    snap(page, "teacher-personal-space-en")
    # The choice sticks to the account and is switched back the same way.
    page.goto(f"/workshops/{e2e_world.workshop_a.id}")
    expect(page.locator("#groups")).to_contain_text("Study groups")
    page.locator("footer").get_by_role("button", name="中文").click()
    expect(page.locator("#groups")).to_contain_text("学习小组")
