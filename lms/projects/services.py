"""Training projects 培训项目: creating and editing them, who sees them, enrolment (调训).

Who may do what, through lms.access only:
- `project.manage` (region admins) in the region that runs the project: create it there, edit it;
- `project.view` in the project: see it (region admins above it, its project managers, a supervisor,
  and its trainees, whom lms.access gives the implied `trainee` role there);
- `project.enrol` in the project (region admins above it, its project managers): enrol or withdraw
  any teacher whose school lies in the project's region;
- `project.nominate` (school admins; it looks up the tree): a school admin sees the projects of the
  regions above the school and enrols or withdraws the teachers of the school(s) where they hold it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms import access
from lms.access.services import new_context
from lms.accounts import services as accounts
from lms.communities import services as communities
from lms.core.pagination import Page, paginate
from lms.core.text import plain
from lms.extensions import db
from lms.projects.models import MODES, Project, ProjectEnrolment

if TYPE_CHECKING:  # annotations only: other domains' rows come through their services (DESIGN.md)
    from lms.accounts.models import User
    from lms.communities.models import Region, School

MAX_HOURS = Decimal("2000")
MAX_PLACES = 1_000_000
#: How many teachers one bulk enrolment (a whole school) may add at once.
MAX_BULK = 2000


class ProjectError(ValueError):
    """A rule was broken; the message is a code the views translate."""


# --- facts -------------------------------------------------------------------------------------


@dataclass
class Facts:
    """What a project says about itself, checked (see `check_facts`)."""

    name: str
    target_group: str = ""
    mode: str = "online"
    hours_text: str = ""
    online_hours: Decimal | None = None
    onsite_days: int | None = None
    places: int | None = None
    institution: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    description: str = ""


def check_facts(
    name,
    target_group="",
    mode="online",
    hours_text="",
    online_hours=None,
    onsite_days=None,
    places=None,
    institution="",
    starts_on=None,
    ends_on=None,
    description="",
) -> Facts:
    """Clean and check what a form or the API sent; ProjectError names the first field that is wrong."""
    name = plain(name or "", 200)
    if not name:
        raise ProjectError("name_required")
    if mode not in MODES:
        raise ProjectError("bad_mode")
    hours = None
    if online_hours not in (None, ""):
        try:
            hours = Decimal(str(online_hours)).quantize(Decimal("0.1"))
        except (InvalidOperation, ValueError):
            raise ProjectError("bad_hours") from None
        if not hours.is_finite() or hours < 0 or hours > MAX_HOURS:
            raise ProjectError("bad_hours")
    days = _int_or_none(onsite_days, 0, 366, "bad_days")
    seats = _int_or_none(places, 0, MAX_PLACES, "bad_places")
    for value in (starts_on, ends_on):
        if value is not None and not isinstance(value, date):
            raise ProjectError("bad_dates")
    if starts_on and ends_on and ends_on < starts_on:
        raise ProjectError("end_before_start")
    return Facts(
        name=name,
        target_group=plain(target_group or "", 200),
        mode=mode,
        hours_text=plain(hours_text or "", 100),
        online_hours=hours,
        onsite_days=days,
        places=seats,
        institution=plain(institution or "", 200),
        starts_on=starts_on,
        ends_on=ends_on,
        description=plain(description or "", 5000, multiline=True),
    )


def _int_or_none(value, low: int, high: int, code: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ProjectError(code)
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ProjectError(code) from None
    if n < low or n > high:
        raise ProjectError(code)
    return n


# --- creating and editing ----------------------------------------------------------------------


def regions_for_new(user) -> list[Region]:
    """The regions in which the user may create projects (those `project.manage` reaches)."""
    if not access.reach_paths(user, "project.manage"):
        return []
    return communities.regions_in(access.context_ids(user, "project.manage"), limit=500)


def create(actor, region: Region, facts: Facts) -> Project:
    if region is None or not access.can(actor, "project.manage", region):
        raise ProjectError("forbidden")
    ctx = new_context("project", facts.name, region.context)
    project = Project(region=region, context=ctx, created_by=actor.id if actor else None, **vars(facts))
    db.session.add(project)
    db.session.commit()
    return project


def update_facts(actor, project: Project, facts: Facts) -> Project:
    if not access.can(actor, "project.manage", project):
        raise ProjectError("forbidden")
    for key, value in vars(facts).items():
        setattr(project, key, value)
    project.context.name = facts.name
    db.session.commit()
    return project


# --- who sees what -----------------------------------------------------------------------------


def may_view(user, project: Project) -> bool:
    return access.can(user, "project.view", project) or access.can(user, "project.nominate", project.region)


def may_manage(user, project: Project) -> bool:
    return access.can(user, "project.manage", project)


def may_enrol(user, project: Project) -> bool:
    """Whether the user enrols anyone at all into this project (some teachers, for a school admin)."""
    return access.can(user, "project.enrol", project) or access.can(user, "project.nominate", project.region)


def get_visible(user, project_id: int) -> Project | None:
    project = db.session.get(Project, project_id)
    if project is None or not may_view(user, project):
        return None
    return project


def _visible_ids(user):
    """A select of the ids of the projects the user may see: `project.view` on the project, or
    `project.nominate` on the region that runs it (a school admin, for the regions above the school)."""
    seen = select(Project.id).where(Project.context_id.in_(access.context_ids(user, "project.view")))
    if not access.holds_anywhere(user, "project.nominate"):
        return seen
    regions = communities.region_ids_in(access.context_ids(user, "project.nominate"))
    return seen.union(select(Project.id).where(Project.region_id.in_(regions)))


def visible_projects(user, q: str = "", page: int = 1, per_page: int = 20) -> Page:
    """The projects the user may see, newest start first, optionally by part of the name."""
    # The list shows each project's region: loaded with it, not one query per row.
    stmt = select(Project).options(selectinload(Project.region)).where(Project.id.in_(_visible_ids(user)))
    q = (q or "").strip()[:100]
    if q:
        stmt = stmt.where(Project.name.contains(q, autoescape=True))
    stmt = stmt.order_by(Project.starts_on.desc().nulls_last(), Project.id.desc())
    return paginate(stmt, page, per_page)


def enrolment_of(user, project: Project) -> ProjectEnrolment | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(ProjectEnrolment).where(ProjectEnrolment.project_id == project.id, ProjectEnrolment.user_id == user.id)
    )


def my_projects(user, limit: int = 20) -> list[tuple[Project, str]]:
    """The projects a user takes part in, as (project, role): enrolled ("trainee") or managing
    ("project_manager"), newest first; from the user's grants, so one query."""
    roles: dict[int, str] = {}
    for gr in access.grants(user):
        if gr.role in ("trainee", "project_manager"):
            roles.setdefault(gr.context_id, gr.role)
    if not roles:
        return []
    rows = db.session.scalars(
        select(Project)
        .where(Project.context_id.in_(roles))
        .order_by(Project.starts_on.desc().nulls_last(), Project.id.desc())
        .limit(limit)
    )
    return [(p, roles[p.context_id]) for p in rows]


