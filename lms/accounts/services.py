"""Accounts: sign-in, passwords, profiles, API tokens."""

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, column, select, update
from sqlalchemy import table as sa_table
from werkzeug.security import check_password_hash, generate_password_hash

from lms.accounts.models import ApiToken, SignIn, User
from lms.core.db import utcnow
from lms.extensions import db

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD = 8
# A hash computed once so an unknown username costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    pass


def fully_signed_in(user) -> bool:
    """Signed in, active, and past the one-time password: what a live connection (Socket.IO) needs,
    as the pages and the API demand it of each request."""
    return (
        bool(getattr(user, "is_authenticated", False))
        and bool(getattr(user, "is_active", True))
        and not getattr(user, "must_change_password", False)
    )


def hash_password(password: str) -> str:
    # Werkzeug's default is scrypt, a current memory-hard algorithm.
    return generate_password_hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password_short")
    if password.isdigit() or password.isalpha():
        raise AccountError("password_simple")


def create_user(username: str, name: str, password: str | None = None, **fields) -> User:
    if not USERNAME_RE.match(username or ""):
        raise AccountError("bad_username")
    user = User(username=username, name=name, **fields)
    user.password_hash = hash_password(password) if password else ""
    db.session.add(user)
    return user


def names(ids) -> dict[int, str]:
    """Display names of people by id, in one query (lists of things others wrote)."""
    ids = {int(i) for i in ids if i}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}


def find_by_login(identifier: str) -> User | None:
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    # A username wins over another account's phone number that happens to be spelled the same.
    user = db.session.scalar(select(User).where(User.username == identifier))
    return user or db.session.scalar(select(User).where(User.phone == identifier))


def authenticate(identifier: str, password: str) -> User | None:
    user = find_by_login(identifier)
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.active:
        # Only someone who knows the password learns that the account is off, and why they cannot in.
        raise AccountError("deactivated")
    return user


#: last_seen_at is written at most this often per user: one UPDATE per user every few minutes.
LAST_SEEN_EVERY = timedelta(minutes=5)


def touch_last_seen(user: User, sign_in: str | None = None, sign_in_seen=None) -> None:
    """Record that the user (and their sign-in `sign_in`, last seen at `sign_in_seen`) was active now,
    unless that was already recorded in the last few minutes.

    Called where a request loads its user (session or token), before the view has changed anything,
    so the commit carries nothing but this; it costs one commit per user every LAST_SEEN_EVERY."""
    from sqlalchemy import inspect

    loaded = inspect(user).dict
    now = utcnow()
    changed = False
    # Not loaded: expired by a commit in this request; reading it back would cost a query; next time.
    if "last_seen_at" in loaded and _stale(loaded["last_seen_at"], now):
        db.session.execute(update(User).where(User.id == user.id).values(last_seen_at=now))
        changed = True
    if sign_in is not None and _stale(sign_in_seen, now):
        db.session.execute(update(SignIn).where(SignIn.id == sign_in).values(last_seen_at=now))
        changed = True
    if changed:
        db.session.commit()


def _stale(seen, now) -> bool:
    return seen is None or now - seen >= LAST_SEEN_EVERY


def record_login(user: User) -> None:
    user.last_login_at = utcnow()
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    if not user.password_hash or not check_password_hash(user.password_hash, current or ""):
        raise AccountError("wrong_password")
    set_password(user, new)


def set_password(user: User, new: str, must_change: bool = False) -> None:
    check_password_strength(new)
    user.password_hash = hash_password(new)
    user.must_change_password = must_change
    # Invalidates every other session and all API tokens of this user.
    user.session_version = (user.session_version or 0) + 1
    db.session.query(ApiToken).filter(ApiToken.user_id == user.id).delete()
    _end_all_sign_ins(user)
    db.session.commit()


def reset_password(user: User) -> str:
    """Admin reset: a random one-time password the user must change at next sign-in."""
    temp = generate_initial_password()
    set_password(user, temp, must_change=True)
    return temp


def generate_initial_password() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    return "".join(secrets.choice(alphabet) for _ in range(6)) + "".join(secrets.choice(digits) for _ in range(4))


def update_profile(user: User, *, name: str, phone: str | None, email: str | None, bio: str, subject, stage) -> None:
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise AccountError("bad_name")
    phone = (phone or "").strip() or None
    if phone and not PHONE_RE.match(phone):
        raise AccountError("bad_phone")
    if phone and phone != user.phone:
        taken = db.session.scalar(select(User.id).where(User.phone == phone, User.id != user.id))
        if taken:
            raise AccountError("phone_taken")
    user.name, user.phone, user.email = name, phone, (email or "").strip() or None
    user.bio = (bio or "").strip()[:2000]
    user.subject, user.stage = subject or None, stage or None
    db.session.commit()


#: The Flask session key holding the id of the browser's SignIn row.
SIGN_IN_KEY = "_sign_in"


