"""A real search source for the tests: announcements (lms.activities), read from the database."""

import re

import pytest
from sqlalchemy import select

from lms.search import services
from lms.search.sources import _SOURCES, register_source


def load_announcements(ids):
    from lms.access.models import Context
    from lms.activities.models import Announcement
    from lms.extensions import db

    stmt = select(Announcement, Context.path).join(Context, Announcement.context_id == Context.id)
    if ids is not None:
        stmt = stmt.where(Announcement.id.in_(ids))
    for a, path in db.session.execute(stmt.order_by(Announcement.id)):
        # A title starting with "私:" stands for a private draft (context None, owner only) in these tests.
        private = a.title.startswith("私:")
        yield {
            "kind": "announcement",
            "id": a.id,
            "title": a.title,
            "body": re.sub(r"<[^>]+>", " ", a.body_html or ""),
            "url": f"/announcements/{a.id}",
            "context_path": None if private else path,
            "owner_id": a.author_id,
            "stage": None,
            "subject": None,
            "type": "announcement",
            "created_at": a.created_at,
        }


@pytest.fixture
def index(app, db):
    """An empty in-memory index with the announcement source registered."""
    saved = dict(_SOURCES)
    _SOURCES.clear()  # only the test source: the domains' own sources have their own tests
    register_source("announcement", load_announcements)
    ix = services.engine(app)
    ix.put("clear", None)
    ix.flush()
    ix.errors = 0  # batches of earlier tests (their sources and tables are gone) are not this test's
    yield ix
    ix.flush()
    ix.put("clear", None)
    ix.flush()
    _SOURCES.clear()
    _SOURCES.update(saved)


@pytest.fixture
def announce(db):
    """announce(author, context, title, body) → a committed Announcement, indexed like a domain would."""
    from lms.activities.models import Announcement
    from lms.signals import content_changed

    def _make(author, context, title, body=""):
        a = Announcement(context_id=context.id, author_id=author.id, title=title, body_html=f"<p>{body}</p>")
        db.session.add(a)
        db.session.commit()
        content_changed.send("activities", kind="announcement", ids=[a.id])
        return a

    return _make


from tests.resources.conftest import resource_index  # noqa: E402, F401  (a fixture the resource tests share)
