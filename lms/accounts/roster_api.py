"""Roster endpoints of /api/v1: import an .xlsx roster into a school or county, export one.

The same service as the pages (lms.accounts.roster) and the same checks: `roster.import` /
`roster.export` on the school or region (404 when the caller cannot even see it, 403 when they see it
but lack the right). An import is all-or-nothing: a file with any problem answers 422 with every
problem (row, column, reason) and stores nothing. Exports mask ID numbers unless the caller holds
`idcard.view_full` there, and phones unless `member.contact`.
"""

import io

from flask import jsonify, request, send_file
from flask_babel import gettext as _

from lms import access
from lms.accounts import roster
from lms.api import INT, STR, ApiError, api_user, array, nullable, obj, route, schema
from lms.communities.models import Region, School
from lms.communities.services import get_or_404
from lms.core.uploads import XLSX_MIME

UPLOAD = obj(
    ("file",),
    file={"type": "string", "format": "binary",
          "description": "The roster as an Excel workbook (.xlsx) with the columns of GET /roster/template.xlsx "
                         "(序号, 姓名, 性别, 身份证号码, 工作单位, 所属县（市、区）, 任教学科, 联系电话)"},
)  # fmt: skip
schema("RosterProblem", obj(
    ("row", "column", "reason", "code"),
    row=nullable({**INT, "description": "Excel row number; null for a problem of the whole file"}),
    column=nullable({**STR, "description": "The column's header as written in the file (or the standard one)"}),
    cell={**STR, "description": "e.g. D7, when the column is known"},
    reason={**STR, "description": "What is wrong, in the caller's language (Chinese by default)"},
    code={**STR, "description": "A stable code, e.g. id_checksum, unknown_school, xls"},
))  # fmt: skip
schema("RosterResult", obj(
    ("created", "updated", "unchanged", "total", "new_accounts"),
    created=INT, updated=INT, unchanged=INT, total=INT,
    new_accounts={**array(obj(("name", "username", "password", "school"), name=STR, username=STR, school=STR,
                              password={**STR, "description": "One-time password, shown once, never stored"})),
                  "description": "Accounts created by this import; each must choose a password at first sign-in"},
))  # fmt: skip


def _no_store(resp):
    # Personal data and one-time passwords: no browser or proxy cache may keep a copy.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _problem(p: roster.Problem) -> dict:
    d = {"row": p.row, "column": p.column_name or None, "reason": p.message, "code": p.code}
    if p.cell:
        d["cell"] = p.cell
    return d


def _import(scope):
    user = api_user()
    access.require(user, "roster.import", scope)
    try:
        result = roster.import_upload(request.files.get("file"), scope, user)
    except roster.RosterInvalid as exc:
        raise ApiError(422, "roster_invalid", {"problems": [_problem(p) for p in exc.problems]}) from None
    body = {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "total": result.total,
        "new_accounts": [
            {"name": a.name, "username": a.username, "password": a.password, "school": a.school}
            for a in result.new_accounts
        ],
    }
    return _no_store(jsonify(body))


_IMPORT_ERRORS = (403, 404, 413, 422)


@route("/schools/<int:school_id>/roster", methods=("POST",), upload=UPLOAD, response="RosterResult",
       errors=_IMPORT_ERRORS,
       summary="Import a roster (.xlsx, multipart field `file`) into a school: all-or-nothing (roster.import)",
       )  # fmt: skip
def import_school_roster(school_id):
    return _import(get_or_404(School, school_id))


@route("/regions/<int:region_id>/roster", methods=("POST",), upload=UPLOAD, response="RosterResult",
       errors=_IMPORT_ERRORS,
       summary="Import a roster (.xlsx, multipart field `file`) into a region's schools: all-or-nothing")  # fmt: skip
def import_region_roster(region_id):
    return _import(get_or_404(Region, region_id))


def _export(scope):
    user = api_user()
    access.require(user, "roster.export", scope)
    data = roster.export_workbook(scope, user)
    # The pages' file name (lms.accounts.roster_views._export), so both downloads are named alike.
    name = _("%(name)s roster.xlsx", name=scope.name).replace("/", "_").replace("\\", "_")
    resp = send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=name)
    return _no_store(resp)


_EXPORT_NOTE = "; ID numbers masked unless idcard.view_full, phones unless member.contact"


@route("/schools/<int:school_id>/roster.xlsx", produces=XLSX_MIME, errors=(403, 404),
       summary="Export a school's active teachers as an .xlsx roster (roster.export)" + _EXPORT_NOTE)  # fmt: skip
def export_school_roster(school_id):
    return _export(get_or_404(School, school_id))


@route("/regions/<int:region_id>/roster.xlsx", produces=XLSX_MIME, errors=(403, 404),
       summary="Export the active teachers of a region's schools as an .xlsx roster" + _EXPORT_NOTE)  # fmt: skip
def export_region_roster(region_id):
    return _export(get_or_404(Region, region_id))


@route("/roster/template.xlsx", produces=XLSX_MIME, errors=(404,),
       summary="A blank roster with the header row and instructions (holders of roster.import)")  # fmt: skip
def roster_template():
    if not access.holds_anywhere(api_user(), "roster.import"):
        raise ApiError(404, "not_found")
    resp = send_file(io.BytesIO(roster.template_workbook()), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=_("roster template.xlsx"))  # fmt: skip
    return _no_store(resp)
