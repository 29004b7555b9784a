"""A member posts and replies in a workshop discussion on a phone-width page."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lms.activities import workshop_services as svc
from lms.activities.models import Post
from lms.core.db import utcnow
from lms.extensions import db
from tests.e2e.conftest import login, no_horizontal_scroll, snap


def test_post_and_reply_on_a_phone(page, e2e_world):
    if page.device != "phone":
        pytest.skip("phone-width test")
    w = e2e_world
    now = utcnow()
    activity = svc.create_activity(w["host"], w.workshop_a, kind="discussion", title="主题研讨：信息技术与课堂互动",
                                   description="结合一节课谈谈你的做法。", opens_at=now - timedelta(days=1),
                                   closes_at=now + timedelta(days=7))  # fmt: skip
    svc.create_post(w["leader"], activity, "我先抛砖引玉：课堂上用随机点名工具，学生参与度明显提高了。")
    login(page, "member_a")
    page.goto(f"/workshops/{w.workshop_a.id}")
    link = page.locator("#activities a", has_text="信息技术与课堂互动")
    assert link.count() == 1, page.locator("#activities").inner_html()
    link.click()
    page.wait_for_url(f"**/activities/{activity.id}")
    assert no_horizontal_scroll(page)
    # The post field is a rich-text editor (lms/static/js/richtext.js): a bold phrase and a list.
    editor = page.locator(".rich-editor .ql-editor")
    editor.wait_for()
    assert page.locator("#post-body").is_hidden()
    editor.click()
    page.keyboard.type("我在数学课上用平板推送练习，")
    page.keyboard.press("Control+b")
    page.keyboard.type("全班正确率即时可见")
    page.keyboard.press("Control+b")
    page.keyboard.type("，讲评更有针对性。")
    page.keyboard.press("Enter")
    page.locator(".rich-editor .ql-toolbar button.ql-list[value=bullet]").click()
    page.keyboard.type("课前推送")
    page.keyboard.press("Enter")
    page.keyboard.type("课后反馈")
    snap(page, "activity-editor")
    assert no_horizontal_scroll(page)
    page.get_by_role("button", name="发布").click()
    page.wait_for_load_state()
    mine = page.locator("article.post", has_text="平板推送练习")
    mine.wait_for()
    assert mine.locator(".badge", has_text="有效帖").count() == 1
    assert mine.locator("strong", has_text="全班正确率即时可见").count() == 1
    assert mine.locator("ul > li").all_inner_texts() == ["课前推送", "课后反馈"]
    db.session.rollback()  # the live server committed the post in its own thread
    stored = db.session.scalar(select(Post.body_html).where(Post.activity_id == activity.id,
                                                             Post.body_text.contains("平板推送")))  # fmt: skip
    assert stored.startswith("<p>我在数学课上用平板推送练习，<strong>全班正确率即时可见</strong>")
    assert "<ul><li>课前推送</li><li>课后反馈</li></ul>" in stored and "&nbsp;" not in stored
    # Editing shows the formatted post in the editor (not its HTML source) and keeps it.
    post_id = db.session.scalar(select(Post.id).where(Post.activity_id == activity.id,
                                                      Post.body_text.contains("平板推送")))  # fmt: skip
    page.goto(f"/posts/{post_id}/edit")
    editor = page.locator(".rich-editor .ql-editor")
    editor.locator("strong", has_text="全班正确率即时可见").wait_for()
    assert "<strong>" not in editor.inner_text() and editor.locator("li").count() == 2
    snap(page, "post-edit")
    editor.locator("li", has_text="课后反馈").click()
    page.keyboard.press("End")
    page.keyboard.type("与 English words")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    db.session.rollback()
    stored = db.session.scalar(select(Post.body_html).where(Post.id == post_id))
    assert "<li>课后反馈与 English words</li>" in stored and "<strong>全班正确率即时可见</strong>" in stored
    # Reply to the leader's post: the reply box gets a compact editor when opened, focused.
    leader_post = page.locator("article.post", has_text="抛砖引玉")
    assert leader_post.locator(".rich-editor").count() == 0  # built only on demand
    leader_post.locator("summary", has_text="回复").first.click()
    reply_editor = leader_post.locator(".reply-box .rich-editor-compact .ql-editor").first
    reply_editor.wait_for()
    assert leader_post.locator(".reply-box textarea[name=body]").first.is_hidden()
    page.wait_for_function("document.activeElement && document.activeElement.classList.contains('ql-editor')")
    # Sending it empty says why nothing happened, in words, not only a red border.
    leader_post.get_by_role("button", name="发送回复").first.click()
    feedback = leader_post.locator(".reply-box .rich-editor-compact .invalid-feedback").first
    expect(feedback).to_have_text("请先输入内容。")
    expect(feedback).to_be_visible()
    page.keyboard.type("赞同，")
    page.keyboard.press("Control+b")
    page.keyboard.type("我下周也试一试")
    page.keyboard.press("Control+b")
    page.keyboard.type("。")
    assert no_horizontal_scroll(page)
    snap(page, "reply-editor")
    leader_post.get_by_role("button", name="发送回复").first.click()
    page.wait_for_load_state()
    reply = page.locator("article.post", has_text="抛砖引玉").locator("li.reply", has_text="我下周也试一试")
    reply.wait_for()
    expect(page.locator(".invalid-feedback:visible")).to_have_count(0)
    assert reply.locator("strong", has_text="我下周也试一试").count() == 1
    # Like it, once.
    like = page.locator("article.post", has_text="抛砖引玉").locator("button.like-btn").first
    like.click()
    page.wait_for_load_state()
    assert page.locator("article.post", has_text="抛砖引玉").locator(".like-count").first.inner_text() == "1"
    assert no_horizontal_scroll(page)
    snap(page, "activity-discussion")


def test_questionnaire_asks_for_a_multiple_choice_before_sending_on_a_phone(page, e2e_world):
    if page.device != "phone":
        pytest.skip("phone-width test")
    w = e2e_world
    now = utcnow()
    questions = "单选: 您的教龄？\n- 5年以下\n- 5年以上\n\n多选: 希望提升？\n- 信息技术\n- 作业设计\n\n问答: 建议"
    activity = svc.create_activity(w["host"], w.workshop_a, kind="questionnaire", title="研修需求问卷",
                                   opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=7),
                                   questions=questions)  # fmt: skip
    login(page, "member_a")
    page.goto(f"/activities/{activity.id}")
    page.get_by_label("5年以上").check()
    page.locator("form.questionnaire textarea").fill("希望多组织课例研讨。")
    page.get_by_role("button", name="提交答案").click()
    # The browser stops it (activities.js): one box of the multiple-choice question must be ticked.
    first_box = page.get_by_label("信息技术")
    assert first_box.evaluate("el => el.validationMessage") == "请至少选择一项。"
    assert page.url.endswith(f"/activities/{activity.id}")
    assert page.locator("form.questionnaire textarea").input_value() == "希望多组织课例研讨。"
    assert no_horizontal_scroll(page)
    page.get_by_label("作业设计").check()
    assert first_box.evaluate("el => el.validationMessage") == ""
    page.get_by_role("button", name="提交答案").click()
    page.wait_for_url(f"**/activities/{activity.id}/results")
