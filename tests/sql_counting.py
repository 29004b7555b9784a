"""Count the SQL statements a block of code sends: pages must not grow a query per row."""

from contextlib import contextmanager

from sqlalchemy import event

from lms.extensions import db


@contextmanager
def counting():
    """with counting() as statements: ... → the SQL text of every statement executed inside."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
