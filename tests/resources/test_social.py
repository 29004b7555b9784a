"""Ratings (once per user, changeable, averages), favourites, comments, downloads, XSS inert everywhere."""

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.resources import services
from lms.resources.models import Resource, ResourceComment, ResourceRating, ResourceView
from tests.html_checks import live_markup
from tests.resources.conftest import png


@pytest.fixture
def res(world, make_resource):
    return make_resource(world["member"], world.workshop_a.context, title="勾股定理课件")


def _fresh(r):
    db.session.expire_all()
    return db.session.get(Resource, r.id)


def test_rating_once_per_user_and_average(world, res, login_as):
    services.rate(world["member"], res, 5)
    services.rate(world["leader"], res, 2)
    r = _fresh(res)
    assert (r.rating_sum, r.rating_count, r.rating_avg) == (7, 2, 3.5)
    services.rate(world["leader"], r, 4)  # changes, does not add
    r = _fresh(res)
    assert (r.rating_sum, r.rating_count, r.rating_avg) == (9, 2, 4.5)
    assert db.session.scalar(select(func.count(ResourceRating.id))) == 2
    for bad in (0, 6, "x", None):
        with pytest.raises(services.ResourceError):
            services.rate(world["host"], r, bad)
    client = login_as(world["host"])
    assert client.post(f"/resources/{r.id}/rate", data={"stars": "3"}).status_code == 302
    assert client.post(f"/resources/{r.id}/rate", data={"stars": "3"}).status_code == 302
    r = _fresh(res)
    assert r.rating_count == 3 and r.rating_avg == pytest.approx(4.0)
    assert login_as(world["teacher_b"]).post(f"/resources/{r.id}/rate", data={"stars": "1"}).status_code == 404
    assert _fresh(res).rating_count == 3


def test_favourites(world, res, make_resource, login_as):
    client = login_as(world["leader"])
    assert client.post(f"/resources/{res.id}/favourite", data={"on": "1"}).status_code == 302
    assert client.post(f"/resources/{res.id}/favourite", data={"on": "1"}).status_code == 302
    assert _fresh(res).favourite_count == 1
    html = client.get("/resources?tab=favourites").get_data(as_text=True)
    assert "勾股定理课件" in html
    assert services.state_for(world["leader"], res)["favourite"] is True
    client.post(f"/resources/{res.id}/favourite", data={"on": "0"})
    assert _fresh(res).favourite_count == 0
    assert "勾股定理课件" not in client.get("/resources?tab=favourites").get_data(as_text=True)
    assert login_as(world["teacher_b"]).post(f"/resources/{res.id}/favourite", data={"on": "1"}).status_code == 404


def test_a_favourite_that_became_invisible_leaves_the_list(world, res, login_as):
    services.set_favourite(world["county_admin"], res, True)
    assert services.favourites(world["county_admin"]).total == 1
    services.move(world["county_admin"], res, world.county_a.context)  # still visible
    assert services.favourites(world["county_admin"]).total == 1


def test_comments_and_deletion_rights(world, res, login_as):
    member = login_as(world["leader"])
    assert member.post(f"/resources/{res.id}/comments", data={"body": "很实用！"}).status_code == 302
    c = db.session.scalar(select(ResourceComment))
    assert _fresh(res).comment_count == 1
    assert login_as(world["member"]).post(f"/resources/comments/{c.id}/delete").status_code == 403
    assert login_as(world["teacher_b"]).post(f"/resources/comments/{c.id}/delete").status_code == 404
    assert login_as(world["host"]).post(f"/resources/comments/{c.id}/delete").status_code == 302
    assert _fresh(res).comment_count == 0
    with pytest.raises(services.ResourceError, match="comment_empty"):
        services.add_comment(world["leader"], res, "<script>alert(1)</script>  ")


def test_xss_payloads_inert_in_titles_descriptions_comments_and_file_names(
    world, make_resource, login_as, xss_payloads
):
    client = login_as(world["member"])
    ids = []
    for i, payload in enumerate(xss_payloads):
        r = make_resource(
            world["member"],
            world.workshop_a.context,
            title=(payload.strip() or "x")[:200],
            description=payload,
            tags=payload[:100],
            data=png(),
            name=payload[:80] + ".png",
        )
        try:
            services.add_comment(world["leader"], r, payload + f" 评论{i}")
        except services.ResourceError as err:  # the payload swallowed the words: nothing left to post
            assert str(err) == "comment_empty"
        ids.append(r.id)
    pages = [
        "/resources",
        "/resources?page=2",
        f"/resources/libraries/{world.workshop_a.context.id}",
        f"/workshops/{world.workshop_a.id}",
        "/me",
    ]
    pages += [f"/resources/{i}" for i in ids]
    for url in pages:
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert live_markup(resp.get_data(as_text=True)) == [], url
    for i in ids[:20]:
        dl = client.get(f"/resources/{i}/download")
        assert dl.status_code == 200
        cd = dl.headers["Content-Disposition"]
        assert "\n" not in cd and "\r" not in cd
    api = login_as(world["member"]).get(f"/api/v1/resources/{ids[0]}").get_json()
    assert "<script" not in api["description_html"].lower()


def test_download_counts_and_range(world, res, login_as):
    client = login_as(world["leader"])
    full = client.get(f"/resources/{res.id}/download")
    assert full.status_code == 200 and full.data.startswith(b"%PDF")
    assert "attachment" in full.headers["Content-Disposition"]
    first = client.get(f"/resources/{res.id}/download", headers={"Range": "bytes=0-9"})
    assert first.status_code == 206 and len(first.data) == 10
    later = client.get(f"/resources/{res.id}/download", headers={"Range": "bytes=10-19"})
    assert later.status_code == 206
    # Once per person: the second full download and the continuation add nothing; another person does.
    assert _fresh(res).download_count == 1
    assert login_as(world["member"]).get(f"/resources/{res.id}/download").status_code == 200
    assert _fresh(res).download_count == 2
    view = db.session.scalar(select(ResourceView).where(ResourceView.user_id == world["leader"].id))
    assert view.downloaded is True
    preview = client.get(f"/resources/{res.id}/file")
    assert preview.status_code == 200 and "inline" in preview.headers["Content-Disposition"]
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert _fresh(res).download_count == 2  # previews are not downloads


def test_views_are_recorded_once_per_user(world, res, login_as):
    client = login_as(world["leader"])
    client.get(f"/resources/{res.id}")
    client.get(f"/resources/{res.id}")
    assert db.session.scalar(select(func.count(ResourceView.id))) == 1
    assert _fresh(res).view_count == 2
