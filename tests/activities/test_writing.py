"""Research writing: who writes what where, who reads it (never another workshop), edit/delete, XSS."""

import pytest
from sqlalchemy import func, select

from lms.activities import writing
from lms.activities.models import Writing
from lms.communities import services as community
from lms.extensions import db as _db
from tests.factories import make_user
from tests.html_checks import live_markup

# Who may open workshop A's writing (page and list) and with which status otherwise.
READERS_A = {
    "member": 200,
    "leader": 200,
    "host": 200,
    "expert": 200,
    "county_admin": 200,
    "city_admin": 200,
    "province_admin": 200,
    "supervisor": 200,
    "project_manager": 200,
    "site_admin": 200,
    "teacher": 404,  # a teacher of school A who is not a member: the workshop is not theirs
    "school_admin": 404,  # workshop A hangs under county A, not under school A
    "school_trainer": 404,
    "member_b": 404,
    "host_b": 404,
    "teacher_b": 404,
    "county_admin_b": 404,
    "school_admin_b": 404,
    "outsider": 404,
}


def _log(world, author="member", title="第一篇研修日志", body="今天观课，收获很多。"):
    return writing.create(world[author], world.workshop_a, "log", title, body)


def test_member_writes_a_log_from_the_personal_space(world, login_as, db):
    client = login_as(world["member"])
    page = client.get("/me/writing/new?kind=log").get_data(as_text=True)
    assert world.workshop_a.name in page and world.workshop_b.name not in page
    r = client.post(
        "/me/writing/new",
        data={"workshop": world.workshop_a.id, "kind": "log", "title": "观课日志", "body": "第一段\n\n第二段"},
    )
    assert r.status_code == 302
    item = db.session.scalar(select(Writing))
    assert (item.kind, item.author_id, item.workshop_id) == ("log", world["member"].id, world.workshop_a.id)
    assert item.body_html == "<p>第一段</p><p>第二段</p>"
    assert r.headers["Location"].endswith(f"/writing/{item.id}")
    assert "观课日志" in client.get("/me/writing").get_data(as_text=True)
    assert "观课日志" in client.get("/me").get_data(as_text=True)  # my-writing panel


@pytest.mark.parametrize(("role", "status"), sorted(READERS_A.items()))
def test_who_reads_workshop_a_writing(world, login_as, db, role, status):
    item = _log(world)
    client = login_as(world[role])
    r = client.get(f"/writing/{item.id}")
    assert r.status_code == status, role
    listing = client.get(f"/workshops/{world.workshop_a.id}/writing")
    assert listing.status_code == status, role
    if status == 200:
        assert "第一篇研修日志" in r.get_data(as_text=True)
        assert "第一篇研修日志" in listing.get_data(as_text=True)
        assert "第一篇研修日志" in client.get(f"/workshops/{world.workshop_a.id}").get_data(as_text=True)
    else:
        assert "第一篇研修日志" not in r.get_data(as_text=True)


def test_workshop_b_never_sees_a_through_pages_or_api(world, login_as, db):
    from lms.accounts import services as accounts

    item = _log(world)
    b = login_as(world["member_b"])
    assert "第一篇研修日志" not in b.get(f"/workshops/{world.workshop_b.id}").get_data(as_text=True)
    assert "第一篇研修日志" not in b.get("/me").get_data(as_text=True)
    assert "第一篇研修日志" not in b.get("/me/feed").get_data(as_text=True)
    assert b.get(f"/api/v1/writing/{item.id}").status_code == 404
    assert b.get(f"/api/v1/workshops/{world.workshop_a.id}/writing").status_code == 404
    token = accounts.issue_token(world["member_b"], 1)
    hdr = {"Authorization": f"Bearer {token}"}
    r = b.post(
        "/api/v1/writing", json={"workshop_id": world.workshop_a.id, "kind": "log", "title": "越界"}, headers=hdr
    )
    assert r.status_code == 404
    # A teacher of the school sees the workshop page of a school workshop but not its members' writing.
    ws = community.create_workshop("东湖小学校本工作坊", world.county_a, school=world.school_a)
    _db.session.flush()
    community.add_member(ws, world["member"])
    _db.session.commit()
    inner = writing.create(world["member"], ws, "log", "校本日志", "内容")
    teacher = login_as(world["teacher"])
    assert teacher.get(f"/workshops/{ws.id}").status_code == 200
    assert teacher.get(f"/writing/{inner.id}").status_code == 403
    assert teacher.get(f"/workshops/{ws.id}/writing").status_code == 403
    assert "校本日志" not in teacher.get(f"/workshops/{ws.id}").get_data(as_text=True)


