"""audit_entries: the stored, append-only audit trail; schools.closed_at (closed schools leave lists
and counters, nothing is deleted); password_sheets.context_id (where the roster was imported, so
the audit trail files the sheet's download there).

Revision ID: a9d3e5f7c1b2
Revises: bf24b1c54965
Create Date: 2026-11-24 11:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = "a9d3e5f7c1b2"
down_revision = "bf24b1c54965"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("context_id", sa.Integer(), nullable=True),
        sa.Column("context_path", sa.String(length=255), nullable=False),
        sa.Column("origin_path", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name="fk_audit_entries_actor_id_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["context_id"], ["contexts.id"], name="fk_audit_entries_context_id_contexts", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_created_at", "audit_entries", ["created_at"], unique=False)
    op.create_index("ix_audit_entries_actor_id", "audit_entries", ["actor_id"], unique=False)
    op.create_index("ix_audit_entries_action", "audit_entries", ["action"], unique=False)
    op.create_index("ix_audit_entries_path_created", "audit_entries", ["context_path", "created_at"], unique=False)
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("password_sheets") as batch:
        batch.add_column(sa.Column("context_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_password_sheets_context_id_contexts", "contexts", ["context_id"], ["id"], ondelete="SET NULL"
        )


def downgrade():
    with op.batch_alter_table("password_sheets") as batch:
        batch.drop_constraint("fk_password_sheets_context_id_contexts", type_="foreignkey")
        batch.drop_column("context_id")
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("closed_at")
    op.drop_index("ix_audit_entries_path_created", table_name="audit_entries")
    op.drop_index("ix_audit_entries_action", table_name="audit_entries")
    op.drop_index("ix_audit_entries_actor_id", table_name="audit_entries")
    op.drop_index("ix_audit_entries_created_at", table_name="audit_entries")
    op.drop_table("audit_entries")
