"""Bitmaps shared between processes through the index folder (whoosh_index.BitmapStore): a file
index on disk, two SearchIndex objects standing for two gunicorn workers."""

import sqlite3

import pytest

from lms.search.whoosh_index import BitmapStore, SearchIndex, analyze

RULES = [{"kinds": ("resource",), "prefixes": ("/1/",), "exact": ()}]
WORDS = ["信息技术", "学科融合", "校本研修", "课堂观察", "作业设计", "教学反思"]


def _doc(i: int) -> dict:
    a, b = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
    return {
        "kind": "resource", "id": i, "title": f"{a}案例{i}", "body": f"围绕{b}开展{a}的研究。" * (1 + i % 3),
        "url": f"/resources/{i}", "context_path": "/1/2/" if i % 4 else "/9/", "owner_id": i % 5,
        "stage": "primary", "subject": "math" if i % 2 else "chinese", "type": "case", "created_at": None,
    }  # fmt: skip


def _open(path) -> SearchIndex:
    ix = SearchIndex(str(path), load=lambda kind, ids: [], kinds=lambda: [])
    ix.index()
    return ix


def _add(ix: SearchIndex, ids) -> None:
    ix.put("docs", [_doc(i) for i in ids])
    assert ix.flush()
    assert ix.errors == 0


def _results(ix: SearchIndex, queries=("信息技术", "学科融合 作业设计", "课堂观察", "xxjs")) -> list:
    out = []
    for q in queries:
        for fields in (None, {"subject": "math"}):
            r = ix.search(analyze(q), rules=RULES, fields=fields, page=1, per_page=10)
            out.append((q, repr(fields), r["total"], [(h["id"], h["score"], h["snippet_html"]) for h in r["hits"]]))
    return out


def _stored_segments(path) -> set[str]:
    con = sqlite3.connect(str(path / BitmapStore.FILE))
    try:
        return {r[0] for r in con.execute("SELECT DISTINCT seg FROM bits")}
    finally:
        con.close()


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "index"


def test_second_process_reads_the_stored_bitmaps_with_the_same_results(folder):
    first = _open(folder)
    _add(first, range(1, 301))
    expected = _results(first)
    assert any(total for _, _, total, _ in expected)
    assert first.built > 0  # built from the postings once, and stored

    second = _open(folder)  # another worker: empty memory cache, the same folder
    assert _results(second) == expected
    assert second.built == 0  # every bitmap came from the store


def test_a_merge_drops_the_old_segments_bitmaps_and_warms_the_new_one(folder):
    ix = _open(folder)
    _add(ix, range(1, 201))
    _add(ix, range(201, 401))
    before = _results(ix)
    old = _stored_segments(folder)
    assert len(old) == 2

    ix.warm_min_docs = 0  # warm any merged segment, not only big ones
    ix.put("optimize")
    assert ix.flush()
    assert ix._warmer is not None
    ix._warmer.join(30)
    now = {seg.segment_id() for seg in ix.index()._segments()}
    assert len(now) == 1
    assert _stored_segments(folder) <= now  # nothing left of the merged-away segments

    other = _open(folder)
    assert _results(other) == before  # warm-up changes no result
    assert other.built == 0  # the new segment's bitmaps were warmed from the old ones' keys
    assert _results(ix) == before


def test_deleted_and_new_documents_are_seen_despite_stored_bitmaps(folder):
    ix = _open(folder)
    _add(ix, range(1, 101))
    r = ix.search(["信息技术"], rules=RULES)
    assert r["total"] > 0
    gone = r["hits"][0]["id"]
    ix.put("delete", "resource", [gone])
    _add(ix, [1000])  # a new segment (title 信息技术…: 1000 % 6 == 4 → 作业设计; body has it)
    other = _open(folder)
    for searcher in (ix, other):
        hits = searcher.match_keys(["信息技术"], RULES)
        assert f"resource:{gone}" not in hits
        r2 = searcher.search(["信息技术"], rules=RULES, per_page=200)
        assert r2["total"] == len(hits) == len({h["id"] for h in r2["hits"]})
    assert other.built == 0  # both segments' bitmaps were stored by the first searcher


def test_a_broken_store_is_only_a_cache_miss(folder):
    ix = _open(folder)
    _add(ix, range(1, 101))
    expected = _results(ix)
    (folder / BitmapStore.FILE).write_bytes(b"not a database" * 100)
    for name in (BitmapStore.FILE + "-wal", BitmapStore.FILE + "-shm"):
        (folder / name).unlink(missing_ok=True)
    other = _open(folder)
    assert _results(other) == expected


def test_one_commit_never_holds_more_than_max_batch_docs(folder, monkeypatch):
    from lms.search import whoosh_index

    monkeypatch.setattr(whoosh_index, "MAX_BATCH_DOCS", 40)
    ix = _open(folder)
    ix.put("docs", [_doc(i) for i in range(1, 101)])  # one operation of 100 documents
    ix.put("delete", "resource", [5])
    ix.put("docs", [_doc(i) for i in range(101, 131)])
    assert ix.flush()
    assert ix.errors == 0
    assert ix._commits == 4  # 40 + 40 + 20 (with the delete and 20 of the next) + 10
    assert ix.doc_count() == 129
    assert "resource:5" not in ix.match_keys(["案例"], RULES) | ix.match_keys(["信息技术"], None)


def test_big_batches_analysed_in_other_processes_give_the_same_index(tmp_path, monkeypatch):
    from lms.search import whoosh_index

    docs = [_doc(i) for i in range(1, 121)] + [_doc(999) | {"title": "Python编程入门 xinxi", "body": ""}]
    serial = _open(tmp_path / "serial")
    monkeypatch.setattr(whoosh_index, "ANALYSIS_PROCS", 1)
    serial.put("docs", docs)
    assert serial.flush()
    monkeypatch.setattr(whoosh_index, "ANALYSIS_PROCS", 2)
    monkeypatch.setattr(whoosh_index, "ANALYSIS_MIN_DOCS", 10)
    monkeypatch.setattr(whoosh_index, "ANALYSIS_CHUNK", 7)
    pooled = _open(tmp_path / "pooled")
    pooled.put("docs", docs)
    assert pooled.flush(120)
    assert pooled.errors == serial.errors == 0
    assert serial.pooled == 0 and pooled.pooled == len(docs)
    assert pooled._analysis is None  # the processes end once the queue is empty
    assert pooled.keys() == serial.keys()
    queries = ("信息技术", "学科融合 作业设计", "xxjs", "python", "xinxi")
    assert _results(pooled, queries) == _results(serial, queries)
    assert not whoosh_index._PRECUT


def test_a_small_commit_after_a_bounded_rebuild_leaves_its_segments_alone(folder, monkeypatch):
    from lms.search import whoosh_index

    monkeypatch.setattr(whoosh_index, "MAX_BATCH_DOCS", 40)
    monkeypatch.setattr(whoosh_index, "MERGE_MAX_DOCS", 30)
    ix = _open(folder)
    ix.put("docs", [_doc(i) for i in range(1, 481)])
    assert ix.flush(120)
    bulk = {seg.segment_id() for seg in ix.index()._segments()}
    assert len(bulk) == 12  # written without merging one into the next
    for i in (481, 482, 483):
        _add(ix, [i])
    segments = {seg.segment_id(): seg.doc_count_all() for seg in ix.index()._segments()}
    assert bulk <= set(segments)  # Whoosh's MERGE_SMALL alone would have merged them
    assert ix.doc_count() == 483
    assert len(ix.match_keys(["案例"], RULES)) == len(ix.match_keys(["案例"], None) & ix.match_keys(["案例"], RULES))
