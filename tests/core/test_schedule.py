"""lms.core.schedule: periodic tasks claimed once across processes, on the real database."""

import threading
from datetime import timedelta

import pytest

from lms.core import schedule
from lms.core.db import utcnow
from lms.core.schedule import ScheduledTask, claim, run_due
from lms.extensions import db
from tests.conftest import at_once


@pytest.fixture
def tasks(app, db):
    """Replaces the app's registered tasks for one test, and puts them back."""
    sched = schedule._schedule(app)
    before = dict(sched.tasks)
    sched.tasks.clear()
    yield sched
    sched.stop()
    sched.thread = None
    sched.tasks.clear()
    sched.tasks.update(before)


def test_the_domains_register_their_periodic_work(app):
    names = {t.name: t.seconds for t in schedule.tasks(app)}
    assert names["homework.tick"] == 300
    assert names["activities.announce_opened"] == 300
    assert names["media.purge_uploads"] == 6 * 3600


def test_a_run_is_claimed_once_per_period(db):
    now = utcnow()
    assert claim("t", 300, now) is True
    assert claim("t", 300, now) is False
    assert claim("t", 300, now + timedelta(seconds=299)) is False
    assert claim("t", 300, now + timedelta(seconds=300)) is True
    assert db.session.get(ScheduledTask, "t").last_started_at == now + timedelta(seconds=300)


def test_concurrent_claims_have_one_winner(app, db):
    """Several processes (here threads, each with its own connection) at the same moment: one runs."""
    now = utcnow()
    assert sorted(at_once(app, 4, lambda: claim("race", 60, now))) == [False, False, False, True]


def test_run_due_runs_what_is_due_and_records_failures(app, tasks):
    ran = []
    schedule.every(app, "a", 60, lambda: ran.append("a"))
    schedule.every(app, "b", 3600, lambda: ran.append("b"))

    def broken():
        db.session.add(ScheduledTask(name="half-written"))
        db.session.flush()
        raise RuntimeError("gateway down\nsecond line")

    schedule.every(app, "broken", 60, broken)
    now = utcnow()
    assert run_due(app, now) == {"a": "ok", "b": "ok", "broken": "RuntimeError: gateway down"}
    assert ran == ["a", "b"]
    # The failed task's own writes were rolled back; the others' results stay.
    assert db.session.get(ScheduledTask, "half-written") is None
    row = db.session.get(ScheduledTask, "broken")
    assert row.last_error == "RuntimeError: gateway down" and row.last_finished_at is not None
    assert db.session.get(ScheduledTask, "a").last_error is None
    # Two minutes later only the one-minute tasks are due again; forced, all of them.
    assert set(run_due(app, now + timedelta(minutes=2))) == {"a", "broken"}
    assert set(run_due(app, now + timedelta(minutes=2), force=True)) == {"a", "b", "broken"}
    assert ran == ["a", "b", "a", "a", "b"]


def test_the_thread_runs_tasks_on_its_own(app, tasks):
    ran = threading.Event()
    schedule.every(app, "ping", 3600, ran.set)
    app.config["SCHEDULER_TICK_SECONDS"] = 0.2
    try:
        tasks.start()
        assert ran.wait(20), "the scheduler thread did not run the due task"
    finally:
        app.config["SCHEDULER_TICK_SECONDS"] = 60
        tasks.stop()
    assert not tasks.thread.is_alive()
    db.session.rollback()
    assert db.session.get(ScheduledTask, "ping").last_finished_at is not None


def test_run_due_command(app, tasks):
    schedule.every(app, "cli", 600, lambda: None)
    runner = app.test_cli_runner()
    assert "cli: ok" in runner.invoke(args=["lms", "run-due"]).output
    assert "nothing due" in runner.invoke(args=["lms", "run-due"]).output
    assert "cli: ok" in runner.invoke(args=["lms", "run-due", "--force"]).output


def test_scheduler_is_off_under_test_config(app):
    assert app.config["SCHEDULER"] is False
    # The requests other tests made started no thread.
    assert schedule._schedule(app).thread is None or not schedule._schedule(app).thread.is_alive()


def test_claim_once_has_one_winner_across_threads(app, db):
    from lms.core.schedule import claim_once

    results = at_once(app, 4, lambda: claim_once("reminder:1:submission"))
    assert sorted(results) == [False, False, False, True]
    assert claim_once("reminder:1:submission") is False
    assert claim_once("reminder:1:review") is True
