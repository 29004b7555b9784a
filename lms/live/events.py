"""Socket.IO namespace /live: one room per session (`session:<id>`).

Connect needs a signed-in user (from the Flask-Login session cookie); every event checks its own
permission through the services (lms.access). Events answer through the acknowledgement:
{"ok": true, ...} or {"ok": false, "error": code}. Stored changes reach everyone in the room as
"event" messages carrying their per-session seq.
"""

import logging
import threading
import time

from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, disconnect, join_room, leave_room

from lms.extensions import db, socketio
from lms.live import services
from lms.live.services import LiveError

PRESENCE_EVERY = 1.0  # seconds: presence counts are coalesced, not sent on every join


def _fail(err: LiveError) -> dict:
    return {"ok": False, "error": err.code, **err.info}


def _guard(fn):
    def wrapper(self, data=None):
        user = current_user
        if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
            # Signed out, deactivated or its password reset since it connected: close the socket,
            # or it would go on receiving its rooms' broadcasts.
            disconnect()
            return {"ok": False, "error": "unauthorized"}
        if not isinstance(data, dict):
            return {"ok": False, "error": "invalid"}
        try:
            return fn(self, user, data)
        except LiveError as err:
            db.session.rollback()
            return _fail(err)
        except (TypeError, ValueError, KeyError):
            db.session.rollback()
            return {"ok": False, "error": "invalid"}

    wrapper.__name__ = fn.__name__
    return wrapper


def _session(data, host: bool = False):
    s = services.get_session(data.get("session_id"))
    if s is None or not services.can_view(current_user, s):
        raise LiveError("not_found")
    if host and not services.can_host(current_user, s):
        raise LiveError("forbidden")
    return s


def _text(data, key) -> str:
    """A text field of an event: a string, or absent (""); anything else (a list, a number) is invalid."""
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise LiveError("invalid", field=key)
    return value


def _int(data, key) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LiveError("invalid", field=key)
    return int(value)


def _question(data, key="question_id"):
    q = services.get_question(data.get(key))
    if q is None:
        raise LiveError("not_found")
    s = services.get_session(q.session_id)
    if not services.can_view(current_user, s):
        raise LiveError("not_found")
    return q


class _Presence:
    """Coalesces presence broadcasts: at most one per session every PRESENCE_EVERY seconds."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending: set[int] = set()

    def changed(self, app, session_id: int) -> None:
        with self.lock:
            if session_id in self.pending:
                return
            self.pending.add(session_id)
        socketio.start_background_task(self._send, app, session_id)

    def _send(self, app, session_id: int) -> None:
        time.sleep(PRESENCE_EVERY)
        with self.lock:
            self.pending.discard(session_id)
        with app.app_context():
            try:
                count = services.presence_count(session_id)
            finally:
                db.session.remove()
        socketio.emit("presence", {"session_id": session_id, "count": count}, namespace=services.NAMESPACE,
                      to=services.room(session_id))  # fmt: skip


presence = _Presence()


class _Sweeper:
    """One background task per process, started with its first join: refreshes this process's
    presence rows and removes those of processes that stopped (see LivePresence)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started_in: int | None = None  # pid: a forked worker starts its own

    def ensure(self, app) -> None:
        import os

        with self.lock:
            if self.started_in == os.getpid():
                return
            self.started_in = os.getpid()
        socketio.start_background_task(self._run, app)

    def _run(self, app) -> None:
        while True:
            time.sleep(app.config["LIVE_PRESENCE_TTL"] / 3)
            self.sweep(app)

    @staticmethod
    def sweep(app) -> None:
        with app.app_context():
            try:
                changed = services.sweep_presence()
            except Exception:  # noqa: BLE001 - a failed sweep (database restarting) is retried next time
                db.session.rollback()
                logging.getLogger(__name__).exception("presence sweep failed")
                changed = []
            finally:
                db.session.remove()
        for session_id in changed:
            presence.changed(app, session_id)


sweeper = _Sweeper()


