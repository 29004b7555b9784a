import subprocess
from datetime import timedelta

import pytest

from lms.core.db import utcnow
from lms.extensions import socketio
from lms.live import services

NS = services.NAMESPACE


@pytest.fixture
def session(world, db):
    """A scheduled session in workshop A, hosted by its expert."""
    start = utcnow() + timedelta(hours=1)
    return services.schedule(world["expert"], world.workshop_a.context, "数学大单元教学专家答疑", start,
                             start + timedelta(hours=1), "math")  # fmt: skip


@pytest.fixture
def unlimited(app, monkeypatch):
    """No flood limits: for tests that send many questions or messages on purpose."""
    for name in services.LIMIT_DEFAULTS:
        monkeypatch.setitem(app.config, name, 10_000)


def go_live(session):
    """The host went live (a broadcast needs it: video.feed refuses a scheduled session)."""
    from lms.extensions import db

    session.status = "live"
    db.session.commit()


@pytest.fixture
def sock(app, login_as):
    """sock(user) -> a connected Socket.IO test client on /live (its own app context, as a real connection)."""
    clients = []

    def _connect(user=None, client=None):
        client = client or (login_as(user) if user is not None else app.test_client())
        with app.app_context():
            sc = socketio.test_client(app, namespace=NS, flask_test_client=client)
        clients.append(sc)
        return sc

    yield _connect
    for sc in clients:
        if sc.is_connected(NS):
            sc.disconnect(NS)


def call(sc, event, **data):
    """Emit with an acknowledgement; returns the server's answer.

    In its own app context, as on a real server: the test's would share `g` (Flask-Login's cached
    user) and the database session between connections."""
    with sc.app.app_context():
        return sc.emit(event, data, namespace=NS, callback=True)


def events(sc, kind=None):
    got = [e["args"][0] for e in sc.get_received(NS) if e["name"] == "event"]
    return [e for e in got if kind is None or e["kind"] == kind]


WEBM_SECONDS = 6


@pytest.fixture(scope="module")
def webm(tmp_path_factory) -> bytes:
    """A camera's WebM recording (VP8/Opus, as Chrome's MediaRecorder), made by ffmpeg."""
    from lms.media.ffmpeg import ffmpeg_exe

    out = tmp_path_factory.mktemp("webm") / "camera.webm"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         f"testsrc2=size=640x360:rate=25:d={WEBM_SECONDS}", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={WEBM_SECONDS}", "-c:v", "libvpx", "-deadline", "realtime",
         "-cpu-used", "8", "-b:v", "600k", "-g", "50", "-c:a", "libopus", "-b:a", "48k", "-shortest", str(out)],
        check=True, timeout=120,
    )  # fmt: skip
    return out.read_bytes()
