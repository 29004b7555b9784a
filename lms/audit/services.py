"""The stored audit trail: listeners that file each administrative action the other domains signal
(lms.signals), and the list their administrators read.

Append-only: this module only inserts rows; nothing here (or anywhere) updates or deletes them.
The listeners run after the action committed and write their row in a transaction of their own: a
failure to store is logged on the "lms.audit" logger (with the same facts) and never undoes or
breaks the action.
"""

import logging
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select

from lms import access
from lms.access.models import Context, RoleAssignment
from lms.audit.models import AuditEntry
from lms.core.pagination import Page, paginate
from lms.extensions import db

log = logging.getLogger("lms.audit")

#: Every action the trail stores, with its label for the filter menu (in this order).
ACTIONS = {
    "role.granted": _l("Role given"),
    "role.revoked": _l("Role taken away"),
    "account.password_reset": _l("Password reset"),
    "account.deactivated": _l("Account deactivated"),
    "account.reactivated": _l("Account reactivated"),
    "roster.imported": _l("Roster imported"),
    "passwords.kept": _l("Initial passwords kept for download"),
    "passwords.taken": _l("Initial passwords downloaded"),
    "region.created": _l("Region created"),
    "region.renamed": _l("Region renamed"),
    "school.created": _l("School created"),
    "school.renamed": _l("School renamed"),
    "school.moved": _l("School moved"),
    "school.closed": _l("School closed"),
    "workshop.created": _l("Workshop opened"),
}

#: The only keys a detail may carry: names of places, role codes, counts. A listener passes nothing
#: else through, so no ID-card number, password or phone can reach the table by accident.
DETAIL_KEYS = {"role", "old", "new", "name", "created", "updated", "count", "moved_teachers", "into", "from", "to",
               "kind", "level", "stage", "code"}  # fmt: skip


def record(action: str, actor, target_kind: str, target_id: int | None, context: Context | None,
           detail: dict | None = None, origin: Context | None = None) -> AuditEntry | None:  # fmt: skip
    """Store one entry and commit it. Never raises: the action it records is already committed."""
    clean = {k: v for k, v in (detail or {}).items() if k in DETAIL_KEYS and v is not None}
    clean = {k: (v if isinstance(v, int | float) else str(v)[:100]) for k, v in clean.items()}
    try:
        entry = AuditEntry(
            actor_id=actor.id if actor is not None else None,
            action=action,
            target_kind=target_kind,
            target_id=target_id,
            context_id=context.id if context is not None else None,
            context_path=context.path if context is not None else "",
            origin_path=origin.path if origin is not None else None,
            detail=clean,
        )
        db.session.add(entry)
        db.session.commit()
        return entry
    except Exception:
        db.session.rollback()
        log.exception("could not store the audit entry %s %s %s by %s", action, target_kind, target_id,
                      actor.id if actor is not None else "the shell")  # fmt: skip
        return None


# --- listeners (connected in lms.audit.init_app) -----------------------------------------------


def _real(user):
    get = getattr(user, "_get_current_object", None)
    return get() if get is not None else user


def on_role(change: str):
    def listener(person, role: str, context: Context, actor=None, **kw) -> None:
        record(f"role.{change}", _real(actor), "user", person.id, context, {"role": role})

    return listener


def person_context(person) -> Context | None:
    """Where an account change is filed: the person's school, else the highest place they hold a
    role (county staff have no school), else the site."""
    if person.school is not None:
        return person.school.context
    held = db.session.scalars(
        select(Context).join(RoleAssignment, RoleAssignment.context_id == Context.id)
        .where(RoleAssignment.user_id == person.id)
    ).all()  # fmt: skip
    if held:
        return min(held, key=lambda c: (c.path.count("/"), c.id))
    return access.services.site_context()


def on_account_changed(person, change: str, actor=None, **kw) -> None:
    record(f"account.{change}", _real(actor), "user", person.id, person_context(person))


