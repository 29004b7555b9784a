"""Live Q&A broadcast: latency from an expert's "answered" to N connected clients.

    .venv/bin/python benchmarks/live_broadcast.py --clients 100,500,1000 --mode gevent
    .venv/bin/python benchmarks/live_broadcast.py --clients 100 --mode threading --redis redis://127.0.0.1:6379/6

For each N it starts real server processes and connects N Socket.IO clients (asyncio, one process,
WebSocket; a minimal protocol client, see Client) as signed-in teachers who join the session's room,
then:

- connect time: opening and joining N connections (50 at a time);
- memory per client: the server processes' RSS growth divided by N;
- latency p50/p95/p99: the expert's socket emits "mark answered" (stored first with its seq, then
  broadcast) ROUNDS times; for every client, receive time minus send time (one clock: all clients
  live in this process), and messages lost;
- messages/s: BURST marks sent back to back; deliveries per second until every client has all.

The same figures are taken from a bare python-socketio server in the same async mode (connect →
enter room; "answer" → emit to the room, nothing stored), and the ratio is printed. With --redis,
the app also runs as two processes sharing the Redis message queue, clients split between them.
The client side is one Python event loop decoding N messages per broadcast: both servers pay that
cost equally, so the ratio is the fairer figure on a small machine.
"""

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UA = "yanxiu-live-bench"
ROUNDS = 100  # --rounds; p99 of 30 rounds is the slowest one
BURST = 50

BARE_SERVER = r"""
import sys
mode = sys.argv[2]
if mode == "gevent":
    from gevent import monkey; monkey.patch_all()
import socketio
sio = socketio.Server(async_mode=mode, cors_allowed_origins="*")
app = socketio.WSGIApp(sio)

@sio.event(namespace="/live")
def join(sid, data):
    sio.enter_room(sid, "session:1", namespace="/live")
    return {"ok": True}

@sio.event(namespace="/live")
def mark(sid, data):
    sio.emit("event", {"seq": data["n"], "kind": "question.status", "session_id": 1,
                       "data": {"id": data["question_id"], "status": data["status"]}},
             to="session:1", namespace="/live")
    return {"ok": True}

def healthz(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status":"ok"}']

app = socketio.WSGIApp(sio, healthz, socketio_path="socket.io")
port = int(sys.argv[1])
if mode == "gevent":
    from gevent import pywsgi
    pywsgi.WSGIServer(("127.0.0.1", port), app, log=None).serve_forever()
else:
    from werkzeug.serving import run_simple
    run_simple("127.0.0.1", port, app, threaded=True)
"""

APP_THREADING = r"""
import sys
from lms import create_app
from lms.extensions import socketio
app = create_app()
socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), allow_unsafe_werkzeug=True, log_output=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str, mode: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    if kind == "bare":
        cmd = [sys.executable, "-c", BARE_SERVER, str(port), mode]
    elif mode == "gevent":
        cmd = [sys.executable, str(ROOT / "live_server.py"), "--port", str(port)]
    else:
        cmd = [sys.executable, "-c", APP_THREADING, str(port)]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - a pipe nobody reads would fill up and block the server
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310
                return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > end:
                proc.kill()
                proc.wait()
                log.seek(0)
                raise RuntimeError(log.read().decode()[-3000:]) from None
            time.sleep(0.2)


def rss(procs) -> int:
    import psutil

    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(p.pid).memory_info().rss
    return total


def stop(procs) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


# --- data ---------------------------------------------------------------------------------------


def build(db_url: str, media: str, n_users: int) -> dict:
    """Schema, one workshop with an expert and n_users members, a session, one question; cookies."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select, text
    from werkzeug.security import generate_password_hash

    from lms import create_app
    from lms.access.services import assign
    from lms.accounts.models import User
    from lms.communities import services as community
    from lms.communities.models import WorkshopMembership
    from lms.core.db import utcnow
    from lms.extensions import db
    from lms.live import services

    app = create_app({"DATABASE_URL": db_url, "MEDIA_ROOT": media, "SECRET_KEY": "bench-secret", "TESTING": True,
                      "MEDIA_REQUEUE_ON_START": False})  # fmt: skip
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        province = community.create_region("基准省", "province")
        city = community.create_region("基准市", "city", province)
        county = community.create_region("基准县", "county", city)
        ws = community.create_workshop("基准工作坊", county, subject="math")
        db.session.flush()
        pw = generate_password_hash("x")
        expert = User(username="bench_expert", name="专家", password_hash=pw)
        db.session.add(expert)
        db.session.flush()
        assign(expert, "expert", ws.context)
        db.session.execute(insert(User), [{"username": f"bench{i}", "name": f"教师{i}", "password_hash": pw,
                                           "session_version": 0, "active": True, "created_at": utcnow()}
                                          for i in range(n_users)])  # fmt: skip
        ids = list(db.session.scalars(select(User.id).where(User.username.like("bench%"), User.id != expert.id)))
        db.session.execute(insert(WorkshopMembership), [{"workshop_id": ws.id, "user_id": i, "created_at": utcnow()}
                                                        for i in ids])  # fmt: skip
        db.session.commit()
        start_at = utcnow() + timedelta(minutes=5)
        s = services.schedule(expert, ws.context, "基准直播", start_at, start_at + timedelta(hours=1))
        q = services.ask(expert, s, "基准问题")
        cookies = [_cookie(app, uid) for uid in ids]
        return {"session_id": s.id, "question_id": q.id, "expert": _cookie(app, expert.id), "cookies": cookies,
                "secret": "bench-secret"}  # fmt: skip


