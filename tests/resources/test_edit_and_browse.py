"""Editing a resource's details after upload (owner and curators, reindexed through the signals);
the status filter and the community picker on the main library page."""

import re

import pytest
from sqlalchemy import select

from lms import signals
from lms.extensions import db
from lms.resources import services
from lms.resources.models import Resource

FORM = {"title": "新标题", "kind": "lesson_design", "stage": "junior", "subject": "math", "tags": "几何，函数",
        "description": "<p>改过的说明<script>x()</script></p>"}  # fmt: skip


@pytest.fixture
def ws_res(world, make_resource):
    return make_resource(world["member"], world.workshop_a.context, title="旧标题", stage="primary",
                         subject="math", kind="courseware", tags="分数", description="<p>旧说明</p>")  # fmt: skip


@pytest.fixture
def heard():
    got = []

    def listener(sender, kind=None, ids=None, **_):
        got.append((kind, list(ids or [])))

    signals.content_changed.connect(listener)
    yield got
    signals.content_changed.disconnect(listener)


# role -> answer to editing a workshop A resource uploaded by the member
EDIT = {
    "member": 302,  # the owner
    "host": 302,  # curators of the workshop library
    "expert": 302,
    "county_admin": 302,
    "leader": 403,  # sees it, neither owner nor curator
    "supervisor": 403,
    "teacher": 404,
    "county_admin_b": 404,
}


@pytest.mark.parametrize("role", sorted(EDIT))
def test_who_may_edit(world, ws_res, login_as, role, heard):
    client = login_as(world[role])
    page = client.get(f"/resources/{ws_res.id}/edit")
    assert page.status_code == (200 if EDIT[role] == 302 else EDIT[role])
    detail = client.get(f"/resources/{ws_res.id}")
    if detail.status_code == 200:
        assert (f"/resources/{ws_res.id}/edit" in detail.get_data(as_text=True)) is (EDIT[role] == 302)
    heard.clear()
    resp = client.post(f"/resources/{ws_res.id}/edit", data=FORM)
    assert resp.status_code == EDIT[role], role
    db.session.expire_all()
    r = db.session.get(Resource, ws_res.id)
    if EDIT[role] == 302:
        assert (r.title, r.kind, r.stage, r.subject, r.tag_list) == ("新标题", "lesson_design", "junior", "math",
                                                                     ["几何", "函数"])  # fmt: skip
        assert "改过的说明" in r.description_html and "<script" not in r.description_html
        assert heard == [("resource", [r.id])]  # the search index is told
        assert r.file_id == ws_res.file_id and r.context_id == ws_res.context_id and r.owner_id == world["member"].id
    else:
        assert r.title == "旧标题" and heard == []


def test_the_edit_form_is_filled_with_the_current_details(world, ws_res, login_as):
    html = login_as(world["member"]).get(f"/resources/{ws_res.id}/edit").get_data(as_text=True)
    assert 'value="旧标题"' in html and 'value="分数"' in html and "旧说明" in html
    assert re.search(r'<option[^>]*selected[^>]*value="courseware"|<option[^>]*value="courseware"[^>]*selected', html)


def test_bad_details_are_refused_with_a_message_and_nothing_changes(world, ws_res, login_as):
    client = login_as(world["member"])
    kind_message = "请从列表中选择资源类型"
    for bad, message in (({"title": " "}, "请填写标题"), ({"stage": "college"}, "请从列表中选择学段"),
                         ({"kind": "virus"}, kind_message), ({"kind": "homework"}, kind_message)):  # fmt: skip
        resp = client.post(f"/resources/{ws_res.id}/edit", data={**FORM, **bad})
        assert resp.status_code == 400
        assert message in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resource, ws_res.id).title == "旧标题"


def test_edit_service_and_search(app, world, ws_res, resource_index):
    from lms.search import services as search

    services.edit(world["host"], ws_res, title="勾股定理教学设计", description="", stage="junior",
                    subject="math", kind="lesson_design", tags="几何")  # fmt: skip
    search.flush()
    member = world["member"]
    assert search.search(member, "勾股定理").total == 1
    assert search.search(member, "旧标题").total == 0
    with pytest.raises(services.ResourceError, match="forbidden"):
        services.edit(world["leader"], ws_res, title="x")


