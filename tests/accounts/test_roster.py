"""Roster import/export in Excel: validation, all-or-nothing import, permissions, export masking."""

import io
import logging
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from lms.accounts import excel, roster
from lms.accounts.models import User
from lms.communities import services as community
from lms.core.idcard import check_digit
from lms.core.uploads import XLSX_MIME
from lms.signals import roster_imported
from tests.factories import id_number, make_user
from tests.sql_counting import counting

COLUMNS = list(roster.COLUMNS)


# --- helpers -----------------------------------------------------------------------------------


def xlsx(rows, header=COLUMNS, before=()) -> bytes:
    """An .xlsx built with openpyxl: optional title rows, the header row, the data rows."""
    wb = Workbook()
    ws = wb.active
    for r in before:
        ws.append(list(r))
    if header is not None:
        ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def person(i, name=None, gender="男", id_card=None, school="东湖小学", county="东湖区", subject="数学", phone=None):
    """A roster row (standard column order) for teacher number i, valid unless told otherwise."""
    male = gender != "女"
    return [
        i,
        name or f"教师{i}",
        gender,
        id_card or id_number(1000 + i, region="360102", born="19880101", male=male),
        school,
        county,
        subject,
        phone or f"138{i:08d}",
    ]


def post(client, url, data: bytes, filename="roster.xlsx"):
    return client.post(url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def school_url(school):
    return f"/schools/{school.id}/roster/import"


def region_url(region):
    return f"/regions/{region.id}/roster/import"


def user_count(db):
    return db.session.scalar(select(func.count(User.id)))


def refreshed(db, obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def bad_check_digit(number: str) -> str:
    wrong = "0" if number[-1] != "0" else "1"
    return number[:17] + wrong


# --- good imports ------------------------------------------------------------------------------


def test_import_creates_users_with_one_time_passwords_and_counters(world, login_as, db):
    before = user_count(db)
    teachers_before = world.school_a.teacher_count
    county_before = world.county_a.teacher_count
    sent = []

    def receiver(sender, **kw):
        sent.append((sender, kw))

    roster_imported.connect(receiver)
    try:
        client = login_as(world["school_admin"])
        resp = post(client, school_url(world.school_a), xlsx([person(1), person(2, gender="女", subject="语文")]))
    finally:
        roster_imported.disconnect(receiver)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert "导入完成" in html and "仅在本页显示这一次" in html
    assert user_count(db) == before + 2

    user = db.session.scalar(select(User).where(User.phone == "13800000001"))
    assert user.username == "13800000001"
    assert user.name == "教师1" and user.gender == "M" and user.subject == "math"
    assert user.school_id == world.school_a.id and user.stage == "primary"
    assert user.must_change_password is True
    # The page shows the one-time password; only its hash is stored.
    shown = [p for p in _codes(html) if check_password_hash(user.password_hash, p)]
    assert len(shown) == 1 and shown[0] not in user.password_hash
    second = db.session.scalar(select(User).where(User.phone == "13800000002"))
    assert second.gender == "F" and second.subject == "chinese"

    assert refreshed(db, world.school_a).teacher_count == teachers_before + 2
    assert refreshed(db, world.county_a).teacher_count == county_before + 2
    assert len(sent) == 1
    assert sent[0][0].id == world["school_admin"].id
    assert sent[0][1]["created"] == 2 and sent[0][1]["updated"] == 0


def _codes(html: str) -> list[str]:
    import re

    return re.findall(r'<code class="user-select-all">([^<]+)</code>', html)


def test_reimport_creates_no_duplicates_and_updates(world, login_as, db):
    client = login_as(world["school_admin"])
    rows = [person(1), person(2), person(3)]
    school_before = world.school_a.teacher_count
    assert post(client, school_url(world.school_a), xlsx(rows)).status_code == 200
    count = user_count(db)
    hashes = dict(db.session.execute(select(User.id, User.password_hash)).all())

    resp = post(client, school_url(world.school_a), xlsx(rows))
    assert resp.status_code == 200
    assert user_count(db) == count
    assert not _codes(resp.get_data(as_text=True))  # nobody new, no passwords shown

    rows[1][1] = "改名教师"
    rows[1][7] = "13999990002"
    rows[2][6] = "英语"
    rows.append(person(4))
    resp = post(client, school_url(world.school_a), xlsx(rows))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert user_count(db) == count + 1
    assert 'id="roster-created">1<' in html and 'id="roster-updated">2<' in html
    db.session.expire_all()
    changed = db.session.scalar(select(User).where(User.id_card == rows[1][3]))
    assert changed.name == "改名教师" and changed.phone == "13999990002"
    assert changed.username == "13800000002"  # the username stays
    assert changed.password_hash == hashes[changed.id]  # existing accounts keep their password
    assert db.session.scalar(select(User.subject).where(User.id_card == rows[2][3])) == "english"
    assert refreshed(db, world.school_a).teacher_count == school_before + 4


def test_county_admin_imports_into_several_schools_and_moves_a_teacher(world, login_as, db):
    other = community.create_school("东湖第二小学", world.county_a, stage="primary")
    db.session.commit()
    client = login_as(world["county_admin"])
    rows = [person(1), person(2, school="东湖第二小学")]
    school_before = world.school_a.teacher_count
    assert post(client, region_url(world.county_a), xlsx(rows)).status_code == 200
    rows[0][4] = "东湖第二小学"
    assert post(client, region_url(world.county_a), xlsx(rows)).status_code == 200
    assert refreshed(db, other).teacher_count == 2
    assert refreshed(db, world.school_a).teacher_count == school_before


def test_full_width_input_shuffled_columns_and_title_row(world, login_as, db):
    idn = id_number(7, male=False)
    full_width_id = "".join(chr(ord(c) + 0xFEE0) for c in idn)  # ０-９ → full-width digits
    header = ["姓名", "联系电话", "所属县(市、区)", "工作单位", "性别", " 身份证号码 ", "任教学科", "序号"]
    row = ["李　四", "１３８ ０００１ ２３４５", "东湖区", "东湖小学 ", "女", full_width_id, "数学", 1]
    data = xlsx([row], header=header, before=[["东湖区2024年教师培训名单"], []])
    client = login_as(world["school_admin"])
    resp = post(client, school_url(world.school_a), data)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.id_card == idn))
    assert user.name == "李四" and user.phone == "13800012345" and user.gender == "F"


