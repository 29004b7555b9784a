"""resources.file_text: the words inside a resource's file (PDF, Word, PowerPoint, Excel, text), read
once at upload for the search index. Resources from before stay unread (NULL) until
`flask lms resources-read-files` reads them.

Revision ID: c8e1f3a5b702
Revises: b5d7e2f4a913
"""

import sqlalchemy as sa
from alembic import op

revision = "c8e1f3a5b702"
down_revision = "b5d7e2f4a913"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("file_text", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("file_text")
