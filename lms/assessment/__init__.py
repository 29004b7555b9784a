"""Assessment 考核 (DOMAIN.md §9): schemes (a registry), members' scores and results per workshop,
the host's table and export, each member's own breakdown in the personal space."""


def init_app(app) -> None:
    from lms.assessment import panels
    from lms.core.slots import register_panel

    register_panel(app, "personal_space", "assessment.mine", "assessment/_panel_space.html", panels.mine, order=22,
                   column="main")  # fmt: skip
    register_panel(app, "workshop", "assessment.summary", "assessment/_panel_workshop.html", panels.workshop,
                   order=8, column="side")  # fmt: skip
