"""Per-member statistics of a workshop for its host and the roles above (capability `stats.view`):
posts, effective posts, resources shared, logs written, last seen.

Posts and resources are counted by the activity services (`member_post_counts`,
`member_resource_counts` in lms.activities.services) when they exist; logs by the writing module.
A workshop has about a hundred members, so all rows are computed and then sorted and paged in Python:
five grouped queries, whatever the sort column.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from lms.accounts.models import User
from lms.activities import writing
from lms.communities.models import StudyGroup, Workshop, WorkshopMembership
from lms.core.pagination import Page
from lms.extensions import db

SORTS = ("name", "group", "posts", "effective", "resources", "logs", "last_seen")


@dataclass
class MemberRow:
    user_id: int
    name: str
    username: str
    group: str
    posts: int
    effective: int
    resources: int
    logs: int
    last_seen: datetime | None


def _activity_counts(name: str, workshop: Workshop, ids: list[int]) -> dict:
    from lms.activities import services

    fn = getattr(services, name, None)
    return fn(workshop, ids) if fn is not None and ids else {}


def has_activity_counts() -> bool:
    """Whether the activity services count posts yet (they land with the workshop activities)."""
    from lms.activities import services

    return hasattr(services, "member_post_counts")


def rows(workshop: Workshop) -> list[MemberRow]:
    members = db.session.execute(
        select(User.id, User.name, User.username, User.last_seen_at, StudyGroup.name)
        .join(WorkshopMembership, WorkshopMembership.user_id == User.id)
        .outerjoin(StudyGroup, WorkshopMembership.group_id == StudyGroup.id)
        .where(WorkshopMembership.workshop_id == workshop.id)
    ).all()
    ids = [m[0] for m in members]
    posts = _activity_counts("member_post_counts", workshop, ids)
    resources = _activity_counts("member_resource_counts", workshop, ids)
    logs = writing.log_counts(workshop, ids)
    out = []
    for uid, name, username, seen, group in members:
        p, e = posts.get(uid, (0, 0))
        out.append(MemberRow(uid, name, username, group or "", p, e, resources.get(uid, 0), logs.get(uid, 0), seen))
    return out


def _key(sort: str):
    if sort == "last_seen":
        return lambda r: (r.last_seen is not None, r.last_seen.timestamp() if r.last_seen else 0, r.user_id)
    if sort in ("name", "group"):
        return lambda r: (getattr(r, sort), r.user_id)
    return lambda r: (getattr(r, sort), r.name, r.user_id)


def member_stats(workshop: Workshop, sort: str = "name", desc: bool = False, page: int = 1,
                 per_page: int = 50) -> tuple[Page, dict]:  # fmt: skip
    """(a page of MemberRow, totals over all members)."""
    sort = sort if sort in SORTS else "name"
    all_rows = sorted(rows(workshop), key=_key(sort), reverse=desc)
    totals = {
        "members": len(all_rows),
        "posts": sum(r.posts for r in all_rows),
        "effective": sum(r.effective for r in all_rows),
        "resources": sum(r.resources for r in all_rows),
        "logs": sum(r.logs for r in all_rows),
    }
    page = max(1, page)
    items = all_rows[(page - 1) * per_page : page * per_page]
    return Page(items=items, page=page, per_page=per_page, total=len(all_rows)), totals
