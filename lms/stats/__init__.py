"""Learning statistics 学情统计 (DOMAIN.md §10): per region and school, who takes part and studies,
the daily trend from stored snapshots, the courses chosen; pages, an .xlsx export and the API."""


def init_app(app) -> None:
    import click

    from lms.cli import lms_cli
    from lms.core import schedule
    from lms.core.slots import register_panel
    from lms.signals import demo_built
    from lms.stats import demo, panels

    for page in ("region", "school"):
        register_panel(app, page, "stats.summary", "stats/_panel.html", panels.summary, order=5, column="side")
    # Hourly: the day's rows are rewritten, the last run of a day stands for it (a daily report 学情日报).
    schedule.every(app, "stats.snapshot", 3600, _snapshot)
    demo_built.connect(demo.on_demo_built, weak=False)

    @lms_cli.command("stats-snapshot")
    def stats_snapshot():
        """Store today's learning figures of every region and school."""
        from lms.stats import services

        click.echo(f"{services.take_snapshot()} rows stored")


def _snapshot():
    from lms.stats import services

    services.take_snapshot()
