"""Roster import and export (DOMAIN.md §3): the business rules; openpyxl stays in accounts.excel.

Import is all-or-nothing: the file is read, every row validated against the database (counties and
schools in the importer's scope, ID numbers, phones), and only a file without a single problem is
applied, in one transaction. ID-card numbers are personal data: they never reach a log line or an
exception message; problems carry row, column and a reason code only.
"""

import hashlib
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from lms import access
from lms.access.models import Context
from lms.accounts import excel
from lms.accounts.models import User
from lms.accounts.services import PHONE_RE, generate_initial_password
from lms.communities.models import Region, School
from lms.communities.services import refresh_counters
from lms.core import idcard, taxonomy
from lms.core.db import utcnow
from lms.core.text import normalize
from lms.core.uploads import XLSX_MIME, UploadError, check_upload
from lms.extensions import db
from lms.signals import roster_imported

log = logging.getLogger(__name__)

# The columns of a roster file, in the order of the national template (DOMAIN.md §3).
COLUMNS = ("序号", "姓名", "性别", "身份证号码", "工作单位", "所属县（市、区）", "任教学科", "联系电话")
EXPORT_COLUMNS = (*COLUMNS, "用户名")
FIELDS = ("seq", "name", "gender", "id_card", "school", "county", "subject", "phone")
FIELD_HEADERS = dict(zip(FIELDS, COLUMNS, strict=True))
REQUIRED = FIELDS[1:]

# Header spellings seen in the wild, compared after _header_key (NFKC, no spaces, brackets or 、,*).
HEADER_ALIASES = {
    "序号": "seq", "编号": "seq",
    "姓名": "name", "教师姓名": "name",
    "性别": "gender",
    "身份证号码": "id_card", "身份证号": "id_card", "身份证": "id_card", "公民身份号码": "id_card",
    "身份证件号码": "id_card",
    "工作单位": "school", "学校": "school", "学校名称": "school", "单位": "school", "任职学校": "school",
    "所属县市区": "county", "县市区": "county", "所属县区": "county", "所属区县": "county", "县区": "county",
    "区县": "county", "所属县": "county",
    "任教学科": "subject", "学科": "subject", "任教科目": "subject",
    "联系电话": "phone", "手机号码": "phone", "手机号": "phone", "手机": "phone", "电话": "phone",
    "联系方式": "phone",
}  # fmt: skip
HEADER_SCAN_ROWS = 20  # a title row or two often sits above the header

# One-time initial passwords are random (≈45 bits) and must be changed at first sign-in, where the
# new password gets werkzeug's default scrypt (n=2^15, ~150 ms). For these, scrypt with n=2^11 keeps
# a brute force of one hash in the GPU-decades while letting 3,000 rows import in seconds.
INITIAL_PASSWORD_METHOD = "scrypt:2048:8:1"  # noqa: S105 - a hash method, not a password
_IN_CHUNK = 5000  # ids per IN (...) list; SQLite allows 32,766 bound parameters

_SPACES = re.compile(r"\s+")
_CJK_NAME = re.compile(r"^[\u3400-\u9fff\u00b7\s]+$")
_HEADER_NOISE = re.compile(r"[\s*()（）、,，:：]")


# --- problems ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One error of a roster file: Excel row number (None: the whole file), field, reason code."""

    row: int | None
    field: str | None
    code: str
    params: tuple = ()  # (name, value) pairs; never an ID number
    header: str | None = None  # the column's header as written in the file
    column: int | None = None  # 0-based column index in the file

    @property
    def column_name(self) -> str:
        if self.field is None:
            return ""
        return self.header or FIELD_HEADERS.get(self.field, self.field)

    @property
    def cell(self) -> str:
        if self.column is None:
            return ""
        return f"{excel.column_letter(self.column)}{self.row}" if self.row else excel.column_letter(self.column)

    @property
    def message(self) -> str:
        make = MESSAGES.get(self.code)
        return make(**dict(self.params)) if make else self.code


