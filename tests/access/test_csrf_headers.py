"""CSRF on every HTML form, found from the URL map (so forms added later are covered), and the
security headers every page carries."""

import contextlib
import copy

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from lms import create_app
from lms.extensions import limiter, socketio
from tests.access.conftest import sign_in
from tests.access.dom import parse
from tests.conftest import test_config as make_test_config

CSRF_MESSAGE = "表单已过期或并非从本站提交，请刷新页面后重试。"


@contextlib.contextmanager
def _keep_global_extensions():
    """create_app() re-initialises the module-level SocketIO and Limiter objects; put the session
    app's back afterwards so tests that run later still talk to the server they registered with."""
    saved = [(ext, copy.copy(vars(ext))) for ext in (socketio, limiter)]
    saved = [
        (ext, {k: copy.copy(v) if isinstance(v, dict | list) else v for k, v in state.items()}) for ext, state in saved
    ]
    try:
        yield
    finally:
        for ext, state in saved:
            vars(ext).clear()
            vars(ext).update(state)


@pytest.fixture(scope="module")
def csrf_app(app, tmp_path_factory):
    cfg = make_test_config(tmp_path_factory.mktemp("csrf"))
    cfg["DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    cfg["WTF_CSRF_ENABLED"] = True
    with _keep_global_extensions():
        csrf_app = create_app(cfg)
    assert csrf_app.config["SQLALCHEMY_DATABASE_URI"] == app.config["SQLALCHEMY_DATABASE_URI"]
    yield csrf_app
    from lms.extensions import db

    with csrf_app.app_context():
        db.session.remove()
        db.engine.dispose()


# Endpoints that replace the CSRF token with a secret of their own, signed for the session's user
# and only found on the page that uses it (the player's viewing token); checked separately below.
OWN_SIGNED_TOKEN = {"watch.heartbeat"}


def _html_post_rules(flask_app):
    rules = []
    for rule in flask_app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()):
            continue
        if rule.endpoint.startswith("api.") or rule.rule.startswith("/api/"):
            continue
        if rule.endpoint in OWN_SIGNED_TOKEN:
            continue
        rules.append(rule)
    return sorted(rules, key=lambda r: r.rule)


def _url(rule, world):
    known = {
        "workshop_id": world.workshop_a.id,
        "school_id": world.school_a.id,
        "region_id": world.county_a.id,
        "group_id": world.group_a.id,
        "user_id": world["teacher"].id,
        "code": "en",
    }
    values = {}
    for arg in rule.arguments:
        converter = rule._converters.get(arg)
        if arg in known:
            values[arg] = known[arg]
        elif isinstance(converter, AnyConverter):
            values[arg] = sorted(converter.items)[-1]
        elif isinstance(converter, IntegerConverter):
            # Generic ids (ident, id…): a workshop's id exists in every world table we build.
            values[arg] = world.workshop_a.id
        else:
            values[arg] = "x"
    path, _, query = rule.build(values, append_unknown=False)[1].partition("?")
    return path


def _token(client) -> str:
    doc = parse(client.get("/me").get_data(as_text=True))
    field = doc.find("input", name="csrf_token")
    assert field is not None and field.attrs["value"]
    return field.attrs["value"]


def test_html_blueprints_have_post_routes(csrf_app):
    endpoints = {r.endpoint for r in _html_post_rules(csrf_app)}
    assert {"accounts.login", "accounts.logout", "accounts.password", "accounts.profile"} <= endpoints
    assert "accounts.set_language" in endpoints


def test_every_html_post_refuses_a_missing_or_wrong_token(csrf_app, world):
    rules = _html_post_rules(csrf_app)
    missing = []
    for rule in rules:
        url = _url(rule, world)
        # A fresh session per route: /logout (or a password change) would end a shared one.
        client = sign_in(csrf_app, world["site_admin"])
        anonymous = csrf_app.test_client()
        token = _token(client)
        for who, c, data in (
            ("signed in, no token", client, {}),
            ("signed in, forged token", client, {"csrf_token": "forged"}),
            ("anonymous, no token", anonymous, {}),
        ):
            resp = c.post(url, data=data)
            if resp.status_code != 400 or CSRF_MESSAGE not in parse(resp.get_data(as_text=True)).text:
                missing.append((rule.rule, who, resp.status_code))
        # With the right token the same request gets past the CSRF check (so the 400 above was CSRF).
        resp = client.post(url, data={"csrf_token": token})
        if CSRF_MESSAGE in resp.get_data(as_text=True):
            missing.append((rule.rule, "valid token refused", resp.status_code))
    assert missing == []


def test_heartbeat_refuses_a_missing_or_forged_viewing_token(csrf_app, world):
    client = sign_in(csrf_app, world["teacher"])
    for body in ({}, {"v": "forged", "p": 10, "playing": True, "visible": True}):
        resp = client.post("/watch/heartbeat", json=body)
        assert resp.status_code == 403, body
        assert resp.get_json()["error"] == "invalid_viewing"
    assert csrf_app.test_client().post("/watch/heartbeat", json={"v": "forged"}).status_code == 403


def test_token_from_another_session_is_refused(csrf_app, world):
    alice = sign_in(csrf_app, world["teacher"])
    bob = sign_in(csrf_app, world["member"])
    resp = bob.post("/account/profile", data={"csrf_token": _token(alice), "name": "冒名"})
    assert resp.status_code == 400


def test_login_form_works_with_its_token(csrf_app, world):
    client = csrf_app.test_client()
    doc = parse(client.get("/login").get_data(as_text=True))
    token = doc.find("input", name="csrf_token").attrs["value"]
    resp = client.post("/login", data={"csrf_token": token, "identifier": "teacher_a", "password": "Passw0rd!"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/me"
    assert client.get("/me").status_code == 200


def test_api_is_not_covered_by_the_cookie_csrf_check(csrf_app):
    """The API takes bearer tokens, never the cookie, for unsafe methods: it is exempt by design."""
    api_posts = [r for r in csrf_app.url_map.iter_rules() if r.rule.startswith("/api/") and "POST" in (r.methods or ())]
    for rule in api_posts:
        assert rule.endpoint.startswith("api.")


# --- security headers ----------------------------------------------------------------------------


def _check_headers(resp, html=True):
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.get("X-Frame-Options") == "DENY"
    if html:
        csp = resp.headers.get("Content-Security-Policy", "")
        directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
        assert directives.get("frame-ancestors") == "frame-ancestors 'none'"
        assert "'unsafe-inline'" not in directives.get("script-src", "")
        assert directives.get("script-src") == "script-src 'self'"
        assert directives.get("default-src") == "default-src 'self'"
        assert directives.get("object-src", "object-src 'none'") == "object-src 'none'"
        assert "base-uri" in directives and "form-action" in directives


def test_security_headers_on_pages(client, world, login_as):
    _check_headers(client.get("/login"))
    _check_headers(client.get("/regions/1"), html=False)  # a redirect to sign in
    signed = login_as(world["teacher"])
    for url in ("/me", "/account/profile", "/account/password", f"/schools/{world.school_a.id}", "/schools/999999"):
        resp = signed.get(url)
        assert resp.mimetype == "text/html"
        _check_headers(resp)
    _check_headers(signed.get("/logout"))  # 405 page
    _check_headers(signed.get("/static/css/app.css"), html=False)
