"""The instant quiz 即时测评 does not give its answers away: every question must be answered, attempts
are capped and spaced, the key appears only after a pass or the last attempt, and the best counts."""

from datetime import timedelta

import pytest

from lms.core.db import utcnow
from lms.courses import services
from lms.courses.models import QuizAttempt
from lms.courses.watch_models import CourseProgress, LessonProgress
from lms.extensions import db


def _count(user=None) -> int:
    stmt = db.select(db.func.count()).select_from(QuizAttempt)
    if user is not None:
        stmt = stmt.where(QuizAttempt.user_id == user.id)
    return db.session.scalar(stmt)


@pytest.fixture
def quiz(world):
    admin = world["province_admin"]
    course = services.create_course(admin, world.province.context, {"title": "测评课程", "kind": "ethics",
                                                                     "hours": 1, "published": True})  # fmt: skip
    lesson = services.add_lesson(admin, course, "第一讲", "text", "<p>正文</p>")
    q1 = services.add_question(admin, lesson, "选B", "single", ["A项", "B项", "C项"], [1])
    q2 = services.add_question(admin, lesson, "选AC", "multiple", ["甲", "乙", "丙"], [0, 2])
    return lesson, q1, q2


def _form(q1, q2, a1, a2) -> dict:
    data = {}
    if a1 is not None:
        data[f"q{q1.id}"] = a1
    if a2 is not None:
        data[f"q{q2.id}"] = a2
    return data


def test_blank_or_partial_submission_is_refused_and_nothing_stored(app, world, quiz, login_as):
    lesson, q1, q2 = quiz
    c = login_as(world["teacher"])
    for data in ({}, _form(q1, q2, "1", None), _form(q1, q2, None, ["0"]), _form(q1, q2, "9", ["0"])):
        r = c.post(f"/courses/lessons/{lesson.id}/quiz", data=data)
        assert r.status_code == 400
        html = r.get_data(as_text=True)
        assert "请回答所有题目后再提交" in html
        assert "正确答案：" not in html and "quiz-key" not in html
    assert _count() == 0
    # What was ticked is kept on the refused page.
    r = c.post(f"/courses/lessons/{lesson.id}/quiz", data=_form(q1, q2, "1", None))
    assert f'id="q{q1.id}-1" required checked' in r.get_data(as_text=True)


def test_twenty_posts_make_at_most_the_cap_and_the_key_stays_hidden(app, world, quiz, login_as, monkeypatch):
    lesson, q1, q2 = quiz
    monkeypatch.setitem(app.config, "COURSE_QUIZ_MIN_INTERVAL_SECONDS", 0)
    c = login_as(world["teacher"])
    url = f"/courses/lessons/{lesson.id}/quiz"
    page = c.get(f"/courses/lessons/{lesson.id}").get_data(as_text=True)
    assert "quiz-key" not in page and "正确答案：" not in page
    c.post(url, data=_form(q1, q2, "0", ["1"]))  # 0 points
    page = c.get(f"/courses/lessons/{lesson.id}").get_data(as_text=True)
    assert "quiz-key" not in page  # not passed, attempts left: no key
    assert "剩余 2 次作答机会" in page and "作答次数：1/3" in page
    for _ in range(19):
        c.post(url, data=_form(q1, q2, "0", ["1"]))
    assert _count() == 3
    page = c.get(f"/courses/lessons/{lesson.id}").get_data(as_text=True)
    assert "quiz-key" in page and "正确答案：" in page and "没有剩余作答机会" in page
    assert f'action="/courses/lessons/{lesson.id}/quiz"' not in page  # no form any more
    r = c.post(url, data=_form(q1, q2, "1", ["0", "2"]), follow_redirects=True)
    assert "本次测评已结束" in r.get_data(as_text=True)
    assert _count() == 3


def test_minimum_interval_between_attempts(app, world, quiz, login_as):
    lesson, q1, q2 = quiz
    t = world["teacher"]
    services.submit_quiz(t, lesson, {q1.id: [0], q2.id: [1]})
    with pytest.raises(services.QuizWait) as err:
        services.submit_quiz(t, lesson, {q1.id: [0], q2.id: [1]})
    assert 1 <= err.value.seconds <= 20
    r = login_as(t).post(f"/courses/lessons/{lesson.id}/quiz", data=_form(q1, q2, "1", ["0", "2"]))
    assert r.status_code == 429 and "秒后再作答" in r.get_data(as_text=True)
    assert _count(t) == 1
    later = utcnow() + timedelta(seconds=21)
    assert services.submit_quiz(t, lesson, {q1.id: [1], q2.id: [0, 2]}, now=later).score == 100.0


