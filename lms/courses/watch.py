"""Video playback and honest watch-time: media grants, rendition serving, heartbeats, progress.

Serving. A lesson page (after the full permission check) hands the player URLs of the form
/watch/<lesson>/<grant>/master.m3u8. The grant names an expiry and the lesson's rendition folder and
is signed for the lesson and this *sign-in* (through the WATCH_COOKIE value, derived from the session's
user key and its server-side sign-in, accounts.models.SignIn): each of the many segment requests (one
every 2 s per viewer) is checked without touching the database, and a URL copied into another
browser answers 403. The signature is the one nginx's secure_link module computes, so behind
deploy/nginx-watch.conf nginx checks grants and sends the files without asking the app; the app checks
them itself otherwise (and for anything nginx refuses).

Revocation. nginx cannot ask whether a sign-in still exists, so grants are short (WATCH_GRANT_SECONDS,
5 minutes by default) and the player renews them through the app (the sources endpoint: active
account, live sign-in, permission on the course) well before they lapse, in place during playback.
Signing out, a password change or reset, deactivation and "sign out other devices" therefore stop a
copied grant + cookie at nginx within WATCH_GRANT_SECONDS, and at the app at once (revoke(): the
process that made the change forgets its cached answers on commit; other processes within
ACCOUNT_CHECK_SECONDS). A new sign-in gets a new cookie, so no grant outlives its sign-in's cookie.

Watch-time. The player sends a heartbeat every ~10-15 s and on play/pause/seek/visibility changes:
position, whether it is playing and visible, and a signed viewing token (one per page view). The
server credits the interval since the previous heartbeat of the same viewing only if that heartbeat
said playing and visible, and then no more than:
  - the wall-clock time elapsed (server clock; playbackRate > 1 earns real time only), at most
    MAX_GAP_SECONDS for one interval;
  - the media position advanced (seeking forward earns nothing; seeking back earns nothing for the
    jump, the player reports the position before the jump as `end`);
  - what is left of the lesson's duration in this viewing.
One viewing per teacher credits at a time: the viewing holding the lease (WatchState) while it plays;
another tab's heartbeats are answered with lease=false and earn nothing until the holder pauses,
ends or falls silent for LEASE_SECONDS. Totals per lesson, course and teacher are maintained here.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Float, bindparam, case, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from lms.core.db import utcnow
from lms.courses.watch_models import CourseProgress, LessonProgress, WatchState
from lms.extensions import db
from lms.signals import watch_time_credited

# --- the course-study score (DOMAIN.md §9) ----------------------------------------------------------

FULL_SCORE_MINUTES = 1260
FULL_SCORE_POINTS = 35.0


def course_study_score(seconds: float, full_minutes: int = FULL_SCORE_MINUTES,
                       points: float = FULL_SCORE_POINTS) -> float:  # fmt: skip
    """Points for credited course-study time: linear up to `points` at `full_minutes` (1,260 = 35)."""
    if seconds <= 0:
        return 0.0
    return round(min(points, points * seconds / (full_minutes * 60)), 2)


def study_hours(seconds: float) -> float:
    """Credited seconds as study hours 学时 (one decimal)."""
    return round(max(0.0, seconds) / 3600, 1)


# --- media grants ------------------------------------------------------------------------------------

#: Rendition folders are hls/<stored file>/<job> (lms.media.tasks._transcode_claimed). A grant names the pair,
#: so nginx finds a grant's files without asking the app (deploy/nginx-watch.conf).
RENDITION_DIR = re.compile(r"^hls/([A-Za-z0-9_]{1,40})/([A-Za-z0-9_]{1,40})$")
#: <expires>.<file>-<job>.<signature>: the expiry in Unix seconds (what nginx's secure_link reads),
#: the rendition, and 22 characters of base64url MD5.
GRANT = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_]{1,40})-([A-Za-z0-9_]{1,40})\.([A-Za-z0-9_-]{22})$")
#: The cookie that binds grants to one browser session for nginx (it cannot read Flask's session).
WATCH_COOKIE = "lms_watch"
#: Files a rendition folder may hold (lms.media.ffmpeg.transcode): nothing else is ever served.
MEDIA_NAME = re.compile(
    r"^(?:master\.m3u8|video\.mp4|poster\.jpg|[0-9a-z]{1,8}/(?:index\.m3u8|seg_\d{1,6}\.(?:ts|m4s)|init\.mp4))$"
)
#: Content type and Cache-Control max-age per extension. Segments, MP4 and poster never change under
#: a URL (a new transcode gets a new folder, and the grant names the folder); playlists are kept short.
MEDIA_TYPES = {
    "m3u8": ("application/vnd.apple.mpegurl", 30, False),
    "ts": ("video/mp2t", 31536000, True),
    "m4s": ("video/iso.segment", 31536000, True),
    "mp4": ("video/mp4", 31536000, True),
    "jpg": ("image/jpeg", 86400, False),
}


@dataclass(frozen=True)
class GrantKey:
    cookie: bytes  # HMAC key of the watch cookie
    link: str  # the secret nginx's secure_link_md5 appends (WATCH_LINK_SECRET)


def link_secret(config) -> str:
    """WATCH_LINK_SECRET, or one derived from SECRET_KEY (`flask lms nginx-watch-secret` prints it)."""
    return (
        config.get("WATCH_LINK_SECRET")
        or hashlib.sha256(b"lms.watch.link:" + config["SECRET_KEY"].encode()).hexdigest()
    )


def _key() -> GrantKey:
    app = current_app._get_current_object()
    key = app.extensions.get("watch_grant_key")
    if key is None:
        secret = app.config["SECRET_KEY"].encode()
        key = app.extensions["watch_grant_key"] = GrantKey(
            hashlib.sha256(b"lms.watch.cookie:" + secret).digest(), link_secret(app.config)
        )
    return key


def holder(session_user: str, sign_in: str) -> str:
    """Whom grants are issued to: the session's user key ("<id>:<session version>") and its sign-in id.

    A grant is signed for this string (through watch_cookie), so it dies with the sign-in: a new sign-in
    (another cookie), signing out (the row is gone: the app refuses; nginx once the grant lapses), a
    password change or deactivation (a new session version)."""
    return f"{session_user}|{sign_in}"


def watch_cookie(holder: str, key: GrantKey | None = None) -> str:
    """The WATCH_COOKIE value of this sign-in (see holder()): opaque, new with every sign-in."""
    mac = hmac.new((key or _key()).cookie, holder.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).rstrip(b"=").decode()


def _sign(head: str, scope: int | str, cookie: str, key: GrantKey) -> str:
    # Exactly deploy/nginx-watch.conf's secure_link_md5 expression (MD5 is all secure_link offers; the
    # secret comes last, so the input an attacker controls cannot extend it). `scope` is the lesson id,
    # or "live<session id>" for a live session's grant (lms.live.video), so neither passes for the other.
    digest = hashlib.md5(f"{head}|{scope}|{cookie}|{key.link}".encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def grant_seconds() -> int:
    return max(2, int(current_app.config["WATCH_GRANT_SECONDS"]))


def grant_expires(now: float | None = None, seconds: int | None = None) -> int:
    """The expiry of a grant issued now: at most `seconds` (WATCH_GRANT_SECONDS) ahead, rounded down
    to a step of a fifth of it (at most a minute).

    The rounding gives the same URLs to the page views and renewals of one step, so a reload within
    the minute finds its segments in the browser's cache; the grant lives between 4/5 of the
    configured seconds and all of them (the bound on how long nginx serves a revoked sign-in)."""
    seconds = grant_seconds() if seconds is None else max(2, int(seconds))
    step = max(1, min(60, seconds // 5))
    now = time.time() if now is None else now
    return (int(now) + seconds) // step * step


def media_grant(holder: str, lesson_id: int, folder: str, now: float | None = None,
                seconds: int | None = None) -> str | None:  # fmt: skip
    """A grant for this sign-in (holder()) to fetch the files of this lesson's rendition `folder`
    (grant_expires() says for how long). None for a folder that is not a transcode's."""
    m = RENDITION_DIR.match(folder or "")
    if m is None:
        return None
    expires = grant_expires(now, seconds)
    key = _key()
    head = f"{expires}.{m[1]}-{m[2]}"
    return f"{head}.{_sign(head, lesson_id, watch_cookie(holder, key), key)}"


