"""The migrations are the only source of the schema: after upgrade, the models have nothing to add."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lms.extensions import db as _db


def test_upgraded_schema_matches_models(app, db):
    with _db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, _db.metadata)
    assert diff == []
