"""Upload validation: the type is sniffed from the bytes, never trusted from the name."""

import zipfile
from dataclasses import dataclass

import filetype


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
