"""Learning statistics 学情统计 of regions and schools (DOMAIN.md §10): who takes part, who studies,
who has reached the full course-study time, how much time; broken down by sub-unit, with a daily
trend from stored snapshots and the courses most chosen.

The figures (one definition, shown on the page beside them):
  teachers     active accounts with a school in the unit;
  signed_in    of those, who have signed in at least once (参训率 = signed_in / teachers);
  studying     who have credited course-study time (学习率 = studying / teachers);
  completed    who reached the full course-study time, 1,260 minutes = 35 points (达标率);
  active_week  who were seen in the last 7 days;
  seconds      credited study time, all of them (人均 = seconds / teachers).

Every figure comes from a few GROUP BY queries over SELECTs the owning domains hand out
(accounts.teachers_select, courses.watch.study_select / course_progress_select): this domain
reads no other domain's tables, and no page's query count grows with the units or people it shows.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta

from cachetools import TTLCache
from flask import current_app
from sqlalchemy import case, delete, func, insert, select

from lms import access
from lms.accounts import services as accounts
from lms.communities import services as communities
from lms.communities.models import Region, School
from lms.core.i18n import site_zone
from lms.core.pagination import Page
from lms.courses import services as courses
from lms.courses import watch
from lms.extensions import db
from lms.stats.models import LearningSnapshot

#: Days of daily figures a report's trend shows.
TREND_DAYS = 30
#: Courses in a report's course-choice list.
TOP_COURSES = 10
#: The people filters of a school's list.
PEOPLE_FILTERS = ("all", "not_signed_in", "not_studying", "not_completed")


@dataclass
class Figures:
    teachers: int = 0
    signed_in: int = 0
    studying: int = 0
    completed: int = 0
    active_week: int = 0
    seconds: float = 0.0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @staticmethod
    def _pct(part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else 0.0

    @property
    def participation(self) -> float:
        return self._pct(self.signed_in, self.teachers)

    @property
    def learning(self) -> float:
        return self._pct(self.studying, self.teachers)

    @property
    def completion(self) -> float:
        return self._pct(self.completed, self.teachers)

    @property
    def avg_minutes(self) -> int:
        return int(self.seconds / 60 / self.teachers) if self.teachers else 0

    @property
    def hours(self) -> float:
        return round(self.seconds / 3600, 1)

    def as_dict(self) -> dict:
        return {**asdict(self), "seconds": round(self.seconds), "hours": self.hours,
                "participation": self.participation, "learning": self.learning,
                "completion": self.completion, "avg_minutes": self.avg_minutes}  # fmt: skip


def unit_of(kind: str, ident: int):
    """The region or school a report is about; 404 when there is none."""
    return communities.get_or_404(Region if kind == "region" else School, ident)


def kind_of(unit) -> str:
    """ "region" or "school": what the pages, the API and the snapshots call a unit."""
    return "school" if isinstance(unit, School) else "region"


def may_view(user, unit) -> bool:
    return access.can(user, "stats.view", unit)


def _people(school_ids=None):
    """The teachers and their credited seconds, one row each: a subquery (user_id, school_id,
    signed_in_at, seen_at, name, seconds)."""
    t = accounts.teachers_select(school_ids).subquery()
    w = watch.study_select().subquery()
    secs = func.coalesce(w.c.seconds, 0.0)
    return (
        select(t.c.user_id, t.c.school_id, t.c.signed_in_at, t.c.seen_at, t.c.name, secs.label("seconds"))
        .select_from(t.outerjoin(w, w.c.user_id == t.c.user_id))
        .subquery()
    )


def per_school(school_ids=None, now: datetime | None = None) -> dict[int, Figures]:
    """{school_id: Figures} of the given schools (all schools when None), in one query."""
    p = _people(school_ids)
    since = (now or datetime.now(UTC)) - timedelta(days=7)
    full = watch.FULL_SCORE_MINUTES * 60
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    stmt = select(
        p.c.school_id,
        func.count(),
        func.count(p.c.signed_in_at),
        one(p.c.seconds > 0),
        one(p.c.seconds >= full),
        one(p.c.seen_at >= since),
        func.sum(p.c.seconds),
    ).group_by(p.c.school_id)
    return {
        sid: Figures(int(n), int(si or 0), int(st or 0), int(co or 0), int(aw or 0), float(s or 0.0))
        for sid, n, si, st, co, aw, s in db.session.execute(stmt)
    }


_cache_lock = threading.Lock()


def _memo(key: tuple, compute):
    """compute() kept STATS_CACHE_SECONDS in this process: a region's figures aggregate every teacher
    under it, and its page and the panel of its community page are opened again and again."""
    seconds = current_app.config["STATS_CACHE_SECONDS"]
    if not seconds:
        return compute()
    cache = current_app.extensions.get("stats_cache")
    if cache is None or cache.ttl != seconds:
        cache = current_app.extensions["stats_cache"] = TTLCache(maxsize=2048, ttl=seconds)
    with _cache_lock:
        hit = cache.get(key)
    if hit is not None:
        return hit
    value = compute()
    with _cache_lock:
        cache[key] = value
    return value


def forget() -> None:
    """Drop the kept figures (after a snapshot; tests)."""
    cache = current_app.extensions.get("stats_cache")
    if cache is not None:
        with _cache_lock:
            cache.clear()


def _snapshots(kind: str, ids: list[int], day: date) -> dict[int, LearningSnapshot]:
    if not ids:
        return {}
    rows = db.session.scalars(
        select(LearningSnapshot).where(
            LearningSnapshot.unit_kind == kind, LearningSnapshot.unit_id.in_(ids), LearningSnapshot.day == day
        )
    )
    return {r.unit_id: r for r in rows}


def today(now: datetime | None = None) -> date:
    """The site's local date (a daily report's day is the teachers' day, not UTC's)."""
    return (now or datetime.now(UTC)).astimezone(site_zone()).date()


def _courses(school_ids) -> list[dict]:
    """The most chosen courses of the unit's teachers: started (a progress row) and finished (every
    lesson done), most started first."""
    t = accounts.teachers_select(school_ids).subquery()
    cp = watch.course_progress_select().subquery()
    n = func.count()
    rows = db.session.execute(
        select(cp.c.course_id, n, func.sum(cp.c.finished), func.sum(cp.c.seconds))
        .join(t, t.c.user_id == cp.c.user_id)
        .group_by(cp.c.course_id)
        .order_by(n.desc(), cp.c.course_id)
        .limit(TOP_COURSES)
    ).all()
    labels = courses.course_labels(r[0] for r in rows)
    return [
        {"id": cid, **labels.get(cid, {"title": "?", "hours": 0.0, "kind": None}), "started": int(started),
         "finished": int(finished or 0), "study_hours": round(float(secs or 0) / 3600, 1)}
        for cid, started, finished, secs in rows
    ]  # fmt: skip


def trend(kind: str, unit_id: int, days: int = TREND_DAYS, now: datetime | None = None) -> list[dict]:
    """The unit's stored daily figures of the last `days` days, oldest first."""
    first = today(now) - timedelta(days=days - 1)
    rows = db.session.scalars(
        select(LearningSnapshot)
        .where(LearningSnapshot.unit_kind == kind, LearningSnapshot.unit_id == unit_id, LearningSnapshot.day >= first)
        .order_by(LearningSnapshot.day)
    )
    out = []
    for r in rows:
        f = Figures(r.teachers, r.signed_in, r.studying, r.completed, r.active_week, r.seconds)
        out.append({"day": r.day.isoformat(), **f.as_dict()})
    return out


