"""Serving renditions (grants, Range, caching headers, X-Accel-Redirect), the heartbeat endpoint,
permissions and the progress pages."""

import re
from pathlib import Path

import pytest

from lms.courses import watch
from tests.courses.watch.conftest import RENDITION


def urls_for(app, client, user, lesson):
    """The player's URLs as the lesson page would give them to this user's session."""
    with client.session_transaction() as sess:
        key, sign_in = sess["_user_id"], sess["_sign_in"]
    with app.test_request_context():
        return watch.media_urls(watch.holder(key, sign_in), lesson), watch.start_viewing(key, lesson)


@pytest.fixture
def watcher(app, world, video, login_as, rendition):
    course, lesson = video
    client = login_as(world["teacher"])
    urls, viewing = urls_for(app, client, world["teacher"], lesson)
    return client, urls, viewing, lesson


def seg_url(urls, name="seg_0000.ts"):
    rung = Path(urls["master"]).parent
    return f"{rung}/240p/{name}"


def test_master_variant_and_segments(watcher, rendition):
    client, urls, _v, _l = watcher
    r = client.get(urls["master"])
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.apple.mpegurl"
    assert r.headers["Cache-Control"] == "private, max-age=30"
    assert "240p/index.m3u8" in r.get_data(as_text=True)
    variant = urls["master"].replace("master.m3u8", "240p/index.m3u8")
    body = client.get(variant).get_data(as_text=True)
    seg = re.search(r"^(seg_\d+\.ts)$", body, re.M)[1]
    r = client.get(seg_url(urls, seg))
    assert r.status_code == 200 and r.mimetype == "video/mp2t"
    assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert r.get_data() == (rendition / "240p" / seg).read_bytes()
    r = client.get(urls["mp4"])
    assert r.mimetype == "video/mp4" and r.get_data()[4:8] == b"ftyp"
    r = client.get(urls["poster"])
    assert r.mimetype == "image/jpeg" and r.get_data()[:2] == b"\xff\xd8"


def test_range_requests_on_a_segment(watcher, rendition):
    client, urls, _v, _l = watcher
    data = (rendition / "240p" / "seg_0000.ts").read_bytes()
    r = client.get(seg_url(urls), headers={"Range": "bytes=0-187"})
    assert r.status_code == 206 and r.get_data() == data[:188]
    assert r.headers["Content-Range"] == f"bytes 0-187/{len(data)}"
    r = client.get(seg_url(urls), headers={"Range": "bytes=-100"})
    assert r.status_code == 206 and r.get_data() == data[-100:]
    r = client.get(seg_url(urls), headers={"Range": f"bytes={len(data) + 10}-"})
    assert r.status_code == 416


