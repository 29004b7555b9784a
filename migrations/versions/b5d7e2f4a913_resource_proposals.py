"""Resource proposals: a workshop host proposes a resource for a regional library
(resources.proposed_context_id, proposed_by_id, proposed_at); a curator of that region moves it in
or declines. Before, a host moved it straight into any library above, the province's included.

Revision ID: b5d7e2f4a913
Revises: a4f2c9d8e1b7
"""

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision = "b5d7e2f4a913"
down_revision = "a4f2c9d8e1b7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("proposed_context_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("proposed_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("proposed_at", UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key(batch.f("fk_resources_proposed_context_id_contexts"), "contexts",
                                 ["proposed_context_id"], ["id"], ondelete="SET NULL")  # fmt: skip
        batch.create_foreign_key(batch.f("fk_resources_proposed_by_id_users"), "users", ["proposed_by_id"], ["id"],
                                 ondelete="SET NULL")  # fmt: skip
        batch.create_index(batch.f("ix_resources_proposed_context_id"), ["proposed_context_id"])


def downgrade():
    with op.batch_alter_table("resources") as batch:
        batch.drop_index(batch.f("ix_resources_proposed_context_id"))
        batch.drop_constraint(batch.f("fk_resources_proposed_by_id_users"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_resources_proposed_context_id_contexts"), type_="foreignkey")
        batch.drop_column("proposed_at")
        batch.drop_column("proposed_by_id")
        batch.drop_column("proposed_context_id")
