"""Watch-time crediting rules, one test per way of gaming them (lms.courses.watch.heartbeat)."""

import pytest
from sqlalchemy import select

from lms.courses import watch
from lms.courses.watch_models import CourseProgress, LessonProgress, WatchState
from lms.extensions import db
from lms.signals import watch_time_credited
from tests.courses.watch.conftest import make_lesson

T0 = 1_800_000_000.0


def viewing(user, lesson):
    key = user.get_id()
    return watch.load_viewing(watch.start_viewing(key, lesson), key)


def beat(v, t, pos, playing=True, visible=True, end=None):
    return watch.heartbeat(v, position=pos, playing=playing, visible=visible, end=end, now=T0 + t)


def lesson_seconds(user, lesson):
    return db.session.scalar(select(LessonProgress.seconds).where(LessonProgress.user_id == user.id,
                                                                  LessonProgress.lesson_id == lesson.id))  # fmt: skip


def test_plain_playing_credits_wall_time(world, video):
    course, lesson = video
    v = viewing(world["teacher"], lesson)
    assert beat(v, 0, 0).credited == 0  # the first heartbeat only starts the interval
    assert beat(v, 15, 15).credited == 15
    assert beat(v, 29, 29).credited == 14
    assert lesson_seconds(world["teacher"], lesson) == 29
    assert watch.total_seconds(world["teacher"].id) == 29
    cp = db.session.scalar(select(CourseProgress).where(CourseProgress.user_id == world["teacher"].id))
    assert (cp.course_id, cp.seconds) == (course.id, 29)


def test_paused_time_earns_nothing(world, video):
    _course, lesson = video
    v = viewing(world["teacher"], lesson)
    beat(v, 0, 0)
    assert beat(v, 10, 10, playing=False).credited == 10  # played until the pause
    assert beat(v, 300, 10, playing=False).credited == 0  # five minutes paused
    assert beat(v, 301, 10).credited == 0  # resumes: a new interval starts
    assert beat(v, 311, 20).credited == 10
    assert lesson_seconds(world["teacher"], lesson) == 20


def test_hidden_tab_earns_nothing(world, video):
    _course, lesson = video
    v = viewing(world["teacher"], lesson)
    beat(v, 0, 0)
    assert beat(v, 10, 10, visible=False).credited == 10  # visible until it was hidden
    assert beat(v, 25, 25, visible=False).credited == 0  # plays on in a background tab
    assert beat(v, 40, 40, visible=False).credited == 0
    assert lesson_seconds(world["teacher"], lesson) == 10


def test_seeking_to_the_end_earns_only_time_played(world, video):
    _course, lesson = video
    v = viewing(world["teacher"], lesson)
    beat(v, 0, 0)
    # Played 5 s, then jumped to the end: the player reports where the jump started (e=5).
    assert beat(v, 5, 118, end=5).credited == 5
    assert beat(v, 7, 120, playing=False).credited == 2
    # A forged client that leaves out `end` still earns no more than the wall time.
    v2 = viewing(world["member"], lesson)
    beat(v2, 0, 0)
    assert beat(v2, 3, 120).credited == 3
    lp = db.session.scalar(select(LessonProgress).where(LessonProgress.user_id == world["teacher"].id))
    assert lp.seconds == 7 and lp.max_position == 120 and not lp.completed


def test_double_speed_earns_real_time_only(world, video):
    _course, lesson = video
    v = viewing(world["teacher"], lesson)
    beat(v, 0, 0)
    assert beat(v, 10, 20).credited == 10  # playbackRate 2: 20 s of video in 10 s
    assert beat(v, 20, 60).credited == 10  # 4x
    assert lesson_seconds(world["teacher"], lesson) == 20


def test_a_second_tab_earns_nothing_while_the_first_plays(world, video):
    _course, lesson = video
    teacher = world["teacher"]
    a, b = viewing(teacher, lesson), viewing(teacher, lesson)
    beat(a, 0, 0)
    r = beat(b, 1, 0)
    assert (r.lease, r.credited) == (False, 0)
    assert beat(a, 10, 10).credited == 10
    r = beat(b, 11, 10)
    assert (r.lease, r.credited) == (False, 0)
    assert beat(a, 20, 20, playing=False).credited == 10  # tab A pauses: the lease is free
    assert beat(b, 21, 20).lease  # tab B takes it; its interval starts now
    assert beat(b, 31, 30).credited == 10
    assert beat(a, 32, 20).lease is False  # A plays again while B plays: no credit
    assert beat(a, 42, 30).credited == 0
    assert watch.total_seconds(teacher.id) == 30  # never more than the wall time (42 s), one tab at a time


