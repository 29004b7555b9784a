"""Excellent work goes to the experts of its subject (DOMAIN.md §6), not to every expert."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.access.services import assign
from lms.extensions import db
from lms.homework import services
from lms.notifications.models import Notification
from tests.factories import make_user
from tests.homework.test_services import submit_all


@pytest.fixture
def experts(hw):
    w = hw["world"]
    out = {
        "math": make_user("expert_math", "数学专家", subject="math"),
        "chinese": make_user("expert_chinese", "语文专家", subject="chinese"),
        "any": make_user("expert_any", "通用专家"),
    }
    for u in out.values():
        assign(u, "expert", w.city.context)  # their role reaches every workshop of the city
    db.session.commit()
    return out


def recommended_submission(hw):
    a = hw["a"]
    submit_all(hw)
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    s = services.submission_of(a, hw["members"][0])
    services.recommend(hw["world"]["host"], s)
    return s


def notified(user):
    return db.session.scalars(
        select(Notification.text).where(Notification.user_id == user.id, Notification.kind == "homework")
    ).all()


def test_only_experts_of_the_subject_are_notified(hw, experts):
    recommended_submission(hw)  # workshop A teaches math
    assert notified(experts["math"]) and notified(experts["any"]) and notified(hw["world"]["expert"])
    assert notified(experts["chinese"]) == []


def test_expert_sees_and_publishes_only_their_subject(hw, experts):
    s = recommended_submission(hw)
    w = hw["world"]
    assert services.recommended(experts["chinese"]) == []
    assert not services.may_publish(experts["chinese"], s.assignment)
    with pytest.raises(PermissionError):
        services.publish(experts["chinese"], s)
    assert s.published_at is None
    assert services.recommended(experts["math"]) == [s]
    assert services.recommended(experts["any"]) == [s]  # no subject set: every subject
    assert services.recommended(w["site_admin"]) == [s]  # publish by an admin role: everything
    assert services.may_publish(w["site_admin"], s.assignment)
    services.publish(experts["math"], s)
    assert s.published_at is not None


def test_class_workshop_without_subject_goes_to_every_expert(hw, experts):
    hw["world"].workshop_a.subject = None
    db.session.commit()
    s = recommended_submission(hw)
    assert notified(experts["chinese"])
    assert services.recommended(experts["chinese"]) == [s]


def test_publish_page_refuses_an_expert_of_another_subject(client, login_as, hw, experts):
    s = recommended_submission(hw)
    c = login_as(experts["chinese"])
    assert c.post(f"/homework/submissions/{s.id}/publish").status_code == 403
    page = c.get("/homework/excellent")
    assert page.status_code == 200 and f'id="s{s.id}"' not in page.get_data(as_text=True)
    db.session.refresh(s)
    assert s.published_at is None
