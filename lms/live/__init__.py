"""Live Q&A with experts 直播答疑 (DOMAIN.md §7): on-duty rota, Q&A area, live sessions over
Socket.IO /live with a stored, sequenced event log, live HLS video and replays."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.core import schedule
    from lms.core.slots import register_nav, register_panel
    from lms.extensions import socketio
    from lms.live import demo, panels
    from lms.live.events import init_socketio
    from lms.signals import account_changed, demo_built

    init_socketio(socketio)
    register_nav(app, "live.index", _l("Live Q&A"), order=40)
    register_panel(app, "personal_space", "live.upcoming", "live/_panel.html", panels.personal_space, order=30,
                   column="side")  # fmt: skip
    register_panel(app, "workshop", "live.upcoming", "live/_panel.html", panels.workshop, order=30, column="side")
    demo_built.connect(demo.on_demo_built, weak=False)
    account_changed.connect(_on_account_changed, weak=False)
    schedule.every(app, "live.remind_upcoming", 300, _remind_upcoming)
    schedule.every(app, "live.finish_orphans", 60, _finish_orphans)
    schedule.every(app, "live.end_overdue", 300, _end_overdue)


def _on_account_changed(person, change=None, **_):
    # Deactivated, or every session ended by a password reset: their open live sockets go too.
    if change in ("deactivated", "password_reset"):
        from lms.live.services import close_connections

        close_connections(person.id)


def _remind_upcoming():
    from lms.live.services import remind_upcoming

    remind_upcoming()


def _finish_orphans():
    # Replays of ended sessions whose ffmpeg no process runs any more (lms.live.video).
    from lms.live.video import finish_orphans

    finish_orphans()


def _end_overdue():
    from lms.live.services import end_overdue

    end_overdue()
