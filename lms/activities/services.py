"""Announcements 公告 at every level of the community tree."""

from sqlalchemy import select

from lms import access
from lms.access.models import Context
from lms.activities.models import Announcement
from lms.core.text import plain, rich_text
from lms.extensions import db
from lms.signals import announcement_posted, content_deleted


class AnnouncementError(ValueError):
    pass


def _clean(title: str, body: str) -> tuple[str, str]:
    title = plain(title)
    if not title:
        raise AnnouncementError("title_required")
    if len(title) > 200:
        raise AnnouncementError("title_too_long")
    if len(body or "") > 20000:
        raise AnnouncementError("body_too_long")
    return title, rich_text(body)


def post(author, context: Context, title: str, body: str) -> Announcement:
    if not access.can(author, "announcement.post", context):
        raise PermissionError("announcement.post")
    title, html = _clean(title, body)
    item = Announcement(context_id=context.id, author_id=author.id, title=title, body_html=html)
    db.session.add(item)
    db.session.commit()
    announcement_posted.send(item, context=context)
    return item


def may_edit(user, item: Announcement) -> bool:
    """Its author, while they may still post there: the page shows the author's name, so a colleague
    who may post there too withdraws it (may_delete) rather than putting words under that name."""
    return item.author_id == user.id and access.can(user, "announcement.post", item.context)


def edit(user, item: Announcement, title: str, body: str) -> Announcement:
    """Change the title and text (sanitized as when posted). Readers are not notified again: the
    notice they got links to the announcement, which now shows the new text."""
    from lms.activities import feed

    if not may_edit(user, item):
        raise PermissionError("announcement.edit")
    item.title, item.body_html = _clean(title, body)
    db.session.commit()
    feed.on_announcement_posted(item)  # the news feed entry takes the new title
    return item


def may_delete(user, item: Announcement) -> bool:
    return item.author_id == user.id or access.can(user, "announcement.post", item.context)


def delete(user, item: Announcement) -> None:
    if not may_delete(user, item):
        raise PermissionError("announcement.delete")
    ident = item.id
    db.session.delete(item)
    db.session.commit()
    content_deleted.send("activities", kind="announcement", ids=[ident])


def listing(context: Context, limit: int = 50) -> list[Announcement]:
    return list(
        db.session.scalars(
            select(Announcement)
            .where(Announcement.context_id == context.id)
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
            .limit(limit)
        )
    )


# Workshop activities and discussion live in workshop_services; the statistics pages use these two.
from lms.activities.workshop_services import (  # noqa: E402,F401
    assessment_inputs,
    member_post_counts,
    member_resource_counts,
)
