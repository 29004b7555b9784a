from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import TimestampMixin
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
