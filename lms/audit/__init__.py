"""Audit trail: a stored, append-only record of administrative actions (roles, accounts, rosters,
password sheets, the community tree, workshops), filed by listeners of lms.signals so that the
domains doing the actions never import this one; readable by the administrators of each place."""


def init_app(app) -> None:
    from lms.audit import services

    services.connect()
