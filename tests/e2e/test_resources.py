"""A PDF resource previewed in the page (pdf.js), as on a phone whose browser shows no PDF in a
frame: its pages are drawn, Chinese text included, with no script error or CSP violation."""

import re

import pytest

from lms.resources import services
from tests.e2e.conftest import login, no_horizontal_scroll, snap
from tests.resources.conftest import upload_file


@pytest.fixture
def pdf_bytes(browser):
    """Two pages of Chinese text, printed by Chromium (fonts embedded, as teachers' PDFs have them)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<h1>勾股定理教学设计</h1><p>教学目标：理解勾股定理。</p>"
                     "<h1 style='break-before: page'>第二页：课堂练习</h1>")  # fmt: skip
    data = page.pdf(format="A4")
    context.close()
    return data


def test_pdf_preview_draws_its_pages(page, e2e_world, pdf_bytes, app):
    with app.test_request_context():
        r = services.upload(e2e_world["member"], file=upload_file(pdf_bytes, "勾股定理.pdf"),
                            context=e2e_world.workshop_a.context, title="勾股定理教学设计")  # fmt: skip
    login(page, "member_a")
    page.goto(f"/resources/{r.id}")
    view = page.locator(".res-pdf-view")
    view.locator("canvas[data-drawn='1']").first.wait_for()
    assert view.locator("canvas").count() == 2
    assert "2 页" in view.locator(".res-pdf-status").inner_text()
    # Drawn, not blank: the first page has dark pixels (its heading).
    dark = page.evaluate("""() => {
        const c = document.querySelector('.res-pdf-view canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, Math.floor(c.height / 4)).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 100 && d[i + 1] < 100 && d[i + 2] < 100) n++;
        return n;
    }""")
    assert dark > 200
    assert no_horizontal_scroll(page)
    snap(page, "resource-pdf-preview")


def test_upload_form_shows_progress_and_lands_on_the_new_resource(page, e2e_world, pdf_bytes, tmp_path):
    from lms.extensions import db
    from lms.resources.models import Resource

    path = tmp_path / "教学设计.pdf"
    path.write_bytes(pdf_bytes)
    login(page, "member_a")
    page.goto("/resources/upload")
    page.locator("input[name=title]").fill("上传进度测试")
    page.locator("input[type=file]").set_input_files(str(path))
    posts = []
    page.on("request", lambda req: posts.append(req.resource_type) if req.method == "POST" else None)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/resources/\d+$"))
    assert posts == ["xhr"]  # sent in the background, with its progress bar
    expect_id = db.session.query(Resource.id).filter(Resource.title == "上传进度测试").scalar()
    assert page.url.endswith(f"/resources/{expect_id}")


def test_a_file_over_the_cap_is_refused_before_sending(page, e2e_world, pdf_bytes, tmp_path, app, monkeypatch):
    from lms.extensions import db
    from lms.resources.models import Resource

    monkeypatch.setitem(app.config, "RESOURCE_MAX_BYTES", 1000)
    path = tmp_path / "大文件.pdf"
    path.write_bytes(pdf_bytes)  # far more than 1,000 bytes
    login(page, "member_a")
    page.goto("/resources/upload")
    posts = []
    page.on("request", lambda req: posts.append(req.url) if req.method == "POST" else None)
    page.locator("input[name=title]").fill("太大的文件")
    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("main form button[type=submit]").click()
    page.locator(".upload-progress [role=status]").filter(has_text="无法上传").wait_for()
    assert posts == [] and db.session.query(Resource.id).filter(Resource.title == "太大的文件").scalar() is None
    assert no_horizontal_scroll(page)
    snap(page, "resource-upload-too-big")


def test_a_refused_file_comes_back_with_the_servers_message(page, e2e_world, tmp_path):
    from tests.resources.conftest import ELF

    path = tmp_path / "教案.pdf"
    path.write_bytes(ELF)
    login(page, "member_a")
    page.goto("/resources/upload")
    page.locator("input[name=title]").fill("伪装的程序")
    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("main form button[type=submit]").click()
    page.locator(".invalid-feedback").filter(has_text="可执行程序").wait_for()
    assert page.locator("input[name=title]").input_value() == "伪装的程序"  # what was typed is kept
    page.errors.clear()  # Chromium logs the 400 answer as a console error
