"""Sign-in attempt limits, one budget shared by the sign-in form and the token endpoint.

Only failed attempts count: a school's teachers often sign in from one address (the school's NAT),
and the 11th successful sign-in of a lesson must not be refused. Two budgets: per client address
(LOGIN_RATE_LIMIT), against one machine trying many accounts, and per account (LOGIN_ACCOUNT_RATE_LIMIT),
against many machines guessing one password. Either, once spent, refuses every attempt, even the
right password, until it refills: no guessing around the limit. The per-account budget is the
person's (username and phone number share it).

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


def login_limits(view):
    view = limiter.shared_limit(
        lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
        scope="login.account",
        methods=["POST"],
        key_func=_account,
        deduct_when=_failed,
    )(view)
    return limiter.shared_limit(
        lambda: current_app.config["LOGIN_RATE_LIMIT"],
        scope="login.address",
        methods=["POST"],
        key_func=_address,
        deduct_when=_failed,
    )(view)
