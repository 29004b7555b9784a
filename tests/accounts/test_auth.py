"""Sign-in, sign-out, sessions, rate limiting, passwords and the language switch."""

from urllib.parse import urlsplit

import pytest

from lms.accounts import services
from lms.accounts.models import User
from lms.extensions import db as _db
from tests.access.dom import parse
from tests.factories import PASSWORD, make_user


def alerts(resp) -> list[str]:
    doc = parse(resp.get_data(as_text=True))
    return [" ".join(el.text.split()) for el in doc.iter() if el.attrs.get("role") == "alert"]


def field_errors(resp) -> list[str]:
    doc = parse(resp.get_data(as_text=True))
    return [" ".join(el.text.split()) for el in doc.iter("div") if "invalid-feedback" in el.attrs.get("class", "")]


def login(client, identifier, password=PASSWORD, next_=None, **kw):
    url = "/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(url, data={"identifier": identifier, "password": password}, **kw)


def signed_in(client) -> bool:
    resp = client.get("/me")
    return resp.status_code == 200


@pytest.fixture
def teacher(db):
    user = make_user("zhang", "张老师", phone="13900001111")
    _db.session.commit()
    return user


# --- signing in ---------------------------------------------------------------------------------


def test_sign_in_with_username(client, teacher):
    resp = login(client, "zhang")
    assert resp.status_code == 302 and resp.headers["Location"] == "/me"
    assert signed_in(client)
    assert _db.session.get(User, teacher.id).last_login_at is not None


def test_sign_in_with_phone(client, teacher):
    resp = login(client, " 13900001111 ")
    assert resp.status_code == 302
    assert signed_in(client)


def test_wrong_password_and_unknown_user_get_the_same_answer(client, teacher):
    wrong = login(client, "zhang", "Wrong-passw0rd")
    unknown = login(client, "nobody", "Wrong-passw0rd")
    assert wrong.status_code == unknown.status_code == 200
    assert alerts(wrong) == alerts(unknown) == ["用户名/手机号或密码错误。"]
    assert not signed_in(client)


def test_inactive_user_cannot_sign_in(client, teacher):
    teacher.active = False
    _db.session.commit()
    resp = login(client, "zhang")
    assert resp.status_code == 200
    # With the right password the person learns why (and whom to ask); a wrong one says no more.
    assert alerts(resp) == ["该账号已停用，请联系学校或县级管理员。"]
    assert alerts(login(client, "zhang", "Wrong-passw0rd")) == ["用户名/手机号或密码错误。"]
    assert not signed_in(client)


def test_deactivating_ends_an_open_session(client, teacher):
    login(client, "zhang")
    assert signed_in(client)
    teacher.active = False
    _db.session.commit()
    assert not signed_in(client)


def test_user_without_password_cannot_sign_in(client, db):
    services.create_user("nopass", "无密码")
    _db.session.commit()
    for password in ("", " ", "x"):
        resp = login(client, "nopass", password)
        assert resp.status_code == 200
    assert not signed_in(client)


def test_empty_form_is_refused_with_field_errors(client, teacher):
    resp = client.post("/login", data={"identifier": "", "password": ""})
    assert resp.status_code == 200
    assert len(field_errors(resp)) == 2
    assert not signed_in(client)


# --- redirects after sign-in ---------------------------------------------------------------------

EVIL_NEXT = [
    "//evil.com",
    "https://evil.com",
    "http://evil.com/me",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/%09/evil.com",  # a tab, which browsers drop: "/\t/evil.com" would become "//evil.com"
    "/%0A/evil.com",
    "/%0D%0A/evil.com",
    "%2F%2Fevil.com",
    "javascript:alert(1)",
    "evil.com",
    "%20//evil.com",
]


def _browser_target(location: str) -> str:
    # What a browser makes of a Location: tabs and newlines removed, backslashes read as slashes.
    return "".join(ch for ch in location if ch not in "\t\r\n").replace("\\", "/")


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_open_redirect_through_next_is_refused(client, teacher, target):
    resp = login(client, "zhang", next_=target)
    assert resp.status_code == 302
    location = _browser_target(resp.headers["Location"])
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//"), location
    assert location == "/me"


