"""Live video on signed grants (lms.live.playback): the app checks live.view when it hands out a grant,
then the playlist and segments need only the grant and the sign-in it was issued to (nginx serves
them: tests/courses/watch/test_watch_nginx.py runs the real configuration)."""

import re
import shutil
import time
from pathlib import Path

import pytest

from lms.courses import watch

PLAYLIST = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg_00000.ts\n"


@pytest.fixture
def files(app, session):
    """The live folder as ffmpeg writes it: a playlist and one segment."""
    root = Path(app.config["MEDIA_ROOT"]) / "live" / str(session.id)
    shutil.rmtree(root, ignore_errors=True)  # an earlier test's session of the same id
    root.mkdir(parents=True)
    (root / "index.m3u8").write_bytes(PLAYLIST)
    (root / "seg_00000.ts").write_bytes(b"\x47" * 188 * 4)
    return root


def grant_of(client, session):
    r = client.get(f"/live/{session.id}/video-grant")
    assert r.status_code == 200, r.status_code
    assert r.headers["Cache-Control"] == "no-store"
    return r.json


def test_a_viewer_gets_a_grant_and_plays_on_it(app, world, session, files, login_as):
    member = login_as(world["member"])
    page = member.get(f"/live/{session.id}")
    assert page.status_code == 200
    cookie = [c for c in page.headers.getlist("Set-Cookie") if c.startswith("lms_watch=")]
    assert cookie and "Path=/live/" in cookie[0] and "HttpOnly" in cookie[0]
    html = page.get_data(as_text=True)
    assert re.search(rf'data-hls="/live/{session.id}/g/\d+\.[A-Za-z0-9_-]{{22}}/index\.m3u8"', html)
    g = grant_of(member, session)
    assert g["playlist"] == f"/live/{session.id}/g/{g['grant']}/index.m3u8" and 200 <= g["ttl"] <= 300
    r = member.get(g["playlist"])
    assert r.status_code == 200 and r.data == PLAYLIST
    assert r.headers["Cache-Control"] == "private, no-cache" and r.mimetype == "application/vnd.apple.mpegurl"
    seg = g["playlist"].replace("index.m3u8", "seg_00000.ts")
    r = member.get(seg)
    assert (
        r.status_code == 200 and r.mimetype == "video/mp2t" and r.headers["Cache-Control"] == "private, max-age=86400"
    )
    assert member.get(g["playlist"].replace("index.m3u8", "seg_00009.ts")).status_code == 404  # not written yet
    for name in ("notes.txt", "index.m3u8.bak", "seg_1.mp4"):
        assert member.get(g["playlist"].replace("index.m3u8", name)).status_code == 404


def test_no_grant_without_live_view(app, world, session, files, login_as, client):
    """Whoever lacks live.view on the session gets no grant: 404, as access.require answers those who may
    not even see it (no role sees a context without live.view there, so 403 cannot arise), the page
    too; their own grant for another session opens nothing here (403); nobody signed in is sent to
    sign in."""
    outsider = login_as(world["teacher_b"])  # another county: no live.view on workshop A's session
    assert outsider.get(f"/live/{session.id}/video-grant").status_code == 404
    assert outsider.get(f"/live/{session.id}").status_code == 404
    with outsider.session_transaction() as sess:
        who = watch.holder(sess["_user_id"], sess["_sign_in"])
    with app.test_request_context():
        own = watch.live_grant(who, session.id + 1)  # as if granted for a session they may watch
    assert outsider.get(f"/live/{session.id}/g/{own}/index.m3u8").status_code == 403
    assert outsider.get(f"/live/{session.id}/g/{own}/seg_00000.ts").status_code == 403
    assert client.get(f"/live/{session.id}/video-grant").status_code in (302, 401)
    assert login_as(world["member"]).get("/live/999999/video-grant").status_code == 404


def test_forged_foreign_and_expired_grants_are_refused(app, world, session, files, login_as, client, monkeypatch):
    member = login_as(world["member"])
    g = grant_of(member, session)
    url, grant = g["playlist"], g["grant"]
    # Another browser replaying the URL: signed in as someone else, or not at all.
    assert login_as(world["teacher_b"]).get(url).status_code == 403
    assert login_as(world["member"]).get(url).status_code == 403  # the same person, another sign-in
    assert client.get(url).status_code == 403
    head, _, sig = grant.partition(".")
    for forged in (f"{head}.{sig[::-1]}", f"{int(head) + 60}.{sig}", "1.AAAAAAAAAAAAAAAAAAAAAA", "x"):
        assert member.get(url.replace(grant, forged)).status_code in (403, 404), forged
    assert member.get(url.replace(f"/live/{session.id}/", f"/live/{session.id + 1}/")).status_code == 403
    # A lesson's grant is no live grant (and the other way round): the scopes differ.
    with app.test_request_context():
        assert not watch.check_live_grant("1:0|s", session.id, watch.live_grant("1:0|s", session.id + 1))
    # Expired.
    monkeypatch.setattr(watch.time, "time", lambda: g["expires"] + 1)
    assert member.get(url).status_code == 403


def test_signing_out_refuses_the_live_grant_at_once(app, world, session, files, login_as):
    member = login_as(world["member"])
    g = grant_of(member, session)
    saved = member.get_cookie("session").value
    assert member.get(g["playlist"]).status_code == 200
    member.post("/logout")
    member.set_cookie("session", saved)
    assert member.get(g["playlist"]).status_code == 403
    assert member.get(f"/live/{session.id}/video-grant").status_code in (302, 401)


def test_grant_renewal_gives_a_later_grant(app, world, session, files, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "WATCH_GRANT_SECONDS", 2)
    member = login_as(world["member"])
    first = grant_of(member, session)
    time.sleep(max(0.0, first["expires"] - time.time() + 0.05))
    second = grant_of(member, session)
    assert second["expires"] > first["expires"] and member.get(second["playlist"]).status_code == 200
