"""Every role against every community page: 404 (and no data) where the role may not see the page,
the page where it may, and the member list only where `member.list` reaches."""

import pytest

from tests.access.conftest import sign_in
from tests.access.dom import parse
from tests.access.expected import OBJECTS, ROLES, expected

URL = {
    "school_a": "/schools/{}",
    "school_b": "/schools/{}",
    "county_a": "/regions/{}",
    "county_b": "/regions/{}",
    "city": "/regions/{}",
    "province": "/regions/{}",
    "workshop_a": "/workshops/{}",
    "workshop_b": "/workshops/{}",
}

# Someone each member list must show when it is shown (the page's own people).
SHOWN_MEMBER = {
    "school_a": "张老师",
    "school_b": "赵老师",
    "county_a": "张老师",
    "county_b": "赵老师",
    "city": "赵老师",
    "province": "张老师",
    "workshop_a": "李老师",
    "workshop_b": "钱老师",
}


def _url(world, obj, **query):
    url = URL[obj].format(getattr(world, obj).id)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _member_cells(doc) -> str:
    return " ".join(td.text for td in doc.iter("td"))


def _member_list_shown(doc) -> bool:
    # The member list's search form, inside the page (the nav bar carries the site search form).
    main = doc.find("main")
    return main is not None and main.find("form", role="search") is not None


@pytest.fixture(scope="module")
def clients(app, shared_world):
    return {role: sign_in(app, shared_world[role]) for role in ROLES}


@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("role", ROLES)
def test_page(shared_world, clients, role, obj):
    client = clients[role]
    name = getattr(shared_world, obj).name
    resp = client.get(_url(shared_world, obj))
    html = resp.get_data(as_text=True)
    doc = parse(html)
    if not expected(role, "community.view", obj):
        assert resp.status_code == 404, f"{role} must not open {obj}"
        assert name not in doc.text, "a 404 must not leak the object's name"
        assert _member_cells(doc) == ""
        return
    assert resp.status_code == 200, f"{role} should open {obj}"
    assert doc.find("h1") is not None and name in doc.find("h1").text
    cells = _member_cells(doc)
    if expected(role, "member.list", obj):
        assert _member_list_shown(doc), f"{role} should see the member list of {obj}"
        assert SHOWN_MEMBER[obj] in cells
    else:
        assert not _member_list_shown(doc), f"{role} must not see the member list of {obj}"
        assert cells == "", f"{role} sees member cells on {obj}: {cells[:80]}"


@pytest.mark.parametrize("role", ["teacher", "member", "expert", "school_admin", "county_admin", "supervisor"])
def test_member_search_does_not_open_a_hidden_list(shared_world, clients, role):
    """?q= and ?subject= on a page whose list the user may not see return no member either."""
    for obj in OBJECTS:
        if not expected(role, "community.view", obj) or expected(role, "member.list", obj):
            continue
        resp = clients[role].get(_url(shared_world, obj, q="老师", subject="math", page=1))
        assert resp.status_code == 200
        doc = parse(resp.get_data(as_text=True))
        assert not _member_list_shown(doc) and _member_cells(doc) == "", (role, obj)


def test_teacher_sees_own_school_members_but_not_county_members(shared_world, clients):
    w = shared_world
    school = parse(clients["teacher"].get(_url(w, "school_a")).get_data(as_text=True))
    assert "李老师" in _member_cells(school)
    county = parse(clients["teacher"].get(_url(w, "county_a")).get_data(as_text=True))
    assert not _member_list_shown(county)
    assert "李老师" not in _member_cells(county)


def test_forbidden_page_and_missing_page_look_the_same(shared_world, clients):
    """A cross-county page answers exactly like a page that does not exist: no existence leak."""
    client = clients["county_admin"]
    for obj, missing in (("county_b", "/regions/999999"), ("school_b", "/schools/999999")):
        forbidden = client.get(_url(shared_world, obj))
        nothing = client.get(missing)
        assert forbidden.status_code == nothing.status_code == 404
        assert parse(forbidden.get_data(as_text=True)).text == parse(nothing.get_data(as_text=True)).text


@pytest.mark.parametrize("obj", OBJECTS)
def test_anonymous_is_sent_to_sign_in(app, shared_world, obj):
    resp = app.test_client().get(_url(shared_world, obj))
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")


def test_personal_space_lists_only_own_communities(shared_world, clients):
    """The personal space links the user's communities; every link must open (no dead or foreign links)."""
    for role in ROLES:
        client = clients[role]
        doc = parse(client.get("/me").get_data(as_text=True))
        hrefs = {
            a.attrs["href"]
            for a in doc.iter("a")
            if a.attrs.get("href", "").startswith(("/regions/", "/schools/", "/workshops/"))
        }
        for obj in OBJECTS:
            if _url(shared_world, obj) in hrefs:
                assert expected(role, "community.view", obj), f"{role}'s space links {obj}"
        for href in hrefs:
            assert client.get(href).status_code == 200, (role, href)


# Pages behind a capability other than community.view: 404 where the user cannot even see the
# community, 403 where they see it but lack the capability, the page where they hold it.
_SCHOOLS, _REGIONS, _WORKSHOPS = (
    ("school_a", "school_b"),
    ("county_a", "county_b", "city", "province"),
    ("workshop_a", "workshop_b"),
)
GATED = [
    ("/schools/{}/roster/import", "roster.import", _SCHOOLS),
    ("/regions/{}/roster/import", "roster.import", _REGIONS),
    ("/schools/{}/roster.xlsx", "roster.export", _SCHOOLS),
    ("/regions/{}/roster.xlsx", "roster.export", _REGIONS),
    ("/workshops/{}/manage", "workshop.manage", _WORKSHOPS),
    ("/regions/{}/workshops/new", "workshop.create", _REGIONS),
    ("/schools/{}/announcements/new", "announcement.post", _SCHOOLS),
    ("/regions/{}/announcements/new", "announcement.post", _REGIONS),
    ("/workshops/{}/announcements/new", "announcement.post", _WORKSHOPS),
]


@pytest.mark.parametrize(("url", "capability", "objects"), GATED, ids=[g[0] for g in GATED])
@pytest.mark.parametrize("role", ROLES)
def test_gated_page(shared_world, clients, role, url, capability, objects):
    wrong = []
    for obj in objects:
        target = getattr(shared_world, obj)
        if expected(role, capability, obj):
            want = 200
        elif expected(role, "community.view", obj):
            want = 403
        else:
            want = 404
        resp = clients[role].get(url.format(target.id))
        if resp.status_code != want:
            wrong.append((obj, want, resp.status_code))
        elif want == 404:
            assert target.name not in parse(resp.get_data(as_text=True)).text, (role, url, obj)
    assert wrong == [], f"{role} {capability}: (object, expected, got)"
