"""Playback pages and endpoints: rendition files, heartbeats, fresh media URLs, members' progress.

The media and heartbeat endpoints are the hot paths (every viewer, every 2 s and every ~15 s): they
read the signed session cookie for the user key and check a signed grant/viewing token, so they run
no query to load the user or the course (see lms.courses.watch).
"""

import re

import click
from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    has_request_context,
    jsonify,
    render_template,
    request,
    session,
    url_for,
)
from flask.cli import with_appcontext
from flask_login import current_user, login_required, user_logged_out
from werkzeug.routing import BuildError

from lms import access
from lms.core.pagination import page_arg
from lms.courses import watch
from lms.extensions import csrf, limiter

bp = Blueprint("watch", __name__)


session_user = watch.session_user
holder = watch.request_holder


@limiter.exempt
@bp.get("/watch/<int:lesson_id>/<grant>/<path:name>")
def media(lesson_id, grant, name):
    """A rendition file (playlist, segment, MP4, poster) of a lesson the grant lets this user watch.

    Behind deploy/nginx-watch.conf this answers only what nginx refused (no or another WATCH_COOKIE,
    an expired or foreign grant): the app's own answer, from the session and its sign-in.
    """
    folder = watch.check_grant(holder(), lesson_id, grant)
    if folder is None:
        abort(403)
    return watch.media_response(lesson_id, folder, name)


set_watch_cookie = watch.set_watch_cookie


@user_logged_out.connect
def _forget_watch_cookie(_app, user=None, **_):
    if not has_request_context():
        return

    @after_this_request
    def _drop(resp):
        for path in watch.WATCH_COOKIE_PATHS:
            resp.delete_cookie(watch.WATCH_COOKIE, path=path)
        return resp


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
    except watch.ViewingGone:
        return jsonify(error="invalid_viewing"), 403
    except ValueError as err:
        return jsonify(error="bad_request", field=str(err)), 400
    return jsonify(credited=beat.credited, lease=beat.lease, seconds=beat.lesson_seconds, completed=beat.completed)


@bp.get("/watch/lessons/<int:lesson_id>/sources")
@login_required
def sources(lesson_id):
    """Fresh media URLs for a player whose grant is about to lapse or lapsed (the full check again:
    Flask-Login loaded the user with their sign-in, the course is visible to them)."""
    lesson = watch.watchable_lesson(current_user, lesson_id)
    watch.forget_rendition(lesson_id)
    who = holder()
    urls = watch.media_urls(who, lesson) if who else {}
    if not urls:
        abort(404)
    set_watch_cookie(who)
    resp = jsonify(urls)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def player_context(lesson) -> dict | None:
    """What templates/courses/_player.html needs for a lesson the page already let the user open."""
    key = session_user()
    if key is None or not current_user.is_authenticated or not getattr(lesson, "playable", False):
        return None
    who = watch.holder(key, session["_sign_in"])
    urls = watch.media_urls(who, lesson)
    if not urls:
        return None
    set_watch_cookie(who)
    seen = watch.lesson_state(current_user.id, lesson.id, lesson.duration_seconds)
    return {
        **urls,
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
    groups = watch.progress_groups(current_user, ws)
    if groups is None:
        access.require(current_user, "stats.view", ws)  # 403 for a member who sees the workshop, else 404
    data = watch.workshop_progress(ws, page=page_arg(request), per_page=current_app.config["PAGE_SIZE"],
                                   groups=[g.id for g in groups] if groups else None)  # fmt: skip
    return render_template("courses/workshop_progress.html", workshop=ws, groups=groups, **data)


def study_time(seconds) -> str:
    """Credited video time as pages show it: seconds below a minute (20 s of video is not "0 minutes")."""
    from flask_babel import gettext as _

    seconds = int(seconds or 0)
    if seconds < 60:
        return _("%(s)s s of video", s=seconds)
    return _("%(m)s min of video", m=seconds // 60)


def _study_panel(user=None, **_):
    if user is None or not user.is_authenticated:
        return None
    return watch.my_progress(user.id)


def _workshop_panel(user=None, workshop=None, **_):
    if workshop is None:
        return None
    groups = watch.progress_groups(user, workshop)
    if groups is None:
        return None
    return {"url": url_for("watch.workshop_progress", workshop_id=workshop.id), "groups": groups}


def _course_url(course_id: int) -> str:
    try:
        return url_for("courses.course", course_id=course_id)
    except BuildError:  # the catalogue pages are not registered
        return "#"


def init_app(app) -> None:
    """Called from lms.courses.init_app: the blueprint, template helpers and page panels."""
    from lms.core.slots import register_panel

    app.register_blueprint(bp)
    from lms.cli import lms_cli
    from lms.courses import watch_fast

    if "nginx-watch-secret" not in lms_cli.commands:
        lms_cli.add_command(nginx_watch_secret_command)

    watch_fast.install(app)
    watch.watch_revocations()
    app.jinja_env.globals["watch_player"] = player_context
    app.jinja_env.globals["lesson_progress_map"] = lesson_progress_map
    app.jinja_env.globals["study_time"] = study_time
    app.jinja_env.globals.setdefault("course_url", _course_url)
    register_panel(app, "personal_space", "study_progress", "courses/_study_panel.html", _study_panel,
                   order=20, column="main")  # fmt: skip
    register_panel(app, "workshop", "course_progress", "courses/_workshop_progress_panel.html", _workshop_panel,
                   order=30, column="side")  # fmt: skip


@click.command("nginx-watch-secret")
@with_appcontext
def nginx_watch_secret_command():
    """Print nginx's line with the grant secret (deploy/nginx-watch.conf includes it; keep it mode 600)."""
    secret = watch.link_secret(current_app.config)
    # nginx reads $ as a variable and " ends the string; a short secret is guessable.
    if not re.fullmatch(r"[A-Za-z0-9_.:+/=-]{16,200}", secret):
        raise click.ClickException("LMS_WATCH_LINK_SECRET: 16-200 letters, digits or _.:+/=- please.")
    click.echo(f'map $host $yanxiu_watch_secret {{ default "{secret}"; }}')
