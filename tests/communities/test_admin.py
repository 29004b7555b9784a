"""Administration of the community tree (issue 2): regions and schools created and renamed by whoever
holds region.manage above them, roles appointed and revoked on the region, school and workshop pages.
Every refusal shows a clear message and stores nothing; another county's pages are 404, never data."""

import pytest
from sqlalchemy import func, select

from lms.access.models import Context, RoleAssignment
from lms.communities import services
from lms.communities.models import Region, School
from lms.extensions import db
from tests.access.dom import parse


def _counts():
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Region, School, Context, RoleAssignment))


def _text(resp) -> str:
    return parse(resp.get_data(as_text=True)).text


# --- services ------------------------------------------------------------------------------------------


def test_add_regions_down_the_levels(world):
    w = world
    province = services.add_region(None, " 赣北省 ", "361000")
    city = services.add_region(province, "北城市", None)
    county = services.add_region(city, "北城区", "361001")
    assert (province.level, city.level, county.level) == ("province", "city", "county")
    assert province.name == "赣北省" and county.context.path.startswith(city.context.path)
    assert county.context.path.startswith(province.context.path)
    with pytest.raises(services.CommunityError, match="no_sub_regions"):
        services.add_region(county, "某镇")
    school = services.add_school(county, "北城一小", "primary")
    assert school.context.path.startswith(county.context.path)
    db.session.refresh(province)
    assert province.school_count == 1  # the maintained counters of every level above
    assert w.province.school_count == 2  # the other province is untouched


@pytest.mark.parametrize(
    ("name", "code", "error"),
    [
        ("东湖区", None, "region_name_taken"),
        (" 东湖 区 ", None, "region_name_taken"),  # spaces do not make another name
        ("东湖区", "360102", "region_name_taken"),
        ("", None, "name_required"),
        ("   ", None, "name_required"),
        ("区" * 101, None, "name_too_long"),
        ("新区", "3601", "bad_code"),
        ("新区", "36010a", "bad_code"),
    ],
)
def test_bad_regions_are_refused_and_nothing_is_stored(world, name, code, error):
    before = _counts()
    with pytest.raises(services.CommunityError, match=error):
        services.add_region(world.city, name, code)
    db.session.rollback()
    assert _counts() == before


def test_codes_are_unique_and_full_width_digits_fold(world):
    w = world
    services.edit_region(w.county_a, "东湖区", "３６０１０２")  # typed with a Chinese input method
    assert w.county_a.code == "360102"
    with pytest.raises(services.CommunityError, match="code_taken"):
        services.add_region(w.city, "新区", "360102")
    db.session.rollback()
    # The same name under another parent is fine (two provinces may each have a 东湖区).
    other = services.add_region(None, "另一省")
    other_city = services.add_region(other, "另一市")
    assert services.add_region(other_city, "东湖区").name == "东湖区"


def test_rename_region_and_school(world):
    w = world
    services.edit_region(w.county_a, "东湖新区", None)
    assert w.county_a.name == "东湖新区" and w.county_a.context.name == "东湖新区"
    with pytest.raises(services.CommunityError, match="region_name_taken"):
        services.edit_region(w.county_a, "西湖区", None)
    db.session.rollback()
    assert db.session.get(Region, w.county_a.id).name == "东湖新区"
    services.edit_region(w.county_a, "东湖新区", None)  # its own name is not a duplicate
    services.edit_school(w.school_a, "东湖实验小学", "primary")
    assert w.school_a.context.name == "东湖实验小学"
    services.add_school(w.county_a, "东湖二小")
    with pytest.raises(services.CommunityError, match="school_name_taken"):
        services.edit_school(w.school_a, "东湖二小", None)
    with pytest.raises(services.CommunityError, match="school_name_taken"):
        services.add_school(w.county_a, "东湖二小 ")
    with pytest.raises(services.CommunityError, match="bad_stage"):
        services.add_school(w.county_a, "东湖三小", "kindergarten-ish")
    with pytest.raises(services.CommunityError, match="school_needs_county"):
        services.add_school(w.city, "市直小学")
    db.session.rollback()
    assert services.add_school(w.county_b, "东湖二小").county_id == w.county_b.id  # another county


# --- the region administration page --------------------------------------------------------------------


def test_county_admin_adds_and_renames_schools(world, login_as):
    w, client = world, login_as(world["county_admin"])
    url = f"/regions/{w.county_a.id}/manage"
    page = client.get(url)
    assert page.status_code == 200 and "东湖小学" in _text(page)
    r = client.post(url, data={"action": "add_school", "name": "东湖二小", "stage": "primary"})
    assert r.status_code == 302 and r.headers["Location"].endswith(url + "#units")
    school = db.session.scalar(select(School).where(School.name == "东湖二小"))
    assert school.county_id == w.county_a.id and school.stage == "primary"
    r = client.post(url, data={"action": "edit_school", "school_id": school.id, "name": "东湖第二小学", "stage": ""})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(School, school.id).name == "东湖第二小学"


