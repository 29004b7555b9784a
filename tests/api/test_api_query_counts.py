"""API answers run a fixed number of SQL statements, however many rows they carry (no N+1)."""

from lms.access.services import assign
from lms.communities import services as community
from lms.extensions import db as _db
from tests.api.helpers import API
from tests.factories import id_number, make_user
from tests.sql_counting import counting


def _statements(client, url) -> int:
    assert client.get(url).status_code == 200, url
    with counting() as statements:
        assert client.get(url).status_code == 200, url
    return len(statements)


def _grow(w):
    """More of everything in county A: schools, workshops, teachers, groups, members, hosts."""
    schools = [community.create_school(f"东湖第{i}小学", w.county_a) for i in range(8)]
    workshops = [community.create_workshop(f"东湖工作坊{i}", w.county_a) for i in range(8)]
    _db.session.flush()
    teachers = [make_user(None, f"吴老师{i}", schools[i % 8], id_card=id_number()) for i in range(40)]
    teachers += [make_user(None, f"吴老师{i}", w.school_a, id_card=id_number()) for i in range(40, 70)]
    groups = [community.create_group(w.workshop_a, f"第{i}组") for i in range(2, 7)]
    _db.session.flush()
    for i, t in enumerate(teachers[40:]):
        community.add_member(w.workshop_a, t, groups[i % 5])
        community.add_member(workshops[i % 8], t)
    _db.session.flush()
    for g, t in zip(groups, teachers[40:], strict=False):
        community.set_group_leader(g, t)
    for t in teachers[:3]:
        assign(t, "host", w.workshop_a.context)
    for ws in workshops:
        assign(w["member"], "host", ws.context)
    community.refresh_counters()
    _db.session.commit()


def test_statement_counts_do_not_grow_with_rows(world, api_as):
    w = world
    urls = {
        "county_admin": [
            f"/regions/{w.county_a.id}",
            f"/regions/{w.city.id}",
            f"/regions/{w.county_a.id}/members?per_page=100",
            f"/schools/{w.school_a.id}",
            f"/schools/{w.school_a.id}/members?per_page=100",
            f"/workshops/{w.workshop_a.id}",
            f"/workshops/{w.workshop_a.id}/members?per_page=100",
            "/regions",
            # Administration (issue 2): people, roles held here, an account.
            "/users?per_page=100",
            "/users?purpose=appoint&q=老师&per_page=100",
            f"/workshops/{w.workshop_a.id}/roles",
            f"/regions/{w.county_a.id}/roles",
            f"/users/{w['member'].id}",
        ],
        "member": ["/me", f"/regions/{w.county_a.id}"],
    }
    # The member's account page lists the roles given to them: one before, nine after _grow(). (A host
    # role: a county admin manages people whose roles it could have given, and it gives no experts.)
    assign(w["member"], "host", w.workshop_a.context)
    _db.session.commit()
    clients = {role: api_as(w[role]) for role in urls}
    before = {(role, url): _statements(clients[role], API + url) for role in urls for url in urls[role]}
    _grow(w)
    after = {(role, url): _statements(clients[role], API + url) for role in urls for url in urls[role]}
    assert after == before
    assert max(after.values()) <= 24, after  # region pages: admins_of() asks once per role
