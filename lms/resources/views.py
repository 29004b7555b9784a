"""Resource library pages: thin handlers over lms.resources.services."""

from pathlib import PurePosixPath

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.access.models import Context
from lms.core.pagination import page_arg
from lms.core.uploads import UploadError, body_limit
from lms.extensions import db
from lms.media import services as media
from lms.resources import services
from lms.resources.forms import CommentForm, EditForm, UploadForm
from lms.resources.models import ResourceComment

bp = Blueprint("resources", __name__)

ERRORS = {
    "title_required": lambda: _("Please enter a title."),
    "title_too_long": lambda: _("The title is too long (200 characters at most)."),
    "description_too_long": lambda: _("The description is too long."),
    "bad_stage": lambda: _("Choose a stage from the list."),
    "bad_subject": lambda: _("Choose a subject from the list."),
    "bad_kind": lambda: _("Choose a kind from the list."),
    "forbidden": lambda: _("You may not do this in this library."),
    "executable": lambda: _(
        "This file is an executable program, whatever its name says; programs cannot be uploaded as resources."
    ),
    "bad_rating": lambda: _("A rating is 1 to 5 stars."),
    "comment_empty": lambda: _("Write a comment first."),
    "comment_too_long": lambda: _("The comment is too long (5,000 characters at most)."),
    "bad_status": lambda: _("Unknown status."),
}


def error_text(err: Exception) -> str:
    if isinstance(err, UploadError):
        return media.upload_error_message(err)
    return ERRORS.get(str(err), lambda: _("The request could not be completed."))()


def _resource(resource_id: int):
    return services.get_visible(current_user, resource_id) or abort(404)


def _library(context_id: int) -> Context:
    ctx = db.session.get(Context, context_id)
    if ctx is None or ctx.kind not in ("workshop", "school", "region"):
        abort(404)
    access.require(current_user, "community.view", ctx)
    return ctx


def _community_url(ctx: Context | None) -> str | None:
    if ctx is None:
        return None
    from sqlalchemy import select

    from lms.communities.models import Region, School, Workshop

    for model, endpoint, arg in ((Workshop, "communities.workshop", "workshop_id"),
                                 (School, "communities.school", "school_id"),
                                 (Region, "communities.region", "region_id")):  # fmt: skip
        if ctx.kind == model.__tablename__[:-1]:
            ident = db.session.scalar(select(model.id).where(model.context_id == ctx.id))
            if ident is not None:
                return url_for(endpoint, **{arg: ident})
    return None


@bp.route("/resources")
@login_required
def index():
    filters = services.Filters.from_args(request.args)
    tab = request.args.get("tab") if request.args.get("tab") in ("mine", "favourites") else "all"
    if tab == "favourites":
        page = services.favourites(current_user, page_arg(request))
    else:
        page = services.browse(current_user, filters, mine=tab == "mine", page=page_arg(request))
    return render_template("resources/index.html", page=page, filters=filters, tab=tab, library=None,
                           may_upload=True, communities=services.library_choices(current_user))  # fmt: skip


@bp.route("/resources/libraries/<int:context_id>")
@login_required
def library(context_id):
    ctx = _library(context_id)
    filters = services.Filters.from_args(request.args)
    page = services.browse(current_user, filters, context=ctx, page=page_arg(request))
    return render_template("resources/index.html", page=page, filters=filters, tab="library", library=ctx,
                           community_url=_community_url(ctx), proposals=services.proposals(current_user, ctx),
                           may_upload=services.may_upload(current_user, ctx))  # fmt: skip


def _wanted_library(value) -> Context | None:
    return db.session.get(Context, int(value)) if value and str(value).isdigit() else None


