"""Browser tests: the real app served on a free port, driven by the system Chromium through Playwright.

Everything here is marked `e2e` (run them alone with `pytest -m e2e`, skip them with `-m "not e2e"`).
Without a `chromium` on PATH the whole directory is skipped: browsers are never downloaded.

Set LMS_SCREENSHOTS=1 to write full-page PNGs of the main pages into screenshots/ (git-ignored).
"""

import logging
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wsgi import ClosingIterator

from tests.factories import PASSWORD, make_user

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "screenshots"
CHROMIUM = shutil.which("chromium")
SKIP_REASON = "Chromium not installed: apt-get install chromium to run browser tests"

# The two screens every page must work on.
DEVICES = {
    "phone": {
        "viewport": {"width": 360, "height": 740},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}

# Enough extra teachers in school A that county and school member lists need a second page.
EXTRA_TEACHERS = [
    *("刘洋", "陈静", "杨帆", "黄磊", "周敏", "吴婷", "徐强", "孙丽", "胡军", "朱红", "高峰"),
    *("林芳", "何勇", "郭燕", "马超", "罗娟", "梁晨", "宋佳", "郑斌", "谢颖", "韩雪", "唐亮"),
]


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
            if CHROMIUM is None:
                item.add_marker(skip)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class _InFlight:
    """Counts requests the live server is still handling, so a test's teardown can let the last
    ones (a page's Socket.IO connect, a late fetch) finish before the tables are emptied."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.cond = threading.Condition()

    def __call__(self, environ, start_response):
        with self.cond:
            self.count += 1
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        # ClosingIterator closes the app's body (Flask's teardown) and then counts the request done.
        return ClosingIterator(body, [self._done])

    def _done(self):
        with self.cond:
            self.count -= 1
            self.cond.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.count == 0, timeout=timeout)


IN_FLIGHT: _InFlight | None = None


@pytest.fixture(scope="module")
def live_server(app):
    """The session app on 127.0.0.1:<free port>, with CSRF protection on so the real forms are exercised.

    The same app object (not a second create_app) keeps one database and one set of bound extensions
    (a second create_app would rebind the shared Socket.IO server and rate-limit storage). Flask-WTF
    reads WTF_CSRF_ENABLED per request, so switching it on here and back at the end is enough; module
    scope gives the setting back before the rest of the suite runs.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _real_socketio_sends()
    csrf_before = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    global IN_FLIGHT
    IN_FLIGHT = _InFlight(app)
    server = make_server("127.0.0.1", 0, IN_FLIGHT, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.config["WTF_CSRF_ENABLED"] = csrf_before


def _real_socketio_sends():
    """Flask-SocketIO's test client replaces the shared server's packet senders with mocks that drop
    packets for every socket it did not create, for the rest of the process. Browsers need the real
    senders: drop the instance overrides so the class methods apply again (a test client created
    later installs its mocks again)."""
    from lms.extensions import socketio

    server = socketio.server
    for name in ("_send_packet", "_send_eio_packet"):
        server.__dict__.pop(name, None)
    server.async_handlers = server.eio.async_handlers = True


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def e2e_world(world, db):
    """tests.factories.build_world() (committed), plus teachers enough to page the member lists.

    The `db` fixture under `world` empties every table after the test.
    """
    from lms.communities import services as community

    for name in EXTRA_TEACHERS:
        make_user(name=name, school=world.school_a, subject="math", stage="primary")
    community.refresh_counters()
    db.session.commit()
    return world


@pytest.fixture(params=list(DEVICES))
def device(request):
    return request.param


@pytest.fixture
def page(browser, live_server, e2e_world, device):
    """A fresh browser context (no cookies) at the device's size, opened on the live server."""
    context = browser.new_context(base_url=live_server, **DEVICES[device])
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.device = device
    page.errors = errors  # a test expecting an error status may clear it
    yield page
    context.close()
    if IN_FLIGHT is not None:
        IN_FLIGHT.wait_idle()
    # No script errors and no CSP violations (Chromium reports those on the console).
    assert errors == [], errors


def login(page, username, password=PASSWORD):
    """Sign in through the real login form; returns when the personal space has loaded."""
    page.goto("/login")
    form = page.locator("main form")
    form.locator("input[name=identifier]").fill(username)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/me")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def snap(page, name: str) -> None:
    """Full-page screenshot into screenshots/<device>-<name>.png when LMS_SCREENSHOTS is set."""
    if not os.environ.get("LMS_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{page.device}-{name}.png"), full_page=True)
