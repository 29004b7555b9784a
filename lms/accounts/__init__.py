"""Accounts: sign-in, sessions, passwords, profiles, API tokens, roster import/export."""


def init_app(app) -> None:
    from lms.core import schedule

    schedule.every(app, "accounts.purge", 600, _purge)


def _purge() -> None:
    """Initial-password sheets nobody downloaded in time, and sign-ins older than any session cookie."""
    from lms.accounts.roster import purge_password_sheets
    from lms.accounts.services import purge_sign_ins

    purge_password_sheets()
    purge_sign_ins()
