"""Search operations: index, delete, reindex, search. Everything else goes through these.

The engine behind them is lms.search.whoosh_index (Whoosh + jieba); replacing it with another
engine (PostgreSQL with a Chinese parser, Meilisearch) means replacing that module and `_engine`.
"""

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l

from lms.access import services as access
from lms.search.sources import registrations, sources

log = logging.getLogger(__name__)

FILTERS = ("kind", "type", "stage", "subject", "community")
MAX_QUERY = 200
MAX_PAGE = 500


def _location(app) -> str:
    setting = app.config.get("SEARCH_INDEX_DIR") or ""
    if setting == "memory":
        return "memory"
    return setting or str(Path(app.instance_path) / "search_index")


def engine(app=None):
    """The app's index (created on first use)."""
    from lms.search.whoosh_index import SearchIndex

    app = app or current_app._get_current_object()
    ix = app.extensions.get("lms_search")
    if ix is None:
        ix = app.extensions.setdefault(
            "lms_search",
            SearchIndex(
                _location(app),
                load=lambda kind, ids: _load_in_app(app, kind, ids),
                kinds=lambda: list(sources()),
            ),
        )
    return ix


def _load_in_app(app, kind: str, ids: list[int] | None) -> list[dict]:
    """Called from the writer thread: read documents from the owning domain's source."""
    load = sources().get(kind)
    if load is None:
        log.warning("no search source registered for kind %r", kind)
        return []
    from lms.extensions import db

    # A request context (not only the app's): sources may build their URLs with url_for.
    with app.test_request_context("/"):
        try:
            return [_normalized(kind, d) for d in load(list(ids) if ids is not None else None)]
        finally:
            db.session.remove()


def _normalized(kind: str, doc: dict) -> dict:
    doc = dict(doc)
    doc.setdefault("kind", kind)
    labels = _labels(doc.get("stage"), doc.get("subject"))
    if labels:
        # Snippets come from the source's own words: the labels are there to be found, not read
        # ("…小学 Primary primary 数学 Mathematics math" closed every result's snippet).
        doc.setdefault("snippet", doc.get("body") or "")
        doc["body"] = f"{doc.get('body') or ''} {labels}".strip()
        doc["tags"] = f"{doc.get('tags') or ''} {labels}".strip()
    return doc


_LABELS: dict[str, str] = {}


def _labels(stage: str | None, subject: str | None) -> str:
    """The names of a document's stage and subject in Chinese and English (and the code), indexed
    with it: 数学, math, Mathematics or shuxue find a maths resource whose own words do not say so."""
    if not _LABELS:
        from flask_babel import force_locale

        from lms.core.taxonomy import STAGES, SUBJECTS

        for prefix, table in (("stage", STAGES), ("subject", SUBJECTS)):
            for code, label in table.items():
                with force_locale("zh_CN"):
                    zh = str(label)
                with force_locale("en"):
                    en = str(label)
                _LABELS[f"{prefix}:{code}"] = " ".join(dict.fromkeys([zh, en, code.replace("_", " ")]))
    return " ".join(_LABELS[k] for k in (f"stage:{stage}", f"subject:{subject}") if k in _LABELS)


# --- writes -----------------------------------------------------------------------------------


def index_documents(kind: str, ids) -> None:
    """Queue (re)indexing of these documents; the writer thread reads them after this returns."""
    ids = [int(i) for i in ids]
    if ids:
        engine().put("index", kind, ids)


def delete_documents(kind: str, ids) -> None:
    ids = [int(i) for i in ids]
    if ids:
        engine().put("delete", kind, ids)


def reindex(kinds=None, wait: bool = True) -> dict[str, int]:
    """Rebuild the given kinds (all registered ones by default) from the database.

    Documents are read here (in the caller's app context) and written by the writer thread in
    bounded commits that replace each document by its key, then the kind's documents that are no
    longer in the database are removed ("retain"): readers see every document all along (the old
    or the new version), never a half-built index.
    """
    registered = sources()
    kinds = list(registered) if kinds is None else [k for k in kinds if k in registered]
    ix = engine()
    counts = {}
    with contextlib.ExitStack() as stack:
        if not has_request_context():  # the CLI: sources may build URLs with url_for
            stack.enter_context(current_app.test_request_context("/"))
        for kind in kinds:
            docs = [_normalized(kind, d) for d in registered[kind](None)]
            counts[kind] = len(docs)
            ix.put("docs", docs)
            ix.put("retain", kind, [int(d["id"]) for d in docs])
    if wait:
        ix.flush(timeout=3600)
    return counts


