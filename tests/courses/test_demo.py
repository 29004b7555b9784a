"""`flask lms demo` for courses: video lessons sharing one real transcode, seeded study progress, a
note instead of videos when ffmpeg is missing, nothing twice with --if-empty."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.courses.models import Lesson, QuizAttempt
from lms.courses.watch_models import CourseProgress, LessonProgress, WatchState
from lms.media.models import MediaJob

SCALE = 300


def run_demo(app, *args):
    return app.test_cli_runner().invoke(args=["lms", "demo", "--scale", str(SCALE), "--seed", "7", *args])


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def demo_output(app, db):
    result = run_demo(app)
    assert result.exit_code == 0, result.output
    return result.output


def test_video_lessons_share_one_transcode(app, db, demo_output, login_as):
    videos = list(db.session.scalars(select(Lesson).where(Lesson.kind == "video")))
    assert len(videos) >= 3
    assert count(db, MediaJob) == 1  # one transcode, however many lessons
    job = db.session.scalar(select(MediaJob))
    assert job.status == "done"
    assert {v.rendition_dir for v in videos} == {job.output_dir}
    assert all(v.duration_seconds and 6 <= v.duration_seconds <= 10 for v in videos)
    out = Path(app.config["MEDIA_ROOT"]) / job.output_dir
    assert (out / "master.m3u8").is_file() and (out / "video.mp4").is_file() and (out / "poster.jpg").is_file()
    assert "video lessons share one transcoded clip" in demo_output
    # demo_teacher meets the player in a required course.
    teacher = db.session.scalar(select(User).where(User.username == "demo_teacher"))
    c = login_as(teacher)
    mine = [v for v in videos if c.get(f"/courses/{v.course_id}").status_code == 200]
    assert mine
    html = c.get(f"/courses/lessons/{mine[0].id}").get_data(as_text=True)
    assert "master.m3u8" in html


def test_progress_is_seeded_for_a_share_of_teachers(app, db, demo_output, login_as):
    from lms.access.models import RoleAssignment
    from lms.communities.models import Workshop

    assert count(db, CourseProgress) > 0 and count(db, QuizAttempt) > 0
    assert count(db, LessonProgress, LessonProgress.completed.is_(True), LessonProgress.seconds > 0) > 0
    assert count(db, LessonProgress, LessonProgress.quiz_passed.is_(True)) > 0
    assert count(db, CourseProgress, CourseProgress.lessons_completed == 3) > 0  # some finished a course
    assert count(db, CourseProgress, CourseProgress.lessons_completed < 3) > 0  # others on their way
    # Consistent with what the services keep: every teacher's total is the sum of their courses.
    totals = dict(db.session.execute(select(WatchState.user_id, WatchState.seconds)).all())
    sums = dict(db.session.execute(
        select(CourseProgress.user_id, func.sum(CourseProgress.seconds)).group_by(CourseProgress.user_id)
    ).all())  # fmt: skip
    assert totals.keys() == sums.keys() and all(abs(totals[u] - sums[u]) < 0.01 for u in totals)
    # The attempts respect the cap and numbering, and nobody holds a passed quiz without a passing attempt.
    assert db.session.scalar(select(func.max(QuizAttempt.attempt_no))) <= app.config["COURSE_QUIZ_MAX_ATTEMPTS"]
    # The host's page shows real numbers.
    host = db.session.scalar(select(User).where(User.username == "demo_host"))
    ctx_id = db.session.scalar(
        select(RoleAssignment.context_id).where(RoleAssignment.user_id == host.id, RoleAssignment.role == "host")
    )
    ws = db.session.scalar(select(Workshop).where(Workshop.context_id == ctx_id))
    html = login_as(host).get(f"/workshops/{ws.id}/course-progress").get_data(as_text=True)
    assert any(f"{k}/3 课时" in html for k in (1, 2, 3)), html
    # demo_teacher has read the introduction only: an open quiz waits for them.
    teacher = db.session.scalar(select(User).where(User.username == "demo_teacher"))
    assert count(db, QuizAttempt, QuizAttempt.user_id == teacher.id) == 0
    me = login_as(teacher).get("/me").get_data(as_text=True)
    assert "1/3 课时" in me


def test_if_empty_leaves_everything_as_it_was(app, db, demo_output):
    before = [count(db, m) for m in (MediaJob, Lesson, CourseProgress, QuizAttempt, LessonProgress)]
    again = run_demo(app, "--if-empty")
    assert again.exit_code == 0 and "not loaded" in again.output
    assert [count(db, m) for m in (MediaJob, Lesson, CourseProgress, QuizAttempt, LessonProgress)] == before


def test_without_ffmpeg_the_demo_has_text_lessons_and_a_note(app, db, monkeypatch):
    from lms.media import ffmpeg

    def missing():
        raise RuntimeError("no ffmpeg here")

    monkeypatch.setattr(ffmpeg, "ffmpeg_exe", missing)
    result = run_demo(app)
    assert result.exit_code == 0, result.output
    assert "course videos skipped: ffmpeg not found" in result.output
    assert count(db, Lesson, Lesson.kind == "video") == 0 and count(db, MediaJob) == 0
    assert count(db, CourseProgress) > 0  # progress is seeded all the same
