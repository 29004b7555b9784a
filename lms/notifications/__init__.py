"""Notifications domain: stored per-user messages, live delivery over Socket.IO /notify."""

import logging

import click
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)


def init_app(app) -> None:
    from lms.core.slots import register_nav
    from lms.extensions import socketio
    from lms.notifications import services
    from lms.notifications.events import init_socketio
    from lms.signals import announcement_posted

    init_socketio(socketio)
    announcement_posted.connect(services.on_announcement_posted, weak=False)
    _resume_fanouts(app)
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


def _resume_fanouts(app) -> None:
    """Fan-outs a stopped process left unfinished run again: at app start (as lms.media re-queues its
    transcodes, under the same MEDIA_REQUEUE_ON_START), every minute from the scheduler (a lease that
    lapsed while this process runs) and with `flask lms resume-fanouts`."""
    from lms.cli import lms_cli
    from lms.core import schedule
    from lms.core.db import schema_ready
    from lms.notifications import services
    from lms.notifications.models import NotificationFanout

    if "resume-fanouts" not in lms_cli.commands:
        lms_cli.add_command(resume_fanouts_command)
    schedule.every(app, "notifications.resume_fanouts", 60, services.resume_fanouts)
    if app.config.get("MEDIA_REQUEUE_ON_START", True):
        with app.app_context():
            try:
                if schema_ready(NotificationFanout):
                    services.resume_fanouts()
            except Exception:  # noqa: BLE001 - Redis or the database away: the scheduler tries again
                log.exception("resuming notification fan-outs at start failed")


@click.command("resume-fanouts")
@with_appcontext
def resume_fanouts_command():
    """Run, in this process, the notification fan-outs nobody is running (also done in the background
    at app start and every minute)."""
    from flask import current_app

    from lms.notifications import services

    app = current_app._get_current_object()
    # Building this command's app resumed lapsed fan-outs already, in threads: wait for those too.
    before = len(app.extensions.get("notify_fanouts", []))
    ids = services.resume_fanouts(here=True)
    services.wait_fanouts(app, timeout=3600)
    click.echo(f"{len(ids)} notification fan-out(s) resumed."
               + (f" {before} more were resumed when the app started, and waited for." if before else ""))  # fmt: skip