def test_a_silent_tab_loses_the_lease(world, video):
    _course, lesson = video
    teacher = world["teacher"]
    a, b = viewing(teacher, lesson), viewing(teacher, lesson)
    beat(a, 0, 0)  # tab A is closed without a last heartbeat
    assert beat(b, 30, 0).lease is False
    assert beat(b, 30 + watch.LEASE_SECONDS + 1, 0).lease is True
    assert beat(b, 30 + watch.LEASE_SECONDS + 11, 10).credited == 10


def test_different_lessons_share_one_lease(world, video):
    course, lesson = video
    other = make_lesson(course, title="第二课")
    db.session.commit()
    teacher = world["teacher"]
    a, b = viewing(teacher, lesson), viewing(teacher, other)
    beat(a, 0, 0)
    beat(b, 0, 0)
    beat(a, 10, 10)
    assert beat(b, 10, 10).credited == 0
    assert watch.total_seconds(teacher.id) == 10


def test_credit_is_capped_at_the_duration_per_viewing(world, video):
    course, _lesson = video
    short = make_lesson(course, duration=30, title="短课")
    db.session.commit()
    v = viewing(world["teacher"], short)
    beat(v, 0, 0)
    assert beat(v, 15, 15).credited == 15
    assert beat(v, 30, 30).credited == 15
    assert beat(v, 31, 0, end=30).credited == 0  # loops back to the start…
    assert beat(v, 46, 15).credited == 0  # …and plays it again in the same viewing: capped
    assert lesson_seconds(world["teacher"], short) == 30


def test_a_long_gap_credits_at_most_max_gap(world, video):
    _course, lesson = video
    v = viewing(world["teacher"], lesson)
    beat(v, 0, 0)
    assert beat(v, 110, 110).credited == watch.MAX_GAP_SECONDS


def test_seeking_back_and_replaying_counts_real_play(world, video):
    _course, lesson = video
    v = viewing(world["teacher"], lesson)
    beat(v, 0, 50)
    assert beat(v, 5, 20, end=55).credited == 5  # played 50→55, jumped back to 20
    assert beat(v, 15, 30).credited == 10


def test_completion_and_course_counters(world, video):
    course, _lesson = video
    short = make_lesson(course, duration=20, title="短课")
    db.session.commit()
    v = viewing(world["teacher"], short)
    beat(v, 0, 0)
    assert not beat(v, 10, 10).completed
    assert beat(v, 18, 18).completed  # 90% of 20 s
    assert beat(v, 20, 20).completed
    cp = db.session.scalar(select(CourseProgress).where(CourseProgress.user_id == world["teacher"].id))
    assert (cp.lessons_completed, cp.seconds) == (1, 20)


def test_resume_position(world, video):
    _course, lesson = video
    v = viewing(world["teacher"], lesson)
    beat(v, 0, 0)
    beat(v, 40, 40, playing=False)
    assert watch.lesson_state(world["teacher"].id, lesson.id, 120)["resume"] == 40
    beat(v, 41, 118, playing=False)
    assert watch.lesson_state(world["teacher"].id, lesson.id, 120)["resume"] == 0  # watched to the end: restart
    assert watch.lesson_state(world["member"].id, lesson.id, 120) == {"resume": 0.0, "seconds": 0.0, "completed": False}


def test_signal_carries_whole_seconds_and_keeps_the_fractions(world, video):
    _course, lesson = video
    got = []

    def listener(sender, **kw):
        got.append((sender.id, kw["lesson_id"], kw["course_id"], kw["seconds"]))

    watch_time_credited.connect(listener)
    try:
        v = viewing(world["teacher"], lesson)
        beat(v, 0, 0)
        for i in range(1, 7):
            beat(v, i * 2.5, i * 2.5)  # 2.5 s each
    finally:
        watch_time_credited.disconnect(listener)
    assert sum(g[3] for g in got) == 15
    assert all(isinstance(g[3], int) and g[:3] == (world["teacher"].id, lesson.id, lesson.course_id) for g in got)
    assert db.session.get(WatchState, world["teacher"].id).seconds == 15


def test_bad_positions_are_refused(world, video):
    _course, lesson = video
    v = viewing(world["teacher"], lesson)
    for bad in (None, "12", float("nan"), float("inf"), True):
        with pytest.raises(ValueError):
            beat(v, 0, bad)


@pytest.mark.parametrize(
    ("minutes", "points"),
    [(0, 0), (-5, 0), (1, 0.03), (126, 3.5), (630, 17.5), (1260, 35), (5000, 35)],
)
def test_course_study_score(minutes, points):
    assert watch.course_study_score(minutes * 60) == points


def test_study_hours():
    assert watch.study_hours(0) == 0
    assert watch.study_hours(5400) == 1.5
    assert watch.study_hours(1260 * 60) == 21.0
