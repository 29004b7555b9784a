from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.activities import services
from lms.activities.forms import AnnouncementForm
from lms.activities.models import Announcement
from lms.communities.models import Region, School, Workshop
from lms.extensions import db

bp = Blueprint("activities", __name__)

KINDS = {"regions": Region, "schools": School, "workshops": Workshop}
ERRORS = {
    "title_required": lambda: _("Please enter a title."),
    "title_too_long": lambda: _("The title is too long (200 characters at most)."),
    "body_too_long": lambda: _("The text is too long."),
}


def community_url(community) -> str:
    if isinstance(community, Region):
        return url_for("communities.region", region_id=community.id)
    if isinstance(community, School):
        return url_for("communities.school", school_id=community.id)
    return url_for("communities.workshop", workshop_id=community.id)


def _community(kind: str, ident: int):
    model = KINDS.get(kind) or abort(404)
    obj = db.session.get(model, ident) or abort(404)
    return obj


@bp.route("/<any(regions,schools,workshops):kind>/<int:ident>/announcements/new", methods=["GET", "POST"])
@login_required
def new_announcement(kind, ident):
    community = _community(kind, ident)
    access.require(current_user, "announcement.post", community)
    form = AnnouncementForm()
    if form.validate_on_submit():
        try:
            services.post(current_user, community.context, form.title.data, form.body.data)
        except services.AnnouncementError as exc:
            form.title.errors = [*form.title.errors, ERRORS[str(exc)]()]
        else:
            flash(_("Announcement published."), "success")
            return redirect(community_url(community))
    return render_template("activities/announcement_form.html", form=form, community=community,
                           back=community_url(community))  # fmt: skip


@bp.route("/announcements/<int:ident>")
@login_required
def announcement(ident):
    item = db.session.get(Announcement, ident) or abort(404)
    access.require(current_user, "community.view", item.context)
    return render_template(
        "activities/announcement.html",
        item=item,
        may_delete=services.may_delete(current_user, item),
        may_edit=services.may_edit(current_user, item),
    )


@bp.route("/announcements/<int:ident>/edit", methods=["GET", "POST"])
@login_required
def edit_announcement(ident):
    item = db.session.get(Announcement, ident) or abort(404)
    access.require(current_user, "community.view", item.context)
    if not services.may_edit(current_user, item):
        abort(403)
    form = AnnouncementForm(obj=None if request.method == "POST" else item)
    if request.method == "GET":
        form.body.data = item.body_html
    if form.validate_on_submit():
        try:
            services.edit(current_user, item, form.title.data, form.body.data)
        except services.AnnouncementError as exc:
            form.title.errors = [*form.title.errors, ERRORS[str(exc)]()]
        else:
            flash(_("Announcement saved."), "success")
            return redirect(url_for("activities.announcement", ident=item.id))
    back = url_for("activities.announcement", ident=item.id)
    return render_template("activities/announcement_form.html", form=form, item=item, back=back)


@bp.route("/announcements/<int:ident>/delete", methods=["POST"])
@login_required
def delete_announcement(ident):
    item = db.session.get(Announcement, ident) or abort(404)
    access.require(current_user, "community.view", item.context)
    if not services.may_delete(current_user, item):
        abort(403)
    services.delete(current_user, item)
    flash(_("Announcement deleted."), "info")
    return redirect(url_for("communities.personal_space"))


from lms.activities import activity_views  # noqa: E402,F401  (workshop activities: routes on this bp)
