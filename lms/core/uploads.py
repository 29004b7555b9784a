"""Upload validation: the type is sniffed from the bytes, never trusted from the name; request
bodies are capped before Werkzeug reads them."""

import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import filetype
from flask import Request, current_app, request


class UploadError(ValueError):
    pass


@dataclass
class CheckedUpload:
    data: bytes
    filename: str
    mime: str


def read_capped(storage, max_bytes: int) -> bytes:
    """Read an uploaded file without ever holding more than max_bytes + 1 in memory."""
    data = storage.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadError(f"too_large:{max_bytes}")
    if not data:
        raise UploadError("empty")
    return data


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sniff(data: bytes) -> str | None:
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime in {"application/zip", XLSX_MIME} and _is_xlsx(data):
        return XLSX_MIME
    return mime


def _is_xlsx(data: bytes) -> bool:
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except zipfile.BadZipFile:
        return False


def check_upload(storage, allowed: set[str], max_bytes: int) -> CheckedUpload:
    if storage is None or not storage.filename:
        raise UploadError("missing")
    data = read_capped(storage, max_bytes)
    mime = sniff(data)
    if mime not in allowed:
        raise UploadError(f"type:{mime or 'unknown'}")
    return CheckedUpload(data=data, filename=storage.filename, mime=mime)


# --- request body caps ------------------------------------------------------------------------
# Werkzeug parses a multipart body (spooling files to disk) the first time request.form or
# request.files is read, which for every POST is Flask-WTF's CSRF check, before any view runs. A
# file cap checked in the view therefore comes after the whole body was received: only a cap known
# to the request (max_content_length) refuses an oversized body from its Content-Length, unread,
# or stops reading a chunked one at the cap. MAX_CONTENT_LENGTH (lms.config) caps every request;
# a view that takes more, or should take less, says so with @body_limit.

#: Room for the multipart framing and the other fields of an upload form beside its file.
FORM_OVERHEAD = 1024 * 1024

Limit = int | str | Callable[[dict], int]


def body_limit(cap: Limit):
    """Cap the request body of a view at `cap` (+ FORM_OVERHEAD for the form around the file).

    `cap`: bytes, a config key ("RESOURCE_MAX_BYTES"), or a callable(config) -> bytes. Put it
    below @bp.route / @route (the registered function carries it). A larger body gets 413 with
    the cap in the message, before a byte of it is read (CSRF check included).
    """

    def decorate(fn):
        fn.body_limit = cap
        return fn

    return decorate


def _cap_of(cap: Limit, config) -> int:
    if callable(cap):
        return int(cap(config))
    return int(config[cap]) if isinstance(cap, str) else int(cap)


def _route_cap(req: Request) -> int | None:
    """The @body_limit cap of the view the request was routed to, if any."""
    if req.url_rule is None or not current_app:
        return None
    cap = getattr(current_app.view_functions.get(req.url_rule.endpoint), "body_limit", None)
    return None if cap is None else _cap_of(cap, current_app.config)


class LimitedRequest(Request):
    """Flask's request with a per-view max_content_length (see body_limit); the app uses it."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        cap = _route_cap(self)
        if cap is not None:
            return cap + FORM_OVERHEAD
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def too_large_message() -> str:
    """The sentence for a 413: the cap of this request when the body was over it."""
    from flask_babel import gettext as _

    limit = request.max_content_length
    if limit and request.content_length and request.content_length > limit:
        cap = _route_cap(request)
        shown = cap if cap is not None else limit
        return _("The upload is larger than the limit of %(mb)s MB.", mb=f"{round(shown / 2**20, 1):g}")
    return _("The upload is too large.")
