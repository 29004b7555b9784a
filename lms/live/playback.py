"""Live video for viewers: a short-lived signed grant per viewer and session, so that nginx serves the
playlist and the 1-second segments (deploy/nginx-watch.conf) after the app checked live.view once.

Without grants every viewer asked the app for the playlist and a segment every second: 1,000 viewers
were 2,000 app requests a second, each loading the user and the session. With them, a viewer asks
the app for its grant when the page opens and renews it every few minutes (WATCH_GRANT_SECONDS; the
same scheme, key, lms_watch cookie and nginx secret as course video, lms.courses.watch): the app sees
about 4 requests a second per 1,000 viewers, nginx the rest.

The playlist goes through nginx too, uncached: it changes every second (ffmpeg rewrites it by
renaming a new file over it, so nginx always sends a whole one), and a copy cached for even a second
would put every viewer a second further behind; nginx answers it from the file with an ETag, so a
player polling an unchanged playlist gets a 304. Keeping it on the app would have cost one app
request per viewer per second, the very load this removes. Segment names are relative in the
playlist, so they resolve under the same granted URL.

Without nginx the app serves the granted URLs itself (the session cookie and the grant are checked,
no database query: the folder is live/<id>), as it answers whatever nginx refuses (an expired,
forged or foreign grant: 403).
"""

from flask import abort, url_for

from lms.courses import watch
from lms.live import video
from lms.live.models import LiveSession


def viewer_urls(session: LiveSession, holder: str) -> dict:
    """The player's playlist URL under a fresh grant for this sign-in (the caller checked live.view),
    the grant and its expiry (Unix time, and seconds from now for the player's renewal)."""
    import time

    now = time.time()
    grant = watch.live_grant(holder, session.id, now=now)
    expires = int(grant.split(".", 1)[0])
    return {"playlist": url_for("live.hls_granted", session_id=session.id, grant=grant, name="index.m3u8"),
            "grant": grant, "expires": expires, "ttl": max(0, int(expires - now)),
            "refresh": url_for("live.video_grant", session_id=session.id)}  # fmt: skip


def send(session_id: int, holder: str | None, grant: str, name: str):
    """A file of the session's live folder for a genuine grant of this sign-in: 404 for names a live
    folder never holds, 403 for a refused grant, 404 for a file not (yet) written."""
    from lms.media.services import send_path

    if not watch.LIVE_NAME.match(name):
        abort(404)
    if not watch.check_live_grant(holder, session_id, grant):
        abort(403)
    relpath = f"{video.relpath(session_id)}/{name}"
    if name.endswith(".m3u8"):
        resp = send_path(relpath, mimetype="application/vnd.apple.mpegurl", max_age=0)
        resp.headers["Cache-Control"] = "private, no-cache"  # changes every second: revalidate (ETag)
        return resp
    return send_path(relpath, mimetype="video/mp2t", max_age=86400)
