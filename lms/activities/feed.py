"""The personal-space feed 动态: what happened in the communities a teacher belongs to.

Listeners write one FeedEntry per document: `content_changed` for the kinds in FEED_KINDS (the
document is read back through its search source, lms.search.sources, for title, url, context path
and owner), `content_deleted` removes it, `announcement_posted` adds announcements. Reading keeps
the entries whose context the reader belongs to: the contexts of their grants and the regions above
them, and for workshop members and hosts everything inside their workshops (lms.access grants).
"""

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import joinedload, selectinload

from lms import access
from lms.activities.models import FeedEntry
from lms.core.db import utcnow
from lms.core.pagination import Page, paginate
from lms.extensions import db

log = logging.getLogger(__name__)

#: Kinds that go into the feed, with their label. Other domains add theirs with register_kind.
FEED_KINDS = {
    "announcement": _l("Announcement"),
    "brief": _l("Brief"),
    "log": _l("Research log"),
    "plan": _l("Research plan"),
    "summary": _l("Research summary"),
    "post": _l("Post"),
    "activity": _l("Activity"),
}
#: Roles held in a workshop: their holders follow everything inside it.
_WORKSHOP_ROLES = ("member", "group_leader", "host")
PER_PAGE = 20


def register_kind(kind: str, label) -> None:
    FEED_KINDS[kind] = label


def label(kind: str) -> str:
    return str(FEED_KINDS.get(kind, kind))


def _upsert(kind: str, ref_id: int, title: str, url: str, path: str, actor_id, created_at=None,
            existing: dict | None = None) -> None:  # fmt: skip
    if existing is None:
        entry = db.session.scalar(select(FeedEntry).where(FeedEntry.kind == kind, FeedEntry.ref_id == ref_id))
    else:
        entry = existing.get(ref_id)
    if entry is None:
        entry = FeedEntry(kind=kind, ref_id=ref_id, created_at=created_at or utcnow())
        db.session.add(entry)
    entry.title, entry.url, entry.context_path, entry.actor_id = (title or "")[:200], url[:500], path, actor_id


def on_content_changed(sender, kind=None, ids=None, **_):
    # Announcements come through announcement_posted (with their context); a broken feed write must
    # never fail the sender's request, whose own commit is already done.
    if kind not in FEED_KINDS or kind == "announcement" or not ids:
        return
    try:
        _changed(kind, ids)
    except Exception:
        db.session.rollback()
        log.exception("feed: could not record %s %s", kind, ids)


def _changed(kind: str, ids) -> None:
    from lms.search.sources import sources

    load = sources().get(kind)
    if load is None:
        return
    seen = set()
    ids = list(ids)
    existing = {
        e.ref_id: e
        for e in db.session.scalars(select(FeedEntry).where(FeedEntry.kind == kind, FeedEntry.ref_id.in_(ids)))
    }
    for doc in load(ids):
        seen.add(doc["id"])
        if not doc.get("context_path") or not doc.get("url"):
            continue  # private to its owner: not news for anyone else
        _upsert(kind, doc["id"], doc["title"], doc["url"], doc["context_path"], doc.get("owner_id"),
                doc.get("created_at"), existing)  # fmt: skip
    gone = set(ids) - seen
    if gone:
        db.session.execute(delete(FeedEntry).where(FeedEntry.kind == kind, FeedEntry.ref_id.in_(gone)))
    db.session.commit()


def on_content_deleted(sender, kind=None, ids=None, **_):
    if kind not in FEED_KINDS or not ids:
        return
    db.session.execute(delete(FeedEntry).where(FeedEntry.kind == kind, FeedEntry.ref_id.in_(list(ids))))
    db.session.commit()


def on_announcement_posted(announcement, context=None, **_):
    context = context or announcement.context
    _upsert("announcement", announcement.id, announcement.title, f"/announcements/{announcement.id}", context.path,
            announcement.author_id, announcement.created_at)  # fmt: skip
    db.session.commit()


def _filter(user):
    grants = access.services.grants(user)
    exact: set[str] = set()
    prefixes: set[str] = set()
    for gr in grants:
        ids = [x for x in gr.path.strip("/").split("/") if x]
        exact.update("/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids)))
        if gr.role in _WORKSHOP_ROLES:
            prefixes.add(gr.path)
    clauses = [FeedEntry.context_path.in_(sorted(exact))] if exact else []
    clauses += [FeedEntry.context_path.startswith(p, autoescape=True) for p in sorted(prefixes)]
    return or_(*clauses) if clauses else None


def entries(user, page: int = 1, per_page: int = PER_PAGE, kind: str | None = None) -> Page:
    """The user's feed, newest first, paged."""
    where = _filter(user)
    if where is None:
        return Page(items=[], page=1, per_page=per_page, total=0)
    stmt = select(FeedEntry).where(where).options(selectinload(FeedEntry.actor))
    if kind:
        stmt = stmt.where(FeedEntry.kind == kind)
    return paginate(stmt.order_by(FeedEntry.created_at.desc(), FeedEntry.id.desc()), page, per_page)


def latest(user, limit: int = 8) -> list[FeedEntry]:
    """The newest entries for the personal-space panel (no count query)."""
    where = _filter(user)
    if where is None:
        return []
    stmt = (
        select(FeedEntry)
        .where(where)
        .options(joinedload(FeedEntry.actor))
        .order_by(FeedEntry.created_at.desc(), FeedEntry.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def as_dict(e: FeedEntry) -> dict:
    return {
        "id": e.id,
        "kind": e.kind,
        "ref_id": e.ref_id,
        "title": e.title,
        "url": e.url,
        "actor": e.actor.name if e.actor else None,
        "created_at": e.created_at.isoformat(),
    }
