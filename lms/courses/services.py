"""Course supermarket 课程超市: catalogue queries, required/elective logic, selection, quizzes, editing.

Who sees a course: a published course made in a context (a region, a workshop, the site) is seen by
everyone that context reaches, and by those living below it (access `community.view`, which also
looks up the tree). Who edits it: `course.manage` held in its context or above. A course is
*required* for a teacher when a CourseAssignment with required=True sits on one of the contexts the
teacher belongs to (their school, a workshop) or on any region above them.
"""

from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import delete, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from lms import access, signals
from lms.access.models import Context
from lms.accounts.models import User
from lms.core.pagination import Page, paginate
from lms.core.taxonomy import STAGES, SUBJECTS, fit_score
from lms.core.text import html_to_text, sanitize_html
from lms.courses.models import (
    COURSE_KINDS,
    LESSON_KINDS,
    Course,
    CourseAssignment,
    CourseSelection,
    Lesson,
    QuizAttempt,
    QuizQuestion,
)
from lms.extensions import db

DOMAIN = "courses"
MAX_HOURS = Decimal("200")


class CourseError(ValueError):
    """A rule was broken; the message is a code the views translate."""


# --- who reaches what ---------------------------------------------------------------------------


def _ancestor_paths(path: str) -> list[str]:
    ids = [x for x in path.strip("/").split("/") if x]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def belonging_paths(user) -> set[str]:
    """The context paths a user lives in (school, workshops, held roles) and every ancestor of them."""
    out: set[str] = set()
    for gr in access.grants(user):
        out.update(_ancestor_paths(gr.path))
    return out


def may_manage(user, course: Course) -> bool:
    return access.can(user, "course.manage", course.context)


def may_view(user, course: Course) -> bool:
    if may_manage(user, course):
        return True
    return course.published and access.can(user, "community.view", course.context)


def manage_contexts(user) -> list[Context]:
    """Contexts where the user may create courses (the top of each subtree course.manage reaches)."""
    paths = access.reach_paths(user, "course.manage")
    if not paths:
        return []
    return list(db.session.scalars(select(Context).where(Context.path.in_(paths)).order_by(Context.path)))


#: Where a course may be assigned: a training project (lms.projects) too, whose trainees then find
#: its required courses required for them (their enrolment is a grant in the project's context).
ASSIGNABLE_KINDS = ("site", "region", "workshop", "project")


def assignable_contexts(user, course: Course | None = None, limit: int = 300) -> list[Context]:
    """Regions and workshops the user may assign courses to (inside the subtrees `course.assign`
    reaches); with a course, only those whose members can see it (see audience_sees)."""
    paths = access.reach_paths(user, "course.assign")
    if not paths:
        return []
    stmt = (
        select(Context)
        .where(Context.kind.in_(ASSIGNABLE_KINDS))
        .where(or_(*[Context.path.startswith(p, autoescape=True) for p in paths]))
        .order_by(Context.path)
        .limit(limit)
    )
    if course is not None:
        stmt = stmt.where(Context.path.startswith(course.context.path, autoescape=True))
    return list(db.session.scalars(stmt))


def audience_sees(course: Course, context: Context) -> bool:
    """Whether everyone an assignment to `context` reaches (its members, the teachers below it) may
    open the course: it is offered in that context or in one above it (community.view looks up the
    tree, never sideways). A course made for one workshop is not another workshop's to require."""
    return context.path.startswith(course.context.path)


def required_ids(user) -> set[int]:
    """Ids of the courses required for this user (by their school, workshops and regions)."""
    paths = belonging_paths(user)
    if not paths:
        return set()
    stmt = (
        select(CourseAssignment.course_id)
        .join(Context, CourseAssignment.context_id == Context.id)
        .where(CourseAssignment.required.is_(True), Context.path.in_(paths))
    )
    return set(db.session.scalars(stmt))


def selected_ids(user) -> set[int]:
    return set(db.session.scalars(select(CourseSelection.course_id).where(CourseSelection.user_id == user.id)))


# --- catalogue ----------------------------------------------------------------------------------


