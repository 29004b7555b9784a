"""The stored audit trail: every administrative action the services signal is filed once, with who,
when, what, where and a short detail that carries no personal data; its page lists the entries of
the reader's reach only (another county's are never shown), filtered and paged, newest first."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from lms import access
from lms.accounts import roster
from lms.accounts import services as accounts
from lms.audit import services as audit
from lms.audit.models import AuditEntry
from lms.communities import services as communities
from lms.extensions import db
from tests.access.dom import parse
from tests.accounts.test_roster import person, post, region_url, xlsx


def _text(resp) -> str:
    return parse(resp.get_data(as_text=True)).text


def _entries(action=None) -> list[AuditEntry]:
    db.session.expire_all()
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(db.session.scalars(stmt))


def _count() -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)))


# --- what is filed -----------------------------------------------------------------------------------


def test_role_changes_are_filed_at_their_context(world):
    w = world
    ra = access.appoint(w["county_admin"], w["teacher"], "school_trainer", w.school_a)
    access.dismiss(w["county_admin"], ra)
    granted, revoked = _entries("role.granted")[-1], _entries("role.revoked")[-1]
    for e in (granted, revoked):
        assert (e.actor_id, e.target_kind, e.target_id) == (w["county_admin"].id, "user", w["teacher"].id)
        assert e.context_id == w.school_a.context_id and e.context_path == w.school_a.context.path
        assert e.detail == {"role": "school_trainer"} and e.created_at is not None


def test_account_changes_are_filed_at_the_persons_school_or_role(world):
    w = world
    before = _count()
    accounts.admin_reset_password(w["county_admin"], w["teacher"])
    accounts.set_active(w["county_admin"], w["teacher"], False)
    accounts.set_active(w["county_admin"], w["teacher"], True)
    accounts.admin_reset_password(w["city_admin"], w["county_admin"])  # no school: filed at the county
    got = _entries()[before:]
    assert [e.action for e in got] == ["account.password_reset", "account.deactivated", "account.reactivated",
                                       "account.password_reset"]  # fmt: skip
    assert {e.context_path for e in got[:3]} == {w.school_a.context.path}
    assert got[3].context_path == w.county_a.context.path and got[3].target_id == w["county_admin"].id
    assert all(e.detail == {} for e in got)


def test_structure_and_workshops_are_filed(world):
    w = world
    actor = w["city_admin"]
    school = communities.add_school(w.county_a, "东湖二小", actor=actor)
    communities.edit_school(school, "东湖第二小学", None, actor=actor)
    communities.edit_school(school, "东湖第二小学", "primary", actor=actor)  # same name: no "renamed"
    region = communities.add_region(w.city, "青山湖区", actor=actor)
    communities.edit_region(region, "青山湖新区", None, actor=actor)
    ws = communities.new_workshop(w.county_a, "新坊", "class", None, None, "host_a", actor=w["county_admin"])
    actions = [e.action for e in _entries()]
    for a in ("school.created", "region.created", "workshop.created", "role.granted"):
        assert a in actions
    assert actions.count("school.renamed") == 1
    assert _entries("school.renamed")[0].detail == {"name": "东湖第二小学", "old": "东湖二小", "new": "东湖第二小学"}
    assert _entries("region.renamed")[0].detail["old"] == "青山湖区"
    made = _entries("workshop.created")[0]
    assert (made.target_id, made.context_path, made.actor_id) == (ws.id, ws.context.path, w["county_admin"].id)


def test_roster_imports_and_password_sheets_are_filed_without_personal_data(world, login_as):
    w = world
    client = login_as(w["county_admin"])
    rows = [person(1), person(2)]
    html = post(client, region_url(w.county_a), xlsx(rows)).get_data(as_text=True)
    import re

    sheet = re.findall(r'action="(/roster/passwords/[^"]+)"', html)[0]
    assert client.post(sheet).status_code == 200
    temp = accounts.admin_reset_password(w["county_admin"], w["member"])
    imported = _entries("roster.imported")[0]
    assert (imported.target_kind, imported.target_id, imported.context_path) == (
        "region", w.county_a.id, w.county_a.context.path)  # fmt: skip
    assert imported.detail == {"name": "东湖区", "created": 2, "updated": 0}
    kept, taken = _entries("passwords.kept")[0], _entries("passwords.taken")[0]
    assert kept.detail == taken.detail == {"count": 2}
    assert kept.context_path == taken.context_path == w.county_a.context.path
    # Nothing personal anywhere in the table: no ID-card number, phone, name of a new teacher or password.
    dump = json.dumps([[e.action, e.target_kind, e.context_path, e.origin_path, e.detail] for e in _entries()],
                      ensure_ascii=False)  # fmt: skip
    secrets = [r[3] for r in rows] + [r[7] for r in rows] + [r[1] for r in rows] + [temp]
    secrets += [w["teacher"].id_card, w["teacher"].phone]
    assert not [s for s in secrets if s and s in dump]


def test_the_detail_keeps_only_known_keys(world):
    e = audit.record("school.renamed", None, "school", 1, world.school_a.context,
                     {"old": "甲", "new": "乙", "id_card": "36010219880101123X", "password": "x"})  # fmt: skip
    assert e.detail == {"old": "甲", "new": "乙"} and e.actor_id is None


def test_a_failure_to_store_never_breaks_the_action(world, monkeypatch, caplog):
    def broken(*a, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(db.session, "commit", broken, raising=False)
    assert audit.record("school.renamed", None, "school", 1, None, {}) is None
    monkeypatch.undo()
    assert "could not store the audit entry" in caplog.text


# --- the page ------------------------------------------------------------------------------------------


def _seed(w):
    """An entry in each county (and one at the city)."""
    access.appoint(w["city_admin"], w["teacher"], "school_trainer", w.school_a)
    access.appoint(w["city_admin"], w["teacher_b"], "school_trainer", w.school_b)
    communities.add_region(w.city, "青山湖区", actor=w["city_admin"])


def _rows(resp) -> list[str]:
    doc = parse(resp.get_data(as_text=True))
    return [li.text for li in doc.iter("li") if "list-group-item" in li.attrs.get("class", "")
            and li.parent is not None and "audit-list" in li.parent.attrs.get("class", "")]  # fmt: skip


def test_county_admin_sees_their_county_only(world, login_as):
    w = world
    _seed(w)
    r = login_as(w["county_admin"]).get("/manage/audit")
    assert r.status_code == 200
    rows = _rows(r)
    assert len(rows) == 1 and "张老师" in rows[0] and "郑" not in rows[0]
    body = r.get_data(as_text=True)
    assert "赵老师" not in body and "西湖" not in body and "青山湖区" not in body
    # Asking for the next county's kind of entries gives nothing of it either.
    r = login_as(w["county_admin_b"]).get("/manage/audit?action=role.granted")
    assert [("赵老师" in x) for x in _rows(r)] == [True]
    assert "张老师" not in r.get_data(as_text=True)


def test_school_admin_sees_their_school_city_admin_the_city_site_admin_all(world, login_as):
    w = world
    _seed(w)
    communities.add_region(None, "第二省", actor=w["site_admin"])
    assert len(_rows(login_as(w["school_admin"]).get("/manage/audit"))) == 1
    assert len(_rows(login_as(w["city_admin"]).get("/manage/audit"))) == 3
    assert len(_rows(login_as(w["site_admin"]).get("/manage/audit"))) == 4


@pytest.mark.parametrize("role", ["teacher", "host", "supervisor", "expert", "outsider"])
def test_people_who_administer_nothing_get_404(world, login_as, role):
    _seed(world)
    r = login_as(world[role]).get("/manage/audit")
    assert r.status_code == 404 and "audit-list" not in r.get_data(as_text=True) and _rows(r) == []


def test_a_moved_school_is_seen_by_both_counties(world, login_as):
    w = world
    communities.move_school(w.school_a, w.county_b, actor=w["city_admin"])
    for admin in ("county_admin", "county_admin_b"):
        rows = _rows(login_as(w[admin]).get("/manage/audit"))
        assert len(rows) == 1 and "东湖区" in rows[0] and "西湖区" in rows[0]


def test_filters_paging_and_order(world, login_as):
    w = world
    for i in range(33):
        audit.record("school.renamed", w["county_admin"], "school", w.school_a.id, w.school_a.context,
                     {"old": f"旧{i}", "new": f"新{i}"})  # fmt: skip
    old = audit.record("account.password_reset", w["county_admin"], "user", w["teacher"].id, w.school_a.context)
    old.created_at = datetime.now(UTC) - timedelta(days=40)
    db.session.commit()
    client = login_as(w["county_admin"])
    first = _rows(client.get("/manage/audit"))
    assert len(first) == 30 and "旧32" in first[0]  # newest first
    second = _rows(client.get("/manage/audit?page=2"))
    assert len(second) == 4 and "张老师" in second[-1]
    assert len(_rows(client.get("/manage/audit?action=account.password_reset"))) == 1
    day = (datetime.now(UTC) - timedelta(days=40)).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    recent = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    assert len(_rows(client.get(f"/manage/audit?since={recent}&page=2"))) == 3
    for query in (f"until={day}&since=2000-01-01", f"since={day}&until={day}"):
        got = _rows(client.get(f"/manage/audit?{query}"))
        assert len(got) == 1 and "张老师" in got[0], query


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-13-01", "日期格式为"),
        ("until=yesterday", "日期格式为"),
        ("since=2026-09-02&until=2026-09-01", "开始日期晚于结束日期"),
        ("action=drop.tables", "请从列表中选择操作类型"),
    ],
)
def test_bad_filters_say_so(world, login_as, query, message):
    _seed(world)
    r = login_as(world["county_admin"]).get(f"/manage/audit?{query}")
    assert r.status_code == 400 and message in _text(r)
    assert _rows(r) == []


def test_the_page_is_chinese_by_default_and_english_on_request(world, login_as):
    _seed(world)
    client = login_as(world["county_admin"])
    assert "审计记录" in _text(client.get("/manage/audit"))
    assert "授予角色" in _text(client.get("/manage/audit"))
    hub = _text(client.get("/manage"))
    assert "打开审计记录" in hub
    with client.session_transaction() as sess:
        sess["locale"] = "en"
    english = _text(client.get("/manage/audit"))
    assert "Audit trail" in english and "Role given" in english and "审计记录" not in english


def test_the_table_is_only_appended_to():
    """Nothing in the code updates or deletes audit rows (the one statement that writes is an INSERT)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "lms"
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "AuditEntry" in text:
            assert "update(AuditEntry" not in text and "delete(AuditEntry" not in text, path