def test_blank_lines_and_numbered_empty_rows_are_skipped(world, login_as, db):
    before = user_count(db)
    rows = [person(1), [], [None] * 8, ["   "] * 8, person(2), [3, None, None, None, None, None, None, None]]
    client = login_as(world["school_admin"])
    resp = post(client, school_url(world.school_a), xlsx(rows))
    assert resp.status_code == 200
    assert user_count(db) == before + 2


def test_new_username_gets_a_suffix_when_the_phone_is_a_username(world, login_as, db):
    make_user("13800000001", "占用者", phone="13700000000")
    db.session.commit()
    client = login_as(world["school_admin"])
    assert post(client, school_url(world.school_a), xlsx([person(1)])).status_code == 200
    assert db.session.scalar(select(User.username).where(User.phone == "13800000001")) == "13800000001_2"


# --- broken files: the error is shown with row and column, and nothing is stored ----------------


def _other_school(world, db):
    community.create_school("东湖中学", world.county_a, stage="junior")
    db.session.commit()


BROKEN = {
    # case: (change to row 3 of the file, column shown, Chinese message fragment)
    "bad_check_digit": (lambda r: r.__setitem__(3, bad_check_digit(r[3])), "身份证号码", "校验位"),
    "bad_birth_date": (
        lambda r: r.__setitem__(3, "36010219880231" + "001" + check_digit("36010219880231001")),
        "身份证号码",
        "出生日期",
    ),
    "short_id": (lambda r: r.__setitem__(3, "36010219880101"), "身份证号码", "18 位"),
    "id_as_float": (lambda r: r.__setitem__(3, 3.60102198801011e17), "身份证号码", "文本"),
    "unknown_county": (lambda r: r.__setitem__(5, "不存在县"), "所属县（市、区）", "没有名为"),
    "county_outside_scope": (
        lambda r: (r.__setitem__(5, "西湖区"), r.__setitem__(4, "西湖中学")),
        "所属县（市、区）",
        "不在您管理的范围",
    ),
    "unknown_school": (lambda r: r.__setitem__(4, "不存在学校"), "工作单位", "没有名为"),
    "bad_phone": (lambda r: r.__setitem__(7, "1234567"), "联系电话", "11 位"),
    "landline_phone": (lambda r: r.__setitem__(7, "07918888888"), "联系电话", "11 位"),
    "bad_gender": (lambda r: r.__setitem__(2, "M"), "性别", "男或女"),
    "gender_contradicts_id": (lambda r: r.__setitem__(2, "女"), "性别", "不一致"),
    "missing_name": (lambda r: r.__setitem__(1, ""), "姓名", "为空"),
    "unknown_subject": (lambda r: r.__setitem__(6, "炼丹"), "任教学科", "未知学科"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_row_is_reported_and_nothing_is_stored(case, world, login_as, db):
    change, column, fragment = BROKEN[case]
    rows = [person(1), person(2)]
    change(rows[1])
    before = user_count(db)
    client = login_as(world["county_admin"])
    resp = post(client, region_url(world.county_a), xlsx(rows))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "文件未导入" in html
    assert user_count(db) == before
    problems = _problem_rows(html)
    assert len(problems) == 1, problems
    row, col, message = problems[0]
    assert row == "3"  # header in row 1, the broken teacher in row 3, as Excel numbers them
    assert col.startswith(column)
    assert fragment in message, message


def _problem_rows(html: str) -> list[tuple[str, str, str]]:
    import re
    from html import unescape

    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    out = []
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        out.append(tuple(cells))
    return out


def test_duplicate_id_in_file_names_the_first_row(world, login_as, db):
    rows = [person(1), person(2), person(3)]
    rows[2][3] = rows[0][3].lower()  # same number, lower-case x or not: still the same person
    before = user_count(db)
    resp = post(login_as(world["school_admin"]), school_url(world.school_a), xlsx(rows))
    assert resp.status_code == 422
    assert user_count(db) == before
    [(row, col, message)] = _problem_rows(resp.get_data(as_text=True))
    assert row == "4" and col.startswith("身份证号码") and "第 2 行" in message


def test_duplicate_phone_in_file_is_an_error(world, login_as, db):
    rows = [person(1), person(2, phone="13800000001")]
    resp = post(login_as(world["school_admin"]), school_url(world.school_a), xlsx(rows))
    [(row, col, message)] = _problem_rows(resp.get_data(as_text=True))
    assert row == "3" and col.startswith("联系电话") and "第 2 行" in message


def test_phone_of_another_person_is_an_error(world, login_as, db):
    before = user_count(db)
    rows = [person(1, phone=world["host"].phone)]
    resp = post(login_as(world["school_admin"]), school_url(world.school_a), xlsx(rows))
    assert resp.status_code == 422 and user_count(db) == before
    [(row, col, message)] = _problem_rows(resp.get_data(as_text=True))
    assert col.startswith("联系电话") and "其他账号" in message


def test_school_admin_may_not_import_for_another_school_of_the_county(world, login_as, db):
    _other_school(world, db)
    before = user_count(db)
    rows = [person(1), person(2, school="东湖中学")]
    resp = post(login_as(world["school_admin"]), school_url(world.school_a), xlsx(rows))
    assert resp.status_code == 422 and user_count(db) == before
    [(row, col, message)] = _problem_rows(resp.get_data(as_text=True))
    assert row == "3" and col.startswith("工作单位") and "不在您管理的学校范围" in message


def test_school_admin_row_in_another_county_is_outside_scope(world, login_as, db):
    rows = [person(1, school="西湖中学", county="西湖区")]
    resp = post(login_as(world["school_admin"]), school_url(world.school_a), xlsx(rows))
    [(row, col, message)] = _problem_rows(resp.get_data(as_text=True))
    assert col.startswith("所属县") and "不在您管理的范围" in message


def test_existing_teacher_of_another_county_cannot_be_taken_over(world, login_as, db):
    teacher_b = world["teacher_b"]
    rows = [person(1, id_card=teacher_b.id_card, gender="男")]
    resp = post(login_as(world["county_admin"]), region_url(world.county_a), xlsx(rows))
    assert resp.status_code == 422
    [(row, col, message)] = _problem_rows(resp.get_data(as_text=True))
    assert col.startswith("身份证号码") and "管理范围之外" in message
    assert refreshed(db, teacher_b).school_id == world.school_b.id


def test_every_problem_of_the_file_is_listed(world, login_as, db):
    rows = [person(1), person(2, phone="123"), person(3, subject="")]
    rows[0][2] = "女"
    resp = post(login_as(world["school_admin"]), school_url(world.school_a), xlsx(rows))
    problems = _problem_rows(resp.get_data(as_text=True))
    assert [(p[0], p[1].split(" ")[0]) for p in problems] == [("2", "性别"), ("3", "联系电话"), ("4", "任教学科")]
    assert "(H3)" in problems[1][1]  # the cell address helps find it in Excel


def test_missing_column_and_missing_header(world, login_as, db):
    client = login_as(world["school_admin"])
    header = [c for c in COLUMNS if c != "联系电话"]
    resp = post(client, school_url(world.school_a), xlsx([person(1)[:7]], header=header))
    assert resp.status_code == 422
    [(row, col, message)] = _problem_rows(resp.get_data(as_text=True))
    assert col == "联系电话" and "缺少" in message
    resp = post(client, school_url(world.school_a), xlsx([person(1)], header=None))
    assert "没有找到表头" in resp.get_data(as_text=True)
    resp = post(client, school_url(world.school_a), xlsx([]))
    assert "没有教师" in resp.get_data(as_text=True)


def test_old_xls_file_is_refused(world, login_as, db):
    before = user_count(db)
    ole2 = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 1024
    resp = post(login_as(world["school_admin"]), school_url(world.school_a), ole2, "roster.xls")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and user_count(db) == before
    assert ".xls" in html and "另存为" in html


def test_renamed_text_file_is_refused(world, login_as, db):
    before = user_count(db)
    text = "序号,姓名,性别\n1,张三,男\n".encode()
    resp = post(login_as(world["school_admin"]), school_url(world.school_a), text, "roster.xlsx")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and user_count(db) == before
    assert "不是 Excel .xlsx 文件" in html


def test_size_and_row_caps(world, login_as, db, app, monkeypatch):
    client = login_as(world["school_admin"])
    data = xlsx([person(i) for i in range(1, 4)])
    monkeypatch.setitem(app.config, "ROSTER_MAX_ROWS", 2)
    resp = post(client, school_url(world.school_a), data)
    assert resp.status_code == 422 and "超过 2 行" in resp.get_data(as_text=True)
    monkeypatch.setitem(app.config, "ROSTER_MAX_ROWS", 100)
    monkeypatch.setitem(app.config, "ROSTER_MAX_BYTES", 1000)
    resp = post(client, school_url(world.school_a), data)
    assert resp.status_code == 422 and "大于" in resp.get_data(as_text=True)


def test_no_file_chosen(world, login_as, db):
    resp = login_as(world["school_admin"]).post(school_url(world.school_a), data={})
    assert resp.status_code == 200 and "请选择" in resp.get_data(as_text=True)


def test_id_numbers_never_reach_the_log(world, login_as, db, caplog, monkeypatch):
    # The Alembic env's fileConfig() disabled every logger that existed when the test schema was built.
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)
    caplog.set_level(logging.DEBUG)
    rows = [person(1), person(2)]
    client = login_as(world["school_admin"])
    assert post(client, school_url(world.school_a), xlsx(rows)).status_code == 200
    bad = [person(3), person(4, gender="女"), person(3)]
    bad[0][3] = bad_check_digit(bad[0][3])
    assert post(client, school_url(world.school_a), xlsx(bad)).status_code == 422
    assert "roster import" in caplog.text  # the audit line is there…
    for r in rows + bad:
        assert r[3] not in caplog.text  # …without any ID number
        assert r[3][:17] not in caplog.text


# --- permissions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,target",
    [("school_admin_b", "school_a"), ("teacher", "school_a"), ("school_trainer", "school_a"), ("outsider", "school_a")],
)
def test_who_may_not_import_into_a_school(role, target, world, login_as, db):
    client = login_as(world[role])
    school = getattr(world, target)
    before = user_count(db)
    assert client.get(school_url(school)).status_code in (403, 404)
    assert post(client, school_url(school), xlsx([person(1)])).status_code in (403, 404)
    assert user_count(db) == before