def grant_expiry(grant: str) -> int | None:
    """The expiry (Unix time) a grant names, unchecked; None when it is malformed."""
    m = GRANT.match(grant)
    return int(m[1]) if m else None


def check_grant(holder: str | None, lesson_id: int, grant: str, now: float | None = None,
                key: GrantKey | None = None) -> str | None:  # fmt: skip
    """The rendition folder the grant names if it is genuine, unexpired and this sign-in's; else None."""
    m = GRANT.match(grant)
    if not holder or m is None:
        return None
    if int(m[1]) < (time.time() if now is None else now):
        return None
    key = key or _key()
    head = grant.rpartition(".")[0]
    if not hmac.compare_digest(m[4], _sign(head, lesson_id, watch_cookie(holder, key), key)):
        return None
    return f"hls/{m[2]}/{m[3]}"


# --- live video grants (lms.live.video uses them; the same key, cookie and nginx secret) ------------------

#: <expires>.<signature> of a live session's grant: the session id is in the URL, its folder is
#: live/<id> (lms.live.video.relpath), so the grant needs to name nothing else.
LIVE_GRANT = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{22})$")
#: What a live folder holds (lms.media.live_hls): the playlist and 1-second segments.
LIVE_NAME = re.compile(r"^(?:index\.m3u8|seg_\d{1,6}\.ts)$")


def live_grant(holder: str, session_id: int, now: float | None = None, seconds: int | None = None) -> str:
    """A grant for this sign-in to fetch a live session's playlist and segments (the caller checked
    live.view); as short-lived as a lesson's (grant_expires)."""
    expires = grant_expires(now, seconds)
    key = _key()
    return f"{expires}.{_sign(str(expires), f'live{session_id}', watch_cookie(holder, key), key)}"


def check_live_grant(holder: str | None, session_id: int, grant: str, now: float | None = None) -> bool:
    """Whether the grant is genuine, unexpired, this sign-in's and this session's."""
    m = LIVE_GRANT.match(grant or "")
    if not holder or m is None or int(m[1]) < (time.time() if now is None else now):
        return False
    key = _key()
    return hmac.compare_digest(m[2], _sign(m[1], f"live{session_id}", watch_cookie(holder, key), key))


# --- who is asking: the session cookie, without loading the user ------------------------------------------


def session_user() -> str | None:
    """The signed-in user's key in the session cookie ("<id>:<session version>"), without loading the user.

    The same check Flask-Login's strong session protection makes (the cookie was issued to this
    browser) is made here too, and the account must still be active with that session version and sign-in
    (account_ok: a query once a minute per key, so heartbeats and segments stay query-free).
    """
    from flask import session
    from flask_login.utils import _create_identifier

    key = session.get("_user_id")
    if not key:
        return None
    if current_app.login_manager.session_protection and session.get("_id") != _create_identifier():
        return None
    return key if account_ok(key, session.get("_sign_in")) else None


