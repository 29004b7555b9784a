"""Media: stored files (uploads), ffmpeg transcoding jobs, streaming with Range/X-Accel-Redirect.

The only package that imports ffmpeg; every domain stores and serves files through its services.
"""

import logging

import click
from flask.cli import with_appcontext

log = logging.getLogger(__name__)


def init_app(app):
    """Re-queue the transcoding jobs a previous run left unfinished (skipped before the schema exists)
    and purge chunked uploads nobody resumed; add `flask lms purge-uploads`."""
    from lms.cli import lms_cli
    from lms.core import schedule

    if "purge-uploads" not in lms_cli.commands:
        lms_cli.add_command(purge_uploads_command)
    schedule.every(app, "media.purge_uploads", 6 * 3600, lambda: purge_abandoned_uploads(app.config))
    if app.config.get("MEDIA_REQUEUE_ON_START", True):
        from lms.media import tasks

        tasks.requeue_unfinished(app)
        purge_abandoned_uploads(app.config)


def purge_abandoned_uploads(config, max_age_hours: float | None = None) -> int:
    """Remove chunked uploads not resumed for UPLOAD_CHUNK_MAX_AGE_HOURS; returns how many."""
    from lms.media import storage

    hours = config.get("UPLOAD_CHUNK_MAX_AGE_HOURS", 72) if max_age_hours is None else max_age_hours
    try:
        n = storage.chunk_purge(config, max_age_seconds=hours * 3600)
    except OSError as err:  # the media folder is not there (yet): nothing to purge
        log.warning("purging abandoned uploads failed: %s", err)
        return 0
    if n:
        log.info("purged %d abandoned chunked uploads", n)
    return n


@click.command("purge-uploads")
@with_appcontext
@click.option("--max-age-hours", type=float, default=None, help="Default: UPLOAD_CHUNK_MAX_AGE_HOURS (72).")
def purge_uploads_command(max_age_hours):
    """Remove chunked video uploads nobody resumed (also done at every app start)."""
    from flask import current_app

    n = purge_abandoned_uploads(current_app.config, max_age_hours)
    click.echo(f"{n} abandoned upload(s) removed.")
