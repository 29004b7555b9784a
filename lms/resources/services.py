"""Resource library: every rule, query and commit of the domain (DESIGN.md "Where a line belongs").

Visibility: a resource in a library (workshop, school or region Context) is seen by whoever
`community.view` reaches there (members, admins above, and teachers below for region libraries);
a resource without a context lives in its owner's personal space and only the owner sees it.
"""

import html
import math
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, case, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from lms import access, signals
from lms.access.models import Context
from lms.core.db import utcnow
from lms.core.pagination import Page, paginate
from lms.core.taxonomy import STAGES, SUBJECTS, fit_score
from lms.core.text import html_to_text, normalize, plain, sanitize_html
from lms.core.uploads import UploadError
from lms.extensions import db
from lms.media import services as media
from lms.media.models import StoredFile
from lms.resources.models import (
    KINDS,
    STATUSES,
    Resource,
    ResourceComment,
    ResourceFavourite,
    ResourceRating,
    ResourceView,
)

DOMAIN = "resources"
PER_PAGE = 20
#: What a resource file may be (sniffed): images, PDF, Office (2007+ and 97-2003), video, audio, ZIP,
#: and plain text and RTF, since teachers share .txt lesson plans (downloads only, never inline).
ALLOWED = media.ANY_SAFE | media.TEXT
#: Sniffed types refused with their own message: programs, whatever the file is called.
EXECUTABLES = {
    "application/x-executable", "application/x-msdownload", "application/x-mach-binary",
    "application/x-sharedlib", "application/x-elf", "application/vnd.microsoft.portable-executable",
}  # fmt: skip
SORTS = ("newest", "downloads", "rating")
MAX_TAGS = 8


class ResourceError(ValueError):
    """A rule was broken; str(err) is a code the views turn into a sentence."""


# --- visibility ----------------------------------------------------------------------------------


