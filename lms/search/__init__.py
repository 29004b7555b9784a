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
    register_nav(app, "search.index", _l("Search"), order=90, widget="search/_nav_box.html")
    if "reindex" not in lms_cli.commands:
        lms_cli.add_command(reindex_command)


@click.command("reindex")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (resource, course, post…); default all.")
def reindex_command(kinds):
    """Rebuild the search index from the database."""
    import time

    from lms.search import services

    started = time.perf_counter()
    counts = services.reindex(list(kinds) or None)
    for kind, n in sorted(counts.items()):
        click.echo(f"{kind}: {n}")
    click.echo(f"indexed {sum(counts.values())} documents in {time.perf_counter() - started:.1f} s")
