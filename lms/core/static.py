"""Cache-busting for /static/: every url_for('static', ...) carries ?v=<hash of the file's content>,
and a request whose v is the file's current hash is answered with a year-long, immutable
Cache-Control, so a page on a slow line fetches each asset once and never revalidates it. A new
file (a deployment) has a new hash, hence a new URL. Anything else (no v, an old v) gets no-cache.

The hashes are computed once per process (a deployment restarts the processes); in debug mode a
file whose modification time changed is hashed again. nginx serving /static/ must do the same:
deploy/nginx-static.conf.
"""

import hashlib
import os
import threading

from flask import Flask, request
from werkzeug.security import safe_join

#: Cache-Control of a versioned static file (one year: what browsers keep at most anyway).
IMMUTABLE = "public, max-age=31536000, immutable"
_LOCK = threading.Lock()


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()[:12]


def init_static(app: Flask) -> None:
    cache: dict[str, tuple[int, str | None]] = {}
    folder = app.static_folder

    def version(filename: str) -> str | None:
        """The content hash of a static file, or None when there is no such file."""
        hit = cache.get(filename)
        if hit is not None and not app.debug:
            return hit[1]
        path = safe_join(folder, filename)  # what the static view would send, or None
        try:
            mtime = os.stat(path).st_mtime_ns if path else -1
        except (OSError, ValueError):
            mtime = -1
        if hit is not None and hit[0] == mtime:
            return hit[1]
        digest = _digest(path) if mtime >= 0 and os.path.isfile(path) else None
        with _LOCK:
            cache[filename] = (mtime, digest)
        return digest

    @app.url_defaults
    def _versioned(endpoint, values):
        if endpoint == "static" and "v" not in values and values.get("filename"):
            v = version(values["filename"])
            if v:
                values["v"] = v

    @app.after_request
    def _static_caching(resp):
        if request.endpoint == "static" and resp.status_code in (200, 206, 304):
            filename = (request.view_args or {}).get("filename", "")
            v = request.args.get("v")
            resp.headers["Cache-Control"] = IMMUTABLE if v and v == version(filename) else "no-cache"
            resp.headers.pop("Expires", None)
        return resp

    app.extensions["static_version"] = version
