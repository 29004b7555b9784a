"""SQLite: remove the rows left behind while foreign keys were off. SQLite ignores foreign keys
unless each connection turns them on, which the app did not: ON DELETE CASCADE and SET NULL did
nothing, and a deleted course's assignments, selections and progress stayed, waiting for the next
course to reuse its id. From now on the app turns them on (lms.extensions); this migration applies
each constraint's ON DELETE rule to what its parent's deletion left (CASCADE: delete the row; SET
NULL, or no rule on a nullable column: clear it; otherwise delete). PostgreSQL always enforced them:
nothing to do there.

Revision ID: 7c1e4b9a2d58
Revises: 58c6589f3ca4
Create Date: 2026-11-24 05:00:00.000000

"""
import logging

from alembic import op


# revision identifiers, used by Alembic.
revision = '7c1e4b9a2d58'
down_revision = '58c6589f3ca4'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
PASSES = 20  # each pass can orphan the children of what it deleted


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for _ in range(PASSES):
        orphans = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if not orphans:
            return
        fks: dict[str, dict] = {}
        for table, rowid, _parent, fkid in orphans:
            if table not in fks:
                fks[table] = {}
                for row in conn.exec_driver_sql(f"PRAGMA foreign_key_list({_quote(table)})"):
                    # (id, seq, table, from, to, on_update, on_delete, match)
                    fks[table].setdefault(row[0], {"cols": [], "on_delete": row[6]})["cols"].append(row[3])
                notnull = {r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({_quote(table)})") if r[3]}
                for fk in fks[table].values():
                    fk["nullable"] = not (set(fk["cols"]) & notnull)
            fk = fks[table][fkid]
            if rowid is None:  # a WITHOUT ROWID table; the app has none
                continue
            if fk["on_delete"] == "CASCADE" or not fk["nullable"]:
                conn.exec_driver_sql(f"DELETE FROM {_quote(table)} WHERE rowid = ?", (rowid,))
            else:
                sets = ", ".join(f"{_quote(c)} = NULL" for c in fk["cols"])
                conn.exec_driver_sql(f"UPDATE {_quote(table)} SET {sets} WHERE rowid = ?", (rowid,))
        log.info("removed or cleared %d rows whose parent was deleted", len(orphans))
    raise RuntimeError("rows whose parents are gone remain after %d passes" % PASSES)


def downgrade():
    pass  # the rows removed were dangling; nothing to restore
