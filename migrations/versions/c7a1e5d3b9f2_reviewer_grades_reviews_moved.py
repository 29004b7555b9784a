"""reviewer_grades.reviews_moved: reviews taken away from a reviewer who had not started them still
count as owed, so a free-rider's grade for reviewing does not rise when their work is handed over.

Revision ID: c7a1e5d3b9f2
Revises: 5e7d2c1a9b40
"""

import sqlalchemy as sa
from alembic import op

revision = "c7a1e5d3b9f2"
down_revision = "5e7d2c1a9b40"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reviewer_grades") as batch:
        batch.add_column(sa.Column("reviews_moved", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("reviewer_grades") as batch:
        batch.drop_column("reviews_moved")
