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
TEXT_MIME = "text/plain"
RTF_MIME = "application/rtf"
OLE_MIME = "application/x-ole-storage"  # an OLE compound file that is no Office document we know

# Office 97-2003 files are OLE compound files ("D0CF11E0A1B11AE1"). filetype only recognises them by
# fixed bytes at offset 512 (the first sector after the header), which holds the Word/Excel/
# PowerPoint stream only when the writer happened to put it first: valid files with the directory
# there were refused, and any file with the FAT there (a .doc, a .xls, an installer) was called a
# PowerPoint file. The container is the same for all three (and for Windows Installer packages),
# so a valid OLE header takes its kind from the extension, and installer packages (their class id
# in the root directory entry) are refused whatever they are called.
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
OLE_BY_EXTENSION = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
# {000C1082/4/6-0000-0000-C000-000000000046}: Windows Installer transform, package, patch.
_INSTALLER_CLSIDS = {bytes([n, 0x10, 0x0C, 0x00]) + bytes(4) + b"\xc0" + bytes(6) + b"\x46" for n in (0x82, 0x84, 0x86)}
# Plain text (.txt lesson plans) has no signature: UTF-8 or GB18030 (what Chinese Windows editors
# write) without NULs or other control characters but tab, line breaks, form feed and DOS's EOF.
_TEXT_CONTROLS = frozenset(range(0x20)) - set(b"\t\n\r\x0c\x1a")


def _extension(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def sniff(data: bytes, filename: str | None = None, read_at=None) -> str | None:
    """The type of a file from its first bytes (`data`: at least the first 8 KB when the file is
    longer). `filename` is only consulted where the bytes cannot tell: which Office program wrote
    an OLE file, and whether signature-less bytes are meant as a text file (.txt). `read_at(offset,
    size)` reads further into the file, where a check needs bytes past `data` (an OLE file's
    directory); without it such a file is not taken for an Office document."""
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime in {"application/zip", XLSX_MIME} and _is_xlsx(data):
        return XLSX_MIME
    if data.startswith(OLE_MAGIC):
        return _ole(data, _extension(filename), mime, read_at)
    if mime is None and _extension(filename) == "txt" and _is_text(data):
        return TEXT_MIME
    return mime


def _ole(data: bytes, ext: str, guessed: str | None, read_at=None) -> str:
    """An Office 97-2003 type for a sound OLE header: the one a .doc/.xls/.ppt name says, else
    filetype's guess (nameless files), else OLE_MIME. filetype's guess alone is not enough when
    there is a name: it calls any file with the FAT in its first sector a PowerPoint file."""
    if len(data) < 512 or data[28:30] != b"\xfe\xff":  # byte order mark
        return OLE_MIME
    major, shift, mini = int.from_bytes(data[26:28], "little"), data[30], data[32]
    if (major, shift) not in {(3, 9), (4, 12)} or mini != 6:
        return OLE_MIME
    # The root directory entry's class id: an installer (.msi) renamed .doc is not a document.
    first_dir = int.from_bytes(data[48:52], "little")
    root = (first_dir + 1) << shift
    if root + 96 <= len(data):
        clsid = data[root + 80 : root + 96]
    elif read_at is not None:
        clsid = read_at(root + 80, 16)
    else:
        return OLE_MIME  # cannot tell: not taken for a document
    if len(clsid) != 16 or clsid in _INSTALLER_CLSIDS:
        return OLE_MIME
    if ext in OLE_BY_EXTENSION:
        return OLE_BY_EXTENSION[ext]
    return guessed if guessed in OLE_BY_EXTENSION.values() and not ext else OLE_MIME


def _is_text(data: bytes) -> bool:
    if not data or b"\x00" in data or not _TEXT_CONTROLS.isdisjoint(data):
        return False
    import codecs

    for encoding in ("utf-8-sig", "gb18030"):
        try:
            # Not final: `data` may end inside a character when it is only the file's first bytes.
            codecs.getincrementaldecoder(encoding)().decode(data, final=False)
            return True
        except UnicodeDecodeError:
            continue
    return False


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
    mime = sniff(data, storage.filename)
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
