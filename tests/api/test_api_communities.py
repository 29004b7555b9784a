"""Regions, schools, workshops and member lists: the same checks as the pages, nothing leaks."""

import pytest

from lms.communities import services as community
from lms.extensions import db as _db
from tests.api.helpers import API, error_of
from tests.factories import id_number, make_user

# --- who may open what ----------------------------------------------------------------------------


def _urls(w, kind, suffix=""):
    obj = {"region": w.county_b, "school": w.school_b, "workshop": w.workshop_b}[kind]
    return f"{API}/{kind}s/{obj.id}{suffix}"


FORBIDDEN = [
    # (role, url builder, expected status): county A people asking for county B's communities.
    *[(role, kind, suffix) for role in ("teacher", "member", "county_admin", "supervisor", "school_admin", "host")
      for kind in ("region", "school", "workshop") for suffix in ("", "/members")],
]  # fmt: skip


@pytest.mark.parametrize("role,kind,suffix", FORBIDDEN)
def test_county_a_sees_nothing_of_county_b(world, api_as, role, kind, suffix):
    resp = api_as(world[role]).get(_urls(world, kind, suffix))
    assert resp.status_code == 404
    assert error_of(resp) == "not_found"
    text = resp.get_data(as_text=True)
    assert "西湖" not in text and "赵老师" not in text and "钱老师" not in text


@pytest.mark.parametrize(
    "role,path",
    [
        ("school_admin", "/schools/{school_b}"),
        ("school_admin", "/schools/{school_b}/members"),
        ("host", "/workshops/{workshop_b}"),
        ("host", "/workshops/{workshop_b}/members"),
        ("member", "/workshops/{workshop_b}/members"),
        ("outsider", "/regions/{county_a}"),
        ("outsider", "/schools/{school_a}/members"),
        ("outsider", "/workshops/{workshop_a}"),
        ("county_admin_b", "/schools/{school_a}/members"),
        ("host_b", "/workshops/{workshop_a}/members"),
    ],
)
def test_other_communities_are_404(world, api_as, role, path):
    ids = {k: getattr(world, k).id for k in ("school_a", "school_b", "workshop_a", "workshop_b", "county_a")}
    resp = api_as(world[role]).get(API + path.format(**ids))
    assert resp.status_code == 404
    assert error_of(resp) == "not_found"


@pytest.mark.parametrize(
    "role,path",
    [
        ("teacher", "/regions/{county_a}/members"),
        ("teacher", "/regions/{province}/members"),
        ("host", "/regions/{county_a}/members"),
        ("expert", "/regions/{city}/members"),
        ("school_admin", "/regions/{county_a}/members"),
    ],
)
def test_visible_but_not_listable_is_403(world, api_as, role, path):
    ids = {k: getattr(world, k).id for k in ("county_a", "province", "city")}
    resp = api_as(world[role]).get(API + path.format(**ids))
    assert resp.status_code == 403
    assert error_of(resp) == "forbidden"


def test_missing_objects_are_404(world, api_as):
    api = api_as(world["site_admin"])
    for path in ("/regions/999999", "/schools/999999/members", "/workshops/999999"):
        assert api.get(API + path).status_code == 404


# --- regions --------------------------------------------------------------------------------------


def test_top_regions(world, api_as, conforms):
    for role in ("teacher", "county_admin", "county_admin_b", "host", "province_admin", "site_admin"):
        resp = api_as(world[role]).get(f"{API}/regions")
        data = conforms(resp, "RegionList")
        assert [r["id"] for r in data["items"]] == [world.province.id], role
    assert api_as(world["outsider"]).get(f"{API}/regions").get_json() == {"items": []}


def test_county_region_for_its_admin(world, api_as, conforms):
    resp = api_as(world["county_admin"]).get(f"{API}/regions/{world.county_a.id}")
    assert resp.status_code == 200
    data = conforms(resp, "Region")
    assert data["name"] == "东湖区" and data["level"] == "county"
    assert data["parent"] == {"id": world.city.id, "name": "南昌市", "level": "city"}
    assert [r["name"] for r in data["trail"]] == ["江西省", "南昌市", "东湖区"]
    assert (data["school_count"], data["workshop_count"]) == (1, 1)
    assert data["teacher_count"] == world.school_a.teacher_count > 0
    assert [s["name"] for s in data["schools"]] == ["东湖小学"]
    assert [w["name"] for w in data["workshops"]] == ["东湖数学工作坊"]
    assert data["children"] == []
    assert data["admins"]["county_admin"] == [{"id": world["county_admin"].id, "name": "褚县管"}]
    assert data["admins"]["supervisor"] == [{"id": world["supervisor"].id, "name": "韩督导"}]
    assert {"member.list", "idcard.view_full", "roster.import"} <= set(data["capabilities"])
    assert "西湖" not in resp.get_data(as_text=True)


