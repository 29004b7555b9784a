"""智能推送: fits the teacher's stage and subject and what workshop colleagues opened; never what they saw."""

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from lms.extensions import db
from lms.resources import services
from lms.resources.models import ResourceView


@pytest.fixture
def lib(world, make_resource):
    c = world.county_a.context
    admin = world["county_admin"]
    return {
        "fit": make_resource(admin, c, title="小学数学", stage="primary", subject="math"),
        "subject_only": make_resource(admin, c, title="高中数学", stage="senior", subject="math"),
        "other": make_resource(admin, c, title="高中历史", stage="senior", subject="history"),
        "colleagues": make_resource(admin, c, title="同伴常看", stage="senior", subject="art"),
        "seen": make_resource(admin, c, title="看过的", stage="primary", subject="math"),
        "own": make_resource(
            world["member"], world.workshop_a.context, title="自己的", stage="primary", subject="math"
        ),
        "hidden": make_resource(
            world["county_admin_b"], world.county_b.context, title="乙县", stage="primary", subject="math"
        ),
        "personal": make_resource(world["leader"], title="组长私有", stage="primary", subject="math"),
    }


def test_scoring_and_exclusions(world, lib, login_as):
    member = world["member"]  # math teacher of school A (primary), in workshop A with the leader
    services.record_view(member, lib["seen"])
    for colleague in ("leader",):
        services.record_view(world[colleague], lib["colleagues"], downloaded=True)
        services.record_view(world[colleague], lib["colleagues"])
    got = [r.title for r in services.recommend(member, limit=10)]
    assert got[0] == "小学数学"  # stage + subject = 6
    assert set(got) == {"小学数学", "高中数学", "同伴常看", "高中历史"}
    assert got.index("高中数学") < got.index("高中历史") and got.index("同伴常看") < got.index("高中历史")
    html = login_as(member).get("/me").get_data(as_text=True)
    assert 'id="recommended-resources"' in html and "小学数学" in html and "看过的" not in html


def test_popularity_does_not_lift_another_stage_above_a_fitting_item(world, make_resource):
    """Colleagues crowding around a senior-high item do not push it above a primary one for a
    primary-school teacher; among fitting items, the popular one comes first."""
    c, admin, member = world.county_a.context, world["county_admin"], world["member"]
    quiet = make_resource(admin, c, title="小学数学冷门", stage="primary", subject="math")
    busy_fit = make_resource(admin, c, title="小学数学热门", stage="primary", subject="math")
    busy_other = make_resource(admin, c, title="高中数学热门", stage="senior", subject="math")
    for colleague in ("leader", "host"):
        for r in (busy_fit, busy_other):
            for _ in range(3):
                services.record_view(world[colleague], r, downloaded=True)
    got = [r.title for r in services.recommend(member, limit=10)]
    assert got.index("小学数学热门") < got.index("小学数学冷门") < got.index("高中数学热门"), got
    assert quiet.id in {r.id for r in services.recommend(member, limit=10)}


def test_opening_a_recommendation_removes_it(world, lib, login_as):
    member = world["member"]
    first = services.recommend(member, limit=1)[0]
    login_as(member).get(f"/resources/{first.id}")
    assert first.id not in {r.id for r in services.recommend(member, limit=10)}


def test_a_teacher_of_another_county_gets_their_own(world, lib):
    got = {r.title for r in services.recommend(world["teacher_b"], limit=10)}
    assert got == {"乙县"}


@contextmanager
def counting():
    """Statements sent by this thread only (the search indexer may be busy in its own thread)."""
    statements, me = [], threading.get_ident()

    def before(conn, cursor, statement, *args):
        if threading.get_ident() == me:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def test_recommendations_use_a_fixed_number_of_queries(world, lib, make_resource):

    for i in range(10):
        make_resource(world["county_admin"], world.county_a.context, title=f"更多{i}", subject="math")
    db.session.add_all([ResourceView(user_id=world["leader"].id, resource_id=lib["other"].id)])
    db.session.commit()
    db.session.expire_all()
    with counting() as few:
        services.recommend(world["member"], limit=2)
    db.session.expire_all()
    with counting() as many:
        items = services.recommend(world["member"], limit=12)
        [(r.owner.name, r.context.name) for r in items]
    assert len(many) == len(few) <= 5  # user, school, grants, the one recommendation query…
