from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin, UTCDateTime, utcnow
from lms.extensions import db


class Announcement(TimestampMixin, db.Model):
    """公告 posted at any level of the community tree; readers below that level see it."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text, default="")

    context = relationship("Context")
    author = relationship("User")


# --- research writing, briefs, feed (issue 4b) ----------------------------------------------------

#: Teachers' own writing and the host's workshop writing; `kind` of a Writing row.
TEACHER_KINDS = ("plan", "log", "summary")
HOST_KINDS = ("workshop_plan", "stage_summary", "final_summary")
WRITING_KINDS = TEACHER_KINDS + HOST_KINDS


class Writing(TimestampMixin, db.Model):
    """Research writing 研修写作 in a workshop: a teacher's plan 研修计划, logs 研修日志 and summary
    研修总结, or the host's workshop plan and stage/final summaries. Visible within the workshop."""

    __tablename__ = "writings"
    __table_args__ = (Index("ix_writings_workshop_kind", "workshop_id", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    #: The training year 研修年度 a plan or summary belongs to (one of each per workshop and year).
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    author = relationship("User")
    workshop = relationship("Workshop")

    def access_context(self):
        return self.workshop.context


class Brief(TimestampMixin, db.Model):
    """简报 composed by hosts, experts and project managers for a workshop, school or region."""

    __tablename__ = "briefs"
    __table_args__ = (Index("ix_briefs_context_created", "context_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    context = relationship("Context")
    author = relationship("User")
    images: Mapped[list["BriefImage"]] = relationship(
        back_populates="brief", cascade="all, delete-orphan", order_by="BriefImage.id"
    )


class BriefImage(db.Model):
    __tablename__ = "brief_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("briefs.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="CASCADE"))

    brief: Mapped[Brief] = relationship(back_populates="images")
    file = relationship("StoredFile")


class FeedEntry(db.Model):
    """One line of the personal-space feed: something that happened in a community.

    Written by listeners (content_changed for registered sources, announcement_posted); read by
    `feed.entries(user)`, which keeps the entries of the contexts the reader belongs to.
    """

    __tablename__ = "feed_entries"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_feed_entries_kind_ref"),
        Index("ix_feed_entries_path_created", "context_path", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    context_path: Mapped[str] = mapped_column(String(255))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    actor = relationship("User")
