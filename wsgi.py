"""Entry point: `gunicorn -c gunicorn.conf.py wsgi:app` in production; `python wsgi.py` for the embedded server."""

import os

from lms import create_app
from lms.extensions import socketio

app = create_app()

if __name__ == "__main__":
    # The embedded default (`make run`): Werkzeug's threaded server, Socket.IO in threading mode.
    # Production runs gunicorn behind a proxy instead (README, "Deployment at scale").
    socketio.run(
        app,
        host=os.environ.get("LMS_HOST", "127.0.0.1"),
        port=int(os.environ.get("LMS_PORT", "5000")),
        allow_unsafe_werkzeug=True,
    )
