"""media job heartbeat: the process running a transcode refreshes heartbeat_at, so a restarting
process re-queues only jobs nobody is running (rows from before: NULL, i.e. interrupted).

Revision ID: c4f1a9e2b7d3
Revises: 8b67fcce7bc4
Create Date: 2026-11-23 23:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = 'c4f1a9e2b7d3'
down_revision = '8b67fcce7bc4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('media_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', lms.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_media_jobs_heartbeat_at'), ['heartbeat_at'], unique=False)


def downgrade():
    with op.batch_alter_table('media_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_jobs_heartbeat_at'))
        batch_op.drop_column('heartbeat_at')