def trainee_context_ids(user) -> set[int]:
    """Contexts of the projects the user is enrolled in (for other domains: course requirements)."""
    return {gr.context_id for gr in access.grants(user) if gr.role == "trainee"}


# --- enrolment ---------------------------------------------------------------------------------


def _in_scope(project: Project, school: School | None) -> bool:
    return communities.school_in_region(school, project.region)


def may_enrol_teacher(actor, project: Project, teacher: User) -> bool:
    """The actor may enrol (or withdraw) this teacher: the teacher's school lies in the project's
    region, and the actor holds `project.enrol` in the project or nominates for that school."""
    if teacher is None or teacher.school is None or not _in_scope(project, teacher.school):
        return False
    if access.can(actor, "project.enrol", project):
        return True
    return access.can(actor, "project.nominate", project.region) and access.can(
        actor, "project.nominate", teacher.school
    )


def _scope_school_ids(actor, project: Project):
    """A select of the ids of the schools whose teachers the actor may enrol into the project; None
    when the actor may enrol nobody."""
    if access.can(actor, "project.enrol", project):
        return communities.school_ids_under(project.region)
    if not access.can(actor, "project.nominate", project.region):
        return None
    return communities.school_ids_under(project.region, within=access.reach_paths(actor, "project.nominate"))


def _bump(project: Project, delta: int) -> None:
    if delta:
        db.session.execute(
            update(Project).where(Project.id == project.id).values(enrolled_count=Project.enrolled_count + delta)
        )


def enrol(actor, project: Project, teachers: list[User], retry: bool = True) -> int:
    """Enrol these teachers; returns how many were newly enrolled. All-or-nothing: one teacher the
    actor may not enrol (outside the project's region, another school's, inactive) refuses the lot."""
    if not may_enrol(actor, project):
        raise ProjectError("forbidden")
    wanted = {t.id: t for t in teachers if t is not None}
    if not wanted:
        raise ProjectError("nobody")
    if len(wanted) > MAX_BULK:
        raise ProjectError("too_many")
    for t in wanted.values():
        if not t.active or not may_enrol_teacher(actor, project, t):
            raise ProjectError("teacher_out_of_scope")
    have = set(
        db.session.scalars(
            select(ProjectEnrolment.user_id).where(
                ProjectEnrolment.project_id == project.id, ProjectEnrolment.user_id.in_(wanted)
            )
        )
    )
    new = [uid for uid in wanted if uid not in have]
    try:
        db.session.add_all(ProjectEnrolment(project_id=project.id, user_id=uid, enrolled_by=actor.id) for uid in new)
        db.session.flush()
        _bump(project, len(new))
        db.session.commit()
    except IntegrityError:
        # Another admin enrolled some of them meanwhile (a double-sent form): enrol the rest.
        db.session.rollback()
        if retry:
            return enrol(actor, project, list(wanted.values()), retry=False)
        raise
    access.services.forget()
    db.session.refresh(project)
    return len(new)


