"""The learning-figures panel of region and school pages."""

from lms.stats import services


def summary(user=None, region=None, school=None, **_):
    """Headline figures for whoever may see the unit's statistics (stats.view), else nothing."""
    unit = region or school
    if unit is None or user is None or not services.may_view(user, unit):
        return None
    return {"kind": services.kind_of(unit), "unit": unit, "total": services.totals(unit)}
