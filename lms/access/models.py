from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import TimestampMixin
from lms.extensions import db


class Context(db.Model):
    """A node of the permission tree: site → province → city → county → school → workshop.

    `path` is the materialized chain of ids ("/1/4/9/"), so "reaches the subtree" is a prefix test.
    """

    __tablename__ = "contexts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # site, region, school, workshop, project
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id"))
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    name: Mapped[str] = mapped_column(String(200), default="")

    parent: Mapped["Context | None"] = relationship(remote_side=[id])

    def contains(self, other: "Context") -> bool:
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Context {self.kind} {self.path}>"


class RoleAssignment(TimestampMixin, db.Model):
    """An explicit role held in a context (hosts, experts, admins…).

    Teachers of a school and members of a workshop are implied by membership rows, not stored here.
    """

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "context_id", name="uq_role_assignments_user_role_ctx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)

    user = relationship("User", back_populates="role_assignments")
    context: Mapped[Context] = relationship()