def enrol_school(actor, project: Project, school: School) -> int:
    """Enrol every active teacher of a school (a school admin nominates the whole staff)."""
    if not may_enrol(actor, project):
        raise ProjectError("forbidden")
    if school is None or not _in_scope(project, school):
        raise ProjectError("school_out_of_scope")
    if not access.can(actor, "project.enrol", project) and not access.can(actor, "project.nominate", school):
        raise ProjectError("school_out_of_scope")  # a school admin's neighbour school
    teachers = accounts.active_teachers_of(school, MAX_BULK + 1)
    if not teachers:
        raise ProjectError("nobody")
    return enrol(actor, project, teachers)


def unenrol(actor, project: Project, teacher: User) -> bool:
    """Withdraw a teacher; False when they were not enrolled."""
    if not may_enrol(actor, project):
        raise ProjectError("forbidden")
    row = enrolment_of(teacher, project) if teacher is not None else None
    if row is None:
        return False
    # Whoever enrols for the whole project withdraws anyone, one who moved away included (their
    # school no longer in scope, or none); a school's nominator only its own teachers.
    if not access.can(actor, "project.enrol", project) and not may_enrol_teacher(actor, project, teacher):
        raise ProjectError("teacher_out_of_scope")
    db.session.delete(row)
    _bump(project, -1)
    db.session.commit()
    access.services.forget()
    db.session.refresh(project)
    return True


def candidates(actor, project: Project, q: str = "", school_id: int | None = None, page: int = 1,
               per_page: int = 20) -> Page:  # fmt: skip
    """Active teachers the actor may enrol into the project, by name or username, optionally of one
    school; each row is (user, school, enrolled)."""
    school_ids = _scope_school_ids(actor, project)
    if school_ids is None:
        return Page(items=[], page=1, per_page=per_page, total=0)
    result = accounts.teachers_page(school_ids=school_ids, q=q, school_id=school_id, active_only=True, page=page,
                                    per_page=per_page)  # fmt: skip
    ids = [user.id for user, _school in result.items]
    have = set(
        db.session.scalars(
            select(ProjectEnrolment.user_id).where(ProjectEnrolment.project_id == project.id,
                                                   ProjectEnrolment.user_id.in_(ids))
        )
    ) if ids else set()  # fmt: skip
    result.items = [(user, school, user.id in have) for user, school in result.items]
    return result


def schools_in_scope(actor, project: Project, limit: int = 500) -> list[School]:
    """Schools whose teachers the actor may enrol, for the bulk form."""
    school_ids = _scope_school_ids(actor, project)
    if school_ids is None:
        return []
    return communities.schools_by_name(school_ids, limit)


def enrolled(actor, project: Project, q: str = "", page: int = 1, per_page: int = 20) -> Page:
    """The enrolled teachers the actor may list: all of them for whoever enrols into the project or
    lists its members (its managers, the admins above it); a school admin, their own school's."""
    user_ids = select(ProjectEnrolment.user_id).where(ProjectEnrolment.project_id == project.id)
    school_ids = None
    if not (access.can(actor, "project.enrol", project) or access.can(actor, "member.list", project)):
        school_ids = _scope_school_ids(actor, project)
        if school_ids is None:
            return Page(items=[], page=1, per_page=per_page, total=0)
    result = accounts.teachers_page(user_ids=user_ids, school_ids=school_ids, q=q, page=page, per_page=per_page)
    ids = [user.id for user, _school in result.items]
    since = dict(
        db.session.execute(
            select(ProjectEnrolment.user_id, ProjectEnrolment.created_at).where(
                ProjectEnrolment.project_id == project.id, ProjectEnrolment.user_id.in_(ids)
            )
        ).all()
    ) if ids else {}  # fmt: skip
    result.items = [(user, school, since.get(user.id)) for user, school in result.items]
    return result


def find_teacher(user_id) -> User | None:
    return accounts.find_user(user_id)


def find_school(school_id) -> School | None:
    return communities.find_school(school_id)


def find_region(region_id) -> Region | None:
    return communities.find_region(region_id)


# --- courses of a project ----------------------------------------------------------------------


def courses_of(project: Project) -> list:
    """The published courses assigned to the project (required first), as (course, required)."""
    from lms.courses import services as courses

    return courses.workshop_courses(project)


def enrolled_under(path_like: str):
    """A select of the ids (column "uid") of teachers enrolled in projects whose context path is
    LIKE `path_like`: the audience of what is posted or scheduled there (lms.notifications)."""
    return (
        select(ProjectEnrolment.user_id.label("uid"))
        .join(Project, ProjectEnrolment.project_id == Project.id)
        .where(Project.context_id.in_(access.context_ids_like(path_like)))
    )
