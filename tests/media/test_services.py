import io
import os

import pytest
from werkzeug.datastructures import FileStorage

from lms.core.uploads import UploadError
from lms.media import services, storage

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def relpath(app):
    rel = "test/aa/bb/sample.bin"
    dest = storage.root(app.config) / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(DATA)
    return rel


def _send(app, relpath, headers=None, **kw):
    with app.test_request_context("/", headers=headers or {}):
        resp = services.send_path(relpath, **kw)
        resp.direct_passthrough = False
        body = resp.get_data()
        resp.close()
        return resp, body


def test_whole_file(app, relpath):
    resp, body = _send(app, relpath)
    assert resp.status_code == 200 and body == DATA
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Cache-Control"].startswith("private")


def test_range_first_bytes(app, relpath):
    resp, body = _send(app, relpath, {"Range": "bytes=0-9"})
    assert resp.status_code == 206 and body == DATA[:10]
    assert resp.headers["Content-Range"] == f"bytes 0-9/{len(DATA)}"


def test_range_last_bytes(app, relpath):
    resp, body = _send(app, relpath, {"Range": "bytes=-10"})
    assert resp.status_code == 206 and body == DATA[-10:]
    assert resp.headers["Content-Range"] == f"bytes {len(DATA) - 10}-{len(DATA) - 1}/{len(DATA)}"


def test_range_out_of_bounds(app, relpath):
    from werkzeug.exceptions import RequestedRangeNotSatisfiable

    # Werkzeug raises the 416, which Flask turns into the response (with Content-Range: bytes */size).
    with pytest.raises(RequestedRangeNotSatisfiable) as err:
        _send(app, relpath, {"Range": "bytes=5000-6000"})
    resp = err.value.get_response()
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=0-0,10-20", "bytes=5-2", "bytes=abc", "items=0-5", "bytes=0-1,-5"])
def test_multi_invalid_and_foreign_ranges_are_ignored(app, relpath, header):
    """RFC 9110 lets a server ignore Range: several ranges, an invalid one (last before first) or
    another unit get the whole file with 200, not a 416 a player would give up on."""
    resp, body = _send(app, relpath, {"Range": header})
    assert resp.status_code == 200 and body == DATA and "Content-Range" not in resp.headers


def test_empty_suffix_range_is_unsatisfiable(app, relpath):
    from werkzeug.exceptions import RequestedRangeNotSatisfiable

    with pytest.raises(RequestedRangeNotSatisfiable):
        _send(app, relpath, {"Range": "bytes=-0"})


def test_strong_etag_and_if_none_match(app, relpath):
    resp, _body = _send(app, relpath)
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    st = (storage.root(app.config) / relpath).stat()
    assert etag == f'"{storage.etag(st)}"'
    resp, body = _send(app, relpath, {"If-None-Match": etag})
    assert resp.status_code == 304 and resp.headers["ETag"] == etag  # (the WSGI answer has no body)
    assert resp.headers["Cache-Control"].startswith("private")
    resp, body = _send(app, relpath, {"If-None-Match": '"something-else"'})
    assert resp.status_code == 200 and body == DATA
    # Another file under the same name (new bytes, new mtime): another tag, so a cached copy is refreshed.
    path = storage.root(app.config) / relpath
    path.write_bytes(DATA[::-1])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    resp, body = _send(app, relpath, {"If-None-Match": etag})
    assert resp.status_code == 200 and body == DATA[::-1] and resp.headers["ETag"] != etag


def test_if_range(app, relpath):
    etag = _send(app, relpath)[0].headers["ETag"]
    resp, body = _send(app, relpath, {"Range": "bytes=0-9", "If-Range": etag})
    assert resp.status_code == 206 and body == DATA[:10]
    # The client's copy is of another version: the whole current file, not a piece of it.
    resp, body = _send(app, relpath, {"Range": "bytes=0-9", "If-Range": '"old-version"'})
    assert resp.status_code == 200 and body == DATA


def test_missing_file_and_escaping_path(app):
    from werkzeug.exceptions import NotFound

    with pytest.raises(NotFound):
        _send(app, "test/nothing-here.bin")
    with pytest.raises(ValueError):
        _send(app, "../../etc/passwd")


