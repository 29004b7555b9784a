"""The assessment panels: a member's own breakdown (personal space), a workshop's results (hosts)."""

from lms.assessment import services


def mine(user=None, **_):
    """我的考核: the user's points in each workshop they belong to; left out when they belong to none."""
    scores = services.my_scores(user) if user is not None else []
    if not scores:
        return None
    return {"scores": scores, "scheme": services.scheme(), "marks": services.marks()}


def workshop(user=None, workshop=None, **_):
    """Pass and excellent rates of the workshop's members, for those who may see everyone's."""
    if workshop is None or user is None or not services.may_view_all(user, workshop):
        return None
    return {"workshop": workshop, "summary": services.summary(services.workshop_scores(workshop))}
