from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


# --- workshop activities ------------------------------------------------------------------------


class Activity(TimestampMixin, db.Model):
    """A workshop activity 研修活动 of a registered kind (lms.activities.kinds), open in a time window."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Name of a registered ActivityKind ("discussion", "sharing", "offline", "questionnaire", plugins…).
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description_html: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Kind-specific settings a plugin kind may keep (JSON).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Set once members were told the activity opened.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), onupdate=utcnow)
    # Maintained counters shown in lists.
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    resource_count: Mapped[int] = mapped_column(Integer, default=0)
    response_count: Mapped[int] = mapped_column(Integer, default=0)

    workshop = relationship("Workshop")
    author = relationship("User")

    def access_context(self):
        return self.workshop.context

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now and (self.closes_at is None or now < self.closes_at)

    def phase(self, now: datetime) -> str:
        """ "upcoming", "open" or "closed"."""
        if now < self.opens_at:
            return "upcoming"
        if self.closes_at is not None and now >= self.closes_at:
            return "closed"
        return "open"


class Post(TimestampMixin, db.Model):
    """A discussion post 帖子, or a reply (parent_id) to one; a reply may quote another reply."""

    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_activity_parent_created", "activity_id", "parent_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: The top-level post a reply belongs to (one level of threading).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    #: The reply this reply answers (shown as a quote), inside the same thread.
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: Plain text of the body (HTML stripped, whitespace collapsed): search and the effective-post rule.
    body_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Counts as an effective post 有效帖 (maintained by services.recount_member).
    effective: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Set when its author deleted a post others had replied to: the body and files are gone and a
    #: placeholder shows in its place, so the others' replies keep their thread.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)

    activity: Mapped[Activity] = relationship()
    author = relationship("User")
    quote: Mapped["Post | None"] = relationship(remote_side=[id], foreign_keys=[quote_id])
    attachments: Mapped[list["PostAttachment"]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="PostAttachment.id"
    )

    def access_context(self):
        return self.activity.workshop.context


class PostAttachment(db.Model):
    __tablename__ = "post_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="CASCADE"), index=True)

    post: Mapped[Post] = relationship(back_populates="attachments")
    file = relationship("StoredFile")


class PostLike(TimestampMixin, db.Model):
    __tablename__ = "post_likes"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class ActivityMemberStat(db.Model):
    """Maintained per member and activity: posts, effective posts, shared resources (statistics pages)."""

    __tablename__ = "activity_member_stats"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    #: Denormalized so a workshop's figures are one indexed query.
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    effective_count: Mapped[int] = mapped_column(Integer, default=0)
    resource_count: Mapped[int] = mapped_column(Integer, default=0)

    user = relationship("User")


class SharedResource(TimestampMixin, db.Model):
    """A file a member shared in a resource-sharing activity, or produced in an offline one."""

    __tablename__ = "shared_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="CASCADE"))

    activity: Mapped[Activity] = relationship()
    user = relationship("User")
    file = relationship("StoredFile")


class OfflineRecord(TimestampMixin, db.Model):
    """A member's stamped result form 成绩鉴定表 for an offline activity, and the host's mark."""

    __tablename__ = "offline_records"
    __table_args__ = (UniqueConstraint("activity_id", "user_id", name="uq_offline_records_activity_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    form_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    activity: Mapped[Activity] = relationship()
    user = relationship("User", foreign_keys=[user_id])
    marked_by = relationship("User", foreign_keys=[marked_by_id])
    form_file = relationship("StoredFile")


class Question(db.Model):
    """One question of a questionnaire 问卷 activity."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: single | multiple | text
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(500))
    options: Mapped[list] = mapped_column(JSON, default=list)


class QuestionnaireResponse(TimestampMixin, db.Model):
    """A member's one set of answers to a questionnaire."""

    __tablename__ = "questionnaire_responses"
    __table_args__ = (UniqueConstraint("activity_id", "user_id", name="uq_questionnaire_responses_activity_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Answer(db.Model):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    #: Chosen option indexes (single/multiple) …
    choices: Mapped[list] = mapped_column(JSON, default=list)
    #: … or the free text.
    text: Mapped[str] = mapped_column(Text, default="")