def test_local_next_is_followed(client, teacher):
    resp = login(client, "zhang", next_="/account/profile?tab=1")
    assert resp.headers["Location"] == "/account/profile?tab=1"


def test_language_switch_next_is_local_only(client):
    resp = client.post("/lang/en", data={"next": "//evil.com"})
    assert resp.status_code == 302
    assert not urlsplit(_browser_target(resp.headers["Location"])).netloc


def test_signed_in_user_visiting_login_goes_to_their_space(client, teacher):
    login(client, "zhang")
    resp = client.get("/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/me"


# --- sessions ------------------------------------------------------------------------------------


def _session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_session_is_renewed_at_sign_in(client, teacher):
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "attacker"
        sess["_user_id"] = "999:0"  # a planted identity must not be kept either
        sess["locale"] = "en"
    before = _session_cookie(client)
    login(client, "zhang")
    after = _session_cookie(client)
    assert before and after and before != after
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == teacher.get_id()
        assert sess.get("locale") == "en"  # the reader's language choice is kept


def test_logout_is_post_only(client, teacher):
    login(client, "zhang")
    assert client.get("/logout").status_code == 405
    assert signed_in(client)
    resp = client.post("/logout")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert not signed_in(client)
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


def _replay(app, cookie: str):
    """Another browser presenting a saved copy of a session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_cookie_replayed_after_logout_opens_nothing(client, app, teacher):
    """The session cookie is signed, not secret-bound to the server: a copy saved before signing out
    would stay valid for weeks. The sign-in row it names is deleted at logout, so the copy is dead."""
    from lms.accounts.models import SignIn

    other = app.test_client()
    login(other, "zhang")  # the same person on a second device
    login(client, "zhang")
    saved = _session_cookie(client)
    assert saved and signed_in(_replay(app, saved))
    assert _db.session.query(SignIn).filter_by(user_id=teacher.id).count() == 2
    client.post("/logout")
    replayed = _replay(app, saved).get("/me")
    assert replayed.status_code == 302 and urlsplit(replayed.headers["Location"]).path == "/login"
    assert signed_in(other), "the other device's sign-in is untouched"
    assert _db.session.query(SignIn).filter_by(user_id=teacher.id).count() == 1


def test_sign_in_row_records_the_device(client, teacher):
    from lms.accounts.models import SignIn

    chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
    login(client, "zhang", headers={"User-Agent": chrome}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    row = _db.session.query(SignIn).filter_by(user_id=teacher.id).one()
    assert (row.user_agent, row.ip) == ("Chrome / Windows", "10.1.2.3")
    assert len(row.id) >= 40 and row.last_seen_at is not None


def test_session_without_a_sign_in_row_is_refused(app, client, teacher):
    """A cookie naming the user but no (or a forged) sign-in: not signed in."""
    for sign_in in (None, "made-up"):
        with client.session_transaction() as sess:
            sess["_user_id"] = teacher.get_id()
            if sign_in:
                sess["_sign_in"] = sign_in
        assert not signed_in(client)


def test_last_seen_of_a_sign_in_is_throttled(client, teacher):
    from datetime import timedelta

    from lms.accounts.models import SignIn

    login(client, "zhang")
    row = _db.session.query(SignIn).filter_by(user_id=teacher.id).one()
    old = row.last_seen_at - timedelta(hours=1)
    row.last_seen_at = old
    _db.session.commit()
    assert signed_in(client)
    _db.session.expire_all()
    first = _db.session.get(SignIn, row.id).last_seen_at
    assert first > old
    assert signed_in(client)
    _db.session.expire_all()
    assert _db.session.get(SignIn, row.id).last_seen_at == first, "moved at most every few minutes"


def test_loading_the_user_and_sign_in_is_one_query(app, client, teacher):
    """The sign-in check is folded into the user lookup: one SELECT per request, as before."""
    from tests.sql_counting import counting

    login(client, "zhang")
    assert signed_in(client)  # the first request records last_seen_at (the writes are throttled)
    with client.session_transaction() as sess:
        stored = dict(sess)
    with app.test_request_context():
        from flask import session

        session.update(stored)
        with counting() as statements:
            user = services.load_session_user(stored["_user_id"])
        assert user is not None and user.id == teacher.id
    assert len(statements) == 1 and "sign_ins" in statements[0], statements


def test_stale_sign_ins_are_purged(app, client, teacher):
    from datetime import timedelta

    from lms.accounts.models import SignIn
    from lms.core import schedule

    login(client, "zhang")
    fresh = _db.session.query(SignIn).one()
    old = SignIn(id="old-one", user_id=teacher.id, created_at=fresh.created_at, user_agent="", ip="",
                 last_seen_at=fresh.last_seen_at - app.permanent_session_lifetime - timedelta(hours=1))  # fmt: skip
    _db.session.add(old)
    _db.session.commit()
    assert "accounts.purge" in {t.name for t in schedule.tasks(app)}
    assert services.purge_sign_ins() == 1
    assert [s.id for s in _db.session.query(SignIn)] == [fresh.id]
    assert signed_in(client)


def test_sign_out_of_all_other_devices(app, client, teacher):
    phone, laptop = app.test_client(), app.test_client()
    # Each browser sends its User-Agent with every request (strong session protection compares it).
    phone.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"
    laptop.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36"
    for browser in (phone, laptop, client):
        login(browser, "zhang")
    page = client.get("/account/password").get_data(as_text=True)
    doc = parse(page)
    items = [" ".join(li.text.split()) for li in doc.iter("li") if "list-group-item" in li.attrs.get("class", "")]
    assert len(items) == 3
    assert any("Chrome / Windows" in i and "本设备" in i for i in items)
    assert any("Safari / iPhone" in i and "本设备" not in i for i in items)
    assert "退出其他所有设备" in page
    resp = client.post("/account/sign-ins/end-others", follow_redirects=True)
    assert "已退出其他 2 台设备的登录。" in resp.get_data(as_text=True)
    assert signed_in(client)
    assert not signed_in(phone) and not signed_in(laptop)
    page = client.get("/account/password").get_data(as_text=True)
    assert "退出其他所有设备" not in page, "no button with no other device"
    make_user("li", "李老师")
    _db.session.commit()
    li = app.test_client()
    login(li, "li")
    client.post("/account/sign-ins/end-others")
    assert signed_in(li), "only the person's own sign-ins end"


def test_deactivation_and_admin_reset_end_every_sign_in(app, client, teacher):
    from lms.accounts.models import SignIn

    login(client, "zhang")
    services.reset_password(teacher)
    assert not signed_in(client)
    assert _db.session.query(SignIn).filter_by(user_id=teacher.id).count() == 0


# --- rate limiting -------------------------------------------------------------------------------


@pytest.fixture
def three_per_minute(app):
    from lms.extensions import limiter

    old = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    limiter.reset()
    yield
    app.config["LOGIN_RATE_LIMIT"] = old
    limiter.reset()


def test_fourth_attempt_in_a_minute_is_refused(client, teacher, three_per_minute):
    for _ in range(3):
        assert login(client, "zhang", "Wrong-passw0rd").status_code == 200
    resp = login(client, "zhang", "Wrong-passw0rd")
    assert resp.status_code == 429
    doc = parse(resp.get_data(as_text=True))
    assert "尝试次数过多，请稍候一分钟再试。" in doc.text
    assert "Content-Security-Policy" in resp.headers
    # Even the right password waits: no guessing around the limit.
    assert login(client, "zhang").status_code == 429
    assert not signed_in(client)
    # Only sign-in attempts count: the form itself still opens.
    assert client.get("/login").status_code == 200


def test_successful_sign_ins_from_one_school_address_do_not_count(app, db, three_per_minute):
    """A class of teachers behind the school's one address all sign in; only failures use the budget."""
    for i in range(6):
        make_user(f"class{i}", f"教师{i}")
    _db.session.commit()
    for i in range(6):
        browser = app.test_client()
        assert login(browser, f"class{i}").status_code == 302, i
    for _ in range(3):
        assert login(app.test_client(), "class0", "Wrong-passw0rd").status_code == 200
    assert login(app.test_client(), "class1").status_code == 429  # the address's failures are spent


@pytest.fixture
def account_limit(app):
    """A tight per-(account, address) budget and a larger per-account one, as in production."""
    from lms.extensions import limiter

    old = app.config["LOGIN_ACCOUNT_RATE_LIMIT"], app.config["LOGIN_ACCOUNT_GLOBAL_RATE_LIMIT"]
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per minute"
    app.config["LOGIN_ACCOUNT_GLOBAL_RATE_LIMIT"] = "8 per hour"
    limiter.reset()
    yield
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"], app.config["LOGIN_ACCOUNT_GLOBAL_RATE_LIMIT"] = old
    limiter.reset()


def _from(address):
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_a_stranger_guessing_does_not_lock_the_owner_out(app, client, teacher, account_limit):
    """Usernames are sequential: anyone can name any teacher. The attacker's address runs out of
    attempts on that account (even with the right password); the owner at school signs in."""
    attacker = app.test_client()
    for _ in range(3):
        assert login(attacker, "zhang", "Wrong-passw0rd", **_from("10.6.6.6")).status_code == 200
    assert login(attacker, "zhang", "Wrong-passw0rd", **_from("10.6.6.6")).status_code == 429
    assert login(attacker, "zhang", **_from("10.6.6.6")).status_code == 429, "no guessing around it"
    assert login(attacker, " 13900001111 ", **_from("10.6.6.6")).status_code == 429, "phone shares it"
    api = client.post("/api/v1/auth/token", json={"login": "zhang", "password": PASSWORD}, **_from("10.6.6.6"))
    assert api.status_code == 429, "the token endpoint shares the budget"
    # The owner, from the school's address: in, by the form and by the API.
    assert login(client, "zhang", **_from("10.0.0.1")).status_code == 302
    api = app.test_client().post("/api/v1/auth/token", json={"login": "zhang", "password": PASSWORD},
                                 **_from("10.0.0.1"))  # fmt: skip
    assert api.status_code == 201


def test_one_account_guessed_from_many_addresses_is_braked(app, client, teacher, account_limit):
    """Each address stays under its own budget, but the account's global budget runs out: then every
    attempt on that account waits, from anywhere; other accounts are unaffected."""
    for i in range(8):
        resp = login(client, "zhang", "Wrong-passw0rd", **_from(f"10.0.0.{i}"))
        assert resp.status_code == 200, i
    for ident in ("zhang", " 13900001111 "):  # the same account by username or by phone
        assert login(client, ident, **_from("10.0.1.1")).status_code == 429
    api = client.post("/api/v1/auth/token", json={"login": "zhang", "password": PASSWORD}, **_from("10.0.2.2"))
    assert api.status_code == 429
    make_user("li", "李老师")
    _db.session.commit()
    assert login(client, "li", **_from("10.0.0.1")).status_code == 302


# --- passwords -----------------------------------------------------------------------------------


def _change(client, current, new, confirm=None):
    return client.post(
        "/account/password", data={"current": current, "new": new, "confirm": new if confirm is None else confirm}
    )


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("Wrong-passw0rd", "NewPassw0rd", None, "当前密码不正确。"),
        (PASSWORD, "Ab1", None, "密码至少需要 8 个字符。"),
        (PASSWORD, "onlyletters", None, "密码需同时包含字母和数字。"),
        (PASSWORD, "1234567890", None, "密码需同时包含字母和数字。"),
        (PASSWORD, "NewPassw0rd", "NewPassw0rx", "两次输入的密码不一致。"),
        (PASSWORD, "Ab1" * 50, None, "密码最多 128 个字符。"),
        (PASSWORD, "", "", "该字段是必填字段。"),
    ],
)
def test_password_change_refusals(client, teacher, current, new, confirm, message):
    login(client, "zhang")
    before = (teacher.password_hash, teacher.session_version)
    resp = _change(client, current, new, confirm)
    assert resp.status_code == 200
    assert message in field_errors(resp)
    _db.session.expire_all()
    user = _db.session.get(User, teacher.id)
    assert (user.password_hash, user.session_version) == before
    assert signed_in(client)


