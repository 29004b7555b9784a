"""The assessment panels: a member's own breakdown (personal space), a workshop's results (hosts)."""

from lms.assessment import services


def mine(user=None, **_):
    """我的考核: a link to the user's own assessment page. No query: the personal space keeps a fixed
    budget of statements, and the scores need six (lms.assessment.services.inputs)."""
    return {} if user is not None and getattr(user, "school_id", None) else None


def workshop(user=None, workshop=None, **_):
    """A link to the members' assessment for those who may see everyone's (no query of its own: the
    workshop page keeps a fixed budget of statements)."""
    if workshop is None or user is None or not services.may_view_all(user, workshop):
        return None
    return {"workshop": workshop}
