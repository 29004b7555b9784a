import logging
from datetime import UTC, datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops tzinfo otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class SealedIdCard(TypeDecorator):
    """An ID-card number, encrypted in the database (lms.core.idcard.seal) and plain in Python.

    Deterministic encryption keeps equality working: `User.id_card == number` and `.in_(numbers)`
    seal their parameters the same way, and the unique constraint applies to the sealed text."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        from lms.core.idcard import seal

        return seal(value) if value else value

    def process_result_value(self, value, dialect):
        from lms.core.idcard import IdCardKeyError, unseal

        if not value:
            return value
        try:
            return unseal(value)
        except IdCardKeyError:
            # The key changed: pages go on without the number (sign-in loads every user's row);
            # the roster import refuses to run (lms.accounts.roster.idcard_key_opens_stored).
            logging.getLogger(__name__).error(
                "an ID-card number cannot be decrypted: IDCARD_KEY or SECRET_KEY changed (see `flask lms idcard-rekey`)"
            )
            return None


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def schema_ready(model) -> bool:
    """Whether the database has the model's table with every column the code maps: work done at app
    start (re-queueing jobs) must wait when `flask db upgrade`, which builds the app too, has not
    run yet."""
    from sqlalchemy import inspect

    from lms.extensions import db

    inspector = inspect(db.engine)
    if not inspector.has_table(model.__tablename__):
        return False
    columns = {c["name"] for c in inspector.get_columns(model.__tablename__)}
    if not set(model.__table__.columns.keys()) <= columns:
        logging.getLogger(__name__).warning(
            "%s: unfinished jobs not resumed: the database schema is older than the code (flask db upgrade)",
            model.__tablename__,
        )
        return False
    return True
