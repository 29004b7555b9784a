"""Where searchable documents come from: each owning domain registers a source per kind.

A source is `load(ids: list[int] | None) -> Iterable[dict]`; `None` means every document (for
`flask lms reindex`). A document is a dict with these keys (missing optional ones are None):

    kind         str   the registered kind ("resource", "course", "post", "log", "brief")
    id           int   the row id inside that kind
    title        str   plain text
    body         str   plain text (strip HTML before returning it)
    url          str   where the result links to
    context_path str | None   access Context.path of the community it lives in; a user sees it
                              when `community.view` reaches that context. None = private to owner.
    owner_id     int | None   the author; always sees their own documents
    stage        str | None   学段 code (lms.core.taxonomy)
    subject      str | None   学科 code
    type         str | None   a finer type for filters (resource kind, course kind…)
    created_at   datetime | None

Domains register from their package's `init_app(app)` and send `content_changed` /
`content_deleted` (lms.signals) after commits; the search domain does the rest.
"""

from collections.abc import Callable, Iterable

Source = Callable[[list[int] | None], Iterable[dict]]

_SOURCES: dict[str, Source] = {}


def register_source(kind: str, load: Source) -> None:
    _SOURCES[kind] = load


def sources() -> dict[str, Source]:
    return dict(_SOURCES)
