"""A process that ends right after queuing index writes (here `flask lms demo`) still commits them:
the writer thread drains its queue at interpreter exit."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(bool(os.environ.get("LMS_DATABASE_URL")), reason="backend-independent: runs in the SQLite pass")
def test_demo_content_is_searchable_when_the_command_returns(tmp_path):
    env = {
        **os.environ,
        "LMS_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "LMS_SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "LMS_MEDIA_ROOT": str(tmp_path / "media"),
        "LMS_SCHEDULER": "0",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]

    def run(*args):
        done = subprocess.run([*flask, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    run("db", "upgrade")
    run("lms", "demo", "--scale", "60", "--seed", "3")
    count = (
        "from lms import create_app\n"
        "from lms.search import services\n"
        "app = create_app()\n"
        "with app.app_context(): print(services.status()['documents'])\n"
    )
    after_demo = subprocess.run([sys.executable, "-c", count], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=120)  # fmt: skip
    indexed = int(after_demo.stdout.strip().splitlines()[-1])
    rebuilt = run("lms", "reindex")
    total = int(rebuilt.strip().splitlines()[-1].split()[1])  # "indexed N documents in … s"
    assert total > 100  # resources, posts, logs, briefs, courses…
    assert indexed == total
