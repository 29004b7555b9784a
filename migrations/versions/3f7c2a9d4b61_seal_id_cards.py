"""seal ID-card numbers: users.id_card holds the AES-SIV ciphertext (lms.core.idcard.seal) instead
of the number. Existing numbers are sealed here with the app's key (IDCARD_KEY, or derived from
SECRET_KEY), so run this with the configuration the app will run with; downgrade opens them again.

Revision ID: 3f7c2a9d4b61
Revises: 9a3d6f2c8e15
Create Date: 2026-11-24 02:10:00.000000

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

from lms.core import idcard


# revision identifiers, used by Alembic.
revision = '3f7c2a9d4b61'
down_revision = '9a3d6f2c8e15'
branch_labels = None
depends_on = None

BATCH = 1000


def _rewrite(convert, pending) -> None:
    """Apply `convert` to every stored number that `pending` selects, in batches by id."""
    conn = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('id_card', sa.String))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(users.c.id, users.c.id_card)
            .where(users.c.id > last, users.c.id_card.is_not(None), pending(users.c.id_card))
            .order_by(users.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for uid, value in rows:
            conn.execute(users.update().where(users.c.id == uid).values(id_card=convert(value)))
        last = rows[-1][0]


def _online() -> None:
    if op.get_context().as_sql:
        raise RuntimeError("this migration encrypts stored ID-card numbers: run it against the database, "
                           "not as an offline --sql script")


def upgrade():
    _online()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('id_card', existing_type=sa.String(length=18), type_=sa.String(length=64),
                              existing_nullable=True)
    key = idcard.key_from_config(current_app.config)
    _rewrite(lambda v: idcard.seal(v, key), lambda c: sa.not_(c.startswith(idcard.SEALED_PREFIX)))


def downgrade():
    _online()
    key = idcard.key_from_config(current_app.config)
    _rewrite(lambda v: idcard.unseal(v, key), lambda c: c.startswith(idcard.SEALED_PREFIX))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('id_card', existing_type=sa.String(length=64), type_=sa.String(length=18),
                              existing_nullable=True)
