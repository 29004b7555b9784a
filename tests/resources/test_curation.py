"""Curation rights: who may feature / mark excellent, move into a regional library, remove."""

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.media.models import StoredFile
from lms.resources import services
from lms.resources.models import Resource


@pytest.fixture
def ws_res(world, make_resource):
    return make_resource(world["member"], world.workshop_a.context, title="甲坊课件")


# role -> expected HTTP answer to "feature this workshop A resource" (302 done, 403 seen but not allowed, 404 unseen)
CURATE = {
    "host": 302,
    "expert": 302,
    "county_admin": 302,
    "city_admin": 302,
    "province_admin": 302,
    "site_admin": 302,
    "member": 403,
    "leader": 403,
    "supervisor": 403,
    "project_manager": 403,
    "school_admin": 404,  # workshop A is not under school A
    "teacher": 404,
    "host_b": 404,
    "county_admin_b": 404,
    "outsider": 404,
}


@pytest.mark.parametrize("role", sorted(CURATE))
def test_feature_and_mark_excellent(world, ws_res, login_as, role):
    client = login_as(world[role])
    resp = client.post(f"/resources/{ws_res.id}/status", data={"status": "featured"})
    assert resp.status_code == CURATE[role], role
    db.session.expire_all()
    assert db.session.get(Resource, ws_res.id).status == ("featured" if CURATE[role] == 302 else "normal")
    if CURATE[role] == 302:
        client.post(f"/resources/{ws_res.id}/status", data={"status": "excellent"})
        db.session.expire_all()
        assert db.session.get(Resource, ws_res.id).status == "excellent"
        html = login_as(world["member"]).get("/resources?status=excellent").get_data(as_text=True)
        assert "甲坊课件" in html


def test_school_admin_curates_the_school_library(world, make_resource):
    r = make_resource(world["teacher"], world.school_a.context)
    services.set_status(world["school_admin"], r, "featured")
    with pytest.raises(services.ResourceError):
        services.set_status(world["school_admin_b"], r, "featured")
    with pytest.raises(services.ResourceError):
        services.set_status(world["school_trainer"], r, "featured")


def test_personal_resources_are_not_curated(world, make_resource):
    r = make_resource(world["teacher"])
    for role in ("site_admin", "county_admin", "teacher"):
        assert not services.may_curate(world[role], r)


def test_host_proposes_for_a_regional_library_a_curator_there_decides(world, ws_res, login_as):
    """A host curates the workshop's library only: a regional library is theirs to propose for, never
    to publish into; the county's curators accept or decline, and each side is told."""
    from lms.notifications.models import Notification

    assert services.move_targets(world["host"], ws_res) == []
    targets = {c.id for c in services.propose_targets(world["host"], ws_res)}
    assert targets == {world.county_a.context.id, world.city.context.id, world.province.context.id}
    host = login_as(world["host"])
    for ctx in (world.county_a.context, world.province.context):  # no moving, whatever the form says
        assert host.post(f"/resources/{ws_res.id}/move", data={"context_id": ctx.id}).status_code == 403
    url = f"/resources/{ws_res.id}/propose"
    assert host.post(url, data={"context_id": world.county_b.context.id}).status_code == 403
    assert host.post(url, data={"context_id": world.county_a.context.id}).status_code == 302
    db.session.expire_all()
    r = db.session.get(Resource, ws_res.id)
    assert (r.context_id, r.proposed_by_id) == (world.workshop_a.context.id, world["host"].id)
    assert r.proposed_context_id == world.county_a.context.id
    assert services.propose_targets(world["host"], r) == []  # one proposal at a time
    # Still in the workshop: teachers of county A outside the workshop do not see it yet.
    assert login_as(world["teacher"]).get(f"/resources/{r.id}").status_code == 404
    told = db.session.scalars(select(Notification).where(Notification.user_id == world["county_admin"].id)).all()
    assert any("甲坊课件" in n.text and n.url == f"/resources/{r.id}" for n in told)
    # The county's library page lists it for its curators, nobody else.
    admin = login_as(world["county_admin"])
    assert "甲坊课件" in admin.get(f"/resources/libraries/{world.county_a.context.id}").get_data(as_text=True)
    assert services.proposals(world["teacher"], world.county_a.context) == []
    # Neither the proposer nor a curator of another county accepts it.
    assert host.post(f"/resources/{r.id}/proposal", data={"decision": "approve"}).status_code == 403
    assert login_as(world["county_admin_b"]).post(f"/resources/{r.id}/proposal",
                                                  data={"decision": "approve"}).status_code == 404  # fmt: skip
    assert admin.post(f"/resources/{r.id}/proposal", data={"decision": "approve"}).status_code == 302
    db.session.expire_all()
    r = db.session.get(Resource, ws_res.id)
    assert (r.context_id, r.proposed_context_id) == (world.county_a.context.id, None)
    assert login_as(world["teacher"]).get(f"/resources/{r.id}").status_code == 200
    assert login_as(world["teacher_b"]).get(f"/resources/{r.id}").status_code == 404
    told = db.session.scalars(select(Notification).where(Notification.user_id == world["host"].id)).all()
    assert any("甲坊课件" in n.text for n in told)
    # the host's right was in the workshop: the county library is no longer theirs to curate
    assert host.post(f"/resources/{r.id}/status", data={"status": "featured"}).status_code == 403


