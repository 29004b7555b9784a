"""Notifications 通知: stored per user first, then handed to every registered delivery channel.

Channels: InAppChannel (pushes to the user's Socket.IO room after the rows are committed) and
LogChannel (logs kind and recipient id only). Plugins add others (SMS, e-mail, WeChat) through
`lms.plugins.PluginAPI.register_notification_channel(name, notifier)` (a lms.plugins.Notifier,
wrapped in a NotifierChannel here); `register_channel` is the core's own hook.
"""

import contextlib
import logging
import secrets
import threading
import unicodedata
from datetime import timedelta

from sqlalchemy import and_, func, insert, or_, select, union, update

from lms.core.db import utcnow
from lms.core.pagination import Page, paginate
from lms.core.text import plain
from lms.extensions import db, socketio
from lms.notifications.models import Notification, NotificationFanout

log = logging.getLogger(__name__)

NAMESPACE = "/notify"
TEXT_MAX = 500
URL_MAX = 500
PER_PAGE = 20
CHUNK = 1000


def room(user_id: int) -> str:
    return f"user:{user_id}"


class Channel:
    """A delivery channel: gets the committed notifications (a list) after `notify` stored them."""

    def deliver(self, notifications: list[Notification]) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class InAppChannel(Channel):
    """Rows are already stored; push each to its recipient's Socket.IO room with the unread count."""

    def deliver(self, notifications):
        if not notifications:
            return
        counts = unread_counts({n.user_id for n in notifications})
        for n in notifications:
            payload = as_dict(n, unread=counts.get(n.user_id, 0))
            socketio.emit("notification", payload, namespace=NAMESPACE, to=room(n.user_id))


class LogChannel(Channel):
    """Logs the kind and the recipient id only: never the text, which may carry personal data."""

    def deliver(self, notifications):
        for n in notifications:
            log.info("notification %s to user %s", n.kind, n.user_id)


class NotifierChannel(Channel):
    """Adapts a plugin's lms.plugins.Notifier: keeps the kinds it wants and adds each recipient's
    name, phone and e-mail (one query per batch), so plugins need no model."""

    def __init__(self, notifier):
        self.notifier = notifier

    def deliver(self, notifications):
        from lms.accounts.models import User
        from lms.plugins import OutgoingNotification

        kinds = self.notifier.kinds
        items = [n for n in notifications if kinds is None or n.kind in kinds]
        if not items:
            return
        ids = sorted({n.user_id for n in items})
        people = {
            row.id: row
            for row in db.session.execute(select(User.id, User.name, User.phone, User.email).where(User.id.in_(ids)))
        }
        out = []
        for n in items:
            who = people.get(n.user_id)
            if who is None:
                continue
            out.append(OutgoingNotification(id=n.id, user_id=n.user_id, kind=n.kind, text=n.text, url=n.url,
                                            created_at=n.created_at, name=who.name, phone=who.phone or None,
                                            email=who.email or None))  # fmt: skip
        if out:
            self.notifier.send(out)


_CHANNELS: dict[str, Channel] = {}


def register_channel(name: str, channel: Channel) -> None:
    _CHANNELS[name] = channel


def unregister_channel(name: str) -> None:
    _CHANNELS.pop(name, None)


def channels() -> dict[str, Channel]:
    return dict(_CHANNELS)


register_channel("in_app", InAppChannel())
register_channel("log", LogChannel())


def clean_text(text) -> str:
    return plain(text, TEXT_MAX)


def clean_url(url) -> str | None:
    """Only site-relative links ("/path"): no scheme, no "//host", no backslash tricks."""
    if not url:
        return None
    url = str(url).strip()
    if not url.startswith("/") or url.startswith("//") or "\\" in url or len(url) > URL_MAX:
        return None
    if any(unicodedata.category(c).startswith("C") or c.isspace() for c in url):
        return None
    return url


def _id(user_or_id) -> int:
    return int(user_or_id if isinstance(user_or_id, int) else user_or_id.id)


def notify(recipients, kind: str, text: str, url: str | None = None, actor=None) -> list[Notification]:
    """Store one notification per recipient (users or ids; duplicates and the actor dropped), commit,
    then deliver through every channel. Returns the stored rows.

    Large fan-outs (an announcement to a province) go in chunks: one multi-row INSERT, one commit
    and one delivery per CHUNK recipients, so memory stays bounded.
    """
    return [n for chunk in _store_chunks(recipients, kind, text, url, actor) for n in chunk]


