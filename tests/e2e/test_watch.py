"""Playing a lesson video in Chromium: hls.js loads the transcoded clip, heartbeats credit time."""

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.courses import watch
from lms.courses.watch_models import LessonProgress
from lms.extensions import db
from tests.courses.watch.conftest import ensure_rendition, make_course, make_lesson
from tests.e2e.conftest import login, no_horizontal_scroll

SHOTS = Path(os.environ.get("LMS_WATCH_SHOTS", "/work/screenshots/issue3b"))


@pytest.fixture
def lesson(app, e2e_world, tmp_path):
    if "courses.lesson" not in app.view_functions:
        pytest.skip("the course pages (lms.courses.views) are not there")
    ensure_rendition(app, tmp_path)
    course = make_course(e2e_world.county_a.context, title="信息技术与学科教学深度融合")
    lesson = make_lesson(course, duration=4, title="第一课 微课的设计与制作")
    db.session.commit()
    watch.forget_rendition()
    return lesson


def test_play_a_lesson_and_get_time_credited(page, lesson, e2e_world):
    login(page, e2e_world["teacher"].username)
    page.goto(f"/courses/lessons/{lesson.id}")
    video = page.locator("[data-player] video")
    video.wait_for()
    # hls.js (not the MP4) is what plays: the quality list exists only with hls.js; this clip has one rung.
    page.wait_for_function("() => window.Hls && document.querySelector('[data-player] video').readyState >= 1")
    page.evaluate("() => { const v = document.querySelector('[data-player] video'); v.muted = true; return v.play(); }")
    # Nearly to the end: on a loaded machine the first heartbeat can reach the server a second late,
    # and only time between two heartbeats earns credit.
    page.wait_for_function("() => document.querySelector('[data-player] video').currentTime >= 3.3", timeout=20_000)
    page.evaluate("() => document.querySelector('[data-player] video').pause()")
    page.wait_for_function("() => parseFloat(document.querySelector('[data-player]').dataset.credited || '0') >= 1.5",
                           timeout=20_000)  # fmt: skip
    credited = float(page.locator("[data-player]").get_attribute("data-credited"))
    assert 1.5 <= credited <= 4
    assert page.locator("[data-watched]").inner_text() != "0:00"
    if page.device == "phone":
        assert no_horizontal_scroll(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "phone-lesson-player.png"), full_page=True)
    db.session.expire_all()
    row = db.session.scalar(select(LessonProgress).where(LessonProgress.user_id == e2e_world["teacher"].id))
    assert row is not None and 1.5 <= row.seconds <= 4 and row.last_position >= 2.5
    # The personal space shows the study bar.
    page.goto("/me")
    assert page.locator("#study-progress").is_visible()
    if page.device == "phone":
        page.screenshot(path=str(SHOTS / "phone-personal-space.png"), full_page=True)


@pytest.fixture
def long_lesson(app, e2e_world, tmp_path):
    """A 12-second clip (six 2-second segments) under its own rendition folder."""
    from tests.courses.watch.conftest import make_clip

    if "courses.lesson" not in app.view_functions:
        pytest.skip("the course pages (lms.courses.views) are not there")
    from lms.media import ffmpeg

    out = Path(app.config["MEDIA_ROOT"]) / "hls" / "watchlong" / "1"
    if not (out / "master.m3u8").is_file():
        ffmpeg.transcode(make_clip(tmp_path / "long.mp4", seconds=12), out)
    course = make_course(e2e_world.county_a.context, title="信息技术与学科教学深度融合")
    lesson = make_lesson(course, duration=12, rendition_dir="hls/watchlong/1", title="第二课 课堂观察")
    db.session.commit()
    watch.forget_rendition()
    return lesson


def test_grants_are_renewed_during_playback_without_stopping(page, long_lesson, e2e_world, app, monkeypatch):
    """Grants of 3 s: the player renews them every second or two while a slow line (throttled to 40 kB/s)
    makes hls.js fetch the segments one by one over the whole clip. Every request goes out with the
    newest grant (none is refused), and the video plays to the end without reloading."""
    if page.device != "desktop":
        pytest.skip("one device is enough: the renewal does not depend on the screen")
    monkeypatch.setitem(app.config, "WATCH_GRANT_SECONDS", 3)
    refused, grants = [], []
    page.on("response", lambda r: refused.append(r.url) if "/watch/" in r.url and r.status >= 400 else None)
    page.on("request", lambda r: grants.append(r.url.split("/")[5]) if "/seg_" in r.url else None)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": 40_000,
                                                  "uploadThroughput": -1})  # fmt: skip
    login(page, e2e_world["teacher"].username)
    page.goto(f"/courses/lessons/{long_lesson.id}")
    page.wait_for_function("() => window.Hls && document.querySelector('[data-player] video').readyState >= 1",
                           timeout=30_000)  # fmt: skip
    page.evaluate("() => { const v = document.querySelector('[data-player] video'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('[data-player] video').currentTime >= 11", timeout=90_000)
    player = page.locator("[data-player]")
    assert int(player.get_attribute("data-renewed") or "0") >= 2
    assert refused == []
    assert len(set(grants)) >= 2, grants  # later segments went out under renewed grants
    # hls.js played on: the same instance all along (a reload after a refused request would make a new one).
    assert page.evaluate("() => document.querySelector('[data-player]').player.mode") == "hls"
