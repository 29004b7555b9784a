from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core import idcard
from lms.core.db import SealedIdCard, TimestampMixin, UTCDateTime
from lms.extensions import db


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(64), index=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    # Personal data: shown masked unless the viewer holds idcard.view_full; never logged.
    # Encrypted in the database (lms.core.idcard); the number in Python.
    id_card: Mapped[str | None] = mapped_column(SealedIdCard(), unique=True)
    subject: Mapped[str | None] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(120))
    bio: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str | None] = mapped_column(String(8))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    # Bumped on password change: every other session and token-less login cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Last request seen from this user, refreshed at most every LAST_SEEN_EVERY (accounts.services.touch).
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    school = relationship("School", back_populates="teachers")
    role_assignments = relationship("RoleAssignment", back_populates="user", cascade="all, delete-orphan")
    memberships = relationship("WorkshopMembership", back_populates="user", cascade="all, delete-orphan")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def masked_id_card(self) -> str:
        return idcard.mask(self.id_card)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


class ApiToken(TimestampMixin, db.Model):
    """Bearer tokens for /api/v1; only a SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User")


class SignIn(db.Model):
    """One browser sign-in: the Flask session (a signed cookie, readable until it expires) carries its
    id, and the user loader accepts the cookie only while this row exists. Signing out deletes the row,
    so a copy of the cookie saved before is worthless afterwards."""

    __tablename__ = "sign_ins"

    #: Random (secrets.token_urlsafe), unguessable: the cookie's proof of this sign-in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: Refreshed at most every accounts.services.LAST_SEEN_EVERY, with the user's last_seen_at.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: For the owner's list of devices: a short browser / system summary and the client address.
    user_agent: Mapped[str] = mapped_column(String(160), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")


class PasswordSheet(db.Model):
    """The initial passwords of a roster import's new accounts, kept so that the importing admin can
    download them once as .xlsx (accounts.roster.keep_password_sheet): deleted at that download, or
    unclaimed after ROSTER_PASSWORDS_MINUTES. Encrypted with a key derived from SECRET_KEY, so a
    database copy alone does not reveal them."""

    __tablename__ = "password_sheets"

    #: Random (secrets.token_urlsafe): the download asks for it, and it is the cipher's associated data.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    importer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    #: Nonce and AES-GCM ciphertext of the JSON rows [[username, name, school, password], ...].
    sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: Where the roster was imported (the audit trail files the download there); None for older rows.
    context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id", ondelete="SET NULL"))

    context = relationship("Context")
