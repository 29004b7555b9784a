import re

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from lms import access
from lms.access.models import Context
from lms.core.pagination import page_arg
from lms.core.uploads import UploadError
from lms.courses import services
from lms.courses.forms import AssignForm, CourseForm, EmptyForm, LessonForm, QuestionForm
from lms.courses.models import Course, CourseAssignment, Lesson, QuizQuestion
from lms.courses.watch import COMPLETION_SHARE
from lms.extensions import db

bp = Blueprint("courses", __name__, url_prefix="/courses")

ERRORS = {
    "title_required": lambda: _("Please enter a title."),
    "title_too_long": lambda: _("The title is too long (200 characters at most)."),
    "bad_hours": lambda: _("Study hours must be between 0.1 and 200."),
    "bad_stage": lambda: _("Unknown stage."),
    "bad_subject": lambda: _("Unknown subject."),
    "bad_kind": lambda: _("Unknown kind."),
    "bad_prompt": lambda: _("Please enter the question (500 characters at most)."),
    "bad_options": lambda: _("Give between 2 and 8 options, one per line."),
    "bad_answer": lambda: _("The correct options must be option numbers; a single-choice question has exactly one."),
    "no_quiz": lambda: _("This lesson has no quiz."),
    "unanswered": lambda: _("Please answer every question before submitting. Nothing was saved."),
    "quiz_closed": lambda: _("This quiz is finished for you: you passed it or used all your attempts."),
    "not_available": lambda: _("This course is not available to you."),
    "bad_context": lambda: _("Courses can be assigned to a workshop or a region only."),
    "audience_cannot_see": lambda: _(
        "The members there cannot see this course: it is offered in another workshop or region. "
        "A course can be assigned only where it is offered, or to the workshops and regions within it."
    ),
    "set_above": lambda: _(
        "This assignment was made by the region (or an expert above this workshop); only they can change or "
        "withdraw it."
    ),
    "forbidden": lambda: _("You do not have permission to do this."),
    "not_video": lambda: _("Videos can be uploaded to video lessons only."),
    "not_failed": lambda: _("There is no failed transcoding to retry."),
    "no_attempts_left": lambda: _(
        "This video has been tried %(n)s times. Upload it again, or another file.", n=_max_attempts()
    ),
    "not_retryable": lambda: _(
        "Converting this file again would fail the same way. Upload the video again, or another file."
    ),
}


def _max_attempts() -> int:
    from lms.media.tasks import MAX_ATTEMPTS

    return MAX_ATTEMPTS


def _msg(err) -> str:
    if isinstance(err, services.QuizWait):
        return _("Please wait %(n)s seconds before your next attempt.", n=err.seconds)
    return ERRORS.get(str(err), lambda: _("The request could not be completed."))()


def _course_or_404(course_id: int, lessons: bool = False) -> Course:
    course = services.get_visible(current_user, course_id, lessons=lessons)
    if course is None:
        abort(404)
    return course


def _managed_course(course_id: int) -> Course:
    course = _course_or_404(course_id)
    if not services.may_manage(current_user, course):
        abort(403)
    return course


def _lesson(lesson_id: int, manage: bool = False) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id) or abort(404)
    if not services.may_view(current_user, lesson.course):
        abort(404)
    if manage and not services.may_manage(current_user, lesson.course):
        abort(403)
    return lesson


def _context_label(ctx: Context) -> str:
    return {"site": _("Whole site")}.get(ctx.kind, ctx.name)


def _assign_form(course: Course) -> AssignForm | None:
    """The form to assign this course, with the places the user may assign it to (None: nowhere)."""
    contexts = services.assignable_contexts(current_user, course)
    if not contexts:
        return None
    form = AssignForm()
    form.context.choices = [SelectChoice(x.id, _context_label(x)) for x in contexts]
    return form


def _assign_panel(course: Course, may_manage: bool) -> dict:
    """What templates/courses/_assign.html needs: assignments (all of them for a manager, those in
    their reach for a host), which ones the user may remove, and the form."""
    rows = services.assignments_of(course) if may_manage else services.assignments_of(course, current_user)
    return {"assignments": rows, "assign_form": _assign_form(course),
            "removable": {a.id for a in rows if services.may_unassign(current_user, a)},
            "offered_in": _context_label(course.context)}  # fmt: skip


