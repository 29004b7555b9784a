"""posts.deleted_at: a post its author deleted after others replied stays as a placeholder, so the
replies keep their thread (before, the author's delete removed everyone's replies).

Revision ID: 58c6589f3ca4
Revises: 3f7c2a9d4b61
Create Date: 2026-11-24 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lms.core.db


# revision identifiers, used by Alembic.
revision = '58c6589f3ca4'
down_revision = '3f7c2a9d4b61'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', lms.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