def request_holder() -> str | None:
    """Whom this browser's grants are for (holder(): the user key and the sign-in), if its session
    passes session_user()."""
    from flask import session

    key = session_user()
    return holder(key, session["_sign_in"]) if key else None


#: The paths WATCH_COOKIE is sent to: course video (/watch/) and live video (/live/).
WATCH_COOKIE_PATHS = ("/watch/", "/live/")


def set_watch_cookie(holder: str, path: str = "/watch/") -> None:
    """Bind this browser's grants for nginx (WATCH_COOKIE, on the response to this request; the app
    itself reads the session)."""
    from flask import after_this_request, request

    value = watch_cookie(holder)
    if request.cookies.get(WATCH_COOKIE) == value:  # sent to this request's path: set there already
        return

    @after_this_request
    def _set(resp):
        config = current_app.config
        resp.set_cookie(WATCH_COOKIE, value, path=path, httponly=True, samesite="Lax",
                        secure=config["SESSION_COOKIE_SECURE"],
                        max_age=int(current_app.permanent_session_lifetime.total_seconds()))  # fmt: skip
        return resp


_RENDITIONS: dict[int, tuple[str | None, float]] = {}
_RENDITIONS_LOCK = threading.Lock()
RENDITION_CACHE_SECONDS = 30


def rendition_dir(lesson_id: int) -> str | None:
    """The lesson's rendition folder (relative to MEDIA_ROOT), from a 30-second per-process cache."""
    now = time.monotonic()
    hit = _RENDITIONS.get(lesson_id)
    if hit is not None and now - hit[1] < RENDITION_CACHE_SECONDS:
        return hit[0]
    from lms.courses.models import Lesson

    value = db.session.scalar(select(Lesson.rendition_dir).where(Lesson.id == lesson_id, Lesson.kind == "video"))
    with _RENDITIONS_LOCK:
        if len(_RENDITIONS) > 10000:
            _RENDITIONS.clear()
        _RENDITIONS[lesson_id] = (value, now)
    return value


def cached_rendition_dir(lesson_id: int) -> str | None:
    """The cached folder if the cache holds a fresh one, else None (no database access)."""
    hit = _RENDITIONS.get(lesson_id)
    if hit is not None and time.monotonic() - hit[1] < RENDITION_CACHE_SECONDS:
        return hit[0]
    return None


def forget_rendition(lesson_id: int | None = None) -> None:
    """Drop cached rendition folders (after a new transcode was published, and in tests)."""
    with _RENDITIONS_LOCK:
        if lesson_id is None:
            _RENDITIONS.clear()
        else:
            _RENDITIONS.pop(lesson_id, None)


def media_response(lesson_id: int, folder: str, name: str):
    """Serve one file of the rendition `folder` a grant named (the caller checked the grant): 404 for
    anything not in the lesson's current rendition (a newer transcode, or none any more: the player
    asks for fresh URLs)."""
    from flask import abort

    from lms.media.services import send_path

    if not MEDIA_NAME.match(name):
        abort(404)
    if rendition_dir(lesson_id) != folder:
        # This process's cache may predate a swap another process made (a grant for the new folder):
        # ask the database once before refusing.
        forget_rendition(lesson_id)
        if rendition_dir(lesson_id) != folder:
            abort(404)
    mimetype, max_age, immutable = MEDIA_TYPES[name.rsplit(".", 1)[1]]
    resp = send_path(f"{folder}/{name}", mimetype=mimetype, max_age=max_age)
    resp.headers["Cache-Control"] = f"private, max-age={max_age}" + (", immutable" if immutable else "")
    return resp


# --- accounts ------------------------------------------------------------------------------------------

#: Seconds the hot paths trust an account's standing without asking the database again (in a process
#: other than the one that revoked it: see revoke()).
ACCOUNT_CHECK_SECONDS = 60
_ACCOUNTS: dict[str, tuple[bool, float, float]] = {}  # key -> (answer, trusted until, asked at)
_ACCOUNTS_LOCK = threading.Lock()
#: Revocations this process saw, with their time.monotonic(): by user id (int), by sign-in id (str),
#: of everyone (None). A cached answer from before a revocation that concerns it is not trusted.
_REVOKED: dict[int | str | None, float] = {}


def revoked_since(user_id: int, sign_in: str | None, checked_at: float) -> bool:
    """Whether this process saw this user's or this sign-in's revocation after `checked_at`."""
    get = _REVOKED.get
    return get(user_id, 0.0) >= checked_at or get(None, 0.0) >= checked_at or get(sign_in, 0.0) >= checked_at


def revoke(targets=None) -> None:
    """Stop trusting this process's cached answers about these users (ints) or sign-ins (str ids);
    about everyone: None.

    Called after the commit that ended a sign-in, changed a session version or deactivated an account
    (see watch_revocations), so the app refuses the old cookie and grants at once in this process;
    the next request asks the database. Other processes' caches expire within ACCOUNT_CHECK_SECONDS
    (a per-request question to a shared store would cost the hot paths what the caches save)."""
    now = time.monotonic()
    with _ACCOUNTS_LOCK:
        if targets is None:
            _REVOKED.clear()
            _REVOKED[None] = now
            _ACCOUNTS.clear()
            return
        if len(_REVOKED) > 20000:
            _REVOKED.clear()
            _REVOKED[None] = now
        for target in targets:
            _REVOKED[target] = now


def _user_of(session_user: str) -> int:
    try:
        return int(session_user.partition(":")[0])
    except ValueError:
        return -1


