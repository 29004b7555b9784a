"""Yanxiu 研修: a workshop-based learning community server."""

import logging
from pathlib import Path

from flask import Flask, g, request, session

from lms.config import BASE_DIR, Config
from lms.extensions import babel, compress, csrf, db, limiter, login_manager, migrate, socketio

log = logging.getLogger(__name__)


def create_app(config: dict | type | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(BASE_DIR / "instance"),
        template_folder=str(BASE_DIR / "templates"),
    )
    overrides = {}
    if isinstance(config, type):
        # Only what the class changes, so LMS_* environment variables still apply under TestConfig.
        overrides = {
            k: getattr(config, k)
            for k in dir(config)
            if k.isupper() and getattr(config, k) != getattr(Config, k, object())
        }
    elif isinstance(config, dict):
        overrides = config
    app.config.update(Config.load(app.instance_path, overrides))
    from lms.core.idcard import key_from_config

    key_from_config(app.config)  # a malformed LMS_IDCARD_KEY stops the start, not the first roster import
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _trust_proxies(app)
    # Flask attaches its stderr handler (with the time of each line) to the "lms" logger on first use
    # of app.logger; do it now, so the lms.audit lines (who appointed whom, when) are never dropped.
    app.logger  # noqa: B018
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    from lms.plugins import load_plugins

    load_plugins(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind PROXY_COUNT reverse proxies, take the client address and scheme from X-Forwarded-*."""
    n = app.config.get("PROXY_COUNT", 0)
    if n:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)


_LOCALES: dict = {}


def _locale(code: str):
    # A parsed Locale, not the code: Flask-Babel would otherwise re-parse it on every request,
    # and Babel's parser scans the locale-data directory each time.
    if code not in _LOCALES:
        from babel import Locale

        _LOCALES[code] = Locale.parse(code)
    return _LOCALES[code]


def _select_locale():
    langs = g.get("_langs") or []
    chosen = session.get("locale")
    if chosen not in langs:
        from flask_login import current_user

        user_locale = current_user.locale if getattr(current_user, "is_authenticated", False) else None
        chosen = user_locale if user_locale in langs else g.get("_default_locale")
    return _locale(chosen) if chosen else None


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    compress.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def _locale_setup():
        g._langs = app.config["LANGUAGES"]
        g._default_locale = app.config["BABEL_DEFAULT_LOCALE"]

    babel.init_app(
        app, locale_selector=_select_locale, default_translation_directories=str(BASE_DIR / "lms" / "translations")
    )

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "strong"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"

    from lms.accounts.services import load_session_user

    login_manager.user_loader(load_session_user)

    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"] or None,
        manage_session=False,
    )

    from lms.core.web import init_web

    init_web(app)


# Domain packages, in the order their blueprints register. Each may have `views.py` with `bp`
# (HTML pages), `api.py` (routes on the shared /api/v1 blueprint), `models.py`, and an
# `init_app(app)` in its package for what it hooks up at start (page panels, signal listeners,
# Socket.IO namespaces). A domain that does not exist yet is simply skipped.
DOMAINS = (
    "accounts",
    "communities",
    "activities",
    "notifications",
    "media",
    "courses",
    "homework",
    "live",
    "resources",
    "search",
    "assessment",
    "credits",
    "stats",
    "projects",
    "audit",
)


def _has(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _register_blueprints(app: Flask) -> None:
    import importlib

    from lms.accounts.roster_views import bp as roster_bp
    from lms.api import bp as api_bp

    for name in DOMAINS:
        if _has(f"lms.{name}.views"):
            app.register_blueprint(importlib.import_module(f"lms.{name}.views").bp)
        if _has(f"lms.{name}.api"):
            importlib.import_module(f"lms.{name}.api")
        package = importlib.import_module(f"lms.{name}") if _has(f"lms.{name}") else None
        if package is not None and hasattr(package, "init_app"):
            package.init_app(app)
    app.register_blueprint(roster_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")


def _register_cli(app: Flask) -> None:
    from lms.cli import lms_cli

    app.cli.add_command(lms_cli)


def _models():
    """Import every model module so metadata (and Alembic autogenerate) sees all tables."""
    import importlib

    import lms.access.models  # noqa: F401
    import lms.core.schedule  # noqa: F401 - scheduled_tasks

    for name in DOMAINS:
        if _has(f"lms.{name}.models"):
            importlib.import_module(f"lms.{name}.models")


_models()
__all__ = ["create_app", "request"]