def test_city_lists_only_the_counties_the_caller_may_see(world, api_as):
    teacher = api_as(world["teacher"]).get(f"{API}/regions/{world.city.id}").get_json()
    assert [c["name"] for c in teacher["children"]] == ["东湖区"]
    # A teacher looks up the tree: the city page and its live Q&A (DOMAIN.md §7: watch, ask), nothing to manage.
    assert teacher["capabilities"] == ["community.view", "live.view", "live.ask"]
    city_admin = api_as(world["city_admin"]).get(f"{API}/regions/{world.city.id}").get_json()
    assert [c["name"] for c in city_admin["children"]] == ["东湖区", "西湖区"]
    assert city_admin["admins"]["city_admin"][0]["name"] == "蒋市管"
    province = api_as(world["teacher"]).get(f"{API}/regions/{world.province.id}").get_json()
    assert [c["name"] for c in province["children"]] == ["南昌市"] and province["parent"] is None


def test_county_lists_only_visible_workshops(world, api_as):
    # A teacher of school A may open county A but not its county-level workshop (not a member).
    data = api_as(world["teacher"]).get(f"{API}/regions/{world.county_a.id}").get_json()
    assert data["workshops"] == [] and [s["name"] for s in data["schools"]] == ["东湖小学"]
    data = api_as(world["member"]).get(f"{API}/regions/{world.county_a.id}").get_json()
    assert [w["name"] for w in data["workshops"]] == ["东湖数学工作坊"]


# --- schools and workshops ------------------------------------------------------------------------


def test_school(world, api_as, conforms):
    resp = api_as(world["school_admin"]).get(f"{API}/schools/{world.school_a.id}")
    data = conforms(resp, "School")
    assert data["name"] == "东湖小学" and data["stage"] == "primary"
    assert data["county"]["id"] == world.county_a.id
    assert set(data["admins"]) == {"school_admin", "school_trainer"}
    assert "school.manage" in data["capabilities"] and "idcard.view_full" not in data["capabilities"]
    # Workshops its teachers belong to, as far as the caller may open them: the county-level workshop
    # is outside a school admin's reach (access model), but its members and the county see it.
    assert data["workshops"] == []
    for role, expected in (("member", ["东湖数学工作坊"]), ("county_admin", ["东湖数学工作坊"]), ("teacher", [])):
        data = api_as(world[role]).get(f"{API}/schools/{world.school_a.id}").get_json()
        assert [w["name"] for w in data["workshops"]] == expected, role


def test_workshop_with_groups_leaders_hosts(world, api_as, conforms):
    resp = api_as(world["member"]).get(f"{API}/workshops/{world.workshop_a.id}")
    data = conforms(resp, "Workshop")
    assert data["name"] == "东湖数学工作坊" and data["subject"] == "math" and data["kind"] == "class"
    assert data["region"]["id"] == world.county_a.id and data["school"] is None
    assert data["member_count"] == 2 and data["group_count"] == 1
    [group] = data["groups"]
    assert group["name"] == "第一组" and group["leader"] == {"id": world["leader"].id, "name": "王组长"}
    assert data["hosts"] == [{"id": world["host"].id, "name": "孙坊主"}]
    assert data["experts"] == [{"id": world["expert"].id, "name": "吴专家"}]
    assert "member.list" in data["capabilities"] and "workshop.manage" not in data["capabilities"]


@pytest.mark.parametrize("role", ["host", "expert", "county_admin", "city_admin", "supervisor", "site_admin"])
def test_workshop_visible_to_its_people_and_the_regions_above(world, api_as, role):
    assert api_as(world[role]).get(f"{API}/workshops/{world.workshop_a.id}").status_code == 200


# --- member lists ---------------------------------------------------------------------------------


def _all_id_cards(w):
    return [u.id_card for u in w.users.values() if u.id_card]


def test_school_members_masked_for_school_admin(world, api_as, conforms):
    resp = api_as(world["school_admin"]).get(f"{API}/schools/{world.school_a.id}/members")
    assert resp.status_code == 200
    data = conforms(resp, "MemberPage")
    by_id = {m["id"]: m for m in data["items"]}
    teacher = world["teacher"]
    assert data["total"] == world.school_a.teacher_count == len(data["items"])
    m = by_id[teacher.id]
    assert "id_card" not in m and m["id_card_masked"] == teacher.id_card[:4] + "*" * 10 + teacher.id_card[-4:]
    assert m["phone"] == teacher.phone  # school admins hold member.contact
    assert m["school"]["id"] == world.school_a.id
    assert by_id[world["leader"].id]["id_card_masked"] is None  # no number on file
    text = resp.get_data(as_text=True)
    assert not any(n in text for n in _all_id_cards(world))


def test_school_members_full_id_for_county_admin(world, api_as, conforms):
    resp = api_as(world["county_admin"]).get(f"{API}/schools/{world.school_a.id}/members")
    data = conforms(resp, "MemberPage")
    m = next(m for m in data["items"] if m["id"] == world["teacher"].id)
    assert m["id_card"] == world["teacher"].id_card and "id_card_masked" not in m
    assert m["phone"] == world["teacher"].phone


