"""Notifications are stored once for many readers: in the site's language (zh_CN), never in the
language of the user whose request sent them, and the same from the scheduler."""

import io
from datetime import timedelta

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from lms.activities import workshop_services as svc
from lms.activities.models import Activity, OfflineRecord
from lms.core.db import utcnow
from lms.extensions import db
from lms.notifications.models import Notification
from tests.activities.test_isolation_xss import PNG


def _texts(user, kind):
    db.session.expire_all()
    return list(
        db.session.scalars(select(Notification.text).where(Notification.user_id == user.id, Notification.kind == kind))
    )


def _english(client):
    client.post("/lang/en", data={"next": "/"})
    assert 'lang="en"' in client.get("/me").get_data(as_text=True)  # the host's own UI is English
    return client


def test_texts_sent_by_an_english_ui_request_are_in_the_site_language(world, login_as):
    host = _english(login_as(world["host"]))
    ws = world.workshop_a
    r = host.post(f"/workshops/{ws.id}/activities/new",
                  data={"kind": "offline", "title": "线下磨课", "opens_at": "2020-01-01T08:00",
                        "closes_at": "2099-01-01T08:00"})  # fmt: skip
    assert r.status_code == 302
    assert _texts(world["member"], "activity") == [f"{ws.name} 发布了新活动：线下磨课"]
    activity = db.session.scalar(select(Activity))
    svc.submit_offline(world["member"], activity, FileStorage(io.BytesIO(PNG), "表.png"))
    record = db.session.scalar(select(OfflineRecord))
    assert host.post(f"/activities/offline/{record.id}/mark", data={"score": "90", "passed": "1"}).status_code == 302
    assert _texts(world["member"], "activity_marked") == ["你在“线下磨课”中提交的成绩鉴定表已评定。"]
    r = host.post(f"/workshops/{ws.id}/briefs/new", data={"title": "简报第3期", "body": "内容"})
    assert r.status_code == 302
    assert _texts(world["member"], "brief") == ["新简报：简报第3期"]


def test_the_scheduler_writes_the_site_language_too(world, make_activity):
    activity = make_activity(opens=1, closes=5, title="暑期研讨")
    activity.opens_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert svc.announce_opened() == 1  # no request: app context only, as under cron
    assert _texts(world["member"], "activity") == [f"{world.workshop_a.name} 发布了新活动：暑期研讨"]
