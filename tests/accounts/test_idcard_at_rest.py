"""ID-card numbers are encrypted in the database (AES-SIV, lms.core.idcard) and plain in Python."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import User
from lms.core import idcard
from lms.extensions import db as _db
from tests.accounts.test_roster import person, post, school_url, xlsx
from tests.factories import id_number, make_user


def stored(db, username: str) -> str | None:
    """The column as the database holds it, past the ORM."""
    return db.session.execute(text("SELECT id_card FROM users WHERE username = :u"), {"u": username}).scalar()


def test_the_database_holds_no_number(world, db):
    number = world["teacher"].id_card
    raw = stored(db, "teacher_a")
    assert raw.startswith("v1:") and number not in raw and number[-4:] not in raw
    # The whole users table, as a dump or a backup would show it: no number of anyone.
    dump = " ".join(str(v) for row in db.session.execute(text("SELECT * FROM users")) for v in row)
    for user in world.users.values():
        if user.id_card:
            assert user.id_card not in dump
    # Python sees the number; lookups by number work on the sealed column.
    db.session.expire_all()
    assert db.session.get(User, world["teacher"].id).id_card == number
    assert db.session.scalar(select(User.username).where(User.id_card == number)) == "teacher_a"
    found = db.session.scalars(select(User.username).where(User.id_card.in_([number, id_number(999)])))
    assert list(found) == ["teacher_a"]


def test_the_same_number_twice_is_still_refused(world, db):
    with pytest.raises(IntegrityError):
        make_user("twin", "双胞胎", world.school_a, id_card=world["teacher"].id_card)
    db.session.rollback()


def test_a_roster_import_stores_sealed_numbers(world, login_as, db):
    rows = [person(1), person(2, gender="女")]
    assert post(login_as(world["school_admin"]), school_url(world.school_a), xlsx(rows)).status_code == 200
    raw = [v for (v,) in db.session.execute(text("SELECT id_card FROM users WHERE id_card IS NOT NULL"))]
    assert all(v.startswith("v1:") for v in raw)
    assert not {r[3] for r in rows} & set(raw)
    db.session.expire_all()
    assert {u.id_card for u in db.session.scalars(select(User).where(User.id_card.in_([r[3] for r in rows])))} == {
        r[3] for r in rows
    }


def test_another_key_cannot_open_them_and_says_so(world, db, app):
    raw = stored(db, "teacher_a")
    other = idcard.key_from_config({"IDCARD_KEY": "ab" * 64, "SECRET_KEY": "x"})
    with pytest.raises(idcard.IdCardKeyError):
        idcard.unseal(raw, other)
    assert idcard.unseal(raw, idcard.key_from_config(app.config)) == world["teacher"].id_card


@pytest.mark.parametrize(
    ("value", "message"),
    [("not hex", "hexadecimal"), ("ab" * 20, "32, 48 or 64 bytes")],
)
def test_a_bad_key_setting_is_explained(value, message):
    with pytest.raises(idcard.IdCardKeyError, match=message):
        idcard.key_from_config({"IDCARD_KEY": value, "SECRET_KEY": "x"})


def test_sealing_is_deterministic_and_keyed():
    number = id_number(7)
    k1 = idcard.key_from_config({"IDCARD_KEY": "", "SECRET_KEY": "one"})
    k2 = idcard.key_from_config({"IDCARD_KEY": "", "SECRET_KEY": "two"})
    assert idcard.seal(number, k1) == idcard.seal(number, k1) != idcard.seal(number, k2)
    assert idcard.seal(idcard.seal(number, k1), k1) == idcard.seal(number, k1)  # never sealed twice
    assert idcard.unseal(idcard.seal(number, k2), k2) == number
    assert len(idcard.seal(number, k1)) <= _db.metadata.tables["users"].c.id_card.type.impl.length


def test_the_key_in_effect_can_be_pinned(app, world, db):
    """`flask lms idcard-key` prints the derived key; set as IDCARD_KEY it opens the same numbers."""
    printed = app.test_cli_runner().invoke(args=["lms", "idcard-key"]).output.strip()
    assert len(printed) == 128
    pinned = idcard.key_from_config({"IDCARD_KEY": printed, "SECRET_KEY": "a new secret"})
    assert idcard.unseal(stored(db, "teacher_a"), pinned) == world["teacher"].id_card


def test_a_malformed_key_stops_the_start(tmp_path):
    from lms import create_app
    from tests.conftest import test_config

    with pytest.raises(idcard.IdCardKeyError, match="hexadecimal"):
        create_app({**test_config(tmp_path), "IDCARD_KEY": "not-a-key"})


def test_after_a_key_change_pages_work_and_the_import_refuses(world, login_as, db, app, caplog):
    """Signing in loads the user row: a key change must not lock everyone out. The roster import,
    whose lookups by number would find nobody, refuses instead of creating everyone again."""
    before = db.session.scalar(select(_count_users()))
    number = world["teacher"].id_card
    app.config["IDCARD_KEY"] = "cd" * 64
    try:
        db.session.expire_all()
        client = login_as(world["teacher"])
        page = client.get("/account/profile")
        assert page.status_code == 200
        assert "cannot be decrypted" in caplog.text and number not in caplog.text and number not in page.text
        resp = post(login_as(world["school_admin"]), school_url(world.school_a), xlsx([person(1)]))
        assert resp.status_code == 422 and "LMS_IDCARD_KEY" in resp.get_data(as_text=True)
        assert db.session.scalar(select(_count_users())) == before
    finally:
        app.config["IDCARD_KEY"] = ""
        db.session.expire_all()


def _count_users():
    from sqlalchemy import func

    return func.count(User.id)


def _all_stored(db) -> dict[str, str]:
    rows = db.session.execute(text("SELECT username, id_card FROM users WHERE id_card IS NOT NULL"))
    return dict(rows.all())


def test_numbers_move_to_a_new_key(app, world, db):
    """`flask lms idcard-rekey` re-encrypts every number from the previous key to the key in effect;
    a second run changes nothing, and after it the new key opens every number."""
    numbers = {u.username: u.id_card for u in world.users.values() if u.id_card}
    old_hex = app.test_cli_runner().invoke(args=["lms", "idcard-key"]).output.strip()
    before = _all_stored(db)
    app.config["IDCARD_KEY"] = "cd" * 64
    try:
        result = app.test_cli_runner().invoke(args=["lms", "idcard-rekey"], env={"LMS_OLD_IDCARD_KEY": old_hex})
        assert result.exit_code == 0, result.output
        assert f"re-encrypted {len(numbers)} ID-card numbers; 0 were already" in result.output
        after = _all_stored(db)
        new_key = idcard.key_from_config(app.config)
        assert {u: idcard.unseal(v, new_key) for u, v in after.items()} == numbers
        assert not set(after.values()) & set(before.values())
        again = app.test_cli_runner().invoke(args=["lms", "idcard-rekey", "--old-key", old_hex])
        assert f"re-encrypted 0 ID-card numbers; {len(numbers)} were already" in again.output
        assert _all_stored(db) == after
        db.session.expire_all()
        assert db.session.get(User, world["teacher"].id).id_card == numbers["teacher_a"]
    finally:
        app.config["IDCARD_KEY"] = ""
        db.session.expire_all()


def test_a_previous_secret_key_works_too(app, world, db):
    """Installations on the derived key: the previous LMS_SECRET_KEY names the previous key."""
    old_secret = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a brand new secret key"
    try:
        result = app.test_cli_runner().invoke(args=["lms", "idcard-rekey"], env={"LMS_OLD_SECRET_KEY": old_secret})
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        assert db.session.get(User, world["teacher"].id).id_card == world["teacher"].id_card
    finally:
        app.config["SECRET_KEY"] = old_secret
        db.session.expire_all()


def test_a_wrong_old_key_changes_nothing(app, world, db):
    before = _all_stored(db)
    app.config["IDCARD_KEY"] = "cd" * 64
    try:
        wrong = app.test_cli_runner().invoke(args=["lms", "idcard-rekey", "--old-key", "ef" * 64])
        assert wrong.exit_code != 0 and "open with neither key: nothing was changed" in wrong.output
        same = app.test_cli_runner().invoke(args=["lms", "idcard-rekey", "--old-key", "cd" * 64])
        assert same.exit_code != 0 and "is the key in effect" in same.output
        bad = app.test_cli_runner().invoke(args=["lms", "idcard-rekey", "--old-key", "zz"])
        assert bad.exit_code != 0 and "hexadecimal" in bad.output
        assert _all_stored(db) == before
        for number in (u.id_card for u in world.users.values() if u.id_card):
            assert number not in wrong.output
    finally:
        app.config["IDCARD_KEY"] = ""
        db.session.expire_all()