MESSAGES: dict[str, Callable[..., str]] = {
    "required": lambda: _("This cell is empty."),
    "name_too_long": lambda: _("The name is longer than 64 characters."),
    "bad_gender": lambda: _("Gender must be 男 or 女."),
    "gender_mismatch": lambda expected: _(
        "The gender does not match the ID number, which belongs to a %(expected)s person.", expected=expected
    ),
    "id_length": lambda: _("An ID number has 18 characters."),
    "id_chars": lambda: _("An ID number has 17 digits followed by a digit or X."),
    "id_birthdate": lambda: _("The birth date inside the ID number is not a real date."),
    "id_checksum": lambda: _("The check digit of the ID number is wrong; please check the number."),
    "id_as_number": lambda: _(
        "The ID number was stored as a number and has lost its last digits. "
        "Format the column as text and type the number again."
    ),
    "id_duplicate": lambda first: _("The same ID number already appears in row %(first)s.", first=first),
    "bad_phone": lambda: _("Enter an 11-digit mainland mobile number."),
    "phone_duplicate": lambda first: _("Row %(first)s has the same phone number for another person.", first=first),
    "phone_taken": lambda: _("This phone number belongs to another account."),
    "unknown_county": lambda value: _("There is no county “%(value)s”.", value=value),
    "county_out_of_scope": lambda value: _("The county “%(value)s” is outside the area you manage.", value=value),
    "county_ambiguous": lambda value: _(
        "Several counties you manage are called “%(value)s”; import from the county's own page.", value=value
    ),
    "unknown_school": lambda value, county: _(
        "There is no school “%(value)s” in %(county)s. Check the name against the school list.",
        value=value,
        county=county,
    ),
    "school_out_of_scope": lambda value: _(
        "You may not import teachers for “%(value)s”: it is outside the schools you manage.", value=value
    ),
    "unknown_subject": lambda value: _(
        "Unknown subject “%(value)s”. Use one of: %(names)s.", value=value, names="、".join(taxonomy.SUBJECT_NAMES_ZH)
    ),
    "person_out_of_scope": lambda: _(
        "This ID number belongs to an account outside the schools you manage. "
        "Ask the administrator of their county or city to move the teacher."
    ),
    # Whole-file problems.
    "no_header": lambda: _(
        "No header row was found. The first rows must contain the column names: %(names)s.",
        names="、".join(COLUMNS),
    ),
    "missing_column": lambda: _("This column is missing from the header row."),
    "no_rows": lambda: _("The file contains no teachers."),
    "too_many_rows": lambda limit: _(
        "The file has more than %(limit)s rows. Split it into several files.", limit=limit
    ),
    "unreadable": lambda: _("The file could not be read as an Excel workbook. Save it again as .xlsx and retry."),
    "xls": lambda: _(
        "This is an old Excel 97–2003 (.xls) file or a password-protected workbook. "
        "Open it in Excel or WPS, remove any password and save it as Excel Workbook (.xlsx)."
    ),
    "not_xlsx": lambda: _("This is not an Excel .xlsx file. Please upload the roster as an Excel Workbook (.xlsx)."),
    "too_large": lambda limit: _("The file is larger than %(limit)s MB.", limit=limit),
    "empty": lambda: _("The file is empty."),
    "missing": lambda: _("Choose an .xlsx file."),
    "conflict": lambda: _("Someone changed these accounts at the same time. Nothing was saved; please try again."),
    "idcard_key": lambda: _(
        "The stored ID-card numbers cannot be read with this server's key (LMS_IDCARD_KEY or LMS_SECRET_KEY "
        "changed). Nothing was saved: an import now would create duplicate accounts. Ask the system administrator."
    ),
}