def visible_clause(user):
    """A WHERE clause (Resource and Context outer-joined) for the resources `user` may see."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    libraries = access.visible(select(Context.id), user, "community.view", Context.path).whereclause
    own = and_(Resource.context_id.is_(None), Resource.owner_id == user.id)
    return or_(own, and_(Resource.context_id.is_not(None), libraries))


def may_view(user, r: Resource) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if r.context_id is None:
        return r.owner_id == user.id
    return access.can(user, "community.view", r.context)


def get_visible(user, resource_id: int) -> Resource | None:
    """The resource if the user may see it, else None (the views answer 404: no existence leak)."""
    r = db.session.get(Resource, resource_id)
    return r if r is not None and may_view(user, r) else None


def may_curate(user, r: Resource) -> bool:
    return r.context_id is not None and access.can(user, "resource.curate", r.context)


def may_edit(user, r: Resource) -> bool:
    """Change the details (not the file, not the library): its owner, or a curator of its library."""
    if r.owner_id is not None and r.owner_id == getattr(user, "id", None):
        return True
    return may_curate(user, r)


def may_remove(user, r: Resource) -> bool:
    if r.owner_id is not None and r.owner_id == getattr(user, "id", None):
        return True
    return r.context_id is not None and access.can(user, "resource.remove", r.context)


# --- libraries -----------------------------------------------------------------------------------


@dataclass
class Library:
    context: Context | None  # None = personal space
    label: str


#: Context kinds that have a library (a community page with its resource panel).
LIBRARY_KINDS = ("workshop", "school", "region")


def may_upload(user, context: Context | None) -> bool:
    """The one rule for where a user may file a resource, used by the upload service, the API, the
    upload buttons and the form: their personal space (context None), or a library that
    resource.upload reaches: where they hold a role and, as every role does, the communities below
    it (a county admin posts into the county's schools and workshops)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if context is None:
        return True
    return context.kind in LIBRARY_KINDS and access.can(user, "resource.upload", context)


def upload_targets(user, current: Context | None = None) -> list[Context]:
    """The libraries the upload form offers: the user's own communities (where a role holding
    resource.upload is held, not every library below them: a province admin reaches thousands), and
    first `current`, the library of the page they came from, when they may upload there."""
    from lms.access.roles import ROLE_CAPABILITIES
    from lms.access.services import grants

    ids = {g.context_id for g in grants(user) if "resource.upload" in ROLE_CAPABILITIES.get(g.role, ())}
    rows = list(db.session.scalars(select(Context).where(Context.id.in_(ids), Context.kind.in_(LIBRARY_KINDS))))
    order = {"workshop": 0, "school": 1, "region": 2}
    rows.sort(key=lambda c: (order.get(c.kind, 3), len(c.path), c.name))
    if current is not None and may_upload(user, current):
        rows = [current] + [c for c in rows if c.id != current.id]
    return rows


def region_ancestors(ctx: Context) -> list[Context]:
    """Region contexts on the path of ctx (itself included when it is one), nearest first."""
    ids = [int(x) for x in ctx.path.strip("/").split("/") if x]
    rows = db.session.scalars(select(Context).where(Context.id.in_(ids), Context.kind == "region"))
    return sorted(rows, key=lambda c: -len(c.path))


# --- creating ------------------------------------------------------------------------------------


def _clean_tags(raw) -> str:
    if isinstance(raw, list | tuple):
        raw = " ".join(raw)
    text = normalize(raw).replace("，", " ").replace(",", " ").replace("、", " ").replace("#", " ")
    seen: list[str] = []
    for t in text.split():
        t = t[:20]
        if t not in seen:
            seen.append(t)
    return " ".join(seen[:MAX_TAGS])[:255]


def _check_fields(title, stage, subject, kind):
    title = plain(title)
    if not title:
        raise ResourceError("title_required")
    if len(title) > 200:
        raise ResourceError("title_too_long")
    if stage and stage not in STAGES:
        raise ResourceError("bad_stage")
    if subject and subject not in SUBJECTS:
        raise ResourceError("bad_subject")
    if kind and kind not in KINDS:
        raise ResourceError("bad_kind")
    return title


def _kind_for(mime: str | None, chosen: str | None) -> str:
    if chosen:
        return chosen
    if mime and mime.startswith("video/"):
        return "micro_lesson"
    if mime and mime.startswith("image/"):
        return "image"
    return "document"


def max_bytes(config=None) -> int:
    """The cap of one resource file (RESOURCE_MAX_BYTES, sized for micro-lessons)."""
    config = config if config is not None else current_app.config
    return config.get("RESOURCE_MAX_BYTES") or config["UPLOAD_MAX_BYTES"]


def upload(user, *, title, file, context: Context | None = None, description="", stage=None, subject=None,
           kind=None, tags="") -> Resource:  # fmt: skip
    """Validate, store the file and file the resource; commits. Nothing is stored when it fails.

    Raises ResourceError (fields, permission) or UploadError (missing, empty, too large, type).
    """
    title = _check_fields(title, stage, subject, kind)
    if not may_upload(user, context):
        raise ResourceError("forbidden")
    if len(description or "") > 50000:
        raise ResourceError("description_too_long")
    try:
        stored = media.save_upload(file, owner=user, allowed=ALLOWED, max_bytes=max_bytes(), purpose="resource")
    except UploadError as err:
        db.session.rollback()
        if str(err).startswith("type:") and str(err)[5:] in EXECUTABLES:
            raise ResourceError("executable") from None
        raise
    r = Resource(
        title=title,
        description_html=sanitize_html(description),
        stage=stage or None,
        subject=subject or None,
        kind=_kind_for(stored.mime, kind),
        tags=_clean_tags(tags),
        file_id=stored.id,
        owner_id=user.id,
        context_id=context.id if context is not None else None,
        status="normal",
        source="upload",
        file_text=_file_text(stored),
    )
    db.session.add(r)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        media.storage.remove(current_app.config, stored.path)
        raise
    if stored.mime.startswith("video/"):
        _transcode(r)
    _changed([r.id])
    return r


def _transcode(r: Resource) -> None:
    from lms.media import tasks

    job = tasks.enqueue(r.file)
    r.media_job_id = job.id
    db.session.commit()


def _changed(ids: list[int]) -> None:
    signals.content_changed.send(DOMAIN, kind="resource", ids=ids)


def file_resource(*, owner, title, context: Context | None, description_html="", file_id=None, kind=None,
                  status="normal", source="upload", stage=None, subject=None) -> Resource:  # fmt: skip
    """File a resource made elsewhere (excellent homework, an activity); commits and signals."""
    stored = db.session.get(StoredFile, file_id) if file_id else None
    r = _new_resource(owner=owner, title=title, context=context, description_html=description_html, stored=stored,
                      kind=kind, status=status, source=source, stage=stage, subject=subject)  # fmt: skip
    db.session.commit()
    _filed([r])
    return r


def _new_resource(*, owner, title, context, description_html, stored, kind, status, source, stage, subject):
    r = Resource(
        title=plain(title, 200) or "—",
        description_html=sanitize_html(description_html),
        stage=stage if stage in STAGES else None,
        subject=subject if subject in SUBJECTS else None,
        kind=kind or _kind_for(stored.mime if stored else None, None),
        file_id=stored.id if stored else None,
        file=stored,
        owner_id=getattr(owner, "id", owner),
        context_id=context.id if context is not None else None,
        status=status,
        source=source,
        file_text=_file_text(stored) if stored is not None else None,
    )
    db.session.add(r)
    return r


def read_files(batch: int = 200) -> int:
    """Fill file_text of the resources never read (uploaded before it existed), a batch per commit,
    and tell search; returns how many were read."""
    done = 0
    while True:
        stmt = select(Resource).join(StoredFile, Resource.file_id == StoredFile.id).where(Resource.file_text.is_(None))
        rows = list(db.session.scalars(stmt.order_by(Resource.id).limit(batch)))
        if not rows:
            return done
        for r in rows:
            r.file_text = _file_text(r.file)
        db.session.commit()
        _changed([r.id for r in rows])
        done += len(rows)


def _file_text(stored: StoredFile) -> str:
    from lms.resources import textract

    return textract.extract(media.storage.absolute(current_app.config, stored.path), stored.mime)


def _filed(items: list[Resource]) -> None:
    """After the commit that filed them: videos to transcode, search to tell."""
    for r in items:
        if r.file is not None and r.file.mime.startswith("video/"):
            _transcode(r)
    _changed([r.id for r in items])


_KEEP = object()


def edit(user, r: Resource, *, title=_KEEP, description=_KEEP, stage=_KEEP, subject=_KEEP, kind=_KEEP,
           tags=_KEEP) -> Resource:  # fmt: skip
    """Change a resource's details (what is not given stays); its owner or a curator. Commits and
    tells search. "Excellent homework" stays the kind of published homework only."""
    if not may_edit(user, r):
        raise ResourceError("forbidden")

    def value(given, current):
        return current if given is _KEEP else (given or None)

    new_title = _check_fields(r.title if title is _KEEP else title, value(stage, r.stage), value(subject, r.subject),
                              value(kind, r.kind))  # fmt: skip
    new_kind = value(kind, r.kind) or r.kind
    if new_kind == "homework" and r.kind != "homework":
        raise ResourceError("bad_kind")
    if description is not _KEEP and len(description or "") > 50000:
        raise ResourceError("description_too_long")
    r.title, r.kind = new_title, new_kind
    r.stage, r.subject = value(stage, r.stage), value(subject, r.subject)
    if description is not _KEEP:
        r.description_html = sanitize_html(description or "")
    if tags is not _KEEP:
        r.tags = _clean_tags(tags or "")
    db.session.commit()
    _changed([r.id])
    return r


# --- listing -------------------------------------------------------------------------------------


@dataclass
class Filters:
    stage: str | None = None
    subject: str | None = None
    kind: str | None = None
    status: str | None = None
    sort: str = "newest"
    q: str | None = None
    #: A community's context id: its library and the libraries below it (a county and its schools).
    community: int | None = None

    @classmethod
    def from_args(cls, args) -> "Filters":
        def pick(name, allowed):
            v = args.get(name) or None
            return v if v in allowed else None

        sort = args.get("sort") if args.get("sort") in SORTS else "newest"
        q = normalize(args.get("q"))[:100] or None
        community = args.get("community") or ""
        community = int(community) if community.isdigit() and len(community) < 12 else None
        return cls(pick("stage", STAGES), pick("subject", SUBJECTS), pick("kind", KINDS), pick("status", STATUSES),
                   sort, q, community)  # fmt: skip


def _base(user):
    return (
        select(Resource)
        .outerjoin(Context, Resource.context_id == Context.id)
        .options(contains_eager(Resource.context), joinedload(Resource.owner))
        .where(visible_clause(user))
    )


def _order(stmt, sort: str):
    if sort == "downloads":
        return stmt.order_by(Resource.download_count.desc(), Resource.id.desc())
    if sort == "rating":
        return stmt.order_by(Resource.rating_avg.desc(), Resource.rating_count.desc(), Resource.id.desc())
    return stmt.order_by(Resource.created_at.desc(), Resource.id.desc())


def browse(user, filters: Filters | None = None, *, context: Context | None = None, mine: bool = False,
           page: int = 1, per_page: int = PER_PAGE) -> Page:  # fmt: skip
    """Resources the user may see: all, one library (`context`), or their own (`mine`).

    Words go through the search index (lms.search: Chinese word segmentation, pinyin, the
    description too), best match first, like the site's search box; a title/tag LIKE remains for
    what the index cannot filter (one's own uploads, a status, another order)."""
    f = filters or Filters()
    if f.q and not mine and not f.status and f.sort == "newest":
        return _search_page(user, f, context, page, per_page)
    stmt = _base(user)
    if context is not None:
        stmt = stmt.where(Resource.context_id == context.id)
    if mine:
        stmt = stmt.where(Resource.owner_id == user.id)
    for col, value in ((Resource.stage, f.stage), (Resource.subject, f.subject), (Resource.kind, f.kind),
                       (Resource.status, f.status)):  # fmt: skip
        if value:
            stmt = stmt.where(col == value)
    if f.community is not None:
        path = db.session.scalar(select(Context.path).where(Context.id == f.community))
        stmt = stmt.where(Context.path.startswith(path, autoescape=True) if path else false())
    if f.q:
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Resource.title.like(like, escape="\\"), Resource.tags.like(like, escape="\\")))
    return paginate(_order(stmt, f.sort), page, per_page)