@pytest.mark.parametrize("role", ["county_admin_b", "school_admin", "teacher", "supervisor"])
def test_who_may_not_import_into_a_county(role, world, login_as, db):
    client = login_as(world[role])
    before = user_count(db)
    assert client.get(region_url(world.county_a)).status_code in (403, 404)
    assert post(client, region_url(world.county_a), xlsx([person(1)])).status_code in (403, 404)
    assert user_count(db) == before


def test_cross_county_import_is_404(world, login_as):
    client = login_as(world["county_admin_b"])
    assert client.get(region_url(world.county_a)).status_code == 404
    assert client.get(school_url(world.school_a)).status_code == 404


@pytest.mark.parametrize("role", ["school_admin", "county_admin", "city_admin", "site_admin"])
def test_admins_above_a_school_see_the_import_page(role, world, login_as):
    resp = login_as(world[role]).get(school_url(world.school_a))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and "table-responsive" not in html


def test_anonymous_is_sent_to_sign_in(client, world):
    assert client.get(school_url(world.school_a)).status_code == 302
    assert client.get(f"/schools/{world.school_a.id}/roster.xlsx").status_code == 302


# --- export ------------------------------------------------------------------------------------


def _sheet(resp):
    assert resp.status_code == 200
    assert resp.mimetype == XLSX_MIME
    assert resp.headers["Cache-Control"] == "no-store"
    ws = load_workbook(io.BytesIO(resp.data)).worksheets[0]
    return [[c for c in row] for row in ws.iter_rows()]


