"""Briefs 简报: hosts, experts, project managers and admins compose them for a workshop, a school or
a region (capability `brief.post` in that context); everyone who may open that community reads them
there, and everyone beneath it is notified."""

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms import access
from lms.access.models import Context
from lms.activities.models import Brief, BriefImage
from lms.core.db import utcnow
from lms.core.pagination import Page, paginate
from lms.core.text import html_to_text, plain, rich_text
from lms.core.uploads import UploadError
from lms.extensions import db
from lms.signals import content_changed, content_deleted

TITLE_MAX = 200
BODY_MAX = 50000
MAX_IMAGES = 9
IMAGE_MAX_BYTES = 5 * 1024 * 1024


class BriefError(ValueError):
    pass


def _clean(title: str, body: str) -> tuple[str, str]:
    title = plain(title)
    if not title:
        raise BriefError("title_required")
    if len(title) > TITLE_MAX:
        raise BriefError("title_too_long")
    if len(body or "") > BODY_MAX:
        raise BriefError("body_too_long")
    return title, rich_text(body)


def _store_images(author, brief: Brief, files) -> None:
    from lms.media.services import IMAGES, save_upload

    files = [f for f in files or () if f is not None and getattr(f, "filename", "")]
    if len(brief.images) + len(files) > MAX_IMAGES:
        raise BriefError("too_many_images")
    for f in files:
        stored = save_upload(f, owner=author, allowed=IMAGES, max_bytes=IMAGE_MAX_BYTES, purpose="brief")
        brief.images.append(BriefImage(file_id=stored.id, file=stored))


def post(author, context: Context, title: str, body: str, images=()) -> Brief:
    """Compose a brief in a community's context; UploadError/BriefError leave nothing behind."""
    if not access.can(author, "brief.post", context):
        raise PermissionError("brief.post")
    title, html = _clean(title, body)
    brief = Brief(context_id=context.id, context=context, author_id=author.id, title=title, body_html=html)
    db.session.add(brief)
    try:
        _store_images(author, brief, images)
        db.session.flush()
    except (UploadError, BriefError):
        db.session.rollback()
        raise
    db.session.commit()
    content_changed.send("activities", kind="brief", ids=[brief.id])
    _notify(brief, context)
    return brief


def _notify(brief: Brief, context: Context) -> None:
    from lms.core.i18n import site_gettext
    from lms.notifications import services as notifications

    # In the site's language: one text for every reader, whatever language its author's UI uses.
    text = site_gettext("New brief: %(title)s", title=brief.title)
    # A county's or province's brief reaches its audience through a background fan-out, as announcements.
    notifications.notify_under(context, "brief", text, url=url_of(brief), actor_id=brief.author_id)


def may_edit(user, brief: Brief) -> bool:
    return brief.author_id == getattr(user, "id", None) and access.can(user, "brief.post", brief.context)


def may_delete(user, brief: Brief) -> bool:
    return may_edit(user, brief) or (access.can(user, "brief.post", brief.context) and _above(user, brief))


def _above(user, brief: Brief) -> bool:
    """Holds brief.post strictly above the brief's context (an admin over a host's brief)."""
    from lms.access.roles import ROLE_CAPABILITIES

    path = brief.context.path
    return any(
        "brief.post" in ROLE_CAPABILITIES.get(gr.role, ()) and path.startswith(gr.path) and gr.path != path
        for gr in access.services.grants(user)
    )


def update(user, brief: Brief, title: str, body: str, images=(), remove_ids=()) -> Brief:
    if not may_edit(user, brief):
        raise PermissionError("brief.edit")
    brief.title, brief.body_html = _clean(title, body)
    from lms.media.services import delete_file

    remove = {int(i) for i in remove_ids or ()}
    for img in list(brief.images):
        if img.id in remove:
            brief.images.remove(img)
            delete_file(img.file)
    try:
        _store_images(user, brief, images)
    except (UploadError, BriefError):
        db.session.rollback()
        raise
    brief.updated_at = utcnow()
    db.session.commit()
    content_changed.send("activities", kind="brief", ids=[brief.id])
    return brief


def delete(user, brief: Brief) -> None:
    if not may_delete(user, brief):
        raise PermissionError("brief.delete")
    from lms.media.services import delete_file

    ident = brief.id
    for img in list(brief.images):
        delete_file(img.file)
    db.session.delete(brief)
    db.session.commit()
    content_deleted.send("activities", kind="brief", ids=[ident])


def get(ident: int) -> Brief | None:
    return db.session.get(Brief, ident)


def at(community, limit: int = 5) -> list[Brief]:
    """The newest briefs of one community (its own context only)."""
    stmt = (
        select(Brief)
        .where(Brief.context_id == community.context_id)
        .order_by(Brief.created_at.desc(), Brief.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def listing(community, page: int = 1, per_page: int = 20) -> Page:
    stmt = (
        select(Brief)
        .where(Brief.context_id == community.context_id)
        .options(selectinload(Brief.author))
        .order_by(Brief.created_at.desc(), Brief.id.desc())
    )
    return paginate(stmt, page, per_page)


def community_of(context: Context):
    """The Workshop, School or Region whose context this is."""
    from lms.communities.models import Region, School, Workshop

    model = {"workshop": Workshop, "school": School, "region": Region}.get(context.kind)
    if model is None:
        return None
    return db.session.scalar(select(model).where(model.context_id == context.id))


def url_of(brief: Brief) -> str:
    try:
        return url_for("research.brief", ident=brief.id)
    except RuntimeError:
        return f"/briefs/{brief.id}"


def load(ids):
    """Search/feed source for kind "brief"."""
    stmt = select(Brief).options(selectinload(Brief.context))
    if ids is not None:
        stmt = stmt.where(Brief.id.in_(list(ids)))
    for b in db.session.scalars(stmt):
        yield {
            "kind": "brief",
            "id": b.id,
            "title": b.title,
            "body": html_to_text(b.body_html, collapse=True),
            "url": url_of(b),
            "context_path": b.context.path,
            "owner_id": b.author_id,
            "stage": None,
            "subject": None,
            "type": b.context.kind,
            "created_at": b.created_at,
        }