# --- the supermarket ----------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    f = {k: request.args.get(k, "").strip() for k in ("q", "stage", "subject", "kind", "need")}
    page = services.catalogue(current_user, q=f["q"], stage=f["stage"] or None, subject=f["subject"] or None,
                              kind=f["kind"] or None, need=f["need"] or None, page=page_arg(request),
                              per_page=services.per_page())  # fmt: skip
    req, sel = services.required_ids(current_user), services.selected_ids(current_user)
    return render_template("courses/index.html", page=page, f=f, required=req, selected=sel, form=EmptyForm(),
                           may_create=access.holds_anywhere(current_user, "course.manage"))  # fmt: skip


@bp.get("/<int:course_id>")
@login_required
def course(course_id):
    c = _course_or_404(course_id, lessons=True)
    may_manage = services.may_manage(current_user, c)
    status = services.status_for(current_user, c)
    # Managers assign on the edit page; a host (course.assign without course.manage) does it here.
    panel = _assign_panel(c, False) if not may_manage and access.holds_anywhere(current_user, "course.assign") else {}
    if panel and not panel["assign_form"] and not panel["assignments"]:
        panel = {}
    return render_template("courses/course.html", course=c, status=status, may_manage=may_manage, form=EmptyForm(),
                           completion_pct=round(100 * COMPLETION_SHARE), assign=panel,
                           required_by=[_context_label(x) for x in services.required_by(current_user, c)]
                           if status == "required" else [])  # fmt: skip


@bp.post("/<int:course_id>/select")
@login_required
def select(course_id):
    c = _course_or_404(course_id)
    if EmptyForm().validate_on_submit():
        try:
            if services.select_course(current_user, c):
                flash(_("Course selected. It is now in your courses."), "success")
        except services.CourseError as err:
            flash(_msg(err), "danger")
    return redirect(request.form.get("next") if _safe_next() else url_for("courses.course", course_id=c.id))


@bp.post("/<int:course_id>/unselect")
@login_required
def unselect(course_id):
    c = _course_or_404(course_id)
    if EmptyForm().validate_on_submit() and services.unselect_course(current_user, c):
        flash(_("Course removed from your electives."), "info")
    return redirect(request.form.get("next") if _safe_next() else url_for("courses.course", course_id=c.id))


def _safe_next() -> bool:
    nxt = request.form.get("next") or ""
    return nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt


@bp.get("/lessons/<int:lesson_id>")
@login_required
def lesson(lesson_id):
    ls = _lesson(lesson_id)
    services.open_lesson(current_user, ls)
    return _lesson_page(ls)


def _lesson_page(ls: Lesson, chosen: dict | None = None, error: str | None = None, status: int = 200):
    """The lesson page; after a refused quiz submission, with the teacher's choices kept and the reason."""
    lessons = ls.course.lessons
    i = lessons.index(ls)
    quiz = services.quiz_state(current_user, ls) if ls.questions else None
    return render_template("courses/lesson.html", lesson=ls, course=ls.course,
                           prev=lessons[i - 1] if i > 0 else None,
                           next=lessons[i + 1] if i + 1 < len(lessons) else None,
                           quiz=quiz, chosen=chosen or {}, quiz_error=error, form=EmptyForm(),
                           may_manage=services.may_manage(current_user, ls.course)), status  # fmt: skip


