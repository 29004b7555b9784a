"""The hot path of video playback as a thin WSGI layer: rendition files without Flask's request cycle.

Every viewer asks for a segment every 2 s. Routing, the before/after-request hooks and send_file cost
more than checking the grant itself, so a plain GET/HEAD of /watch/<lesson>/<grant>/<file> is answered
here when everything is in order: the session cookie is genuine (the app's own signing serializer),
was issued to this browser (Flask-Login's strong-protection identifier), the grant's signature matches
this session's user key and sign-in (lms.courses.watch.holder), the file exists in the lesson's
rendition folder. The answer is the same as the Flask view's: X-Accel-Redirect when MEDIA_ACCEL_REDIRECT
is set, else the bytes through the server's file wrapper (sendfile under gunicorn), with the same
Content-Type and Cache-Control.

Anything else (a Range or conditional request, a missing or refused grant, an unknown file, a cache
miss needing the database) goes to the Flask view unchanged, which decides and answers it. So this
layer can only ever *accept* what the view would accept, never refuse or change an answer.

Heartbeats (POST /watch/heartbeat, every viewer every ~15 s) take the same shortcut: a JSON body with
a genuine viewing token of this session's user is credited by the same lms.courses.watch.heartbeat
the Flask view calls (all the watch-time rules live there); anything else, including a position the
rules refuse, goes to the Flask view (the body is handed on), which answers 400/403.

Verifying the session cookie and the viewing token (itsdangerous: base64, HMAC, JSON) cost more than
the rest of a segment request; both answers are kept for a minute per cookie / token string (never
past the cookie's or token's own expiry), so a viewer's requests verify them once a minute, and again
at once after this process saw the user's sign-in end (lms.courses.watch.revoke).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import stat
import time
from email.utils import formatdate

from lms.courses import watch
from lms.media.storage import etag

PATH = re.compile(r"^/watch/(\d{1,12})/([0-9A-Za-z_.-]{26,120})/(.{1,80})$")
SKIP = ("HTTP_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_RANGE", "HTTP_IF_MATCH")
COOKIE = re.compile(r"(?:^|;\s*)([^=;\s]+)=([^;]*)")
HEARTBEAT = "/watch/heartbeat"
#: Seconds a verified session cookie or viewing token is trusted without verifying it again.
VERIFIED_SECONDS = 60
_MAX_CACHED = 20000
JSON_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "same-origin")]  # fmt: skip


class MediaFastPath:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._serializer = None
        self._key = None
        # (cookie, browser identifier) -> ((user key, sign-in) or None, trusted until, (user id, sign-in, asked at))
        self._sessions: dict[tuple[str, str], tuple] = {}
        self._viewings: dict[str, tuple[tuple, float]] = {}

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == HEARTBEAT and environ.get("REQUEST_METHOD") == "POST":
            answer = self._heartbeat(environ)
            if answer is None:
                return self.wsgi_app(environ, start_response)
            start_response("200 OK", [*JSON_HEADERS, ("Content-Length", str(len(answer)))])
            return [answer]
        m = PATH.match(environ.get("PATH_INFO", ""))
        if m is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or any(k in environ for k in SKIP):
            return self.wsgi_app(environ, start_response)
        answer = self._try(environ, int(m[1]), m[2], m[3])
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return body

    def forget(self) -> None:
        """Drop the verified cookies and tokens (tests; the answers otherwise live VERIFIED_SECONDS)."""
        self._sessions.clear()
        self._viewings.clear()

    # -----------------------------------------------------------------------------------------------

    def _session_user(self, environ) -> tuple[str, str] | None:
        """(the user key, the sign-in id) of a genuine session cookie of a live sign-in, else None."""
        cookie_name = self.app.config["SESSION_COOKIE_NAME"]
        raw = None
        for name, value in COOKIE.findall(environ.get("HTTP_COOKIE", "")):
            if name == cookie_name:
                raw = value.strip('"')
                break
        if not raw:
            return None
        ident = _identifier(environ)
        now = time.monotonic()
        hit = self._sessions.get((raw, ident))
        if hit is not None and now < hit[1] and not (hit[0] and watch.revoked_since(*hit[2])):
            return hit[0]
        if self._serializer is None:
            self._serializer = self.app.session_interface.get_signing_serializer(self.app)
        lifetime = int(self.app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = self._serializer.loads(raw, max_age=lifetime, return_timestamp=True)
        except Exception:  # noqa: BLE001 - any bad cookie: let Flask answer
            return None
        key, sign_in = data.get("_user_id"), data.get("_sign_in")
        if not key or data.get("_id") != ident:
            key = None
        if key is not None:
            # A deactivated account, an old session version or an ended sign-in earns and streams nothing: asked of
            # the database here, once per cookie and VERIFIED_SECONDS, like the cookie's signature.
            with self.app.app_context():
                if not watch.account_ok(key, sign_in, cached=False):
                    key = None
        who = (key, sign_in) if key else None
        left = signed_at.timestamp() + lifetime - time.time()
        uid = int(key.partition(":")[0]) if key else 0
        _remember(self._sessions, (raw, ident), who, now + min(VERIFIED_SECONDS, left), (uid, sign_in, now))
        return who

    def _viewing(self, token, session_user: str):
        """lms.courses.watch.load_viewing with its answer kept for a minute per token string."""
        if not isinstance(token, str) or len(token) > 400:
            return None
        now = time.monotonic()
        hit = self._viewings.get(token)
        if hit is None or now >= hit[1]:
            with self.app.app_context():
                fields = watch.load_viewing_fields(token)
            if fields is None:
                return None
            fields, signed_at = fields
            left = signed_at + watch.VIEWING_HOURS * 3600 - time.time()
            hit = _remember(self._viewings, token, fields, now + min(VERIFIED_SECONDS, left))
        fields = hit[0]
        if not hmac.compare_digest(str(fields[0]), session_user):
            return None
        return watch.Viewing(*fields)

    def _heartbeat(self, environ) -> bytes | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= 4096:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # for the Flask view when this path declines
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        who = self._session_user(environ)
        if who is None:
            return None
        viewing = self._viewing(data.get("v"), who[0])
        if viewing is None:
            return None
        with self.app.app_context():
            try:
                beat = watch.heartbeat(viewing, position=data.get("p"), end=data.get("e"),
                                       playing=data.get("playing") is True,
                                       visible=data.get("visible") is True)  # fmt: skip
            except ValueError:  # refused before anything was written: the view answers 400
                return None
        return json.dumps({"credited": beat.credited, "lease": beat.lease, "seconds": beat.lesson_seconds,
                           "completed": beat.completed}, separators=(",", ":")).encode() + b"\n"  # fmt: skip

    def _try(self, environ, lesson_id: int, grant: str, name: str):
        if not watch.MEDIA_NAME.match(name):
            return None
        current = watch.cached_rendition_dir(lesson_id)  # no database here: a miss goes to Flask
        if not current:
            return None
        if self._key is None:
            with self.app.app_context():
                self._key = watch._key()
        who = self._session_user(environ)
        folder = watch.check_grant(watch.holder(*who) if who else None, lesson_id, grant, key=self._key)
        if folder != current:
            return None
        config = self.app.config
        relpath = f"{folder}/{name}"
        path = os.path.join(config["MEDIA_ROOT"], relpath)
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or ".." in relpath:
            return None
        mimetype, max_age, immutable = watch.MEDIA_TYPES[name.rsplit(".", 1)[1]]
        headers = [
            ("Content-Type", mimetype),
            ("Cache-Control", f"private, max-age={max_age}" + (", immutable" if immutable else "")),
            ("X-Content-Type-Options", "nosniff"),
            ("Vary", "Cookie"),
        ]
        accel = config.get("MEDIA_ACCEL_REDIRECT")
        if accel:
            headers += [("X-Accel-Redirect", accel.rstrip("/") + "/" + relpath), ("Content-Length", "0")]
            return "200 OK", headers, [b""]
        headers += [
            ("Content-Length", str(st.st_size)),
            ("ETag", f'"{etag(st)}"'),  # the Flask view's (lms.media.services.send_path): it answers If-None-Match
            ("Last-Modified", formatdate(st.st_mtime, usegmt=True)),
            ("Accept-Ranges", "bytes"),
        ]
        if environ["REQUEST_METHOD"] == "HEAD":
            return "200 OK", headers, [b""]
        f = open(path, "rb")  # noqa: SIM115 - closed by the server through the file wrapper
        wrapper = environ.get("wsgi.file_wrapper")
        return "200 OK", headers, (wrapper(f, 256 * 1024) if wrapper else _chunks(f))


def _remember(cache: dict, key, value, until: float, *extra):
    if len(cache) > _MAX_CACHED:
        cache.clear()
    entry = cache[key] = (value, until, *extra)
    return entry


def _chunks(f, size: int = 256 * 1024):
    with f:
        while chunk := f.read(size):
            yield chunk


def _identifier(environ) -> str:
    """Flask-Login's session identifier (flask_login.utils._create_identifier) from the WSGI environ."""
    address = environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR"))
    if address is not None:
        address = address.encode("utf-8").split(b",")[0].strip()
    agent = environ.get("HTTP_USER_AGENT")
    if agent is not None:
        agent = agent.encode("utf-8")
    return hashlib.sha512(f"{address}|{agent}".encode()).hexdigest()


def install(app) -> None:
    app.wsgi_app = app.extensions["watch_fast"] = MediaFastPath(app, app.wsgi_app)
