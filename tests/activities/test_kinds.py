"""Questionnaires, offline practice marking, resource sharing uploads, and a plugin-added kind."""

import io

import pytest
from sqlalchemy import func, select

from lms.activities import services as activity_services
from lms.activities import workshop_services as svc
from lms.activities.kinds import ActivityKind, get_kind, unregister_kind
from lms.activities.models import OfflineRecord, QuestionnaireResponse, SharedResource
from lms.extensions import db
from lms.plugins import PluginAPI
from lms.signals import activity_resource_shared
from tests.activities.test_isolation_xss import PNG

QUESTIONS = (
    "单选: 您的教龄？\n- 5年以下\n- 5-10年\n- 10年以上\n\n"
    "多选: 希望提升？\n- 信息技术\n- 教学设计\n- 作业设计\n\n问答: 建议"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_parse_questions():
    qs = svc.parse_questions(QUESTIONS)
    assert [q["kind"] for q in qs] == ["single", "multiple", "text"]
    assert qs[0]["options"] == ["5年以下", "5-10年", "10年以上"]
    with pytest.raises(svc.ActivityError):
        svc.parse_questions("单选: 只有一个选项\n- A")


def test_questionnaire_answer_once_and_results(world, login_as, make_activity):
    activity = make_activity(kind="questionnaire", questions=QUESTIONS)
    q1, q2, q3 = svc.questions_of(activity)
    member = login_as(world["member"])
    assert member.get(f"/activities/{activity.id}/results").status_code == 403  # not before answering
    r = member.post(
        f"/activities/{activity.id}/answer",
        data={f"q{q1.id}": "1", f"q{q2.id}": ["0", "2"], f"q{q3.id}": "多组织课例研讨"},
    )
    assert r.status_code == 302
    again = member.post(
        f"/activities/{activity.id}/answer", data={f"q{q1.id}": "0", f"q{q2.id}": "0"}, follow_redirects=True
    )
    assert "已经填写过" in again.get_data(as_text=True)
    with pytest.raises(svc.ActivityError):
        svc.answer(world["member"], activity, {q1.id: ["0"], q2.id: ["1"]})
    # A missing choice and an out-of-range option are refused.
    with pytest.raises(svc.ActivityError):
        svc.answer(world["leader"], activity, {q1.id: ["0"]})
    with pytest.raises(svc.ActivityError):
        svc.answer(world["leader"], activity, {q1.id: ["7"], q2.id: ["0"]})
    with pytest.raises(svc.ActivityError):
        svc.answer(world["leader"], activity, {q1.id: ["0", "1"], q2.id: ["0"]})  # single takes one
    svc.answer(world["leader"], activity, {q1.id: ["1"], q2.id: ["2"]})
    assert db.session.scalar(select(func.count(QuestionnaireResponse.id))) == 2
    res = svc.results(activity, with_texts=True)
    assert res[0]["counts"] == [0, 2, 0]
    assert res[1]["counts"] == [1, 0, 2]
    assert res[2]["texts"] == ["多组织课例研讨"]
    html = member.get(f"/activities/{activity.id}/results").get_data(as_text=True)
    assert 'class="chart"' in html and "echarts.common.min.js" in html
    assert "多组织课例研讨" not in html  # free texts: managers only
    assert "多组织课例研讨" in login_as(world["host"]).get(f"/activities/{activity.id}/results").get_data(as_text=True)
    # Questions are locked once answered.
    with pytest.raises(svc.ActivityError):
        svc.update_activity(
            world["host"],
            activity,
            title=activity.title,
            opens_at=activity.opens_at,
            closes_at=activity.closes_at,
            questions="单选: 新题\n- A\n- B",
        )


def test_offline_upload_and_marking(world, login_as, make_activity):
    activity = make_activity(kind="offline")
    shared = []

    def listener(sender, **kw):
        shared.append(kw)

    activity_resource_shared.connect(listener)
    try:
        member = login_as(world["member"])
        r = member.post(
            f"/activities/{activity.id}/offline",
            content_type="multipart/form-data",
            data={
                "form_file": (io.BytesIO(PNG), "鉴定表.png"),
                "note": "已盖章",
                "resources": [(io.BytesIO(PDF), "磨课教案.pdf"), (io.BytesIO(PDF), "反思.pdf")],
            },
        )
        assert r.status_code == 302
    finally:
        activity_resource_shared.disconnect(listener)
    record = db.session.scalar(select(OfflineRecord))
    assert record.user_id == world["member"].id and record.marked_at is None
    assert len(shared) == 2 and {s["title"] for s in shared} == {"磨课教案.pdf", "反思.pdf"}
    assert activity_services.member_resource_counts(world.workshop_a, [world["member"].id]) == {world["member"].id: 2}
    # The result form is private: its uploader and the managers.
    fid = record.form_file_id
    assert member.get(f"/activities/files/{fid}").status_code == 200
    assert login_as(world["leader"]).get(f"/activities/files/{fid}").status_code == 403
    assert login_as(world["host"]).get(f"/activities/files/{fid}").status_code == 200
    # Only managers mark.
    assert (
        login_as(world["leader"])
        .post(f"/activities/offline/{record.id}/mark", data={"score": "90", "passed": "1"})
        .status_code
        == 403
    )
    assert (
        login_as(world["host"])
        .post(f"/activities/offline/{record.id}/mark", data={"score": "88", "passed": "1", "comment": "好"})
        .status_code
        == 302
    )
    db.session.expire_all()
    record = db.session.get(OfflineRecord, record.id)
    assert record.score == 88 and record.passed and record.marked_by_id == world["host"].id
    with pytest.raises(svc.ActivityError):
        svc.submit_offline(world["member"], activity, None, note="改")
    with pytest.raises(svc.ActivityError):
        svc.mark_offline(world["host"], record, score=120, passed=True)
    # A text file is not a result form.
    from werkzeug.datastructures import FileStorage

    from lms.core.uploads import UploadError

    with pytest.raises(UploadError):
        svc.submit_offline(world["leader"], activity, FileStorage(io.BytesIO(b"hello world"), "form.png"))
    assert db.session.scalar(select(func.count(OfflineRecord.id))) == 1


def test_resource_sharing_validation(world, login_as, make_activity):
    activity = make_activity(kind="sharing")
    member = login_as(world["member"])
    ok = member.post(
        f"/activities/{activity.id}/resources",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(PDF), "教学设计.pdf"), "title": "《分数的意义》教学设计"},
    )
    assert ok.status_code == 302
    exe = member.post(
        f"/activities/{activity.id}/resources",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "课件.pdf")},
        follow_redirects=True,
    )
    assert "不接受" in exe.get_data(as_text=True)
    empty = member.post(
        f"/activities/{activity.id}/resources",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(b""), "空.pdf")},
        follow_redirects=True,
    )
    assert "文件是空的" in empty.get_data(as_text=True) or "空" in empty.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SharedResource.id))) == 1
    res = db.session.scalar(select(SharedResource))
    assert res.title == "《分数的意义》教学设计"
    assert login_as(world["member_b"]).get(f"/activities/files/{res.stored_file_id}").status_code == 404
    # Closed: no more uploads.
    closed = make_activity(kind="sharing", opens=-5, closes=-1)
    r = member.post(
        f"/activities/{closed.id}/resources",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(PDF), "晚了.pdf")},
        follow_redirects=True,
    )
    assert "已结束" in r.get_data(as_text=True)
    # Deleting it updates the counts.
    assert login_as(world["leader"]).post(f"/activities/resources/{res.id}/delete").status_code == 403
    assert member.post(f"/activities/resources/{res.id}/delete").status_code == 302
    assert activity_services.member_resource_counts(world.workshop_a, [world["member"].id]) == {world["member"].id: 0}