def _visible(stmt, user):
    """Published courses the user may see, plus every course the user may manage."""
    stmt = stmt.join(Context, Course.context_id == Context.id)
    seen = access.visible(select(Course.id).join(Context, Course.context_id == Context.id), user,
                          "community.view", Context.path).where(Course.published.is_(True))  # fmt: skip
    manage_paths = access.reach_paths(user, "course.manage")
    managed = [Context.path.startswith(p, autoescape=True) for p in manage_paths]
    return stmt.where(or_(Course.id.in_(seen), *managed) if managed else Course.id.in_(seen))


def catalogue(user, *, q: str = "", stage: str | None = None, subject: str | None = None, kind: str | None = None,
              need: str | None = None, page: int = 1, per_page: int = 20) -> Page:  # fmt: skip
    """One page of the supermarket for this user, filtered; `need` is "required" or "elective"."""
    stmt = _visible(select(Course), user)
    if q:
        stmt = stmt.where(Course.title.contains(q.strip()[:100], autoescape=True))
    if stage in STAGES:
        stmt = stmt.where(Course.stage == stage)
    if subject in SUBJECTS:
        stmt = stmt.where(Course.subject == subject)
    if kind in COURSE_KINDS:
        stmt = stmt.where(Course.kind == kind)
    req = required_ids(user)
    if need == "required":
        stmt = stmt.where(Course.id.in_(req) if req else false())
    elif need == "elective" and req:
        stmt = stmt.where(Course.id.not_in(req))
    return paginate(stmt.order_by(*catalogue_order(user, req)), page, per_page)


def catalogue_order(user, req: set[int]) -> list:
    """The supermarket's order for this teacher: what is required for them first, then courses fitting
    their stage and subject (taxonomy.fit_score: a primary-maths teacher meets primary maths before
    kindergarten electives), then the rest; newest first within each. A total order (ends on the id),
    so pages neither repeat nor skip a course."""
    from sqlalchemy import case, literal

    stage = getattr(user, "stage", None) or (user.school.stage if getattr(user, "school", None) else None)
    required = case((Course.id.in_(req), 1), else_=0) if req else literal(0)
    fit = fit_score(Course.stage, Course.subject, stage, getattr(user, "subject", None))
    return [required.desc(), fit.desc(), Course.id.desc()]


def get_visible(user, course_id: int, lessons: bool = False) -> Course | None:
    """The course if the user may see it; `lessons` loads its lessons and their quiz questions with it
    (a page listing lessons with their quiz badge then runs two queries, not one per lesson)."""
    if lessons:
        course = db.session.scalar(
            select(Course).where(Course.id == course_id)
            .options(selectinload(Course.lessons).selectinload(Lesson.questions))
        )  # fmt: skip
    else:
        course = db.session.get(Course, course_id)
    if course is None or not may_view(user, course):
        return None
    return course


def status_for(user, course: Course, req: set[int] | None = None, sel: set[int] | None = None) -> str:
    """ "required", "selected" or "available"."""
    req = required_ids(user) if req is None else req
    if course.id in req:
        return "required"
    sel = selected_ids(user) if sel is None else sel
    return "selected" if course.id in sel else "available"


def my_courses(user) -> dict:
    """Required and selected courses of a user with their hours (personal space, API)."""
    req = required_ids(user)
    sel = selected_ids(user)
    ids = req | sel
    if not ids:
        return {"required": [], "selected": [], "hours": Decimal(0), "required_hours": Decimal(0)}
    # Only courses the user may open: an assignment never makes a course visible (assign() refuses
    # those whose audience cannot see the course; rows from before that rule are left out here).
    courses = list(db.session.scalars(
        _visible(select(Course), user).where(Course.id.in_(ids), Course.published.is_(True)).order_by(Course.id)
    ))  # fmt: skip
    required = [c for c in courses if c.id in req]
    selected = [c for c in courses if c.id not in req]
    hours = sum((c.hours or 0 for c in courses), Decimal(0))
    return {"required": required, "selected": selected, "hours": hours,
            "required_hours": sum((c.hours or 0 for c in required), Decimal(0))}  # fmt: skip


def workshop_courses(workshop) -> list[tuple[Course, bool]]:
    """The published courses this workshop offers its members (assigned to the workshop itself),
    required first, as (course, required); one query."""
    rows = db.session.execute(
        select(Course, CourseAssignment.required)
        .join(CourseAssignment, CourseAssignment.course_id == Course.id)
        .where(CourseAssignment.context_id == workshop.context_id, Course.published.is_(True))
        .order_by(CourseAssignment.required.desc(), Course.title, Course.id)
    )
    return [(course, required) for course, required in rows]


