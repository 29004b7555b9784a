"""The words inside a resource's file, for the search index: PDF (pypdf), Word/PowerPoint/Excel
2007+ (their XML parts, through defusedxml) and plain text. The only pypdf importer.

Bounded: the first PDF pages and slides only, and at most MAX_CHARS characters kept, so a
500-page scan or a huge spreadsheet costs the upload a fraction of a second. Anything unreadable
(a scanned PDF without a text layer, an encrypted or damaged file) gives "" and never fails the
upload: the title and description are still indexed.
"""

import logging
import re
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

MAX_CHARS = 20_000
MAX_PAGES = 30
MAX_PARTS = 60  # slides or sheets' shared strings read from an Office file
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SPACES = re.compile(r"\s+")


def extract(path: Path, mime: str) -> str:
    """Plain text of the file (whitespace collapsed, at most MAX_CHARS), or "" when it has none."""
    try:
        if mime == "application/pdf":
            text = _pdf(path)
        elif mime in (_DOCX, _PPTX, _XLSX):
            text = _office(path, mime)
        elif mime == "text/plain":
            text = _plain(path)
        else:
            return ""
    except Exception:  # noqa: BLE001 - a file we cannot read is still a resource; its title is indexed
        log.info("no text taken from a %s upload", mime, exc_info=True)
        return ""
    return _SPACES.sub(" ", text).strip()[:MAX_CHARS]


def _pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        return ""
    out, size = [], 0
    for page in reader.pages[:MAX_PAGES]:
        text = page.extract_text() or ""
        out.append(text)
        size += len(text)
        if size >= MAX_CHARS:
            break
    return "\n".join(out)


def _office(path: Path, mime: str) -> str:
    from defusedxml.ElementTree import fromstring

    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        if mime == _DOCX:
            parts = [n for n in names if n == "word/document.xml"]
        elif mime == _PPTX:
            slides = [n for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]
            parts = sorted(slides, key=lambda n: int(re.search(r"(\d+)\.xml$", n).group(1)))[:MAX_PARTS]
        else:
            parts = [n for n in names if n == "xl/sharedStrings.xml"]
        out, size = [], 0
        for name in parts:
            info = z.getinfo(name)
            if info.file_size > 20 * 2**20:  # a zip bomb, or a document far beyond what we keep
                continue
            root = fromstring(z.read(name))
            # Text runs: w:t (Word), a:t (slides), t (shared strings); paragraphs end with a space.
            words = [el.text for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "t" and el.text]
            out.append(" ".join(words))
            size += sum(len(w) for w in words)
            if size >= MAX_CHARS:
                break
    return "\n".join(out)


def _plain(path: Path) -> str:
    data = path.read_bytes()[: MAX_CHARS * 4]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start >= len(data) - 3:  # only the last character, cut by the read
            return data[: err.start].decode("utf-8")
    return data.decode("gb18030", errors="ignore")  # what Chinese Windows editors save
