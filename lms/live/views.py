"""Live Q&A pages 直播答疑: sessions (viewer and host), replay, Q&A area 答疑区, on-duty rota."""

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access
from lms.access.models import Context
from lms.core.i18n import local_to_utc, utc_to_local
from lms.core.pagination import page_arg
from lms.core.taxonomy import SUBJECTS
from lms.core.uploads import body_limit
from lms.courses import watch
from lms.extensions import db, limiter
from lms.live import playback, services, video
from lms.live.forms import (
    WEEKDAY_LABELS,
    AnswerForm,
    CancelForm,
    QuestionForm,
    SessionEditForm,
    SessionForm,
    SlotForm,
    ThreadForm,
)
from lms.live.models import DutySlot, LiveSession, QaThread
from lms.live.services import LiveError

bp = Blueprint("live", __name__)

ERRORS = {
    "forbidden": lambda: _("You do not have permission to do this."),
    "muted": lambda: _("You have been muted in this session."),
    "slow_mode": lambda: _("Slow mode is on: please wait a moment before sending again."),
    "closed": lambda: _("This session has ended."),
    "duplicate": lambda: _("You already have a slot at that time."),
    "invalid": lambda: _("Please check what you entered."),
    "not_pickable": lambda: _(
        "This question cannot be picked for this session: it is for another audience or subject, or an expert "
        "has answered it already."
    ),
    "rate_limited": lambda: _("You are sending too fast: please wait a moment."),
    "too_many_open": lambda: _("You have enough questions waiting; wait until the expert takes one of them."),
    "not_scheduled": lambda: _("Only a session that has not started can be cancelled; end a live one instead."),
}


def _message(err: LiveError) -> str:
    return ERRORS.get(err.code, ERRORS["invalid"])()


def _session_or_404(session_id: int) -> LiveSession:
    s = db.session.get(LiveSession, session_id)
    if s is None:
        abort(404)
    access.require(current_user, "live.view", s)
    return s


def _context_choices(contexts):
    from lms.core.forms import choices

    return choices({c.id: c.name for c in contexts}, blank=None)


def _grouped_choices(contexts) -> dict:
    """Options grouped by kind (<optgroup>): regions, schools, workshops…; a school or workshop
    also names the context above it when that is in the list (two schools may share a name)."""
    groups = {
        "site": _("Whole site"), "region": _("Regions"), "school": _("Schools"), "workshop": _("Workshops"),
        "project": _("Projects"),
    }  # fmt: skip
    by_path = {c.path: c for c in contexts}
    out: dict[str, list] = {}
    for c in contexts:
        label = c.name
        parent = by_path.get(c.path[: c.path.rstrip("/").rfind("/") + 1])
        if parent is not None and c.kind in ("school", "workshop"):
            label = f"{c.name} · {parent.name}"
        out.setdefault(groups.get(c.kind, c.kind), []).append((c.id, label))
    return out


@bp.route("/live")
@login_required
def index():
    return render_template(
        "live/index.html",
        sessions=services.visible_sessions(current_user),
        past=services.visible_sessions(current_user, statuses=("ended",), limit=10, held=True),
        today=services.on_duty_today(current_user),
        may_schedule=services.may_schedule(current_user),
    )


@bp.route("/live/new", methods=["GET", "POST"])
@login_required
def new():
    contexts = services.host_contexts(current_user)
    if not contexts:
        abort(403)
    form = SessionForm()
    form.context_id.choices = _grouped_choices(contexts)
    if form.validate_on_submit():
        ctx = db.session.get(Context, form.context_id.data)
        from lms.communities.services import find_login

        experts = []
        for name in filter(None, (x.strip() for x in (form.experts.data or "").replace("，", ",").split(","))):
            u = find_login(name)
            if u is None or not access.can(u, "live.host", ctx):
                form.experts.errors.append(_("%(name)s cannot host a session there.", name=name))
                break
            experts.append(u)
        else:
            try:
                s = services.schedule(current_user, ctx, form.title.data, local_to_utc(form.starts_at.data),
                                      local_to_utc(form.ends_at.data), form.subject.data, form.description.data,
                                      experts)  # fmt: skip
            except LiveError as err:
                flash(_message(err), "danger")
            else:
                flash(_("The session is scheduled. Teachers can now send questions."), "success")
                return redirect(url_for("live.session", session_id=s.id))
    return render_template("live/new.html", form=form)


