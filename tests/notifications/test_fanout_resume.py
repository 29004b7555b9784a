"""A large audience's fan-out survives its process: progress is stored with each batch, a stopped run
is resumed after its lease lapses, nobody is told twice, and two processes never run it at once.

A process killed mid-job is simulated by a BaseException (which the job's own `except Exception`
does not see, as it would not see SIGKILL) followed by a rollback of what was not committed."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from lms.activities import briefs
from lms.activities import services as announcements
from lms.core.db import utcnow
from lms.notifications import services
from lms.notifications.models import Notification, NotificationFanout


class Killed(BaseException):
    """The process stopped here."""


@pytest.fixture
def fanout_world(app, world, db, monkeypatch):
    """A county announcement whose fan-out was stored and queued, but not run yet; CHUNK 2, so the
    county's audience takes several batches."""
    app.config["NOTIFY_INLINE_MAX"] = 3
    started = []
    monkeypatch.setattr(services, "_start_task", lambda *a: started.append(a))
    monkeypatch.setattr(services, "CHUNK", 2)
    with app.test_request_context():
        announcements.post(world["county_admin"], world.county_a.context, "全县通知", "")
    assert len(started) == 1
    fanout = db.session.scalar(select(NotificationFanout))
    expected = services.members_under(world.county_a.context, exclude=world["county_admin"].id)
    assert len(expected) >= 5  # three batches at least
    yield world, fanout.id, expected
    app.config.pop("NOTIFY_INLINE_MAX", None)


def _told(db) -> list[int]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(Notification.user_id).where(Notification.kind == "announcement")))


def _fanout(db, fanout_id) -> NotificationFanout:
    db.session.expire_all()
    return db.session.get(NotificationFanout, fanout_id)


def _crash(db) -> None:
    """What the database does when the connection of a killed process drops: roll back."""
    db.session.rollback()
    db.session.remove()


def _lease_lapses(db, fanout_id) -> None:
    db.session.execute(update(NotificationFanout).where(NotificationFanout.id == fanout_id)
                       .values(lease_until=utcnow() - timedelta(seconds=1)))  # fmt: skip
    db.session.commit()


def test_a_run_killed_after_two_batches_is_resumed_and_tells_everyone_once(fanout_world, db, monkeypatch):
    world, fanout_id, expected = fanout_world
    real_deliver, calls = services.deliver, []

    def deliver(items):
        calls.append(len(items))
        real_deliver(items)
        if len(calls) == 2:
            raise Killed

    monkeypatch.setattr(services, "deliver", deliver)
    with pytest.raises(Killed):
        services.run_fanout(fanout_id)
    _crash(db)
    assert _told(db) == expected[:4]
    f = _fanout(db, fanout_id)
    assert (f.state, f.last_user_id, f.sent, f.attempts) == ("running", expected[3], 4, 0)
    assert f.claimed_by and f.lease_until > utcnow()

    # The dead run's lease still holds: nobody takes the job over yet.
    assert services.resume_fanouts(here=True) == []
    assert services.run_fanout(fanout_id) == 0
    _lease_lapses(db, fanout_id)
    monkeypatch.setattr(services, "deliver", real_deliver)
    assert services.resume_fanouts(here=True) == [fanout_id]
    told = _told(db)
    assert told == expected and len(told) == len(set(told))
    f = _fanout(db, fanout_id)
    assert (f.state, f.sent, f.claimed_by, f.error) == ("done", len(expected), None, None)
    assert f.finished_at is not None
    # Done is done: resuming or running it again tells nobody.
    assert services.resume_fanouts(here=True) == [] and services.run_fanout(fanout_id) == 0
    assert _told(db) == expected


def test_a_batch_inserted_but_not_committed_is_not_kept(app, fanout_world, db, monkeypatch):
    """Killed between the INSERT of a batch and its commit: the batch and the progress are one
    transaction, so neither stays, and the resumed run stores the batch once."""
    world, fanout_id, expected = fanout_world
    real_insert, calls = services._insert, []

    def insert(rows):
        ids = real_insert(rows)
        calls.append(ids)
        if len(calls) == 2:
            raise Killed
        return ids

    monkeypatch.setattr(services, "_insert", insert)
    with pytest.raises(Killed):
        services.run_fanout(fanout_id)
    _crash(db)
    assert _told(db) == expected[:2]
    assert _fanout(db, fanout_id).last_user_id == expected[1]
    _lease_lapses(db, fanout_id)
    monkeypatch.setattr(services, "_insert", real_insert)
    result = app.test_cli_runner().invoke(args=["lms", "resume-fanouts"])
    assert result.exit_code == 0 and "1 notification fan-out(s) resumed." in result.output
    assert _told(db) == expected
    assert _fanout(db, fanout_id).state == "done"