def test_export_masks_id_for_school_admin(world, login_as):
    rows = _sheet(login_as(world["school_admin"]).get(f"/schools/{world.school_a.id}/roster.xlsx"))
    assert [c.value for c in rows[0]] == list(roster.EXPORT_COLUMNS)
    full = world["teacher"].id_card
    values = [[c.value for c in r] for r in rows[1:]]
    teacher = next(r for r in values if r[8] == "teacher_a")
    assert teacher[3] == full[:4] + "*" * 10 + full[-4:]
    assert teacher[1] == "张老师" and teacher[4] == "东湖小学" and teacher[5] == "东湖区" and teacher[6] == "数学"
    assert all(full not in str(v) for r in values for v in r)
    assert all(r[4] == "东湖小学" for r in values)


def test_export_shows_full_id_to_county_admin(world, login_as):
    rows = _sheet(login_as(world["county_admin"]).get(f"/regions/{world.county_a.id}/roster.xlsx"))
    values = [[c.value for c in r] for r in rows[1:]]
    teacher = next(r for r in rows[1:] if r[8].value == "teacher_a")
    assert teacher[3].value == world["teacher"].id_card
    assert teacher[3].data_type == "s"  # stored as text, never a number
    assert {r[4] for r in values} == {"东湖小学"}  # nothing from the neighbouring county