def _store_chunks(recipients, kind: str, text: str, url: str | None = None, actor=None):
    """notify() a chunk at a time, yielding each chunk's stored rows (a caller that drops them keeps
    only one chunk in memory: the province-wide fan-out)."""
    actor_id = _id(actor) if actor is not None else None
    ids = sorted({_id(r) for r in recipients} - ({actor_id} if actor_id is not None else set()))
    text, url = clean_text(text), clean_url(url)
    for start in range(0, len(ids), CHUNK):
        now = utcnow()
        rows = [
            {"user_id": uid, "kind": kind[:32], "text": text, "url": url, "actor_id": actor_id, "created_at": now}
            for uid in ids[start : start + CHUNK]
        ]
        new_ids = list(db.session.scalars(insert(Notification).returning(Notification.id), rows))
        db.session.commit()
        stmt = select(Notification).where(Notification.id.in_(new_ids)).order_by(Notification.id)
        items = list(db.session.scalars(stmt))
        deliver(items)
        yield items


def sent_since(user_or_id, kind: str, url: str | None, since) -> bool:
    """Whether this user already got a `kind` notification about `url` at or after `since`: lets a
    sender coalesce bursts (likes) into one message instead of one per event."""
    stmt = select(Notification.id).where(
        Notification.user_id == _id(user_or_id), Notification.kind == kind[:32], Notification.created_at >= since
    )
    stmt = stmt.where(Notification.url == url) if url is not None else stmt.where(Notification.url.is_(None))
    return db.session.scalar(stmt.limit(1)) is not None


def deliver(items: list[Notification]) -> None:
    for name, channel in list(_CHANNELS.items()):
        try:
            channel.deliver(items)
        except Exception:  # one broken channel must not stop the others
            log.exception("notification channel %s failed", name)


def as_dict(n: Notification, unread: int | None = None) -> dict:
    d = {
        "id": n.id,
        "kind": n.kind,
        "text": n.text,
        "url": n.url,
        "created_at": n.created_at.isoformat(),
        "read": n.read_at is not None,
    }
    if unread is not None:
        d["unread"] = unread
    return d


def unread_count(user) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == _id(user), Notification.read_at.is_(None))
    )


def unread_counts(user_ids) -> dict[int, int]:
    ids = sorted(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Notification.user_id, func.count(Notification.id))
        .where(Notification.user_id.in_(ids), Notification.read_at.is_(None))
        .group_by(Notification.user_id)
    )
    return dict(rows.all())


