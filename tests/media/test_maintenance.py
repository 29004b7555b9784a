"""Abandoned chunked uploads are purged; unfinished transcoding jobs resume on RQ after a restart."""

import json
import os
import time

import pytest

from lms import create_app
from lms.media import purge_abandoned_uploads, storage, tasks
from lms.media.models import MediaJob
from tests.media.test_tasks import _reload, _stored

DAY = 86400


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def _upload(config, data=b"x" * 10, age=0.0):
    upload_id = storage.chunk_begin(config, {"filename": "v.mp4"})
    part = storage.tmp_dir(config) / f"chunk-{upload_id}.part"
    part.write_bytes(data)
    if age:
        meta = storage.chunk_state(config, upload_id)[0]
        meta["created"] -= age
        part.with_suffix(".json").write_text(json.dumps(meta))
        _age(part, age)
    return upload_id


def test_purge_removes_only_uploads_nobody_resumed(app):
    config = app.config
    old = _upload(config, age=4 * DAY)
    fresh = _upload(config)
    resumed = _upload(config, age=4 * DAY)
    # A chunk arrived an hour ago: begun long ago but still alive.
    _age(storage.tmp_dir(config) / f"chunk-{resumed}.part", 3600)
    orphan = storage.tmp_dir(config) / "chunk-0123456789abcdef0123456789abcdef.part"
    orphan.write_bytes(b"left by a crash after chunk_take")
    _age(orphan, 4 * DAY)
    try:
        assert purge_abandoned_uploads(config) == 2
        assert storage.chunk_state(config, old) is None
        assert storage.chunk_state(config, fresh) is not None
        assert storage.chunk_state(config, resumed) is not None
        assert not orphan.exists()
    finally:
        storage.chunk_discard(config, fresh)
        storage.chunk_discard(config, resumed)


def test_purge_command_and_app_start(app):
    config = app.config
    old = _upload(config, age=2 * 3600)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lms", "purge-uploads", "--max-age-hours", "1"])
    assert result.exit_code == 0, result.output
    assert "1 abandoned upload(s) removed" in result.output
    assert storage.chunk_state(config, old) is None
    # At app start (with the default age: 72 h).
    old = _upload(config, age=4 * DAY)
    create_app({k: v for k, v in config.items() if k.isupper()})
    assert storage.chunk_state(config, old) is None


# --- RQ --------------------------------------------------------------------------------------------


@pytest.fixture
def rq_app(app):
    url = os.environ.get("LMS_TEST_RQ_REDIS_URL", "redis://127.0.0.1:6379/13")
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    try:
        Redis.from_url(url).ping()
    except RedisDown:
        pytest.skip("no Redis for the RQ test")
    Redis.from_url(url).flushdb()
    cfg = {k: v for k, v in app.config.items() if k.isupper()}
    cfg.update(MEDIA_QUEUE="rq", REDIS_URL=url, MEDIA_REQUEUE_ON_START=False)
    rq = create_app(cfg)
    yield rq
    Redis.from_url(url).flushdb()


def _restart(rq_app):
    """What init_app does when a process with these settings starts."""
    return tasks.requeue_unfinished(rq_app)


def _drain(rq_app):
    from rq import SimpleWorker

    with rq_app.app_context():
        queue = tasks.rq_queue(rq_app.config)
        SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_rq_restart_requeues_what_rq_lost_and_leaves_what_it_holds(app, db, clips, rq_app):
    from rq.job import Job

    with rq_app.app_context():
        queue = tasks.rq_queue(rq_app.config)
        # Never reached Redis (it was down, or flushed since).
        lost = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="queued")
        # Running when its worker was killed: RQ still says "started", by a worker that is gone.
        killed = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="running", attempts=1)
        # Properly queued on RQ: must not be queued a second time.
        waiting = MediaJob(stored_file_id=_stored(app, db, clips["mute"]).id, status="queued")
        db.session.add_all([lost, killed, waiting])
        db.session.commit()
        ids = lost.id, killed.id, waiting.id
        tasks._dispatch(waiting.id, rq_app)
        dead = queue.enqueue(tasks.rq_run_job, killed.id, job_id=tasks.rq_job_id(killed.id))
        queue.remove(dead)
        dead.set_status("started")
        dead.worker_name = "gone-worker"
        dead.save()

        assert _restart(rq_app) == 2
        assert _reload(db, killed.id).status == "queued"
        assert sorted(queue.job_ids) == sorted(tasks.rq_job_id(i) for i in ids)
        # A second process starting now finds all three held by RQ: nothing is queued twice.
        assert _restart(rq_app) == 0
        assert len(queue.job_ids) == 3
        assert Job.fetch(tasks.rq_job_id(waiting.id), connection=queue.connection).get_status() == "queued"

    _drain(rq_app)
    for job_id in ids:
        job = _reload(db, job_id)
        assert job.status == "done", (job_id, job.status, job.error)
    assert (_reload(db, ids[1]).attempts, _reload(db, ids[0]).attempts) == (2, 1)


def test_the_queue_is_rq_wherever_redis_is_configured():
    """Production with LMS_REDIS_URL transcodes in `rq worker media`, never in gunicorn's web workers,
    unless LMS_MEDIA_QUEUE says otherwise."""
    assert tasks.queue_kind({"MEDIA_QUEUE": "", "REDIS_URL": ""}) == "thread"
    assert tasks.queue_kind({"MEDIA_QUEUE": "", "REDIS_URL": "redis://x"}) == "rq"
    assert tasks.queue_kind({"MEDIA_QUEUE": "thread", "REDIS_URL": "redis://x"}) == "thread"
    assert tasks.queue_kind({"MEDIA_QUEUE": "rq", "REDIS_URL": ""}) == "thread"  # nothing to queue on
    from lms.config import Config

    assert Config.MEDIA_QUEUE == ""


def test_the_documented_rq_worker_command_runs_a_job(app, db, clips, rq_app, caplog):
    """`rq worker media --url $LMS_REDIS_URL` (README, "Transcoding workers"), as a real process that
    builds the app from the same LMS_* environment."""
    import subprocess
    import sys
    from pathlib import Path

    job = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="queued")
    db.session.add(job)
    db.session.commit()
    tasks._dispatch(job.id, rq_app)
    # No worker yet: the log says what to run.
    assert any("no worker listens" in r.getMessage() and "rq worker media" in r.getMessage() for r in caplog.records)
    cfg = rq_app.config
    env = {**os.environ, "LMS_DATABASE_URL": cfg["DATABASE_URL"], "LMS_REDIS_URL": cfg["REDIS_URL"],
           "LMS_MEDIA_ROOT": cfg["MEDIA_ROOT"], "LMS_SECRET_KEY": cfg["SECRET_KEY"], "LMS_SCHEDULER": "0",
           "LMS_SEARCH_INDEX_DIR": "memory"}  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    rq = Path(sys.executable).parent / "rq"
    proc = subprocess.run([str(rq), "worker", "media", "--burst", "--url", cfg["REDIS_URL"]], cwd=root, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    job = _reload(db, job.id)
    assert (job.status, job.attempts) == ("done", 1), proc.stderr[-2000:]