def load_session_user(session_id: str) -> User | None:
    """Flask-Login user_loader: the id carries the session version, so old cookies die on password change;
    and the session's sign-in must still exist, so a cookie saved before signing out opens nothing.

    One query: the user and their sign-in row, joined on the sign-in's primary key."""
    from flask import session

    sign_in = session.get(SIGN_IN_KEY)
    try:
        uid, version = session_id.split(":")
        uid = int(uid)
    except (ValueError, TypeError, AttributeError):
        return None
    if not isinstance(sign_in, str) or not sign_in:
        return None
    row = db.session.execute(
        select(User, SignIn.last_seen_at)
        .join(SignIn, SignIn.user_id == User.id)
        .where(User.id == uid, SignIn.id == sign_in)
    ).first()
    if row is None:
        return None
    user, seen = row
    if str(user.session_version) != version or not user.active:
        return None
    touch_last_seen(user, sign_in, seen)
    return user


def start_sign_in(user: User, user_agent: str = "", ip: str = "") -> str:
    """A new sign-in row for `user` (the caller puts its id in the session); commits. Sign-ins of this
    user unused for longer than a session cookie lives are dropped on the way."""
    now = utcnow()
    db.session.query(SignIn).filter(SignIn.user_id == user.id, SignIn.last_seen_at < _sign_in_cutoff()).delete()
    sign_in = SignIn(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now, last_seen_at=now,
                     user_agent=summarize_agent(user_agent), ip=(ip or "")[:45])  # fmt: skip
    db.session.add(sign_in)
    db.session.commit()
    return sign_in.id


def _sign_in_cutoff():
    # A cookie is re-signed only by a request, which also moves last_seen_at (at most LAST_SEEN_EVERY late).
    return utcnow() - current_app.permanent_session_lifetime - LAST_SEEN_EVERY


def purge_sign_ins() -> int:
    """Delete sign-ins unused for longer than a session cookie lives (their cookies are dead anyway)."""
    gone = db.session.query(SignIn).filter(SignIn.last_seen_at < _sign_in_cutoff()).delete()
    db.session.commit()
    return gone


def end_sign_in(sign_in: str | None) -> None:
    """Sign-out: the row goes, and with it every copy of the session cookie that names it."""
    if sign_in:
        db.session.query(SignIn).filter(SignIn.id == sign_in).delete()
        db.session.commit()


def sign_ins(user: User) -> list[SignIn]:
    """The user's sign-ins (devices), most recently used first."""
    return list(db.session.scalars(select(SignIn).where(SignIn.user_id == user.id)
                                   .order_by(SignIn.last_seen_at.desc(), SignIn.created_at.desc())))  # fmt: skip


def end_other_sign_ins(user: User, keep: str | None) -> int:
    """Sign out every other device of `user` (all but the sign-in `keep`); returns how many ended."""
    query = db.session.query(SignIn).filter(SignIn.user_id == user.id)
    if keep:
        query = query.filter(SignIn.id != keep)
    ended = query.delete()
    db.session.commit()
    return ended


def _end_all_sign_ins(user: User) -> None:
    # The session version already refuses their cookies; the rows would only clutter the device list.
    db.session.query(SignIn).filter(SignIn.user_id == user.id).delete()


_AGENTS = (("Edg/", "Edge"), ("MicroMessenger", "WeChat"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
           ("Chrome/", "Chrome"), ("Safari/", "Safari"))  # fmt: skip
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))  # fmt: skip


def summarize_agent(agent: str) -> str:
    """A summary such as "Chrome / Windows": enough for a person to recognise their device, without storing the full
    User-Agent string (a fingerprint)."""
    agent = agent or ""
    browser = next((name for mark, name in _AGENTS if mark in agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    if browser and system:
        return f"{browser} / {system}"
    return browser or system or agent[:60]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, days: int, name: str = "") -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), name=name[:64],
                            expires_at=utcnow() + timedelta(days=days)))  # fmt: skip
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    if not token:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None or row.expires_at < utcnow() or not row.user.active:
        return None
    _touch_token(row)
    touch_last_seen(row.user)
    return row.user


#: last_used_at is for an admin judging whether a token is still in use; minute precision would
#: cost a write per API call, so it moves at most once per this interval.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


def _touch_token(row: ApiToken) -> None:
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < TOKEN_TOUCH_INTERVAL:
        return
    row.last_used_at = now
    db.session.commit()


def revoke_token(token: str) -> None:
    db.session.query(ApiToken).filter(ApiToken.token_hash == _hash_token(token)).delete()
    db.session.commit()


def set_locale(user: User, code: str) -> None:
    user.locale = code
    db.session.commit()