class RosterInvalid(ValueError):
    """The file cannot be imported; `problems` says why. The message holds only a count."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.row or 0, p.column if p.column is not None else -1))
        super().__init__(f"{len(self.problems)} roster problems")


# --- reading -----------------------------------------------------------------------------------


@dataclass
class Header:
    """Where each field sits in the file: field → (0-based column index, header text)."""

    row: int
    columns: dict[str, tuple[int, str]]

    def problem(self, row: int | None, field: str, code: str, **params) -> Problem:
        col, text = self.columns.get(field, (None, FIELD_HEADERS.get(field)))
        return Problem(row, field, code, tuple(params.items()), text, col)


STANDARD_HEADER = Header(1, {f: (i, h) for i, (f, h) in enumerate(FIELD_HEADERS.items())})


@dataclass
class RawRow:
    row: int  # Excel row number
    values: dict[str, object]  # field → raw cell value


def _header_key(value) -> str:
    return _HEADER_NOISE.sub("", normalize(value))


def _match_header(values: tuple) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for i, value in enumerate(values):
        if not isinstance(value, str):
            continue
        fld = HEADER_ALIASES.get(_header_key(value))
        if fld and fld not in found:
            found[fld] = (i, value.strip())
    return found


def read_roster(data: bytes, max_rows: int) -> tuple[Header, list[RawRow]]:
    """Find the header row and return the non-blank data rows below it (raw cell values)."""
    header: Header | None = None
    rows: list[RawRow] = []
    try:
        for number, values in excel.iter_rows(data):
            if header is None:
                found = _match_header(values)
                if len(found) >= 3:
                    header = Header(number, found)
                    missing = [f for f in REQUIRED if f not in found]
                    if missing:
                        raise RosterInvalid([header.problem(number, f, "missing_column") for f in missing])
                elif number >= HEADER_SCAN_ROWS:
                    break
                continue
            cells = {f: values[i] if i < len(values) else None for f, (i, _h) in header.columns.items()}
            # Blank lines, and lines where only the running number is filled in, are skipped.
            if all(_text(v) == "" for f, v in cells.items() if f != "seq"):
                continue
            if len(rows) >= max_rows:
                raise RosterInvalid([Problem(None, None, "too_many_rows", (("limit", max_rows),))])
            rows.append(RawRow(number, cells))
    except excel.ExcelError as exc:
        code = "too_large" if str(exc) == "too_large" else "unreadable"
        params = (("limit", excel.MAX_UNCOMPRESSED // (1024 * 1024)),) if code == "too_large" else ()
        raise RosterInvalid([Problem(None, None, code, params)]) from None
    if header is None:
        raise RosterInvalid([Problem(None, None, "no_header")])
    if not rows:
        raise RosterInvalid([Problem(None, None, "no_rows")])
    return header, rows


def _text(value) -> str:
    """A cell as plain text: numbers without a trailing .0, full-width folded to half-width, trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalize(value)


def _key(value) -> str:
    """Names (counties, schools) compare after normalizing and dropping all whitespace."""
    return _SPACES.sub("", _text(value))


# --- validation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyRef:
    id: int
    name: str
    in_scope: bool


@dataclass(frozen=True)
class SchoolRef:
    id: int
    name: str
    county_id: int
    in_scope: bool
    stage: str | None = None


@dataclass
class Lookup:
    """Counties by normalized name and schools by (county id, normalized name), marked in/out of scope."""

    counties: dict[str, list[CountyRef]] = field(default_factory=dict)
    schools: dict[tuple[int, str], SchoolRef] = field(default_factory=dict)


@dataclass
class RosterRow:
    """One validated row."""

    row: int
    name: str
    gender: str  # M / F
    id_card: str
    phone: str
    county_id: int
    school_id: int
    subject: str
    stage: str | None = None


