"""The community tree: regions, schools, workshops, groups and membership, and the pages' data."""

import re
from functools import cache

from sqlalchemy import bindparam, func, or_, select, update

from lms import access
from lms.access.models import Context
from lms.access.roles import ROLE_CAPABILITIES
from lms.access.services import actor_label, audit, new_context, site_context
from lms.accounts.models import User
from lms.communities.models import Region, School, StudyGroup, Workshop, WorkshopMembership
from lms.core.pagination import Page, paginate
from lms.core.text import normalize, plain
from lms.extensions import db

_CHILD_LEVEL = {None: "province", "province": "city", "city": "county"}


class CommunityError(ValueError):
    pass


# The statements the community pages run on every view are built once, with bound parameters:
# building a select and computing its cache key costs more CPU (~0.3 ms) than SQLite takes to run
# it, and a prebuilt statement keeps its cache key. Measured with benchmarks/pages.py.
@cache
def _stmt(name: str, limit: int = 0):
    ids = bindparam("ids", expanding=True)
    if name == "regions_by_ctx":
        return select(Region).where(Region.context_id.in_(ids))
    if name == "schools_by_ctx":
        return select(School).where(School.context_id.in_(ids))
    if name == "workshops_by_ctx":
        return select(Workshop).where(Workshop.context_id.in_(ids)).order_by(Workshop.id)
    if name == "notices":
        from lms.activities.models import Announcement

        return (
            select(Announcement)
            .where(Announcement.context_id.in_(ids))
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
            .limit(limit)
        )
    if name == "memberships":
        return (
            select(Workshop, StudyGroup)
            .join(WorkshopMembership, WorkshopMembership.workshop_id == Workshop.id)
            .outerjoin(StudyGroup, WorkshopMembership.group_id == StudyGroup.id)
            .where(WorkshopMembership.user_id == bindparam("uid"))
            .order_by(Workshop.id)
        )
    if name == "holders":
        from lms.access.models import RoleAssignment

        return (
            select(RoleAssignment.role, User)
            .join(User, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.context_id == bindparam("ctx"),
                RoleAssignment.role.in_(bindparam("roles", expanding=True)),
                User.active.is_(True),  # a deactivated admin holds nothing (access.grants): not shown as one
            )
            .order_by(User.id)
        )
    if name == "region_chain":
        from sqlalchemy.orm import aliased

        chain = select(Region.id, Region.parent_id).where(Region.id == bindparam("rid")).cte("chain", recursive=True)
        up = aliased(Region)
        chain = chain.union_all(select(up.id, up.parent_id).join(chain, up.id == chain.c.parent_id))
        return select(Region).where(Region.id.in_(select(chain.c.id)))
    if name == "child_regions":
        return select(Region).where(Region.parent_id == bindparam("rid")).order_by(Region.id)
    if name == "county_schools":
        return select(School).where(School.county_id == bindparam("rid")).order_by(School.id)
    if name == "region_workshops":
        return select(Workshop).where(Workshop.region_id == bindparam("rid")).order_by(Workshop.id)
    if name == "school_workshops":
        sid = bindparam("sid")
        teachers_in = (
            select(WorkshopMembership.workshop_id)
            .join(User, WorkshopMembership.user_id == User.id)
            .where(User.school_id == sid)
        )
        return (
            select(Workshop).where(or_(Workshop.school_id == sid, Workshop.id.in_(teachers_in))).order_by(Workshop.id)
        )
    if name == "groups":
        from sqlalchemy.orm import selectinload

        return (
            select(StudyGroup)
            .options(selectinload(StudyGroup.leader))
            .where(StudyGroup.workshop_id == bindparam("wid"))
            .order_by(StudyGroup.id)
        )
    raise KeyError(name)


def create_region(name: str, level: str, parent: Region | None = None, code: str | None = None) -> Region:
    expected = _CHILD_LEVEL.get(parent.level if parent else None)
    if level != expected:
        raise CommunityError("bad_level")
    ctx = new_context("region", name, parent.context if parent else site_context())
    region = Region(name=name, level=level, parent=parent, code=code, context=ctx)
    db.session.add(region)
    return region


def create_school(name: str, county: Region, stage: str | None = None) -> School:
    if county.level != "county":
        raise CommunityError("school_needs_county")
    school = School(name=name, county=county, stage=stage, context=new_context("school", name, county.context))
    db.session.add(school)
    return school


def create_workshop(
    name: str,
    region: Region,
    kind: str = "class",
    subject=None,
    stage=None,
    school: School | None = None,
    description="",
) -> Workshop:
    if kind not in ("class", "subject"):
        raise CommunityError("bad_kind")
    parent_ctx = school.context if school else region.context
    ws = Workshop(
        name=name,
        kind=kind,
        subject=subject,
        stage=stage,
        region=region,
        school=school,
        description=description,
        context=new_context("workshop", name, parent_ctx),
    )
    db.session.add(ws)
    return ws


