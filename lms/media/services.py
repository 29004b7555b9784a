"""Store uploads and serve stored files. Domains call these; they never touch the disk themselves."""

import mimetypes
import unicodedata
from pathlib import PurePath

from flask import Response, abort, current_app, send_file
from flask_babel import gettext as _

from lms.core.uploads import UploadError, sniff
from lms.extensions import db
from lms.media import storage
from lms.media.models import StoredFile

# Named sets of accepted types, sniffed from the bytes. Office 2007+ files are ZIP containers that
# filetype recognises by their inner parts; legacy .doc/.xls/.ppt are OLE files.
IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
PDF = {"application/pdf"}
OFFICE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/x-ole-storage", "application/x-cfb",
}  # fmt: skip
VIDEO = {"video/mp4", "video/quicktime", "video/x-matroska", "video/webm", "video/x-msvideo", "video/x-flv"}
AUDIO = {"audio/mpeg", "audio/mp4", "audio/x-wav", "audio/ogg", "audio/webm"}
DOCUMENTS = IMAGES | PDF | OFFICE
ANY_SAFE = DOCUMENTS | VIDEO | AUDIO | {"application/zip"}

_EXT = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
    "application/pdf": ".pdf", "video/mp4": ".mp4", "video/webm": ".webm", "audio/mpeg": ".mp3",
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


def upload_error_message(err: UploadError) -> str:
    """A sentence for the user from an UploadError code."""
    code = str(err)
    if code == "missing":
        return _("Choose a file to upload.")
    if code == "empty":
        return _("The file is empty.")
    if code.startswith("too_large:"):
        mb = int(code.split(":", 1)[1]) / (1024 * 1024)
        return _("The file is larger than the limit of %(mb)s MB.", mb=f"{mb:g}")
    if code.startswith("type:"):
        return _("This type of file is not accepted (%(type)s).", type=code.split(":", 1)[1])
    return _("The upload failed.")


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
        mime = sniff(head)
        if mime not in allowed:
            raise UploadError(f"type:{mime or 'unknown'}")
        ext = _EXT.get(mime) or mimetypes.guess_extension(mime) or ""
        relpath = storage.new_relpath(purpose, ext)
        storage.place(tmp, config, relpath)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stored = StoredFile(
        owner_id=getattr(owner, "id", owner),
        purpose=purpose,
        path=relpath,
        filename=clean_filename(file_storage.filename),
        mime=mime,
        size=size,
        sha256=sha,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def delete_file(stored: StoredFile) -> None:
    """Forget a stored file and remove it from disk (the caller commits)."""
    storage.remove(current_app.config, stored.path)
    db.session.delete(stored)


def path_of(stored: StoredFile):
    return storage.absolute(current_app.config, stored.path)


def send(stored: StoredFile, *, inline: bool | None = None, max_age: int = 3600) -> Response:
    """Serve a stored file after the caller has checked permission.

    Range requests (206/416) and conditional requests come from Werkzeug. With MEDIA_ACCEL_REDIRECT
    set (e.g. "/_protected/"), the answer is an empty response with X-Accel-Redirect so nginx sends
    the bytes from an `internal` location mapped onto MEDIA_ROOT.
    """
    inline = stored.inline_ok if inline is None else inline and stored.inline_ok
    return send_path(stored.path, mimetype=stored.mime, download_name=stored.filename, inline=inline,
                     max_age=max_age)  # fmt: skip


def send_path(relpath: str, *, mimetype: str | None = None, download_name: str | None = None,
              inline: bool = True, max_age: int = 3600) -> Response:  # fmt: skip
    """Serve any file under MEDIA_ROOT (a stored file, an HLS segment or playlist, a poster)."""
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
    resp = send_file(
        path,
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=download_name or path.name,
        conditional=True,
        etag=True,
        max_age=max_age,
    )
    resp.headers["Cache-Control"] = f"private, max-age={max_age}"
    return resp