def test_region_members(world, api_as, conforms):
    resp = api_as(world["city_admin"]).get(f"{API}/regions/{world.city.id}/members?per_page=100")
    data = conforms(resp, "MemberPage")
    schools = {m["school"]["name"] for m in data["items"]}
    assert schools == {"东湖小学", "西湖中学"}
    assert data["total"] == world.city.teacher_count
    assert any("id_card" in m for m in data["items"])
    resp = api_as(world["supervisor"]).get(f"{API}/regions/{world.county_a.id}/members")
    data = resp.get_json()
    assert resp.status_code == 200 and {m["school"]["name"] for m in data["items"]} == {"东湖小学"}
    # A supervisor inspects: no phones, no full numbers.
    assert all("phone" not in m and "id_card" not in m for m in data["items"])


def test_workshop_members_for_host_and_member(world, api_as, conforms):
    resp = api_as(world["host"]).get(f"{API}/workshops/{world.workshop_a.id}/members")
    data = conforms(resp, "MemberPage")
    assert {m["name"] for m in data["items"]} == {"李老师", "王组长"}
    assert all(m["group"] == {"id": world.group_a.id, "name": "第一组"} for m in data["items"])
    assert all("phone" in m and "id_card_masked" in m for m in data["items"])

    resp = api_as(world["member"]).get(f"{API}/workshops/{world.workshop_a.id}/members")
    data = conforms(resp, "MemberPage")
    assert data["total"] == 2
    assert all("phone" not in m and "id_card" not in m for m in data["items"])
    assert world["member"].id_card not in resp.get_data(as_text=True)


def test_full_id_never_leaks_without_the_capability(world, api_as):
    cards = _all_id_cards(world)
    for role in ("teacher", "member", "leader", "host", "expert", "school_trainer", "school_admin", "supervisor",
                 "project_manager"):  # fmt: skip
        api = api_as(world[role])
        for path in (
            "/me",
            f"/schools/{world.school_a.id}/members",
            f"/workshops/{world.workshop_a.id}/members",
            f"/regions/{world.county_a.id}/members",
            f"/regions/{world.province.id}/members",
        ):
            text = api.get(API + path).get_data(as_text=True)
            assert not any(n in text for n in cards), (role, path)


def test_session_cookie_reads_communities(world, login_as):
    browser = login_as(world["host"])
    assert browser.get(f"{API}/workshops/{world.workshop_a.id}/members").status_code == 200
    assert browser.get(f"{API}/workshops/{world.workshop_b.id}/members").status_code == 404


# --- paging and search ----------------------------------------------------------------------------


@pytest.fixture
def crowded(world):
    """25 more teachers in school A: 周一 … 周二十五, alternating math and english."""
    for i in range(1, 26):
        make_user(f"crowd{i:02d}", f"周{i}", world.school_a, subject="math" if i % 2 else "english",
                  id_card=id_number())  # fmt: skip
    community.refresh_counters()
    _db.session.commit()
    return world


def test_paging(crowded, api_as):
    w = crowded
    api = api_as(w["school_admin"])
    url = f"{API}/schools/{w.school_a.id}/members"
    total = w.school_a.teacher_count
    assert total >= 30
    first = api.get(f"{url}?per_page=10").get_json()
    assert (first["page"], first["per_page"], first["total"], len(first["items"])) == (1, 10, total, 10)
    seen = []
    for page in range(1, total // 10 + 2):
        seen += [m["id"] for m in api.get(f"{url}?per_page=10&page={page}").get_json()["items"]]
    assert len(seen) == len(set(seen)) == total
    beyond = api.get(f"{url}?per_page=10&page=99").get_json()
    assert beyond["items"] == [] and beyond["total"] == total
    default = api.get(url).get_json()
    assert default["per_page"] == 20 and len(default["items"]) == 20


def test_per_page_is_capped_and_bad_numbers_refused(crowded, api_as):
    api = api_as(crowded["school_admin"])
    url = f"{API}/schools/{crowded.school_a.id}/members"
    assert api.get(f"{url}?per_page=100000").get_json()["per_page"] == 100
    assert api.get(f"{url}?per_page=0").get_json()["per_page"] == 1
    assert api.get(f"{url}?page=-3").get_json()["page"] == 1
    for query in ("page=abc", "per_page=1.5", "subject=alchemy"):
        resp = api.get(f"{url}?{query}")
        assert resp.status_code == 400, query
        assert error_of(resp) == "bad_parameter"


def test_search_and_subject_filter(crowded, api_as):
    api = api_as(crowded["county_admin"])
    url = f"{API}/regions/{crowded.county_a.id}/members"
    data = api.get(f"{url}?q=周1").get_json()  # 周1, 周10…周19
    assert data["total"] == 11 == len(data["items"])
    assert all(m["name"].startswith("周1") for m in data["items"])
    data = api.get(f"{url}?q=crowd0").get_json()  # by username
    assert data["total"] == 9
    data = api.get(f"{url}?subject=english&per_page=5").get_json()
    assert data["total"] == 12 and len(data["items"]) == 5
    assert all(m["subject"] == "english" for m in data["items"])
    data = api.get(f"{url}?q=周1&subject=math").get_json()
    assert {m["name"] for m in data["items"]} == {"周1", "周11", "周13", "周15", "周17", "周19"}
    assert api.get(f"{url}?q=没有这个人").get_json() == {"items": [], "page": 1, "per_page": 20, "total": 0}
