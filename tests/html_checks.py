"""Parse rendered pages and find anything live a payload could have smuggled in."""

from html.parser import HTMLParser


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            self.problems.append(f"script tag {attrs}")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"{tag} handler {name}")
            if name in {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href"} and value:
                v = "".join(value.split()).lower()
                if v.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"{tag} {name}={value!r}")
        if tag in {"iframe", "object", "embed", "base", "meta", "link"} and tag not in {"meta", "link"}:
            self.problems.append(f"{tag} element")


def live_markup(html: str) -> list[str]:
    finder = _Finder()
    finder.feed(html)
    return finder.problems
