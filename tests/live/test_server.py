"""A real python-socketio client against real server processes (threading mode, simple-websocket):
auth on connect, permissions, replay after a real reconnect, and two processes through Redis."""

import queue
import socket
import time

import pytest
import socketio as sio

from tests.live.server import running

NS = "/live"
UA = "yanxiu-live-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cookie_for(app, login_as, user) -> str:
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": UA, "REMOTE_ADDR": "127.0.0.1"})
    login_as(user, client)
    return client.get_cookie("session").value


class Client:
    """A python-socketio client that collects the events of the room."""

    def __init__(self, url, cookie=None, transports=("websocket",)):
        self.events: queue.Queue = queue.Queue()
        self.sio = sio.Client(reconnection=False)
        self.sio.on("event", self.events.put, namespace=NS)
        headers = {"User-Agent": UA}
        if cookie:
            headers["Cookie"] = f"session={cookie}"
        self.sio.connect(url, headers=headers, namespaces=[NS], transports=list(transports), wait_timeout=10)

    def call(self, event, **data):
        return self.sio.call(event, data, namespace=NS, timeout=10)

    def next(self, kind, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                ev = self.events.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if ev["kind"] == kind:
                return ev
        raise AssertionError(f"no {kind} event")

    def close(self):
        self.sio.disconnect()


def _env(app, **extra):
    return {"LMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "LMS_SECRET_KEY": app.config["SECRET_KEY"],
            "LMS_MEDIA_ROOT": app.config["MEDIA_ROOT"], **extra}  # fmt: skip


@pytest.fixture(scope="module")
def server(app):
    with running(free_port(), _env(app)) as url:
        yield url


def test_anonymous_refused_and_permissions(app, world, session, login_as, server):
    with pytest.raises(sio.exceptions.ConnectionError):
        Client(server)
    with pytest.raises(sio.exceptions.ConnectionError):
        Client(server, cookie="forged")
    member = Client(server, cookie_for(app, login_as, world["member"]), transports=("polling", "websocket"))
    teacher = Client(server, cookie_for(app, login_as, world["teacher"]))
    expert = Client(server, cookie_for(app, login_as, world["expert"]))
    try:
        assert member.call("join", session_id=session.id)["ok"]
        assert teacher.call("join", session_id=session.id) == {"ok": False, "error": "not_found"}
        qid = member.call("ask", session_id=session.id, body="真实服务器上的问题")["id"]
        assert member.next("question.new")["data"]["id"] == qid
        assert member.call("mark", question_id=qid, status="answered") == {"ok": False, "error": "forbidden"}
        assert expert.call("mark", question_id=qid, status="answered")["ok"]
        ev = member.next("question.status")
        assert ev["data"] == {"id": qid, "status": "answered"} and ev["seq"] == 2
    finally:
        for c in (member, teacher, expert):
            c.close()


def test_reconnect_and_replay(app, world, session, login_as, server):
    cookie = cookie_for(app, login_as, world["member"])
    member = Client(server, cookie)
    member.call("join", session_id=session.id, last_seq=0)
    member.call("ask", session_id=session.id, body="断线前")
    seen = member.next("question.new")["seq"]
    member.close()
    leader = Client(server, cookie_for(app, login_as, world["leader"]))
    q = leader.call("ask", session_id=session.id, body="断线期间")["id"]
    leader.call("vote", question_id=q)
    leader.close()
    again = Client(server, cookie)
    try:
        res = again.call("join", session_id=session.id, last_seq=seen)
        assert [(e["seq"], e["kind"]) for e in res["missed"]] == [
            (seen + 1, "question.new"),
            (seen + 2, "question.votes"),
        ]
    finally:
        again.close()


def test_two_processes_through_redis(app, world, session, login_as):
    redis = pytest.importorskip("redis")
    # The Redis the run was given (LMS_REDIS_URL), else a database of its own on the local server.
    url = app.config.get("LIVE_TEST_REDIS_URL") or app.config.get("REDIS_URL") or "redis://127.0.0.1:6379/6"
    try:
        redis.Redis.from_url(url).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis")
    env = _env(app, LMS_SOCKETIO_MESSAGE_QUEUE=url)
    with running(free_port(), env) as a_url, running(free_port(), env) as b_url:
        a = Client(a_url, cookie_for(app, login_as, world["member"]))
        b = Client(b_url, cookie_for(app, login_as, world["leader"]))
        try:
            for c in (a, b):
                assert c.call("join", session_id=session.id)["ok"]
            qid = a.call("ask", session_id=session.id, body="进程 A 的问题")["id"]
            assert b.next("question.new")["data"]["body"] == "进程 A 的问题"
            assert b.call("vote", question_id=qid)["votes"] == 1
            ev = a.next("question.votes")
            assert ev["data"] == {"id": qid, "votes": 1}
            assert b.call("vote", question_id=qid)["counted"] is False
            b.call("chat", session_id=session.id, body="来自进程 B")
            assert a.next("chat.new")["data"]["body"] == "来自进程 B"
        finally:
            a.close()
            b.close()
