"""Issue 6 audit: the schedule form's "For" and the rota's "Where" list every context under the
user's reach where they hold the capability, grouped by kind, in a fixed number of statements."""

from lms.communities import services as community
from lms.live import services
from tests.factories import assign
from tests.live.test_query_counts import statements


def _names(contexts):
    return {c.name for c in contexts}


def test_a_province_expert_who_hosts_a_workshop_gets_everything_under_both(world, db):
    assign(world["expert"], "expert", world.province.context)
    got = _names(services.host_contexts(world["expert"]))
    assert {"江西省", "南昌市", "东湖区", "西湖区", "东湖小学", "西湖中学", "东湖数学工作坊", "西湖语文工作坊"} <= got
    assert _names(services.contexts_with(world["expert"], "live.answer")) == got  # the rota's "Where"


def test_a_county_admin_gets_the_county_and_what_is_under_it(world):
    assert _names(services.host_contexts(world["county_admin"])) == {"东湖区", "东湖小学", "东湖数学工作坊"}
    assert _names(services.host_contexts(world["host"])) == {"东湖数学工作坊"}
    assert services.host_contexts(world["member"]) == []


def test_the_form_groups_them_and_runs_a_fixed_number_of_statements(world, login_as, db):
    client = login_as(world["county_admin"])
    html = client.get("/live/new").get_data(as_text=True)
    for zh, en in (("区域", "Regions"), ("学校", "Schools"), ("工作坊", "Workshops")):  # before and after the catalogue
        assert f'<optgroup label="{zh}">' in html or f'<optgroup label="{en}">' in html, en
    assert "data-filter" in html and "js/live_forms.js" in html
    few = len(statements(client, "/live/new"))
    for i in range(6):
        s = community.create_school(f"新学校{i}", world.county_a, stage="primary")
        community.create_workshop(f"新工作坊{i}", world.county_a, subject="math", stage="primary")
        assert s
    db.session.commit()
    html = client.get("/live/new").get_data(as_text=True)
    assert "新工作坊5" in html and "新学校5" in html
    assert len(statements(client, "/live/new")) == few
