"""Homework with peer review: every rule, commit, notification and signal of the domain.

Pure arithmetic lives in allocation.py and grading.py; this module reads and writes the tables.
Times are passed in (``now``) so tests and the tick command can move the clock.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context
from flask_babel import gettext
from sqlalchemy import func, or_, select, update

from lms import access
from lms.access.models import Context, RoleAssignment
from lms.core.db import utcnow
from lms.core.i18n import site_gettext
from lms.core.text import normalize, plain, rich_text
from lms.core.uploads import UploadError
from lms.extensions import db
from lms.homework import grading
from lms.homework.allocation import Pair, Participant, allocate, reassign
from lms.homework.models import (
    PHASES,
    Assignment,
    Review,
    ReviewAllocation,
    ReviewerGrade,
    Submission,
    SubmissionFile,
)
from lms.signals import homework_graded, homework_published, homework_review_graded

TITLE_MAX = 200
BODY_MAX = 50_000
COMMENT_MAX = 5_000
MAX_FILES = 5
MAX_CRITERIA = 12
MAX_LEVELS = 8
REMIND_BEFORE = timedelta(hours=24)
STRATEGIES = ("median", "mean", "weighted")  # weighted: by each reviewer's grade for reviewing


def _(msg: str, **kw) -> str:
    """gettext that also works outside a request (the demo data): default locale. Only for what the
    current reader sees (pages, exports): notification texts are stored once for another reader and
    use site_gettext, so a reviewer's English UI never reaches a Chinese author (nor hints at who
    reviewed)."""
    return gettext(msg, **kw) if has_request_context() else site_gettext(msg, **kw)


class HomeworkError(ValueError):
    """A rule was broken; the message is a code the views turn into a sentence."""


# --- form (rubric) -------------------------------------------------------------------------------


def _num(value, code: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HomeworkError(code) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise HomeworkError(code)
    return number


def parse_form(data: dict | None) -> dict:
    """Validate and normalise the stored rubric/weighted form JSON; raises HomeworkError."""
    if not isinstance(data, dict):
        raise HomeworkError("form_invalid")
    kind = data.get("kind", "rubric")
    if kind not in ("rubric", "weighted"):
        raise HomeworkError("form_invalid")
    raw = data.get("criteria") or []
    if not isinstance(raw, list) or not raw:
        raise HomeworkError("form_empty")
    if len(raw) > MAX_CRITERIA:
        raise HomeworkError("form_too_many")
    criteria = []
    for c in raw:
        if not isinstance(c, dict):
            raise HomeworkError("form_invalid")
        name = plain(c.get("name"), 100)
        item = {"name": name, "description": plain(c.get("description"), 500, multiline=True)}
        if kind == "rubric":
            levels = []
            for lv in c.get("levels") or []:
                levels.append({"points": _num(lv.get("points"), "form_points"), "label": plain(lv.get("label"), 200)})
            if not levels or len(levels) > MAX_LEVELS:
                raise HomeworkError("form_levels")
            item["levels"] = sorted(levels, key=lambda lv: lv["points"])
        else:
            item["max_points"] = _num(c.get("max_points"), "form_points")
            item["weight"] = _num(c.get("weight", 1), "form_points")
        criteria.append(item)
    form = {"kind": kind, "criteria": criteria}
    try:
        build_form(form)
    except grading.GradingError as exc:
        raise HomeworkError("form_invalid:" + str(exc)) from None
    return form


def build_form(form: dict) -> grading.Form:
    crits = []
    for c in form["criteria"]:
        if form.get("kind") == "weighted":
            crits.append(grading.Criterion(c["name"], max_points=c["max_points"], weight=c["weight"]))
        else:
            crits.append(grading.Criterion(c["name"], levels=tuple(lv["points"] for lv in c["levels"])))
    return grading.Form(tuple(crits))


DEFAULT_FORM = {
    "kind": "rubric",
    "criteria": [
        {"name": "主题与目标", "description": "问题明确，目标清晰", "levels": [
            {"points": 0, "label": "未体现"}, {"points": 1, "label": "基本明确"},
            {"points": 2, "label": "明确"}, {"points": 3, "label": "清晰具体"}]},
        {"name": "过程与方法", "description": "设计合理，方法得当", "levels": [
            {"points": 0, "label": "缺失"}, {"points": 2, "label": "基本合理"},
            {"points": 3, "label": "合理"}, {"points": 4, "label": "科学有创意"}]},
        {"name": "反思与成效", "description": "有反思，有改进", "levels": [
            {"points": 0, "label": "无反思"}, {"points": 1, "label": "有反思"},
            {"points": 2, "label": "反思深入"}, {"points": 3, "label": "有改进成效"}]},
    ],
}  # fmt: skip


# --- participants and permissions ---------------------------------------------------------------


def participants(a: Assignment) -> list[Participant]:
    """Who must submit and review: the workshop's members, or the teachers under a region context."""
    from lms.accounts.models import User
    from lms.communities.models import School, WorkshopMembership

    if a.workshop_id is not None:
        rows = db.session.execute(
            select(WorkshopMembership.user_id, WorkshopMembership.group_id)
            .join(User, User.id == WorkshopMembership.user_id)
            .where(WorkshopMembership.workshop_id == a.workshop_id, User.active.is_(True))
            .order_by(WorkshopMembership.user_id)
        )
        return [Participant(uid, gid) for uid, gid in rows]
    prefix = a.context.path
    rows = db.session.execute(
        select(User.id, User.school_id)
        .join(School, User.school_id == School.id)
        .join(Context, School.context_id == Context.id)
        .where(Context.path.startswith(prefix, autoescape=True), User.active.is_(True))
        .order_by(User.id)
    )
    # In a region-wide assignment the school plays the part of the study group.
    return [Participant(uid, sid) for uid, sid in rows]


def is_participant(user, a: Assignment) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    from lms.communities.models import WorkshopMembership

    if a.workshop_id is not None:
        return (
            db.session.scalar(
                select(WorkshopMembership.id).where(
                    WorkshopMembership.workshop_id == a.workshop_id, WorkshopMembership.user_id == user.id
                )
            )
            is not None
        )
    school = user.school
    return school is not None and school.context.path.startswith(a.context.path)


def may_view(user, a: Assignment) -> bool:
    return access.can(user, "homework.view", a) or is_participant(user, a)


def may_manage(user, a: Assignment) -> bool:
    return access.can(user, "homework.manage", a)


def may_grade(user, a: Assignment) -> bool:
    return access.can(user, "homework.grade", a)


def publish_subject(user) -> str | None:
    """The subject an expert publishes in (DOMAIN.md §6: excellent work goes to the subject
    experts); None = every subject: an expert with no subject set, or anyone who holds
    homework.publish by another role (a site admin)."""
    from lms.access.roles import ROLE_CAPABILITIES
    from lms.access.services import grants

    roles = {gr.role for gr in grants(user) if "homework.publish" in ROLE_CAPABILITIES.get(gr.role, ())}
    if roles - {"expert"}:
        return None
    return getattr(user, "subject", None) or None


def subject_of(a: Assignment) -> str | None:
    """A workshop's subject; None (any expert) for class workshops and region-wide assignments."""
    return (a.workshop.subject or None) if a.workshop is not None else None


def may_publish(user, a: Assignment) -> bool:
    if not access.can(user, "homework.publish", a):
        return False
    mine, theirs = publish_subject(user), subject_of(a)
    return mine is None or theirs is None or mine == theirs


