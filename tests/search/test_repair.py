"""A batch that fails in the writer (the database away while documents are read) is retried with
a growing pause, and one that keeps failing is dropped alone; `check` (flask lms reindex --check,
and the daily repair task) finds what the index lacks or holds wrongly and re-queues it."""

import pytest

from lms.core import schedule
from lms.extensions import db
from lms.search import services, whoosh_index
from lms.search.whoosh_index import SearchIndex
from tests.search.test_bitmap_store import _doc

RULES = [{"kinds": ("resource",), "prefixes": ("/",), "exact": ()}]


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(whoosh_index, "RETRY_BACKOFF", (0.01, 0.02, 0.04))


def _flaky_loader(fail_times: int, poison: set[int] = frozenset()):
    """A source that fails its first `fail_times` reads (the database restarting), and always
    when asked for a poisoned id."""
    calls = []

    def load(kind, ids):
        calls.append(ids)
        if len(calls) <= fail_times:
            raise ConnectionError("server closed the connection unexpectedly")
        if ids is not None and poison & set(ids):
            raise ValueError("a document its source cannot read")
        return [_doc(i) for i in (ids or [])]

    return load, calls


def test_a_batch_failing_while_the_database_is_away_is_retried(tmp_path, fast_retries):
    load, calls = _flaky_loader(fail_times=2)
    ix = SearchIndex(str(tmp_path / "ix"), load=load, kinds=lambda: [])
    ix.put("index", "resource", [1, 2, 3])
    assert ix.flush(timeout=30)
    assert ix.doc_count() == 3 and ix.errors == 0
    assert len(calls) == 3  # two failures, then the retry that worked


def test_one_operation_that_keeps_failing_is_dropped_alone(tmp_path, fast_retries):
    load, calls = _flaky_loader(fail_times=0, poison={7})
    ix = SearchIndex(str(tmp_path / "ix"), load=load, kinds=lambda: [])
    for ids in ([1, 2], [7], [3]):  # one commit's batch, the middle operation poisoned
        ix.put("index", "resource", ids)
    assert ix.flush(timeout=30)
    assert ix.doc_count() == 3  # 1, 2 and 3 made it
    assert ix.errors == 1
    hits = ix.search(whoosh_index.analyze("案例7"), rules=RULES)
    assert hits["total"] == 0


def test_a_whole_kind_read_is_retried(tmp_path, fast_retries):
    calls = []

    def load(kind, ids):
        calls.append(ids)
        if len(calls) == 1:
            raise ConnectionError("away")
        return [_doc(i) for i in range(1, 6)]

    ix = SearchIndex(str(tmp_path / "ix"), load=load, kinds=lambda: [])
    ix.put("index", "resource", None)
    assert ix.flush(timeout=30)
    assert ix.doc_count() == 5 and ix.errors == 0


def test_check_finds_and_repairs_what_differs(app, world, index, announce):
    ctx, admin = world.county_a.context, world["county_admin"]
    kept = announce(admin, ctx, "教研活动安排", "")
    changed = announce(admin, ctx, "旧的标题", "")
    lost = announce(admin, ctx, "丢失的通知", "")
    services.flush()
    assert services.check() == {}
    # what a dropped batch, an unsent signal or a restored backup leave behind
    index.put("delete", "announcement", [lost.id])
    changed.title = "新的标题"
    db.session.commit()  # no signal
    index.put("docs", [{"kind": "announcement", "id": 999, "title": "早已删除", "body": "", "context_path": ctx.path,
                        "owner_id": admin.id}])  # fmt: skip
    index.flush()
    found = services.check(repair=False)
    assert found == {"announcement": {"missing": [lost.id], "stale": [changed.id], "extra": [999]}}
    assert services.check(repair=False) == found  # a dry run changes nothing
    services.check()
    assert services.check() == {}
    teacher = world["teacher"]
    assert services.search(teacher, "新的标题").total == 1 and services.search(teacher, "旧的").total == 0
    assert services.search(teacher, "丢失的通知").total == 1 and services.search(teacher, "早已删除").total == 0
    assert kept.id in {h["id"] for h in services.search(teacher, "教研活动").hits}


def test_reindex_check_command(app, world, index, announce):
    a = announce(world["county_admin"], world.county_a.context, "教研活动安排", "")
    services.flush()
    index.put("delete", "announcement", [a.id])
    index.flush()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["lms", "reindex", "--check", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "announcement: 1 missing, 0 stale, 0 extra" in dry.output and "found 1 differences" in dry.output
    assert services.search(world["teacher"], "教研活动").total == 0
    fixed = runner.invoke(args=["lms", "reindex", "--check"])
    assert "repaired 1 differences" in fixed.output
    assert services.search(world["teacher"], "教研活动").total == 1
    again = runner.invoke(args=["lms", "reindex", "--check"])
    assert "repaired 0 differences" in again.output


def test_the_daily_repair_task(app, world, index, announce, monkeypatch):
    from lms.search import init_app

    monkeypatch.setitem(app.config, "SEARCH_REPAIR_HOURS", 24)
    saved = dict(schedule._schedule(app).tasks)
    try:
        init_app(app)
        task = schedule._schedule(app).tasks["search.repair"]
        assert task.seconds == 24 * 3600
        a = announce(world["county_admin"], world.county_a.context, "教研活动安排", "")
        services.flush()
        index.put("delete", "announcement", [a.id])
        index.flush()
        assert schedule.run_due(app, force=True)["search.repair"] == "ok"
        assert services.search(world["teacher"], "教研活动").total == 1
    finally:
        schedule._schedule(app).tasks.clear()
        schedule._schedule(app).tasks.update(saved)


def test_no_repair_task_when_turned_off(app):
    assert "search.repair" not in {t.name for t in schedule.tasks(app)}  # SEARCH_REPAIR_HOURS = 0 in tests
