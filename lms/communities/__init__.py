"""Communities: regions, schools, workshops, study groups, membership, and their administration."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.core.slots import register_nav

    # The administration hub, for whoever manages regions, schools, roles or accounts somewhere.
    register_nav(app, "communities.manage_home", _l("Administration"), order=95, visible=_administers)


def _administers(user) -> bool:
    from lms import access

    return any(access.holds_anywhere(user, c) for c in ("region.manage", "school.manage", "role.assign", "user.manage"))
