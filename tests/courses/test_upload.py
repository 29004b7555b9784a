"""Resumable chunked video upload → transcode job → lesson duration and rendition_dir (real ffmpeg)."""

import os

import pytest

from lms.courses import services
from lms.courses.models import Lesson
from lms.extensions import db
from lms.media import tasks
from lms.media.models import MediaJob, StoredFile
from tests.courses.conftest import make_course
from tests.media.conftest import make_clip


@pytest.fixture
def video_lesson(world):
    course = make_course(world.province.context, "视频课程")
    lesson = services.add_lesson(world["province_admin"], course, "视频课时", "video")
    return lesson


def _begin(c, lesson, size, name="clip.mp4"):
    return c.post(f"/courses/lessons/{lesson.id}/video/uploads", json={"filename": name, "size": size})


def _put(c, url, data, start, total):
    end = start + len(data) - 1
    return c.put(url, data=data, headers={"Content-Range": f"bytes {start}-{end}/{total}"})


def test_chunked_upload_resumes_and_transcodes(world, login_as, video_lesson, tmp_path, app):
    clip = make_clip(tmp_path / "c.mp4", seconds=2).read_bytes()
    total = len(clip)
    c = login_as(world["province_admin"])
    r = _begin(c, video_lesson, total)
    assert r.status_code == 200
    url = r.json["url"]
    third = total // 3
    assert _put(c, url, clip[:third], 0, total).json == {"offset": third, "size": total, "done": False}
    # A chunk at the wrong offset changes nothing and says where to resume.
    r = _put(c, url, clip[third + 10 : third + 20], third + 10, total)
    assert r.status_code == 409 and r.json["offset"] == third
    # Connection dropped after part of a chunk: the server keeps what arrived; the client asks and resumes.
    from lms.media import services as media

    with app.test_request_context():
        import io

        media.receive_chunk(url.rsplit("/", 1)[1], world["province_admin"], io.BytesIO(clip[third : third + 7]),
                            third, total - third)  # fmt: skip
    status = c.get(url).json
    assert status["offset"] == third + 7
    r = _put(c, url, clip[third + 7 :], third + 7, total)
    assert r.status_code == 200 and r.json["done"] is True
    assert tasks.wait_idle(120, app)
    st = c.get(f"/courses/lessons/{video_lesson.id}/transcode").json
    assert st["ready"] is True and st["status"] == "done" and st["progress"] == 100.0
    db.session.expire_all()
    lesson = db.session.get(Lesson, video_lesson.id)
    assert lesson.duration_seconds == 2 and lesson.rendition_dir
    assert lesson.media_file.mime == "video/mp4" and lesson.media_file.size == total
    root = app.config["MEDIA_ROOT"]
    assert os.path.isfile(os.path.join(root, lesson.rendition_dir, "master.m3u8"))
    assert not [n for n in os.listdir(os.path.join(root, "tmp")) if n.startswith("chunk-")]


def test_too_large_refused_in_chinese(world, login_as, video_lesson, app):
    app.config["VIDEO_UPLOAD_MAX_BYTES"], old = 1000, app.config["VIDEO_UPLOAD_MAX_BYTES"]
    try:
        r = _begin(login_as(world["province_admin"]), video_lesson, 1001)
    finally:
        app.config["VIDEO_UPLOAD_MAX_BYTES"] = old
    assert r.status_code == 413 and "MB" in r.json["message"] and "文件" in r.json["message"]


def test_not_a_video_refused_and_nothing_kept(world, login_as, video_lesson, app):
    data = b"%PDF-1.4\n" + b"x" * 5000
    c = login_as(world["province_admin"])
    url = _begin(c, video_lesson, len(data), "fake.mp4").json["url"]
    r = _put(c, url, data, 0, len(data))
    assert r.status_code == 415 and "视频" in r.json["message"]
    assert c.get(url).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(MediaJob)) == 0
    tmp = os.path.join(app.config["MEDIA_ROOT"], "tmp")
    assert not [n for n in os.listdir(tmp) if n.startswith("chunk-")]


