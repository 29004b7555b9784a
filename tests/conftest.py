"""Shared fixtures. The schema is built by the Alembic migrations, never by create_all.

Set LMS_DATABASE_URL=postgresql://... (and LMS_REDIS_URL=redis://...) to run on PostgreSQL/Redis.
"""

import os
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from lms import create_app
from lms.config import TestConfig
from lms.extensions import db as _db
from lms.extensions import limiter

# The shared test data sits beside the checkout (../shared); LMS_SHARED_DIR points elsewhere.
SHARED = Path(os.environ.get("LMS_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")


def test_config(tmp: Path) -> dict:
    """TestConfig as a dict, on a temporary SQLite file unless LMS_DATABASE_URL names another database."""
    cfg = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper() and k in TestConfig.__dict__}
    if not os.environ.get("LMS_DATABASE_URL"):
        cfg["DATABASE_URL"] = f"sqlite:///{tmp / 'test.sqlite3'}"
    cfg["MEDIA_ROOT"] = str(tmp / "media")
    return cfg


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in production.

    Tests hold an app context open for `db.session`; without this, requests would reuse it and
    share `g` (Flask-Login's cached user, cached grants) and the test's session across requests.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(test_config(tmp_path_factory.mktemp("run")))
    app.test_client_class = FreshContextClient
    with app.app_context():
        _reset_schema(app)
    return app


def _reset_schema(app):
    from flask_migrate import upgrade

    engine = _db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade()


def _clear(app, attempts: int = 10):
    """Empty every table.

    A live-server test (browser, real Socket.IO client) may leave a request finishing its
    transaction after the test returned: on PostgreSQL, TRUNCATE then waits for its locks, or loses
    a deadlock to that request. Wait briefly and try again rather than leave the data behind.
    """
    from sqlalchemy.exc import OperationalError

    engine = _db.engine
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))
        return
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            return
        except OperationalError as exc:  # deadlock_detected, lock_not_available
            if getattr(exc.orig, "sqlstate", None) not in ("40P01", "55P03") or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db
        _db.session.remove()
        _clear(app)
    limiter.reset()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def login_as(app, db):
    """login_as(user) -> a test client signed in as that user (session set directly, no password hashing)."""

    def _login(user, client=None):
        from flask_login.utils import _create_identifier

        client = client or app.test_client()
        with app.test_request_context(environ_base=client.environ_base):
            ident = _create_identifier()  # what session_protection="strong" compares against
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
            sess["_id"] = ident
            sess["_sign_in"] = _new_sign_in(app, user)
        return client

    return _login


@pytest.fixture
def world(db):
    from tests.factories import build_world

    return build_world()


@pytest.fixture
def xss_payloads():
    path = SHARED / "testdata" / "xss-payloads.txt"
    return [
        line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("# ")
    ]


def at_once(app, n: int, fn, timeout: float = 60) -> list:
    """Call fn() in n threads released together, each in its own app context (its own connection and
    session, as separate processes would have); returns their results."""
    import threading

    results, barrier = [], threading.Barrier(n)

    def run():
        with app.app_context():
            barrier.wait()
            try:
                results.append(fn())
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


def _new_sign_in(app, user) -> str:
    """A server-side sign-in row for `user`, as the sign-in form makes (the user loader requires one).
    Made in an app context of its own: committing the test's session would expire its objects."""
    from lms.accounts.models import User
    from lms.accounts.services import start_sign_in
    from lms.extensions import db

    uid = user.id
    with app.app_context():
        return start_sign_in(db.session.get(User, uid), "test client", "127.0.0.1")