def clean_id_card(value, today: date | None = None) -> tuple[str, str | None]:
    """(normalized ID number, None) or ("", problem code)."""
    if isinstance(value, float):
        return "", "id_as_number"  # Excel keeps 15 significant digits: the number is already damaged
    text = _SPACES.sub("", _text(value)).upper()
    if not text:
        return "", "required"
    try:
        return idcard.validate(text, today=today), None
    except idcard.IdCardError as exc:
        return "", f"id_{exc}"


def clean_phone(value) -> tuple[str, str | None]:
    phone = re.sub(r"[\s\-]", "", _text(value))
    if phone.startswith("+86"):
        phone = phone[3:]
    if not phone:
        return "", "required"
    if not PHONE_RE.match(phone):
        return "", "bad_phone"
    return phone, None


def validate_row(raw: RawRow, lookup: Lookup, header: Header = STANDARD_HEADER, today: date | None = None):
    """Check one row on its own. Returns (RosterRow or None, [Problem])."""
    v = raw.values
    n = raw.row
    problems: list[Problem] = []

    def bad(fld, code, **params):
        problems.append(header.problem(n, fld, code, **params))

    name = _text(v.get("name"))
    name = _SPACES.sub("", name) if _CJK_NAME.match(name) else _SPACES.sub(" ", name)
    if not name:
        bad("name", "required")
    elif len(name) > 64:
        bad("name", "name_too_long")

    id_card, code = clean_id_card(v.get("id_card"), today)
    if code:
        bad("id_card", code)

    gender_text = _SPACES.sub("", _text(v.get("gender")))
    gender = taxonomy.GENDER_NAMES_ZH.get(gender_text)
    if not gender_text:
        bad("gender", "required")
    elif gender is None:
        bad("gender", "bad_gender")
    elif id_card and idcard.gender(id_card) != gender:
        bad("gender", "gender_mismatch", expected=taxonomy.GENDER_ZH[idcard.gender(id_card)])

    phone, code = clean_phone(v.get("phone"))
    if code:
        bad("phone", code)

    subject_text = _key(v.get("subject"))
    subject = taxonomy.SUBJECT_NAMES_ZH.get(subject_text)
    if not subject_text:
        bad("subject", "required")
    elif subject is None:
        bad("subject", "unknown_subject", value=subject_text[:40])

    county = school = None
    county_text = _key(v.get("county"))
    school_text = _key(v.get("school"))
    if not county_text:
        bad("county", "required")
    else:
        refs = lookup.counties.get(county_text, [])
        mine = [r for r in refs if r.in_scope]
        if not refs:
            bad("county", "unknown_county", value=county_text[:40])
        elif not mine:
            bad("county", "county_out_of_scope", value=county_text[:40])
        elif len(mine) > 1:
            bad("county", "county_ambiguous", value=county_text[:40])
        else:
            county = mine[0]
    if not school_text:
        bad("school", "required")
    elif county is not None:
        school = lookup.schools.get((county.id, school_text))
        if school is None:
            bad("school", "unknown_school", value=school_text[:60], county=county.name)
        elif not school.in_scope:
            bad("school", "school_out_of_scope", value=school.name)

    if problems:
        return None, problems
    return RosterRow(n, name, gender, id_card, phone, county.id, school.id, subject, school.stage), []


def validate_rows(raws: Iterable[RawRow], lookup: Lookup, header: Header = STANDARD_HEADER, today=None):
    """Every row on its own, then across rows: an ID number or a phone may appear only once."""
    records: list[RosterRow] = []
    problems: list[Problem] = []
    first_id: dict[str, int] = {}
    first_phone: dict[str, tuple[int, str]] = {}
    for raw in raws:
        record, row_problems = validate_row(raw, lookup, header, today)
        problems.extend(row_problems)
        # Duplicates are reported even when the row has other problems.
        id_card = record.id_card if record else clean_id_card(raw.values.get("id_card"), today)[0]
        phone = record.phone if record else clean_phone(raw.values.get("phone"))[0]
        duplicate = False
        if id_card:
            if id_card in first_id:
                problems.append(header.problem(raw.row, "id_card", "id_duplicate", first=first_id[id_card]))
                duplicate = True
            else:
                first_id[id_card] = raw.row
        if phone and not duplicate:
            person = id_card or f"row {raw.row}"
            seen = first_phone.setdefault(phone, (raw.row, person))
            if seen[1] != person:
                problems.append(header.problem(raw.row, "phone", "phone_duplicate", first=seen[0]))
                duplicate = True
        if record is not None and not duplicate:
            records.append(record)
    return records, problems


