"""Briefs 简报: who composes them at which level, who reads them, images, notifications, XSS."""

import base64
import io

import pytest
from sqlalchemy import func, select

from lms.activities import briefs
from lms.activities.models import Brief, BriefImage
from lms.extensions import socketio
from lms.media.models import StoredFile
from lms.notifications.models import Notification
from tests.html_checks import live_markup

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _png(name="photo.png"):
    return (io.BytesIO(PNG), name)


def _url(world, level):
    return {
        "workshop": f"/workshops/{world.workshop_a.id}",
        "school": f"/schools/{world.school_a.id}",
        "county": f"/regions/{world.county_a.id}",
        "province": f"/regions/{world.province.id}",
        "workshop_b": f"/workshops/{world.workshop_b.id}",
        "county_b": f"/regions/{world.county_b.id}",
    }[level]


# (role, level, expected status of POST /…/briefs/new): 302 published, 403 visible but not allowed, 404 not visible.
CASES = [
    ("host", "workshop", 302),
    ("expert", "workshop", 302),
    ("member", "workshop", 403),
    ("leader", "workshop", 403),
    ("teacher", "school", 403),
    ("host", "school", 403),
    ("school_trainer", "school", 302),
    ("school_admin", "school", 302),
    ("county_admin", "county", 302),
    ("county_admin", "workshop", 302),
    ("supervisor", "county", 403),
    ("project_manager", "province", 302),
    ("project_manager", "county_b", 302),
    ("province_admin", "province", 302),
    ("host", "workshop_b", 404),
    ("county_admin", "county_b", 404),
    ("school_admin", "workshop", 404),
    ("outsider", "workshop", 404),
    ("teacher_b", "county_b", 403),  # a teacher opens their county's page but may not post there
]


@pytest.mark.parametrize(("role", "level", "status"), CASES)
def test_who_may_post_a_brief_where(world, login_as, db, role, level, status):
    client = login_as(world[role])
    base = _url(world, level)
    r = client.post(f"{base}/briefs/new", data={"title": "第一期简报", "body": "内容"})
    assert r.status_code == status, (role, level)
    assert db.session.scalar(select(func.count(Brief.id))) == (1 if status == 302 else 0)
    assert client.get(f"{base}/briefs/new").status_code == (200 if status == 302 else status)


