"""Production Socket.IO process (live Q&A /live, notifications /notify): gevent, one worker.

    LMS_SOCKETIO_MESSAGE_QUEUE=redis://127.0.0.1:6379/0 .venv/bin/python live_server.py --port 8101

Run one per core behind nginx with sticky sessions (README, "Live Q&A at scale"). gevent must patch
the standard library before anything else is imported, hence this separate entry point.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402

os.environ.setdefault("LMS_SOCKETIO_ASYNC_MODE", "gevent")
# Periodic work (lms.core.schedule) belongs to the gunicorn web processes: here a batch of database
# work would hold up gevent's loop, and with it every connected viewer.
os.environ["LMS_SCHEDULER"] = "0"  # even where a shared environment file turns it on

from lms import create_app  # noqa: E402
from lms.extensions import socketio  # noqa: E402

app = create_app()

# A full collection walks every object the process holds (about 200,000 after start-up, 130 more per
# connected viewer) while gevent's loop, and with it every broadcast, waits: 100-170 ms pauses at
# 1,000 viewers. The start-up objects live as long as the process, so they are frozen out of the
# collector; the young generation is collected less often. benchmarks/live_broadcast.py, 1,000
# viewers on one process: p99 216-269 ms before, 70-117 ms after.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 20)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("LMS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("LMS_PORT", "8101")))
    args = parser.parse_args()
    # gevent's WSGI server; WebSocket through simple-websocket (gevent-websocket is not needed).
    socketio.run(app, host=args.host, port=args.port, log_output=False)
