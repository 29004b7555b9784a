"""Administration pages of the community tree (issue 2): the "管理" hub, a region's sub-units and
roles, a school's roles, a workshop's hosts and experts. Thin: parse the form, call one service
(communities for regions and schools, access for roles), answer. Routes on the communities blueprint.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.access.services import site_context
from lms.accounts.services import find_by_login, search_people
from lms.communities import services
from lms.communities.models import Region, School, Workshop
from lms.communities.views import bp
from lms.extensions import db

# Every refusal of the administration pages, API and shell, by the code the services raise.
ADMIN_ERRORS = {
    "name_required": lambda: _("Please enter a name."),
    "name_too_long": lambda: _("The name may have at most 100 characters."),
    "bad_code": lambda: _("The code is a 6- or 12-digit administrative division code, e.g. 360102."),
    "bad_stage": lambda: _("Choose a stage from the list."),
    "region_name_taken": lambda: _("There is already a region with this name here; nothing was changed."),
    "code_taken": lambda: _("Another region already has this code; nothing was changed."),
    "school_name_taken": lambda: _("This county already has a school with this name; nothing was changed."),
    "school_needs_county": lambda: _("Schools are created in a county."),
    "no_sub_regions": lambda: _("A county has schools, not sub-regions."),
    "unknown_role": lambda: _("There is no such role."),
    "role_not_here": lambda: _("This role cannot be held here."),
    "role_above_you": lambda: _("Your own role does not allow appointing or revoking this role here."),
    "person_unknown": lambda: _("No account within your reach has that username or phone number."),
    "person_inactive": lambda: _("This account is deactivated; reactivate it first."),
    "already_held": lambda: _("This person already holds this role here."),
    "no_such_assignment": lambda: _("That appointment does not exist any more."),
    "own_account": lambda: _("This cannot be done to your own account."),
    "school_closed": lambda: _("This school is closed; nothing was changed."),
    "target_not_county": lambda: _("Choose the county the school moves to."),
    "target_out_of_reach": lambda: _("Choose a county you manage; nothing was changed."),
    "same_county": lambda: _("The school is already in this county."),
    "school_has_teachers": lambda: _(
        "The school still has active teachers: choose the school they move to, or move or deactivate them first."
    ),
    "merge_into_itself": lambda: _("Choose another school for the teachers."),
    "target_closed": lambda: _("The school chosen for the teachers is closed; choose another one."),
}


def admin_error(exc) -> str:
    return ADMIN_ERRORS.get(str(exc), lambda: str(exc))()


def may_administer() -> bool:
    """Whether the signed-in user has anything to do on the administration pages (as the nav entry)."""
    from lms.communities import _administers

    return _administers(current_user)


# --- the hub ---------------------------------------------------------------------------------------


@bp.route("/manage", methods=["GET", "POST"])
@login_required
def manage_home():
    if not may_administer():
        abort(404)
    site = site_context()
    top_manager = access.can(current_user, "region.manage", site)
    if request.method == "POST":
        access.require(current_user, "region.manage", site)
        try:
            region = services.add_region(None, request.form.get("name"), request.form.get("code"), current_user)
        except services.CommunityError as exc:
            flash(admin_error(exc), "danger")
            return _home(top_manager, 422)
        flash(_("%(name)s created.", name=region.name), "success")
        return redirect(url_for(".manage_home"))
    return _home(top_manager)


def _home(top_manager: bool, status: int = 200):
    provinces = services.provinces() if top_manager else []
    return render_template("communities/manage_home.html", places=services.managed_places(current_user),
                           provinces=provinces, top_manager=top_manager,
                           people=access.holds_anywhere(current_user, "user.manage"),
                           audit=access.holds_anywhere(current_user, "audit.view"),
                           # The setup guide is for those who add regions and schools, not a school's admin.
                           guide=access.holds_anywhere(current_user, "region.manage")), status  # fmt: skip


# --- regions: sub-units and roles --------------------------------------------------------------------


@bp.route("/regions/<int:region_id>/manage", methods=["GET", "POST"])
@login_required
def manage_region(region_id):
    region = services.get_or_404(Region, region_id)
    structure = access.can(current_user, "region.manage", region)
    if not (structure or access.can(current_user, "role.assign", region)):
        access.require(current_user, "region.manage", region)
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action in ("add_child", "edit_child", "add_school", "edit_school", "move_school", "close_school"):
                access.require(current_user, "region.manage", region)
                message = _structure_action(region, action)
            else:
                message = _roles_action(region, action)
        except (services.CommunityError, access.AccessError) as exc:
            flash(admin_error(exc), "danger")
            return _region_page(region, structure, 422)
        flash(message, "success")
        return redirect(url_for(".manage_region", region_id=region.id) + _anchor(action))
    return _region_page(region, structure)


def _structure_action(region: Region, action: str) -> str:
    name, actor = request.form.get("name"), current_user._get_current_object()
    if action == "add_child":
        child = services.add_region(region, name, request.form.get("code"), actor)
        return _("%(name)s created.", name=child.name)
    if action == "add_school":
        school = services.add_school(region, name, request.form.get("stage"), actor)
        return _("%(name)s created.", name=school.name)
    if action == "edit_child":
        child = db.session.get(Region, _int(request.form.get("child_id")))
        if child is None or child.parent_id != region.id:
            abort(404)
        services.edit_region(child, name, request.form.get("code"), actor)
        return _("%(name)s saved.", name=child.name)
    school = db.session.get(School, _int(request.form.get("school_id")))
    if school is None or school.county_id != region.id or school.closed_at is not None:
        abort(404)
    if action == "move_school":
        # The county it goes to must be managed too: a county admin moves nothing out of the county.
        target = _managed(Region, request.form.get("county_id"), "target_out_of_reach")
        services.move_school(school, target, actor)
        return _("%(name)s moved to %(county)s.", name=school.name, county=target.name)
    if action == "close_school":
        into = None
        if request.form.get("into_id"):
            into = _managed(School, request.form.get("into_id"), "merge_into_itself")
        services.close_school(school, actor, into)
        if into is not None:
            return _("%(name)s is closed; its teachers are now in %(into)s.", name=school.name, into=into.name)
        return _("%(name)s is closed.", name=school.name)
    services.edit_school(school, name, request.form.get("stage"), actor)
    return _("%(name)s saved.", name=school.name)


def _managed(model, value, error: str):
    """A region or school named by a form, refused alike (no hint it exists) when it does not exist
    or is beyond the actor's region.manage."""
    try:
        obj = db.session.get(model, int(value))
    except (TypeError, ValueError):
        obj = None
    if obj is None or not access.can(current_user, "region.manage", obj):
        raise services.CommunityError(error)
    return obj


