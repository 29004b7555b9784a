"""Roster import/export pages (Excel). Thin: parse the request, call accounts.roster, respond."""

from flask import Blueprint, abort, current_app, make_response, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.accounts import roster
from lms.accounts.forms import RosterImportForm
from lms.communities.models import Region, School
from lms.communities.services import ancestors, get_or_404
from lms.core.web import xlsx_download

bp = Blueprint("roster", __name__)


def _no_store(resp):
    # Personal data and one-time passwords: no browser or proxy cache may keep a copy.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _import_page(scope, trail, back):
    access.require(current_user, "roster.import", scope)
    form = RosterImportForm()
    problems = []
    if form.validate_on_submit():
        try:
            result = roster.import_upload(form.file.data, scope, current_user._get_current_object())
        except roster.RosterInvalid as exc:
            problems = exc.problems
        else:
            sheet = roster.keep_password_sheet(result, current_user)
            minutes = current_app.config["ROSTER_PASSWORDS_MINUTES"]
            html = render_template("accounts/roster_result.html", scope=scope, trail=trail, back=back, result=result,
                                   password_sheet=sheet, sheet_minutes=minutes)  # fmt: skip
            return _no_store(make_response(html))
    html = render_template(
        "accounts/roster_import.html", scope=scope, trail=trail, back=back, form=form, problems=problems
    )
    return make_response(html, 422 if problems else 200)


@bp.route("/schools/<int:school_id>/roster/import", methods=["GET", "POST"])
@login_required
def import_school(school_id):
    school = get_or_404(School, school_id)
    return _import_page(school, ancestors(school.county), url_for("communities.school", school_id=school.id))


@bp.route("/regions/<int:region_id>/roster/import", methods=["GET", "POST"])
@login_required
def import_region(region_id):
    region = get_or_404(Region, region_id)
    return _import_page(region, ancestors(region), url_for("communities.region", region_id=region.id))


def _export(scope):
    access.require(current_user, "roster.export", scope)
    kind = "school" if isinstance(scope, School) else scope.level
    return xlsx_download(roster.export_workbook(scope, current_user), _("%(name)s roster.xlsx", name=scope.name),
                 f"roster-{kind}-{scope.id}.xlsx")  # fmt: skip


@bp.route("/schools/<int:school_id>/roster.xlsx")
@login_required
def export_school(school_id):
    return _export(get_or_404(School, school_id))


@bp.route("/regions/<int:region_id>/roster.xlsx")
@login_required
def export_region(region_id):
    return _export(get_or_404(Region, region_id))


@bp.route("/roster/passwords/<sheet_id>", methods=["POST"])
@login_required
def password_sheet(sheet_id):
    """The new accounts' initial passwords as .xlsx: once, for the admin who imported them (POST, with
    the CSRF token: a link prefetch must not use up the one download)."""
    data = roster.take_password_sheet(sheet_id, current_user)
    if data is None:
        message = _("This list of initial passwords has already been downloaded, or has expired. Reset the "
                    "password of a teacher who has none from their account page.")  # fmt: skip
        return _no_store(make_response(render_template("errors/error.html", code=410, message=message), 410))
    return xlsx_download(data, _("initial passwords.xlsx"), "initial-passwords.xlsx")


@bp.route("/roster/template.xlsx")
@login_required
def template():
    if not access.holds_anywhere(current_user, "roster.import"):
        abort(404)
    return xlsx_download(roster.template_workbook(), _("roster template.xlsx"), "roster-template.xlsx")