def account_ok(session_user: str | None, sign_in: str | None = None, cached: bool = True) -> bool:
    """Whether the session's user key ("<id>:<session version>") still names an active account of that
    session version (deactivated, or signed out everywhere by a password change: no), and the
    session's sign-in (accounts.models.SignIn) still exists (signed out: no).

    The media and heartbeat paths read only the signed cookie, so this is their look at the account:
    one query per key and ACCOUNT_CHECK_SECONDS per process (not one per heartbeat or segment), and
    again at once after this process revoked the user (revoke()).
    """
    if not session_user or not isinstance(sign_in, str) or not sign_in:
        return False
    now = time.monotonic()
    cache_key = f"{session_user}|{sign_in}"
    hit = _ACCOUNTS.get(cache_key)
    if cached and hit is not None and now < hit[1] and not revoked_since(_user_of(session_user), sign_in, hit[2]):
        return hit[0]
    from sqlalchemy import and_

    from lms.accounts.models import SignIn, User

    uid, _, version = session_user.partition(":")
    try:
        row = db.session.execute(
            select(User.active, User.session_version, SignIn.id)
            .outerjoin(SignIn, and_(SignIn.user_id == User.id, SignIn.id == sign_in))
            .where(User.id == int(uid))
        ).first()
    except ValueError:
        return False
    ok = row is not None and bool(row.active) and str(row.session_version) == version and row.id is not None
    with _ACCOUNTS_LOCK:
        if len(_ACCOUNTS) > 20000:
            _ACCOUNTS.clear()
        _ACCOUNTS[cache_key] = (ok, now + ACCOUNT_CHECK_SECONDS, now)
    return ok


def forget_accounts() -> None:
    """Drop this process's cached account answers (tests; after deactivating accounts in bulk)."""
    with _ACCOUNTS_LOCK:
        _ACCOUNTS.clear()


_REVOCATIONS_WATCHED = False


def watch_revocations() -> None:
    """Call revoke() after every commit that ended sign-ins or changed an account's session version or
    active flag, wherever it was made (sign-out, "sign out other devices", password change or reset,
    deactivation, a bulk purge): the accounts domain need not know about these caches.

    Sign-ins are ended with bulk DELETEs (accounts.services); what they end is read from the
    statement's `user_id = ...` or `id = ...` criterion (a user's devices, one sign-out); a DELETE with
    neither (a purge of stale rows) revokes everyone: one database question per cached session, once."""
    global _REVOCATIONS_WATCHED
    if _REVOCATIONS_WATCHED:  # SQLAlchemy's events are global: once per process, however many apps
        return
    _REVOCATIONS_WATCHED = True
    from sqlalchemy import event
    from sqlalchemy.orm import Session, object_session
    from sqlalchemy.sql import operators, visitors

    from lms.accounts.models import SignIn, User

    def pending(session) -> set:
        return session.info.setdefault("lms_watch_revoke", set())

    def changed(target, value, old, _initiator):
        session = object_session(target)
        if session is not None and target.id is not None and value != old:
            pending(session).add(target.id)

    event.listen(User.session_version, "set", changed)
    event.listen(User.active, "set", changed)

    sign_ins = SignIn.__tablename__

    @event.listens_for(Session, "do_orm_execute")
    def _deleted(state):
        if not state.is_delete or getattr(getattr(state.statement, "table", None), "name", None) != sign_ins:
            return
        targets = set()
        where = state.statement.whereclause
        for node in visitors.iterate(where) if where is not None else ():
            if getattr(node, "operator", None) is not operators.eq:
                continue
            column, value = getattr(node.left, "key", None), getattr(node.right, "value", None)
            if (column == "user_id" and isinstance(value, int)) or (column == "id" and isinstance(value, str)):
                targets.add(value)
        pending(state.session).update(targets or {None})

    @event.listens_for(Session, "after_commit")
    def _committed(session):
        targets = session.info.pop("lms_watch_revoke", None)
        if targets:
            revoke(None if None in targets else targets)

    @event.listens_for(Session, "after_soft_rollback")
    def _rolled_back(session, _previous):
        session.info.pop("lms_watch_revoke", None)


# --- viewings ------------------------------------------------------------------------------------------

VIEWING_HOURS = 12
LEASE_SECONDS = 60
MAX_GAP_SECONDS = 60
#: A lesson is completed once this share of its duration was credited (in any number of viewings).
COMPLETION_SHARE = 0.9


@dataclass(frozen=True)
class Viewing:
    session_user: str
    user_id: int
    lesson_id: int
    course_id: int
    duration: float
    id: str


def _viewing_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="lms.watch.viewing")


def start_viewing(session_user: str, lesson) -> str:
    """A signed token naming a new viewing of this lesson by this session's user (one per page view);
    the caller checked the account (watch_views.session_user)."""
    uid = int(session_user.split(":", 1)[0])
    duration = float(lesson.duration_seconds or 0)
    return _viewing_serializer().dumps([session_user, uid, lesson.id, lesson.course_id, duration, secrets.token_hex(8)])


def load_viewing(token: str, session_user: str | None) -> Viewing | None:
    """The viewing a heartbeat names, if the token is genuine, fresh and issued to this session's user."""
    if not session_user or not isinstance(token, str) or len(token) > 400:
        return None
    loaded = load_viewing_fields(token)
    if loaded is None or not hmac.compare_digest(str(loaded[0][0]), session_user):
        return None
    return Viewing(*loaded[0])