def _search_page(user, f: Filters, context: Context | None, page: int, per_page: int) -> Page:
    from lms.search import services as search

    community = context.id if context is not None else f.community
    wanted = {"kind": "resource", "type": f.kind, "stage": f.stage, "subject": f.subject,
              "community": str(community) if community is not None else None}  # fmt: skip
    found = search.search(user, f.q, {k: v for k, v in wanted.items() if v}, page=page, per_page=per_page)
    ids = [h["id"] for h in found.hits]
    # A library's box finds what lies beneath it too (a county's: its schools' and workshops').
    rows = {r.id: r for r in db.session.scalars(_base(user).where(Resource.id.in_(ids)))} if ids else {}
    return Page(items=[rows[i] for i in ids if i in rows], page=found.page, per_page=per_page, total=found.total)


def library_preview(user, context: Context, limit: int = 5) -> tuple[list[Resource], int]:
    """A community page's panel: the newest featured-first items of its library, and how many there are."""
    stmt = _base(user).where(Resource.context_id == context.id)
    items = list(
        db.session.scalars(
            stmt.order_by(case((Resource.status == "normal", 1), else_=0), Resource.created_at.desc()).limit(limit)
        )
    )
    total = db.session.scalar(select(func.count(Resource.id)).where(Resource.context_id == context.id)) or 0
    return items, total


