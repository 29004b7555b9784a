import logging

import pytest
from sqlalchemy import func, select

from lms.extensions import socketio
from lms.notifications import services
from lms.notifications.models import Notification
from tests.html_checks import live_markup


def _socket(app, client):
    # Its own app context, as a real connection has: the test's open one would share `g` (and
    # Flask-Login's cached user) between connections.
    with app.app_context():
        return socketio.test_client(app, namespace="/notify", flask_test_client=client)


def _events(sc, name):
    return [e["args"][0] for e in sc.get_received("/notify") if e["name"] == name]


def test_stored_for_an_offline_user_and_listed(world, login_as, db):
    teacher = world["teacher"]
    services.notify([teacher], "test", "研修活动开始了", url="/me", actor=world["host"])
    assert services.unread_count(teacher) == 1
    page = login_as(teacher).get("/notifications").get_data(as_text=True)
    assert "研修活动开始了" in page
    assert 'href="/me"' in page
    assert "data-notify-badge >1<" in page.replace("  ", " ") or ">1</span>" in page


def test_phone_bell_outside_the_collapsed_menu(world, login_as, db):
    """On a phone the menu is collapsed; the bell with its count must stay in sight beside it."""
    services.notify([world["teacher"]], "test", "新的研讨活动", url="/me")
    page = login_as(world["teacher"]).get("/me").get_data(as_text=True)
    bar = page[page.index("navbar-brand") : page.index('id="nav"')]
    assert 'href="/notifications"' in bar
    assert ">1</span>" in bar
    # The badge script is loaded once, not once per badge.
    assert page.count("js/notify.js") == 1


def test_delivered_live_to_a_connected_user(app, world, login_as, db):
    client = login_as(world["member"])
    sc = _socket(app, client)
    assert sc.is_connected("/notify")
    assert _events(sc, "unread") == [{"unread": 0}]
    services.notify([world["member"].id], "test", "你好", url="/me")
    got = _events(sc, "notification")
    assert len(got) == 1
    assert got[0]["text"] == "你好" and got[0]["unread"] == 1 and got[0]["kind"] == "test"
    assert set(got[0]) >= {"id", "kind", "text", "url", "created_at", "unread"}
    sc.disconnect("/notify")


def test_anonymous_refused(app, client, db):
    client.get("/login")
    sc = _socket(app, client)
    assert not sc.is_connected("/notify")


def test_never_receives_anothers_notification(app, world, login_as, db):
    sc_a = _socket(app, login_as(world["teacher"]))
    sc_b = _socket(app, login_as(world["teacher_b"]))
    sc_a.get_received("/notify"), sc_b.get_received("/notify")
    services.notify([world["teacher"]], "test", "只给张老师")
    assert len(_events(sc_a, "notification")) == 1
    assert _events(sc_b, "notification") == []
    assert "只给张老师" not in login_as(world["teacher_b"]).get("/notifications").get_data(as_text=True)
    # Marking another user's ids read does nothing.
    other = db.session.scalar(select(Notification))
    r = login_as(world["teacher_b"]).post("/notifications/read", data={"id": other.id})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Notification, other.id).read_at is None


def test_mark_read_one_and_all(world, login_as, db):
    t = world["teacher"]
    a, b, c = (services.notify([t], "test", f"n{i}")[0] for i in range(3))
    client = login_as(t)
    client.post("/notifications/read", data={"id": a.id})
    assert services.unread_count(t) == 2
    client.post("/notifications/read")
    assert services.unread_count(t) == 0
    assert "Mark all as read" not in client.get("/notifications").get_data(as_text=True)


def test_paged(world, login_as, db):
    t = world["teacher"]
    for i in range(services.PER_PAGE + 3):
        services.notify([t], "test", f"第{i}条")
    client = login_as(t)
    assert client.get("/notifications?page=2").status_code == 200
    assert services.recent(t, 2).total == services.PER_PAGE + 3
    assert len(services.recent(t, 2).items) == 3


