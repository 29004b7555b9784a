"""Replies carry images and files like posts: type sniffed, size capped, shown under the reply."""

import io
import os

from sqlalchemy import func, select

from lms.activities.models import Post, PostAttachment
from lms.extensions import db
from lms.media.models import StoredFile
from tests.activities.conftest import LONG
from tests.activities.test_isolation_xss import PNG


def _files_on_disk(app):
    root = app.config["MEDIA_ROOT"]
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)


def _thread(world, login_as, make_activity):
    from lms.activities import workshop_services as svc

    activity = make_activity()
    return activity, svc.create_post(world["member"], activity, LONG)


def test_reply_with_an_image_and_a_file_shows_them(world, login_as, make_activity):
    activity, post = _thread(world, login_as, make_activity)
    leader = login_as(world["leader"])
    page = leader.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f'id="reply-files-{post.id}"' in page and 'enctype="multipart/form-data" class="reply-form"' in page
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    files = [(io.BytesIO(PNG), "板书.png"), (io.BytesIO(pdf), "教案.pdf")]
    r = leader.post(f"/posts/{post.id}/reply", content_type="multipart/form-data",
                    data={"body": "附上板书和教案", "files": files})  # fmt: skip
    assert r.status_code == 302
    reply = db.session.scalar(select(Post).where(Post.parent_id == post.id))
    assert sorted(a.file.filename for a in reply.attachments) == sorted(["板书.png", "教案.pdf"])
    page = login_as(world["member"]).get(f"/activities/{activity.id}").get_data(as_text=True)
    li = page[page.index(f'id="post-{reply.id}"') :]
    li = li[: li.index("</li>")]
    img, doc = sorted(reply.attachments, key=lambda a: not a.file.is_image)
    assert f'<img src="/activities/files/{img.file.id}"' in li
    assert f"/activities/files/{doc.file.id}?download=1" in li and "教案.pdf" in li
    assert login_as(world["member"]).get(f"/activities/files/{img.file.id}").status_code == 200
    # An image alone is a reply too.
    r = leader.post(f"/posts/{post.id}/reply", content_type="multipart/form-data",
                    data={"body": "", "files": [(io.BytesIO(PNG), "只有图.png")]})  # fmt: skip
    assert r.status_code == 302
    assert db.session.scalar(select(func.count(Post.id)).where(Post.parent_id == post.id)) == 2


def test_a_bad_reply_file_is_refused_and_nothing_is_stored(app, world, login_as, make_activity):
    activity, post = _thread(world, login_as, make_activity)
    before = _files_on_disk(app)
    leader = login_as(world["leader"])
    fake = b"<html><script>alert(1)</script></html>"
    files = [(io.BytesIO(PNG), "好图.png"), (io.BytesIO(fake), "x.png")]
    r = leader.post(f"/posts/{post.id}/reply", content_type="multipart/form-data",
                    data={"body": "看看这个", "files": files})  # fmt: skip
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "不接受" in html and "请重新选择文件" in html
    assert 'id="reply-draft"' in html and "看看这个" in html
    assert db.session.scalar(select(func.count(Post.id)).where(Post.parent_id == post.id)) == 0
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0
    assert db.session.scalar(select(func.count(PostAttachment.post_id))) == 0
    assert _files_on_disk(app) == before
    # Too large: capped like a post's files.
    app.config["UPLOAD_MAX_BYTES"] = 1000
    try:
        r = leader.post(f"/posts/{post.id}/reply", content_type="multipart/form-data",
                        data={"body": "大文件", "files": [(io.BytesIO(PNG + b"\0" * 2000), "大.png")]})  # fmt: skip
    finally:
        app.config["UPLOAD_MAX_BYTES"] = 50 * 1024 * 1024
    assert r.status_code == 422
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0
    assert _files_on_disk(app) == before
    # More than five files.
    r = leader.post(f"/posts/{post.id}/reply", content_type="multipart/form-data",
                    data={"body": "多图", "files": [(io.BytesIO(PNG), f"{i}.png") for i in range(6)]})  # fmt: skip
    assert r.status_code == 422
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0
    assert _files_on_disk(app) == before
