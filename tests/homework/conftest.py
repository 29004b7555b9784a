"""Homework fixtures: workshop A with eight members in two study groups and an assignment."""

from datetime import timedelta

import pytest

from lms.communities import services as community
from lms.core.db import utcnow
from lms.extensions import db
from lms.homework import services
from tests.factories import make_user


@pytest.fixture
def hw(world):
    """world + six more members of workshop A (groups: 第一组 has member, leader, m1, m2; 第二组 m3..m6)."""
    group_b = community.create_group(world.workshop_a, "第二组")
    extra = []
    for i in range(1, 7):
        u = make_user(f"hw_m{i}", f"成员{i}", world.school_a, subject="math")
        community.add_member(world.workshop_a, u, world.group_a if i <= 2 else group_b)
        extra.append(u)
    db.session.commit()
    members = [world["member"], world["leader"], *extra]
    now = utcnow()
    a = services.create_assignment(
        world["host"],
        world.workshop_a.context,
        services.AssignmentInput(
            title="教学改进案例",
            instructions="写一份案例",
            submission_opens_at=now - timedelta(days=1),
            submission_due_at=now + timedelta(days=2),
            review_due_at=now + timedelta(days=5),
            closes_at=now + timedelta(days=8),
            reviews_per_member=3,
            anonymous=True,
        ),
    )
    return {"world": world, "a": a, "members": members, "now": now, "group_b": group_b}
