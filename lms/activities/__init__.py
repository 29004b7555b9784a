"""Activities domain: announcements, workshop activities (a registry of kinds), discussion posts."""


def init_app(app) -> None:
    from lms.activities import (
        activity_api,  # noqa: F401  (routes on the /api/v1 blueprint)
        wiring,
    )

    wiring.init_activities(app)
