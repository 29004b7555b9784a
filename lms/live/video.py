"""Live video of a session: the host's chunks into the ffmpeg live-HLS adapter (lms.media.live_hls),
the state on the session row, and the VOD replay when the session ends.

The transcoder lives in the process that received the first chunk; with several processes the
host's socket (sticky sessions) or its HTTP ingest requests must reach that process (README).
"""

import logging
import shutil
import threading

from flask import current_app

from lms.extensions import db
from lms.live import services
from lms.live.models import LiveSession
from lms.live.services import LiveError
from lms.media import live_hls, storage

log = logging.getLogger(__name__)

MAX_CHUNK = 4 * 1024 * 1024

_lock = threading.Lock()
_running: dict[int, live_hls.LiveTranscoder] = {}


def relpath(session_id: int) -> str:
    return f"live/{session_id}"


def playlist_relpath(session: LiveSession) -> str | None:
    return f"{session.video_path}/{live_hls.PLAYLIST}" if session.video_path else None


def feed(session: LiveSession, chunk: bytes, index: int | None = None) -> dict:
    """One WebM chunk from the host (index = its order, from 0). Starts ffmpeg on the first one."""
    if session.status == "ended":
        raise LiveError("closed")
    if not chunk or len(chunk) > MAX_CHUNK:
        raise LiveError("invalid")
    out = storage.root(current_app.config) / relpath(session.id)
    with _lock:
        tr = _running.get(session.id)
        if tr is not None and index == 0 and tr.written > 0:
            # The host's browser started a new recording (page reloaded, camera restarted): its
            # first chunk carries a new WebM header. Close the old ffmpeg and continue the playlist.
            _running.pop(session.id)
            try:
                tr.finish(timeout=20, vod=False)
            except Exception:  # noqa: BLE001 - a broken previous run must not stop the new one
                log.exception("restarting the broadcast of session %s", session.id)
            tr = live_hls.LiveTranscoder(out, append=True)
            _running[session.id] = tr
        started = tr is None
        if started:
            # Continue the playlist only if this session already recorded (the app restarted
            # mid-broadcast); anything else in the directory is stale (e.g. a reused id after a
            # database reset) and would be replayed as part of this session.
            append = session.video_path is not None and (out / live_hls.PLAYLIST).is_file()
            if not append and out.exists():
                shutil.rmtree(out)
            tr = live_hls.LiveTranscoder(out, append=append)
            _running[session.id] = tr
    if started and session.video_status != "live":

        def work():
            session.video_status = "live"
            session.video_path = relpath(session.id)
            return None, [services.record(session.id, "video.status", {"video": "live"})]

        services._write(work)
    idx = index if index is not None else tr._next
    written = tr.feed(int(idx), chunk)
    return {"written": written}


def running(session_id: int) -> bool:
    tr = _running.get(session_id)
    return tr is not None and tr.running


def finish(session: LiveSession, wait: bool = False) -> None:
    """The session ended: close the stream; in the background, ffmpeg finishes and the playlist
    becomes the VOD replay (video_status ready, a stored event tells the room)."""
    with _lock:
        tr = _running.pop(session.id, None)
    if tr is None:
        return
    app = current_app._get_current_object()
    sid = session.id

    def run():
        with app.app_context():
            try:
                status = "ready"
                try:
                    tr.finish()
                except Exception:
                    log.exception("live recording of session %s failed", sid)
                    status = "failed"
                s = db.session.get(LiveSession, sid)

                def work():
                    s.video_status = status
                    return None, [services.record(sid, "video.status", {"video": status})]

                services._write(work)
            finally:
                db.session.remove()

    if wait:
        run()
    else:
        threading.Thread(target=run, daemon=True, name=f"live-finish-{sid}").start()


def stop_all() -> None:
    with _lock:
        items = list(_running.values())
        _running.clear()
    for tr in items:
        tr.stop()
