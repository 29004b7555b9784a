"""HTML pages of workshop activities and discussion (routes on the activities blueprint)."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.activities import workshop_services as svc
from lms.activities.forms import ActivityForm, MarkForm, OfflineForm, PostForm, ReplyForm, ResourceForm
from lms.activities.kinds import all_kinds
from lms.activities.models import Activity, OfflineRecord, Post, SharedResource
from lms.activities.views import bp
from lms.communities.models import Workshop
from lms.core.db import utcnow
from lms.core.i18n import local_to_utc, utc_to_local
from lms.core.pagination import page_arg
from lms.core.uploads import UploadError
from lms.extensions import db


def error_message(code: str) -> str:
    messages = {
        "not_open_yet": _("This activity has not opened yet."),
        "closed": _("This activity is closed: posting, uploading and deleting are no longer possible."),
        "title_required": _("Please enter a title."),
        "title_too_long": _("The title is too long (200 characters at most)."),
        "body_too_long": _("The text is too long."),
        "body_required": _("Please write something (or attach a file)."),
        "bad_kind": _("Unknown activity kind."),
        "opens_required": _("Please give the opening time."),
        "window_order": _("The closing time must come after the opening time."),
        "questions_required": _("A questionnaire needs at least one question."),
        "question_empty": _("A question has no text."),
        "question_options": _("A choice question needs at least two options, one per line."),
        "question_too_many_options": _("A question has too many options (20 at most)."),
        "too_many_questions": _("Too many questions (50 at most)."),
        "questions_locked": _("Members have already answered: the questions can no longer change."),
        "too_many_files": _("Too many files (5 at most)."),
        "bad_parent": _("That post cannot be answered."),
        "no_posts": _("This activity has no discussion."),
        "no_resources": _("This activity does not collect resources."),
        "no_offline": _("This is not an offline activity."),
        "no_questionnaire": _("This activity has no questionnaire."),
        "form_required": _("Please upload the photo or scan of the stamped result form."),
        "already_marked": _("Your result form has been marked and can no longer change."),
        "marked_resources": _("The host has marked your offline practice: its resources can no longer be deleted."),
        "already_answered": _("You have already answered this questionnaire."),
        "answer_required": _("Please answer every choice question."),
        "bad_answer": _("An answer is not valid."),
        "bad_score": _("The score must be between 0 and 100."),
        "comment_too_long": _("The comment is too long (2000 characters at most)."),
        "bad_action": _("Unknown action."),
        "pin_reply": _("Only posts, not replies, can be pinned."),
        "thread_has_replies": _("Others have replied to this post: only deleting the whole thread removes it."),
    }
    return messages.get(code, _("The action failed."))


def effective_rule_text() -> str:
    return _(
        "An effective post has at least %(n)s characters of text (letters, digits or Chinese characters; "
        "spaces, punctuation and formatting do not count), is not hidden, and is not a copy or near-copy of an "
        "earlier post of yours in the same activity: two posts are near-copies when %(pct)s%% or more of their "
        "two-character sequences are the same (long posts are compared on their first %(chars)s characters). "
        "Replies count too.",
        n=svc.EFFECTIVE_MIN_CHARS,
        pct=round(svc.EFFECTIVE_SIMILARITY * 100),
        chars=svc.COMPARE_CHARS,
    )


def _workshop(workshop_id: int) -> Workshop:
    ws = db.session.get(Workshop, workshop_id) or abort(404)
    access.require(current_user, "community.view", ws)
    return ws


def _activity(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id) or abort(404)
    access.require(current_user, "community.view", activity)
    return activity


def _post(post_id: int) -> Post:
    post = db.session.get(Post, post_id) or abort(404)
    access.require(current_user, "community.view", post.activity)
    if post.hidden and not svc.may_moderate(current_user, post.activity):
        abort(404)
    return post


def _back(activity: Activity, anchor: str = ""):
    return redirect(url_for("activities.activity", activity_id=activity.id) + anchor)


def _flash_error(exc: Exception) -> None:
    if isinstance(exc, UploadError):
        from lms.media.services import upload_error_message

        flash(upload_error_message(exc), "danger")
    else:
        flash(error_message(str(exc)), "danger")


# --- activities --------------------------------------------------------------------------------


@bp.route("/workshops/<int:workshop_id>/activities")
@login_required
def workshop_activities(workshop_id):
    ws = _workshop(workshop_id)
    items = svc.activities_of(ws)
    svc.announce_opened([a for a in items if a.notified_at is None])
    return render_template("activities/list.html", workshop=ws, activities=items, now=utcnow(),
                           may_manage=svc.may_manage(current_user, ws))  # fmt: skip


def _kind_choices():
    return [(k.name, str(k.label)) for k in all_kinds()]


@bp.route("/workshops/<int:workshop_id>/activities/new", methods=["GET", "POST"])
@login_required
def new_activity(workshop_id):
    ws = _workshop(workshop_id)
    access.require(current_user, "activity.manage", ws)
    form = ActivityForm()
    form.kind.choices = _kind_choices()
    if request.method == "GET":
        start = utc_to_local(utcnow()).replace(second=0, microsecond=0)
        form.opens_at.data = start
        form.closes_at.data = start + timedelta(days=14)
        if request.args.get("kind") in dict(form.kind.choices):
            form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            activity = svc.create_activity(
                current_user, ws, kind=form.kind.data, title=form.title.data, description=form.description.data,
                opens_at=local_to_utc(form.opens_at.data), closes_at=local_to_utc(form.closes_at.data),
                questions=form.questions.data or "",
            )  # fmt: skip
        except svc.ActivityError as exc:
            form.title.errors = [*form.title.errors, error_message(str(exc))]
        else:
            flash(_("Activity created."), "success")
            return redirect(url_for("activities.activity", activity_id=activity.id))
    return render_template("activities/activity_form.html", form=form, workshop=ws, activity=None,
                           kinds=all_kinds(), show_questions=True)  # fmt: skip


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def edit_activity(activity_id):
    activity = _activity(activity_id)
    access.require(current_user, "activity.manage", activity)
    form = ActivityForm()
    form.kind.choices = _kind_choices() + [(activity.kind, activity.kind)]
    if request.method == "GET":
        form.kind.data = activity.kind
        form.title.data = activity.title
        form.description.data = activity.description_html
        form.opens_at.data = utc_to_local(activity.opens_at)
        form.closes_at.data = utc_to_local(activity.closes_at)
        form.questions.data = svc.questions_as_text(activity)
    if form.validate_on_submit():
        try:
            svc.update_activity(
                current_user, activity, title=form.title.data, description=form.description.data,
                opens_at=local_to_utc(form.opens_at.data), closes_at=local_to_utc(form.closes_at.data),
                questions=form.questions.data if svc.kind_of(activity).questionnaire else None,
            )  # fmt: skip
        except svc.ActivityError as exc:
            form.title.errors = [*form.title.errors, error_message(str(exc))]
        else:
            flash(_("Activity saved."), "success")
            return _back(activity)
    return render_template("activities/activity_form.html", form=form, workshop=activity.workshop,
                           activity=activity, kinds=all_kinds(),
                           show_questions=svc.kind_of(activity).questionnaire)  # fmt: skip


@bp.route("/activities/<int:activity_id>/delete", methods=["POST"])
@login_required
def delete_activity(activity_id):
    activity = _activity(activity_id)
    access.require(current_user, "activity.manage", activity)
    ws = activity.workshop
    svc.delete_activity(current_user, activity)
    flash(_("Activity deleted."), "info")
    return redirect(url_for("activities.workshop_activities", workshop_id=ws.id))


@bp.route("/activities/<int:activity_id>")
@login_required
def activity(activity_id):
    return _activity_page(_activity(activity_id))


def _activity_page(activity: Activity, status: int = 200, **extra):
    """The activity page; after a refused post, reply or questionnaire, `extra` carries what the user
    sent and why it was refused, so the page shows it again instead of losing it."""
    kind = svc.kind_of(activity)
    user = current_user._get_current_object()
    data = {
        "activity": activity,
        "workshop": activity.workshop,
        "kind": kind,
        "now": utcnow(),
        "phase": activity.phase(utcnow()),
        "may_manage": svc.may_manage(user, activity),
        "may_participate": svc.may_participate(user, activity),
        "may_moderate": svc.may_moderate(user, activity),
        "effective_rule": effective_rule_text(),
        "my_stat": svc.my_stat(activity, user),
        "post_draft": None,
        "reply_draft": None,
        "answer_draft": None,
    }
    if kind.posts:
        featured = request.args.get("featured") == "1"
        data["thread"] = svc.thread_page(activity, user, page_arg(request), featured=featured)
        data["featured_only"] = featured
        data["post_form"] = PostForm()
        data["reply_form"] = ReplyForm()
    if kind.resources or kind.offline:
        data["resources"] = svc.resources_of(activity)
        data["resource_form"] = ResourceForm()
    if kind.offline:
        data["offline_form"] = OfflineForm()
        data["my_record"] = svc.my_offline_record(activity, user)
        if data["may_manage"]:
            data["records"] = svc.offline_records(activity)
            data["mark_form"] = MarkForm()
    if kind.questionnaire:
        data["questions"] = svc.questions_of(activity)
        data["answered"] = svc.has_answered(activity, user)
        data["may_see_results"] = svc.may_see_results(user, activity)
    data.update(kind.hook("context", activity, user, default={}) or {})
    data.update(extra)
    return render_template("activities/activity.html", **data), status


def _refusal(exc: Exception) -> str:
    if isinstance(exc, UploadError):
        from lms.media.services import upload_error_message

        return upload_error_message(exc)
    return error_message(str(exc))


def _form_refusal(form) -> str:
    """Why a post or reply form did not validate (an expired CSRF token never gets here: CSRFProtect
    answers 400 before any view, and reflecting what a cross-site form sent would be unsafe)."""
    if len(form.body.data or "") > svc.BODY_MAX:
        return error_message("body_too_long")
    return error_message("body_required")


@bp.route("/activities/<int:activity_id>/stats")
@login_required
def activity_stats(activity_id):
    activity = _activity(activity_id)
    access.require(current_user, "activity.manage", activity)
    return render_template("activities/activity_stats.html", activity=activity, workshop=activity.workshop,
                           rows=svc.activity_stats(activity), effective_rule=effective_rule_text())  # fmt: skip


# --- posts -------------------------------------------------------------------------------------


@bp.route("/activities/<int:activity_id>/posts", methods=["POST"])
@login_required
def new_post(activity_id):
    activity = _activity(activity_id)
    access.require(current_user, "activity.participate", activity)
    form = PostForm()
    files = request.files.getlist("files")
    if not form.validate_on_submit():
        message = _form_refusal(form)
    else:
        try:
            post = svc.create_post(current_user, activity, form.body.data, files=files)
        except (svc.ActivityError, UploadError) as exc:
            message = _refusal(exc)
        else:
            flash(_("Posted."), "success")
            return _back(activity, f"#post-{post.id}")
    draft = {"body": svc.draft_html(form.body.data), "error": message,
             "files_lost": any(getattr(f, "filename", "") for f in files)}  # fmt: skip
    return _activity_page(activity, 422, post_draft=draft)


@bp.route("/posts/<int:post_id>/reply", methods=["POST"])
@login_required
def reply(post_id):
    parent = _post(post_id)
    activity = parent.activity
    access.require(current_user, "activity.participate", activity)
    form = ReplyForm()
    files = request.files.getlist("files")
    if not form.validate_on_submit():
        message = _form_refusal(form)
    else:
        try:
            post = svc.create_post(current_user, activity, form.body.data, files=files, parent=parent)
        except (svc.ActivityError, UploadError) as exc:
            message = _refusal(exc)
        else:
            return _back(activity, f"#post-{post.id}")
    draft = {"parent": parent, "body": svc.draft_html(form.body.data), "error": message,
             "files_lost": any(getattr(f, "filename", "") for f in files)}  # fmt: skip
    return _activity_page(activity, 422, reply_draft=draft)


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id):
    post = _post(post_id)
    if not svc.may_edit_post(current_user, post):
        abort(403)
    form = ReplyForm()
    if request.method == "GET":
        form.body.data = post.body_html
    if form.validate_on_submit():
        try:
            svc.edit_post(current_user, post, form.body.data)
        except svc.ActivityError as exc:
            form.body.errors = [*form.body.errors, error_message(str(exc))]
        else:
            return _back(post.activity, f"#post-{post.id}")
    return render_template("activities/post_edit.html", form=form, post=post, activity=post.activity)


@bp.route("/posts/<int:post_id>/delete", methods=["POST"])
@login_required
def delete_post(post_id):
    post = _post(post_id)
    if not svc.may_delete_post(current_user, post):
        abort(403)
    whole_thread = request.form.get("whole_thread") == "1"
    if whole_thread:
        access.require(current_user, "post.moderate", post.activity)
    activity, anchor = post.activity, f"#post-{post.id}"
    try:
        done = svc.delete_post(current_user, post, whole_thread=whole_thread)
    except svc.ActivityError as exc:
        _flash_error(exc)
        return _back(activity, anchor)
    if done == "blanked":
        flash(_("Your post was deleted. Others had replied: their replies stay, under a note that you deleted "
                "your post."), "info")  # fmt: skip
        return _back(activity, anchor)
    flash(_("Post deleted."), "info")
    return _back(activity)


@bp.route("/posts/<int:post_id>/like", methods=["POST"])
@login_required
def like(post_id):
    post = _post(post_id)
    access.require(current_user, "activity.participate", post.activity)
    try:
        if request.form.get("undo"):
            svc.unlike(current_user, post)
        else:
            svc.like(current_user, post)
    except svc.ActivityError as exc:
        _flash_error(exc)
    return _back(post.activity, f"#post-{post.id}")


@bp.route("/posts/<int:post_id>/moderate", methods=["POST"])
@login_required
def moderate(post_id):
    post = _post(post_id)
    access.require(current_user, "post.moderate", post.activity)
    try:
        svc.moderate(current_user, post, request.form.get("action", ""))
    except svc.ActivityError as exc:
        _flash_error(exc)
    return _back(post.activity, f"#post-{post.id}")


@bp.route("/activities/files/<int:file_id>")
@login_required
def activity_file(file_id):
    """A post attachment, shared resource or result form, to those who may read its activity
    (result forms: their uploader and the activity's managers only)."""
    from lms.media.models import StoredFile
    from lms.media.services import send

    stored = db.session.get(StoredFile, file_id) or abort(404)
    activity = svc.activity_of_file(stored)
    if activity is None:
        abort(404)
    access.require(current_user, "community.view", activity)
    if stored.purpose == "result_form" and stored.owner_id != current_user.id:
        access.require(current_user, "activity.manage", activity)
    if stored.purpose == "post" and svc.file_post_hidden(stored) and not svc.may_moderate(current_user, activity):
        abort(404)
    return send(stored, inline=request.args.get("download") != "1")


# --- resources, offline, questionnaire ----------------------------------------------------------------


@bp.route("/activities/<int:activity_id>/resources", methods=["POST"])
@login_required
def share_resource(activity_id):
    activity = _activity(activity_id)
    access.require(current_user, "activity.participate", activity)
    form = ResourceForm()
    if form.validate_on_submit():
        try:
            svc.share_resource(current_user, activity, request.files.get("file"), form.title.data,
                               form.description.data)  # fmt: skip
        except (svc.ActivityError, UploadError) as exc:
            _flash_error(exc)
        else:
            flash(_("Resource shared."), "success")
    return _back(activity, "#resources")


@bp.route("/activities/resources/<int:resource_id>/delete", methods=["POST"])
@login_required
def delete_resource(resource_id):
    res = db.session.get(SharedResource, resource_id) or abort(404)
    activity = _activity(res.activity_id)
    if not svc.may_delete_resource(current_user, res):
        abort(403)
    try:
        svc.delete_resource(current_user, res)
    except svc.ActivityError as exc:
        _flash_error(exc)
    else:
        flash(_("Resource deleted."), "info")
    return _back(activity, "#resources")


@bp.route("/activities/<int:activity_id>/offline", methods=["POST"])
@login_required
def submit_offline(activity_id):
    activity = _activity(activity_id)
    access.require(current_user, "activity.participate", activity)
    form = OfflineForm()
    if form.validate_on_submit():
        try:
            svc.submit_offline(current_user, activity, request.files.get("form_file"),
                               request.files.getlist("resources"), form.note.data or "")  # fmt: skip
        except (svc.ActivityError, UploadError) as exc:
            _flash_error(exc)
        else:
            flash(_("Uploaded. The host will mark your result form."), "success")
    return _back(activity, "#offline")


@bp.route("/activities/offline/<int:record_id>/mark", methods=["POST"])
@login_required
def mark_offline(record_id):
    record = db.session.get(OfflineRecord, record_id) or abort(404)
    activity = _activity(record.activity_id)
    access.require(current_user, "activity.manage", activity)
    form = MarkForm()
    # A form without the comment field (an older page, a script) leaves the stored comment alone.
    comment = form.comment.data if "comment" in request.form else None
    if form.validate_on_submit():
        try:
            svc.mark_offline(current_user, record, score=form.score.data, passed=form.passed.data == "1",
                             comment=comment)  # fmt: skip
        except svc.ActivityError as exc:
            _flash_error(exc)
        else:
            flash(_("Marked."), "success")
    elif form.comment.errors:
        flash(error_message("comment_too_long"), "danger")
    else:
        flash(_("The score must be between 0 and 100."), "danger")
    return _back(activity, f"#record-{record.id}")


@bp.route("/activities/<int:activity_id>/answer", methods=["POST"])
@login_required
def answer(activity_id):
    from flask import current_app
    from flask_wtf.csrf import validate_csrf
    from wtforms.validators import ValidationError

    activity = _activity(activity_id)
    access.require(current_user, "activity.participate", activity)
    try:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        abort(400)
    answers = {}
    for q in svc.questions_of(activity):
        key = f"q{q.id}"
        answers[q.id] = request.form.get(key, "") if q.kind == "text" else request.form.getlist(key)
    try:
        svc.answer(current_user, activity, answers)
    except svc.ActivityError as exc:
        missing = list(getattr(exc, "questions", []) or [])
        if missing:
            message = _("Please answer question %(numbers)s: your other answers are kept below.",
                        numbers=", ".join(str(n) for n in missing))  # fmt: skip
        else:
            message = error_message(str(exc))
        draft = {"answers": answers, "error": message, "missing": missing}
        return _activity_page(activity, 422, answer_draft=draft)
    flash(_("Thank you: your answers were recorded."), "success")
    return redirect(url_for("activities.results", activity_id=activity.id))


@bp.route("/activities/<int:activity_id>/results")
@login_required
def results(activity_id):
    activity = _activity(activity_id)
    if not svc.may_see_results(current_user, activity):
        abort(403)
    manager = svc.may_manage(current_user, activity)
    return render_template("activities/results.html", activity=activity, workshop=activity.workshop,
                           results=svc.results(activity, with_texts=manager), manager=manager)  # fmt: skip
