"""live session reminders: when a session's audience was told it starts soon (once, by the
scheduler; sessions from before count as not reminded).

Revision ID: 9a3d6f2c8e15
Revises: 5e2b8c1d9a47
Create Date: 2026-11-24 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = '9a3d6f2c8e15'
down_revision = '5e2b8c1d9a47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', lms.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
