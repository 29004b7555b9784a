"""Resource library 资源库: items, ratings, favourites, comments, views (DOMAIN.md §8)."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin, UTCDateTime, utcnow
from lms.extensions import db

#: Resource kinds 资源类型, stored as codes.
KINDS = {
    "courseware": _l("Courseware"),
    "lesson_design": _l("Lesson design"),
    "case": _l("Teaching case"),
    "reflection": _l("Teaching reflection"),
    "micro_lesson": _l("Micro-lesson"),
    "image": _l("Image"),
    "document": _l("Document"),
    "homework": _l("Excellent homework"),
}
#: normal → featured 精选 → excellent 优秀
STATUSES = {"normal": _l("Normal"), "featured": _l("Featured"), "excellent": _l("Excellent")}


class Resource(TimestampMixin, db.Model):
    """One item of a library. `context_id` None = the owner's personal space (owner only)."""

    __tablename__ = "resources"
    __table_args__ = (
        Index("ix_resources_context_created", "context_id", "created_at"),
        Index("ix_resources_stage_subject", "stage", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    #: Sanitized rich text (lms.core.text.sanitize_html).
    description_html: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="document")
    #: Space-separated, each tag normalized, at most a few.
    tags: Mapped[str] = mapped_column(String(255), default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    #: Transcoding of a video file (lms.media MediaJob); None for other files.
    media_job_id: Mapped[int | None] = mapped_column(ForeignKey("media_jobs.id", ondelete="SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="normal", index=True)
    #: upload / homework / activity
    source: Mapped[str] = mapped_column(String(16), default="upload")
    download_count: Mapped[int] = mapped_column(Integer, default=0)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    #: rating_sum / rating_count, kept for ordering by it in SQL.
    rating_avg: Mapped[float] = mapped_column(db.Float, default=0.0)
    favourite_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: The words inside the file (lms.resources.textract), for the search index; None: not read.
    file_text: Mapped[str | None] = mapped_column(Text)
    #: Proposed for a regional library by a curator of a smaller one (a workshop host), who may not
    #: publish there: a curator of that region moves it in or declines (services.propose, decide).
    proposed_context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id", ondelete="SET NULL"),
                                                            index=True)  # fmt: skip
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    file = relationship("StoredFile")
    media_job = relationship("MediaJob")
    owner = relationship("User", foreign_keys=[owner_id])
    context = relationship("Context", foreign_keys=[context_id])
    proposed_context = relationship("Context", foreign_keys=[proposed_context_id])
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (self.tags or "").split(" ") if t]

    @property
    def is_video(self) -> bool:
        return bool(self.file and self.file.mime.startswith("video/"))

    def __repr__(self) -> str:
        return f"<Resource {self.id} {self.title!r}>"


class ResourceRating(db.Model):
    """A 1–5 rating, one per user and resource; changing it replaces the old one."""

    __tablename__ = "resource_ratings"
    __table_args__ = (UniqueConstraint("resource_id", "user_id", name="uq_resource_ratings_resource_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stars: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ResourceFavourite(db.Model):
    __tablename__ = "resource_favourites"
    __table_args__ = (UniqueConstraint("user_id", "resource_id", name="uq_resource_favourites_user_resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    resource = relationship("Resource")


class ResourceComment(db.Model):
    __tablename__ = "resource_comments"
    __table_args__ = (Index("ix_resource_comments_resource_created", "resource_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Sanitized rich text.
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    user = relationship("User")


class ResourceView(db.Model):
    """What a teacher opened or downloaded (one row per user and resource), for recommendations."""

    __tablename__ = "resource_views"
    __table_args__ = (UniqueConstraint("user_id", "resource_id", name="uq_resource_views_user_resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    downloaded: Mapped[bool] = mapped_column(Boolean, default=False)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
