"""Media: stored files (uploads), ffmpeg transcoding jobs, streaming with Range/X-Accel-Redirect.

The only package that imports ffmpeg; every domain stores and serves files through its services.
"""


def init_app(app):
    """Re-queue the transcoding jobs a previous run left unfinished (skipped before the schema exists)."""
    if app.config.get("MEDIA_REQUEUE_ON_START", True):
        from lms.media import tasks

        tasks.requeue_unfinished(app)