def build_lookup(scope, raws: list[RawRow]) -> Lookup:
    """Counties named in the file (anywhere, so "outside your scope" differs from "unknown") and their schools."""
    scope_path = scope.context.path
    names = {_key(r.values.get("county")) for r in raws} - {""}
    lookup = Lookup()
    if not names:
        return lookup
    county_ids = []
    for cid, name, path in db.session.execute(
        select(Region.id, Region.name, Context.path)
        .join(Context, Region.context_id == Context.id)
        .where(Region.level == "county")
    ):
        key = _key(name)
        if key in names:
            in_scope = path.startswith(scope_path) or (isinstance(scope, School) and cid == scope.county_id)
            lookup.counties.setdefault(key, []).append(CountyRef(cid, name, in_scope))
            county_ids.append(cid)
    if county_ids:
        for sid, name, county_id, stage, path in db.session.execute(
            select(School.id, School.name, School.county_id, School.stage, Context.path)
            .join(Context, School.context_id == Context.id)
            .where(School.county_id.in_(county_ids), School.closed_at.is_(None))  # a closed school takes nobody
        ):
            in_scope = path.startswith(scope_path)
            lookup.schools[(county_id, _key(name))] = SchoolRef(sid, name, county_id, in_scope, stage)
    return lookup


# --- import ------------------------------------------------------------------------------------


