"""Course catalogue 课程超市: courses, ordered lessons, instant quizzes, assignments and selections."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin, UTCDateTime, utcnow
from lms.extensions import db

#: The four kinds of DOMAIN.md §4, in catalogue order.
COURSE_KINDS = ("ethics", "it_methods", "integration", "cases")
LESSON_KINDS = ("video", "text", "document")


class Course(TimestampMixin, db.Model):
    """A course of the supermarket. `context_id` is where it was made (a region or the site):
    `course.manage` held there, or above, lets someone edit it."""

    __tablename__ = "courses"
    __table_args__ = (Index("ix_courses_catalogue", "published", "stage", "subject", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description_html: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="integration")
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal("1.0"))
    cover_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: Maintained by services (shown on every catalogue card).
    lesson_count: Mapped[int] = mapped_column(Integer, default=0)
    selection_count: Mapped[int] = mapped_column(Integer, default=0)

    context = relationship("Context")
    creator = relationship("User")
    cover = relationship("StoredFile")
    lessons: Mapped[list["Lesson"]] = relationship(
        back_populates="course", order_by="Lesson.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Course {self.id} {self.title!r}>"


class Lesson(TimestampMixin, db.Model):
    """One lesson of a course: a video (transcoded to HLS), a text, or a document (PDF)."""

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="text")
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: The uploaded source (video or PDF).
    media_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    media_job_id: Mapped[int | None] = mapped_column(ForeignKey("media_jobs.id", ondelete="SET NULL"))
    #: Relative to MEDIA_ROOT: master.m3u8, video.mp4, poster.jpg; set when the transcode finished.
    rendition_dir: Mapped[str | None] = mapped_column(String(255))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)

    course: Mapped[Course] = relationship(back_populates="lessons")
    media_file = relationship("StoredFile")
    media_job = relationship("MediaJob")
    questions: Mapped[list["QuizQuestion"]] = relationship(
        back_populates="lesson", order_by="QuizQuestion.position", cascade="all, delete-orphan"
    )

    @property
    def has_quiz(self) -> bool:
        return bool(self.questions)

    @property
    def playable(self) -> bool:
        return self.kind == "video" and bool(self.rendition_dir)


class QuizQuestion(db.Model):
    """A question of the instant quiz 即时测评 after a lesson; `answer` holds the option indexes."""

    __tablename__ = "quiz_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default="single")  # single | multiple
    prompt: Mapped[str] = mapped_column(String(500))
    options: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[list] = mapped_column(JSON, default=list)

    lesson: Mapped[Lesson] = relationship(back_populates="questions")


class QuizAttempt(TimestampMixin, db.Model):
    """One submitted attempt; a teacher gets COURSE_QUIZ_MAX_ATTEMPTS of them per quiz (best counts)."""

    __tablename__ = "quiz_attempts"
    # The attempt number is unique per teacher and quiz: two submissions racing past the cap check
    # cannot both be stored as the same attempt. Rows from before numbering have NULL.
    __table_args__ = (UniqueConstraint("lesson_id", "user_id", "attempt_no", name="uq_quiz_attempts_lesson_user_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: {question_id: [option indexes]}
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)  # 0–100
    attempt_no: Mapped[int | None] = mapped_column(Integer)

    lesson: Mapped[Lesson] = relationship()


class CourseAssignment(TimestampMixin, db.Model):
    """A course offered to a workshop or a whole region (its context subtree), required or elective."""

    __tablename__ = "course_assignments"
    __table_args__ = (UniqueConstraint("course_id", "context_id", name="uq_course_assignments_course_ctx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    course: Mapped[Course] = relationship()
    context = relationship("Context")


class CourseSelection(TimestampMixin, db.Model):
    """A teacher chose an elective course."""

    __tablename__ = "course_selections"
    __table_args__ = (UniqueConstraint("course_id", "user_id", name="uq_course_selections_course_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    course: Mapped[Course] = relationship()
