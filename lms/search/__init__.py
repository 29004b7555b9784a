"""Full-text search over resources, courses, posts, logs and briefs (Whoosh + jieba adapter).

Owning domains register sources (lms.search.sources) and send content_changed / content_deleted
after commits; the listeners here queue the index work for the single writer thread.
"""

import click
from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.cli import lms_cli
    from lms.core.slots import register_nav
    from lms.search import services
    from lms.signals import content_changed, content_deleted

    content_changed.connect(services.on_content_changed, weak=False)
    content_deleted.connect(services.on_content_deleted, weak=False)
    from lms.signals import community_changed

    community_changed.connect(services.on_community_changed, weak=False)
    register_nav(app, "search.index", _l("Search"), order=90, widget="search/_nav_box.html")
    if "reindex" not in lms_cli.commands:
        lms_cli.add_command(reindex_command)
    hours = app.config.get("SEARCH_REPAIR_HOURS") or 0
    if hours > 0:
        from lms.core import schedule

        schedule.every(app, "search.repair", hours * 3600, lambda: services.repair_task(app))


@click.command("reindex")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (resource, course, post…); default all.")
@click.option("--check", "check_only", is_flag=True, help="Compare the index with the database and repair the "
              "differences (missing, stale, extra documents) instead of rewriting everything.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="With --check: report the differences, change nothing.")
def reindex_command(kinds, check_only, dry_run):
    """Rebuild the search index from the database (or, with --check, repair what differs)."""
    import time

    from lms.search import services

    started = time.perf_counter()
    if check_only:
        found = services.check(list(kinds) or None, repair=not dry_run)
        for kind, diff in sorted(found.items()):
            click.echo(f"{kind}: " + ", ".join(f"{len(ids)} {what}" for what, ids in diff.items()))
        verb = "found" if dry_run else "repaired"
        click.echo(f"{verb} {sum(len(ids) for d in found.values() for ids in d.values())} differences "
                   f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        return
    counts = services.reindex(list(kinds) or None)
    for kind, n in sorted(counts.items()):
        click.echo(f"{kind}: {n}")
    click.echo(f"indexed {sum(counts.values())} documents in {time.perf_counter() - started:.1f} s")
