"""User text: sanitizing rich text and normalizing plain input."""

import html as _html
import re
import unicodedata

import nh3
from markupsafe import escape

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "blockquote", "code", "pre",
    "h2", "h3", "h4", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"colspan"}, "th": {"colspan"}}


def sanitize_html(html: str | None) -> str:
    """Rich text from users: only harmless tags, no scripts, handlers or javascript: URLs."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def text_to_html(text: str | None) -> str:
    """Plain text with blank-line paragraphs → sanitized HTML (<p> and <br>)."""
    paragraphs = [p.strip() for p in (text or "").replace("\r\n", "\n").split("\n\n") if p.strip()]
    html = "".join("<p>" + "<br>".join(str(escape(line)) for line in p.split("\n")) + "</p>" for p in paragraphs)
    return sanitize_html(html)


_TAG = re.compile(r"<[a-zA-Z/!]")


def rich_text(value: str | None) -> str:
    """What a rich-text field sends → sanitized HTML: HTML is cleaned; text without tags (a plain
    textarea, "a < b") becomes paragraphs and line breaks."""
    value = (value or "").replace("\r\n", "\n").strip()
    return sanitize_html(value) if _TAG.search(value) else text_to_html(value)


def html_to_text(html: str | None, collapse: bool = False) -> str:
    """Plain text of (sanitized) HTML, for search documents and summaries; `collapse` joins all
    whitespace (line breaks too) into single spaces."""
    text = _html.unescape(nh3.clean(html or "", tags=set()))
    return " ".join(text.split()) if collapse else text.strip()


def normalize(value) -> str:
    """Codes, roster cells and queries: full-width to half-width (NFKC: "１３８" → "138"), trimmed.
    Not for prose: it would turn Chinese punctuation "：（，" into ASCII; use plain()."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return text.replace("\u3000", " ").strip()


def plain(value, limit: int | None = None, multiline: bool = False) -> str:
    """Prose a user typed (titles, names, comments): Unicode NFC, control characters dropped, runs of
    spaces collapsed, trimmed, capped. Full-width punctuation stays as written. Escaped when shown."""
    text = unicodedata.normalize("NFC", str(value if value is not None else ""))
    keep = "\n" if multiline else ""
    text = "".join(" " if unicodedata.category(c).startswith("C") and c not in keep else c for c in text)
    if multiline:
        text = "\n".join(line for line in (" ".join(ln.split()) for ln in text.split("\n")) if line)
    else:
        text = " ".join(text.split())
    return text[:limit] if limit is not None else text
