"""Concurrent phase changes and allocations: page views, API calls, the tick and late submissions may
all reach the same assignment at the same moment; each allocation must still happen once."""

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from lms.accounts.models import User
from lms.extensions import db
from lms.homework import services
from lms.homework.models import Assignment, ReviewAllocation, ReviewerGrade
from tests.conftest import at_once


def _allocations(a):
    return list(db.session.scalars(select(ReviewAllocation).where(ReviewAllocation.assignment_id == a.id)))


def test_deadline_allocation_happens_once_when_requests_overlap(app, hw):
    a = hw["a"]
    services.sync(a, hw["now"])
    for i, u in enumerate(hw["members"]):
        services.submit(u, a, f"作业{i}", f"正文 {i}", now=hw["now"])
    later = a.submission_due_at + timedelta(minutes=1)
    aid = a.id

    def view():
        services.sync(db.session.get(Assignment, aid), later)
        return db.session.get(Assignment, aid).phase

    assert at_once(app, 4, view) == ["review"] * 4  # nobody failed, nobody skipped a phase
    db.session.expire_all()
    allocs = _allocations(a)
    load = Counter(al.reviewer_id for al in allocs)
    assert {m.id: load[m.id] for m in hw["members"]} == {m.id: 3 for m in hw["members"]}
    assert len(allocs) == 3 * len(hw["members"])


def test_hand_advance_clicked_at_once_moves_one_phase_and_allocates_once(app, hw):
    a, host = hw["a"], hw["world"]["host"]
    services.sync(a, hw["now"])
    for i, u in enumerate(hw["members"]):
        services.submit(u, a, f"作业{i}", f"正文 {i}", now=hw["now"])
    aid, hid = a.id, host.id

    def click():
        try:
            return services.advance(db.session.get(User, hid), db.session.get(Assignment, aid), expected="submission")
        except services.HomeworkError as exc:
            return str(exc)

    got = at_once(app, 3, click)
    # Three clicks on "next phase" seen in the submission phase: one move, not a skip to grading.
    assert sorted(got) == ["phase_changed", "phase_changed", "review"]
    db.session.expire_all()
    assert a.phase == "review"
    assert len(_allocations(a)) == 3 * len(hw["members"])


def test_late_submission_and_tick_do_not_both_allocate(app, hw):
    a = hw["a"]
    a.accept_late = True
    db.session.commit()
    late_author = hw["members"][-1]
    services.sync(a, hw["now"])
    for i, u in enumerate(hw["members"][:-1]):
        services.submit(u, a, f"作业{i}", f"正文 {i}", now=hw["now"])
    later = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    before = len(_allocations(a))
    aid, uid = a.id, late_author.id
    jobs = [
        lambda: services.submit(
            db.session.get(User, uid), db.session.get(Assignment, aid), "迟交", "迟交的作业", now=later
        ),  # fmt: skip
        lambda: services.tick(later),
        lambda: services.tick(later),
    ]
    assert len(at_once(app, 3, lambda: jobs.pop()())) == 3
    db.session.expire_all()
    s = services.submission_of(a, late_author)
    got = db.session.scalar(select(func.count(ReviewAllocation.id)).where(ReviewAllocation.submission_id == s.id))
    assert got == 3  # the target, once; not once per allocator
    # Its 3 reviews, and the late author's own 3 to do (once too).
    assert len(_allocations(a)) == before + 3 + 3
    assert len(services.my_allocations(late_author, a)) == 3


def test_reviewers_saving_at_once_get_one_grade_row_each(app, hw):
    a = hw["a"]
    services.sync(a, hw["now"])
    for i, u in enumerate(hw["members"]):
        services.submit(u, a, f"作业{i}", f"正文 {i}", now=hw["now"])
    later = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    names = [c["name"] for c in a.form["criteria"]]
    firsts = [services.my_allocations(m, a)[0].id for m in hw["members"][:4]]

    def save(alloc_id):
        al = db.session.get(ReviewAllocation, alloc_id)
        services.save_review(al.reviewer, al, dict(zip(names, (3, 4, 3), strict=True)), "好", now=later)
        return True

    assert at_once(app, 4, lambda: save(firsts.pop())) == [True] * 4
    rows = list(db.session.scalars(select(ReviewerGrade).where(ReviewerGrade.assignment_id == a.id)))
    done = {g.user_id: g.reviews_done for g in rows}
    assert {m.id: done.get(m.id) for m in hw["members"][:4]} == {m.id: 1 for m in hw["members"][:4]}