def test_only_members_write_teacher_kinds_and_hosts_host_kinds(world, login_as, db):
    ws = world.workshop_a
    assert writing.kinds_for(world["member"], ws) == ("plan", "log", "summary")
    assert writing.kinds_for(world["host"], ws) == ("workshop_plan", "stage_summary", "final_summary")
    for role in ("teacher", "member_b", "county_admin", "school_admin", "outsider"):
        assert writing.kinds_for(world[role], ws) == (), role
    with pytest.raises(PermissionError):
        writing.create(world["member"], ws, "workshop_plan", "坊计划", "")
    with pytest.raises(PermissionError):
        writing.create(world["host"], ws, "log", "坊主日志", "")
    with pytest.raises(PermissionError):
        writing.create(world["member_b"], ws, "log", "越界", "")
    # A teacher who is not a member cannot pick workshop A in the form.
    client = login_as(world["teacher"])
    r = client.post("/me/writing/new", data={"workshop": ws.id, "kind": "log", "title": "x", "body": "y"})
    assert r.status_code == 302  # no writable workshop: sent back to "my writing"
    assert db.session.scalar(select(func.count(Writing.id))) == 0


def test_one_plan_and_summary_a_year_two_stage_summaries(world, db):
    ws = world.workshop_a
    writing.create(world["member"], ws, "plan", "研修计划", "目标")
    with pytest.raises(writing.WritingError, match="limit_reached"):
        writing.create(world["member"], ws, "plan", "又一份计划", "")
    writing.create(world["member"], ws, "plan", "明年的计划", "", year=writing.current_year() + 1)
    for i in range(5):
        writing.create(world["member"], ws, "log", f"日志{i}", "")
    host = world["host"]
    writing.create(host, ws, "stage_summary", "第一阶段小结", "")
    writing.create(host, ws, "stage_summary", "第二阶段小结", "")
    with pytest.raises(writing.WritingError):
        writing.create(host, ws, "stage_summary", "第三阶段小结", "")
    writing.create(host, ws, "final_summary", "总结", "")
    with pytest.raises(writing.WritingError):
        writing.create(host, ws, "final_summary", "再总结", "")
    with pytest.raises(writing.WritingError, match="title_required"):
        writing.create(world["member"], ws, "log", "   ", "")


