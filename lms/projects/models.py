"""Training projects 培训项目 (DOMAIN.md §3) and who is enrolled in them.

A project is run by a region (its scope: the province, a city or a county) and has its own access
context under that region's, so a role held in the project (its project manager) reaches the project
only, and enrolled teachers hold the implied `trainee` role there (lms.access grants). Quotas split
down the hierarchy and phases that gate actions are a later issue: they hang off `Project.id` in
tables of their own; `places` and the maintained `enrolled_count` are what they will check.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin, UTCDateTime, utcnow
from lms.extensions import db

#: 线上 online, 混合 blended, 线下 on-site (DOMAIN.md §3).
MODES = ("online", "blended", "onsite")


class Project(TimestampMixin, db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    target_group: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(16), default="online")
    #: As the project table words it ("7 days on site + 50 online hours"); the numbers beside it
    #: are what study-hour and credit rules can compute with.
    hours_text: Mapped[str] = mapped_column(String(100), default="")
    online_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    onsite_days: Mapped[int | None] = mapped_column(Integer)
    places: Mapped[int | None] = mapped_column(Integer)
    #: The region that runs the project; its teachers are the ones who may be enrolled.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    institution: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    #: Plain text (shown escaped, line breaks kept).
    description: Mapped[str] = mapped_column(Text, default="")
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: Maintained by the services (lists and the detail page show it).
    enrolled_count: Mapped[int] = mapped_column(Integer, default=0)

    region = relationship("Region")
    context = relationship("Context")

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.name!r}>"


class ProjectEnrolment(db.Model):
    """A teacher enrolled (调训) in a project, and who enrolled them."""

    __tablename__ = "project_enrolments"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_project_enrolments_project_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    enrolled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    project: Mapped[Project] = relationship()
    user = relationship("User", foreign_keys=[user_id])
