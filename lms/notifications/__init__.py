"""Notifications domain: stored per-user messages, live delivery over Socket.IO /notify."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.core.slots import register_nav
    from lms.extensions import socketio
    from lms.notifications import services
    from lms.notifications.events import init_socketio
    from lms.signals import announcement_posted

    init_socketio(socketio)
    announcement_posted.connect(services.on_announcement_posted, weak=False)
    register_nav(app, "notifications.index", _l("Notifications"), order=10, side="user",
                 template="notifications/_badge.html")  # fmt: skip
    # On a phone the menu is collapsed: the bell and its count stay beside the menu button.
    register_nav(app, "notifications.index", _l("Notifications"), order=10, side="bar",
                 template="notifications/_bell.html")  # fmt: skip

    @app.context_processor
    def _unread():
        from flask import g
        from flask_login import current_user

        def notifications_unread():
            if not getattr(current_user, "is_authenticated", False):
                return 0
            # Both the phone bell and the menu badge ask; one query per page.
            if "notifications_unread" not in g:
                g.notifications_unread = services.unread_count(current_user)
            return g.notifications_unread

        return {"notifications_unread": notifications_unread}
