from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import UTCDateTime, utcnow
from lms.extensions import db


class AuditEntry(db.Model):
    """One administrative action, stored for good: rows are only ever inserted (lms.audit.services).

    `context_path` is the access path of the place the action happened *at the time* (a school's
    path before it moved stays on its old entries: the trail records what was, and who could see it
    then still can). `origin_path` is a second place the action concerns, whose administrators see
    it too: the county a moved school left, the school a closed school's teachers moved to.
    `detail` holds a few named values for the page's sentence (a role code, counts, old and new
    names of a school or region), never personal data: people are named by id only (`actor_id`,
    `target_id`) and shown with their current name when the page is read.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_path_created", "context_path", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False, index=True)
    #: None: the shell (`flask lms ...`).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    #: "user", "school", "region", "workshop", "roster" (the school or region imported into)…
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(Integer)
    context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id", ondelete="SET NULL"))
    context_path: Mapped[str] = mapped_column(String(255), default="")
    origin_path: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    actor = relationship("User", foreign_keys=[actor_id])
    context = relationship("Context")
