"""password_sheets: a roster import's initial passwords, kept encrypted for one download by the
importing admin (deleted at the download or after ROSTER_PASSWORDS_MINUTES).

Revision ID: c2d8f4a61e93
Revises: b7e3d1a9c4f2
Create Date: 2026-11-24 08:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = "c2d8f4a61e93"
down_revision = "b7e3d1a9c4f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "password_sheets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("importer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["importer_id"], ["users.id"], name="fk_password_sheets_importer_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_password_sheets"),
    )
    op.create_index("ix_password_sheets_importer_id", "password_sheets", ["importer_id"], unique=False)
    op.create_index("ix_password_sheets_created_at", "password_sheets", ["created_at"], unique=False)


def downgrade():
    op.drop_index("ix_password_sheets_created_at", table_name="password_sheets")
    op.drop_index("ix_password_sheets_importer_id", table_name="password_sheets")
    op.drop_table("password_sheets")
