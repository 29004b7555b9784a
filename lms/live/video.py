"""Live video of a session: the host's chunks into the ffmpeg live-HLS adapter (lms.media.live_hls),
the state on the session row, and the VOD replay when the session ends.

video_status: none → live (ffmpeg writing) ⇄ paused (no chunk for a while, ffmpeg closed; a new
recording continues the playlist) → processing → ready (the replay) | failed.

Several processes (README, "Live Q&A at scale"): a broadcast's ffmpeg runs in the process that got
its first chunk, normally a live_server process through the host's socket, and only there:

- that process holds an exclusive lock on `live/<id>.lock` while its ffmpeg runs, so a chunk that
  reaches another process (an HTTP ingest request routed elsewhere) is refused ("elsewhere") instead
  of starting a second ffmpeg on the same files;
- its watchdog finishes ffmpeg when the database says the session ended, whoever ended it (the HTTP
  form on a gunicorn worker, the scheduler), and closes it when no chunk came for
  LIVE_INGEST_IDLE_SECONDS (the host closed the tab): "paused";
- a session that ends while nobody holds the lock (paused, or its process died) gets its replay
  from the process that ended it, or from the scheduler (`finish_orphans`).
"""

import logging
import os
import shutil
import threading
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from lms.extensions import db
from lms.live import services
from lms.live.models import CLOSED_STATUSES, LiveSession
from lms.live.services import LiveError
from lms.media import live_hls, storage

try:
    import fcntl
except ImportError:  # not POSIX: one process only, nothing to lock against
    fcntl = None

log = logging.getLogger(__name__)

MAX_CHUNK = 4 * 1024 * 1024

_lock = threading.Lock()  # guards _running; each broadcast has its own lock for its ffmpeg


class _Broadcast:
    """This process's ffmpeg for one session, with the file lock that says it owns it."""

    def __init__(self, session_id: int, transcoder: live_hls.LiveTranscoder, lock_file):
        self.session_id = session_id
        self.tr = transcoder
        self.lock_file = lock_file
        self.lock = threading.Lock()
        self.last_chunk = time.monotonic()
        self.rec: int | None = None  # the host's recording now fed to ffmpeg (see feed)
        self.owner: int | None = None  # the host broadcasting: others are refused until idle
        self.done = False  # popped from _running: a late chunk must not reach it

    def release(self) -> None:
        if self.lock_file is not None:
            self.lock_file.close()  # closing the file drops the lock
            self.lock_file = None


_running: dict[int, _Broadcast] = {}


def relpath(session_id: int) -> str:
    return f"live/{session_id}"


def playlist_relpath(session: LiveSession) -> str | None:
    return f"{session.video_path}/{live_hls.PLAYLIST}" if session.video_path else None


def _out(session_id: int) -> Path:
    return storage.root(current_app.config) / relpath(session_id)


def _lock_path(session_id: int) -> Path:
    return storage.root(current_app.config) / f"{relpath(session_id)}.lock"


