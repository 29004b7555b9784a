"""Request-wide wiring: security headers, error pages, template helpers. Knows no domain."""

import io
from urllib.parse import quote

from flask import Flask, jsonify, render_template, request, send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from lms.core import taxonomy, uploads
from lms.core.uploads import XLSX_MIME

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def xlsx_download(data: bytes, name: str, ascii_name: str):
    """An .xlsx download named `name` (UTF-8, filename*) and `ascii_name` for clients that only read
    the plain filename: Werkzeug's own fallback strips the Chinese, leaving " roster.xlsx" or a dotfile.
    Never cached: exports hold personal data."""
    name = name.replace("/", "_").replace("\\", "_")
    resp = send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=name)
    resp.headers["Content-Disposition"] = f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(name, safe='')}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_web(app: Flask) -> None:
    # Request bodies are capped per view (@body_limit) before they are read; see lms.core.uploads.
    app.request_class = uploads.LimitedRequest
    from lms.core.static import init_static

    init_static(app)  # versioned /static/ URLs, cached for a year

    @app.get("/healthz")
    def healthz():
        """Liveness probe for load balancers, and the benchmark's baseline: no database, no session."""
        return jsonify(status="ok")

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", CSP)
            resp.headers.setdefault("Cache-Control", "private, no-cache")
        return resp

    def _error(code: int, message: str):
        if wants_json():
            return jsonify(error={"code": code, "message": message}), code
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(403)
    def _403(e):
        return _error(403, _("You do not have permission to do this."))

    @app.errorhandler(404)
    def _404(e):
        return _error(404, _("The page does not exist, or you may not see it."))

    @app.errorhandler(405)
    def _405(e):
        return _error(405, _("This method is not allowed here."))

    @app.errorhandler(413)
    def _413(e):
        return _error(413, uploads.too_large_message())

    @app.errorhandler(429)
    def _429(e):
        return _error(429, _("Too many attempts. Please wait a minute and try again."))

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return _error(400, _("The form expired or was not sent from this site. Please reload the page and try again."))

    @app.context_processor
    def _helpers():
        return {
            "current_locale": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "LANGUAGES": app.config["LANGUAGES"],
        }

    from flask_babel import format_date, format_datetime

    # Globals, not a context processor, so imported macros see them too.
    app.jinja_env.globals.update(
        subject_label=taxonomy.subject_label,
        stage_label=taxonomy.stage_label,
        SUBJECTS=taxonomy.SUBJECTS,
        STAGES=taxonomy.STAGES,
        GENDERS=taxonomy.GENDERS,
    )

    app.jinja_env.filters["localdate"] = lambda dt: format_date(dt) if dt else ""
    app.jinja_env.filters["localdatetime"] = lambda dt: format_datetime(dt, "short") if dt else ""
    from lms.access.roles import ROLE_LABELS

    app.jinja_env.globals["role_label"] = lambda r: str(ROLE_LABELS.get(r, r))
    from lms import access

    app.jinja_env.globals["can"] = access.can
    from lms.core import slots

    app.jinja_env.globals["nav_items"] = lambda user, side="main": slots.nav_items(app, user, side)
