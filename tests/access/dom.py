"""A small DOM for tests: parse a page with the stdlib html.parser and query elements.

Assertions about what a page shows (a member list, a live script) are made on elements and
attributes, not on substrings of the HTML.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
URL_ATTRS = {
    "href", "src", "action", "formaction", "data", "srcdoc", "xlink:href", "background", "poster", "lowsrc", "dynsrc",
}  # fmt: skip
FOREIGN_ELEMENTS = {
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "svg", "math", "xss", "xml", "layer",
    "bgsound", "style",
}  # fmt: skip
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "livescript:", "mocha:")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: "Element | None" = None
    children: list = field(default_factory=list)  # Element or str

    def iter(self, tag: str | None = None):
        for child in self.children:
            if isinstance(child, Element):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def find_all(self, tag: str | None = None, **attrs) -> list["Element"]:
        return [e for e in self.iter(tag) if all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, **attrs) -> "Element | None":
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        el = Element(tag, {k: (v if v is not None else "") for k, v in attrs}, parent=self.current)
        self.current.children.append(el)
        if tag not in VOID:
            self.current = el

    def handle_startendtag(self, tag, attrs):
        el = Element(tag, {k: (v if v is not None else "") for k, v in attrs}, parent=self.current)
        self.current.children.append(el)

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def live_markup(doc: Element) -> list[str]:
    """Anything in the page that could run script: foreign <script>s, on* handlers, script URLs,
    and elements that load or frame other documents."""
    problems = []
    for el in doc.iter():
        if el.tag == "script":
            src = el.attrs.get("src", "")
            if not src.startswith("/static/") or el.text.strip():
                problems.append(f"script element {el.attrs} {el.text[:40]!r}")
        for name, value in el.attrs.items():
            if name.startswith("on"):
                problems.append(f"<{el.tag}> event handler {name}={value!r}")
            if name in URL_ATTRS or name == "style":
                squashed = "".join(ch for ch in value if ch > " ").lower()
                if squashed.startswith(BAD_SCHEMES) or "javascript:" in squashed or "expression(" in squashed:
                    problems.append(f"<{el.tag}> {name}={value!r}")
        if el.tag in FOREIGN_ELEMENTS:
            problems.append(f"<{el.tag}> element")
        if el.tag == "link" and not _own_link(el.attrs.get("href", "")):
            problems.append(f"<link> to {el.attrs.get('href')!r}")
        if el.tag == "meta" and "http-equiv" in el.attrs:
            problems.append(f"<meta http-equiv={el.attrs['http-equiv']!r}>")
    return problems


def _own_link(href: str) -> bool:
    # Our stylesheets, and the empty data: favicon that stops browsers asking for /favicon.ico.
    return href == "data:," or (href.startswith("/") and not href.startswith("//") and "\\" not in href)


def tag_counts(doc: Element) -> dict[str, int]:
    counts: dict[str, int] = {}
    for el in doc.iter():
        counts[el.tag] = counts.get(el.tag, 0) + 1
    return counts
