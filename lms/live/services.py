"""Live Q&A 直播答疑: rota, Q&A area, sessions, question queue, chat, stored events.

Everything that matters is written first, as a LiveEvent with the session's next sequence number,
committed, and only then emitted to the room `session:<id>` of the `/live` namespace. A client that
reconnects sends the last seq it saw and gets the events after it (`events_after`).

Permission checks go through lms.access; a refusal raises LiveError("forbidden") so that the
socket events can answer with an error and the views with 403.
"""

import logging
import os
import secrets
import socket
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, false, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from lms import access
from lms.access.models import Context
from lms.core.db import utcnow
from lms.core.i18n import local_text, site_gettext, site_zone
from lms.core.text import plain
from lms.extensions import db, socketio
from lms.live.models import (
    CLOSED_STATUSES,
    DutySlot,
    LiveEvent,
    LiveMessage,
    LiveMute,
    LivePresence,
    LiveQuestion,
    LiveSession,
    LiveVote,
    QaAnswer,
    QaThread,
    SessionExpert,
)

log = logging.getLogger(__name__)

NAMESPACE = "/live"
QUESTION_MAX = 500
CHAT_MAX = 300
TITLE_MAX = 200
SLOW_MODE_MAX = 600
REPLAY_LIMIT = 1000
REMIND_BEFORE = timedelta(minutes=30)
# Flood limits (app config overrides): per person and session, hosts excepted.
LIMIT_DEFAULTS = {
    "LIVE_ASK_PER_MINUTE": 5,  # questions in any 60 seconds
    "LIVE_CHAT_PER_MINUTE": 20,  # chat messages in any 60 seconds
    "LIVE_OPEN_QUESTIONS_MAX": 5,  # one's questions still waiting (open) in a session
}
# Events only hosts see (who was muted): others get a placeholder with the same seq, so that their
# sequence stays gap-free; the muted person gets their own.
HOST_ONLY_KINDS = {"user.muted"}
PLACEHOLDER = "hidden"


class LiveError(Exception):
    """A refused action; str(err) is a code (forbidden, muted, slow_mode, closed, invalid…)."""

    def __init__(self, code: str, **info):
        super().__init__(code)
        self.code = code
        self.info = info


def room(session_id: int) -> str:
    return f"session:{session_id}"


def clean_text(text, limit: int) -> str:
    """Plain text, at most `limit` characters. Only a string (or nothing) is text: a list or a
    number from a socket event is refused, never stored as its repr."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise LiveError("invalid", field="body")
    return plain(text, limit, multiline=True)


def seq_arg(value) -> int:
    """A client's "last seq seen": a non-negative integer (or a string of digits), else invalid."""
    if isinstance(value, bool):
        raise LiveError("invalid")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise LiveError("invalid")
    return value


def _need(user, capability: str, obj) -> None:
    if not access.can(user, capability, obj):
        raise LiveError("forbidden")


def can_view(user, session: LiveSession) -> bool:
    return access.can(user, "live.view", session)


def can_host(user, session: LiveSession) -> bool:
    return access.can(user, "live.host", session)


def can_ask(user, session: LiveSession) -> bool:
    """Asking, voting and chatting (live.ask); watching alone is live.view (supervisors only watch)."""
    return access.can(user, "live.ask", session)


def _limit(name: str) -> int:
    return int(current_app.config.get(name, LIMIT_DEFAULTS[name]))


# --- writing events -------------------------------------------------------------------------------