def reseal_idcards(old_key: bytes, new_key: bytes | None = None) -> tuple[int, int]:
    """Re-encrypt every stored ID-card number from `old_key` to `new_key` (default: the key in
    effect), in one transaction; returns (re-encrypted, already under the new key).

    Numbers that already open with the new key are left alone, so a second run changes nothing. If
    any number opens with neither key, nothing is changed and IdCardKeyError says how many."""
    from lms.core import idcard

    new_key = new_key or idcard.key_from_config(current_app.config)
    if old_key == new_key:
        raise idcard.IdCardKeyError("the old key is the key in effect: nothing to re-encrypt")
    # An untyped view of the table: the ORM column would decrypt with the key in effect.
    users = sa_table("users", column("id"), column("id_card"))
    changes, current, lost = [], 0, 0
    for uid, stored in db.session.execute(select(users.c.id, users.c.id_card).where(users.c.id_card.is_not(None))):
        if _opens(stored, new_key):
            current += 1
            continue
        try:
            number = idcard.unseal(stored, old_key)  # a number stored before encryption comes back as is
        except idcard.IdCardKeyError:
            lost += 1
            continue
        changes.append({"uid": uid, "sealed": idcard.seal(number, new_key)})
    if lost:
        db.session.rollback()
        raise idcard.IdCardKeyError(f"{lost} stored ID-card numbers open with neither key: nothing was changed")
    if changes:
        db.session.execute(
            update(users).where(users.c.id == bindparam("uid")).values(id_card=bindparam("sealed")), changes
        )
    db.session.commit()
    return len(changes), current


def _opens(stored: str, key: bytes) -> bool:
    from lms.core import idcard

    if not stored.startswith(idcard.SEALED_PREFIX):
        return False
    try:
        idcard.unseal(stored, key)
    except idcard.IdCardKeyError:
        return False
    return True


def token_record(token: str) -> ApiToken | None:
    """The stored row of an API token (for its expiry), or None."""
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))


# --- administration: finding people, resetting passwords, deactivating (issue 2) ----------------
# The views check user.manage on the person first (access.can judges a person by their school and
# by every role they hold); these functions do the change and record who did it.


def search_people(actor, q: str = "", capability: str = "user.manage", role_holders: bool = False,
                  active_only: bool = False, page: int = 1, per_page: int = 20):  # fmt: skip
    """People within the actor's reach for `capability` (access.visible_people), found by part of
    their name or username, or by their phone number (digits typed full-width are folded)."""
    from sqlalchemy import or_
    from sqlalchemy.orm import selectinload

    from lms import access
    from lms.communities.models import School
    from lms.core.pagination import paginate
    from lms.core.text import normalize

    # Schools with their contexts: a per-row check (member.contact on the person) needs no query.
    stmt = select(User).options(selectinload(User.school).selectinload(School.context))
    stmt = access.visible_people(stmt, actor, capability, role_holders=role_holders)
    if active_only:
        stmt = stmt.where(User.active.is_(True))
    q = normalize(q)[:64]
    if q:
        match = [User.name.icontains(q, autoescape=True), User.username.icontains(q, autoescape=True)]
        if q.isdigit() and len(q) >= 3:
            match.append(User.phone.startswith(q, autoescape=True))
        stmt = stmt.where(or_(*match))
    return paginate(stmt.order_by(User.name, User.id), page, per_page)


def _audit(change: str, actor: User, person: User) -> None:
    from lms.access.services import actor_label, audit
    from lms.signals import account_changed

    audit.info("account %s: user %s (%s) by %s", change, person.id, person.username, actor_label(actor))
    account_changed.send(person, change=change, actor=actor)


def admin_reset_password(actor: User, person: User) -> str:
    """A one-time password for `person`, to be shown once to the admin: the person must choose their
    own at the next sign-in, and every session and API token they had ends now."""
    if person.id == actor.id:
        raise AccountError("own_account")
    temp = reset_password(person)
    _audit("password_reset", actor, person)
    return temp


def set_active(actor: User, person: User, active: bool) -> None:
    """Deactivate (no sign-in, no API token, no role counts) or reactivate an account. Deactivating
    also ends every session and token, so reactivating later brings none of them back."""
    from lms.communities.services import recount_person

    if person.id == actor.id:
        raise AccountError("own_account")
    if person.active == active:
        return
    person.active = active
    if not active:
        person.session_version = (person.session_version or 0) + 1
        db.session.query(ApiToken).filter(ApiToken.user_id == person.id).delete()
        _end_all_sign_ins(person)
    recount_person(person)
    db.session.commit()
    _audit("reactivated" if active else "deactivated", actor, person)


def teachers_select(school_ids=None):
    """The active teachers (accounts with a school) as a SELECT other domains aggregate over without
    reading this domain's table: user_id, school_id, signed_in_at (the last sign-in; NULL: never
    signed in), seen_at (the last request), name. `school_ids`: a list or a SELECT of ids."""
    stmt = select(
        User.id.label("user_id"),
        User.school_id.label("school_id"),
        User.last_login_at.label("signed_in_at"),
        User.last_seen_at.label("seen_at"),
        User.name.label("name"),
    ).where(User.active.is_(True), User.school_id.is_not(None))
    return stmt if school_ids is None else stmt.where(User.school_id.in_(school_ids))
