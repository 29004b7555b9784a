"""Training projects 培训项目 (DOMAIN.md §3): projects run by a region, their own access context,
enrolment (调训) of the region's teachers, and the courses a project makes required."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.core.slots import register_nav, register_panel
    from lms.projects import demo, panels
    from lms.signals import demo_built

    register_nav(app, "projects.index", _l("Projects"), order=25, visible=panels.sees_projects)
    register_panel(app, "personal_space", "projects.mine", "projects/_panel.html", panels.personal_space, order=15,
                   column="side")  # fmt: skip
    demo_built.connect(demo.on_demo_built, weak=False)
