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


def test_a_fake_mp4_of_no_known_format_is_refused_in_plain_words(page, lesson, e2e_world, tmp_path):
    import os

    login(page, e2e_world["province_admin"].username)
    page.goto(f"/courses/lessons/{lesson.id}/edit")
    fake = tmp_path / "课堂实录.mp4"
    fake.write_bytes(os.urandom(300_000))
    page.locator(".video-uploader [data-role=file]").set_input_files(str(fake))
    status = page.locator(".video-uploader [data-role=status]")
    status.filter(has_text="无法识别的格式").wait_for()
    text = status.inner_text()
    assert "unknown" not in text and "application/" not in text
    assert no_horizontal_scroll(page)
    snap(page, "lesson-upload-unknown-format")
    page.errors.clear()  # Chromium logs the 415 answer as a console error


def test_an_unreadable_video_fails_with_advice_and_no_retry(page, lesson, e2e_world, tmp_path):
    """A truncated MP4 (its index never arrived) passes the type check, then cannot be transcoded:
    the uploader reads why in Chinese, without ffmpeg's English, and is not offered a pointless retry."""
    from tests.media.conftest import make_clip

    clip = make_clip(tmp_path / "full.mp4", seconds=2).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip[: len(clip) // 2])
    login(page, e2e_world["province_admin"].username)
    page.goto(f"/courses/lessons/{lesson.id}/edit")
    page.locator(".video-uploader [data-role=file]").set_input_files(str(cut))
    failed = page.locator(".video-uploader [data-role=failed]")
    failed.filter(has_text="不是可以读取的视频").wait_for(timeout=60_000)
    text = failed.inner_text()
    assert "重新上传" in text and "Invalid data" not in text and "moov" not in text
    assert page.locator(".video-uploader [data-role=retry]").is_hidden()
    assert page.locator(".video-uploader [data-role=current]").is_hidden()  # "no video yet" is stale
    assert no_horizontal_scroll(page)
    snap(page, "lesson-transcode-unreadable")
    page.reload()  # the page as rendered by the server says the same
    failed.filter(has_text="不是可以读取的视频").wait_for()
    assert page.locator(".video-uploader [data-role=retry]").is_hidden()
    snap(page, "lesson-transcode-unreadable-reloaded")


def test_the_cap_shows_the_open_uploads_and_one_is_cancelled_from_the_page(page, lesson, e2e_world, app, tmp_path):
    """Refused by the per-user cap, the uploader lists the open uploads (begun in another tab after
    this page loaded); Cancel asks first, removes the upload, and the next file goes through."""
    from lms.media import services as media

    app.config["VIDEO_UPLOAD_MAX_OPEN_PER_USER"] = 1
    try:
        login(page, e2e_world["province_admin"].username)
        page.goto(f"/courses/lessons/{lesson.id}/edit")
        assert page.locator("#open-uploads").count() == 0
        other = services.add_lesson(e2e_world["province_admin"], lesson.course, "第二课", "video")
        with app.test_request_context():
            media.begin_chunked(owner=e2e_world["province_admin"], filename="另一个标签页.mp4", size=5000,
                                ref={"lesson_id": other.id})  # fmt: skip
        clip = tmp_path / "lecture.mp4"
        clip.write_bytes(b"\x00" * 4096)
        page.locator(".video-uploader [data-role=file]").set_input_files(str(clip))
        page.locator(".video-uploader [data-role=status]").filter(has_text="我未完成的上传").wait_for()
        item = page.locator("#open-uploads li")
        item.filter(has_text="另一个标签页.mp4").wait_for()
        assert item.count() == 1 and "第二课" in item.inner_text()
        assert no_horizontal_scroll(page)
        snap(page, "lesson-upload-cap")
        dialogs = []
        page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
        item.get_by_role("button").click()
        page.locator(".alert", has_text="上传已取消").wait_for()
        assert "另一个标签页.mp4" in dialogs[0]
        assert page.locator("#open-uploads").count() == 0
        page.errors.clear()  # Chromium logs the 429 answer as a console error
    finally:
        app.config["VIDEO_UPLOAD_MAX_OPEN_PER_USER"] = 3
