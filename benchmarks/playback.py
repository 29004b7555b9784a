"""Playback under load: `python benchmarks/playback.py [--only segments|heartbeat|live] [--duration 10]`.

Segments: 64 concurrent viewers (wrk connections; each viewer its own session cookie and grant)
fetching the 720p HLS segments of a real transcode,
  1. nginx serving the files directly (the baseline),
  2. nginx with deploy/nginx-watch.conf, the README's configuration: the app signed each viewer's
     grant (after its permission check, when the lesson page was shown); nginx checks the signature
     (secure_link) and sends the bytes,
  3. nginx in front of the app with LMS_MEDIA_ACCEL_REDIRECT: the app checks every segment's grant,
     nginx sends the bytes from an `internal` location (X-Accel-Redirect),
  4. the app alone under gunicorn (gunicorn.conf.py) sending the bytes itself (the pure-Flask fallback),
all in the same run; prints requests/s, MB/s, p50/p95/p99 and each as a share of nginx's throughput.

Live (`--only live`): N viewers of one live session (each its own session cookie and live grant) polling
the playlist and fetching 1-second segments (one of each per viewer per second in a real player; here
as fast as the connections allow, playlist and segment alternately, while a writer thread adds a
segment and rewrites the playlist every second, as ffmpeg does),
  1. plain nginx serving the live folder (the baseline),
  2. nginx with deploy/nginx-watch.conf's live location on the viewers' grants (lms.live.playback),
  3. the app under gunicorn on /live/<id>/hls/ (what every viewer did before: login, session, live.view
     and the file, for the playlist and every segment),
in the same run, interleaved; prints requests/s, p50/p95/p99 and the viewers each could carry at 2
requests per viewer per second.

Heartbeats: 1,000 simulated viewers (each a user with a session cookie and a viewing token, the media
position advancing with the clock so the full crediting path runs) posting to /watch/heartbeat over
64 connections, against the bare /healthz endpoint of the same server as the baseline.

The data (a county, a school, 1,000 teachers, a course with a video lesson) is built in a fresh
database: SQLite under a temporary folder unless --database-url / LMS_DATABASE_URL names a PostgreSQL
database (its public schema is dropped and rebuilt). nginx runs as a non-daemon child with a temporary
configuration; wrk generates the load. Loopback only; every run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = ROOT / ".venv" / "bin"
UA = "playback-bench"
SECRET = "bench-secret-key-not-for-production"  # noqa: S105


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, path: str = "/healthz", timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")


# --- data ------------------------------------------------------------------------------------------


def build(env: dict, media_root: Path, viewers: int, tmp: Path) -> dict:
    """Schema, users, course, lesson with a 720p rendition; session cookies, grants, viewing tokens."""
    from flask_login.utils import _create_identifier
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from lms import create_app
    from lms.access.services import site_context
    from lms.accounts.models import User
    from lms.communities import services as community
    from lms.courses import watch
    from lms.courses.models import Course, Lesson
    from lms.extensions import db
    from lms.media import ffmpeg

    app = create_app({"DATABASE_URL": env["LMS_DATABASE_URL"], "MEDIA_ROOT": str(media_root), "SECRET_KEY": SECRET,
                      "MEDIA_REQUEUE_ON_START": False})  # fmt: skip
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        site_context()
        province = community.create_region("江西省", "province")
        county = community.create_region("东湖区", "county", community.create_region("南昌市", "city", province))
        school = community.create_school("东湖小学", county, stage="primary")
        db.session.flush()
        db.session.execute(insert(User), [
            {"username": f"bench{i}", "name": f"教师{i}", "school_id": school.id, "password_hash": "!",
             "phone": f"139{i:08d}"} for i in range(viewers)
        ])  # fmt: skip
        course = Course(title="压测课程", kind="integration", published=True, context_id=county.context.id)
        db.session.add(course)
        db.session.flush()
        src = tmp / "clip.mp4"
        subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",  # noqa: S603
                        "testsrc2=s=1280x720:r=25:d=12", "-f", "lavfi", "-i", "sine=d=12", "-c:v", "libx264",
                        "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                        str(src)], check=True)  # fmt: skip
        info = ffmpeg.probe(src)
        ffmpeg.transcode(src, media_root / "hls" / "bench" / "1", info=info)
        lesson = Lesson(course_id=course.id, title="第一课", kind="video", rendition_dir="hls/bench/1",
                        duration_seconds=3600)  # fmt: skip
        db.session.add(lesson)
        db.session.commit()
        from lms.accounts.services import SIGN_IN_KEY, start_sign_in

        users = list(db.session.scalars(db.select(User).where(User.username.like("bench%")).order_by(User.id)))
        serializer = app.session_interface.get_signing_serializer(app)
        with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": UA}):
            ident = _create_identifier()
            cookies, tokens, grants = [], [], []
            for u in users:
                key = u.get_id()
                sign_in = start_sign_in(u, UA, "127.0.0.1")  # a real sign-in, as the login form makes
                session = serializer.dumps({"_user_id": key, "_fresh": True, "_id": ident, SIGN_IN_KEY: sign_in})
                holder = watch.holder(key, sign_in)
                cookies.append(f"session={session}; {watch.WATCH_COOKIE}={watch.watch_cookie(holder)}")
                tokens.append(watch.start_viewing(key, lesson))
                # Grants for the whole run: a player renews its grant through the app every few minutes
                # (LMS_WATCH_GRANT_SECONDS), i.e. 1,000 viewers ask the app about 4 times a second, which
                # the heartbeats' figures below dwarf; the segments themselves are what is measured here.
                grants.append(watch.media_grant(holder, lesson.id, lesson.rendition_dir, seconds=6 * 3600))
        live = _build_live(app, users, county, cookies, media_root)
        segs = sorted(p.name for p in (media_root / "hls/bench/1/720p").glob("seg_*.ts"))
        sizes = [(media_root / "hls/bench/1/720p" / s).stat().st_size for s in segs]
        return {"lesson": lesson.id, "cookies": cookies, "tokens": tokens, "grants": grants, "segments": segs,
                "mean_segment": sum(sizes) / len(sizes), "rendition": "hls/bench/1", **live}  # fmt: skip


#: A live segment: 1 s at the live encoder's ~1.3 Mbit/s (lms.media.live_hls), in 188-byte TS packets.
LIVE_SEGMENT_BYTES = 188 * 870
LIVE_WINDOW = 30  # playlist entries (ffmpeg keeps them all; half a minute keeps the playlist ~1 KB)


def _build_live(app, users, county, cookies: list[str], media_root: Path) -> dict:
    """A live session in the teachers' county with LIVE_WINDOW segments written; each viewer's grant
    (for the whole run: renewals are one app request per viewer every few minutes), and their cookies
    with the lms_watch cookie (the same value on /live/ as on /watch/)."""
    from datetime import timedelta

    from lms.core.db import utcnow
    from lms.courses import watch
    from lms.extensions import db
    from lms.live.models import LiveSession

    now = utcnow()
    live = LiveSession(context_id=county.context.id, title="压测直播", subject="math", starts_at=now,
                       ends_at=now + timedelta(hours=6), status="live", video_status="live")  # fmt: skip
    db.session.add(live)
    db.session.flush()
    live.video_path = f"live/{live.id}"
    db.session.commit()
    folder = media_root / live.video_path
    folder.mkdir(parents=True)
    for i in range(LIVE_WINDOW):
        _write_live_segment(folder, i)
    _write_live_playlist(folder, LIVE_WINDOW)
    grants = []
    serializer = app.session_interface.get_signing_serializer(app)
    for c in cookies[: len(users)]:
        data = serializer.loads(re.search(r"session=([^;]+)", c)[1])
        holder = watch.holder(data["_user_id"], data["_sign_in"])
        grants.append(watch.live_grant(holder, live.id, seconds=6 * 3600))
    return {"live": live.id, "live_grants": grants, "live_folder": str(folder)}


def _write_live_segment(folder: Path, i: int) -> None:
    (folder / f"seg_{i:05d}.ts").write_bytes((b"\x47" + bytes([i % 256]) * 187) * (LIVE_SEGMENT_BYTES // 188))


def _write_live_playlist(folder: Path, count: int) -> None:
    """The playlist as ffmpeg writes it: a new file renamed over the old one (readers see a whole one)."""
    first = max(0, count - LIVE_WINDOW)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for i in range(first, count):
        lines += ["#EXTINF:1.000000,", f"seg_{i:05d}.ts"]
    tmp = folder / "index.m3u8.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, folder / "index.m3u8")


class LiveWriter:
    """A segment and a new playlist every second, as the live encoder does, for as long as it runs."""

    def __init__(self, folder: str):
        import threading

        self.folder, self.count, self.stopped = Path(folder), LIVE_WINDOW, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(1.0):
            _write_live_segment(self.folder, self.count)
            self.count += 1
            _write_live_playlist(self.folder, self.count)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


# --- servers -------------------------------------------------------------------------------------------


def start_gunicorn(env: dict, port: int, accel: bool) -> subprocess.Popen:
    env = dict(env)
    env["LMS_MEDIA_ACCEL_REDIRECT"] = "/_protected/" if accel else ""
    cmd = [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    try:
        wait_http(port)
    except BaseException:
        stop(proc)
        raise
    return proc


WATCH_CONF = ROOT / "deploy" / "nginx-watch.conf"


def watch_conf(env: dict, app_port: int, media_root: Path, prefix: Path) -> tuple[str, str]:
    """deploy/nginx-watch.conf (the README's configuration) for this run: (http part, server part), with
    the secret line `flask lms nginx-watch-secret` prints."""
    secret = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "lms", "nginx-watch-secret"], cwd=ROOT,  # noqa: S603
                            env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
    (prefix / "watch-secret.conf").write_text(secret)
    text = WATCH_CONF.read_text()
    text = (text.replace("127.0.0.1:8000", f"127.0.0.1:{app_port}").replace("/srv/yanxiu/media", str(media_root))
            .replace("/etc/nginx/yanxiu-watch-secret.conf", str(prefix / "watch-secret.conf")))  # fmt: skip
    http, _, server = text.partition("# ---- server {} ----")
    return http, server


def start_nginx(env: dict, tmp: Path, port: int, accel_port: int, app_port: int, media_root: Path) -> subprocess.Popen:
    """One nginx: on `port` plain files (/direct/) and the app behind deploy/nginx-watch.conf; on
    `accel_port` the app behind a plain proxy with an internal location for X-Accel-Redirect."""
    prefix = tmp / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    http, server = watch_conf(env, app_port, media_root, prefix)
    conf = prefix / "nginx.conf"
    conf.write_text(f"""
daemon off;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http}
    server {{
        listen 127.0.0.1:{port};
        location /direct/ {{ alias {media_root}/; }}
{server}
        location / {{
            proxy_pass http://yanxiu_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
    server {{
        listen 127.0.0.1:{accel_port};
        location /_protected/ {{ internal; alias {media_root}/; }}
        location / {{
            proxy_pass http://yanxiu_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
""")
    proc = subprocess.Popen(["/usr/sbin/nginx", "-p", str(prefix), "-e", str(prefix / "logs/error.log"),  # noqa: S603
                             "-c", str(conf)], start_new_session=True)  # fmt: skip
    try:
        wait_http(port, "/direct/")
    except BaseException:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- load ----------------------------------------------------------------------------------------------

LUA_DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
  io.write(string.format("RESULT %d %d %f %d %d %d %d\\n", summary.requests, summary.bytes, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(95), errors, latency:percentile(99)))
end
"""


def lua_list(items: list[str]) -> str:
    return "{" + ",".join(json.dumps(x) for x in items) + "}"


def wrk(port: int, script: str, tmp: Path, connections: int, duration: int) -> dict:
    path = tmp / f"wrk-{time.monotonic_ns()}.lua"
    path.write_text(script + LUA_DONE)
    load = os.getloadavg()[0]
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "-s", str(path),  # noqa: S603, S607
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    m = re.search(r"RESULT (\d+) (\d+) ([\d.]+) (\d+) (\d+) (\d+) (\d+)", out)
    if not m:
        raise RuntimeError(out)
    n, nbytes, secs, p50, p95, errors = int(m[1]), int(m[2]), float(m[3]), int(m[4]), int(m[5]), int(m[6])
    return {"rps": n / secs, "mbps": nbytes / secs / 1e6, "p50": p50 / 1000, "p95": p95 / 1000, "errors": errors,
            "p99": int(m[7]) / 1000, "n": n, "load": load}  # fmt: skip


def segment_script(paths: list[list[str]], cookies: list[str]) -> str:
    """Viewer v (cookie v) fetches paths[v][...] in turn; the viewers take turns request by request."""
    return f"""
local paths = {{{",".join(lua_list(p) for p in paths)}}}
local cookies = {lua_list(cookies)}
local i = 0
request = function()
  i = i + 1
  local v = i % #cookies + 1
  local p = paths[v]
  return wrk.format("GET", p[math.floor(i / #cookies) % #p + 1], {{["Cookie"] = cookies[v], ["User-Agent"] = "{UA}"}})
end
"""


def live_script(bases: list[str], cookies: list[str], segments: int) -> str:
    """Viewer v (cookie v, URL prefix bases[v]) fetches its playlist, then a segment (of the first
    `segments`, which exist all run), and so on; the viewers take turns request by request, so every
    run is half playlists and half segments however few requests it makes."""
    return f"""
local bases = {lua_list(bases)}
local cookies = {lua_list(cookies)}
local i = 0
local fetched = {{}}
request = function()
  i = i + 1
  local v = math.floor(i / 2) % #cookies + 1
  local name = "index.m3u8"
  if i % 2 == 1 then
    local n = fetched[v] or 0
    fetched[v] = n + 1
    name = string.format("seg_%05d.ts", n % {segments})
  end
  return wrk.format("GET", bases[v] .. name, {{["Cookie"] = cookies[v], ["User-Agent"] = "{UA}"}})
end
"""


def heartbeat_script(cookies: list[str], tokens: list[str]) -> str:
    return f"""
local cookies = {lua_list(cookies)}
local tokens = {lua_list(tokens)}
local i = 0
local t0 = os.time()
request = function()
  i = i % #cookies + 1
  local pos = (os.time() - t0) % 3000
  local body = '{{"v":"' .. tokens[i] .. '","p":' .. pos .. ',"playing":true,"visible":true,"rate":1}}'
  return wrk.format("POST", "/watch/heartbeat", {{["Cookie"] = cookies[i], ["User-Agent"] = "{UA}",
    ["Content-Type"] = "application/json"}}, body)
end
"""


def plain_script(path: str) -> str:
    return f'request = function() return wrk.format("GET", {json.dumps(path)}, {{["User-Agent"] = "{UA}"}}) end\n'


def show(label: str, r: dict, base: dict | None) -> None:
    share = f"{100 * r['rps'] / base['rps']:5.1f}% of baseline" if base else "baseline"
    print(f"  {label:<40} {r['rps']:7.0f} req/s {r['mbps']:7.1f} MB/s  p50 {r['p50']:6.2f}  p95 {r['p95']:6.2f}  "
          f"p99 {r['p99']:7.2f} ms  err {r['errors']}  [{share}; load {r['load']:.2f}]")  # fmt: skip


def rounds(n: int, runs: dict, base_label: str) -> None:
    """Run each (label: fn) in turn, n rounds interleaved, every other round in reverse order (the
    machine's other load varies from second to second); print every run, then each one's median
    share of the baseline run of the same round."""
    shares: dict[str, list[float]] = {k: [] for k in runs if k != base_label}
    for i in range(n):
        print(f" round {i + 1}/{n}:")
        order = list(runs) if i % 2 == 0 else list(reversed(runs))
        results = {label: runs[label]() for label in order}
        base = results[base_label]
        for label in runs:
            show(label, results[label], None if label == base_label else base)
            if label != base_label:
                shares[label].append(100 * results[label]["rps"] / base["rps"])
    for label, xs in shares.items():
        print(f"  median of {n}: {label:<40} {statistics.median(xs):5.1f}% of {base_label} "
              f"(rounds: {', '.join(f'{x:.0f}%' for x in xs)})")  # fmt: skip


def check_headers(port: int, path: str, cookie: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={"Cookie": cookie, "User-Agent": UA, "Range": "bytes=0-187"})
    r = conn.getresponse()
    body = r.read()
    return {"status": r.status, "type": r.getheader("Content-Type"), "cache": r.getheader("Cache-Control"),
            "range": r.getheader("Content-Range"), "len": len(body),
            "accel": r.getheader("X-Accel-Redirect")}  # fmt: skip


# --- main ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["segments", "heartbeat", "live"])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the segment runs")
    parser.add_argument("--pairs", type=int, default=10, help="interleaved pairs nginx / nginx-watch.conf")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("LMS_DATABASE_URL", ""))
    args = parser.parse_args()
    # A SIGTERM (timeout, Ctrl-C in a wrapper) still stops the servers started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="lms-playback-bench-"))
    tmp.chmod(0o755)  # nginx's workers run as another user and must reach the media folder
    media_root = tmp / "media"
    env = dict(os.environ)
    env.update({"LMS_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
                "LMS_MEDIA_ROOT": str(media_root), "LMS_SECRET_KEY": SECRET, "LMS_MEDIA_REQUEUE_ON_START": "0",
                "LMS_LOG_LEVEL": "error"})  # fmt: skip
    os.environ.update({k: v for k, v in env.items() if k.startswith("LMS_")})
    started = time.perf_counter()
    data = build(env, media_root, args.viewers, tmp)
    db_kind = env["LMS_DATABASE_URL"].split(":", 1)[0]
    print(f"data: {args.viewers} teachers, one lesson, {len(data['segments'])} 720p segments of "
          f"{data['mean_segment'] / 1024:.0f} KiB on average; database {db_kind} "
          f"[{time.perf_counter() - started:.1f} s]; {os.cpu_count()} CPUs; {args.connections} connections, "
          f"{args.duration} s per run")  # fmt: skip
    procs: list[subprocess.Popen] = []
    try:
        if args.only in (None, "segments"):
            app_port, ngx_port, accel_port = free_port(), free_port(), free_port()
            app = start_gunicorn(env, app_port, accel=True)
            procs.append(app)
            procs.append(start_nginx(env, tmp, ngx_port, accel_port, app_port, media_root))
            segs = data["segments"]
            n = args.connections  # one viewer (own session cookie, own grant) per connection
            cookies = data["cookies"][:n]
            direct = [[f"/direct/{data['rendition']}/720p/{s}" for s in segs]] * len(cookies)
            via_app = [[f"/watch/{data['lesson']}/{g}/720p/{s}" for s in segs] for g in data["grants"][:n]]
            cookie = cookies[0]
            print("checks (Range bytes=0-187 on one segment):")
            print("  nginx direct:           ", check_headers(ngx_port, direct[0][0], cookie))
            print("  nginx-watch.conf:       ", check_headers(ngx_port, via_app[0][0], cookie))
            other = check_headers(ngx_port, via_app[1][0], cookie)["status"]
            print(f"  nginx-watch.conf, another viewer's grant: {other}, no cookie:",
                  check_headers(ngx_port, via_app[0][0], "")["status"])  # fmt: skip
            print("  nginx + X-Accel:        ", check_headers(accel_port, via_app[0][0], cookie))
            print(f"segments, {len(cookies)} viewers over {args.connections} connections, {args.duration} s per run:")
            # Every viewer's first segment (nginx checks the signature; the app is not asked).
            started = time.perf_counter()
            for paths, c in zip(via_app, cookies, strict=True):
                assert check_headers(ngx_port, paths[0], c)["status"] == 206
            print(f"  first segment of each of {len(cookies)} viewers: "
                  f"{(time.perf_counter() - started) / len(cookies) * 1000:.1f} ms each")  # fmt: skip

            def run(port, paths, seconds=args.duration):
                return lambda: wrk(port, segment_script(paths, cookies), tmp, args.connections, seconds)

            # nginx against nginx: many short pairs, so the machine's other load drifts little between
            # the two runs of a pair (two nginx setups differ by a few percent; the load by ±30%).
            pair = max(2, args.duration // 2)
            rounds(args.pairs, {"nginx serving the files": run(ngx_port, direct, pair),
                                "nginx-watch.conf (signed grants)": run(ngx_port, via_app, pair)},
                   "nginx serving the files")  # fmt: skip
            rounds(args.rounds, {"nginx serving the files": run(ngx_port, direct),
                                 "app checks every segment, X-Accel": run(accel_port, via_app)},
                   "nginx serving the files")  # fmt: skip
            stop(app)
            app_port = free_port()
            app = start_gunicorn(env, app_port, accel=False)
            procs.append(app)
            print("  pure-Flask check:    ", check_headers(app_port, via_app[0][0], cookie))
            rounds(args.rounds, {"nginx serving the files": run(ngx_port, direct),
                                 "app alone (gunicorn sends the bytes)": run(app_port, via_app)},
                   "nginx serving the files")  # fmt: skip
            stop(app)
            for p in procs:
                stop(p)
            procs.clear()
        if args.only in (None, "live"):
            app_port, ngx_port, accel_port = free_port(), free_port(), free_port()
            app = start_gunicorn(env, app_port, accel=False)
            procs.append(app)
            procs.append(start_nginx(env, tmp, ngx_port, accel_port, app_port, media_root))
            writer = LiveWriter(data["live_folder"])
            try:
                run_live(args, data, tmp, ngx_port, app_port)
            finally:
                writer.stop()
            for p in procs:
                stop(p)
            procs.clear()
        if args.only in (None, "heartbeat"):
            app_port = free_port()
            procs.append(start_gunicorn(env, app_port, accel=False))
            print(f"heartbeats, {args.viewers} viewers over {args.connections} connections:")
            base = wrk(app_port, plain_script("/healthz"), tmp, args.connections, args.duration)
            show("bare /healthz", base, None)
            r = wrk(app_port, heartbeat_script(data["cookies"], data["tokens"]), tmp, args.connections, args.duration)
            show("POST /watch/heartbeat", r, base)
            print(f"  = capacity for about {r['rps'] * 15:,.0f} viewers at one heartbeat per 15 s")
            _summarise_credit(env)
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


def run_live(args, data: dict, tmp: Path, ngx_port: int, app_port: int) -> None:
    sid, n = data["live"], args.viewers
    cookies = data["cookies"][:n]
    direct = [f"/direct/live/{sid}/"] * len(cookies)
    granted = [f"/live/{sid}/g/{g}/" for g in data["live_grants"][:n]]
    via_app = [f"/live/{sid}/hls/"] * len(cookies)
    cookie = cookies[0]
    print("checks (Range bytes=0-187 on the first segment):")
    print("  nginx direct:           ", check_headers(ngx_port, direct[0] + "seg_00000.ts", cookie))
    print("  nginx-watch.conf, grant:", check_headers(ngx_port, granted[0] + "seg_00000.ts", cookie))
    other = check_headers(ngx_port, granted[1] + "index.m3u8", cookie)["status"]
    print(f"  nginx-watch.conf, another viewer's grant: {other}, no cookie:",
          check_headers(ngx_port, granted[0] + "index.m3u8", "")["status"])  # fmt: skip
    print("  app /live/<id>/hls/:    ", check_headers(app_port, via_app[0] + "seg_00000.ts", cookie))
    print(
        f"live: {len(cookies)} viewers of one session over {args.connections} connections, playlist and "
        f"1-second segments ({LIVE_SEGMENT_BYTES // 1024} KiB) alternately, {args.duration} s per run:"
    )

    def run(port, bases, seconds=args.duration):
        return lambda: wrk(port, live_script(bases, cookies, LIVE_WINDOW), tmp, args.connections, seconds)

    # As for segments: nginx against nginx in many short interleaved pairs (the machine's other load
    # drifts less within a pair), then the app against nginx in full-length rounds.
    plain, signed, app = (
        "plain nginx (the live folder)",
        "nginx-watch.conf (live grants)",
        "app /live/<id>/hls/ (gunicorn)",
    )
    pair = max(2, args.duration // 2)
    results = _live_rounds(args.pairs, {plain: run(ngx_port, direct, pair), signed: run(ngx_port, granted, pair)},
                           plain)  # fmt: skip
    with_app = _live_rounds(args.rounds, {plain: run(ngx_port, direct), app: run(app_port, via_app)}, plain)
    results[app] = with_app[app]
    results["_base"][app] = with_app["_base"][app]
    bases = results.pop("_base")
    for label, rs in results.items():
        rps = statistics.median(r["rps"] for r in rs)
        p50, p95, p99 = (statistics.median(r[k] for r in rs) for k in ("p50", "p95", "p99"))
        line = (f"  median of {len(rs)}: {label:<32} {rps:6.0f} req/s p50 {p50:6.2f}  p95 {p95:6.2f}  p99 {p99:7.2f} ms"
                f"  = {rps / 2:,.0f} viewers at 2 requests/s")  # fmt: skip
        if label in bases:
            shares = [100 * r["rps"] / b["rps"] for r, b in zip(rs, bases[label], strict=True)]
            line += f"; {statistics.median(shares):.1f}% of plain nginx in the same rounds"
        print(line)


def _live_rounds(n: int, runs: dict, base_label: str) -> dict:
    """Each run of `runs` n times, interleaved (every other round reversed); the results by label, and
    under "_base" the baseline's results of the same rounds for each other label."""
    results: dict = {label: [] for label in runs}
    for i in range(n):
        print(f" round {i + 1}/{n}:")
        order = list(runs) if i % 2 == 0 else list(reversed(runs))
        got = {label: runs[label]() for label in order}
        for label in runs:
            show(label, got[label], None if label == base_label else got[base_label])
            results[label].append(got[label])
    results["_base"] = {label: results[base_label] for label in runs if label != base_label}
    return results


def _summarise_credit(env: dict) -> None:
    from sqlalchemy import create_engine, text

    url = env["LMS_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.connect() as conn:
        n, total = conn.execute(text("SELECT count(*), coalesce(sum(seconds), 0) FROM watch_states")).one()
        lessons = conn.execute(text("SELECT coalesce(sum(seconds), 0) FROM lesson_progress")).scalar()
    engine.dispose()
    print(f"  credited: {n} viewers, {total:,.0f} s in all (lesson rows agree: {lessons:,.0f} s)")


if __name__ == "__main__":
    main()