def select_course(user, course: Course) -> bool:
    """Choose an elective; returns False when it was already chosen or is required anyway."""
    if not course.published or not may_view(user, course):
        raise CourseError("not_available")
    if course.id in required_ids(user):
        return False
    exists = db.session.scalar(
        select(CourseSelection.id).where(CourseSelection.course_id == course.id, CourseSelection.user_id == user.id)
    )
    if exists:
        return False
    db.session.add(CourseSelection(course_id=course.id, user_id=user.id))
    db.session.execute(update(Course).where(Course.id == course.id).values(selection_count=Course.selection_count + 1))
    db.session.commit()
    return True


def unselect_course(user, course: Course) -> bool:
    n = db.session.execute(
        delete(CourseSelection).where(CourseSelection.course_id == course.id, CourseSelection.user_id == user.id)
    ).rowcount
    if n:
        count = select(func.count()).where(CourseSelection.course_id == course.id).scalar_subquery()
        db.session.execute(update(Course).where(Course.id == course.id).values(selection_count=count))
    db.session.commit()
    return bool(n)


# --- editing ------------------------------------------------------------------------------------


def _clean_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        raise CourseError("title_required")
    if len(title) > 200:
        raise CourseError("title_too_long")
    return title


def _hours(value) -> Decimal:
    try:
        h = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise CourseError("bad_hours") from None
    if h <= 0 or h > MAX_HOURS:
        raise CourseError("bad_hours")
    return h


def _apply(course: Course, data: dict) -> None:
    course.title = _clean_title(data.get("title"))
    course.description_html = sanitize_html(data.get("description") or "")
    stage, subject, kind = data.get("stage") or None, data.get("subject") or None, data.get("kind")
    if stage is not None and stage not in STAGES:
        raise CourseError("bad_stage")
    if subject is not None and subject not in SUBJECTS:
        raise CourseError("bad_subject")
    if kind not in COURSE_KINDS:
        raise CourseError("bad_kind")
    course.stage, course.subject, course.kind = stage, subject, kind
    course.hours = _hours(data.get("hours", 1))
    course.published = bool(data.get("published"))


def create_course(user, context: Context, data: dict) -> Course:
    if not access.can(user, "course.manage", context):
        raise CourseError("forbidden")
    course = Course(context_id=context.id, created_by=user.id)
    course.context = context
    _apply(course, data)
    db.session.add(course)
    db.session.commit()
    _changed([course.id])
    return course


def update_course(user, course: Course, data: dict) -> Course:
    if not may_manage(user, course):
        raise CourseError("forbidden")
    _apply(course, data)
    db.session.commit()
    _changed([course.id])
    return course


def delete_course(user, course: Course) -> None:
    if not may_manage(user, course):
        raise CourseError("forbidden")
    cid = course.id
    db.session.delete(course)
    db.session.commit()
    signals.content_deleted.send(DOMAIN, kind="course", ids=[cid])


def _renumber(course: Course) -> None:
    for i, lesson in enumerate(sorted(course.lessons, key=lambda x: (x.position, x.id)), start=1):
        lesson.position = i
    course.lesson_count = len(course.lessons)


def add_lesson(user, course: Course, title: str, kind: str, body: str = "", document=None) -> Lesson:
    """Add a lesson at the end. `document` is a media StoredFile (a PDF) for document lessons."""
    if not may_manage(user, course):
        raise CourseError("forbidden")
    if kind not in LESSON_KINDS:
        raise CourseError("bad_kind")
    lesson = Lesson(title=_clean_title(title), kind=kind, body_html=sanitize_html(body or ""),
                    position=len(course.lessons) + 1)  # fmt: skip
    if document is not None:
        lesson.media_file_id = document.id
    course.lessons.append(lesson)
    _renumber(course)
    db.session.commit()
    _changed([course.id])
    return lesson


def update_lesson(user, lesson: Lesson, title: str, body: str = "", document=None) -> Lesson:
    if not may_manage(user, lesson.course):
        raise CourseError("forbidden")
    lesson.title = _clean_title(title)
    lesson.body_html = sanitize_html(body or "")
    if document is not None:
        lesson.media_file_id = document.id
    db.session.commit()
    _changed([lesson.course_id])
    return lesson