def test_mp4_ranges_etag_and_revalidation(watcher, rendition):
    """The MP4 fallback as browsers fetch it: one range at a time, whole file for a multi-range or
    invalid Range, and a strong ETag (the fast path's and the view's agree) that revalidates with 304."""
    client, urls, _v, _l = watcher
    data = (rendition / "video.mp4").read_bytes()
    plain = client.get(urls["mp4"])  # the fast path
    etag = plain.headers["ETag"]
    assert plain.status_code == 200 and etag.startswith('"') and not etag.startswith("W/")
    assert client.get(urls["mp4"], headers={"Range": "bytes=0-0"}).headers["ETag"] == etag  # the view
    for header in ("bytes=0-0,10-20", "bytes=5-2"):
        r = client.get(urls["mp4"], headers={"Range": header})
        assert r.status_code == 200 and r.get_data() == data, header
    r = client.get(urls["mp4"], headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.get_data() == b"" and r.headers["ETag"] == etag
    assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    r = client.get(urls["mp4"], headers={"Range": "bytes=100-199", "If-Range": etag})
    assert r.status_code == 206 and r.get_data() == data[100:200]
    r = client.get(urls["mp4"], headers={"Range": "bytes=100-199", "If-Range": '"stale"'})
    assert r.status_code == 200 and r.get_data() == data
    assert client.get(urls["mp4"], headers={"Range": f"bytes={len(data)}-"}).status_code == 416


def test_accel_redirect(app, watcher, monkeypatch):
    client, urls, _v, _l = watcher
    monkeypatch.setitem(app.config, "MEDIA_ACCEL_REDIRECT", "/_protected/")
    r = client.get(seg_url(urls))
    assert r.status_code == 200 and r.get_data() == b""
    assert r.headers["X-Accel-Redirect"] == f"/_protected/{RENDITION}/240p/seg_0000.ts"
    assert r.mimetype == "video/mp2t"
    assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    r = client.get(urls["master"])
    assert r.headers["X-Accel-Redirect"] == f"/_protected/{RENDITION}/master.m3u8"
    assert r.headers["Cache-Control"] == "private, max-age=30"
    assert client.get(seg_url(urls, "seg_9999.ts")).status_code == 404  # nginx is never sent to a missing file


def test_media_needs_the_grant_of_this_session(app, world, watcher, login_as, client):
    _client, urls, _v, lesson = watcher
    # Another signed-in user replaying the teacher's URL (a shared link), and nobody signed in.
    assert login_as(world["member"]).get(urls["master"]).status_code == 403
    assert client.get(seg_url(urls)).status_code == 403
    # A forged or tampered grant; a grant for another lesson.
    grant = urls["master"].split("/")[3]
    for forged in ("ffffffff.AAAAAAAAAAAAAAAAAAAAAA", grant[:-2] + ("AA" if grant[-2:] != "AA" else "BB"),
                   grant.replace(".", "9.", 1),  # a later expiry under the same signature
                   grant.replace("watchtest-1", "watchtest-2")):  # another folder  # fmt: skip
        assert _client.get(urls["master"].replace(grant, forged)).status_code == 403, forged
    other = urls["master"].replace(f"/watch/{lesson.id}/", f"/watch/{lesson.id + 1}/")
    assert _client.get(other).status_code == 403


def test_expired_grant(app, world, watcher, monkeypatch):
    client, urls, _v, _l = watcher
    import time

    expires = watch.grant_expiry(urls["master"].split("/")[3])
    # WATCH_GRANT_SECONDS (5 minutes) at most, rounded down to the minute; the player is told the rest.
    assert 240 - 1 < expires - time.time() <= 300 and expires % 60 == 0
    assert urls["expires"] == expires and 239 <= urls["ttl"] <= 300
    monkeypatch.setattr(watch.time, "time", lambda: expires - 1)
    assert client.get(urls["master"]).status_code == 200
    monkeypatch.setattr(watch.time, "time", lambda: expires + 1)
    assert client.get(urls["master"]).status_code == 403


def test_grants_follow_the_rendition(app, db, watcher):
    """A new transcode (another folder): old URLs answer 404 and the player asks for fresh ones."""
    client, urls, _v, lesson = watcher
    assert urls["master"].split("/")[3].split(".")[1] == "watchtest-1"
    lesson.rendition_dir = "hls/watchtest/2"
    db.session.commit()
    watch.forget_rendition()
    assert client.get(urls["master"]).status_code == 404
    fresh = client.get(f"/watch/lessons/{lesson.id}/sources").json
    assert fresh["master"].split("/")[3].split(".")[1] == "watchtest-2"


def test_a_lesson_whose_folder_is_not_a_transcode_has_no_urls(app, db, watcher):
    client, _urls, _v, lesson = watcher
    lesson.rendition_dir = "elsewhere/../x"
    db.session.commit()
    assert client.get(f"/watch/lessons/{lesson.id}/sources").status_code == 404


@pytest.mark.parametrize("name", ["../../../etc/passwd", "240p/../../x.ts", "notes.txt", "240p/seg_1.mp3", "x/y/z.ts"])
def test_only_rendition_files_are_served(watcher, name):
    client, urls, _v, _l = watcher
    base = urls["master"].rsplit("/", 1)[0]
    assert client.get(f"{base}/{name}").status_code == 404


def test_unpublished_rendition_is_404(app, db, watcher):
    client, urls, _v, lesson = watcher
    lesson.rendition_dir = None
    db.session.commit()
    watch.forget_rendition()
    assert client.get(urls["master"]).status_code == 404


def test_heartbeat_endpoint(app, watcher, monkeypatch):
    client, _urls, viewing, lesson = watcher
    now = [1_800_000_000.0]
    monkeypatch.setattr(watch, "clock", lambda: now[0])
    r = client.post("/watch/heartbeat", json={"v": viewing, "p": 0, "playing": True, "visible": True})
    assert r.status_code == 200 and r.json == {"credited": 0, "lease": True, "seconds": 0, "completed": False}
    now[0] += 15
    r = client.post("/watch/heartbeat", json={"v": viewing, "p": 15.2, "playing": True, "visible": True, "rate": 1})
    assert r.json["credited"] == 15 and r.json["seconds"] == 15
    now[0] += 15
    r = client.post("/watch/heartbeat", json={"v": viewing, "p": 45, "e": 20, "playing": False, "visible": True})
    assert r.json["credited"] == 4.8  # 15.2 → 20, then a jump


def test_heartbeat_loads_no_user_and_writes_one_transaction(app, watcher, monkeypatch):
    from tests.sql_counting import counting

    client, _urls, viewing, _lesson = watcher
    now = [1_800_000_000.0]
    monkeypatch.setattr(watch, "clock", lambda: now[0])
    for p in (0, 15):  # the first ones insert the teacher's rows
        client.post("/watch/heartbeat", json={"v": viewing, "p": p, "playing": True, "visible": True})
        now[0] += 15
    with counting() as statements:
        r = client.post("/watch/heartbeat", json={"v": viewing, "p": 30, "playing": True, "visible": True})
    assert r.json["credited"] == 15
    # Read the lease, move it, add to the lesson and the course: no user, no course, no session query.
    assert not [s for s in statements if "FROM users" in s]
    # PostgreSQL also gets "SET LOCAL synchronous_commit TO OFF": a setting, not a query.
    queries = [s for s in statements if not s.startswith("SET LOCAL")]
    assert len(queries) <= 4, statements


def test_sqlite_runs_in_wal_mode(app, db):
    from sqlalchemy import text

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_heartbeat_refuses_other_users_and_junk(app, world, watcher, login_as, client):
    _c, _urls, viewing, _l = watcher
    body = {"v": viewing, "p": 0, "playing": True, "visible": True}
    assert login_as(world["member"]).post("/watch/heartbeat", json=body).status_code == 403
    assert client.post("/watch/heartbeat", json=body).status_code == 403  # anonymous
    assert _c.post("/watch/heartbeat", json={**body, "v": viewing[:-2] + "xx"}).status_code == 403
    assert _c.post("/watch/heartbeat", data="nonsense").status_code == 400
    assert _c.post("/watch/heartbeat", json={**body, "p": "ten"}).status_code == 400


def test_sources_checks_the_course_audience(app, world, video, login_as, client):
    _course, lesson = video
    r = login_as(world["teacher"]).get(f"/watch/lessons/{lesson.id}/sources")
    assert r.status_code == 200 and r.json["master"].endswith("/master.m3u8")
    assert login_as(world["teacher_b"]).get(f"/watch/lessons/{lesson.id}/sources").status_code == 404
    r = client.get(f"/watch/lessons/{lesson.id}/sources")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_unpublished_course_is_not_watchable(app, db, world, video, login_as):
    course, lesson = video
    course.published = False
    db.session.commit()
    assert login_as(world["teacher"]).get(f"/watch/lessons/{lesson.id}/sources").status_code == 404


def test_fast_path_answers_plain_gets_like_the_view(app, watcher, monkeypatch):
    """The WSGI fast path (lms.courses.watch_fast) serves what the view would, with the same headers."""
    client, urls, _v, _l = watcher
    slow = client.get(seg_url(urls), headers={"If-Range": "x"})  # conditional: always the Flask view
    assert client.get(urls["master"]).status_code == 200  # warms the rendition cache

    def refuse(*a, **kw):
        raise AssertionError("the Flask view was used")

    monkeypatch.setattr(watch, "media_response", refuse)
    fast = client.get(seg_url(urls))
    assert fast.status_code == 200 and fast.get_data() == slow.get_data()
    for h in ("Content-Type", "Cache-Control", "Content-Length", "X-Content-Type-Options"):
        assert fast.headers[h] == slow.headers[h], h
    monkeypatch.setitem(app.config, "MEDIA_ACCEL_REDIRECT", "/_protected/")
    r = client.get(seg_url(urls))
    assert r.headers["X-Accel-Redirect"] == f"/_protected/{RENDITION}/240p/seg_0000.ts" and r.get_data() == b""


def test_fast_path_leaves_refusals_to_the_view(app, world, watcher, login_as, client):
    _c, urls, _v, lesson = watcher
    assert _c.get(urls["master"]).status_code == 200  # cached
    assert login_as(world["member"]).get(urls["master"]).status_code == 403
    assert client.get(urls["master"]).status_code == 403
    other_browser = login_as(world["teacher"])
    other_browser.environ_base["HTTP_USER_AGENT"] = "another browser"  # the cookie was issued to another one
    assert other_browser.get(urls["master"]).status_code == 403


def test_fast_path_credits_heartbeats_with_the_same_rules(app, world, watcher, login_as, monkeypatch):
    client, _urls, viewing, _lesson = watcher
    now = [1_800_000_000.0]
    monkeypatch.setattr(watch, "clock", lambda: now[0])
    view = app.view_functions["watch.heartbeat"]
    used = []
    monkeypatch.setitem(app.view_functions, "watch.heartbeat", lambda: used.append(1) or view())
    body = {"v": viewing, "p": 0, "playing": True, "visible": True}
    r = client.post("/watch/heartbeat", json=body)
    assert r.status_code == 200 and r.json == {"credited": 0, "lease": True, "seconds": 0, "completed": False}
    assert r.headers["Content-Type"] == "application/json" and r.headers["Cache-Control"] == "no-store"
    now[0] += 10
    # Faster than real time (a 2x playback rate) earns the wall-clock time only, as in the view.
    r = client.post("/watch/heartbeat", json={**body, "p": 20})
    assert r.json["credited"] == 10 and r.json["seconds"] == 10
    assert used == []  # all answered by the fast path
    # What the rules refuse or the fast path cannot vouch for goes to the view, body and all.
    assert client.post("/watch/heartbeat", json={**body, "p": "ten"}).json == {
        "error": "bad_request",
        "field": "position",
    }
    assert login_as(world["member"]).post("/watch/heartbeat", json=body).status_code == 403  # a verified token, cached
    assert client.post("/watch/heartbeat", json={**body, "v": viewing[:-2] + "xx"}).status_code == 403
    other_browser = login_as(world["teacher"])
    other_browser.environ_base["HTTP_USER_AGENT"] = "another browser"
    assert other_browser.post("/watch/heartbeat", json=body).status_code == 403
    assert len(used) == 4


# --- the signature nginx checks (deploy/nginx-watch.conf; tests/courses/watch/test_watch_nginx.py) ----


def test_grant_is_the_md5_nginx_secure_link_computes(app, watcher):
    """secure_link_md5 "$expires.$a-$b|$lesson|$cookie_lms_watch|$secret", base64url without padding."""
    import base64
    import hashlib

    client, urls, _v, lesson = watcher
    grant = urls["master"].split("/")[3]
    head, _, sig = grant.rpartition(".")
    cookie = client.get(f"/watch/lessons/{lesson.id}/sources").headers["Set-Cookie"]
    value = re.match(r"lms_watch=([^;]+)", cookie)[1]
    assert "HttpOnly" in cookie and "Path=/watch/" in cookie and "SameSite=Lax" in cookie
    secret = watch.link_secret(app.config)
    digest = hashlib.md5(f"{head}|{lesson.id}|{value}|{secret}".encode()).digest()  # noqa: S324
    assert sig == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    # Already set: not sent again; signed out: removed.
    client.set_cookie("lms_watch", value, path="/watch/")
    assert "Set-Cookie" not in client.get(f"/watch/lessons/{lesson.id}/sources").headers
    out = client.post("/logout")
    assert any(c.startswith("lms_watch=;") for c in out.headers.getlist("Set-Cookie")), out.headers


def test_watch_cookie_changes_with_the_session_version_and_the_sign_in(app, db, world, video, login_as):
    teacher = world["teacher"]
    with app.test_request_context():
        before = watch.watch_cookie(watch.holder(teacher.get_id(), "sign-in-1"))
        assert watch.watch_cookie(watch.holder(teacher.get_id(), "sign-in-2")) != before  # another browser
        teacher.session_version = (teacher.session_version or 0) + 1  # "sign out everywhere"
        db.session.commit()
        assert watch.watch_cookie(watch.holder(teacher.get_id(), "sign-in-1")) != before
        assert watch.watch_cookie(watch.holder(world["member"].get_id(), "sign-in-1")) != before


def test_grant_life_is_configurable_and_bounded(app, monkeypatch):
    with app.test_request_context():
        for seconds in (2, 3, 10, 60, 300, 3600):
            monkeypatch.setitem(app.config, "WATCH_GRANT_SECONDS", seconds)
            for now in (1_800_000_000.0, 1_800_000_000.5, 1_800_000_059.9, 1_800_000_123.4):
                life = watch.grant_expires(now) - now
                assert seconds * 4 / 5 - 1 < life <= seconds, (seconds, now, life)
        # Within one step, every grant of a sign-in is the same URL (the browser's cache keeps working).
        monkeypatch.setitem(app.config, "WATCH_GRANT_SECONDS", 300)
        a = watch.media_grant("1:0|s", 1, "hls/f/j", now=1_800_000_001.0)
        assert a == watch.media_grant("1:0|s", 1, "hls/f/j", now=1_800_000_059.0)
        assert a != watch.media_grant("1:0|s", 1, "hls/f/j", now=1_800_000_061.0)


def test_nginx_secret_command(app, monkeypatch):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["lms", "nginx-watch-secret"])
    assert out.exit_code == 0
    assert out.output.strip() == f'map $host $yanxiu_watch_secret {{ default "{watch.link_secret(app.config)}"; }}'
    monkeypatch.setitem(app.config, "WATCH_LINK_SECRET", 'short"$x')
    out = runner.invoke(args=["lms", "nginx-watch-secret"])
    assert out.exit_code != 0 and "LMS_WATCH_LINK_SECRET" in out.output


