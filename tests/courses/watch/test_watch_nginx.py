"""deploy/nginx-watch.conf for real: Debian's nginx in front of the app (a live server on the test app),
serving a lesson's rendition on the app's grants, and handing everything it refuses to the app.

Skipped where nginx is not installed (.ci/run installs nginx-light).
"""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from lms.courses import watch

ROOT = Path(__file__).resolve().parents[3]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
UA = "nginx-watch-test"
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_server(app):
    """The test app on a free port; `asked` lists the paths that reached it."""
    asked: list[str] = []

    def counting(environ, start_response):
        asked.append(environ["PATH_INFO"])
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, counting, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, asked
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def nginx(app, app_server, tmp_path_factory):
    """nginx with deploy/nginx-watch.conf as README says to use it: the secret from the CLI command."""
    tmp = tmp_path_factory.mktemp("nginx")
    (tmp / "logs").mkdir()
    secret = app.test_cli_runner().invoke(args=["lms", "nginx-watch-secret"])
    assert secret.exit_code == 0, secret.output
    (tmp / "secret.conf").write_text(secret.output)
    conf = (ROOT / "deploy" / "nginx-watch.conf").read_text()
    conf = (conf.replace("127.0.0.1:8000", f"127.0.0.1:{app_server[0]}")
            .replace("/srv/yanxiu/media", app.config["MEDIA_ROOT"])
            .replace("/etc/nginx/yanxiu-watch-secret.conf", str(tmp / "secret.conf")))  # fmt: skip
    http_part, _, server_part = conf.partition("# ---- server {} ----")
    port = _free_port()
    (tmp / "nginx.conf").write_text(f"""
daemon off;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/f;
    uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
{http_part}
    server {{
        listen 127.0.0.1:{port};
{server_part}
        location / {{ proxy_pass http://yanxiu_app; proxy_set_header Host $host; }}
    }}
}}
""")
    cmd = [NGINX, "-p", str(tmp), "-e", str(tmp / "logs/error.log"), "-c", str(tmp / "nginx.conf")]
    check = subprocess.run([*cmd, "-t"], capture_output=True, text=True)  # noqa: S603
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(cmd, start_new_session=True)  # noqa: S603
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def get(port, path, cookies=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = {"User-Agent": UA, **(headers or {})}
    if cookies:
        h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items() if v)
    conn.request("GET", path, headers=h)
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


