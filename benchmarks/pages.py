"""Page throughput under the production server: `python benchmarks/pages.py [--scale 11140]`.

Builds the demo province (`flask lms demo --scale N`) into its own SQLite file under instance/
(reused on the next run; --rebuild makes it anew) or, with --database-url / LMS_DATABASE_URL, into
that PostgreSQL database (--rebuild drops and recreates its public schema). Starts gunicorn with
gunicorn.conf.py on a free loopback port, signs in demo users through the login form, then drives
each endpoint with --connections concurrent keep-alive connections for --duration seconds, using wrk
when installed (apt-get install wrk) or a Python thread-per-connection load generator otherwise.

Prints requests/s and p50/p95/p99 latency per endpoint, each page's throughput as a share of the
bare /healthz JSON endpoint, the 1-minute load average before each run (anything else running on
the machine shows there), and the compressed bytes of a first view of /me with its CSS and JS.
Only loopback traffic; every run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
PASSWORD = "Bench2026!"


def flask_cmd(*args: str) -> list[str]:
    flask = VENV_BIN / "flask"
    return [str(flask) if flask.exists() else "flask", "--app", "wsgi", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- data --------------------------------------------------------------------------------------


def prepare_database(args, env: dict) -> None:
    url = env["LMS_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if args.rebuild and path.exists():
            path.unlink()
    elif args.rebuild:
        from sqlalchemy import create_engine, text

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    subprocess.run(flask_cmd("db", "upgrade"), cwd=ROOT, env=env, check=True, capture_output=True)
    started = time.perf_counter()
    out = subprocess.run(
        flask_cmd("lms", "demo", "--if-empty", "--scale", str(args.scale), "--password", PASSWORD),
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    first = out.splitlines()[0] if out else ""
    print(f"data: {first} [{time.perf_counter() - started:.1f} s]")
    # The search index in step with the data: else the first worker's repair task indexes the whole
    # demo while the pages are measured.
    subprocess.run(flask_cmd("lms", "reindex"), cwd=ROOT, env=env, check=True, capture_output=True)


def pick_targets(env: dict) -> dict:
    """Who signs in and which pages they open: members of demo_teacher's class workshop, its county."""
    code = """
import json
from sqlalchemy import select
from lms import create_app
from lms.accounts.models import User
from lms.communities.models import Region, School, Workshop, WorkshopMembership
from lms.extensions import db
app = create_app()
with app.app_context():
    teacher = db.session.scalar(select(User).where(User.username == "demo_teacher"))
    ws = db.session.scalar(select(Workshop).join(WorkshopMembership, WorkshopMembership.workshop_id == Workshop.id)
                           .where(WorkshopMembership.user_id == teacher.id, Workshop.kind == "class"))
    members = list(db.session.scalars(select(User.username).join(WorkshopMembership,
                   WorkshopMembership.user_id == User.id).where(WorkshopMembership.workshop_id == ws.id)
                   .order_by(User.id).limit(64)))
    county = db.session.get(School, teacher.school_id).county
    province = db.session.scalar(select(Region).where(Region.level == "province"))
    print(json.dumps({"workshop": ws.id, "workshop_members": ws.member_count, "county": county.id,
                      "county_schools": county.school_count, "province": province.id, "members": members}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- server ------------------------------------------------------------------------------------


def start_server(env: dict, port: int, args) -> subprocess.Popen:
    gunicorn = VENV_BIN / "gunicorn"
    cmd = [str(gunicorn) if gunicorn.exists() else "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.Popen([*cmd, "wsgi:app"], cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
    stop_server(proc)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def login(port: int, username: str) -> str:
    """Sign in through the real form (CSRF token included); returns the session cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    html = resp.read().decode()
    cookie = resp.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    form = {"identifier": username, "password": PASSWORD}
    if token:
        form["csrf_token"] = token.group(1)
    body = urllib.parse.urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    conn.request("POST", "/login", body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    new = resp.getheader("Set-Cookie", "").split(";")[0]
    if resp.status != 302 or not new:
        raise SystemExit(f"login of {username} failed: HTTP {resp.status}")
    return new


# --- load generators ---------------------------------------------------------------------------

WRK_LUA = """
local paths = {PATHS}
local cookies = {COOKIES}
local n = 0
request = function()
  n = n + 1
  local headers = {}
  if #cookies > 0 then headers["Cookie"] = cookies[(n % #cookies) + 1] end
  return wrk.format("GET", paths[(n % #paths) + 1], headers)
end
done = function(summary, latency, requests)
  io.write(string.format("JSON{\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,\\"non2xx\\":%d,"
    .. "\\"p50\\":%d,\\"p95\\":%d,\\"p99\\":%d}\\n",
    summary.requests, summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(95),
    latency:percentile(99)))
end
"""


def lua_list(items: list[str]) -> str:
    return "{" + ", ".join(json.dumps(x) for x in items) + "}"


def run_wrk(port: int, paths: list[str], cookies: list[str], args) -> dict:
    script = WRK_LUA.replace("{PATHS}", lua_list(paths)).replace("{COOKIES}", lua_list(cookies))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "10s",
             "-s", f.name, f"http://127.0.0.1:{port}"],
            check=True, capture_output=True, text=True, timeout=args.duration + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(f.name)
    data = json.loads(out.split("JSON", 1)[1].strip().splitlines()[0])
    secs = data["duration_us"] / 1e6
    return {
        "rps": data["requests"] / secs,
        "p50": data["p50"] / 1000,
        "p95": data["p95"] / 1000,
        "p99": data["p99"] / 1000,
        "errors": data["errors"] + data["non2xx"],
        "requests": data["requests"],
    }


