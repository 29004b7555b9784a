"""The live video pipeline: a generated WebM stream (what MediaRecorder sends) fed in chunks, out of
order, through ffmpeg into a live HLS playlist with 1-second segments, then a VOD replay on end."""

import random
import time
from pathlib import Path

from sqlalchemy import select

from lms.extensions import db as _db
from lms.live import video
from lms.live.models import LiveEvent, LiveSession
from lms.media import live_hls
from lms.media.ffmpeg import probe
from tests.live.conftest import go_live

SECONDS = 6


def _chunks(data: bytes, size: int = 24 * 1024) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_transcoder_live_then_vod(webm, tmp_path):
    chunks = _chunks(webm)
    tr = live_hls.LiveTranscoder(tmp_path / "live")
    # Socket.IO may hand chunks over out of order: shuffle within windows of 4.
    order = []
    for start in range(0, len(chunks), 4):
        window = list(range(start, min(start + 4, len(chunks))))
        random.Random(start).shuffle(window)
        order += window
    half = len(order) // 2
    for i in order[:half]:
        tr.feed(i, chunks[i])
    playlist = tr.playlist()
    assert _wait_for(lambda: playlist.is_file() and live_hls.segments(playlist)), "no live segment"
    text = playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text and "#EXT-X-ENDLIST" not in text
    for i in order[half:]:
        tr.feed(i, chunks[i])
    tr.feed(0, chunks[0])  # a repeat is ignored
    tr.finish()
    text = playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    segs = live_hls.segments(playlist)
    durations = [float(line.split(":")[1].rstrip(",")) for line in text.splitlines() if line.startswith("#EXTINF")]
    assert len(segs) >= SECONDS - 1 and max(durations) <= 1.6, durations
    assert all((playlist.parent / s).stat().st_size > 0 for s in segs)
    info = probe(playlist)  # ffmpeg reads the playlist: it plays
    assert abs(info.duration - SECONDS) < 1.0 and info.has_audio and info.height == 360


def test_session_broadcast_and_replay(webm, world, session, login_as, app, db):
    """Host pushes chunks (socket event and HTTP ingest); viewers get the playlist; on end the VOD."""
    from tests.live.conftest import NS, call

    expert_client = login_as(world["expert"])
    chunks = _chunks(webm)
    from lms.extensions import socketio

    with app.app_context():
        sc = socketio.test_client(app, namespace=NS, flask_test_client=expert_client)
    member = login_as(world["member"])
    with app.app_context():
        msc = socketio.test_client(app, namespace=NS, flask_test_client=login_as(world["member"]))
    assert call(msc, "video", session_id=session.id, chunk=chunks[0], n=0)["error"] == "forbidden"
    assert call(sc, "status", session_id=session.id, status="live")["ok"]
    half = len(chunks) // 2
    for n in range(half):
        assert call(sc, "video", session_id=session.id, chunk=chunks[n], n=n)["ok"]
    for n in range(half, len(chunks)):  # the chunked HTTP upload path
        r = expert_client.post(f"/live/{session.id}/ingest?n={n}", data=chunks[n],
                               headers={"Content-Type": "application/octet-stream"})  # fmt: skip
        assert r.status_code == 200 and r.json["ok"], r.data
    _db.session.expire_all()
    s = _db.session.get(LiveSession, session.id)
    assert s.video_status == "live"
    root = Path(app.config["MEDIA_ROOT"]) / s.video_path
    assert _wait_for(lambda: (root / "index.m3u8").is_file() and live_hls.segments(root / "index.m3u8"))
    r = member.get(f"/live/{session.id}/hls/index.m3u8")
    assert r.status_code == 200 and b"seg_" in r.data
    first = live_hls.segments(root / "index.m3u8")[0]
    assert member.get(f"/live/{session.id}/hls/{first}").status_code == 200
    assert "live-video" in member.get(f"/live/{session.id}").get_data(as_text=True)
    # Ending the session finishes the recording in the background: VOD replay, a stored event.
    assert call(sc, "status", session_id=session.id, status="ended")["ok"]
    assert _wait_for(lambda: _status(session.id) in ("ready", "failed"), 60)
    assert _status(session.id) == "ready"
    assert "#EXT-X-ENDLIST" in (root / "index.m3u8").read_text()
    assert not root.with_name(root.name + ".lock").exists()  # no broadcast left to own
    kinds = [e.data for e in _db.session.scalars(select(LiveEvent).where(LiveEvent.kind == "video.status"))]
    assert kinds == [{"video": "live"}, {"video": "ready"}]
    page = member.get(f"/live/{session.id}/replay").get_data(as_text=True)
    assert f"/live/{session.id}/hls/index.m3u8" in page
    assert call(sc, "video", session_id=session.id, chunk=chunks[0], n=0)["error"] == "closed"
    assert not video.running(session.id)
    sc.disconnect(NS)
    msc.disconnect(NS)