def test_duplicate_school_shows_a_clear_message_keeps_the_input_and_stores_nothing(world, login_as):
    w, client = world, login_as(world["county_admin"])
    before = _counts()
    r = client.post(f"/regions/{w.county_a.id}/manage", data={"action": "add_school", "name": "东湖 小学"})
    assert r.status_code == 422
    assert "本县（市、区）已有同名学校，未作任何修改。" in _text(r)
    doc = parse(r.get_data(as_text=True))
    assert any(i.attrs.get("value") == "东湖 小学" for i in doc.iter("input"))  # what was typed stays
    assert _counts() == before


def test_county_admin_cannot_rename_their_own_county_or_touch_the_next(world, login_as):
    w, client = world, login_as(world["county_admin"])
    before = _counts()
    # Renaming a county is for whoever manages the city above it.
    r = client.post(f"/regions/{w.city.id}/manage", data={"action": "edit_child", "child_id": w.county_a.id,
                                                            "name": "改名区"})  # fmt: skip
    assert r.status_code == 403
    for url, data in (
        (f"/regions/{w.county_b.id}/manage", {"action": "add_school", "name": "偷建小学"}),
        (f"/regions/{w.county_b.id}/manage", {"action": "edit_school", "school_id": w.school_b.id, "name": "x"}),
        (f"/schools/{w.school_b.id}/manage", {"action": "appoint", "login": "teacher_a", "role": "school_admin"}),
        (f"/workshops/{w.workshop_b.id}/roles", {"action": "appoint", "login": "teacher_a", "role": "host"}),
    ):
        r = client.post(url, data=data)
        assert r.status_code == 404, url
        assert "西湖" not in r.get_data(as_text=True), url  # no data of the next county
        assert client.get(url).status_code == 404, url
    # Editing a school of county B through county A's own page is refused too.
    r = client.post(f"/regions/{w.county_a.id}/manage", data={"action": "edit_school", "school_id": w.school_b.id,
                                                                "name": "偷改中学"})  # fmt: skip
    assert r.status_code == 404
    db.session.expire_all()
    assert _counts() == before and db.session.get(Region, w.county_a.id).name == "东湖区"
    assert db.session.get(School, w.school_b.id).name == "西湖中学"


def test_city_admin_adds_and_renames_counties(world, login_as):
    w, client = world, login_as(world["city_admin"])
    url = f"/regions/{w.city.id}/manage"
    assert client.post(url, data={"action": "add_child", "name": "青山湖区", "code": "360111"}).status_code == 302
    county = db.session.scalar(select(Region).where(Region.name == "青山湖区"))
    assert county.level == "county" and county.parent_id == w.city.id and county.code == "360111"
    r = client.post(url, data={"action": "edit_child", "child_id": county.id, "name": "东湖区", "code": ""})
    assert r.status_code == 422 and "此处已有同名区域" in _text(r)
    r = client.post(url, data={"action": "add_child", "name": "新建区", "code": "12"})
    assert r.status_code == 422 and "行政区划代码" in _text(r)
    db.session.expire_all()
    assert db.session.get(Region, county.id).name == "青山湖区"
    assert db.session.scalar(select(Region).where(Region.name == "新建区")) is None


def test_only_the_site_admin_adds_provinces(world, login_as):
    before = _counts()
    r = login_as(world["province_admin"]).post("/manage", data={"name": "第二省"})
    assert r.status_code in (403, 404)
    assert _counts() == before
    admin = login_as(world["site_admin"])
    page = admin.get("/manage")
    assert page.status_code == 200 and "江西省" in _text(page)
    assert admin.post("/manage", data={"name": "第二省", "code": "370000"}).status_code == 302
    assert db.session.scalar(select(Region).where(Region.name == "第二省")).level == "province"
    r = admin.post("/manage", data={"name": "江西省"})
    assert r.status_code == 422 and "此处已有同名区域" in _text(r)


def test_the_hub_lists_where_one_manages(world, login_as):
    w = world
    page = _text(login_as(w["county_admin"]).get("/manage"))
    assert "东湖区" in page and "西湖区" not in page
    assert login_as(w["teacher"]).get("/manage").status_code == 404
    assert login_as(w["host"]).get("/manage").status_code == 404
    # The navigation shows the entry to those who administer something only.
    assert "/manage" in login_as(w["school_admin"]).get("/me").get_data(as_text=True)
    assert 'href="/manage"' not in login_as(w["teacher"]).get("/me").get_data(as_text=True)