def test_the_pages_password_sheet_helper_is_unchanged_for_callers(world):
    # keep_password_sheet without a scope (older callers): kept, filed at no place (site admins see it).
    result = roster.ImportResult(new_accounts=[roster.NewAccount("甲", "u1", "pw", "东湖小学")])
    assert roster.keep_password_sheet(result, world["county_admin"]) is not None
    assert _entries("passwords.kept")[-1].context_path == ""


def test_the_page_runs_a_fixed_number_of_queries(world, login_as):
    from tests.factories import make_user
    from tests.sql_counting import counting

    w = world
    client = login_as(w["city_admin"])
    client.get("/manage/audit")  # warm: the session's user and grants

    def page_statements():
        with counting() as statements:
            assert client.get("/manage/audit").status_code == 200
        return len(statements)

    audit.record("school.renamed", w["county_admin"], "school", w.school_a.id, w.school_a.context, {"old": "a"})
    few = page_statements()
    for i in range(25):  # other actors, other people, other places
        actor = make_user(f"auditor{i}", "某管理员")
        audit.record("account.password_reset", actor, "user", w["teacher_b"].id, w.school_b.context)
        audit.record("role.granted", actor, "user", w["teacher"].id, w.county_a.context, {"role": "expert"})
    db.session.commit()
    assert page_statements() == few