@pytest.fixture
def viewer(app, world, video, login_as, rendition):
    """A teacher's browser: (session cookie, lms_watch cookie, player URLs, lesson)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA  # the browser nginx will forward
    login_as(world["teacher"], client)
    _course, lesson = video
    r = client.get(f"/watch/lessons/{lesson.id}/sources")
    assert r.status_code == 200
    watch_cookie = client.get_cookie("lms_watch", path="/watch/")
    assert watch_cookie is not None and watch_cookie.http_only
    return {"session": client.get_cookie("session").value, "lms_watch": watch_cookie.value}, r.json, lesson


def segment(urls, name="seg_0000.ts"):
    return urls["master"].replace("master.m3u8", f"240p/{name}")


def test_nginx_sends_the_files_without_asking_the_app(nginx, app_server, viewer, rendition):
    cookies, urls, _lesson = viewer
    asked = app_server[1]
    asked.clear()
    data = (rendition / "240p" / "seg_0000.ts").read_bytes()
    status, headers, body = get(nginx, segment(urls), cookies)
    assert status == 200 and body == data
    assert headers["Content-Type"] == "video/mp2t"
    assert headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = get(nginx, urls["master"], cookies)
    assert status == 200 and b"240p/index.m3u8" in body and headers["Cache-Control"] == "private, max-age=30"
    status, headers, body = get(nginx, segment(urls), cookies, {"Range": "bytes=0-187"})
    assert status == 206 and body == data[:188] and headers["Content-Range"] == f"bytes 0-187/{len(data)}"
    status, _h, _b = get(nginx, segment(urls), cookies, {"Range": f"bytes={len(data) + 10}-"})
    assert status == 416
    assert get(nginx, segment(urls, "seg_9999.ts"), cookies)[0] == 404
    assert asked == []  # nginx checked every signature itself


def test_what_nginx_refuses_the_app_answers(nginx, app_server, app, db, world, viewer, login_as):
    cookies, urls, lesson = viewer
    asked = app_server[1]
    data_path = urls["master"]
    # The session without the lms_watch cookie (an older tab): the app checks the session and serves.
    asked.clear()
    status, _h, body = get(nginx, data_path, {"session": cookies["session"]})
    assert status == 200 and b"240p/index.m3u8" in body and asked == [data_path]
    # Nobody signed in: 403 from the app.
    asked.clear()
    assert get(nginx, data_path)[0] == 403 and asked == [data_path]
    # Another teacher's browser (their own session and lms_watch cookie) with this teacher's URL.
    other = app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = UA
    login_as(world["member"], other)
    other.get(f"/watch/lessons/{lesson.id}/sources")
    other_cookies = {"session": other.get_cookie("session").value,
                     "lms_watch": other.get_cookie("lms_watch", path="/watch/").value}  # fmt: skip
    assert other_cookies["lms_watch"] != cookies["lms_watch"]
    assert get(nginx, data_path, other_cookies)[0] == 403
    # A tampered signature, a later expiry, another lesson: nginx refuses, the app refuses.
    grant = data_path.split("/")[3]
    head, _, sig = grant.rpartition(".")
    forged = [data_path.replace(grant, f"{head}.{sig[::-1]}"),
              data_path.replace(grant, grant.replace(".", "9.", 1)),
              data_path.replace(f"/watch/{lesson.id}/", f"/watch/{lesson.id + 1}/")]  # fmt: skip
    for path in forged:
        asked.clear()
        assert get(nginx, path, cookies)[0] == 403, path
        assert asked == [path]
    # Names outside a rendition never match nginx's location; the app says 404.
    base = data_path.rsplit("/", 1)[0]
    for name in ("notes.txt", "240p/seg_1.mp3", "..%2F..%2Fbench.sqlite3"):
        assert get(nginx, f"{base}/{name}", cookies)[0] == 404, name


def test_an_expired_grant_goes_to_the_app_which_refuses_it(nginx, app_server, app, viewer, world):
    cookies, urls, lesson = viewer
    with app.test_request_context():
        old = watch.media_grant(watch.holder(world["teacher"].get_id(), "x"), lesson.id, lesson.rendition_dir,
                                now=time.time() - 4 * 3600, seconds=60)  # fmt: skip
    path = urls["master"].replace(urls["master"].split("/")[3], old)
    asked = app_server[1]
    asked.clear()
    assert get(nginx, path, cookies)[0] == 403
    assert asked == [path]


def test_a_signed_out_grant_stops_at_nginx_within_the_grant_life(nginx, app_server, app, world, video, login_as,
                                                                 rendition, monkeypatch):  # fmt: skip
    """Cookies and URLs copied before signing out: nginx cannot know the sign-in ended, so it serves them
    until the grant lapses (WATCH_GRANT_SECONDS, here 3 s), then hands them to the app, which refuses;
    the app itself refuses them at once."""
    monkeypatch.setitem(app.config, "WATCH_GRANT_SECONDS", 3)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    login_as(world["teacher"], client)
    _course, lesson = video
    urls = client.get(f"/watch/lessons/{lesson.id}/sources").json
    assert 1 <= urls["ttl"] <= 3
    copied = {"session": client.get_cookie("session").value,
              "lms_watch": client.get_cookie("lms_watch", path="/watch/").value}  # fmt: skip
    client.post("/logout")
    asked = app_server[1]
    asked.clear()
    if time.time() < urls["expires"] - 0.5:  # (a slow machine may already be past it)
        assert get(nginx, segment(urls), copied)[0] == 200 and asked == []  # nginx alone: still inside the window
    # The app, asked directly, refuses the copy at once.
    assert get(app_server[0], segment(urls), copied)[0] == 403
    time.sleep(max(0.0, urls["expires"] + 1.1 - time.time()))
    asked.clear()
    assert get(nginx, segment(urls), copied)[0] == 403 and asked == [segment(urls)]
    # And no renewal: the sources endpoint sends the copy to the sign-in page.
    assert get(nginx, f"/watch/lessons/{lesson.id}/sources", copied)[0] in (302, 401)


def test_a_renewed_grant_is_a_new_url_nginx_serves(nginx, app_server, app, world, video, login_as, rendition,
                                                   monkeypatch):  # fmt: skip
    """What the player does during playback: renew before the grant lapses, fetch on with the new one."""
    monkeypatch.setitem(app.config, "WATCH_GRANT_SECONDS", 5)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    login_as(world["teacher"], client)
    _course, lesson = video
    first = client.get(f"/watch/lessons/{lesson.id}/sources").json
    time.sleep(max(0.0, first["expires"] - time.time() + 0.1))  # the next step: another grant
    second = client.get(f"/watch/lessons/{lesson.id}/sources").json
    assert second["grant"] != first["grant"] and second["expires"] > first["expires"]
    cookies = {"session": client.get_cookie("session").value,
               "lms_watch": client.get_cookie("lms_watch", path="/watch/").value}  # fmt: skip
    asked = app_server[1]
    asked.clear()
    assert get(nginx, segment(second), cookies)[0] == 200 and asked == []


# --- live video (lms.live.playback) through the same configuration ------------------------------------


@pytest.fixture
def live_viewer(app, world, login_as):
    """A live session of workshop A with a playlist and a segment on disk, and a member's browser with
    its grant: (cookies, grant JSON, session id)."""
    from datetime import timedelta

    from lms.core.db import utcnow
    from lms.live import services

    start = utcnow() + timedelta(hours=1)
    s = services.schedule(world["expert"], world.workshop_a.context, "直播答疑", start, start + timedelta(hours=1),
                          "math")  # fmt: skip
    root = Path(app.config["MEDIA_ROOT"]) / "live" / str(s.id)
    shutil.rmtree(root, ignore_errors=True)  # an earlier test's session of the same id
    root.mkdir(parents=True)
    (root / "index.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg_00000.ts\n")
    (root / "seg_00000.ts").write_bytes(b"\x47" * 188 * 8)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    login_as(world["member"], client)
    r = client.get(f"/live/{s.id}/video-grant")
    assert r.status_code == 200
    cookies = {"session": client.get_cookie("session").value,
               "lms_watch": client.get_cookie("lms_watch", path="/live/").value}  # fmt: skip
    return cookies, r.json, s.id


def test_nginx_serves_live_video_on_the_grant(nginx, app_server, live_viewer):
    cookies, g, _sid = live_viewer
    asked = app_server[1]
    asked.clear()
    status, headers, body = get(nginx, g["playlist"], cookies)
    assert status == 200 and b"seg_00000.ts" in body and asked == []
    assert (
        headers["Cache-Control"] == "private, no-cache" and headers["Content-Type"] == "application/vnd.apple.mpegurl"
    )
    # Unchanged since the player's last poll: 304 from nginx (the ETag), still without the app.
    status, _h, body = get(nginx, g["playlist"], cookies, {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b"" and asked == []
    seg = g["playlist"].replace("index.m3u8", "seg_00000.ts")
    status, headers, body = get(nginx, seg, cookies)
    assert status == 200 and len(body) == 188 * 8 and headers["Content-Type"] == "video/mp2t"
    assert headers["Cache-Control"] == "private, max-age=86400" and asked == []
    assert get(nginx, g["playlist"].replace("index.m3u8", "seg_00001.ts"), cookies)[0] == 404  # not yet written


def test_what_nginx_refuses_of_live_video_the_app_refuses(nginx, app_server, app, world, login_as, live_viewer):
    cookies, g, sid = live_viewer
    asked = app_server[1]
    url, grant = g["playlist"], g["grant"]
    head, _, sig = grant.partition(".")
    other = app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = UA
    login_as(world["teacher"], other)
    other_cookies = {"session": other.get_cookie("session").value, "lms_watch": "x"}
    for path, jar in ((url, {"session": cookies["session"]}),  # no lms_watch: the app checks, serves
                      (url.replace(grant, f"{head}.{sig[::-1]}"), cookies),  # forged
                      (url.replace(grant, f"{int(head) + 60}.{sig}"), cookies),  # a later expiry
                      (url.replace(f"/live/{sid}/", f"/live/{sid + 1}/"), cookies),  # another session
                      (url, other_cookies),  # another browser
                      (url, {})):  # fmt: skip
        asked.clear()
        status = get(nginx, path, jar)[0]
        assert asked == [path], path
        assert status == (200 if jar == {"session": cookies["session"]} else 403), path


def test_an_expired_live_grant_stops_at_nginx(nginx, app_server, app, world, login_as, live_viewer, monkeypatch):
    monkeypatch.setitem(app.config, "WATCH_GRANT_SECONDS", 2)
    _cookies, _g, sid = live_viewer
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    login_as(world["member"], client)
    short = client.get(f"/live/{sid}/video-grant").json
    cookies = {"session": client.get_cookie("session").value,
               "lms_watch": client.get_cookie("lms_watch", path="/live/").value}  # fmt: skip
    time.sleep(max(0.0, short["expires"] + 1.1 - time.time()))
    asked = app_server[1]
    asked.clear()
    assert get(nginx, short["playlist"], cookies)[0] == 403 and asked == [short["playlist"]]
