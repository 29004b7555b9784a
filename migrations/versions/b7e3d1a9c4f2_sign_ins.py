"""Server-side sign-ins: sign_ins holds one row per browser sign-in; the session cookie carries its id
and is accepted only while the row exists (signing out deletes it).

Revision ID: b7e3d1a9c4f2
Revises: d2b8f6a4c1e7
Create Date: 2026-11-24 07:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = "b7e3d1a9c4f2"
down_revision = "d2b8f6a4c1e7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=160), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sign_ins_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_sign_ins"),
    )
    op.create_index("ix_sign_ins_user_id", "sign_ins", ["user_id"], unique=False)


def downgrade():
    op.drop_index("ix_sign_ins_user_id", table_name="sign_ins")
    op.drop_table("sign_ins")
