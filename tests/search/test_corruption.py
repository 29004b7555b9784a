"""A failing search is retried on a fresh searcher; only damage Whoosh itself confirms leads to a
rebuild, which the single writer thread makes in a new folder and swaps in atomically (CURRENT);
other processes follow the new epoch and drop their cached bitmaps. No request writes the index."""

import shutil
import threading

import pytest

from lms.search import services, whoosh_index
from lms.search.sources import _SOURCES, register_source
from lms.search.whoosh_index import SearchIndex, analyze
from tests.search.conftest import load_announcements

RULES = [{"kinds": ("announcement",), "prefixes": ("/",), "exact": ()}]


def _new_index(app, loc):
    return SearchIndex(str(loc), load=lambda k, ids: services._load_in_app(app, k, ids),
                       kinds=lambda: list(services.sources()))  # fmt: skip


@pytest.fixture
def disk(app, tmp_path, monkeypatch):
    """The app's index on disk (tmp_path/ix), the announcement source registered."""
    saved = dict(_SOURCES)
    _SOURCES.clear()
    register_source("announcement", load_announcements)
    monkeypatch.setattr(whoosh_index, "REFRESH_CHECK", 0.0)
    ix = _new_index(app, tmp_path / "ix")
    saved_ext = app.extensions.get("lms_search")
    app.extensions["lms_search"] = ix
    try:
        yield ix
    finally:
        ix.flush()
        if saved_ext is None:
            app.extensions.pop("lms_search", None)
        else:
            app.extensions["lms_search"] = saved_ext
        _SOURCES.clear()
        _SOURCES.update(saved)


def _files(folder):
    """The index's own files (the shared bitmap cache, a dot file, changes with every search)."""
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


def _rebuilds(monkeypatch):
    """Record the threads that ran a rebuild."""
    threads = []
    original = SearchIndex._rebuild_now

    def spy(self):
        threads.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(SearchIndex, "_rebuild_now", spy)
    return threads


def test_a_passing_failure_is_retried_on_a_fresh_searcher(disk, world, announce, monkeypatch):
    announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
    services.flush()
    assert services.search(world["teacher"], "信息素养").total == 1
    loc = disk.location
    before = _files(disk._folder(0))
    failures = []
    original = SearchIndex._search

    def flaky(self, *a, **kw):
        if not failures:
            failures.append(1)
            raise FileNotFoundError("segment merged away by another process")
        return original(self, *a, **kw)

    monkeypatch.setattr(SearchIndex, "_search", flaky)
    rebuilds = _rebuilds(monkeypatch)
    assert services.search(world["teacher"], "信息素养").total == 1  # answered by the retry
    assert services.flush()
    assert failures == [1] and rebuilds == [] and disk._epoch == 0
    assert _files(disk._folder(0)) == before and disk.location == loc


def test_our_own_bug_on_a_readable_index_never_rebuilds_it(disk, world, announce, monkeypatch):
    announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
    services.flush()
    before = _files(disk._folder(0))

    def broken(*a, **kw):
        raise TypeError("a bug in the ranking")

    monkeypatch.setattr(whoosh_index, "_score_buckets", broken)
    rebuilds = _rebuilds(monkeypatch)
    r = services.search(world["teacher"], "信息素养")  # the request still answers
    assert r.total == 0 and r.hits == []
    with pytest.raises(TypeError):
        disk.search(analyze("信息素养"), rules=RULES)  # the adapter raises it as it is
    assert services.flush()
    assert rebuilds == [] and disk._epoch == 0 and not disk._rebuild_pending
    assert _files(disk._folder(0)) == before
    monkeypatch.undo()
    assert services.search(world["teacher"], "信息素养").total == 1


def test_a_corrupt_index_is_rebuilt_by_the_writer_into_a_new_folder(disk, world, announce, monkeypatch):
    announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
    services.reindex()
    assert services.search(world["teacher"], "信息素养").total == 1
    root = disk._folder(0)
    rebuilds = _rebuilds(monkeypatch)
    disk._reopen()  # nothing open: the damage is found on the next search
    damaged = {}
    for f in root.iterdir():
        if f.is_file() and f.name.startswith(("_MAIN_", "MAIN_")):
            f.write_bytes(b"\x00garbage")
            damaged[f.name] = f.stat().st_mtime_ns
    r = services.search(world["teacher"], "信息素养")  # no exception, no write
    assert r.total == 0 and r.unavailable  # the page says the index is being rebuilt
    assert {n: (root / n).stat().st_mtime_ns for n in damaged} == damaged  # the request left them as they were
    assert services.flush()
    assert rebuilds == ["search-writer"]
    assert disk._epoch == 1 and (root / "CURRENT").read_text().strip() == "1"
    assert (root / "e1").is_dir() and all((root / n).exists() for n in damaged)  # the old one kept, for now
    r = services.search(world["teacher"], "信息素养")
    assert r.total == 1 and not r.unavailable
    # written after the swap: into the new folder
    announce(world["county_admin"], world.county_a.context, "信息素养测评工具", "")
    services.flush()
    assert services.search(world["teacher"], "信息素养").total == 2
    assert disk.doc_count() == 2


