"""The audit trail page: the entries of the places the reader administers (audit.view), filtered by
action and day, newest first. Thin: parse the filters, ask lms.audit.services, render."""

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.audit import services
from lms.core.pagination import page_arg

bp = Blueprint("audit", __name__)

FILTER_ERRORS = {
    "bad_date": lambda: _("A date is written as YYYY-MM-DD, e.g. 2026-09-01."),
    "bad_range": lambda: _("The first day is after the last day."),
    "bad_action": lambda: _("Choose an action from the list."),
}


@bp.route("/manage/audit")
@login_required
def index():
    # 404, not 403: someone who administers nothing learns nothing about the page.
    if not access.holds_anywhere(current_user, "audit.view"):
        abort(404)
    action = (request.args.get("action") or "").strip()[:32]
    raw_since, raw_until = (request.args.get("since") or "")[:32], (request.args.get("until") or "")[:32]
    error, found = None, None
    try:
        since, until = services.parse_day(raw_since), services.parse_day(raw_until)
        found = services.entries(current_user, action or None, since, until, page=page_arg(request))
    except services.AuditFilterError as exc:
        error = FILTER_ERRORS[str(exc)]()
    items = found.items if found else []
    html = render_template("audit/index.html", found=found, error=error, actions=services.ACTIONS,
                           action=action, since=raw_since, until=raw_until,
                           people=services.people_named(items), places=services.place_names(items))  # fmt: skip
    return html, 400 if error else 200