@bp.route("/live/<int:session_id>")
@login_required
def session(session_id):
    s = _session_or_404(session_id)
    state = services.session_state(s, current_user)
    playlist = video.playlist_relpath(s)
    who = watch.request_holder()
    if who is not None:
        watch.set_watch_cookie(who, path="/live/")
    return render_template(
        "live/session.html",
        s=s,
        state=state,
        questions=services.ranked_questions(s, include_hidden=state["host"]),
        form=QuestionForm(),
        host=state["host"],
        hls_url=url_for("live.hls", session_id=s.id, name="index.m3u8") if playlist else None,
        live_video=playback.viewer_urls(s, who) if who else None,
        experts=services.session_experts(s),
        collected=services.collected_threads(current_user, s) if state["host"] else [],
    )


@bp.route("/live/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def edit(session_id):
    """Edit (and, at the bottom, cancel) a session: for whoever may schedule sessions there."""
    s = _session_or_404(session_id)
    access.require(current_user, "live.host", s)
    if s.closed:
        flash(_message(LiveError("closed")), "warning")
        return redirect(url_for("live.session", session_id=s.id))
    form = SessionEditForm(obj=s if request.method == "GET" else None)
    if request.method == "GET":
        form.starts_at.data, form.ends_at.data = utc_to_local(s.starts_at), utc_to_local(s.ends_at)
    if form.validate_on_submit():
        try:
            when = local_to_utc(form.starts_at.data), local_to_utc(form.ends_at.data)
            services.update_session(current_user, s, form.title.data, *when, form.subject.data, form.description.data)
        except LiveError as err:
            flash(_message(err), "danger")
        else:
            flash(_("The session was updated."), "success")
            return redirect(url_for("live.session", session_id=s.id))
    return render_template("live/edit.html", s=s, form=form, cancel_form=CancelForm(formdata=None))


@bp.route("/live/<int:session_id>/cancel", methods=["POST"])
@login_required
def cancel(session_id):
    s = _session_or_404(session_id)
    access.require(current_user, "live.host", s)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            services.cancel(current_user, s, form.reason.data or "")
        except LiveError as err:
            flash(_message(err), "danger")
        else:
            flash(_("The session is cancelled; its audience has been told."), "success")
    return redirect(url_for("live.session", session_id=s.id))


@bp.route("/live/<int:session_id>/questions", methods=["POST"])
@login_required
def ask(session_id):
    s = _session_or_404(session_id)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            services.ask(current_user, s, form.body.data)
            flash(_("Your question was added."), "success")
        except LiveError as err:
            flash(_message(err), "danger")
    return redirect(url_for("live.session", session_id=s.id) + "#questions")


def _question_or_404(question_id):
    q = services.get_question(question_id)
    if q is None:
        abort(404)
    s = _session_or_404(q.session_id)
    return q, s


@bp.route("/live/<int:session_id>/pick/<int:thread_id>", methods=["POST"])
@login_required
def pick(session_id, thread_id):
    """Host: put a collected Q&A-area question into the session's queue (CSRF-checked form)."""
    s = _session_or_404(session_id)
    access.require(current_user, "live.host", s)
    t = db.session.get(QaThread, thread_id)
    if t is None:
        abort(404)
    try:
        _q, added = services.pick_thread(current_user, s, t)
    except LiveError as err:
        flash(_message(err), "danger")
    else:
        if added:
            flash(_("The question is in the queue; its asker has been told."), "success")
        else:
            flash(_("This question was already picked."), "info")
    return redirect(url_for("live.session", session_id=s.id) + "#collected")


@bp.route("/live/questions/<int:question_id>/vote", methods=["POST"])
@login_required
def vote(question_id):
    q, s = _question_or_404(question_id)
    try:
        services.vote(current_user, q)
    except LiveError as err:
        flash(_message(err), "danger")
    return redirect(url_for("live.session", session_id=s.id) + "#questions")


@bp.route("/live/questions/<int:question_id>/merge", methods=["POST"])
@login_required
def merge(question_id):
    q, s = _question_or_404(question_id)
    access.require(current_user, "live.host", s)
    target = services.get_question(request.form.get("into", type=int))
    if target is None or target.session_id != s.id:
        abort(400)
    try:
        services.merge(current_user, q, target)
    except LiveError as err:
        flash(_message(err), "danger")
    return redirect(url_for("live.session", session_id=s.id) + "#questions")


@bp.route("/live/questions/<int:question_id>/mark", methods=["POST"])
@login_required
def mark(question_id):
    q, s = _question_or_404(question_id)
    access.require(current_user, "live.host", s)
    try:
        services.mark(current_user, q, request.form.get("status", ""))
    except LiveError as err:
        flash(_message(err), "danger")
    return redirect(url_for("live.session", session_id=s.id) + "#questions")


@bp.route("/live/<int:session_id>/status", methods=["POST"])
@login_required
def status(session_id):
    s = _session_or_404(session_id)
    access.require(current_user, "live.host", s)
    try:
        services.set_status(current_user, s, request.form.get("status", ""))
    except LiveError as err:
        flash(_message(err), "danger")
    return redirect(url_for("live.session", session_id=s.id))


@bp.route("/live/<int:session_id>/ingest", methods=["POST"])
@login_required
@body_limit(video.MAX_CHUNK)  # refused from its Content-Length, before the body is read into memory
def ingest(session_id):
    """Chunked HTTP upload of the host's MediaRecorder stream (the fallback to the socket): the
    raw body is one WebM chunk, `?n=` its index, `&rec=` its recording (lms.live.video.feed).
    The proxy sends it to the Socket.IO processes (README); if it lands on a process that does not
    run this broadcast's ffmpeg while another does, it is refused with 409 "elsewhere", never a
    second ffmpeg on the same files."""
    s = _session_or_404(session_id)
    access.require(current_user, "live.host", s)
    data = request.get_data(cache=False)
    try:
        out = video.feed(s, data, request.args.get("n", type=int), request.args.get("rec", type=int),
                         user=current_user, container=request.args.get("type", ""))  # fmt: skip
    except LiveError as err:
        conflict = ("closed", "elsewhere", "restart", "other_host", "not_live")
        return jsonify(ok=False, error=err.code), 409 if err.code in conflict else 400
    return jsonify(ok=True, **out)


@bp.route("/live/<int:session_id>/hls/<name>")
@login_required
def hls(session_id, name):
    """Playlist and segments of the live stream or the replay, for those who may watch."""
    s = _session_or_404(session_id)
    if not s.video_path or not (name == "index.m3u8" or (name.startswith("seg_") and name.endswith(".ts"))):
        abort(404)
    from lms.media.services import send_path

    if name.endswith(".m3u8"):
        # The live playlist changes every second (a paused one when the host comes back); the
        # replay's and the segments never do.
        growing = s.video_status in ("live", "paused")
        resp = send_path(
            f"{s.video_path}/{name}", mimetype="application/vnd.apple.mpegurl", max_age=1 if growing else 3600
        )
        if growing:
            resp.headers["Cache-Control"] = "private, no-cache"
        return resp
    return send_path(f"{s.video_path}/{name}", mimetype="video/mp2t", max_age=86400)


@limiter.exempt
@bp.get("/live/<int:session_id>/g/<grant>/<name>")
def hls_granted(session_id, grant, name):
    """Playlist and segments of the live stream on a viewer's grant (lms.live.playback): behind
    deploy/nginx-watch.conf only what nginx refused reaches this (expired, forged, another browser's)."""
    return playback.send(session_id, watch.request_holder(), grant, name)


@bp.get("/live/<int:session_id>/video-grant")
@login_required
def video_grant(session_id):
    """A fresh grant for the session's live video: the full check again (signed in with a live
    sign-in, live.view on the session); the player asks before its grant lapses."""
    s = _session_or_404(session_id)
    who = watch.request_holder()
    if who is None:
        abort(403)
    watch.set_watch_cookie(who, path="/live/")
    resp = jsonify(playback.viewer_urls(s, who))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/live/<int:session_id>/replay")
@login_required
def replay(session_id):
    s = _session_or_404(session_id)
    questions = services.ranked_questions(s)
    ready = s.video_status == "ready"
    return render_template(
        "live/replay.html",
        s=s,
        questions=questions,
        offsets=video.answer_offsets(s, questions) if ready else {},
        hls_url=url_for("live.hls", session_id=s.id, name="index.m3u8") if s.video_status == "ready" else None,
    )


# --- Q&A area -------------------------------------------------------------------------------------


@bp.route("/live/qa", methods=["GET", "POST"])
@login_required
def qa():
    form = ThreadForm()
    contexts = services.ask_contexts(current_user)
    form.context_id.choices = _context_choices(contexts)
    if contexts and form.validate_on_submit():
        try:
            t = services.ask_thread(current_user, db.session.get(Context, form.context_id.data), form.title.data,
                                    form.body.data, form.subject.data)  # fmt: skip
        except LiveError as err:
            flash(_message(err), "danger")
        else:
            flash(_("Your question is in the Q&A area; the experts on duty will answer."), "success")
            return redirect(url_for("live.thread", thread_id=t.id))
    awaiting = request.args.get("status") == "awaiting"
    subject = request.args.get("subject") if request.args.get("subject") in SUBJECTS else None
    page = services.threads(current_user, page_arg(request), current_app.config["PAGE_SIZE"], awaiting, subject)
    return render_template("live/qa.html", form=form, page=page, threads=page.items, may_ask=bool(contexts),
                           awaiting=awaiting, subject=subject)  # fmt: skip


@bp.route("/live/qa/<int:thread_id>", methods=["GET", "POST"])
@login_required
def thread(thread_id):
    t = db.session.get(QaThread, thread_id)
    if t is None:
        abort(404)
    access.require(current_user, "live.view", t.context)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            services.answer_thread(current_user, t, form.body.data)
        except LiveError as err:
            flash(_message(err), "danger")
        else:
            return redirect(url_for("live.thread", thread_id=t.id))
    return render_template("live/thread.html", t=t, answers=services.thread_answers(t), form=form,
                           picked=services.thread_live_question(t))  # fmt: skip


# --- on-duty rota ---------------------------------------------------------------------------------


@bp.route("/live/rota", methods=["GET", "POST"])
@login_required
def rota():
    contexts = services.contexts_with(current_user, "live.answer")
    form = SlotForm()
    form.context_id.choices = _grouped_choices(contexts)
    if contexts and form.validate_on_submit():
        try:
            services.add_slot(current_user, db.session.get(Context, form.context_id.data), form.subject.data,
                              form.weekday.data, form.starts.data, form.ends.data)  # fmt: skip
            flash(_("Your on-duty slot was added."), "success")
            return redirect(url_for("live.rota"))
        except LiveError as err:
            flash(_message(err), "danger")
    slots = services.rota(current_user)
    days = [(WEEKDAY_LABELS[d], [s for s in slots if s.weekday == d]) for d in range(7)]
    return render_template("live/rota.html", days=days, form=form if contexts else None)


@bp.route("/live/rota/<int:slot_id>/delete", methods=["POST"])
@login_required
def delete_slot(slot_id):
    slot = db.session.get(DutySlot, slot_id)
    if slot is None:
        abort(404)
    access.require(current_user, "live.view", slot.context)
    try:
        services.remove_slot(current_user, slot)
    except LiveError:
        abort(403)
    return redirect(url_for("live.rota"))