def test_edit_and_delete_own_only(world, login_as, db):
    item = _log(world)
    other = login_as(world["leader"])
    assert other.get(f"/writing/{item.id}/edit").status_code == 403
    assert other.post(f"/writing/{item.id}/edit", data={"title": "改", "body": "改"}).status_code == 403
    assert other.post(f"/writing/{item.id}/delete").status_code == 403
    host = login_as(world["host"])
    assert host.post(f"/writing/{item.id}/delete").status_code == 403
    assert login_as(world["member_b"]).post(f"/writing/{item.id}/delete").status_code == 404
    owner = login_as(world["member"])
    assert "第一篇研修日志" in owner.get(f"/writing/{item.id}/edit").get_data(as_text=True)
    r = owner.post(f"/writing/{item.id}/edit", data={"title": "修改后的日志", "body": "<p>新内容</p>"})
    assert r.status_code == 302
    db.session.expire_all()
    item = db.session.get(Writing, item.id)
    assert item.title == "修改后的日志" and item.updated_at is not None
    ident = item.id
    assert owner.post(f"/writing/{ident}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Writing.id))) == 0


def test_xss_payloads_inert_in_titles_and_bodies(world, login_as, db, xss_payloads):
    member = world["member"]
    ids = []
    for p in xss_payloads:
        ids.append(writing.create(member, world.workshop_a, "log", p[:200] or "x", p).id)
        ids.append(writing.create(member, world.workshop_a, "log", "正文", f"<p>说明</p>{p}").id)
    for item in _db.session.scalars(select(Writing)):
        assert live_markup(item.body_html) == [], item.body_html
    client = login_as(member)
    host = login_as(world["host"])
    pages = ["/me", "/me/writing", "/me/feed", f"/workshops/{world.workshop_a.id}"]
    pages += [f"/workshops/{world.workshop_a.id}/writing?page={n}" for n in range(1, 2 + len(ids) // 20)]
    pages += [f"/writing/{i}" for i in ids]
    for url in pages:
        for c in (client, host):
            r = c.get(url)
            assert r.status_code == 200, url
            assert live_markup(r.get_data(as_text=True)) == [], url
    api = client.get(f"/api/v1/writing/{ids[1]}").get_json()
    assert live_markup(api["body_html"]) == []


def test_api_write_read_edit_delete(world, login_as, db):
    from lms.accounts import services as accounts

    member = world["member"]
    hdr = {"Authorization": f"Bearer {accounts.issue_token(member, 1)}"}
    client = login_as(member)
    r = client.post(
        "/api/v1/writing",
        json={"workshop_id": world.workshop_a.id, "kind": "log", "title": "接口日志", "body": "内容"},
        headers=hdr,
    )
    assert r.status_code == 201, r.get_json()
    ident = r.get_json()["id"]
    assert client.get("/api/v1/me/writing").get_json()["total"] == 1
    assert (
        login_as(world["host"])
        .get(f"/api/v1/workshops/{world.workshop_a.id}/writing?kind=log")
        .get_json()["items"][0]["title"]
        == "接口日志"
    )
    # The session cookie alone does not write.
    assert client.post("/api/v1/writing", json={"workshop_id": 1, "kind": "log", "title": "x"}).status_code == 401
    r = client.patch(f"/api/v1/writing/{ident}", json={"title": "改过"}, headers=hdr)
    assert r.status_code == 200 and r.get_json()["title"] == "改过"
    other = {"Authorization": f"Bearer {accounts.issue_token(world['leader'], 1)}"}
    assert client.delete(f"/api/v1/writing/{ident}", headers=other).status_code == 403
    assert client.delete(f"/api/v1/writing/{ident}", headers=hdr).status_code == 204
    r = client.post(
        "/api/v1/writing",
        json={"workshop_id": world.workshop_a.id, "kind": "workshop_plan", "title": "坊计划"},
        headers=hdr,
    )
    assert r.status_code == 403


def test_writing_page_needs_login(client, world, db):
    item = _log(world)
    assert client.get(f"/writing/{item.id}").status_code == 302
    assert client.get(f"/api/v1/writing/{item.id}").status_code == 401


def test_stranger_user_without_school(world, login_as, db):
    stranger = make_user("stranger", "路人")
    _db.session.commit()
    item = _log(world)
    assert login_as(stranger).get(f"/writing/{item.id}").status_code == 404


def test_the_year_turns_at_midnight_beijing_time_not_utc(world, db, monkeypatch):
    from datetime import UTC, datetime

    # 1 January 00:30 in Beijing is still 31 December 16:30 in UTC.
    assert writing.current_year(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == 2027
    assert writing.current_year(datetime(2026, 12, 31, 15, 59, tzinfo=UTC)) == 2026
    ws = world.workshop_a
    monkeypatch.setattr(writing, "utcnow", lambda: datetime(2026, 12, 31, 15, 0, tzinfo=UTC))
    writing.create(world["member"], ws, "plan", "2026年计划", "")
    # Past midnight in Beijing: a new year's plan is allowed, and filed under 2027.
    monkeypatch.setattr(writing, "utcnow", lambda: datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    item = writing.create(world["member"], ws, "plan", "2027年计划", "")
    assert item.year == 2027
    with pytest.raises(writing.WritingError, match="limit_reached"):
        writing.create(world["member"], ws, "plan", "又一份", "")


def test_a_used_up_kind_is_not_offered_and_links_to_the_piece_written(world, login_as, db):
    ws = world.workshop_a
    client = login_as(world["member"])
    page = client.get("/me/writing").get_data(as_text=True)
    assert "/me/writing/new?kind=plan" in page and "data-used-up" not in page
    plan = writing.create(world["member"], ws, "plan", "研修计划", "目标")
    page = client.get("/me/writing").get_data(as_text=True)
    assert "/me/writing/new?kind=plan" not in page
    assert f'data-used-up="plan" href="/writing/{plan.id}"' in page
    assert f"我的 {plan.year} 年研修计划" in page
    assert "/me/writing/new?kind=summary" in page and "/me/writing/new?kind=log" in page
    # The link a teacher bookmarked leads to the plan written, saying why.
    r = client.get("/me/writing/new?kind=plan")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/{plan.id}")
    assert "你已写过" in client.get(r.headers["Location"]).get_data(as_text=True)
    # The form no longer offers it at all.
    form = client.get(f"/me/writing/new?workshop={ws.id}").get_data(as_text=True)
    assert 'value="plan"' not in form and 'value="summary"' in form
    # A host's two stage summaries: offered until both are written.
    host = login_as(world["host"])
    writing.create(world["host"], ws, "stage_summary", "第一阶段", "")
    assert "/me/writing/new?kind=stage_summary" in host.get("/me/writing").get_data(as_text=True)
    writing.create(world["host"], ws, "stage_summary", "第二阶段", "")
    assert "/me/writing/new?kind=stage_summary" not in host.get("/me/writing").get_data(as_text=True)