class LiveNamespace(Namespace):
    def on_connect(self, auth=None):
        user = current_user
        from lms.accounts.services import fully_signed_in

        if not fully_signed_in(user):
            raise ConnectionRefusedError("unauthorized")

    def on_disconnect(self, reason=None):
        from flask import current_app

        ids = services.leave_presence(request.sid)
        for sid in ids:
            presence.changed(current_app._get_current_object(), sid)

    @_guard
    def on_join(self, user, data):
        """Join a session's room; `last_seq` (what the client saw) returns the missed events."""
        from flask import current_app

        s = _session(data)
        last_seq = services.seq_arg(data["last_seq"]) if data.get("last_seq") is not None else None
        join_room(services.room(s.id))
        if services.can_host(user, s):
            join_room(services.host_room(s.id))  # host-only events (who was muted)
        services.join_presence(request.sid, s, user)
        app = current_app._get_current_object()
        sweeper.ensure(app)
        presence.changed(app, s.id)
        # The joiner counts at once; the coalesced broadcast tells the others a moment later.
        reply = {"ok": True, "seq": s.last_seq, "presence": services.presence_count(s.id)}
        if last_seq is not None:
            reply["missed"] = services.events_after(s, last_seq, user)
        if data.get("state"):
            reply["state"] = services.session_state(s, user)
        return reply

    @_guard
    def on_leave(self, user, data):
        from flask import current_app

        s = _session(data)
        leave_room(services.room(s.id))
        leave_room(services.host_room(s.id))
        app = current_app._get_current_object()
        for sid in services.leave_presence(request.sid):
            presence.changed(app, sid)
        return {"ok": True}

    @_guard
    def on_replay(self, user, data):
        s = _session(data)
        return {"ok": True, "events": services.events_after(s, data.get("after", 0), user)}

    @_guard
    def on_ask(self, user, data):
        q = services.ask(user, _session(data), _text(data, "body"))
        return {"ok": True, "id": q.id}

    @_guard
    def on_vote(self, user, data):
        return {"ok": True, **services.vote(user, _question(data))}

    @_guard
    def on_mark(self, user, data):
        return {"ok": True, **services.mark(user, _question(data), _text(data, "status"))}

    @_guard
    def on_merge(self, user, data):
        dup, target = _question(data), _question(data, "into_id")
        return {"ok": True, **services.merge(user, dup, target)}

    @_guard
    def on_chat(self, user, data):
        m = services.chat(user, _session(data), _text(data, "body"))
        return {"ok": True, "id": m.id}

    @_guard
    def on_remove(self, user, data):
        m = services.get_message(data.get("message_id"))
        if m is None:
            raise LiveError("not_found")
        _session({"session_id": m.session_id})
        return {"ok": True, **services.remove_message(user, m)}

    @_guard
    def on_pin(self, user, data):
        s = _session(data)
        m = services.get_message(data["message_id"]) if data.get("message_id") else None
        return {"ok": True, **services.pin(user, s, m)}

    @_guard
    def on_mute(self, user, data):
        muted = data.get("muted", True)
        if not isinstance(muted, bool):
            raise LiveError("invalid", field="muted")
        return {"ok": True, **services.mute(user, _session(data), _int(data, "user_id"), muted)}

    @_guard
    def on_slow_mode(self, user, data):
        return {"ok": True, **services.set_slow_mode(user, _session(data), _int({"seconds": 0, **data}, "seconds"))}

    @_guard
    def on_status(self, user, data):
        return {"ok": True, **services.set_status(user, _session(data), _text(data, "status"))}

    @_guard
    def on_video(self, user, data):
        """A MediaRecorder chunk (binary) from the host's browser, in order."""
        from lms.live import video

        s = _session(data, host=True)
        if data.get("stop"):  # the host stopped the camera: the broadcast is free at once
            return {"ok": True, **video.release(s, user)}
        chunk = data.get("chunk")
        if not isinstance(chunk, bytes | bytearray):
            raise LiveError("invalid")
        n = _int(data, "n") if data.get("n") is not None else None
        rec = _int(data, "rec") if data.get("rec") is not None else None
        return {"ok": True, **video.feed(s, bytes(chunk), n, rec, user=user, container=_text(data, "type"))}


def init_socketio(socketio_) -> None:
    socketio_.on_namespace(LiveNamespace(services.NAMESPACE))
