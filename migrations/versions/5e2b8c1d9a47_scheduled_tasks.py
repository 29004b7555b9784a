"""scheduled tasks: the last start of each periodic task (lms.core.schedule), claimed with one
conditional UPDATE so that several app processes run each task once per period.

Revision ID: 5e2b8c1d9a47
Revises: c4f1a9e2b7d3
Create Date: 2026-11-24 01:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = '5e2b8c1d9a47'
down_revision = 'c4f1a9e2b7d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduled_tasks',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_started_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', lms.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_tasks'))
    )


def downgrade():
    op.drop_table('scheduled_tasks')
