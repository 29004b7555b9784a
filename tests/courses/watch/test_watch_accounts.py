"""A deactivated account (or a session from before a password change) stops earning watch time and
streaming, though the heartbeat and media paths read only the signed cookie: they ask the database
about the account once a minute per cookie, not once per request."""

import pytest

from lms.courses import watch
from lms.courses.watch_models import LessonProgress
from lms.extensions import db
from tests.courses.watch.test_watch_http import seg_url, urls_for
from tests.sql_counting import counting

T0 = 1_800_000_000.0


@pytest.fixture
def playing(app, world, video, login_as, rendition, monkeypatch):
    """(client, urls, beat(position) -> response) for the teacher's viewing of the video lesson, with
    the server clock moving 15 s per beat."""
    _course, lesson = video
    client = login_as(world["teacher"])
    urls, viewing = urls_for(app, client, world["teacher"], lesson)
    now = [T0]
    monkeypatch.setattr(watch, "clock", lambda: now[0])
    view = app.view_functions["watch.heartbeat"]
    by_view = []
    monkeypatch.setitem(app.view_functions, "watch.heartbeat", lambda: by_view.append(1) or view())

    def beat(p):
        r = client.post("/watch/heartbeat", json={"v": viewing, "p": p, "playing": True, "visible": True})
        now[0] += 15
        return r

    beat.by_view = by_view
    return client, urls, beat


def _credited(user) -> float:
    db.session.expire_all()
    return db.session.scalar(db.select(LessonProgress.seconds).where(LessonProgress.user_id == user.id)) or 0.0


def _minute_passes(app):
    """What VERIFIED_SECONDS / ACCOUNT_CHECK_SECONDS of waiting does to this process's caches."""
    watch.forget_accounts()
    app.extensions["watch_fast"].forget()


def test_a_deactivated_account_earns_and_streams_nothing_more(app, world, video, playing):
    client, urls, beat = playing
    teacher = world["teacher"]
    assert beat(0).status_code == 200 and beat(15).json["credited"] == 15
    assert client.get(seg_url(urls)).status_code == 200
    teacher.active = False
    db.session.commit()
    _minute_passes(app)
    r = beat(30)
    assert r.status_code == 403 and r.json["error"] == "invalid_viewing"  # the player says "reload"
    assert beat(45).status_code == 403
    assert _credited(teacher) == 15
    assert client.get(seg_url(urls)).status_code == 403
    assert client.get(urls["master"]).status_code == 403
    # The lesson page no longer opens either (Flask-Login's user loader), so no new viewing starts.
    assert client.get(f"/courses/lessons/{video[1].id}").status_code == 302
    teacher.active = True
    db.session.commit()
    _minute_passes(app)
    assert beat(60).status_code == 200  # back: the interval since the refused beats earns nothing
    assert client.get(seg_url(urls)).status_code == 200


def test_a_cookie_replayed_after_signing_out_streams_and_earns_nothing(app, world, video, playing):
    """Signing out deletes the session's sign-in row: a copy of the cookie saved before still carries
    a valid user key, but the media and heartbeat paths refuse it (after their minute of trust)."""
    client, urls, beat = playing
    saved = client.get_cookie("session").value
    assert beat(0).status_code == 200 and beat(15).json["credited"] == 15
    client.post("/logout")
    _minute_passes(app)
    client.set_cookie("session", saved)
    assert client.get(seg_url(urls)).status_code == 403
    assert client.get(urls["master"]).status_code == 403
    assert beat(30).status_code == 403
    assert _credited(world["teacher"]) == 15


def test_the_cached_answers_expire(app, world, playing, monkeypatch):
    """No forgetting by hand: with the trust windows at zero, deactivation takes effect at once."""
    from lms.courses import watch_fast

    client, _urls, beat = playing
    monkeypatch.setattr(watch, "ACCOUNT_CHECK_SECONDS", 0)
    monkeypatch.setattr(watch_fast, "VERIFIED_SECONDS", 0)
    assert beat(0).status_code == 200 and beat(15).json["credited"] == 15
    world["teacher"].active = False
    db.session.commit()
    assert beat(30).status_code == 403
    assert _credited(world["teacher"]) == 15


def test_a_password_change_ends_the_old_sessions_earning(app, world, playing):
    from lms.accounts.services import set_password

    _client, _urls, beat = playing
    assert beat(0).status_code == 200 and beat(15).json["credited"] == 15
    set_password(world["teacher"], "Another-Pass-2026!")
    _minute_passes(app)
    assert beat(30).status_code == 403
    assert _credited(world["teacher"]) == 15


def test_heartbeats_ask_about_the_account_once_a_minute_not_per_beat(app, world, playing):
    _client, _urls, beat = playing
    with counting() as statements:
        for i in range(6):
            assert beat(15 * i).status_code == 200
    assert len([s for s in statements if "FROM users" in s]) == 1
    assert beat.by_view == []  # the fast path answered them all