def test_members_cannot_delete_resources_after_close_or_once_marked(world, login_as, make_activity):
    from datetime import timedelta

    from lms.core.db import utcnow

    member = login_as(world["member"])
    # Resource sharing, closed after the upload.
    sharing = make_activity(kind="sharing")
    res = svc.share_resource(world["member"], sharing, _file(PDF, "教学设计.pdf"), "教学设计")
    sharing.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert f"/activities/resources/{res.id}/delete" not in member.get(f"/activities/{sharing.id}").get_data(
        as_text=True
    )
    r = member.post(f"/activities/resources/{res.id}/delete", follow_redirects=True)
    assert "本活动已结束" in r.get_data(as_text=True)
    assert db.session.get(SharedResource, res.id) is not None
    # Offline practice: deletable until the host marks the record, then kept (the mark judged them).
    offline = make_activity(kind="offline")
    svc.submit_offline(world["member"], offline, _file(PNG, "鉴定表.png"),
                       [_file(PDF, "磨课教案.pdf"), _file(PDF, "反思.pdf")])  # fmt: skip
    first, second = (r.id for r in svc.resources_of(offline))
    assert f"/activities/resources/{first}/delete" in member.get(f"/activities/{offline.id}").get_data(as_text=True)
    assert member.post(f"/activities/resources/{first}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(SharedResource, first) is None
    svc.mark_offline(world["host"], svc.my_offline_record(offline, world["member"]), score=90, passed=True)
    html = member.get(f"/activities/{offline.id}").get_data(as_text=True)
    assert f"/activities/resources/{second}/delete" not in html
    r = member.post(f"/activities/resources/{second}/delete", follow_redirects=True)
    assert "坊主已评定你的线下实践" in r.get_data(as_text=True)
    assert db.session.get(SharedResource, second) is not None
    assert activity_services.member_resource_counts(world.workshop_a, [world["member"].id]) == {world["member"].id: 2}
    # Managers still may.
    host = login_as(world["host"])
    assert f"/activities/resources/{second}/delete" in host.get(f"/activities/{offline.id}").get_data(as_text=True)
    assert host.post(f"/activities/resources/{second}/delete").status_code == 302
    assert host.post(f"/activities/resources/{res.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(SharedResource.id))) == 0


def _file(data: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(data), name)


def test_plugin_added_kind(app, world, login_as):
    seen = []
    kind = ActivityKind(
        "lesson_prep",
        "协同备课",
        "activities/kinds/discussion.html",
        posts=True,
        hooks={"on_created": seen.append, "context": lambda activity, user: {"lesson_prep_note": "集体备课"}},
    )
    PluginAPI(app, "lessonprep").register_activity_kind(kind)
    try:
        assert get_kind("lesson_prep") is kind
        host = login_as(world["host"])
        assert "协同备课" in host.get(f"/workshops/{world.workshop_a.id}/activities/new").get_data(as_text=True)
        r = host.post(
            f"/workshops/{world.workshop_a.id}/activities/new",
            data={"kind": "lesson_prep", "title": "三年级数学集体备课", "opens_at": "2020-01-01T08:00"},
        )
        assert r.status_code == 302
        assert len(seen) == 1 and seen[0].kind == "lesson_prep"
        from lms.activities.models import Activity

        activity = db.session.get(Activity, seen[0].id)
        post = svc.create_post(world["member"], activity, "我负责第二课时的教学设计，初稿已完成，请大家提意见。")
        assert post.effective
        html = login_as(world["member"]).get(f"/activities/{activity.id}").get_data(as_text=True)
        assert "协同备课" in html and "三年级数学集体备课" in html
    finally:
        unregister_kind("lesson_prep")


def test_api_posts_and_replies(world, make_activity, app):
    from lms.accounts import services as accounts

    activity = make_activity()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.issue_token(world['member'], 1)}"
    r = client.post(
        f"/api/v1/activities/{activity.id}/posts", json={"body": "通过接口发帖，内容足够长，满足有效帖的要求。"}
    )
    assert r.status_code == 201, r.get_json()
    pid = r.get_json()["id"]
    r = client.post(f"/api/v1/posts/{pid}/replies", json={"body": "接口回复"})
    assert r.status_code == 201 and r.get_json()["parent_id"] == pid
    assert client.post(f"/api/v1/posts/{pid}/like").get_json() == {"like_count": 1, "liked": True}
    assert client.post(f"/api/v1/posts/{pid}/like").get_json()["like_count"] == 1
    items = client.get(f"/api/v1/activities/{activity.id}/posts").get_json()["items"]
    assert items[0]["replies"][0]["body_html"] == "<p>接口回复</p>" and items[0]["liked"]
    lst = client.get(f"/api/v1/workshops/{world.workshop_a.id}/activities").get_json()["items"]
    assert lst[0]["phase"] == "open"
    closed = make_activity(opens=-5, closes=-1)
    r = client.post(f"/api/v1/activities/{closed.id}/posts", json={"body": "太晚了"})
    assert r.status_code == 409 and r.get_json()["error"]["message"] == "closed"


def _marked_record(world, make_activity):
    activity = make_activity(kind="offline")
    record = svc.submit_offline(world["member"], activity, _file(PNG, "鉴定表.png"))
    return activity, record


def test_offline_mark_comment_is_shown_to_the_member_and_kept_on_re_mark(world, login_as, make_activity):
    activity, record = _marked_record(world, make_activity)
    host = login_as(world["host"])
    page = host.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert 'name="comment"' in page and f'id="comment-{record.id}"' in page
    url = f"/activities/offline/{record.id}/mark"
    comment = "表格盖章清晰。\n教案设计合理，建议补充课后反思。"
    assert host.post(url, data={"score": "85", "passed": "1", "comment": comment}).status_code == 302
    db.session.expire_all()
    assert db.session.get(OfflineRecord, record.id).comment == comment
    member_page = login_as(world["member"]).get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "坊主评语" in member_page and "建议补充课后反思" in member_page
    # The marking form shows the stored comment, so marking again sends it back unchanged…
    page = host.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "建议补充课后反思。</textarea>" in page
    # …and a form without the field (an older page) does not wipe it.
    assert host.post(url, data={"score": "90", "passed": "1"}).status_code == 302
    db.session.expire_all()
    record = db.session.get(OfflineRecord, record.id)
    assert record.score == 90 and record.comment == comment
    # Emptying the field on purpose clears it; a comment too long is refused, nothing changes.
    r = host.post(url, data={"score": "91", "passed": "1", "comment": "好" * 2001}, follow_redirects=True)
    assert "评语过长" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(OfflineRecord, record.id).score == 90
    assert host.post(url, data={"score": "90", "passed": "1", "comment": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(OfflineRecord, record.id).comment == ""


def test_offline_mark_comment_xss_payloads_come_back_inert(world, login_as, make_activity, xss_payloads):
    from tests.html_checks import live_markup

    activity, record = _marked_record(world, make_activity)
    host, member = login_as(world["host"]), login_as(world["member"])
    url = f"/activities/offline/{record.id}/mark"
    for payload in xss_payloads:
        assert host.post(url, data={"score": "80", "passed": "1", "comment": payload}).status_code == 302
        for client in (member, host):
            page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
            assert live_markup(page) == [], (payload, live_markup(page)[:3])
        db.session.expire_all()
        stored = db.session.get(OfflineRecord, record.id).comment
        assert "\x00" not in stored and len(stored) <= 2000


def test_questionnaire_help_names_the_prefixes_of_each_language(world, login_as):
    """English users are told the English prefixes the parser takes; the Chinese help keeps 单选/多选/问答."""
    host = login_as(world["host"])
    url = f"/workshops/{world.workshop_a.id}/activities/new"
    zh = host.get(url).get_data(as_text=True)
    assert "单选: 题干" in zh and "问答: 题干" in zh
    host.post("/lang/en", data={"next": "/"})
    en = host.get(url).get_data(as_text=True)
    assert "&#34;single: question&#34;" in en or '"single: question"' in en
    assert "multiple: question" in en and "text: question" in en
    assert "单选" not in en
    parsed = svc.parse_questions("single: Years?\n- <5\n- 5+\n\nmultiple: Tools?\n- A\n- B\n\ntext: Why?")
    assert [q["kind"] for q in parsed] == ["single", "multiple", "text"]
