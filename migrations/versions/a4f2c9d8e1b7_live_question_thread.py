"""Live questions picked from the Q&A area: live_questions.thread_id links a question of a session's
queue to the QaThread it was collected from (once per thread: unique; a deleted thread leaves the
question, unlinked).

Revision ID: a4f2c9d8e1b7
Revises: 7c1e4b9a2d58
Create Date: 2026-11-24 05:30:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "a4f2c9d8e1b7"
down_revision = "7c1e4b9a2d58"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("live_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_live_questions_thread_id_live_qa_threads", "live_qa_threads", ["thread_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("uq_live_questions_thread", ["thread_id"], unique=True)


def downgrade():
    with op.batch_alter_table("live_questions", schema=None) as batch_op:
        batch_op.drop_index("uq_live_questions_thread")
        batch_op.drop_constraint("fk_live_questions_thread_id_live_qa_threads", type_="foreignkey")
        batch_op.drop_column("thread_id")