def _end(session):
    """The session ended (in the database, as services.set_status does), then the video finishes."""
    session.status = "ended"
    _db.session.commit()
    video.finish(session, wait=True)


def _status(session_id):
    _db.session.expire_all()
    return _db.session.get(LiveSession, session_id).video_status


def test_to_vod_is_idempotent(tmp_path):
    p = tmp_path / "index.m3u8"
    p.write_text("#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1.0,\nseg_00000.ts\n")
    live_hls.to_vod(p)
    live_hls.to_vod(p)
    text = p.read_text()
    assert text.count("#EXT-X-ENDLIST") == 1 and text.count("#EXT-X-PLAYLIST-TYPE:VOD") == 1


def test_restarted_broadcast_continues_the_playlist(webm, world, session, app, db):
    """The host reloads the page: a new recording starts again at chunk 0 with a new WebM header."""
    go_live(session)
    chunks = _chunks(webm)
    root = Path(app.config["MEDIA_ROOT"]) / video.relpath(session.id)
    for _ in range(2):
        for n, c in enumerate(chunks):
            video.feed(session, c, n)
        assert _wait_for(lambda: (root / "index.m3u8").is_file() and live_hls.segments(root / "index.m3u8"))
    _end(session)
    text = (root / "index.m3u8").read_text()
    assert "#EXT-X-DISCONTINUITY" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    segs = live_hls.segments(root / "index.m3u8")
    assert len(segs) == len(set(segs)) >= 2 * (SECONDS - 1)
    assert abs(probe(root / "index.m3u8").duration - 2 * SECONDS) < 2.0
    _db.session.expire_all()
    assert _db.session.get(LiveSession, session.id).video_status == "ready"


def test_stale_recording_in_the_directory_is_not_replayed(webm, world, session, app, db):
    """A directory left under the same id (a database reset) must not become part of the replay."""
    go_live(session)
    root = Path(app.config["MEDIA_ROOT"]) / video.relpath(session.id)
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.m3u8").write_text("#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:9.0,\nseg_09999.ts\n#EXT-X-ENDLIST\n")
    (root / "seg_09999.ts").write_bytes(b"stale")
    for n, c in enumerate(_chunks(webm)):
        video.feed(session, c, n)
    _end(session)
    segs = live_hls.segments(root / "index.m3u8")
    assert "seg_09999.ts" not in segs and not (root / "seg_09999.ts").exists()
    assert abs(probe(root / "index.m3u8").duration - SECONDS) < 2.0