def create_group(workshop: Workshop, name: str, leader: User | None = None) -> StudyGroup:
    group = StudyGroup(workshop=workshop, name=name, leader=leader)
    db.session.add(group)
    return group


def add_member(workshop: Workshop, user: User, group: StudyGroup | None = None) -> WorkshopMembership:
    if group is not None and group.workshop_id not in (None, workshop.id) and group.workshop is not workshop:
        raise CommunityError("group_not_in_workshop")
    m = db.session.scalar(
        select(WorkshopMembership).where(
            WorkshopMembership.workshop_id == workshop.id, WorkshopMembership.user_id == user.id
        )
    )
    if m is None:
        m = WorkshopMembership(workshop=workshop, user=user, group=group)
        db.session.add(m)
    else:
        m.group = group
    access.services.forget(user)
    return m


def led_groups(user, workshop: Workshop) -> list[StudyGroup]:
    """The study groups of this workshop the user leads (小组长)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(
        select(StudyGroup).where(StudyGroup.workshop_id == workshop.id, StudyGroup.leader_id == user.id)
        .order_by(StudyGroup.id)
    ))  # fmt: skip


def set_group_leader(group: StudyGroup, user: User | None) -> None:
    if user is not None:
        is_member = db.session.scalar(
            select(WorkshopMembership.id).where(
                WorkshopMembership.workshop_id == group.workshop_id,
                WorkshopMembership.user_id == user.id,
                WorkshopMembership.group_id == group.id,
            )
        )
        if not is_member:
            raise CommunityError("leader_not_in_group")
    group.leader = user


def _active_ids():
    """Counters count what the member lists show: active accounts only."""
    return select(User.id).where(User.active.is_(True))


def refresh_counters() -> None:
    """Recompute the maintained counters with a handful of grouped UPDATEs.

    Called after bulk changes (roster import, demo data, membership edits), never per page view.
    """
    db.session.flush()
    s = db.session
    s.execute(
        update(School).values(
            teacher_count=select(func.count(User.id))
            .where(User.school_id == School.id, User.active.is_(True))
            .scalar_subquery()
        )
    )
    s.execute(
        update(Workshop).values(
            member_count=select(func.count(WorkshopMembership.id))
            .where(WorkshopMembership.workshop_id == Workshop.id, WorkshopMembership.user_id.in_(_active_ids()))
            .scalar_subquery(),
            group_count=select(func.count(StudyGroup.id))
            .where(StudyGroup.workshop_id == Workshop.id)
            .scalar_subquery(),
        )
    )
    s.execute(
        update(StudyGroup).values(
            member_count=select(func.count(WorkshopMembership.id))
            .where(WorkshopMembership.group_id == StudyGroup.id, WorkshopMembership.user_id.in_(_active_ids()))
            .scalar_subquery()
        )
    )
    # Regions: aggregate over the context subtree, level by level via the materialized path.
    region_ctx = select(Region.id, Context.path).join(Context, Region.context_id == Context.id)
    school_rows = s.execute(
        select(Context.path, School.teacher_count).join(School, School.context_id == Context.id)
    ).all()
    ws_paths = [p for (p,) in s.execute(select(Context.path).join(Workshop, Workshop.context_id == Context.id))]
    for region_id, path in s.execute(region_ctx).all():
        schools = [tc for p, tc in school_rows if p.startswith(path)]
        s.execute(
            update(Region)
            .where(Region.id == region_id)
            .values(
                school_count=len(schools),
                teacher_count=sum(schools),
                workshop_count=sum(1 for p in ws_paths if p.startswith(path)),
            )
        )


# --- pages -----------------------------------------------------------------------------------


def ancestors(region: Region | None) -> list[Region]:
    """The region and the regions above it, top first; one query loads the chain (not one per level)."""
    loaded = _load_parents(region)  # noqa: F841 - keeps the chain alive in the identity map while we walk it
    chain = []
    while region is not None:
        chain.append(region)
        region = region.parent
    return list(reversed(chain))


def _load_parents(region: Region | None) -> list[Region]:
    """Load every ancestor of `region` with one recursive query, unless its parent is already loaded."""
    if region is None or region.parent_id is None:
        return []
    if db.session.identity_key(Region, region.parent_id) in db.session.identity_map:
        return []
    return list(db.session.scalars(_stmt("region_chain"), {"rid": region.parent_id}))


def member_page(community, q: str = "", page: int = 1, per_page: int = 20, subject: str | None = None,
                groups: list[int] | None = None) -> Page:  # fmt: skip
    """Members of a region (teachers in its schools), a school, or a workshop, searchable by name/username;
    `groups` (a workshop's study group ids) keeps those groups' members only."""
    from sqlalchemy.orm import selectinload

    stmt = select(User).options(selectinload(User.school)).where(User.active.is_(True))
    total = None
    if isinstance(community, Workshop):
        stmt = (
            stmt.join(WorkshopMembership, WorkshopMembership.user_id == User.id)
            .where(WorkshopMembership.workshop_id == community.id)
            .add_columns(WorkshopMembership.group_id)
        )
        total = community.member_count
        if groups is not None:
            stmt = stmt.where(WorkshopMembership.group_id.in_(groups))
            total = None  # counted: a group's member_count may lag a move between groups
    elif isinstance(community, School):
        stmt = stmt.where(User.school_id == community.id)
        total = community.teacher_count
    elif isinstance(community, Region):
        # "school_id IN (the region's schools)" lets the database use the index on users.school_id;
        # a join on the context path made it walk all users in id order until a page of this region's
        # turned up (50 ms for the last county of a 100,000-teacher province, 84 ms on PostgreSQL).
        if community.level == "county":
            schools = select(School.id).where(School.county_id == community.id)
        else:
            schools = (
                select(School.id)
                .join(Context, School.context_id == Context.id)
                .where(Context.path.startswith(community.context.path, autoescape=True))
            )
        stmt = stmt.where(User.school_id.in_(schools))
        total = community.teacher_count
    else:
        raise TypeError(community)
    if q:
        # Case-insensitive on every backend; % and _ typed by the user are literal characters.
        q = q.strip()
        stmt = stmt.where(or_(User.name.icontains(q, autoescape=True), User.username.icontains(q, autoescape=True)))
        total = None
    if subject:
        stmt = stmt.where(User.subject == subject)
        total = None
    stmt = stmt.order_by(User.id)
    if isinstance(community, Workshop):
        result = paginate_rows(stmt, page, per_page, total)
        return result
    return paginate(stmt, page, per_page, total)


def paginate_rows(stmt, page: int, per_page: int, total: int | None) -> Page:
    """Like paginate(), for selects returning (User, extra) rows."""
    page = max(1, page)
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=[tuple(r) for r in rows], page=page, per_page=per_page, total=total or 0)


def region_children(region: Region, user) -> dict:
    """Sub-units a region page lists: child regions, or (for a county) its schools; workshops directly under it."""
    args = {"rid": region.id}
    children = list(db.session.scalars(_stmt("child_regions"), args)) if region.level != "county" else []
    schools = list(db.session.scalars(_stmt("county_schools"), args)) if region.level == "county" else []
    workshops = list(db.session.scalars(_stmt("region_workshops"), args))
    return {"children": children, "schools": schools, "workshops": workshops}


def admins_of(community) -> dict[str, list[User]]:
    roles = {
        Region: ("province_admin", "city_admin", "county_admin", "supervisor", "expert", "project_manager"),
        School: ("school_admin", "school_trainer"),
        Workshop: ("host", "expert"),
    }[type(community)]
    # One query for every role shown (not one per role), in the order of `roles`, people by id.
    rows = db.session.execute(_stmt("holders"), {"ctx": community.context_id, "roles": list(roles)}).all()
    result = {}
    for role in roles:
        people = [u for r, u in rows if r == role]
        if people:
            result[role] = people
    return result


def hosted_workshops(user: User) -> list[Workshop]:
    from lms.access.models import RoleAssignment

    return list(
        db.session.scalars(
            select(Workshop)
            .join(RoleAssignment, RoleAssignment.context_id == Workshop.context_id)
            .where(RoleAssignment.user_id == user.id, RoleAssignment.role.in_(("host", "expert")))
            .order_by(Workshop.id)
        )
    )


# Roles implied by membership rows (access.services.grants), as opposed to explicit role assignments.
_IMPLIED_ROLES = {"teacher", "member", "group_leader"}


def _scalars(name: str, ids: set[int], limit: int = 0) -> list:
    """Rows of a prebuilt `... WHERE x IN :ids` statement; no query at all for an empty set."""
    return list(db.session.scalars(_stmt(name, limit), {"ids": sorted(ids)})) if ids else []


def context_ids_for_reader(user: User) -> set[int]:
    """Every context whose announcements reach this user: their school, workshops, and all ancestors."""
    ids: set[int] = set()
    for gr in access.services.grants(user):
        ids.update(int(x) for x in gr.path.strip("/").split("/") if x)
    return ids


def get_or_404(model, ident: int):
    from flask import abort

    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def school_workshops(school: School) -> list[Workshop]:
    """Workshops run by the school, and workshops its teachers belong to."""
    return list(db.session.scalars(_stmt("school_workshops"), {"sid": school.id}))


def groups_of(workshop: Workshop) -> list[StudyGroup]:
    return list(db.session.scalars(_stmt("groups"), {"wid": workshop.id}))


def group_rosters(workshop: Workshop) -> dict[int, list[tuple[int, str]]]:
    """Every grouped member as {group_id: [(user_id, name)]}, one query: the leader choices of the
    management page, which pages its member table but not its groups (a group is a few dozen)."""
    rows = db.session.execute(
        select(WorkshopMembership.group_id, User.id, User.name)
        .join(User, User.id == WorkshopMembership.user_id)
        .where(
            WorkshopMembership.workshop_id == workshop.id,
            WorkshopMembership.group_id.is_not(None),
            User.active.is_(True),
        )
        .order_by(User.name, User.id)
    )
    rosters: dict[int, list[tuple[int, str]]] = {}
    for gid, uid, name in rows:
        rosters.setdefault(gid, []).append((uid, name))
    return rosters


def announcements_at(community, limit: int = 5) -> list:
    """Announcements posted at this community and above it (a school sees its county's notices)."""
    ids = [int(x) for x in community.context.path.strip("/").split("/") if x]
    return list(db.session.scalars(_stmt("notices", limit), {"ids": ids}))


def personal_space(user: User) -> dict:
    """Everything the personal space shows, in a fixed number of queries.

    The user's grants (cached for the request) already name their school's context path and their
    explicit roles, so the school, its county chain and the managed regions and schools come from
    two queries instead of a lazy load per level and a second look at the role table.
    """
    grants = access.services.grants(user)
    explicit = [gr for gr in grants if gr.role not in _IMPLIED_ROLES]
    role_ctx = {gr.context_id for gr in explicit}
    home = next((gr for gr in grants if gr.role == "teacher"), None)
    chain_ctx = {int(x) for x in home.path.strip("/").split("/") if x} if home else set()
    region_ctx, school_ctx = chain_ctx | role_ctx, role_ctx | ({home.context_id} if home else set())
    regions = {r.context_id: r for r in _scalars("regions_by_ctx", region_ctx)}
    schools = {s.context_id: s for s in _scalars("schools_by_ctx", school_ctx)}
    school = user.school  # found in the identity map: loaded just above
    county = school.county if school else None
    managed = [(gr.role, regions.get(gr.context_id) or schools.get(gr.context_id)) for gr in explicit]
    host_ctx = {gr.context_id for gr in explicit if gr.role in ("host", "expert")}
    hosted = _scalars("workshops_by_ctx", host_ctx)
    notices = _scalars("notices", context_ids_for_reader(user), limit=8)
    memberships = list(db.session.execute(_stmt("memberships"), {"uid": user.id}).all())
    return {
        "user": user,
        "school": school,
        "regions": ancestors(county),
        "memberships": memberships,
        "hosted": hosted,
        "managed": [(role, obj) for role, obj in managed if obj is not None],
        "announcements": notices,
    }


# --- management: hosts run their workshop, region admins create workshops ---------------------


def refresh_workshop(workshop: Workshop) -> None:
    """Recount one workshop's maintained counters after a membership or group change."""
    db.session.flush()
    workshop.member_count = db.session.scalar(
        select(func.count(WorkshopMembership.id)).where(
            WorkshopMembership.workshop_id == workshop.id, WorkshopMembership.user_id.in_(_active_ids())
        )
    )
    counts = dict(
        db.session.execute(
            select(WorkshopMembership.group_id, func.count(WorkshopMembership.id))
            .where(
                WorkshopMembership.workshop_id == workshop.id,
                WorkshopMembership.group_id.is_not(None),
                WorkshopMembership.user_id.in_(_active_ids()),
            )
            .group_by(WorkshopMembership.group_id)
        ).all()
    )
    groups = groups_of(workshop)
    workshop.group_count = len(groups)
    for group in groups:
        group.member_count = counts.get(group.id, 0)


def resolve_logins(workshop: Workshop, text: str) -> tuple[list[User], list[str]]:
    """Usernames or phone numbers, one per line (or separated by commas/spaces) → the users among
    those who may join `workshop` (may_join), and the typed tokens that named nobody there.

    Only within the workshop's region: resolving the whole site would let a host learn who, anywhere,
    has a given username or phone number (and their name, from a refusal)."""
    tokens = [t for t in re.split(r"[\s,，;；]+", text or "") if t]
    tokens = list(dict.fromkeys(tokens))[:500]
    if not tokens:
        return [], []
    found = list(
        db.session.scalars(
            select(User)
            .join(School, User.school_id == School.id)
            .join(Context, School.context_id == Context.id)
            .where(or_(User.username.in_(tokens), User.phone.in_(tokens)))
            .where(Context.path.startswith(_join_scope(workshop).path))
        )
    )
    known = {u.username for u in found} | {u.phone for u in found if u.phone}
    return found, [t for t in tokens if t not in known]


def _join_scope(workshop: Workshop):
    """The context whose schools' teachers may join the workshop (its school, else its region)."""
    return workshop.school.context if workshop.school else workshop.region.context


def may_join(workshop: Workshop, user: User) -> bool:
    """A teacher may join a workshop whose region (or school) contains their school."""
    if user.school is None:
        return False
    return user.school.context.path.startswith(_join_scope(workshop).path)


def add_members(workshop: Workshop, users: list[User]) -> tuple[list[User], list[User]]:
    added, refused = [], []
    for user in users:
        (added if may_join(workshop, user) else refused).append(user)
    existing = set(
        db.session.scalars(
            select(WorkshopMembership.user_id).where(
                WorkshopMembership.workshop_id == workshop.id, WorkshopMembership.user_id.in_([u.id for u in added])
            )
        )
    )
    for user in added:
        if user.id not in existing:
            db.session.add(WorkshopMembership(workshop=workshop, user=user))
    refresh_workshop(workshop)
    db.session.commit()
    from lms.signals import member_joined

    for user in added:
        if user.id not in existing:
            member_joined.send(workshop, user=user)
    access.services.forget()
    return [u for u in added if u.id not in existing], refused


def remove_member(workshop: Workshop, user_id: int) -> None:
    m = db.session.scalar(
        select(WorkshopMembership).where(
            WorkshopMembership.workshop_id == workshop.id, WorkshopMembership.user_id == user_id
        )
    )
    if m is None:
        raise CommunityError("not_member")
    db.session.execute(
        update(StudyGroup)
        .where(StudyGroup.workshop_id == workshop.id, StudyGroup.leader_id == user_id)
        .values(leader_id=None)
    )
    db.session.delete(m)
    refresh_workshop(workshop)
    db.session.commit()


def add_group(workshop: Workshop, name: str) -> StudyGroup:
    from lms.core.text import plain

    name = plain(name, 64)
    if not name:
        raise CommunityError("group_name_required")
    if any(g.name == name for g in groups_of(workshop)):
        raise CommunityError("group_name_taken")
    group = create_group(workshop, name)
    refresh_workshop(workshop)
    db.session.commit()
    return group


def rename_group(workshop: Workshop, group_id: int | None, name: str) -> StudyGroup:
    from lms.core.text import plain

    group = db.session.get(StudyGroup, group_id) if group_id is not None else None
    if group is None or group.workshop_id != workshop.id:
        raise CommunityError("no_such_group")
    name = plain(name, 64)
    if not name:
        raise CommunityError("group_name_required")
    if any(g.name == name and g.id != group.id for g in groups_of(workshop)):
        raise CommunityError("group_name_taken")
    group.name = name
    db.session.commit()
    return group


def delete_group(workshop: Workshop, group_id: int) -> None:
    group = db.session.get(StudyGroup, group_id)
    if group is None or group.workshop_id != workshop.id:
        raise CommunityError("no_such_group")
    db.session.execute(update(WorkshopMembership).where(WorkshopMembership.group_id == group.id).values(group_id=None))
    db.session.delete(group)
    refresh_workshop(workshop)
    db.session.commit()


def arrange_groups(workshop: Workshop, placement: dict[int, int | None], leaders: dict[int, int | None]) -> None:
    """Put members into groups ({user_id: group_id|None}) and name leaders ({group_id: user_id|None}).

    Everything is checked before anything changes: a bad id refuses the whole request.
    """
    group_ids = {g.id for g in groups_of(workshop)}
    memberships = {
        m.user_id: m
        for m in db.session.scalars(select(WorkshopMembership).where(WorkshopMembership.workshop_id == workshop.id))
    }
    for uid, gid in placement.items():
        if uid not in memberships or (gid is not None and gid not in group_ids):
            raise CommunityError("bad_placement")
    final = {uid: m.group_id for uid, m in memberships.items()} | placement
    for gid, uid in leaders.items():
        if gid not in group_ids or (uid is not None and final.get(uid) != gid):
            raise CommunityError("leader_not_in_group")
    for uid, gid in placement.items():
        memberships[uid].group_id = gid
    for group in groups_of(workshop):
        if group.id in leaders:
            group.leader_id = leaders[group.id]
        elif group.leader_id is not None and final.get(group.leader_id) != group.id:
            group.leader_id = None  # the leader moved out of the group
    refresh_workshop(workshop)
    db.session.commit()
    access.services.forget()


def new_workshop(region: Region, name: str, kind: str, subject, stage, host_login: str, description="",
                 actor=None) -> Workshop:  # fmt: skip
    """A region admin opens a workshop and names its host (by username or phone), someone within the
    admin's reach (as for any appointment: access.in_reach); `actor` None is the shell."""
    from lms.core.text import plain

    name = plain(name, 100)
    if not name:
        raise CommunityError("workshop_name_required")
    host = find_login(host_login)
    if host is None or not host.active or (actor is not None and not access.in_reach(actor, host)):
        raise CommunityError("host_unknown")
    ws = create_workshop(name, region, kind=kind, subject=subject or None, stage=stage or None,
                         description=plain(description, 2000, multiline=True))  # fmt: skip
    db.session.flush()
    access.services.assign(host, "host", ws.context)
    for r in ancestors(region):
        r.workshop_count = (r.workshop_count or 0) + 1
    db.session.commit()
    access.services.record("granted", actor, host, "host", ws.context)
    return ws


def find_login(identifier: str) -> User | None:
    from lms.accounts.services import find_by_login

    return find_by_login(identifier)


# --- API: overviews of a community and of the signed-in user ----------------------------------


def visible_to(user, items: list, capability: str = "community.view") -> list:
    """The communities of `items` (regions, schools, workshops) the user may see; lists never leak."""
    return visible_parts(user, {"items": items}, capability)["items"]


def _unproxied(user):
    """current_user without its LocalProxy: can() per listed item otherwise pays the proxy lookup
    (Flask-Login's user loader check) each time, ~60 µs, 3 ms on a county page of 33 schools."""
    get = getattr(user, "_get_current_object", None)
    return get() if get is not None else user


def visible_parts(user, parts: dict[str, list], capability: str = "community.view") -> dict[str, list]:
    """visible_to() for several lists at once, with one query for all their contexts."""
    user = _unproxied(user)
    ctx_ids = {o.context_id for items in parts.values() for o in items}
    contexts = {c.id: c for c in db.session.scalars(select(Context).where(Context.id.in_(ctx_ids)))} if ctx_ids else {}
    return {
        key: [o for o in items if access.can(user, capability, contexts[o.context_id])] for key, items in parts.items()
    }


def top_regions(user) -> list[Region]:
    """The highest regions the user can see (a teacher: their province; a county admin: the province above)."""
    stmt = select(Region.id, Region.parent_id).join(Context, Region.context_id == Context.id)
    rows = db.session.execute(access.visible(stmt, user, "community.view", Context.path)).all()
    ids = {rid for rid, _ in rows}
    tops = [rid for rid, parent in rows if parent not in ids]
    if not tops:
        return []
    return list(db.session.scalars(select(Region).where(Region.id.in_(tops)).order_by(Region.id)))


def region_overview(region: Region, user) -> dict:
    """What a region shows: its trail, admins, and the sub-regions, schools and workshops the user may see."""
    parts = region_children(region, user)
    return {
        "trail": ancestors(region),
        "admins": admins_of(region),
        **visible_parts(user, parts),
    }


def school_overview(school: School, user) -> dict:
    return {
        "trail": ancestors(school.county),
        "admins": admins_of(school),
        "workshops": visible_to(user, school_workshops(school)),
    }


def workshop_overview(workshop: Workshop) -> dict:
    return {"trail": ancestors(workshop.region), "admins": admins_of(workshop), "groups": groups_of(workshop)}


def roles_held(user: User) -> list[tuple[str, Context, object | None]]:
    """Every role the user holds, explicit and implied (teacher, member, group leader), with its
    context and the region, school or workshop there (None for the site or a project)."""
    grants = access.services.grants(user)
    ctx_ids = {gr.context_id for gr in grants}
    if not ctx_ids:
        return []
    contexts = {c.id: c for c in db.session.scalars(select(Context).where(Context.id.in_(ctx_ids)))}
    objects: dict[int, object] = {}
    for model in (Region, School, Workshop):
        found = db.session.scalars(select(model).where(model.context_id.in_(ctx_ids)))
        objects.update((o.context_id, o) for o in found)
    seen, result = set(), []
    for gr in grants:
        if (gr.role, gr.context_id) not in seen:
            seen.add((gr.role, gr.context_id))
            result.append((gr.role, contexts[gr.context_id], objects.get(gr.context_id)))
    return result


def account_overview(user: User) -> dict:
    """Besides the profile: school, region trail, roles with their contexts, and workshops with the
    user's roles and study group in each."""
    roles = roles_held(user)
    groups = dict(
        db.session.execute(
            select(WorkshopMembership.workshop_id, StudyGroup)
            .outerjoin(StudyGroup, WorkshopMembership.group_id == StudyGroup.id)
            .where(WorkshopMembership.user_id == user.id)
        ).all()
    )
    workshops: dict[int, dict] = {}
    for role, _ctx, obj in roles:
        if isinstance(obj, Workshop):
            entry = workshops.setdefault(obj.id, {"workshop": obj, "roles": [], "group": groups.get(obj.id)})
            entry["roles"].append(role)
    school = user.school
    return {
        "school": school,
        "regions": ancestors(school.county if school else None),
        "roles": roles,
        "workshops": list(workshops.values()),
    }


# --- administration: regions and schools (issue 2) ---------------------------------------------
# Whoever holds region.manage on a region creates and renames the regions and schools directly
# under it (the views check that); these functions enforce what a name and a code must be.

#: Administrative division codes 行政区划代码: 6 digits (360102), or the 12 of the statistics codes.
REGION_CODE_RE = re.compile(r"^[0-9]{6}([0-9]{6})?$")
NAME_MAX = 100


def name_key(name: str) -> str:
    """Two names are the same when the roster import would match them: full-width folded, spaces
    dropped, any case ("东湖 小学" is "东湖小学")."""
    return "".join(normalize(name).split()).casefold()


def _clean_name(name) -> str:
    name = plain(name)
    if not name:
        raise CommunityError("name_required")
    if len(name) > NAME_MAX:
        raise CommunityError("name_too_long")
    return name


def _clean_code(code) -> str | None:
    code = normalize(code) or None
    if code is not None and not REGION_CODE_RE.match(code):
        raise CommunityError("bad_code")
    return code


def _clean_stage(stage) -> str | None:
    from lms.core import taxonomy

    stage = stage or None
    if stage is not None and stage not in taxonomy.STAGES:
        raise CommunityError("bad_stage")
    return stage


def _lock(row_model, row_id: int) -> None:
    """Serialize name checks under one parent: on PostgreSQL a concurrent creation of the same name
    waits here until the first one committed, then sees it. (SQLite serializes writers anyway.)"""
    db.session.execute(select(row_model.id).where(row_model.id == row_id).with_for_update())


def _check_region(parent: Region | None, name: str, code: str | None, region: Region | None = None) -> None:
    siblings = select(Region.id, Region.name).where(
        Region.parent_id == parent.id if parent is not None else Region.parent_id.is_(None)
    )
    key = name_key(name)
    if any(name_key(n) == key for rid, n in db.session.execute(siblings) if region is None or rid != region.id):
        raise CommunityError("region_name_taken")
    if code is not None:
        taken = db.session.scalar(select(Region.id).where(Region.code == code))
        if taken is not None and (region is None or taken != region.id):
            raise CommunityError("code_taken")


def _commit_or(code: str) -> None:
    """Commit; a unique constraint that a concurrent request got to first becomes a clear error."""
    from sqlalchemy.exc import IntegrityError

    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise CommunityError(code) from None


def add_region(parent: Region | None, name: str, code: str | None = None, actor=None) -> Region:
    """A region under `parent` (a province when None), one level down; names are unique among siblings."""
    level = _CHILD_LEVEL.get(parent.level if parent is not None else None)
    if level is None:
        raise CommunityError("no_sub_regions")
    name, code = _clean_name(name), _clean_code(code)
    _lock(Region, parent.id) if parent is not None else _lock(Context, site_context().id)
    _check_region(parent, name, code)
    region = create_region(name, level, parent, code)
    _commit_or("code_taken")
    audit.info("region created: %s %s (%s) under %s by %s", level, region.id, name,
               f"region {parent.id}" if parent else "the site", actor_label(actor))  # fmt: skip
    return region


def edit_region(region: Region, name: str, code: str | None, actor=None) -> Region:
    """Rename a region or change its code (the code may be cleared with None)."""
    name, code = _clean_name(name), _clean_code(code)
    if region.parent_id is not None:
        _lock(Region, region.parent_id)
    _check_region(region.parent, name, code, region)
    old = region.name
    region.name, region.code = name, code
    region.context.name = name
    _commit_or("code_taken")
    audit.info("region edited: %s %s (%s → %s) by %s", region.level, region.id, old, name, actor_label(actor))
    return region


def _check_school(county: Region, name: str, school: School | None = None) -> None:
    key = name_key(name)
    rows = db.session.execute(select(School.id, School.name).where(School.county_id == county.id))
    if any(name_key(n) == key for sid, n in rows if school is None or sid != school.id):
        raise CommunityError("school_name_taken")


def add_school(county: Region, name: str, stage: str | None = None, actor=None) -> School:
    """A school in a county; names are unique within the county (the roster import matches by them)."""
    if county.level != "county":
        raise CommunityError("school_needs_county")
    name, stage = _clean_name(name), _clean_stage(stage)
    _lock(Region, county.id)
    _check_school(county, name)
    school = create_school(name, county, stage=stage)
    # In SQL: another county of the same city may add a school at the same moment (only this
    # county's row is locked), and read-add-write in Python would lose one of the two.
    _bump(Region.school_count, [r.id for r in ancestors(county)], 1)
    _commit_or("school_name_taken")
    audit.info("school created: %s (%s) in county %s by %s", school.id, name, county.id, actor_label(actor))
    return school


def edit_school(school: School, name: str, stage: str | None, actor=None) -> School:
    name, stage = _clean_name(name), _clean_stage(stage)
    _lock(Region, school.county_id)
    _check_school(school.county, name, school)
    old = school.name
    school.name, school.stage = name, stage
    school.context.name = name
    _commit_or("school_name_taken")
    audit.info("school edited: %s (%s → %s) by %s", school.id, old, name, actor_label(actor))
    return school


def sub_units(region: Region) -> dict:
    """What a region's administration page lists: every child region, or (a county) every school."""
    args = {"rid": region.id}
    if region.level == "county":
        return {"children": [], "schools": list(db.session.scalars(_stmt("county_schools"), args))}
    return {"children": list(db.session.scalars(_stmt("child_regions"), args)), "schools": []}


def managed_places(user) -> list[tuple[str, object]]:
    """The regions, schools and workshops where the user holds an administrative role (region.manage,
    school.manage or role.assign), with the role: the entries of the administration page."""
    wanted = {"region.manage", "school.manage", "role.assign"}
    return [
        (role, obj)
        for role, _ctx, obj in roles_held(user)
        if obj is not None and wanted & ROLE_CAPABILITIES.get(role, set())
    ]


def _bump(counter, region_ids: list[int], by: int) -> None:
    """Add `by` to a counter of these regions in one UPDATE (concurrent changes add up)."""
    if by and region_ids:
        db.session.execute(
            update(Region)
            .where(Region.id.in_(region_ids))
            .values({counter: func.coalesce(counter, 0) + by})
            .execution_options(synchronize_session="fetch")
        )


def recount_person(user: User) -> None:
    """Counters after an account was deactivated or reactivated (member lists show active people
    only): the person's school, the regions above it, and the workshops they belong to."""
    db.session.flush()
    school = user.school
    if school is not None:
        before = school.teacher_count or 0
        school.teacher_count = db.session.scalar(
            select(func.count(User.id)).where(User.school_id == school.id, User.active.is_(True))
        )
        _bump(Region.teacher_count, [r.id for r in ancestors(school.county)], school.teacher_count - before)
    for ws in db.session.scalars(
        select(Workshop).join(WorkshopMembership).where(WorkshopMembership.user_id == user.id)
    ):
        refresh_workshop(ws)


def provinces() -> list[Region]:
    """Every province (the site administrator's list on the administration page)."""
    return list(db.session.scalars(select(Region).where(Region.parent_id.is_(None)).order_by(Region.id)))


def explicit_roles(user: User) -> list[tuple]:
    """The roles given to a person (not those implied by school or workshop membership), each with
    the region, school or workshop it is held at (None at the site), whether or not the account is
    active: the account page shows what a deactivated person would get back."""
    from sqlalchemy.orm import joinedload

    from lms.access.models import RoleAssignment

    rows = db.session.scalars(
        select(RoleAssignment)
        .options(joinedload(RoleAssignment.context))  # held by each row, not re-read per row later
        .where(RoleAssignment.user_id == user.id)
        .order_by(RoleAssignment.id)
    ).all()
    ctx_ids = {ra.context_id for ra in rows}
    objects: dict[int, object] = {}
    for model in (Region, School, Workshop):
        if ctx_ids:
            objects.update(
                (o.context_id, o) for o in db.session.scalars(select(model).where(model.context_id.in_(ctx_ids)))
            )
    return [(ra, objects.get(ra.context_id)) for ra in rows]


def find_places(model, ref: str) -> list:
    """Regions (or schools) named by the shell: an id, a region's division code, or a name (compared as
    name_key does); a name may match several (two counties called 东湖区), and the caller says so."""
    ref = normalize(ref)
    if not ref:
        return []
    if ref.isdigit():
        found = db.session.get(model, int(ref)) if len(ref) < 6 else None
        if found is None and model is Region:
            found = db.session.scalar(select(Region).where(Region.code == ref))
        if found is not None:
            return [found]
    key = name_key(ref)
    # Names are compared in Python (full-width folding, spaces): a prefilter on the first character
    # keeps the scan to a handful of rows even in a province of thousands of schools.
    rows = db.session.scalars(select(model).where(model.name.contains(ref[0], autoescape=True)).order_by(model.id))
    return [row for row in rows if name_key(row.name) == key]


def units_below(region: Region) -> tuple[list, dict[int, int]]:
    """What a region's learning statistics break down into: its child regions (a county: its schools),
    and the unit each school of its subtree counts in, {school_id: unit id}. The region table is
    small (a province has a few hundred), so the tree is walked in Python from one query."""
    regions = db.session.execute(select(Region.id, Region.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for rid, parent in regions:
        children.setdefault(parent, []).append(rid)
    if region.level == "county":
        schools = list(db.session.scalars(select(School).where(School.county_id == region.id).order_by(School.name)))
        return schools, {s.id: s.id for s in schools}
    units = list(db.session.scalars(select(Region).where(Region.parent_id == region.id).order_by(Region.id)))
    unit_of: dict[int, int] = {}  # region id → the child unit it lies under
    for unit in units:
        stack = [unit.id]
        while stack:
            rid = stack.pop()
            unit_of[rid] = unit.id
            stack.extend(children.get(rid, ()))
    rows = db.session.execute(select(School.id, School.county_id).where(School.county_id.in_(list(unit_of) or [0])))
    return units, {sid: unit_of[cid] for sid, cid in rows}


def all_school_counties() -> dict[int, int]:
    """{school_id: county_id} of every school, and through region_parents the rest of the tree: what
    the daily snapshot rolls up along."""
    return dict(db.session.execute(select(School.id, School.county_id)).all())


def region_parents() -> dict[int, int | None]:
    return dict(db.session.execute(select(Region.id, Region.parent_id)).all())


def member_workshops(user) -> list[Workshop]:
    """The workshops the user is a member of (not those they host), in one query."""
    return [ws for ws, _group in db.session.execute(_stmt("memberships"), {"uid": user.id}).all()]
