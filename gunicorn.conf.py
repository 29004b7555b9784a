"""Gunicorn settings for the HTTP pages and the JSON API: `gunicorn -c gunicorn.conf.py wsgi:app`.

Sized for the reference machine (2 cores); every value can be overridden on the command line or via
the environment variables named below, so a bigger host needs no edit.

Socket.IO (live Q&A, notifications) is not served by these workers: run it as its own single-worker
gevent process behind the proxy with sticky sessions and LMS_SOCKETIO_MESSAGE_QUEUE=redis://…
(DESIGN.md "Real time"). With several workers, set LMS_REDIS_URL too, so the login rate limit is
shared between processes instead of counted per worker.
"""

import multiprocessing
import os

# Behind a reverse proxy (nginx) on the same host; the proxy terminates TLS and serves /static.
bind = os.environ.get("LMS_BIND", "127.0.0.1:8000")

# Page rendering is CPU-bound Python (Jinja, SQLAlchemy): one process per core does the work, and
# the GIL makes extra threads useless for it. A second process per core, and two threads in each,
# keep the cores busy while a request waits on PostgreSQL or a slow client, without the GIL
# hand-offs that many threads per process cost. On the shared 2-core test machine, 3-8 processes
# with 1-4 threads each measured within the noise of one another (benchmarks/pages.py --workers
# --threads); re-measure on the production host before changing these.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("LMS_THREADS", 2))

# Idle keep-alive longer than nginx's upstream keepalive_timeout (60 s), so the proxy, not the app,
# closes an idle connection and never sends a request down one that is being closed.
keepalive = 75
# A page takes milliseconds; 30 s only ends a stuck worker. Uploads go through the media service.
timeout = 30
graceful_timeout = 20

# Recycle workers now and then (jittered, so not all at once) to bound any slow memory growth. Not
# too often: without nginx in front, each viewer asks for a video segment every 2 s, and a worker
# that restarts spends a second or two loading the app instead of serving (at 10,000 requests the
# playback benchmark lost half its throughput every ~20 s).
max_requests = 200000
max_requests_jitter = 20000

# Load the app in each worker, not in the master: no database connection can leak across fork.
preload_app = False

# Access logs belong to the proxy; the app logs warnings and errors to stderr.
accesslog = os.environ.get("LMS_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LMS_LOG_LEVEL", "warning")

# Trust X-Forwarded-* only from the local proxy.
forwarded_allow_ips = os.environ.get("LMS_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """A fresh worker (also after max_requests) loads the search analyzers' dictionaries and opens
    the index before its first request, instead of during it (a second or more each)."""
    from lms.search import services

    app = getattr(worker, "wsgi", None)
    if hasattr(app, "app_context"):
        services.warm_up(app)
