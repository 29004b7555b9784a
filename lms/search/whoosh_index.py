"""The Whoosh + jieba adapter: the only module that imports whoosh or jieba (DESIGN.md rule 4).

Writes. Whoosh allows one writer per index and its AsyncWriter still raises LockError under load,
so every write (index, delete, clear) goes through ONE queue consumed by a single writer thread per
process. The thread drains whatever is queued, applies it with one writer and commits: under load
the batches grow by themselves, when idle a document is searchable a few milliseconds after the
commit that changed it. Segments are merged on each commit (Whoosh's MERGE_SMALL) and the index is
optimized into one segment every `OPTIMIZE_EVERY` commits.

Several processes (gunicorn workers, the CLI): each process has its own writer thread, and
Whoosh's file lock (taken with `ix.writer(timeout=...)`, which retries) serializes them; a batch
that still cannot get the lock goes back into the queue and is retried, never lost and never
raised into a request. Each commit is small, so the lock is held briefly. Beyond what one file
lock serializes comfortably, replace this module with a server engine (README "Search").

Reads. Searchers are pooled per process and refreshed when the index has a newer generation.
A missing or corrupt index is recreated empty and rebuilt from the database by the `rebuild`
callback the services give (the same code as `flask lms reindex`), instead of crashing.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import queue
import re
import shutil
import sqlite3
import threading
import time
import zlib
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor  # imported now: at interpreter exit the import itself fails
from datetime import datetime
from pathlib import Path

import jieba
from markupsafe import escape
from pypinyin import lazy_pinyin
from whoosh import query as Q
from whoosh.analysis import LowercaseFilter, RegexTokenizer, Token, Tokenizer
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import DATETIME, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import EmptyIndexError
from whoosh.index import LockError as WhooshLockError
from whoosh.writing import MERGE_SMALL, NO_MERGE

log = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)

OPTIMIZE_EVERY = 500  # commits between full merges
EXIT_DRAIN_SECONDS = 600  # an ending process waits this long at most for its queued index writes
MAX_BATCH = 2000  # operations per commit
MERGE_MAX_DOCS = 1000  # segments this big are left alone by the merge after each commit (_merge_small)
MAX_BATCH_DOCS = 2000  # documents per commit: bounds the writer's memory and how long it holds the lock
POOL_SIZE = 8  # idle searchers kept per process
REFRESH_CHECK = 1.0  # seconds between looks for another process's commits
CACHE_BYTES = 64 * 1024 * 1024  # term and filter bitmaps kept per process (12.5 KB per 100,000 documents)
SNIPPET_SOURCE = 2000  # body characters stored for snippets (a match further in shows the start)
LOCK_TIMEOUT = 10.0  # seconds a writer waits for another process's lock before re-queueing
ANALYSIS_PROCS = 2  # processes cutting words (jieba, pypinyin) for big batches, beside the writer
ANALYSIS_MIN_DOCS = 400  # smaller batches are analysed in the writer thread (a pool costs ~1 s to start)
ANALYSIS_CHUNK = 50  # documents per task sent to the pool
WARM_MIN_DOCS = 2000  # segments from a merge this big get the bitmaps their predecessors had
WARM_KEYS = 2000  # at most this many bitmaps warmed per merge
RETRY_BACKOFF = (0.5, 2.0, 8.0)  # seconds before each retry of a failed batch; then it is dropped
KEEP_EPOCHS = 2  # index folders kept after a rebuild: the new one and the one before it
# Stored-only fields an index written before they existed may lack: still searchable, rebuilt.
OPTIONAL_FIELDS = frozenset({"digest"})

# Words too common to mean anything in a query (and 与 in 信息技术与学科融合).
_STOPS = "的 了 和 与 及 或 在 是 也 就 都 而 之 对 把 被 从 向 以 于 为 中 上 下 等 这 那 其 个 一"
STOP_WORDS = frozenset(_STOPS.split(" ") + ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in",
                                            "is", "it", "of", "on", "or", "that", "the", "to", "with"])  # fmt: skip
_WORDISH = re.compile(r"\w", re.UNICODE)


@functools.lru_cache(maxsize=8192)
def _cut_short(text: str) -> tuple:
    return tuple(jieba.tokenize(text, mode="search", HMM=False))


# Texts of the batch being written whose words another process already cut (see _analyzed).
_PRECUT: dict[str, tuple] = {}


def _cut(text: str):
    """jieba's search-mode words with offsets; short texts (titles, queries) cached, since the
    title is cut for its own field, its pinyin and its highlighting. HMM off: the HMM guesses words
    missing from the dictionary, at twice the cost, and index and query are cut alike either way."""
    pre = _PRECUT.get(text)
    if pre is not None:
        return pre
    if len(text) <= 200:
        return _cut_short(text)
    return jieba.tokenize(text, mode="search", HMM=False)


class ChineseTokenizer(Tokenizer):
    """jieba's search-mode segmentation (words and their sub-words, 信息技术 → 信息, 技术, 信息技术)
    with character offsets for highlighting; punctuation and spaces dropped, words lowercased and
    stop words left out here, in one loop (Whoosh's chained filters cost a generator per token)."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):  # fmt: skip
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        pos = start_pos
        stops = STOP_WORDS
        for word, start, end in _cut(value):
            if not _WORDISH.search(word):
                continue
            text = word.lower()
            stopped = text in stops
            if stopped and removestops:
                continue
            t.original, t.text = word, text
            t.boost = 1.0
            t.stopped = stopped
            if positions:
                t.pos = pos
                pos += 1
            if chars:
                t.startchar, t.endchar = start_char + start, start_char + end
            yield t


# --- pinyin ----------------------------------------------------------------------------------------
# Titles and tags are also indexed as pinyin, so `xinxijishu`, `xinxi jishu` and the initials `xxjs`
# find 信息技术: per word jieba cuts (search mode: 信息, 技术, 信息技术), its syllables joined and
# its initials (words of two or more characters), and the whole title's syllables and initials.
# Queries need no pinyin step: an ASCII query term is looked up in this field too.

_HAN = re.compile(r"[\u3400-\u9fff]")
PINYIN_ANALYZER = RegexTokenizer(r"[a-z0-9]+") | LowercaseFilter()


def _syllables(text: str) -> list[str]:
    """One pinyin syllable per character of text ("" for anything that is not a Han character)."""
    return lazy_pinyin(text, errors=lambda chunk: [""] * len(chunk))


@functools.lru_cache(maxsize=20000)
def _char_syllable(c: str) -> str:
    return lazy_pinyin(c, errors=lambda chunk: [""] * len(chunk))[0]


def _readings(text: str) -> list[list[str]]:
    """The syllables of text in context (pypinyin's phrases: 银行 hang) and, when different, each
    character's own most common reading (校本: pypinyin says jiao, people type xiao)."""
    syl = _syllables(text)
    if len(syl) != len(text):  # pypinyin changed its alignment: per character only
        return [[_char_syllable(c) for c in text]]
    plain = [_char_syllable(c) if x else "" for c, x in zip(text, syl, strict=True)]
    return [syl] if plain == syl else [syl, plain]


def pinyin_forms(text: str) -> list[str]:
    """The pinyin words of a title or tag: per jieba word its syllables and initials, and the whole."""
    if not text or not _HAN.search(text):
        return []
    forms: dict[str, None] = {}
    spans = _pinyin_spans(text) + [(0, len(text))]
    for syl in _readings(text):
        for start, end in spans:
            parts = [x for x in syl[start:end] if x]
            if not parts:
                continue
            forms.setdefault("".join(parts), None)
            if len(parts) > 1:
                forms.setdefault("".join(x[0] for x in parts), None)
    return list(forms)


def _pinyin_spans(text: str) -> list[tuple[int, int]]:
    """Character spans worth a pinyin form: every jieba word (search mode, stop words left out)
    and each two adjacent whole words (学科 + 融合 → 学科融合, typed as one: xuekeronghe, xkrh)."""
    cut = [(w, a, b) for w, a, b in _cut(text) if w not in STOP_WORDS and _HAN.search(w)]
    spans = [(a, b) for _, a, b in cut]
    tops = sorted((a, b) for a, b in spans if not any(c <= a and b <= d and (c, d) != (a, b) for c, d in spans))
    for (a, b), (c, d) in zip(tops, tops[1:], strict=False):
        if b == c:
            spans.append((a, d))
    return spans


def pinyin_text(*texts: str) -> str:
    return " ".join(f for t in texts if t for f in pinyin_forms(t))


def pinyin_words(title: str, terms: list[str], prefix: str | None = None) -> list[str]:
    """The words of `title` whose pinyin is one of the ASCII query terms (to highlight them), and for
    a `prefix` (the query's last word, still being typed) the shortest word at each place whose
    pinyin starts with it."""
    wanted = {t for t in terms if t.isascii() and t.isalpha()}
    if not wanted or not title or not _HAN.search(title):
        return []
    exact: dict[tuple[int, int], None] = {}
    started: dict[int, tuple[int, int]] = {}
    for syl in _readings(title):
        for start, end in _pinyin_spans(title) + [(0, len(title))]:
            parts = [x for x in syl[start:end] if x]
            if not parts:
                continue
            whole, initials = "".join(parts), "".join(x[0] for x in parts) if len(parts) > 1 else None
            if whole in wanted or initials in wanted:
                exact[(start, end)] = None
            elif prefix and (whole.startswith(prefix) or (initials or "").startswith(prefix)):
                best = started.get(start)
                started[start] = (start, end) if best is None or end - start < best[1] - best[0] else best
    # A word the query names whole wins over a longer one its prefix begins at the same place.
    starts = {a for a, _ in exact}
    spans = list(exact) + [span for a, span in started.items() if a not in starts]
    return [title[a:b] for a, b in spans]


#: The query's last word is taken as a pinyin (or English) prefix when it is ASCII letters, at least
#: this long: a teacher typing xinxiji… finds 信息技术 before finishing the word.
PREFIX_MIN = 2
#: At most this many index words a prefix stands for, per segment (x… would otherwise be thousands).
PREFIX_MAX_TERMS = 500


def prefix_term(terms: list[str]) -> str | None:
    """The last query term if it may be matched as a prefix (see PREFIX_MIN)."""
    last = terms[-1] if terms else ""
    return last if len(last) >= PREFIX_MIN and last.isascii() and last.isalpha() else None


def chinese_analyzer():
    # Indexes written before the tokenizer lowercased and dropped stop words itself have
    # ChineseTokenizer() | LowercaseFilter() | StopFilter(STOP_WORDS) in their stored schema: the
    # same words.
    return ChineseTokenizer()


ANALYZER = chinese_analyzer()


def analyze(text: str) -> list[str]:
    """The distinct terms of a query, in order (the same analysis as the index)."""
    seen: dict[str, None] = {}
    for tok in ANALYZER(text or ""):
        seen.setdefault(tok.text, None)
    return list(seen)


def make_schema() -> Schema:
    schema = Schema(
        key=ID(unique=True, stored=True),  # "<kind>:<id>"
        kind=ID(stored=True),
        id=NUMERIC(int, bits=64, stored=True, signed=False),
        # No positions (phrase=False): queries are word sets, and positions cost time and space.
        title=TEXT(analyzer=ANALYZER, stored=True, field_boost=3.0, phrase=False),
        body=TEXT(analyzer=ANALYZER, phrase=False),
        snippet=STORED(),  # the body's first SNIPPET_SOURCE characters: what snippets are cut from
        pinyin=TEXT(analyzer=PINYIN_ANALYZER, field_boost=2.0, phrase=False),  # of title and tags
        context_path=ID(stored=True),  # "" = private to the owner
        owner_id=ID(stored=True),
        stage=ID(stored=True),
        subject=ID(stored=True),
        type=ID(stored=True),
        created_at=DATETIME(stored=True, sortable=True),
        url=STORED(),
        digest=STORED(),  # of the source document (doc_digest): `check` compares it with the database
    )
    # Queries never run Whoosh's scorer (the bitmaps rank), so no field lengths: storing them cost
    # a column lookup per posting when a segment is written.
    for name in ("title", "body", "pinyin"):
        schema[name].scorable = False
    return schema


def _as_fields(doc: dict) -> dict:
    created = doc.get("created_at")
    return {
        "key": f"{doc['kind']}:{doc['id']}",
        "kind": doc["kind"],
        "id": int(doc["id"]),
        "title": doc.get("title") or "",
        "body": doc.get("body") or "",
        "snippet": (doc["snippet"] if "snippet" in doc else doc.get("body") or "")[:SNIPPET_SOURCE],
        "pinyin": pinyin_text(doc.get("title") or "", *(doc.get("tags") or "").split()),
        "context_path": doc.get("context_path") or "",
        "owner_id": str(doc["owner_id"]) if doc.get("owner_id") is not None else "",
        "stage": doc.get("stage") or "",
        "subject": doc.get("subject") or "",
        "type": doc.get("type") or "",
        "created_at": created if isinstance(created, datetime) else None,
        "url": doc.get("url") or "",
        "digest": doc_digest(doc),
    }


def doc_digest(doc: dict) -> str:
    """A short hash of what a source document says (every field the index keeps): the index
    stores it, so comparing with the database (`SearchIndex.differences`) needs no re-analysis."""
    created = doc.get("created_at")
    parts = [doc.get(k) for k in ("kind", "id", "title", "body", "url", "context_path", "owner_id", "stage",
                                  "subject", "type", "tags")]  # fmt: skip
    parts.append(created.isoformat() if isinstance(created, datetime) else None)
    raw = json.dumps(parts, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def _analyze_docs(docs: list[dict]) -> list[tuple[dict, dict]]:
    """In an analysis process: each document's fields (pinyin included) and the words of its title
    and body, so the writer's tokenizer finds them cut (the same jieba, the same dictionary)."""
    out = []
    for d in docs:
        fields = _as_fields(d)
        cuts = {t: tuple(_cut(t)) for t in (fields["title"], fields["body"]) if t}
        out.append((fields, cuts))
    return out


def _doc_key(doc: dict) -> str:
    return f"{doc['kind']}:{doc['id']}"


def _merge_small(writer, segments):
    """Whoosh's MERGE_SMALL among the segments under MERGE_MAX_DOCS documents only. Whoosh's own
    policy, given the dozens of equal segments a bounded rebuild writes, merged most of them at the
    next small commit (minutes of copying postings in Python at 100,000 documents); big segments
    are merged by the full optimize every OPTIMIZE_EVERY commits."""
    small = [seg for seg in segments if seg.doc_count_all() < MERGE_MAX_DOCS]
    big = [seg for seg in segments if seg.doc_count_all() >= MERGE_MAX_DOCS]
    return big + MERGE_SMALL(writer, small)


def _codec():
    """Whoosh's codec without length statistics: the fields are not scorable (make_schema), and
    with the statistics on, writing a segment still looked up (stat'ed) a length column for every
    posting. An instance attribute, not a subclass, so the segments' pickled codec stays Whoosh's."""
    codec = W3Codec()
    codec.length_stats = False
    return codec


class _RamStorage(RamStorage):
    """In-memory index whose temporary files stay in memory too: Whoosh's RamStorage puts them in
    a folder named after the index in /tmp, shared (and deleted) by every process using one."""

    def temp_storage(self, name=None):
        return RamStorage()


def _take_lock(lock, timeout: float) -> bool:
    """Acquire a Whoosh lock (a file lock on disk), waiting up to timeout seconds."""
    deadline = time.monotonic() + timeout
    while not lock.acquire(blocking=False):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _marker(terms: list[str]):
    """One regex for the query's terms, longest first; ASCII words only on word boundaries."""
    parts = []
    for t in sorted({t for t in terms if t}, key=len, reverse=True):
        parts.append(rf"\b{re.escape(t)}\b" if t.isascii() else re.escape(t))
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def mark(text: str, pattern, size: int | None = None) -> str:
    """Escaped text with the query's terms in <mark>, cut to a window around the first match.

    Plain string matching of the already analysed query terms: running jieba again over every hit
    (Whoosh's highlighter) cost far more than the search itself.
    """
    text = text or ""
    start, end = 0, len(text)
    if size is not None and len(text) > size:
        first = pattern.search(text) if pattern else None
        start = max(0, first.start() - size // 4) if first else 0
        end = min(len(text), start + size)
    segment = text[start:end]
    out = ["…"] if start > 0 else []
    pos = 0
    if pattern:
        for m in pattern.finditer(segment):
            out.append(str(escape(segment[pos : m.start()])))
            out.append(f"<mark>{escape(m.group())}</mark>")
            pos = m.end()
    out.append(str(escape(segment[pos:])))
    if end < len(text):
        out.append("…")
    return "".join(out)


# --- bitmaps shared between processes -------------------------------------------------------------


class BitmapStore:
    """Per-segment bitmaps kept on disk, so every process on the index shares them.

    Building a term's bitmaps means decoding its postings in Python (50-90 ms for a common term at
    100,000 documents); each gunicorn worker used to pay that once per term, and again after every
    restart. Here the first process to build one stores it (zlib'd, in a SQLite file inside the index
    folder: a dot file, which Whoosh's cleanup leaves alone) and the others read it in well under a
    millisecond. Whoosh segments never change after they are written (deletions are applied through
    the live mask), and a merge writes a new segment under a new random id, so an entry keyed by
    segment id never goes stale: the writer prunes the entries of segments gone from the index.
    The store is only a cache: any SQLite error makes it a miss, never a failed search.
    """

    FILE = ".bitmaps.sqlite3"
    FORMAT = 1  # bumped when the encoding changes (old rows are then ignored)

    def __init__(self, folder: str):
        self.path = str(Path(folder) / self.FILE)
        self._local = threading.local()

    def _con(self):
        con = getattr(self._local, "con", None)
        if con is None or self._local.pid != os.getpid():  # a connection must not cross a fork
            con = sqlite3.connect(self.path, timeout=1.0, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=OFF")  # a lost row is rebuilt, never wrong
            con.execute(
                "CREATE TABLE IF NOT EXISTS bits (seg TEXT, key TEXT, fmt INTEGER, data BLOB, "
                "PRIMARY KEY (seg, key)) WITHOUT ROWID"
            )
            self._local.con, self._local.pid = con, os.getpid()
        return con

    def get(self, seg: str, key: str, nbytes: int, count: int) -> list[int] | None:
        try:
            row = self._con().execute("SELECT fmt, data FROM bits WHERE seg = ? AND key = ?", (seg, key)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or row[0] != self.FORMAT:
            return None
        raw = zlib.decompress(row[1])
        if len(raw) != nbytes * count:  # not this segment's size: ignore it
            return None
        return [int.from_bytes(raw[i * nbytes : (i + 1) * nbytes], "little") for i in range(count)]

    def put(self, seg: str, key: str, nbytes: int, values: list[int]) -> None:
        data = zlib.compress(b"".join(v.to_bytes(nbytes, "little") for v in values), 1)
        with contextlib.suppress(sqlite3.Error):
            self._con().execute(
                "INSERT OR REPLACE INTO bits (seg, key, fmt, data) VALUES (?, ?, ?, ?)", (seg, key, self.FORMAT, data)
            )

    def prune(self, keep: set[str]) -> list[str]:
        """Drop the entries of segments not in `keep`; returns the keys they had (to warm again)."""
        try:
            con = self._con()
            segs = {r[0] for r in con.execute("SELECT DISTINCT seg FROM bits")}
            gone = sorted(segs - keep)
            if not gone:
                return []
            marks = ",".join("?" * len(gone))
            keys = [r[0] for r in con.execute(f"SELECT DISTINCT key FROM bits WHERE seg IN ({marks})", gone)]  # noqa: S608
            con.execute(f"DELETE FROM bits WHERE seg IN ({marks})", gone)  # noqa: S608
            return keys
        except sqlite3.Error:
            return []

    def has(self, seg: str, key: str) -> bool:
        try:
            row = self._con().execute("SELECT fmt FROM bits WHERE seg = ? AND key = ?", (seg, key)).fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] == self.FORMAT

    def size_bytes(self) -> int:
        return sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            with contextlib.suppress(sqlite3.Error):
                con.close()
            self._local.con = None


# --- the writer -------------------------------------------------------------------------------


class _Requeued(Exception):
    """A batch went back in front of the queue (another process held the index lock)."""


class IndexUnavailable(Exception):
    """The index cannot be read (corrupt, or of an older schema) and a rebuild is queued: searches
    answer nothing meanwhile, and queued writes are left to the rebuild, which reads the database."""


class IndexBusy(IndexUnavailable):
    """The index is missing and another process holds the lock while creating it: no rebuild is
    coming for what was queued here, so the writer puts it back and tries again."""


class _Op:
    __slots__ = ("name", "args", "done", "tries", "solo")

    def __init__(self, name, *args, done: threading.Event | None = None):
        self.name, self.args, self.done = name, args, done
        self.tries = 0  # failed attempts (see SearchIndex._retry)
        self.solo = False  # retried alone, so one bad operation cannot sink the others


class SearchIndex:
    """One index per app: a storage, a write queue with its single writer thread, a searcher pool.

    `load(kind, ids)` returns documents (dicts, lms.search.sources shape) for the writer thread
    (ids None: every document of the kind); `kinds()` names the kinds a rebuild reads. Both run
    inside the app context the services wrap them in.

    Folders. Epoch 0 is the index in `location` itself; a rebuild (a corrupt index, a new schema)
    writes epoch N+1 into `location/eN+1` and then names it in `location/CURRENT` (replaced
    atomically), so readers never see a half-built index and no request ever deletes one. Every
    process reads CURRENT when it looks for newer commits and follows it, dropping the searchers
    and cached bitmaps of the old epoch (generation numbers restart in a new index).
    """

    def __init__(self, location: str, load, kinds=None):
        self.location = location
        self._load = load
        self._kinds = kinds or (lambda: [])
        self._queue: queue.Queue[_Op] = queue.Queue()
        self._carry: collections.deque[_Op] = collections.deque()  # writer thread only: split-off rests
        self._exiting = False  # set at interpreter exit: no new analysis processes then
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._ix = None
        self._ix_lock = threading.RLock()
        self._pool: list = []
        self._pool_lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()  # see _cached
        self._cache_bytes = 0
        self._epoch = 0  # the index's epoch (CURRENT): cache keys carry it, generations restart in each
        self._extra_fields: set[str] = set()  # fields of make_schema() an older index lacks (left out)
        self._rebuild_pending = False
        self._generation = -1  # newest generation this process committed or saw
        self._checked = 0.0  # when the storage was last asked for a newer generation
        self._commits = 0
        self.errors = 0  # failed batches (logged); tests and the benchmark look at it
        self.pooled = 0  # documents analysed by the analysis processes: tests, benchmark
        self.built = 0  # bitmaps built from postings (not found in the store): tests, benchmark
        self._storage = _RamStorage() if location == "memory" else None
        self._store = None if location == "memory" else BitmapStore(location)
        self._warmer: threading.Thread | None = None
        self._analysis = None  # the analysis process pool while a big batch is being written
        self.warm_min_docs = WARM_MIN_DOCS

    # -- storage ------------------------------------------------------------------------------

    POINTER = "CURRENT"

    def _folder(self, epoch: int) -> Path:
        return Path(self.location) if epoch == 0 else Path(self.location) / f"e{epoch}"

    def _read_epoch(self) -> int:
        """The epoch CURRENT names (0 without it); the in-memory index keeps its own."""
        if self.location == "memory":
            return self._epoch
        try:
            return int((Path(self.location) / self.POINTER).read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def _write_epoch(self, epoch: int) -> None:
        path = Path(self.location) / self.POINTER
        tmp = path.with_name(f".{self.POINTER}.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            f.write(f"{epoch}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the old epoch or the new, whole

    def _open_storage(self, epoch: int | None = None):
        if self.location == "memory":
            if self._storage is None:
                self._storage = _RamStorage()
            return self._storage
        folder = self._folder(self._epoch if epoch is None else epoch)
        folder.mkdir(parents=True, exist_ok=True)
        return FileStorage(str(folder))

    def _follow_epoch(self) -> bool:
        """Switch to the epoch CURRENT names if another process (or this one's writer) moved it;
        returns whether it did."""
        epoch = self._read_epoch()
        if epoch == self._epoch:
            return False
        with self._ix_lock:
            if epoch != self._epoch:
                log.info("search index: following epoch %s (was %s)", epoch, self._epoch)
                self._switch(epoch, None)
        return True

    def _switch(self, epoch: int, ix) -> None:
        """Use epoch's index from now on (ix, or opened on next use); the old one's searchers and
        cached bitmaps are dropped."""
        with self._ix_lock:
            self._drop_searchers()
            self._ix, self._epoch, self._generation = ix, epoch, -1
            with self._pool_lock:
                self._cache.clear()
                self._cache_bytes = 0

    def index(self):
        """The open index of the current epoch. Created when there is none (then filled from the
        database); IndexUnavailable when it cannot be read (a rebuild is then queued)."""
        with self._ix_lock:
            if self._ix is None:
                self._ix = self._open()
            return self._ix

    def _open(self):
        storage = self._open_storage()
        try:
            ix = storage.open_index()
            ix.doc_count()  # reads the TOC and segment list: fails on a corrupt index
        except EmptyIndexError:  # none yet (first start, or its folder was removed): nothing to lose
            ix, created = self._create_missing(storage)
            if created:
                self._queue_fill()
        except Exception as exc:
            self.request_rebuild(f"unreadable: {exc!r}")
            raise IndexUnavailable(repr(exc)) from exc
        names, wanted = set(ix.schema.names()), set(make_schema().names())
        if not (wanted - OPTIONAL_FIELDS) <= names:
            self.request_rebuild("the schema changed")
            raise IndexUnavailable("schema changed")
        self._extra_fields = wanted - names
        if self._extra_fields:  # readable as it is: searched until the rebuild swaps in the new one
            self.request_rebuild(f"fields added to the schema: {sorted(self._extra_fields)}")
        return ix

    def _create_missing(self, storage):
        """Create an empty index under the write lock, unless another process just did (Whoosh's
        create_index deletes the TOC files it finds: never over an index in use)."""
        lock = storage.lock("MAIN_WRITELOCK")
        if not _take_lock(lock, LOCK_TIMEOUT):
            raise IndexBusy("locked while being created")
        try:
            try:
                return storage.open_index(), False
            except EmptyIndexError:
                return storage.create_index(make_schema()), True
        finally:
            lock.release()

    def _queue_fill(self) -> None:
        for kind in self._kinds():
            self.put("index", kind, None)

    def request_rebuild(self, reason: str) -> None:
        """Queue a rebuild for the writer thread (once while one is pending); never writes here."""
        if self._rebuild_pending:
            return
        self._rebuild_pending = True
        log.error("search index at %s needs a rebuild (%s): queued for the writer", self.location, reason)
        self.put("rebuild")

    def _reopen(self) -> None:
        """Drop this process's searchers and open index: the next use opens it afresh."""
        with self._ix_lock:
            self._drop_searchers()
            self._ix = None
        self._follow_epoch()

    def _confirm_corrupt(self, terms) -> bool:
        """Whether Whoosh itself fails reading the index, opened afresh: its TOC, every segment,
        the last stored document and the query terms' postings. A failure of our own code on a
        readable index is no reason to rebuild."""
        try:
            ix = self._open_storage().open_index()
            with ix.reader() as reader:
                leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
                for leaf, _ in leaves:
                    n = leaf.doc_count_all()
                    if n:
                        leaf.stored_fields(n - 1)
                    for field in ("title", "body", "pinyin"):
                        for t in terms:
                            if (field, t) in leaf:
                                list(leaf.postings(field, t).all_ids())
            return False
        except Exception:  # whatever Whoosh raises on damaged files
            return True

    def _drop_searchers(self):
        with self._pool_lock:
            for s in self._pool:
                with contextlib.suppress(Exception):  # closing a broken searcher
                    s.close()
            self._pool.clear()

    # -- write queue ----------------------------------------------------------------------------

    def _ensure_thread(self):
        if self._thread is not None and self._thread.is_alive():
            return
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                if self._thread is None:
                    atexit.register(self._drain_at_exit)
                self._thread = threading.Thread(target=self._run, name="search-writer", daemon=True)
                self._thread.start()

    def _drain_at_exit(self) -> None:
        """The writer is a daemon thread: a process that ends (a CLI command such as `lms demo`, a
        gunicorn worker recycled after max_requests) would drop what is still queued. Interpreter
        exit runs this while the thread still works, so the queue is committed first."""
        if self._thread is None or not self._thread.is_alive():
            return
        # concurrent.futures refuses new work once the interpreter is exiting: analyse in the writer.
        self._exiting = True
        if not self.flush(timeout=EXIT_DRAIN_SECONDS):
            log.warning("search index: queued writes not committed within %s s at exit", EXIT_DRAIN_SECONDS)

    def put(self, name: str, *args) -> None:
        """Queue a write; never blocks, never raises (a request is never held up by the index)."""
        self._queue.put(_Op(name, *args))
        self._ensure_thread()

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until everything queued before this call is committed (tests, CLI, benchmark)."""
        done = threading.Event()
        self._queue.put(_Op("flush", done=done))
        self._ensure_thread()
        return done.wait(timeout)

    def _run(self):
        while True:
            ops = self._next_batch()
            requeued = False
            try:
                if ops[0].name == "rebuild":
                    self._rebuild_now()
                else:
                    self._apply(ops)
            except _Requeued:
                requeued = True  # back in front of the queue, flushes included: not done yet
            except IndexBusy as exc:
                log.warning("search index busy (%s): %d operations re-queued", exc, len(ops))
                time.sleep(0.5)
                self._carry.extendleft(reversed(ops))
                requeued = True
            except IndexUnavailable as exc:
                # Unreadable: the queued rebuild reads everything from the database, these included.
                log.warning("search index unavailable (%s): %d operations left to the rebuild", exc, len(ops))
            except Exception:
                requeued = self._retry(ops)
            finally:
                if self._analysis is not None and self._queue.empty() and not self._carry:
                    self._close_analysis()  # its processes hold jieba's dictionary: free them when idle
                for op in ops:
                    if op.done is not None and not requeued:
                        op.done.set()

    def _retry(self, ops: list[_Op]) -> bool:
        """A batch failed (the database away while its documents were read, a disk error): put it
        back in front of the queue after a pause, RETRY_BACKOFF's steps growing; from the second
        failure on, each operation goes alone, so one that keeps failing is dropped (logged,
        counted in `errors`, left to `check`) without the others. Returns whether it went back."""
        tries = 1 + max(op.tries for op in ops)
        work = [op for op in ops if op.name != "flush"]
        if tries > len(RETRY_BACKOFF) and len(work) <= 1:
            if work and work[0].name == "rebuild":
                self._rebuild_pending = False  # the next failing search asks again
            self.errors += 1
            what = f"{work[0].name} {work[0].args[0] if work[0].args else ''}".strip() if work else "flush"
            log.exception("search index: %s failed %d times, dropped (a `reindex --check` repairs it)", what, tries)
            return False
        log.warning("search index batch of %d operations failed (try %d): retrying", len(ops), tries, exc_info=True)
        for op in ops:
            op.tries, op.solo = tries, tries >= 2
        time.sleep(RETRY_BACKOFF[min(tries, len(RETRY_BACKOFF)) - 1])
        self._carry.extendleft(reversed(ops))
        return True

    def _next_batch(self) -> list[_Op]:
        """The next commit's operations, in queue order: whatever is queued, up to MAX_BATCH
        operations and MAX_BATCH_DOCS documents. A bigger "docs" or "index" operation (a reindex,
        a bulk import) is split and its rest waits in front of the queue, so one commit never holds
        an unbounded batch and other processes' writers get the lock in between. A rebuild, or an
        operation being retried alone, is a batch of its own."""
        ops: list[_Op] = []
        room = MAX_BATCH_DOCS
        while len(ops) < MAX_BATCH and room > 0:
            if self._carry:
                op = self._carry.popleft()
            elif not ops:
                op = self._queue.get()
            else:
                try:
                    op = self._queue.get_nowait()
                except queue.Empty:
                    break
            if op.name == "rebuild" or op.solo:
                if ops:
                    self._carry.appendleft(op)
                    break
                return [op]
            if op.name == "index" and op.args[1] is None:  # a whole kind: read it now, to split it
                try:
                    docs = list(self._load(op.args[0], None))
                except Exception:
                    op.tries += 1
                    if op.tries > len(RETRY_BACKOFF):
                        self.errors += 1
                        log.exception("search index could not read the %s documents: dropped", op.args[0])
                        continue
                    log.warning("search index could not read the %s documents: retrying", op.args[0], exc_info=True)
                    time.sleep(RETRY_BACKOFF[op.tries - 1])
                    self._carry.appendleft(op)
                    continue
                op = _Op("docs", docs)
            items = op.args[0] if op.name == "docs" else op.args[1] if op.name == "index" else ()
            if len(items) > room:
                head = items[:room]
                rest = items[room:]
                if op.name == "docs":
                    op, tail = _Op("docs", head), _Op("docs", rest)
                else:
                    op, tail = _Op("index", op.args[0], head), _Op("index", op.args[0], rest)
                self._carry.appendleft(tail)
            ops.append(op)
            room -= len(items)
        return ops

    def _apply(self, ops: list[_Op]) -> None:
        work = [op for op in ops if op.name != "flush"]
        if not work:
            return
        # Read the documents before taking the lock: the database, not the index, is the slow part.
        prepared = []
        for op in work:
            if op.name == "index":
                kind, ids = op.args
                docs = list(self._load(kind, ids))
                found = {int(d["id"]) for d in docs}
                gone = [i for i in (ids or []) if i not in found]  # deleted meanwhile, or now hidden
                prepared.append(("docs", kind, docs, gone))
            elif op.name == "docs":
                prepared.append(("docs", None, op.args[0], []))
            else:
                prepared.append((op.name, *op.args))
        self._follow_epoch()
        ix = self.index()
        try:
            writer = ix.writer(timeout=LOCK_TIMEOUT, delay=0.05, codec=_codec())
        except WhooshLockError:
            # Another process holds the lock for longer than LOCK_TIMEOUT (a commit, or a rebuild
            # into a new folder): try again later.
            log.warning("search index locked by another process: %d operations re-queued", len(work))
            time.sleep(0.5)
            self._carry.extendleft(reversed(ops))  # before anything queued after them
            raise _Requeued from None
        if self._read_epoch() != self._epoch:  # a rebuild swapped in a new index while we waited
            writer.cancel()
            self._follow_epoch()
            self._carry.extendleft(reversed(ops))
            raise _Requeued
        try:
            # In operation order: removals hit the committed index, documents wait in `pending`
            # (the last version of each key wins; a later removal drops it), then go in at once.
            # Whoosh's update_document does not see documents added earlier in the same writer, and
            # it opened a reader over every segment per document: one searcher serves the batch.
            optimize = False
            pending: dict[str, dict] = {}
            searcher = writer.searcher()
            reader = searcher.reader()

            def delete(field, text):
                if (field, text) in reader:
                    writer.delete_by_term(field, text, searcher=searcher)

            for item in prepared:
                name = item[0]
                if name == "docs":
                    _, kind, docs, gone = item
                    for d in docs:
                        pending[_doc_key(d)] = d
                    for i in gone:
                        pending.pop(f"{kind}:{i}", None)
                        delete("key", f"{kind}:{i}")
                elif name == "delete":
                    kind, ids = item[1], item[2]
                    for i in ids:
                        pending.pop(f"{kind}:{i}", None)
                        delete("key", f"{kind}:{i}")
                elif name == "retain":  # the end of a reindex: documents of kind not in ids go
                    kind, keep = item[1], set(item[2])
                    for key, d in list(pending.items()):
                        if d["kind"] == kind and int(d["id"]) not in keep:
                            del pending[key]
                    stale = [t for t in reader.field_terms("key") if t.startswith(f"{kind}:")]
                    for key in stale:
                        if int(key.split(":", 1)[1]) not in keep:
                            delete("key", key)
                elif name == "clear":
                    kinds = item[1]
                    if kinds is None:
                        pending.clear()
                        writer.delete_by_query(Q.Every(), searcher=searcher)
                    else:
                        pending = {k: d for k, d in pending.items() if d["kind"] not in kinds}
                        for k in kinds:
                            delete("kind", k)
                elif name == "optimize":
                    optimize = True
            for fields in self._analyzed(list(pending.values())):
                delete("key", fields["key"])  # the committed version this one replaces
                for name in self._extra_fields:  # an index of an older schema, until its rebuild
                    fields.pop(name, None)
                writer.add_document(**fields)
            searcher.close()
            self._commits += 1
            optimize = optimize or self._commits % OPTIMIZE_EVERY == 0
            # While the rest of a split operation waits (a reindex, a bulk import), no merging:
            # each merge would copy the postings written so far again.
            if optimize:
                writer.commit(optimize=True)
            else:
                writer.commit(mergetype=_merge_small if not self._carry else NO_MERGE)
            self._generation = max(self._generation, ix.latest_generation())
        except BaseException:
            writer.cancel()
            raise
        self._after_commit(ix)

    def _rebuild_now(self) -> None:
        """Rebuild from the database into a new folder (epoch + 1) and swap it in by rewriting
        CURRENT; the writer thread only. The current index's write lock is held throughout, so
        other processes' writers wait (and re-queue) instead of committing into an index about to
        be replaced, and a second process asked to rebuild finds the epoch moved and follows it."""
        if self.location == "memory":
            storage = _RamStorage()
            ix = storage.create_index(make_schema())
            self._fill(ix)
            with self._ix_lock:
                self._storage = storage
                self._switch(self._epoch + 1, ix)
            self._extra_fields = set()
            self._rebuild_pending = False
            return
        old = self._read_epoch()
        lock = self._open_storage(old).lock("MAIN_WRITELOCK")
        if not _take_lock(lock, LOCK_TIMEOUT):
            log.warning("search index locked by another process: rebuild re-queued")
            self._carry.appendleft(_Op("rebuild"))
            raise _Requeued
        try:
            if self._read_epoch() != old:  # another process rebuilt while we waited for the lock
                self._follow_epoch()
                self._rebuild_pending = False
                return
            new = old + 1
            folder = self._folder(new)
            shutil.rmtree(folder, ignore_errors=True)  # what a rebuild that died here left
            folder.mkdir(parents=True)
            started = time.monotonic()
            try:
                ix = FileStorage(str(folder)).create_index(make_schema())
                count = self._fill(ix)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self._write_epoch(new)
            with self._ix_lock:
                self._switch(new, ix)
                self._extra_fields = set()
            self._rebuild_pending = False
            log.warning("search index rebuilt: %d documents in %s (epoch %d) in %.1f s", count, folder, new,
                        time.monotonic() - started)  # fmt: skip
        finally:
            lock.release()
        self._after_commit(ix)
        self._remove_old_epochs(new)

    def _fill(self, ix) -> int:
        """Write every document of every kind into a fresh index, in bounded commits."""
        count = 0
        for kind in self._kinds():
            docs = list(self._load(kind, None))
            for i in range(0, len(docs), MAX_BATCH_DOCS):
                writer = ix.writer(timeout=LOCK_TIMEOUT, codec=_codec())
                try:
                    for fields in self._analyzed(docs[i : i + MAX_BATCH_DOCS]):
                        writer.add_document(**fields)
                    writer.commit(mergetype=NO_MERGE)
                except BaseException:
                    writer.cancel()
                    raise
            count += len(docs)
        return count

    def _remove_old_epochs(self, current: int) -> None:
        """Delete the folders of epochs before the previous one (a process may still be reading
        the previous one for up to REFRESH_CHECK seconds)."""
        keep = current - KEEP_EPOCHS + 1
        root = Path(self.location)
        with contextlib.suppress(OSError):
            for p in root.iterdir():
                m = re.fullmatch(r"e(\d+)", p.name)
                if m and p.is_dir() and int(m.group(1)) < keep:
                    shutil.rmtree(p, ignore_errors=True)
                elif keep > 0 and p.is_file() and re.match(r"_?MAIN_", p.name):  # epoch 0's files
                    p.unlink(missing_ok=True)

    def _after_commit(self, ix) -> None:
        """Drop the stored bitmaps of segments the commit merged away, and build the same ones
        for the big segments that replaced them, in the background: after a merge the first
        searches must not each pay for decoding a 100,000-document segment's postings."""
        store = self._store
        if store is None:
            return
        with contextlib.suppress(Exception):  # the store is a cache: never fail a commit for it
            keys = store.prune({seg.segment_id() for seg in ix._segments()})
            if keys and (self._warmer is None or not self._warmer.is_alive()):
                self._warmer = threading.Thread(target=self.warm, args=(keys,), name="search-warmer", daemon=True)
                self._warmer.start()

    def warm(self, keys, min_docs: int | None = None) -> int:
        """Build and store the bitmaps named by `keys` (BitmapStore keys) for the segments of at
        least `min_docs` documents that lack them; returns how many were built."""
        store = self._store
        if store is None:
            return 0
        min_docs = self.warm_min_docs if min_docs is None else min_docs
        built = 0
        s = self.index().searcher()
        try:
            for leaf, _, seg_id in self._leaves(s):
                if not isinstance(seg_id, str) or leaf.doc_count_all() < min_docs:
                    continue
                for skey in list(keys)[:WARM_KEYS]:
                    if store.has(seg_id, skey):
                        continue
                    key = tuple(json.loads(skey))
                    self._load_seg(leaf, seg_id, key)
                    built += 1
        finally:
            s.close()
        return built

    def _analyzed(self, docs: list[dict]):
        """The documents' index fields, in order. A big batch (a reindex, a bulk import) is cut
        into words by ANALYSIS_PROCS other processes while this thread feeds Whoosh: jieba and
        pypinyin were half of the writer's time. Their words reach the tokenizer through _PRECUT,
        so the index is the same as when the writer cuts them itself (the fallback)."""
        pool = self._analysis_pool() if len(docs) >= ANALYSIS_MIN_DOCS else None
        if pool is None:
            for d in docs:
                yield _as_fields(d)
            return
        chunks = [docs[i : i + ANALYSIS_CHUNK] for i in range(0, len(docs), ANALYSIS_CHUNK)]
        try:
            futures = [pool.submit(_analyze_docs, c) for c in chunks]
        except RuntimeError:  # the pool was shut down (interpreter exit): this thread does it all
            self._close_analysis()
            for d in docs:
                yield _as_fields(d)
            return
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                analysed = future.result()
            except Exception:  # a broken pool: this thread does the rest
                log.exception("search analysis process failed: analysing in the writer")
                self._close_analysis()
                analysed = [(_as_fields(d), {}) for d in chunk]
            self.pooled += sum(1 for _, cuts in analysed if cuts)
            for fields, cuts in analysed:
                _PRECUT.update(cuts)
                try:
                    yield fields
                finally:
                    for text in cuts:
                        _PRECUT.pop(text, None)

    def _analysis_pool(self):
        if ANALYSIS_PROCS < 2 or (os.cpu_count() or 1) < 2 or self._exiting:
            return None
        if self._analysis is None:
            # fork: spawn would re-run the main script (a CLI, gunicorn, a benchmark) in each child.
            # The children only run the analysis (jieba, pypinyin), no lock another thread may hold.
            jieba.dt.check_initialized()  # loaded here, so no child starts half-way through it
            ctx = multiprocessing.get_context("fork")
            try:
                self._analysis = ProcessPoolExecutor(max_workers=ANALYSIS_PROCS, mp_context=ctx)
            except RuntimeError:  # the interpreter is exiting: this thread analyses
                return None
        return self._analysis

    def _close_analysis(self):
        pool, self._analysis = self._analysis, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- reads ----------------------------------------------------------------------------------

    def _acquire(self):
        """A searcher on the newest committed index. Pooled per process; whether the index moved is
        known at once for this process's writer and asked of the storage at most every
        REFRESH_CHECK seconds (another process's commits)."""
        now = time.monotonic()
        due = now - self._checked > REFRESH_CHECK
        if due:
            self._checked = now
            self._follow_epoch()  # a rebuild elsewhere swapped in a new index: use it
        ix = self.index()
        with self._pool_lock:
            s = self._pool.pop() if self._pool else None
        if s is None:
            return ix.searcher()
        if s.reader().generation() != self._generation or due:
            fresh = s.refresh()  # the same searcher when the index has not changed
            self._generation = max(self._generation, fresh.reader().generation())
            return fresh
        return s

    def _release(self, s):
        with self._pool_lock:
            if len(self._pool) < POOL_SIZE and s._ix is self._ix:
                self._pool.append(s)
                return
        s.close()

    def _cached(self, key, build):
        """LRU of bitmaps, bounded by their bytes (CACHE_BYTES). Keys name a segment (immutable
        but for deletions, which the live mask handles) or an index generation, so a commit keeps
        every bitmap of the segments it did not rewrite: a new document costs one small segment."""
        key = (self._epoch, *key)
        with self._pool_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit[0]
        value = build()
        size = _size(value)
        with self._pool_lock:
            if key not in self._cache:
                self._cache[key] = (value, size)
                self._cache_bytes += size
            while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
                _, (_, old) = self._cache.popitem(last=False)
                self._cache_bytes -= old
        return value

    def _leaves(self, s):
        """(leaf reader, document number offset, segment id) of the searcher's segments; the id
        is a string for a real segment (stable, shared through the store), a tuple otherwise."""
        reader = s.reader()
        out = []
        for leaf, offset in reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]:
            seg = leaf.segment() if hasattr(leaf, "segment") else None
            out.append((leaf, offset, seg.segment_id() if seg is not None else ("reader", id(leaf))))
        return out

    def _load_seg(self, leaf, seg_id, key: tuple):
        """A segment's bitmaps for key ("tf", term) → _TermBits, or ("term" | "prefix", field,
        text) → int: from the shared store, else built from the postings (and stored)."""
        store = self._store if isinstance(seg_id, str) else None
        nbytes = (leaf.doc_count_all() >> 3) + 1
        skey = json.dumps(key, ensure_ascii=False)
        count = 4 if key[0] in ("tf", "tfp") else 1
        values = store.get(seg_id, skey, nbytes, count) if store is not None else None
        if values is None:
            self.built += 1
            if count == 4:
                tb = _term_bits(leaf, key[1], prefix=key[0] == "tfp")
                values = [tb.title, tb.tf1, tb.tf2, tb.tf3]
            else:
                values = [_seg_bits(leaf, *key)]
            if store is not None:
                store.put(seg_id, skey, nbytes, values)
        return _TermBits(*values) if count == 4 else values[0]

    def _seg(self, leaf, seg_id, kind: str, field: str, text: str) -> int:
        """A segment's bitmap (segment document numbers, deleted ones included) of a term
        ("term") or of every term starting with text ("prefix")."""
        key = (kind, field, text)
        return self._cached(("seg", seg_id, *key), lambda: self._load_seg(leaf, seg_id, key))

    def _live(self, s) -> int:
        """Bitmap of the generation's documents that are not deleted."""

        def build():
            bits = 0
            for leaf, offset, _ in self._leaves(s):
                n = leaf.doc_count_all()
                seg_bits = (1 << n) - 1
                if leaf.has_deletions():
                    perdoc = getattr(leaf, "_perdoc", None)
                    deleted = perdoc.deleted_docs() if perdoc is not None else filter(leaf.is_deleted, range(n))
                    gone = bytearray((n >> 3) + 1)
                    for d in deleted:
                        gone[d >> 3] |= 1 << (d & 7)
                    seg_bits &= ~int.from_bytes(gone, "little")
                bits |= seg_bits << offset
            return bits

        return self._cached(("live", s.reader().generation()), build)

    def _filter_bits(self, s, rules, fields) -> int:
        """Bitmap of the live documents the rules admit, narrowed by the equality filters."""
        rules = [r for r in rules or () if r.get("kinds")]
        if not rules:
            return 0
        key = ("filter", s.reader().generation(), repr(rules), repr(sorted((fields or {}).items())))

        def build():
            bits = 0
            for leaf, offset, seg_id in self._leaves(s):
                bits |= self._leaf_filter(leaf, seg_id, rules, fields) << offset
            return bits & self._live(s)

        return self._cached(key, build)

    def _leaf_filter(self, leaf, seg_id, rules, fields) -> int:
        def term(field, text):
            return self._seg(leaf, seg_id, "term", field, text)

        def prefix(field, text):
            return self._seg(leaf, seg_id, "prefix", field, text)

        allow = 0
        for rule in rules:
            kinds = 0
            for k in rule["kinds"]:
                kinds |= term("kind", k)
            if not kinds:
                continue
            if "owner_id" in rule:
                mine = kinds & term("owner_id", str(rule["owner_id"]))
                allow |= mine & term("context_path", "") if rule.get("private") else mine
            else:
                paths = 0
                for p in rule["prefixes"]:
                    paths |= prefix("context_path", p)
                for p in rule["exact"]:
                    paths |= term("context_path", p)
                allow |= kinds & paths
        for name, value in (fields or {}).items():
            if value and allow:
                allow &= prefix("context_path", value) if name == "community" else term(name, value)
        return allow

    def _term(self, s, term: str, prefix: bool = False) -> _TermBits:
        """The term's bitmaps over the generation's document numbers, from per-segment ones; with
        `prefix`, the title bitmap also holds the titles with a pinyin or English word starting with it."""
        kind = "tfp" if prefix else "tf"
        parts = [
            (
                self._cached(
                    ("seg", seg_id, kind, term),
                    lambda leaf=leaf, seg_id=seg_id: self._load_seg(leaf, seg_id, (kind, term)),
                ),
                offset,
            )
            for leaf, offset, seg_id in self._leaves(s)
        ]
        if len(parts) == 1 and parts[0][1] == 0:
            return parts[0][0]
        return _TermBits(*(_shifted_or([(getattr(tb, f), o) for tb, o in parts]) for f in _TermBits.STORED))

    def search(self, terms: list[str], *, rules=(), fields=None, page=1, per_page=20, snippet_chars=160):
        """Documents matching every term, admitted by one of `rules`, one page of them (see _search).

        A failure is first taken for a passing one (a pooled searcher on segments another process
        merged away, an index swapped by a rebuild) and the search runs again on the index opened
        afresh. If that fails too, the index is judged by reading it with Whoosh alone: damaged
        files queue a rebuild for the writer thread and raise IndexUnavailable; otherwise the
        error is ours, not the index's, and is raised as it is. Nothing is ever written here.
        """
        kw = dict(rules=rules, fields=fields, page=page, per_page=per_page, snippet_chars=snippet_chars)
        try:
            return self._search(terms, **kw)
        except IndexUnavailable:
            raise
        except Exception as exc:
            log.warning("search failed (%r): retrying on the index opened afresh", exc)
        self._reopen()
        try:
            return self._search(terms, **kw)
        except IndexUnavailable:
            raise
        except Exception as exc:
            if not self._confirm_corrupt(terms):
                raise
            self.request_rebuild(f"unreadable: {exc!r}")
            raise IndexUnavailable(repr(exc)) from exc

    def _search(self, terms: list[str], *, rules=(), fields=None, page=1, per_page=20, snippet_chars=160):
        """Documents matching every term, admitted by one of `rules`, one page of them.

        rules (lms.search.services.visibility): {"kinds", "prefixes", "exact"} admits documents of
        those kinds whose context path starts with a prefix or equals an exact path;
        {"kinds", "owner_id", "private"} admits the owner's documents of those kinds (only the
        context-less ones when private). No rules, no results. `fields` are equality filters
        (kind, type, stage, subject) and "community" (a context path prefix).

        How: every term's documents and the permission filter are int bitmaps, cached per index
        generation, so the matches and their exact total are a few ANDs in C. Ranking: per term,
        4 for a match in the title (or its pinyin) plus the term's count in the body capped at 3
        (BM25's saturation, coarsely), summed over the terms; ties newest first (higher document
        numbers were written later). Whoosh's own scorer walked every posting in Python: 50-200 ms
        a query at 30,000 documents. Stored fields are read and highlighted for the page's hits only.
        """
        empty = {"total": 0, "hits": [], "page": 1, "per_page": per_page}
        if not terms or not rules:
            return empty
        s = self._acquire()
        ok = False
        try:
            matched = self._filter_bits(s, rules, fields)
            bits = []
            last = prefix_term(terms)
            for i, t in enumerate(terms):
                if not matched:
                    break
                tb = self._term(s, t, prefix=last is not None and i == len(terms) - 1)
                bits.append(tb)
                matched &= tb.any
            total = matched.bit_count()
            if not total:
                ok = True
                return empty
            pages = -(-total // per_page)
            page = min(max(1, page), pages)
            ranked = _top(_score_buckets(matched, bits), (page - 1) * per_page, per_page)
            pattern = _marker(terms)
            hits = []
            for docnum, score in ranked:
                stored = s.stored_fields(docnum)
                extra = pinyin_words(stored["title"], terms, last)
                title_hl = mark(stored["title"], _marker(terms + extra) if extra else pattern)
                body_hl = mark(stored.get("snippet") or "", pattern, snippet_chars)
                hits.append({
                    "kind": stored["kind"], "id": stored["id"], "title": stored["title"],
                    "url": stored.get("url") or "", "context_path": stored.get("context_path") or None,
                    "owner_id": int(stored["owner_id"]) if stored.get("owner_id") else None,
                    "stage": stored.get("stage") or None, "subject": stored.get("subject") or None,
                    "type": stored.get("type") or None, "created_at": stored.get("created_at"),
                    "title_html": title_hl, "snippet_html": body_hl, "score": float(score),
                })  # fmt: skip
            ok = True
            return {"total": total, "hits": hits, "page": page, "per_page": per_page}
        finally:
            if ok:
                self._release(s)
            else:
                with contextlib.suppress(Exception):
                    s.close()

    def warm_process(self) -> None:
        """Load what this process's first search would otherwise pay for: jieba's dictionary and
        pypinyin's (about a second), the open index, a pooled searcher and its live mask."""
        analyze("信息技术 xinxi")
        pinyin_forms("信息技术")
        s = self._acquire()
        try:
            self._live(s)
        finally:
            self._release(s)

    def doc_count(self) -> int:
        return self.index().doc_count()

    def differences(self, kind: str, docs) -> dict[str, list[int]]:
        """How the index's documents of `kind` differ from `docs` (the database's): ids "missing"
        from the index, "stale" there (their stored digest is not the document's), and "extra"
        (indexed, no longer in the database)."""
        want = {int(d["id"]): doc_digest(d) for d in docs}
        have: dict[int, str | None] = {}
        with self.index().searcher() as s:
            for n in s.document_numbers(kind=kind):
                f = s.stored_fields(n)
                have[int(f["id"])] = f.get("digest")
        return {
            "missing": sorted(want.keys() - have.keys()),
            "stale": sorted(i for i in want.keys() & have.keys() if want[i] != have[i]),
            "extra": sorted(have.keys() - want.keys()),
        }

    def keys(self) -> set[str]:
        """Every indexed key with its stored fields' digest (tests compare reindex and incremental)."""
        with self.index().searcher() as s:
            return {
                f"{f['key']}|{f['title']}|{f['snippet']}|{f['context_path']}|{f['owner_id']}"
                for f in s.all_stored_fields()
            }

    def size_bytes(self) -> int:
        """The Whoosh index's files (the bitmap store not included: see store_bytes)."""
        storage = self.index().storage
        return sum(storage.file_length(n) for n in storage.list() if not n.startswith("."))

    def store_bytes(self) -> int:
        return self._store.size_bytes() if self._store is not None else 0

    def match_keys(self, terms: list[str], rules=None, fields=None) -> set[str]:
        """Every matching key, unpaged (benchmark recall): the same bitmaps as `search`."""
        s = self._acquire()
        try:
            matched = self._live(s) if rules is None else self._filter_bits(s, rules, fields)
            last = prefix_term(terms)
            for i, t in enumerate(terms):
                matched &= self._term(s, t, prefix=last is not None and i == len(terms) - 1).any
            keys = set()
            while matched:
                top = matched.bit_length() - 1
                matched ^= 1 << top
                keys.add(s.stored_fields(top)["key"])
            return keys
        finally:
            self._release(s)


class _TermBits:
    """One term's documents as int bitmaps over document numbers: `any` (title, body or pinyin),
    `title` (title or pinyin), and body counts of at least 1, 2 and 3."""

    __slots__ = ("any", "title", "tf1", "tf2", "tf3")
    STORED = ("title", "tf1", "tf2", "tf3")

    def __init__(self, title: int, tf1: int, tf2: int, tf3: int):
        self.title, self.tf1, self.tf2, self.tf3 = title, tf1, tf2, tf3
        self.any = title | tf1

    def levels(self):
        """(points, bitmap) pairs: 4 for the title, plus the body count capped at 3."""
        body = ((0, ~self.tf1), (1, self.tf1 & ~self.tf2), (2, self.tf2 & ~self.tf3), (3, self.tf3))
        for t_points, t_bits in ((4, self.title), (0, ~self.title)):
            for b_points, b_bits in body:
                yield t_points + b_points, t_bits & b_bits


def _postings(reader, field: str, term: str):
    """(document numbers, weights) of a term in a field, read block by block (Whoosh's matcher
    interface costs a Python call per posting). Deleted documents may be included: callers AND
    with the permission filter, which holds live documents only."""
    from whoosh.matching.wrappers import FilterMatcher

    if (field, term) not in reader:
        return
    leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
    for leaf, offset in leaves:
        if (field, term) not in leaf:
            continue
        m = leaf.postings(field, term)
        while isinstance(m, FilterMatcher):
            m = m.child
        if not hasattr(m, "_read_ids"):  # another codec: the slow, generic way
            while m.is_active():
                yield [offset + m.id()], [m.weight()]
                m.next()
            continue
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids = m._ids
            yield ([offset + i for i in ids] if offset else ids), m._weights
            m._next_block()


def _seg_bits(reader, kind: str, field: str, text: str) -> int:
    """Bitmap of the reader's documents with the term (kind "term") or any term starting with
    text (kind "prefix") in field."""
    bits = bytearray((reader.doc_count_all() >> 3) + 1)
    terms = list(reader.expand_prefix(field, text)) if kind == "prefix" else [text]
    for term in terms:
        for ids, _ in _postings(reader, field, term):
            for n in ids:
                bits[n >> 3] |= 1 << (n & 7)
    return int.from_bytes(bits, "little")


def _term_bits(reader, term: str, prefix: bool = False) -> _TermBits:
    size = (reader.doc_count_all() >> 3) + 1
    title = bytearray(size)
    for field in ("title", "pinyin") if term.isascii() and term.isalnum() else ("title",):
        words = [term]
        if prefix:
            words = list(itertools.islice(reader.expand_prefix(field, term), PREFIX_MAX_TERMS)) or [term]
        for word in words:
            for ids, _ in _postings(reader, field, word):
                for n in ids:
                    title[n >> 3] |= 1 << (n & 7)
    tf = [bytearray(size), bytearray(size), bytearray(size)]
    for ids, weights in _postings(reader, "body", term):
        for n, w in zip(ids, weights, strict=False):
            bit, byte = 1 << (n & 7), n >> 3
            tf[0][byte] |= bit
            if w >= 2:
                tf[1][byte] |= bit
                if w >= 3:
                    tf[2][byte] |= bit
    return _TermBits(*(int.from_bytes(b, "little") for b in (title, *tf)))


def _score_buckets(matched: int, terms: list[_TermBits]) -> dict[int, int]:
    """{score: bitmap} of the matched documents, the scores summed term by term on bitmaps."""
    buckets = {0: matched}
    for tb in terms:
        levels = [(p, b & matched) for p, b in tb.levels()]
        levels = [(p, b) for p, b in levels if b]
        nxt: dict[int, int] = {}
        for score, docs in buckets.items():
            for points, level in levels:
                both = docs & level
                if both:
                    nxt[score + points] = nxt.get(score + points, 0) | both
        buckets = nxt
    return buckets


def _top(buckets: dict[int, int], skip: int, count: int) -> list[tuple[int, int]]:
    """(document number, score) of ranks skip … skip+count: best score first, then newest."""
    out = []
    for score in sorted(buckets, reverse=True):
        docs = buckets[score]
        n = docs.bit_count()
        if skip >= n:
            skip -= n
            continue
        while docs and len(out) < count:
            top = docs.bit_length() - 1
            docs ^= 1 << top
            if skip:
                skip -= 1
            else:
                out.append((top, score))
        if len(out) >= count:
            break
    return out


def _shifted_or(parts) -> int:
    out = 0
    for bits, offset in parts:
        if bits:
            out |= bits << offset
    return out


def _size(value) -> int:
    if isinstance(value, _TermBits):
        return sum(_size(getattr(value, f)) for f in _TermBits.STORED) + 64
    if isinstance(value, int):
        return (value.bit_length() >> 3) + 32
    return 64
