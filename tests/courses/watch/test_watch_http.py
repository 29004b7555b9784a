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
        key = sess["_user_id"]
    with app.test_request_context():
        return watch.media_urls(key, lesson), watch.start_viewing(key, lesson)


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
    tampered = urls["master"].replace(urls["master"].split("/")[3], "ffffffff.AAAAAAAAAAAAAAAAAAAAAA")
    assert _client.get(tampered).status_code == 403
    other = urls["master"].replace(f"/watch/{lesson.id}/", f"/watch/{lesson.id + 1}/")
    assert _client.get(other).status_code == 403


def test_expired_grant(app, world, watcher, monkeypatch):
    client, urls, _v, _l = watcher
    import time

    later = time.time() + (watch.GRANT_HOURS + 2) * 3600
    monkeypatch.setattr(watch.time, "time", lambda: later)
    assert client.get(urls["master"]).status_code == 403


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


# --- nginx auth_request (deploy/nginx-watch.conf) ----------------------------------------------------


def auth_url(urls):
    _empty, _watch, lesson_id, grant, *_ = urls["master"].split("/")
    return f"/watch/auth/{lesson_id}/{grant}"


def test_nginx_auth_says_yes_with_the_folder_and_how_long_to_keep_it(app, watcher):
    client, urls, _v, _l = watcher
    r = client.get(auth_url(urls))
    assert r.status_code == 200 and r.get_data() == b""
    assert r.headers["X-Media-Folder"] == RENDITION
    assert 0 < int(r.headers["X-Accel-Expires"]) <= app.config["WATCH_AUTH_CACHE_SECONDS"] == 60


def test_nginx_auth_never_caches_past_the_grant(app, watcher, monkeypatch):
    client, urls, _v, _l = watcher
    expires = watch.grant_expiry(urls["master"].split("/")[3])
    monkeypatch.setattr(watch.time, "time", lambda: expires - 7.5)
    assert client.get(auth_url(urls)).headers["X-Accel-Expires"] == "7"


def test_nginx_auth_refuses_others_and_revoked_viewers(app, db, world, video, watcher, login_as, client):
    teacher_client, urls, _v, lesson = watcher
    course, _lesson = video
    # Someone else's session with the teacher's URL; nobody signed in; a forged grant.
    assert login_as(world["member"]).get(auth_url(urls)).status_code == 403
    assert client.get(auth_url(urls)).status_code == 403
    assert teacher_client.get(f"/watch/auth/{lesson.id}/ffffffff.AAAAAAAAAAAAAAAAAAAAAA").status_code == 403
    assert teacher_client.get(f"/watch/auth/{lesson.id + 1}/{urls['master'].split('/')[3]}").status_code == 403
    # Revoked since the grant was issued: the full check runs again (nginx asks after its cache expired).
    course.published = False
    db.session.commit()
    r = teacher_client.get(auth_url(urls))
    assert r.status_code == 403 and "X-Media-Folder" not in r.headers
    course.published = True
    db.session.commit()
    assert teacher_client.get(auth_url(urls)).status_code == 200
    teacher = world["teacher"]
    teacher.session_version = (teacher.session_version or 0) + 1  # "sign out everywhere", password change
    db.session.commit()
    assert teacher_client.get(auth_url(urls)).status_code == 403


def test_nginx_auth_refuses_a_lesson_without_rendition(app, db, watcher):
    client, urls, _v, lesson = watcher
    lesson.rendition_dir = None
    db.session.commit()
    assert client.get(auth_url(urls)).status_code == 403


def test_readme_shows_the_nginx_config_the_benchmark_runs():
    root = Path(__file__).resolve().parents[3]
    conf = (root / "deploy" / "nginx-watch.conf").read_text()
    assert conf.strip() in (root / "README.md").read_text()


def test_nginx_accepts_the_config(tmp_path):
    import shutil
    import subprocess

    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed")
    root = Path(__file__).resolve().parents[3]
    conf = (root / "deploy" / "nginx-watch.conf").read_text()
    conf = conf.replace("/var/cache/nginx/yanxiu-watch-auth", str(tmp_path / "cache"))
    http, _, server = conf.partition("# ---- server {} ----")
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log;
events {{}}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy; fastcgi_temp_path {tmp_path}/f;
    uwsgi_temp_path {tmp_path}/u; scgi_temp_path {tmp_path}/s; access_log off;
{http}
    server {{ listen 127.0.0.1:1; {server} }}
}}
""")
    proc = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "logs/error.log"), "-c",
                           str(tmp_path / "nginx.conf")], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