def load_viewing_fields(token: str) -> tuple[tuple, float] | None:
    """(the Viewing's fields, when the token was signed) of a genuine, fresh token, else None."""
    try:
        fields, signed_at = _viewing_serializer().loads(token, max_age=VIEWING_HOURS * 3600, return_timestamp=True)
        su, uid, lesson_id, course_id, duration, vid = fields
    except (BadSignature, ValueError, TypeError):
        return None
    return (str(su), int(uid), int(lesson_id), int(course_id), float(duration), str(vid)), signed_at.timestamp()


@dataclass
class Beat:
    credited: float
    lease: bool
    lesson_seconds: float
    completed: bool


def clock() -> float:
    """The server clock heartbeats are measured with (tests replace it)."""
    return time.time()


def _finite(x, lo: float, hi: float) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return min(max(float(x), lo), hi)


def heartbeat(viewing: Viewing, *, position, playing: bool, visible: bool, end=None,
              now: float | None = None) -> Beat:  # fmt: skip
    """Record one heartbeat of a viewing and credit what the rules allow (see the module docstring).

    `position` is the media time now; `end` (optional) the media time at the end of the interval
    just played when the player jumped since (a seek), so the jump itself earns nothing. Commits.
    """
    now = clock() if now is None else now
    # SQLite has one writer at a time, and a writer that finds the database locked sleeps and polls
    # (1, 2, 5 ... 100 ms): many threads of one process racing for it made the heartbeats' tail
    # latency seconds long. So this process's heartbeats take turns on a lock first (a few hundred
    # microseconds each) and only one per process competes with the other processes.
    lock = _SQLITE_WRITER if db.session.get_bind().dialect.name == "sqlite" else contextlib.nullcontext()
    with lock:
        try:
            return _heartbeat(viewing, position, playing, visible, end, now)
        except IntegrityError:
            # Two first heartbeats at once both inserted the teacher's rows: the other one won; again,
            # now that the rows exist (this time only UPDATEs). Or the lesson was deleted while its
            # player was open (its progress rows cannot be written): that viewing is over.
            db.session.rollback()
            from lms.courses.models import Lesson

            if db.session.scalar(select(Lesson.id).where(Lesson.id == viewing.lesson_id)) is None:
                raise ViewingGone("viewing") from None
            try:
                return _heartbeat(viewing, position, playing, visible, end, now)
            except IntegrityError:
                db.session.rollback()
                raise ViewingGone("viewing") from None


class ViewingGone(ValueError):
    """The lesson (or course) of a viewing is gone: the player must stop, not retry."""


_SQLITE_WRITER = threading.Lock()


@cache
def _hot():
    """The heartbeat's statements, built once with bound parameters (building and cache-keying them
    on every heartbeat cost more CPU than running them)."""
    ws, lp, cp = WatchState.__table__, LessonProgress.__table__, CourseProgress.__table__
    same_row = (
        ws.c.user_id == bindparam("b_uid"),
        func.coalesce(ws.c.beat_at, -1.0) == bindparam("b_old", type_=Float),
    )
    far = bindparam("b_far", type_=Float)
    return SimpleNamespace(
        state=select(ws.c.viewing, ws.c.lesson_id, ws.c.beat_at, ws.c.position, ws.c.playing, ws.c.viewing_seconds,
                     ws.c.carry).where(ws.c.user_id == bindparam("b_uid")),
        hold=update(ws).where(*same_row).values(
            beat_at=bindparam("b_now"), position=bindparam("b_pos"), playing=bindparam("b_active"),
            viewing_seconds=ws.c.viewing_seconds + bindparam("b_credit", type_=Float),
            seconds=ws.c.seconds + bindparam("b_credit", type_=Float), carry=bindparam("b_carry")),
        take=update(ws).where(*same_row).values(
            viewing=bindparam("b_vid"), lesson_id=bindparam("b_lid"), beat_at=bindparam("b_now"),
            position=bindparam("b_pos"), playing=bindparam("b_active"), viewing_seconds=0.0),
        lesson=update(lp).where(lp.c.user_id == bindparam("b_uid"), lp.c.lesson_id == bindparam("b_lid")).values(
            seconds=lp.c.seconds + bindparam("b_credit", type_=Float), last_position=bindparam("b_pos"),
            updated_at=bindparam("b_when"), max_position=case((lp.c.max_position < far, far), else_=lp.c.max_position),
        ).returning(lp.c.seconds, lp.c.completed),
        course=update(cp).where(cp.c.user_id == bindparam("b_uid"), cp.c.course_id == bindparam("b_cid")).values(
            seconds=cp.c.seconds + bindparam("b_credit", type_=Float), updated_at=bindparam("b_when")),
    )  # fmt: skip


