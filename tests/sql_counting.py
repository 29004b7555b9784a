"""Count the SQL statements a block of code sends: pages must not grow a query per row."""

import threading
from contextlib import contextmanager

from sqlalchemy import event

from lms.extensions import db


@contextmanager
def counting():
    """with counting() as statements: ... → the SQL text of every statement executed inside.

    Only this thread's: the test client runs the request here, while work a commit started in the
    background (search indexing) would otherwise land in the count at random."""
    statements: list[str] = []
    me = threading.get_ident()

    def before(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == me:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
