"""Research writing 研修写作: teachers' plan, logs and summary; the host's workshop plan and summaries.

Every piece belongs to one workshop and is read there: by its members, its host and the roles above
it (capability `writing.view`), never by another workshop nor by a school's teachers who are not
members. A teacher writes in the workshops they are a member of; a host (`writing.host`) writes the
workshop plan, two stage summaries and one final summary a year.
"""

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from lms import access
from lms.activities.models import HOST_KINDS, TEACHER_KINDS, Writing
from lms.communities.models import Workshop
from lms.core.db import utcnow
from lms.core.pagination import Page, paginate
from lms.core.text import html_to_text, plain, rich_text
from lms.extensions import db
from lms.signals import content_changed, content_deleted

TITLE_MAX = 200
BODY_MAX = 50000
#: How many of a kind one author may keep per workshop and year (None: any number).
LIMITS = {"plan": 1, "summary": 1, "log": None, "workshop_plan": 1, "stage_summary": 2, "final_summary": 1}
#: The search/feed source kind a writing kind is published under.
SOURCE_KIND = {
    "plan": "plan",
    "workshop_plan": "plan",
    "log": "log",
    "summary": "summary",
    "stage_summary": "summary",
    "final_summary": "summary",
}
SOURCE_KINDS = ("plan", "log", "summary")


class WritingError(ValueError):
    pass


def current_year(now=None) -> int:
    """The year in the site's zone: 1 January starts at 00:00 Beijing time, not 08:00 (UTC midnight)."""
    from lms.core.i18n import site_zone

    return (now or utcnow()).astimezone(site_zone()).year


def is_member(user, workshop: Workshop) -> bool:
    return any(gr.role == "member" and gr.context_id == workshop.context_id for gr in access.services.grants(user))


def kinds_for(user, workshop: Workshop) -> tuple[str, ...]:
    """The kinds this user may write in this workshop."""
    kinds: tuple[str, ...] = ()
    if is_member(user, workshop) and access.can(user, "writing.write", workshop):
        kinds += TEACHER_KINDS
    if access.can(user, "writing.host", workshop):
        kinds += HOST_KINDS
    return kinds


def writable_workshops(user) -> list[tuple[Workshop, tuple[str, ...]]]:
    """Workshops the user may write in (member of, or hosting), with the kinds allowed in each."""
    ctx = {gr.context_id for gr in access.services.grants(user) if gr.role in ("member", "host", "expert")}
    if not ctx:
        return []
    workshops = db.session.scalars(select(Workshop).where(Workshop.context_id.in_(ctx)).order_by(Workshop.id))
    out = [(w, kinds_for(user, w)) for w in workshops]
    return [(w, k) for w, k in out if k]


def may_view(user, item: Writing) -> bool:
    return item.author_id == getattr(user, "id", None) or access.can(user, "writing.view", item.workshop)


def may_edit(user, item: Writing) -> bool:
    return item.author_id == getattr(user, "id", None) and item.kind in kinds_for(user, item.workshop)


def _clean(title: str, body: str) -> tuple[str, str]:
    title = plain(title)
    if not title:
        raise WritingError("title_required")
    if len(title) > TITLE_MAX:
        raise WritingError("title_too_long")
    if len(body or "") > BODY_MAX:
        raise WritingError("body_too_long")
    return title, rich_text(body)


def used_up(user, writable, year: int | None = None) -> dict[str, Writing]:
    """Kinds whose yearly limit the user has reached in every workshop they may write them in, each
    with their latest piece of that kind this year: the page offers a link to it instead of "New"."""
    year = year or current_year()
    limited = {k for _w, ks in writable for k in ks if LIMITS.get(k) is not None}
    if not limited:
        return {}
    rows = db.session.execute(
        select(Writing.workshop_id, Writing.kind, func.count(Writing.id), func.max(Writing.id))
        .where(Writing.author_id == user.id, Writing.year == year, Writing.kind.in_(limited))
        .group_by(Writing.workshop_id, Writing.kind)
    ).all()
    counts = {(ws_id, kind): (n, last) for ws_id, kind, n, last in rows}
    out = {}
    for kind in limited:
        places = [w.id for w, ks in writable if kind in ks]
        if all(counts.get((ws_id, kind), (0, None))[0] >= LIMITS[kind] for ws_id in places):
            last = max(counts[(ws_id, kind)][1] for ws_id in places)
            out[kind] = db.session.get(Writing, last)
    return out


def has_room(user, workshop: Workshop, kind: str, year: int | None = None) -> bool:
    limit = LIMITS.get(kind)
    return limit is None or count_of(user.id, workshop.id, kind, year or current_year()) < limit


def count_of(author_id: int, workshop_id: int, kind: str, year: int) -> int:
    return db.session.scalar(
        select(func.count(Writing.id)).where(
            Writing.author_id == author_id,
            Writing.workshop_id == workshop_id,
            Writing.kind == kind,
            Writing.year == year,
        )
    )