def _heartbeat(viewing: Viewing, position, playing, visible, end, now: float) -> Beat:
    limit = viewing.duration + 5 if viewing.duration > 0 else 86400.0
    position = _finite(position, 0.0, limit)
    if position is None:
        raise ValueError("position")
    end = _finite(end, 0.0, limit) if end is not None else position
    if end is None:
        raise ValueError("end")
    active = bool(playing) and bool(visible)
    uid, lesson_id = viewing.user_id, viewing.lesson_id
    ws = WatchState.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        # Heartbeats are many and each is worth seconds: do not wait for the WAL flush at commit (a
        # crash may lose the last fraction of a second of them, never consistency).
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    hot = _hot()
    state = db.session.execute(hot.state, {"b_uid": uid}).first()
    credit = 0.0
    holder = True
    whole_seconds = 0
    if state is None:
        db.session.execute(insert(ws).values(user_id=uid, seconds=0.0, viewing=viewing.id, lesson_id=lesson_id,
                                             beat_at=now, position=position, playing=active, viewing_seconds=0.0,
                                             carry=0.0))  # fmt: skip
    else:
        held = bool(state.viewing) and state.playing and state.beat_at is not None
        fresh = held and now - state.beat_at <= LEASE_SECONDS
        params = {"b_uid": uid, "b_old": state.beat_at if state.beat_at is not None else -1.0, "b_now": now,
                  "b_pos": position, "b_active": active}  # fmt: skip
        if state.viewing == viewing.id and state.lesson_id == lesson_id:
            if state.playing and state.beat_at is not None:
                wall = min(max(0.0, now - state.beat_at), MAX_GAP_SECONDS)
                left = max(0.0, viewing.duration - (state.viewing_seconds or 0.0))
                credit = max(0.0, min(wall, end - state.position, left))
            carry = (state.carry or 0.0) + credit
            whole_seconds = int(carry)
            stmt = hot.hold
            params.update(b_credit=credit, b_carry=carry - whole_seconds)
        elif not fresh:
            # The lease is free (the holder paused, ended or went silent): this viewing takes it; its
            # interval starts now, so the takeover itself earns nothing.
            stmt = hot.take
            params.update(b_vid=viewing.id, b_lid=lesson_id)
        else:
            holder, stmt = False, None
        # Optimistic: only if no other heartbeat changed the row since we read it (two tabs at once).
        if stmt is not None and not db.session.execute(stmt, params).rowcount:
            credit, holder, whole_seconds = 0.0, False, 0

    lesson_seconds, completed = _record_lesson(viewing, position, max(position, end), credit)
    db.session.commit()
    if whole_seconds >= 1 and watch_time_credited.receivers:
        from lms.accounts.models import User

        user = db.session.get(User, uid)
        watch_time_credited.send(user, lesson_id=lesson_id, course_id=viewing.course_id, seconds=whole_seconds)
    return Beat(round(credit, 3), holder, lesson_seconds, completed)


def _record_lesson(viewing: Viewing, position: float, furthest: float, credit: float) -> tuple[float, bool]:
    lp = LessonProgress.__table__
    now_dt = utcnow()
    hot = _hot()
    params = {"b_uid": viewing.user_id, "b_lid": viewing.lesson_id, "b_cid": viewing.course_id, "b_credit": credit,
              "b_pos": position, "b_far": furthest, "b_when": now_dt}  # fmt: skip
    row = db.session.execute(hot.lesson, params).first()
    if row is None:
        db.session.execute(insert(lp).values(user_id=viewing.user_id, lesson_id=viewing.lesson_id,
                                             course_id=viewing.course_id, seconds=credit, max_position=furthest,
                                             last_position=position, completed=False, updated_at=now_dt))  # fmt: skip
        seconds, completed = credit, False
    else:
        seconds, completed = row
    newly = not completed and viewing.duration > 0 and seconds >= COMPLETION_SHARE * viewing.duration
    if newly:
        db.session.execute(update(lp).where(lp.c.user_id == viewing.user_id, lp.c.lesson_id == viewing.lesson_id)
                           .values(completed=True))  # fmt: skip
        completed = True
    if credit > 0 or newly:
        cp = CourseProgress.__table__
        done = db.session.execute(hot.course, params).rowcount
        if not done:
            db.session.execute(insert(cp).values(user_id=viewing.user_id, course_id=viewing.course_id, seconds=credit,
                                                 lessons_completed=0, updated_at=now_dt))  # fmt: skip
    if newly:
        # Whether the lesson now counts depends on its quiz too: recount (once per lesson and teacher).
        recount_completed(viewing.course_id, viewing.user_id)
    return round(seconds, 1), completed


# --- reading progress ------------------------------------------------------------------------------------


def lesson_state(user_id: int, lesson_id: int, duration: float | None = None) -> dict:
    """For the player: where to resume (0 when watched to near the end), credited seconds, completed."""
    row = db.session.execute(
        select(LessonProgress.last_position, LessonProgress.seconds, LessonProgress.completed)
        .where(LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson_id)
    ).first()  # fmt: skip
    if row is None:
        return {"resume": 0.0, "seconds": 0.0, "completed": False}
    pos = row.last_position or 0.0
    if duration and pos >= duration - 5:
        pos = 0.0
    return {"resume": round(pos, 1), "seconds": row.seconds or 0.0, "completed": bool(row.completed)}


def lesson_progress(user_id: int, course_id: int) -> dict[int, LessonProgress]:
    """The teacher's rows for one course, by lesson id (one query)."""
    rows = db.session.scalars(
        select(LessonProgress).where(LessonProgress.user_id == user_id, LessonProgress.course_id == course_id)
    )
    return {r.lesson_id: r for r in rows}


def total_seconds(user_id: int) -> float:
    return db.session.scalar(select(WatchState.seconds).where(WatchState.user_id == user_id)) or 0.0


def seconds_of(user_ids) -> dict[int, float]:
    """Credited study seconds of each of these teachers (0 for those who never studied), one query."""
    ids = list({int(u) for u in user_ids})
    out = dict.fromkeys(ids, 0.0)
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        out.update(
            db.session.execute(
                select(WatchState.user_id, WatchState.seconds).where(WatchState.user_id.in_(chunk))
            ).all()
        )
    return out


def study_select():
    """Credited study time per teacher as a SELECT (user_id, seconds) that other domains (learning
    statistics) join to their own, without reading this domain's tables."""
    return select(WatchState.user_id.label("user_id"), WatchState.seconds.label("seconds"))


