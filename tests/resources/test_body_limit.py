"""Request bodies over the cap are refused (413, a Chinese sentence) from their Content-Length,
before Werkzeug reads or spools a byte: the global MAX_CONTENT_LENGTH, and the resource upload's
own larger cap (lms.core.uploads.body_limit)."""

import io

import pytest
from sqlalchemy import func, select

from lms.config import Config
from lms.extensions import db
from lms.media.models import StoredFile
from tests.resources.conftest import PDF, upload_file

KB = 1024


class Untouchable(io.RawIOBase):
    """A 10 GB request body that must not be read: the server has to refuse it from its headers.
    (Seekable only so the test client can measure it for Content-Length.)"""

    reads = 0
    size = 10 * 2**30

    def __init__(self):
        self.pos = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, b):
        Untouchable.reads += 1
        raise AssertionError("the body was read")


@pytest.fixture
def caps(app, monkeypatch):
    monkeypatch.setitem(app.config, "RESOURCE_MAX_BYTES", 200 * KB)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * KB)
    Untouchable.reads = 0


def _form(title, data):
    return {"title": title, "library": "", "kind": "", "stage": "", "subject": "", "file": upload_file(data)}


def _huge(client, url):
    return client.post(url, input_stream=Untouchable(), content_type="multipart/form-data; boundary=xyz")


def test_an_oversized_upload_is_refused_unread_even_by_the_csrf_check(app, world, login_as, caps, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # the check that reads the form first
    resp = _huge(login_as(world["member"]), "/resources/upload")
    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "0.2 MB" in html  # the resource cap (200 KB), not the global one
    assert Untouchable.reads == 0


def test_the_413_page_names_the_cap_in_chinese(app, world, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "RESOURCE_MAX_BYTES", 3 * 2**20)
    Untouchable.reads = 0
    resp = _huge(login_as(world["member"]), "/resources/upload")
    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "3 MB" in html and "上限" in html, html
    assert Untouchable.reads == 0


def test_a_body_over_the_cap_is_refused_and_nothing_stored(app, world, login_as, caps):
    client = login_as(world["member"])
    big = PDF + b"%" * (1500 * KB)  # over the cap and the room left for the form's other fields
    resp = client.post("/resources/upload", data=_form("大文件", big),
                       content_type="multipart/form-data")  # fmt: skip
    assert resp.status_code == 413
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0


def test_the_resource_upload_takes_more_than_the_global_cap(app, world, login_as, caps):
    client = login_as(world["member"])
    body = PDF + b"%" * (100 * KB)  # over MAX_CONTENT_LENGTH (64 KB), under the resource cap (200 KB)
    resp = client.post("/resources/upload", data=_form("微课讲义", body),
                       content_type="multipart/form-data")  # fmt: skip
    assert resp.status_code == 302
    # …while any other form keeps the global cap
    resp = client.post("/resources/1/comments", data={"body": "很" * (40 * KB)})
    assert resp.status_code == 413
    assert _huge(app.test_client(), "/login").status_code == 413
    assert Untouchable.reads == 0


def test_api_answers_413_with_the_reason(app, world, api_as, caps):
    resp = _huge(api_as(world["member"]), "/api/v1/resources")
    assert resp.status_code == 413
    err = resp.get_json()["error"]
    assert err["message"] == "upload_too_large" and "MB" in err["details"]["reason"]
    assert Untouchable.reads == 0


def test_the_global_cap_leaves_room_for_the_largest_ordinary_form(tmp_path, monkeypatch):
    monkeypatch.delenv("LMS_MAX_CONTENT_LENGTH", raising=False)
    cfg = Config.load(str(tmp_path))
    assert cfg["MAX_CONTENT_LENGTH"] == 6 * cfg["UPLOAD_MAX_BYTES"] + 2**20
    monkeypatch.setenv("LMS_MAX_CONTENT_LENGTH", str(10 * 2**20))
    assert Config.load(str(tmp_path))["MAX_CONTENT_LENGTH"] == 10 * 2**20
