def test_personal_space_lists_my_communities(world, login_as):
    client = login_as(world["member"])
    html = client.get("/me").get_data(as_text=True)
    assert "东湖数学工作坊" in html
    assert "东湖小学" in html and "东湖区" in html and "江西省" in html
    assert "西湖" not in html


def test_workshop_page_shows_host_groups_and_members(world, login_as):
    client = login_as(world["member"])
    html = client.get(f"/workshops/{world.workshop_a.id}").get_data(as_text=True)
    assert "孙坊主" in html and "第一组" in html and "王组长" in html
    assert "李老师" in html


def test_county_page_lists_schools_and_workshops(world, login_as):
    client = login_as(world["county_admin"])
    html = client.get(f"/regions/{world.county_a.id}").get_data(as_text=True)
    assert "东湖小学" in html and "东湖数学工作坊" in html
    assert "西湖中学" not in html


def test_cross_county_is_404(world, login_as):
    client = login_as(world["county_admin"])
    assert client.get(f"/regions/{world.county_b.id}").status_code == 404
    assert client.get(f"/schools/{world.school_b.id}").status_code == 404
    assert client.get(f"/workshops/{world.workshop_b.id}").status_code == 404


def test_region_page_lists_only_what_the_viewer_may_open(world, login_as):
    html = login_as(world["teacher"]).get(f"/regions/{world.city.id}").get_data(as_text=True)
    assert "东湖区" in html and "西湖区" not in html
    html = login_as(world["city_admin"]).get(f"/regions/{world.city.id}").get_data(as_text=True)
    assert "东湖区" in html and "西湖区" in html


def test_member_search_is_case_insensitive_and_literal(world, login_as, db):
    from lms.communities.services import member_page

    assert [u.username for u in member_page(world.school_a, q="TEACHER_A").items] == ["teacher_a"]
    assert member_page(world.school_a, q="%").items == []  # a literal percent sign, not "everything"


def test_counters_count_active_accounts_only(world, db):
    from lms.communities.services import refresh_counters, refresh_workshop

    world["member"].active = False
    refresh_counters()
    refresh_workshop(world.workshop_a)
    db.session.commit()
    assert world.school_a.teacher_count == 5  # six teachers, one deactivated
    assert world.workshop_a.member_count == 1 and world.group_a.member_count == 1
