"""The migrations are the only source of the schema: after upgrade, the models have nothing to add."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from lms.extensions import db as _db


def test_upgraded_schema_matches_models(app, db):
    with _db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, _db.metadata)
    assert diff == []


def test_the_app_starts_on_a_schema_migrations_behind(tmp_path):
    """`flask db upgrade` builds the app first: start-up work (re-queueing media jobs) must not need
    what the pending migrations add."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from lms import create_app
    from tests.conftest import test_config

    config = {**test_config(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'behind.sqlite3'}"}
    app = create_app({**config, "MEDIA_REQUEUE_ON_START": False})
    with app.app_context():
        upgrade()
        downgrade(revision="8b67fcce7bc4")  # before the media-job heartbeat that start-up reads
        columns = {c["name"] for c in inspect(_db.engine).get_columns("media_jobs")}
        assert "heartbeat_at" not in columns
        assert not inspect(_db.engine).has_table("scheduled_tasks")
        _db.engine.dispose()
    started = create_app(config)  # re-queues on start, on the older schema
    with started.app_context():
        upgrade()
        assert "heartbeat_at" in {c["name"] for c in inspect(_db.engine).get_columns("media_jobs")}
        _db.engine.dispose()


def test_the_migration_seals_numbers_stored_before_and_downgrade_opens_them(tmp_path):
    from flask_migrate import downgrade, upgrade

    from lms import create_app
    from lms.core import idcard
    from tests.conftest import test_config
    from tests.factories import id_number

    config = {**test_config(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'plain.sqlite3'}"}
    app = create_app({**config, "MEDIA_REQUEUE_ON_START": False})
    numbers = [id_number(i) for i in range(1, 4)]
    with app.app_context():
        upgrade(revision="9a3d6f2c8e15")  # before the sealing
        with _db.engine.begin() as conn:
            for i, number in enumerate([*numbers, None]):
                conn.execute(
                    text(
                        "INSERT INTO users (username, password_hash, name, bio, id_card, session_version,"
                        " must_change_password, active, created_at)"
                        " VALUES (:u, 'x', '教师', '', :n, 1, 0, 1, '2026-01-01 00:00:00')"
                    ),
                    {"u": f"old{i}", "n": number},
                )
        upgrade()
        raw = dict(_db.session.execute(text("SELECT username, id_card FROM users")).all())
        assert raw["old3"] is None
        assert all(raw[f"old{i}"].startswith("v1:") and raw[f"old{i}"] != numbers[i] for i in range(3))
        key = idcard.key_from_config(app.config)
        assert [idcard.unseal(raw[f"old{i}"], key) for i in range(3)] == numbers
        _db.session.remove()
        downgrade(revision="9a3d6f2c8e15")
        raw = dict(_db.session.execute(text("SELECT username, id_card FROM users")).all())
        assert [raw[f"old{i}"] for i in range(3)] == numbers
        _db.session.remove()
        _db.engine.dispose()


def _add_later_columns() -> list[tuple[str, str]]:
    """Give the tables of an older schema the (nullable) columns the models have and later
    revisions add, so that the models can build data on it; returns them for dropping again."""
    from sqlalchemy import inspect

    insp, added = inspect(_db.engine), []
    with _db.engine.begin() as conn:
        for table in _db.metadata.sorted_tables:
            if not insp.has_table(table.name):
                continue
            have = {c["name"] for c in insp.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have and col.nullable and not col.foreign_keys:
                    conn.exec_driver_sql(
                        f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {col.type.compile(_db.engine.dialect)}'
                    )
                    added.append((table.name, col.name))
    return added


def test_sqlite_foreign_keys_are_on_and_old_orphans_are_removed(tmp_path):
    """SQLite ignores foreign keys unless each connection turns them on. Rows a deletion left
    behind before they were on are removed (CASCADE) or cleared (SET NULL) by the migration; after
    it, deletions cascade as on PostgreSQL."""
    from flask_migrate import upgrade

    from lms import create_app
    from lms.communities.models import StudyGroup, Workshop
    from lms.communities.models import WorkshopMembership as Membership
    from tests.conftest import test_config
    from tests.factories import build_world

    config = {**test_config(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'orphans.sqlite3'}"}
    app = create_app({**config, "MEDIA_REQUEUE_ON_START": False})
    with app.app_context():
        upgrade(revision="58c6589f3ca4")
        added = _add_later_columns()  # the models insert columns later revisions add
        w = build_world()
        ws_a, group, leader = w.workshop_a.id, w.group_a.id, w.users["leader"].id
        ws_b, member_b = w.workshop_b.id, w.users["member_b"].id
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table, name in added:
                conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP COLUMN "{name}"')
        with _db.engine.connect() as conn:  # as the app deleted before: foreign keys off
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.execute(text("DELETE FROM study_groups WHERE id = :g"), {"g": group})
            conn.execute(text("DELETE FROM workshops WHERE id = :w"), {"w": ws_b})
            conn.commit()
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        _db.engine.dispose()  # no pooled connection keeps foreign keys off (several were opened above)
        upgrade()
        with _db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        members_a = _db.session.scalars(select(Membership).where(Membership.workshop_id == ws_a)).all()
        assert members_a and all(m.group_id is None for m in members_a)  # SET NULL
        assert leader in {m.user_id for m in members_a}
        assert not _db.session.scalars(select(Membership).where(Membership.workshop_id == ws_b)).all()  # CASCADE
        assert member_b is not None
        # From now on a deletion cascades at once.
        _db.session.delete(_db.session.get(Workshop, ws_a))
        _db.session.commit()
        assert _db.session.scalars(select(Membership).where(Membership.workshop_id == ws_a)).all() == []
        assert _db.session.scalars(select(StudyGroup).where(StudyGroup.workshop_id == ws_a)).all() == []
        _db.engine.dispose()
