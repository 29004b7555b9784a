from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import UTCDateTime, utcnow
from lms.extensions import db


class Notification(db.Model):
    """One message to one user. `text` is plain text, escaped wherever it is shown."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotificationFanout(db.Model):
    """One notification to a large audience (everyone under a context but the actor), stored in
    batches by a background job (lms.notifications.services.run_fanout).

    The row is the job's memory: recipients go in ascending user id, and each batch's notifications
    are inserted in the same transaction that moves `last_user_id` past them, so a job stopped
    anywhere (process killed, host rebooted) resumes after the last batch it stored and nobody is
    told twice. `claimed_by`/`lease_until` say which process runs it; a lease nobody renewed lapses
    and another process takes the job over."""

    __tablename__ = "notification_fanouts"
    __table_args__ = (Index("ix_notification_fanouts_state_lease", "state", "lease_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The audience: every active user under this context (lms.notifications.services.members_under).
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    #: The author: left out of the audience (and named as the notifications' actor).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(500))
    #: queued / running / done / failed
    state: Mapped[str] = mapped_column(String(16), default="queued")
    #: Every recipient with an id up to this one has been stored.
    last_user_id: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    #: Starts since the job last stored a batch: a job that makes no progress is given up at
    #: services.FANOUT_MAX_ATTEMPTS, one that moves on may be interrupted any number of times.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A random token of the run holding the job, until lease_until (renewed with every batch).
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last failure, one line (the full trace is in the log).
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
