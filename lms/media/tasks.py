"""Transcoding jobs: a MediaJob row per video, run by one background worker thread in this process.

Jobs survive a restart: when the app starts, queued and interrupted jobs go back on the queue (with
RQ: those RQ no longer holds, see requeue_unfinished). A running job is interrupted when the process
running it stopped refreshing its heartbeat_at (every MEDIA_JOB_STALE_SECONDS / 4): with several app
processes, one that starts (a gunicorn worker recycled) leaves the jobs the others are running alone.
An idle worker thread looks for interrupted jobs too, so a job is not stuck until the next start.
With several processes each may requeue the same rows; the claim in _run_job (an UPDATE ... WHERE
status='queued') makes sure only one of them runs a job. App start also purges chunked uploads
nobody resumed (storage.chunk_purge).

With REDIS_URL set (and MEDIA_QUEUE not "thread"), jobs go to the RQ queue "media" on Redis instead,
run by `rq worker media` processes (each job builds the app from the same LMS_* environment); the job row
stays the source of truth for status and progress. When a job finishes, `media_job_finished` is sent.
"""

import contextlib
import logging
import queue
import threading
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, update

from lms.core.db import schema_ready, utcnow
from lms.extensions import db
from lms.media import ffmpeg, storage
from lms.media.models import MediaJob, StoredFile
from lms.signals import media_job_finished

log = logging.getLogger(__name__)
#: Starts of one job in all: retries after a failure, and re-runs after an interruption.
MAX_ATTEMPTS = 3
#: MediaJob.error of a job given up after MAX_ATTEMPTS interrupted starts.
INTERRUPTED = "interrupted"
#: MediaJob.error holds a code (lms.media.ffmpeg.MediaError.code, INTERRUPTED, or "error" for an
#: unexpected exception); ffmpeg's own words go to the log only. A retry may get past these (space
#: freed, a process no longer killed); "unreadable" and "missing" files fail the same way again.
RETRYABLE = {"failed", "disk_full", INTERRUPTED, "error"}


def error_code(error: str | None) -> str:
    """The code of a failed job's error, also for rows written before errors were codes."""
    error = (error or "").strip()
    if error.startswith("not a"):
        return "unreadable"
    if error.startswith("file not found"):
        return "missing"
    if error.startswith("ffmpeg failed"):
        return ffmpeg.classify(error)
    if error.startswith("transcoding produced no output"):
        return "failed"
    return error.split(":", 1)[0] or "error"


def can_retry(job: MediaJob) -> bool:
    """Whether running the failed job again may help: attempts left, and not a file that cannot be read."""
    return job.status == "failed" and (job.attempts or 0) < MAX_ATTEMPTS and error_code(job.error) in RETRYABLE


class _Worker:
    def __init__(self, app):
        self.app = app
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()

    def put(self, job_id: int) -> None:
        self.idle.clear()
        self.queue.put(job_id)
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="media-worker", daemon=True)
                self.thread.start()

    def stop(self, timeout: float = 60) -> None:
        """End the thread after the jobs queued before (tests; a clean shutdown)."""
        with self.lock:
            thread = self.thread
        if thread is not None and thread.is_alive():
            self.queue.put(None)
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            try:
                job_id = self.queue.get(timeout=_stale_seconds(self.app.config))
            except queue.Empty:
                try:
                    with self.app.app_context():
                        for job_id in _claim_interrupted():
                            self.put(job_id)
                except Exception:  # noqa: BLE001 - the database may be away for a moment
                    log.exception("looking for interrupted media jobs failed")
                continue
            if job_id is None:  # stop()
                self.queue.task_done()
                return
            try:
                with self.app.app_context():
                    _run_job(job_id)
            except Exception:  # noqa: BLE001 - the worker must keep going
                log.exception("media job %s crashed", job_id)
            finally:
                self.queue.task_done()
                if self.queue.unfinished_tasks == 0:
                    self.idle.set()