def test_xss_payloads_inert(app, world, login_as, db, xss_payloads):
    t = world["teacher"]
    for p in xss_payloads:
        services.notify([t], "test", p, url=p)
    client = login_as(t)
    for page in (1, 2, 3, 4, 5):
        html = client.get(f"/notifications?page={page}").get_data(as_text=True)
        assert live_markup(html) == [], page
    for n in db.session.scalars(select(Notification)):
        assert n.url is None or (n.url.startswith("/") and not n.url.startswith("//"))


def test_unsafe_urls_dropped():
    for bad in ("javascript:alert(1)", "//evil.example/", "https://evil.example/", "/\\evil", "/a b"):
        assert services.clean_url(bad) is None, bad
    assert services.clean_url("/announcements/3") == "/announcements/3"


def test_announcement_notifies_members_below_in_bulk(world, login_as, db, app):
    from lms.activities import services as activities

    sc = _socket(app, login_as(world["member"]))
    sc.get_received("/notify")
    item = activities.post(world["county_admin"], world.county_a.context, "县级公告", "内容")
    recipients = set(db.session.scalars(select(Notification.user_id)))
    for role in ("teacher", "member", "leader", "host", "school_trainer", "school_admin", "supervisor"):
        assert world[role].id in recipients, role
    for role in ("teacher_b", "member_b", "host_b", "county_admin", "outsider", "city_admin"):
        assert world[role].id not in recipients, role
    got = _events(sc, "notification")
    assert len(got) == 1 and got[0]["url"] == f"/announcements/{item.id}"
    assert got[0]["text"] == "新公告：县级公告"  # says what happened, in the site's language
    assert db.session.scalar(select(func.count(Notification.id))) == len(recipients)


def test_log_channel_hides_text(world, db, caplog):
    with caplog.at_level(logging.INFO, logger="lms.notifications.services"):
        services.notify([world["teacher"]], "test", "身份证 360102198503150011")
    assert "360102198503150011" not in caplog.text
    assert f"user {world['teacher'].id}" in caplog.text


def test_registered_channel_gets_stored_rows(world, db):
    seen = []

    class Collect(services.Channel):
        def deliver(self, notifications):
            seen.extend(n.id for n in notifications)

    services.register_channel("collect", Collect())
    try:
        items = services.notify([world["teacher"], world["member"]], "test", "x")
    finally:
        services.unregister_channel("collect")
    assert seen == [n.id for n in items] and all(seen)


def test_api_list_and_mark_read(world, login_as, db, app):
    t = world["teacher"]
    services.notify([t], "test", "一")
    services.notify([t], "test", "二")
    client = login_as(t)
    body = client.get("/api/v1/notifications").get_json()
    assert body["unread"] == 2 and body["total"] == 2 and body["items"][0]["text"] == "二"
    # Unsafe methods need a bearer token, not the cookie.
    assert client.post("/api/v1/notifications", json={"all": True}).status_code == 401
    from lms.accounts.services import issue_token

    token = issue_token(t, 1, "test")
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/api/v1/notifications", json={"ids": [body["items"][0]["id"]]}, headers=headers)
    assert r.status_code == 200 and r.get_json() == {"marked": 1, "unread": 1}
    assert client.post("/api/v1/notifications", json={"all": True}, headers=headers).get_json()["unread"] == 0
    assert client.post("/api/v1/notifications", json={}, headers=headers).status_code == 400
    assert app.test_client().get("/api/v1/notifications").status_code == 401


@pytest.mark.parametrize("lang,word", [("zh_CN", "通知"), ("en", "Notifications")])
def test_i18n(world, login_as, db, lang, word):
    client = login_as(world["teacher"])
    client.post(f"/lang/{lang}", data={"next": "/notifications"})
    html = client.get("/notifications").get_data(as_text=True)
    assert word in html


def test_large_fan_out_goes_in_chunks(world, db, monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 2)
    users = [world[r] for r in ("teacher", "member", "leader", "host", "teacher_b")]
    items = services.notify(users + users, "test", "分批")
    assert sorted(n.user_id for n in items) == sorted(u.id for u in users)
    assert db.session.scalar(select(func.count(Notification.id))) == 5


def test_a_one_time_password_opens_no_notification_socket(app, world, login_as, db):
    client = login_as(world["member"])
    world["member"].must_change_password = True
    db.session.commit()
    sc = _socket(app, client)
    assert not sc.is_connected("/notify")