def favourites(user, page: int = 1, per_page: int = PER_PAGE) -> Page:
    stmt = (
        _base(user)
        .join(ResourceFavourite, ResourceFavourite.resource_id == Resource.id)
        .where(ResourceFavourite.user_id == user.id)
        .order_by(ResourceFavourite.created_at.desc(), Resource.id.desc())
    )
    return paginate(stmt, page, per_page)


def library_choices(user) -> list[Context]:
    """The community picker of the main page: the libraries of the user's own communities and of
    the ones above them (what community.view reaches without listing every school of a province),
    nearest the top first."""
    sc = access.scope(user, "community.view")
    paths = set(sc.prefixes) | set(sc.exact)
    if not paths:
        return []
    rows = db.session.scalars(select(Context).where(Context.path.in_(paths), Context.kind.in_(LIBRARY_KINDS)))
    return sorted(rows, key=lambda c: (c.path.count("/"), c.name))


# --- one resource --------------------------------------------------------------------------------


def record_view(user, r: Resource, downloaded: bool = False) -> None:
    """Count an opening, or a download once per person (downloads sort the library and weigh in
    recommendations: downloading again must not inflate them), and remember it for
    recommendations; commits."""
    mine = (ResourceView.user_id == user.id, ResourceView.resource_id == r.id)
    now = func.now()
    first_download = downloaded and bool(db.session.execute(
        update(ResourceView).where(*mine, ResourceView.downloaded.is_(False)).values(downloaded=True, last_at=now)
        .execution_options(synchronize_session=False)).rowcount)  # fmt: skip
    seen = first_download or bool(db.session.execute(
        update(ResourceView).where(*mine).values(last_at=now).execution_options(synchronize_session=False)
    ).rowcount)  # fmt: skip
    if not seen:
        try:
            with db.session.begin_nested():
                db.session.add(ResourceView(user_id=user.id, resource_id=r.id, downloaded=downloaded))
        except IntegrityError:
            pass  # a parallel request of the same person recorded it, and counts it
        else:
            first_download = downloaded
    if first_download:
        db.session.execute(update(Resource).where(Resource.id == r.id)
                           .values(download_count=Resource.download_count + 1))  # fmt: skip
    elif not downloaded:
        db.session.execute(update(Resource).where(Resource.id == r.id).values(view_count=Resource.view_count + 1))
    db.session.commit()


