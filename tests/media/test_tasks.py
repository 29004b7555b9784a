import shutil
import time
from datetime import timedelta

from lms import create_app
from lms.core.db import utcnow
from lms.media import storage, tasks
from lms.media.models import MediaJob, StoredFile


def _stored(app, db, src, purpose="video"):
    relpath = storage.new_relpath(purpose, src.suffix)
    dest = storage.root(app.config) / relpath
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest)
    stored = StoredFile(purpose=purpose, path=relpath, filename=src.name, mime="video/mp4",
                        size=dest.stat().st_size, sha256="0" * 64)  # fmt: skip
    db.session.add(stored)
    db.session.commit()
    return stored


def _reload(db, job_id):
    db.session.expire_all()
    return db.session.get(MediaJob, job_id)


def test_job_transcodes_in_the_background(app, db, clips):
    job = tasks.enqueue(_stored(app, db, clips["small"]))
    assert tasks.wait_idle(60)
    job = _reload(db, job.id)
    assert (job.status, job.progress, job.attempts, job.error) == ("done", 100.0, 1, None)
    assert abs(job.duration - 3) < 0.2
    out = storage.absolute(app.config, job.output_dir)
    for name in ("master.m3u8", "poster.jpg", "video.mp4", "240p/index.m3u8"):
        assert (out / name).is_file()


def test_a_non_video_fails_with_a_clear_error(app, db, tmp_path):
    txt = tmp_path / "notes.mp4"
    txt.write_text("hello\n" * 100)
    job = tasks.enqueue(_stored(app, db, txt))
    assert tasks.wait_idle(60)
    job = _reload(db, job.id)
    assert (job.status, job.error, job.output_dir) == ("failed", "unreadable", None)
    # A file ffmpeg cannot read fails the same way again: no retry.
    assert not tasks.can_retry(job) and not tasks.retry(job)
    assert _reload(db, job.id).status == "failed"


def test_a_transient_failure_may_be_retried(app, db, clips, monkeypatch):
    from lms.media import ffmpeg

    real, runs = ffmpeg.transcode, []

    def killed_once(*args, **kwargs):
        runs.append(1)
        if len(runs) == 1:
            raise ffmpeg.MediaError("ffmpeg failed: Killed", "failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(ffmpeg, "transcode", killed_once)
    job = tasks.enqueue(_stored(app, db, clips["small"]))
    assert tasks.wait_idle(60)
    job = _reload(db, job.id)
    assert (job.status, job.error) == ("failed", "failed") and tasks.can_retry(job)
    assert tasks.retry(job) and tasks.wait_idle(60)
    job = _reload(db, job.id)
    assert (job.status, job.attempts, job.error) == ("done", 2, None)


def test_error_codes_of_older_rows():
    """Rows written before errors were codes (ffmpeg's English) map onto the same codes."""
    assert tasks.error_code("not a readable video: x.mp4: Invalid data found when processing input") == "unreadable"
    assert tasks.error_code("ffmpeg failed: No space left on device") == "disk_full"
    assert tasks.error_code("ffmpeg failed: Conversion failed!") == "failed"
    assert tasks.error_code("file not found") == "missing"
    assert tasks.error_code(f"{tasks.INTERRUPTED}: started 3 times") == tasks.INTERRUPTED
    assert tasks.error_code(None) == "error"


def test_unfinished_jobs_survive_a_restart(app, db, clips):
    # A previous process died: one job was running, one still queued; a finished one stays untouched.
    interrupted = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="running", attempts=1,
                           progress=40.0)  # fmt: skip
    waiting = MediaJob(stored_file_id=_stored(app, db, clips["mute"]).id, status="queued")
    finished = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="done", progress=100.0,
                        attempts=1, output_dir="hls/x/y")  # fmt: skip
    db.session.add_all([interrupted, waiting, finished])
    db.session.commit()
    ids = interrupted.id, waiting.id, finished.id

    restarted = create_app({k: v for k, v in app.config.items() if k.isupper()})  # init_app re-queues
    assert tasks.wait_idle(120, app=restarted)
    interrupted, waiting, finished = (_reload(db, i) for i in ids)
    assert (interrupted.status, interrupted.attempts) == ("done", 2)
    assert (waiting.status, waiting.attempts) == ("done", 1)
    assert (finished.status, finished.output_dir, finished.attempts) == ("done", "hls/x/y", 1)
    assert (storage.absolute(app.config, waiting.output_dir) / "360p" / "index.m3u8").is_file()


