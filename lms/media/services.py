"""Store uploads and serve stored files. Domains call these; they never touch the disk themselves."""

import logging
import mimetypes
import re
import time
import unicodedata
from pathlib import PurePath

from flask import Response, abort, current_app, request
from flask_babel import gettext as _
from sqlalchemy import delete as sa_delete
from sqlalchemy import event, or_, select
from werkzeug.http import parse_range_header
from werkzeug.utils import send_file as werkzeug_send_file

from lms.core.uploads import UploadError, sniff
from lms.extensions import db
from lms.media import storage
from lms.media.models import StoredFile

log = logging.getLogger(__name__)

# Named sets of accepted types, sniffed from the bytes (lms.core.uploads.sniff). Office 2007+ files
# are ZIP containers recognised by their inner parts; legacy .doc/.xls/.ppt are OLE files, whose
# kind the extension tells (a generic OLE file, e.g. an installer, is never accepted).
IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
PDF = {"application/pdf"}
OFFICE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
}  # fmt: skip
#: Plain text (.txt, UTF-8 or GB18030) and RTF: served as downloads, never shown inline.
TEXT = {"text/plain", "application/rtf"}
VIDEO = {"video/mp4", "video/quicktime", "video/x-matroska", "video/webm", "video/x-msvideo", "video/x-flv"}
AUDIO = {"audio/mpeg", "audio/mp4", "audio/x-wav", "audio/ogg", "audio/webm"}
DOCUMENTS = IMAGES | PDF | OFFICE
ANY_SAFE = DOCUMENTS | VIDEO | AUDIO | {"application/zip"}

_EXT = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
    "application/pdf": ".pdf", "video/mp4": ".mp4", "video/webm": ".webm", "audio/mpeg": ".mp3",
    "text/plain": ".txt", "application/rtf": ".rtf", "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls", "application/vnd.ms-powerpoint": ".ppt",
}  # fmt: skip


def clean_filename(name: str) -> str:
    """The user's file name for display: no path, no control characters, at most 120 characters."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(".") or "file"
    stem, dot, ext = base.rpartition(".")
    if dot and len(ext) <= 10:
        return stem[: 120 - len(ext) - 1] + "." + ext
    return base[:120]


def matching_filename(name: str, mime: str) -> str:
    """The user's file name with an extension that agrees with what the content is: a ZIP sent as
    教案.pdf downloads as 教案.zip, so the teacher who opens it gets the program that reads it."""
    if not mime or mime == "application/octet-stream":
        return name  # nothing specific known about it
    known = set(mimetypes.guess_all_extensions(mime)) | ({_EXT[mime]} if mime in _EXT else set())
    stem, dot, ext = name.rpartition(".")
    if not known or (dot and f".{ext.lower()}" in known):
        return name
    wanted = _EXT.get(mime) or sorted(known)[0]
    return clean_filename((stem if dot else name) + wanted)


def _kind_name(mime: str) -> str:
    """What a sniffed type is, in the user's words: never the MIME code itself."""
    if mime in IMAGES:
        return _("an image")
    if mime in PDF:
        return _("a PDF document")
    if mime in OFFICE:
        return _("an Office document")
    if mime in TEXT:
        return _("a text file")
    if mime in AUDIO:
        return _("an audio file")
    if mime in VIDEO:
        return _("a video")
    if mime == "application/zip":
        return _("a ZIP archive")
    return _("a file of a format we do not recognise")