def state_for(user, r: Resource) -> dict:
    """The caller's own rating and whether they keep it as a favourite."""
    stars = db.session.scalar(
        select(ResourceRating.stars).where(ResourceRating.resource_id == r.id, ResourceRating.user_id == user.id)
    )
    fav = db.session.scalar(
        select(ResourceFavourite.id).where(ResourceFavourite.resource_id == r.id, ResourceFavourite.user_id == user.id)
    )
    return {"my_rating": stars, "favourite": fav is not None}


def rate(user, r: Resource, stars) -> None:
    """Rate 1–5, once per user (a second rating replaces the first); keeps sum, count and average."""
    try:
        stars = int(stars)
    except (TypeError, ValueError):
        raise ResourceError("bad_rating") from None
    if not 1 <= stars <= 5:
        raise ResourceError("bad_rating")
    old = db.session.scalar(
        select(ResourceRating).where(ResourceRating.resource_id == r.id, ResourceRating.user_id == user.id)
    )
    if old is None:
        db.session.add(ResourceRating(resource_id=r.id, user_id=user.id, stars=stars))
        d_sum, d_count = stars, 1
    else:
        d_sum, d_count = stars - old.stars, 0
        old.stars = stars
    db.session.flush()
    new_sum, new_count = Resource.rating_sum + d_sum, Resource.rating_count + d_count
    db.session.execute(
        update(Resource)
        .where(Resource.id == r.id)
        .values(
            rating_sum=new_sum,
            rating_count=new_count,
            rating_avg=case((new_count > 0, new_sum * 1.0 / new_count), else_=0.0),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(r)


def set_favourite(user, r: Resource, on: bool) -> bool:
    """Keep or drop a favourite; returns whether it is now a favourite. Commits."""
    existing = db.session.scalar(
        select(ResourceFavourite).where(ResourceFavourite.resource_id == r.id, ResourceFavourite.user_id == user.id)
    )
    if on and existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(ResourceFavourite(user_id=user.id, resource_id=r.id))
            db.session.execute(
                update(Resource).where(Resource.id == r.id).values(favourite_count=Resource.favourite_count + 1)
            )
        except IntegrityError:
            pass
    elif not on and existing is not None:
        db.session.delete(existing)
        db.session.execute(
            update(Resource).where(Resource.id == r.id).values(favourite_count=Resource.favourite_count - 1)
        )
    db.session.commit()
    return on


def comments(r: Resource, limit: int = 200) -> list[ResourceComment]:
    return list(
        db.session.scalars(
            select(ResourceComment)
            .where(ResourceComment.resource_id == r.id)
            .options(selectinload(ResourceComment.user))
            .order_by(ResourceComment.created_at, ResourceComment.id)
            .limit(limit)
        )
    )


def add_comment(user, r: Resource, body: str) -> ResourceComment:
    body_html = sanitize_html((body or "").strip())
    if not html_to_text(body_html) and "<img" not in body_html:
        raise ResourceError("comment_empty")
    if len(body or "") > 5000:
        raise ResourceError("comment_too_long")
    c = ResourceComment(resource_id=r.id, user_id=user.id, body_html=body_html)
    db.session.add(c)
    db.session.execute(update(Resource).where(Resource.id == r.id).values(comment_count=Resource.comment_count + 1))
    db.session.commit()
    return c


def delete_comment(user, c: ResourceComment) -> None:
    r = db.session.get(Resource, c.resource_id)
    if c.user_id != user.id and not may_curate(user, r):
        raise ResourceError("forbidden")
    db.session.delete(c)
    db.session.execute(update(Resource).where(Resource.id == r.id).values(comment_count=Resource.comment_count - 1))
    db.session.commit()


# --- curation ------------------------------------------------------------------------------------


def set_status(user, r: Resource, status: str) -> None:
    """Feature 精选, mark excellent 优秀 or return to normal (resource.curate in the resource's library)."""
    if status not in STATUSES:
        raise ResourceError("bad_status")
    if not may_curate(user, r):
        raise ResourceError("forbidden")
    r.status = status
    db.session.commit()
    _changed([r.id])


def move_targets(user, r: Resource) -> list[Context]:
    """Regional libraries the user may move this resource into at once: the regions above it and
    the ones in the user's reach, wherever the user curates (county/city/province roles). A
    workshop host curates the workshop's library only: they propose (propose_targets)."""
    if r.context_id is None or not may_curate(user, r):
        return []
    above = [c for c in region_ancestors(r.context) if c.id != r.context_id]
    from lms.access.services import reach_paths

    reach = reach_paths(user, "resource.curate")
    mine = [c for c in db.session.scalars(select(Context).where(Context.kind == "region",
            or_(*[Context.path.startswith(p, autoescape=True) for p in reach]) if reach else false()))]  # fmt: skip
    seen, out = set(), []
    for c in above + mine:
        if c.id not in seen and c.id != r.context_id and access.can(user, "resource.curate", c):
            seen.add(c.id)
            out.append(c)
    return out


def propose_targets(user, r: Resource) -> list[Context]:
    """Regional libraries above the resource that a curator of its own library (a workshop host)
    may propose it for, where they do not curate themselves; one proposal at a time."""
    if r.context_id is None or r.proposed_context_id is not None or not may_curate(user, r):
        return []
    direct = {c.id for c in move_targets(user, r)}
    return [c for c in region_ancestors(r.context) if c.id != r.context_id and c.id not in direct]


def _curators(context: Context) -> list[int]:
    """Who decides proposals for a library: holders of a curating role at that very context."""
    from lms.access.roles import ROLE_CAPABILITIES
    from lms.access.services import holders

    ids: list[int] = []
    for role, caps in ROLE_CAPABILITIES.items():
        if "resource.curate" in caps and role != "site_admin":
            ids += [u.id for u in holders(role, context)]
    return list(dict.fromkeys(ids))


def propose(user, r: Resource, target: Context | None) -> None:
    """Propose the resource for a regional library; that library's curators are told."""
    if target is None or target.id not in {c.id for c in propose_targets(user, r)}:
        raise ResourceError("forbidden")
    r.proposed_context_id, r.proposed_by_id, r.proposed_at = target.id, user.id, utcnow()
    db.session.commit()
    from lms.core.i18n import site_gettext
    from lms.notifications.services import notify

    text = site_gettext("%(name)s proposes “%(title)s” for the %(library)s library.", name=user.name,
                        title=r.title, library=target.name)  # fmt: skip
    notify(_curators(target), "resource", text, url=f"/resources/{r.id}", actor=user.id)


def may_decide(user, r: Resource) -> bool:
    return r.proposed_context is not None and access.can(user, "resource.curate", r.proposed_context)


def decide(user, r: Resource, approve: bool) -> None:
    """A curator of the proposed library moves the resource in (approve) or declines; the proposer
    may withdraw (decline) their own proposal. The proposer is told of a curator's decision."""
    target = r.proposed_context
    if target is None:
        raise ResourceError("no_proposal")
    own = r.proposed_by_id is not None and r.proposed_by_id == user.id
    if not may_decide(user, r) and not (own and not approve):
        raise ResourceError("forbidden")
    proposer = r.proposed_by_id
    r.proposed_context_id = r.proposed_by_id = r.proposed_at = None
    if approve:
        r.context_id = target.id
    db.session.commit()
    if approve:
        db.session.refresh(r)
        _changed([r.id])
    if proposer is not None and proposer != user.id:
        from lms.core.i18n import site_gettext
        from lms.notifications.services import notify

        if approve:
            text = site_gettext("“%(title)s” is now in the %(library)s library.", title=r.title, library=target.name)
        else:
            text = site_gettext("Your proposal of “%(title)s” for the %(library)s library was declined.",
                                title=r.title, library=target.name)  # fmt: skip
        notify([proposer], "resource", text, url=f"/resources/{r.id}", actor=user.id)


def proposals(user, context: Context, limit: int = 50) -> list[Resource]:
    """Resources proposed for this library, oldest first, for its curators (others: none)."""
    if not access.can(user, "resource.curate", context):
        return []
    stmt = _base(user).where(Resource.proposed_context_id == context.id).options(joinedload(Resource.proposed_by))
    return list(db.session.scalars(stmt.order_by(Resource.proposed_at, Resource.id).limit(limit)))


def move(user, r: Resource, target: Context) -> None:
    if target is None or target.id not in {c.id for c in move_targets(user, r)}:
        raise ResourceError("forbidden")
    r.context_id = target.id
    r.proposed_context_id = r.proposed_by_id = r.proposed_at = None  # settled by the move
    db.session.commit()
    db.session.refresh(r)
    _changed([r.id])


def remove(user, r: Resource) -> None:
    """Delete a resource, and its file when nothing else uses it (its owner, or resource.remove in
    its library). Excellent homework and activity shares point at the trainee's own file: removing
    the library entry must never take the submission's or the share's file with it."""
    if not may_remove(user, r):
        raise ResourceError("forbidden")
    rid, stored = r.id, r.file
    db.session.delete(r)
    db.session.flush()
    if stored is not None:
        media.delete_file(stored)  # kept while a submission, a share or another resource uses it
    db.session.commit()
    signals.content_deleted.send(DOMAIN, kind="resource", ids=[rid])


# --- recommendations 智能推送 ----------------------------------------------------------------------


#: The least fit (taxonomy.fit_score) a recommendation needs: no net mismatch. A primary maths
#: teacher gets primary items of any subject (6 - 4), maths items without a stage (4) and untagged
#: ones (0), never another stage's (-6 + 4 at best) or another subject's without a stage (-4).
MIN_FIT = 0


def recommend(user, limit: int = 6) -> list[Resource]:
    """Resources fitting the teacher's stage and subject and what workshop colleagues opened.

    One query: visible, not the teacher's own, never opened by them, fitting at least MIN_FIT
    (stage ±6, subject ±4, see taxonomy.fit_score; an empty panel beats one filled with another
    stage's items); ranked by fit, colleagues' openings (2 each, at most 6) and downloads (1 each,
    at most 3), excellent (2) / featured (1) status, so popularity reorders fitting items. Ties:
    newer first.
    """
    from lms.communities.models import WorkshopMembership

    stage = user.stage or (user.school.stage if getattr(user, "school", None) else None)
    my_workshops = select(WorkshopMembership.workshop_id).where(WorkshopMembership.user_id == user.id)
    colleagues = select(WorkshopMembership.user_id).where(
        WorkshopMembership.workshop_id.in_(my_workshops), WorkshopMembership.user_id != user.id
    )
    peer = (
        select(
            ResourceView.resource_id.label("rid"),
            func.count().label("opened"),
            func.sum(case((ResourceView.downloaded.is_(True), 1), else_=0)).label("downloaded"),
        )
        .where(ResourceView.user_id.in_(colleagues))
        .group_by(ResourceView.resource_id)
        .subquery()
    )
    seen = select(ResourceView.resource_id).where(ResourceView.user_id == user.id)
    opened = func.coalesce(peer.c.opened, 0)
    downloaded = func.coalesce(peer.c.downloaded, 0)
    fit = fit_score(Resource.stage, Resource.subject, stage, user.subject)
    score = (
        fit
        + case((opened > 3, 6), else_=opened * 2)
        + case((downloaded > 3, 3), else_=downloaded)
        + case((Resource.status == "excellent", 2), (Resource.status == "featured", 1), else_=0)
    )
    stmt = (
        _base(user)
        .outerjoin(peer, peer.c.rid == Resource.id)
        .where(
            Resource.context_id.is_not(None),
            or_(Resource.owner_id.is_(None), Resource.owner_id != user.id),
            Resource.id.not_in(seen),
            fit >= MIN_FIT,
        )
        .order_by(score.desc(), Resource.created_at.desc(), Resource.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


# --- signal listeners ----------------------------------------------------------------------------


def on_homework_published(sender, expert=None, title="", body_html="", file_ids=(), context=None, author=None,
                          **_):  # fmt: skip
    """Excellent homework 推优 → excellent resources in the region library above where it came from.

    A resource holds one file: the homework's text with each of its attachments makes one resource per
    attachment (titled with the file's name when there are several), each with the text as its
    description so that it reads on its own; text alone makes one resource. All in one commit.
    Returns the resources.
    """
    target = None
    if context is not None:
        regions = region_ancestors(context)
        target = regions[0] if regions else context
    author = author or expert
    stage = getattr(author, "stage", None) or (author.school.stage if getattr(author, "school", None) else None)
    files = [f for f in (db.session.get(StoredFile, i) for i in dict.fromkeys(file_ids or ())) if f is not None]
    title = plain(title, 200) or "—"
    parts = [(title, f) for f in files] if len(files) <= 1 else [(_titled(title, f.filename), f) for f in files]
    items = [
        _new_resource(owner=author, title=t, context=target, description_html=body_html, stored=f, kind="homework",
                      status="excellent", source="homework", stage=stage, subject=getattr(author, "subject", None))
        for t, f in parts or [(title, None)]
    ]  # fmt: skip
    db.session.commit()
    _filed(items)
    return items


def _titled(title: str, filename: str) -> str:
    """The title and the file's name (without extension) within 200 characters, the name kept readable."""
    name = (filename.rpartition(".")[0] or filename)[:60]
    return f"{title[: 200 - len(name) - 3]} · {name}"


def on_activity_resource_shared(sender, user=None, title="", description="", file_id=None, context=None, **_):
    """A file shared in a workshop activity → a resource in that workshop's library (once per file)."""
    if file_id is None or context is None:
        return None
    exists = db.session.scalar(
        select(Resource.id).where(Resource.file_id == file_id, Resource.context_id == context.id)
    )
    if exists:
        return None
    return file_resource(
        owner=user,
        title=title,
        context=context,
        description_html=html.escape(description or ""),
        file_id=file_id,
        source="activity",
        stage=getattr(user, "stage", None),
        subject=getattr(user, "subject", None),
    )


# --- search source -------------------------------------------------------------------------------


def search_documents(ids: list[int] | None):
    """Documents for lms.search (see lms/search/sources.py for the shape); works without a request."""
    urls = current_app.url_map.bind("localhost")
    stmt = (
        select(Resource).outerjoin(Context, Resource.context_id == Context.id).options(contains_eager(Resource.context))
    )
    if ids is not None:
        if not ids:
            return
        stmt = stmt.where(Resource.id.in_(ids))
    for r in db.session.scalars(stmt.order_by(Resource.id).execution_options(yield_per=500)):
        yield {
            "kind": "resource",
            "id": r.id,
            "title": r.title,
            "body": " ".join(x for x in (html_to_text(r.description_html), r.tags, r.file_text) if x),
            "tags": r.tags or "",
            "url": urls.build("resources.detail", {"resource_id": r.id}),
            "context_path": r.context.path if r.context is not None else None,
            "owner_id": r.owner_id,
            "stage": r.stage,
            "subject": r.subject,
            "type": r.kind,
            "created_at": r.created_at,
        }


# --- display helpers -----------------------------------------------------------------------------


def stars_text(avg: float) -> str:
    full = int(math.floor(avg + 0.5))
    return "★" * full + "☆" * (5 - full)


def as_dict(r: Resource, *, detail: bool = False) -> dict:
    from flask import url_for

    d = {
        "id": r.id,
        "title": r.title,
        "kind": r.kind,
        "stage": r.stage,
        "subject": r.subject,
        "tags": r.tag_list,
        "status": r.status,
        "library": library_kind(r),
        "library_name": r.context.name if r.context is not None else None,
        "owner": r.owner.name if r.owner is not None else None,
        "download_count": r.download_count,
        "rating": round(r.rating_avg or 0.0, 2),
        "rating_count": r.rating_count,
        "favourite_count": r.favourite_count,
        "comment_count": r.comment_count,
        "created_at": r.created_at.isoformat(),
        "url": url_for("resources.detail", resource_id=r.id, _external=False),
    }
    if detail:
        d["description_html"] = r.description_html
        d["file"] = (
            {
                "name": r.file.filename,
                "mime": r.file.mime,
                "size": r.file.size,
                "download_url": url_for("resources.download", resource_id=r.id),
            }  # fmt: skip
            if r.file is not None
            else None
        )
    return d


def library_kind(r: Resource) -> str:
    return "personal" if r.context is None else r.context.kind
