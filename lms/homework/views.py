"""Homework pages: thin handlers over lms.homework.services."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.access.models import Context
from lms.core.i18n import local_to_utc, utc_to_local
from lms.core.uploads import UploadError
from lms.extensions import db
from lms.homework import services
from lms.homework.forms import (
    AssignmentForm,
    GradeForm,
    ReviewForm,
    SubmissionForm,
    rubric_from_form,
)
from lms.homework.models import PHASES, ReviewAllocation, Submission

bp = Blueprint("homework", __name__)


def phase_labels() -> dict:
    return {
        "setup": _("Setting up"),
        "submission": _("Submission"),
        "review": _("Peer review"),
        "grading": _("Grading"),
        "closed": _("Closed"),
    }


ERRORS = {
    "title_required": lambda: _("Please enter a title."),
    "title_too_long": lambda: _("The title is too long (200 characters at most)."),
    "body_too_long": lambda: _("The text is too long."),
    "bad_reviews": lambda: _("The number of reviews must be between 0 and 20."),
    "bad_strategy": lambda: _("Unknown grade strategy."),
    "bad_weight": lambda: _("Weights must be between 0 and 1."),
    "dates_order": lambda: _("The dates must follow each other: opening, deadline, review deadline, closing."),
    "form_invalid": lambda: _("The criteria form is not valid."),
    "form_empty": lambda: _("Add at least one criterion."),
    "form_too_many": lambda: _("Too many criteria."),
    "form_levels": lambda: _("Every rubric criterion needs between one and eight levels."),
    "form_points": lambda: _("Points must be numbers."),
    "form_locked": lambda: _("Reviews were already given: the criteria can no longer change."),
    "anonymity_locked": lambda: _(
        "Reviewers were already allocated under anonymity: reviews cannot become named any more."
    ),
    "closed": lambda: _("Submission is closed for this assignment."),
    "empty": lambda: _("Write something or attach a file."),
    "no_attachments": lambda: _("This assignment does not accept attachments."),
    "too_many_files": lambda: _("At most %(n)s attachments.", n=services.MAX_FILES),
    "review_closed": lambda: _("Reviews are not open now."),
    "bad_scores": lambda: _("Score every criterion with one of its levels."),
    "comment_too_long": lambda: _("The comment is too long."),
    "bad_grade": lambda: _("A grade is between 0 and 10."),
    "not_gradable": lambda: _("Grades can be given once submission has started."),
    "already_closed": lambda: _("The assignment is already closed."),
    "phase_changed": lambda: _("The phase had already changed: check it, then advance again if needed."),
    "not_allocatable": lambda: _("Reviewers can be allocated from the peer review phase until closing."),
    "not_recommended": lambda: _("Only recommended work can be published."),
    "already_published": lambda: _("Published work cannot be withdrawn here."),
    "bad_context": lambda: _("Assignments belong to a workshop or a region."),
}


def message(exc) -> str:
    code = str(exc).split(":", 1)[0]
    return ERRORS.get(code, lambda: _("That did not work."))()


def _assignment(aid: int, capability: str | None = None):
    a = services.get(aid) or abort(404)
    if not services.may_view(current_user, a):
        abort(404)
    if capability and not access.can(current_user, capability, a):
        abort(403)
    return a


def _back(a) -> str:
    if a.workshop_id:
        return url_for("communities.workshop", workshop_id=a.workshop_id)
    return url_for("communities.personal_space")


def _input(form: AssignmentForm, form_json: dict) -> services.AssignmentInput:
    return services.AssignmentInput(
        title=form.title.data or "",
        instructions=form.instructions.data or "",
        attachments_allowed=form.attachments_allowed.data,
        submission_opens_at=local_to_utc(form.submission_opens_at.data),
        submission_due_at=local_to_utc(form.submission_due_at.data),
        review_due_at=local_to_utc(form.review_due_at.data),
        closes_at=local_to_utc(form.closes_at.data),
        accept_late=form.accept_late.data,
        reviews_per_member=form.reviews_per_member.data if form.reviews_per_member.data is not None else 5,
        reviews_per_submission=form.reviews_per_submission.data,
        reviewers_must_submit=form.reviewers_must_submit.data,
        anonymous=form.anonymous.data,
        exclude_own_group=form.exclude_own_group.data,
        grade_strategy=form.grade_strategy.data,
        host_weight=form.host_weight.data if form.host_weight.data is not None else 1.0,
        quality_share=form.quality_share.data if form.quality_share.data is not None else 0.5,
        form=form_json,
    )


def _editor(form, rubric, **kw):
    rows = max(len(rubric.get("criteria", [])) + 2, 4)
    return render_template("homework/assignment_form.html", form=form, rubric=rubric, rows=rows, **kw)


@bp.route("/homework/new/<int:context_id>", methods=["GET", "POST"])
@login_required
def new(context_id):
    ctx = db.session.get(Context, context_id) or abort(404)
    if ctx.kind not in ("workshop", "region"):
        abort(404)
    access.require(current_user, "homework.manage", ctx)
    form = AssignmentForm()
    rubric = services.DEFAULT_FORM
    if request.method == "POST":
        rubric = rubric_from_form(request.form, form.form_kind.data or "rubric")
    if form.validate_on_submit():
        try:
            a = services.create_assignment(current_user, ctx, _input(form, rubric))
        except services.HomeworkError as exc:
            flash(message(exc), "danger")
        else:
            flash(_("Assignment created."), "success")
            return redirect(url_for(".assignment", aid=a.id))
    return _editor(form, rubric, context=ctx, assignment=None)


@bp.route("/homework/<int:aid>/edit", methods=["GET", "POST"])
@login_required
def edit(aid):
    a = _assignment(aid, "homework.manage")
    form = AssignmentForm(obj=None if request.method == "POST" else a)
    if request.method == "GET":
        form.instructions.data = a.instructions_html
        form.form_kind.data = a.form.get("kind", "rubric")
        for name in ("submission_opens_at", "submission_due_at", "review_due_at", "closes_at"):
            getattr(form, name).data = utc_to_local(getattr(a, name))
    rubric = a.form
    if request.method == "POST":
        rubric = rubric_from_form(request.form, form.form_kind.data or "rubric")
    anonymity_error = None
    if form.validate_on_submit():
        try:
            services.update_assignment(current_user, a, _input(form, rubric))
        except services.HomeworkError as exc:
            flash(message(exc), "danger")
            if str(exc) == "anonymity_locked":
                anonymity_error = message(exc)
        else:
            flash(_("Assignment saved."), "success")
            return redirect(url_for(".assignment", aid=a.id))
    return _editor(form, rubric, context=a.context, assignment=a,
                   anonymity_locked=services.anonymity_locked(a), anonymity_error=anonymity_error)  # fmt: skip


@bp.route("/homework/<int:aid>")
@login_required
def assignment(aid):
    a = _assignment(aid)
    services.sync(a)
    services.ensure_allocated_for(current_user, a)
    participant = services.is_participant(current_user, a)
    status = services.status_for(current_user, a) if participant else None
    return render_template(
        "homework/assignment.html",
        a=a,
        status=status,
        participant=participant,
        manage=services.may_manage(current_user, a),
        allocatable=services.allocatable(a),
        grade=services.may_grade(current_user, a),
        phases=PHASES,
        labels=phase_labels(),
        back=_back(a),
        now_open=services.submission_open(a, services.utcnow(), late=status is not None and not status["submission"]),
        review_open=services.review_open(a, services.utcnow()),
        author_label=lambda s: services.author_label(current_user, s),
        reviewer_label=lambda al, i=None: services.reviewer_label(current_user, al, i),
        form=services.build_form(a.form),
    )


@bp.route("/homework/<int:aid>/advance", methods=["POST"])
@login_required
def advance(aid):
    a = _assignment(aid, "homework.manage")
    _check_csrf()
    try:
        phase = services.advance(current_user, a, expected=request.form.get("phase") or None)
    except services.HomeworkError as exc:
        flash(message(exc), "danger")
    else:
        flash(_("Phase: %(phase)s.", phase=phase_labels()[phase]), "success")
    return redirect(url_for(".assignment", aid=a.id))


@bp.route("/homework/<int:aid>/allocate", methods=["POST"])
@login_required
def allocate(aid):
    a = _assignment(aid, "homework.manage")
    _check_csrf()
    try:
        n = services.allocate_by_hand(current_user, a)
    except services.HomeworkError as exc:
        flash(message(exc), "danger")
    else:
        flash(_("%(n)s reviews allocated.", n=n), "success")
    return redirect(url_for(".assignment", aid=a.id))


def _check_csrf():
    from flask_wtf import FlaskForm

    if not FlaskForm().validate_on_submit():
        abort(400)


@bp.route("/homework/<int:aid>/submit", methods=["GET", "POST"])
@login_required
def submit(aid):
    a = _assignment(aid)
    services.sync(a)
    if not services.is_participant(current_user, a):
        abort(403)
    s = services.submission_of(a, current_user)
    form = SubmissionForm(obj=None)
    if request.method == "GET" and s is not None:
        form.title.data, form.body.data = s.title, s.body_html
    if form.validate_on_submit():
        remove = [int(x) for x in request.form.getlist("remove_file") if x.isdigit()]
        try:
            services.submit(current_user, a, form.title.data, form.body.data, request.files.getlist(form.files.name),
                            remove)  # fmt: skip
        except services.HomeworkError as exc:
            flash(message(exc), "danger")
        except UploadError as exc:
            from lms.media.services import upload_error_message

            db.session.rollback()
            flash(upload_error_message(exc), "danger")
        else:
            flash(_("Your homework was saved."), "success")
            return redirect(url_for(".assignment", aid=a.id))
    is_open = services.submission_open(a, services.utcnow(), late=s is None)
    return render_template("homework/submit.html", a=a, s=s, form=form, is_open=is_open, labels=phase_labels())


@bp.route("/homework/submissions/<int:sid>/files/<int:fid>")
@login_required
def file(sid, fid):
    from lms.media.services import send

    s = db.session.get(Submission, sid) or abort(404)
    if not services.may_view_submission(current_user, s):
        abort(404)
    stored = services.file_of(s, fid) or abort(404)
    if (
        s.assignment.anonymous
        and not services.sees_names(current_user, s.assignment)
        and s.author_id != current_user.id
    ):
        # The stored name could carry the author's name: an anonymous reviewer gets a neutral one.
        ext = stored.filename.rpartition(".")[2] if "." in stored.filename else "bin"
        resp = send(stored, inline=False)
        from werkzeug.http import dump_options_header

        resp.headers["Content-Disposition"] = dump_options_header("attachment", {"filename": f"homework-{fid}.{ext}"})
        return resp
    return send(stored)


@bp.route("/homework/submissions/<int:sid>")
@login_required
def submission(sid):
    s = db.session.get(Submission, sid) or abort(404)
    if not services.may_view_submission(current_user, s):
        abort(404)
    a = s.assignment
    grade = services.may_grade(current_user, a)
    released = grade or services.reviews_released(a)
    return render_template(
        "homework/submission.html",
        a=a,
        s=s,
        released=released,
        received=services.received_reviews(s) if released else [],
        form=services.build_form(a.form),
        author=services.author_label(current_user, s),
        reviewer_label=lambda al, i=None: services.reviewer_label(current_user, al, i),
        grade=grade,
        publish=services.may_publish(current_user, a),
        names=services.sees_names(current_user, a),
    )


@bp.route("/homework/reviews/<int:alloc_id>", methods=["GET", "POST"])
@login_required
def review(alloc_id):
    al = db.session.get(ReviewAllocation, alloc_id) or abort(404)
    if al.reviewer_id != current_user.id:
        abort(404)
    s = al.submission
    a = s.assignment
    services.sync(a)
    if not services.may_view_submission(current_user, s):
        abort(404)  # an allocation made before the review phase (older data) shows nothing yet
    form = ReviewForm()
    if request.method == "GET" and al.review is not None:
        form.comment.data = al.review.comment
    scores = dict(al.review.scores) if al.review is not None else {}
    if form.validate_on_submit():
        scores = {k[6:]: v for k, v in request.form.items() if k.startswith("score:")}
        try:
            services.save_review(current_user, al, scores, form.comment.data)
        except services.HomeworkError as exc:
            flash(message(exc), "danger")
        else:
            flash(_("Your review was saved."), "success")
            return redirect(url_for(".assignment", aid=a.id))
    return render_template(
        "homework/review.html",
        a=a,
        s=s,
        al=al,
        form=form,
        rubric=a.form,
        scores=scores,
        is_open=services.review_open(a, services.utcnow()),
        author=services.author_label(current_user, s),
    )


@bp.route("/homework/<int:aid>/results")
@login_required
def results(aid):
    a = _assignment(aid, "homework.grade")
    services.sync(a)
    show = request.args.get("show", "all")
    show = show if show in services.RESULT_FILTERS else "all"
    sort = request.args.get("sort", "name")
    sort = sort if sort in services.RESULT_SORTS else "name"
    desc = request.args.get("desc") == "1"
    everyone = services.results(a)
    return render_template(
        "homework/results.html",
        a=a,
        everyone=everyone,
        rows=services.filter_results(everyone, show, sort, desc),
        show=show,
        sort=sort,
        desc=desc,
        labels=phase_labels(),
        publish=services.may_publish(current_user, a),
        form=GradeForm(),
    )


@bp.route("/homework/submissions/<int:sid>/grade", methods=["POST"])
@login_required
def grade(sid):
    s = db.session.get(Submission, sid) or abort(404)
    a = _assignment(s.assignment_id, "homework.grade")
    form = GradeForm()
    if not form.validate_on_submit():
        flash(_("A grade is between 0 and 10."), "danger")
    else:
        try:
            services.set_host_grade(current_user, s, form.grade.data, form.override.data, form.comment.data or "")
        except services.HomeworkError as exc:
            flash(message(exc), "danger")
        else:
            flash(_("Grade saved."), "success")
    return redirect(request.form.get("next") == "submission" and url_for(".submission", sid=s.id)
                    or url_for(".results", aid=a.id) + f"#s{s.id}")  # fmt: skip


@bp.route("/homework/submissions/<int:sid>/recommend", methods=["POST"])
@login_required
def recommend(sid):
    s = db.session.get(Submission, sid) or abort(404)
    a = _assignment(s.assignment_id, "homework.grade")
    _check_csrf()
    try:
        if request.form.get("undo"):
            services.unrecommend(current_user, s)
            flash(_("Recommendation withdrawn."), "info")
        else:
            services.recommend(current_user, s)
            flash(_("Recommended to the subject experts."), "success")
    except services.HomeworkError as exc:
        flash(message(exc), "danger")
    return redirect(url_for(".results", aid=a.id) + f"#s{s.id}")


@bp.route("/homework/submissions/<int:sid>/publish", methods=["POST"])
@login_required
def publish(sid):
    s = db.session.get(Submission, sid) or abort(404)
    a = _assignment(s.assignment_id, "homework.publish")
    if not services.may_publish(current_user, a):
        abort(403)  # an expert of another subject
    _check_csrf()
    try:
        services.publish(current_user, s)
    except services.HomeworkError as exc:
        flash(message(exc), "danger")
    else:
        flash(_("Published as excellent work."), "success")
    if request.form.get("next") == "excellent":
        return redirect(url_for(".excellent", _anchor=f"s{s.id}"))
    return redirect(url_for(".submission", sid=s.id))


@bp.route("/homework/excellent")
@login_required
def excellent():
    items = services.recommended(current_user)
    if not items and not access.holds_anywhere(current_user, "homework.publish"):
        abort(404)
    return render_template(
        "homework/excellent.html",
        waiting=[s for s in items if s.published_at is None],
        published=[s for s in items if s.published_at is not None],
        author_label=lambda s: services.author_label(current_user, s),
    )


@bp.route("/homework/<int:aid>/export.xlsx")
@login_required
def export(aid):
    a = _assignment(aid, "homework.grade")
    data = services.export_xlsx(current_user, a)
    from werkzeug.http import dump_options_header

    from lms.core.uploads import XLSX_MIME

    return Response(
        data,
        mimetype=XLSX_MIME,
        headers={"Content-Disposition": dump_options_header("attachment", {"filename": f"homework-{a.id}.xlsx"})},
    )


@bp.route("/workshops/<int:workshop_id>/homework")
@login_required
def workshop_list(workshop_id):
    from lms.communities.models import Workshop

    ws = db.session.get(Workshop, workshop_id) or abort(404)
    access.require(current_user, "community.view", ws)
    items = [a for a in services.for_context(ws.context) if services.may_view(current_user, a)]
    return render_template("homework/list.html", workshop=ws, items=items, labels=phase_labels(),
                           may_create=access.can(current_user, "homework.manage", ws))  # fmt: skip