def delete_lesson(user, lesson: Lesson) -> None:
    from lms.courses import watch

    course = lesson.course
    if not may_manage(user, course):
        raise CourseError("forbidden")
    course.lessons.remove(lesson)
    _renumber(course)
    db.session.flush()
    # Teachers who completed it no longer count it ("3/2 lessons" otherwise).
    watch.recount_completed(course.id)
    db.session.commit()
    _changed([course.id])


def move_lesson(user, lesson: Lesson, delta: int) -> None:
    """Move a lesson up (-1) or down (+1) in its course."""
    course = lesson.course
    if not may_manage(user, course):
        raise CourseError("forbidden")
    ordered = sorted(course.lessons, key=lambda x: (x.position, x.id))
    i = ordered.index(lesson)
    j = max(0, min(len(ordered) - 1, i + delta))
    ordered.insert(j, ordered.pop(i))
    for pos, item in enumerate(ordered, start=1):
        item.position = pos
    db.session.commit()


def reorder_lessons(user, course: Course, lesson_ids: list[int]) -> None:
    """Put the course's lessons in this order (ids not listed keep their order after the listed ones)."""
    if not may_manage(user, course):
        raise CourseError("forbidden")
    rank = {lid: i for i, lid in enumerate(lesson_ids)}
    ordered = sorted(course.lessons, key=lambda x: (rank.get(x.id, len(rank)), x.position, x.id))
    for pos, item in enumerate(ordered, start=1):
        item.position = pos
    db.session.commit()


def assign(user, course: Course, context: Context, required: bool = True) -> CourseAssignment:
    """Offer a course to a workshop or region as required (or elective): the user must see the course
    and hold `course.assign` in the context (a host in their workshop), whose members must be able
    to see the course too."""
    if not may_view(user, course) or not access.can(user, "course.assign", context):
        raise CourseError("forbidden")
    if context.kind not in ASSIGNABLE_KINDS:
        raise CourseError("bad_context")
    if not audience_sees(course, context):
        raise CourseError("audience_cannot_see")
    row = db.session.scalar(
        select(CourseAssignment).where(
            CourseAssignment.course_id == course.id, CourseAssignment.context_id == context.id
        )
    )
    if row is None:
        row = CourseAssignment(course_id=course.id, context_id=context.id, assigned_by=user.id, required=bool(required))
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:  # a double submit: the other request made the row; change that one
            db.session.rollback()
            return assign(user, course, context, required)
        return row
    if not may_unassign(user, row):
        raise CourseError("set_above")
    if row.required != bool(required):
        row.required, row.assigned_by = bool(required), user.id
    db.session.commit()
    return row


def _assigns_from_above(user, context: Context) -> bool:
    """Whether the user holds course.assign above this context (a region admin, an expert of the
    region), not only in it (the workshop's host)."""
    return any(context.path.startswith(p) and context.path != p for p in access.reach_paths(user, "course.assign"))


def may_unassign(user, assignment: CourseAssignment) -> bool:
    """Change or withdraw an assignment: whoever may assign there, except that what someone above
    set (the county made a course required for the workshop) only someone above changes."""
    if not access.can(user, "course.assign", assignment.context):
        return False
    if assignment.assigned_by in (None, user.id) or _assigns_from_above(user, assignment.context):
        return True
    setter = db.session.get(User, assignment.assigned_by)
    return setter is None or not _assigns_from_above(setter, assignment.context)


def unassign(user, assignment: CourseAssignment) -> None:
    if not may_unassign(user, assignment):
        raise CourseError("forbidden")
    db.session.delete(assignment)
    db.session.commit()


def assignments_of(course: Course, user=None) -> list[CourseAssignment]:
    """The course's assignments (with their contexts); with a user, those in the subtrees where they
    hold `course.assign` (what a host sees of a province course: their own workshop's row)."""
    stmt = (
        select(CourseAssignment)
        .join(Context, CourseAssignment.context_id == Context.id)
        .options(contains_eager(CourseAssignment.context))
        .where(CourseAssignment.course_id == course.id)
        .order_by(Context.path, CourseAssignment.id)
    )
    if user is not None:
        stmt = access.visible(stmt, user, "course.assign", Context.path)
    return list(db.session.scalars(stmt))


