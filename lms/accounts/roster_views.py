"""Roster import/export pages (Excel). Thin: parse the request, call accounts.roster, respond."""

from flask import Blueprint, abort

bp = Blueprint("roster", __name__)


@bp.route("/schools/<int:school_id>/roster/import", methods=["GET", "POST"])
def import_school(school_id):
    abort(501)


@bp.route("/regions/<int:region_id>/roster/import", methods=["GET", "POST"])
def import_region(region_id):
    abort(501)


@bp.route("/schools/<int:school_id>/roster.xlsx")
def export_school(school_id):
    abort(501)


@bp.route("/regions/<int:region_id>/roster.xlsx")
def export_region(region_id):
    abort(501)