def test_a_proposal_declined_or_withdrawn_leaves_the_resource_where_it_was(world, ws_res):
    services.propose(world["host"], ws_res, world.province.context)
    with pytest.raises(services.ResourceError):
        services.decide(world["county_admin"], ws_res, approve=True)  # the province's call, not the county's
    services.decide(world["province_admin"], ws_res, approve=False)
    assert (ws_res.context_id, ws_res.proposed_context_id) == (world.workshop_a.context.id, None)
    services.propose(world["host"], ws_res, world.county_a.context)
    services.decide(world["host"], ws_res, approve=False)  # withdrawn by its proposer
    assert ws_res.proposed_context_id is None
    with pytest.raises(services.ResourceError):
        services.decide(world["county_admin"], ws_res, approve=True)


def test_region_curators_move_directly_within_their_reach(world, ws_res):
    targets = {c.id for c in services.move_targets(world["county_admin"], ws_res)}
    assert world.county_a.context.id in targets
    assert world.city.context.id not in targets and world.county_b.context.id not in targets
    assert services.propose_targets(world["county_admin"], ws_res)  # the city and province above: propose
    services.move(world["county_admin"], ws_res, world.county_a.context)
    assert ws_res.context_id == world.county_a.context.id


def test_member_cannot_move(world, ws_res, login_as):
    resp = login_as(world["member"]).post(
        f"/resources/{ws_res.id}/move", data={"context_id": world.county_a.context.id}
    )
    assert resp.status_code == 403


REMOVE = {
    "member": 302,  # the owner
    "county_admin": 302,
    "site_admin": 302,
    "host": 403,
    "expert": 403,
    "leader": 403,
    "county_admin_b": 404,
    "teacher": 404,
}


@pytest.mark.parametrize("role", sorted(REMOVE))
def test_remove(world, ws_res, login_as, role):
    file_id, rid = ws_res.file_id, ws_res.id
    resp = login_as(world[role]).post(f"/resources/{rid}/delete")
    assert resp.status_code == REMOVE[role], role
    db.session.expire_all()
    gone = REMOVE[role] == 302
    assert (db.session.get(Resource, rid) is None) is gone
    assert (db.session.get(StoredFile, file_id) is None) is gone


def test_curation_buttons_only_for_curators(world, ws_res, login_as):
    assert "res-curate" in login_as(world["host"]).get(f"/resources/{ws_res.id}").get_data(as_text=True)
    assert "res-curate" not in login_as(world["leader"]).get(f"/resources/{ws_res.id}").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Resource.id))) == 1
