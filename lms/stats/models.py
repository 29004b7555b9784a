"""One stored row per day and unit of the learning figures (学情日报, DOMAIN.md §10)."""

from datetime import date, datetime

from sqlalchemy import Date, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import UTCDateTime, utcnow
from lms.extensions import db


class LearningSnapshot(db.Model):
    """A region's or a school's figures on one day (the site's local date). The hourly snapshot task
    rewrites the day's rows, so the last run of a day stands for it; earlier days never change.
    Units are referred to by kind and id, not by foreign keys: a closed school keeps its history."""

    __tablename__ = "learning_snapshots"
    # (unit, day) also serves the trend of one unit, newest first.
    __table_args__ = (UniqueConstraint("unit_kind", "unit_id", "day", name="uq_learning_snapshots_unit_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_kind: Mapped[str] = mapped_column(String(8))  # region | school
    unit_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date, index=True)
    teachers: Mapped[int] = mapped_column(Integer, default=0)
    signed_in: Mapped[int] = mapped_column(Integer, default=0)
    studying: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    active_week: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