def region_report(region: Region, now: datetime | None = None) -> dict:
    """A region's figures, per child region (a county: per school), with yesterday's learners beside
    today's, the daily trend and the course choice."""
    units, school_unit = communities.units_below(region)
    by_school = _region_schools(region, school_unit, now)
    child_kind = "school" if region.level == "county" else "region"
    figures = {u.id: Figures() for u in units}
    for sid, f in by_school.items():
        figures[school_unit[sid]].add(f)
    total = Figures()
    for f in figures.values():
        total.add(f)
    before = _snapshots(child_kind, [u.id for u in units], today(now) - timedelta(days=1))
    rows = []
    for u in units:
        f = figures[u.id]
        prev = before.get(u.id)
        rows.append({"unit": u, "kind": child_kind, "figures": f,
                     "new_learners": f.studying - prev.studying if prev is not None else None})  # fmt: skip
    return {"unit": region, "kind": "region", "child_kind": child_kind, "total": total, "rows": rows,
            "trend": trend("region", region.id, now=now),
            "courses": _memo(("courses", "region", region.id), lambda: _courses(list(school_unit) or [0]))}  # fmt: skip


def totals(unit) -> Figures:
    """The figures of a whole region or school (the pages' summary panel)."""
    if isinstance(unit, School):
        return _school_figures(unit)
    _units, school_unit = communities.units_below(unit)
    total = Figures()
    for f in _region_schools(unit, school_unit).values():
        total.add(f)
    return total