def test_readme_shows_the_nginx_config_the_benchmark_runs():
    root = Path(__file__).resolve().parents[3]
    conf = (root / "deploy" / "nginx-watch.conf").read_text()
    assert conf.strip() in (root / "README.md").read_text()


def test_a_grant_for_a_rendition_another_process_swapped_in(app, db, world, watcher, rendition):
    """This process still caches the old folder; the lesson's new folder (published by another
    process, e.g. the transcode worker) is looked up again instead of answering 404 for 30 s."""
    import shutil

    client, urls, _v, lesson = watcher
    assert client.get(urls["master"]).status_code == 200  # caches RENDITION
    new = Path(app.config["MEDIA_ROOT"]) / "hls" / "watchtest" / "3"
    shutil.copytree(rendition, new, dirs_exist_ok=True)
    try:
        lesson.rendition_dir = "hls/watchtest/3"
        db.session.commit()  # no forget_rendition here: another process did it
        fresh, _viewing = urls_for(app, client, world["teacher"], lesson)
        assert client.get(fresh["master"]).status_code == 200
        assert client.get(urls["master"]).status_code == 404
    finally:
        shutil.rmtree(new, ignore_errors=True)
        watch.forget_rendition()


def test_a_heartbeat_for_a_deleted_lesson_stops_the_player(app, watcher, world, monkeypatch):
    """The player of a lesson deleted meanwhile gets 403 invalid_viewing (it stops), not a 500 on the
    progress rows that can no longer be written."""
    from lms.courses import services
    from lms.courses.models import Lesson
    from lms.extensions import db

    clock = [1000.0]
    monkeypatch.setattr(watch, "clock", lambda: clock[0])
    client, _urls, viewing, lesson = watcher
    services.delete_lesson(world["county_admin"], db.session.get(Lesson, lesson.id))
    db.session.commit()
    for p in (0, 15):
        clock[0] += 15
        r = client.post("/watch/heartbeat", json={"v": viewing, "p": p, "playing": True, "visible": True})
        assert r.status_code == 403 and r.get_json() == {"error": "invalid_viewing"}
