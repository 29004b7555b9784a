"""The single writer and another process's lock on an on-disk index: the batch goes back in front
of the queue, and a flush behind it is reported done only once the batch is committed."""

from lms.search import whoosh_index
from lms.search.whoosh_index import SearchIndex
from tests.search.test_bitmap_store import _doc


def test_a_flush_waits_while_another_process_holds_the_lock(tmp_path, monkeypatch):
    monkeypatch.setattr(whoosh_index, "LOCK_TIMEOUT", 0.2)
    ix = SearchIndex(str(tmp_path / "ix"), load=lambda kind, ids: [], kinds=lambda: [])
    ix.put("docs", [_doc(1)])
    assert ix.flush(timeout=30) and ix.doc_count() == 1
    # A file lock, as a gunicorn worker committing a big batch would hold it.
    other = ix.index().writer()
    try:
        ix.put("docs", [_doc(2), _doc(3)])
        assert ix.flush(timeout=2) is False  # re-queued while locked: not committed, not "done"
        assert ix.doc_count() == 1
    finally:
        other.cancel()
    assert ix.flush(timeout=30) is True
    assert ix.doc_count() == 3
    assert ix.errors == 0


def test_a_process_that_exits_at_once_commits_a_big_batch(tmp_path):
    """Queued writes big enough for the analysis processes still land when the process ends right
    away (at exit, concurrent.futures takes no new work: the writer analyses them itself)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = (
        "import sys\n"
        "from lms.search.whoosh_index import SearchIndex\n"
        "from tests.search.test_bitmap_store import _doc\n"
        "ix = SearchIndex(sys.argv[1], load=lambda kind, ids: [], kinds=lambda: [])\n"
        f"ix.put('docs', [_doc(i) for i in range({whoosh_index.ANALYSIS_MIN_DOCS + 100})])\n"
    )  # ends without a flush
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ix")], cwd=root, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "failed" not in done.stderr
    ix = SearchIndex(str(tmp_path / "ix"), load=lambda kind, ids: [], kinds=lambda: [])
    assert ix.doc_count() == whoosh_index.ANALYSIS_MIN_DOCS + 100


def test_writes_wait_while_another_process_creates_the_missing_index(tmp_path, monkeypatch):
    """The index folder is empty and another process holds the lock while creating it: the batch is
    put back and written once the lock is free, not dropped to a rebuild nobody queued."""
    monkeypatch.setattr(whoosh_index, "LOCK_TIMEOUT", 0.2)
    path = tmp_path / "ix"
    path.mkdir()
    from whoosh.filedb.filestore import FileStorage

    lock = FileStorage(str(path)).lock("MAIN_WRITELOCK")
    assert lock.acquire(blocking=False)
    ix = SearchIndex(str(path), load=lambda kind, ids: [], kinds=lambda: [])
    try:
        ix.put("docs", [_doc(1), _doc(2)])
        assert ix.flush(timeout=2) is False  # put back while the other process holds the lock
    finally:
        lock.release()
    assert ix.flush(timeout=30) is True
    assert ix.doc_count() == 2
