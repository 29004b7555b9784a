"""Roster import/export through /api/v1: the pages' service, checks, all-or-nothing and masking."""

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.core import idcard
from lms.core.uploads import XLSX_MIME
from tests.accounts.test_roster import bad_check_digit, person, xlsx
from tests.api.helpers import API, error_of
from tests.factories import id_number


def _post(api, url, data: bytes, filename="roster.xlsx"):
    return api.post(url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def _users(db) -> int:
    db.session.commit()  # a fresh transaction sees what the requests committed
    return db.session.scalar(select(func.count(User.id)))


def _valid_problems(problems: list) -> None:
    from openapi_schema_validator import OAS30Validator

    from lms.api import openapi_document

    components = openapi_document()["components"]
    for p in problems:
        OAS30Validator({"$ref": "#/components/schemas/RosterProblem", "components": components}).validate(p)


def _school(w, key="school_a"):
    return f"{API}/schools/{getattr(w, key).id}/roster"


def _region(w, key="county_a"):
    return f"{API}/regions/{getattr(w, key).id}/roster"


# --- import -----------------------------------------------------------------------------------------


def test_school_admin_imports_with_a_token(world, api_as, db, conforms):
    before = _users(db)
    resp = _post(api_as(world["school_admin"]), _school(world), xlsx([person(1), person(2, gender="女")]))
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers["Cache-Control"] == "no-store"
    body = conforms(resp, "RosterResult")
    assert (body["created"], body["updated"], body["total"]) == (2, 0, 2)
    assert {a["name"] for a in body["new_accounts"]} == {"教师1", "教师2"}
    assert all(len(a["password"]) >= 8 and a["school"] == "东湖小学" for a in body["new_accounts"])
    assert _users(db) == before + 2
    # The same file again: updated in place, nobody twice (ID number is the key).
    again = _post(api_as(world["school_admin"]), _school(world), xlsx([person(1), person(2, gender="女")]))
    assert again.status_code == 200
    assert again.get_json()["created"] == 0 and again.get_json()["new_accounts"] == []
    assert _users(db) == before + 2


def test_county_admin_imports_into_the_county(world, api_as, db):
    before = _users(db)
    resp = _post(api_as(world["county_admin"]), _region(world), xlsx([person(3)]))
    assert resp.status_code == 200
    assert resp.get_json()["created"] == 1
    assert _users(db) == before + 1


def test_broken_rows_answer_422_with_every_problem_and_store_nothing(world, api_as, db, conforms):
    before = _users(db)
    rows = [person(1), person(2, id_card=bad_check_digit(id_number(2002, born="19880101"))),
            person(3, school="不存在小学"), person(4, subject="炼金术")]  # fmt: skip
    resp = _post(api_as(world["school_admin"]), _school(world), xlsx(rows))
    assert resp.status_code == 422
    assert error_of(resp) == "roster_invalid"
    conforms(resp, "Error")
    problems = resp.get_json()["error"]["details"]["problems"]
    _valid_problems(problems)
    by_code = {p["code"]: p for p in problems}
    assert by_code["id_checksum"]["row"] == 3 and by_code["id_checksum"]["column"] == "身份证号码"
    assert by_code["unknown_school"]["row"] == 4 and by_code["unknown_school"]["column"] == "工作单位"
    assert by_code["unknown_subject"]["row"] == 5
    # Chinese by default, and an ID number never appears in a reason.
    assert "校验位" in by_code["id_checksum"]["reason"] or "身份证" in by_code["id_checksum"]["reason"]
    assert "不存在小学" in by_code["unknown_school"]["reason"]
    text = resp.get_data(as_text=True)
    assert person(1)[3] not in text
    assert _users(db) == before


@pytest.mark.parametrize(
    "data,filename,code",
    [
        (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600, "roster.xls", "xls"),
        ("序号,姓名\n1,张三\n".encode(), "roster.xlsx", "not_xlsx"),
        (b"", "roster.xlsx", "empty"),
    ],
)
def test_wrong_files_are_refused_with_a_whole_file_problem(world, api_as, db, data, filename, code):
    before = _users(db)
    resp = _post(api_as(world["school_admin"]), _school(world), data, filename)
    assert resp.status_code == 422
    problems = resp.get_json()["error"]["details"]["problems"]
    assert [p["row"] for p in problems] == [None]
    assert problems[0]["code"] in (code, "missing", "unreadable")
    assert problems[0]["reason"]
    assert _users(db) == before


def test_missing_file_is_422_with_a_clear_reason(world, api_as, db):
    resp = api_as(world["school_admin"]).post(_school(world), data={}, content_type="multipart/form-data")
    assert resp.status_code == 422
    [problem] = resp.get_json()["error"]["details"]["problems"]
    assert problem["code"] == "missing" and problem["row"] is None
    assert problem["reason"] == "请选择 .xlsx 文件。" or problem["reason"]


@pytest.mark.parametrize(
    "role,target,expected",
    [
        ("teacher", "school_a", 403),
        ("host", "school_a", 403),
        ("school_admin_b", "school_a", 404),
        ("county_admin_b", "school_a", 404),
        ("school_admin", "school_b", 404),
    ],
)
def test_import_refused_without_roster_import_there(world, api_as, db, role, target, expected):
    before = _users(db)
    resp = _post(api_as(world[role]), _school(world, target), xlsx([person(5)]))
    assert resp.status_code == expected
    assert error_of(resp) == {403: "forbidden", 404: "not_found"}[expected]
    assert _users(db) == before


@pytest.mark.parametrize("role,expected", [("county_admin_b", 404), ("teacher", 403), ("school_admin", 403)])
def test_county_import_refused(world, api_as, db, role, expected):
    before = _users(db)
    resp = _post(api_as(world[role]), _region(world, "county_a"), xlsx([person(6)]))
    assert resp.status_code == expected
    assert "教师6" not in resp.get_data(as_text=True)
    assert _users(db) == before


def test_session_cookie_cannot_import(world, login_as, db):
    before = _users(db)
    resp = _post(login_as(world["school_admin"]), _school(world), xlsx([person(7)]))
    assert resp.status_code == 401
    assert error_of(resp) == "authentication_required"
    assert _users(db) == before


# --- export -----------------------------------------------------------------------------------------


def _sheet(resp) -> list[list]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == XLSX_MIME
    assert resp.headers["Cache-Control"] == "no-store"
    assert "attachment" in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_school_admin_export_masks_id_numbers(world, api_as):
    rows = _sheet(api_as(world["school_admin"]).get(f"{API}/schools/{world.school_a.id}/roster.xlsx"))
    full = world["teacher"].id_card
    cells = [str(c) for r in rows for c in r if c is not None]
    assert full not in cells
    assert idcard.mask(full) in cells
    assert "张老师" in cells


def test_county_admin_export_shows_full_numbers_and_works_with_the_session(world, login_as):
    # idcard.view_full comes with the county admin's role; GET accepts the session cookie.
    rows = _sheet(login_as(world["county_admin"]).get(f"{API}/regions/{world.county_a.id}/roster.xlsx"))
    cells = [str(c) for r in rows for c in r if c is not None]
    assert world["teacher"].id_card in cells
    assert "赵老师" not in cells  # county B's teacher


@pytest.mark.parametrize(
    "role,path,expected",
    [
        ("teacher", "/schools/{school_a}/roster.xlsx", 403),
        ("county_admin_b", "/regions/{county_a}/roster.xlsx", 404),
        ("county_admin_b", "/schools/{school_a}/roster.xlsx", 404),
        ("host_b", "/schools/{school_a}/roster.xlsx", 404),
        (None, "/schools/{school_a}/roster.xlsx", 401),
    ],
)
def test_export_refused(world, api_as, role, path, expected):
    url = API + path.format(school_a=world.school_a.id, county_a=world.county_a.id)
    resp = api_as(world[role] if role else None).get(url)
    assert resp.status_code == expected
    assert resp.mimetype == "application/json"
    assert "张老师" not in resp.get_data(as_text=True)


def test_template_for_importers_only(world, api_as):
    assert _sheet(api_as(world["school_admin"]).get(f"{API}/roster/template.xlsx"))[0][0] == "序号"
    assert api_as(world["teacher"]).get(f"{API}/roster/template.xlsx").status_code == 404
