"""Live questions: answering_at (when the expert started answering; the replay links there), and
live_sessions.question_count recounted as the lists mean it: open, answering and answered questions,
not merged or hidden ones.

Revision ID: c7a1e5d3f208
Revises: c2d8f4a61e93
"""

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision = "c7a1e5d3f208"
down_revision = "c2d8f4a61e93"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("live_questions") as batch:
        batch.add_column(sa.Column("answering_at", UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE live_sessions SET question_count = (SELECT count(*) FROM live_questions q "
        "WHERE q.session_id = live_sessions.id AND q.status IN ('open', 'answering', 'answered'))"
    )


def downgrade():
    with op.batch_alter_table("live_questions") as batch:
        batch.drop_column("answering_at")
