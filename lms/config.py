"""Configuration. Every setting can be overridden by an environment variable named LMS_<SETTING>."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _coerce(value: str, default):
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


class Config:
    SECRET_KEY = ""  # filled from LMS_SECRET_KEY or instance/secret_key
    DATABASE_URL = ""  # empty: SQLite file in the instance folder
    REDIS_URL = ""  # empty: in-process rate limiting; set for several processes
    MEDIA_ROOT = str(BASE_DIR / "media")
    # Cap for ordinary uploads (attachments, brief images); video has its own cap in lms.media.
    UPLOAD_MAX_BYTES = 50 * 1024 * 1024
    # Cap for resource library uploads, sized for micro-lesson videos (微课); streamed to disk in
    # chunks, never held in memory. The proxy's body limit must allow it (nginx client_max_body_size).
    RESOURCE_MAX_BYTES = 500 * 1024 * 1024
    # Cap on any request body, refused with 413 before it is read (views taking more, such as the
    # resource upload, raise it with lms.core.uploads.body_limit). 0: room for the largest ordinary
    # form, six files of UPLOAD_MAX_BYTES (an offline-activity result form and five resources).
    MAX_CONTENT_LENGTH = 0
    # Cap for lesson videos, received in resumable chunks (lms.media chunked upload).
    VIDEO_UPLOAD_MAX_BYTES = 4 * 1024 * 1024 * 1024
    VIDEO_UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024
    # A chunked upload nobody resumed for this long is removed (at app start, every 6 hours, `flask lms purge-uploads`).
    UPLOAD_CHUNK_MAX_AGE_HOURS = 72
    # Notifications to more people than this (an announcement to a county) are stored in the
    # background, not in the request (lms.notifications.services).
    NOTIFY_INLINE_MAX = 500
    # Learning statistics (lms.stats): a region's or school's figures are computed at most this often
    # per process (every teacher of a province is aggregated); 0 computes them on every request.
    STATS_CACHE_SECONDS = 60
    # Assessment (lms.assessment): the scheme's name (a plugin may register others) and the pass and
    # excellent marks (0: the scheme's own, 60 and 90 for the trainee scheme of DOMAIN.md §9).
    ASSESSMENT_SCHEME = "trainee"
    ASSESSMENT_PASS = 0.0
    ASSESSMENT_EXCELLENT = 0.0
    # A background fan-out whose process stored no batch for this long (each batch renews the lease)
    # was interrupted: app start, the scheduler or `flask lms resume-fanouts` runs it on from there.
    NOTIFY_FANOUT_LEASE_SECONDS = 300
    # Chunked video uploads one user may have open at once (one per lesson: a new one replaces it); 0 = no cap.
    VIDEO_UPLOAD_MAX_OPEN_PER_USER = 3
    # An upload begins only if its size, what the open uploads still expect and this much more fit
    # in the free space under MEDIA_ROOT (room for the transcodes and everything else on the disk).
    VIDEO_UPLOAD_FREE_MARGIN_BYTES = 2 * 1024 * 1024 * 1024
    # Transcoding jobs: "thread" (in-process worker) or "rq" (RQ on LMS_REDIS_URL, run by `rq worker
    # media` processes: README, "Transcoding workers"). Empty: "rq" when LMS_REDIS_URL is set (ffmpeg
    # then never runs inside the web workers), else "thread".
    MEDIA_QUEUE = ""
    # A running transcode whose process has not refreshed it for this long was interrupted (process
    # killed, host rebooted): app start, or an idle media worker, queues it again.
    MEDIA_JOB_STALE_SECONDS = 120
    # Set to nginx's internal location (e.g. "/_protected/") to let nginx send file bytes.
    MEDIA_ACCEL_REDIRECT = ""
    # Life of a video grant (lms.courses.watch.grant_expires: at most this, at least 4/5 of it); the
    # player renews it through the app well before. Behind nginx (deploy/nginx-watch.conf) this is how
    # long a signed-out, deactivated or otherwise revoked sign-in can still fetch segments.
    WATCH_GRANT_SECONDS = 300
    # The secret nginx's secure_link_md5 shares with the app; empty: derived from SECRET_KEY
    # (`flask --app wsgi lms nginx-watch-secret` prints nginx's line either way).
    WATCH_LINK_SECRET = ""
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = "zh_CN,en"
    ROSTER_MAX_BYTES = 5 * 1024 * 1024
    ROSTER_MAX_ROWS = 20000
    # The initial passwords of a roster import wait this long for their one download (.xlsx).
    ROSTER_PASSWORDS_MINUTES = 30
    PAGE_SIZE = 20
    # Instant quizzes 即时测评: attempts per teacher and quiz, seconds between two attempts, and the
    # score (0-100) that passes. The key is shown after a pass or after the last attempt only.
    COURSE_QUIZ_MAX_ATTEMPTS = 3
    COURSE_QUIZ_MIN_INTERVAL_SECONDS = 20
    COURSE_QUIZ_PASS_SCORE = 60
    # Failed sign-ins only (lms.accounts.limits): per client address, generous because a school's
    # teachers share one; per account from one address, tight, against guessing one password (keyed on
    # the address too, so a stranger cannot lock the owner out); per account from anywhere, large, a
    # brake on guessing one password from many addresses.
    LOGIN_RATE_LIMIT = "30 per minute;300 per hour"
    LOGIN_ACCOUNT_RATE_LIMIT = "5 per minute;20 per hour"
    LOGIN_ACCOUNT_GLOBAL_RATE_LIMIT = "100 per hour"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    API_TOKEN_DAYS = 90
    TESTING = False
    WTF_CSRF_ENABLED = True
    SOCKETIO_MESSAGE_QUEUE = ""
    # "threading" (embedded server, tests) or "gevent" (production Socket.IO processes, started by
    # live_server.py which monkey-patches first). Never left to auto-detection (eventlet).
    SOCKETIO_ASYNC_MODE = "threading"
    # Seconds a live-session presence row counts without its process refreshing it (every third of
    # this): a crashed process's audience disappears within this time.
    LIVE_PRESENCE_TTL = 90
    # A live broadcast's ffmpeg is closed when no chunk came from the host for this long (tab
    # closed, camera stopped); the recording is "paused" and a new recording continues it.
    LIVE_INGEST_IDLE_SECONDS = 30
    # A session still scheduled or live this long after its end time is ended by the scheduler
    # (the host can extend the end time on the edit page).
    LIVE_END_GRACE_MINUTES = 60
    # Flood limits in a live session, per person (hosts excepted): questions and chat messages in
    # any 60 seconds, and one's questions still waiting to be answered.
    LIVE_ASK_PER_MINUTE = 5
    LIVE_CHAT_PER_MINUTE = 20
    LIVE_OPEN_QUESTIONS_MAX = 5
    COMPRESS_MIN_SIZE = 500
    # Number of reverse proxies in front of the app (nginx: 1). Their X-Forwarded-* headers are then
    # trusted, so rate limits see the client's address, not the proxy's. 0 = no proxy.
    PROXY_COUNT = 0
    # Key of the ID-card numbers' encryption at rest (hex, 64 bytes: `python -c "import secrets;
    # print(secrets.token_hex(64))"`). Empty: derived from SECRET_KEY, which must then never change.
    # Every process and host shares it; losing it loses the numbers (README, "ID-card numbers").
    IDCARD_KEY = ""
    # Search index folder; empty = instance/search_index; "memory" = in RAM (tests).
    SEARCH_INDEX_DIR = ""
    # Every this many hours the index is compared with the database and what differs re-queued
    # (`flask lms reindex --check` does it by hand); 0 = never.
    SEARCH_REPAIR_HOURS = 24
    # Peer reviews not started this many days into the review phase move to active reviewers who
    # finished theirs (homework.tick), so no submission waits forever; 0 = never.
    HOMEWORK_REVIEW_REASSIGN_DAYS = 3
    # Periodic work (homework phases and reminders, activity-opened notices, upload cleanup) in a
    # thread of each app process, each run claimed once across processes (lms.core.schedule). Off:
    # run `flask --app wsgi lms run-due` from cron instead.
    SCHEDULER = True
    SCHEDULER_TICK_SECONDS = 60

    @classmethod
    def load(cls, instance_path: str, overrides: dict | None = None) -> dict:
        cfg = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
        for key, default in list(cfg.items()):
            env = os.environ.get(f"LMS_{key}")
            if env is not None:
                cfg[key] = _coerce(env, default)
        if overrides:
            cfg.update(overrides)
        if not cfg["SECRET_KEY"]:
            cfg["SECRET_KEY"] = _instance_secret(instance_path)
        url = cfg["DATABASE_URL"] or f"sqlite:///{Path(instance_path) / 'lms.sqlite3'}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        cfg["SQLALCHEMY_DATABASE_URI"] = url
        # hide_parameters: database errors must never carry ID-card numbers into logs or tracebacks.
        engine = {"hide_parameters": True}
        if not url.startswith("sqlite"):
            engine["pool_pre_ping"] = True
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine
        if not cfg["MAX_CONTENT_LENGTH"]:
            cfg["MAX_CONTENT_LENGTH"] = 6 * cfg["UPLOAD_MAX_BYTES"] + 1024 * 1024
        cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"] or "memory://"
        cfg["RATELIMIT_HEADERS_ENABLED"] = True
        cfg["LANGUAGES"] = [x.strip() for x in str(cfg["LANGUAGES"]).split(",") if x.strip()]
        return cfg


class TestConfig(Config):
    TESTING = True
    # The in-process worker (tasks.wait_idle) even when the suite runs with LMS_REDIS_URL; the RQ
    # tests set "rq" themselves.
    MEDIA_QUEUE = "thread"
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    LOGIN_RATE_LIMIT = "1000 per minute"
    LOGIN_ACCOUNT_RATE_LIMIT = "1000 per minute"
    LOGIN_ACCOUNT_GLOBAL_RATE_LIMIT = "1000 per minute"
    SEARCH_INDEX_DIR = "memory"
    SCHEDULER = False  # tests call lms.core.schedule.run_due themselves
    SEARCH_REPAIR_HOURS = 0  # other domains' run_due calls would run it (tests/search turns it on)
    STATS_CACHE_SECONDS = 0  # figures follow the data at once (tests/stats turns the cache on)


def _instance_secret(instance_path: str) -> str:
    # A per-installation key kept beside the SQLite file, so sessions survive restarts.
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    os.chmod(path, 0o600)
    return key
