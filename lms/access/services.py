"""Who may do what where. The one place permission decisions are made (DESIGN.md "Permissions")."""

from dataclasses import dataclass
from functools import cache

from flask import abort, g, has_request_context
from sqlalchemy import Integer, String, bindparam, cast, false, literal, null, or_, select, union_all

from lms.access.models import Context, RoleAssignment
from lms.access.roles import ROLE_CAPABILITIES, ROLE_CONTEXTS, UPWARD
from lms.extensions import db


class AccessError(ValueError):
    pass


@dataclass(frozen=True)
class Grant:
    role: str
    path: str
    context_id: int


def new_context(kind: str, name: str, parent: Context | None) -> Context:
    ctx = Context(kind=kind, name=name, parent=parent)
    db.session.add(ctx)
    db.session.flush()
    ctx.path = f"{parent.path if parent else '/'}{ctx.id}/"
    return ctx


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
        site = db.session.scalar(select(Context).where(Context.kind == "site"))
        return site if site is not None else Context(kind="site", path="/site/")
    raise TypeError(f"no access context for {obj!r}")


@cache
def _grants_stmt():
    """One prebuilt statement for every page's first question: explicit roles, school, workshops.

    Built once with a bound user id: building and cache-keying three selects per request cost more
    than running them.
    """
    from lms.accounts.models import User
    from lms.communities.models import School, StudyGroup, Workshop, WorkshopMembership

    uid = bindparam("uid")
    no_leader = cast(null(), Integer)  # typed NULL: PostgreSQL will not UNION an untyped one with an integer
    explicit = (
        select(RoleAssignment.role, Context.path, Context.id, no_leader)
        .join(Context, RoleAssignment.context_id == Context.id)
        .where(RoleAssignment.user_id == uid)
    )
    school = (
        select(literal("teacher", String), Context.path, Context.id, no_leader)
        .select_from(User)
        .join(School, User.school_id == School.id)
        .join(Context, School.context_id == Context.id)
        .where(User.id == uid)
    )
    workshops = (
        select(literal("member", String), Context.path, Context.id, StudyGroup.leader_id)
        .select_from(WorkshopMembership)
        .join(Workshop, WorkshopMembership.workshop_id == Workshop.id)
        .join(Context, Workshop.context_id == Context.id)
        .outerjoin(StudyGroup, WorkshopMembership.group_id == StudyGroup.id)
        .where(WorkshopMembership.user_id == uid)
    )
    return union_all(explicit, school, workshops)


def grants(user) -> list[Grant]:
    """Every (role, context) the user holds, explicit and implied; cached for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        # A deactivated account holds nothing, whatever rows remain (API tokens, open sockets…).
        return []
    cache = g.setdefault("_grants", {}) if has_request_context() else {}
    if user.id in cache:
        return cache[user.id]
    result = []
    for role, path, cid, leader_id in db.session.execute(_grants_stmt(), {"uid": user.id}):
        result.append(Grant(role, path, cid))
        if role == "member" and leader_id == user.id:
            result.append(Grant("group_leader", path, cid))
    cache[user.id] = result
    return result


def forget(user=None) -> None:
    """Drop cached grants after roles or memberships change within a request."""
    if has_request_context():
        g.pop("_grants", None)


def can(user, capability: str, obj=None) -> bool:
    ctx = context_of(obj)
    for grant in grants(user):
        if capability not in ROLE_CAPABILITIES.get(grant.role, ()):
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
    return any(capability in ROLE_CAPABILITIES.get(gr.role, ()) for gr in grants(user))


def reach_paths(user, capability: str) -> list[str]:
    """Context paths whose subtrees the capability reaches (downward only), minimal set."""
    paths = sorted({gr.path for gr in grants(user) if capability in ROLE_CAPABILITIES.get(gr.role, ())}, key=len)
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
            if capability in ROLE_CAPABILITIES.get(gr.role, ()):
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


def _ancestor_paths(path: str) -> list[str]:
    ids = [x for x in path.strip("/").split("/") if x]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def assign(user, role: str, context: Context) -> RoleAssignment:
    """Give a role in a context, checking the role may be held there."""
    allowed = ROLE_CONTEXTS.get(role)
    if allowed is None:
        raise AccessError("unknown_role")
    level = _region_level(context)
    if (context.kind, level) not in allowed and (context.kind, None) not in allowed:
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