def test_members_read_briefs_on_community_pages(world, login_as, db):
    host = login_as(world["host"])
    r = host.post(
        f"/workshops/{world.workshop_a.id}/briefs/new",
        data={"title": "坊内简报第1期", "body": "本期内容\n\n第二段", "images": [_png("课堂.png"), _png("研讨.png")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    brief = db.session.scalar(select(Brief))
    assert len(brief.images) == 2 and brief.body_html == "<p>本期内容</p><p>第二段</p>"
    member = login_as(world["member"])
    assert "坊内简报第1期" in member.get(f"/workshops/{world.workshop_a.id}").get_data(as_text=True)
    page = member.get(f"/briefs/{brief.id}").get_data(as_text=True)
    assert "坊内简报第1期" in page and page.count(f"/briefs/{brief.id}/images/") == 2
    img = member.get(f"/briefs/{brief.id}/images/{brief.images[0].id}")
    assert img.status_code == 200 and img.mimetype == "image/png" and img.data == PNG
    assert "坊内简报第1期" in member.get(f"/workshops/{world.workshop_a.id}/briefs").get_data(as_text=True)
    # Workshop B's member neither sees nor opens it, nor its images.
    b = login_as(world["member_b"])
    assert b.get(f"/briefs/{brief.id}").status_code == 404
    assert b.get(f"/briefs/{brief.id}/images/{brief.images[0].id}").status_code == 404
    assert b.get(f"/api/v1/briefs/{brief.id}").status_code == 404
    assert "坊内简报第1期" not in b.get("/me").get_data(as_text=True)
    # A county brief shows on the county page, the school page's teachers read it through the county.
    login_as(world["county_admin"]).post(f"/regions/{world.county_a.id}/briefs/new", data={"title": "县级简报"})
    teacher = login_as(world["teacher"])
    assert "县级简报" in teacher.get(f"/regions/{world.county_a.id}").get_data(as_text=True)
    assert "县级简报" in teacher.get("/me").get_data(as_text=True)  # feed
    assert "县级简报" not in login_as(world["teacher_b"]).get("/me").get_data(as_text=True)


def test_images_are_validated(world, login_as, db):
    host = login_as(world["host"])
    base = f"/workshops/{world.workshop_a.id}/briefs/new"
    r = host.post(
        base,
        data={"title": "带附件", "images": [(io.BytesIO(b"<html><script>alert(1)</script></html>"), "x.png")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and "不接受" in r.get_data(as_text=True)
    r = host.post(
        base,
        data={"title": "太多图", "images": [_png(f"{i}.png") for i in range(briefs.MAX_IMAGES + 1)]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    assert db.session.scalar(select(func.count(Brief.id))) == 0
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0


def test_edit_remove_image_and_delete(world, login_as, db):
    item = briefs.post(world["host"], world.workshop_a.context, "初稿", "正文", [_storage("a.png")])
    host = login_as(world["host"])
    assert login_as(world["expert"]).get(f"/briefs/{item.id}/edit").status_code == 403
    assert login_as(world["member"]).post(f"/briefs/{item.id}/delete").status_code == 403
    r = host.post(
        f"/briefs/{item.id}/edit", data={"title": "定稿", "body": "新正文", "remove_image": item.images[0].id}
    )
    assert r.status_code == 302
    db.session.expire_all()
    item = db.session.get(Brief, item.id)
    assert item.title == "定稿" and item.images == []
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0
    # An admin above the workshop may delete a host's brief; the host's peer workshop host may not see it.
    assert login_as(world["host_b"]).post(f"/briefs/{item.id}/delete").status_code == 404
    assert login_as(world["county_admin"]).post(f"/briefs/{item.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(Brief.id))) == 0
    assert db.session.scalar(select(func.count(BriefImage.id))) == 0


def _storage(name):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(PNG), filename=name)


def _socket(app, client):
    with app.app_context():
        return socketio.test_client(app, namespace="/notify", flask_test_client=client)


def test_brief_notifies_offline_and_live(app, world, login_as, db):
    sc = _socket(app, login_as(world["member"]))
    assert sc.is_connected("/notify")
    sc.get_received("/notify")
    item = briefs.post(world["host"], world.workshop_a.context, "研修简报第2期", "内容")
    got = [e["args"][0] for e in sc.get_received("/notify") if e["name"] == "notification"]
    assert len(got) == 1 and got[0]["kind"] == "brief" and got[0]["text"] == "新简报：研修简报第2期"
    assert got[0]["url"] == f"/briefs/{item.id}"
    sc.disconnect("/notify")
    # The leader was offline: the notification waits, stored.
    stored = db.session.scalars(select(Notification).where(Notification.user_id == world["leader"].id)).all()
    assert [n.text for n in stored] == ["新简报：研修简报第2期"] and stored[0].read_at is None
    assert "研修简报第2期" in login_as(world["leader"]).get("/notifications").get_data(as_text=True)
    recipients = set(db.session.scalars(select(Notification.user_id)))
    assert world["host"].id not in recipients  # not the author
    for role in ("member_b", "host_b", "teacher_b", "outsider"):
        assert world[role].id not in recipients, role


def test_xss_payloads_inert(world, login_as, db, xss_payloads):
    host = world["host"]
    ids = []
    for p in xss_payloads:
        b = briefs.post(host, world.workshop_a.context, p[:200], f"<p>说明</p>{p}", [_storage(p[:100] + ".png")])
        ids.append(b.id)
    for f in db.session.scalars(select(StoredFile)):
        assert "/" not in f.filename and "\\" not in f.filename
    member = login_as(world["member"])
    urls = ["/me", "/me/feed", "/notifications", f"/workshops/{world.workshop_a.id}"]
    urls += [f"/workshops/{world.workshop_a.id}/briefs?page={n}" for n in range(1, 2 + len(ids) // 20)]
    urls += [f"/briefs/{i}" for i in ids]
    for url in urls:
        r = member.get(url)
        assert r.status_code == 200, url
        assert live_markup(r.get_data(as_text=True)) == [], url
    edit = login_as(host).get(f"/briefs/{ids[0]}/edit")
    assert live_markup(edit.get_data(as_text=True)) == []
    img = db.session.get(Brief, ids[0]).images[0]
    r = member.get(f"/briefs/{ids[0]}/images/{img.id}")
    assert r.status_code == 200 and "\n" not in r.headers["Content-Disposition"]


def test_api_lists_and_posts_briefs(world, login_as, db):
    from lms.accounts import services as accounts

    hdr = {"Authorization": f"Bearer {accounts.issue_token(world['host'], 1)}"}
    client = login_as(world["member"])
    r = client.post(f"/api/v1/workshops/{world.workshop_a.id}/briefs", json={"title": "接口简报"}, headers=hdr)
    assert r.status_code == 201, r.get_json()
    body = client.get(f"/api/v1/workshops/{world.workshop_a.id}/briefs").get_json()
    assert body["total"] == 1 and body["items"][0]["title"] == "接口简报"
    assert body["items"][0]["context"]["kind"] == "workshop"
    member_hdr = {"Authorization": f"Bearer {accounts.issue_token(world['member'], 1)}"}
    r = client.post(f"/api/v1/workshops/{world.workshop_a.id}/briefs", json={"title": "x"}, headers=member_hdr)
    assert r.status_code == 403
    assert login_as(world["member_b"]).get(f"/api/v1/workshops/{world.workshop_a.id}/briefs").status_code == 404
    assert client.get(f"/api/v1/schools/{world.school_a.id}/briefs").status_code == 200


def test_removed_image_survives_a_failed_edit(world, db, app):
    """Removing an image and then failing (a refused upload) keeps the image, listed and on disk;
    the edit that succeeds removes it from the disk too."""
    from lms.core.uploads import UploadError
    from lms.media.services import path_of

    with app.test_request_context("/"):
        item = briefs.post(world["host"], world.workshop_a.context, "初稿", "正文", [_storage("a.png")])
    img_id, path = item.images[0].id, path_of(item.images[0].file)
    assert path.read_bytes() == PNG
    from werkzeug.datastructures import FileStorage

    bad = FileStorage(io.BytesIO(b"<html><script>alert(1)</script></html>"), filename="x.png")
    with pytest.raises(UploadError), app.test_request_context("/"):
        briefs.update(world["host"], item, "改稿", "正文", images=[bad], remove_ids=[img_id])
    db.session.expire_all()
    item = db.session.get(Brief, item.id)
    assert [i.id for i in item.images] == [img_id] and item.title == "初稿"
    assert path.read_bytes() == PNG
    with pytest.raises(briefs.BriefError), app.test_request_context("/"):
        briefs.update(world["host"], item, "改稿", "正文", images=[_storage(f"{i}.png") for i in range(10)],
                      remove_ids=[img_id])  # fmt: skip
    db.session.expire_all()
    assert path.read_bytes() == PNG and [i.id for i in db.session.get(Brief, item.id).images] == [img_id]
    briefs.update(world["host"], db.session.get(Brief, item.id), "改稿", "正文", remove_ids=[img_id])
    assert not path.exists()
