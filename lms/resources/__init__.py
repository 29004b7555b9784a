"""Resource library 资源库 (DOMAIN.md §8): uploads into personal, workshop, school and region
libraries, ratings, favourites, comments, curation, recommendations; files excellent homework and
activity shares it hears about through lms.signals."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms import signals
    from lms.core.slots import register_nav, register_panel
    from lms.core.taxonomy import STAGES
    from lms.resources import panels, services
    from lms.resources.models import KINDS, STATUSES
    from lms.search.sources import register_source

    app.jinja_env.globals.update(RESOURCE_KINDS=KINDS, RESOURCE_STATUSES=STATUSES, STAGES=STAGES)
    register_nav(app, "resources.index", _l("Resource library"), order=30)
    register_panel(app, "personal_space", "recommended_resources", "resources/_panel_recommend.html",
                   panels.recommended, order=20, column="main")  # fmt: skip
    for page in ("workshop", "school", "region"):
        register_panel(app, page, "resource_library", "resources/_panel_library.html", panels.library(page),
                       order=40, column="list")  # fmt: skip
    register_source("resource", services.search_documents, capability="community.view")  # may_view
    signals.homework_published.connect(services.on_homework_published, weak=False)
    signals.activity_resource_shared.connect(services.on_activity_resource_shared, weak=False)
    from lms.resources.demo import on_demo_built

    signals.demo_built.connect(on_demo_built, weak=False)
