"""live presence liveness: rows carry their process and when it last refreshed them; rows left
from before (seen_at NULL) are stale and the first sweep deletes them.

Revision ID: 8b67fcce7bc4
Revises: 47dda67f33ba
Create Date: 2026-11-23 19:42:57.613611

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = '8b67fcce7bc4'
down_revision = '47dda67f33ba'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('live_presence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('process', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('seen_at', lms.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_live_presence_process'), ['process'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_presence_seen_at'), ['seen_at'], unique=False)


def downgrade():
    with op.batch_alter_table('live_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_presence_seen_at'))
        batch_op.drop_index(batch_op.f('ix_live_presence_process'))
        batch_op.drop_column('seen_at')
        batch_op.drop_column('process')
