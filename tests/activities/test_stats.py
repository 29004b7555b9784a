"""A workshop's per-member statistics: who sees them, the numbers, sorting, paging, last seen."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.accounts import services as accounts
from lms.accounts.models import User
from lms.activities import services as activity_services
from lms.activities import stats, writing
from lms.communities import services as community
from lms.core.db import utcnow
from lms.extensions import db as _db
from tests.factories import make_user

STATUS = {
    "host": 200,
    "expert": 200,
    "county_admin": 200,
    "supervisor": 200,
    "project_manager": 200,
    "province_admin": 200,
    "member": 403,
    "leader": 403,
    "host_b": 404,
    "county_admin_b": 404,
    "teacher": 404,
    "outsider": 404,
}


@pytest.mark.parametrize(("role", "status"), sorted(STATUS.items()))
def test_who_sees_member_statistics(world, login_as, db, role, status):
    r = login_as(world[role]).get(f"/workshops/{world.workshop_a.id}/stats")
    assert r.status_code == status, role
    panel = login_as(world[role]).get(f"/workshops/{world.workshop_a.id}").get_data(as_text=True)
    assert (f"/workshops/{world.workshop_a.id}/stats" in panel) is (status == 200)


def test_numbers_sorting_and_paging(world, login_as, db, monkeypatch):
    ws = world.workshop_a
    for i in range(3):
        writing.create(world["member"], ws, "log", f"日志{i}", "")
    writing.create(world["leader"], ws, "log", "组长日志", "")
    writing.create(world["member"], ws, "plan", "计划", "")  # not a log
    writing.create(world["member_b"], world.workshop_b, "log", "别坊日志", "")  # another workshop
    rows = {r.name: r for r in stats.rows(ws)}
    assert set(rows) == {"李老师", "王组长"}
    assert (rows["李老师"].logs, rows["王组长"].logs) == (3, 1)
    assert rows["李老师"].group == "第一组" and rows["李老师"].posts == 0

    # Posts and resources come from the activity services when they exist.
    calls = []

    def posts(workshop, ids):
        calls.append((workshop.id, sorted(ids)))
        return {world["leader"].id: (12, 10)}

    monkeypatch.setattr(activity_services, "member_post_counts", posts, raising=False)
    monkeypatch.setattr(activity_services, "member_resource_counts", lambda w, ids: {world["member"].id: 2},
                        raising=False)  # fmt: skip
    rows = {r.name: r for r in stats.rows(ws)}
    assert (rows["王组长"].posts, rows["王组长"].effective, rows["王组长"].resources) == (12, 10, 0)
    assert (rows["李老师"].posts, rows["李老师"].resources) == (0, 2)
    assert calls == [(ws.id, sorted([world["member"].id, world["leader"].id]))]

    page, totals = stats.member_stats(ws, "posts", desc=True)
    assert [r.name for r in page.items] == ["王组长", "李老师"]
    assert totals == {"members": 2, "posts": 12, "effective": 10, "resources": 2, "logs": 4}
    page, _ = stats.member_stats(ws, "logs", desc=True)
    assert [r.name for r in page.items] == ["李老师", "王组长"]

    # More members than a page: sorted over all of them, then paged.
    for i in range(7):
        community.add_member(ws, make_user(None, f"坊员{i}", world.school_a))
    _db.session.commit()
    p1, _ = stats.member_stats(ws, "logs", desc=True, page=1, per_page=4)
    p3, _ = stats.member_stats(ws, "logs", desc=True, page=3, per_page=4)
    assert p1.total == 9 and p1.pages == 3 and [r.name for r in p1.items[:2]] == ["李老师", "王组长"]
    assert len(p3.items) == 1
    html = login_as(world["host"]).get(f"/workshops/{ws.id}/stats?sort=logs&desc=1").get_data(as_text=True)
    assert html.index("李老师") < html.index("王组长") and ">12<" in html
    assert login_as(world["host"]).get(f"/workshops/{ws.id}/stats?sort=bogus&page=99").status_code == 200


def test_last_seen_is_kept_cheaply(world, login_as, db):
    member = world["member"]
    assert member.last_seen_at is None
    client = login_as(member)
    client.get("/me")
    _db.session.expire_all()
    first = _db.session.get(User, member.id).last_seen_at
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    client.get("/me")  # within five minutes: not written again
    _db.session.expire_all()
    assert _db.session.get(User, member.id).last_seen_at == first
    # Older than the interval: refreshed on the next request.
    old = utcnow() - accounts.LAST_SEEN_EVERY - timedelta(seconds=5)
    _db.session.get(User, member.id).last_seen_at = old
    _db.session.commit()
    client.get("/me")
    _db.session.expire_all()
    assert _db.session.get(User, member.id).last_seen_at > old
    html = login_as(world["host"]).get(f"/workshops/{world.workshop_a.id}/stats").get_data(as_text=True)
    assert "从未" in html  # the leader never came
    # A way back to the workshop, and the count columns' headings sit over their right-aligned figures.
    assert f'<a href="/workshops/{world.workshop_a.id}">← {world.workshop_a.name}</a>' in html
    assert html.count('<th scope="col" class="text-end"') == 4
    # Requests that never load the user write nothing.
    assert _db.session.scalar(select(User.last_seen_at).where(User.id == world["leader"].id)) is None