def _worker(app=None) -> _Worker:
    app = app or current_app._get_current_object()
    w = app.extensions.get("media_worker")
    if w is None:
        w = app.extensions["media_worker"] = _Worker(app)
    return w


RQ_QUEUE = "media"


def queue_kind(config=None) -> str:
    """ "rq" or "thread": MEDIA_QUEUE, or when it is empty RQ wherever Redis is configured, so that
    a production deployment never transcodes inside its web workers by default."""
    config = config or current_app.config
    kind = (config.get("MEDIA_QUEUE") or "").strip().lower()
    if not kind:
        kind = "rq" if config.get("REDIS_URL") else "thread"
    return "rq" if kind == "rq" and config.get("REDIS_URL") else "thread"


def uses_rq(config=None) -> bool:
    return queue_kind(config) == "rq"


def rq_queue(config=None):
    from redis import Redis
    from rq import Queue

    config = config or current_app.config
    return Queue(RQ_QUEUE, connection=Redis.from_url(config["REDIS_URL"]))


def rq_job_id(job_id: int) -> str:
    """The RQ job id of a MediaJob: one per row, so a restart can look up what RQ knows about it."""
    return f"lms-media-{job_id}"


def _dispatch(job_id: int, app=None) -> None:
    config = app.config if app is not None else current_app.config
    if uses_rq(config):
        from rq import Worker

        queue = rq_queue(config)
        # Long videos: RQ's default timeout of 3 minutes would kill the transcode.
        queue.enqueue(rq_run_job, job_id, job_id=rq_job_id(job_id), job_timeout=6 * 3600,
                      result_ttl=3600, failure_ttl=7 * 86400)  # fmt: skip
        if not Worker.count(queue=queue):
            # RQ is the default wherever LMS_REDIS_URL is set: say why videos would wait forever.
            log.warning("media job %s is queued on RQ but no worker listens on queue %r: run `rq worker %s "
                        "--url $LMS_REDIS_URL` (README, Transcoding workers)", job_id, RQ_QUEUE, RQ_QUEUE)  # fmt: skip
    else:
        _worker(app).put(job_id)


def rq_alive(config, job_ids: list[int], rq_id=None) -> set[int]:
    """The MediaJobs RQ still holds: queued/scheduled/deferred, or started by a worker that is alive.
    (`rq_id` names the RQ job of another kind of row: lms.notifications resumes its fan-outs so.)

    A job whose worker died (killed, host rebooted) stays "started" in RQ until the worker's registry
    cleanup runs; it counts as dead here as soon as its worker is no longer registered.
    """
    from rq import Worker
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    rq_id = rq_id or rq_job_id
    queue = rq_queue(config)
    workers = {w.name for w in Worker.all(connection=queue.connection)}
    alive = set()
    for job_id in job_ids:
        try:
            job = Job.fetch(rq_id(job_id), connection=queue.connection)
        except NoSuchJobError:
            continue
        status = job.get_status(refresh=False)
        status = getattr(status, "value", status)
        if status in ("queued", "scheduled", "deferred") or (status == "started" and job.worker_name in workers):
            alive.add(job_id)
    return alive


def rq_run_job(job_id: int) -> None:
    """The RQ entry point: run one job in the current app context, or in a fresh app."""
    from flask import has_app_context

    if has_app_context():
        _run_job(job_id)
        return
    from lms import create_app

    with create_app().app_context():
        _run_job(job_id)


def enqueue(stored: StoredFile) -> MediaJob:
    """Create a job transcoding this stored video and commit it; the worker starts it soon."""
    job = MediaJob(stored_file_id=stored.id, status="queued", progress=0.0, attempts=0)
    db.session.add(job)
    db.session.commit()
    _dispatch(job.id)
    return job


def wait_idle(timeout: float = 60, app=None) -> bool:
    """Block until the worker has no job left (for tests and the CLI)."""
    return _worker(app).idle.wait(timeout)


