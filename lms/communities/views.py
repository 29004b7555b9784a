from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from lms import access
from lms.communities import services
from lms.communities.models import Region, School, Workshop
from lms.core.pagination import page_arg

bp = Blueprint("communities", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("communities.personal_space"))
    return redirect(url_for("accounts.login"))


@bp.route("/me")
@login_required
def personal_space():
    return render_template("communities/personal_space.html", **services.personal_space(current_user))


def _members(community):
    q = (request.args.get("q") or "").strip()[:64]
    subject = request.args.get("subject") or None
    members = None
    if access.can(current_user, "member.list", community):
        members = services.member_page(community, q=q, page=page_arg(request),
                                       per_page=current_app.config["PAGE_SIZE"], subject=subject)  # fmt: skip
    return {"members": members, "q": q, "subject": subject}


@bp.route("/regions/<int:region_id>")
@login_required
def region(region_id):
    region = services.get_or_404(Region, region_id)
    access.require(current_user, "community.view", region)
    return render_template(
        "communities/region.html",
        region=region,
        trail=services.ancestors(region),
        admins=services.admins_of(region),
        announcements=services.announcements_at(region),
        **services.region_children(region, current_user),
        **_members(region),
    )


@bp.route("/schools/<int:school_id>")
@login_required
def school(school_id):
    school = services.get_or_404(School, school_id)
    access.require(current_user, "community.view", school)
    return render_template(
        "communities/school.html",
        school=school,
        trail=services.ancestors(school.county),
        admins=services.admins_of(school),
        announcements=services.announcements_at(school),
        workshops=services.school_workshops(school),
        **_members(school),
    )


@bp.route("/workshops/<int:workshop_id>")
@login_required
def workshop(workshop_id):
    ws = services.get_or_404(Workshop, workshop_id)
    access.require(current_user, "community.view", ws)
    return render_template(
        "communities/workshop.html",
        workshop=ws,
        trail=services.ancestors(ws.region),
        admins=services.admins_of(ws),
        groups=(groups := services.groups_of(ws)),
        group_names={g.id: g.name for g in groups},
        announcements=services.announcements_at(ws),
        **_members(ws),
    )