@bp.route("/resources/upload", methods=["GET", "POST"])
@login_required
@body_limit(services.max_bytes)
def upload():
    wanted = request.form.get("library") if request.method == "POST" else request.args.get("library")
    current = _wanted_library(wanted)
    allowed = current is not None and services.may_upload(current_user, current)
    form = UploadForm().fill(services.upload_targets(current_user, current if allowed else None))
    if request.method == "GET" and allowed:
        form.library.data = str(current.id)
    if form.validate_on_submit():
        if form.library.data and not allowed:
            abort(403)
        try:
            r = services.upload(
                current_user,
                title=form.title.data,
                file=request.files.get("file"),
                context=current if form.library.data else None,
                description=form.description.data,
                stage=form.stage.data or None,
                subject=form.subject.data or None,
                kind=form.kind.data or None,
                tags=form.tags.data,
            )
        except (services.ResourceError, UploadError) as err:
            form.file.errors = [*form.file.errors, error_text(err)]
        else:
            flash(_("Resource uploaded."), "success")
            return redirect(url_for("resources.detail", resource_id=r.id))
    max_mb = f"{services.max_bytes() / 2**20:g}"
    # A link from a library the user may not post into says so, instead of quietly offering the personal space.
    refused = bool(wanted) and not allowed and request.method == "GET"
    return render_template("resources/upload.html", form=form, max_mb=max_mb, max_bytes=services.max_bytes(),
                           library_refused=refused), 400 if form.errors else 200  # fmt: skip


@bp.route("/resources/<int:resource_id>")
@login_required
def detail(resource_id):
    r = _resource(resource_id)
    services.record_view(current_user, r)
    r = _resource(resource_id)
    return render_template(
        "resources/detail.html",
        r=r,
        state=services.state_for(current_user, r),
        comments=services.comments(r),
        form=CommentForm(),
        may_curate=services.may_curate(current_user, r),
        may_remove=services.may_remove(current_user, r),
        may_edit=services.may_edit(current_user, r),
        move_targets=services.move_targets(current_user, r),
        propose_targets=services.propose_targets(current_user, r),
        may_decide=services.may_decide(current_user, r),
        community_url=_community_url(r.context),
        may_comment_delete=lambda c: c.user_id == current_user.id or services.may_curate(current_user, r),
    )


#: Which field shows a service error of the edit form.
EDIT_FIELDS = {"title_required": "title", "title_too_long": "title", "bad_stage": "stage", "bad_subject": "subject",
               "bad_kind": "kind", "description_too_long": "description"}  # fmt: skip


@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@login_required
def edit(resource_id):
    r = _resource(resource_id)
    if not services.may_edit(current_user, r):
        abort(403)
    form = EditForm(obj=None if request.method == "POST" else r).fill(r)
    if request.method == "GET":
        form.tags.data, form.description.data = r.tags, r.description_html
        form.stage.data, form.subject.data = r.stage or "", r.subject or ""
    if form.validate_on_submit():
        try:
            services.edit(current_user, r, title=form.title.data, description=form.description.data,
                            stage=form.stage.data, subject=form.subject.data, kind=form.kind.data,
                            tags=form.tags.data)  # fmt: skip
        except services.ResourceError as err:
            field = getattr(form, EDIT_FIELDS.get(str(err), "title"))
            field.errors = [*field.errors, error_text(err)]
        else:
            flash(_("Details saved."), "success")
            return _back(r)
    return render_template("resources/edit.html", form=form, r=r), 400 if form.errors else 200


@bp.route("/resources/<int:resource_id>/download")
@login_required
def download(resource_id):
    r = _resource(resource_id)
    if r.file is None:
        abort(404)
    # A player or download manager fetching later parts (Range not starting at 0) is the same download.
    rng = request.range
    if rng is None or not rng.ranges or rng.ranges[0][0] == 0:
        services.record_view(current_user, r, downloaded=True)
    return media.send(r.file, inline=False)


@bp.route("/resources/<int:resource_id>/file")
@login_required
def preview(resource_id):
    """The file inline for previews (PDF, images, MP4); other types download. Not counted."""
    r = _resource(resource_id)
    if r.file is None:
        abort(404)
    resp = media.send(r.file)
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"  # our own page frames the PDF preview
    return resp


@bp.route("/resources/<int:resource_id>/media/<path:name>")
@login_required
def stream(resource_id, name):
    """The transcoding output: HLS playlists and segments, the MP4 fallback, the poster."""
    r = _resource(resource_id)
    job = r.media_job
    parts = PurePosixPath(name).parts
    if job is None or job.status != "done" or not job.output_dir or ".." in parts or name.startswith("/"):
        abort(404)
    mimetype = None
    if name.endswith(".m3u8"):
        mimetype = "application/vnd.apple.mpegurl"
    elif name.endswith(".ts"):
        mimetype = "video/mp2t"
    return media.send_path(f"{job.output_dir}/{name}", mimetype=mimetype, max_age=86400)


