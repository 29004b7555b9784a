"""assignments.reviewers_must_submit: Moodle's "participants without a submission do not review".
Existing assignments keep their old rule (false); new ones default to true in the application.

Revision ID: d2b8f6a4c1e7
Revises: c7a1e5d3b9f2
"""

import sqlalchemy as sa
from alembic import op

revision = "d2b8f6a4c1e7"
down_revision = "c7a1e5d3b9f2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("reviewers_must_submit", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("reviewers_must_submit")
