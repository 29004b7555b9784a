"""Fixtures for the playback and watch-time tests: a published course in county A with a video lesson
whose rendition is a real (tiny) ffmpeg transcode under the test MEDIA_ROOT."""

import shutil
import subprocess
from pathlib import Path

import pytest

from lms.courses import watch
from lms.courses.models import Course, Lesson
from lms.extensions import db
from lms.media import ffmpeg

RENDITION = "hls/watchtest/1"


def make_clip(path: Path, seconds: int = 4, size: str = "426x240") -> Path:
    cmd = [ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:d={seconds}",
           "-f", "lavfi", "-i", f"sine=d={seconds}", "-c:a", "aac", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-shortest", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True)  # noqa: S603
    return path


def ensure_rendition(app, tmp: Path) -> Path:
    """A transcoded 4-second clip at MEDIA_ROOT/RENDITION (master, one 240p rung, MP4, poster)."""
    out = Path(app.config["MEDIA_ROOT"]) / RENDITION
    if not (out / "master.m3u8").is_file():
        src = make_clip(tmp / "clip.mp4")
        shutil.rmtree(out, ignore_errors=True)
        ffmpeg.transcode(src, out)
    return out


@pytest.fixture(scope="session")
def rendition(app, tmp_path_factory):
    return ensure_rendition(app, tmp_path_factory.mktemp("watchclip"))


def make_course(context, title="信息技术与学科教学融合", published=True) -> Course:
    course = Course(title=title, kind="integration", published=published, context_id=context.id)
    db.session.add(course)
    db.session.flush()
    return course


def make_lesson(course, duration=120, rendition_dir=RENDITION, title="第一课 微课设计") -> Lesson:
    lesson = Lesson(course_id=course.id, title=title, kind="video", rendition_dir=rendition_dir,
                    duration_seconds=duration, position=len(course.lessons) + 1)  # fmt: skip
    db.session.add(lesson)
    course.lesson_count = (course.lesson_count or 0) + 1  # what the course services maintain
    db.session.flush()
    return lesson


@pytest.fixture
def video(world):
    """(course, lesson): published in county A (its teachers may watch; county B's may not), 120 s."""
    course = make_course(world.county_a.context)
    lesson = make_lesson(course)
    db.session.commit()
    watch.forget_rendition()
    return course, lesson