def sees_names(user, a: Assignment) -> bool:
    """Whether the viewer sees who wrote and who reviewed (hosts always; everyone when not anonymous)."""
    return not a.anonymous or may_grade(user, a)


def may_view_submission(user, s: Submission) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if s.author_id == user.id or may_grade(user, s.assignment):
        return True
    if s.published_at is not None and may_view(user, s.assignment):
        return True
    if s.recommended_at is not None and may_publish(user, s.assignment):
        return True
    a = s.assignment
    if a.phase_index < PHASES.index("review"):
        return False
    return (
        db.session.scalar(
            select(ReviewAllocation.id).where(
                ReviewAllocation.submission_id == s.id, ReviewAllocation.reviewer_id == user.id
            )
        )
        is not None
    )


CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread
CODE_CHARS = 10


def _pseudonym(a: Assignment, kind: str, ident: int) -> str:
    """A stable code for one person in one assignment, e.g. "7KQ2M-9XD3F".

    50 bits (10 base32 characters) from an HMAC keyed by SECRET_KEY: the chance that two of the
    11,140 people of a provincial assignment share a code is about 5e-8 (4 hex digits gave ~950
    colliding pairs), and without the key nobody can tell whose code it is.
    """
    secret = str(current_app.config.get("SECRET_KEY", "")).encode()
    digest = hmac.new(secret, f"{kind}:{a.id}:{ident}".encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big") >> (64 - 5 * CODE_CHARS)
    chars = "".join(CODE_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(CODE_CHARS)))
    return f"{chars[:5]}-{chars[5:]}"


def author_label(viewer, s: Submission) -> str:
    if s.author_id == getattr(viewer, "id", None) or sees_names(viewer, s.assignment):
        return s.author.name
    return _("Anonymous author %(code)s", code=_pseudonym(s.assignment, "a", s.author_id))


def reviewer_label(viewer, alloc: ReviewAllocation, index: int | None = None) -> str:
    a = alloc.submission.assignment
    if alloc.reviewer_id == getattr(viewer, "id", None) or sees_names(viewer, a):
        return alloc.reviewer.name
    if index is not None:
        return _("Reviewer %(n)s", n=index)
    return _("Anonymous reviewer %(code)s", code=_pseudonym(a, "r", alloc.reviewer_id))


def expert_ids(a: Assignment) -> list[int]:
    """Subject experts whose role reaches the assignment (in its workshop or a region above) and
    whose subject is the workshop's."""
    from lms.accounts.models import User

    ids = [int(x) for x in a.context.path.strip("/").split("/") if x]
    stmt = select(RoleAssignment.user_id).where(RoleAssignment.role == "expert", RoleAssignment.context_id.in_(ids))
    subject = subject_of(a)
    if subject is not None:
        # Only the experts of that subject (and those with no subject set, who see every subject).
        stmt = stmt.join(User, User.id == RoleAssignment.user_id).where(
            or_(User.subject.is_(None), User.subject == "", User.subject == subject)
        )
    return list(db.session.scalars(stmt.distinct().order_by(RoleAssignment.user_id)))


# --- assignments ---------------------------------------------------------------------------------


@dataclass
class AssignmentInput:
    title: str
    instructions: str = ""
    attachments_allowed: bool = True
    submission_opens_at: datetime | None = None
    submission_due_at: datetime | None = None
    review_due_at: datetime | None = None
    closes_at: datetime | None = None
    accept_late: bool = False
    reviews_per_member: int = 5
    reviews_per_submission: int | None = None
    reviewers_must_submit: bool = True
    anonymous: bool = True
    exclude_own_group: bool = True
    grade_strategy: str = "median"
    host_weight: float = 1.0
    quality_share: float = 0.5
    form: dict | None = None


def _check_input(data: AssignmentInput) -> dict:
    title = plain(data.title)
    if not title:
        raise HomeworkError("title_required")
    if len(title) > TITLE_MAX:
        raise HomeworkError("title_too_long")
    if len(data.instructions or "") > BODY_MAX:
        raise HomeworkError("body_too_long")
    if not 0 <= int(data.reviews_per_member) <= 20:
        raise HomeworkError("bad_reviews")
    if data.reviews_per_submission is not None and not 1 <= int(data.reviews_per_submission) <= 20:
        raise HomeworkError("bad_reviews")
    if data.grade_strategy not in STRATEGIES:
        raise HomeworkError("bad_strategy")
    if not 0 <= data.host_weight <= 1 or not 0 <= data.quality_share <= 1:
        raise HomeworkError("bad_weight")
    dates = [data.submission_opens_at, data.submission_due_at, data.review_due_at, data.closes_at]
    known = [d for d in dates if d is not None]
    if known != sorted(known):
        raise HomeworkError("dates_order")
    return {
        "title": title,
        "instructions_html": rich_text(data.instructions),
        "attachments_allowed": bool(data.attachments_allowed),
        "submission_opens_at": data.submission_opens_at,
        "submission_due_at": data.submission_due_at,
        "review_due_at": data.review_due_at,
        "closes_at": data.closes_at,
        "accept_late": bool(data.accept_late),
        "reviews_per_member": int(data.reviews_per_member),
        "reviews_per_submission": data.reviews_per_submission,
        "reviewers_must_submit": bool(data.reviewers_must_submit),
        "anonymous": bool(data.anonymous),
        "exclude_own_group": bool(data.exclude_own_group),
        "grade_strategy": data.grade_strategy,
        "host_weight": float(data.host_weight),
        "quality_share": float(data.quality_share),
        "form": parse_form(data.form if data.form is not None else DEFAULT_FORM),
    }


def create_assignment(user, context: Context, data: AssignmentInput) -> Assignment:
    """A workshop assignment (context of a workshop) or a region/project one (context of a region)."""
    from lms.communities.models import Workshop

    if context.kind not in ("workshop", "region"):
        raise HomeworkError("bad_context")
    if not access.can(user, "homework.manage", context):
        raise PermissionError("homework.manage")
    values = _check_input(data)
    workshop_id = None
    if context.kind == "workshop":
        workshop_id = db.session.scalar(select(Workshop.id).where(Workshop.context_id == context.id))
    a = Assignment(context_id=context.id, workshop_id=workshop_id, author_id=user.id, phase="setup", reminded=[],
                   **values)  # fmt: skip
    db.session.add(a)
    db.session.commit()
    return a


def anonymity_locked(a: Assignment) -> bool:
    """An anonymous assignment stays anonymous once any reviewer has been allocated."""
    return bool(a.anonymous) and (
        db.session.scalar(select(ReviewAllocation.id).where(ReviewAllocation.assignment_id == a.id).limit(1))
        is not None
    )


def update_assignment(user, a: Assignment, data: AssignmentInput) -> Assignment:
    if not may_manage(user, a):
        raise PermissionError("homework.manage")
    values = _check_input(data)
    has_reviews = db.session.scalar(
        select(func.count(Review.id)).join(ReviewAllocation).where(ReviewAllocation.assignment_id == a.id)
    )
    if has_reviews and values["form"] != a.form:
        raise HomeworkError("form_locked")  # scores already given against the old criteria
    if not values["anonymous"] and anonymity_locked(a):
        # Reviewers accepted their work, and may have written, as anonymous: names stay hidden.
        raise HomeworkError("anonymity_locked")
    for key, value in values.items():
        setattr(a, key, value)
    db.session.commit()
    recompute(a)
    return a


