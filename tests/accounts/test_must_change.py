from lms.extensions import db as _db


def test_one_time_password_opens_only_the_password_page(world, login_as, db):
    user = world["teacher"]
    user.must_change_password = True
    _db.session.commit()
    client = login_as(user)
    for path in ("/me", f"/schools/{world.school_a.id}", "/account/profile"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/password"), path
    assert client.get("/account/password").status_code == 200
    r = client.post("/account/password", data={"current": "Passw0rd!", "new": "NewPassw0rd", "confirm": "NewPassw0rd"})
    assert r.status_code == 302
    assert client.get("/me").status_code == 200


def test_username_wins_over_someone_elses_phone(world, db):
    from lms.accounts.services import find_by_login

    a, b = world["teacher"], world["member"]
    b.username = a.phone  # b's username is spelled like a's phone
    _db.session.commit()
    assert find_by_login(a.phone) == b
    assert find_by_login(a.username) == a
