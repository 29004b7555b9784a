"""Activities domain: announcements, workshop activities (a registry of kinds) and posts, research
writing, briefs, feed."""


def init_app(app) -> None:
    from lms.activities import (
        activity_api,  # noqa: F401  (routes on the /api/v1 blueprint)
        research,
        wiring,
    )

    wiring.init_activities(app)
    research.init_app(app)
