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


# --- revocation at once: no minute of trust after this process saw the sign-in end --------------------


def _refused_everywhere(client, urls, beat, lesson_id):
    assert client.get(seg_url(urls)).status_code == 403
    assert client.get(urls["master"]).status_code == 403
    assert beat(1000).status_code == 403
    assert client.get(f"/watch/lessons/{lesson_id}/sources").status_code in (302, 401)  # no new grant


def test_signing_out_refuses_the_old_grant_and_cookie_at_once(app, world, video, playing):
    client, urls, beat = playing
    saved = client.get_cookie("session").value
    assert beat(0).status_code == 200
    assert client.get(seg_url(urls)).status_code == 200  # the fast path now trusts this cookie...
    out = client.post("/logout")
    assert any(c.startswith("lms_watch=;") and "Path=/watch/" in c for c in out.headers.getlist("Set-Cookie"))
    client.set_cookie("session", saved)  # ...a copy saved before signing out
    _refused_everywhere(client, urls, beat, video[1].id)


def test_deactivation_refuses_the_old_grant_at_once(app, world, video, playing):
    from lms.accounts.services import set_active

    client, urls, beat = playing
    assert beat(0).status_code == 200 and client.get(seg_url(urls)).status_code == 200
    set_active(world["county_admin"], world["teacher"], False)
    _refused_everywhere(client, urls, beat, video[1].id)


def test_a_password_reset_refuses_the_old_grant_at_once(app, world, video, playing):
    from lms.accounts.services import admin_reset_password

    client, urls, beat = playing
    assert beat(0).status_code == 200 and client.get(seg_url(urls)).status_code == 200
    admin_reset_password(world["county_admin"], world["teacher"])
    _refused_everywhere(client, urls, beat, video[1].id)


def test_signing_out_other_devices_refuses_their_grants_at_once(app, world, video, playing, login_as):
    """The cookies copied to another machine: "sign out other devices" from a new sign-in ends them."""
    from lms.accounts.services import end_other_sign_ins

    client, urls, beat = playing
    assert client.get(seg_url(urls)).status_code == 200
    mine = login_as(world["teacher"])  # the owner, signed in on their own computer
    with mine.session_transaction() as sess:
        keep = sess["_sign_in"]
    assert end_other_sign_ins(world["teacher"], keep) >= 1
    _refused_everywhere(client, urls, beat, video[1].id)
    # The owner's own sign-in still streams, with its own grant (another lms_watch cookie).
    own, _viewing = urls_for(app, mine, world["teacher"], video[1])
    assert own["grant"] != urls["grant"] and mine.get(seg_url(own)).status_code == 200
    assert mine.get(seg_url(urls)).status_code == 403  # the other sign-in's grant is not this one's


def test_a_rolled_back_change_revokes_nothing(app, world, playing):
    """Only committed changes revoke: a refused deactivation leaves the viewers' cached answers."""
    client, urls, beat = playing
    for _ in range(2):  # the Flask view, then the fast path (which verified the cookie)
        assert client.get(seg_url(urls)).status_code == 200
    world["teacher"].active = False
    db.session.rollback()
    with counting() as statements:
        assert client.get(seg_url(urls)).status_code == 200
    assert not [s for s in statements if "FROM users" in s]
