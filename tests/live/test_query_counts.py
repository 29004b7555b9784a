"""Live pages run a fixed number of SQL statements, however many sessions, questions, messages,
threads or rota slots they show (no statement per row)."""

from datetime import timedelta

import pytest

from lms.communities import services as community
from lms.core.db import utcnow
from lms.extensions import db as _db
from lms.live import services
from tests.factories import make_user
from tests.sql_counting import counting


def statements(client, url: str) -> list[str]:
    assert client.get(url).status_code == 200, url  # warm-up: first-request work is not what we measure
    from lms.search import services as search

    search.flush()  # the search writer thread reads what was just asked: not this page's statements
    with counting() as seen:
        resp = client.get(url)
    assert resp.status_code == 200, url
    return seen


@pytest.fixture
def grow(world, db):
    """grow(n): n more people in workshop A, each asking, voting, chatting, asking in the Q&A area
    and keeping a duty slot; sessions in n more contexts."""
    made = []

    def _grow(n: int, session, thread):
        w = world
        contexts = [w.workshop_a.context, w.county_a.context, w.city.context]
        for _ in range(n):
            i = len(made)
            u = make_user(f"grow{i}", f"新老师{i}", w.school_a, subject="math")
            community.add_member(w.workshop_a, u)
            expert = make_user(f"growexpert{i}", f"新专家{i}")
            from lms.access.services import assign

            assign(expert, "expert", contexts[i % 3])
            _db.session.commit()
            made.append(u)
            q = services.ask(u, session, f"问题{i}")
            services.vote(u, q)
            services.chat(u, session, f"消息{i}")
            services.ask_thread(u, contexts[i % 3], f"答疑{i}", "详情", "math")
            services.answer_thread(u, thread, f"回答{i}")
            services.add_slot(expert, contexts[i % 3], "math", i % 7)
            start = utcnow() + timedelta(days=1 + i)
            services.schedule(expert, contexts[i % 3], f"场次{i}", start, start + timedelta(hours=1),
                              experts=[w["expert"]] if i % 3 == 0 else [])  # fmt: skip
            ended = services.schedule(expert, contexts[i % 3], f"回放{i}", start, start + timedelta(hours=1))
            services.set_status(expert, ended, "live")
            services.set_status(expert, ended, "ended")

    return _grow


def test_live_pages_do_not_grow_with_rows(world, login_as, session, grow):
    for user in (world["member"], world["expert"]):
        services.ask(user, session, "第一个问题")
    thread = services.ask_thread(world["member"], world.workshop_a.context, "怎样上好复习课？", "")
    viewer = login_as(world["county_admin"])
    urls = ["/live", f"/live/{session.id}", f"/live/{session.id}/replay", "/live/qa", f"/live/qa/{thread.id}",
            "/live/rota", "/me"]  # fmt: skip
    grow(2, session, thread)
    few = {url: len(statements(viewer, url)) for url in urls}
    grow(5, session, thread)
    many = {url: statements(viewer, url) for url in urls}
    assert {url: len(s) for url, s in many.items()} == few
    # The member (not a host) sees the same fixed cost on the session page.
    member = login_as(world["member"])
    assert len(statements(member, f"/live/{session.id}")) <= few[f"/live/{session.id}"]