def _region_schools(region: Region, school_unit: dict, now: datetime | None = None) -> dict[int, Figures]:
    if not school_unit:
        return {}
    if now is not None:  # a report as of another time is never kept
        return per_school(list(school_unit), now)
    return _memo(("schools", "region", region.id), lambda: per_school(list(school_unit)))


def _school_figures(school: School, now: datetime | None = None) -> Figures:
    if now is not None:
        return per_school([school.id], now).get(school.id, Figures())
    return _memo(("schools", "school", school.id), lambda: per_school([school.id]).get(school.id, Figures()))


def school_report(school: School, now: datetime | None = None) -> dict:
    return {"unit": school, "kind": "school", "child_kind": None, "total": _school_figures(school, now), "rows": [],
            "trend": trend("school", school.id, now=now),
            "courses": _memo(("courses", "school", school.id), lambda: _courses([school.id]))}  # fmt: skip


def _people_rows(school: School, which: str):
    p = _people([school.id])
    conds = {
        "not_signed_in": p.c.signed_in_at.is_(None),
        "not_studying": p.c.seconds <= 0,
        "not_completed": p.c.seconds < watch.FULL_SCORE_MINUTES * 60,
    }
    stmt = select(p)
    if which in conds:
        stmt = stmt.where(conds[which])
    return stmt, p


