"""The demo's learning history: today's snapshot, and two weeks before it for the trend to show."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from lms.extensions import db
from lms.stats import services
from lms.stats.models import LearningSnapshot

DAYS = 13


def on_demo_built(result=None, **_):
    """The demo seeds its study time in one go, so its past days are made up: each earlier day's
    figures are today's scaled down linearly (teachers stay), as a province's first weeks climb."""
    now = datetime.now(UTC)
    services.take_snapshot(now)
    day = services.today(now)
    rows = list(db.session.scalars(select(LearningSnapshot).where(LearningSnapshot.day == day)))
    counts = ("signed_in", "studying", "completed", "active_week")
    past = []
    for back in range(1, DAYS + 1):
        share = (DAYS + 1 - back) / (DAYS + 1)
        for r in rows:
            past.append({"unit_kind": r.unit_kind, "unit_id": r.unit_id, "day": day - timedelta(days=back),
                         "teachers": r.teachers, "taken_at": now,
                         **{k: int(getattr(r, k) * share) for k in counts},
                         "seconds": r.seconds * share})  # fmt: skip
    if past:
        db.session.execute(insert(LearningSnapshot), past)
    db.session.commit()
