"""Activities domain: announcements, workshop activities and posts, research writing, briefs, feed."""


def init_app(app) -> None:
    from lms.activities import research

    research.init_app(app)