def test_export_guards_against_formula_injection(world, login_as, db):
    make_user("evil", '=HYPERLINK("http://evil.example","点我")', world.school_a)
    make_user("evil2", "+cmd|' /C calc'!A0", world.school_a)
    make_user("evil3", "@SUM(1+1)", world.school_a)
    db.session.commit()
    rows = _sheet(login_as(world["school_admin"]).get(f"/schools/{world.school_a.id}/roster.xlsx"))
    names = {r[8].value: r[1] for r in rows[1:]}
    for username, original in [("evil", '=HYPERLINK("http://evil.example","点我")'), ("evil2", "+cmd|' /C calc'!A0"),
                               ("evil3", "@SUM(1+1)")]:  # fmt: skip
        cell = names[username]
        assert cell.data_type == "s"
        assert cell.value == original, "no literal apostrophe: shown and re-imported as it was"
        assert cell.quotePrefix, "stays text when edited in the spreadsheet"


def test_export_file_names(world, login_as):
    """The Chinese name in filename*, and a plain ASCII one (never a dotfile) for clients that only
    read filename."""
    from urllib.parse import quote

    client = login_as(world["county_admin"])
    for url, ascii_name, name in [
        (f"/schools/{world.school_a.id}/roster.xlsx", f"roster-school-{world.school_a.id}.xlsx", "东湖小学名单.xlsx"),
        (f"/regions/{world.county_a.id}/roster.xlsx", f"roster-county-{world.county_a.id}.xlsx", "东湖区名单.xlsx"),
        ("/roster/template.xlsx", "roster-template.xlsx", None),
    ]:
        resp = client.get(url)
        assert resp.status_code == 200
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith(f"attachment; filename={ascii_name}; filename*=UTF-8''"), disposition
        assert disposition.isascii()
        if name:
            assert disposition.endswith(quote(name, safe="")), disposition


def test_export_permissions(world, login_as):
    assert login_as(world["teacher"]).get(f"/schools/{world.school_a.id}/roster.xlsx").status_code in (403, 404)
    assert login_as(world["school_admin_b"]).get(f"/schools/{world.school_a.id}/roster.xlsx").status_code == 404
    assert login_as(world["county_admin_b"]).get(f"/regions/{world.county_a.id}/roster.xlsx").status_code == 404
    assert login_as(world["school_admin"]).get(f"/regions/{world.county_a.id}/roster.xlsx").status_code in (403, 404)


def test_exported_file_imports_back_unchanged(world, login_as, db):
    client = login_as(world["county_admin"])
    post(client, region_url(world.county_a), xlsx([person(1), person(2, gender="女")]))
    exported = client.get(f"/regions/{world.county_a.id}/roster.xlsx").data
    ws = load_workbook(io.BytesIO(exported)).worksheets[0]
    ours = [[c for c in r] for r in ws.iter_rows(values_only=True) if r[7] and str(r[7]).startswith("138")]
    count = user_count(db)
    resp = post(client, region_url(world.county_a), xlsx(ours, header=roster.EXPORT_COLUMNS))
    assert resp.status_code == 200
    assert user_count(db) == count
    assert "2 人未变" in resp.get_data(as_text=True)


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_guard_keeps_text_exact(trigger):
    """Every formula-starting character: a string cell (never a formula), quotePrefix set, the text
    unchanged when read back; ordinary text gets no quotePrefix."""
    from lms.accounts import excel

    text = f"{trigger}SUM(A1:A2)"
    data = excel.write_workbook(excel.Sheet("s", ["a", "b"], [[text, "普通文字"]], text_columns={1}))
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    guarded, plain = ws["A2"], ws["B2"]
    expected = text.replace("\r", "\n")  # XML itself reads a carriage return in text as a line feed
    assert (guarded.value, guarded.data_type, guarded.quotePrefix) == (expected, "s", True)
    assert (plain.value, plain.quotePrefix) == ("普通文字", False)
    assert "<f>" not in zipfile_text(data, "xl/worksheets/sheet1.xml")
    assert [v for _, v in excel.iter_rows(data)][1][0] == expected


