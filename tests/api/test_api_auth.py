"""Bearer tokens: issue, use, revoke, expiry, password change, rate limit, session-cookie rules."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from lms.accounts.models import ApiToken
from lms.core.db import utcnow
from tests.api.helpers import API, error_of
from tests.factories import PASSWORD


def _issue(client, login, password=PASSWORD, **extra):
    return client.post(f"{API}/auth/token", json={"login": login, "password": password, **extra})


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_token_with_username(app, client, world, conforms):
    resp = _issue(client, "teacher_a")
    assert resp.status_code == 201
    data = conforms(resp, "Token")
    expires = datetime.fromisoformat(data["expires_at"])
    assert (
        timedelta(days=app.config["API_TOKEN_DAYS"] - 1)
        < expires - utcnow()
        <= timedelta(days=app.config["API_TOKEN_DAYS"])
    )
    me = client.get(f"{API}/me", headers=_bearer(data["token"]))
    assert me.status_code == 200
    assert me.get_json()["username"] == "teacher_a"


def test_token_with_phone(client, world, db):
    user = world["member"]
    resp = _issue(client, user.phone)
    assert resp.status_code == 201
    me = client.get(f"{API}/me", headers=_bearer(resp.get_json()["token"]))
    assert me.get_json()["id"] == user.id
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_only_the_hash_is_stored(client, world, db):
    token = _issue(client, "teacher_a").get_json()["token"]
    hashes = list(db.session.scalars(select(ApiToken.token_hash)))
    assert hashes and token not in hashes


@pytest.mark.parametrize("login,password", [("teacher_a", "wrong-Passw0rd"), ("nobody", PASSWORD), ("", PASSWORD)])
def test_wrong_credentials_are_401(client, world, login, password):
    resp = _issue(client, login, password)
    if login == "":
        assert resp.status_code == 400  # minLength: the body is invalid before any look-up
        assert error_of(resp) == "invalid_body"
    else:
        assert resp.status_code == 401
        assert error_of(resp) == "invalid_credentials"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_inactive_user_gets_no_token_and_loses_tokens(client, world, db, api_as):
    user = world["teacher"]
    api = api_as(user)
    user.active = False
    db.session.commit()
    refused = _issue(client, "teacher_a")
    assert refused.status_code == 403 and error_of(refused) == "account_deactivated"
    assert _issue(client, "teacher_a", "wrong-Passw0rd").status_code == 401  # no more without the password
    assert error_of(api.get(f"{API}/me")) == "invalid_token"


@pytest.mark.parametrize(
    "body,code",
    [
        ({"login": "teacher_a"}, "invalid_body"),
        ({"login": "teacher_a", "password": 5}, "invalid_body"),
        ({"login": "teacher_a", "password": "x" * 129}, "invalid_body"),
        ({"login": "teacher_a", "password": PASSWORD, "admin": True}, "invalid_body"),
    ],
)
def test_bad_token_request_is_400(client, world, body, code):
    resp = client.post(f"{API}/auth/token", json=body)
    assert resp.status_code == 400
    assert error_of(resp) == code


def test_non_json_body_is_400(client, world):
    resp = client.post(f"{API}/auth/token", data="login=teacher_a&password=x")
    assert resp.status_code == 400
    assert error_of(resp) == "invalid_json"


def test_revoked_token_is_401_and_other_tokens_live(client, world):
    first = _issue(client, "teacher_a").get_json()["token"]
    second = _issue(client, "teacher_a").get_json()["token"]
    resp = client.delete(f"{API}/auth/token", headers=_bearer(first))
    assert resp.status_code == 204
    again = client.get(f"{API}/me", headers=_bearer(first))
    assert again.status_code == 401
    assert error_of(again) == "invalid_token"
    assert client.get(f"{API}/me", headers=_bearer(second)).status_code == 200


def test_expired_token_is_401(client, world, db):
    token = _issue(client, "teacher_a").get_json()["token"]
    db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    resp = client.get(f"{API}/me", headers=_bearer(token))
    assert resp.status_code == 401
    assert error_of(resp) == "invalid_token"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "bearer x"])
def test_unknown_token_is_401(client, world, header):
    resp = client.get(f"{API}/me", headers={"Authorization": header})
    assert resp.status_code == 401
    assert error_of(resp) == "invalid_token"


def test_no_auth_is_401(client, world):
    for path in ("/me", f"/regions/{world.county_a.id}", f"/schools/{world.school_a.id}/members", "/regions"):
        resp = client.get(API + path)
        assert resp.status_code == 401, path
        assert error_of(resp) == "authentication_required"
    assert client.delete(f"{API}/auth/token").status_code == 401


def test_password_change_invalidates_tokens_and_sessions(client, world, login_as):
    user = world["teacher"]
    old = _issue(client, "teacher_a").get_json()["token"]
    other = _issue(client, "teacher_a").get_json()["token"]
    browser = login_as(user)
    assert browser.get(f"{API}/me").status_code == 200

    resp = client.post(f"{API}/me/password", json={"current": PASSWORD, "new": "N3w-password"}, headers=_bearer(old))
    assert resp.status_code == 200
    new = resp.get_json()["token"]

    for token in (old, other):
        assert client.get(f"{API}/me", headers=_bearer(token)).status_code == 401
    assert browser.get(f"{API}/me").status_code == 401  # the session version moved on
    assert client.get(f"{API}/me", headers=_bearer(new)).status_code == 200
    assert _issue(client, "teacher_a").status_code == 401
    assert _issue(client, "teacher_a", "N3w-password").status_code == 201


@pytest.mark.parametrize(
    "current,new,code",
    [("wrong-Passw0rd", "N3w-password", "wrong_password"), (PASSWORD, "short1", "password_short"),
     (PASSWORD, "onlyletters", "password_simple")],
)  # fmt: skip
def test_password_change_errors(client, world, api_as, current, new, code):
    api = api_as(world["teacher"])
    resp = api.post(f"{API}/me/password", json={"current": current, "new": new})
    assert resp.status_code == 400
    assert error_of(resp) == code
    assert api.get(f"{API}/me").status_code == 200  # nothing changed, the token still works


def test_session_cookie_works_for_get_only(world, login_as):
    browser = login_as(world["teacher"])
    assert browser.get(f"{API}/me").status_code == 200
    resp = browser.patch(f"{API}/me", json={"name": "改名"})
    assert resp.status_code == 401
    assert error_of(resp) == "authentication_required"
    assert browser.post(f"{API}/me/password", json={"current": PASSWORD, "new": "N3w-password"}).status_code == 401
    assert browser.delete(f"{API}/auth/token").status_code == 401
    assert browser.get(f"{API}/me").get_json()["name"] == "张老师"


def test_bearer_wins_over_session(world, login_as, api_as):
    browser = login_as(world["teacher"])
    token_client = api_as(world["teacher_b"])
    browser.environ_base["HTTP_AUTHORIZATION"] = token_client.environ_base["HTTP_AUTHORIZATION"]
    assert browser.get(f"{API}/me").get_json()["username"] == "teacher_b"


def test_token_endpoint_is_rate_limited(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    codes = [_issue(client, "teacher_a", "wrong-Passw0rd").status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    resp = _issue(client, "teacher_a")  # even the right password: the budget is spent
    assert resp.status_code == 429
    assert error_of(resp) == "rate_limited"


def test_rate_limit_is_shared_with_the_login_form(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    for _ in range(2):
        client.post("/login", data={"identifier": "teacher_a", "password": "wrong-Passw0rd"})
    assert _issue(client, "teacher_a", "wrong-Passw0rd").status_code == 401
    assert _issue(client, "teacher_a").status_code == 429


def test_revoking_is_not_rate_limited(app, client, world, monkeypatch, api_as):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1 per minute")
    assert _issue(client, "teacher_a").status_code == 201
    for _ in range(3):
        assert api_as(world["teacher"]).delete(f"{API}/auth/token").status_code == 204


def test_last_used_recorded_but_not_written_on_every_call(client, world, db):
    token = _issue(client, "teacher_a").get_json()["token"]
    row = db.session.scalar(select(ApiToken))
    assert row.last_used_at is None
    assert client.get(f"{API}/me", headers=_bearer(token)).status_code == 200
    db.session.refresh(row)
    first = row.last_used_at
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    client.get(f"{API}/me", headers=_bearer(token))
    db.session.refresh(row)
    assert row.last_used_at == first, "a second call within minutes does not write again"
    db.session.execute(update(ApiToken).values(last_used_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    client.get(f"{API}/me", headers=_bearer(token))
    db.session.refresh(row)
    assert utcnow() - row.last_used_at < timedelta(minutes=1)


def test_a_one_time_password_opens_only_the_password_change(client, world, db):
    """Like the pages: until the one-time password (roster import, admin reset) is replaced, a token
    reads /me, changes the password or signs out, and nothing else."""
    teacher = world["teacher"]
    teacher.must_change_password = True
    db.session.commit()
    token = _issue(client, "teacher_a").get_json()["token"]
    assert client.get(f"{API}/me", headers=_bearer(token)).get_json()["must_change_password"] is True
    for method, path in (("GET", "/regions"), ("PATCH", "/me"), ("GET", f"/schools/{world.school_a.id}")):
        resp = client.open(f"{API}{path}", method=method, headers=_bearer(token), json={} if method != "GET" else None)
        assert resp.status_code == 403 and error_of(resp) == "password_change_required", path
    # The session cookie's GETs are held back the same way.
    client.post("/login", data={"identifier": "teacher_a", "password": PASSWORD})
    assert error_of(client.get(f"{API}/courses")) == "password_change_required"
    changed = client.post(
        f"{API}/me/password", headers=_bearer(token), json={"current": PASSWORD, "new": "Own-passw0rd-2026"}
    )
    assert changed.status_code == 200
    fresh = changed.get_json()["token"]
    assert client.get(f"{API}/regions", headers=_bearer(fresh)).status_code == 200
