"""Issue 6 audit, video: one host owns a broadcast; nothing is broadcast before going live; Safari's
fragmented MP4; the replay's links to where each answer starts (real ffmpeg)."""

import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from lms.core.db import utcnow
from lms.extensions import db as _db
from lms.live import video
from lms.live.models import LiveQuestion, LiveSession
from lms.media import live_hls
from lms.media.ffmpeg import ffmpeg_exe
from tests.live.conftest import call
from tests.live.test_video import _chunks, _status, _wait_for


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> bytes:
    """A fragmented MP4 stream as Safari's MediaRecorder writes (moov first, then moof fragments)."""
    out = tmp_path_factory.mktemp("mp4") / "camera.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:d=3",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
         "-c:a", "aac", "-shortest", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", str(out)],
        check=True, timeout=120,
    )  # fmt: skip
    return out.read_bytes()


def test_no_broadcast_before_going_live(webm, world, session, sock, app):
    """A camera test on a scheduled session reaches neither the viewers nor the replay."""
    host = sock(world["expert"])
    chunk = _chunks(webm)[0]
    assert call(host, "video", session_id=session.id, chunk=chunk, n=0, rec=1) == {"ok": False, "error": "not_live"}
    assert session.id not in video._running  # no ffmpeg started
    assert _status(session.id) == "none"


def test_a_second_host_cannot_take_over(webm, world, session, sock, app):
    chunks = _chunks(webm)
    expert, host = sock(world["expert"]), sock(world["host"])
    assert call(expert, "status", session_id=session.id, status="live")["ok"]
    assert call(expert, "video", session_id=session.id, chunk=chunks[0], n=0, rec=1000, type="video/webm")["ok"]
    # The workshop host starts a camera too, even with a greater recording number: refused.
    for n in (0, 1):
        res = call(host, "video", session_id=session.id, chunk=chunks[n], n=n, rec=9999)
        assert res == {"ok": False, "error": "other_host"}
    assert video.owner(session.id) == world["expert"].id
    for n in range(1, 4):
        assert call(expert, "video", session_id=session.id, chunk=chunks[n], n=n, rec=1000)["ok"]
    # The owner stops the camera: the broadcast is free at once, and the other host continues it.
    assert call(expert, "video", session_id=session.id, stop=True) == {"ok": True, "released": True}
    assert _status(session.id) == "paused"
    assert call(host, "video", session_id=session.id, chunk=chunks[0], n=0, rec=5)["ok"]
    assert video.owner(session.id) == world["host"].id
    assert call(expert, "video", session_id=session.id, chunk=chunks[0], n=0, rec=2000)["error"] == "other_host"
    assert call(host, "status", session_id=session.id, status="ended")["ok"]
    assert _wait_for(lambda: _status(session.id) in ("ready", "failed"), 60)


def test_an_idle_owner_loses_the_broadcast(webm, world, session, sock, app, monkeypatch):
    monkeypatch.setattr(video._Watchdog, "check", staticmethod(lambda app: None))  # this test decides who is idle
    chunks = _chunks(webm)
    expert, host = sock(world["expert"]), sock(world["host"])
    assert call(expert, "status", session_id=session.id, status="live")["ok"]
    assert call(expert, "video", session_id=session.id, chunk=chunks[0], n=0, rec=1000)["ok"]
    assert call(host, "video", session_id=session.id, chunk=chunks[0], n=0, rec=1)["error"] == "other_host"
    video._running[session.id].last_chunk -= app.config["LIVE_INGEST_IDLE_SECONDS"] + 1  # quiet since
    assert call(host, "video", session_id=session.id, chunk=chunks[0], n=0, rec=1)["ok"]
    assert video.owner(session.id) == world["host"].id
    video.finish(_db.session.get(LiveSession, session.id), wait=True)