def _region_page(region: Region, structure: bool, status: int = 200):
    units = services.sub_units(region) if structure else {"children": [], "schools": []}
    counties = services.movable_counties(current_user, region) if structure and region.level == "county" else []
    return render_template("communities/manage_region.html", region=region, structure=structure, counties=counties,
                           trail=services.ancestors(region), **units, **_roles_data(region)), status  # fmt: skip


# --- schools and workshops: roles --------------------------------------------------------------------


@bp.route("/schools/<int:school_id>/manage", methods=["GET", "POST"])
@login_required
def manage_school(school_id):
    school = services.get_or_404(School, school_id)
    if not (access.can(current_user, "school.manage", school) or access.can(current_user, "role.assign", school)):
        access.require(current_user, "school.manage", school)
    return _roles_page(school, "communities/manage_school.html", ".manage_school", school_id=school.id,
                       trail=services.ancestors(school.county))  # fmt: skip


@bp.route("/workshops/<int:workshop_id>/roles", methods=["GET", "POST"])
@login_required
def manage_workshop_roles(workshop_id):
    ws = services.get_or_404(Workshop, workshop_id)
    access.require(current_user, "role.assign", ws)
    return _roles_page(ws, "communities/manage_workshop_roles.html", ".manage_workshop_roles", workshop_id=ws.id,
                       trail=services.ancestors(ws.region))  # fmt: skip


def _roles_page(obj, template: str, endpoint: str, trail, **ids):
    def page(status=200):
        return render_template(template, obj=obj, trail=trail, **_roles_data(obj)), status

    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if isinstance(obj, School) and obj.closed_at is not None:
                # Nobody is appointed at (or removed from) a closed school: its roles stay as they were.
                raise access.AccessError("school_closed")
            message = _roles_action(obj, action)
        except access.AccessError as exc:
            flash(admin_error(exc), "danger")
            return page(422)
        flash(message, "success")
        return redirect(url_for(endpoint, **ids) + _anchor(action))
    return page()


# --- roles, the same on every page -------------------------------------------------------------------


def _roles_data(obj) -> dict:
    """The roles section: who holds what here, what the viewer may hand out, and people found by
    the search box (?who=), among those within the viewer's reach."""
    assignable = access.assignable_roles(current_user, obj)
    who = (request.args.get("who") or "").strip()[:64]
    candidates = None
    if who and assignable:
        candidates = search_people(current_user, who, "role.assign", role_holders=True, active_only=True,
                                   per_page=20)  # fmt: skip
    return {
        "assignments": access.assignments_at(obj),
        "assignable": assignable,
        # Also roles still held where they are no longer given (a region-wide project manager).
        "revocable": access.revocable_roles(current_user, obj),
        "who": who,
        "candidates": candidates,
    }


def _roles_action(obj, action: str) -> str:
    actor = current_user._get_current_object()
    access.require(actor, "role.assign", obj)
    if action == "appoint":
        person, role = _person_from_form(), request.form.get("role", "")
        # "Replace": the person becomes the only holder here (a workshop's new host), in one step.
        (access.replace_holders if request.form.get("replace") else access.appoint)(actor, person, role, obj)
        return _("%(name)s is now %(role)s.", name=person.name, role=_role_label(role))
    if action == "revoke":
        from lms.access.models import RoleAssignment

        ra = db.session.get(RoleAssignment, _int(request.form.get("assignment_id")))
        if ra is None or ra.context_id != obj.context_id:
            raise access.AccessError("no_such_assignment")
        name, role = ra.user.name, ra.role
        access.dismiss(actor, ra)
        return _("%(name)s is no longer %(role)s.", name=name, role=_role_label(role))
    abort(400)


def _person_from_form():
    """The person picked from the search results (user_id), else typed as a username or phone."""
    from lms.accounts.models import User

    uid = request.form.get("user_id")
    if uid:
        return db.session.get(User, _int(uid))
    return find_by_login(request.form.get("login", "")[:64])


def _role_label(role: str) -> str:
    from lms.access.roles import ROLE_LABELS

    return str(ROLE_LABELS.get(role, role))


def _anchor(action: str) -> str:
    return "#roles" if action in ("appoint", "revoke") else "#units"


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        abort(400)
