"""智能推送: fits the teacher's stage and subject and what workshop colleagues opened; never what they saw."""

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

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
    # Only what fits: another stage's items (senior-high maths, history, art) stay out however
    # little fits and however much colleagues opened them.
    assert got == ["小学数学"]
    html = login_as(member).get("/me").get_data(as_text=True)
    assert 'id="recommended-resources"' in html and "小学数学" in html and "看过的" not in html


def test_popularity_reorders_fitting_items_but_never_lets_another_stage_in(world, make_resource):
    """Colleagues crowding around a senior-high item do not bring it to a primary-school teacher;
    among fitting items, the popular one comes first."""
    c, admin, member = world.county_a.context, world["county_admin"], world["member"]
    quiet = make_resource(admin, c, title="小学数学冷门", stage="primary", subject="math")
    busy_fit = make_resource(admin, c, title="小学数学热门", stage="primary", subject="math")
    busy_other = make_resource(admin, c, title="高中数学热门", stage="senior", subject="math")
    for colleague in ("leader", "host"):
        for r in (busy_fit, busy_other):
            for _ in range(3):
                services.record_view(world[colleague], r, downloaded=True)
    got = [r.title for r in services.recommend(member, limit=10)]
    assert got == ["小学数学热门", "小学数学冷门"], got
    assert quiet.id in {r.id for r in services.recommend(member, limit=10)}


def test_a_minimal_fit_is_required(world, make_resource, login_as):
    """A primary maths teacher: same stage, or same subject with no stage, or untagged general
    material fit; another stage (even in maths), or another subject without a stage, do not."""
    c, admin, member = world.county_a.context, world["county_admin"], world["member"]
    fits = {
        "小学语文": ("primary", "chinese"),  # the stage matches: classroom practice carries over
        "数学通用": (None, "math"),
        "小学通识": ("primary", "general"),
        "班主任工作": (None, None),
    }
    unfit = {"初中数学": ("junior", "math"), "高中物理": ("senior", "physics"), "英语阅读": (None, "english"),
             "初中无学科": ("junior", None)}  # fmt: skip
    for title, (stage, subject) in {**fits, **unfit}.items():
        make_resource(admin, c, title=title, stage=stage, subject=subject)
    got = {r.title for r in services.recommend(member, limit=20)}
    assert got == set(fits), got
    html = login_as(member).get("/me").get_data(as_text=True)
    assert "初中数学" not in html and "小学语文" in html


def test_nothing_fitting_leaves_the_panel_empty_rather_than_filling_it(world, make_resource, login_as):
    c, admin = world.county_a.context, world["county_admin"]
    for i in range(8):
        make_resource(admin, c, title=f"高中化学{i}", stage="senior", subject="chemistry")
    assert services.recommend(world["member"]) == []
    html = login_as(world["member"]).get("/me").get_data(as_text=True)
    assert "高中化学" not in html


def test_opening_through_the_api_counts_like_the_page(world, lib, api_as):
    member = world["member"]
    first = services.recommend(member, limit=1)[0]
    before = first.view_count
    resp = api_as(member).get(f"/api/v1/resources/{first.id}")
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.get(type(first), first.id).view_count == before + 1
    assert first.id not in {r.id for r in services.recommend(member, limit=10)}  # seen: not recommended again
    views = db.session.scalars(select(ResourceView).where(ResourceView.user_id == member.id)).all()
    assert [v.resource_id for v in views] == [first.id] and views[0].downloaded is False


def test_opening_a_recommendation_removes_it(world, lib, login_as):
    member = world["member"]
    first = services.recommend(member, limit=1)[0]
    login_as(member).get(f"/resources/{first.id}")
    assert first.id not in {r.id for r in services.recommend(member, limit=10)}


def test_a_teacher_of_another_county_gets_their_own(world, lib, make_resource):
    make_resource(world["county_admin_b"], world.county_b.context, title="乙县初中语文", stage="junior",
                  subject="chinese")  # fmt: skip
    got = {r.title for r in services.recommend(world["teacher_b"], limit=10)}  # junior Chinese teacher
    assert got == {"乙县初中语文"}


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