def run_python(port: int, paths: list[str], cookies: list[str], args) -> dict:
    """One thread and one persistent HTTP/1.1 connection per simulated client."""
    stop_at = time.perf_counter() + args.duration
    latencies: list[list[float]] = [[] for _ in range(args.connections)]
    errors = [0] * args.connections

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = i
        while time.perf_counter() < stop_at:
            n += 1
            headers = {"Cookie": cookies[n % len(cookies)]} if cookies else {}
            t0 = time.perf_counter()
            try:
                conn.request("GET", paths[n % len(paths)], headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[i].append(time.perf_counter() - t0)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    all_lat = sorted(x for lst in latencies for x in lst)
    if not all_lat:
        raise SystemExit("no request completed")

    def pct(p: float) -> float:
        return all_lat[min(len(all_lat) - 1, int(p / 100 * len(all_lat)))] * 1000

    return {"rps": len(all_lat) / elapsed, "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "errors": sum(errors), "requests": len(all_lat)}  # fmt: skip


def check_pages(port: int, paths: list[str], cookies: list[str]) -> None:
    """Every measured URL must answer 200 for the users driving it (a 302 to /login would flatter the figures)."""
    for path in paths:
        for cookie in cookies[:3] or [""]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise SystemExit(f"GET {path} answered {resp.status}")


# --- first view size ---------------------------------------------------------------------------


def first_view_size(port: int, cookie: str) -> list[tuple[str, int, int, str]]:
    """(url, bytes on the wire, uncompressed bytes, content-encoding) for /me and the CSS/JS it references."""

    def fetch(path: str) -> tuple[bytes, int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"Cookie": cookie, "Accept-Encoding": "gzip, br"})
        resp = conn.getresponse()
        body = resp.read()
        enc = resp.getheader("Content-Encoding", "") or "identity"
        if enc == "gzip":
            raw = gzip.decompress(body)
        elif enc == "br":
            import brotli

            raw = brotli.decompress(body)
        else:
            raw = body
        return raw, len(body), enc

    html, wire, enc = fetch("/me")
    rows = [("/me", wire, len(html), enc)]
    text = html.decode()
    refs = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', text)
    refs += re.findall(r'<script[^>]+src="([^"]+)"', text)
    for ref in dict.fromkeys(refs):
        if ref.startswith("/"):
            raw, wire, enc = fetch(ref)
            rows.append((ref, wire, len(raw), enc))
    return rows


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=11140, help="teachers in the demo province (default 11140)")
    ap.add_argument("--database-url", default=os.environ.get("LMS_DATABASE_URL", ""),
                    help="PostgreSQL URL (default: SQLite file instance/bench-<scale>.sqlite3)")  # fmt: skip
    ap.add_argument("--rebuild", action="store_true", help="build the data anew")
    ap.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=0, help="override gunicorn.conf.py workers")
    ap.add_argument("--threads", type=int, default=0, help="override gunicorn.conf.py threads")
    ap.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated endpoint names to run (healthz,me,workshop,county, county_stats,province_stats)",
    )
    args = ap.parse_args()

    url = args.database_url or f"sqlite:///{ROOT / 'instance' / f'bench-{args.scale}.sqlite3'}"
    env = dict(os.environ, LMS_DATABASE_URL=url, LMS_SECRET_KEY="benchmark-only-secret",
               LMS_LOGIN_RATE_LIMIT="100000 per minute", PYTHONPATH=str(ROOT))  # fmt: skip
    (ROOT / "instance").mkdir(exist_ok=True)
    prepare_database(args, env)
    targets = pick_targets(env)
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")
    runner = run_wrk if tool == "wrk" else run_python

    port = free_port()
    proc = start_server(env, port, args)
    try:
        members = targets["members"][: args.connections]
        cookies = [login(port, u) for u in members]
        county_admin = [login(port, "demo_county_admin")]
        province_admin = [login(port, "demo_province_admin")]
        endpoints = [
            ("healthz", "bare JSON /healthz", ["/healthz"], []),
            ("me", "personal space /me", ["/me"], cookies),
            ("workshop", f"workshop page ({targets['workshop_members']} members)",
             [f"/workshops/{targets['workshop']}"], cookies),
            ("county", f"county page ({targets['county_schools']} schools, county admin)",
             [f"/regions/{targets['county']}"], county_admin),
            # Learning statistics: every teacher of the unit aggregated per request (no cache).
            ("county_stats", "county learning statistics (county admin)",
             [f"/regions/{targets['county']}/stats"], county_admin),
            ("province_stats", "province learning statistics (province admin)",
             [f"/regions/{targets['province']}/stats"], province_admin),
        ]  # fmt: skip
        if args.only:
            wanted = set(args.only.split(","))
            endpoints = [e for e in endpoints if e[0] in wanted or e[0] == "healthz"]
        db_kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"server: gunicorn ({args.workers or 'conf'} workers, {args.threads or 'conf'} threads), {db_kind}; "
              f"load: {tool}, {args.connections} connections, {args.duration} s per endpoint; "
              f"{len(cookies)} signed-in teachers, {os.cpu_count()} CPUs")  # fmt: skip
        results = {}
        for key, label, paths, jar in endpoints:
            check_pages(port, paths, jar)
            runner(port, paths, jar, argparse.Namespace(**{**vars(args), "duration": 2}))  # warm-up
            load = os.getloadavg()[0]  # other work on the machine skews the figures: shown per row
            results[key] = (label, runner(port, paths, jar, args) | {"load": load})
        base = results["healthz"][1]["rps"]
        print(f"\n{'endpoint':<48} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'vs bare':>8} {'errors':>7}"
              f" {'load':>5}")  # fmt: skip
        for _key, (label, r) in results.items():
            print(f"{label:<48} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} "
                  f"{r['rps'] / base:>8.1%} {r['errors']:>7} {r['load']:>5.1f}")  # fmt: skip

        rows = first_view_size(port, cookies[0])
        print("\nfirst view of /me (Accept-Encoding: gzip, br):")
        for ref, wire, raw, enc in rows:
            print(f"  {ref:<60} {wire / 1024:>7.1f} KB on the wire ({enc}), {raw / 1024:.1f} KB uncompressed")
        total = sum(w for _, w, _, _ in rows)
        print(f"  {'total':<60} {total / 1024:>7.1f} KB (budget 150 KB)")
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()
