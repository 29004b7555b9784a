"""Page panels and the navigation entry of training projects."""

from lms import access
from lms.projects import services


def sees_projects(user) -> bool:
    """The navigation entry: for whoever may see or run projects (admins, managers, trainees)."""
    return any(access.holds_anywhere(user, cap) for cap in ("project.view", "project.nominate", "project.manage"))


def personal_space(user=None, **_):
    """我的项目: the projects the user is enrolled in or manages; left out when there are none and
    the user runs no projects either."""
    mine = services.my_projects(user, limit=8)
    if not mine and not sees_projects(user):
        return None
    return {"projects": mine}
