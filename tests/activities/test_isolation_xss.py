"""Cross-workshop isolation and XSS payloads through titles, bodies and file names."""

import io

import pytest
from sqlalchemy import func, select

from lms.activities import workshop_services as svc
from lms.activities.models import Post
from lms.extensions import db
from tests.activities.conftest import LONG
from tests.html_checks import live_markup

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_member_of_b_cannot_read_or_post_in_a(world, login_as, make_activity):
    activity = make_activity()
    post = svc.create_post(world["member"], activity, LONG)
    other = login_as(world["member_b"])
    for url in (f"/activities/{activity.id}", f"/workshops/{world.workshop_a.id}/activities",
                f"/api/v1/activities/{activity.id}/posts", f"/api/v1/workshops/{world.workshop_a.id}/activities",
                f"/api/v1/activities/{activity.id}"):  # fmt: skip
        r = other.get(url)
        assert r.status_code == 404, url
        assert "课堂" not in r.get_data(as_text=True)
    for url, data in ((f"/activities/{activity.id}/posts", {"body": LONG}), (f"/posts/{post.id}/reply", {"body": "x"}),
                      (f"/posts/{post.id}/like", {}), (f"/posts/{post.id}/moderate", {"action": "hide"}),
                      (f"/posts/{post.id}/delete", {})):  # fmt: skip
        assert other.post(url, data=data).status_code == 404, url
    assert db.session.scalar(select(func.count(Post.id))) == 1
    with pytest.raises(PermissionError):
        svc.create_post(world["member_b"], activity, LONG)


@pytest.mark.parametrize("role", ["expert", "county_admin", "supervisor", "city_admin", "site_admin"])
def test_above_may_read(world, login_as, make_activity, role):
    activity = make_activity()
    svc.create_post(world["member"], activity, LONG)
    r = login_as(world[role]).get(f"/activities/{activity.id}")
    assert r.status_code == 200 and "平板推送练习" in r.get_data(as_text=True)


@pytest.mark.parametrize("role", ["teacher", "supervisor", "county_admin"])
def test_readers_who_are_not_members_cannot_post(world, login_as, make_activity, role):
    activity = make_activity()
    r = login_as(world[role]).post(f"/activities/{activity.id}/posts", data={"body": LONG})
    assert r.status_code in (403, 404)
    assert db.session.scalar(select(func.count(Post.id))) == 0


def test_xss_payloads_come_back_inert(world, login_as, make_activity, xss_payloads):
    assert len(xss_payloads) > 100
    activity = make_activity()
    host, member = login_as(world["host"]), login_as(world["member"])
    for i, payload in enumerate(xss_payloads):
        data = {"body": payload + " 正文内容正文内容", "files": (io.BytesIO(PNG), payload[:100] + ".png")}
        r = member.post(f"/activities/{activity.id}/posts", data=data, content_type="multipart/form-data")
        assert r.status_code == 302, (i, payload)
    # Titles too.
    for payload in xss_payloads:
        svc.create_activity(world["host"], world.workshop_a, kind="discussion", title=payload[:200] or "x",
                            description=payload, opens_at=activity.opens_at, closes_at=activity.closes_at)  # fmt: skip
    pages = [f"/activities/{activity.id}?page={n}" for n in range(1, len(xss_payloads) // 20 + 2)]
    pages += [f"/workshops/{world.workshop_a.id}/activities", f"/workshops/{world.workshop_a.id}"]
    for url in pages:
        html = host.get(url).get_data(as_text=True)
        assert live_markup(html) == [], (url, live_markup(html)[:3])
    for post in db.session.scalars(select(Post)):
        assert live_markup(post.body_html) == []
    # The JSON API hands out the sanitized HTML only.
    items = member.get(f"/api/v1/activities/{activity.id}/posts?per_page=100").get_json()["items"]
    for item in items:
        assert live_markup(item["body_html"]) == []
        for a in item["attachments"]:
            assert "/" not in a["filename"] and "\\" not in a["filename"]


def test_attachment_served_to_members_only(world, login_as, make_activity):
    activity = make_activity()
    r = login_as(world["member"]).post(f"/activities/{activity.id}/posts",
                                       data={"body": LONG, "files": (io.BytesIO(PNG), "板书.png")},
                                       content_type="multipart/form-data")  # fmt: skip
    assert r.status_code == 302
    post = db.session.scalar(select(Post))
    fid = post.attachments[0].stored_file_id
    ok = login_as(world["leader"]).get(f"/activities/files/{fid}")
    assert ok.status_code == 200 and ok.mimetype == "image/png"
    assert login_as(world["member_b"]).get(f"/activities/files/{fid}").status_code == 404
    # A disguised file is refused (type sniffed from the bytes).
    r = login_as(world["member"]).post(f"/activities/{activity.id}/posts",
                                       data={"body": LONG + "二", "files": (io.BytesIO(b"MZ\x90\x00" * 100), "a.png")},
                                       content_type="multipart/form-data", follow_redirects=True)  # fmt: skip
    assert "不接受" in r.get_data(as_text=True) or "not accepted" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Post.id))) == 1