def test_a_fake_mp4_of_no_known_format_is_refused_without_codes(world, login_as, video_lesson):
    """Bytes no sniffer knows: the uploader reads what is wrong, not "(unknown)" or a MIME type."""
    data = os.urandom(20_000)
    c = login_as(world["province_admin"])
    url = _begin(c, video_lesson, len(data), "fake.mp4").json["url"]
    r = _put(c, url, data, 0, len(data))
    assert r.status_code == 415
    msg = r.json["message"]
    assert "不是可用的视频" in msg and "无法识别的格式" in msg and "MP4" in msg
    assert "unknown" not in msg and "/" not in msg


def test_range_beyond_size_and_other_users(world, login_as, video_lesson):
    c = login_as(world["province_admin"])
    url = _begin(c, video_lesson, 10).json["url"]
    assert _put(c, url, b"x" * 11, 0, 10).status_code == 400
    assert c.get(url).json["offset"] == 0
    # Somebody else's upload id is unknown to them; teachers may not start uploads.
    assert login_as(world["county_admin"]).get(url).status_code == 404
    assert _begin(login_as(world["teacher"]), video_lesson, 10).status_code == 403


def _chunk_files(app):
    tmp = os.path.join(app.config["MEDIA_ROOT"], "tmp")
    return sorted(n for n in os.listdir(tmp) if n.startswith("chunk-"))


def test_a_new_upload_on_a_lesson_replaces_the_partial_one(world, login_as, video_lesson, app):
    c = login_as(world["province_admin"])
    first = _begin(c, video_lesson, 1000).json["url"]
    assert _put(c, first, b"\x00" * 100, 0, 1000).status_code == 200
    second = _begin(c, video_lesson, 2000, "other.mp4").json["url"]
    assert c.get(first).status_code == 404 and c.get(second).json["offset"] == 0
    upload_id = second.rsplit("/", 1)[1]
    assert _chunk_files(app) == [f"chunk-{upload_id}.json", f"chunk-{upload_id}.part"]  # the old bytes are gone
    # Another uploader's upload for the same lesson is theirs: left alone.
    from lms.media import services as media

    with app.test_request_context():
        theirs = media.begin_chunked(owner=world["county_admin"], filename="x.mp4", size=10,
                                     ref={"lesson_id": video_lesson.id})  # fmt: skip
        assert c.get(second).status_code == 200
        assert media.cancel_chunked(theirs, world["county_admin"])
    c.delete(second)


def test_open_uploads_per_user_are_capped(world, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "VIDEO_UPLOAD_MAX_OPEN_PER_USER", 2)
    course = make_course(world.province.context, "多个视频")
    lessons = [services.add_lesson(world["province_admin"], course, f"第{i}讲", "video") for i in range(3)]
    c = login_as(world["province_admin"])
    urls = [_begin(c, lessons[i], 1000).json["url"] for i in range(2)]
    r = _begin(c, lessons[2], 1000)
    assert r.status_code == 429 and r.json["error"] == "busy:2"
    assert "已有 2 个视频正在上传" in r.json["message"]
    assert len(_chunk_files(app)) == 4  # nothing reserved for the refused one
    # A new file for a lesson already uploading replaces that upload: not one more.
    assert _begin(c, lessons[0], 500).status_code == 200
    # Finishing or cancelling one makes room.
    assert c.delete(urls[1]).status_code == 200
    third = _begin(c, lessons[2], 1000)
    assert third.status_code == 200
    for lesson in lessons:
        st = c.post(f"/courses/lessons/{lesson.id}/video/uploads", json={"filename": "x.mp4", "size": 1})
        c.delete(st.json["url"])
    assert _chunk_files(app) == []


