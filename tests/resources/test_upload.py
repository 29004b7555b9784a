"""Uploads: type sniffing, size cap, executables named .pdf refused, nothing stored on failure, rights."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.core.uploads import UploadError
from lms.extensions import db
from lms.media.models import MediaJob, StoredFile
from lms.resources import services
from lms.resources.models import Resource
from tests.media.test_sniff import MSI_CLSID, ole_file
from tests.resources.conftest import ELF, PDF, PE, png, upload_file


def _files(app) -> set:
    root = Path(app.config["MEDIA_ROOT"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.fixture
def nothing_stored(app):
    """Call it after a failed upload: no row, and no file more on disk than before the test."""
    before = _files(app)

    def check(_app=None):
        assert db.session.scalar(select(func.count(StoredFile.id))) == 0
        assert db.session.scalar(select(func.count(Resource.id))) == 0
        assert _files(app) == before

    return check


def test_pdf_into_personal_space(world, make_resource):
    r = make_resource(
        world["teacher"],
        title="  分数的意义 教学设计 ",
        stage="primary",
        subject="math",
        kind="lesson_design",
        tags="双减, 大单元教学 双减",
        description="<p>好<script>x()</script></p>",
    )
    assert r.title == "分数的意义 教学设计"
    assert r.context_id is None and r.owner_id == world["teacher"].id
    assert r.file.mime == "application/pdf" and r.file.filename == "教案.pdf"
    assert r.tag_list == ["双减", "大单元教学"]
    assert "<script" not in r.description_html and "<p>好" in r.description_html
    assert r.status == "normal" and r.download_count == 0


def test_kind_follows_the_file_when_not_chosen(world, make_resource):
    assert make_resource(world["teacher"], data=png(), name="a.png").kind == "image"
    assert make_resource(world["teacher"]).kind == "document"


def test_the_download_name_agrees_with_the_content(world, make_resource, login_as):
    """A ZIP sent as 教案.pdf downloads as 教案.zip; a name that agrees is kept as it was."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("第一课.txt", "教学目标")
    r = make_resource(world["member"], world.workshop_a.context, data=buf.getvalue(), name="教案.pdf", title="打包资料")
    assert r.file.filename == "教案.zip" and r.file.mime == "application/zip"
    dl = login_as(world["member"]).get(f"/resources/{r.id}/download")
    assert "%E6%95%99%E6%A1%88.zip" in dl.headers["Content-Disposition"]
    same = make_resource(world["member"], data=PDF, name="课件.PDF", title="原名")
    assert same.file.filename == "课件.PDF"


@pytest.mark.parametrize("payload", [ELF, PE], ids=["elf", "pe"])
def test_executable_named_pdf_is_refused_and_nothing_stored(app, world, make_resource, payload, nothing_stored):
    with pytest.raises(services.ResourceError, match="executable"):
        make_resource(world["teacher"], data=payload, name="教学设计.pdf")
    nothing_stored()