def _stale_seconds(config) -> float:
    return float(config.get("MEDIA_JOB_STALE_SECONDS", 120))


def _interrupted(config):
    """Running jobs nobody refreshed within MEDIA_JOB_STALE_SECONDS (or from before heartbeats)."""
    cutoff = utcnow() - timedelta(seconds=_stale_seconds(config))
    return and_(MediaJob.status == "running", or_(MediaJob.heartbeat_at.is_(None), MediaJob.heartbeat_at < cutoff))


def _give_up_or_requeue(rows, condition) -> list[int]:
    """Interrupted jobs (rows of id, attempts) go back to "queued", or to "failed" once they have been
    started MAX_ATTEMPTS times (a video that kills the worker every time must not loop forever).
    `condition` is re-checked in the UPDATEs, so a row another process claimed meanwhile is left alone.
    Commits; returns the ids queued again."""
    again = [r.id for r in rows if (r.attempts or 0) < MAX_ATTEMPTS]
    given_up = [r.id for r in rows if (r.attempts or 0) >= MAX_ATTEMPTS]
    if again:
        db.session.execute(update(MediaJob).where(MediaJob.id.in_(again), condition).values(status="queued"))
    if given_up:
        db.session.execute(update(MediaJob).where(MediaJob.id.in_(given_up), condition)
                           .values(status="failed", error=f"{INTERRUPTED}: started {MAX_ATTEMPTS} times"))  # fmt: skip
    db.session.commit()
    if again:
        log.warning("media jobs %s were interrupted: queued again", again)
    for job_id in given_up:
        log.warning("media job %s was interrupted %d times: failed", job_id, MAX_ATTEMPTS)
        job = db.session.get(MediaJob, job_id)
        if job is not None and job.status == "failed":
            media_job_finished.send(job)
    return again


def _claim_interrupted() -> list[int]:
    """Mark interrupted jobs queued again (in-process queue), or failed after MAX_ATTEMPTS starts;
    returns the queued ones for this worker to put."""
    cond = _interrupted(current_app.config)
    rows = db.session.execute(db.select(MediaJob.id, MediaJob.attempts).where(cond)).all()
    ids = _give_up_or_requeue(rows, cond) if rows else []
    db.session.remove()
    return ids


class _Heartbeat:
    """Refreshes a running job's heartbeat_at from a side thread (ffmpeg may report no progress for a
    while), so other processes know the job is alive."""

    def __init__(self, app, job_id: int):
        self.app, self.job_id = app, job_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"media-job-{job_id}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        every = max(0.05, _stale_seconds(self.app.config) / 4)
        while not self.stop.wait(every):
            try:
                with self.app.app_context():
                    db.session.execute(update(MediaJob).where(MediaJob.id == self.job_id, MediaJob.status == "running")
                                       .values(heartbeat_at=utcnow()))  # fmt: skip
                    db.session.commit()
                    db.session.remove()
            except Exception:  # noqa: BLE001 - try again next time
                log.exception("media job %s: heartbeat failed", self.job_id)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def requeue_unfinished(app) -> int:
    """Put queued and interrupted (running) jobs back on the queue; returns how many.

    In-process queue: queued rows, and running rows whose process stopped refreshing them.
    RQ: the rows RQ no longer holds - never enqueued (Redis was down or flushed), failed by a crash,
    or started by a worker that died; a job a live worker is running or RQ still has queued is left
    alone. Several processes starting at once may enqueue the same row twice: the claim in _run_job
    lets only one run it.
    """
    with app.app_context():
        # `flask db upgrade` builds the app too: on a schema that is not current yet (no table, or a
        # column a newer migration adds) there is nothing to re-queue before the upgrade has run.
        if not schema_ready(MediaJob):
            return 0
        rq = uses_rq(app.config)
        # RQ knows which of its jobs are alive; the in-process queue asks the heartbeats.
        running = MediaJob.status == "running" if rq else _interrupted(app.config)
        unfinished = db.session.execute(
            db.select(MediaJob.id, MediaJob.status, MediaJob.attempts).where(or_(MediaJob.status == "queued", running))
            .order_by(MediaJob.id)
        ).all()  # fmt: skip
        alive = rq_alive(app.config, [r.id for r in unfinished]) if rq and unfinished else set()
        interrupted = [r for r in unfinished if r.status == "running" and r.id not in alive]
        again = set(_give_up_or_requeue(interrupted, running)) if interrupted else set()
        ids = [r.id for r in unfinished if r.id not in alive and (r.status == "queued" or r.id in again)]
        db.session.remove()
        if rq:
            from rq.exceptions import NoSuchJobError
            from rq.job import Job

            queue = rq_queue(app.config)
            for job_id in ids:
                with contextlib.suppress(NoSuchJobError):  # a failed or dead remnant under the same id
                    Job.fetch(rq_job_id(job_id), connection=queue.connection).delete()
                _dispatch(job_id, app)
            return len(ids)
    for job_id in ids:
        _worker(app).put(job_id)
    return len(ids)


