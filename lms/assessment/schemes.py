"""Assessment schemes 考核方案: a registry (plugins add their own, PluginAPI.register_assessment_scheme).

A scheme is a list of items, each worth some points and scored from what the domains record of a
member (`inputs`, lms.assessment.services gathers them): a share from 0 to 1, or None while it cannot
be known yet (a homework grade not released to its author). The default is the trainee scheme of
DOMAIN.md §9 (a province's 2026 workshop training): its weights are that scheme's, and a site picks
another with LMS_ASSESSMENT_SCHEME.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

#: Minutes of course study that earn the full course-study points (DOMAIN.md §4, §9).
FULL_STUDY_MINUTES = 1260


@dataclass(frozen=True)
class Item:
    key: str
    label: Any  # a lazy string
    points: float
    #: "auto" (counted from what members do) or "host" (a host's mark or grade).
    by: str
    #: inputs → share of the points earned, 0..1, or None while unknown.
    share: Callable[[dict], float | None]
    #: How the item is scored, for the page's legend.
    rule: Any = ""


@dataclass(frozen=True)
class Scheme:
    name: str
    label: Any
    items: tuple[Item, ...]
    pass_mark: float = 60.0
    excellent_mark: float = 90.0

    @property
    def total(self) -> float:
        return sum(i.points for i in self.items)


_SCHEMES: dict[str, Scheme] = {}


def register(scheme: Scheme) -> Scheme:
    _SCHEMES[scheme.name] = scheme
    return scheme


def get(name: str) -> Scheme | None:
    return _SCHEMES.get(name)


def all_schemes() -> list[Scheme]:
    return list(_SCHEMES.values())


def _capped(x: float) -> float:
    return max(0.0, min(1.0, x))


def _homework(i: dict) -> float | None:
    if i["homework"] is None:  # submitted and awaiting its grade: pending; never submitted: nothing
        return None if i["homework_submitted"] else 0.0
    return _capped(i["homework"] / 10.0)


def _offline(i: dict) -> float | None:
    marks = i["offline_marks"]
    return _capped(sum(marks) / len(marks) / 100.0) if marks else 0.0


# DOMAIN.md §9, trainee 学员 (100): research plan uploaded 5 (auto) · course study, 1,260 min = 35
# (auto) · activities 10: ≥10 effective posts in discussion activities, or ≥1 topic resource in a
# sharing activity, both kinds adding up to at most 10 (auto) · research homework 10 (host) · 5 peer
# reviews 5 (auto) · research summary 5 (auto) · offline result form 20 (host) · ≥2 offline resources 10 (auto).
TRAINEE = register(Scheme("trainee", _l("Trainee assessment (100 points)"), (
    Item("plan", _l("Research plan"), 5, "auto", lambda i: 1.0 if i["plan"] else 0.0,
         _l("Written this year")),
    Item("study", _l("Course study"), 35, "auto", lambda i: _capped(i["seconds"] / 60 / FULL_STUDY_MINUTES),
         _l("%(minutes)s minutes of video actually played earn all, less in proportion", minutes=FULL_STUDY_MINUTES)),
    Item("activities", _l("Activities"), 10, "auto",
         lambda i: _capped(i["effective_posts"] / 10 + (1.0 if i["shared_resources"] >= 1 else 0.0)),
         _l("1 point per effective post in discussions; a resource shared on a topic earns all")),
    Item("homework", _l("Research homework"), 10, "host", _homework,
         _l("The homework's final grade (host and peers), once released")),
    Item("reviews", _l("Peer reviews"), 5, "auto", lambda i: _capped((i["reviewing"] or 0.0) / 5.0),
         _l("The grade for reviewing: 5 reviews done well earn all")),
    Item("summary", _l("Research summary"), 5, "auto", lambda i: 1.0 if i["summary"] else 0.0,
         _l("Written this year")),
    Item("offline", _l("Offline result form"), 20, "host", _offline,
         _l("The host's mark of the stamped result form (0-100), averaged over offline activities")),
    Item("offline_resources", _l("Offline resources"), 10, "auto", lambda i: _capped(i["offline_resources"] / 2),
         _l("2 resources produced in offline activities earn all")),
)))  # fmt: skip
