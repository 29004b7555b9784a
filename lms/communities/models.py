from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin, UTCDateTime
from lms.extensions import db

REGION_LEVELS = ("province", "city", "county")


class Region(TimestampMixin, db.Model):
    """Province 省 → city 设区市 → county 县/市/区."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(12), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), unique=True)
    # Maintained counters (communities.services.refresh_counters), shown on every region page.
    school_count: Mapped[int] = mapped_column(Integer, default=0)
    teacher_count: Mapped[int] = mapped_column(Integer, default=0)
    workshop_count: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped["Region | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Region"]] = relationship(back_populates="parent", order_by="Region.id")
    context = relationship("Context")

    def __repr__(self) -> str:
        return f"<Region {self.level} {self.name}>"


class School(TimestampMixin, db.Model):
    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("county_id", "name", name="uq_schools_county_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str | None] = mapped_column(String(16))
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), unique=True)
    teacher_count: Mapped[int] = mapped_column(Integer, default=0)
    # Closed (e.g. merged into another school): gone from lists, pickers and the roster import, and
    # out of the counters, but nothing under it is deleted (its history, resources and records stay).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    county: Mapped[Region] = relationship()
    context = relationship("Context")
    teachers = relationship("User", back_populates="school")


class Workshop(TimestampMixin, db.Model):
    """A subject workshop 学科工作坊 or class workshop 班级工作坊, under a region or a school."""

    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="class")  # subject | class
    subject: Mapped[str | None] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), unique=True)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    group_count: Mapped[int] = mapped_column(Integer, default=0)

    region: Mapped[Region] = relationship()
    school: Mapped[School | None] = relationship()
    context = relationship("Context")
    groups: Mapped[list["StudyGroup"]] = relationship(back_populates="workshop", order_by="StudyGroup.id")


class StudyGroup(TimestampMixin, db.Model):
    __tablename__ = "study_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    member_count: Mapped[int] = mapped_column(Integer, default=0)

    workshop: Mapped[Workshop] = relationship(back_populates="groups")
    leader = relationship("User")


class WorkshopMembership(TimestampMixin, db.Model):
    __tablename__ = "workshop_memberships"
    __table_args__ = (UniqueConstraint("workshop_id", "user_id", name="uq_workshop_memberships_ws_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("study_groups.id", ondelete="SET NULL"), index=True)

    workshop: Mapped[Workshop] = relationship()
    user = relationship("User", back_populates="memberships")
    group: Mapped[StudyGroup | None] = relationship()