def _cookie(app, uid: int) -> str:
    from flask_login.utils import _create_identifier

    from lms.accounts.models import User
    from lms.accounts.services import SIGN_IN_KEY, start_sign_in
    from lms.extensions import db

    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": UA, "REMOTE_ADDR": "127.0.0.1"})
    with app.test_request_context(environ_base=client.environ_base):
        ident = _create_identifier()
    user = db.session.get(User, uid)
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess["_id"] = ident
        sess[SIGN_IN_KEY] = start_sign_in(user, UA, "127.0.0.1")  # a real sign-in, as the login form makes
    return client.get_cookie("session").value


# --- clients ------------------------------------------------------------------------------------


class Client:
    """A minimal Socket.IO v5 / Engine.IO v4 client over one aiohttp WebSocket.

    python-socketio's AsyncClient costs far more CPU per received message than a server spends
    sending it; with hundreds of them in one process on two cores the client side, not the server,
    set the latency. This one answers pings, connects /live, calls with acks and timestamps
    "event" messages: the same work for the bare and the app server.
    """

    def __init__(self, http, stats=None):
        self.http = http
        self.stats = stats
        self.ws = None
        self.acks: dict[int, asyncio.Future] = {}
        self.next_ack = 0
        self.reader = None

    async def connect(self, url, cookie=None):
        headers = {"User-Agent": UA}
        if cookie:
            headers["Cookie"] = f"session={cookie}"
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await self.http.ws_connect(ws_url, headers=headers, autoping=False, max_msg_size=0)
        opened = await self.ws.receive_str(timeout=60)
        assert opened.startswith("0"), opened
        await self.ws.send_str("40/live,")
        reply = await self.ws.receive_str(timeout=60)
        if not reply.startswith("40/live,"):
            raise RuntimeError(f"namespace refused: {reply[:200]}")
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        import json

        async for msg in self.ws:
            data = msg.data
            if data == "2":
                await self.ws.send_str("3")
            elif data.startswith('42/live,["event"'):
                t = time.perf_counter()
                if self.stats is not None:
                    ev = json.loads(data[8:])[1]
                    if ev.get("kind") == "question.status":
                        self.stats.got(ev["seq"], t)
            elif data.startswith("43/live,"):
                body = data[8:]
                i = body.index("[")
                fut = self.acks.pop(int(body[:i]), None)
                if fut is not None and not fut.done():
                    fut.set_result(json.loads(body[i:])[0])

    async def call(self, event, payload, timeout=60):
        import json

        self.next_ack += 1
        fut = asyncio.get_running_loop().create_future()
        self.acks[self.next_ack] = fut
        await self.ws.send_str(f"42/live,{self.next_ack}" + json.dumps([event, payload], ensure_ascii=False))
        return await asyncio.wait_for(fut, timeout)

    async def close(self):
        if self.reader:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()


class Stats:
    def __init__(self):
        self.recv: dict[int, list[float]] = {}

    def got(self, key, t):
        self.recv.setdefault(key, []).append(t)


async def connect_all(http, urls, cookies, session_id, stats, concurrency=50):
    viewers = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i, cookie):
        v = Client(http, stats)
        async with sem:
            await v.connect(urls[i % len(urls)], cookie)
            res = await v.call("join", {"session_id": session_id})
            assert res.get("ok"), res
        viewers.append(v)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, c) for i, c in enumerate(cookies)))
    return viewers, time.perf_counter() - t0


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def measure(kind, urls, data, n, procs):
    import aiohttp

    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        return await _measure(http, kind, urls, data, n, procs)
    finally:
        await http.close()


