"""Who may do what where. The one place permission decisions are made (DESIGN.md "Permissions")."""

import logging
from dataclasses import dataclass
from functools import cache

from flask import abort, g, has_request_context
from sqlalchemy import Integer, String, bindparam, cast, false, literal, null, or_, select, union_all

from lms.access.models import Context, RoleAssignment
from lms.access.roles import (
    ASSIGNABLE,
    HELD_IN,
    LEGACY_CONTEXTS,
    ROLE_CAPABILITIES,
    ROLE_CONTEXTS,
    ROLE_LABELS,
    UPWARD,
)
from lms.extensions import db

#: Appointments, revocations and account changes, one line each (who, what, where; never an ID number).
#: A deployment may route this logger to its own file.
audit = logging.getLogger("lms.audit")
# INFO passes whatever the root level: the lines reach the "lms" logger's handler (Flask's, on stderr,
# with the time) unless a deployment routes this logger elsewhere.
audit.setLevel(logging.INFO)


class AccessError(ValueError):
    pass


@dataclass(frozen=True)
class Grant:
    role: str
    path: str
    context_id: int
    #: The kind of context it is held in (site, region, school, workshop, project): some
    #: capabilities of a role hold only in one kind (roles.HELD_IN).
    kind: str = ""


def carries(grant: Grant, capability: str) -> bool:
    """Whether this grant gives the capability: its role's (roles.ROLE_CAPABILITIES), less those the
    role carries only where held in another kind of context (roles.HELD_IN: a project manager's
    project.* and course.assign, in its project only). Every check below asks this."""
    if capability not in ROLE_CAPABILITIES.get(grant.role, ()):
        return False
    bound = HELD_IN.get(grant.role)
    return bound is None or grant.kind == bound[0] or capability not in bound[1]


def new_context(kind: str, name: str, parent: Context | None) -> Context:
    ctx = Context(kind=kind, name=name, parent=parent)
    db.session.add(ctx)
    db.session.flush()
    ctx.path = f"{parent.path if parent else '/'}{ctx.id}/"
    return ctx


def context_names(paths) -> dict[str, str]:
    """The name of the context each path ends in ('/1/5/23/' → the name of 23), in one query."""
    ids = {}
    for p in paths:
        if p and p.strip("/"):
            ids[p] = int(p.strip("/").split("/")[-1])
    if not ids:
        return {}
    rows = dict(db.session.execute(select(Context.id, Context.name).where(Context.id.in_(set(ids.values())))).all())
    return {p: rows[i] for p, i in ids.items() if i in rows}


def site_context() -> Context:
    ctx = db.session.scalar(select(Context).where(Context.kind == "site"))
    if ctx is None:
        ctx = new_context("site", "site", None)
    return ctx


def context_of(obj) -> Context | None:
    if obj is None:
        return None
    if isinstance(obj, Context):
        return obj
    if hasattr(obj, "context") and isinstance(obj.context, Context):
        return obj.context
    if hasattr(obj, "access_context"):
        return obj.access_context()
    from lms.accounts.models import User

    if isinstance(obj, User):
        # A person is managed from their school upward; someone without a school (admins, experts)
        # only by roles held at the site. Never None: that would mean "anywhere".
        if obj.school is not None:
            return obj.school.context
        site = _site_row()
        return site if site is not None else Context(kind="site", path="/site/")
    raise TypeError(f"no access context for {obj!r}")


def _site_row() -> Context | None:
    """The site context, looked up once per request: lists of people without a school ask for it
    once per person otherwise."""
    if not has_request_context():
        return db.session.scalar(select(Context).where(Context.kind == "site"))
    site = g.get("_site_ctx")
    if site is None:
        site = g._site_ctx = db.session.scalar(select(Context).where(Context.kind == "site"))
    return site


