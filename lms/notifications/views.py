from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.core.pagination import page_arg
from lms.notifications import services

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def index():
    page = services.recent(current_user, page_arg(request))
    return render_template("notifications/index.html", page=page, unread=services.unread_count(current_user))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    ids = request.form.getlist("id", type=int)
    n = services.mark_read(current_user, ids if ids else "all")
    if n:
        flash(_("Marked as read."), "info")
    return redirect(url_for("notifications.index"))
