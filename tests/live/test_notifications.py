"""Live Q&A notifications: a session is announced to its audience and experts, reminded once before
it starts (the scheduler's task), Q&A questions reach the experts on duty and answers the asker."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from lms.core.db import utcnow
from lms.core.schedule import run_due
from lms.extensions import db
from lms.live import services
from lms.notifications.models import Notification
from tests.factories import make_user
from tests.html_checks import live_markup


def told(kind, user=None):
    stmt = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    return list(db.session.scalars(stmt))


def test_scheduling_tells_the_audience_and_the_experts(world, db):
    start = utcnow() + timedelta(days=2)
    other_subject = make_user("chinese_a", "周老师", world.school_a, subject="chinese")
    db.session.commit()
    s = services.schedule(world["host"], world.workshop_a.context, "数学复习课答疑", start, start + timedelta(hours=1),
                          "math", experts=[world["expert"]])  # fmt: skip
    local = start.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    member = told("live", world["member"])
    assert len(member) == 1 and "数学复习课答疑" in member[0].text and local in member[0].text
    assert member[0].url == f"/live/{s.id}"
    assert "专家" in told("live", world["expert"])[0].text  # the expert is told they answer
    assert told("live", world["host"]) == []  # not the one who scheduled it
    assert told("live", other_subject) == []  # a math session: not the Chinese teacher of the school
    assert told("live", world["teacher_b"]) == []  # nor anyone of the other county
    assert s.reminded_at is None


def test_the_reminder_comes_once_before_the_start(app, world, db):
    start = utcnow() + timedelta(hours=3)
    s = services.schedule(world["expert"], world.workshop_a.context, "期末复习专家答疑", start,
                          start + timedelta(hours=1), "math")  # fmt: skip
    assert services.remind_upcoming() == 0  # three hours ahead: not yet
    assert services.remind_upcoming(start - timedelta(minutes=20)) == 1
    assert services.remind_upcoming(start - timedelta(minutes=10)) == 0
    reminders = [n for n in told("live", world["member"]) if "将于" in n.text]
    assert len(reminders) == 1 and "期末复习专家答疑" in reminders[0].text
    # Through the scheduler: a session starting in 20 minutes, no page view.
    soon = utcnow() + timedelta(minutes=40)
    s2 = services.schedule(world["expert"], world.workshop_a.context, "临时加场", soon, soon + timedelta(hours=1))
    s2.starts_at = utcnow() + timedelta(minutes=20)
    db.session.commit()
    assert run_due(app, force=True)["live.remind_upcoming"] == "ok"
    assert [n for n in told("live", world["member"]) if "临时加场" in n.text and "将于" in n.text]
    assert s.reminded_at is not None


def test_a_session_that_starts_soon_is_announced_once(world, db):
    start = utcnow() + timedelta(minutes=15)
    s = services.schedule(world["expert"], world.workshop_a.context, "马上开始", start, start + timedelta(hours=1))
    assert s.reminded_at is not None
    assert services.remind_upcoming() == 0
    assert len(told("live", world["member"])) == 1


def test_questions_reach_the_experts_on_duty_and_answers_the_asker(world, login_as, db):
    services.add_slot(world["expert"], world.workshop_a.context, "math", 2)
    t = services.ask_thread(world["member"], world.school_a.context, "分数应用题怎么讲？", "学生总是混淆单位一。",
                            "math")  # fmt: skip
    # The expert's slot is held in workshop A, not above school A: not told about the school's question.
    assert told("qa", world["expert"]) == []
    t = services.ask_thread(world["member"], world.workshop_a.context, "分数应用题怎么讲？", "学生总是混淆单位一。",
                            "math")  # fmt: skip
    assert [n.url for n in told("qa", world["expert"])] == [f"/live/qa/{t.id}"]
    assert services.ask_thread(world["member"], world.workshop_a.context, "作文怎么批改？", "", "chinese")
    assert len(told("qa", world["expert"])) == 1  # not their subject
    # The expert answers through the page: the asker is told, with a link to the answer.
    r = login_as(world["expert"]).post(f"/live/qa/{t.id}", data={"body": "先画线段图，再找单位一。"})
    assert r.status_code == 302
    [n] = told("qa", world["member"])
    assert "吴专家" in n.text and "专家" in n.text and "分数应用题怎么讲" in n.text
    assert n.url.startswith(f"/live/qa/{t.id}#answer-")
    page = login_as(world["member"]).get(n.url.split("#")[0]).get_data(as_text=True)
    assert f'id="{n.url.split("#")[1]}"' in page
    # Answering one's own thread tells nobody.
    services.answer_thread(world["member"], t, "谢谢专家！")
    assert len(told("qa", world["member"])) == 1


def test_notification_texts_are_inert(world, db, login_as, xss_payloads):
    """Titles carrying the public XSS corpus reach the notification list as text, nothing live."""
    start = utcnow() + timedelta(days=1)
    scheduled = 0
    for payload in xss_payloads:
        try:
            services.schedule(world["expert"], world.workshop_a.context, payload, start, start + timedelta(hours=1))
            scheduled += 1
        except services.LiveError:  # a payload that is empty once cleaned is refused as a title
            pass
    assert scheduled > 0.9 * len(xss_payloads)
    assert len(told("live", world["member"])) == scheduled
    client = login_as(world["member"])
    for page in range(1, scheduled // 20 + 2):
        html = client.get(f"/notifications?page={page}").get_data(as_text=True)
        assert live_markup(html) == [], page


def test_questions_skip_experts_who_left_or_lost_the_role(world, db):
    from lms.access.models import RoleAssignment

    services.add_slot(world["expert"], world.workshop_a.context, "math", 2)
    world["expert"].active = False
    db.session.commit()
    services.ask_thread(world["member"], world.workshop_a.context, "问题一", "", "math")
    assert told("qa", world["expert"]) == []
    world["expert"].active = True
    db.session.query(RoleAssignment).filter_by(user_id=world["expert"].id, role="expert").delete()
    db.session.commit()
    services.ask_thread(world["member"], world.workshop_a.context, "问题二", "", "math")
    assert told("qa", world["expert"]) == []  # the slot is still there; the role to answer is not
