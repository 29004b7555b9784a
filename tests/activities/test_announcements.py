from sqlalchemy import func, select

from lms.activities.models import Announcement
from tests.html_checks import live_markup


def _count(db):
    return db.session.scalar(select(func.count(Announcement.id)))


def test_county_admin_posts_and_teachers_below_see_it(world, login_as, db):
    admin = login_as(world["county_admin"])
    r = admin.post(
        f"/regions/{world.county_a.id}/announcements/new", data={"title": "暑期研修安排", "body": "第一段\n\n第二段"}
    )
    assert r.status_code == 302
    teacher_a = login_as(world["teacher"])
    assert "暑期研修安排" in teacher_a.get("/me").get_data(as_text=True)
    assert "暑期研修安排" in teacher_a.get(f"/schools/{world.school_a.id}").get_data(as_text=True)
    item = db.session.scalar(select(Announcement))
    assert item.body_html == "<p>第一段</p><p>第二段</p>"
    assert teacher_a.get(f"/announcements/{item.id}").status_code == 200
    # The next county neither sees it in lists nor can open it.
    teacher_b = login_as(world["teacher_b"])
    assert "暑期研修安排" not in teacher_b.get("/me").get_data(as_text=True)
    assert teacher_b.get(f"/announcements/{item.id}").status_code == 404


def test_who_may_post(world, login_as, db):
    cases = [
        ("teacher", f"/schools/{world.school_a.id}", 403),
        ("member", f"/workshops/{world.workshop_a.id}", 403),
        ("host", f"/workshops/{world.workshop_a.id}", 302),
        ("host", f"/workshops/{world.workshop_b.id}", 404),
        ("school_admin", f"/schools/{world.school_a.id}", 302),
        ("school_admin", f"/schools/{world.school_b.id}", 404),
        ("county_admin_b", f"/regions/{world.county_a.id}", 404),
        ("supervisor", f"/regions/{world.county_a.id}", 403),
    ]
    for role, base, expected in cases:
        client = login_as(world[role])
        r = client.post(f"{base}/announcements/new", data={"title": "通知", "body": "内容"})
        assert r.status_code == expected, (role, base, r.status_code)
    assert _count(db) == 2


def test_empty_title_is_refused_and_nothing_stored(world, login_as, db):
    client = login_as(world["school_admin"])
    r = client.post(f"/schools/{world.school_a.id}/announcements/new", data={"title": "  ", "body": "x"})
    assert r.status_code == 200
    assert _count(db) == 0


def test_xss_payloads_come_back_inert(world, login_as, db, xss_payloads):
    client = login_as(world["host"])
    for payload in xss_payloads:
        r = client.post(f"/workshops/{world.workshop_a.id}/announcements/new",
                        data={"title": payload[:200], "body": payload})  # fmt: skip
        assert r.status_code in (302, 200)
    member = login_as(world["member"])
    for item in db.session.scalars(select(Announcement)):
        html = member.get(f"/announcements/{item.id}").get_data(as_text=True)
        assert live_markup(html) == [], item.title
    assert live_markup(member.get(f"/workshops/{world.workshop_a.id}").get_data(as_text=True)) == []
    assert live_markup(member.get("/me").get_data(as_text=True)) == []


def test_delete_by_author_only(world, login_as, db):
    host = login_as(world["host"])
    host.post(f"/workshops/{world.workshop_a.id}/announcements/new", data={"title": "坊内通知", "body": ""})
    item = db.session.scalar(select(Announcement))
    assert login_as(world["member"]).post(f"/announcements/{item.id}/delete").status_code == 403
    assert host.post(f"/announcements/{item.id}/delete").status_code == 302
    assert _count(db) == 0


def test_edit_by_its_author(world, login_as, db):
    admin = login_as(world["county_admin"])
    admin.post(f"/regions/{world.county_a.id}/announcements/new", data={"title": "暑期安排", "body": "初稿"})
    item = db.session.scalar(select(Announcement))
    page = admin.get(f"/announcements/{item.id}").get_data(as_text=True)
    assert f'href="/announcements/{item.id}/edit"' in page
    form = admin.get(f"/announcements/{item.id}/edit")
    assert form.status_code == 200
    assert "暑期安排" in form.get_data(as_text=True) and "初稿" in form.get_data(as_text=True)
    r = admin.post(f"/announcements/{item.id}/edit", data={"title": "暑期安排（更正）", "body": "第一段\n\n第二段"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/announcements/{item.id}")
    db.session.expire_all()
    item = db.session.get(Announcement, item.id)
    assert item.title == "暑期安排（更正）" and item.body_html == "<p>第一段</p><p>第二段</p>"
    # The news feed shows the new title; readers are not notified a second time.
    teacher = login_as(world["teacher"])
    assert "暑期安排（更正）" in teacher.get("/me").get_data(as_text=True)
    from lms.notifications.models import Notification

    told = db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == world["teacher"].id))
    assert told == 1
    # Only its author: the page names them. A role above (city) may post there, and withdraw it,
    # but not put words under the county admin's name; readers and other counties may not either.
    city = login_as(world["city_admin"])
    assert city.get(f"/announcements/{item.id}/edit").status_code == 403
    assert f"/announcements/{item.id}/edit" not in city.get(f"/announcements/{item.id}").get_data(as_text=True)
    assert teacher.get(f"/announcements/{item.id}/edit").status_code == 403
    assert f"/announcements/{item.id}/edit" not in teacher.get(f"/announcements/{item.id}").get_data(as_text=True)
    assert teacher.post(f"/announcements/{item.id}/edit", data={"title": "篡改", "body": ""}).status_code == 403
    assert login_as(world["supervisor"]).get(f"/announcements/{item.id}/edit").status_code == 403
    assert login_as(world["county_admin_b"]).get(f"/announcements/{item.id}/edit").status_code == 404
    db.session.expire_all()
    assert db.session.get(Announcement, item.id).title == "暑期安排（更正）"


def test_edit_refuses_bad_input_and_sanitizes(world, login_as, db, xss_payloads):
    host = login_as(world["host"])
    host.post(f"/workshops/{world.workshop_a.id}/announcements/new", data={"title": "坊内通知", "body": "内容"})
    item = db.session.scalar(select(Announcement))
    r = host.post(f"/announcements/{item.id}/edit", data={"title": "  ", "body": "x"})
    assert r.status_code == 200 and "is-invalid" in r.get_data(as_text=True)
    r = host.post(f"/announcements/{item.id}/edit", data={"title": "长文", "body": "字" * 20001})
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Announcement, item.id).title == "坊内通知"
    member = login_as(world["member"])
    for payload in xss_payloads:
        r = host.post(f"/announcements/{item.id}/edit", data={"title": payload[:200], "body": payload})
        assert r.status_code in (302, 200)
        html = member.get(f"/announcements/{item.id}").get_data(as_text=True)
        assert live_markup(html) == [], payload
    assert live_markup(member.get("/me").get_data(as_text=True)) == []