def upload_error_message(err: UploadError, expected: str | None = None) -> str:
    """A sentence for the user from an UploadError code; `expected="video"` words a refused type for
    the video uploader."""
    code = str(err)
    if code == "missing":
        return _("Choose a file to upload.")
    if code == "empty":
        return _("The file is empty.")
    if code.startswith("too_large:"):
        mb = int(code.split(":", 1)[1]) / (1024 * 1024)
        return _("The file is larger than the limit of %(mb)s MB.", mb=f"{mb:g}")
    if code.startswith("type:"):
        kind = _kind_name(code.split(":", 1)[1])
        if expected == "video":
            return _("This file is not a video we can use: it is %(kind)s. Upload an MP4, MOV, MKV, WebM, AVI or "
                     "FLV video.", kind=kind)  # fmt: skip
        return _("This type of file is not accepted here: it is %(kind)s.", kind=kind)
    if code.startswith("busy:"):
        return _("You already have %(n)s video uploads in progress. Finish one, or cancel one under “Your "
                 "unfinished uploads” below the video uploader of a lesson's edit page.",
                 n=code.split(":", 1)[1])  # fmt: skip
    if code == "disk_full":
        return _("The server does not have enough free space for this file at the moment. Try again later, or "
                 "tell the administrator.")  # fmt: skip
    return _("The upload failed.")


def job_error_message(error: str | None) -> str:
    """A sentence for the uploader from a failed MediaJob's error code (lms.media.tasks.error_code)."""
    from lms.media.tasks import error_code

    code = error_code(error)
    if code == "unreadable":
        return _(
            "The file is not a video that can be read: it may be damaged or incomplete (an interrupted copy), "
            "or in a format the converter does not know. Upload the video again, or another file."
        )
    if code == "missing":
        return _("The uploaded file is no longer on the server. Upload the video again.")
    if code == "interrupted":
        return _("The transcoding was interrupted too many times (the server stopped while it was running).")
    if code == "disk_full":
        return _("The server ran out of disk space while converting the video. Try again later; if it happens "
                 "again, tell the administrator.")  # fmt: skip
    if code == "failed":
        return _("The converter could not convert this video.")
    return _("An unexpected error stopped the transcoding.")


def save_upload(file_storage, *, owner=None, allowed: set[str] = DOCUMENTS, max_bytes: int | None = None,
                purpose: str = "attachment") -> StoredFile:  # fmt: skip
    """Validate and store one uploaded file; the caller commits.

    The type is sniffed from the content (the name and the browser's Content-Type are ignored), the
    size capped while streaming. Raises UploadError with a code for upload_error_message().
    """
    if file_storage is None or not file_storage.filename:
        raise UploadError("missing")
    config = current_app.config
    cap = max_bytes or config["UPLOAD_MAX_BYTES"]
    try:
        tmp, size, sha, head = storage.receive(file_storage.stream, config, cap)
    except storage.TooLarge:
        raise UploadError(f"too_large:{cap}") from None
    try:
        if size == 0:
            raise UploadError("empty")
        mime = sniff(head, file_storage.filename, read_at=storage.reader(tmp))
        if mime not in allowed:
            raise UploadError(f"type:{mime or 'unknown'}")
        ext = _EXT.get(mime) or mimetypes.guess_extension(mime) or ""
        relpath = storage.new_relpath(purpose, ext)
        storage.place(tmp, config, relpath)
        _keep_if_committed(relpath)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stored = StoredFile(
        owner_id=getattr(owner, "id", owner),
        purpose=purpose,
        path=relpath,
        filename=matching_filename(clean_filename(file_storage.filename), mime),
        mime=mime,
        size=size,
        sha256=sha,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


#: Rows that belong to a file rather than use it: removed with the file.
_FILE_DERIVED = {"media_jobs"}


def _file_references() -> list:
    """Every column with a foreign key onto stored_files.id, read from the metadata so a table added
    later (by any domain) is covered; the file's own transcoding jobs excepted."""
    refs = []
    for table in db.metadata.sorted_tables:
        if table.name in _FILE_DERIVED:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == StoredFile.__tablename__ and fk.column.name == "id":
                refs.append(fk.parent)
    return refs


def file_in_use(file_id: int) -> bool:
    """Whether anything still points at the file: a library resource, a homework submission, an
    activity share (assessment evidence), a lesson, a post... One query."""
    checks = [select(col).where(col == file_id).exists() for col in _file_references()]
    return bool(checks) and bool(db.session.scalar(select(or_(*checks))))


def delete_file(stored: StoredFile) -> bool:
    """Forget a stored file unless something else still uses it (the caller commits); returns
    whether it went. One file serves several places: a share is also its workshop library's
    resource, excellent homework is the submission's own file; removing one must not strip the
    others. The caller's own deletions are flushed first, so they no longer count as uses.

    The bytes leave the disk only once the commit succeeds: after a rollback (a later validation
    error, a failed upload) the row and the file are both still there."""
    from lms.media.models import MediaJob

    db.session.flush()
    if file_in_use(stored.id):
        return False
    relpath = stored.path  # before delete(): reading an expired row marked deleted would flush it
    db.session.execute(sa_delete(MediaJob).where(MediaJob.stored_file_id == stored.id))
    db.session.delete(stored)
    remove_after_commit(relpath)
    return True


# --- removal after commit ------------------------------------------------------------------------
# Paths wait in session.info with the (sub)transaction they were scheduled in: the outermost commit
# removes them; rolling back a savepoint forgets those scheduled inside it; ending the outermost
# transaction any other way (rollback, close at the end of the request) forgets them all.
# New uploads the other way round (_PLACED): kept by the commit that stores their row, removed when
# that row is rolled back (a later validation error, a request that never commits).

_PENDING = "lms.media.remove_after_commit"
_PLACED = "lms.media.placed_uncommitted"


def _keep_if_committed(relpath: str) -> None:
    """A file just placed for a StoredFile row of this transaction: removed unless it commits."""
    session = db.session()
    tx = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PLACED, []).append((current_app.config, relpath, tx))