def check(kinds=None, repair: bool = True, wait: bool = True) -> dict[str, dict[str, list[int]]]:
    """Compare the index with the database, kind by kind, and (repair) queue the fixes: documents
    missing from the index or stale there are written again, ones no longer in the database
    removed. Returns {kind: {"missing", "stale", "extra": [ids]}} for the kinds that differed.

    What it catches: a batch the writer dropped after its retries, a change whose signal was never
    sent, an index restored from a backup. Staleness is judged by each document's digest (stored
    with it), not by an updated_at: not every source has one, and it would miss changes made
    around the index (a moved context, a renamed author).
    """
    registered = sources()
    kinds = list(registered) if kinds is None else [k for k in kinds if k in registered]
    ix = engine()
    ix.flush(timeout=3600)  # what is queued is not a difference
    found = {}
    with contextlib.ExitStack() as stack:
        if not has_request_context():  # the CLI, the scheduler: sources may build URLs with url_for
            stack.enter_context(current_app.test_request_context("/"))
        for kind in kinds:
            docs = [_normalized(kind, d) for d in registered[kind](None)]
            diff = ix.differences(kind, docs)
            if not any(diff.values()):
                continue
            found[kind] = diff
            log.warning("search index differs from the database for %s: %s", kind,
                        {k: len(v) for k, v in diff.items()})  # fmt: skip
            if repair:
                # By id, not from `docs`: the writer reads each again when it writes, so a document
                # added, changed or removed since this comparison is written as it is then (one
                # created meanwhile is not deleted as "extra", a removed one not written back).
                ix.put("index", kind, sorted(set(diff["missing"]) | set(diff["stale"]) | set(diff["extra"])))
    if repair and found and wait:
        ix.flush(timeout=3600)
    return found


def repair_task(app) -> None:
    """The periodic repair (lms.core.schedule, SEARCH_REPAIR_HOURS): check and fix every kind."""
    with app.app_context():
        check(repair=True)


def flush(timeout: float = 60.0) -> bool:
    """Wait for queued index work (tests, CLI)."""
    return engine().flush(timeout)


def warm_up(app) -> None:
    """Prepare this process for searching before it takes requests (gunicorn's post_worker_init):
    a fresh worker's first searches otherwise each waited a second or more. Never raises."""
    try:
        with app.app_context():
            engine(app).warm_process()
    except Exception:
        log.exception("search warm-up failed (the first searches will do it)")


def optimize() -> None:
    engine().put("optimize")


# --- listeners --------------------------------------------------------------------------------


def on_content_changed(sender, kind: str, ids, **kw) -> None:
    try:
        index_documents(kind, ids)
    except Exception:  # a listener never breaks the request that committed
        log.exception("could not queue search indexing of %s %s", kind, ids)


def on_content_deleted(sender, kind: str, ids, **kw) -> None:
    try:
        delete_documents(kind, ids)
    except Exception:
        log.exception("could not queue search deletion of %s %s", kind, ids)


# --- search -----------------------------------------------------------------------------------


