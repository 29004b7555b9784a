"""Entry point: `flask --app wsgi run`, `gunicorn wsgi:app`, or `python wsgi.py` (with Socket.IO)."""

from lms import create_app
from lms.extensions import socketio

app = create_app()

if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=5000)