def test_uploads_left_for_an_hour_do_not_block_new_ones(world, login_as, app, monkeypatch):
    """An upload whose tab was closed (its owner may not think of cancelling it on the lesson page):
    after an hour without a byte it no longer counts against the cap; and a begin that is refused
    keeps the lesson's upload."""
    import os
    import time

    from lms.media import storage

    monkeypatch.setitem(app.config, "VIDEO_UPLOAD_MAX_OPEN_PER_USER", 1)
    course = make_course(world.province.context, "搁置的上传")
    lessons = [services.add_lesson(world["province_admin"], course, f"第{i}讲", "video") for i in range(3)]
    c = login_as(world["province_admin"])
    first = _begin(c, lessons[0], 1000).json["url"]
    assert _begin(c, lessons[1], 1000).status_code == 429
    part = storage.tmp_dir(app.config) / f"chunk-{first.rsplit('/', 1)[1]}.part"
    old = time.time() - 2 * 3600
    os.utime(part, (old, old))
    second = _begin(c, lessons[1], 1000)
    assert second.status_code == 200
    assert _begin(c, lessons[2], 1000).status_code == 429  # the second one is active: it counts
    # A new file for the second lesson that is refused (no room on the disk) leaves its upload be.
    monkeypatch.setitem(app.config, "VIDEO_UPLOAD_FREE_MARGIN_BYTES", 10**18)
    assert _begin(c, lessons[1], 1000).status_code == 507
    assert c.get(second.json["url"]).status_code == 200 and c.get(first).status_code == 200
    for url in (first, second.json["url"]):
        c.delete(url)


def test_an_upload_that_would_not_fit_on_the_disk_is_refused(world, login_as, video_lesson, app, monkeypatch):
    """Against the real free space (shutil.disk_usage); the sizes leave the other processes on this
    machine hundreds of MB to write or delete meanwhile."""
    import shutil

    from lms.media import storage

    mb = 1024 * 1024
    c = login_as(world["province_admin"])
    free = shutil.disk_usage(storage.tmp_dir(app.config)).free
    # The margin left for transcodes and the rest of the disk: here all but 1.5 GB of the free space.
    monkeypatch.setitem(app.config, "VIDEO_UPLOAD_FREE_MARGIN_BYTES", free - 1536 * mb)
    r = _begin(c, video_lesson, 3072 * mb)
    assert r.status_code == 507 and r.json["error"] == "disk_full"
    assert "没有足够的空闲空间" in r.json["message"]
    assert _chunk_files(app) == []
    first = _begin(c, video_lesson, 1024 * mb)  # fits
    assert first.status_code == 200
    # The open upload's missing gigabyte is promised: another one that would need it is refused.
    course = make_course(world.province.context, "另一门课")
    other = services.add_lesson(world["province_admin"], course, "视频", "video")
    assert _begin(c, other, 800 * mb).status_code == 507
    c.delete(first.json["url"])
    second = _begin(c, other, 800 * mb)
    assert second.status_code == 200
    c.delete(second.json["url"])


def test_rq_queue_runs_job_on_redis(world, app, video_lesson, tmp_path):
    redis_url = os.environ.get("LMS_REDIS_URL") or "redis://127.0.0.1:6379/1"
    from redis import Redis
    from rq import SimpleWorker

    try:
        Redis.from_url(redis_url).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis")
    from lms.media import services as media

    clip = make_clip(tmp_path / "r.mp4", seconds=1)
    old = dict(MEDIA_QUEUE=app.config["MEDIA_QUEUE"], REDIS_URL=app.config["REDIS_URL"])
    app.config.update(MEDIA_QUEUE="rq", REDIS_URL=redis_url)
    try:
        with app.test_request_context():
            uid = media.begin_chunked(owner=world["province_admin"], filename="r.mp4", size=clip.stat().st_size,
                                      ref={"lesson_id": video_lesson.id})  # fmt: skip
            with open(clip, "rb") as f:
                media.receive_chunk(uid, world["province_admin"], f, 0, clip.stat().st_size)
            job = services.finish_video_upload(world["province_admin"], video_lesson, uid)
            assert db.session.get(MediaJob, job.id).status == "queued"  # not run in-process
            q = tasks.rq_queue(app.config)
            SimpleWorker([q], connection=q.connection).work(burst=True)
        db.session.expire_all()
        assert db.session.get(MediaJob, job.id).status == "done"
        lesson = db.session.get(Lesson, video_lesson.id)
        assert lesson.duration_seconds == 1 and lesson.rendition_dir
    finally:
        app.config.update(old)


def _upload(c, lesson, data, name="clip.mp4"):
    url = _begin(c, lesson, len(data), name).json["url"]
    r = _put(c, url, data, 0, len(data))
    assert r.status_code in (200, 415), r.json
    return r


