"""Live Q&A: the on-duty rota, the Q&A area 答疑区, live sessions with their question queue, chat,
stored events (per-session sequence numbers) and the video state."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin, UTCDateTime
from lms.extensions import db

WEEKDAYS = range(7)  # 0 = Monday
STATUSES = ("scheduled", "live", "ended", "cancelled")
CLOSED_STATUSES = ("ended", "cancelled")  # no more questions, chat or video
QUESTION_STATUSES = ("open", "answering", "answered", "merged", "hidden")


class DutySlot(TimestampMixin, db.Model):
    """An expert on duty for a subject on one weekday, from `starts` to `ends` ("HH:MM")."""

    __tablename__ = "live_duty_slots"
    __table_args__ = (UniqueConstraint("expert_id", "weekday", "starts", name="uq_live_duty_slots_expert_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), index=True)
    subject: Mapped[str] = mapped_column(String(32))
    weekday: Mapped[int] = mapped_column(Integer)
    starts: Mapped[str] = mapped_column(String(5), default="19:00")
    ends: Mapped[str] = mapped_column(String(5), default="21:00")

    expert = relationship("User")
    context = relationship("Context")


class QaThread(TimestampMixin, db.Model):
    """A question in the Q&A area 答疑区, asked any time and answered by the experts."""

    __tablename__ = "live_qa_threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), index=True)
    subject: Mapped[str | None] = mapped_column(String(32))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    answer_count: Mapped[int] = mapped_column(Integer, default=0)

    author = relationship("User")
    context = relationship("Context")
    answers: Mapped[list["QaAnswer"]] = relationship(back_populates="thread", order_by="QaAnswer.id",
                                                     cascade="all, delete-orphan")  # fmt: skip


class QaAnswer(TimestampMixin, db.Model):
    __tablename__ = "live_qa_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("live_qa_threads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    by_expert: Mapped[bool] = mapped_column(Boolean, default=False)

    thread: Mapped[QaThread] = relationship(back_populates="answers")
    author = relationship("User")


class LiveSession(TimestampMixin, db.Model):
    """A live video Q&A for a workshop, a region (subject) or a project context."""

    __tablename__ = "live_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The last sequence number handed out to a stored event: `UPDATE … SET last_seq = last_seq + 1
    # … RETURNING` allocates the next one under the row's write lock, on SQLite and PostgreSQL.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0)
    pinned_message_id: Mapped[int | None] = mapped_column(Integer)
    question_count: Mapped[int] = mapped_column(Integer, default=0)
    # Video: none → live (HLS being written) → processing → ready (VOD replay) | failed.
    video_status: Mapped[str] = mapped_column(String(12), default="none")
    video_path: Mapped[str | None] = mapped_column(String(255))  # relative to MEDIA_ROOT (a directory)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the audience was reminded that it starts soon (set at scheduling when it starts soon anyway).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    context = relationship("Context")
    experts: Mapped[list["SessionExpert"]] = relationship(cascade="all, delete-orphan", order_by="SessionExpert.id")

    def access_context(self):
        return self.context

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


class SessionExpert(db.Model):
    __tablename__ = "live_session_experts"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_live_session_experts_session_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    user = relationship("User")


class LiveQuestion(TimestampMixin, db.Model):
    __tablename__ = "live_questions"
    __table_args__ = (
        Index("ix_live_questions_session_rank", "session_id", "status", "vote_count"),
        # A Q&A-area thread is picked into one session's queue, once.
        Index("uq_live_questions_thread", "thread_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    vote_count: Mapped[int] = mapped_column(Integer, default=0)  # maintained: one per distinct voter
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("live_questions.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the expert last started answering it (status "answering"): the replay seeks there.
    answering_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The Q&A-area thread it was picked from (lms.live.services.pick_thread), if any.
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("live_qa_threads.id", ondelete="SET NULL"))

    author = relationship("User")


class LiveVote(db.Model):
    __tablename__ = "live_votes"
    __table_args__ = (UniqueConstraint("question_id", "user_id", name="uq_live_votes_question_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("live_questions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class LiveMessage(TimestampMixin, db.Model):
    __tablename__ = "live_messages"
    __table_args__ = (Index("ix_live_messages_session_user", "session_id", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)

    user = relationship("User")


class LiveMute(TimestampMixin, db.Model):
    __tablename__ = "live_mutes"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_live_mutes_session_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LiveEvent(TimestampMixin, db.Model):
    """Everything that matters, stored before it is emitted; `seq` is per session, gap-free."""

    __tablename__ = "live_events"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_live_events_session_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class LivePresence(db.Model):
    """One row per joined socket (sid), so every process counts the same audience.

    `process` names the server process holding the socket; it refreshes `seen_at` on its rows while
    it runs. Rows of a process that died stop being refreshed: they no longer count after
    LIVE_PRESENCE_TTL and the next sweep of any process deletes them.
    """

    __tablename__ = "live_presence"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    process: Mapped[str] = mapped_column(String(80), default="", server_default="", index=True)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