def test_another_process_follows_the_new_epoch_and_drops_its_caches(app, disk, world, announce, monkeypatch):
    announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
    services.reindex()
    other = _new_index(app, disk.location)  # a second gunicorn worker on the same folder
    terms = analyze("信息素养")
    assert other.search(terms, rules=RULES)["total"] == 1
    assert other._cache and all(k[0] == 0 for k in other._cache)  # bitmaps of epoch 0
    disk.request_rebuild("test")
    assert disk.flush()
    assert disk._epoch == 1
    # the same generation numbers start again in the new index: without the shared epoch the old
    # process would answer from bitmaps of documents that no longer exist
    announce(world["county_admin"], world.county_a.context, "信息素养测评工具", "")
    services.flush()
    assert other.search(terms, rules=RULES)["total"] == 2
    assert other._epoch == 1 and all(k[0] == 1 for k in other._cache)
    other.flush()


def test_two_processes_asked_to_rebuild_build_one_new_index(app, disk, world, announce):
    announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
    services.reindex()
    other = _new_index(app, disk.location)
    other.index()
    disk.request_rebuild("test")
    other.request_rebuild("test")
    assert disk.flush() and other.flush()
    assert disk._epoch == other._epoch == 1
    root = disk._folder(0)
    assert not (root / "e2").exists()
    assert other.search(analyze("信息素养"), rules=RULES)["total"] == 1


def test_old_epochs_are_removed_after_the_next_rebuild(disk, world, announce):
    announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
    services.reindex()
    root = disk._folder(0)
    for expected in (1, 2, 3):
        disk.request_rebuild("test")
        assert disk.flush() and disk._epoch == expected
    names = {p.name for p in root.iterdir()}
    assert "e3" in names and "e2" in names and "e1" not in names
    assert not any(n.startswith(("_MAIN_", "MAIN_")) for n in names)  # epoch 0's files went too
    assert services.search(world["teacher"], "信息素养").total == 1


def test_a_missing_folder_is_created_and_filled(disk, world, announce):
    announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
    services.reindex()
    disk._reopen()
    shutil.rmtree(disk.location)
    services.search(world["teacher"], "信息素养")
    assert services.flush()
    assert services.search(world["teacher"], "信息素养").total == 1


def test_an_index_of_an_older_schema_is_searched_until_its_rebuild_swaps(app, tmp_path, monkeypatch, world, announce):
    """An index written before the digest field existed: still read, rebuilt in the background."""
    saved = dict(_SOURCES)
    _SOURCES.clear()
    register_source("announcement", load_announcements)
    try:
        announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
        old_schema = whoosh_index.make_schema()
        old_schema.remove("digest")
        from whoosh.filedb.filestore import FileStorage

        loc = tmp_path / "old"
        loc.mkdir()
        old = FileStorage(str(loc)).create_index(old_schema)
        w = old.writer()
        fields = whoosh_index._as_fields(next(iter(services._load_in_app(app, "announcement", None))))
        del fields["digest"]
        w.add_document(**fields)
        w.commit()
        ix = _new_index(app, loc)
        monkeypatch.setattr(SearchIndex, "_rebuild_now", lambda self: None)  # hold the rebuild back
        assert ix.search(analyze("信息素养"), rules=RULES)["total"] == 1
        assert ix._rebuild_pending and ix._extra_fields == {"digest"}
        monkeypatch.undo()
        ix._rebuild_pending = False
        ix.request_rebuild("test")
        assert ix.flush()
        assert ix._epoch == 1 and ix._extra_fields == set()
        assert ix.search(analyze("信息素养"), rules=RULES)["total"] == 1
    finally:
        _SOURCES.clear()
        _SOURCES.update(saved)


def test_a_rebuild_that_keeps_failing_is_dropped_and_asked_for_again(disk, world, announce, monkeypatch):
    monkeypatch.setattr(whoosh_index, "RETRY_BACKOFF", (0.01, 0.01, 0.01))
    announce(world["county_admin"], world.county_a.context, "教师信息素养提升", "")
    services.reindex()
    calls = []

    def database_away(self, ix):
        calls.append(1)
        raise ConnectionError("database away")

    monkeypatch.setattr(SearchIndex, "_fill", database_away)
    disk.request_rebuild("test")
    assert disk.flush(timeout=30)
    assert len(calls) == 4 and disk.errors == 1 and disk._epoch == 0
    assert not (disk._folder(0) / "e1").exists()  # the half-built folder is removed
    assert services.search(world["teacher"], "信息素养").total == 1  # the old index still serves
    monkeypatch.undo()
    disk.request_rebuild("test")  # not ignored as "pending"
    assert disk.flush(timeout=30) and disk._epoch == 1