@dataclass
class NewAccount:
    name: str
    username: str
    password: str  # shown once on the result page, never stored
    school: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_accounts: list[NewAccount] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _chunks(items: list, size: int = _IN_CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def read_upload(storage, max_bytes: int):
    """Check an uploaded file (type sniffed from the bytes, size capped) and return its bytes."""
    try:
        return check_upload(storage, {XLSX_MIME}, max_bytes).data
    except UploadError as exc:
        code = str(exc)
        if code.startswith("too_large"):
            problem = Problem(None, None, "too_large", (("limit", f"{max_bytes / (1024 * 1024):g}"),))
        elif code.startswith("type:"):
            problem = Problem(None, None, "xls" if _is_ole2(storage, code) else "not_xlsx")
        else:
            problem = Problem(None, None, code if code in MESSAGES else "unreadable")
        raise RosterInvalid([problem]) from None


_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")  # Excel 97–2003 .xls, and encrypted .xlsx


def _is_ole2(storage, code: str) -> bool:
    if code in ("type:application/vnd.ms-excel", "type:application/x-ole-storage", "type:application/CDFV2"):
        return True
    try:
        storage.stream.seek(0)
        return storage.stream.read(8) == _OLE2
    except (AttributeError, OSError, ValueError):
        return False


def import_upload(storage, scope, importer) -> ImportResult:
    """The whole import from an uploaded file, with the limits from the configuration."""
    cfg = current_app.config
    data = read_upload(storage, cfg["ROSTER_MAX_BYTES"])
    return import_roster(data, scope, importer, max_rows=cfg["ROSTER_MAX_ROWS"])


def idcard_key_opens_stored() -> bool:
    """Whether this key opens the stored numbers (one sample). With another key the lookups by number
    would find nobody and the import would create everyone again."""
    from sqlalchemy import String, type_coerce

    sample = db.session.scalar(select(type_coerce(User.id_card, String)).where(User.id_card.is_not(None)).limit(1))
    if sample is None:
        return True
    try:
        idcard.unseal(sample)
    except idcard.IdCardKeyError:
        return False
    return True


def import_roster(data: bytes, scope, importer, max_rows: int = 20000, today: date | None = None) -> ImportResult:
    """Validate the whole file, then create or update every teacher in one transaction (or nothing).

    `scope` is the School or Region the importer chose; the caller has checked roster.import on it.
    """
    header, raws = read_roster(data, max_rows)
    if not idcard_key_opens_stored():
        raise RosterInvalid([Problem(None, None, "idcard_key")])
    lookup = build_lookup(scope, raws)
    records, problems = validate_rows(raws, lookup, header, today)

    # Database checks, a few queries for the whole file.
    ids = [r.id_card for r in records]
    existing: dict[str, User] = {}
    existing_path: dict[str, str | None] = {}
    for chunk in _chunks(ids):
        for user, path in db.session.execute(
            select(User, Context.path)
            .outerjoin(School, User.school_id == School.id)
            .outerjoin(Context, School.context_id == Context.id)
            .where(User.id_card.in_(chunk))
        ):
            existing[user.id_card] = user
            existing_path[user.id_card] = path
    phone_owner: dict[str, str | None] = {}
    for chunk in _chunks([r.phone for r in records]):
        for phone, owner_id_card in db.session.execute(select(User.phone, User.id_card).where(User.phone.in_(chunk))):
            phone_owner[phone] = owner_id_card
    scope_path = scope.context.path
    for r in records:
        if r.id_card in existing:
            path = existing_path[r.id_card]
            if not path or not path.startswith(scope_path):
                problems.append(header.problem(r.row, "id_card", "person_out_of_scope"))
        if r.phone in phone_owner and phone_owner[r.phone] != r.id_card:
            problems.append(header.problem(r.row, "phone", "phone_taken"))
    if problems:
        raise RosterInvalid(problems)

    result = ImportResult()
    school_names = {s.id: s.name for s in lookup.schools.values()}
    new_rows = [r for r in records if r.id_card not in existing]
    usernames = _usernames([r.phone for r in new_rows])
    passwords = [generate_initial_password() for _ in new_rows]
    hashes = _hash_all(passwords)
    try:
        for r in records:
            user = existing.get(r.id_card)
            if user is None:
                continue
            changes = {"name": r.name, "gender": r.gender, "phone": r.phone, "school_id": r.school_id,
                       "subject": r.subject}  # fmt: skip
            if any(getattr(user, k) != val for k, val in changes.items()):
                for k, val in changes.items():
                    setattr(user, k, val)
                result.updated += 1
            else:
                result.unchanged += 1
        new_users = []
        for r, password, pw_hash in zip(new_rows, passwords, hashes, strict=True):
            username = usernames[r.phone]
            new_users.append(
                {
                    "username": username,
                    "name": r.name,
                    "gender": r.gender,
                    "id_card": r.id_card,
                    "phone": r.phone,
                    "school_id": r.school_id,
                    "subject": r.subject,
                    "stage": r.stage,
                    "password_hash": pw_hash,
                    "must_change_password": True,
                }
            )
            result.new_accounts.append(NewAccount(r.name, username, password, school_names.get(r.school_id, "")))
        if new_users:
            # One executemany (batched INSERTs) instead of a flush per object; no ids are needed back.
            db.session.flush()
            db.session.execute(insert(User), new_users)
        result.created = len(new_rows)
        refresh_counters()
        db.session.commit()
    except IntegrityError:
        # The database error text would quote ID numbers: replace it, and keep it out of the traceback.
        db.session.rollback()
        raise RosterInvalid([Problem(None, None, "conflict")]) from None
    access.services.forget(importer)
    log.info(
        "roster import by user %s into %s %s: %d created, %d updated, %d unchanged",
        importer.id, type(scope).__name__, scope.id, result.created, result.updated, result.unchanged,
    )  # fmt: skip
    roster_imported.send(importer, scope=scope, created=result.created, updated=result.updated)
    return result


def _usernames(phones: list[str]) -> dict[str, str]:
    """Username = phone number when free, else phone_2, phone_3…"""
    taken: set[str] = set()
    for chunk in _chunks(phones):
        taken.update(db.session.scalars(select(User.username).where(User.username.in_(chunk))))
    result = {}
    for phone in phones:
        if phone not in taken:
            result[phone] = phone
            continue
        similar = set(db.session.scalars(select(User.username).where(User.username.startswith(phone + "_"))))
        n = 2
        while f"{phone}_{n}" in similar or f"{phone}_{n}" in taken:
            n += 1
        result[phone] = f"{phone}_{n}"
        taken.add(result[phone])
    return result


def _hash_all(passwords: list[str]) -> list[str]:
    """Hash in a few threads: hashlib's scrypt releases the GIL."""
    if len(passwords) < 8:
        return [generate_password_hash(p, method=INITIAL_PASSWORD_METHOD) for p in passwords]
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda p: generate_password_hash(p, method=INITIAL_PASSWORD_METHOD), passwords))


