"""User text: sanitizing rich text and normalizing plain input."""

import unicodedata

import nh3

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


def html_to_text(html: str | None) -> str:
    """Plain text of (sanitized) HTML, for search documents and summaries."""
    import html as _html

    return _html.unescape(nh3.clean(html or "", tags=set())).strip()


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