def test_excellent_homework_keeps_its_kind_on_edit(app, world, login_as):
    r = services.file_resource(owner=world["member"], title="优秀作业", context=world.county_a.context,
                               kind="homework", status="excellent", source="homework")  # fmt: skip
    client = login_as(world["county_admin"])
    assert 'value="homework"' in client.get(f"/resources/{r.id}/edit").get_data(as_text=True)
    resp = client.post(f"/resources/{r.id}/edit", data={**FORM, "kind": "homework"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Resource, r.id).kind == "homework"


def test_api_edit(world, ws_res, api_as, conforms):
    url = f"/api/v1/resources/{ws_res.id}"
    resp = api_as(world["member"]).patch(url, json={"title": "接口改名", "tags": ["a", "b"]})
    assert resp.status_code == 200, resp.get_json()
    conforms(resp, "ResourceDetail")
    assert resp.get_json()["title"] == "接口改名" and resp.get_json()["tags"] == ["a", "b"]
    assert resp.get_json()["kind"] == "courseware"  # what is not sent stays
    assert api_as(world["leader"]).patch(f"/api/v1/resources/{ws_res.id}", json={"title": "x"}).status_code == 403
    assert api_as(world["teacher_b"]).patch(f"/api/v1/resources/{ws_res.id}", json={"title": "x"}).status_code == 404
    bad = api_as(world["member"]).patch(f"/api/v1/resources/{ws_res.id}", json={"stage": "college"})
    assert bad.status_code == 400 and bad.get_json()["error"]["message"] == "bad_stage"


# --- browsing ---------------------------------------------------------------------------------


@pytest.fixture
def shelf(world, make_resource):
    w = world
    rs = {
        "school": make_resource(w["teacher"], w.school_a.context, title="甲校普通"),
        "workshop": make_resource(w["member"], w.workshop_a.context, title="甲坊精选"),
        "county": make_resource(w["county_admin"], w.county_a.context, title="甲县优秀"),
        "city": make_resource(w["city_admin"], w.city.context, title="市级普通"),
    }
    services.set_status(w["host"], rs["workshop"], "featured")
    services.set_status(w["county_admin"], rs["county"], "excellent")
    return rs


def _titles(html):
    return set(re.findall(r'class="res-title"[^>]*>([^<]+)<', html))


def test_status_filter_on_the_main_page(world, shelf, login_as):
    client = login_as(world["member"])
    html = client.get("/resources").get_data(as_text=True)
    assert 'name="status"' in html
    assert _titles(client.get("/resources?status=featured").get_data(as_text=True)) == {"甲坊精选"}
    assert _titles(client.get("/resources?status=excellent").get_data(as_text=True)) == {"甲县优秀"}
    assert _titles(client.get("/resources?status=nonsense").get_data(as_text=True)) == {
        "甲校普通", "甲坊精选", "甲县优秀", "市级普通"}  # fmt: skip


def test_community_picker_narrows_to_a_community_and_what_is_below(world, shelf, login_as):
    member = world["member"]
    client = login_as(member)
    html = client.get("/resources").get_data(as_text=True)
    picker = re.search(r'<select[^>]*name="community".*?</select>', html, re.S).group(0)
    for c in (world.workshop_a, world.school_a, world.county_a, world.city, world.province):
        assert f'value="{c.context.id}"' in picker, c.name
    assert f'value="{world.county_b.context.id}"' not in picker
    county = client.get(f"/resources?community={world.county_a.context.id}").get_data(as_text=True)
    assert _titles(county) == {"甲校普通", "甲坊精选", "甲县优秀"}  # the county's own and its schools' and workshops'
    assert _titles(client.get(f"/resources?community={world.workshop_a.context.id}").get_data(as_text=True)) == {
        "甲坊精选"}  # fmt: skip
    both = client.get(f"/resources?community={world.county_a.context.id}&status=featured").get_data(as_text=True)
    assert _titles(both) == {"甲坊精选"}
    # another county: the filter never widens what the member sees
    assert _titles(client.get(f"/resources?community={world.county_b.context.id}").get_data(as_text=True)) == set()
    api = login_as(member).get(f"/api/v1/resources?community={world.county_a.context.id}").get_json()
    assert {i["title"] for i in api["items"]} == {"甲校普通", "甲坊精选", "甲县优秀"}


def test_filters_ignore_a_bad_community(world, shelf):
    f = services.Filters.from_args({"community": "abc"})
    assert f.community is None
    page = services.browse(world["member"], services.Filters.from_args({"community": "999999"}))
    assert page.total == 0
    assert db.session.scalar(select(Resource.id).where(Resource.title == "甲校普通")) is not None
