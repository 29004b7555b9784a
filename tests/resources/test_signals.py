"""The two listeners: excellent homework and activity shares become library resources; search is told."""

import pytest
from sqlalchemy import func, select

from lms import signals
from lms.extensions import db
from lms.media import services as media
from lms.resources import services
from lms.resources.models import Resource
from tests.resources.conftest import upload_file


@pytest.fixture
def stored(app, world):
    with app.test_request_context():
        f = media.save_upload(upload_file(), owner=world["member"], purpose="homework")
        db.session.commit()
        return f


@pytest.fixture
def heard():
    got = []

    def listener(sender, kind=None, ids=None, **_):
        got.append((sender, kind, list(ids or [])))

    signals.content_changed.connect(listener)
    yield got
    signals.content_changed.disconnect(listener)


def test_excellent_homework_enters_the_region_library(app, world, stored, login_as, heard):
    with app.test_request_context():
        signals.homework_published.send(
            object(),
            expert=world["expert"],
            title="《分数的意义》研修作业",
            body_html="<p>优秀<script>x</script></p>",
            file_ids=[stored.id],
            context=world.workshop_a.context,
            author=world["member"],
        )
    r = db.session.scalar(select(Resource))
    assert r.context_id == world.county_a.context.id  # the region above the workshop
    assert (r.status, r.kind, r.source, r.owner_id) == ("excellent", "homework", "homework", world["member"].id)
    assert r.file_id == stored.id and "<script" not in r.description_html
    assert r.subject == "math" and r.stage == "primary"  # the author's subject, their school's stage
    assert heard == [("resources", "resource", [r.id])]
    assert login_as(world["teacher"]).get(f"/resources/{r.id}").status_code == 200  # county A teachers
    assert login_as(world["teacher_b"]).get(f"/resources/{r.id}").status_code == 404


def test_excellent_homework_with_several_attachments_files_them_all(app, world, heard):
    with app.test_request_context():
        files = [media.save_upload(upload_file(name=n), owner=world["member"], purpose="homework")
                 for n in ("教学设计.pdf", "课件.pdf", "反思.pdf")]  # fmt: skip
        db.session.commit()
        signals.homework_published.send(
            object(), expert=world["expert"], title="《分数的意义》研修作业", body_html="<p>案例正文</p>",
            file_ids=[f.id for f in files], context=world.workshop_a.context, author=world["member"],
        )  # fmt: skip
    rs = db.session.scalars(select(Resource).order_by(Resource.id)).all()
    assert [(r.title, r.file_id) for r in rs] == [
        ("《分数的意义》研修作业 · 教学设计", files[0].id),
        ("《分数的意义》研修作业 · 课件", files[1].id),
        ("《分数的意义》研修作业 · 反思", files[2].id),
    ]
    assert all(r.description_html == "<p>案例正文</p>" and r.status == "excellent" for r in rs)
    assert heard == [("resources", "resource", [r.id for r in rs])]  # one commit, one signal


def test_homework_without_files(app, world):
    with app.test_request_context():
        signals.homework_published.send(
            object(),
            expert=world["expert"],
            title="反思",
            body_html="<p>正文</p>",
            file_ids=[],
            context=world.school_b.context,
            author=world["teacher_b"],
        )
    r = db.session.scalar(select(Resource))
    assert r.file_id is None and r.context_id == world.county_b.context.id


def test_activity_share_files_into_the_workshop_library_once(app, world, stored, heard):
    for _ in range(2):
        with app.test_request_context():
            signals.activity_resource_shared.send(
                object(),
                user=world["member"],
                title="课堂观察量表",
                description="<b>线下</b>活动成果",
                file_id=stored.id,
                context=world.workshop_a.context,
            )
    assert db.session.scalar(select(func.count(Resource.id))) == 1
    r = db.session.scalar(select(Resource))
    assert (r.context_id, r.source, r.status, r.kind) == (world.workshop_a.context.id, "activity", "normal", "document")
    assert "<b>" not in r.description_html  # plain text from the activity, escaped
    assert len(heard) == 1


def test_search_source_documents(app, world, make_resource):
    personal = make_resource(world["teacher"], title="个人教案", description="<p>信息技术<b>融合</b></p>", tags="双减")
    shared = make_resource(world["member"], world.workshop_a.context, title="坊内课件", subject="math")
    docs = {d["id"]: d for d in services.search_documents(None)}
    assert docs[personal.id]["context_path"] is None and docs[personal.id]["owner_id"] == world["teacher"].id
    assert docs[personal.id]["body"] == "信息技术融合 双减 Yanxiu test"  # description, tags, the words in the file
    assert docs[shared.id]["context_path"] == world.workshop_a.context.path
    assert docs[shared.id]["url"] == f"/resources/{shared.id}" and docs[shared.id]["type"] == "document"
    assert docs[shared.id]["subject"] == "math" and docs[shared.id]["kind"] == "resource"
    assert [d["id"] for d in services.search_documents([shared.id])] == [shared.id]
    assert list(services.search_documents([])) == []


def test_removal_tells_search(world, make_resource):
    r = make_resource(world["teacher"])
    got = []

    def listener(sender, kind=None, ids=None, **_):
        got.append((kind, list(ids)))

    signals.content_deleted.connect(listener)
    try:
        rid = r.id
        services.remove(world["teacher"], r)
    finally:
        signals.content_deleted.disconnect(listener)
    assert got == [("resource", [rid])]