def test_safari_mp4_recording(mp4, world, session, sock, app):
    root = Path(app.config["MEDIA_ROOT"]) / video.relpath(session.id)
    host = sock(world["expert"])
    assert call(host, "status", session_id=session.id, status="live")["ok"]
    for n, c in enumerate(_chunks(mp4, 16 * 1024)):
        assert call(host, "video", session_id=session.id, chunk=c, n=n, rec=7, type="video/mp4;codecs=avc1")["ok"]
    assert call(host, "status", session_id=session.id, status="ended")["ok"]
    assert _wait_for(lambda: _status(session.id) in ("ready", "failed"), 60)
    assert _status(session.id) == "ready"
    assert len(live_hls.segments(root / "index.m3u8")) >= 2
    res = call(host, "video", session_id=session.id, chunk=b"x", n=0, rec=8, type="video/x-matroska")
    assert res["error"] in ("closed", "unsupported_type")


def test_unknown_container_is_refused(world, session, sock):
    host = sock(world["expert"])
    assert call(host, "status", session_id=session.id, status="live")["ok"]
    res = call(host, "video", session_id=session.id, chunk=b"abc", n=0, rec=1, type="video/ogg")
    assert res == {"ok": False, "error": "unsupported_type"}


def test_video_offset_counts_pauses():
    t0 = live_hls._parse_clock("2026-11-24T08:00:00.000+0000")
    segs = [(0.0, t0, 1.0), (1.0, t0 + timedelta(seconds=1), 1.0),
            (2.0, t0 + timedelta(seconds=60), 1.0), (3.0, t0 + timedelta(seconds=61), 1.0)]  # fmt: skip
    assert live_hls.video_offset(segs, t0 - timedelta(seconds=5)) == 0.0  # before the camera started
    assert live_hls.video_offset(segs, t0 + timedelta(seconds=1.5)) == 1.5
    assert live_hls.video_offset(segs, t0 + timedelta(seconds=30)) == 2.0  # during the pause
    assert live_hls.video_offset(segs, t0 + timedelta(seconds=61.25)) == 3.25
    assert live_hls.video_offset(segs, t0 + timedelta(seconds=99)) is None


def test_replay_links_to_where_the_answer_started(webm, world, session, sock, app, login_as):
    """Two recordings with a pause between: the answer given during the second one is found in the
    video after the first, not at its wall-clock distance from the start of the session."""
    chunks = _chunks(webm)
    root = Path(app.config["MEDIA_ROOT"]) / video.relpath(session.id)
    member, expert = sock(world["member"]), sock(world["expert"])
    qid = call(member, "ask", session_id=session.id, body="大单元作业怎么设计？")["id"]
    assert call(expert, "status", session_id=session.id, status="live")["ok"]
    for n, c in enumerate(chunks):
        assert call(expert, "video", session_id=session.id, chunk=c, n=n, rec=1)["ok"]
    assert call(expert, "video", session_id=session.id, stop=True)["released"]
    first = live_hls.timeline(root / "index.m3u8")
    recorded = sum(d for _, _, d in first)
    # The chunks came faster than a camera makes them: wait until the wall clock has passed what
    # the first recording covers, as it would have live.
    _, clock, duration = first[-1]
    time.sleep(max(0.0, (clock + timedelta(seconds=duration) - utcnow()).total_seconds()) + 0.2)
    assert call(expert, "mark", question_id=qid, status="answering")["ok"]
    for n, c in enumerate(chunks):
        assert call(expert, "video", session_id=session.id, chunk=c, n=n, rec=2)["ok"]
    assert call(expert, "mark", question_id=qid, status="answered")["ok"]
    assert call(expert, "status", session_id=session.id, status="ended")["ok"]
    assert _wait_for(lambda: _status(session.id) in ("ready", "failed"), 60)
    assert _status(session.id) == "ready"
    s = _db.session.get(LiveSession, session.id)
    q = _db.session.get(LiveQuestion, qid)
    assert q.answering_at is not None
    at = video.answer_offsets(s, [q])[qid]
    # Asked to answer during the pause, answered in the second recording: its start in the video.
    assert at == pytest.approx(recorded), (at, recorded)
    html = login_as(world["member"]).get(f"/live/{session.id}/replay").get_data(as_text=True)
    assert f'data-seek="{int(at)}"' in html