def recent(user, page: int = 1, per_page: int = PER_PAGE) -> Page:
    stmt = (
        select(Notification)
        .where(Notification.user_id == _id(user))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return paginate(stmt, page, per_page)


def mark_read(user, ids="all") -> int:
    """Mark the user's notifications read: a list of ids, or "all". Others' ids are ignored."""
    stmt = update(Notification).where(Notification.user_id == _id(user), Notification.read_at.is_(None))
    if ids != "all":
        ids = [int(i) for i in ids or ()]
        if not ids:
            return 0
        stmt = stmt.where(Notification.id.in_(ids))
    n = db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if n:
        socketio.emit("unread", {"unread": unread_count(user)}, namespace=NAMESPACE, to=room(_id(user)))
    return n


# --- recipients -----------------------------------------------------------------------------------


def members_under(context, exclude: int | None = None, subject: str | None = None) -> list[int]:
    """Active users within a context's subtree: teachers of its schools, members of its workshops,
    and role holders in it; only those teaching `subject` when it is given; one query."""
    from lms.accounts.models import User

    return list(db.session.scalars(_under(context, exclude, subject).order_by(User.id)))


def _under(context, exclude: int | None = None, subject: str | None = None):
    from lms.access.models import Context, RoleAssignment
    from lms.accounts.models import User
    from lms.communities.models import School, Workshop, WorkshopMembership

    prefix = context.path + "%"
    teachers = (
        select(User.id.label("uid"))
        .join(School, User.school_id == School.id)
        .join(Context, School.context_id == Context.id)
        .where(Context.path.like(prefix))
    )
    members = (
        select(WorkshopMembership.user_id.label("uid"))
        .join(Workshop, WorkshopMembership.workshop_id == Workshop.id)
        .join(Context, Workshop.context_id == Context.id)
        .where(Context.path.like(prefix))
    )
    roles = (
        select(RoleAssignment.user_id.label("uid"))
        .join(Context, RoleAssignment.context_id == Context.id)
        .where(Context.path.like(prefix))
    )
    from lms.projects.services import enrolled_under

    sub = union(teachers, members, roles, enrolled_under(prefix)).subquery()
    stmt = select(User.id).where(User.id.in_(select(sub.c.uid)), User.active.is_(True))
    if exclude is not None:
        stmt = stmt.where(User.id != exclude)
    if subject:
        stmt = stmt.where(User.subject == subject)
    return stmt


def count_under(context, exclude: int | None = None) -> int:
    """How many users members_under(context, exclude) names, in one COUNT query."""
    sub = _under(context, exclude).subquery()
    return db.session.scalar(select(func.count()).select_from(sub))


# --- fan-out to a whole region in the background ----------------------------------------------------

#: Audiences up to this many are notified inside the request (a workshop, a school); larger ones (a
#: county, a province: up to ~150,000 teachers) by a background job, so the request returns at once.
INLINE_MAX = 500
#: A fan-out that stored nothing in this many starts in a row (a batch that kills its process every
#: time) is given up; one that moves on may be interrupted any number of times.
FANOUT_MAX_ATTEMPTS = 5
#: How long a run holds a fan-out without storing a batch (each batch renews it); after that another
#: process may take it over (NOTIFY_FANOUT_LEASE_SECONDS).
FANOUT_LEASE_SECONDS = 300


def inline_max(config=None) -> int:
    from flask import current_app

    return int((config or current_app.config).get("NOTIFY_INLINE_MAX", INLINE_MAX))


def _lease(config=None) -> timedelta:
    from flask import current_app

    return timedelta(seconds=float((config or current_app.config).get("NOTIFY_FANOUT_LEASE_SECONDS",
                                                                      FANOUT_LEASE_SECONDS)))  # fmt: skip


def notify_under(context, kind: str, text: str, url: str | None = None, actor_id: int | None = None) -> str:
    """Notify everyone under `context` but the actor: inline for a small audience, else through a
    NotificationFanout run in the background (start_fanout). Returns "inline" or "queued"."""
    if count_under(context, exclude=actor_id) <= inline_max():
        notify(members_under(context, exclude=actor_id), kind, text, url=url, actor=actor_id)
        return "inline"
    start_fanout(context, kind, text, url=url, actor_id=actor_id)
    return "queued"


def start_fanout(context, kind: str, text: str, url: str | None = None, actor_id: int | None = None) -> int:
    """Store a fan-out (committed) and hand it to the background queue; returns its id.

    The row is written first: whatever becomes of the queued job (Redis flushed, the process that was
    to run it stopped), resume_fanouts finds the row and runs it. Its lease starts now, so resume
    leaves it to the job just queued unless that job never claims it."""
    fanout = NotificationFanout(context_id=context.id, actor_id=actor_id, kind=kind[:32], text=clean_text(text),
                                url=clean_url(url), state="queued", last_user_id=0, sent=0, attempts=0,
                                lease_until=utcnow() + _lease())  # fmt: skip
    db.session.add(fanout)
    db.session.commit()
    _dispatch_fanout(fanout.id)
    return fanout.id


def _claimable(now):
    # Queued (whoever queued it: the first claim wins), or running under a lease nobody renewed.
    F = NotificationFanout
    lapsed = or_(F.lease_until.is_(None), F.lease_until < now)
    return and_(F.attempts < FANOUT_MAX_ATTEMPTS, or_(F.state == "queued", and_(F.state == "running", lapsed)))


def claim_fanout(fanout_id: int, now=None) -> str | None:
    """Take a fan-out for this run: its token, or None when it is finished or another run holds it.

    One conditional UPDATE decides, committed at once: of two processes claiming together (on SQLite
    and PostgreSQL alike) one changes the row and the other finds it taken."""
    F = NotificationFanout
    now = now or utcnow()
    token = secrets.token_hex(16)
    won = db.session.execute(
        update(F).where(F.id == fanout_id, _claimable(now))
        .values(state="running", claimed_by=token, lease_until=now + _lease(), attempts=F.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    db.session.commit()
    return token if won else None


def run_fanout(fanout_id: int) -> int:
    """The job: claim the fan-out, then store its recipients CHUNK at a time after the last one
    stored, committing and delivering each batch. Returns how many this run told (0 when the fan-out
    is finished or another run holds it).

    The recipients are read when the run starts (who is under the context now), in ascending id. An
    exception releases the lease (resume_fanouts runs it again); a killed process leaves it to lapse.
    """
    token = claim_fanout(fanout_id)
    if token is None:
        return 0
    try:
        return _run_claimed(fanout_id, token)
    except Exception as exc:
        db.session.rollback()
        F = NotificationFanout
        db.session.execute(
            update(F).where(F.id == fanout_id, F.claimed_by == token)
            .values(claimed_by=None, lease_until=utcnow(), error=f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        db.session.commit()
        raise


def _run_claimed(fanout_id: int, token: str) -> int:
    from lms.access.models import Context

    F = NotificationFanout
    fanout = db.session.get(F, fanout_id)
    kind, text, url, actor_id, last = fanout.kind, fanout.text, fanout.url, fanout.actor_id, fanout.last_user_id
    context = db.session.get(Context, fanout.context_id)
    todo = [uid for uid in members_under(context, exclude=actor_id) if uid > last] if context is not None else []
    told = 0
    for start in range(0, len(todo), CHUNK):
        items = _store_batch(fanout_id, token, todo[start : start + CHUNK], kind, text, url, actor_id)
        if items is None:
            log.warning("notification fan-out %s was taken over by another process: this run stops", fanout_id)
            return told
        deliver(items)
        told += len(items)
    db.session.execute(
        update(F).where(F.id == fanout_id, F.claimed_by == token)
        .values(state="done", finished_at=utcnow(), claimed_by=None, lease_until=None, error=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    db.session.commit()
    return told


def _store_batch(fanout_id: int, token: str, user_ids: list[int], kind, text, url, actor_id):
    """Store one batch and move the fan-out past it in ONE transaction: a run stopped before the
    commit stored neither, one stopped after stored both, so a resumed run never repeats a recipient.
    The progress UPDATE comes first and names this run's token: it locks the row (PostgreSQL) and
    finds nothing when another run took the fan-out over, and then nothing is inserted (None)."""
    F = NotificationFanout
    now = utcnow()
    moved = db.session.execute(
        update(F).where(F.id == fanout_id, F.claimed_by == token, F.state == "running")
        .values(last_user_id=user_ids[-1], sent=F.sent + len(user_ids), attempts=0, lease_until=now + _lease())
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    if not moved:
        db.session.rollback()
        return None
    rows = [
        {"user_id": uid, "kind": kind, "text": text, "url": url, "actor_id": actor_id, "created_at": now}
        for uid in user_ids
    ]
    new_ids = _insert(rows)
    db.session.commit()
    stmt = select(Notification).where(Notification.id.in_(new_ids)).order_by(Notification.id)
    return list(db.session.scalars(stmt))


def _insert(rows: list[dict]) -> list[int]:
    return list(db.session.scalars(insert(Notification).returning(Notification.id), rows))


def resume_fanouts(now=None, here: bool = False) -> list[int]:
    """Run again the fan-outs nobody runs: queued or running under a lapsed lease (their process was
    stopped or lost the job), but not those RQ still holds for a live worker. Those that stored
    nothing in FANOUT_MAX_ATTEMPTS starts are failed instead. Dispatched to the background queue,
    or run in this process one after the other with `here` (the CLI). Returns the ids resumed.

    Called at app start, every minute by the scheduler (lms.core.schedule) and by
    `flask lms resume-fanouts`; several processes may pick the same row: the claim lets one run it."""
    from flask import current_app

    from lms.media.tasks import rq_alive, uses_rq

    F = NotificationFanout
    now = now or utcnow()
    lapsed = and_(F.state.in_(("queued", "running")), or_(F.lease_until.is_(None), F.lease_until < now))
    rows = db.session.execute(select(F.id, F.attempts).where(lapsed).order_by(F.id)).all()
    given_up = [r.id for r in rows if r.attempts >= FANOUT_MAX_ATTEMPTS]
    if given_up:
        db.session.execute(
            update(F).where(F.id.in_(given_up), lapsed)
            .values(state="failed", finished_at=now, claimed_by=None,
                    error=func.coalesce(F.error, f"interrupted {FANOUT_MAX_ATTEMPTS} times"))
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        db.session.commit()
        log.error("notification fan-outs %s stored nothing in %d starts: given up", given_up, FANOUT_MAX_ATTEMPTS)
    ids = [r.id for r in rows if r.attempts < FANOUT_MAX_ATTEMPTS]
    config = current_app.config
    if ids and not here and uses_rq(config):
        alive = rq_alive(config, ids, rq_fanout_id)
        ids = [i for i in ids if i not in alive]
    for fanout_id in ids:
        if here:
            try:
                run_fanout(fanout_id)
            except Exception:  # noqa: BLE001 - recorded on the row; the next one may go through
                log.exception("notification fan-out %s failed", fanout_id)
        else:
            _dispatch_fanout(fanout_id)
    if ids:
        log.warning("notification fan-outs %s were not finished: resumed", ids)
    return ids


def rq_fanout_id(fanout_id: int) -> str:
    """The RQ job id of a fan-out: one per row, so resume_fanouts can ask RQ whether it holds it."""
    return f"lms-fanout-{fanout_id}"


def rq_run_fanout(fanout_id) -> int:
    """The RQ entry point: in the current app context, or in a fresh app (an `rq worker` process).
    A job queued before fan-outs were rows carries its payload (a dict): stored as a row first."""
    from flask import has_app_context

    if not has_app_context():
        from lms import create_app

        with create_app().app_context():
            return rq_run_fanout(fanout_id)
    if isinstance(fanout_id, dict):
        from lms.access.models import Context

        context = db.session.get(Context, fanout_id["context_id"])
        if context is None:
            return 0
        p = fanout_id
        fanout = NotificationFanout(context_id=context.id, actor_id=p.get("actor_id"), kind=p["kind"][:32],
                                    text=clean_text(p["text"]), url=clean_url(p.get("url")), state="queued",
                                    last_user_id=0, sent=0, attempts=0)  # fmt: skip
        db.session.add(fanout)
        db.session.commit()
        fanout_id = fanout.id
    return run_fanout(fanout_id)


def _in_app(app, fanout_id: int) -> None:
    with app.app_context():
        try:
            run_fanout(fanout_id)
        except Exception:  # noqa: BLE001 - a background task has nobody else to tell
            log.exception("notification fan-out %s failed", fanout_id)
            db.session.rollback()
        finally:
            db.session.remove()


def _dispatch_fanout(fanout_id: int, app=None) -> None:
    from flask import current_app

    from lms.media.tasks import rq_queue, uses_rq

    app = app or current_app._get_current_object()
    if uses_rq(app.config):
        from rq import Worker
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        queue = rq_queue(app.config)
        if Worker.count(queue=queue):
            with contextlib.suppress(NoSuchJobError):  # a failed or dead remnant under the same id
                Job.fetch(rq_fanout_id(fanout_id), connection=queue.connection).delete()
            # The media queue's workers run it; at the front, so it waits behind no queued transcode.
            queue.enqueue(rq_run_fanout, fanout_id, job_id=rq_fanout_id(fanout_id), at_front=True, job_timeout=3600,
                          result_ttl=3600, failure_ttl=7 * 86400)  # fmt: skip
            return
        # Nobody would ever run it there: an announcement must not wait for a worker to be started.
        log.warning("no RQ worker listens on queue %r: notification fan-out runs in this process", queue.name)
    task = _start_task(_in_app, app, fanout_id)
    tasks = app.extensions.setdefault("notify_fanouts", [])
    tasks[:] = [t for t in tasks if _alive(t)] + ([task] if task is not None else [])


def _start_task(target, *args):
    """The in-process default: a thread that is not a daemon, so a process that ends normally (a CLI
    command, `lms run-due` from cron, a recycled worker) finishes the job before it exits instead of
    leaving it for a lease to lapse; under gevent a Socket.IO background task (a greenlet)."""
    if socketio.async_mode == "threading":
        task = threading.Thread(target=target, args=args, name="notify-fanout")
        task.start()
        return task
    return socketio.start_background_task(target, *args)


def _alive(task) -> bool:
    alive = getattr(task, "is_alive", None)
    return alive() if alive else not getattr(task, "dead", True)


def wait_fanouts(app, timeout: float = 60) -> None:
    """Wait for this process's background fan-outs (tests; a clean shutdown)."""
    for task in list(app.extensions.get("notify_fanouts", [])):
        task.join(timeout)
    app.extensions["notify_fanouts"] = []


def on_announcement_posted(announcement, context=None, **_):
    """announcement_posted listener: everyone under the announcement's context, but its author; a
    county's or province's audience in the background (notify_under)."""
    from flask import url_for

    context = context or announcement.context
    try:
        url = url_for("activities.announcement", ident=announcement.id)
    except RuntimeError:  # outside a request (CLI, demo)
        url = f"/announcements/{announcement.id}"
    from lms.core.i18n import site_gettext

    # Stored once for every reader, in the site's language whoever posted it (as the activities' notices).
    text = site_gettext("New announcement: %(title)s", title=announcement.title)
    notify_under(context, "announcement", text, url=url, actor_id=announcement.author_id)
