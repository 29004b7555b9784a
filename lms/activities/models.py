from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin
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
