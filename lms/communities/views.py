from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from lms import access
from lms.communities import services
from lms.communities.models import Region, School, Workshop
from lms.core import slots
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
    return render_template(
        "communities/personal_space.html",
        panels=slots.panels_for(current_app, "personal_space", user=current_user),
        **services.personal_space(current_user),
    )


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
        announcements=services.announcements_at(region),
        panels=slots.panels_for(current_app, "region", user=current_user, region=region),
        **services.region_overview(region, current_user),  # lists only what the viewer may open
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
        announcements=services.announcements_at(school),
        panels=slots.panels_for(current_app, "school", user=current_user, school=school),
        **services.school_overview(school, current_user),
        **_members(school),
    )


@bp.route("/workshops/<int:workshop_id>")
@login_required
def workshop(workshop_id):
    ws = services.get_or_404(Workshop, workshop_id)
    access.require(current_user, "community.view", ws)
    overview = services.workshop_overview(ws)
    return render_template(
        "communities/workshop.html",
        workshop=ws,
        group_names={g.id: g.name for g in overview["groups"]},
        announcements=services.announcements_at(ws),
        panels=slots.panels_for(current_app, "workshop", user=current_user, workshop=ws),
        **overview,
        **_members(ws),
    )


# --- management -------------------------------------------------------------------------------

from flask import abort, flash  # noqa: E402
from flask_babel import gettext as _  # noqa: E402

from lms.communities.forms import AddMembersForm, GroupForm, WorkshopForm  # noqa: E402

#: Members per page of the management table (each row a group select).
MANAGE_PAGE_SIZE = 100

MANAGE_ERRORS = {
    "group_name_required": lambda: _("Please name the group."),
    "group_name_taken": lambda: _("A group with this name already exists."),
    "no_such_group": lambda: _("That group does not exist."),
    "not_member": lambda: _("That person is not a member."),
    "bad_placement": lambda: _("Some members or groups were not found; nothing was changed."),
    "leader_not_in_group": lambda: _("A group leader must be a member of that group; nothing was changed."),
    "workshop_name_required": lambda: _("Please name the workshop."),
    "host_unknown": lambda: _("No account within your reach has that username or phone number."),
}


def _manage_error(exc) -> str:
    return MANAGE_ERRORS.get(str(exc), lambda: str(exc))()


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        abort(400)


@bp.route("/workshops/<int:workshop_id>/manage", methods=["GET", "POST"])
@login_required
def manage_workshop(workshop_id):
    ws = services.get_or_404(Workshop, workshop_id)
    access.require(current_user, "workshop.manage", ws)
    add_form, group_form = AddMembersForm(prefix="add"), GroupForm(prefix="group")
    action = request.form.get("action")
    try:
        if action == "add" and add_form.validate_on_submit():
            users, unknown = services.resolve_logins(ws, add_form.logins.data)
            added, refused = services.add_members(ws, users)
            flash(_("%(n)s members added.", n=len(added)), "success")
            # Only what was typed is echoed: never the name of someone outside the host's reach.
            unknown += [u.username for u in refused]
            if unknown:
                flash(_("Not found or not in this workshop's region: %(list)s", list="、".join(unknown[:20])),
                      "warning")  # fmt: skip
            return redirect(url_for(".manage_workshop", workshop_id=ws.id))
        if action == "group" and group_form.validate_on_submit():
            services.add_group(ws, group_form.name.data)
            flash(_("Group created."), "success")
            return redirect(url_for(".manage_workshop", workshop_id=ws.id))
        if action == "rename_group":
            services.rename_group(ws, _int_or_none(request.form.get("group_id")), request.form.get("name", ""))
            flash(_("Group renamed."), "success")
            return redirect(url_for(".manage_workshop", workshop_id=ws.id))
        if action == "delete_group":
            services.delete_group(ws, _int_or_none(request.form.get("group_id")))
            flash(_("Group deleted; its members are now ungrouped."), "info")
            return redirect(url_for(".manage_workshop", workshop_id=ws.id))
        if action == "remove":
            services.remove_member(ws, _int_or_none(request.form.get("user_id")))
            flash(_("Member removed."), "info")
            return redirect(url_for(".manage_workshop", workshop_id=ws.id))
        if action == "arrange":
            placement = {
                _int_or_none(k[6:]): _int_or_none(v) for k, v in request.form.items() if k.startswith("group_")
            }
            leaders = {_int_or_none(k[7:]): _int_or_none(v) for k, v in request.form.items() if k.startswith("leader_")}
            services.arrange_groups(ws, placement, leaders)
            flash(_("Groups saved."), "success")
            return redirect(url_for(".manage_workshop", workshop_id=ws.id, page=page_arg(request)))
    except services.CommunityError as exc:
        flash(_manage_error(exc), "danger")
    members = services.member_page(ws, page=page_arg(request), per_page=MANAGE_PAGE_SIZE)
    groups = services.groups_of(ws)
    return render_template("communities/workshop_manage.html", workshop=ws, members=members, groups=groups,
                           rosters=services.group_rosters(ws), add_form=add_form, group_form=group_form,
                           trail=services.ancestors(ws.region))  # fmt: skip


@bp.route("/regions/<int:region_id>/workshops/new", methods=["GET", "POST"])
@login_required
def new_workshop(region_id):
    region = services.get_or_404(Region, region_id)
    access.require(current_user, "workshop.create", region)
    form = WorkshopForm()
    if form.validate_on_submit():
        try:
            ws = services.new_workshop(region, form.name.data, form.kind.data, form.subject.data, form.stage.data,
                                       form.host.data, form.description.data,
                                       actor=current_user._get_current_object())  # fmt: skip
        except services.CommunityError as exc:
            field = form.host if str(exc) == "host_unknown" else form.name
            field.errors = [*field.errors, _manage_error(exc)]
        else:
            flash(_("Workshop created."), "success")
            return redirect(url_for(".manage_workshop", workshop_id=ws.id))
    return render_template("communities/workshop_new.html", form=form, region=region, trail=services.ancestors(region))


# Administration pages (regions, schools, roles) register their routes on this blueprint.
from lms.communities import admin_views  # noqa: E402, F401
