"""notification fanouts: a large audience's notifications, stored in resumable batches

Revision ID: bf24b1c54965
Revises: d4e6a8b0c2f1
Create Date: 2026-11-24 11:45:00

"""

from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = "bf24b1c54965"
down_revision = "d4e6a8b0c2f1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_fanouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_user_id", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("lease_until", lms.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", lms.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", lms.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_notification_fanouts_actor_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["context_id"], ["contexts.id"],
                                name=op.f("fk_notification_fanouts_context_id_contexts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_fanouts")),
    )
    with op.batch_alter_table("notification_fanouts", schema=None) as batch_op:
        batch_op.create_index("ix_notification_fanouts_state_lease", ["state", "lease_until"], unique=False)


def downgrade():
    with op.batch_alter_table("notification_fanouts", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_fanouts_state_lease")
    op.drop_table("notification_fanouts")
