"""A user sees their unfinished video uploads beside the uploader and can cancel them (their own
only), and the cap's refusal tells them where."""

import os
import time

import pytest

from lms.courses import services
from lms.media import storage
from tests.courses.conftest import make_course


def _begin(c, lesson, size, name="clip.mp4"):
    return c.post(f"/courses/lessons/{lesson.id}/video/uploads", json={"filename": name, "size": size})


def _put(c, url, data, start, total):
    end = start + len(data) - 1
    return c.put(url, data=data, headers={"Content-Range": f"bytes {start}-{end}/{total}"})


def _chunk_files(app):
    return sorted(n for n in os.listdir(storage.tmp_dir(app.config)) if n.startswith("chunk-"))


@pytest.fixture
def lessons(world):
    course = make_course(world.province.context, "视频课程")
    yield [services.add_lesson(world["province_admin"], course, f"第{i}讲", "video") for i in range(3)]


@pytest.fixture
def clean_chunks(app):
    yield
    for name in _chunk_files(app):
        (storage.tmp_dir(app.config) / name).unlink(missing_ok=True)


def test_the_lesson_page_lists_the_users_unfinished_uploads(world, login_as, lessons, app, clean_chunks):
    c = login_as(world["province_admin"])
    page = c.get(f"/courses/lessons/{lessons[0].id}/edit").get_data(as_text=True)
    assert "open-uploads" not in page.split('data-role="open-uploads-box"')[1].split("</div>")[0]
    url = _begin(c, lessons[0], 3 * 1048576, "第一讲 录像.mp4").json["url"]
    # A real MP4 head (the first chunk is sniffed), then padding: 1 MB of 3 received.
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * (1048576 - 24)
    assert _put(c, url, head, 0, 3 * 1048576).status_code == 200
    _begin(c, lessons[1], 2 * 1048576, "第二讲.mov")
    # Someone else's upload is not theirs to see.
    _begin(login_as(world["site_admin"]), lessons[2], 1000, "别人的.mp4")
    page = c.get(f"/courses/lessons/{lessons[0].id}/edit").get_data(as_text=True)
    box = page.split('id="open-uploads"')[1]
    assert "第一讲 录像.mp4" in box and "第二讲.mov" in box and "别人的.mp4" not in box
    assert "已收到 1.0 / 3.0 MB" in box
    assert "本课时" in box  # the upload for the page's own lesson
    assert f'href="/courses/lessons/{lessons[1].id}/edit#video"' in box  # the other one: a link to resume there
    assert box.count('class="confirm-form') == 2
    assert "2 / 3" in box  # of the cap (3 by default) in use


def test_cancel_removes_the_partial_file_and_returns_to_the_page(world, login_as, lessons, app, clean_chunks):
    c = login_as(world["province_admin"])
    url = _begin(c, lessons[0], 1000).json["url"]
    keep = _begin(c, lessons[1], 1000).json["url"]
    upload_id = url.rsplit("/", 1)[1]
    r = c.post(f"/courses/lessons/{lessons[1].id}/video/uploads/{upload_id}/cancel")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/courses/lessons/{lessons[1].id}/edit#video")
    page = c.get(f"/courses/lessons/{lessons[1].id}/edit").get_data(as_text=True)
    assert "上传已取消" in page
    assert c.get(url).status_code == 404
    keep_id = keep.rsplit("/", 1)[1]
    assert _chunk_files(app) == [f"chunk-{keep_id}.json", f"chunk-{keep_id}.part"]
    # Twice: it is gone.
    assert c.post(f"/courses/lessons/{lessons[1].id}/video/uploads/{upload_id}/cancel").status_code == 404


def test_another_users_upload_cannot_be_cancelled(world, login_as, lessons, app, clean_chunks):
    theirs = _begin(login_as(world["site_admin"]), lessons[0], 1000).json["url"]
    upload_id = theirs.rsplit("/", 1)[1]
    c = login_as(world["province_admin"])
    assert c.post(f"/courses/lessons/{lessons[0].id}/video/uploads/{upload_id}/cancel").status_code == 404
    assert c.post(f"/courses/lessons/{lessons[0].id}/video/uploads/{'0' * 32}/cancel").status_code == 404
    assert c.post(f"/courses/lessons/{lessons[0].id}/video/uploads/..%2F..%2Fx/cancel").status_code == 404
    assert login_as(world["site_admin"]).get(theirs).status_code == 200  # still there
    # A teacher who may not edit the lesson gets nothing either (its page is not theirs).
    teacher = login_as(world["teacher"])
    assert teacher.post(f"/courses/lessons/{lessons[0].id}/video/uploads/{upload_id}/cancel").status_code in (403, 404)
    assert login_as(world["site_admin"]).get(theirs).status_code == 200


def test_cancel_needs_the_csrf_token(world, login_as, lessons, app, clean_chunks):
    url = _begin(login_as(world["province_admin"]), lessons[0], 1000).json["url"]
    upload_id = url.rsplit("/", 1)[1]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = login_as(world["province_admin"]).post(f"/courses/lessons/{lessons[0].id}/video/uploads/{upload_id}/cancel")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert r.status_code == 400
    assert login_as(world["province_admin"]).get(url).status_code == 200


def test_the_cap_says_where_to_cancel_and_idle_uploads_are_marked(world, login_as, lessons, app, monkeypatch,
                                                                   clean_chunks):  # fmt: skip
    monkeypatch.setitem(app.config, "VIDEO_UPLOAD_MAX_OPEN_PER_USER", 1)
    c = login_as(world["province_admin"])
    first = _begin(c, lessons[0], 1000).json["url"]
    r = _begin(c, lessons[1], 1000)
    assert r.status_code == 429 and r.json["error"] == "busy:1"
    assert "已有 1 个视频正在上传" in r.json["message"] and "未完成的上传" in r.json["message"]
    # An hour without a byte: it no longer counts, and the list says so.
    part = storage.tmp_dir(app.config) / f"chunk-{first.rsplit('/', 1)[1]}.part"
    old = time.time() - 2 * 3600
    os.utime(part, (old, old))
    page = c.get(f"/courses/lessons/{lessons[1].id}/edit").get_data(as_text=True)
    box = page.split('id="open-uploads"')[1]
    assert "闲置，不计入" in box and "0 / 1" in box
    assert _begin(c, lessons[1], 1000).status_code == 200
