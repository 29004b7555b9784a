"""Helpers for workshop-activity tests."""

from datetime import timedelta

import pytest

from lms.activities import workshop_services as svc
from lms.core.db import utcnow


@pytest.fixture
def make_activity(world, db):
    """make_activity(kind="discussion", workshop=None, opens=-1 (days from now), closes=+7 or None, **kw)."""

    def _make(kind="discussion", workshop=None, opens=-1, closes=7, host=None, **kw):
        workshop = workshop or world.workshop_a
        host = host or (world["host"] if workshop is world.workshop_a else world["host_b"])
        now = utcnow()
        return svc.create_activity(
            host,
            workshop,
            kind=kind,
            title=kw.pop("title", "主题研讨：课堂互动"),
            description=kw.pop("description", "请结合课例谈谈。"),
            opens_at=now + timedelta(days=opens),
            closes_at=now + timedelta(days=closes) if closes is not None else None,
            **kw,
        )

    return _make


LONG = "我在课堂上使用平板推送练习，学生提交后能立即看到全班的正确率，讲评更有针对性。"
