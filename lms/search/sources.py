"""Where searchable documents come from: each owning domain registers a source per kind.

A source is `load(ids: list[int] | None) -> Iterable[dict]`; `None` means every document (for
`flask lms reindex`). A document is a dict with these keys (missing optional ones are None):

    kind         str   the registered kind ("resource", "course", "post", "log", "brief")
    id           int   the row id inside that kind
    title        str   plain text
    body         str   plain text (strip HTML before returning it)
    url          str   where the result links to
    context_path str | None   access Context.path of the community it lives in; a user sees it
                              when the source's capability reaches that context (see below).
                              None = private to its owner.
    owner_id     int | None   the author (sees private documents; all their documents when the
                              source says `owner_reads`)
    stage        str | None   学段 code (lms.core.taxonomy)
    subject      str | None   学科 code
    type         str | None   a finer type for filters (resource kind, course kind…)
    tags         str | None   space-separated tags (also in the body); indexed as pinyin with the title
    created_at   datetime | None

Who sees a document is the check its detail page makes, declared once with the source:
`capability` is the capability the page requires on the document's context (`access.can(user,
capability, ctx)`; "writing.view" for research writing, "community.view" for most), and
`owner_reads` says the page also lets the author in whatever their roles (research writing). The
search filter is built from `access.scope(user, capability)`, the same rule `access.can` applies.
A document whose kind has no registered source is shown to nobody.

Domains register from their package's `init_app(app)` and send `content_changed` /
`content_deleted` (lms.signals) after commits; the search domain does the rest.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

Source = Callable[[list[int] | None], Iterable[dict]]


@dataclass(frozen=True)
class Registration:
    load: Source
    capability: str = "community.view"
    owner_reads: bool = False


_SOURCES: dict[str, Registration] = {}


def register_source(kind: str, load: Source, *, capability: str = "community.view", owner_reads: bool = False) -> None:
    """Register where documents of `kind` come from and which capability their detail page checks."""
    _SOURCES[kind] = load if isinstance(load, Registration) else Registration(load, capability, owner_reads)


def sources() -> dict[str, Source]:
    """{kind: load} of every registered source."""
    return {k: r.load for k, r in _SOURCES.items()}


def registrations() -> dict[str, Registration]:
    return dict(_SOURCES)
