"""Live video with several processes, as in production: the host's socket reaches a Socket.IO
process (here a real server process) that runs ffmpeg; pages, the HTTP "End session" form and the
scheduler run in other processes (here the test process, sharing the database and media folder)."""

import time
from pathlib import Path

import pytest

from lms.extensions import db as _db
from lms.live import video
from lms.live.models import LiveEvent, LiveSession
from lms.media import live_hls
from lms.media.ffmpeg import probe
from tests.live.server import running
from tests.live.test_server import Client, _env, cookie_for, free_port
from tests.live.test_video import SECONDS, _chunks

IDLE = 3  # seconds without a chunk before the owning process closes its ffmpeg


def ffmpeg_writing(root: Path) -> list[int]:
    """Pids of ffmpeg processes (any parent) writing into `root`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"ffmpeg") and any(str(root).encode() in a for a in cmd):
            pids.append(int(proc.name))
    return pids


def _state(session_id):
    _db.session.expire_all()
    s = _db.session.get(LiveSession, session_id)
    return s.status, s.video_status


def _wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def live_process(app):
    with running(free_port(), _env(app, LMS_LIVE_INGEST_IDLE_SECONDS=str(IDLE), LMS_SCHEDULER="0")) as url:
        yield url


def test_broadcast_owned_by_one_process_ended_from_another(webm, app, world, session, login_as, live_process):  # noqa: F811
    chunks = _chunks(webm)
    root = Path(app.config["MEDIA_ROOT"]) / video.relpath(session.id)
    playlist = root / live_hls.PLAYLIST
    expert_web = login_as(world["expert"])  # the "gunicorn worker": pages and forms
    assert expert_web.post(f"/live/{session.id}/status", data={"status": "live"}).status_code == 302
    host = Client(live_process, cookie_for(app, login_as, world["expert"]))
    try:
        # 1. The host's socket reaches the Socket.IO process, which starts ffmpeg.
        half = len(chunks) // 2
        for n in range(half):
            assert host.call("video", session_id=session.id, chunk=chunks[n], n=n)["ok"]
        assert _wait_for(lambda: playlist.is_file() and live_hls.segments(playlist))
        assert len(ffmpeg_writing(root)) == 1
        assert _state(session.id) == ("live", "live")
        # An HTTP chunk that lands on another process is refused there, never a second ffmpeg.
        r = expert_web.post(f"/live/{session.id}/ingest?n={half}", data=chunks[half],
                            headers={"Content-Type": "application/octet-stream"})  # fmt: skip
        assert r.status_code == 409 and r.json["error"] == "elsewhere"
        assert not video.running(session.id) and len(ffmpeg_writing(root)) == 1

        # 2. The host's tab went quiet: the owner closes ffmpeg after IDLE seconds; "paused".
        assert _wait_for(lambda: _state(session.id) == ("live", "paused"), 30)
        assert ffmpeg_writing(root) == []

        # 3. The host comes back (a new recording from chunk 0): the same playlist goes on.
        for n, c in enumerate(chunks):
            assert host.call("video", session_id=session.id, chunk=c, n=n)["ok"]
        assert _state(session.id) == ("live", "live") and len(ffmpeg_writing(root)) == 1

        # 4. "End session" through the HTTP form, on the other process: the owner notices in the
        #    database, finishes ffmpeg and the playlist becomes the replay.
        assert expert_web.post(f"/live/{session.id}/status", data={"status": "ended"}).status_code == 302
        assert _wait_for(lambda: _state(session.id)[1] in ("ready", "failed"), 60)
        assert _state(session.id) == ("ended", "ready")
        assert ffmpeg_writing(root) == []
        text = playlist.read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
        assert "#EXT-X-DISCONTINUITY" in text
        assert abs(probe(playlist).duration - (SECONDS / 2 + SECONDS)) < 2.5
        _db.session.expire_all()
        kinds = [
            e.data["video"] for e in _db.session.query(LiveEvent).filter_by(kind="video.status").order_by(LiveEvent.seq)
        ]
        assert kinds == ["live", "paused", "live", "ready"]
        assert host.call("video", session_id=session.id, chunk=chunks[0], n=0)["error"] == "closed"
    finally:
        host.close()