def _back(r):
    return redirect(url_for("resources.detail", resource_id=r.id))


@bp.route("/resources/<int:resource_id>/rate", methods=["POST"])
@login_required
def rate(resource_id):
    r = _resource(resource_id)
    try:
        services.rate(current_user, r, request.form.get("stars"))
    except services.ResourceError as err:
        flash(error_text(err), "danger")
    else:
        flash(_("Thank you for rating."), "success")
    return _back(r)


@bp.route("/resources/<int:resource_id>/favourite", methods=["POST"])
@login_required
def favourite(resource_id):
    r = _resource(resource_id)
    on = services.set_favourite(current_user, r, request.form.get("on") == "1")
    flash(_("Added to your favourites.") if on else _("Removed from your favourites."), "info")
    return _back(r)


@bp.route("/resources/<int:resource_id>/comments", methods=["POST"])
@login_required
def comment(resource_id):
    r = _resource(resource_id)
    form = CommentForm()
    if not form.validate_on_submit():
        flash(_("Write a comment first."), "danger")
        return _back(r)
    try:
        services.add_comment(current_user, r, form.body.data)
    except services.ResourceError as err:
        flash(error_text(err), "danger")
    return redirect(url_for("resources.detail", resource_id=r.id, _anchor="comments"))


@bp.route("/resources/comments/<int:comment_id>/delete", methods=["POST"])
@login_required
def delete_comment(comment_id):
    c = db.session.get(ResourceComment, comment_id) or abort(404)
    r = _resource(c.resource_id)
    try:
        services.delete_comment(current_user, c)
    except services.ResourceError:
        abort(403)
    flash(_("Comment deleted."), "info")
    return _back(r)


@bp.route("/resources/<int:resource_id>/status", methods=["POST"])
@login_required
def set_status(resource_id):
    r = _resource(resource_id)
    if not services.may_curate(current_user, r):
        abort(403)
    try:
        services.set_status(current_user, r, request.form.get("status", ""))
    except services.ResourceError as err:
        flash(error_text(err), "danger")
    else:
        flash(_("Status changed."), "success")
    return _back(r)


@bp.route("/resources/<int:resource_id>/move", methods=["POST"])
@login_required
def move(resource_id):
    r = _resource(resource_id)
    if not services.may_curate(current_user, r):
        abort(403)
    target = db.session.get(Context, request.form.get("context_id", type=int) or 0)
    try:
        services.move(current_user, r, target)
    except services.ResourceError:
        abort(403)
    flash(_("Moved into %(name)s.", name=target.name), "success")
    return _back(r)


@bp.route("/resources/<int:resource_id>/propose", methods=["POST"])
@login_required
def propose(resource_id):
    r = _resource(resource_id)
    target = db.session.get(Context, request.form.get("context_id", type=int) or 0)
    try:
        services.propose(current_user, r, target)
    except services.ResourceError:
        abort(403)
    flash(_("Proposed for the %(name)s library; its curators decide.", name=target.name), "success")
    return _back(r)


@bp.route("/resources/<int:resource_id>/proposal", methods=["POST"])
@login_required
def decide(resource_id):
    r = _resource(resource_id)
    approve = request.form.get("decision") == "approve"
    name = r.proposed_context.name if r.proposed_context else ""
    try:
        services.decide(current_user, r, approve)
    except services.ResourceError as err:
        if str(err) == "no_proposal":
            flash(_("This proposal was already settled."), "info")
            return _back(r)
        abort(403)
    flash(_("Moved into %(name)s.", name=name) if approve else _("Proposal declined."), "success")
    return _back(r)


@bp.route("/resources/<int:resource_id>/delete", methods=["POST"])
@login_required
def delete(resource_id):
    r = _resource(resource_id)
    back = url_for("resources.library", context_id=r.context_id) if r.context_id else url_for("resources.index")
    try:
        services.remove(current_user, r)
    except services.ResourceError:
        abort(403)
    flash(_("Resource removed."), "info")
    return redirect(back)