def required_by(user, course: Course) -> list[Context]:
    """Where a course's requirement for this user comes from: the workshops and regions (of theirs)
    that assigned it as required, nearest first."""
    paths = belonging_paths(user)
    if not paths:
        return []
    stmt = (
        select(Context)
        .join(CourseAssignment, CourseAssignment.context_id == Context.id)
        .where(CourseAssignment.course_id == course.id, CourseAssignment.required.is_(True), Context.path.in_(paths))
    )
    return sorted(db.session.scalars(stmt), key=lambda c: -len(c.path))


# --- quizzes ------------------------------------------------------------------------------------


def add_question(user, lesson: Lesson, prompt: str, kind: str, options: list[str], answer: list[int]) -> QuizQuestion:
    if not may_manage(user, lesson.course):
        raise CourseError("forbidden")
    prompt = (prompt or "").strip()
    options = [o.strip()[:200] for o in options if o and o.strip()]
    if not prompt or len(prompt) > 500:
        raise CourseError("bad_prompt")
    if kind not in ("single", "multiple") or not 2 <= len(options) <= 8:
        raise CourseError("bad_options")
    answer = sorted({int(a) for a in answer})
    if not answer or any(a < 0 or a >= len(options) for a in answer) or (kind == "single" and len(answer) != 1):
        raise CourseError("bad_answer")
    q = QuizQuestion(prompt=prompt, kind=kind, options=options, answer=answer, position=len(lesson.questions) + 1)
    lesson.questions.append(q)
    db.session.flush()
    _recount_quiz(lesson)
    db.session.commit()
    return q


def _recount_quiz(lesson: Lesson) -> None:
    """A quiz appeared or went: whether the lesson waits for a pass changed for everyone."""
    from lms.courses import watch

    watch.recount_completed(lesson.course_id)


def delete_question(user, question: QuizQuestion) -> None:
    if not may_manage(user, question.lesson.course):
        raise CourseError("forbidden")
    lesson = question.lesson
    db.session.delete(question)
    db.session.flush()
    _recount_quiz(lesson)
    db.session.commit()


def quiz_rules() -> dict:
    cfg = current_app.config
    return {"max_attempts": max(1, int(cfg.get("COURSE_QUIZ_MAX_ATTEMPTS", 3))),
            "interval": max(0, int(cfg.get("COURSE_QUIZ_MIN_INTERVAL_SECONDS", 20))),
            "pass_score": float(cfg.get("COURSE_QUIZ_PASS_SCORE", 60))}  # fmt: skip


class QuizWait(CourseError):
    """Too soon after the previous attempt; `seconds` is how long to wait."""

    def __init__(self, seconds: int):
        super().__init__("quiz_wait")
        self.seconds = seconds


def _attempts(user, lesson: Lesson) -> list[QuizAttempt]:
    return list(db.session.scalars(
        select(QuizAttempt).where(QuizAttempt.lesson_id == lesson.id, QuizAttempt.user_id == user.id)
        .order_by(QuizAttempt.id)
    ))  # fmt: skip


def quiz_state(user, lesson: Lesson, attempts: list[QuizAttempt] | None = None) -> dict:
    """What the lesson page shows of the teacher's quiz: attempts used and left, best and last score,
    passed, whether the form is still open, and whether the key may be shown (after a pass or once no
    attempt is left: before that, showing it would give the answers away)."""
    rules = quiz_rules()
    attempts = _attempts(user, lesson) if attempts is None else attempts
    best = max(attempts, key=lambda a: (a.score, a.id)) if attempts else None
    passed = best is not None and best.score >= rules["pass_score"]
    left = max(0, rules["max_attempts"] - len(attempts))
    return {"attempts": len(attempts), "max_attempts": rules["max_attempts"], "left": left,
            "best": best, "last": attempts[-1] if attempts else None, "passed": passed,
            "pass_score": rules["pass_score"], "open": not passed and left > 0,
            "show_key": passed or (bool(attempts) and left == 0)}  # fmt: skip