@pytest.fixture
def held_transcodes(monkeypatch):
    """Transcodes wait for `release.set()` (the lesson is looked at while its new video is in the works)."""
    import threading

    release = threading.Event()
    real = tasks.ffmpeg.transcode

    def held(*args, **kwargs):
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.ffmpeg, "transcode", held)
    return release


def _player_master(c, lesson_id):
    import re

    html = c.get(f"/courses/lessons/{lesson_id}").get_data(as_text=True)
    m = re.search(r'data-master="([^"]+)"', html)
    return m[1] if m else None, html


def test_replacing_a_video_keeps_the_old_one_playing_until_the_new_one_is_ready(
    world, login_as, video_lesson, tmp_path, app, held_transcodes
):
    from lms.courses import watch

    held_transcodes.set()
    manager = login_as(world["province_admin"])
    _upload(manager, video_lesson, make_clip(tmp_path / "a.mp4", seconds=2).read_bytes())
    assert tasks.wait_idle(120, app)
    db.session.expire_all()
    old = db.session.get(Lesson, video_lesson.id).rendition_dir
    old_path = os.path.join(app.config["MEDIA_ROOT"], old)
    assert old and os.path.isdir(old_path)
    old_file = db.session.get(Lesson, video_lesson.id).media_file_id
    old_upload = os.path.join(app.config["MEDIA_ROOT"], db.session.get(StoredFile, old_file).path)
    assert os.path.isfile(old_upload)
    teacher = login_as(world["teacher"], app.test_client())
    old_master, _html = _player_master(teacher, video_lesson.id)
    assert teacher.get(old_master).status_code == 200

    # A new file: while it is being transcoded viewers keep the old video, the uploader sees the job.
    held_transcodes.clear()
    r = _upload(manager, video_lesson, make_clip(tmp_path / "b.mp4", seconds=3).read_bytes())
    assert r.json["done"] is True
    db.session.expire_all()
    lesson = db.session.get(Lesson, video_lesson.id)
    assert (lesson.rendition_dir, lesson.duration_seconds) == (old, 2)
    master, html = _player_master(teacher, video_lesson.id)
    assert master and "being prepared" not in html and "正在准备" not in html
    assert teacher.get(master).status_code == 200 and teacher.get(old_master).status_code == 200
    st = manager.get(f"/courses/lessons/{video_lesson.id}/transcode").json
    assert st["status"] in ("queued", "running") and st["ready"] is False and st["previous"] is True
    edit = manager.get(f"/courses/lessons/{video_lesson.id}/edit").get_data(as_text=True)
    assert 'data-transcoding="1"' in edit and "学员看到的仍是原来的视频" in edit

    held_transcodes.set()
    assert tasks.wait_idle(120, app)
    db.session.expire_all()
    lesson = db.session.get(Lesson, video_lesson.id)
    assert lesson.rendition_dir != old and lesson.duration_seconds == 3
    assert os.path.isfile(os.path.join(app.config["MEDIA_ROOT"], lesson.rendition_dir, "master.m3u8"))
    assert not os.path.exists(old_path)  # deleted after the swap
    assert db.session.get(StoredFile, old_file) is None and not os.path.exists(old_upload)  # the replaced upload too
    st = manager.get(f"/courses/lessons/{video_lesson.id}/transcode").json
    assert st["ready"] is True and st["previous"] is False
    # A player holding the old grant gets 404 and asks for fresh URLs, which work.
    assert teacher.get(old_master).status_code == 404
    fresh = teacher.get(f"/watch/lessons/{video_lesson.id}/sources").json
    assert fresh["master"] != old_master and teacher.get(fresh["master"]).status_code == 200
    watch.forget_rendition()