def _remove_placed(entries) -> None:
    for config, relpath, _tx in entries:
        try:
            storage.remove(config, relpath)
        except OSError as err:
            log.warning("could not remove the uncommitted upload %s: %s", relpath, err)


def remove_after_commit(relpath: str) -> None:
    """Remove a file under MEDIA_ROOT once the current transaction commits; never if it rolls back."""
    session = db.session()
    tx = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((current_app.config, relpath, tx))


def _within(tx, ended) -> bool:
    while tx is not None:
        if tx is ended:
            return True
        tx = tx.parent
    return False


def _on_commit(session) -> None:
    session.info.pop(_PLACED, None)  # their rows are stored: the files stay
    for config, relpath, _tx in session.info.pop(_PENDING, ()):
        try:
            storage.remove(config, relpath)
        except OSError as err:  # the commit stands: an unremovable file is only disk space
            log.warning("could not remove %s after commit: %s", relpath, err)


def _on_rollback(session, previous_transaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [p for p in pending if p[2] is not None and not _within(p[2], previous_transaction)]
    placed = session.info.get(_PLACED)
    if placed:
        _remove_placed([p for p in placed if p[2] is None or _within(p[2], previous_transaction)])
        placed[:] = [p for p in placed if p[2] is not None and not _within(p[2], previous_transaction)]


def _on_transaction_end(session, transaction) -> None:
    if transaction.parent is None:  # the outermost one; after a commit _on_commit has emptied the lists
        session.info.pop(_PENDING, None)
        _remove_placed(session.info.pop(_PLACED, ()))


for _name, _fn in (("after_commit", _on_commit), ("after_soft_rollback", _on_rollback),
                   ("after_transaction_end", _on_transaction_end)):  # fmt: skip
    if not event.contains(db.session, _name, _fn):
        event.listen(db.session, _name, _fn)


def delete_rendition(relpath: str) -> None:
    """Remove a transcode's output folder (playlists, segments, MP4, poster) from disk."""
    storage.remove_tree(current_app.config, relpath)


def path_of(stored: StoredFile):
    return storage.absolute(current_app.config, stored.path)


def send(stored: StoredFile, *, inline: bool | None = None, max_age: int = 3600) -> Response:
    """Serve a stored file after the caller has checked permission (see send_path)."""
    inline = stored.inline_ok if inline is None else inline and stored.inline_ok
    return send_path(stored.path, mimetype=stored.mime, download_name=stored.filename, inline=inline,
                     max_age=max_age)  # fmt: skip


#: `bytes=-0`: a valid range of nothing, which no representation can satisfy (416, not ignored).
_EMPTY_SUFFIX = re.compile(r"^\s*bytes\s*=\s*-0+\s*$", re.IGNORECASE)


def _range_to_ignore(header: str | None) -> bool:
    """Whether a Range header is to be ignored (a 200 with the whole file) rather than answered: a
    unit other than bytes, a malformed or invalid range (`bytes=5-2`), or several ranges (RFC 9110
    §14.2 lets a server ignore Range; players never ask for multipart answers, and Werkzeug would
    refuse them with 416). A single range, a suffix range, or one beyond the end (416) is answered."""
    if header is None or _EMPTY_SUFFIX.match(header):
        return False
    parsed = parse_range_header(header)
    return parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1


def send_path(relpath: str, *, mimetype: str | None = None, download_name: str | None = None,
              inline: bool = True, max_age: int = 3600) -> Response:  # fmt: skip
    """Serve any file under MEDIA_ROOT (a stored file, an HLS segment or playlist, a poster).

    A strong ETag (storage.etag: size and modification time, the same the playback fast path
    sends) answers If-None-Match with 304 and decides If-Range; single byte ranges get 206, a range
    past the end 416 (Werkzeug). With MEDIA_ACCEL_REDIRECT set (e.g. "/_protected/"), the answer is
    an empty response with X-Accel-Redirect and nginx sends the bytes (and does all of the above)
    from an `internal` location mapped onto MEDIA_ROOT.
    """
    config = current_app.config
    accel = config.get("MEDIA_ACCEL_REDIRECT")
    mimetype = mimetype or mimetypes.guess_type(relpath)[0] or "application/octet-stream"
    path = storage.absolute(config, relpath)  # also refuses paths outside MEDIA_ROOT
    if not path.is_file():
        abort(404)
    if accel:
        resp = Response(status=200, mimetype=mimetype)
        resp.headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + relpath
        resp.headers["Cache-Control"] = f"private, max-age={max_age}"
        if download_name:
            resp.headers.set("Content-Disposition", "inline" if inline else "attachment", filename=download_name)
        return resp
    environ = request.environ
    if _range_to_ignore(environ.get("HTTP_RANGE")):
        environ = {k: v for k, v in environ.items() if k not in ("HTTP_RANGE", "HTTP_IF_RANGE")}
    resp = werkzeug_send_file(
        str(path),
        environ,
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=download_name or path.name,
        conditional=True,
        etag=storage.etag(path.stat()),
        max_age=max_age,
        use_x_sendfile=False,
        response_class=current_app.response_class,
    )
    resp.headers["Cache-Control"] = f"private, max-age={max_age}"
    return resp


# --- resumable chunked uploads (large videos) -------------------------------------------------


class ChunkError(UploadError):
    """A chunk that does not fit: code "offset" (with the offset to resume from), "range", "gone"."""

    def __init__(self, code: str, offset: int | None = None):
        super().__init__(code)
        self.offset = offset


def begin_chunked(*, owner, filename: str, size: int, allowed: set[str] = VIDEO, max_bytes: int | None = None,
                  purpose: str = "video", ref: dict | None = None) -> str:  # fmt: skip
    """Open a resumable upload of `size` bytes; returns its id. Nothing is stored until finish_chunked.

    `ref` is the caller's own note (e.g. {"lesson_id": 3}), given back by chunked_status; one upload
    per owner and ref is open at a time (a new one discards the older partial file). Refused with
    UploadError "busy:<n>" when the owner has VIDEO_UPLOAD_MAX_OPEN_PER_USER others open, "disk_full"
    when `size`, the bytes the open uploads still expect and VIDEO_UPLOAD_FREE_MARGIN_BYTES would
    not fit on the disk. Uploads nobody resumes are purged (lms.media.purge_abandoned_uploads).
    """
    config = current_app.config
    cap = max_bytes or config["VIDEO_UPLOAD_MAX_BYTES"]
    if not filename:
        raise UploadError("missing")
    if size <= 0:
        raise UploadError("empty")
    if size > cap:
        raise UploadError(f"too_large:{cap}")
    owner_id = getattr(owner, "id", owner)
    meta = {"owner_id": owner_id, "filename": clean_filename(filename), "size": int(size),
            "allowed": sorted(allowed), "purpose": purpose, "ref": ref or {}}  # fmt: skip
    with storage.chunk_lock(config):
        open_uploads, replaced = [], []
        # Uploads that received nothing for an hour (a closed tab, a phone gone offline) count for
        # neither the per-user cap nor the promised bytes: they are purged after
        # UPLOAD_CHUNK_MAX_AGE_HOURS (and their owner may cancel them sooner, open_uploads).
        active_since = time.time() - UPLOAD_IDLE_SECONDS
        for upload_id, other, received in storage.chunk_list(config):
            if other.get("owner_id") == owner_id and ref and other.get("ref") == ref:
                # One open upload per user and target (a lesson): a new file replaces the partial
                # one, once this one is accepted (a refused begin keeps it resumable).
                replaced.append(upload_id)
            elif storage.chunk_touched(config, upload_id) >= active_since:
                open_uploads.append((other, received))
        per_user = int(config.get("VIDEO_UPLOAD_MAX_OPEN_PER_USER") or 0)
        if per_user and sum(1 for other, _o in open_uploads if other.get("owner_id") == owner_id) >= per_user:
            raise UploadError(f"busy:{per_user}")
        # The bytes the other uploads still have to send are promised already; the margin leaves room
        # for the transcodes (renditions are written beside the uploads) and everything else on the disk.
        promised = sum(max(0, int(other.get("size", 0)) - received) for other, received in open_uploads)
        margin = int(config.get("VIDEO_UPLOAD_FREE_MARGIN_BYTES") or 0)
        if size + promised + margin > storage.free_bytes(config):
            log.warning("video upload of %d bytes refused: %d free, %d promised to open uploads, margin %d",
                        size, storage.free_bytes(config), promised, margin)  # fmt: skip
            raise UploadError("disk_full")
        for upload_id in replaced:
            storage.chunk_discard(config, upload_id)
        return storage.chunk_begin(config, meta)


#: An upload that received nothing for this long no longer counts against the per-user cap.
UPLOAD_IDLE_SECONDS = 3600


def open_uploads(owner) -> list[dict]:
    """The owner's chunked uploads in progress, the most recently active first: {"id", "filename",
    "size", "received", "started", "last_activity" (aware UTC datetimes), "idle" (no longer counted
    against VIDEO_UPLOAD_MAX_OPEN_PER_USER), "ref"}; so they can see and cancel what holds their cap."""
    from datetime import UTC, datetime

    config = current_app.config
    owner_id = getattr(owner, "id", owner)
    idle_before = time.time() - UPLOAD_IDLE_SECONDS
    out = []
    for upload_id, meta, received in storage.chunk_list(config):
        if meta.get("owner_id") != owner_id:
            continue
        started = float(meta.get("created") or 0)
        # The part file's time, as begin_chunked's cap counts it (it is touched when the upload begins).
        last = storage.chunk_touched(config, upload_id) or started
        out.append({"id": upload_id, "filename": meta.get("filename") or "", "size": int(meta.get("size") or 0),
                    "received": received, "started": datetime.fromtimestamp(started, UTC),
                    "last_activity": datetime.fromtimestamp(last, UTC), "idle": last < idle_before,
                    "ref": meta.get("ref") or {}})  # fmt: skip
    out.sort(key=lambda u: u["last_activity"], reverse=True)
    return out


def chunked_status(upload_id: str, owner) -> dict | None:
    """{"size", "offset", "filename", "ref"} of the owner's upload in progress, or None."""
    state = storage.chunk_state(current_app.config, upload_id)
    if state is None or state[0].get("owner_id") != getattr(owner, "id", owner):
        return None
    meta, offset = state
    return {"size": meta["size"], "offset": offset, "filename": meta["filename"], "ref": meta.get("ref", {})}


#: Bytes the type is sniffed from (what storage.chunk_take hands finish_chunked as the head).
SNIFF_BYTES = 8192


def receive_chunk(upload_id: str, owner, stream, start: int, length: int) -> int:
    """Append `length` bytes from `stream` at `start`; returns the new offset.

    The stream is copied in 1 MB pieces (never held in memory). A chunk that does not begin at the
    received offset changes nothing and raises ChunkError("offset", offset). The first chunk's
    type is sniffed at once: a file of a type the upload does not allow raises UploadError("type:...")
    and the upload is discarded, rather than after gigabytes have arrived.
    """
    status = chunked_status(upload_id, owner)
    if status is None:
        raise ChunkError("gone")
    if start < 0 or length <= 0 or start + length > status["size"]:
        raise ChunkError("range", status["offset"])
    if start == 0 and status["offset"] == 0:
        stream = _sniff_first_chunk(upload_id, stream, length, status["size"])
    try:
        return storage.chunk_append(current_app.config, upload_id, stream, start, length)
    except storage.OffsetMismatch as err:
        raise ChunkError("offset", err.offset) from None


def _sniff_first_chunk(upload_id: str, stream, length: int, size: int):
    """The stream again (what was read is put back in front) if the first bytes may be of an allowed
    type; else the upload is discarded and UploadError("type:...") raised."""
    config = current_app.config
    want = min(SNIFF_BYTES, length)
    head = b""
    while len(head) < want:
        piece = stream.read(want - len(head))
        if not piece:
            break
        head += piece
    # Decide only on as many bytes as finish_chunked would look at (a tiny first chunk, or a
    # connection that dropped early, leaves the decision to finish_chunked).
    if len(head) >= min(SNIFF_BYTES, size):
        mime = sniff(head)
        meta = storage.chunk_state(config, upload_id)
        if meta is not None and mime not in set(meta[0]["allowed"]):
            # Read the rest of the chunk: answering with a body left unread can reset the
            # connection, and the browser would then see a network error instead of the message.
            left = length - len(head)
            while left > 0 and (piece := stream.read(min(storage.CHUNK, left))):
                left -= len(piece)
            storage.chunk_discard(config, upload_id)
            raise UploadError(f"type:{mime or 'unknown'}")
    return _Prefixed(head, stream)


class _Prefixed:
    """A read()-able stream: `head` first, then the rest of `stream`."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = head, stream

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n is None or n < 0:
                out, self.head = self.head + self.stream.read(), b""
            else:
                out, self.head = self.head[:n], self.head[n:]
            return out
        return self.stream.read(n)


def finish_chunked(upload_id: str, owner) -> StoredFile:
    """Check the complete upload's type (sniffed from its bytes) and store it; the caller commits.

    A wrong type raises UploadError("type:...") and removes the upload.
    """
    config = current_app.config
    status = chunked_status(upload_id, owner)
    if status is None:
        raise ChunkError("gone")
    if status["offset"] != status["size"]:
        raise ChunkError("range", status["offset"])
    meta = storage.chunk_state(config, upload_id)[0]
    tmp, size, sha, head = storage.chunk_take(config, upload_id)
    try:
        mime = sniff(head, meta["filename"], read_at=storage.reader(tmp))
        if mime not in set(meta["allowed"]):
            raise UploadError(f"type:{mime or 'unknown'}")
        ext = _EXT.get(mime) or mimetypes.guess_extension(mime) or ""
        relpath = storage.new_relpath(meta["purpose"], ext)
        storage.place(tmp, config, relpath)
        _keep_if_committed(relpath)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stored = StoredFile(owner_id=meta["owner_id"], purpose=meta["purpose"], path=relpath, filename=meta["filename"],
                        mime=mime, size=size, sha256=sha)  # fmt: skip
    db.session.add(stored)
    db.session.flush()
    return stored


def cancel_chunked(upload_id: str, owner) -> bool:
    """Remove the owner's upload in progress (its partial file and its metadata); False when there is
    none with that id for that owner (someone else's, finished, purged)."""
    if chunked_status(upload_id, owner) is None:
        return False
    storage.chunk_discard(current_app.config, upload_id)
    return True
