"""Training project pages 培训项目: list, detail, create/edit, enrolment (调训), project managers."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.core.forms import choices
from lms.core.pagination import page_arg
from lms.projects import services
from lms.projects.forms import MODE_LABELS, ProjectForm
from lms.projects.models import Project

bp = Blueprint("projects", __name__)

ERRORS = {
    "forbidden": lambda: _("You do not have permission to do this."),
    "name_required": lambda: _("Please enter a name."),
    "bad_mode": lambda: _("Choose a mode from the list."),
    "bad_hours": lambda: _("Online hours are a number from 0 to 2000."),
    "bad_days": lambda: _("Days on site are a whole number from 0 to 366."),
    "bad_places": lambda: _("Places are a whole number, 0 or more."),
    "bad_dates": lambda: _("Please enter valid dates."),
    "end_before_start": lambda: _("The end must not come before the start."),
    "nobody": lambda: _("Choose at least one teacher."),
    "too_many": lambda: _("Too many teachers at once; enrol them school by school."),
    "teacher_out_of_scope": lambda: _(
        "Only active teachers of schools in the project's region, and whom you may nominate, can be enrolled; "
        "nothing was changed."
    ),
    "school_out_of_scope": lambda: _("This school is not in the project's region, or not yours to nominate."),
}
ACCESS_ERRORS = {
    "role_not_here": lambda: _("This role cannot be held here."),
    "role_above_you": lambda: _("Your own role does not allow appointing or revoking this role here."),
    "person_unknown": lambda: _("No account within your reach has that username or phone number."),
    "person_inactive": lambda: _("This account is deactivated; reactivate it first."),
    "already_held": lambda: _("This person already holds this role here."),
    "no_such_assignment": lambda: _("That appointment does not exist any more."),
    "own_account": lambda: _("This cannot be done to your own account."),
}


def message(exc) -> str:
    table = ERRORS if isinstance(exc, services.ProjectError) else ACCESS_ERRORS
    return table.get(str(exc), lambda: _("Please check what you entered."))()


def _project_or_404(project_id: int) -> Project:
    project = services.get_visible(current_user, project_id)
    if project is None:
        abort(404)
    return project


@bp.app_context_processor
def _labels():
    return {"project_mode_label": lambda m: str(MODE_LABELS.get(m, m))}


@bp.route("/projects")
@login_required
def index():
    q = (request.args.get("q") or "").strip()[:100]
    page = services.visible_projects(current_user, q=q, page=page_arg(request))
    return render_template("projects/index.html", page=page, q=q,
                           may_create=bool(services.regions_for_new(current_user)))  # fmt: skip


def _facts(form: ProjectForm) -> services.Facts:
    return services.check_facts(
        form.name.data, form.target_group.data, form.mode.data, form.hours_text.data, form.online_hours.data,
        form.onsite_days.data, form.places.data, form.institution.data, form.starts_on.data, form.ends_on.data,
        form.description.data,
    )  # fmt: skip


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def new():
    regions = services.regions_for_new(current_user)
    if not regions:
        abort(403 if access.holds_anywhere(current_user, "community.view") else 404)
    form = ProjectForm()
    form.region_id.choices = choices({r.id: r.name for r in regions}, blank=None)
    if form.validate_on_submit():
        try:
            region = next(r for r in regions if r.id == form.region_id.data)
            project = services.create(current_user, region, _facts(form))
        except services.ProjectError as exc:
            flash(message(exc), "danger")
        else:
            flash(_("Project created."), "success")
            return redirect(url_for(".detail", project_id=project.id))
    return render_template("projects/form.html", form=form, project=None), 422 if form.errors else 200


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def edit(project_id):
    project = _project_or_404(project_id)
    access.require(current_user, "project.manage", project)
    form = ProjectForm(obj=project)
    del form.region_id  # the scope of a project with enrolments stays where it is
    if form.validate_on_submit():
        try:
            services.update_facts(current_user, project, _facts(form))
        except services.ProjectError as exc:
            flash(message(exc), "danger")
        else:
            flash(_("Project saved."), "success")
            return redirect(url_for(".detail", project_id=project.id))
    return render_template("projects/form.html", form=form, project=project), 422 if form.errors else 200


@bp.route("/projects/<int:project_id>")
@login_required
def detail(project_id):
    project = _project_or_404(project_id)
    user = current_user._get_current_object()
    may_appoint = "project_manager" in access.assignable_roles(user, project)
    return render_template(
        "projects/detail.html",
        project=project,
        trail=_trail(project),
        mine=services.enrolment_of(user, project),
        courses=services.courses_of(project),
        may_manage=services.may_manage(user, project),
        may_enrol=services.may_enrol(user, project),
        may_assign=access.can(user, "course.assign", project),
        managers=[ra for ra in access.assignments_at(project) if ra.role == "project_manager"],
        may_appoint=may_appoint,
    )


def _trail(project: Project) -> list:
    from lms.communities.services import ancestors

    return ancestors(project.region)


@bp.route("/projects/<int:project_id>/enrolment")
@login_required
def enrolment(project_id):
    project = _project_or_404(project_id)
    user = current_user._get_current_object()
    if not services.may_enrol(user, project):
        abort(403)
    q = (request.args.get("q") or "").strip()[:64]
    school_id = request.args.get("school_id", type=int)
    return render_template(
        "projects/enrolment.html",
        project=project,
        q=q,
        school_id=school_id,
        schools=services.schools_in_scope(user, project),
        # A school admin nominates their own school's teachers only (调训).
        own_school_only=not access.can(user, "project.enrol", project),
        candidates=services.candidates(user, project, q=q, school_id=school_id, page=page_arg(request)),
        enrolled=services.enrolled(user, project, page=request.args.get("epage", 1, type=int)),
    )


def _back(project: Project):
    args = {k: v for k, v in request.args.items() if k in ("q", "school_id", "page", "epage")}
    return redirect(url_for(".enrolment", project_id=project.id, **args))


@bp.route("/projects/<int:project_id>/enrolment", methods=["POST"])
@login_required
def enrol(project_id):
    project = _project_or_404(project_id)
    user = current_user._get_current_object()
    if not services.may_enrol(user, project):
        abort(403)
    action = request.form.get("action", "")
    try:
        if action == "school":
            n = services.enrol_school(user, project, services.find_school(request.form.get("school_id")))
            flash(_("%(n)s teachers enrolled.", n=n), "success")
        elif action == "withdraw":
            teacher = services.find_teacher(request.form.get("user_id"))
            if services.unenrol(user, project, teacher):
                flash(_("%(name)s was withdrawn from the project.", name=teacher.name), "success")
        else:
            teachers = [services.find_teacher(uid) for uid in request.form.getlist("user_id")[: services.MAX_BULK]]
            n = services.enrol(user, project, [t for t in teachers if t is not None])
            flash(_("%(n)s teachers enrolled.", n=n), "success")
    except services.ProjectError as exc:
        flash(message(exc), "danger")
    return _back(project)


@bp.route("/projects/<int:project_id>/managers", methods=["POST"])
@login_required
def managers(project_id):
    """Appoint (login) or revoke (assignment_id) a project manager of this project only."""
    from lms.accounts.services import find_by_login

    project = _project_or_404(project_id)
    actor = current_user._get_current_object()
    access.require(actor, "role.assign", project)
    try:
        if request.form.get("action") == "revoke":
            ra = access.find_assignment(request.form.get("assignment_id", type=int), project)
            if ra is None:
                raise access.AccessError("no_such_assignment")
            name = ra.user.name
            access.dismiss(actor, ra)
            flash(_("%(name)s no longer manages this project.", name=name), "success")
        else:
            person = find_by_login(request.form.get("login", "")[:64])
            access.appoint(actor, person, "project_manager", project)
            flash(_("%(name)s now manages this project.", name=person.name), "success")
    except access.AccessError as exc:
        flash(message(exc), "danger")
    return redirect(url_for(".detail", project_id=project.id) + "#managers")
