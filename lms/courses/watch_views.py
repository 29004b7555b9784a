"""Playback pages and endpoints: rendition files, heartbeats, fresh media URLs, members' progress.

The media and heartbeat endpoints are the hot paths (every viewer, every 2 s and every ~15 s): they
read the signed session cookie for the user key and check a signed grant/viewing token, so they run
no query to load the user or the course (see lms.courses.watch).
"""

import time

from flask import Blueprint, abort, current_app, jsonify, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_login.utils import _create_identifier
from werkzeug.routing import BuildError

from lms import access
from lms.core.pagination import page_arg
from lms.courses import watch
from lms.extensions import csrf, limiter

bp = Blueprint("watch", __name__)


def session_user() -> str | None:
    """The signed-in user's key in the session cookie ("<id>:<session version>"), without a query.

    The same check Flask-Login's strong session protection makes (the cookie was issued to this
    browser) is made here too.
    """
    key = session.get("_user_id")
    if not key:
        return None
    if current_app.login_manager.session_protection and session.get("_id") != _create_identifier():
        return None
    return key


@limiter.exempt
@bp.get("/watch/<int:lesson_id>/<grant>/<path:name>")
def media(lesson_id, grant, name):
    """A rendition file (playlist, segment, MP4, poster) of a lesson the grant lets this user watch."""
    if not watch.check_grant(session_user(), lesson_id, grant):
        abort(403)
    return watch.media_response(lesson_id, name)


@limiter.exempt
@bp.get("/watch/auth/<int:lesson_id>/<grant>")
def auth(lesson_id, grant):
    """nginx's auth_request for rendition files (README, "Serving video through nginx").

    The full check, as for the lesson page: the grant is this session's, the account is active and its
    session current (Flask-Login's user loader), the course is still visible to the user, the lesson
    has a published rendition. 200 names the rendition folder (X-Media-Folder) for nginx to serve from;
    anything else is 403, and nginx hands the request to the media view above, which gives the app's
    own answer. nginx caches a 200 per grant and session for X-Accel-Expires seconds
    (WATCH_AUTH_CACHE_SECONDS, never past the grant's expiry): the bound on how long a revoked
    viewer keeps fetching segments.
    """
    from lms.courses.models import Lesson
    from lms.extensions import db

    key = session_user()
    expires = watch.grant_expiry(grant)
    lesson = db.session.get(Lesson, lesson_id) if key and expires else None
    if (
        lesson is None
        or not lesson.playable
        or not current_user.is_authenticated
        or not watch.check_grant(key, lesson_id, grant)
        or not watch.can_watch(current_user, lesson.course)
    ):
        return "", 403, {"Cache-Control": "no-store"}
    ttl = max(0, min(int(current_app.config["WATCH_AUTH_CACHE_SECONDS"]), int(expires - time.time())))
    return "", 200, {"X-Media-Folder": lesson.rendition_dir, "X-Accel-Expires": str(ttl),
                     "Cache-Control": "no-store"}  # fmt: skip


# The viewing token is a per-page secret signed for this session's user: a cross-site page can
# neither read nor forge it, so it does the CSRF token's job (and keeps fetch keepalive simple).
@csrf.exempt
@limiter.exempt
@bp.post("/watch/heartbeat")
def heartbeat():
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        return jsonify(error="bad_request"), 400
    viewing = watch.load_viewing(data.get("v"), session_user())
    if viewing is None:
        return jsonify(error="invalid_viewing"), 403
    try:
        beat = watch.heartbeat(
            viewing,
            position=data.get("p"),
            end=data.get("e"),
            playing=data.get("playing") is True,
            visible=data.get("visible") is True,
        )
    except ValueError as err:
        return jsonify(error="bad_request", field=str(err)), 400
    return jsonify(credited=beat.credited, lease=beat.lease, seconds=beat.lesson_seconds, completed=beat.completed)


@bp.get("/watch/lessons/<int:lesson_id>/sources")
@login_required
def sources(lesson_id):
    """Fresh media URLs for a player whose grant expired (the full permission check again)."""
    lesson = watch.watchable_lesson(current_user, lesson_id)
    watch.forget_rendition(lesson_id)
    return jsonify(watch.media_urls(session_user(), lesson))


def player_context(lesson) -> dict | None:
    """What templates/courses/_player.html needs for a lesson the page already let the user open."""
    key = session_user()
    if key is None or not current_user.is_authenticated or not getattr(lesson, "playable", False):
        return None
    seen = watch.lesson_state(current_user.id, lesson.id, lesson.duration_seconds)
    return {
        **watch.media_urls(key, lesson),
        **seen,
        "viewing": watch.start_viewing(key, lesson),
        "duration": lesson.duration_seconds or 0,
        "heartbeat": url_for("watch.heartbeat"),
        "refresh": url_for("watch.sources", lesson_id=lesson.id),
    }


def lesson_progress_map(course) -> dict:
    """{lesson_id: LessonProgress} of the signed-in teacher for a course page."""
    if not current_user.is_authenticated:
        return {}
    return watch.lesson_progress(current_user.id, course.id)


@bp.get("/workshops/<int:workshop_id>/course-progress")
@login_required
def workshop_progress(workshop_id):
    from lms.communities.models import Workshop
    from lms.communities.services import get_or_404

    ws = get_or_404(Workshop, workshop_id)
    access.require(current_user, "stats.view", ws)
    data = watch.workshop_progress(ws, page=page_arg(request), per_page=current_app.config["PAGE_SIZE"])
    return render_template("courses/workshop_progress.html", workshop=ws, **data)


def _study_panel(user=None, **_):
    if user is None or not user.is_authenticated:
        return None
    return watch.my_progress(user.id)


def _workshop_panel(user=None, workshop=None, **_):
    if workshop is None or not access.can(user, "stats.view", workshop):
        return None
    return {"url": url_for("watch.workshop_progress", workshop_id=workshop.id)}


def _course_url(course_id: int) -> str:
    try:
        return url_for("courses.course", course_id=course_id)
    except BuildError:  # the catalogue pages are not registered
        return "#"


def init_app(app) -> None:
    """Called from lms.courses.init_app: the blueprint, template helpers and page panels."""
    from lms.core.slots import register_panel

    app.register_blueprint(bp)
    from lms.courses import watch_fast

    watch_fast.install(app)
    app.jinja_env.globals["watch_player"] = player_context
    app.jinja_env.globals["lesson_progress_map"] = lesson_progress_map
    app.jinja_env.globals.setdefault("course_url", _course_url)
    register_panel(app, "personal_space", "study_progress", "courses/_study_panel.html", _study_panel,
                   order=20, column="main")  # fmt: skip
    register_panel(app, "workshop", "course_progress", "courses/_workshop_progress_panel.html", _workshop_panel,
                   order=30, column="side")  # fmt: skip