def create(user, workshop: Workshop, kind: str, title: str, body: str, year: int | None = None) -> Writing:
    if kind not in kinds_for(user, workshop):
        raise PermissionError(f"writing.{kind}")
    title, html = _clean(title, body)
    year = year or current_year()
    limit = LIMITS[kind]
    if limit is not None and count_of(user.id, workshop.id, kind, year) >= limit:
        raise WritingError("limit_reached")
    item = Writing(kind=kind, author_id=user.id, workshop_id=workshop.id, year=year, title=title, body_html=html)
    db.session.add(item)
    db.session.commit()
    content_changed.send("activities", kind=SOURCE_KIND[kind], ids=[item.id])
    return item


def update(user, item: Writing, title: str, body: str) -> Writing:
    if not may_edit(user, item):
        raise PermissionError("writing.edit")
    item.title, item.body_html = _clean(title, body)
    item.updated_at = utcnow()
    db.session.commit()
    content_changed.send("activities", kind=SOURCE_KIND[item.kind], ids=[item.id])
    return item


def delete(user, item: Writing) -> None:
    if item.author_id != user.id:
        raise PermissionError("writing.delete")
    kind, ident = SOURCE_KIND[item.kind], item.id
    db.session.delete(item)
    db.session.commit()
    content_deleted.send("activities", kind=kind, ids=[ident])


def mine(user, page: int = 1, per_page: int = 20) -> Page:
    stmt = select(Writing).where(Writing.author_id == user.id).order_by(Writing.created_at.desc(), Writing.id.desc())
    return paginate(stmt, page, per_page)


def in_workshop(workshop: Workshop, kind: str | None = None, page: int = 1, per_page: int = 20) -> Page:
    """A workshop's writing, newest first; `kind` one of the writing kinds, "teacher" or "host"."""
    stmt = select(Writing).options(selectinload(Writing.author)).where(Writing.workshop_id == workshop.id)
    if kind == "teacher":
        stmt = stmt.where(Writing.kind.in_(TEACHER_KINDS))
    elif kind == "host":
        stmt = stmt.where(Writing.kind.in_(HOST_KINDS))
    elif kind:
        stmt = stmt.where(Writing.kind == kind)
    return paginate(stmt.order_by(Writing.created_at.desc(), Writing.id.desc()), page, per_page)


def latest_mine(user, limit: int = 5) -> list[Writing]:
    """The user's newest writing for the personal-space panel: one statement, no count."""
    stmt = (
        select(Writing)
        .where(Writing.author_id == user.id)
        .order_by(Writing.created_at.desc(), Writing.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def recent_in(workshop: Workshop, limit: int = 5) -> list[Writing]:
    """A workshop's newest writing with the authors, in one statement (a page panel)."""
    stmt = (
        select(Writing)
        .options(joinedload(Writing.author))
        .where(Writing.workshop_id == workshop.id)
        .order_by(Writing.created_at.desc(), Writing.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def log_counts(workshop: Workshop, user_ids) -> dict[int, int]:
    """{user id: logs written in this workshop} for the statistics page."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Writing.author_id, func.count(Writing.id))
        .where(Writing.workshop_id == workshop.id, Writing.kind == "log", Writing.author_id.in_(ids))
        .group_by(Writing.author_id)
    )
    return dict(rows.all())


# --- search / feed source ---------------------------------------------------------------------


def _url(item: Writing) -> str:
    try:
        return url_for("research.writing", ident=item.id)
    except RuntimeError:  # outside a request
        return f"/writing/{item.id}"


def source(kinds: tuple[str, ...]):
    """A search source (lms.search.sources) for the writing kinds published under one source kind."""

    def load(ids):
        stmt = select(Writing).where(Writing.kind.in_(kinds)).options(selectinload(Writing.workshop))
        if ids is not None:
            stmt = stmt.where(Writing.id.in_(list(ids)))
        for item in db.session.scalars(stmt):
            yield {
                "kind": SOURCE_KIND[item.kind],
                "id": item.id,
                "title": item.title,
                "body": html_to_text(item.body_html, collapse=True),
                "url": _url(item),
                "context_path": item.workshop.context.path,
                "owner_id": item.author_id,
                "stage": item.workshop.stage,
                "subject": item.workshop.subject,
                "type": item.kind,
                "created_at": item.created_at,
            }

    return load


def register_sources() -> None:
    from lms.search.sources import register_source

    for skind in SOURCE_KINDS:
        # The page (`may_view`): writing.view in the workshop, or the author.
        register_source(skind, source(tuple(k for k, v in SOURCE_KIND.items() if v == skind)),
                        capability="writing.view", owner_reads=True)  # fmt: skip