def get(ident: int) -> Assignment | None:
    return db.session.get(Assignment, ident)


def for_context(context: Context) -> list[Assignment]:
    return list(
        db.session.scalars(select(Assignment).where(Assignment.context_id == context.id).order_by(Assignment.id.desc()))
    )


def visible_assignments(user, limit: int = 100) -> list[Assignment]:
    """Assignments the user may open: by role (homework.view), by workshop membership, by school."""
    from lms.communities.models import WorkshopMembership

    by_role = access.visible(select(Assignment.id).join(Context, Assignment.context_id == Context.id), user,
                             "homework.view", Context.path)  # fmt: skip
    clauses = [Assignment.id.in_(by_role)]
    clauses.append(
        Assignment.workshop_id.in_(select(WorkshopMembership.workshop_id).where(WorkshopMembership.user_id == user.id))
    )
    if user.school is not None:
        path = user.school.context.path
        ancestors = ["/" + "/".join(path.strip("/").split("/")[: i + 1]) + "/" for i in range(path.count("/") - 1)]
        clauses.append(Assignment.context_id.in_(select(Context.id).where(Context.path.in_(ancestors))))
    stmt = select(Assignment).where(or_(*clauses)).order_by(Assignment.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


# --- phases --------------------------------------------------------------------------------------


def _due(a: Assignment) -> dict[str, datetime | None]:
    return {
        "setup": a.submission_opens_at,
        "submission": a.submission_due_at,
        "review": a.review_due_at,
        "grading": a.closes_at,
    }


def _lock(a: Assignment) -> None:
    """Hold the assignment's row until the next commit, so that allocations and grade recomputations
    of one assignment run one at a time across threads and processes.

    Commits first: the lock must be the first statement of its transaction, so that what the holder
    reads next includes what the previous holder committed (on SQLite too, whose WAL snapshot is
    taken at a transaction's first statement). A no-op UPDATE rather than SELECT … FOR UPDATE, which
    SQLite ignores; it leaves the key alone, so inserts of rows that reference the assignment do not
    wait for it on PostgreSQL.
    """
    db.session.commit()
    db.session.execute(
        update(Assignment)
        .where(Assignment.id == a.id)
        .values(phase=Assignment.phase)
        .execution_options(synchronize_session=False)
    )


def _enter(a: Assignment, phase: str, now: datetime) -> bool:
    """Move from the phase `a` was read in to `phase`, and do what entering it does, unless another
    request moved the assignment first (then `a` is reloaded and nothing else happens)."""
    old = a.phase
    moved = db.session.execute(
        update(Assignment)
        .where(Assignment.id == a.id, Assignment.phase == old)
        .values(phase=phase)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.refresh(a)
    if not moved:
        return False
    if phase == "review":
        allocate_reviews(a, now=now)
    elif phase in ("grading", "closed"):
        recompute(a)
    return True


def advance(user, a: Assignment, now: datetime | None = None, expected: str | None = None) -> str:
    """Move to the next phase by hand. `expected` is the phase the host saw: a double click, or a
    second host clicking at the same moment, must not skip the phase after it."""
    if not may_manage(user, a):
        raise PermissionError("homework.manage")
    if expected is not None and expected != a.phase:
        raise HomeworkError("phase_changed")
    if a.phase == "closed":
        raise HomeworkError("already_closed")
    if not _enter(a, PHASES[a.phase_index + 1], now or utcnow()):
        raise HomeworkError("phase_changed")
    return a.phase


def sync(a: Assignment, now: datetime | None = None) -> Assignment:
    """Advance on the dates, allocate and remind as due. Cheap when nothing is due; called lazily
    by pages and by `flask lms homework-tick`."""
    now = now or utcnow()
    while a.phase != "closed":
        due = _due(a).get(a.phase)
        if due is None or due > now:
            break
        _enter(a, PHASES[a.phase_index + 1], now)
    send_reminders(a, now)
    return a


def tick(now: datetime | None = None) -> dict:
    """Every open assignment: phases on their dates, incremental allocation, reminders."""
    now = now or utcnow()
    counts = {"assignments": 0, "allocated": 0, "reassigned": 0}
    for aid in list(db.session.scalars(select(Assignment.id).where(Assignment.phase != "closed"))):
        a = db.session.get(Assignment, aid)
        sync(a, now)
        if a.phase == "review":
            counts["allocated"] += allocate_reviews(a, now=now)
            counts["reassigned"] += reassign_stale(a, now=now)
        counts["assignments"] += 1
    return counts


def submission_open(a: Assignment, now: datetime, late: bool = False) -> bool:
    if a.phase == "submission":
        return a.submission_due_at is None or now < a.submission_due_at
    # Late: only a first submission, only while reviews still run, only when the host allows it.
    return late and a.accept_late and a.phase == "review" and (a.review_due_at is None or now < a.review_due_at)


# --- submissions ---------------------------------------------------------------------------------


def submission_of(a: Assignment, user) -> Submission | None:
    return db.session.scalar(
        select(Submission).where(Submission.assignment_id == a.id, Submission.author_id == user.id)
    )


def submit(user, a: Assignment, title: str, body: str, uploads=(), remove_file_ids=(), now=None) -> Submission:
    """Create or edit the member's one submission while submission is open."""
    from lms.media.services import DOCUMENTS, delete_file, save_upload

    now = now or utcnow()
    if not is_participant(user, a) or (a.workshop_id is not None and not access.can(user, "homework.submit", a)):
        raise PermissionError("homework.submit")
    s = submission_of(a, user)
    if not submission_open(a, now, late=s is None):
        raise HomeworkError("closed")
    title = plain(title, TITLE_MAX) or a.title
    if len(body or "") > BODY_MAX:
        raise HomeworkError("body_too_long")
    html = rich_text(body)
    uploads = [u for u in uploads if u is not None and getattr(u, "filename", "")]
    if uploads and not a.attachments_allowed:
        raise HomeworkError("no_attachments")
    late = a.phase == "review"
    if s is None:
        s = Submission(assignment_id=a.id, author_id=user.id, late=late)
        db.session.add(s)
    try:
        remove = set(remove_file_ids or ())
        for sf in list(s.files):
            if sf.id in remove:
                stored = sf.file
                s.files.remove(sf)
                db.session.flush()
                delete_file(stored)  # the bytes go at the commit below, not if anything fails first
        if len(s.files) + len(uploads) > MAX_FILES:
            raise HomeworkError("too_many_files")
        for up in uploads:
            stored = save_upload(up, owner=user, allowed=DOCUMENTS, purpose="homework")
            s.files.append(SubmissionFile(file_id=stored.id))
        if not normalize(html.replace("<p>", "").replace("</p>", "")) and not s.files:
            raise HomeworkError("empty")
    except (HomeworkError, UploadError):
        db.session.rollback()  # all or nothing: the removed files are still listed, and on disk
        raise
    s.title, s.body_html, s.updated_at = title, html, now
    db.session.commit()
    if late and a.allocated_at is not None:
        allocate_reviews(a, now=now, include=(user.id,))  # a late submission is allocated at once
    return s


def file_of(s: Submission, file_id: int):
    for sf in s.files:
        if sf.file_id == file_id:
            return sf.file
    return None


# --- allocation ----------------------------------------------------------------------------------


def reassign_days() -> int:
    """Days into the review phase after which reviews nobody started move on (0 = never)."""
    return int(current_app.config.get("HOMEWORK_REVIEW_REASSIGN_DAYS", 3) or 0)


def _reassign_window_passed(a: Assignment, now: datetime) -> bool:
    days = reassign_days()
    return bool(days) and a.allocated_at is not None and now >= a.allocated_at + timedelta(days=days)


def allocate_reviews(
    a: Assignment, now: datetime | None = None, seed: int | None = None, include: tuple[int, ...] = ()
) -> int:
    """Allocate reviewers to submissions, incrementally (existing pairs never move). Returns new pairs.

    Pass 1 gives every reviewer their quota, balanced. Pass 2 serves submissions still short of the
    target (late submissions when everyone's quota is used) by letting the least loaded reviewers
    take one review more. Nobody waits for a group that is too small: allocation.py falls back to
    same-group reviewers when nobody else is left.
    """
    now = now or utcnow()
    # Page views, the API, the tick and late submissions may all allocate at once: one at a time,
    # each seeing the pairs the previous one made.
    _lock(a)
    members = participants(a)
    subs = list(db.session.execute(select(Submission.id, Submission.author_id).where(Submission.assignment_id == a.id)))
    if not subs:
        a.allocated_at = a.allocated_at or now
        db.session.commit()
        return 0
    sub_of = {author: sid for sid, author in subs}
    group_of = {p.id: p.group for p in members}
    submitters = [Participant(author, group_of.get(author)) for author in sorted(sub_of)]
    # Reviewers: everyone who must review; authors who left the workshop keep their submission but review no more.
    reviewers = members
    if a.reviewers_must_submit:
        # Moodle's default: without it 87 members who never submitted were each told to review the
        # 6 submissions of a 93-member workshop. A late submitter becomes a reviewer on submitting.
        reviewers = [p for p in members if p.id in sub_of]
    author_of = {sid: author for sid, author in subs}
    if _reassign_window_passed(a, now):
        # Reviews nobody started are being moved away from the inactive: new work goes only to
        # members who started a review (and to ``include``: a late joiner or late author, or an
        # idle member coming back to the page), else an inactive reviewer relieved of a review
        # would be handed another on the next tick.
        active = set(include) | set(
            db.session.scalars(
                select(ReviewAllocation.reviewer_id)
                .join(Review, Review.allocation_id == ReviewAllocation.id)
                .where(ReviewAllocation.assignment_id == a.id)
            )
        )
        reviewers = [p for p in members if p.id in active]
    existing = [
        Pair(rid, author_of[sid])
        for sid, rid in db.session.execute(
            select(ReviewAllocation.submission_id, ReviewAllocation.reviewer_id).where(
                ReviewAllocation.assignment_id == a.id
            )
        )
    ]
    rng = random.Random(seed if seed is not None else hash((a.id, len(existing), now.timestamp())))  # noqa: S311
    quota = a.reviews_per_member
    # Each submission gets what each member gives unless the host says otherwise: with no cap, 6
    # submissions among 93 members got 77 reviews each while a late one got 5.
    per_submission = a.reviews_per_submission or quota
    result = allocate(submitters, reviewers, reviews_per_reviewer=quota,
                      reviews_per_submission=per_submission, existing=existing,
                      exclude_same_group=a.exclude_own_group, rng=rng, preferred=set(sub_of))  # fmt: skip
    pairs, fallbacks = list(result.pairs), set(result.fallbacks)
    target = min(per_submission, max(0, len(reviewers) - 1))
    received = {author: 0 for author in sub_of}
    for p in existing + pairs:
        received[p.author] = received.get(p.author, 0) + 1
    short = [s for s in submitters if received[s.id] < target]
    extra = 1
    while short and extra <= quota:
        more = allocate(short, reviewers, reviews_per_reviewer=quota + extra, reviews_per_submission=target,
                        existing=existing + pairs, exclude_same_group=a.exclude_own_group, rng=rng,
                        preferred=set(sub_of))  # fmt: skip
        pairs += more.pairs
        fallbacks |= more.fallbacks
        for p in more.pairs:
            received[p.author] += 1
        short = [s for s in short if received[s.id] < target]
        extra += 1
    # A late submitter, late joiner or returning member (``include``) finds every submission at its
    # target: they still get their quota, one review over the target at a time, to the submissions
    # with the fewest reviews, so that they can earn the grade for reviewing like everyone else.
    late = [p for p in reviewers if p.id in set(include)]
    extra = 1
    while late and extra <= quota:
        load: dict[int, int] = {}
        for p in existing + pairs:
            load[p.reviewer] = load.get(p.reviewer, 0) + 1
        late = [p for p in late if load.get(p.id, 0) < quota]
        if not late:
            break
        more = allocate(submitters, late, reviews_per_reviewer=quota, reviews_per_submission=per_submission + extra,
                        existing=existing + pairs, exclude_same_group=a.exclude_own_group, rng=rng)  # fmt: skip
        pairs += more.pairs
        fallbacks |= more.fallbacks
        extra += 1
    for p in pairs:
        db.session.add(ReviewAllocation(assignment_id=a.id, submission_id=sub_of[p.author], reviewer_id=p.reviewer,
                                        fallback=p in fallbacks))  # fmt: skip
    a.allocated_at = a.allocated_at or now
    db.session.commit()
    if pairs:
        from lms.notifications.services import notify

        per_reviewer: dict[int, int] = {}
        for p in pairs:
            per_reviewer[p.reviewer] = per_reviewer.get(p.reviewer, 0) + 1
        url = _url("homework.assignment", aid=a.id)
        for n in sorted(set(per_reviewer.values())):
            ids = [r for r, k in per_reviewer.items() if k == n]
            text = site_gettext("You have %(n)s new submissions to review for “%(title)s”.", n=n, title=a.title)
            notify(ids, "homework", text, url=url)
    return len(pairs)


def allocate_by_hand(user, a: Assignment, now: datetime | None = None) -> int:
    """From the review phase on (a reviewer may read what they review, see may_view_submission;
    before it submissions may still change), until closing."""
    if not may_manage(user, a):
        raise PermissionError("homework.manage")
    if not allocatable(a):
        raise HomeworkError("not_allocatable")
    return allocate_reviews(a, now=now)


def allocatable(a: Assignment) -> bool:
    return a.phase in ("review", "grading")


def ensure_allocated_for(user, a: Assignment, now: datetime | None = None) -> None:
    """A late joiner opening the assignment during the review phase gets their share at once."""
    if a.phase != "review" or a.allocated_at is None or not is_participant(user, a):
        return
    has = db.session.scalar(
        select(ReviewAllocation.id).where(
            ReviewAllocation.assignment_id == a.id, ReviewAllocation.reviewer_id == user.id
        )
    )
    if has is None:
        allocate_reviews(a, now=now, include=(user.id,))


def reassign_stale(a: Assignment, now: datetime | None = None, seed: int | None = None) -> int:
    """Move reviews not started after HOMEWORK_REVIEW_REASSIGN_DAYS in the review phase to active
    reviewers who finished all of theirs, so that no submission waits forever on an inactive
    reviewer (issue 5). Returns how many moved; the new reviewers are notified."""
    now = now or utcnow()
    if a.phase != "review" or not review_open(a, now) or not _reassign_window_passed(a, now):
        return 0
    _lock(a)
    cutoff = now - timedelta(days=reassign_days())
    rows = db.session.execute(
        select(ReviewAllocation, Submission.author_id, Review.id, Review.submitted_at)
        .join(Submission, Submission.id == ReviewAllocation.submission_id)
        .outerjoin(Review, Review.allocation_id == ReviewAllocation.id)
        .where(ReviewAllocation.assignment_id == a.id)
    ).all()
    members = participants(a)
    group_of = {p.id: p.group for p in members}
    unfinished = {alloc.reviewer_id for alloc, _author, _rid, done in rows if done is None}
    reviewed = {alloc.reviewer_id for alloc, *_ in rows}
    candidates = [p for p in members if p.id in reviewed and p.id not in unfinished]
    stale = {Pair(alloc.reviewer_id, author): alloc for alloc, author, rid, _done in rows
             if rid is None and alloc.created_at <= cutoff}  # fmt: skip
    if not stale or not candidates:
        db.session.commit()
        return 0
    existing = [Pair(alloc.reviewer_id, author) for alloc, author, *_ in rows]
    rng = random.Random(seed if seed is not None else hash((a.id, len(existing), now.timestamp())))  # noqa: S311
    moved = reassign(list(stale), candidates, existing=existing, groups=group_of,
                     exclude_same_group=a.exclude_own_group, max_load=2 * a.reviews_per_member, rng=rng)  # fmt: skip
    moved_from: dict[int, int] = {}
    for old, new in moved.items():
        alloc = stale[old]
        g = group_of.get(new.reviewer)
        alloc.reviewer_id = new.reviewer
        alloc.fallback = bool(a.exclude_own_group and g is not None and g == group_of.get(new.author))
        alloc.created_at = now  # the new reviewer gets the full grace period
        moved_from[old.reviewer] = moved_from.get(old.reviewer, 0) + 1
    if moved_from:
        # What was taken away still counts as owed (reviews_required): handing over work one did not
        # do must not lower the number needed for full marks.
        known = {
            g.user_id: g
            for g in db.session.scalars(
                select(ReviewerGrade).where(
                    ReviewerGrade.assignment_id == a.id, ReviewerGrade.user_id.in_(sorted(moved_from))
                )
            )
        }
        for uid, n in sorted(moved_from.items()):
            g = known.get(uid)
            if g is None:
                g = ReviewerGrade(assignment_id=a.id, user_id=uid, reviews_done=0, reviews_moved=0, grade=0.0)
                db.session.add(g)
            g.reviews_moved = (g.reviews_moved or 0) + n
    db.session.commit()
    if moved:
        recompute(a)
    if moved:
        from lms.notifications.services import notify

        per_reviewer: dict[int, int] = {}
        for new in moved.values():
            per_reviewer[new.reviewer] = per_reviewer.get(new.reviewer, 0) + 1
        url = _url("homework.assignment", aid=a.id)
        for n in sorted(set(per_reviewer.values())):
            ids = sorted(r for r, k in per_reviewer.items() if k == n)
            text = site_gettext(
                "%(n)s more submissions to review for “%(title)s” were passed on to you: their reviewers "
                "had not started.",
                n=n,
                title=a.title,
            )
            notify(ids, "homework", text, url=url)
    return len(moved)


def my_allocations(user, a: Assignment | None = None) -> list[ReviewAllocation]:
    stmt = select(ReviewAllocation).where(ReviewAllocation.reviewer_id == user.id)
    if a is not None:
        stmt = stmt.where(ReviewAllocation.assignment_id == a.id)
    return list(db.session.scalars(stmt.order_by(ReviewAllocation.id)))


def allocations_of(s: Submission) -> list[ReviewAllocation]:
    return list(
        db.session.scalars(
            select(ReviewAllocation).where(ReviewAllocation.submission_id == s.id).order_by(ReviewAllocation.id)
        )
    )


# --- reviews -------------------------------------------------------------------------------------


def review_open(a: Assignment, now: datetime) -> bool:
    return a.phase == "review" and (a.review_due_at is None or now < a.review_due_at)


def save_review(user, alloc: ReviewAllocation, scores: dict, comment: str, now: datetime | None = None) -> Review:
    now = now or utcnow()
    if alloc.reviewer_id != user.id:
        raise PermissionError("homework.review")
    a = alloc.submission.assignment
    if not review_open(a, now):
        raise HomeworkError("review_closed")
    form = build_form(a.form)
    try:
        clean = {c.name: float(scores[c.name]) for c in form.criteria if c.name in scores}
        grade = form.grade(clean)
    except (grading.GradingError, TypeError, ValueError):
        raise HomeworkError("bad_scores") from None
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise HomeworkError("comment_too_long")
    review = alloc.review
    first = review is None or review.submitted_at is None
    if review is None:
        review = Review(allocation=alloc)
        db.session.add(review)
    review.scores, review.comment, review.grade, review.submitted_at = clean, comment, round(grade, 2), now
    db.session.commit()
    recompute(a)
    if first:
        from lms.notifications.services import notify

        notify([alloc.submission.author_id], "homework",
               site_gettext("A peer review of your homework “%(title)s” was submitted; you can read the "
                            "reviews when the peer review phase ends.", title=a.title),
               url=_url("homework.assignment", aid=a.id))  # fmt: skip
    return review


# --- grades --------------------------------------------------------------------------------------


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)


def allocated_counts(a: Assignment) -> dict[int, int]:
    """Reviewer id → reviews allocated to them in this assignment."""
    return dict(
        db.session.execute(
            select(ReviewAllocation.reviewer_id, func.count(ReviewAllocation.id))
            .where(ReviewAllocation.assignment_id == a.id)
            .group_by(ReviewAllocation.reviewer_id)
        ).all()
    )


def reviews_required(a: Assignment, allocated: int, moved: int = 0) -> int:
    """Reviews that earn the full grade for reviewing: the assignment's number, or fewer when
    allocation could not give that many (a small group, a cap per submission): nobody loses points
    for reviews they were never given. ``moved`` are reviews taken away because the reviewer had
    not started them (reassign_stale): those were given, so they still count as owed."""
    return max(1, min(a.reviews_per_member, allocated + moved))


def recompute(a: Assignment) -> list[Submission]:
    """Recompute every stored grade of the assignment. After the commit, send homework_graded for
    each submission whose grades, or whose author's reviewing, changed, and homework_review_graded
    for each participant whose grade for reviewing changed (reviewers who never submitted too).
    Returns the submissions."""
    _lock(a)  # two reviewers saving at once would both insert the same ReviewerGrade row
    form = build_form(a.form)
    subs = list(db.session.scalars(select(Submission).where(Submission.assignment_id == a.id)))
    rows = list(
        db.session.execute(
            select(ReviewAllocation, Review)
            .join(Review, Review.allocation_id == ReviewAllocation.id)
            .where(ReviewAllocation.assignment_id == a.id, Review.submitted_at.is_not(None))
            .order_by(ReviewAllocation.id)
        )
    )
    by_sub: dict[int, list[Review]] = {}
    for alloc, review in rows:
        by_sub.setdefault(alloc.submission_id, []).append(review)
    qualities: dict[int, list[float | None]] = {}
    done: dict[int, int] = {}
    reviewer_of = {review.id: alloc.reviewer_id for alloc, review in rows}
    for reviews in by_sub.values():
        try:
            qs = grading.review_qualities(form, [r.scores for r in reviews])
        except grading.GradingError:  # the form changed under old scores: quality unknown
            qs = [None] * len(reviews)
        for review, q in zip(reviews, qs, strict=True):
            review.quality = _r(q)
            uid = reviewer_of[review.id]
            qualities.setdefault(uid, []).append(q)
            done[uid] = done.get(uid, 0) + 1
    existing = {
        g.user_id: g for g in db.session.scalars(select(ReviewerGrade).where(ReviewerGrade.assignment_id == a.id))
    }
    reviewing_before = {uid: (g.grade, g.reviews_done) for uid, g in existing.items()}
    reviewing: dict[int, tuple[float, int, int]] = {}  # user → grade, done, required
    allocated = allocated_counts(a)
    for uid in set(done) | set(existing):
        g = existing.get(uid)
        if g is None:
            g = ReviewerGrade(assignment_id=a.id, user_id=uid)
            db.session.add(g)
        required = reviews_required(a, allocated.get(uid, 0), g.reviews_moved or 0)
        g.reviews_done = done.get(uid, 0)
        g.grade = _r(grading.reviewing_grade(g.reviews_done, qualities.get(uid, ()), required=required,
                                             quality_share=a.quality_share))  # fmt: skip
        reviewing[uid] = (g.grade, g.reviews_done, required)
    # Peer grades after the grades for reviewing: the "weighted" strategy weighs each review by its
    # reviewer's grade for reviewing. Those depend only on counts and on agreement with the
    # per-criterion median of the scores, never on peer grades, so one pass defines them: no
    # iteration, no order dependence.
    before, after, author_of = {}, {}, {}
    for s in subs:
        author_of[s.id] = s.author_id
        before[s.id] = (s.peer_grade, s.host_grade, s.final_grade)
        given = [r for r in by_sub.get(s.id, []) if r.grade is not None]
        grades = [r.grade for r in given]
        if a.grade_strategy == "weighted":
            weights = [reviewing[reviewer_of[r.id]][0] for r in given]
            s.peer_grade = _r(grading.peer_grade(grades, grading.Aggregate.MEAN, weights=weights))
        else:
            s.peer_grade = _r(grading.peer_grade(grades, a.grade_strategy))
        s.final_grade = _r(
            grading.submission_grade(s.peer_grade, s.host_grade, override=s.override_grade, host_weight=a.host_weight)
        )
        after[s.id] = (s.peer_grade, s.host_grade, s.final_grade)
    ids = [s.id for s in subs]
    db.session.commit()  # what follows reads the values kept above: no reload per row
    changed_reviewing = {uid for uid, r in reviewing.items() if reviewing_before.get(uid) != r[:2]}
    changed = [
        (s, sid) for s, sid in zip(subs, ids, strict=True)
        if before[sid] != after[sid] or author_of[sid] in changed_reviewing
    ]  # fmt: skip
    for s, sid in changed:
        peer, host, final = after[sid]
        own = reviewing.get(author_of[sid])
        homework_graded.send(s, assignment=a, peer_grade=peer, host_grade=host, final_grade=final,
                             reviews_done=done.get(author_of[sid], 0),
                             reviewing_grade=own[0] if own else None)  # fmt: skip
    for uid in sorted(changed_reviewing):
        grade, reviews_done, required = reviewing[uid]
        homework_review_graded.send(a, user_id=uid, grade=grade, reviews_done=reviews_done,
                                    reviews_required=required)  # fmt: skip
    return [s for s, _sid in changed]


def set_host_grade(user, s: Submission, grade: float | None, override: float | None = None, comment: str = "") -> None:
    a = s.assignment
    if not may_grade(user, a):
        raise PermissionError("homework.grade")
    if a.phase_index < PHASES.index("submission"):
        raise HomeworkError("not_gradable")
    for value in (grade, override):
        if value is not None and not 0 <= value <= grading.HOMEWORK_POINTS:
            raise HomeworkError("bad_grade")
    if len(comment or "") > COMMENT_MAX:
        raise HomeworkError("comment_too_long")
    s.host_grade, s.override_grade = _r(grade), _r(override)
    s.host_comment, s.graded_by_id = (comment or "").strip(), user.id
    db.session.commit()
    recompute(a)


def reviewer_grade(a: Assignment, user_id: int) -> ReviewerGrade | None:
    return db.session.scalar(
        select(ReviewerGrade).where(ReviewerGrade.assignment_id == a.id, ReviewerGrade.user_id == user_id)
    )


def reviews_released(a: Assignment) -> bool:
    """Whether authors may read the reviews they received, and the grades made from them: only once
    the review phase is over, as in Moodle's Workshop and Open edX's ORA. Reviews read as they arrive
    would sway the author's own reviewing still under way, and invite retaliation. Hosts see them
    at any time."""
    return phase_released(a.phase)


def phase_released(phase: str) -> bool:
    """Whether an assignment in `phase` has its reviews and grades released (see reviews_released)."""
    return PHASES.index(phase) > PHASES.index("review")


def received_reviews(s: Submission) -> list[tuple[ReviewAllocation, Review]]:
    return [(al, al.review) for al in allocations_of(s) if al.review is not None and al.review.submitted_at]


# --- results -------------------------------------------------------------------------------------


@dataclass
class ResultRow:
    user_id: int
    name: str
    group: str
    submission: Submission | None
    reviews_done: int
    reviews_owed: int
    reviewing_grade: float | None
    #: What full marks for reviewing need (reviews_required); 0 when nothing was ever allocated.
    reviews_required: int = 0


def results(a: Assignment) -> list[ResultRow]:
    from lms.accounts.models import User
    from lms.communities.models import StudyGroup

    members = participants(a)
    subs = {s.author_id: s for s in db.session.scalars(select(Submission).where(Submission.assignment_id == a.id))}
    ids = sorted({p.id for p in members} | set(subs))
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    group_names = {}
    if a.workshop_id is not None:
        group_names = dict(db.session.execute(select(StudyGroup.id, StudyGroup.name).where(
            StudyGroup.workshop_id == a.workshop_id)).all())  # fmt: skip
    group_of = {p.id: p.group for p in members}
    owed = allocated_counts(a)
    grades = {
        g.user_id: g for g in db.session.scalars(select(ReviewerGrade).where(ReviewerGrade.assignment_id == a.id))
    }
    rows = []
    for uid in ids:
        g = grades.get(uid)
        moved = g.reviews_moved if g else 0
        given = owed.get(uid, 0) + moved
        rows.append(ResultRow(uid, names.get(uid, "?"), group_names.get(group_of.get(uid), ""), subs.get(uid),
                              g.reviews_done if g else 0, owed.get(uid, 0), g.grade if g else None,
                              reviews_required(a, owed.get(uid, 0), moved) if given else 0))  # fmt: skip
    rows.sort(key=lambda r: (r.submission is None, r.name, r.user_id))
    return rows


RESULT_FILTERS = ("all", "unsubmitted", "ungraded", "missing")
RESULT_SORTS = ("name", "status", "peer", "host", "final", "reviews", "reviewing")


def filter_results(rows: list[ResultRow], show: str = "all", sort: str = "name", desc: bool = False):
    """The results table's filter (not submitted / submitted but not graded by the host / reviews
    missing) and sort, in memory on the rows results() loaded: no query per row. Rows without a
    value for the sort key go last either way."""
    if show == "unsubmitted":
        rows = [r for r in rows if r.submission is None]
    elif show == "ungraded":
        rows = [r for r in rows if r.submission is not None and r.submission.host_grade is None
                and r.submission.override_grade is None]  # fmt: skip
    elif show == "missing":
        rows = [r for r in rows if r.reviews_done < r.reviews_required]

    def value(r: ResultRow):
        s = r.submission
        return {
            "status": 0 if s is None else (2 if s.late else 1),
            "peer": s.peer_grade if s else None,
            "host": (s.override_grade if s.override_grade is not None else s.host_grade) if s else None,
            "final": s.final_grade if s else None,
            "reviews": (r.reviews_done / r.reviews_required) if r.reviews_required else None,
            "reviewing": r.reviewing_grade,
        }.get(sort)

    if sort not in RESULT_SORTS or sort == "name":
        return sorted(rows, key=lambda r: (r.name, r.user_id), reverse=desc)
    known = sorted((r for r in rows if value(r) is not None), key=lambda r: (value(r), r.name), reverse=desc)
    return known + [r for r in rows if value(r) is None]


def status_for(user, a: Assignment) -> dict:
    """What a member sees: own submission, reviews to do and done, own grades."""
    s = submission_of(a, user)
    # Allocations made before the review phase (older data) are not the reviewer's to see yet.
    allocs = my_allocations(user, a) if a.phase_index >= PHASES.index("review") else []
    done = sum(1 for al in allocs if al.review is not None and al.review.submitted_at)
    g = reviewer_grade(a, user.id)
    return {
        "submission": s,
        "allocations": allocs,
        "reviews_done": done,
        "reviews_todo": len(allocs) - done,
        # Before allocation the assignment's number; after it, what full marks need (reviews_required).
        "reviews_required": reviews_required(a, len(allocs), g.reviews_moved if g else 0)
        if allocs or (g and g.reviews_moved)
        else a.reviews_per_member,
        "reviewing_grade": g.grade if g else None,
        # Reviews and the grades made from them reach the author after the review phase.
        "released": reviews_released(a),
        "received": received_reviews(s) if s and reviews_released(a) else [],
    }


# --- 推优: recommend and publish -----------------------------------------------------------------


def recommend(user, s: Submission, now: datetime | None = None) -> None:
    a = s.assignment
    if not may_grade(user, a):
        raise PermissionError("homework.grade")
    if s.recommended_at is not None:
        return
    s.recommended_at, s.recommended_by_id = now or utcnow(), user.id
    db.session.commit()
    from lms.notifications.services import notify

    where = a.workshop.name if a.workshop is not None else a.context.name
    notify(expert_ids(a), "homework",
           site_gettext("Excellent homework was recommended for “%(title)s” (%(where)s).", title=a.title, where=where),
           url=_url("homework.excellent", _anchor=f"s{s.id}"), actor=user)  # fmt: skip


def unrecommend(user, s: Submission) -> None:
    if not may_grade(user, s.assignment):
        raise PermissionError("homework.grade")
    if s.published_at is not None:
        raise HomeworkError("already_published")
    s.recommended_at = s.recommended_by_id = None
    db.session.commit()


def publish(user, s: Submission, now: datetime | None = None) -> None:
    a = s.assignment
    if not may_publish(user, a):
        raise PermissionError("homework.publish")
    if s.recommended_at is None:
        raise HomeworkError("not_recommended")
    if s.published_at is not None:
        return
    s.published_at, s.published_by_id = now or utcnow(), user.id
    db.session.commit()
    homework_published.send(s, expert=user, title=s.title or a.title, body_html=s.body_html,
                            file_ids=[sf.file_id for sf in s.files], context=a.context, author=s.author)  # fmt: skip
    from lms.notifications.services import notify

    notify([s.author_id], "homework",
           site_gettext("Your homework “%(title)s” was published as excellent work.", title=s.title or a.title),
           url=_url("homework.assignment", aid=a.id))  # fmt: skip


def recommended(user, limit: int = 100) -> list[Submission]:
    """Recommended work an expert may publish (within the contexts their role reaches, in their
    subject: see may_publish), still to
    publish first; with what the list shows loaded (assignment, workshop, author, files)."""
    from sqlalchemy.orm import contains_eager, joinedload, selectinload

    stmt = (
        select(Submission)
        .join(Assignment, Submission.assignment_id == Assignment.id)
        .join(Context, Assignment.context_id == Context.id)
        .where(Submission.recommended_at.is_not(None))
        .options(
            contains_eager(Submission.assignment).contains_eager(Assignment.context),
            contains_eager(Submission.assignment).joinedload(Assignment.workshop),
            joinedload(Submission.author),
            selectinload(Submission.files),
        )
    )
    stmt = access.visible(stmt, user, "homework.publish", Context.path)
    subject = publish_subject(user)
    if subject is not None:
        from lms.communities.models import Workshop

        other = select(Workshop.id).where(
            Workshop.subject.is_not(None), Workshop.subject != "", Workshop.subject != subject
        )
        stmt = stmt.where(or_(Assignment.workshop_id.is_(None), Assignment.workshop_id.not_in(other)))
    stmt = stmt.order_by(Submission.published_at.is_not(None), Submission.recommended_at.desc()).limit(limit)
    return list(db.session.scalars(stmt).unique())


# --- reminders -----------------------------------------------------------------------------------


def send_reminders(a: Assignment, now: datetime) -> int:
    """Once per phase, within REMIND_BEFORE of its deadline: members who have not submitted, or
    reviewers with unfinished reviews. Returns how many were reminded."""
    phase = a.phase
    deadline = {"submission": a.submission_due_at, "review": a.review_due_at}.get(phase)
    if deadline is None or phase in (a.reminded or []) or not (deadline - REMIND_BEFORE <= now < deadline):
        return 0
    from lms.core.i18n import local_text
    from lms.core.schedule import claim_once
    from lms.notifications.services import notify

    # Page views, the scheduler and cron may all get here at once: one of them sends.
    if not claim_once(f"homework.reminder:{a.id}:{phase}"):
        return 0
    when = local_text(deadline)
    url = _url("homework.assignment", aid=a.id)
    if phase == "submission":
        submitted = set(db.session.scalars(select(Submission.author_id).where(Submission.assignment_id == a.id)))
        ids = [p.id for p in participants(a) if p.id not in submitted]
        text = site_gettext("Reminder: your homework “%(title)s” is due by %(when)s.", title=a.title, when=when)
    else:
        ids = list(
            db.session.scalars(
                select(ReviewAllocation.reviewer_id)
                .outerjoin(Review, Review.allocation_id == ReviewAllocation.id)
                .where(ReviewAllocation.assignment_id == a.id)
                .where(or_(Review.id.is_(None), Review.submitted_at.is_(None)))
                .distinct()
            )
        )
        text = site_gettext("Reminder: finish your peer reviews for “%(title)s” by %(when)s.", title=a.title, when=when)
    a.reminded = [*(a.reminded or []), phase]
    db.session.commit()
    if ids:
        notify(ids, "homework_reminder", text, url=url)
    return len(ids)


def _url(endpoint: str, _anchor: str | None = None, **kw) -> str:
    """A path for a notification; also outside a request (the tick command, demo data)."""
    from flask import has_request_context, url_for

    if has_request_context():
        return url_for(endpoint, _anchor=_anchor, **kw)
    path = current_app.url_map.bind("localhost").build(endpoint, kw)
    return f"{path}#{_anchor}" if _anchor else path


# --- export --------------------------------------------------------------------------------------


def export_xlsx(user, a: Assignment) -> bytes:
    """All scores and reviews, for those who hold homework.grade ("see reviewers' names"): reviewers
    are named, as on the results and submission pages those people see. A code in their place
    protected nothing: joined with the Scores sheet (names with reviews done and grade for
    reviewing) it gave the names back. Anonymity is between authors and peers, whose pages, API and
    notifications never name the other side; nobody without homework.grade can download this."""
    from lms.accounts.excel import Sheet, write_workbook

    if not may_grade(user, a):
        raise PermissionError("homework.grade")
    form = build_form(a.form)
    rows = results(a)
    scores = Sheet(
        title=_("Scores"),
        header=[
            _("Name"),
            _("Group"),
            _("Submitted"),
            _("Title"),
            _("Late"),
            _("Peer grade"),
            _("Host grade"),
            _("Override"),
            _("Final grade"),
            _("Reviews done"),
            _("Reviews allocated"),
            _("Grade for reviewing"),
            _("Recommended"),
            _("Published"),
        ],  # fmt: skip
        rows=[
            [
                r.name,
                r.group,
                _("yes") if r.submission else _("no"),
                r.submission.title if r.submission else "",
                _("yes") if r.submission and r.submission.late else "",
                *(
                    (
                        r.submission.peer_grade,
                        r.submission.host_grade,
                        r.submission.override_grade,
                        r.submission.final_grade,
                    )
                    if r.submission
                    else (None, None, None, None)
                ),
                r.reviews_done,
                r.reviews_owed,
                r.reviewing_grade,
                _("yes") if r.submission and r.submission.recommended_at else "",
                _("yes") if r.submission and r.submission.published_at else "",
            ]
            for r in rows
        ],  # fmt: skip
        widths=[12, 12, 8, 30, 6, 10, 10, 10, 10, 10, 10, 12, 8, 8],
    )
    from sqlalchemy.orm import joinedload, selectinload

    review_rows = []
    stmt = (
        select(ReviewAllocation)
        .where(ReviewAllocation.assignment_id == a.id)
        .order_by(ReviewAllocation.submission_id, ReviewAllocation.id)
        # Everything each row reads, in three statements whatever the number of rows.
        .options(
            joinedload(ReviewAllocation.submission).joinedload(Submission.author),
            selectinload(ReviewAllocation.review),
            selectinload(ReviewAllocation.reviewer),
        )
    )
    for al in db.session.scalars(stmt):
        r = al.review
        reviewer = al.reviewer.name
        submitted = r is not None and r.submitted_at is not None
        review_rows.append(
            [
                al.submission.author.name,
                al.submission.title,
                reviewer,
                *[(r.scores.get(c.name) if submitted else None) for c in form.criteria],
                r.grade if submitted else None,
                r.quality if submitted else None,
                r.comment if submitted else "",
                r.submitted_at.strftime("%Y-%m-%d %H:%M") if submitted else _("not yet"),
            ]  # fmt: skip
        )
    reviews = Sheet(
        title=_("Reviews"),
        header=[
            _("Author"),
            _("Title"),
            _("Reviewer"),
            *[c.name for c in form.criteria],
            _("Grade"),
            _("Agreement with consensus"),
            _("Comment"),
            _("Submitted at"),
        ],  # fmt: skip
        rows=review_rows,
        widths=[12, 30, 16, *[10] * len(form.criteria), 8, 10, 40, 16],
    )
    return write_workbook(scores, reviews)


# --- panels --------------------------------------------------------------------------------------


def in_a_workshop(user) -> bool:
    """Whether the user is a member of any workshop (from the request's cached grants, no query)."""
    from lms.access.services import grants

    return any(gr.role == "member" for gr in grants(user))


def my_homework(user, limit: int = 10) -> list[dict]:
    """Personal-space panel: open assignments the user takes part in, with what is left to do.

    A fixed number of statements however many assignments (the personal space is the busiest page).
    """
    from lms.access.services import grants

    # From the request's cached grants, no query: workshops the user is a member of, regions above
    # their school.
    ctx_ids: set[int] = set()
    for gr in grants(user):
        ids = [int(x) for x in gr.path.strip("/").split("/") if x]
        if gr.role == "member":
            ctx_ids.add(gr.context_id)
        elif gr.role == "teacher":
            ctx_ids.update(ids[:-1])
    if not ctx_ids:
        return []
    clauses = [Assignment.context_id.in_(sorted(ctx_ids))]
    stmt = (
        select(Assignment)
        .where(or_(*clauses), Assignment.phase != "setup")
        .order_by(Assignment.phase == "closed", Assignment.id.desc())
        .limit(limit)
    )
    items = list(db.session.scalars(stmt))
    if not items:
        return []
    aids = [a.id for a in items]
    subs = {
        s.assignment_id: s
        for s in db.session.scalars(
            select(Submission).where(Submission.assignment_id.in_(aids), Submission.author_id == user.id)
        )
    }
    counts = db.session.execute(
        select(
            ReviewAllocation.assignment_id,
            func.count(ReviewAllocation.id),
            func.count(Review.submitted_at),
        )
        .outerjoin(Review, Review.allocation_id == ReviewAllocation.id)
        .where(ReviewAllocation.assignment_id.in_(aids), ReviewAllocation.reviewer_id == user.id)
        .group_by(ReviewAllocation.assignment_id)
    ).all()
    todo = {aid: (total, done) for aid, total, done in counts}
    out = []
    for a in items:
        total, done = todo.get(a.id, (0, 0))
        out.append({"assignment": a, "submission": subs.get(a.id), "allocations": total, "reviews_done": done,
                    "reviews_todo": total - done})  # fmt: skip
    return out


def assessment_inputs(workshops, user_ids) -> dict[tuple[int, int], dict]:
    """What the assessment scheme (lms.assessment, DOMAIN.md §9) reads of members' homework, per
    (workshop id, user id): whether they submitted, the final grade of their research homework (0-10,
    None until graded) and their grade for reviewing (0-5, lms.homework.grading), the best over the
    workshop's assignments, and whether that homework's grades are released to them yet
    (reviews_released). Two queries, whatever the number of workshops or members."""
    wids = [w.id for w in workshops]
    ids = list({int(u) for u in user_ids})
    out = {(w, uid): {"homework": None, "homework_submitted": False, "homework_released": False, "reviewing": None,
                      "reviews_done": 0} for w in wids for uid in ids}  # fmt: skip
    if not ids or not wids:
        return out
    for wid, uid, grade, phase in db.session.execute(
        select(Assignment.workshop_id, Submission.author_id, Submission.final_grade, Assignment.phase)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(Assignment.workshop_id.in_(wids), Submission.author_id.in_(ids))
    ):  # fmt: skip
        row = out[(wid, uid)]
        row["homework_submitted"] = True
        if grade is not None and (row["homework"] is None or grade > row["homework"]):
            row["homework"], row["homework_released"] = grade, phase_released(phase)
    for wid, uid, grade, done in db.session.execute(
        select(Assignment.workshop_id, ReviewerGrade.user_id, ReviewerGrade.grade, ReviewerGrade.reviews_done)
        .join(Assignment, Assignment.id == ReviewerGrade.assignment_id)
        .where(Assignment.workshop_id.in_(wids), ReviewerGrade.user_id.in_(ids))
    ):  # fmt: skip
        row = out[(wid, uid)]
        if grade is not None and (row["reviewing"] is None or grade > row["reviewing"]):
            row["reviewing"] = grade
        row["reviews_done"] = max(row["reviews_done"], int(done or 0))
    return out