# --- export ------------------------------------------------------------------------------------


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def export_rows(scope, viewer) -> list[list]:
    """Active teachers of a school or of every school in a region, as roster rows (EXPORT_COLUMNS).

    ID numbers are masked unless the viewer holds idcard.view_full there; phones unless member.contact.
    """
    full_id = access.can(viewer, "idcard.view_full", scope)
    full_phone = access.can(viewer, "member.contact", scope)
    stmt = (
        select(User.name, User.gender, User.id_card, School.name, Region.name, User.subject, User.phone, User.username)
        .join(School, User.school_id == School.id)
        .join(Region, School.county_id == Region.id)
        .join(Context, School.context_id == Context.id)
        .where(User.active.is_(True), Context.path.startswith(scope.context.path, autoescape=True))
        .order_by(Region.id, School.id, User.id)
    )
    rows = []
    for i, (name, gender, id_card, school, county, subject, phone, username) in enumerate(db.session.execute(stmt)):
        rows.append(
            [
                i + 1,
                name,
                taxonomy.GENDER_ZH.get(gender or "", ""),
                (id_card or "") if full_id else idcard.mask(id_card),
                school,
                county,
                taxonomy.SUBJECT_ZH.get(subject or "", subject or ""),
                (phone or "") if full_phone else mask_phone(phone),
                username,
            ]
        )
    return rows


_WIDTHS = (6, 12, 6, 22, 28, 16, 12, 14, 16)
_TEXT_COLUMNS = {3, 7, 8}  # ID number, phone, username


def export_workbook(scope, viewer) -> bytes:
    sheet = excel.Sheet(_("Roster"), EXPORT_COLUMNS, export_rows(scope, viewer), _WIDTHS, _TEXT_COLUMNS)
    return excel.write_workbook(sheet)


def template_workbook() -> bytes:
    """A blank roster: the header row, ID and phone columns formatted as text, and a sheet of instructions."""
    roster = excel.Sheet(_("Roster"), COLUMNS, (), _WIDTHS[:8], {3, 7})
    notes = [
        [_("One teacher per row. Keep the header row; the column order may change.")],
        [_("ID number: 18 characters, the last may be X. Keep the column formatted as text.")],
        [_("Gender: 男 or 女, as in the ID number.")],
        [_("Work unit: the full school name as registered on the platform.")],
        [_("County: the county, city or district the school belongs to.")],
        [_("Subject, one of: %(names)s", names="、".join(taxonomy.SUBJECT_NAMES_ZH))],
        [_("Phone: an 11-digit mobile number; it becomes the username of new accounts.")],
        [_("Importing the same file again updates the teachers instead of adding them twice.")],
    ]
    return excel.write_workbook(roster, excel.Sheet(_("Instructions"), [_("How to fill in the roster")], notes, (100,)))


