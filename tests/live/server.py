"""Run the app as a real Socket.IO server (threading mode, simple-websocket) in a subprocess:
`python -m tests.live.server PORT`; configuration from LMS_* environment variables."""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(port: int) -> None:
    from lms import create_app
    from lms.extensions import socketio

    app = create_app()
    socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, log_output=False)


@contextlib.contextmanager
def running(port: int, env: dict, timeout: float = 180.0):
    """Start a server on 127.0.0.1:port with extra environment; stop it afterwards.

    Its output goes to a file (a pipe nobody reads would fill up and block the server)."""
    full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([sys.executable, "-m", "tests.live.server", str(port)], cwd=ROOT, env=full,  # noqa: S603
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        end = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):  # noqa: S310
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    proc.kill()
                    proc.wait()
                    log.seek(0)
                    raise RuntimeError(f"server did not start: {log.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]))