def _person(r, since: datetime) -> dict:
    seen = r.seen_at.replace(tzinfo=UTC) if r.seen_at is not None and r.seen_at.tzinfo is None else r.seen_at
    return {"id": r.user_id, "name": r.name, "signed_in": r.signed_in_at is not None, "seen_at": seen,
            "active_week": seen is not None and seen >= since, "minutes": int(r.seconds // 60),
            "hours": watch.study_hours(r.seconds), "score": watch.course_study_score(r.seconds)}  # fmt: skip


def school_people(school: School, which: str = "all", page: int = 1, per_page: int | None = 20,
                  now: datetime | None = None) -> Page:  # fmt: skip
    """A page of a school's teachers with their study time, least studied first (whom to urge on),
    narrowed by a PEOPLE_FILTERS filter; two queries (one, unpaged, when per_page is None)."""
    stmt, p = _people_rows(school, which)
    stmt = stmt.order_by(p.c.seconds, p.c.name, p.c.user_id)
    since = (now or datetime.now(UTC)) - timedelta(days=7)
    if per_page is None:
        items = [_person(r, since) for r in db.session.execute(stmt)]
        return Page(items=items, page=1, per_page=max(1, len(items)), total=len(items))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    return Page(items=[_person(r, since) for r in rows], page=page, per_page=per_page, total=total)


def export_workbook(unit) -> bytes:
    """The report as .xlsx: the figures per sub-unit (a school: per teacher) with the total, and the
    course choice. Headers in the reader's language; cells guarded by the Excel adapter."""
    from flask_babel import gettext as _

    from lms.accounts.excel import Sheet, write_workbook

    figures_head = [_("Teachers"), _("Signed in"), _("Participation %"), _("Studying"), _("Learning %"),
                    _("Full study time"), _("Completion %"), _("Active in 7 days"), _("Study hours"),
                    _("Minutes per teacher")]  # fmt: skip

    def figs(f: Figures) -> list:
        return [f.teachers, f.signed_in, f.participation, f.studying, f.learning, f.completed, f.completion,
                f.active_week, f.hours, f.avg_minutes]  # fmt: skip

    if isinstance(unit, School):
        report = school_report(unit)
        people = school_people(unit, per_page=None).items
        yes, no = _("Yes"), _("No")
        main = Sheet(_("Teachers"), [_("Name"), _("Signed in"), _("Active in 7 days"), _("Study minutes"),
                                     _("Study hours"), _("Course-study score")],
                     [[p["name"], yes if p["signed_in"] else no, yes if p["active_week"] else no,
                       p["minutes"], p["hours"], p["score"]] for p in people],
                     widths=(16, 10, 12, 12, 12, 14))  # fmt: skip
        summary = Sheet(_("Summary"), [_("School"), *figures_head], [[unit.name, *figs(report["total"])]],
                        widths=(24, *([12] * 10)))  # fmt: skip
        sheets = [summary, main]
    else:
        report = region_report(unit)
        label = _("School") if report["child_kind"] == "school" else _("Region")
        rows = [[r["unit"].name, *figs(r["figures"])] for r in report["rows"]]
        rows.append([_("Total"), *figs(report["total"])])
        sheets = [Sheet(_("Summary"), [label, *figures_head], rows, widths=(24, *([12] * 10)))]
    sheets.append(Sheet(_("Courses"), [_("Course"), _("Hours"), _("Started"), _("Finished"), _("Study hours")],
                        [[c["title"], c["hours"], c["started"], c["finished"], c["study_hours"]]
                         for c in report["courses"]], widths=(40, 8, 10, 10, 12)))  # fmt: skip
    return write_workbook(*sheets)


def bulletin(unit, now: datetime | None = None) -> dict:
    """A draft learning bulletin 学情通报 of a region or school (a brief's title and HTML body) from its
    report: the totals in a sentence, a line per sub-unit, the three ahead and the units below 80%
    learning to urge on. The author edits it before publishing; nothing is stored here."""
    from flask_babel import format_date
    from flask_babel import gettext as _
    from markupsafe import escape

    report = region_report(unit, now) if isinstance(unit, Region) else school_report(unit, now)
    t = report["total"]
    day = format_date(today(now), "long")
    pct = "{:g}%".format
    # Paragraphs and a list only: the brief editor (Quill) keeps no tables.
    parts = [
        _("As of %(day)s, of %(teachers)s teachers %(signed_in)s have signed in (participation %(p)s), "
          "%(studying)s have started course study (learning %(l)s) and %(completed)s have reached the "
          "full study time (%(c)s); %(minutes)s minutes of study per teacher.",
          day=day, teachers=t.teachers, signed_in=t.signed_in, p=pct(t.participation), studying=t.studying,
          l=pct(t.learning), completed=t.completed, c=pct(t.completion), minutes=t.avg_minutes)
    ]  # fmt: skip
    rows = [r for r in report["rows"] if r["figures"].teachers]
    items = [
        _("%(name)s: %(teachers)s teachers, participation %(p)s, learning %(l)s, full study time %(c)s, "
          "%(minutes)s minutes per teacher", name=r["unit"].name, teachers=f.teachers, p=pct(f.participation),
          l=pct(f.learning), c=pct(f.completion), minutes=f.avg_minutes)
        for r in rows
        for f in (r["figures"],)
    ]  # fmt: skip
    ranked = sorted(rows, key=lambda r: (-r["figures"].learning, r["unit"].name))
    tail = []
    if rows:
        tail.append(_("Ahead in learning: %(names)s.", names="、".join(r["unit"].name for r in ranked[:3])))
        low = [r["unit"].name for r in ranked if r["figures"].learning < 80]
        if low:
            tail.append(_("Learning below 80%%: %(names)s. Please urge your teachers on.", names="、".join(low)))
    html = "".join(f"<p>{escape(p)}</p>" for p in parts)
    if items:
        html += "<ol>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ol>"
    html += "".join(f"<p>{escape(p)}</p>" for p in tail)
    return {"title": _("Learning bulletin of %(name)s (%(day)s)", name=unit.name, day=day), "body": html}


# --- the daily snapshot ---------------------------------------------------------------------------


def take_snapshot(now: datetime | None = None) -> int:
    """Store today's figures of every school and region (rolled up the tree), replacing today's
    earlier ones; returns the rows written. Two GROUP BY queries and the region tree, whatever the
    number of schools; one transaction, so a report never sees half a day."""
    now = now or datetime.now(UTC)
    day = today(now)
    by_school = per_school(None, now)
    county_of = communities.all_school_counties()
    parents = communities.region_parents()
    regions: dict[int, Figures] = {rid: Figures() for rid in parents}
    for sid, f in by_school.items():
        rid = county_of.get(sid)
        while rid is not None:
            regions[rid].add(f)
            rid = parents.get(rid)
    rows = [("school", sid, by_school.get(sid, Figures())) for sid in county_of]
    rows += [("region", rid, f) for rid, f in regions.items()]
    db.session.execute(delete(LearningSnapshot).where(LearningSnapshot.day == day))
    if rows:
        db.session.execute(
            insert(LearningSnapshot),
            [{"unit_kind": k, "unit_id": i, "day": day, "taken_at": now, **asdict(f)} for k, i, f in rows],
        )
    db.session.commit()
    forget()
    return len(rows)