def submit_quiz(user, lesson: Lesson, answers: dict, now=None) -> QuizAttempt:
    """Score an attempt: a question counts when the chosen options equal the key exactly.

    `answers` maps question id (int or str) to a list of option indexes (or one index). Every question
    needs an answer ("unanswered": nothing stored). A teacher gets COURSE_QUIZ_MAX_ATTEMPTS attempts
    at most ("quiz_closed" after them, and after a pass: the key is then on the page), and
    COURSE_QUIZ_MIN_INTERVAL_SECONDS between two (QuizWait). The best attempt counts; a passing one
    marks the lesson's quiz passed for course progress.
    """
    from datetime import timedelta

    from lms.core.db import utcnow
    from lms.courses import watch

    questions = lesson.questions
    if not questions:
        raise CourseError("no_quiz")
    clean: dict[str, list[int]] = {}
    correct = 0
    for q in questions:
        raw = answers.get(q.id, answers.get(str(q.id), []))
        if not isinstance(raw, list | tuple):
            raw = [raw]
        try:
            chosen = sorted({int(x) for x in raw if str(x).strip() != ""})
        except (TypeError, ValueError):
            chosen = []
        chosen = [c for c in chosen if 0 <= c < len(q.options)]
        if q.kind == "single":
            chosen = chosen[:1]
        if not chosen:
            raise CourseError("unanswered")
        clean[str(q.id)] = chosen
        if chosen == sorted(q.answer):
            correct += 1
    state = quiz_state(user, lesson)
    if not state["open"]:
        raise CourseError("quiz_closed")
    now = now or utcnow()
    last = state["last"]
    if last is not None and last.created_at is not None:
        last_at = last.created_at if last.created_at.tzinfo else last.created_at.replace(tzinfo=now.tzinfo)
        wait = last_at + timedelta(seconds=quiz_rules()["interval"]) - now
        if wait.total_seconds() > 0:
            raise QuizWait(int(wait.total_seconds()) + 1)
    total = len(questions)
    attempt = QuizAttempt(lesson_id=lesson.id, user_id=user.id, answers=clean, correct=correct, total=total,
                          score=round(100.0 * correct / total, 1), attempt_no=state["attempts"] + 1,
                          created_at=now)  # fmt: skip
    db.session.add(attempt)
    try:
        db.session.commit()
    except IntegrityError:  # another submission took this attempt number at the same moment
        db.session.rollback()
        raise QuizWait(quiz_rules()["interval"] or 1) from None
    if attempt.score >= quiz_rules()["pass_score"]:
        watch.mark_quiz_passed(user.id, lesson)
    return attempt


def open_lesson(user, lesson: Lesson) -> None:
    """A teacher opened a lesson page: a text or document lesson counts as read (videos count when watched)."""
    from lms.courses import watch

    if lesson.kind != "video" and lesson.course.published:
        watch.mark_read(user.id, lesson)


def last_attempt(user, lesson: Lesson) -> QuizAttempt | None:
    return db.session.scalar(
        select(QuizAttempt)
        .where(QuizAttempt.lesson_id == lesson.id, QuizAttempt.user_id == user.id)
        .order_by(QuizAttempt.id.desc())
        .limit(1)
    )


# --- video ----------------------------------------------------------------------------------------


def begin_video_upload(user, lesson: Lesson, filename: str, size: int) -> str:
    from lms.media import services as media

    if not may_manage(user, lesson.course):
        raise CourseError("forbidden")
    if lesson.kind != "video":
        raise CourseError("not_video")
    return media.begin_chunked(owner=user, filename=filename, size=size, ref={"lesson_id": lesson.id})


def open_video_uploads(user) -> list[dict]:
    """The user's unfinished video uploads (lms.media.services.open_uploads), each with "lesson": the
    lesson it is for when it still exists and the user may still manage it (a link to resume from),
    else None."""
    from lms.media import services as media

    uploads = media.open_uploads(user)
    ids = {int(u["ref"].get("lesson_id") or 0) for u in uploads} - {0}
    lessons = {ls.id: ls for ls in db.session.scalars(select(Lesson).where(Lesson.id.in_(ids)))} if ids else {}
    for u in uploads:
        ls = lessons.get(int(u["ref"].get("lesson_id") or 0))
        u["lesson"] = ls if ls is not None and may_manage(user, ls.course) else None
    return uploads


