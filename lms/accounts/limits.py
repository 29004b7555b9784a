"""Sign-in attempt limits, one budget shared by the sign-in form and the token endpoint.

Only failed attempts count: a school's teachers often sign in from one address (the school's NAT),
and the 11th successful sign-in of a lesson must not be refused. Three budgets, each of which, once
spent, refuses every attempt it covers, even the right password, until it refills (no guessing
around the limit):

- per client address (LOGIN_RATE_LIMIT), against one machine trying many accounts;
- per account *and* client address (LOGIN_ACCOUNT_RATE_LIMIT), tight, against one machine guessing
  one password. Keyed on the pair so that a stranger spending it (usernames are sequential, anyone
  can name any teacher) does not lock the owner out: the owner signs in from another address;
- per account from anywhere (LOGIN_ACCOUNT_GLOBAL_RATE_LIMIT), much larger, a brake on guessing one
  password from many machines. Only a distributed attack can spend it, and then the account is
  better locked for a while.

The per-account budgets are the person's (username and phone number share them).

Failures are counted after the answer (Flask-Limiter checks before the request, deducts after it),
so attempts sent in parallel can exceed a budget by the number of requests served at once.
"""

from flask import current_app, g, request

from lms.extensions import limiter


def record_failure() -> None:
    """The view calls this when the password (or account) was wrong: only such attempts are counted."""
    g.login_failed = True


def _failed(_response) -> bool:
    return bool(g.get("login_failed"))


def _address() -> str:
    return request.remote_addr or "?"


def _account() -> str:
    """The username or phone the attempt names (form field `identifier`, API body `login`)."""
    named = request.form.get("identifier")
    if named is None:
        body = request.get_json(silent=True)
        named = body.get("login") if isinstance(body, dict) else None
    named = str(named or "").strip()[:128]
    if not named:
        return "account:?"
    from lms.accounts.services import find_by_login

    # One budget per person, whether they are named by username or by phone number.
    user = find_by_login(named)
    return f"user:{user.id}" if user is not None else "account:" + named.lower()


def _account_from_address() -> str:
    return f"{_account()}@{_address()}"


def login_limits(view):
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_ACCOUNT_GLOBAL_RATE_LIMIT"],
        scope="login.account",
        methods=["POST"],
        key_func=_account,
        deduct_when=_failed,
    )(view)
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
        scope="login.account_address",
        methods=["POST"],
        key_func=_account_from_address,
        deduct_when=_failed,
    )(view)
    return limiter.shared_limit(
        lambda: current_app.config["LOGIN_RATE_LIMIT"],
        scope="login.address",
        methods=["POST"],
        key_func=_address,
        deduct_when=_failed,
    )(view)
