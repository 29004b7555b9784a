"""Search shows a document exactly to the people who may open its page, for every kind.

Every kind is indexed through its real source (lms.activities, lms.courses, lms.resources) and the
result sets of /api/v1/search and /search are compared, user by user, with the status of each
document's detail page: a hit, its title, snippet and the total appear iff the page answers 200.
"""

from datetime import timedelta

import pytest

from lms.core.db import utcnow
from lms.extensions import db
from lms.search import services
from lms.search.sources import registrations
from tests.factories import make_user

WORD = "隐私核查"  # in every title and body: one query finds every document


@pytest.fixture
def real_index(app, db):
    """The index with the domains' own sources (the ones create_app registered), emptied."""
    assert {"resource", "course", "post", "activity", "log", "plan", "summary", "brief"} <= set(registrations())
    ix = services.engine(app)
    ix.put("clear", None)
    ix.flush()
    yield ix
    ix.flush()
    ix.put("clear", None)
    ix.flush()


@pytest.fixture
def corpus(app, world, real_index):
    """One document of each kind in places that test the rules; {label: (kind, id, url)}."""
    from lms.activities import briefs, writing
    from lms.activities import workshop_services as activities
    from lms.communities import services as community
    from lms.resources import services as resources
    from tests.courses.conftest import make_course
    from tests.resources.conftest import upload_file

    w = world
    # A school-level workshop of 东湖小学: its research writing is for its members (and the roles
    # above), not for the school's other teachers, who may still open its activities and library.
    ws = community.create_workshop("东湖小学校本研修坊", w.county_a, subject="math", stage="primary", school=w.school_a)
    db.session.flush()
    w.users["ws_member"] = make_user("ws_member", "校坊成员", w.school_a, subject="math")
    community.add_member(ws, w.users["ws_member"])
    db.session.commit()
    w.school_workshop = ws
    m, mb = w["ws_member"], w["member_b"]
    docs = {}

    def text(label):
        return f"{WORD}{label}", f"{WORD}正文{label}"

    for kind in ("log", "plan", "summary"):
        t, b = text(f"校坊{kind}")
        item = writing.create(m, ws, kind, t, b)
        docs[f"school_ws_{kind}"] = (kind, item.id, f"/writing/{item.id}")
    t, b = text("西湖坊日志")
    item = writing.create(mb, w.workshop_b, "log", t, b)
    docs["county_b_log"] = ("log", item.id, f"/writing/{item.id}")

    t, b = text("校坊研讨")
    act = activities.create_activity(w["school_admin"], ws, kind="discussion", title=t, description=b,
                                     opens_at=utcnow() - timedelta(days=1))  # fmt: skip
    docs["school_ws_activity"] = ("activity", act.id, f"/activities/{act.id}")
    post = activities.create_post(m, act, f"{WORD}发帖内容")
    docs["school_ws_post"] = ("post", post.id, f"/activities/{act.id}")
    t, b = text("西湖研讨")
    act_b = activities.create_activity(w["host_b"], w.workshop_b, kind="discussion", title=t, description=b,
                                       opens_at=utcnow() - timedelta(days=1))  # fmt: skip
    docs["county_b_activity"] = ("activity", act_b.id, f"/activities/{act_b.id}")

    t, b = text("学校简报")
    br = briefs.post(w["school_admin"], w.school_a.context, t, b)
    docs["school_brief"] = ("brief", br.id, f"/briefs/{br.id}")
    t, b = text("西湖坊简报")
    br_b = briefs.post(w["host_b"], w.workshop_b.context, t, b)
    docs["county_b_brief"] = ("brief", br_b.id, f"/briefs/{br_b.id}")

    for label, user, ctx in (
        ("school_ws_resource", m, ws.context),
        ("county_b_resource", w["county_admin_b"], w.county_b.context),
        ("personal_resource", w["teacher"], None),
    ):
        t, b = text(label)
        with app.test_request_context():
            r = resources.upload(user, file=upload_file(), context=ctx, title=t, description=b)
        docs[label] = ("resource", r.id, f"/resources/{r.id}")

    for label, ctx in (("county_a_course", w.county_a.context), ("county_b_course", w.county_b.context)):
        t, b = text(label)
        c = make_course(ctx, t)
        services.index_documents("course", [c.id])
        docs[label] = ("course", c.id, f"/courses/{c.id}")
    c = make_course(w.county_a.context, f"{WORD}未发布课程", published=False)
    services.index_documents("course", [c.id])
    assert services.flush()
    return docs


def _api_hits(client) -> tuple[set, int, str]:
    data = client.get(f"/api/v1/search?q={WORD}&per_page=100").get_json()
    return {(i["kind"], i["id"]) for i in data["items"]}, data["total"], repr(data["items"])