def test_accel_redirect(app, relpath, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_ACCEL_REDIRECT", "/_protected/")
    resp, body = _send(app, relpath, download_name="Sample.bin", inline=False)
    assert resp.headers["X-Accel-Redirect"] == "/_protected/" + relpath
    assert body == b""
    assert resp.headers["Content-Disposition"].startswith("attachment")


def test_send_stored_file(app, db, relpath):
    from lms.media.models import StoredFile

    stored = StoredFile(path=relpath, filename="report.pdf", mime="application/pdf", size=len(DATA), sha256="0" * 64)
    with app.test_request_context("/", headers={"Range": "bytes=0-3"}):
        resp = services.send(stored)
        resp.direct_passthrough = False
        assert resp.status_code == 206 and resp.get_data() == DATA[:4]
        assert resp.mimetype == "application/pdf"
        assert resp.headers["Content-Disposition"].startswith("inline")
        resp.close()


def _upload(data, name):
    return FileStorage(stream=io.BytesIO(data), filename=name)


def test_save_upload_sniffs_the_type(app, db):
    pdf = b"%PDF-1.4\n" + b"0" * 200
    with app.test_request_context("/"):
        stored = services.save_upload(_upload(pdf, "../../evil/报告.pdf"), allowed=services.PDF)
        assert stored.mime == "application/pdf" and stored.filename == "报告.pdf"
        assert stored.path.endswith(".pdf") and ".." not in stored.path
        assert services.path_of(stored).read_bytes() == pdf


def test_save_upload_refuses_an_executable_named_pdf(app, db):
    exe = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200
    before = sorted(storage.root(app.config).rglob("*"))
    with app.test_request_context("/"), pytest.raises(UploadError, match="^type:") as err:
        services.save_upload(_upload(exe, "cv.pdf"), allowed=services.DOCUMENTS)
    assert "pdf" not in str(err.value)
    assert sorted(storage.root(app.config).rglob("*")) == before  # nothing stored, no temporary file left


def test_save_upload_size_cap_and_empty(app, db):
    pdf = b"%PDF-1.4\n" + b"0" * 5000
    with app.test_request_context("/"):
        with pytest.raises(UploadError, match="^too_large:1000$") as err:
            services.save_upload(_upload(pdf, "big.pdf"), allowed=services.PDF, max_bytes=1000)
        assert "MB" in services.upload_error_message(err.value)
        with pytest.raises(UploadError, match="^empty$"):
            services.save_upload(_upload(b"", "empty.pdf"), allowed=services.PDF)
        with pytest.raises(UploadError, match="^missing$"):
            services.save_upload(None)
    # No temporary file left behind (resumable chunked uploads of other tests, chunk-*, and their
    # lock file, chunks.lock, may sit there meanwhile: the session's media folder is shared).
    assert [p for p in storage.tmp_dir(app.config).iterdir() if not p.name.startswith("chunk")] == []


def _stored_on_disk(app, db, name):
    from lms.media.models import StoredFile

    rel = f"test/del/{name}"
    path = storage.root(app.config) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(DATA)
    stored = StoredFile(path=rel, filename=name, mime="application/pdf", size=len(DATA), sha256="0" * 64)
    db.session.add(stored)
    db.session.commit()
    return stored, path


def test_delete_file_removes_the_bytes_only_when_the_commit_succeeds(app, db):
    from lms.media.models import StoredFile

    stored, path = _stored_on_disk(app, db, "a.pdf")
    services.delete_file(stored)
    assert path.exists()  # not before the commit
    db.session.rollback()
    assert path.exists() and db.session.get(StoredFile, stored.id) is not None
    db.session.commit()  # the rollback forgot the removal: a later commit removes nothing
    assert path.exists()
    services.delete_file(db.session.get(StoredFile, stored.id))
    db.session.commit()
    assert not path.exists() and db.session.get(StoredFile, stored.id) is None


def test_delete_file_forgotten_with_its_savepoint_or_the_session(app, db):
    from lms.media.models import StoredFile

    kept, kept_path = _stored_on_disk(app, db, "kept.pdf")
    gone, gone_path = _stored_on_disk(app, db, "gone.pdf")
    services.delete_file(gone)
    savepoint = db.session.begin_nested()
    services.delete_file(kept)
    savepoint.rollback()  # the savepoint's removal is forgotten, the outer one stays
    db.session.commit()
    assert kept_path.exists() and db.session.get(StoredFile, kept.id) is not None
    assert not gone_path.exists()
    services.delete_file(db.session.get(StoredFile, kept.id))
    db.session.remove()  # the request ended without a commit
    assert kept_path.exists() and db.session.get(StoredFile, kept.id) is not None


def test_an_upload_whose_row_is_rolled_back_leaves_no_file(app, db, tmp_path):
    """save_upload places the file before the caller commits: a rollback (a later validation error)
    or a request that never commits takes the file away with the row; a commit keeps it."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from lms.media import storage
    from lms.media.services import DOCUMENTS, save_upload

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

    def upload():
        with app.test_request_context():
            stored = save_upload(FileStorage(BytesIO(pdf), filename="教案.pdf"), allowed=DOCUMENTS)
            db.session.add(stored)
            db.session.flush()
            return stored, storage.absolute(app.config, stored.path)

    stored, path = upload()
    assert path.is_file()
    db.session.rollback()
    assert not path.exists()

    stored, path = upload()
    db.session.commit()
    db.session.rollback()  # nothing pending any more: the committed file stays
    assert path.is_file()

    stored, path = upload()
    db.session.remove()  # the end of a request that never committed
    assert not path.exists()