def zipfile_text(data: bytes, name: str) -> str:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name).decode()


def test_exported_file_with_formula_like_names_imports_back_exactly(world, login_as, db):
    """The exported workbook itself, uploaded again: names starting with =, +, -, @ come back exactly
    (no apostrophe added), so nothing changes."""
    client = login_as(world["county_admin"])
    from lms.accounts import excel

    names = ["=SUM(1+1)", "+86老师", "-李老师", "@王老师"]
    rows = [person(i + 1, name=n) for i, n in enumerate(names)]
    # Written as string cells (openpyxl's plain append would store "=SUM(1+1)" as a formula).
    resp = post(client, region_url(world.county_a), excel.write_workbook(excel.Sheet("s", COLUMNS, rows)))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    exported = client.get(f"/schools/{world.school_a.id}/roster.xlsx").data
    ws = load_workbook(io.BytesIO(exported)).worksheets[0]
    cells = {row[1].value: row[1] for row in ws.iter_rows(min_row=2)}
    for name in names:
        assert cells[name].data_type == "s" and cells[name].quotePrefix
    # The downloaded file, less the rows of the test world's teachers (who have no ID numbers), edited
    # and saved as a spreadsheet program would.
    for row in range(ws.max_row, 1, -1):
        if ws.cell(row, 2).value not in names:
            ws.delete_rows(row)
    buf = io.BytesIO()
    ws.parent.save(buf)
    count = user_count(db)
    resp = post(client, region_url(world.county_a), buf.getvalue())
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert user_count(db) == count
    assert "4 人未变" in resp.get_data(as_text=True)
    stored = set(db.session.scalars(select(User.name).where(User.name.in_(names))))
    assert stored == set(names)


def test_blank_template(world, login_as):
    resp = login_as(world["school_admin"]).get("/roster/template.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == COLUMNS
    assert ws.max_row == 1
    assert ws.column_dimensions["D"].number_format == "@"  # ID numbers typed in stay text
    assert login_as(world["teacher"]).get("/roster/template.xlsx").status_code == 404


def test_template_round_trip_is_importable(world, login_as, db):
    client = login_as(world["school_admin"])
    wb = load_workbook(io.BytesIO(client.get("/roster/template.xlsx").data))
    ws = wb.worksheets[0]
    ws.append(person(1))
    buf = io.BytesIO()
    wb.save(buf)
    assert post(client, school_url(world.school_a), buf.getvalue()).status_code == 200


# --- performance -------------------------------------------------------------------------------


def test_import_uses_a_fixed_number_of_queries(world, login_as, db):
    client = login_as(world["county_admin"])
    with counting() as statements:
        resp = post(client, region_url(world.county_a), xlsx([person(i) for i in range(1, 201)]))
        assert resp.status_code == 200
        first = len(statements)
        statements.clear()
        rows = [person(i, name=f"改{i}") for i in range(1, 201)]
        resp = post(client, region_url(world.county_a), xlsx(rows))
        assert resp.status_code == 200
    # Under 40, and the audit trail's two entries (the import, the kept passwords): an INSERT each
    # and a re-read of the rows their commit expired; none of it grows with the rows.
    assert first < 48, first
    # Updates go out as executemany batches; selects do not grow with the rows.
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) < 25, len(selects)


# --- unit tests of the row validator -----------------------------------------------------------

LOOKUP = roster.Lookup(
    counties={
        "东湖区": [roster.CountyRef(1, "东湖区", True)],
        "西湖区": [roster.CountyRef(2, "西湖区", False)],
        "新区": [roster.CountyRef(3, "新区", True), roster.CountyRef(4, "新区", True)],
    },
    schools={
        (1, "东湖小学"): roster.SchoolRef(10, "东湖小学", 1, True, "primary"),
        (1, "东湖中学(本部)"): roster.SchoolRef(11, "东湖中学（本部）", 1, False),
    },
)
TODAY = date(2024, 7, 1)


