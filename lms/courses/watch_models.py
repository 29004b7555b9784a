"""Watch-time tables: per lesson and per course progress of a teacher, and a per-teacher row holding
their total and the crediting lease (the one viewing whose heartbeats may earn time right now).

All three are maintained by lms.courses.watch (never recounted per request): pages read them as they
are, the heartbeat adds to them with UPDATEs by key.
"""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import UTCDateTime, utcnow
from lms.extensions import db


class LessonProgress(db.Model):
    """What one teacher did of one lesson: watched of a video (over all viewings), opened, quiz passed."""

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id", name="uq_lesson_progress_user_lesson"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: No index of its own: the unique (user_id, lesson_id) serves lookups by user.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    #: Denormalised from the lesson, so a course's rows are read without a join.
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    #: Credited watch time (seconds; fractions kept so no heartbeat loses its remainder).
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    #: Furthest position reached (seeking counts here, not in `seconds`).
    max_position: Mapped[float] = mapped_column(Float, default=0.0)
    #: Where the teacher left off: the player resumes here.
    last_position: Mapped[float] = mapped_column(Float, default=0.0)
    #: The lesson's content is done: a video once `seconds` reached the completion share of its
    #: duration; a text or document lesson once opened.
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: An attempt at the lesson's instant quiz reached the pass score (COURSE_QUIZ_PASS_SCORE). A
    #: lesson counts in its course's progress when completed and, if it has a quiz, passed.
    quiz_passed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CourseProgress(db.Model):
    """One teacher's totals for one course (the sum of their lesson rows, kept up to date)."""

    __tablename__ = "course_progress"
    __table_args__ = (UniqueConstraint("user_id", "course_id", name="uq_course_progress_user_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WatchState(db.Model):
    """Per teacher: total credited seconds, and the lease of the viewing that may earn time.

    `viewing` holds the lease while its last heartbeat (at `beat_at`, Unix seconds, server clock)
    said playing and visible and is less than LEASE_SECONDS old; a heartbeat of any other viewing is
    answered but credits nothing. `position` is the holder's media position at that beat, the
    baseline the next heartbeat's advance is measured from.
    """

    __tablename__ = "watch_states"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    viewing: Mapped[str | None] = mapped_column(String(32))
    lesson_id: Mapped[int | None] = mapped_column(Integer)
    beat_at: Mapped[float | None] = mapped_column(Float)
    position: Mapped[float] = mapped_column(Float, default=0.0)
    playing: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Credited in the current viewing: at most the lesson's duration.
    viewing_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    #: Fraction of a second credited but not yet sent in an (integer) watch_time_credited signal.
    carry: Mapped[float] = mapped_column(Float, default=0.0)