def test_replay_made_when_the_owning_process_is_gone(webm, world, session, app, db):
    """The process that ran ffmpeg died mid-broadcast (video still "live", nobody holds the lock):
    ending the session elsewhere makes the replay, and the scheduler's sweep does for a session
    that ended without it."""
    from lms.live import services

    root = Path(app.config["MEDIA_ROOT"]) / video.relpath(session.id)
    services.set_status(world["expert"], session, "live")
    for n, c in enumerate(_chunks(webm)):
        video.feed(session, c, n)
    assert _wait_for(lambda: (root / "index.m3u8").is_file() and len(live_hls.segments(root / "index.m3u8")) >= 3)
    video.stop_all()  # ffmpeg killed with its process
    assert _status(session.id) == "live"
    assert video.finish_orphans() == 0  # not ended: nothing to do
    # Ended by a process that did not make the replay (an end racing the crash).
    _db.session.execute(LiveSession.__table__.update().where(LiveSession.id == session.id).values(status="ended"))
    _db.session.commit()
    assert root.with_name(root.name + ".lock").exists()
    assert video.finish_orphans() == 1 and video.finish_orphans() == 0
    assert _status(session.id) == "ready"
    assert not root.with_name(root.name + ".lock").exists()
    text = (root / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    kinds = [e.data for e in _db.session.scalars(select(LiveEvent).where(LiveEvent.kind == "video.status"))]
    assert kinds == [{"video": "live"}, {"video": "ready"}]


def test_a_paused_recording_becomes_the_replay_where_the_session_ends(webm, world, session, app, db):
    """No chunk for LIVE_INGEST_IDLE_SECONDS: the watchdog closes ffmpeg ("paused"); ending the
    session in any process then makes the replay at once, without ffmpeg."""
    from lms.live import services

    app.config["LIVE_INGEST_IDLE_SECONDS"] = 1
    try:
        services.set_status(world["expert"], session, "live")
        for n, c in enumerate(_chunks(webm)):
            video.feed(session, c, n)
        assert _wait_for(lambda: _status(session.id) == "paused", 30)
        assert not video.running(session.id)
        services.set_status(world["expert"], session, "ended")
        assert _status(session.id) == "ready"  # made in this call, no waiting
    finally:
        app.config["LIVE_INGEST_IDLE_SECONDS"] = 30


def test_camera_restarted_without_reloading(webm, world, session, sock, app, db):
    """The host stops and starts the camera on the same page: each MediaRecorder numbers its chunks
    from 0 and names its recording (`rec`, increasing). Chunks of the new recording may arrive
    before its chunk 0, and a late chunk of the old one after it; the old one's is dropped, the new
    one continues the playlist after a discontinuity."""
    from tests.live.conftest import call

    chunks = _chunks(webm)
    half = len(chunks) // 2
    root = Path(app.config["MEDIA_ROOT"]) / video.relpath(session.id)
    host = sock(world["expert"])
    assert call(host, "status", session_id=session.id, status="live")["ok"]
    for n in range(half - 1):
        assert call(host, "video", session_id=session.id, chunk=chunks[n], n=n, rec=1000)["ok"]
    assert _wait_for(lambda: (root / "index.m3u8").is_file() and live_hls.segments(root / "index.m3u8"))
    # Camera restarted: the new recording's chunk 1 overtakes its chunk 0; the old recording's last
    # chunk comes after both.
    assert call(host, "video", session_id=session.id, chunk=chunks[1], n=1, rec=2000)["ok"]
    assert call(host, "video", session_id=session.id, chunk=chunks[0], n=0, rec=2000)["ok"]
    assert call(host, "video", session_id=session.id, chunk=chunks[half - 1], n=half - 1, rec=1000)["ok"]
    for n in range(2, len(chunks)):
        assert call(host, "video", session_id=session.id, chunk=chunks[n], n=n, rec=2000)["ok"]
    assert video._running[session.id].tr.bytes_in == sum(map(len, chunks))  # only the new recording
    assert call(host, "status", session_id=session.id, status="ended")["ok"]
    assert _wait_for(lambda: _status(session.id) in ("ready", "failed"), 60)
    assert _status(session.id) == "ready"
    text = (root / "index.m3u8").read_text()
    assert "#EXT-X-DISCONTINUITY" in text
    assert abs(probe(root / "index.m3u8").duration - (SECONDS * (half - 1) / len(chunks) + SECONDS)) < 2.0


def test_a_recording_cannot_resume_without_its_header(webm, world, session, sock, app, db):
    """After a pause (or in a process that never saw chunk 0), chunks from the middle of a
    recording cannot be decoded: the host is told to start a new recording, nothing is started."""
    from tests.live.conftest import call

    go_live(session)
    chunks = _chunks(webm)
    host = sock(world["expert"])
    res = call(host, "video", session_id=session.id, chunk=chunks[5], n=5, rec=3000)
    assert res == {"ok": False, "error": "restart"}
    assert not video.running(session.id) and _status(session.id) == "none"
    assert call(host, "video", session_id=session.id, chunk=chunks[0], n=0, rec=4000)["ok"]
    assert video.running(session.id)
    _end(session)
