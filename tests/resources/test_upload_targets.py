"""One rule decides where a user may upload (services.may_upload): the buttons on community and
library pages, the upload form's library list (preselecting the library the user came from) and
the API all follow it, so a button never leads to a form that files the resource elsewhere."""

import re

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.resources import services
from lms.resources.models import Resource
from tests.resources.conftest import upload_file


def _selected_library(html: str) -> str | None:
    select_html = re.search(r'<select[^>]*name="library".*?</select>', html, re.S).group(0)
    m = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected', select_html)
    return (m.group(1) or m.group(2)) if m else None


# (role, community page) pairs where the role reaches the library from above or holds a role in it.
REACHES = [
    ("county_admin", "workshop_a"),  # county admin: workshops and schools of the county
    ("county_admin", "school_a"),
    ("city_admin", "county_a"),
    ("province_admin", "workshop_b"),
    ("host", "workshop_a"),
    ("member", "workshop_a"),
    ("teacher", "school_a"),
]


@pytest.mark.parametrize("role, where", REACHES)
def test_the_button_leads_to_a_form_filing_into_that_library(world, login_as, role, where):
    community = getattr(world, where)
    ctx = community.context
    client = login_as(world[role])
    page = client.get(f"/resources/libraries/{ctx.id}").get_data(as_text=True)
    assert f"/resources/upload?library={ctx.id}" in page, "the upload button"
    form = client.get(f"/resources/upload?library={ctx.id}").get_data(as_text=True)
    assert _selected_library(form) == str(ctx.id), "the library of the page is preselected"
    resp = client.post(
        "/resources/upload",
        data={
            "title": "从社区页上传",
            "library": str(ctx.id),
            "kind": "",
            "stage": "",
            "subject": "",
            "file": upload_file(),
        },  # fmt: skip
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    r = db.session.scalar(select(Resource))
    assert r.context_id == ctx.id, "filed where the button was, not in the personal space"


def test_community_page_panel_button_follows_the_same_rule(world, login_as):
    html = login_as(world["county_admin"]).get(f"/workshops/{world.workshop_a.id}").get_data(as_text=True)
    assert f"/resources/upload?library={world.workshop_a.context.id}" in html
    html = login_as(world["supervisor"]).get(f"/regions/{world.county_a.id}").get_data(as_text=True)
    assert "/resources/upload?library=" not in html  # sees the county, may not upload there


@pytest.mark.parametrize(
    "role, where",
    [("supervisor", "county_a"), ("teacher", "county_a"), ("teacher", "workshop_a"), ("school_admin", "county_a")],
)
def test_no_button_where_the_upload_would_be_refused(world, login_as, role, where):
    ctx = getattr(world, where).context
    client = login_as(world[role])
    page = client.get(f"/resources/libraries/{ctx.id}")
    if page.status_code == 200:
        assert "/resources/upload?library=" not in page.get_data(as_text=True)
    assert services.may_upload(world[role], ctx) is False
    form = client.get(f"/resources/upload?library={ctx.id}").get_data(as_text=True)
    assert _selected_library(form) != str(ctx.id)
    assert "不能上传到该资源库" in form  # said, not a silent fallback to the personal space


def test_may_upload_matches_the_service_and_the_api(world, api_as, make_resource):
    cases = [
        ("county_admin", world.workshop_a.context, True),
        ("county_admin", world.workshop_b.context, False),
        ("host", world.workshop_a.context, True),
        ("member", world.school_a.context, True),
        ("member", world.county_a.context, False),
        ("site_admin", world.workshop_b.context, True),
    ]
    for role, ctx, ok in cases:
        assert services.may_upload(world[role], ctx) is ok, (role, ctx.name)
        resp = api_as(world[role]).post(
            "/api/v1/resources",
            data={"title": "接口上传", "library": str(ctx.id), "file": upload_file()},
            content_type="multipart/form-data",
        )
        if ok:
            assert resp.status_code == 201, (role, resp.get_json())
            assert resp.get_json()["library_name"] == ctx.name
        else:
            assert resp.status_code in (403, 404), (role, resp.status_code)


def test_only_libraries_take_uploads(world, make_resource):
    from lms.access.services import site_context

    site = site_context()
    assert services.may_upload(world["site_admin"], site) is False
    with pytest.raises(services.ResourceError, match="forbidden"):
        make_resource(world["site_admin"], site)


def test_form_lists_own_libraries_and_the_one_came_from(world):
    admin = world["county_admin"]
    own = [c.id for c in services.upload_targets(admin)]
    assert own == [world.county_a.context.id]
    with_current = [c.id for c in services.upload_targets(admin, current=world.workshop_a.context)]
    assert with_current[0] == world.workshop_a.context.id and world.county_a.context.id in with_current
    assert [c.id for c in services.upload_targets(admin, current=world.workshop_b.context)] == own
