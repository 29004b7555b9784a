from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin, UTCDateTime
from lms.extensions import db


class StoredFile(TimestampMixin, db.Model):
    """One uploaded file on disk under MEDIA_ROOT. The owning domain links to it and checks access."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: What it is for ("attachment", "resource", "video", "result_form"…): the domain's own label.
    purpose: Mapped[str] = mapped_column(String(32), default="attachment")
    #: Relative to MEDIA_ROOT, forward slashes; never derived from the uploaded name.
    path: Mapped[str] = mapped_column(String(255), unique=True)
    #: The name the user gave, cleaned for display and for Content-Disposition.
    filename: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    @property
    def inline_ok(self) -> bool:
        """Types a browser may show inside our pages without running anything."""
        return self.mime in INLINE_TYPES


INLINE_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf",
    "video/mp4", "audio/mpeg", "audio/mp4", "video/webm", "audio/webm",
}  # fmt: skip


class MediaJob(TimestampMixin, db.Model):
    """One transcoding job for a stored video; unfinished jobs are re-queued when the app starts."""

    __tablename__ = "media_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="CASCADE"), index=True)
    #: queued / running / done / failed
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Relative to MEDIA_ROOT: master.m3u8, video.mp4, poster.jpg and one folder per rung.
    output_dir: Mapped[str | None] = mapped_column(String(255))
    duration: Mapped[float | None] = mapped_column(Float)
    #: Refreshed by the process running the job (lms.media.tasks): a running job nobody refreshed for
    #: MEDIA_JOB_STALE_SECONDS was interrupted and may be run again; a fresh one is another process's.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), index=True)

    stored_file = relationship("StoredFile")
