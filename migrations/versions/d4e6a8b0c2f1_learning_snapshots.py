"""learning snapshots: a region's or school's learning figures per day (lms.stats)

Revision ID: d4e6a8b0c2f1
Revises: 82af1b4f5c00
Create Date: 2026-11-24 12:00:00

"""

from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = "d4e6a8b0c2f1"
down_revision = "82af1b4f5c00"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "learning_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_kind", sa.String(length=8), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("teachers", sa.Integer(), nullable=False),
        sa.Column("signed_in", sa.Integer(), nullable=False),
        sa.Column("studying", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("active_week", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("taken_at", lms.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_snapshots")),
        sa.UniqueConstraint("unit_kind", "unit_id", "day", name="uq_learning_snapshots_unit_day"),
    )
    with op.batch_alter_table("learning_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_snapshots_day"), ["day"], unique=False)


def downgrade():
    with op.batch_alter_table("learning_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_snapshots_day"))
    op.drop_table("learning_snapshots")