def test_password_change_signs_out_other_sessions_only(app, client, teacher):
    other = app.test_client()
    login(other, "zhang")
    login(client, "zhang")
    token = services.issue_token(teacher, days=1)
    resp = _change(client, PASSWORD, "NewPassw0rd")
    assert resp.status_code == 302 and resp.headers["Location"] == "/me"
    assert signed_in(client), "the device that changed the password stays signed in"
    assert not signed_in(other), "every other session is signed out"
    assert services.user_for_token(token) is None, "API tokens are revoked"
    # The new password works, the old one no longer does.
    third = app.test_client()
    assert login(third, "zhang", PASSWORD).status_code == 200
    assert login(third, "zhang", "NewPassw0rd").status_code == 302


def test_must_change_password_goes_to_the_password_page(client, teacher):
    teacher.must_change_password = True
    _db.session.commit()
    resp = login(client, "zhang", next_="/account/profile")
    assert resp.status_code == 302 and resp.headers["Location"] == "/account/password"
    page = client.get("/account/password")
    assert "请现在设置您自己的密码。" in alerts(page)
    _change(client, PASSWORD, "NewPassw0rd")
    _db.session.expire_all()
    assert _db.session.get(User, teacher.id).must_change_password is False


def test_passwords_are_stored_hashed(db, client):
    user = services.create_user("hashme", "哈希", "Plain-passw0rd")
    _db.session.commit()
    assert user.password_hash.startswith("scrypt:")
    assert "Plain-passw0rd" not in user.password_hash
    services.set_password(user, "Other-passw0rd")
    assert user.password_hash.startswith("scrypt:")
    assert "Other-passw0rd" not in user.password_hash
    temp = services.reset_password(user)
    assert user.must_change_password and temp not in user.password_hash
    assert login(client, "hashme", temp).headers["Location"] == "/account/password"