@cache
def _grants_stmt():
    """One prebuilt statement for every page's first question: explicit roles, school, workshops,
    training projects.

    Built once with a bound user id: building and cache-keying three selects per request cost more
    than running them.
    """
    from lms.accounts.models import User
    from lms.communities.models import School, StudyGroup, Workshop, WorkshopMembership
    from lms.projects.models import Project, ProjectEnrolment

    uid = bindparam("uid")
    no_leader = cast(null(), Integer)  # typed NULL: PostgreSQL will not UNION an untyped one with an integer
    explicit = (
        select(RoleAssignment.role, Context.path, Context.id, no_leader, Context.kind)
        .join(Context, RoleAssignment.context_id == Context.id)
        .where(RoleAssignment.user_id == uid)
    )
    school = (
        select(literal("teacher", String), Context.path, Context.id, no_leader, Context.kind)
        .select_from(User)
        .join(School, User.school_id == School.id)
        .join(Context, School.context_id == Context.id)
        .where(User.id == uid)
    )
    workshops = (
        select(literal("member", String), Context.path, Context.id, StudyGroup.leader_id, Context.kind)
        .select_from(WorkshopMembership)
        .join(Workshop, WorkshopMembership.workshop_id == Workshop.id)
        .join(Context, Workshop.context_id == Context.id)
        .outerjoin(StudyGroup, WorkshopMembership.group_id == StudyGroup.id)
        .where(WorkshopMembership.user_id == uid)
    )
    # A teacher enrolled in a training project is its trainee 学员 there, as a workshop's member is.
    projects = (
        select(literal("trainee", String), Context.path, Context.id, no_leader, Context.kind)
        .select_from(ProjectEnrolment)
        .join(Project, ProjectEnrolment.project_id == Project.id)
        .join(Context, Project.context_id == Context.id)
        .where(ProjectEnrolment.user_id == uid)
    )
    return union_all(explicit, school, workshops, projects)


