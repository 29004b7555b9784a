"""A county A private, school or workshop resource never appears to county B: lists, detail, API, panels."""

import pytest

from tests.resources.conftest import png


@pytest.fixture
def library(world, make_resource):
    """One resource per library, each titled after where it lives."""
    w = world
    return {
        "personal_a": make_resource(w["teacher"], title="甲县个人资源"),
        "school_a": make_resource(w["teacher"], w.school_a.context, title="甲校资源"),
        "workshop_a": make_resource(w["member"], w.workshop_a.context, title="甲坊资源"),
        "county_a": make_resource(w["county_admin"], w.county_a.context, title="甲县资源"),
        "school_b": make_resource(w["teacher_b"], w.school_b.context, title="乙校资源"),
        "workshop_b": make_resource(w["member_b"], w.workshop_b.context, title="乙坊资源"),
        "county_b": make_resource(w["county_admin_b"], w.county_b.context, title="乙县资源"),
        "city": make_resource(w["city_admin"], w.city.context, title="市级资源", data=png(), name="p.png"),
    }


# Who sees which library (DOMAIN.md §2: down the tree through roles, up for community pages).
SEES = {
    "teacher": {"personal_a", "school_a", "county_a", "city"},
    "member": {"school_a", "workshop_a", "county_a", "city"},
    "teacher_b": {"school_b", "county_b", "city"},
    "member_b": {"school_b", "workshop_b", "county_b", "city"},
    "county_admin": {"school_a", "workshop_a", "county_a", "city"},
    "county_admin_b": {"school_b", "workshop_b", "county_b", "city"},
    "city_admin": {"school_a", "workshop_a", "county_a", "school_b", "workshop_b", "county_b", "city"},
    "host_b": {"school_b", "workshop_b", "county_b", "city"},
    "outsider": set(),
}


@pytest.mark.parametrize("role", sorted(SEES))
def test_lists_detail_and_api_agree_with_the_tree(world, library, login_as, api_as, role):
    user = world[role]
    client = login_as(user)
    html = client.get("/resources?page=1").get_data(as_text=True)
    api = {item["id"] for item in api_as(user).get("/api/v1/resources?per_page=100").get_json()["items"]}
    for name, r in library.items():
        visible = name in SEES[role]
        assert (r.title in html) is visible, (role, name)
        assert (r.id in api) is visible, (role, name)
        assert client.get(f"/resources/{r.id}").status_code == (200 if visible else 404), (role, name)
        assert client.get(f"/resources/{r.id}/download").status_code == (200 if visible else 404), (role, name)
        assert api_as(user).get(f"/api/v1/resources/{r.id}").status_code == (200 if visible else 404), (role, name)


def test_library_page_of_another_county_is_404(world, library, login_as):
    client = login_as(world["teacher_b"])
    assert client.get(f"/resources/libraries/{world.county_a.context.id}").status_code == 404
    assert client.get(f"/resources/libraries/{world.workshop_a.context.id}").status_code == 404
    page = client.get(f"/resources/libraries/{world.county_b.context.id}")
    assert page.status_code == 200 and "乙县资源" in page.get_data(as_text=True)
    api = login_as(world["teacher_b"]).get(f"/api/v1/resources?library={world.county_a.context.id}")
    assert api.status_code == 404


def test_county_library_lists_only_its_own_items(world, library, login_as):
    html = (
        login_as(world["county_admin"]).get(f"/resources/libraries/{world.county_a.context.id}").get_data(as_text=True)
    )
    assert "甲县资源" in html and "甲坊资源" not in html and "市级资源" not in html


def test_community_panels(world, library, login_as):
    html = login_as(world["member"]).get(f"/workshops/{world.workshop_a.id}").get_data(as_text=True)
    assert 'id="resources"' in html and "甲坊资源" in html
    html = login_as(world["county_admin_b"]).get(f"/regions/{world.county_b.id}").get_data(as_text=True)
    assert "乙县资源" in html and "甲县资源" not in html


def test_personal_space_stays_with_its_owner(world, library, login_as):
    r = library["personal_a"]
    for role in ("county_admin", "school_admin", "site_admin", "member"):
        assert login_as(world[role]).get(f"/resources/{r.id}").status_code == 404, role
    assert login_as(world["teacher"]).get("/resources?tab=mine").get_data(as_text=True).count("甲县个人资源") == 1


def test_anonymous_is_sent_to_sign_in(client, library):
    assert client.get("/resources").status_code == 302
    assert client.get(f"/resources/{library['city'].id}").status_code == 302
    assert client.get("/api/v1/resources").status_code == 401


def test_filters_and_sorts(world, make_resource, login_as, api_as):
    from lms.extensions import db

    ctx = world.school_a.context
    a = make_resource(world["teacher"], ctx, title="数学小学课件", stage="primary", subject="math", kind="courseware")
    b = make_resource(
        world["teacher"],
        ctx,
        title="语文初中设计",
        stage="junior",
        subject="chinese",
        kind="lesson_design",
        tags="大单元",
    )
    a.download_count, b.rating_avg, b.rating_count = 9, 4.5, 2
    db.session.commit()
    api = api_as(world["teacher"])

    def ids(query):
        return [i["id"] for i in api.get("/api/v1/resources?" + query).get_json()["items"]]

    assert ids("subject=math") == [a.id]
    assert ids("stage=junior") == [b.id]
    assert ids("kind=lesson_design") == [b.id]
    from lms.search import services as search

    search.flush()  # words go through the search index, written by its own thread
    assert ids("q=大单元") == [b.id]
    assert ids("sort=downloads") == [a.id, b.id]
    assert ids("sort=rating") == [b.id, a.id]
    assert ids("subject=nonsense") == ids("")  # unknown codes are ignored, not errors
    html = login_as(world["teacher"]).get("/resources?subject=math").get_data(as_text=True)
    assert "数学小学课件" in html and "语文初中设计" not in html


def test_paging(world, make_resource, api_as):
    for i in range(5):
        make_resource(world["teacher"], world.school_a.context, title=f"资源{i}")
    body = api_as(world["teacher"]).get("/api/v1/resources?per_page=2&page=3").get_json()
    assert body["total"] == 5 and len(body["items"]) == 1 and body["page"] == 3
