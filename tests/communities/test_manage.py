from sqlalchemy import select

from lms.communities.models import StudyGroup, Workshop, WorkshopMembership
from tests.factories import make_user


def _members(db, ws):
    return {
        m.user_id: m.group_id
        for m in db.session.scalars(select(WorkshopMembership).where(WorkshopMembership.workshop_id == ws.id))
    }


def test_host_adds_members_by_username_and_phone(world, login_as, db):
    ws = world.workshop_a
    client = login_as(world["host"])
    body = f"{world['teacher'].username}\n{world['school_admin'].phone}\nnobody_here\n{world['teacher_b'].username}"
    r = client.post(f"/workshops/{ws.id}/manage", data={"action": "add", "add-logins": body}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "nobody_here" in html  # reported as not found
    assert world["teacher_b"].username in html  # other county: refused as typed
    members = _members(db, ws)
    assert world["teacher"].id in members and world["school_admin"].id in members
    assert world["teacher_b"].id not in members
    db.session.refresh(ws)
    assert ws.member_count == 4


def test_adding_members_does_not_reveal_people_outside_the_region(world, login_as, db):
    """A host could otherwise type sequential usernames or phone numbers and read back the names of
    teachers anywhere on the site: someone outside the workshop's region is "not found" like a
    made-up login, and only the typed text is echoed."""
    ws = world.workshop_a
    outsider = world["teacher_b"]
    outsider.phone = "13712345678"
    homeless = make_user("drifter", "无校人员", phone="13787654321")  # no school: in nobody's region
    db.session.commit()
    client = login_as(world["host"])
    typed = [outsider.username, outsider.phone, homeless.username, homeless.phone, "t999999"]
    r = client.post(f"/workshops/{ws.id}/manage", data={"action": "add", "add-logins": "\n".join(typed)},
                    follow_redirects=True)  # fmt: skip
    html = r.get_data(as_text=True)
    assert outsider.name not in html and homeless.name not in html
    assert "未找到或不在本工作坊所属区域：" in html
    for token in typed:
        assert token in html
    assert not {outsider.id, homeless.id} & set(_members(db, ws))
    # The answer for a real outsider and a made-up login is the same message.
    from lms.communities import services

    assert services.resolve_logins(ws, "\n".join(typed)) == ([], typed)
    users, unknown = services.resolve_logins(ws, f"{world['teacher'].username}\n{outsider.username}")
    assert users == [world["teacher"]] and unknown == [outsider.username]


def test_groups_and_leaders(world, login_as, db):
    ws, host = world.workshop_a, login_as(world["host"])
    host.post(f"/workshops/{ws.id}/manage", data={"action": "group", "group-name": "第二组"})
    g2 = db.session.scalar(select(StudyGroup).where(StudyGroup.name == "第二组"))
    member, leader = world["member"], world["leader"]
    # Move the member to group 2 and make them its leader in one go.
    r = host.post(
        f"/workshops/{ws.id}/manage",
        data={
            "action": "arrange",
            f"group_{member.id}": g2.id,
            f"group_{leader.id}": world.group_a.id,
            f"leader_{g2.id}": member.id,
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert _members(db, ws)[member.id] == g2.id
    assert db.session.get(StudyGroup, g2.id).leader_id == member.id
    assert db.session.get(StudyGroup, g2.id).member_count == 1
    # A leader who is not in the group is refused and nothing changes.
    r = host.post(
        f"/workshops/{ws.id}/manage",
        data={"action": "arrange", f"group_{member.id}": "", f"leader_{g2.id}": leader.id},
        follow_redirects=True,
    )
    assert "nothing was changed" in r.get_data(as_text=True) or "未作任何修改" in r.get_data(as_text=True)
    db.session.expire_all()
    assert _members(db, ws)[member.id] == g2.id
    # Deleting a group ungroups its members.
    host.post(f"/workshops/{ws.id}/manage", data={"action": "delete_group", "group_id": g2.id})
    db.session.expire_all()
    assert _members(db, ws)[member.id] is None


def test_remove_member_clears_leadership(world, login_as, db):
    ws, host = world.workshop_a, login_as(world["host"])
    host.post(f"/workshops/{ws.id}/manage", data={"action": "remove", "user_id": world["leader"].id})
    db.session.expire_all()
    assert world["leader"].id not in _members(db, ws)
    assert db.session.get(StudyGroup, world.group_a.id).leader_id is None


def test_only_the_host_or_admins_above_manage(world, login_as):
    ws = world.workshop_a
    for role, code in [
        ("member", 403),
        ("leader", 403),
        ("teacher", 404),
        ("host_b", 404),
        ("county_admin_b", 404),
        ("host", 200),
        ("county_admin", 200),
        ("site_admin", 200),
    ]:
        assert login_as(world[role]).get(f"/workshops/{ws.id}/manage").status_code == code, role


def test_county_admin_creates_workshop_with_host(world, login_as, db):
    host = make_user("new_host", "新坊主", world.school_a)
    db.session.commit()
    client = login_as(world["county_admin"])
    r = client.post(
        f"/regions/{world.county_a.id}/workshops/new",
        data={"name": "东湖英语工作坊", "kind": "class", "subject": "english", "stage": "primary", "host": "new_host"},
    )
    assert r.status_code == 302
    ws = db.session.scalar(select(Workshop).where(Workshop.name == "东湖英语工作坊"))
    assert login_as(host).get(f"/workshops/{ws.id}/manage").status_code == 200
    db.session.refresh(world.county_a)
    assert world.county_a.workshop_count == 2
    # Unknown host: form error, nothing created.
    r = client.post(f"/regions/{world.county_a.id}/workshops/new", data={"name": "X", "kind": "class", "host": "ghost"})
    assert r.status_code == 200
    assert db.session.scalar(select(Workshop).where(Workshop.name == "X")) is None
    # Others may not create workshops in county A.
    for role in ("county_admin_b", "school_admin", "host", "teacher"):
        r = login_as(world[role]).post(
            f"/regions/{world.county_a.id}/workshops/new", data={"name": "Y", "kind": "class", "host": "new_host"}
        )
        assert r.status_code in (403, 404), role


def _form_values(html: str, form_id: str) -> dict[str, str]:
    """What a browser submits for the form as shown: each select's selected option."""
    from tests.access.dom import parse

    form = next(f for f in parse(html).iter("form") if f.attrs.get("id") == form_id)
    data = {i.attrs["name"]: i.attrs.get("value", "") for i in form.iter("input") if i.attrs.get("name")}
    for sel in form.iter("select"):
        chosen = [o for o in sel.iter("option") if "selected" in o.attrs]
        data[sel.attrs["name"]] = chosen[0].attrs.get("value", "") if chosen else ""
    return data


def test_a_leader_on_another_page_is_kept_and_can_be_chosen(world, login_as, db, monkeypatch):
    """The member table is paged; the leader choices list the whole group, so saving one page never
    clears a leader whose row is on another."""
    from lms.communities import services
    from lms.communities import views as community_views

    monkeypatch.setattr(community_views, "MANAGE_PAGE_SIZE", 2)
    ws, group, host = world.workshop_a, world.group_a, login_as(world["host"])
    extra = [make_user(f"zz_late_{i}", f"甲{i}", world.school_a) for i in range(3)]
    db.session.flush()
    for u in extra:
        services.add_member(ws, u, group)
    db.session.flush()
    services.set_group_leader(group, extra[-1])  # sorted last: not on page 1
    services.refresh_counters()
    db.session.commit()

    page1 = host.get(f"/workshops/{ws.id}/manage")
    html = page1.get_data(as_text=True)
    assert f"group_{extra[-1].id}" not in html  # their row is on a later page
    assert "?page=2" in html or "page=2" in html
    values = _form_values(html, "arrange")
    assert values[f"leader_{group.id}"] == str(extra[-1].id)
    resp = host.post(f"/workshops/{ws.id}/manage", data=values)
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(StudyGroup, group.id).leader_id == extra[-1].id
    # Someone else of the group, also on another page, can be chosen from page 1.
    values[f"leader_{group.id}"] = str(extra[-2].id)
    host.post(f"/workshops/{ws.id}/manage", data=values)
    db.session.expire_all()
    assert db.session.get(StudyGroup, group.id).leader_id == extra[-2].id
    # Saving page 2 comes back to page 2.
    page2 = _form_values(host.get(f"/workshops/{ws.id}/manage?page=2").get_data(as_text=True), "arrange")
    back = host.post(f"/workshops/{ws.id}/manage?page=2", data=page2)
    assert back.headers["Location"].endswith("page=2")


def test_rename_group_on_the_page(world, login_as, db):
    ws, host = world.workshop_a, login_as(world["host"])
    page = host.get(f"/workshops/{ws.id}/manage").get_data(as_text=True)
    assert 'value="rename_group"' in page
    r = host.post(f"/workshops/{ws.id}/manage", data={"action": "rename_group", "group_id": world.group_a.id,
                                                       "name": " 改名组 "})  # fmt: skip
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(StudyGroup, world.group_a.id).name == "改名组"
    host.post(f"/workshops/{ws.id}/manage", data={"action": "group", "group-name": "第二组"})
    r = host.post(f"/workshops/{ws.id}/manage", data={"action": "rename_group", "group_id": world.group_a.id,
                                                       "name": "第二组"}, follow_redirects=True)  # fmt: skip
    assert "已有同名小组" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(StudyGroup, world.group_a.id).name == "改名组"