def grants(user) -> list[Grant]:
    """Every (role, context) the user holds, explicit and implied; cached for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        # A deactivated account holds nothing, whatever rows remain (API tokens, open sockets…).
        return []
    cache = g.setdefault("_grants", {}) if has_request_context() else {}
    if user.id in cache:
        return cache[user.id]
    result = []
    for role, path, cid, leader_id, kind in db.session.execute(_grants_stmt(), {"uid": user.id}):
        result.append(Grant(role, path, cid, kind))
        if role == "member" and leader_id == user.id:
            result.append(Grant("group_leader", path, cid, kind))
    cache[user.id] = result
    return result


def forget(user=None) -> None:
    """Drop cached grants after roles or memberships change within a request."""
    if has_request_context():
        g.pop("_grants", None)


@cache
def _user_model():
    from lms.accounts.models import User

    return User


# Capabilities over a person's account. Reaching the person's school is not enough: resetting the
# password of a teacher who is also a city admin would hand the actor the city. So these also need
# every explicit role the person holds to be one the actor could have given there (roles.ASSIGNABLE).
# Staff without a school (county admins, experts) are thereby managed from above their roles: a
# city admin resets its county admins' passwords. Someone with neither school nor role: the site only.
PERSON_GUARDED = {"user.manage"}


def can(user, capability: str, obj=None) -> bool:
    if capability in PERSON_GUARDED and isinstance(obj, _user_model()):
        held = _roles_of([obj.id]).get(obj.id, [])
        home = context_of(obj) if obj.school is not None or not held else None
        return _manages(user, capability, home, held)
    return _can(user, capability, context_of(obj))


def _manages(user, capability: str, home: Context | None, held: list) -> bool:
    """The person guard: `home` is their school's context (None when they have none but hold roles),
    `held` their explicit roles as (role, context, region level or a function giving it)."""
    if home is not None and not _can(user, capability, home):
        return False
    return all(
        _can(user, capability, ctx) and role in _assignable_at(user, ctx, level, legacy=True)
        for role, ctx, level in held
    )


def _can(user, capability: str, ctx: Context | None) -> bool:
    for grant in grants(user):
        if not carries(grant, capability):
            continue
        if ctx is None or ctx.path.startswith(grant.path):
            return True
        if capability in UPWARD and grant.path.startswith(ctx.path):
            return True
    return False


def require(user, capability: str, obj=None) -> None:
    """404 when the user may not even see the object (no existence leak), 403 when they see it but lack the right."""
    if can(user, capability, obj):
        return
    if capability != "community.view" and can(user, "community.view", obj):
        abort(403)
    abort(404)


def holds_anywhere(user, capability: str) -> bool:
    return any(carries(gr, capability) for gr in grants(user))


def reach_paths(user, capability: str) -> list[str]:
    """Context paths whose subtrees the capability reaches (downward only), minimal set."""
    paths = sorted({gr.path for gr in grants(user) if carries(gr, capability)}, key=len)
    minimal: list[str] = []
    for p in paths:
        if not any(p.startswith(m) for m in minimal):
            minimal.append(p)
    return minimal


@dataclass(frozen=True)
class Scope:
    """Where a capability holds for a user, as context paths: `can(user, capability, ctx)` is true
    exactly when ctx.path starts with one of `prefixes` (subtrees the roles reach) or equals one of
    `exact` (ancestors of the user's contexts, for UPWARD capabilities). Lists and indexes filter with
    it (`visible`, the search index) so that they agree with the per-object check."""

    prefixes: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.exact)

    def contains(self, path: str | None) -> bool:
        return bool(path) and (path in self.exact or any(path.startswith(p) for p in self.prefixes))


def scope(user, capability: str) -> Scope:
    prefixes = reach_paths(user, capability)
    exact: set[str] = set()
    if capability in UPWARD:
        for gr in grants(user):
            if carries(gr, capability):
                exact.update(_ancestor_paths(gr.path))
    exact = {p for p in exact if not any(p.startswith(r) for r in prefixes)}
    return Scope(tuple(prefixes), tuple(sorted(exact)))


def visible(stmt, user, capability: str, path_column):
    """Filter a select to rows whose context path (path_column, joined by the caller) the user reaches.

    For UPWARD capabilities, ancestors of the user's own contexts are included too (see `scope`).
    """
    sc = scope(user, capability)
    clauses = [path_column.startswith(p, autoescape=True) for p in sc.prefixes]
    if sc.exact:
        clauses.append(path_column.in_(sc.exact))
    return stmt.where(or_(*clauses) if clauses else false())


def context_ids(user, capability: str):
    """A select of the ids of the contexts where the capability holds for the user (as `visible`
    decides), for other domains to filter their rows by a context id column without our tables:
    `.where(Project.context_id.in_(access.context_ids(user, "project.view")))`."""
    return visible(select(Context.id), user, capability, Context.path)


def context_ids_like(path_like: str):
    """A select of the ids of the contexts whose path is LIKE `path_like` ("/1/4/%": a subtree)."""
    return select(Context.id).where(Context.path.like(path_like))


def find_assignment(assignment_id, obj) -> RoleAssignment | None:
    """The explicit role `assignment_id` if it is held exactly at this object's context, else None
    (a form naming an assignment of another place)."""
    try:
        ra = db.session.get(RoleAssignment, int(assignment_id))
    except (TypeError, ValueError):
        return None
    ctx = context_of(obj)
    return ra if ra is not None and ctx is not None and ra.context_id == ctx.id else None


def _ancestor_paths(path: str) -> list[str]:
    ids = [x for x in path.strip("/").split("/") if x]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def may_hold(role: str, context: Context, level: str | None = None, legacy: bool = False) -> bool:
    """Whether `role` may be held at this kind of context (a county admin only in a county…);
    `level` is the region level of a region context (looked up when not given). With `legacy`,
    also where it once could be and is still held (roles.LEGACY_CONTEXTS): to revoke it there."""
    allowed = ROLE_CONTEXTS.get(role, set()) | (LEGACY_CONTEXTS.get(role, set()) if legacy else set())
    if context.kind == "region" and level is None:
        level = _region_level(context)
    return (context.kind, level) in allowed or (context.kind, None) in allowed


def assign(user, role: str, context: Context) -> RoleAssignment:
    """Give a role in a context, checking the role may be held there (no check of who gives it:
    that is `appoint`, for people; the shell and the demo call this directly)."""
    if role not in ROLE_CONTEXTS:
        raise AccessError("unknown_role")
    if not may_hold(role, context):
        raise AccessError("bad_context")
    existing = db.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id, RoleAssignment.role == role, RoleAssignment.context_id == context.id
        )
    )
    if existing:
        return existing
    ra = RoleAssignment(user_id=user.id, role=role, context_id=context.id)
    db.session.add(ra)
    forget(user)
    return ra


def revoke(user, role: str, context: Context) -> None:
    ra = db.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id, RoleAssignment.role == role, RoleAssignment.context_id == context.id
        )
    )
    if ra:
        db.session.delete(ra)
    forget(user)


def _region_level(context: Context) -> str | None:
    if context.kind != "region":
        return None
    from lms.communities.models import Region

    return db.session.scalar(select(Region.level).where(Region.context_id == context.id))


def holders(role: str, context: Context) -> list:
    """Users holding `role` exactly at `context` (for pages listing hosts and admins)."""
    from lms.accounts.models import User

    return list(
        db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == role, RoleAssignment.context_id == context.id)
            .order_by(User.id)
        )
    )


# --- appointing and revoking (issue 2: administration) -------------------------------------------


def assignable_roles(user, obj) -> list[str]:
    """The roles `user` may appoint or revoke at this region, school or workshop: those its roles
    with `role.assign` reaching here may hand out (roles.ASSIGNABLE) and that may be held here."""
    ctx = context_of(obj)
    return _assignable_at(user, ctx, lambda: _region_level(ctx))


def revocable_roles(user, obj) -> list[str]:
    """The roles `user` may revoke here: those it may appoint, and those it could have given where
    they may no longer be appointed but are still held (a region-wide project manager)."""
    ctx = context_of(obj)
    return _assignable_at(user, ctx, lambda: _region_level(ctx), legacy=True)


def _assignable_at(user, ctx: Context, level, legacy: bool = False) -> list[str]:
    """assignable_roles() with the region level given (a value, or a function asked only if needed);
    `legacy`: revocable_roles()."""
    given: set[str] = set()
    for gr in grants(user):
        if carries(gr, "role.assign") and ctx.path.startswith(gr.path):
            given |= ASSIGNABLE.get(gr.role, set())
    if not given:
        return []
    if callable(level):
        level = level() if ctx.kind == "region" else None
    return [role for role in ROLE_LABELS if role in given and may_hold(role, ctx, level, legacy)]


def _roles_of(user_ids: list[int]) -> dict[int, list[tuple[str, Context, str | None]]]:
    """Every explicit role of these people, as (role, context, region level or None), in one query."""
    from lms.communities.models import Region

    held: dict[int, list] = {}
    for uid, role, ctx, level in db.session.execute(
        select(RoleAssignment.user_id, RoleAssignment.role, Context, Region.level)
        .join(Context, RoleAssignment.context_id == Context.id)
        .outerjoin(Region, Region.context_id == Context.id)
        .where(RoleAssignment.user_id.in_(user_ids))
    ):
        held.setdefault(uid, []).append((role, ctx, level))
    return held


def manageable(user, people: list) -> set[int]:
    """Ids of `people` on whom `user` holds user.manage (as can() decides for each), in three queries
    whatever their number: their schools' contexts and all their explicit roles are loaded at once."""
    from lms.accounts.models import User
    from lms.communities.models import School

    if not people or not holds_anywhere(user, "user.manage"):
        return set()
    ids = [p.id for p in people]
    homes = dict(
        db.session.execute(
            select(User.id, Context)
            .outerjoin(School, User.school_id == School.id)
            .outerjoin(Context, School.context_id == Context.id)
            .where(User.id.in_(ids))
        ).all()
    )
    site = _site_row()
    held = _roles_of(ids)
    result = set()
    for uid in ids:
        home = homes.get(uid) or (None if held.get(uid) else site)
        if home is None and not held.get(uid):
            continue  # no site context at all: nobody reaches this person
        if _manages(user, "user.manage", home, held.get(uid, [])):
            result.add(uid)
    return result


def _is_root(path: str) -> bool:
    # Only the site context has no parent: its path is a single id ("/1/").
    return path.count("/") == 2


def visible_people(stmt, user, capability: str, role_holders: bool = False):
    """Filter a select of users to the people `capability` reaches: teachers of the schools in its
    subtrees and, with `role_holders`, people holding an explicit role there (county staff and
    experts often have no school). A holder at the site reaches everyone."""
    from lms.accounts.models import User
    from lms.communities.models import School

    prefixes = reach_paths(user, capability)
    if not prefixes:
        return stmt.where(false())
    if any(_is_root(p) for p in prefixes):
        return stmt
    under = or_(*[Context.path.startswith(p, autoescape=True) for p in prefixes])
    clause = User.school_id.in_(select(School.id).join(Context, School.context_id == Context.id).where(under))
    if role_holders:
        held = select(RoleAssignment.user_id).join(Context, RoleAssignment.context_id == Context.id).where(under)
        clause = or_(clause, User.id.in_(held))
    return stmt.where(clause)


def in_reach(user, person, capability: str = "role.assign") -> bool:
    """Whether `person` is among the people `visible_people(..., role_holders=True)` lists for `user`."""
    from lms.accounts.models import User

    stmt = visible_people(select(User.id).where(User.id == person.id), user, capability, role_holders=True)
    return db.session.scalar(stmt) is not None


def assignments_at(obj) -> list[RoleAssignment]:
    """The explicit roles held exactly at this region, school or workshop, highest role first."""
    from sqlalchemy.orm import joinedload

    ctx = context_of(obj)
    from lms.accounts.models import User

    rows = db.session.scalars(
        select(RoleAssignment)
        .options(joinedload(RoleAssignment.user).joinedload(User.school))  # one statement, rows or none
        .where(RoleAssignment.context_id == ctx.id)
    ).all()
    order = {role: i for i, role in enumerate(reversed(list(ROLE_LABELS)))}
    return sorted(rows, key=lambda ra: (order.get(ra.role, 99), ra.user.name, ra.user_id))


def check_appointment(actor, role: str, obj, revoking: bool = False) -> Context:
    """Raise AccessError unless `actor` may appoint (or, `revoking`, revoke) `role` at `obj`;
    returns its context. A role held where it may no longer be given is revoked, never appointed."""
    ctx = context_of(obj)
    if role not in ROLE_CONTEXTS:
        raise AccessError("unknown_role")
    if not may_hold(role, ctx, legacy=revoking):
        raise AccessError("role_not_here")
    if role not in (revocable_roles if revoking else assignable_roles)(actor, ctx):
        raise AccessError("role_above_you")
    return ctx


def _check_appointee(actor, person) -> None:
    """Someone else, within the actor's reach (told apart from an unknown person by no message), active."""
    _not_oneself(actor, person)
    if person is None or not in_reach(actor, person):
        raise AccessError("person_unknown")
    if not person.active:
        raise AccessError("person_inactive")


def _not_oneself(actor, person) -> None:
    """Nobody appoints themselves: some roles an admin hands out carry powers of their own (an
    expert publishes excellent work), which the admin's role does not have. The site admin, who
    holds every capability anyway, may."""
    if person is not None and person.id == actor.id and not any(gr.role == "site_admin" for gr in grants(actor)):
        raise AccessError("own_account")


def appoint(actor, person, role: str, obj) -> RoleAssignment:
    """`actor` gives `person` a role at a region, school or workshop.

    Refused (AccessError, nothing stored) for a role that cannot be held here or that the actor's
    own roles do not hand out, and for a person outside the actor's reach (told apart from an
    unknown person by no message: the same "person_unknown")."""
    ctx = check_appointment(actor, role, obj)
    _check_appointee(actor, person)
    if _held(person, role, ctx) is not None:
        raise AccessError("already_held")
    ra = assign(person, role, ctx)
    db.session.commit()
    record("granted", actor, person, role, ctx)
    return ra


def dismiss(actor, assignment: RoleAssignment) -> None:
    """`actor` takes a role away; only a role the actor could have given at that place."""
    ctx = check_appointment(actor, assignment.role, assignment.context, revoking=True)
    person, role = assignment.user, assignment.role
    db.session.delete(assignment)
    db.session.commit()
    forget(person)
    record("revoked", actor, person, role, ctx)


def replace_holders(actor, person, role: str, obj) -> RoleAssignment:
    """Make `person` the only holder of `role` here (a workshop's new host): the others lose it,
    in the same transaction."""
    ctx = check_appointment(actor, role, obj)
    _check_appointee(actor, person)
    current = db.session.scalars(
        select(RoleAssignment).where(RoleAssignment.role == role, RoleAssignment.context_id == ctx.id)
    ).all()
    if [ra.user_id for ra in current] == [person.id]:
        raise AccessError("already_held")
    removed = [ra.user for ra in current if ra.user_id != person.id]
    for ra in current:
        if ra.user_id != person.id:
            db.session.delete(ra)
    db.session.flush()
    ra = assign(person, role, ctx)
    db.session.commit()
    for old in removed:
        record("revoked", actor, old, role, ctx)
    if all(ra.user_id != person.id for ra in current):
        record("granted", actor, person, role, ctx)
    return ra


def grant_by_shell(person, role: str, ctx: Context) -> RoleAssignment:
    """`flask lms grant-role`: the installer gives any role where it may be held (the first province
    admin, site admins); recorded like an appointment, by "the shell"."""
    if role not in ROLE_CONTEXTS:
        raise AccessError("unknown_role")
    if not may_hold(role, ctx):
        raise AccessError("role_not_here")
    if _held(person, role, ctx) is not None:
        raise AccessError("already_held")
    ra = assign(person, role, ctx)
    db.session.commit()
    record("granted", None, person, role, ctx)
    return ra


def revoke_by_shell(person, role: str, ctx: Context) -> None:
    ra = _held(person, role, ctx)
    if ra is None:
        raise AccessError("no_such_assignment")
    db.session.delete(ra)
    db.session.commit()
    record("revoked", None, person, role, ctx)


def _held(person, role: str, ctx: Context) -> RoleAssignment | None:
    return db.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == person.id, RoleAssignment.role == role, RoleAssignment.context_id == ctx.id
        )
    )


def record(change: str, actor, person, role: str, ctx: Context) -> None:
    """After a committed appointment ("granted") or revocation ("revoked"): the audit line and the signal."""
    from lms.signals import role_granted, role_revoked

    forget(person)
    audit.info(
        "role %s: %s at %s %s (%s) %s user %s (%s) by %s",
        change, role, ctx.kind, ctx.id, ctx.name, "to" if change == "granted" else "from", person.id, person.username,
        actor_label(actor),
    )  # fmt: skip
    (role_granted if change == "granted" else role_revoked).send(person, role=role, context=ctx, actor=actor)


def actor_label(actor) -> str:
    """How the audit log names who did something: id and username, never personal data."""
    return f"user {actor.id} ({actor.username})" if actor is not None else "the shell"