def test_manage_buttons_appear_where_they_work(world, login_as):
    w = world
    county_page = login_as(w["county_admin"]).get(f"/regions/{w.county_a.id}").get_data(as_text=True)
    assert f"/regions/{w.county_a.id}/manage" in county_page
    for role in ("teacher", "supervisor", "host"):
        html = login_as(w[role]).get(f"/regions/{w.county_a.id}").get_data(as_text=True)
        assert f"/regions/{w.county_a.id}/manage" not in html, role
    ws_page = login_as(w["county_admin"]).get(f"/workshops/{w.workshop_a.id}").get_data(as_text=True)
    assert f"/workshops/{w.workshop_a.id}/roles" in ws_page
    host_page = login_as(w["host"]).get(f"/workshops/{w.workshop_a.id}").get_data(as_text=True)
    assert f"/workshops/{w.workshop_a.id}/roles" not in host_page


# --- roles on the pages ----------------------------------------------------------------------------------


def _assignment(obj, role) -> RoleAssignment:
    stmt = select(RoleAssignment).where(RoleAssignment.context_id == obj.context_id, RoleAssignment.role == role)
    return db.session.scalar(stmt)


def _holders(obj, role):
    stmt = select(RoleAssignment.user_id).where(
        RoleAssignment.context_id == obj.context_id, RoleAssignment.role == role
    )
    return set(db.session.scalars(stmt))


def test_appoint_a_school_admin_found_by_search(world, login_as):
    w, client = world, login_as(world["county_admin"])
    url = f"/schools/{w.school_a.id}/manage"
    page = client.get(url + "?who=张")
    doc = parse(page.get_data(as_text=True))
    radios = [i.attrs["value"] for i in doc.iter("input") if i.attrs.get("name") == "user_id"]
    assert radios == [str(w["teacher"].id)]
    # Searching for someone of the next county finds nobody.
    assert "赵老师" not in _text(client.get(url + "?who=赵"))
    r = client.post(url, data={"action": "appoint", "user_id": w["teacher"].id, "role": "school_admin"})
    assert r.status_code == 302 and r.headers["Location"].endswith("#roles")
    assert w["teacher"].id in _holders(w.school_a, "school_admin")
    assert "张老师 已任校级管理员" in _text(client.get(url))


@pytest.mark.parametrize(
    ("who", "data", "message"),
    [
        ("county_admin", {"login": "nobody", "role": "school_admin"}, "在您的管理范围内，没有这个用户名或手机号的账号"),
        (
            "county_admin",
            {"login": "teacher_b", "role": "school_admin"},
            "在您的管理范围内，没有这个用户名或手机号的账号",
        ),
        ("county_admin", {"login": "teacher_a", "role": "province_admin"}, "此处不能设这个角色"),
        ("school_admin", {"login": "teacher_a", "role": "school_admin"}, "您的角色无权在此任免这个角色"),
        ("county_admin", {"login": "sadmin_a", "role": "school_admin"}, "此人已在此担任这个角色"),
        ("county_admin", {"login": "teacher_a", "role": "nonsense"}, "没有这个角色"),
    ],
)
def test_bad_appointments_say_why_and_store_nothing(world, login_as, who, data, message):
    before = _counts()
    r = login_as(world[who]).post(f"/schools/{world.school_a.id}/manage", data={"action": "appoint", **data})
    assert r.status_code == 422
    assert message in _text(r)
    assert _counts() == before


def test_revoke_and_replace_the_host(world, login_as):
    w, client = world, login_as(world["county_admin"])
    url = f"/workshops/{w.workshop_a.id}/roles"
    page = parse(client.get(url).get_data(as_text=True))
    assert page.find("select", name="role") is not None
    # Replace the host: the teacher becomes the only host, in one step.
    r = client.post(url, data={"action": "appoint", "login": w["teacher"].phone, "role": "host", "replace": "1"})
    assert r.status_code == 302
    assert _holders(w.workshop_a, "host") == {w["teacher"].id}
    ra = _assignment(w.workshop_a, "host")
    # The host cannot open the page any more than before; the next county's admin cannot revoke.
    assert login_as(w["teacher"]).get(url).status_code == 403
    r = login_as(w["county_admin_b"]).post(url, data={"action": "revoke", "assignment_id": ra.id})
    assert r.status_code == 404
    assert _holders(w.workshop_a, "host") == {w["teacher"].id}
    # An assignment of another place, posted to this page, is not found.
    other = _assignment(w.workshop_b, "host")
    r = client.post(url, data={"action": "revoke", "assignment_id": other.id})
    assert r.status_code == 422 and "该任命已不存在" in _text(r)
    r = client.post(url, data={"action": "revoke", "assignment_id": ra.id})
    assert r.status_code == 302
    assert _holders(w.workshop_a, "host") == set()
    assert _holders(w.workshop_b, "host") == {w["host_b"].id}