def _claim(session_id: int):
    """The ownership lock of a session's broadcast (an open file), or None when another process
    holds it. Beside the directory, not in it: a stale directory is removed under the lock."""
    path = _lock_path(session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+b")  # noqa: SIM115 - held open as long as the broadcast runs
    if fcntl is None:
        return f
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    return f


def container_of(mime: str | None) -> str:
    """The container of a MediaRecorder's type: Safari records fragmented MP4, the others WebM."""
    mime = (mime or "").strip().lower()
    if not mime or mime.startswith("video/webm") or mime.startswith("audio/webm"):
        return "webm"
    if mime.startswith("video/mp4") or mime.startswith("audio/mp4"):
        return "mp4"
    raise LiveError("unsupported_type")


def _idle() -> float:
    return float(current_app.config["LIVE_INGEST_IDLE_SECONDS"])


def feed(session: LiveSession, chunk: bytes, index: int | None = None, rec: int | None = None, user=None,
         container: str | None = None) -> dict:  # fmt: skip
    """One WebM chunk from the host: `index` its order within its recording (from 0), `rec` the
    recording (each MediaRecorder the host's page starts has a greater number). Starts ffmpeg on
    the first chunk; a new recording (camera restarted, page reloaded) closes the old ffmpeg and
    continues the playlist; chunks of an older recording are dropped.

    Only the first chunk of a recording carries the WebM header: a recording cannot start here
    from a later chunk (after a pause, or its process stopped), and LiveError("restart") asks the
    host's page to start a new recording.

    Only a live session is broadcast ("not_live": the host goes live first; a camera test before
    that would reach the viewers and the replay). One host owns a broadcast, `user`, the one whose
    chunks started it: another host's chunks are refused ("other_host") until the owner stops
    (release) or sends nothing for LIVE_INGEST_IDLE_SECONDS. `container` is the recorder's type
    (webm, or mp4 from Safari), read when a recording starts."""
    if session.status in CLOSED_STATUSES:
        raise LiveError("closed")
    if session.status != "live":
        raise LiveError("not_live")
    if not chunk or len(chunk) > MAX_CHUNK:
        raise LiveError("invalid")
    fmt = container_of(container)
    uid = getattr(user, "id", user)
    out = _out(session.id)
    with _lock:
        b = _running.get(session.id)
        started = b is None
        if started:
            lock_file = _claim(session.id)
            if lock_file is None:
                raise LiveError("elsewhere")  # another process runs this broadcast's ffmpeg
            if index not in (0, None):
                lock_file.close()
                raise LiveError("restart")
            # Continue the playlist only if this session already recorded (paused, the app restarted
            # mid-broadcast); anything else in the directory is stale (e.g. a reused id after a
            # database reset) and would be replayed as part of this session.
            append = session.video_path is not None and (out / live_hls.PLAYLIST).is_file()
            try:
                if not append and out.exists():
                    shutil.rmtree(out)
                b = _Broadcast(session.id, live_hls.LiveTranscoder(out, append=append, container=fmt), lock_file)
            except Exception:
                lock_file.close()
                raise
            _running[session.id] = b
    if started:
        _watchdog.ensure(current_app._get_current_object())
    with b.lock:
        if b.done:
            raise LiveError("closed")
        taken_over = False
        if not started and uid != b.owner:
            if time.monotonic() - b.last_chunk <= _idle():
                raise LiveError("other_host")
            taken_over = True  # the owner went quiet: this host's recording continues the playlist
        if not taken_over and rec is not None and b.rec is not None and rec < b.rec:
            return {"written": b.tr.written}  # a late chunk of the recording that was replaced
        if started:
            b.rec, b.owner = rec, uid
        elif taken_over or (rec is not None and rec != b.rec) or (rec is None and index == 0 and b.tr.written > 0):
            # A new recording (its chunks may come before its chunk 0; the new ffmpeg waits for it):
            # close the old ffmpeg, then continue the playlist after a discontinuity.
            try:
                b.tr.finish(timeout=20, vod=False)
            except Exception:  # noqa: BLE001 - a broken previous run must not stop the new one
                log.exception("restarting the broadcast of session %s", session.id)
            b.tr = live_hls.LiveTranscoder(out, append=True, container=fmt)
            b.rec, b.owner = rec, uid
        b.last_chunk = time.monotonic()
        idx = index if index is not None else b.tr._next
        written = b.tr.feed(int(idx), chunk)
    if session.video_status != "live":

        def work():
            # Conditional: a chunk racing the end of the session must not mark it live again.
            done = db.session.execute(
                update(LiveSession)
                .where(LiveSession.id == session.id, LiveSession.video_status != "live",
                       LiveSession.status.not_in(CLOSED_STATUSES))
                .values(video_status="live", video_path=relpath(session.id))
                .execution_options(synchronize_session=False)
            ).rowcount  # fmt: skip
            return None, [services.record(session.id, "video.status", {"video": "live"})] if done else []

        services._write(work)
        db.session.expire(session)
    return {"written": written}


def release(session: LiveSession, user) -> dict:
    """The owner stopped the camera: close its ffmpeg now ("paused"), so another host may start
    at once instead of after LIVE_INGEST_IDLE_SECONDS. Nothing to do for anyone else."""
    uid = getattr(user, "id", user)
    with _lock:
        b = _running.get(session.id)
        if b is None or b.owner != uid:
            return {"released": False}
    if _stop(session.id) is None:
        return {"released": False}
    _close(current_app._get_current_object(), b)
    db.session.expire(session)
    return {"released": True}


def answer_offsets(session: LiveSession, questions) -> dict[int, float]:
    """Where each question's answer starts in the replay, in seconds: from when it went "answering"
    (else when it was marked answered) and the wall-clock time of each recorded segment, so the
    time before the first chunk and the pauses between recordings do not count."""
    if not session.video_path:
        return {}
    playlist = storage.root(current_app.config) / session.video_path / live_hls.PLAYLIST
    try:
        segments = live_hls.timeline(playlist)
    except OSError:
        return {}
    out = {}
    for q in questions:
        when = q.answering_at or q.answered_at
        at = live_hls.video_offset(segments, when) if when is not None else None
        if at is not None:
            out[q.id] = at
    return out


def owner(session_id: int) -> int | None:
    """The host whose broadcast this process runs, if any."""
    b = _running.get(session_id)
    return b.owner if b is not None else None


def running(session_id: int) -> bool:
    b = _running.get(session_id)
    return b is not None and b.tr.running


def _stop(session_id: int) -> _Broadcast | None:
    """Take the broadcast out of this process's table (no new chunk reaches it)."""
    with _lock:
        b = _running.pop(session_id, None)
    if b is not None:
        with b.lock:
            b.done = True
    return b


def _close(app, b: _Broadcast) -> None:
    """Finish the ffmpeg of a broadcast taken out of the table, then record what became of it: the
    replay if the session has ended (by now, in any process), else "paused"."""
    with app.app_context():
        try:
            ok = True
            try:
                b.tr.finish(vod=False)
            except Exception:
                log.exception("live recording of session %s failed", b.session_id)
                ok = False

            def work():
                # Conditional, so that an end committed meanwhile by another process is seen here.
                paused = db.session.execute(
                    update(LiveSession)
                    .where(LiveSession.id == b.session_id, LiveSession.video_status == "live",
                           LiveSession.status.not_in(CLOSED_STATUSES))
                    .values(video_status="paused")
                    .execution_options(synchronize_session=False)
                ).rowcount  # fmt: skip
                return paused, [services.record(b.session_id, "video.status", {"video": "paused"})] if paused else []

            if not services._write(work):
                _make_replay(b.session_id, ok)
        except Exception:  # noqa: BLE001 - the scheduler's finish_orphans tries again
            db.session.rollback()
            log.exception("closing the broadcast of session %s", b.session_id)
        finally:
            b.release()
            db.session.remove()


def _make_replay(session_id: int, ok: bool = True) -> None:
    """The session ended and no ffmpeg writes its playlist any more: the playlist becomes the VOD
    replay (ready), or failed. Claimed with a conditional UPDATE: done once across processes."""
    claimed = db.session.execute(
        update(LiveSession)
        .where(LiveSession.id == session_id, LiveSession.video_status.in_(("live", "paused")),
               LiveSession.status.in_(CLOSED_STATUSES))
        .values(video_status="processing")
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    db.session.commit()
    if not claimed:
        return
    status = "failed"
    try:
        playlist = _out(session_id) / live_hls.PLAYLIST
        if ok and playlist.is_file() and live_hls.segments(playlist):
            live_hls.to_vod(playlist)
            status = "ready"
    except Exception:
        log.exception("replay of session %s", session_id)
    finally:

        def work():
            db.session.execute(update(LiveSession).where(LiveSession.id == session_id).values(video_status=status)
                               .execution_options(synchronize_session=False))  # fmt: skip
            return None, [services.record(session_id, "video.status", {"video": status})]

        services._write(work)
        # The caller holds the lock, and the session has no broadcast to own any more: a process
        # that opens the path afterwards finds nothing left to claim (video_status is final).
        _lock_path(session_id).unlink(missing_ok=True)


def finish(session: LiveSession, wait: bool = False) -> None:
    """The session ended (or was cancelled): close the stream; ffmpeg finishes in the background and
    the playlist becomes the VOD replay (video_status ready, a stored event tells the room).

    In the process that runs the broadcast, now. Elsewhere: when no process runs it (paused, or its
    process died), the replay is made here; else the owner's watchdog sees the end in the database."""
    app = current_app._get_current_object()
    b = _stop(session.id)
    if b is None:
        if session.video_status in ("live", "paused"):
            _finish_orphan(session.id)
        return
    if wait:
        _close(app, b)
    else:
        threading.Thread(target=_close, args=(app, b), daemon=True, name=f"live-finish-{session.id}").start()


def _finish_orphan(session_id: int) -> bool:
    lock_file = _claim(session_id)
    if lock_file is None:
        return False  # a process runs its ffmpeg: its watchdog finishes it
    try:
        _make_replay(session_id)
    finally:
        lock_file.close()
    return True


def finish_orphans() -> int:
    """Ended sessions whose video is still live or paused and whose ffmpeg no process runs (paused
    when it ended elsewhere, or the owning process died): make their replays. The scheduler runs it."""
    ids = db.session.scalars(
        select(LiveSession.id).where(LiveSession.status.in_(CLOSED_STATUSES),
                                     LiveSession.video_status.in_(("live", "paused")))
    ).all()  # fmt: skip
    return sum(1 for sid in ids if sid not in _running and _finish_orphan(sid))


class _Watchdog:
    """One thread per process that runs broadcasts: closes ffmpeg when the session ended in the
    database (ended by any process) or no chunk came for LIVE_INGEST_IDLE_SECONDS."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started_in: int | None = None  # pid: a forked worker starts its own

    def ensure(self, app) -> None:
        with self.lock:
            if self.started_in == os.getpid():
                return
            self.started_in = os.getpid()
        threading.Thread(target=self._run, args=(app,), daemon=True, name="live-video-watchdog").start()

    def _run(self, app) -> None:
        while True:
            idle = float(app.config["LIVE_INGEST_IDLE_SECONDS"])
            time.sleep(max(0.5, min(5.0, idle / 3)))
            if _running:
                try:
                    self.check(app)
                except Exception:  # noqa: BLE001 - the database may be away for a moment; next time
                    log.exception("live video watchdog")

    @staticmethod
    def check(app) -> None:
        ids = list(_running)
        with app.app_context():
            try:
                status = dict(db.session.execute(select(LiveSession.id, LiveSession.status)
                                                 .where(LiveSession.id.in_(ids))).all())  # fmt: skip
            finally:
                db.session.remove()
        idle = float(app.config["LIVE_INGEST_IDLE_SECONDS"])
        now = time.monotonic()
        for sid in ids:
            b = _running.get(sid)
            if b is None:
                continue
            if sid not in status:  # the session was deleted: nothing to record
                if _stop(sid) is not None:
                    b.tr.stop()
                    b.release()
            elif (status[sid] in CLOSED_STATUSES or now - b.last_chunk > idle) and _stop(sid) is not None:
                threading.Thread(target=_close, args=(app, b), daemon=True, name=f"live-finish-{sid}").start()


_watchdog = _Watchdog()


def stop_all() -> None:
    """Kill every ffmpeg of this process (shutdown); their sessions' replays are then made by
    whoever ends them, or by the scheduler."""
    with _lock:
        items = list(_running.values())
        _running.clear()
    for b in items:
        b.tr.stop()
        b.release()