def _raw(**changes):
    values = dict(zip(roster.FIELDS, person(1), strict=True))
    values.update(changes)
    return roster.RawRow(5, values)


def _codes_of(**changes):
    record, problems = roster.validate_row(_raw(**changes), LOOKUP, today=TODAY)
    return [(p.field, p.code) for p in problems]


def test_validator_accepts_a_good_row():
    record, problems = roster.validate_row(_raw(), LOOKUP, today=TODAY)
    assert problems == []
    assert record.name == "教师1" and record.gender == "M" and record.school_id == 10 and record.county_id == 1
    assert record.subject == "math" and record.phone == "13800000001" and record.stage == "primary"


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"name": "  "}, [("name", "required")]),
        ({"name": "张" * 65}, [("name", "name_too_long")]),
        ({"gender": "男性"}, [("gender", "bad_gender")]),
        ({"gender": "女"}, [("gender", "gender_mismatch")]),
        ({"gender": None}, [("gender", "required")]),
        ({"id_card": None}, [("id_card", "required")]),
        ({"id_card": "36010219880101101"}, [("id_card", "id_length")]),
        ({"id_card": "36010219880101101Y"}, [("id_card", "id_chars")]),
        ({"id_card": bad_check_digit(id_number(1001, born="19880101"))}, [("id_card", "id_checksum")]),
        ({"id_card": "360102" + "20250101" + "101" + check_digit("36010220250101101")}, [("id_card", "id_birthdate")]),
        ({"id_card": 360102198801011011.0}, [("id_card", "id_as_number")]),
        ({"phone": "23800000001"}, [("phone", "bad_phone")]),
        ({"phone": 13800000001.0}, []),
        ({"phone": "+86 138-0000-0001"}, []),
        ({"subject": "物 理"}, []),
        ({"subject": "炼丹"}, [("subject", "unknown_subject")]),
        ({"county": "南湖区"}, [("county", "unknown_county")]),
        ({"county": "西湖区"}, [("county", "county_out_of_scope")]),
        ({"county": "新区"}, [("county", "county_ambiguous")]),
        ({"county": ""}, [("county", "required")]),
        ({"school": "东湖 小学"}, []),
        ({"school": "不存在"}, [("school", "unknown_school")]),
        ({"school": "东湖中学（本部）"}, [("school", "school_out_of_scope")]),
        ({"school": None}, [("school", "required")]),
    ],
)
def test_validator_problems(changes, expected):
    assert _codes_of(**changes) == expected


def test_validator_full_width_and_spaces():
    idn = id_number(9, male=False, born="19900101")
    record, problems = roster.validate_row(
        _raw(
            id_card="".join(chr(ord(c) + 0xFEE0) for c in idn),
            phone="１３９００００１１１１",
            gender=" 女 ",
            name="王　小 明",
            county="东湖区\u3000",
        ),
        LOOKUP,
        today=TODAY,
    )
    assert problems == []
    assert record.id_card == idn and record.phone == "13900001111" and record.name == "王小明"


def test_validator_problem_names_cell_and_message(app):
    header = roster.Header(2, {"name": (0, "姓名"), "id_card": (3, "身份证号")})
    record, problems = roster.validate_row(_raw(id_card="123"), LOOKUP, header=header, today=TODAY)
    [p] = problems
    assert (p.row, p.column_name, p.cell) == (5, "身份证号", "D5")
    with app.test_request_context():
        assert "18" in p.message and "123" not in p.message


def test_duplicates_are_found_even_when_a_row_has_other_problems():
    rows = [_raw(), roster.RawRow(6, dict(_raw(gender="女").values))]
    records, problems = roster.validate_rows(rows, LOOKUP, today=TODAY)
    codes = [(p.row, p.code) for p in problems]
    assert (6, "gender_mismatch") in codes and (6, "id_duplicate") in codes
    assert len(records) == 1


def test_header_detection_tolerates_order_brackets_and_aliases():
    found = roster._match_header(["手机号码", "身份证号", "所属县（市，区）", "* 姓名", "性 别", "学校", "学科"])
    assert {k: v[0] for k, v in found.items()} == {
        "phone": 0, "id_card": 1, "county": 2, "name": 3, "gender": 4, "school": 5, "subject": 6,
    }  # fmt: skip
    assert roster._match_header(["所属县(市、区)"]) == {"county": (0, "所属县(市、区)")}


def test_read_roster_reports_excel_row_numbers():
    data = xlsx([person(1), [], person(2)], before=[["标题"]])
    header, rows = roster.read_roster(data, max_rows=10)
    assert header.row == 2 and [r.row for r in rows] == [3, 5]


