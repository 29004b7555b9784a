"""The assessment pages of a workshop. Thin: check, call services, render."""

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.assessment import services
from lms.communities.models import Workshop
from lms.communities.services import ancestors, get_or_404
from lms.core.web import xlsx_download

bp = Blueprint("assessment", __name__)


def _workshop(workshop_id: int) -> Workshop:
    ws = get_or_404(Workshop, workshop_id)
    access.require(current_user, "stats.view", ws)  # 403 to a member (they see their own in their space)
    return ws


@bp.route("/workshops/<int:workshop_id>/assessment")
@login_required
def workshop(workshop_id):
    ws = _workshop(workshop_id)
    scores = services.workshop_scores(ws)
    return render_template(
        "assessment/workshop.html", workshop=ws, trail=ancestors(ws.region), scores=scores,
        summary=services.summary(scores), scheme=services.scheme(), marks=services.marks(),
    )  # fmt: skip


@bp.route("/workshops/<int:workshop_id>/assessment.xlsx")
@login_required
def workshop_xlsx(workshop_id):
    ws = _workshop(workshop_id)
    return xlsx_download(services.export_workbook(ws), _("%(name)s assessment.xlsx", name=ws.name),
                         f"assessment-workshop-{ws.id}.xlsx")  # fmt: skip