def _next_seq(session_id: int) -> int:
    # One atomic statement on both backends: the row stays write-locked until commit, so two
    # writers never get the same number and the sequence has no gaps.
    return db.session.execute(
        update(LiveSession)
        .where(LiveSession.id == session_id)
        .values(last_seq=LiveSession.last_seq + 1)
        .returning(LiveSession.last_seq)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def record(session_id: int, kind: str, data: dict) -> dict:
    """Store one event (the caller's transaction commits it); returns what will be emitted."""
    seq = _next_seq(session_id)
    db.session.execute(insert(LiveEvent).values(session_id=session_id, seq=seq, kind=kind, data=data,
                                                created_at=utcnow()))  # fmt: skip
    return {"seq": seq, "kind": kind, "data": data, "session_id": session_id}


def host_room(session_id: int) -> str:
    return f"session:{session_id}:hosts"


def _placeholder(ev: dict) -> dict:
    return {"seq": ev["seq"], "kind": PLACEHOLDER, "data": {}, "session_id": ev["session_id"]}


def emit_events(events: list[dict]) -> None:
    for ev in events:
        if ev["kind"] in HOST_ONLY_KINDS:
            # The hosts (and the person concerned) get it first; the room's placeholder with the
            # same seq then arrives as a repeat for them and fills the gap for everyone else.
            socketio.emit("event", ev, namespace=NAMESPACE, to=host_room(ev["session_id"]))
            for sid in _sids_of(ev["session_id"], ev["data"].get("user_id")):
                socketio.emit("event", ev, namespace=NAMESPACE, to=sid)
            socketio.emit("event", _placeholder(ev), namespace=NAMESPACE, to=room(ev["session_id"]))
        else:
            socketio.emit("event", ev, namespace=NAMESPACE, to=room(ev["session_id"]))


def _sids_of(session_id: int, user_id) -> list[str]:
    if not user_id:
        return []
    return list(db.session.scalars(select(LivePresence.sid).where(LivePresence.session_id == session_id,
                                                                  LivePresence.user_id == user_id)))  # fmt: skip


def _write(fn, attempts: int = 8):
    """Run fn() (which calls record()), commit, then emit its events.

    SQLite answers "database is locked" instead of waiting when two transactions that both read
    want to write; the whole unit is then rolled back and retried. PostgreSQL just waits on the row.
    """
    for attempt in range(attempts):
        try:
            result, events = fn()
            db.session.commit()
            break
        except OperationalError as err:
            db.session.rollback()
            if "locked" not in str(err).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
        except Exception:
            db.session.rollback()  # a refusal found inside the transaction gives its locks back
            raise
    emit_events(events)
    return result


def events_after(session: LiveSession, after, user, limit: int = REPLAY_LIMIT) -> list[dict]:
    """The stored events after seq `after`, as `user` may see them: hidden questions' and removed
    messages' texts were blanked when they were hidden (see _scrub_events); host-only events are
    placeholders for everyone but hosts and the person concerned."""
    after = seq_arg(after)
    host = can_host(user, session)
    rows = db.session.execute(
        select(LiveEvent.seq, LiveEvent.kind, LiveEvent.data)
        .where(LiveEvent.session_id == session.id, LiveEvent.seq > after)
        .order_by(LiveEvent.seq)
        .limit(limit)
    )
    rows = list(rows)
    hidden = set() if host else _hidden_question_ids(session.id, rows)
    out = []
    for s, k, d in rows:
        ev = {"seq": s, "kind": k, "data": d, "session_id": session.id}
        if k in HOST_ONLY_KINDS and not host and (d or {}).get("user_id") != user.id:
            ev = _placeholder(ev)
        elif not host and k in QUESTION_KINDS and _about_hidden(d or {}, hidden):
            # Scrubbed when hidden (_scrub_question); scrubbed again here for events stored before
            # the author was scrubbed too, or by any path that missed it: a hidden question's text
            # and asker reach its moderators only.
            ev = {**ev, "data": _scrub_question(d or {})}
        out.append(ev)
    return out


#: Stored events that carry a question's text and asker (question_dict).
QUESTION_KINDS = ("question.new", "question.status")


def _hidden_question_ids(session_id: int, rows) -> set[int]:
    """Ids of the session's questions hidden now, asked only when the replay holds question events."""
    if not any(k in QUESTION_KINDS for _s, k, _d in rows):
        return set()
    return set(db.session.scalars(select(LiveQuestion.id).where(LiveQuestion.session_id == session_id,
                                                                LiveQuestion.status == "hidden")))  # fmt: skip


def _about_hidden(data: dict, hidden: set[int]) -> bool:
    inner = data.get("question") or {}
    return data.get("id") in hidden or bool(data.get("removed") or inner.get("removed"))


def _scrub_events(session_id: int, kinds: tuple[str, ...], item_id: int, scrub) -> None:
    """Rewrite the stored events of kinds `kinds` about item `item_id` (data.id, or data.message.id
    for pins) with scrub(data): a replay must not bring back what a host took away. In the caller's
    transaction, so the hiding and the rewriting commit together."""
    rows = db.session.scalars(select(LiveEvent).where(LiveEvent.session_id == session_id, LiveEvent.kind.in_(kinds)))
    for ev in rows:
        data = dict(ev.data or {})
        about = data.get("id") if "message" not in data else (data.get("message") or {}).get("id")
        if about == item_id:
            ev.data = scrub(data)


# --- sessions -------------------------------------------------------------------------------------


def get_session(session_id) -> LiveSession | None:
    try:
        return db.session.get(LiveSession, int(session_id))
    except (TypeError, ValueError):
        return None


def contexts_with(user, capability: str) -> list[Context]:
    """Every context where the user holds `capability`: the tops of the subtrees their roles reach
    and everything beneath (a province expert who also hosts a workshop gets the province, its
    cities, counties, schools and workshops). One query."""
    paths = access.services.reach_paths(user, capability)
    if not paths:
        return []
    under = or_(*(Context.path.startswith(p, autoescape=True) for p in paths))
    return list(db.session.scalars(select(Context).where(under).order_by(Context.path)))


def host_contexts(user) -> list[Context]:
    """Contexts where the user may schedule a session (where a role grants live.host)."""
    return contexts_with(user, "live.host")


def may_schedule(user) -> bool:
    """Whether to offer "Schedule a session" at all: from the user's grants, not by loading every
    context under a province admin's reach on each view of the sessions page."""
    return access.services.holds_anywhere(user, "live.host")


def schedule(user, context: Context, title: str, starts_at: datetime, ends_at: datetime, subject=None,
             description: str = "", experts=()) -> LiveSession:  # fmt: skip
    _need(user, "live.host", context)
    title = clean_text(title, TITLE_MAX).replace("\n", " ")
    if not title:
        raise LiveError("invalid", field="title")
    if ends_at <= starts_at:
        raise LiveError("invalid", field="ends_at")
    s = LiveSession(context_id=context.id, title=title, description=clean_text(description, 2000),
                    subject=subject or None, starts_at=starts_at, ends_at=ends_at, created_by_id=user.id)  # fmt: skip
    db.session.add(s)
    db.session.flush()
    ids = [user.id] + [getattr(e, "id", e) for e in experts]
    for uid in dict.fromkeys(ids):
        db.session.add(SessionExpert(session_id=s.id, user_id=uid))
    if starts_at - utcnow() <= REMIND_BEFORE:
        s.reminded_at = utcnow()  # the announcement is the reminder
    db.session.commit()
    _announce(s, user.id)
    return s


# --- notifications --------------------------------------------------------------------------------


def audience(session: LiveSession) -> list[int]:
    """Who is told about a session: the active members under its context (teachers of its subject
    when it has one) and its experts."""
    from lms.notifications.services import members_under

    ids = members_under(session.context, subject=session.subject)
    return list(dict.fromkeys([*ids, *(e.user_id for e in session.experts)]))


def _announce(session: LiveSession, author_id: int) -> None:
    from lms.notifications.services import notify

    when, url = local_text(session.starts_at), f"/live/{session.id}"
    experts = {e.user_id for e in session.experts} - {author_id}
    others = [uid for uid in audience(session) if uid not in experts and uid != author_id]
    notify(others, "live", site_gettext("Live Q&A “%(title)s” is scheduled for %(when)s; you can send questions now.",
                                        title=session.title, when=when), url=url, actor=author_id)  # fmt: skip
    notify(sorted(experts), "live", site_gettext("You are an expert of the live Q&A “%(title)s” at %(when)s.",
                                                 title=session.title, when=when), url=url, actor=author_id)  # fmt: skip


def remind_upcoming(now: datetime | None = None) -> int:
    """Sessions starting within REMIND_BEFORE: tell their audience once (the scheduler runs this).
    Each session is claimed with a conditional UPDATE, so two processes never both send."""
    from lms.notifications.services import notify

    now = now or utcnow()
    due = db.session.scalars(
        select(LiveSession.id).where(LiveSession.status == "scheduled", LiveSession.reminded_at.is_(None),
                                     LiveSession.starts_at > now, LiveSession.starts_at <= now + REMIND_BEFORE)
    ).all()  # fmt: skip
    sent = 0
    for sid in due:
        claimed = db.session.execute(
            update(LiveSession).where(LiveSession.id == sid, LiveSession.reminded_at.is_(None)).values(reminded_at=now)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        s = db.session.get(LiveSession, sid)
        text = site_gettext("Live Q&A “%(title)s” starts at %(when)s.", title=s.title, when=local_text(s.starts_at))
        try:
            notify(audience(s), "live", text, url=f"/live/{s.id}")
        except Exception:
            db.session.rollback()  # give the claim back: the next run tries again
            db.session.execute(update(LiveSession).where(LiveSession.id == sid).values(reminded_at=None))
            db.session.commit()
            raise
        sent += 1
    return sent


def visible_sessions(user, statuses=("scheduled", "live"), limit: int = 20, context: Context | None = None,
                     held: bool = False):  # fmt: skip
    """Sessions the user may watch. The default is "live and upcoming": live ones first, then the
    scheduled ones that have not ended by the clock (one nobody held waits for end_overdue, not
    in this list), soonest first. Ended ones: latest first. `held`: only sessions that went live
    (a session end_overdue closed without it ever starting has nothing to replay)."""
    stmt = select(LiveSession).join(Context, LiveSession.context_id == Context.id)
    stmt = access.visible(stmt, user, "live.view", Context.path)
    if statuses:
        stmt = stmt.where(LiveSession.status.in_(statuses))
    if context is not None:
        stmt = stmt.where(LiveSession.context_id == context.id)
    if held:
        stmt = stmt.where(or_(LiveSession.started_at.is_not(None), LiveSession.video_status != "none"))
    if statuses == ("ended",):
        order = [LiveSession.starts_at.desc()]
    else:
        stmt = stmt.where(or_(LiveSession.status != "scheduled", LiveSession.ends_at > utcnow()))
        order = [case((LiveSession.status == "live", 0), else_=1), LiveSession.starts_at]
    stmt = stmt.options(contains_eager(LiveSession.context))  # the lists show each session's context
    return list(db.session.scalars(stmt.order_by(*order, LiveSession.id).limit(limit)))


def session_experts(session: LiveSession) -> list:
    """The session's experts (users), in the order they were added, in one query."""
    from lms.accounts.models import User

    stmt = select(User).join(SessionExpert, SessionExpert.user_id == User.id)
    return list(db.session.scalars(stmt.where(SessionExpert.session_id == session.id).order_by(SessionExpert.id)))


def _transition(session: LiveSession, status: str, before: tuple[str, ...], now: datetime | None = None) -> bool:
    """Move the session to `status` if it is still in one of `before`: one conditional UPDATE, so
    two processes ending it at once (the host's socket, a form, the scheduler) record it once."""
    now = now or utcnow()
    stamp = {"started_at": now} if status == "live" else {"ended_at": now}

    def work():
        moved = db.session.execute(
            update(LiveSession).where(LiveSession.id == session.id, LiveSession.status.in_(before))
            .values(status=status, **stamp).execution_options(synchronize_session=False)
        ).rowcount  # fmt: skip
        return moved, [record(session.id, "session.status", {"status": status})] if moved else []

    moved = _write(work)
    db.session.expire(session)
    if moved and status in CLOSED_STATUSES:
        from lms.live import video

        video.finish(session)
    return bool(moved)


def set_status(user, session: LiveSession, status: str) -> dict:
    """Host only: scheduled → live → ended. Ending finishes the video recording (VOD replay)."""
    _need(user, "live.host", session)
    order = {"scheduled": 0, "live": 1, "ended": 2}
    if status not in order or order[status] <= order.get(session.status, 3):
        raise LiveError("invalid")
    if not _transition(session, status, tuple(k for k, v in order.items() if v < order[status])):
        raise LiveError("invalid")  # changed meanwhile
    return {"status": status}


def end_overdue(now: datetime | None = None) -> int:
    """Sessions still scheduled or live LIVE_END_GRACE_MINUTES after their end time: nobody ended
    them (the host closed the tab, or never came). End them, finishing any recording; the
    scheduler runs this. Returns how many were ended."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=current_app.config["LIVE_END_GRACE_MINUTES"])
    due = db.session.scalars(
        select(LiveSession).where(LiveSession.status.in_(("scheduled", "live")), LiveSession.ends_at < cutoff)
        .order_by(LiveSession.id)
    ).all()  # fmt: skip
    return sum(1 for s in due if _transition(s, "ended", ("scheduled", "live"), now))


def update_session(user, session: LiveSession, title: str, starts_at: datetime, ends_at: datetime,
                   subject=None, description: str = "") -> LiveSession:  # fmt: skip
    """Whoever may schedule there edits a session that has not ended. A new start time is told to
    the audience (and the reminder comes again before it)."""
    _need(user, "live.host", session)
    if session.status in CLOSED_STATUSES:
        raise LiveError("closed")
    title = clean_text(title, TITLE_MAX).replace("\n", " ")
    if not title:
        raise LiveError("invalid", field="title")
    if ends_at <= starts_at:
        raise LiveError("invalid", field="ends_at")
    moved = session.starts_at != starts_at
    session.title, session.description = title, clean_text(description, 2000)
    session.subject, session.starts_at, session.ends_at = subject or None, starts_at, ends_at
    if moved and session.status == "scheduled":
        session.reminded_at = utcnow() if starts_at - utcnow() <= REMIND_BEFORE else None
    db.session.commit()
    if moved and session.status == "scheduled":
        from lms.notifications.services import notify

        text = site_gettext("Live Q&A “%(title)s” now starts at %(when)s.", title=session.title,
                            when=local_text(session.starts_at))  # fmt: skip
        notify(audience(session), "live", text, url=f"/live/{session.id}", actor=user.id)
    return session


def cancel(user, session: LiveSession, reason: str = "") -> None:
    """Whoever may schedule there calls off a session that has not started; the audience is told.
    A live session is ended instead (its recording becomes the replay)."""
    _need(user, "live.host", session)
    if session.status != "scheduled":
        raise LiveError("not_scheduled")
    if not _transition(session, "cancelled", ("scheduled",)):
        raise LiveError("not_scheduled")
    from lms.notifications.services import notify

    # Threads picked from the Q&A area go back to it, to be picked into another session; their
    # askers hear of the cancellation even when outside the session's audience.
    picked = list(db.session.scalars(select(LiveQuestion.author_id).where(
        LiveQuestion.session_id == session.id, LiveQuestion.thread_id.is_not(None))))  # fmt: skip
    if picked:
        db.session.execute(update(LiveQuestion).where(LiveQuestion.session_id == session.id)
                           .values(thread_id=None).execution_options(synchronize_session=False))  # fmt: skip
        db.session.commit()
    reason = clean_text(reason, 200).replace("\n", " ")
    kw = {"title": session.title, "when": local_text(session.starts_at)}
    if reason:
        text = site_gettext("Live Q&A “%(title)s” at %(when)s is cancelled: %(reason)s", reason=reason, **kw)
    else:
        text = site_gettext("Live Q&A “%(title)s” at %(when)s is cancelled.", **kw)
    notify(list(dict.fromkeys([*audience(session), *picked])), "live", text, url=f"/live/{session.id}", actor=user.id)


def session_state(session: LiveSession, user) -> dict:
    """Everything a page or a joining socket needs to draw the session."""
    mine = set()
    if getattr(user, "is_authenticated", False):
        mine = set(
            db.session.scalars(
                select(LiveVote.question_id)
                .join(LiveQuestion, LiveVote.question_id == LiveQuestion.id)
                .where(LiveQuestion.session_id == session.id, LiveVote.user_id == user.id)
            )
        )
    pinned = db.session.get(LiveMessage, session.pinned_message_id) if session.pinned_message_id else None
    host = bool(getattr(user, "is_authenticated", False) and can_host(user, session))
    return {
        "session_id": session.id,
        "status": session.status,
        "seq": session.last_seq,
        "slow_mode": session.slow_mode_seconds,
        "video": session.video_status,
        # Hosts also see the questions they hid (dimmed), to bring them back.
        "questions": [question_dict(q) for q in ranked_questions(session, include_hidden=host)],
        "messages": [message_dict(m) for m in recent_messages(session)],
        "pinned": message_dict(pinned) if pinned is not None and not pinned.removed else None,
        "voted": sorted(mine),
        "host": host,
        "can_ask": bool(getattr(user, "is_authenticated", False) and can_ask(user, session)),
        "muted": bool(getattr(user, "is_authenticated", False) and is_muted(session, user.id)),
        "muted_users": muted_users(session) if host else [],
        "presence": presence_count(session.id),
    }


# --- questions ------------------------------------------------------------------------------------


def question_dict(q: LiveQuestion) -> dict:
    return {"id": q.id, "body": q.body, "author": q.author.name if q.author else "", "votes": q.vote_count,
            "status": q.status, "merged_into": q.merged_into_id, "thread": q.thread_id}  # fmt: skip


_STATUS_RANK = {"answering": 0, "open": 1, "answered": 2, "hidden": 3}  # live.js ranks the same
#: Statuses counted in LiveSession.question_count (what the lists show): not merged or hidden ones.
COUNTED = {"open", "answering", "answered"}


def ranked_questions(session: LiveSession, include_hidden: bool = False) -> list[LiveQuestion]:
    """Being answered first, then open ones by votes (older first on a tie), then answered ones;
    hidden ones last, for hosts only. Merged duplicates never (their votes are on the target)."""
    statuses = [k for k in _STATUS_RANK if include_hidden or k != "hidden"]
    stmt = select(LiveQuestion).where(LiveQuestion.session_id == session.id, LiveQuestion.status.in_(statuses))
    items = list(db.session.scalars(stmt.options(selectinload(LiveQuestion.author))))
    return sorted(items, key=lambda q: (_STATUS_RANK[q.status], -q.vote_count, q.id))


def _open_for_questions(session: LiveSession) -> None:
    if session.status in CLOSED_STATUSES:
        raise LiveError("closed")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def _flood_check(session: LiveSession, user, model, per_minute: str, open_max: str | None = None) -> None:
    """Slow mode, the per-minute limit and (questions) the cap on one's open questions, for
    non-hosts. Called inside the write transaction after the session row is locked (the counter
    UPDATE), so concurrent sends by the same person are counted one after the other."""
    author = model.author_id if model is LiveQuestion else model.user_id
    mine = (model.session_id == session.id, author == user.id)
    now = utcnow()
    slow = db.session.scalar(select(LiveSession.slow_mode_seconds).where(LiveSession.id == session.id)) or 0
    if slow:
        last = _aware(db.session.scalar(select(func.max(model.created_at)).where(*mine)))
        if last is not None:
            wait = (last + timedelta(seconds=slow) - now).total_seconds()
            if wait > 0:
                raise LiveError("slow_mode", wait=int(wait) + 1)
    recent = select(model.created_at).where(*mine, model.created_at > now - timedelta(seconds=60))
    times = sorted(_aware(t) for t in db.session.scalars(recent))
    if len(times) >= _limit(per_minute):
        wait = (times[-_limit(per_minute)] + timedelta(seconds=60) - now).total_seconds()
        raise LiveError("rate_limited", wait=max(1, int(wait) + 1))
    if open_max is not None:
        waiting = db.session.scalar(select(func.count()).select_from(model).where(*mine, model.status == "open"))
        if waiting >= _limit(open_max):
            raise LiveError("too_many_open", limit=_limit(open_max))


def _lock_session(session_id: int) -> None:
    """Take the session row's write lock until commit (a no-op UPDATE)."""
    db.session.execute(update(LiveSession).where(LiveSession.id == session_id)
                       .values(last_seq=LiveSession.last_seq).execution_options(synchronize_session=False))  # fmt: skip


def ask(user, session: LiveSession, body: str) -> LiveQuestion:
    _need(user, "live.ask", session)
    _open_for_questions(session)
    if is_muted(session, user.id):
        raise LiveError("muted")
    body = clean_text(body, QUESTION_MAX)
    if not body:
        raise LiveError("invalid", field="body")
    host = can_host(user, session)

    def work():
        _count_questions(session.id, 1)  # also locks the session row for the checks below
        if not host:
            _flood_check(session, user, LiveQuestion, "LIVE_ASK_PER_MINUTE", "LIVE_OPEN_QUESTIONS_MAX")
        q = LiveQuestion(session_id=session.id, author_id=user.id, body=body, created_at=utcnow())
        db.session.add(q)
        db.session.flush()
        q.author = user
        return q, [record(session.id, "question.new", question_dict(q))]

    return _write(work)


def _lock_questions(*ids: int) -> dict[int, LiveQuestion]:
    """Lock question rows until commit and read them afresh, so that a status checked here (merged?)
    still holds when the transaction writes. PostgreSQL: SELECT … FOR UPDATE, in id order so two
    writers never wait on each other crosswise. SQLite has no row locks: an UPDATE that matches
    nothing takes its database write lock first, and nothing read afterwards changes before commit."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(LiveQuestion).where(false()).values(status=LiveQuestion.status)
                           .execution_options(synchronize_session=False))  # fmt: skip
    stmt = select(LiveQuestion).where(LiveQuestion.id.in_(ids)).order_by(LiveQuestion.id).with_for_update()
    return {q.id: q for q in db.session.scalars(stmt.execution_options(populate_existing=True))}


def _follow_merges(q: LiveQuestion) -> LiveQuestion:
    """The question a vote for `q` counts on: the one it was merged into (locked too), if any."""
    for _ in range(20):  # a chain A → B → C, never a loop: a merged question cannot be a target
        if q.status != "merged" or not q.merged_into_id:
            break
        q = _lock_questions(q.merged_into_id).get(q.merged_into_id) or q
    return q


def get_question(question_id) -> LiveQuestion | None:
    try:
        return db.session.get(LiveQuestion, int(question_id))
    except (TypeError, ValueError):
        return None


def vote(user, question: LiveQuestion) -> dict:
    """One vote per user and question (a unique row); the counter moves only when a row was added.
    A vote for a merged duplicate goes to the question it was merged into.

    The question's row is locked first and its status read inside the transaction: a merge that
    committed a moment ago sends the vote to its target, and a merge still running waits for this
    vote (or this vote for it), so the vote is never left behind on the duplicate."""
    session = db.session.get(LiveSession, question.session_id)
    _need(user, "live.ask", session)
    _open_for_questions(session)
    qid = question.id

    host = can_host(user, session)

    def work():
        q = _follow_merges(_lock_questions(qid)[qid])
        if q.status == "hidden" and not host:
            # Not there for viewers: a vote would confirm it exists and bring its count back.
            raise LiveError("not_found")
        try:
            with db.session.begin_nested():
                db.session.execute(insert(LiveVote).values(question_id=q.id, user_id=user.id))
        except IntegrityError:
            return {"id": q.id, "votes": q.vote_count, "counted": False}, []
        votes = db.session.execute(
            update(LiveQuestion).where(LiveQuestion.id == q.id)
            .values(vote_count=LiveQuestion.vote_count + 1).returning(LiveQuestion.vote_count)
            .execution_options(synchronize_session=False)
        ).scalar_one()  # fmt: skip
        return {"id": q.id, "votes": votes, "counted": True}, [
            record(session.id, "question.votes", {"id": q.id, "votes": votes})
        ]

    result = _write(work)
    db.session.expire(question)
    return result


def mark(user, question: LiveQuestion, status: str) -> dict:
    """Host only: open → answering → answered (or back to open, or hidden)."""
    session = db.session.get(LiveSession, question.session_id)
    _need(user, "live.host", session)
    if status not in ("open", "answering", "answered", "hidden") or question.status == "merged":
        raise LiveError("invalid")

    def work():
        if _lock_questions(question.id)[question.id].status == "merged":  # merged since it was read
            raise LiveError("invalid")
        events = []
        if status == "answering":
            # One question at a time is being answered: a previous one goes back to open.
            for other in db.session.scalars(select(LiveQuestion).where(
                    LiveQuestion.session_id == session.id, LiveQuestion.status == "answering",
                    LiveQuestion.id != question.id)):  # fmt: skip
                other.status = "open"
                events.append(record(session.id, "question.status", {"id": other.id, "status": "open"}))
        data = {"id": question.id, "status": status}
        if question.status == "hidden" and status != "hidden":
            # Viewers dropped a hidden question: the event brings it back whole.
            data["question"] = {**question_dict(question), "status": status}
        if status == "hidden" and question.status != "hidden":
            _scrub_events(session.id, ("question.new", "question.status"), question.id, _scrub_question)
        counted = (question.status in COUNTED) - (status in COUNTED)
        if counted:
            _count_questions(session.id, -counted)
        question.status = status
        now = utcnow()
        if status == "answering":
            question.answering_at = now  # where the replay's link for this answer starts
        question.answered_at = now if status == "answered" else None
        events.append(record(session.id, "question.status", data))
        return {"id": question.id, "status": status}, events

    return _write(work)


def _scrub_question(data: dict) -> dict:
    if "question" in data:
        return {**data, "question": _blank_question(data["question"] or {})}
    return _blank_question(data)


def _blank_question(data: dict) -> dict:
    """What a hidden question keeps in stored events: enough to place it (id, status, votes), never
    its text or who asked (the asker's name, nor the Q&A-area thread that names them)."""
    out = {**data, "body": "", "removed": True}
    if "author" in out:
        out["author"] = ""
    if "thread" in out:
        out["thread"] = None
    return out


def _count_questions(session_id: int, delta: int) -> None:
    db.session.execute(update(LiveSession).where(LiveSession.id == session_id)
                       .values(question_count=LiveSession.question_count + delta))  # fmt: skip


def merge(user, duplicate: LiveQuestion, target: LiveQuestion) -> dict:
    """Host only: fold a duplicate into another question. Votes combine; a user who voted for both
    counts once. The duplicate stays (status merged) so links and replays still make sense."""
    session = db.session.get(LiveSession, target.session_id)
    _need(user, "live.host", session)
    if (duplicate.id == target.id or duplicate.session_id != target.session_id
            or "merged" in (duplicate.status, target.status)):  # fmt: skip
        raise LiveError("invalid")

    def work():
        # Both rows locked and re-checked: a concurrent merge may have taken either meanwhile, and
        # votes for either wait until the votes are moved.
        rows = _lock_questions(duplicate.id, target.id)
        dup, into = rows.get(duplicate.id), rows.get(target.id)
        if dup is None or into is None or "merged" in (dup.status, into.status):
            raise LiveError("invalid")
        already = select(LiveVote.user_id).where(LiveVote.question_id == into.id)
        db.session.execute(
            insert(LiveVote).from_select(
                ["question_id", "user_id"],
                select(into.id, LiveVote.user_id).where(LiveVote.question_id == dup.id,
                                                        LiveVote.user_id.not_in(already)),
            )
        )  # fmt: skip
        db.session.execute(delete(LiveVote).where(LiveVote.question_id == dup.id))
        # The counter from the stored votes, in the same statement: never a count read earlier.
        counted = select(func.count()).select_from(LiveVote).where(LiveVote.question_id == into.id).scalar_subquery()
        votes = db.session.execute(
            update(LiveQuestion).where(LiveQuestion.id == into.id).values(vote_count=counted)
            .returning(LiveQuestion.vote_count).execution_options(synchronize_session=False)
        ).scalar_one()  # fmt: skip
        dup.vote_count = 0
        if dup.status in COUNTED:
            _count_questions(session.id, -1)  # the list counts it once, as its target
        dup.status = "merged"
        dup.merged_into_id = into.id
        data = {"id": dup.id, "into": into.id, "votes": votes}
        return data, [record(session.id, "question.merged", data)]

    result = _write(work)
    db.session.expire(target)
    return result


# --- chat and moderation --------------------------------------------------------------------------


def message_dict(m: LiveMessage) -> dict:
    return {"id": m.id, "body": m.body, "user_id": m.user_id, "user": m.user.name if m.user else "",
            "at": m.created_at.isoformat() if m.created_at else None}  # fmt: skip


def recent_messages(session: LiveSession, limit: int = 50) -> list[LiveMessage]:
    rows = db.session.scalars(
        select(LiveMessage)
        .options(joinedload(LiveMessage.user))
        .where(LiveMessage.session_id == session.id, LiveMessage.removed.is_(False))
        .order_by(LiveMessage.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def muted_users(session: LiveSession) -> list[dict]:
    """Who is muted in the session (for the host's list, to give the voice back)."""
    from lms.accounts.models import User

    rows = db.session.execute(select(User.id, User.name).join(LiveMute, LiveMute.user_id == User.id)
                              .where(LiveMute.session_id == session.id).order_by(LiveMute.id))  # fmt: skip
    return [{"user_id": uid, "user": name} for uid, name in rows]


def is_muted(session: LiveSession, user_id: int) -> bool:
    return db.session.scalar(select(LiveMute.id).where(LiveMute.session_id == session.id,
                                                       LiveMute.user_id == user_id)) is not None  # fmt: skip


def chat(user, session: LiveSession, body: str) -> LiveMessage:
    _need(user, "live.ask", session)
    _open_for_questions(session)
    host = can_host(user, session)
    if not host and is_muted(session, user.id):
        raise LiveError("muted")
    body = clean_text(body, CHAT_MAX)
    if not body:
        raise LiveError("invalid", field="body")

    def work():
        if not host:
            _lock_session(session.id)
            _flood_check(session, user, LiveMessage, "LIVE_CHAT_PER_MINUTE")
        m = LiveMessage(session_id=session.id, user_id=user.id, body=body, created_at=utcnow())
        db.session.add(m)
        db.session.flush()
        m.user = user
        return m, [record(session.id, "chat.new", message_dict(m))]

    return _write(work)


def get_message(message_id) -> LiveMessage | None:
    try:
        return db.session.get(LiveMessage, int(message_id))
    except (TypeError, ValueError):
        return None


def remove_message(user, message: LiveMessage) -> dict:
    session = db.session.get(LiveSession, message.session_id)
    _need(user, "live.host", session)

    def work():
        message.removed = True
        _scrub_events(session.id, ("chat.new", "chat.pinned"), message.id, _scrub_message)
        events = [record(session.id, "chat.removed", {"id": message.id})]
        if session.pinned_message_id == message.id:
            session.pinned_message_id = None
            events.append(record(session.id, "chat.pinned", {"message": None}))
        return {"id": message.id}, events

    return _write(work)


def _scrub_message(data: dict) -> dict:
    if "message" in data:
        return {**data, "message": None}  # a replayed pin of a removed message unpins
    return {**data, "body": "", "removed": True}


def pin(user, session: LiveSession, message: LiveMessage | None) -> dict:
    """Host only: pin a chat message above the chat (None unpins)."""
    _need(user, "live.host", session)
    if message is not None and (message.session_id != session.id or message.removed):
        raise LiveError("invalid")

    def work():
        session.pinned_message_id = message.id if message is not None else None
        data = {"message": message_dict(message) if message is not None else None}
        return data, [record(session.id, "chat.pinned", data)]

    return _write(work)


def mute(user, session: LiveSession, target_id: int, muted: bool = True) -> dict:
    _need(user, "live.host", session)
    from lms.accounts.models import User

    target = db.session.get(User, int(target_id))
    if target is None or (muted and can_host(target, session)):
        raise LiveError("invalid")

    def work():
        if muted:
            try:
                with db.session.begin_nested():
                    db.session.add(LiveMute(session_id=session.id, user_id=target.id, by_id=user.id))
            except IntegrityError:
                pass
        else:
            db.session.execute(delete(LiveMute).where(LiveMute.session_id == session.id,
                                                      LiveMute.user_id == target.id))  # fmt: skip
        data = {"user_id": target.id, "user": target.name, "muted": muted}
        return data, [record(session.id, "user.muted", data)]

    return _write(work)


def set_slow_mode(user, session: LiveSession, seconds: int) -> dict:
    _need(user, "live.host", session)
    seconds = max(0, min(SLOW_MODE_MAX, int(seconds)))

    def work():
        session.slow_mode_seconds = seconds
        return {"seconds": seconds}, [record(session.id, "session.slow_mode", {"seconds": seconds})]

    return _write(work)


# --- presence -------------------------------------------------------------------------------------


_BOOT = secrets.token_hex(4)


def process_id() -> str:
    """This server process (the pid part changes in a forked worker)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_BOOT}"[:80]


def _presence_cutoff() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config["LIVE_PRESENCE_TTL"])


def presence_count(session_id: int) -> int:
    return db.session.scalar(
        select(func.count(func.distinct(LivePresence.user_id))).where(
            LivePresence.session_id == session_id, LivePresence.seen_at >= _presence_cutoff()
        )
    )


def join_presence(sid: str, session: LiveSession, user) -> None:
    db.session.execute(delete(LivePresence).where(LivePresence.sid == sid))
    now = utcnow()
    db.session.add(LivePresence(sid=sid, session_id=session.id, user_id=user.id, joined_at=now,
                                process=process_id(), seen_at=now))  # fmt: skip
    db.session.commit()


def leave_presence(sid: str) -> list[int]:
    """Forget a socket; returns the sessions it had joined."""
    ids = list(db.session.scalars(select(LivePresence.session_id).where(LivePresence.sid == sid)))
    if ids:
        db.session.execute(delete(LivePresence).where(LivePresence.sid == sid))
        db.session.commit()
    return ids


def close_connections(user_id: int) -> int:
    """Close every joined /live socket of a person, in whichever process holds it (through the
    message queue): a socket that stays open keeps receiving its room's broadcasts, although its
    events are refused once the account is deactivated or its sessions are ended."""
    sids = list(db.session.scalars(select(LivePresence.sid).where(LivePresence.user_id == user_id)))
    for sid in sids:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    return len(sids)


def sweep_presence() -> list[int]:
    """Refresh this process's rows and delete rows no process refreshed within the TTL (a crashed
    or killed process); returns the sessions whose audience changed."""
    cutoff = _presence_cutoff()
    db.session.execute(update(LivePresence).where(LivePresence.process == process_id()).values(seen_at=utcnow()))
    stale = or_(LivePresence.seen_at < cutoff, LivePresence.seen_at.is_(None))
    ids = sorted(set(db.session.scalars(select(LivePresence.session_id).where(stale))))
    if ids:
        db.session.execute(delete(LivePresence).where(stale))
    db.session.commit()
    return ids


# --- on-duty rota and Q&A area --------------------------------------------------------------------


def _hhmm(value: str) -> str:
    try:
        h, m = (int(x) for x in str(value).split(":"))
    except ValueError:
        raise LiveError("invalid", field="time") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise LiveError("invalid", field="time")
    return f"{h:02d}:{m:02d}"


def add_slot(user, context: Context, subject: str, weekday: int, starts: str = "19:00", ends: str = "21:00"):
    _need(user, "live.answer", context)
    weekday = int(weekday)
    if weekday not in range(7):
        raise LiveError("invalid", field="weekday")
    starts, ends = _hhmm(starts), _hhmm(ends)
    if ends <= starts:
        raise LiveError("invalid", field="time")
    slot = DutySlot(expert_id=user.id, context_id=context.id, subject=subject, weekday=weekday, starts=starts,
                    ends=ends)  # fmt: skip
    db.session.add(slot)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise LiveError("duplicate") from None
    return slot


def remove_slot(user, slot: DutySlot) -> None:
    if slot.expert_id != user.id:
        _need(user, "live.host", slot.context)
    db.session.delete(slot)
    db.session.commit()


def rota(user, weekday: int | None = None) -> list[DutySlot]:
    stmt = select(DutySlot).join(Context, DutySlot.context_id == Context.id)
    stmt = stmt.options(contains_eager(DutySlot.context), joinedload(DutySlot.expert))
    stmt = access.visible(stmt, user, "live.view", Context.path)
    if weekday is not None:
        stmt = stmt.where(DutySlot.weekday == weekday)
    return list(db.session.scalars(stmt.order_by(DutySlot.weekday, DutySlot.starts, DutySlot.id)))


def on_duty_today(user, now: datetime | None = None) -> list[DutySlot]:

    local = (now or utcnow()).astimezone(site_zone())
    return rota(user, local.weekday())


def ask_thread(user, context: Context, title: str, body: str, subject=None) -> QaThread:
    _need(user, "live.ask", context)
    title = clean_text(title, TITLE_MAX).replace("\n", " ")
    if not title:
        raise LiveError("invalid", field="title")
    t = QaThread(context_id=context.id, author_id=user.id, title=title, body=clean_text(body, 5000),
                 subject=subject or None)  # fmt: skip
    db.session.add(t)
    db.session.commit()
    _tell_experts(t)
    return t


def duty_experts(context: Context, subject: str | None = None) -> list[int]:
    """Active experts with a duty slot covering `context` (held there or above), for `subject` if
    given, who may still answer there (a slot outlives a revoked role)."""
    from lms.accounts.models import User

    ids = context.path.strip("/").split("/")
    ancestors = [f"/{'/'.join(ids[:i])}/" for i in range(1, len(ids) + 1)]
    stmt = (
        select(User)
        .join(DutySlot, DutySlot.expert_id == User.id)
        .join(Context, DutySlot.context_id == Context.id)
        .where(Context.path.in_(ancestors), User.active.is_(True))
    )
    if subject:
        stmt = stmt.where(DutySlot.subject == subject)
    experts = db.session.scalars(stmt.distinct())
    return sorted(u.id for u in experts if access.can(u, "live.answer", context))


def _tell_experts(t: QaThread) -> None:
    from lms.notifications.services import notify

    experts = [uid for uid in duty_experts(t.context, t.subject) if uid != t.author_id]
    notify(experts, "qa", site_gettext("New question in the Q&A area: “%(title)s”", title=t.title),
           url=f"/live/qa/{t.id}", actor=t.author_id)  # fmt: skip


def answer_thread(user, thread: QaThread, body: str) -> QaAnswer:
    """Anyone who may take part there adds to it; experts' answers are marked as such."""
    _need(user, "live.ask", thread.context)
    body = clean_text(body, 5000)
    if not body:
        raise LiveError("invalid", field="body")
    a = QaAnswer(thread_id=thread.id, author_id=user.id, body=body,
                 by_expert=access.can(user, "live.answer", thread.context))  # fmt: skip
    db.session.add(a)
    db.session.execute(update(QaThread).where(QaThread.id == thread.id)
                       .values(answer_count=QaThread.answer_count + 1))  # fmt: skip
    db.session.commit()
    if thread.author_id != user.id:
        from lms.notifications.services import notify

        kw = {"name": user.name, "title": thread.title}
        if a.by_expert:
            text = site_gettext("Expert %(name)s answered your question “%(title)s”.", **kw)
        else:
            text = site_gettext("%(name)s answered your question “%(title)s”.", **kw)
        notify([thread.author_id], "qa", text, url=f"/live/qa/{thread.id}#answer-{a.id}", actor=user.id)
    return a


def thread_answers(thread: QaThread) -> list[QaAnswer]:
    return list(db.session.scalars(select(QaAnswer).options(joinedload(QaAnswer.author))
                                   .where(QaAnswer.thread_id == thread.id).order_by(QaAnswer.id)))  # fmt: skip


def _expert_answered(thread_id):
    return select(QaAnswer.id).where(QaAnswer.thread_id == thread_id, QaAnswer.by_expert.is_(True)).exists()


def threads(user, page: int = 1, per_page: int = 20, awaiting: bool = False, subject: str | None = None):
    """A page of the Q&A area the user may see, newest first; `awaiting`: only questions no expert
    has answered yet (a colleague's reply does not count), for the experts on duty. Each thread
    gets `expert_answered`."""
    from lms.core.pagination import paginate

    stmt = select(QaThread).join(Context, QaThread.context_id == Context.id)
    stmt = stmt.options(contains_eager(QaThread.context), joinedload(QaThread.author))
    stmt = access.visible(stmt, user, "live.view", Context.path)
    stmt = stmt.where(_not_hidden_from(user))
    if awaiting:
        stmt = stmt.where(~_expert_answered(QaThread.id))
    if subject:
        stmt = stmt.where(QaThread.subject == subject)
    result = paginate(stmt.order_by(QaThread.id.desc()), page, per_page)
    ids = [t.id for t in result.items]
    by_expert = select(QaAnswer.thread_id).where(QaAnswer.thread_id.in_(ids), QaAnswer.by_expert.is_(True))
    answered = set(db.session.scalars(by_expert)) if ids else set()
    for t in result.items:
        t.expert_answered = t.id in answered
    return result


def _hidden_in_live(thread_id):
    """Whether the thread was picked into a live session and its question hidden there."""
    return select(LiveQuestion.id).where(LiveQuestion.thread_id == thread_id, LiveQuestion.status == "hidden").exists()


def _not_hidden_from(user):
    """A condition on QaThread (joined with its Context): not picked-and-hidden, or the user asked it
    or moderates where it was asked. A question a moderator hid in a live session is the thread's
    own text under its asker's name: it leaves the Q&A area with it."""
    hosts = access.scope(user, "live.host").prefixes
    return or_(~_hidden_in_live(QaThread.id), QaThread.author_id == user.id,
               *[Context.path.startswith(p, autoescape=True) for p in hosts])  # fmt: skip


def thread_hidden_from(user, thread: QaThread) -> bool:
    """The thread page's check, agreeing with `threads`: its picked live question is hidden, and the
    user neither asked it nor moderates the thread's context or the session it was hidden in."""
    picked = thread_live_question(thread)
    if picked is None or picked[0].status != "hidden" or thread.author_id == user.id:
        return False
    return not (can_host_in(user, thread.context) or can_host(user, picked[1]))


def ask_contexts(user) -> list[Context]:
    """Where a user may ask in the Q&A area: their own communities (school, workshops) and the
    regions above them."""
    ids = set()
    for g in access.services.grants(user):
        if access.services.carries(g, "live.ask"):
            ids.update(int(x) for x in g.path.strip("/").split("/") if x)
    if not ids:
        return []
    return list(db.session.scalars(select(Context).where(Context.id.in_(ids), Context.kind != "site")
                                   .order_by(Context.path)))  # fmt: skip


def can_host_in(user, context: Context) -> bool:
    return access.can(user, "live.host", context)


# --- picking Q&A-area threads into a session ------------------------------------------------------


def _pickable(session: LiveSession, user, unpicked: bool = True):
    """Threads a host may pick into `session`: that the host may see, asked in its context or below
    or by someone of its audience (a school's thread for a workshop's session: the asker is told
    and can watch), of its subject (or none), with no expert answer yet and not picked before."""
    from lms.notifications.services import members_under

    ctx = session.context
    stmt = select(QaThread).join(Context, QaThread.context_id == Context.id)
    stmt = access.visible(stmt, user, "live.view", Context.path)
    near = or_(Context.path.startswith(ctx.path, autoescape=True), QaThread.author_id.in_(members_under(ctx)))
    stmt = stmt.where(near, ~_expert_answered(QaThread.id))
    if unpicked:
        stmt = stmt.where(~select(LiveQuestion.id).where(LiveQuestion.thread_id == QaThread.id).exists())
    if session.subject:
        stmt = stmt.where(or_(QaThread.subject == session.subject, QaThread.subject.is_(None)))
    return stmt


def collected_threads(user, session: LiveSession, limit: int = 20) -> list[QaThread]:
    """The "collected questions" a host may pick, most discussed first, then the newest (threads
    have no votes: replies are how colleagues show a question matters to them)."""
    if session.closed or not can_host(user, session):
        return []
    stmt = _pickable(session, user).options(contains_eager(QaThread.context), joinedload(QaThread.author))
    return list(db.session.scalars(stmt.order_by(QaThread.answer_count.desc(), QaThread.id.desc()).limit(limit)))


def pick_thread(user, session: LiveSession, thread: QaThread) -> tuple[LiveQuestion, bool]:
    """Host only: put a Q&A-area thread's question into the session's queue, as its asker's question
    (linked back to the thread). Once per thread: a second pick returns the first one's question and
    does nothing (False). The asker is told, with a link to the session."""
    _need(user, "live.host", session)
    _open_for_questions(session)
    if not access.can(user, "live.view", thread.context):
        raise LiveError("forbidden")
    # Whether it was picked is asked last: a pick committed meanwhile makes this one do nothing.
    stmt = _pickable(session, user, unpicked=False).where(QaThread.id == thread.id).with_only_columns(QaThread.id)
    if db.session.scalar(stmt) is None:
        raise LiveError("not_pickable")  # another audience or subject, or an expert answered it already
    done = db.session.scalar(select(LiveQuestion).where(LiveQuestion.thread_id == thread.id))
    if done is not None:
        return done, False
    body = clean_text(f"{thread.title}\n{thread.body}" if thread.body else thread.title, QUESTION_MAX)

    def work():
        q = LiveQuestion(session_id=session.id, author_id=thread.author_id, body=body, thread_id=thread.id)
        try:
            with db.session.begin_nested():  # a concurrent pick of the same thread won
                db.session.add(q)
                db.session.flush()
        except IntegrityError:
            return None, []
        db.session.execute(update(LiveSession).where(LiveSession.id == session.id)
                           .values(question_count=LiveSession.question_count + 1))  # fmt: skip
        return q, [record(session.id, "question.new", question_dict(q))]

    q = _write(work)
    if q is None:
        return db.session.scalar(select(LiveQuestion).where(LiveQuestion.thread_id == thread.id)), False
    if thread.author_id != user.id:
        from lms.notifications.services import notify

        text = site_gettext(
            "Your question “%(title)s” from the Q&A area will be answered in the live Q&A “%(session)s” at %(when)s.",
            title=thread.title, session=session.title, when=local_text(session.starts_at),
        )  # fmt: skip
        notify([thread.author_id], "live", text, url=f"/live/{session.id}", actor=user.id)
    return q, True


def thread_live_question(thread: QaThread):
    """(question, session) the thread was picked into, or None."""
    row = db.session.execute(
        select(LiveQuestion, LiveSession).join(LiveSession, LiveQuestion.session_id == LiveSession.id)
        .where(LiveQuestion.thread_id == thread.id)
    ).first()  # fmt: skip
    return tuple(row) if row else None
