"""Pages of research writing, briefs, the feed and a workshop's member statistics (thin: parse,
call one service, render). Registered by lms.activities.init_app as the `research` blueprint."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.activities import briefs, feed, stats, writing
from lms.activities.models import Writing
from lms.activities.research_forms import WRITING_LABELS, BriefForm, WritingEditForm, WritingForm
from lms.activities.views import _community, community_url
from lms.communities.models import Workshop
from lms.core.pagination import page_arg
from lms.core.uploads import UploadError
from lms.extensions import db

bp = Blueprint("research", __name__)

ERRORS = {
    "title_required": lambda: _("Please enter a title."),
    "title_too_long": lambda: _("The title is too long (200 characters at most)."),
    "body_too_long": lambda: _("The text is too long."),
    "limit_reached": lambda: _("You already wrote this for this workshop and year; edit it instead."),
    "too_many_images": lambda: _("At most 9 images."),
}


def _error(exc) -> str:
    return ERRORS.get(str(exc), lambda: str(exc))()


# --- research writing -------------------------------------------------------------------------


@bp.route("/me/writing")
@login_required
def my_writing():
    writable = writing.writable_workshops(current_user)
    return render_template(
        "activities/my_writing.html",
        page=writing.mine(current_user, page_arg(request)),
        writable=writable,
        new_kinds={k for _w, ks in writable for k in ks},
        used_up=writing.used_up(current_user, writable),
        year=writing.current_year(),
        labels=WRITING_LABELS,
    )


@bp.route("/me/writing/new", methods=["GET", "POST"])
@login_required
def new_writing():
    writable = writing.writable_workshops(current_user)
    if not writable:
        flash(_("Join a workshop to keep research writing there."), "info")
        return redirect(url_for(".my_writing"))
    # Kinds whose yearly limit is used up everywhere are not offered: the teacher would only learn it
    # after writing the whole piece. A link to the piece already written stands in for them.
    used_up = writing.used_up(current_user, writable)
    wanted_kind = request.args.get("kind")
    if request.method == "GET" and wanted_kind in used_up:
        flash(_("You already wrote your %(kind)s for %(year)s; you can edit it here.",
                kind=WRITING_LABELS[wanted_kind], year=used_up[wanted_kind].year), "info")  # fmt: skip
        return redirect(url_for(".writing", ident=used_up[wanted_kind].id))
    form = WritingForm()
    form.workshop.choices = [(w.id, w.name) for w, _k in writable]
    kinds = [k for k in WRITING_LABELS if k not in used_up and any(k in ks for _w, ks in writable)]
    if not kinds:
        return redirect(url_for(".my_writing"))
    form.kind.choices = [(k, WRITING_LABELS[k]) for k in kinds]
    if request.method == "GET":
        form.kind.data = wanted_kind if wanted_kind in kinds else kinds[0]
        wanted = request.args.get("workshop", type=int)
        # Where several workshops allow the kind, start on one where this year's limit is not used.
        kind = form.kind.data
        room = [w.id for w, ks in writable if kind in ks and writing.has_room(current_user, w, kind)]
        if wanted not in dict(form.workshop.choices):
            wanted = room[0] if room else writable[0][0].id
        form.workshop.data = wanted
    if form.validate_on_submit():
        ws = next(w for w, _k in writable if w.id == form.workshop.data)
        try:
            item = writing.create(current_user, ws, form.kind.data, form.title.data, form.body.data)
        except PermissionError:
            form.kind.errors = [*form.kind.errors, _("You may not write this in that workshop.")]
        except writing.WritingError as exc:
            form.title.errors = [*form.title.errors, _error(exc)]
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".writing", ident=item.id))
    return render_template("activities/writing_form.html", form=form, item=None)


def _writing_or_404(ident: int) -> Writing:
    item = db.session.get(Writing, ident) or abort(404)
    if not writing.may_view(current_user, item):
        access.require(current_user, "writing.view", item.workshop)
    return item


@bp.route("/writing/<int:ident>", endpoint="writing")
@login_required
def writing_page(ident):
    item = _writing_or_404(ident)
    return render_template(
        "activities/writing.html",
        item=item,
        label=WRITING_LABELS[item.kind],
        may_edit=writing.may_edit(current_user, item),
    )


@bp.route("/writing/<int:ident>/edit", methods=["GET", "POST"])
@login_required
def edit_writing(ident):
    item = _writing_or_404(ident)
    if not writing.may_edit(current_user, item):
        abort(403)
    form = WritingEditForm()
    if request.method == "GET":
        form.title.data, form.body.data = item.title, item.body_html
    if form.validate_on_submit():
        try:
            writing.update(current_user, item, form.title.data, form.body.data)
        except writing.WritingError as exc:
            form.title.errors = [*form.title.errors, _error(exc)]
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".writing", ident=item.id))
    return render_template("activities/writing_form.html", form=form, item=item, label=WRITING_LABELS[item.kind])


@bp.route("/writing/<int:ident>/delete", methods=["POST"])
@login_required
def delete_writing(ident):
    item = _writing_or_404(ident)
    if item.author_id != current_user.id:
        abort(403)
    writing.delete(current_user, item)
    flash(_("Deleted."), "info")
    return redirect(url_for(".my_writing"))


@bp.route("/workshops/<int:workshop_id>/writing")
@login_required
def workshop_writing(workshop_id):
    ws = db.session.get(Workshop, workshop_id) or abort(404)
    access.require(current_user, "writing.view", ws)
    kind = request.args.get("kind")
    kind = kind if kind in WRITING_LABELS or kind in ("teacher", "host") else None
    return render_template(
        "activities/workshop_writing.html",
        workshop=ws,
        kind=kind,
        page=writing.in_workshop(ws, kind, page_arg(request), current_app.config["PAGE_SIZE"]),
        labels=WRITING_LABELS,
    )


# --- briefs -----------------------------------------------------------------------------------


@bp.route("/<any(regions,schools,workshops):kind>/<int:ident>/briefs/new", methods=["GET", "POST"])
@login_required
def new_brief(kind, ident):
    community = _community(kind, ident)
    access.require(current_user, "brief.post", community)
    form = BriefForm()
    if request.method == "GET" and request.args.get("draft") == "stats" and kind != "workshops":
        # A learning bulletin 学情通报 drafted from the unit's statistics, for those who may read them.
        from lms.stats import services as stats

        if stats.may_view(current_user, community):
            draft = stats.bulletin(community)
            form.title.data, form.body.data = draft["title"], draft["body"]
    if form.validate_on_submit():
        try:
            item = briefs.post(current_user, community.context, form.title.data, form.body.data,
                               request.files.getlist(form.images.name))  # fmt: skip
        except UploadError as exc:
            from lms.media.services import upload_error_message

            form.images.errors = [*form.images.errors, upload_error_message(exc)]
        except briefs.BriefError as exc:
            form.title.errors = [*form.title.errors, _error(exc)]
        else:
            flash(_("Brief published."), "success")
            return redirect(url_for(".brief", ident=item.id))
    return render_template("activities/brief_form.html", form=form, community=community, item=None,
                           back=community_url(community))  # fmt: skip


@bp.route("/<any(regions,schools,workshops):kind>/<int:ident>/briefs")
@login_required
def community_briefs(kind, ident):
    community = _community(kind, ident)
    access.require(current_user, "community.view", community)
    return render_template(
        "activities/briefs.html",
        community=community,
        kind=kind,
        back=community_url(community),
        page=briefs.listing(community, page_arg(request), current_app.config["PAGE_SIZE"]),
        may_post=access.can(current_user, "brief.post", community),
    )


def _brief_or_404(ident: int):
    item = briefs.get(ident) or abort(404)
    access.require(current_user, "community.view", item.context)
    return item


@bp.route("/briefs/<int:ident>")
@login_required
def brief(ident):
    item = _brief_or_404(ident)
    community = briefs.community_of(item.context)
    return render_template(
        "activities/brief.html",
        item=item,
        community=community,
        back=community_url(community) if community else url_for("communities.personal_space"),
        may_edit=briefs.may_edit(current_user, item),
        may_delete=briefs.may_delete(current_user, item),
    )


@bp.route("/briefs/<int:ident>/images/<int:image_id>")
@login_required
def brief_image(ident, image_id):
    item = _brief_or_404(ident)
    image = next((i for i in item.images if i.id == image_id), None) or abort(404)
    from lms.media.services import send

    return send(image.file, inline=True)


@bp.route("/briefs/<int:ident>/edit", methods=["GET", "POST"])
@login_required
def edit_brief(ident):
    item = _brief_or_404(ident)
    if not briefs.may_edit(current_user, item):
        abort(403)
    community = briefs.community_of(item.context)
    form = BriefForm()
    if request.method == "GET":
        form.title.data, form.body.data = item.title, item.body_html
    if form.validate_on_submit():
        try:
            briefs.update(current_user, item, form.title.data, form.body.data,
                          request.files.getlist(form.images.name),
                          request.form.getlist("remove_image", type=int))  # fmt: skip
        except UploadError as exc:
            from lms.media.services import upload_error_message

            form.images.errors = [*form.images.errors, upload_error_message(exc)]
        except briefs.BriefError as exc:
            form.title.errors = [*form.title.errors, _error(exc)]
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".brief", ident=item.id))
    return render_template("activities/brief_form.html", form=form, community=community, item=item,
                           back=url_for(".brief", ident=item.id))  # fmt: skip


@bp.route("/briefs/<int:ident>/delete", methods=["POST"])
@login_required
def delete_brief(ident):
    item = _brief_or_404(ident)
    if not briefs.may_delete(current_user, item):
        abort(403)
    community = briefs.community_of(item.context)
    briefs.delete(current_user, item)
    flash(_("Brief deleted."), "info")
    return redirect(community_url(community) if community else url_for("communities.personal_space"))


# --- feed and statistics ----------------------------------------------------------------------


@bp.route("/me/feed")
@login_required
def my_feed():
    kind = request.args.get("kind")
    kind = kind if kind in feed.FEED_KINDS else None
    return render_template(
        "activities/feed.html",
        page=feed.entries(current_user, page_arg(request), kind=kind),
        kind=kind,
        kinds=feed.FEED_KINDS,
    )


@bp.route("/workshops/<int:workshop_id>/stats")
@login_required
def workshop_stats(workshop_id):
    ws = db.session.get(Workshop, workshop_id) or abort(404)
    access.require(current_user, "stats.view", ws)
    sort = request.args.get("sort", "name")
    sort = sort if sort in stats.SORTS else "name"
    desc = request.args.get("desc") == "1"
    page, totals = stats.member_stats(ws, sort, desc, page_arg(request), current_app.config["PAGE_SIZE"])
    return render_template("activities/stats.html", workshop=ws, page=page, totals=totals, sort=sort, desc=desc,
                           has_posts=stats.has_activity_counts())  # fmt: skip
