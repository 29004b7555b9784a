"""Unbound extension objects; create_app() binds them."""

import sqlite3

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

from lms.core.i18n import CatalogBabel


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite (the single-machine deployment and the tests): write-ahead log, so readers never wait for
    a writer and a commit appends to the log without an fsync (synchronous=NORMAL: a power cut may lose
    the last commits, never consistency; an app crash loses nothing). In the default rollback journal
    every commit cost ~25 ms of fsyncs on the test machine's disk, and every writer blocked all readers:
    the watch-time heartbeats, a commit each, queued behind one another (benchmarks/playback.py).

    Foreign keys on: SQLite ignores them by default, so ON DELETE CASCADE/SET NULL did nothing and a
    deleted course's assignments and progress waited for the next course to reuse its id.
    (Migrations turn them off while they rebuild tables, migrations/env.py.)"""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cur = dbapi_connection.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = CatalogBabel()  # finds translations/zh_CN, see lms.core.i18n
compress = Compress()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# threading + simple-websocket by default; eventlet must never be auto-detected (see DESIGN.md).
socketio = SocketIO()