def test_password_pages_need_sign_in(client, db):
    for url in ("/account/password", "/account/profile"):
        resp = client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


# --- language ------------------------------------------------------------------------------------


def _h1(resp) -> str:
    return parse(resp.get_data(as_text=True)).find("h1").text.strip()


def test_default_language_is_chinese(client, db):
    resp = client.get("/login")
    doc = parse(resp.get_data(as_text=True))
    assert doc.find("html").attrs["lang"] == "zh-CN"
    assert "登录" in doc.find("button", type="submit").text


def test_switch_to_english_and_back(client, db):
    resp = client.post("/lang/en", data={"next": "/login"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    doc = parse(client.get("/login").get_data(as_text=True))
    assert doc.find("html").attrs["lang"] == "en"
    assert doc.find("button", type="submit").text.strip() == "Sign in"
    client.post("/lang/zh_CN")
    assert "登录" in parse(client.get("/login").get_data(as_text=True)).find("button", type="submit").text


def test_language_choice_is_remembered_for_the_account(client, teacher):
    login(client, "zhang")
    client.post("/lang/en")
    _db.session.expire_all()
    assert _db.session.get(User, teacher.id).locale == "en"
    client.post("/logout")
    # A fresh browser: the account's language applies once signed in.
    from flask import current_app

    fresh = current_app.test_client()
    login(fresh, "zhang")
    assert _h1(fresh.get("/account/profile")) == "My profile"


def test_unknown_language_is_404(client, db):
    assert client.post("/lang/xx").status_code == 404
    assert client.post("/lang/en_US").status_code == 404
    assert client.get("/lang/en").status_code == 405