def on_roster_imported(importer, scope, created: int = 0, updated: int = 0, **kw) -> None:
    kind = "school" if type(scope).__name__ == "School" else "region"
    record("roster.imported", _real(importer), kind, scope.id, scope.context,
           {"name": scope.name, "created": created, "updated": updated})  # fmt: skip


def on_password_sheet(importer, change: str, count: int = 0, context: Context | None = None, **kw) -> None:
    record(f"passwords.{change}", _real(importer), "user", importer.id, context, {"count": count})


def on_community_changed(obj, change: str, actor=None, detail: dict | None = None, origin=None, **kw) -> None:
    kind = "school" if type(obj).__name__ == "School" else "region"
    record(f"{kind}.{change}", _real(actor), kind, obj.id, obj.context, {"name": obj.name, **(detail or {})}, origin)


def on_workshop_created(workshop, actor=None, host=None, **kw) -> None:
    record("workshop.created", _real(actor), "workshop", workshop.id, workshop.context,
           {"name": workshop.name, "kind": workshop.kind})  # fmt: skip


def connect() -> None:
    from lms import signals

    # weak=False: the closures below would be collected at once otherwise.
    signals.role_granted.connect(_GRANTED, weak=False)
    signals.role_revoked.connect(_REVOKED, weak=False)
    signals.account_changed.connect(on_account_changed, weak=False)
    signals.roster_imported.connect(on_roster_imported, weak=False)
    signals.password_sheet.connect(on_password_sheet, weak=False)
    signals.community_changed.connect(on_community_changed, weak=False)
    signals.workshop_created.connect(on_workshop_created, weak=False)


_GRANTED, _REVOKED = on_role("granted"), on_role("revoked")


# --- reading ------------------------------------------------------------------------------------


class AuditFilterError(ValueError):
    pass


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD from the filter form; AuditFilterError for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else date.fromisoformat("")
    except ValueError:
        raise AuditFilterError("bad_date") from None


def entries(user, action: str | None = None, since: date | None = None, until: date | None = None,
            page: int = 1, per_page: int = 30) -> Page:  # fmt: skip
    """The entries of the places `user` reaches with audit.view, newest first: filed at a place in
    their reach, or (a move) coming from one. A site admin's reach is everything."""
    stmt = select(AuditEntry)
    prefixes = access.reach_paths(user, "audit.view")
    if not prefixes:
        stmt = stmt.where(false())
    elif not any(p.count("/") == 2 for p in prefixes):  # the site's path is "/<id>/": no filter
        clauses = []
        for p in prefixes:
            clauses.append(AuditEntry.context_path.startswith(p, autoescape=True))
            clauses.append(AuditEntry.origin_path.startswith(p, autoescape=True))
        stmt = stmt.where(or_(*clauses))
    if action:
        if action not in ACTIONS:
            raise AuditFilterError("bad_action")
        stmt = stmt.where(AuditEntry.action == action)
    if since and until and since > until:
        raise AuditFilterError("bad_range")
    # Days as the page shows them: in the site's time zone (BABEL_DEFAULT_TIMEZONE, China's by default).
    zone = _zone()
    if since:
        stmt = stmt.where(AuditEntry.created_at >= datetime.combine(since, time.min, zone).astimezone(UTC))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, zone).astimezone(UTC)
        stmt = stmt.where(AuditEntry.created_at < end)
    return paginate(stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()), page, per_page)


def _zone():
    from zoneinfo import ZoneInfo

    from flask import current_app

    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")


def people_named(entries_: list[AuditEntry]) -> dict[int, object]:
    """The actors and the people acted on, by id, in one query (names as they are now)."""
    from lms.accounts.models import User

    ids = {e.actor_id for e in entries_ if e.actor_id} | {e.target_id for e in entries_
                                                          if e.target_kind == "user" and e.target_id}  # fmt: skip
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def place_names(entries_: list[AuditEntry]) -> dict[str, str]:
    """The name of the place each entry was filed at (as it is called now), in one query."""
    return access.services.context_names({e.context_path for e in entries_})