def test_every_kind_is_seen_exactly_by_who_may_open_it(world, corpus, login_as):
    assert services.search(world["site_admin"], WORD, per_page=100).total == len(corpus) - 1  # not the personal one
    for name, user in sorted(world.users.items()):
        c = login_as(user)
        may_open = {(k, i) for k, i, url in corpus.values() if c.get(url).status_code == 200}
        hits, total, raw = _api_hits(c)
        assert hits == may_open, name
        assert total == len(may_open), name
        page = c.get(f"/search?q={WORD}").get_data(as_text=True)
        assert f'data-total="{len(may_open)}"' in page, name
        for label, (kind, ident, _url) in corpus.items():
            if (kind, ident) not in may_open:
                # neither the title nor the snippet leaks (the label is in both)
                assert label not in page and label not in raw, (name, label)
        for kind in {k for k, _, _ in corpus.values()}:
            assert services.search(user, WORD, {"kind": kind}, per_page=100).total == sum(
                1 for k, i in may_open if k == kind
            ), (name, kind)


def test_school_teacher_outside_a_school_workshop_never_sees_its_writing(world, corpus, login_as):
    teacher = world["teacher"]  # 东湖小学, not a member of its workshop
    kinds = {h["kind"] for h in services.search(teacher, WORD, per_page=100).hits}
    assert not kinds & {"log", "plan", "summary"}
    assert {"activity", "post", "resource", "brief", "course"} <= kinds  # the school's own pages stay open
    for kind in ("log", "plan", "summary"):
        assert services.search(teacher, WORD, {"kind": kind}).total == 0
        assert services.search(teacher, f"校坊{kind}").total == 0
    c = login_as(teacher)
    for label in ("school_ws_log", "school_ws_plan", "school_ws_summary"):
        assert c.get(corpus[label][2]).status_code in (403, 404)
    # the members, the school's admin and the region roles above read it
    for who in ("ws_member", "school_admin", "school_trainer", "county_admin", "city_admin", "supervisor"):
        found = {h["kind"] for h in services.search(world[who], WORD, per_page=100).hits}
        assert {"log", "plan", "summary"} <= found, who
    # another workshop's member of the same county does not
    assert not {h["kind"] for h in services.search(world["member"], WORD, per_page=100).hits} & {
        "log", "plan", "summary",
    }  # fmt: skip


def test_cross_county_sees_nothing_of_the_other_county(world, corpus):
    for who in ("teacher_b", "member_b", "county_admin_b", "school_admin_b", "host_b"):
        titles = " ".join(h["title"] for h in services.search(world[who], WORD, per_page=100).hits)
        for label in corpus:
            if not label.startswith("county_b"):
                assert label not in titles, (who, label)
    for who in ("teacher", "member", "county_admin", "school_admin", "supervisor"):
        titles = " ".join(h["title"] for h in services.search(world[who], WORD, per_page=100).hits)
        assert "county_b" not in titles and "西湖" not in titles, who


def test_personal_resource_only_for_its_owner(world, corpus):
    assert services.search(world["teacher"], f"{WORD} personal_resource").total == 1
    for who in ("member", "school_admin", "county_admin", "site_admin"):
        assert services.search(world[who], "personal_resource").total == 0, who


def test_leaving_the_workshop_hides_its_writing_at_once(world, corpus):
    from lms.communities.models import WorkshopMembership

    member = world["ws_member"]
    assert services.search(member, WORD, {"kind": "log"}).total == 1  # their own
    other = make_user("ws_member2", "校坊成员二", world.school_a)
    from lms.communities import services as community

    community.add_member(world.school_workshop, other)
    db.session.commit()
    assert services.search(other, WORD, {"kind": "log"}).total == 1
    db.session.query(WorkshopMembership).filter_by(user_id=other.id).delete()
    db.session.commit()
    assert services.search(other, WORD, {"kind": "log"}).total == 0
    # an author keeps reading their own writing (the page lets them in too)
    db.session.query(WorkshopMembership).filter_by(user_id=member.id).delete()
    db.session.commit()
    assert services.search(member, WORD, {"kind": "log"}).total == 1


def test_may_see_agrees_with_the_index(world, corpus):
    from lms.search.services import may_see

    docs = {(d["kind"], d["id"]): d for kind in registrations() for d in services.sources()[kind](None)}
    for name, user in world.users.items():
        hits = {(h["kind"], h["id"]) for h in services.search(user, WORD, per_page=100).hits}
        expected = {k for k, d in docs.items() if WORD in d["title"] and may_see(user, d)}
        assert hits == expected, name
