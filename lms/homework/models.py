"""Homework tables: assignments, submissions, reviewer allocations, reviews, grades."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin, UTCDateTime
from lms.extensions import db

PHASES = ("setup", "submission", "review", "grading", "closed")


class Assignment(TimestampMixin, db.Model):
    """研修作业: set in a workshop, or for a whole region/project (context = that region's context).

    ``form`` is the rubric or weighted criteria form as JSON (see services.parse_form):
    {"kind": "rubric"|"weighted", "criteria": [{"name", "description", "levels": [{"points", "label"}],
    "max_points", "weight"}]}.
    """

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    instructions_html: Mapped[str] = mapped_column(Text, default="")
    attachments_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    phase: Mapped[str] = mapped_column(String(16), default="setup", index=True)
    submission_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submission_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accept_late: Mapped[bool] = mapped_column(Boolean, default=False)
    reviews_per_member: Mapped[int] = mapped_column(Integer, default=5)
    #: None = as many as reviews_per_member (each submission gets what each member gives).
    reviews_per_submission: Mapped[int | None] = mapped_column(Integer)
    #: Moodle's default: only members who submitted review. New assignments default to it; rows
    #: made before the option existed keep their old rule (everyone reviews).
    reviewers_must_submit: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa.false())
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    exclude_own_group: Mapped[bool] = mapped_column(Boolean, default=True)
    grade_strategy: Mapped[str] = mapped_column(String(8), default="median")
    #: 1 = the host's grade replaces the peer grade when given; 0.5 blends them.
    host_weight: Mapped[float] = mapped_column(Float, default=1.0)
    #: Part of the grade for reviewing that depends on closeness to the consensus.
    quality_share: Mapped[float] = mapped_column(Float, default=0.5)
    form: Mapped[dict] = mapped_column(JSON, default=dict)
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Phases whose reminder was sent ("submission", "review"): once per phase.
    reminded: Mapped[list] = mapped_column(JSON, default=list)

    context = relationship("Context")
    workshop = relationship("Workshop")
    author = relationship("User")

    @property
    def phase_index(self) -> int:
        return PHASES.index(self.phase)


class Submission(TimestampMixin, db.Model):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assignment_id", "author_id", name="uq_submissions_assignment_author"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    peer_grade: Mapped[float | None] = mapped_column(Float)
    host_grade: Mapped[float | None] = mapped_column(Float)
    override_grade: Mapped[float | None] = mapped_column(Float)
    final_grade: Mapped[float | None] = mapped_column(Float)
    host_comment: Mapped[str] = mapped_column(Text, default="")
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recommended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recommended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    assignment: Mapped[Assignment] = relationship()
    author = relationship("User", foreign_keys=[author_id])
    files: Mapped[list["SubmissionFile"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionFile.id"
    )


class SubmissionFile(db.Model):
    __tablename__ = "submission_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="CASCADE"), index=True)

    submission: Mapped[Submission] = relationship(back_populates="files")
    file = relationship("StoredFile")


class ReviewAllocation(TimestampMixin, db.Model):
    """``reviewer`` is to review ``submission``; ``fallback`` = same study group (no one else could)."""

    __tablename__ = "review_allocations"
    __table_args__ = (UniqueConstraint("submission_id", "reviewer_id", name="uq_review_allocations_sub_reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)

    submission: Mapped[Submission] = relationship()
    reviewer = relationship("User")
    review: Mapped["Review | None"] = relationship(back_populates="allocation", uselist=False)


class Review(TimestampMixin, db.Model):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(
        ForeignKey("review_allocations.id", ondelete="CASCADE"), unique=True, index=True
    )
    #: criterion name -> points
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    grade: Mapped[float | None] = mapped_column(Float)  # on the 10-point homework scale
    quality: Mapped[float | None] = mapped_column(Float)  # closeness to the consensus, 0..1
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    allocation: Mapped[ReviewAllocation] = relationship(back_populates="review")


class ReviewerGrade(db.Model):
    """Grade for reviewing of one participant (they may review without having submitted)."""

    __tablename__ = "reviewer_grades"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id", name="uq_reviewer_grades_assignment_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reviews_done: Mapped[int] = mapped_column(Integer, default=0)
    #: Reviews taken away from this reviewer because they had not started them (reassign_stale):
    #: they still count as owed, or not doing them would lower the number needed for full marks.
    reviews_moved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    grade: Mapped[float] = mapped_column(Float, default=0.0)
