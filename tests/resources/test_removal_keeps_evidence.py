"""Removing a library resource never destroys a file something else still uses: excellent homework
and activity shares file the trainee's own StoredFile, which their submission or share (assessment
evidence) keeps pointing at."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.activities import workshop_services as activities
from lms.activities.models import SharedResource
from lms.core.db import utcnow
from lms.extensions import db
from lms.homework import services as homework
from lms.homework.models import SubmissionFile
from lms.media import services as media
from lms.media.models import StoredFile
from lms.resources import services
from lms.resources.models import Resource
from tests.resources.conftest import PDF, upload_file


def _on_disk(app, stored_id) -> Path:
    stored = db.session.get(StoredFile, stored_id)
    return media.storage.absolute(app.config, stored.path)


def test_removing_excellent_homework_keeps_the_trainees_submission_file(app, world):
    host, expert, member = world["host"], world["expert"], world["member"]
    now = utcnow()
    a = homework.create_assignment(
        host,
        world.workshop_a.context,
        homework.AssignmentInput(
            title="教学改进案例",
            instructions="写一份案例",
            submission_opens_at=now - timedelta(days=1),
            submission_due_at=now + timedelta(days=2),
            review_due_at=now + timedelta(days=5),
            closes_at=now + timedelta(days=8),
            reviews_per_member=3,
        ),
    )
    homework.sync(a, now)  # into the submission phase
    with app.test_request_context():
        s = homework.submit(member, a, "我的案例", "<p>正文</p>", uploads=[upload_file(PDF, "案例.pdf")])
    file_id = s.files[0].file_id
    homework.recommend(host, s)
    with app.test_request_context():
        homework.publish(expert, s)
    r = db.session.scalar(select(Resource).where(Resource.source == "homework"))
    assert r is not None and r.file_id == file_id
    path = _on_disk(app, file_id)
    assert path.is_file()
    rid = r.id

    services.remove(world["county_admin"], r)  # the region library's admin takes it out of the library

    db.session.expire_all()
    assert db.session.get(Resource, rid) is None
    assert db.session.get(StoredFile, file_id) is not None
    assert db.session.scalar(select(func.count(SubmissionFile.id)).where(SubmissionFile.file_id == file_id)) == 1
    assert path.is_file() and path.read_bytes() == PDF


def test_removing_an_activity_share_keeps_the_members_shared_file(app, world, login_as):
    now = utcnow()
    act = activities.create_activity(world["host"], world.workshop_a, kind="sharing", title="资源共享",
                                     description="分享教学设计", opens_at=now - timedelta(days=1),
                                     closes_at=now + timedelta(days=7))  # fmt: skip
    resp = login_as(world["member"]).post(
        f"/activities/{act.id}/resources",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(PDF), "教学设计.pdf"), "title": "《分数的意义》教学设计"},
    )
    assert resp.status_code == 302
    shared = db.session.scalar(select(SharedResource))
    r = db.session.scalar(select(Resource).where(Resource.source == "activity"))
    assert r is not None and r.file_id == shared.stored_file_id
    path = _on_disk(app, shared.stored_file_id)
    rid = r.id

    assert login_as(world["member"]).post(f"/resources/{r.id}/delete").status_code == 302  # the owner

    db.session.expire_all()
    assert db.session.get(Resource, rid) is None
    assert db.session.get(SharedResource, shared.id) is not None
    assert db.session.get(StoredFile, shared.stored_file_id) is not None
    assert path.is_file()
    # the activity page still serves the member's file
    assert login_as(world["host"]).get(f"/activities/files/{shared.stored_file_id}").status_code == 200


def test_a_file_used_by_nothing_else_is_deleted_with_the_resource(app, world, make_resource):
    r = make_resource(world["member"], world.workshop_a.context)
    file_id = r.file_id
    path = _on_disk(app, file_id)
    services.remove(world["member"], r)
    db.session.expire_all()
    assert db.session.get(StoredFile, file_id) is None
    assert not path.exists()


def test_two_resources_on_one_file_keep_it_until_the_last_goes(app, world, make_resource):
    first = make_resource(world["member"], world.workshop_a.context)
    second = services.file_resource(owner=world["member"], title="同一文件", context=world.school_a.context,
                                    file_id=first.file_id)  # fmt: skip
    file_id = first.file_id
    services.remove(world["member"], first)
    assert db.session.get(StoredFile, file_id) is not None
    services.remove(world["member"], second)
    db.session.expire_all()
    assert db.session.get(StoredFile, file_id) is None


@pytest.mark.parametrize("table", ["submission_files", "shared_resources"])
def test_the_reference_check_finds_every_table_pointing_at_stored_files(table):
    """Found from the foreign keys, so a table added later is covered without touching remove()."""
    from lms.media.services import _file_references

    tables = {col.table.name for col in _file_references()}
    assert table in tables
    assert "media_jobs" not in tables  # a file's own transcoding output, removed with it


def test_deleting_the_activity_keeps_the_library_copy_of_its_shares(app, world, login_as):
    """The other way round: a share is also its workshop library's resource, so deleting the
    activity must not strip the library entry of its file. The file goes with its last user."""
    now = utcnow()
    act = activities.create_activity(world["host"], world.workshop_a, kind="sharing", title="资源共享",
                                     description="分享教学设计", opens_at=now - timedelta(days=1),
                                     closes_at=now + timedelta(days=7))  # fmt: skip
    resp = login_as(world["member"]).post(
        f"/activities/{act.id}/resources",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(PDF), "教学设计.pdf"), "title": "《分数的意义》教学设计"},
    )
    assert resp.status_code == 302
    r = db.session.scalar(select(Resource).where(Resource.source == "activity"))
    file_id, rid = r.file_id, r.id
    path = _on_disk(app, file_id)

    activities.delete_activity(world["host"], db.session.get(type(act), act.id))
    db.session.expire_all()
    assert db.session.get(Resource, rid).file_id == file_id
    assert path.is_file() and path.read_bytes() == PDF
    assert login_as(world["member"]).get(f"/resources/{rid}").status_code == 200

    services.remove(world["member"], db.session.get(Resource, rid))  # its last user
    db.session.expire_all()
    assert db.session.get(StoredFile, file_id) is None
    assert not path.exists()
