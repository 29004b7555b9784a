"""Sign-ins, the one-time password download and adding workshop members, in Chromium on a phone and a
desktop: the pages these changes touched, used through their real forms (CSRF on)."""

import re

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.conftest import DEVICES, login, no_horizontal_scroll, snap


def test_signed_in_devices_and_signing_out_the_others(page, browser, live_server, e2e_world):
    other = browser.new_context(base_url=live_server, **DEVICES["desktop"])
    try:
        second = other.new_page()
        login(second, "teacher_a")
        login(page, "teacher_a")
        page.goto("/account/password")
        devices = page.locator("#sign-ins li")
        expect(devices).to_have_count(2)
        expect(page.locator("#sign-ins")).to_contain_text("本设备")
        assert no_horizontal_scroll(page)
        snap(page, "account-devices")
        page.get_by_role("button", name="退出其他所有设备").click()
        expect(page.locator(".alert").first).to_contain_text("已退出其他 1 台设备的登录")
        expect(devices).to_have_count(1)
        second.goto("/me")
        second.wait_for_url(re.compile(r"/login\?next="))
    finally:
        other.close()


def test_roster_import_offers_the_passwords_once(page, e2e_world, tmp_path):
    from lms.accounts import excel
    from lms.accounts.roster import COLUMNS
    from tests.accounts.test_roster import person

    upload = tmp_path / "roster.xlsx"
    upload.write_bytes(excel.write_workbook(excel.Sheet("s", COLUMNS, [person(1), person(2)])))
    login(page, "sadmin_a")
    page.goto(f"/schools/{e2e_world.school_a.id}/roster/import")
    page.locator("input[type=file]").set_input_files(str(upload))
    page.locator("main form button[type=submit]").click()
    form = page.locator("#password-sheet")
    expect(form).to_contain_text("仅限您本人在 30 分钟内下载一次")
    assert no_horizontal_scroll(page)
    snap(page, "roster-result-passwords")
    with page.expect_download() as info:
        form.get_by_role("button").click()
    download = info.value
    assert download.suggested_filename == "初始密码.xlsx"
    saved = tmp_path / "passwords.xlsx"  # Playwright keeps the download under a name without extension
    download.save_as(saved)
    rows = list(load_workbook(saved).worksheets[0].values)
    assert rows[0] == ("用户名", "姓名", "学校", "初始密码") and len(rows) == 3


def test_adding_members_echoes_only_what_was_typed(page, e2e_world):
    login(page, "host_a")
    page.goto(f"/workshops/{e2e_world.workshop_a.id}/manage")
    page.locator("textarea[name='add-logins']").fill("teacher_b\nnobody_here")
    page.locator("form:has(textarea[name='add-logins']) button[type=submit]").click()
    alert = page.locator(".alert-warning").first
    expect(alert).to_contain_text("未找到或不在本工作坊所属区域：teacher_b、nobody_here")
    expect(page.locator("main")).not_to_contain_text("赵老师")
    assert no_horizontal_scroll(page)
    snap(page, "workshop-add-members-refused")
