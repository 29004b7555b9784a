"""Page panels: upcoming live sessions and today's experts on duty."""

from lms.live import services


def personal_space(user=None, **_):
    sessions = services.visible_sessions(user, limit=5)
    today = services.on_duty_today(user)
    return {"sessions": sessions, "today": today[:6]}


def workshop(user=None, workshop=None, **_):
    sessions = services.visible_sessions(user, limit=5, context=workshop.context)
    if not sessions and not services.can_host_in(user, workshop.context):
        return None
    return {"sessions": sessions, "today": None, "context_id": workshop.context_id}
