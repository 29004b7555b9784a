"""A county's or province's announcement reaches everyone under it through a background job (the
request only counts the audience); a workshop's or school's audience is still notified inline."""

import os

import pytest
from sqlalchemy import func, select

from lms.activities.models import Announcement
from lms.extensions import socketio
from lms.notifications import services
from lms.notifications.models import Notification


def _told(db):
    db.session.expire_all()
    return list(db.session.scalars(select(Notification.user_id).where(Notification.kind == "announcement")))


@pytest.fixture
def small_inline(app):
    app.config["NOTIFY_INLINE_MAX"] = 3  # the test world's county has more than three people
    yield
    app.config.pop("NOTIFY_INLINE_MAX", None)


def test_small_audience_is_notified_inline(world, login_as, db, monkeypatch):
    started = []
    monkeypatch.setattr(services, "_start_task", lambda *a: started.append(a))
    host = login_as(world["host"])
    r = host.post(f"/workshops/{world.workshop_a.id}/announcements/new", data={"title": "坊内通知", "body": ""})
    assert r.status_code == 302
    assert started == []
    expected = services.members_under(world.workshop_a.context, exclude=world["host"].id)
    assert sorted(_told(db)) == expected and world["member"].id in expected


def test_large_audience_is_not_fanned_out_in_the_request(app, world, login_as, db, monkeypatch, small_inline):
    started = []
    monkeypatch.setattr(services, "_start_task", lambda *a: started.append(a))
    admin = login_as(world["county_admin"])
    r = admin.post(f"/regions/{world.county_a.id}/announcements/new", data={"title": "全县通知", "body": "内容"})
    assert r.status_code == 302
    # The request stored the announcement and queued one job, and told nobody itself.
    assert db.session.scalar(select(func.count(Announcement.id))) == 1
    assert _told(db) == []
    assert len(started) == 1
    expected = services.members_under(world.county_a.context, exclude=world["county_admin"].id)
    assert len(expected) > 3
    # The job, run: everyone under the county once, the author not, chunked like any notify().
    monkeypatch.setattr(services, "CHUNK", 2)
    fn, *args = started[0]
    fn(*args)
    told = _told(db)
    assert sorted(told) == expected and len(told) == len(set(told))
    assert world["county_admin"].id not in told and world["teacher_b"].id not in told
    texts = set(db.session.scalars(select(Notification.text).where(Notification.kind == "announcement")))
    assert texts == {"新公告：全县通知"}


def test_background_fan_out_reaches_stored_and_connected_users(app, world, login_as, db, small_inline):
    client = login_as(world["teacher"])
    with app.app_context():
        sc = socketio.test_client(app, namespace="/notify", flask_test_client=client)
    assert sc.is_connected("/notify")
    sc.get_received("/notify")
    admin = login_as(world["county_admin"])
    r = admin.post(f"/regions/{world.county_a.id}/announcements/new", data={"title": "全县教研", "body": ""})
    assert r.status_code == 302
    services.wait_fanouts(app)
    expected = services.members_under(world.county_a.context, exclude=world["county_admin"].id)
    assert sorted(_told(db)) == expected
    got = [e["args"][0] for e in sc.get_received("/notify") if e["name"] == "notification"]
    assert [g["text"] for g in got] == ["新公告：全县教研"]
    sc.disconnect("/notify")
    assert services.count_under(world.county_a.context, exclude=world["county_admin"].id) == len(expected)


@pytest.fixture
def rq_app(app):
    url = os.environ.get("LMS_TEST_RQ_REDIS_URL") or os.environ.get("LMS_REDIS_URL") or "redis://127.0.0.1:6379/11"
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    try:
        Redis.from_url(url).ping()
    except RedisDown:
        pytest.skip("no Redis for the RQ test")
    Redis.from_url(url).flushdb()
    from lms import create_app

    cfg = {k: v for k, v in app.config.items() if k.isupper()}
    cfg.update(MEDIA_QUEUE="rq", REDIS_URL=url, MEDIA_REQUEUE_ON_START=False, NOTIFY_INLINE_MAX=3)
    yield create_app(cfg)
    Redis.from_url(url).flushdb()


def test_with_rq_the_fan_out_is_a_job_on_the_media_queue(world, db, rq_app):
    from rq import SimpleWorker

    from lms.activities import services as announcements
    from lms.media import tasks

    with rq_app.test_request_context():
        queue = tasks.rq_queue(rq_app.config)
        worker = SimpleWorker([queue], connection=queue.connection)
        worker.register_birth()  # a worker listens: the job goes to it
        try:
            announcements.post(world["county_admin"], world.county_a.context, "全县通知", "")
            assert len(queue.job_ids) == 1
            assert _told(db) == []
        finally:
            worker.register_death()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    expected = services.members_under(world.county_a.context, exclude=world["county_admin"].id)
    assert sorted(_told(db)) == expected


def test_with_rq_but_no_worker_the_fan_out_runs_here(world, db, rq_app):
    """Nobody would ever run a job on a queue no worker listens to: the announcement still reaches
    everyone, from this process."""
    from lms.activities import services as announcements
    from lms.media import tasks

    with rq_app.test_request_context():
        announcements.post(world["county_admin"], world.county_a.context, "全县通知", "")
        assert tasks.rq_queue(rq_app.config).job_ids == []
        services.wait_fanouts(rq_app)
    expected = services.members_under(world.county_a.context, exclude=world["county_admin"].id)
    assert sorted(_told(db)) == expected


def test_with_rq_resume_leaves_a_queued_job_to_its_worker_and_requeues_a_lost_one(world, db, rq_app):
    from datetime import timedelta

    from rq import SimpleWorker
    from sqlalchemy import update

    from lms.activities import services as announcements
    from lms.core.db import utcnow
    from lms.media import tasks
    from lms.notifications.models import NotificationFanout

    with rq_app.test_request_context():
        queue = tasks.rq_queue(rq_app.config)
        worker = SimpleWorker([queue], connection=queue.connection)
        worker.register_birth()
        try:
            announcements.post(world["county_admin"], world.county_a.context, "全县通知", "")
            fanout_id = db.session.scalar(select(NotificationFanout.id))
            lapsed = update(NotificationFanout).values(lease_until=utcnow() - timedelta(seconds=1))
            db.session.execute(lapsed)
            db.session.commit()
            # RQ still holds the job for a live worker: not queued twice.
            assert services.resume_fanouts() == []
            assert queue.job_ids == [services.rq_fanout_id(fanout_id)]
            queue.connection.flushdb()  # Redis lost it
            worker.register_birth()
            assert services.resume_fanouts() == [fanout_id]
            assert queue.job_ids == [services.rq_fanout_id(fanout_id)]
        finally:
            worker.register_death()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    expected = services.members_under(world.county_a.context, exclude=world["county_admin"].id)
    assert sorted(_told(db)) == expected


def test_an_rq_job_queued_before_fan_outs_were_rows_still_runs(world, db, app):
    """A job from before the upgrade carries the payload itself: it is stored as a fan-out and run."""
    payload = {"context_id": world.county_a.context.id, "kind": "announcement", "text": "旧任务", "url": "/x",
               "actor_id": world["county_admin"].id}  # fmt: skip
    assert services.rq_run_fanout(payload) > 3
    expected = services.members_under(world.county_a.context, exclude=world["county_admin"].id)
    assert sorted(_told(db)) == expected
