from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from lms.core.pagination import page_arg
from lms.core.taxonomy import STAGES, SUBJECTS
from lms.search import services

bp = Blueprint("search", __name__)


@bp.route("/search")
@login_required
def index():
    result = services.search(current_user, request.args.get("q", ""), request.args, page_arg(request))
    return render_template(
        "search/index.html",
        result=result,
        kinds=services.kind_labels(),
        badges=services.kind_labels(singular=True),
        stages=STAGES,
        subjects=SUBJECTS,
        communities=services.community_choices(current_user),
    )