async def _measure(http, kind, urls, data, n, procs):
    stats = Stats()
    base = rss(procs)
    cookies = data["cookies"][:n] if kind == "app" else [None] * n
    viewers, connect_s = await connect_all(http, urls, cookies, data["session_id"], stats)
    await asyncio.sleep(2.0)  # presence broadcasts settle
    per_client = (rss(procs) - base) / n
    host = Client(http)
    await host.connect(urls[0], data["expert"] if kind == "app" else None)
    status = "answered"
    qid = data["question_id"]

    async def mark(n_):
        nonlocal status
        status = "open" if status == "answered" else "answered"
        res = await host.call("mark", {"question_id": qid, "status": status, "n": n_, "session_id": data["session_id"]})
        assert res.get("ok"), res

    # Latency rounds: one broadcast at a time; the key is the event's seq (app) or our n (bare).
    stats.recv.clear()
    seq_of = {}
    for r in range(ROUNDS):
        before = set(stats.recv)
        t = time.perf_counter()
        await mark(r)
        await _wait(lambda b=before: len(stats.recv) > len(b) and all(len(v) >= n for k, v in stats.recv.items()
                                                                      if k not in b), 10)  # fmt: skip
        new = [k for k in stats.recv if k not in before]
        if new:
            seq_of[new[0]] = t
        await asyncio.sleep(0.1)
    lat, lost = [], 0
    for key, t in seq_of.items():
        got = stats.recv.get(key, [])
        lat += [(x - t) * 1000 for x in got]
        lost += n - len(got)
    lost += (ROUNDS - len(seq_of)) * n
    # Throughput: BURST marks back to back.
    stats.recv.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(mark(ROUNDS + i) for i in range(1)))
    for i in range(1, BURST):
        await mark(ROUNDS + i)
    await _wait(lambda: sum(len(v) for v in stats.recv.values()) >= BURST * n, 60)
    elapsed = time.perf_counter() - t0
    delivered = sum(len(v) for v in stats.recv.values())
    await host.close()
    await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)
    return {"connect_s": connect_s, "mem_kb": per_client / 1024, "p50": pct(lat, 50), "p95": pct(lat, 95),
            "p99": pct(lat, 99), "lost": lost, "msgs_s": delivered / elapsed if elapsed else 0}  # fmt: skip


async def _wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(0.005)
    return False


def run_case(kind, mode, n, data, env, processes=1):
    procs, urls = [], []
    try:
        for _ in range(processes):
            p, u = start(kind, mode, env)
            procs.append(p)
            urls.append(u)
        return asyncio.run(measure(kind, urls, data, n, procs))
    finally:
        stop(procs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", default="100,500", help="comma-separated N")
    ap.add_argument("--mode", default="gevent", choices=["gevent", "threading"])
    ap.add_argument("--redis", default="", help="redis://… to also run the app as two processes")
    ap.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    ap.add_argument("--rounds", type=int, default=ROUNDS, help="broadcasts timed one at a time per case")
    args = ap.parse_args()
    globals()["ROUNDS"] = args.rounds
    ns = [int(x) for x in args.clients.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="live-bench-"))
    db_url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    data = build(db_url, str(tmp / "media"), max(ns))
    env = {"LMS_DATABASE_URL": db_url, "LMS_SECRET_KEY": data["secret"], "LMS_MEDIA_ROOT": str(tmp / "media")}
    rows = []
    print(f"mode={args.mode} rounds={ROUNDS} burst={BURST} cpu={os.cpu_count()}", flush=True)
    for n in ns:
        cases = [("bare", 1, {}), ("app", 1, {})]
        if args.redis:
            cases.append(("app", 2, {"LMS_SOCKETIO_MESSAGE_QUEUE": args.redis}))
        for kind, procs, extra in cases:
            label = f"{kind}{' x2 redis' if procs == 2 else ''}"
            try:
                r = run_case(kind, args.mode, n, data, {**env, **extra}, procs)
            except Exception as err:  # noqa: BLE001 - report and go on with the next case
                print(f"N={n:5d} {label:14s} failed: {err!r}"[:400], flush=True)
                continue
            rows.append((n, label, r))
            print(f"N={n:5d} {label:14s} p50={r['p50']:7.1f}ms p95={r['p95']:7.1f}ms p99={r['p99']:7.1f}ms "
                  f"lost={r['lost']:5d} msgs/s={r['msgs_s']:8.0f} connect={r['connect_s']:6.2f}s "
                  f"mem/client={r['mem_kb']:6.1f}KB", flush=True)  # fmt: skip
    print("\nratio app/bare (same N, same mode): p50, p99, msgs/s")
    for n in ns:
        bare = next((r for m, lab, r in rows if m == n and lab == "bare"), None)
        for m, lab, r in rows:
            if m == n and lab != "bare" and bare:
                print(f"N={n:5d} {lab:14s} p50 x{r['p50'] / bare['p50']:.2f}  p99 x{r['p99'] / bare['p99']:.2f}  "
                      f"msgs/s x{r['msgs_s'] / bare['msgs_s']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