@dataclass
class SearchResult:
    query: str
    hits: list = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 20
    filters: dict = field(default_factory=dict)
    #: The index is being rebuilt (damaged or outdated): the page says so instead of "nothing found".
    unavailable: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def visibility(user) -> list[dict]:
    """What a user may see, as rules for the index filter (any rule admits a document).

    Per registered kind, the check its detail page makes (lms.search.sources): documents whose
    context lies in `access.scope(user, capability)` of the kind's capability; the author's own
    documents of kinds whose page lets the author in (`owner_reads`); and private documents (no
    context) of their owner. Rules: {"kinds", "prefixes", "exact"} or {"kinds", "owner_id",
    "private"}; kinds of no registered source match no rule.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    regs = registrations()
    by_capability: dict[str, list[str]] = {}
    for kind, reg in sorted(regs.items()):
        by_capability.setdefault(reg.capability, []).append(kind)
    rules = []
    for capability, kinds in sorted(by_capability.items()):
        sc = access.scope(user, capability)
        if sc:
            rules.append({"kinds": tuple(kinds), "prefixes": sc.prefixes, "exact": sc.exact})
    owner_kinds = tuple(sorted(k for k, reg in regs.items() if reg.owner_reads))
    if owner_kinds:
        rules.append({"kinds": owner_kinds, "owner_id": user.id, "private": False})
    if regs:
        rules.append({"kinds": tuple(sorted(regs)), "owner_id": user.id, "private": True})
    return rules


def may_see(user, doc: dict) -> bool:
    """The same rules for one document dict (kind, context_path, owner_id): tests, post-checks."""
    for rule in visibility(user):
        if doc.get("kind") not in rule["kinds"]:
            continue
        path = doc.get("context_path") or ""
        if "owner_id" in rule:
            if doc.get("owner_id") == rule["owner_id"] and (not rule["private"] or not path):
                return True
        elif access.Scope(rule["prefixes"], rule["exact"]).contains(path):
            return True
    return False


def clean_filters(raw) -> dict:
    out = {}
    for name in FILTERS:
        value = (raw.get(name) or "").strip() if raw else ""
        if value:
            out[name] = value[:100]
    return out


def search(user, q: str, filters: dict | None = None, page: int = 1, per_page: int | None = None) -> SearchResult:
    """One page of the documents matching `q` that `user` may see, with highlighted snippets.

    Snippets (`title_html`, `snippet_html`) are escaped text in which only <mark> tags are markup.
    Permission filtering happens inside the index query, so totals and paging are exact.
    """
    from lms.search.whoosh_index import IndexUnavailable, analyze

    q = (q or "").strip()[:MAX_QUERY]
    filters = clean_filters(filters or {})
    per_page = per_page or current_app.config.get("PAGE_SIZE", 20)
    page = min(max(1, page), MAX_PAGE)
    result = SearchResult(query=q, page=page, per_page=per_page, filters=filters)
    terms = analyze(q)
    if not terms or user is None or not getattr(user, "is_authenticated", False):
        return result
    index_filters = dict(filters)
    if "community" in index_filters:
        path = _community_path(index_filters["community"])
        if path is None:
            return result
        index_filters["community"] = path
    ix = engine()
    rules = visibility(user)
    try:
        found = ix.search(terms, rules=rules, fields=index_filters, page=page, per_page=per_page)
    except IndexUnavailable:  # damaged or outdated: the writer is rebuilding it; answer empty meanwhile
        log.warning("search index unavailable (being rebuilt): %r answered empty", q)
        result.unavailable = True
        return result
    except Exception:  # not the index's fault (the adapter checked): logged, the request still answers
        log.exception("search for %r failed", q)
        return result
    result.hits, result.total, result.page = found["hits"], found["total"], found["page"]
    _describe(result.hits)
    return result


def _describe(hits: list[dict]) -> None:
    """Where each hit lives and who wrote it, so that same-titled hits (five logs all called
    课程学习心得) can be told apart: two queries for the page."""
    from lms.access.services import context_names
    from lms.accounts.services import names

    places = context_names(h.get("context_path") for h in hits)
    people = names(h.get("owner_id") for h in hits)
    for h in hits:
        h["place"] = places.get(h.get("context_path") or "")
        h["author"] = people.get(h.get("owner_id"))


def _community_path(value: str) -> str | None:
    """A community filter: a context id (from the filter menu) or a path."""
    from sqlalchemy import select

    from lms.access.models import Context
    from lms.extensions import db

    if value.isdigit():
        return db.session.scalar(select(Context.path).where(Context.id == int(value)))
    return value if value.startswith("/") and value.endswith("/") else None


def community_choices(user) -> list[tuple[int, str]]:
    """Communities for the filter menu: the contexts the user belongs to and the ones above them."""
    from sqlalchemy import select

    from lms.access.models import Context
    from lms.extensions import db

    sc = access.scope(user, "community.view")
    paths = set(sc.prefixes) | set(sc.exact)
    if not paths:
        return []
    rows = db.session.execute(
        select(Context.id, Context.name, Context.path, Context.kind).where(Context.path.in_(paths))
    ).all()
    rows = [r for r in rows if r.kind != "site"]
    rows.sort(key=lambda r: (r.path.count("/"), r.name))
    return [(r.id, r.name) for r in rows]


def status() -> dict:
    from lms.search.whoosh_index import IndexUnavailable

    ix = engine()
    try:
        documents = ix.doc_count()
    except IndexUnavailable:  # being rebuilt
        documents = None
    return {"documents": documents, "location": ix.location, "failed_batches": ix.errors}


# Each kind's label as a filter (plural) and on one result (singular).
KIND_LABELS = {
    "resource": (_l("Resources"), _l("Resource")),
    "course": (_l("Courses"), _l("Course")),
    "post": (_l("Discussion posts"), _l("Post")),
    "log": (_l("Research logs"), _l("Research log")),
    "brief": (_l("Briefs"), _l("Brief")),
    "announcement": (_l("Announcements"), _l("Announcement")),
    "activity": (_l("Workshop activities"), _l("Activity")),
    "plan": (_l("Research plans"), _l("Research plan")),
    "summary": (_l("Research summaries"), _l("Research summary")),
}


def kind_labels(singular: bool = False) -> dict:
    """Labels of the registered kinds: filters (plural), or one result's badge (singular); a kind
    without a label here shows its name."""
    return {k: KIND_LABELS[k][singular] if k in KIND_LABELS else k for k in sorted(sources())}


def on_community_changed(sender, change: str, **kw) -> None:
    """A school moved to another county: every document under it carries its old context path, which
    the old county's people would still match and the new county's would not. Compare and re-index
    now (the documents that differ are exactly those), rather than at the next periodic repair."""
    if change != "moved":
        return
    try:
        check(repair=True, wait=False)
    except Exception:
        log.exception("could not re-index after %s moved", sender)
