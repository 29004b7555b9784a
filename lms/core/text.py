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
    """Plain-text cell or field: full-width to half-width (NFKC), trimmed, inner spaces removed at ends."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return text.replace("\u3000", " ").strip()
