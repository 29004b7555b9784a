"""Assessment 考核 of workshop members (DOMAIN.md §9): each member's points per item of the scheme, the
total, and the result (excellent 优秀 / pass 合格 / fail 不合格), computed when asked from what the
other domains record, through their services:

  lms.activities.services.assessment_inputs   effective posts, shared and offline resources, offline
                                              marks, research plan and summary of the year;
  lms.homework.services.assessment_inputs     homework grade (and whether released), reviewing grade;
  lms.courses.watch.seconds_of                credited course-study time.

Nothing is stored: a score is always what the records say now. A member sees their own breakdown;
an item a member may not know yet (a homework grade before its release) shows as pending to them,
and counts for the host.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from lms import access
from lms.activities import services as activities
from lms.activities.writing import current_year
from lms.assessment import schemes
from lms.communities import services as communities
from lms.courses import watch
from lms.homework import services as homework

#: Members of one workshop assessed on one page (a class workshop has 80-100).
MAX_MEMBERS = 5000
RESULTS = ("excellent", "pass", "fail")


@dataclass
class Score:
    user_id: int
    name: str
    #: item key → points earned, or None (pending: not known to the member yet).
    points: dict[str, float | None] = field(default_factory=dict)
    total: float = 0.0
    result: str = "fail"
    #: Some item is pending: the total may still rise.
    provisional: bool = False


def scheme():
    """The site's scheme (ASSESSMENT_SCHEME; the trainee scheme of DOMAIN.md §9 by default)."""
    return schemes.get(current_app.config.get("ASSESSMENT_SCHEME") or "trainee") or schemes.TRAINEE


def marks() -> tuple[float, float]:
    """(pass, excellent) thresholds: config, else the scheme's (60 and 90)."""
    s = scheme()
    cfg = current_app.config
    return float(cfg.get("ASSESSMENT_PASS") or s.pass_mark), float(cfg.get("ASSESSMENT_EXCELLENT") or s.excellent_mark)


def may_view_all(user, workshop) -> bool:
    """Hosts, experts and the admins above see every member's assessment (the statistics right)."""
    return access.can(user, "stats.view", workshop)


def inputs(workshop, user_ids, year: int | None = None) -> dict[int, dict]:
    """Every input of every member, from the owning domains: a handful of queries in all."""
    year = year or current_year()
    act = activities.assessment_inputs(workshop, user_ids, year)
    hw = homework.assessment_inputs(workshop, user_ids)
    secs = watch.seconds_of(user_ids)
    return {uid: {**act[uid], **hw[uid], "seconds": secs.get(uid, 0.0)} for uid in act}


def score(user_id: int, name: str, data: dict, for_member: bool = False) -> Score:
    """One member's points. `for_member`: as the member sees it, an unreleased homework grade pending."""
    s = scheme()
    pass_mark, excellent = marks()
    out = Score(user_id, name)
    for item in s.items:
        if (
            for_member
            and item.key == "homework"
            and data.get("homework") is not None
            and not data.get("homework_released")
        ):
            out.points[item.key] = None
            out.provisional = True
            continue
        share = item.share(data)
        if share is None:
            out.points[item.key] = None
            out.provisional = True
            continue
        out.points[item.key] = round(item.points * share, 1)
    out.total = round(sum(p for p in out.points.values() if p is not None), 1)
    out.result = "excellent" if out.total >= excellent else "pass" if out.total >= pass_mark else "fail"
    return out


def workshop_scores(workshop, year: int | None = None) -> list[Score]:
    """Every member of the workshop with their score, highest total first (ties by name)."""
    members = communities.member_page(workshop, page=1, per_page=MAX_MEMBERS).items
    people = {user.id: user.name for user, _group in members}
    data = inputs(workshop, list(people), year)
    scores = [score(uid, people[uid], data[uid]) for uid in people]
    return sorted(scores, key=lambda s: (-s.total, s.name, s.user_id))


def summary(scores: list[Score]) -> dict:
    """Counts and rates of each result, and the average total."""
    n = len(scores)
    counts = {r: sum(1 for s in scores if s.result == r) for r in RESULTS}
    rate = (lambda k: round(100.0 * k / n, 1)) if n else (lambda k: 0.0)
    return {"members": n, **counts, "pass_rate": rate(counts["pass"] + counts["excellent"]),
            "excellent_rate": rate(counts["excellent"]),
            "average": round(sum(s.total for s in scores) / n, 1) if n else 0.0}  # fmt: skip


def my_scores(user) -> list[tuple[object, Score]]:
    """The user's own assessment in each workshop they are a member of (the personal space)."""
    out = []
    for workshop in communities.member_workshops(user):
        data = inputs(workshop, [user.id])
        out.append((workshop, score(user.id, user.name, data[user.id], for_member=True)))
    return out


def export_workbook(workshop) -> bytes:
    """The workshop's assessment as .xlsx: a row per member, a column per item, total and 考核情况."""
    from flask_babel import gettext as _

    from lms.accounts.excel import Sheet, write_workbook

    s = scheme()
    labels = {"excellent": _("Excellent"), "pass": _("Pass"), "fail": _("Fail")}
    header = [_("Name"), *(f"{i.label}（{i.points:g}）" for i in s.items), _("Total"), _("Assessment result")]
    rows = [
        [sc.name, *(sc.points.get(i.key) for i in s.items), sc.total, labels[sc.result]]
        for sc in workshop_scores(workshop)
    ]
    return write_workbook(Sheet(_("Assessment"), header, rows, widths=(14, *([10] * len(s.items)), 8, 8)))
