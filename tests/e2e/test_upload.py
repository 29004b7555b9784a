"""The lesson video uploader in Chromium: a file that is not a video is refused at its first chunk,
and the page says why."""

import pytest

from lms.courses import services
from tests.courses.conftest import make_course
from tests.e2e.conftest import login, no_horizontal_scroll, snap


@pytest.fixture
def lesson(app, e2e_world):
    course = make_course(e2e_world.province.context, "视频课程")
    return services.add_lesson(e2e_world["province_admin"], course, "第一课", "video")


def test_a_pdf_named_mp4_is_refused_with_a_message(page, lesson, e2e_world, tmp_path):
    login(page, e2e_world["province_admin"].username)
    page.goto(f"/courses/lessons/{lesson.id}/edit")
    # 20 MB: more than one 8 MB chunk, so a refusal after the whole file would need three requests.
    fake = tmp_path / "lecture.mp4"
    with fake.open("wb") as f:
        f.write(b"%PDF-1.4\n")
        f.truncate(20 * 1024 * 1024)
    puts = []
    page.on("request", lambda req: puts.append(req.url) if req.method == "PUT" else None)
    page.locator(".video-uploader [data-role=file]").set_input_files(str(fake))
    status = page.locator(".video-uploader [data-role=status]")
    status.filter(has_text="不是可用的视频").wait_for()
    assert len(puts) == 1
    assert "bg-danger" in page.locator(".video-uploader [data-role=bar]").get_attribute("class")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('lms-upload:')).length") == 0
    assert no_horizontal_scroll(page)
    snap(page, "lesson-upload-refused")
    page.errors.clear()  # Chromium logs the 415 answer as a console error