def test_an_exception_releases_the_lease_and_the_next_run_goes_on(fanout_world, db, monkeypatch):
    world, fanout_id, expected = fanout_world
    real_insert, calls = services._insert, []

    def insert(rows):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_insert(rows)

    monkeypatch.setattr(services, "_insert", insert)
    with pytest.raises(RuntimeError):
        services.run_fanout(fanout_id)
    f = _fanout(db, fanout_id)
    assert (f.state, f.claimed_by, f.sent) == ("running", None, 2)
    assert f.error == "RuntimeError: database went away" and f.lease_until <= utcnow()
    monkeypatch.setattr(services, "_insert", real_insert)
    # No waiting for a lease: the failed run gave it back.
    assert services.resume_fanouts(here=True) == [fanout_id]
    assert _told(db) == expected


def test_a_claimed_fan_out_is_refused_to_a_second_run(fanout_world, db):
    world, fanout_id, expected = fanout_world
    first = services.claim_fanout(fanout_id)
    assert first
    assert services.claim_fanout(fanout_id) is None
    assert services.run_fanout(fanout_id) == 0
    assert _told(db) == []
    # The first run stopped renewing its lease: a later run takes the job over...
    later = utcnow() + timedelta(seconds=services.FANOUT_LEASE_SECONDS + 1)
    second = services.claim_fanout(fanout_id, now=later)
    assert second and second != first
    # ...and the first run, if it was only slow, stores nothing more.
    assert services._store_batch(fanout_id, first, expected[:2], "announcement", "x", None, None) is None
    assert _told(db) == []
    assert services._store_batch(fanout_id, second, expected[:2], "announcement", "x", None, None)
    assert _told(db) == expected[:2]


def test_concurrent_claims_let_one_run_win(app, fanout_world, db):
    world, fanout_id, expected = fanout_world
    n = 4
    barrier, won, errors = threading.Barrier(n), [], []

    def claim():
        with app.app_context():
            try:
                barrier.wait(10)
                won.append(services.claim_fanout(fanout_id))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len([t for t in won if t]) == 1 and len(won) == n
    assert _fanout(db, fanout_id).attempts == 1


def test_a_fan_out_that_never_gets_on_is_given_up(fanout_world, db):
    world, fanout_id, expected = fanout_world
    db.session.execute(update(NotificationFanout).where(NotificationFanout.id == fanout_id)
                       .values(state="running", attempts=services.FANOUT_MAX_ATTEMPTS, claimed_by="x" * 32,
                               lease_until=utcnow() - timedelta(seconds=1)))  # fmt: skip
    db.session.commit()
    assert services.resume_fanouts(here=True) == []
    f = _fanout(db, fanout_id)
    assert f.state == "failed" and f.error
    assert _told(db) == []


def test_app_start_resumes_an_interrupted_fan_out(app, fanout_world, db, monkeypatch):
    from lms import create_app

    world, fanout_id, expected = fanout_world
    assert services.claim_fanout(fanout_id)  # a run that then died
    _lease_lapses(db, fanout_id)
    monkeypatch.undo()  # the new process runs its fan-outs as background tasks
    cfg = {k: v for k, v in app.config.items() if k.isupper()}
    cfg.update(MEDIA_REQUEUE_ON_START=True, NOTIFY_INLINE_MAX=3)
    started = create_app(cfg)
    # Not daemon threads: a short-lived process (a CLI command, cron's run-due) finishes the job
    # before it exits, rather than being cut off in the middle.
    threads = started.extensions["notify_fanouts"]
    assert len(threads) == 1 and not threads[0].daemon
    services.wait_fanouts(started)
    assert _told(db) == expected
    assert _fanout(db, fanout_id).state == "done"


def test_a_county_brief_is_fanned_out_in_the_background(app, world, db, monkeypatch):
    app.config["NOTIFY_INLINE_MAX"] = 3
    started = []
    monkeypatch.setattr(services, "_start_task", lambda *a: started.append(a))
    try:
        with app.test_request_context():
            brief = briefs.post(world["county_admin"], world.county_a.context, "东湖区简报", "<p>内容</p>")
    finally:
        app.config.pop("NOTIFY_INLINE_MAX", None)
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "brief")) == 0
    fn, *args = started[0]
    fn(*args)
    expected = services.members_under(world.county_a.context, exclude=world["county_admin"].id)
    db.session.expire_all()
    told = sorted(db.session.scalars(select(Notification.user_id).where(Notification.kind == "brief")))
    assert told == expected
    url = db.session.scalar(select(Notification.url).where(Notification.kind == "brief").limit(1))
    assert url == briefs.url_of(brief)
