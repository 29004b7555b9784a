"""A refused post, reply or questionnaire gives back what the user typed, with the reason."""

import html as htmllib
import io
import re
from datetime import timedelta

from sqlalchemy import func, select

from lms.activities import workshop_services as svc
from lms.activities.models import Activity, Post, QuestionnaireResponse
from lms.core.db import utcnow
from lms.extensions import db
from tests.activities.conftest import LONG
from tests.activities.test_kinds import QUESTIONS
from tests.html_checks import live_markup

WRITTEN = "我的长篇心得：课堂上用平板推送分层练习，再按正确率分组讲评，效果比以前好很多。"


def _textarea(page: str, ident: str) -> str:
    """The text a textarea of the page holds (what its editor starts with)."""
    m = re.search(rf'<textarea[^>]*id="{ident}"[^>]*>(.*?)</textarea>', page, re.S)
    assert m, f"no textarea #{ident}"
    return htmllib.unescape(m.group(1))


def _section(page: str, ident: str) -> str:
    m = re.search(rf'<section[^>]*id="{ident}"[^>]*>(.*?)</section>', page, re.S)
    assert m, f"no section #{ident}"
    return m.group(1)


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def test_a_refused_post_comes_back_with_the_reason(world, login_as, make_activity):
    activity = make_activity()
    member = login_as(world["member"])
    url = f"/activities/{activity.id}/posts"
    # Empty.
    r = member.post(url, data={"body": "  "})
    assert r.status_code == 422 and "请输入内容" in r.get_data(as_text=True)
    # Too long: the text is all there to shorten.
    long_text = "长" * (svc.BODY_MAX + 1)
    r = member.post(url, data={"body": long_text})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "正文过长" in page
    assert long_text in _textarea(page, "post-body")
    # A refused upload: the text stays, the files must be chosen again (browsers cannot refill them).
    exe = (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "课件.png")
    r = member.post(url, data={"body": WRITTEN, "files": exe}, content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "请重新选择文件" in page
    assert WRITTEN in _textarea(page, "post-body")
    # Closed meanwhile: the reason, and the text to copy (no send button any more).
    activity.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    r = member.post(url, data={"body": f"<p>{WRITTEN}</p><p><strong>第二段</strong></p>"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "本活动已结束" in page
    assert _textarea(page, "post-body") == f"<p>{WRITTEN}</p><p><strong>第二段</strong></p>"
    assert 'type="submit"' not in _section(page, "new-post") and "如需保留，请复制你写的内容" in page
    assert _count(Post) == 0


def test_a_refused_reply_comes_back_wherever_its_post_is(world, login_as, make_activity):
    activity = make_activity()
    first = svc.create_post(world["leader"], activity, LONG)
    for i in range(25):  # the first post is now on page 2
        svc.create_post(world["leader"], activity, f"第{i}条：{LONG}"[:40] + str(i) * 20)
    member = login_as(world["member"])
    r = member.post(f"/posts/{first.id}/reply", data={"body": ""})
    assert r.status_code == 422 and "请输入内容" in r.get_data(as_text=True)
    assert 'type="submit"' in _section(r.get_data(as_text=True), "reply-draft")  # open: send it again there
    activity.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    r = member.post(f"/posts/{first.id}/reply", data={"body": WRITTEN})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "本活动已结束" in page
    assert WRITTEN in _textarea(page, "reply-draft-body")
    assert 'type="submit"' not in _section(page, "reply-draft")
    assert f'href="#post-{first.id}"' in page and "王组长" in page
    assert _count(Post) == 26


def test_refused_drafts_come_back_inert(world, login_as, make_activity, xss_payloads):
    activity = make_activity(opens=-5, closes=-1)  # closed: every post is refused and reflected
    parent_activity = make_activity()
    parent = svc.create_post(world["leader"], parent_activity, LONG)
    db.session.get(Activity, parent_activity.id).closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    member = login_as(world["member"])
    for payload in xss_payloads:
        for url, ident in ((f"/activities/{activity.id}/posts", "post-body"), (f"/posts/{parent.id}/reply",
                                                                               "reply-draft-body")):  # fmt: skip
            r = member.post(url, data={"body": payload + " 正文"})
            page = r.get_data(as_text=True)
            assert r.status_code == 422, payload
            assert live_markup(page) == [], (payload, live_markup(page)[:3])
            # What the editor loads is the sanitized HTML, as a stored post would be.
            assert live_markup(_textarea(page, ident)) == [], payload
    assert _count(Post) == 1


def test_questionnaire_answers_are_kept_and_the_missing_question_named(world, login_as, make_activity):
    activity = make_activity(kind="questionnaire", questions=QUESTIONS + "\n\n多选: 常用工具？\n- 白板\n- 平板")
    q1, q2, q3, q4 = svc.questions_of(activity)
    member = login_as(world["member"])
    page = member.get(f"/activities/{activity.id}").get_data(as_text=True)
    # Multiple-choice questions are checked in the browser too (activities.js uses this message).
    assert page.count("data-choose-one=") == 2
    r = member.post(f"/activities/{activity.id}/answer",
                    data={f"q{q1.id}": "1", f"q{q3.id}": "希望多组织<b>课例</b>研讨"})  # fmt: skip
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "请回答第 2, 4 题" in page
    assert 'id="question-2"' in page and re.search(r'class="mb-3 q-missing" id="question-2"', page)
    assert not re.search(r'class="mb-3 q-missing" id="question-1"', page)
    # The answers given are still there: the chosen option and the free text.
    assert re.search(rf'id="q{q1.id}-1" value="1" required checked', page)
    assert not re.search(rf'id="q{q1.id}-0" value="0" required checked', page)
    assert _textarea(page, f"q{q3.id}") == "希望多组织<b>课例</b>研讨"
    assert _count(QuestionnaireResponse) == 0
    r = member.post(f"/activities/{activity.id}/answer",
                    data={f"q{q1.id}": "1", f"q{q2.id}": ["0", "2"], f"q{q3.id}": "好", f"q{q4.id}": "1"})  # fmt: skip
    assert r.status_code == 302 and _count(QuestionnaireResponse) == 1


def test_questionnaire_refused_after_close_keeps_answers(world, login_as, make_activity):
    activity = make_activity(kind="questionnaire", questions=QUESTIONS)
    q1, q2, q3 = svc.questions_of(activity)
    activity.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    r = login_as(world["member"]).post(
        f"/activities/{activity.id}/answer", data={f"q{q1.id}": "0", f"q{q2.id}": "1", f"q{q3.id}": "很长的建议"}
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "本活动已结束" in page
    assert _textarea(page, f"q{q3.id}") == "很长的建议"
    assert re.search(rf'id="q{q2.id}-1" value="1"\s*checked', page)
    # Nothing to send any more: the text is there to copy.
    assert 'type="submit"' not in _section(page, "questionnaire") and "如需保留，请复制你写的内容" in page
