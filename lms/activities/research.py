"""Wiring of research writing, briefs, the feed and member statistics: the `research` blueprint,
its API module, page panels, search sources, feed listeners and demo content."""

from lms import access


def init_app(app) -> None:
    from lms.activities import briefs, feed, research_api, research_demo, writing  # noqa: F401 - api registers routes
    from lms.activities.research_views import bp
    from lms.core.slots import register_panel
    from lms.search.sources import register_source
    from lms.signals import announcement_posted, content_changed, content_deleted, demo_built

    app.register_blueprint(bp)
    writing.register_sources()
    register_source("brief", briefs.load, capability="community.view")  # the brief page's check
    content_changed.connect(feed.on_content_changed, weak=False)
    content_deleted.connect(feed.on_content_deleted, weak=False)
    announcement_posted.connect(feed.on_announcement_posted, weak=False)
    demo_built.connect(research_demo.on_demo_built, weak=False)

    register_panel(app, "personal_space", "feed", "activities/_feed_panel.html", _feed_panel, order=20, column="main")
    register_panel(app, "personal_space", "my_writing", "activities/_my_writing_panel.html", _my_writing_panel,
                   order=20, column="side")  # fmt: skip
    register_panel(app, "workshop", "writing", "activities/_writing_panel.html", _workshop_writing, order=30)
    for page in ("workshop", "school", "region"):
        register_panel(app, page, "briefs", "activities/_briefs_panel.html", _briefs_panel, order=20, column="side")


def _feed_panel(user, **_):
    from lms.activities import feed

    return {"entries": feed.latest(user, 8), "label": feed.label}


def _my_writing_panel(user, **_):
    from lms.activities import writing
    from lms.activities.research_forms import WRITING_LABELS

    return {"items": writing.latest_mine(user, 5), "labels": WRITING_LABELS}


def _workshop_writing(user, workshop, **_):
    from lms.activities import writing
    from lms.activities.research_forms import WRITING_LABELS

    if not access.can(user, "writing.view", workshop):
        return None
    return {
        "workshop": workshop,
        "items": writing.recent_in(workshop, 6),
        "labels": WRITING_LABELS,
        "may_write": bool(writing.kinds_for(user, workshop)),
        "may_stats": access.can(user, "stats.view", workshop),
    }


def _briefs_panel(user, workshop=None, school=None, region=None, **_):
    from lms.activities import briefs

    community = workshop or school or region
    kind = "workshops" if workshop else "schools" if school else "regions"
    return {
        "community": community,
        "kind": kind,
        "items": briefs.at(community, 5),
        "may_post": access.can(user, "brief.post", community),
    }