# --- the new accounts' initial passwords, downloadable once -------------------------------------
# The result page shows them once (no-store); an admin importing hundreds of teachers needs them as a
# file to print or hand on. Kept server-side, encrypted, for ROSTER_PASSWORDS_MINUTES, for the
# importing admin only, and deleted by the one download.

PASSWORD_SHEET_COLUMNS = ("username", "name", "school", "initial_password")


def _sheet_cipher():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    secret = str(current_app.config["SECRET_KEY"]).encode()
    return AESGCM(hashlib.sha256(b"yanxiu password sheet v1|" + secret).digest())


def _sheet_lifetime() -> timedelta:
    return timedelta(minutes=float(current_app.config["ROSTER_PASSWORDS_MINUTES"]))


def keep_password_sheet(result: ImportResult, importer, scope=None) -> str | None:
    """Keep the new accounts' initial passwords for one download by `importer`; returns the sheet's
    id (None when the import created no account). `scope` is the School or Region imported into
    (where the audit trail files the sheet). Commits."""
    from lms.accounts.models import PasswordSheet
    from lms.signals import password_sheet

    if not result.new_accounts:
        return None
    purge_password_sheets()
    sheet_id = secrets.token_urlsafe(32)
    rows = [[a.username, a.name, a.school, a.password] for a in result.new_accounts]
    nonce = os.urandom(12)
    sealed = nonce + _sheet_cipher().encrypt(nonce, json.dumps(rows).encode(), sheet_id.encode())
    context = scope.context if scope is not None else None
    db.session.add(PasswordSheet(id=sheet_id, importer_id=importer.id, created_at=utcnow(), sealed=sealed,
                                 context_id=context.id if context is not None else None))  # fmt: skip
    db.session.commit()
    password_sheet.send(importer, change="kept", count=len(rows), context=context)
    return sheet_id


def take_password_sheet(sheet_id: str, user) -> bytes | None:
    """The .xlsx of a kept sheet, for the admin who imported it, once: the row is deleted here. None
    when there is no such sheet for this user (never made, already downloaded, expired)."""
    from lms.accounts.models import PasswordSheet

    row = db.session.get(PasswordSheet, sheet_id) if isinstance(sheet_id, str) and len(sheet_id) <= 64 else None
    if row is None or row.importer_id != user.id:
        return None
    if utcnow() - row.created_at > _sheet_lifetime():
        db.session.execute(delete(PasswordSheet).where(PasswordSheet.id == sheet_id))
        db.session.commit()
        return None
    # The file is made first: a failure here (a rotated key, a worker killed) keeps the sheet for a
    # second try instead of losing the passwords.
    from cryptography.exceptions import InvalidTag

    sealed = row.sealed
    try:
        rows = json.loads(_sheet_cipher().decrypt(sealed[:12], sealed[12:], sheet_id.encode()))
    except InvalidTag:  # sealed under another SECRET_KEY: nobody can open it any more
        return None
    headers = [_("Username"), _("Name"), _("School"), _("Initial password")]
    sheet = excel.Sheet(_("Initial passwords"), headers, rows, widths=(16, 12, 30, 16), text_columns={0, 3})
    data = excel.write_workbook(sheet)
    # The DELETE decides who gets it: of two downloads at once, one deletes the row, the other nothing.
    context = row.context
    taken = db.session.execute(delete(PasswordSheet).where(PasswordSheet.id == sheet_id)).rowcount
    db.session.commit()
    if taken != 1:
        return None
    from lms.signals import password_sheet

    password_sheet.send(user, change="taken", count=len(rows), context=context)
    return data


def purge_password_sheets() -> int:
    """Delete the sheets nobody downloaded in time; returns how many. Commits."""
    from lms.accounts.models import PasswordSheet

    gone = db.session.execute(delete(PasswordSheet).where(PasswordSheet.created_at < utcnow() - _sheet_lifetime()))
    db.session.commit()
    return gone.rowcount