def test_a_restart_leaves_the_jobs_other_processes_are_running(app, db, clips):
    """Several app processes: one that starts (a recycled gunicorn worker) must not run again what
    another process is transcoding right now (its heartbeat is fresh)."""
    now = utcnow()
    long_ago = now - timedelta(seconds=app.config["MEDIA_JOB_STALE_SECONDS"] + 5)
    busy = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="running", attempts=1,
                    progress=30.0, heartbeat_at=now)  # fmt: skip
    dead = MediaJob(stored_file_id=_stored(app, db, clips["mute"]).id, status="running", attempts=1,
                    progress=60.0, heartbeat_at=long_ago)  # fmt: skip
    db.session.add_all([busy, dead])
    db.session.commit()
    ids = busy.id, dead.id
    assert tasks.requeue_unfinished(app) == 1
    assert tasks.wait_idle(120)
    busy, dead = (_reload(db, i) for i in ids)
    assert (busy.status, busy.attempts, busy.progress, busy.output_dir) == ("running", 1, 30.0, None)
    assert (dead.status, dead.attempts) == ("done", 2)


def test_a_running_job_keeps_its_heartbeat_fresh(app, db, clips, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_JOB_STALE_SECONDS", 0.4)  # refreshed every 0.1 s
    seen = []
    real = tasks.ffmpeg.transcode

    def slow_transcode(*args, **kwargs):
        # Another session, as another process would look: the job's heartbeat moves while it runs.
        with app.app_context():
            for _ in range(8):
                seen.append(db.session.scalar(db.select(MediaJob.heartbeat_at).where(MediaJob.status == "running")))
                db.session.rollback()
                time.sleep(0.1)
            db.session.remove()
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.ffmpeg, "transcode", slow_transcode)
    job = tasks.enqueue(_stored(app, db, clips["small"]))
    assert tasks.wait_idle(120)
    assert _reload(db, job.id).status == "done"
    assert None not in seen and len(set(seen)) >= 3, seen


def test_an_idle_worker_picks_up_interrupted_jobs(app, db, clips):
    """A job whose process died is queued again without waiting for the next app start."""
    config = {k: v for k, v in app.config.items() if k.isupper()}
    worker_app = create_app({**config, "MEDIA_JOB_STALE_SECONDS": 0.5})
    assert tasks.wait_idle(10, app=worker_app)
    tasks._worker(worker_app).put(-1)  # no such job: starts the worker thread, which then idles
    assert tasks.wait_idle(10, app=worker_app)
    try:
        job = MediaJob(stored_file_id=_stored(app, db, clips["mute"]).id, status="running", attempts=1,
                       heartbeat_at=utcnow())  # fmt: skip
        db.session.add(job)
        db.session.commit()
        deadline = time.time() + 60
        while _reload(db, job.id).status != "done" and time.time() < deadline:
            time.sleep(0.2)
        job = _reload(db, job.id)
        assert (job.status, job.attempts) == ("done", 2)
    finally:
        tasks._worker(worker_app).stop()  # its 0.5-second sweeps must not reach other tests' jobs


def test_a_job_interrupted_max_attempts_times_fails_instead_of_running_again(app, db, clips):
    """A video that takes the worker down every time (killed, out of memory) must not loop forever."""
    stale = utcnow() - timedelta(seconds=app.config["MEDIA_JOB_STALE_SECONDS"] + 5)
    worn = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="running",
                    attempts=tasks.MAX_ATTEMPTS, heartbeat_at=stale)  # fmt: skip
    once_more = MediaJob(stored_file_id=_stored(app, db, clips["mute"]).id, status="running",
                         attempts=tasks.MAX_ATTEMPTS - 1, heartbeat_at=stale)  # fmt: skip
    db.session.add_all([worn, once_more])
    db.session.commit()
    ids = worn.id, once_more.id
    assert tasks.requeue_unfinished(app) == 1
    assert tasks.wait_idle(120)
    worn, once_more = (_reload(db, i) for i in ids)
    assert (worn.status, worn.attempts, worn.output_dir) == ("failed", tasks.MAX_ATTEMPTS, None)
    assert worn.error.startswith(tasks.INTERRUPTED)
    assert (once_more.status, once_more.attempts) == ("done", tasks.MAX_ATTEMPTS)
    assert not tasks.retry(worn)  # no attempts left


def test_the_idle_sweep_gives_up_too(app, db, clips):
    stale = utcnow() - timedelta(seconds=app.config["MEDIA_JOB_STALE_SECONDS"] + 5)
    job = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="running",
                   attempts=tasks.MAX_ATTEMPTS, heartbeat_at=stale)  # fmt: skip
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    with app.app_context():
        assert tasks._claim_interrupted() == []
    job = _reload(db, job_id)
    assert (job.status, job.attempts) == ("failed", tasks.MAX_ATTEMPTS)


def test_two_retries_at_once_queue_the_job_once(app, db, clips):
    from tests.conftest import at_once

    # A transient failure (ffmpeg killed): retrying may help.
    job = MediaJob(stored_file_id=_stored(app, db, clips["small"]).id, status="failed", attempts=1, error="failed")
    db.session.add(job)
    db.session.commit()
    job_id = job.id

    assert sorted(at_once(app, 2, lambda: tasks.retry(db.session.get(MediaJob, job_id)))) == [False, True]
    assert tasks.wait_idle(60)
    assert _reload(db, job_id).attempts == 2