def test_pass_shows_key_closes_the_quiz_and_best_score_counts(app, world, quiz, login_as, monkeypatch):
    lesson, q1, q2 = quiz
    monkeypatch.setitem(app.config, "COURSE_QUIZ_MIN_INTERVAL_SECONDS", 0)
    t = world["teacher"]
    c = login_as(t)
    c.get(f"/courses/lessons/{lesson.id}")  # opened: the text counts, the quiz not yet
    assert db.session.scalar(db.select(CourseProgress.lessons_completed).where(CourseProgress.user_id == t.id)) == 0
    services.submit_quiz(t, lesson, {q1.id: [1], q2.id: [0, 2]})  # 100
    state = services.quiz_state(t, lesson)
    assert state["passed"] and state["show_key"] and not state["open"] and state["best"].score == 100.0
    with pytest.raises(services.CourseError, match="quiz_closed"):
        services.submit_quiz(t, lesson, {q1.id: [0], q2.id: [1]})
    page = c.get(f"/courses/lessons/{lesson.id}").get_data(as_text=True)
    assert "已通过" in page and "正确答案：" in page and 'id="quiz-key"' in page
    db.session.expire_all()
    lp = db.session.scalar(db.select(LessonProgress).where(LessonProgress.user_id == t.id))
    assert lp.completed and lp.quiz_passed
    assert db.session.scalar(db.select(CourseProgress.lessons_completed).where(CourseProgress.user_id == t.id)) == 1


def test_best_of_the_attempts_counts(app, world, quiz, monkeypatch):
    lesson, q1, q2 = quiz
    monkeypatch.setitem(app.config, "COURSE_QUIZ_MIN_INTERVAL_SECONDS", 0)
    m = world["member"]
    services.submit_quiz(m, lesson, {q1.id: [1], q2.id: [0]})  # 50
    services.submit_quiz(m, lesson, {q1.id: [0], q2.id: [0]})  # 0
    state = services.quiz_state(m, lesson)
    assert state["best"].score == 50.0 and state["last"].score == 0.0 and not state["passed"]
    assert state["left"] == 1 and state["open"] and not state["show_key"]
    services.submit_quiz(m, lesson, {q1.id: [0], q2.id: [0]})
    state = services.quiz_state(m, lesson)
    assert state["best"].score == 50.0 and state["show_key"] and not state["open"]
    # The attempt number is unique: a racing duplicate cannot slip past the cap.
    assert [a.attempt_no for a in db.session.scalars(db.select(QuizAttempt).where(QuizAttempt.user_id == m.id))] == [
        1, 2, 3,
    ]  # fmt: skip


def test_cap_is_configurable(app, world, quiz, monkeypatch):
    lesson, q1, q2 = quiz
    monkeypatch.setitem(app.config, "COURSE_QUIZ_MIN_INTERVAL_SECONDS", 0)
    monkeypatch.setitem(app.config, "COURSE_QUIZ_MAX_ATTEMPTS", 1)
    t = world["teacher"]
    services.submit_quiz(t, lesson, {q1.id: [0], q2.id: [0]})
    with pytest.raises(services.CourseError, match="quiz_closed"):
        services.submit_quiz(t, lesson, {q1.id: [1], q2.id: [0, 2]})
    assert services.quiz_state(t, lesson)["show_key"]


def test_racing_submissions_cannot_pass_the_cap(app, world, quiz, monkeypatch):
    """Eight submissions at once (a double-clicking script): the attempt number is unique per teacher
    and quiz, so at most the cap is stored and the losers are told to wait."""
    from lms.courses.models import Lesson
    from tests.conftest import at_once

    lesson, q1, q2 = quiz
    monkeypatch.setitem(app.config, "COURSE_QUIZ_MIN_INTERVAL_SECONDS", 0)
    uid, lid, a = world["teacher"].id, lesson.id, {q1.id: [0], q2.id: [1]}
    db.session.commit()

    def submit():
        from lms.accounts.models import User

        try:
            return services.submit_quiz(db.session.get(User, uid), db.session.get(Lesson, lid), a).attempt_no
        except services.CourseError as err:
            return str(err)

    results = at_once(app, 8, submit)
    db.session.expire_all()
    numbers = [n for n in results if isinstance(n, int)]
    assert len(numbers) == len(set(numbers)) and 1 <= len(numbers) <= 3
    assert _count(world["teacher"]) == len(numbers)
    assert set(results) - set(numbers) <= {"quiz_wait", "quiz_closed"}