def test_executable_refused_with_a_chinese_message_on_the_page(app, world, login_as, nothing_stored):
    client = login_as(world["teacher"])
    resp = client.post(
        "/resources/upload",
        data={
            "title": "教案",
            "library": "",
            "kind": "",
            "stage": "",
            "subject": "",
            "file": upload_file(ELF, "教案.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400
    assert "可执行程序" in resp.get_data(as_text=True)
    nothing_stored()


def test_unknown_type_refused(app, world, make_resource, nothing_stored):
    with pytest.raises(UploadError, match="type:"):
        make_resource(world["teacher"], data=b"just some text, not a document\n" * 10, name="a.pdf")
    nothing_stored()


def test_size_cap(app, world, make_resource, nothing_stored, monkeypatch):
    monkeypatch.setitem(app.config, "RESOURCE_MAX_BYTES", 100)
    with pytest.raises(UploadError, match="too_large"):
        make_resource(world["teacher"], data=PDF)
    nothing_stored()
    monkeypatch.setitem(app.config, "RESOURCE_MAX_BYTES", len(PDF))
    assert make_resource(world["teacher"], data=PDF).file.size == len(PDF)


def test_resource_cap_is_a_setting_sized_for_micro_lessons(monkeypatch, tmp_path):
    from lms.config import Config

    assert Config.load(str(tmp_path))["RESOURCE_MAX_BYTES"] == 500 * 1024 * 1024
    assert Config.RESOURCE_MAX_BYTES > Config.UPLOAD_MAX_BYTES
    monkeypatch.setenv("LMS_RESOURCE_MAX_BYTES", "1048576")
    assert Config.load(str(tmp_path))["RESOURCE_MAX_BYTES"] == 1048576


def test_a_large_upload_streams_to_disk(app, world, make_resource, monkeypatch):
    """Beyond the ordinary upload cap and in chunks: memory holds one chunk, not the file."""
    from lms.media import storage

    big = PDF + b"\n%" + b"x" * (3 * 1024 * 1024)
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024 * 1024)
    monkeypatch.setitem(app.config, "RESOURCE_MAX_BYTES", 8 * 1024 * 1024)
    reads = []
    real = storage.receive

    def spy(stream, config, max_bytes):
        class Counting:
            def read(self, n=-1):
                chunk = stream.read(n)
                reads.append(len(chunk))
                return chunk

        return real(Counting(), config, max_bytes)

    monkeypatch.setattr(storage, "receive", spy)
    r = make_resource(world["teacher"], data=big)
    assert r.file.size == len(big)
    assert len(reads) > 2 and max(reads) <= storage.CHUNK


def test_empty_and_missing(app, world, make_resource, nothing_stored):
    with pytest.raises(UploadError, match="empty"):
        make_resource(world["teacher"], data=b"")
    with app.test_request_context(), pytest.raises(UploadError, match="missing"):
        services.upload(world["teacher"], title="x", file=None)
    nothing_stored()


def test_bad_fields_store_nothing(app, world, make_resource, nothing_stored):
    for fields, code in (
        ({"title": " "}, "title_required"),
        ({"title": "x" * 201}, "title_too_long"),
        ({"stage": "nursery"}, "bad_stage"),
        ({"subject": "alchemy"}, "bad_subject"),
        ({"kind": "virus"}, "bad_kind"),
    ):
        with pytest.raises(services.ResourceError, match=code):
            make_resource(world["teacher"], **fields)
    nothing_stored()


@pytest.mark.parametrize(
    "role, library, ok",
    [
        ("teacher", "school_a", True),
        ("teacher", "workshop_a", False),  # not a member
        ("teacher", "county_a", False),
        ("teacher", "school_b", False),
        ("member", "workshop_a", True),
        ("member", "workshop_b", False),
        ("host", "workshop_a", True),
        ("expert", "workshop_a", True),
        ("county_admin", "county_a", True),
        ("county_admin", "county_b", False),
        ("supervisor", "county_a", False),
        ("outsider", "school_a", False),
    ],
)
def test_who_may_post_into_which_library(app, world, make_resource, role, library, ok, nothing_stored):
    target = getattr(world, library).context
    if ok:
        assert make_resource(world[role], context=target).context_id == target.id
    else:
        with pytest.raises(services.ResourceError, match="forbidden"):
            make_resource(world[role], context=target)
        nothing_stored()


def test_upload_page_offers_only_own_libraries(world, login_as):
    html = login_as(world["member"]).get("/resources/upload").get_data(as_text=True)
    assert world.workshop_a.name in html and world.school_a.name in html
    assert world.workshop_b.name not in html and world.county_a.name not in html


def test_upload_page_refuses_a_foreign_library(app, world, login_as, nothing_stored):
    client = login_as(world["member"])
    resp = client.post(
        "/resources/upload",
        data={
            "title": "教案",
            "library": str(world.workshop_b.context.id),
            "kind": "",
            "stage": "",
            "subject": "",
            "file": upload_file(),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403
    nothing_stored()


def test_upload_page_success_redirects_to_the_resource(world, login_as):
    client = login_as(world["member"])
    resp = client.post(
        "/resources/upload",
        data={
            "title": "勾股定理课件",
            "library": str(world.workshop_a.context.id),
            "kind": "courseware",
            "stage": "junior",
            "subject": "math",
            "tags": "几何",
            "description": "<p>说明</p>",
            "file": upload_file(),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    r = db.session.scalar(select(Resource))
    assert resp.headers["Location"].endswith(f"/resources/{r.id}")
    assert (r.kind, r.stage, r.subject, r.context_id) == ("courseware", "junior", "math", world.workshop_a.context.id)


def test_api_upload(world, api_as, conforms):
    client = api_as(world["member"])
    resp = client.post(
        "/api/v1/resources",
        data={"title": "API 上传", "library": str(world.workshop_a.context.id), "file": upload_file(png(), "图.png")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    conforms(resp, "ResourceDetail")
    assert resp.get_json()["kind"] == "image" and resp.get_json()["library"] == "workshop"
    bad = client.post(
        "/api/v1/resources", data={"title": "x", "file": upload_file(ELF, "a.pdf")}, content_type="multipart/form-data"
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["message"] == "executable"
    hidden = client.post(
        "/api/v1/resources",
        data={"title": "x", "library": str(world.workshop_b.context.id), "file": upload_file()},
        content_type="multipart/form-data",
    )
    assert hidden.status_code == 404
    seen_not_allowed = client.post(
        "/api/v1/resources",
        data={"title": "x", "library": str(world.county_a.context.id), "file": upload_file()},
        content_type="multipart/form-data",
    )
    assert seen_not_allowed.status_code == 403
    assert db.session.scalar(select(func.count(StoredFile.id))) == 1


def test_api_upload_needs_a_token(world, login_as):
    resp = login_as(world["member"]).post(
        "/api/v1/resources", data={"title": "x", "file": upload_file()}, content_type="multipart/form-data"
    )
    assert resp.status_code == 401


def test_video_goes_through_the_media_pipeline(app, world, make_resource, login_as, tmp_path):
    from lms.media import ffmpeg, tasks
    from tests.media.conftest import make_clip

    try:
        ffmpeg.ffmpeg_exe()
    except Exception:  # noqa: BLE001
        pytest.skip("no ffmpeg")
    clip = tmp_path / "clip.mp4"
    make_clip(clip, seconds=2)
    r = make_resource(world["teacher"], data=clip.read_bytes(), name="微课.mp4", title="微课")
    assert r.kind == "micro_lesson" and r.media_job_id is not None
    client = login_as(world["teacher"])
    job = db.session.get(MediaJob, r.media_job_id)
    if job.status != "done":
        assert "res-transcoding" in client.get(f"/resources/{r.id}").get_data(as_text=True)
    assert tasks.wait_idle(120, app)
    db.session.expire_all()
    assert db.session.get(MediaJob, r.media_job_id).status == "done"
    html = client.get(f"/resources/{r.id}").get_data(as_text=True)
    assert "<video" in html and "master.m3u8" in html and "vendor/hls/hls.light.min.js" in html
    playlist = client.get(f"/resources/{r.id}/media/master.m3u8")
    assert playlist.status_code == 200 and b"#EXTM3U" in playlist.data
    assert client.get(f"/resources/{r.id}/media/video.mp4").status_code == 200
    assert client.get(f"/resources/{r.id}/media/../../etc/passwd").status_code == 404
    assert login_as(world["teacher_b"]).get(f"/resources/{r.id}/media/master.m3u8").status_code == 404


@pytest.mark.parametrize(
    "name, data, mime",
    [
        ("教学设计.doc", ole_file("WordDocument"), "application/msword"),
        ("成绩分析.xls", ole_file("Workbook", fat_first=True), "application/vnd.ms-excel"),
        ("说课.ppt", ole_file("PowerPoint Document"), "application/vnd.ms-powerpoint"),
        ("教案.txt", "《分数的意义》教学设计\r\n一、教学目标\r\n".encode("gb18030"), "text/plain"),
        ("教案.txt", "《分数的意义》教学设计\n".encode(), "text/plain"),
        ("教案.rtf", rb"{\rtf1\ansi\ansicpg936 \'b7\'d6\'ca\'fd}", "application/rtf"),
    ],
)
def test_old_office_text_and_rtf_are_accepted(app, world, login_as, name, data, mime):
    resp = login_as(world["teacher"]).post(
        "/resources/upload",
        data={
            "title": "旧格式",
            "library": "",
            "kind": "",
            "stage": "",
            "subject": "",
            "file": upload_file(data, name),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[-500:]
    r = db.session.scalar(select(Resource))
    assert r.file.mime == mime and r.file.filename == name and r.kind == "document"
    download = login_as(world["teacher"]).get(f"/resources/{r.id}/download")
    assert download.get_data() == data and download.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    "name, data",
    [
        ("教案.doc", ole_file("!_StringPool", clsid=MSI_CLSID)),  # an installer package
        ("教案.txt", b"MZ\x90\x00" + b"\x00" * 200),
        ("教案.txt", b"binary \x00\x01\x02"),
        ("教案.exe", ole_file()),
    ],
)
def test_what_only_pretends_stays_refused(app, world, make_resource, name, data, nothing_stored):
    with pytest.raises((UploadError, services.ResourceError)):
        make_resource(world["teacher"], data=data, name=name)
    nothing_stored()


def test_upload_page_names_the_accepted_types(world, login_as):
    html = login_as(world["teacher"]).get("/resources/upload").get_data(as_text=True)
    assert ".txt" in html and ".doc" in html