def test_control_characters_are_dropped_from_cells():
    data = excel.write_workbook(excel.Sheet("s", ["a"], [["a\x01b"], [5]]))
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    assert (ws["A2"].value, ws["A2"].quotePrefix, ws["A3"].value) == ("ab", False, 5)


def test_export_rows_unit(world, db):
    rows = roster.export_rows(world.city, world["city_admin"])
    assert {r[5] for r in rows} == {"东湖区", "西湖区"}
    assert all(len(r) == len(roster.EXPORT_COLUMNS) for r in rows)
    rows = roster.export_rows(world.school_a, world["project_manager"])
    teacher = next(r for r in rows if r[8] == "teacher_a")
    assert "*" in teacher[3] and "*" in teacher[7]  # no idcard.view_full, no member.contact


# --- the initial passwords as a one-time download ---------------------------------------------


def _sheet_url(html: str) -> str:
    import re

    found = re.findall(r'<form method="post" action="(/roster/passwords/[^"]+)"', html)
    assert len(found) == 1, "the result page offers the download"
    return found[0]


def test_initial_passwords_download_once_for_the_importer(world, login_as, db):
    from lms.accounts.models import PasswordSheet

    client = login_as(world["school_admin"])
    upload = excel.write_workbook(excel.Sheet("s", COLUMNS, [person(1), person(2, name="=HYPERLINK(1)")]))
    resp = post(client, school_url(world.school_a), upload)
    html = resp.get_data(as_text=True)
    assert "仅限您本人在 30 分钟内下载一次" in html
    url = _sheet_url(html)
    shown = _codes(html)
    # Kept encrypted: no password in the stored bytes.
    stored = db.session.scalars(select(PasswordSheet.sealed)).one()
    assert all(p.encode() not in stored for p in shown) and b"13800000001" not in stored
    # Another admin of the same school, or the teacher, cannot take it (and does not use it up).
    assert login_as(world["county_admin"]).post(url).status_code == 410
    assert client.get(url).status_code == 405, "POST only: a prefetched link must not use it up"
    got = client.post(url)
    assert got.status_code == 200 and got.mimetype == XLSX_MIME
    assert got.headers["Cache-Control"] == "no-store"
    assert got.headers["Content-Disposition"].startswith("attachment; filename=initial-passwords.xlsx;")
    ws = load_workbook(io.BytesIO(got.data)).worksheets[0]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0] == ["用户名", "姓名", "学校", "初始密码"]
    assert sorted(r[3] for r in rows[1:]) == sorted(shown)
    by_user = {r[0]: r for r in rows[1:]}
    assert by_user["13800000001"][1:3] == ["教师1", "东湖小学"]
    guarded = ws.cell(3 if rows[2][1] == "=HYPERLINK(1)" else 2, 2)
    assert (guarded.value, guarded.data_type, guarded.quotePrefix) == ("=HYPERLINK(1)", "s", True)
    user = db.session.scalar(select(User).where(User.phone == "13800000001"))
    assert check_password_hash(user.password_hash, by_user["13800000001"][3])
    id_card = person(1)[3]
    assert all(id_card not in str(v) for r in rows for v in r), "no ID numbers"
    # Once: the second download finds nothing, and nothing is left stored.
    again = client.post(url)
    assert again.status_code == 410 and "已被下载过或已过期" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PasswordSheet)) == 0


def test_initial_passwords_expire_unclaimed(world, login_as, db, app):
    from datetime import timedelta

    from lms.accounts import roster as roster_module
    from lms.accounts.models import PasswordSheet

    client = login_as(world["school_admin"])
    url = _sheet_url(post(client, school_url(world.school_a), xlsx([person(1)])).get_data(as_text=True))
    sheet = db.session.scalars(select(PasswordSheet)).one()
    sheet.created_at -= timedelta(minutes=31)
    db.session.commit()
    assert roster_module.purge_password_sheets() == 1
    assert client.post(url).status_code == 410
    # Past its time but not yet purged: refused all the same, and deleted.
    url = _sheet_url(post(client, school_url(world.school_a), xlsx([person(2)])).get_data(as_text=True))
    db.session.expire_all()
    sheet = db.session.scalars(select(PasswordSheet)).one()
    sheet.created_at -= timedelta(minutes=31)
    db.session.commit()
    assert client.post(url).status_code == 410
    assert db.session.scalar(select(func.count()).select_from(PasswordSheet)) == 0


def test_no_download_offered_when_no_account_was_created(world, login_as, db):
    client = login_as(world["county_admin"])
    post(client, region_url(world.county_a), xlsx([person(1)]))
    html = post(client, region_url(world.county_a), xlsx([person(1)])).get_data(as_text=True)
    assert "/roster/passwords/" not in html