def finish_video_upload(user, lesson: Lesson, upload_id: str):
    """Store the complete upload as the lesson's new video and queue its transcode; returns the MediaJob.

    The lesson keeps playing its current rendition until the new job is done (record_job swaps them):
    viewers never meet a lesson "being prepared" because a replacement is on its way, and a new file
    that fails to transcode leaves the working video in place.
    """
    from lms.media import services as media
    from lms.media import tasks

    if not may_manage(user, lesson.course):
        raise CourseError("forbidden")
    stored = media.finish_chunked(upload_id, user)
    db.session.commit()
    job = tasks.enqueue(stored)
    lesson = db.session.get(Lesson, lesson.id)
    lesson.media_job_id = job.id
    if not lesson.rendition_dir:  # nothing playable yet: the lesson's source is the new file already
        lesson.media_file_id = stored.id
    db.session.commit()
    # The job may have finished before its id was on the lesson (tiny clips, fast machines).
    record_job(db.session.get(type(job), job.id))
    return job


def record_job(job) -> int:
    """Swap a finished transcode onto the lessons that use it; returns how many lessons changed.

    Only after the swap is committed is the previous rendition folder deleted (if no lesson still
    uses it): players holding URLs of the old folder then get 404 and ask for fresh URLs.
    """
    from lms.courses import watch
    from lms.media import services as media

    if job is None or job.status != "done" or not job.output_dir:
        return 0
    lessons = list(db.session.scalars(
        select(Lesson).where(Lesson.media_job_id == job.id, or_(Lesson.rendition_dir.is_(None),
                                                                 Lesson.rendition_dir != job.output_dir))
    ))  # fmt: skip
    old = {lesson.rendition_dir for lesson in lessons if lesson.rendition_dir}
    old_sources = {lesson.media_file_id for lesson in lessons} - {None, job.stored_file_id}
    for lesson in lessons:
        lesson.rendition_dir = job.output_dir
        lesson.duration_seconds = round(job.duration) if job.duration is not None else None
        lesson.media_file_id = job.stored_file_id
    if not lessons:
        return 0
    db.session.commit()
    for lesson in lessons:
        watch.forget_rendition(lesson.id)
    still_used = set(db.session.scalars(select(Lesson.rendition_dir).where(Lesson.rendition_dir.in_(old))))
    for folder in old - still_used - {job.output_dir}:
        media.delete_rendition(folder)
    # The replaced upload (often gigabytes) goes too, unless something still uses it.
    from lms.media.models import StoredFile

    for fid in old_sources:
        stored = db.session.get(StoredFile, fid)
        if stored is not None:
            media.delete_file(stored)
    db.session.commit()
    return len(lessons)


def on_media_job_finished(job, **_kw) -> None:
    record_job(job)


def retry_transcode(user, lesson: Lesson):
    """Run the lesson's failed transcode again (up to lms.media.tasks.MAX_ATTEMPTS starts); returns the job."""
    from lms.media import tasks

    if not may_manage(user, lesson.course):
        raise CourseError("forbidden")
    job = lesson.media_job
    if job is not None:
        db.session.refresh(job)
    if job is None or job.status != "failed":
        raise CourseError("not_failed")
    if (job.attempts or 0) >= tasks.MAX_ATTEMPTS:
        raise CourseError("no_attempts_left")
    if tasks.error_code(job.error) not in tasks.RETRYABLE:
        raise CourseError("not_retryable")
    if not tasks.retry(job):  # another click got there first
        raise CourseError("not_failed")
    return job


def transcode_status(lesson: Lesson) -> dict:
    """The lesson's latest transcode as the uploader sees it.

    `ready`: the latest upload is what viewers get. `previous`: viewers still get the earlier video
    (the latest upload is being transcoded, or failed).
    """
    job = lesson.media_job
    if job is not None:
        db.session.refresh(job)
    if job is not None and job.status == "done" and lesson.rendition_dir != job.output_dir:
        record_job(job)
        db.session.refresh(lesson)
    from lms.media.tasks import MAX_ATTEMPTS, can_retry, error_code

    ready = bool(lesson.rendition_dir) and (job is None or lesson.rendition_dir == job.output_dir)
    failed = bool(job and job.status == "failed")
    return {
        "lesson_id": lesson.id,
        "status": job.status if job else ("done" if lesson.rendition_dir else "none"),
        "progress": round(job.progress or 0, 1) if job else (100.0 if lesson.rendition_dir else 0.0),
        "error": failed,
        #: The failed job's error code (lms.media.tasks.error_code); lms.media.services.job_error_message words it.
        "reason": error_code(job.error) if failed else None,
        "attempts": job.attempts if job else 0,
        #: A retry may help (not for a file that cannot be read) and attempts are left.
        "can_retry": failed and can_retry(job),
        "attempts_left": failed and (job.attempts or 0) < MAX_ATTEMPTS,
        "duration_seconds": lesson.duration_seconds,
        "ready": ready,
        "previous": bool(lesson.rendition_dir) and not ready,
    }