def course_progress_select():
    """Per teacher and course: user_id, course_id, seconds, finished (every lesson done), for
    course-choice statistics."""
    from lms.courses.models import Course

    finished = case((CourseProgress.lessons_completed >= func.coalesce(Course.lesson_count, 0), 1), else_=0)
    return select(
        CourseProgress.user_id.label("user_id"),
        CourseProgress.course_id.label("course_id"),
        CourseProgress.seconds.label("seconds"),
        finished.label("finished"),
    ).join(Course, Course.id == CourseProgress.course_id)


def done_lessons(user_col, course_id):
    """The number of lessons of a course done by the teacher in `user_col` (a correlated subquery): the
    lesson's content completed (video watched to COMPLETION_SHARE, text or document opened) and, for
    a lesson with an instant quiz, the quiz passed. Lessons deleted since do not count."""
    from lms.courses.models import Lesson, QuizQuestion

    lp, ls, qq = LessonProgress.__table__, Lesson.__table__, QuizQuestion.__table__
    has_quiz = select(qq.c.id).where(qq.c.lesson_id == lp.c.lesson_id).exists()
    return (
        select(func.count())
        .select_from(lp.join(ls, ls.c.id == lp.c.lesson_id))
        .where(lp.c.user_id == user_col, lp.c.course_id == course_id, lp.c.completed.is_(True),
               or_(lp.c.quiz_passed.is_(True), ~has_quiz))
        .scalar_subquery()
    )  # fmt: skip


def recount_completed(course_id: int, user_id: int | None = None) -> None:
    """Set lessons_completed of the course's progress rows (one teacher's, or everyone's after a
    lesson or quiz question was added or deleted) from done_lessons. Credited seconds stay: the time
    was studied."""
    cp = CourseProgress.__table__
    stmt = update(cp).where(cp.c.course_id == course_id)
    if user_id is not None:
        stmt = stmt.where(cp.c.user_id == user_id)
    db.session.execute(stmt.values(lessons_completed=done_lessons(cp.c.user_id, course_id)))


def _touch_course(user_id: int, course_id: int) -> None:
    """Make sure the teacher has a course row (the personal space lists courses from them)."""
    cp = CourseProgress.__table__
    exists = db.session.scalar(select(cp.c.id).where(cp.c.user_id == user_id, cp.c.course_id == course_id))
    if exists is None:
        db.session.execute(insert(cp).values(user_id=user_id, course_id=course_id, seconds=0.0, lessons_completed=0,
                                             updated_at=utcnow()))  # fmt: skip
    else:
        db.session.execute(update(cp).where(cp.c.id == exists).values(updated_at=utcnow()))


def _mark(user_id: int, lesson, **values) -> bool:
    """Set flags on the teacher's row of a lesson (made if missing) and recount the course; commits.
    False when nothing changed (already set: no write on every page view)."""
    lp = LessonProgress.__table__
    row = db.session.execute(
        select(lp.c.id, *[lp.c[k] for k in values]).where(lp.c.user_id == user_id, lp.c.lesson_id == lesson.id)
    ).first()  # fmt: skip
    if row is not None and all(getattr(row, k) == v for k, v in values.items()):
        return False
    try:
        if row is None:
            db.session.execute(insert(lp).values(user_id=user_id, lesson_id=lesson.id, course_id=lesson.course_id,
                                                 seconds=0.0, max_position=0.0, last_position=0.0,
                                                 updated_at=utcnow(), **{"completed": False, **values}))  # fmt: skip
        else:
            db.session.execute(update(lp).where(lp.c.id == row.id).values(updated_at=utcnow(), **values))
        _touch_course(user_id, lesson.course_id)
        recount_completed(lesson.course_id, user_id)
        db.session.commit()
    except IntegrityError:  # the same teacher's other tab made the rows at the same moment: it counted
        db.session.rollback()
        return False
    return True


def mark_read(user_id: int, lesson) -> bool:
    """A text or document lesson was opened: its content counts as done (nothing finer measures reading)."""
    if lesson.kind == "video":
        return False
    return _mark(user_id, lesson, completed=True)


def mark_quiz_passed(user_id: int, lesson) -> bool:
    return _mark(user_id, lesson, quiz_passed=True)


