"""Account administration (issue 2): holders of user.manage find people within their reach, reset a
password (a one-time password shown once; every other session and token ends) and deactivate or
reactivate an account. Never across counties, never someone holding a role they could not give."""

import logging

from sqlalchemy import select

from lms.access.services import assign
from lms.accounts import services
from lms.accounts.models import ApiToken, User
from lms.communities.models import School, Workshop
from lms.extensions import db
from tests.access.dom import parse
from tests.factories import PASSWORD, make_user


def _text(resp) -> str:
    return " ".join(parse(resp.get_data(as_text=True)).text.split())


def _login(client, identifier, password=PASSWORD):
    return client.post("/login", data={"identifier": identifier, "password": password})


def _fresh(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_reset_password_shows_it_once_and_ends_other_sessions(world, login_as, app, caplog):
    w = world
    teacher = w["teacher"]
    old_session = login_as(teacher)
    assert old_session.get("/me").status_code == 200
    token = services.issue_token(teacher, 1)
    admin = login_as(w["county_admin"])
    with caplog.at_level(logging.INFO, logger="lms.audit"):
        r = admin.post(f"/manage/people/{teacher.id}", data={"action": "reset"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    temp = parse(r.get_data(as_text=True)).find(id="one-time-password").text.strip()
    assert len(temp) == 10
    user = _fresh(teacher)
    assert user.must_change_password
    # The teacher's open session and API token no longer work; the one-time password does.
    assert old_session.get("/me").status_code == 302
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == teacher.id)) is None
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    client = app.test_client()
    r = _login(client, "teacher_a", temp)
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/password")
    # Recorded: who did it to whom, without the password or an ID number.
    assert "password_reset" in caplog.text and "cadmin_a" in caplog.text and "teacher_a" in caplog.text
    assert temp not in caplog.text and teacher.id_card not in caplog.text
    # Shown once: the account page does not show it again.
    assert temp not in admin.get(f"/manage/people/{teacher.id}").get_data(as_text=True)


def test_no_reset_across_counties_nor_above_one_self(world, login_as):
    w = world
    boss = make_user("boss", "程市管", w.school_a)  # a teacher of school A who is also the city admin
    assign(boss, "city_admin", w.city.context)
    db.session.commit()
    hashes = {u.id: u.password_hash for u in (w["teacher_b"], boss, w["county_admin"])}
    cases = [
        ("county_admin", w["teacher_b"], 404),  # the next county: not even seen
        ("school_admin", w["teacher_b"], 404),
        ("school_admin", boss, 403),  # seen at the school, but holds a role above the school admin
        ("county_admin", boss, 403),
        ("city_admin", boss, 403),  # a peer
        ("county_admin", w["county_admin"], 403),  # oneself
        ("host", w["teacher"], 403),  # hosts do not manage accounts
        ("teacher", w["member"], 403),
    ]
    for role, person, status in cases:
        client = login_as(w[role])
        for data in ({"action": "reset"}, {"action": "deactivate"}):
            r = client.post(f"/manage/people/{person.id}", data=data)
            assert r.status_code == status, (role, person.username, data)
            assert "程市管" not in r.get_data(as_text=True) or status != 404
        assert client.get(f"/manage/people/{person.id}").status_code == status, (role, person.username)
    for uid, h in hashes.items():
        u = db.session.get(User, uid)
        db.session.refresh(u)
        assert u.password_hash == h and u.active
    # The province admin above the city may.
    assert login_as(w["province_admin"]).post(f"/manage/people/{boss.id}", data={"action": "reset"}).status_code == 200


def test_deactivate_then_reactivate(world, login_as, app):
    w = world
    member = w["member"]
    session = login_as(member)
    token = services.issue_token(member, 1)
    school_count = w.school_a.teacher_count
    admin = login_as(w["school_admin"])
    r = admin.post(f"/manage/people/{member.id}", data={"action": "deactivate"})
    assert r.status_code == 302
    assert "账号已停用" in _text(admin.get(r.headers["Location"]))
    assert not _fresh(member).active
    # No sign-in (told so only with the right password), no open session, no API token.
    client = app.test_client()
    assert _login(client, "member_a").status_code == 200 and client.get("/me").status_code == 302
    assert session.get("/me").status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    r = app.test_client().post("/api/v1/auth/token", json={"login": "member_a", "password": PASSWORD})
    assert r.status_code == 403
    # Counted out of the member lists' counters, and out of the lists.
    assert db.session.get(School, w.school_a.id).teacher_count == school_count - 1
    db.session.refresh(w.county_a)
    assert w.county_a.teacher_count == school_count - 1
    assert db.session.get(Workshop, w.workshop_a.id).member_count == 1
    assert "李老师" not in _text(admin.get(f"/schools/{w.school_a.id}"))
    # The account page still shows the roles a deactivated person would get back.
    assert "已停用" in _text(admin.get(f"/manage/people/{member.id}"))
    r = admin.post(f"/manage/people/{member.id}", data={"action": "reactivate"})
    assert r.status_code == 302 and _fresh(member).active
    assert db.session.get(School, w.school_a.id).teacher_count == school_count
    assert session.get("/me").status_code == 302  # the old session stays ended
    assert _login(app.test_client(), "member_a").status_code == 302


def test_deactivated_admin_loses_their_powers(world, login_as):
    w = world
    county_admin_session = login_as(w["county_admin"])
    url = f"/manage/people/{w['county_admin'].id}"
    assert login_as(w["county_admin_b"]).post(url, data={"action": "deactivate"}).status_code == 403  # a peer
    # The county admin has no school: the city admin above the county manages the account.
    assert "褚县管" in _text(login_as(w["teacher"]).get(f"/regions/{w.county_a.id}"))
    assert login_as(w["city_admin"]).post(url, data={"action": "deactivate"}).status_code == 302
    assert "褚县管" not in _text(login_as(w["teacher"]).get(f"/regions/{w.county_a.id}"))  # no longer shown as admin
    assert county_admin_session.get(f"/regions/{w.county_a.id}/manage").status_code == 302  # signed out


def test_own_account_is_refused_by_the_service(world):
    import pytest

    with pytest.raises(services.AccountError, match="own_account"):
        services.admin_reset_password(world["site_admin"], world["site_admin"])
    with pytest.raises(services.AccountError, match="own_account"):
        services.set_active(world["site_admin"], world["site_admin"], False)
    assert _fresh(world["site_admin"]).active


def test_people_search_stays_within_reach(world, login_as):
    w = world
    admin = login_as(w["county_admin"])
    page = _text(admin.get("/manage/people"))
    assert "张老师" in page and "赵老师" not in page and "卫县管" not in page
    assert "韩督导" in page  # county A's supervisor, without a school, through the role
    assert "张老师" in _text(admin.get("/manage/people?q=张"))
    assert "李老师" not in _text(admin.get("/manage/people?q=张"))
    assert "张老师" in _text(admin.get(f"/manage/people?q={w['teacher'].phone[:7]}"))
    assert "张老师" in _text(admin.get("/manage/people?q=TEACHER_A"))
    assert "赵老师" not in _text(admin.get(f"/manage/people?q={w['teacher_b'].phone}"))
    # Only those one may manage are links.
    doc = parse(admin.get("/manage/people").get_data(as_text=True))
    links = {a.attrs["href"] for a in doc.iter("a")}
    assert f"/manage/people/{w['teacher'].id}" in links
    assert f"/manage/people/{w['school_admin'].id}" in links  # a school admin: a role the county admin gives
    for role in ("teacher", "host", "supervisor"):
        assert login_as(w[role]).get("/manage/people").status_code == 404, role
    site = _text(login_as(w["site_admin"]).get("/manage/people?q=无归属"))
    assert "无归属" in site