def test_a_replacement_that_fails_leaves_the_working_video(world, login_as, video_lesson, tmp_path, app):
    manager = login_as(world["province_admin"])
    _upload(manager, video_lesson, make_clip(tmp_path / "a.mp4", seconds=2).read_bytes())
    assert tasks.wait_idle(120, app)
    db.session.expire_all()
    old = db.session.get(Lesson, video_lesson.id).rendition_dir
    # Sniffed as MP4 (an ftyp box) but no playable video inside: the transcode fails.
    broken = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(20000)
    assert _upload(manager, video_lesson, broken, "broken.mp4").json["done"] is True
    assert tasks.wait_idle(120, app)
    db.session.expire_all()
    lesson = db.session.get(Lesson, video_lesson.id)
    assert lesson.media_job.status == "failed"
    assert (lesson.rendition_dir, lesson.duration_seconds) == (old, 2)
    assert os.path.isfile(os.path.join(app.config["MEDIA_ROOT"], old, "master.m3u8"))
    teacher = login_as(world["teacher"], app.test_client())
    master, _html = _player_master(teacher, video_lesson.id)
    assert master and teacher.get(master).status_code == 200
    st = manager.get(f"/courses/lessons/{video_lesson.id}/transcode").json
    assert st["status"] == "failed" and st["ready"] is False and st["previous"] is True


def test_a_failed_transcode_is_retried_from_the_lesson_edit_page(world, login_as, video_lesson, tmp_path, app,
                                                                  monkeypatch):  # fmt: skip
    from lms.media.ffmpeg import MediaError

    real = tasks.ffmpeg.transcode
    runs = []

    def full_disk_once(*args, **kwargs):
        runs.append(1)
        if len(runs) == 1:
            raise MediaError("ffmpeg failed: /srv/media/x: No space left on device", "disk_full")
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.ffmpeg, "transcode", full_disk_once)
    manager = login_as(world["province_admin"])
    _upload(manager, video_lesson, make_clip(tmp_path / "a.mp4", seconds=2).read_bytes())
    assert tasks.wait_idle(120, app)
    edit_url = f"/courses/lessons/{video_lesson.id}/edit"
    html = manager.get(edit_url).get_data(as_text=True)
    # Told in their language what happened; ffmpeg's English and the server's paths stay in the log.
    assert "转码失败" in html and "服务器磁盘空间不足" in html
    assert "No space left" not in html and "/srv/media" not in html
    assert "重新转码" in html and f"/courses/lessons/{video_lesson.id}/video/retry" in html
    st = manager.get(f"/courses/lessons/{video_lesson.id}/transcode").json
    assert st["status"] == "failed" and st["can_retry"] is True and "磁盘空间" in st["message"]
    assert "reason" not in st and "No space" not in str(st)
    # Only whoever may edit the lesson may retry.
    assert login_as(world["teacher"]).post(f"/courses/lessons/{video_lesson.id}/video/retry").status_code == 403
    r = manager.post(f"/courses/lessons/{video_lesson.id}/video/retry", follow_redirects=True)
    assert "已重新排队转码" in r.get_data(as_text=True)
    assert tasks.wait_idle(120, app)
    db.session.expire_all()
    lesson = db.session.get(Lesson, video_lesson.id)
    assert (lesson.media_job.status, lesson.media_job.attempts) == ("done", 2)
    assert lesson.rendition_dir and lesson.duration_seconds == 2
    html = manager.get(edit_url).get_data(as_text=True)
    assert 'data-role="failed" hidden' in html and 'data-role="retry" hidden' in html  # nothing to retry
    r = manager.post(f"/courses/lessons/{video_lesson.id}/video/retry", follow_redirects=True)
    assert "没有需要重试的失败转码" in r.get_data(as_text=True)


