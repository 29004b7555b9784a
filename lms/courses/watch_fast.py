"""The hot path of video playback as a thin WSGI layer: rendition files without Flask's request cycle.

Every viewer asks for a segment every 2 s. Routing, the before/after-request hooks and send_file cost
more than checking the grant itself, so a plain GET/HEAD of /watch/<lesson>/<grant>/<file> is answered
here when everything is in order: the session cookie is genuine (the app's own signing serializer),
was issued to this browser (Flask-Login's strong-protection identifier), the grant's HMAC matches
this session's user key, the file exists in the lesson's rendition folder. The answer is the same as
the Flask view's: X-Accel-Redirect when MEDIA_ACCEL_REDIRECT is set, else the bytes through the
server's file wrapper (sendfile under gunicorn), with the same Content-Type and Cache-Control.

Anything else (a Range or conditional request, a missing or refused grant, an unknown file, a cache
miss needing the database) goes to the Flask view unchanged, which decides and answers it. So this
layer can only ever *accept* what the view would accept, never refuse or change an answer.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from email.utils import formatdate

from lms.courses import watch

PATH = re.compile(r"^/watch/(\d{1,12})/([0-9a-f]{1,12}\.[A-Za-z0-9_-]{1,40})/(.{1,80})$")
SKIP = ("HTTP_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_RANGE", "HTTP_IF_MATCH")
COOKIE = re.compile(r"(?:^|;\s*)([^=;\s]+)=([^;]*)")


class MediaFastPath:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._serializer = None
        self._key = None

    def __call__(self, environ, start_response):
        m = PATH.match(environ.get("PATH_INFO", ""))
        if m is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or any(k in environ for k in SKIP):
            return self.wsgi_app(environ, start_response)
        answer = self._try(environ, int(m[1]), m[2], m[3])
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return body

    # -----------------------------------------------------------------------------------------------

    def _session_user(self, environ) -> str | None:
        cookie_name = self.app.config["SESSION_COOKIE_NAME"]
        raw = None
        for name, value in COOKIE.findall(environ.get("HTTP_COOKIE", "")):
            if name == cookie_name:
                raw = value.strip('"')
                break
        if not raw:
            return None
        if self._serializer is None:
            self._serializer = self.app.session_interface.get_signing_serializer(self.app)
        try:
            data = self._serializer.loads(raw, max_age=int(self.app.permanent_session_lifetime.total_seconds()))
        except Exception:  # noqa: BLE001 - any bad cookie: let Flask answer
            return None
        key = data.get("_user_id")
        if not key or data.get("_id") != _identifier(environ):
            return None
        return key

    def _try(self, environ, lesson_id: int, grant: str, name: str):
        if not watch.MEDIA_NAME.match(name):
            return None
        folder = watch.cached_rendition_dir(lesson_id)  # no database here: a miss goes to Flask
        if not folder:
            return None
        if self._key is None:
            with self.app.app_context():
                self._key = watch._key()
        if not watch.check_grant(self._session_user(environ), lesson_id, grant, key=self._key):
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
            ("Last-Modified", formatdate(st.st_mtime, usegmt=True)),
            ("Accept-Ranges", "bytes"),
        ]
        if environ["REQUEST_METHOD"] == "HEAD":
            return "200 OK", headers, [b""]
        f = open(path, "rb")  # noqa: SIM115 - closed by the server through the file wrapper
        wrapper = environ.get("wsgi.file_wrapper")
        return "200 OK", headers, (wrapper(f, 256 * 1024) if wrapper else _chunks(f))


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
    app.wsgi_app = MediaFastPath(app, app.wsgi_app)