# --- search ---------------------------------------------------------------------------------------


def _changed(ids: list[int]) -> None:
    signals.content_changed.send(DOMAIN, kind="course", ids=ids)


def search_documents(ids: list[int] | None):
    """Search source for kind "course" (lms.search.sources): published courses only."""
    stmt = select(Course, Context.path).join(Context, Course.context_id == Context.id)
    stmt = stmt.where(Course.published.is_(True))
    if ids is not None:
        stmt = stmt.where(Course.id.in_(ids))
    for course, path in db.session.execute(stmt.order_by(Course.id)):
        lessons = " ".join(lesson.title for lesson in course.lessons)
        yield {
            "kind": "course",
            "id": course.id,
            "title": course.title,
            "body": (html_to_text(course.description_html) + " " + lessons).strip(),
            # A plain path: the index is written from a background thread, outside any request.
            "url": f"/courses/{course.id}",
            "context_path": path,
            "owner_id": course.created_by,
            "stage": course.stage,
            "subject": course.subject,
            "type": course.kind,
            "created_at": course.created_at,
        }


# --- recommendations 智能推送 ----------------------------------------------------------------------


def recommend(user, limit: int = 4) -> list[Course]:
    """Published courses the teacher may open, fitting their stage and subject and what their
    workshop colleagues chose or watched; never one they already have (required, selected) or watched.

    One query; ranked like resource recommendations: fit (stage ±6, subject ±4, a course for every
    subject +1; taxonomy.fit_score), colleagues who chose or watched it (2 each, at most 6). Ties:
    newer first.
    """
    from sqlalchemy import case, union

    from lms.communities.models import WorkshopMembership
    from lms.courses.watch_models import CourseProgress

    if user is None or not getattr(user, "is_authenticated", False):
        return []
    stage = user.stage or (user.school.stage if getattr(user, "school", None) else None)
    my_workshops = select(WorkshopMembership.workshop_id).where(WorkshopMembership.user_id == user.id)
    colleagues = select(WorkshopMembership.user_id).where(
        WorkshopMembership.workshop_id.in_(my_workshops), WorkshopMembership.user_id != user.id
    )
    used = union(
        select(CourseSelection.course_id.label("cid"), CourseSelection.user_id.label("uid")).where(
            CourseSelection.user_id.in_(colleagues)
        ),
        select(CourseProgress.course_id.label("cid"), CourseProgress.user_id.label("uid")).where(
            CourseProgress.user_id.in_(colleagues)
        ),
    ).subquery()
    peer = select(used.c.cid, func.count().label("n")).group_by(used.c.cid).subquery()
    have = [
        select(CourseSelection.course_id).where(CourseSelection.user_id == user.id),
        select(CourseProgress.course_id).where(CourseProgress.user_id == user.id),
    ]
    paths = belonging_paths(user)
    if paths:  # required for them (required_ids, as a subquery: the panel stays one statement)
        have.append(
            select(CourseAssignment.course_id)
            .join(Context, CourseAssignment.context_id == Context.id)
            .where(CourseAssignment.required.is_(True), Context.path.in_(paths))
        )
    mine = union(*have)
    n = func.coalesce(peer.c.n, 0)
    score = fit_score(Course.stage, Course.subject, stage, user.subject) + case((n > 3, 6), else_=n * 2)
    stmt = (
        _visible(select(Course), user)
        .outerjoin(peer, peer.c.cid == Course.id)
        .where(Course.published.is_(True), Course.id.not_in(mine))
        .order_by(score.desc(), Course.created_at.desc(), Course.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def per_page() -> int:
    return current_app.config.get("PAGE_SIZE", 20)


def course_labels(ids) -> dict[int, dict]:
    """Title, hours and kind of courses by id, in one query (statistics name the courses they count)."""
    ids = {int(i) for i in ids if i}
    if not ids:
        return {}
    rows = db.session.execute(select(Course.id, Course.title, Course.hours, Course.kind).where(Course.id.in_(ids)))
    return {r.id: {"title": r.title, "hours": float(r.hours or 0), "kind": r.kind} for r in rows}