def _run_job(job_id: int) -> None:
    claimed = db.session.execute(
        update(MediaJob).where(MediaJob.id == job_id, MediaJob.status == "queued")
        .values(status="running", attempts=MediaJob.attempts + 1, error=None, heartbeat_at=utcnow())
    ).rowcount  # fmt: skip
    db.session.commit()
    if not claimed:
        return
    heartbeat = _Heartbeat(current_app._get_current_object(), job_id)
    try:
        _transcode_claimed(job_id)
    finally:
        heartbeat.close()


def _transcode_claimed(job_id: int) -> None:
    job = db.session.get(MediaJob, job_id)
    config = current_app.config
    src = storage.absolute(config, job.stored_file.path)
    relout = f"hls/{job.stored_file_id}/{job.id}"
    last_saved = [0.0]

    def progress(pct: float) -> None:
        if pct - last_saved[0] >= 5 or pct >= 100:
            last_saved[0] = pct
            db.session.execute(update(MediaJob).where(MediaJob.id == job_id).values(progress=pct))
            db.session.commit()

    try:
        info = ffmpeg.probe(src)
        ffmpeg.transcode(src, storage.absolute(config, relout), progress, info=info)
    except Exception as err:  # noqa: BLE001 - recorded on the job
        db.session.rollback()
        job = db.session.get(MediaJob, job_id)
        job.status = "failed"
        # Only the code is kept for the uploader (worded by lms.media.services.job_error_message);
        # ffmpeg's English (with server paths) is for the administrator's log.
        job.error = err.code if isinstance(err, ffmpeg.MediaError) else "error"
        db.session.commit()
        log.warning("media job %s (file %s) failed: %s: %s", job_id, job.stored_file_id, job.error, err,
                    exc_info=not isinstance(err, ffmpeg.MediaError))  # fmt: skip
        media_job_finished.send(job)
        return
    job = db.session.get(MediaJob, job_id)
    job.status, job.progress, job.output_dir, job.duration = "done", 100.0, relout, info.duration
    db.session.commit()
    media_job_finished.send(job)


def retry(job: MediaJob) -> bool:
    """Queue a failed job again, up to MAX_ATTEMPTS starts in all; False when it is not failed (any
    more: two clicks at once queue it once), has had its attempts, or failed on an unreadable file."""
    if error_code(job.error) not in RETRYABLE:
        return False
    queued = db.session.execute(
        update(MediaJob).where(MediaJob.id == job.id, MediaJob.status == "failed", MediaJob.attempts < MAX_ATTEMPTS)
        .values(status="queued", progress=0.0)
    ).rowcount  # fmt: skip
    db.session.commit()
    if not queued:
        return False
    if uses_rq():
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        with contextlib.suppress(NoSuchJobError):  # the finished RQ job of the failed run, under the same id
            Job.fetch(rq_job_id(job.id), connection=rq_queue().connection).delete()
    _dispatch(job.id)
    return True