def my_progress(user_id: int, limit: int = 8) -> dict:
    """A teacher's study totals and their most recent courses (for the personal space)."""
    from lms.courses.models import Course

    seconds = total_seconds(user_id)
    rows = db.session.execute(
        select(Course.id, Course.title, Course.lesson_count, CourseProgress.seconds, CourseProgress.lessons_completed)
        .join(CourseProgress, CourseProgress.course_id == Course.id)
        .where(CourseProgress.user_id == user_id)
        .order_by(CourseProgress.updated_at.desc(), Course.id)
        .limit(limit)
    ).all()  # fmt: skip
    courses = [_course_row(*r) for r in rows]
    return {"seconds": seconds, "minutes": int(seconds // 60), "hours": study_hours(seconds),
            "score": course_study_score(seconds), "full_minutes": FULL_SCORE_MINUTES,
            "full_points": FULL_SCORE_POINTS, "percent": _pct(seconds, FULL_SCORE_MINUTES * 60),
            "courses": courses}  # fmt: skip


def course_progress(user_id: int, course) -> dict:
    """A teacher's progress in one course: each lesson (credited time, done, where to resume) and the
    course totals. As on the course page and in the personal space (done_lessons), every lesson
    counts: its content completed (a video watched to COMPLETION_SHARE, a text or document opened)
    and its instant quiz, if it has one, passed."""
    from lms.courses.models import QuizQuestion

    rows = lesson_progress(user_id, course.id)
    ids = [x.id for x in course.lessons]
    quizzed = select(QuizQuestion.lesson_id).where(QuizQuestion.lesson_id.in_(ids))
    with_quiz = set(db.session.scalars(quizzed)) if ids else set()
    lessons = []
    for lesson in course.lessons:
        lp = rows.get(lesson.id)
        seconds = (lp.seconds or 0.0) if lp else 0.0
        duration = lesson.duration_seconds or 0
        done = bool(lp and lp.completed and (lp.quiz_passed or lesson.id not in with_quiz))
        lessons.append({"lesson_id": lesson.id, "kind": lesson.kind, "seconds": round(seconds, 1),
                        "minutes": int(seconds // 60), "completed": done,
                        "percent": _pct(seconds, duration) if lesson.kind == "video" else (100 if done else 0),
                        "resume": round(lp.last_position or 0.0, 1) if lp else 0.0})  # fmt: skip
    completed = sum(1 for x in lessons if x["completed"])
    seconds = db.session.scalar(
        select(CourseProgress.seconds).where(CourseProgress.user_id == user_id, CourseProgress.course_id == course.id)
    ) or 0.0  # fmt: skip
    return {"lessons": lessons, "seconds": round(seconds, 1), "minutes": int(seconds // 60),
            "lesson_count": len(lessons), "completed": completed, "percent": _pct(completed, len(lessons))}  # fmt: skip


def _pct(part: float, whole: float) -> int:
    return int(min(100, 100 * part / whole)) if whole else 0


def _course_row(course_id, title, lessons, seconds, completed) -> dict:
    """A course's progress: done lessons of all its lessons (Course.lesson_count, maintained), and the
    credited video time in whole seconds (pages show seconds below a minute, not "0 minutes")."""
    lessons = lessons or 0
    completed = min(completed or 0, lessons)
    seconds = int(seconds or 0)
    return {"id": course_id, "title": title, "lessons": lessons, "completed": completed, "seconds": seconds,
            "minutes": seconds // 60, "percent": _pct(completed, lessons)}  # fmt: skip


def progress_groups(user, workshop):
    """Whose progress the user may see in this workshop: [] for everyone (stats.view), the study groups
    they lead (group.progress, checked in the workshop, then narrowed to their own groups), or None.
    The one rule of the progress page, its panel and the API."""
    from lms import access
    from lms.communities.services import led_groups

    if access.can(user, "stats.view", workshop):
        return []
    if access.can(user, "group.progress", workshop):
        return led_groups(user, workshop) or None
    return None


def workshop_progress(workshop, page: int = 1, per_page: int = 20, groups: list[int] | None = None) -> dict:
    """One page of a workshop's members with their study totals and per-course progress (3 queries);
    `groups`: only the members of these study groups (what a group leader sees)."""
    from lms.communities.services import member_page
    from lms.courses.models import Course

    members = member_page(workshop, page=page, per_page=per_page, groups=groups)
    ids = [row[0].id for row in members.items]
    totals = seconds_of(ids) if ids else {}
    courses: dict[int, list] = {}
    if ids:
        for uid, *rest in db.session.execute(
            select(CourseProgress.user_id, Course.id, Course.title, Course.lesson_count, CourseProgress.seconds,
                   CourseProgress.lessons_completed)
            .join(Course, Course.id == CourseProgress.course_id)
            .where(CourseProgress.user_id.in_(ids))
            .order_by(CourseProgress.user_id, Course.title)
        ):  # fmt: skip
            courses.setdefault(uid, []).append(_course_row(*rest))
    rows = []
    for user, _group_id in members.items:
        seconds = totals.get(user.id, 0.0)
        rows.append({"user": user, "minutes": int(seconds // 60), "hours": study_hours(seconds),
                     "score": course_study_score(seconds), "percent": _pct(seconds, FULL_SCORE_MINUTES * 60),
                     "courses": courses.get(user.id, [])})  # fmt: skip
    return {"members": members, "rows": rows, "full_minutes": FULL_SCORE_MINUTES, "full_points": FULL_SCORE_POINTS}


# --- what the views need from the course catalogue --------------------------------------------------------


def watchable_lesson(user, lesson_id: int):
    """The video lesson, if the user may watch it (its course is visible to them); 404 otherwise."""
    from flask import abort

    from lms.courses.models import Lesson

    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not lesson.playable or not can_watch(user, lesson.course):
        abort(404)
    return lesson


def can_watch(user, course) -> bool:
    """Whoever may see the course may watch its videos (the catalogue's rule, lms.courses.services)."""
    try:
        from lms.courses.services import may_view
    except ImportError:  # the catalogue services are not there yet: the same rule, spelled out
        from lms import access

        return access.can(user, "course.manage", course.context) or (
            course.published and access.can(user, "community.view", course.context)
        )
    return may_view(user, course)


def media_urls(holder: str, lesson) -> dict:
    """The player's URLs for a lesson with a rendition (the caller checked that the user may watch), the
    grant in them, and its expiry: Unix time and seconds from now (`ttl`, what the player schedules its
    renewal by, so its clock need not agree with ours)."""
    from flask import url_for

    now = time.time()
    grant = media_grant(holder, lesson.id, lesson.rendition_dir, now=now)
    if grant is None:
        return {}

    def url(name: str) -> str:
        return url_for("watch.media", lesson_id=lesson.id, grant=grant, name=name)

    expires = grant_expiry(grant)
    return {"master": url("master.m3u8"), "mp4": url("video.mp4"), "poster": url("poster.jpg"), "grant": grant,
            "expires": expires, "ttl": max(0, int(expires - now))}  # fmt: skip