def test_retries_stop_after_max_attempts(world, login_as, video_lesson, app, tmp_path, monkeypatch):
    from lms.media.ffmpeg import MediaError

    def always_fails(*args, **kwargs):
        raise MediaError("ffmpeg failed: Conversion failed!", "failed")

    monkeypatch.setattr(tasks.ffmpeg, "transcode", always_fails)
    manager = login_as(world["province_admin"])
    _upload(manager, video_lesson, make_clip(tmp_path / "a.mp4", seconds=1).read_bytes())
    retry = f"/courses/lessons/{video_lesson.id}/video/retry"
    for attempt in range(2, tasks.MAX_ATTEMPTS + 1):
        assert tasks.wait_idle(120, app)
        assert manager.post(retry).status_code == 302
        assert tasks.wait_idle(120, app)
        db.session.expire_all()
        job = db.session.get(Lesson, video_lesson.id).media_job
        assert (job.status, job.attempts) == ("failed", attempt)
    html = manager.get(f"/courses/lessons/{video_lesson.id}/edit").get_data(as_text=True)
    assert "转码程序无法转换这个视频" in html and f"已尝试转码 {tasks.MAX_ATTEMPTS} 次" in html
    assert "Conversion failed" not in html
    assert 'data-role="retry" hidden' in html
    r = manager.post(retry, follow_redirects=True)
    assert f"已尝试转码 {tasks.MAX_ATTEMPTS} 次" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Lesson, video_lesson.id).media_job.attempts == tasks.MAX_ATTEMPTS


def test_an_unreadable_video_is_explained_and_not_offered_a_retry(world, login_as, video_lesson, app, tmp_path):
    """A truncated upload (an MP4 cut before its index) fails the same way every time: the uploader is
    told in Chinese to upload it again, sees no retry button, and a retry posted anyway is refused."""
    clip = make_clip(tmp_path / "full.mp4", seconds=2).read_bytes()
    manager = login_as(world["province_admin"])
    _upload(manager, video_lesson, clip[: len(clip) // 2], "课堂实录.mp4")
    assert tasks.wait_idle(120, app)
    db.session.expire_all()
    job = db.session.get(Lesson, video_lesson.id).media_job
    assert (job.status, job.error, job.attempts) == ("failed", "unreadable", 1)
    st = manager.get(f"/courses/lessons/{video_lesson.id}/transcode").json
    assert st["can_retry"] is False and "不是可以读取的视频" in st["message"] and "重新上传" in st["message"]
    html = manager.get(f"/courses/lessons/{video_lesson.id}/edit").get_data(as_text=True)
    assert "不是可以读取的视频" in html and 'data-role="retry" hidden' in html
    for leak in ("Invalid data", "moov", "unreadable", app.config["MEDIA_ROOT"], "已尝试转码"):
        assert leak not in html, leak
    r = manager.post(f"/courses/lessons/{video_lesson.id}/video/retry", follow_redirects=True)
    assert "再次转换这个文件仍会失败" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Lesson, video_lesson.id).media_job.attempts == 1


def test_a_non_video_is_refused_at_the_first_chunk(world, login_as, video_lesson, app):
    """Not after the whole (possibly gigabytes long) upload: the first chunk's bytes are sniffed."""
    data = b"%PDF-1.4\n" + os.urandom(200_000)
    c = login_as(world["province_admin"])
    url = _begin(c, video_lesson, len(data), "lecture.mp4").json["url"]
    r = _put(c, url, data[:50_000], 0, len(data))
    assert r.status_code == 415 and r.json["error"] == "type:application/pdf"
    assert "不是可用的视频" in r.json["message"] and "PDF 文档" in r.json["message"]
    assert "application/" not in r.json["message"]
    assert c.get(url).status_code == 404  # discarded: nothing more is accepted
    assert _put(c, url, data[50_000:100_000], 50_000, len(data)).status_code == 404
    tmp = os.path.join(app.config["MEDIA_ROOT"], "tmp")
    assert not [n for n in os.listdir(tmp) if n.startswith("chunk-" + url.rsplit("/", 1)[1])]
    assert db.session.scalar(db.select(db.func.count()).select_from(MediaJob)) == 0


def test_a_video_whose_first_chunk_is_tiny_is_still_accepted(world, login_as, video_lesson, tmp_path, app):
    """Too few bytes to judge: the decision waits for the complete file (finish_chunked sniffs again)."""
    clip = make_clip(tmp_path / "t.mp4", seconds=1).read_bytes()
    c = login_as(world["province_admin"])
    url = _begin(c, video_lesson, len(clip)).json["url"]
    assert _put(c, url, clip[:16], 0, len(clip)).json["offset"] == 16
    r = _put(c, url, clip[16:], 16, len(clip))
    assert r.status_code == 200 and r.json["done"] is True
    assert tasks.wait_idle(120, app)