def test_revoke_buttons_only_for_roles_one_may_give(world, login_as):
    w = world
    html = login_as(w["county_admin"]).get(f"/regions/{w.county_a.id}/manage").get_data(as_text=True)
    doc = parse(html)
    revocable = {i.attrs["value"] for i in doc.iter("input") if i.attrs.get("name") == "assignment_id"}
    supervisor_ra, own_ra = _assignment(w.county_a, "supervisor"), _assignment(w.county_a, "county_admin")
    assert str(supervisor_ra.id) in revocable and str(own_ra.id) not in revocable


def test_school_admin_names_trainers_only(world, login_as):
    w, client = world, login_as(world["school_admin"])
    url = f"/schools/{w.school_a.id}/manage"
    doc = parse(client.get(url).get_data(as_text=True))
    assert [o.attrs["value"] for o in doc.find("select", name="role").iter("option")] == ["school_trainer"]
    assert (
        client.post(url, data={"action": "appoint", "login": "teacher_a", "role": "school_trainer"}).status_code == 302
    )
    assert w["teacher"].id in _holders(w.school_a, "school_trainer")
    assert client.get(f"/regions/{w.county_a.id}/manage").status_code == 403
    assert client.get(f"/schools/{w.school_b.id}/manage").status_code == 404


def test_a_refused_appointment_shows_the_search_again(world, login_as):
    w, client = world, login_as(world["county_admin"])
    url = f"/workshops/{w.workshop_a.id}/roles?who=孙"
    form = parse(client.get(url).get_data(as_text=True)).find("form", method="post", novalidate="")
    assert form is not None
    r = client.post(url, data={"action": "appoint", "user_id": w["host"].id, "role": "host"})
    assert r.status_code == 422 and "此人已在此担任这个角色" in _text(r)
    radios = [i for i in parse(r.get_data(as_text=True)).iter("input") if i.attrs.get("name") == "user_id"]
    assert [(i.attrs["value"], "checked" in i.attrs) for i in radios] == [(str(w["host"].id), True)]


def test_a_new_workshop_s_host_is_someone_within_reach(world, login_as, caplog):
    """Naming the host when opening a workshop is an appointment like the others: a teacher of the next
    county is "not found", and the appointment is recorded."""
    import logging

    from lms.communities.models import Workshop

    w, client = world, login_as(world["county_admin"])
    url = f"/regions/{w.county_a.id}/workshops/new"
    r = client.post(url, data={"name": "东湖英语工作坊", "kind": "class", "host": "teacher_b"})
    assert r.status_code == 200 and "在您的管理范围内，没有这个用户名或手机号的账号" in _text(r)
    assert db.session.scalar(select(Workshop).where(Workshop.name == "东湖英语工作坊")) is None
    with caplog.at_level(logging.INFO, logger="lms.audit"):
        r = client.post(url, data={"name": "东湖英语工作坊", "kind": "class", "host": "teacher_a"})
    assert r.status_code == 302
    assert "role granted: host" in caplog.text and "cadmin_a" in caplog.text


def test_schools_added_at_once_in_two_counties_all_count_in_the_city(app, world, db):
    """Each county's row is locked, the city's is not: the counters above add in SQL, so schools
    created at the same moment in sibling counties are all counted."""
    import itertools

    from lms.communities import services as community
    from lms.communities.models import Region
    from tests.conftest import at_once

    city_id, before = world.city.id, world.city.school_count or 0
    counties = [world.county_a.id, world.county_b.id]
    seq = itertools.count()

    def add():
        i = next(seq)
        county = db.session.get(Region, counties[i % 2])
        community.add_school(county, f"并发学校{i}")
        return i

    for _ in range(3):
        assert len(at_once(app, 4, add)) == 4
    db.session.expire_all()
    assert db.session.get(Region, city_id).school_count == before + 12


def test_the_setup_guide_is_for_region_admins_only(world, login_as):
    assert 'id="setup-guide"' in login_as(world["county_admin"]).get("/manage").get_data(as_text=True)
    html = login_as(world["school_admin"]).get("/manage").get_data(as_text=True)
    assert "冯校管" in html or "东湖小学" in html  # the school admin's own hub
    assert 'id="setup-guide"' not in html