@bp.post("/lessons/<int:lesson_id>/quiz")
@login_required
def quiz(lesson_id):
    ls = _lesson(lesson_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    answers = {q.id: request.form.getlist(f"q{q.id}") for q in ls.questions}
    try:
        attempt = services.submit_quiz(current_user, ls, answers)
    except services.CourseError as err:
        if str(err) == "quiz_closed":
            flash(_msg(err), "warning")
        else:  # keep what the teacher ticked: a refused attempt is not a lost one
            chosen = {str(k): [int(x) for x in v if x.isdigit()] for k, v in answers.items()}
            return _lesson_page(ls, chosen, _msg(err), 429 if isinstance(err, services.QuizWait) else 400)
    else:
        flash(_("Your score: %(score)s (%(correct)s of %(total)s correct).", score=f"{attempt.score:g}",
                correct=attempt.correct, total=attempt.total),
              "success" if attempt.score >= services.quiz_rules()["pass_score"] else "info")  # fmt: skip
    return redirect(url_for("courses.lesson", lesson_id=ls.id) + "#quiz")


@bp.get("/lessons/<int:lesson_id>/document")
@login_required
def document(lesson_id):
    from lms.media import services as media

    ls = _lesson(lesson_id)
    if ls.media_file is None or ls.kind != "document":
        abort(404)
    return media.send(ls.media_file, inline=True)


# --- management ---------------------------------------------------------------------------------


def _course_form(form: CourseForm, contexts: list[Context] | None) -> None:
    if contexts is not None:
        form.context.choices = [SelectChoice(c.id, _context_label(c)) for c in contexts]


def _form_data(form: CourseForm) -> dict:
    return {"title": form.title.data, "description": form.description.data, "stage": form.stage.data,
            "subject": form.subject.data, "kind": form.kind.data, "hours": form.hours.data,
            "published": form.published.data}  # fmt: skip


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    contexts = services.manage_contexts(current_user)
    if not contexts:
        abort(403)
    form = CourseForm()
    _course_form(form, contexts)
    if form.validate_on_submit():
        ctx = next((c for c in contexts if c.id == form.context.data), None)
        if ctx is None:
            form.context.errors = [_("Choose where the course is offered.")]
        else:
            try:
                c = services.create_course(current_user, ctx, _form_data(form))
            except services.CourseError as err:
                form.title.errors = [*form.title.errors, _msg(err)]
            else:
                flash(_("Course created. Now add its lessons."), "success")
                return redirect(url_for("courses.edit", course_id=c.id))
    return render_template("courses/course_form.html", form=form, course=None)


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@login_required
def edit(course_id):
    c = _managed_course(course_id)
    form = CourseForm(obj=None if request.method == "POST" else c)
    del form.context
    if request.method == "GET":
        form.description.data = c.description_html
        form.stage.data, form.subject.data = c.stage or "", c.subject or ""
    if form.validate_on_submit():
        try:
            services.update_course(current_user, c, _form_data(form))
        except services.CourseError as err:
            form.title.errors = [*form.title.errors, _msg(err)]
        else:
            flash(_("Course saved."), "success")
            return redirect(url_for("courses.edit", course_id=c.id))
    return render_template("courses/course_form.html", form=form, course=c, assign=_assign_panel(c, True),
                           action_form=EmptyForm())  # fmt: skip


@bp.post("/<int:course_id>/delete")
@login_required
def delete(course_id):
    c = _managed_course(course_id)
    if EmptyForm().validate_on_submit():
        services.delete_course(current_user, c)
        flash(_("Course deleted."), "info")
    return redirect(url_for("courses.index"))


def _back_to_assign(c: Course):
    endpoint = "courses.edit" if services.may_manage(current_user, c) else "courses.course"
    return redirect(url_for(endpoint, course_id=c.id) + "#assign")


@bp.post("/<int:course_id>/assign")
@login_required
def assign(course_id):
    """Assign a course to a workshop or region (course managers, and hosts for their workshop)."""
    c = _course_or_404(course_id)
    if not access.holds_anywhere(current_user, "course.assign"):
        abort(403)
    form = AssignForm()  # any context id: services.assign checks the user's right there and the audience
    if form.validate_on_submit():
        ctx = db.session.get(Context, form.context.data) or abort(404)
        try:
            services.assign(current_user, c, ctx, form.required.data == "1")
        except services.CourseError as err:
            flash(_msg(err), "danger")
        else:
            flash(_("Assignment saved."), "success")
    return _back_to_assign(c)


@bp.post("/assignments/<int:assignment_id>/delete")
@login_required
def unassign(assignment_id):
    row = db.session.get(CourseAssignment, assignment_id) or abort(404)
    c = _course_or_404(row.course_id)
    if not services.may_unassign(current_user, row):
        abort(403)
    if EmptyForm().validate_on_submit():
        services.unassign(current_user, row)
    return _back_to_assign(c)


def _document_from(form: LessonForm):
    from lms.media import services as media

    fs = form.document.data
    if not fs or not getattr(fs, "filename", ""):
        return None
    return media.save_upload(fs, owner=current_user, allowed=media.PDF, purpose="course_doc")


@bp.route("/<int:course_id>/lessons/new", methods=["GET", "POST"])
@login_required
def new_lesson(course_id):
    from lms.media.services import upload_error_message

    c = _managed_course(course_id)
    form = LessonForm()
    if form.validate_on_submit():
        try:
            doc = _document_from(form) if form.kind.data == "document" else None
            ls = services.add_lesson(current_user, c, form.title.data, form.kind.data, form.body.data, doc)
        except UploadError as err:
            db.session.rollback()
            form.document.errors = [upload_error_message(err)]
        except services.CourseError as err:
            db.session.rollback()
            form.title.errors = [*form.title.errors, _msg(err)]
        else:
            flash(_("Lesson added."), "success")
            return redirect(url_for("courses.edit_lesson", lesson_id=ls.id))
    return render_template("courses/lesson_form.html", form=form, course=c, lesson=None)


@bp.route("/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@login_required
def edit_lesson(lesson_id):
    from lms.media.services import upload_error_message

    ls = _lesson(lesson_id, manage=True)
    form = LessonForm(obj=None if request.method == "POST" else ls)
    del form.kind
    if request.method == "GET":
        form.body.data = ls.body_html
    if form.validate_on_submit():
        try:
            doc = _document_from(form) if ls.kind == "document" else None
            services.update_lesson(current_user, ls, form.title.data, form.body.data, doc)
        except UploadError as err:
            db.session.rollback()
            form.document.errors = [upload_error_message(err)]
        except services.CourseError as err:
            db.session.rollback()
            form.title.errors = [*form.title.errors, _msg(err)]
        else:
            flash(_("Lesson saved."), "success")
            return redirect(url_for("courses.edit_lesson", lesson_id=ls.id))
    cfg = current_app.config
    return render_template("courses/lesson_form.html", form=form, course=ls.course, lesson=ls, qform=QuestionForm(),
                           action_form=EmptyForm(), chunk_bytes=cfg["VIDEO_UPLOAD_CHUNK_BYTES"],
                           max_bytes=cfg["VIDEO_UPLOAD_MAX_BYTES"],
                           transcode=_transcode(ls) if ls.kind == "video" else None,
                           uploads=services.open_video_uploads(current_user) if ls.kind == "video" else [],
                           upload_cap=cfg.get("VIDEO_UPLOAD_MAX_OPEN_PER_USER") or 0,
                           purge_hours=cfg.get("UPLOAD_CHUNK_MAX_AGE_HOURS", 72))  # fmt: skip


def _transcode(ls: Lesson) -> dict:
    """services.transcode_status with the failure worded for the uploader (in their language)."""
    from lms.media.services import job_error_message

    st = services.transcode_status(ls)
    st["message"] = job_error_message(st.pop("reason")) if st["error"] else None
    return st


@bp.post("/lessons/<int:lesson_id>/move")
@login_required
def move_lesson(lesson_id):
    ls = _lesson(lesson_id, manage=True)
    if EmptyForm().validate_on_submit():
        services.move_lesson(current_user, ls, -1 if request.form.get("dir") == "up" else 1)
    return redirect(url_for("courses.edit", course_id=ls.course_id) + "#lessons")


@bp.post("/lessons/<int:lesson_id>/delete")
@login_required
def delete_lesson(lesson_id):
    ls = _lesson(lesson_id, manage=True)
    cid = ls.course_id
    if EmptyForm().validate_on_submit():
        services.delete_lesson(current_user, ls)
        flash(_("Lesson deleted."), "info")
    return redirect(url_for("courses.edit", course_id=cid) + "#lessons")


@bp.post("/lessons/<int:lesson_id>/questions")
@login_required
def add_question(lesson_id):
    ls = _lesson(lesson_id, manage=True)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            answer = [int(x) - 1 for x in re.split(r"[,，、\s]+", form.answer.data.strip()) if x]
            services.add_question(current_user, ls, form.prompt.data, form.kind.data,
                                  form.options.data.splitlines(), answer)  # fmt: skip
        except ValueError as err:
            flash(_msg(err) if isinstance(err, services.CourseError) else ERRORS["bad_answer"](), "danger")
        else:
            flash(_("Question added."), "success")
    else:
        flash(_("Please fill in the question, its options and the correct options."), "danger")
    return redirect(url_for("courses.edit_lesson", lesson_id=ls.id) + "#quiz")


@bp.post("/questions/<int:question_id>/delete")
@login_required
def delete_question(question_id):
    q = db.session.get(QuizQuestion, question_id) or abort(404)
    ls = _lesson(q.lesson_id, manage=True)
    if EmptyForm().validate_on_submit():
        services.delete_question(current_user, q)
    return redirect(url_for("courses.edit_lesson", lesson_id=ls.id) + "#quiz")


# --- resumable video upload (JSON; the page's uploader script talks to these) -----------------

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def _upload_error(err: UploadError, status: int = 400):
    from lms.media.services import upload_error_message

    code = str(err)
    if code.startswith("too_large:"):
        status = 413
    elif code.startswith("type:"):
        status = 415
    elif code.startswith("busy:"):
        status = 429
    elif code == "disk_full":
        status = 507
    return jsonify(error=code, message=upload_error_message(err, expected="video")), status


@bp.post("/lessons/<int:lesson_id>/video/uploads")
@login_required
def video_upload_begin(lesson_id):
    ls = _lesson(lesson_id, manage=True)
    data = request.get_json(silent=True) or {}
    try:
        size = int(data.get("size") or 0)
        upload_id = services.begin_video_upload(current_user, ls, str(data.get("filename") or ""), size)
    except UploadError as err:
        return _upload_error(err)
    except services.CourseError as err:
        return jsonify(error=str(err), message=_msg(err)), 403 if str(err) == "forbidden" else 400
    except (TypeError, ValueError):
        return jsonify(error="bad_size", message=_("The upload failed.")), 400
    return jsonify(upload_id=upload_id, offset=0, size=size, chunk_size=current_app.config["VIDEO_UPLOAD_CHUNK_BYTES"],
                   url=url_for("courses.video_upload_chunk", upload_id=upload_id))  # fmt: skip


@bp.get("/video-uploads/<upload_id>")
@login_required
def video_upload_status(upload_id):
    from lms.media import services as media

    status = media.chunked_status(upload_id, current_user)
    if status is None:
        abort(404)
    return jsonify(upload_id=upload_id, offset=status["offset"], size=status["size"])


@bp.put("/video-uploads/<upload_id>")
@login_required
def video_upload_chunk(upload_id):
    """One chunk with `Content-Range: bytes start-end/total`; the last one finishes the upload."""
    from lms.media import services as media

    status = media.chunked_status(upload_id, current_user)
    if status is None:
        abort(404)
    lesson = _lesson(int(status["ref"].get("lesson_id") or 0), manage=True)
    m = _RANGE.match(request.headers.get("Content-Range", ""))
    if not m or int(m.group(3)) != status["size"] or int(m.group(2)) < int(m.group(1)):
        return jsonify(error="range", offset=status["offset"], message=_("The upload failed.")), 400
    start, end = int(m.group(1)), int(m.group(2))
    length = end - start + 1
    if request.content_length is not None and request.content_length != length:
        return jsonify(error="range", offset=status["offset"], message=_("The upload failed.")), 400
    try:
        offset = media.receive_chunk(upload_id, current_user, request.stream, start, length)
    except media.ChunkError as err:
        if str(err) == "offset":
            return jsonify(error="offset", offset=err.offset), 409
        return jsonify(error=str(err), offset=err.offset, message=_("The upload failed.")), 400
    except UploadError as err:  # the first chunk is not a video: 415 now, not after the whole file
        return _upload_error(err)
    if offset < status["size"]:
        return jsonify(offset=offset, size=status["size"], done=False)
    try:
        job = services.finish_video_upload(current_user, lesson, upload_id)
    except UploadError as err:
        db.session.rollback()
        return _upload_error(err)
    return jsonify(offset=offset, size=status["size"], done=True, job_id=job.id,
                   status_url=url_for("courses.transcode_status", lesson_id=lesson.id))  # fmt: skip


@bp.post("/lessons/<int:lesson_id>/video/uploads/<upload_id>/cancel")
@login_required
def video_upload_cancel_form(lesson_id, upload_id):
    """The "Cancel" button of the lesson page's list of unfinished uploads: only the user's own upload
    (another's, or one that is gone, is 404); back to the lesson page it was pressed on."""
    from lms.media import services as media

    ls = _lesson(lesson_id, manage=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not media.cancel_chunked(upload_id, current_user):
        abort(404)
    flash(_("Upload cancelled."), "info")
    return redirect(url_for("courses.edit_lesson", lesson_id=ls.id) + "#video")


@bp.delete("/video-uploads/<upload_id>")
@login_required
def video_upload_cancel(upload_id):
    from lms.media import services as media

    if not media.cancel_chunked(upload_id, current_user):
        abort(404)
    return jsonify(cancelled=True)


@bp.get("/lessons/<int:lesson_id>/transcode")
@login_required
def transcode_status(lesson_id):
    ls = _lesson(lesson_id, manage=True)
    return jsonify(_transcode(ls))


@bp.post("/lessons/<int:lesson_id>/video/retry")
@login_required
def retry_transcode(lesson_id):
    ls = _lesson(lesson_id, manage=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.retry_transcode(current_user, ls)
    except services.CourseError as err:
        flash(_msg(err), "danger")
    else:
        flash(_("Transcoding queued again."), "success")
    return redirect(url_for("courses.edit_lesson", lesson_id=ls.id) + "#video")
