"""Learning-statistics pages and exports of regions and schools. Thin: check, call services, render."""

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.communities.services import ancestors
from lms.core.pagination import page_arg
from lms.core.web import xlsx_download
from lms.stats import services

bp = Blueprint("stats", __name__)


def _unit(kind: str, ident: int):
    unit = services.unit_of(kind, ident)
    access.require(current_user, "stats.view", unit)  # 403 to whoever sees the page, else 404
    return unit


def _trail(unit) -> list:
    """The regions above the page (base.html's breadcrumb; the block `crumb` adds the rest)."""
    return ancestors(unit.county) if services.kind_of(unit) == "school" else ancestors(unit)


@bp.route("/regions/<int:region_id>/stats")
@login_required
def region(region_id):
    unit = _unit("region", region_id)
    return render_template("stats/report.html", trail=_trail(unit), **services.region_report(unit))


@bp.route("/schools/<int:school_id>/stats")
@login_required
def school(school_id):
    unit = _unit("school", school_id)
    which = request.args.get("show") if request.args.get("show") in services.PEOPLE_FILTERS else "all"
    people = services.school_people(unit, which, page=page_arg(request), per_page=current_app.config["PAGE_SIZE"])
    return render_template("stats/report.html", trail=_trail(unit), people=people, show=which,
                           **services.school_report(unit))  # fmt: skip


@bp.route("/regions/<int:region_id>/stats.xlsx")
@login_required
def region_xlsx(region_id):
    unit = _unit("region", region_id)
    return xlsx_download(services.export_workbook(unit), _("%(name)s learning statistics.xlsx", name=unit.name),
                         f"stats-region-{unit.id}.xlsx")  # fmt: skip


@bp.route("/schools/<int:school_id>/stats.xlsx")
@login_required
def school_xlsx(school_id):
    unit = _unit("school", school_id)
    return xlsx_download(services.export_workbook(unit), _("%(name)s learning statistics.xlsx", name=unit.name),
                         f"stats-school-{unit.id}.xlsx")  # fmt: skip
