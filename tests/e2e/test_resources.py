"""A PDF resource previewed in the page (pdf.js), as on a phone whose browser shows no PDF in a
frame: its pages are drawn, Chinese text included, with no script error or CSP violation."""

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
