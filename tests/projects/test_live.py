"""Live Q&A held for a training project: its trainees are told, watch, ask and vote; teachers of
the same county who are not enrolled see nothing of it (DOMAIN §7: sessions for a project)."""

from datetime import timedelta

from sqlalchemy import select

from lms.core.db import utcnow
from lms.extensions import db
from lms.live import services as live
from lms.notifications.models import Notification


def test_trainees_are_the_audience_of_their_projects_sessions(world, projects, login_as):
    a = projects.a  # `teacher` (school A) is enrolled; `member` (school A too) is not
    start = utcnow() + timedelta(days=1)
    s = live.schedule(projects.pm_a, a.context, "项目专家答疑", start, start + timedelta(hours=1))
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.url == f"/live/{s.id}")))
    assert world["teacher"].id in told and world["member"].id not in told
    assert live.can_view(world["teacher"], s) and login_as(world["teacher"]).get(f"/live/{s.id}").status_code == 200
    q = live.ask(world["teacher"], s, "项目考核怎么安排？")
    assert live.vote(world["teacher"], q)
    for outsider in ("member", "teacher_b"):
        assert not live.can_view(world[outsider], s)
        assert login_as(world[outsider]).get(f"/live/{s.id}").status_code == 404
