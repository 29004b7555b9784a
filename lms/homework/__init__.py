"""Research homework with peer review (DOMAIN.md §6, §9).

allocation.py (reviewer allocation) and grading.py (grade arithmetic) are pure logic; services.py
holds the rules on top of the tables in models.py; views.py and api.py are thin.
"""


def init_app(app) -> None:
    import click
    from flask_babel import lazy_gettext as _l

    from lms.cli import lms_cli
    from lms.core import schedule
    from lms.core.slots import register_nav, register_panel
    from lms.homework import demo
    from lms.signals import demo_built

    register_panel(app, "personal_space", "homework", "homework/_panel_space.html", _space_panel, order=30,
                   column="main")  # fmt: skip
    register_panel(app, "workshop", "homework", "homework/_panel_workshop.html", _workshop_panel, order=30,
                   column="list")  # fmt: skip
    # Subject experts publish recommended work (DOMAIN.md §6); everyone else never needs the page.
    register_nav(app, "homework.excellent", _l("Excellent homework"), order=35, visible=_publishes)
    demo_built.connect(demo.on_demo_built, weak=False)
    schedule.every(app, "homework.tick", 300, _tick)

    @lms_cli.command("homework-tick")
    def homework_tick():
        """Advance homework phases on their dates, allocate and reassign reviewers, send reminders."""
        from lms.homework import services

        counts = services.tick()
        click.echo(f"{counts['assignments']} open assignments checked, {counts['allocated']} reviews allocated, "
                   f"{counts['reassigned']} not started reassigned")  # fmt: skip


def _publishes(user) -> bool:
    from lms import access

    return access.holds_anywhere(user, "homework.publish")


def _tick():
    from lms.homework import services

    services.tick()


def _labels():
    from lms.homework.views import phase_labels

    return phase_labels()


def _space_panel(user, **_):
    from lms.homework import services

    rows = services.my_homework(user)
    # A workshop member keeps the card, with an empty-state line, so they know where homework will
    # appear; people in no workshop (admins) have nothing to do here.
    if not rows and not services.in_a_workshop(user):
        return None
    # Grades made from peer reviews show once reviews are released to authors (after the review
    # phase), as on the homework's own page.
    return {"rows": rows, "labels": _labels(), "released": {r["assignment"].id for r in rows
                                                          if services.reviews_released(r["assignment"])}}  # fmt: skip


def _workshop_panel(user, workshop, **_):
    from lms import access
    from lms.homework import services

    items = [a for a in services.for_context(workshop.context) if services.may_view(user, a)]
    may_create = access.can(user, "homework.manage", workshop)
    if not items and not may_create:
        return None
    return {"items": items, "labels": _labels(), "workshop": workshop, "may_create": may_create}
