"""Nobody waits forever (issue 5): submitters review first; reviews not started move on."""

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from lms.extensions import db
from lms.homework import services
from lms.homework.models import ReviewAllocation
from lms.notifications.models import Notification
from tests.homework.test_services import score_all, submit_all


def allocs(a):
    return list(db.session.scalars(select(ReviewAllocation).where(ReviewAllocation.assignment_id == a.id)))


def test_members_who_submitted_review_first(hw):
    a = hw["a"]
    a.reviews_per_submission = 3
    a.exclude_own_group = False
    db.session.commit()
    submitters, idle = hw["members"][:6], hw["members"][6:]
    submit_all(hw, who=submitters)
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    got = allocs(a)
    assert Counter(al.submission_id for al in got) == {services.submission_of(a, m).id: 3 for m in submitters}
    assert {al.reviewer_id for al in got} == {m.id for m in submitters}  # nobody relies on the idle two
    assert not any(services.my_allocations(m, a) for m in idle)


def long_review(hw):
    a = hw["a"]
    a.review_due_at = hw["now"] + timedelta(days=12)
    a.closes_at = hw["now"] + timedelta(days=14)
    db.session.commit()
    return a


def test_reviews_not_started_move_to_active_reviewers(app, hw):
    a = long_review(hw)
    submit_all(hw)
    start = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, start)
    idle = hw["members"][0]
    idle_pairs = {(al.submission_id, al.reviewer_id) for al in services.my_allocations(idle, a)}
    assert len(idle_pairs) == 3
    # Everyone else but one finishes their reviews on day one.
    busy = hw["members"][1]
    day1 = start + timedelta(days=1)
    for m in hw["members"][2:]:
        for al in services.my_allocations(m, a):
            score_all(a, al, m, now=day1)
    before = Counter(al.submission_id for al in allocs(a))
    # Not yet: the grace period is three days.
    assert services.tick(start + timedelta(days=2, hours=23))["reassigned"] == 0
    assert len(services.my_allocations(idle, a)) == 3
    counts = services.tick(start + timedelta(days=3, minutes=1))
    assert counts["reassigned"] == 6  # the idle member's three and the busy one's three
    assert services.my_allocations(idle, a) == [] and services.my_allocations(busy, a) == []
    after = allocs(a)
    assert Counter(al.submission_id for al in after) == before  # every submission keeps its reviews
    pairs = [(al.submission_id, al.reviewer_id) for al in after]
    assert len(set(pairs)) == len(pairs)
    assert all(al.reviewer_id != al.submission.author_id for al in after)
    done = {m.id for m in hw["members"][2:]}
    moved = [al for al in after if (al.submission_id, al.reviewer_id) not in idle_pairs and al.review is None]
    assert len(moved) == 6 and all(al.reviewer_id in done for al in moved)
    load = Counter(al.reviewer_id for al in after)
    assert max(load[m] for m in done) <= 2 * a.reviews_per_member  # capped; spread by lowest load
    assert len({al.reviewer_id for al in moved}) >= 3
    # The new reviewers are told, in the site language, without names.
    texts = [n.text for n in db.session.scalars(
        select(Notification).where(Notification.user_id.in_({al.reviewer_id for al in moved}),
                                   Notification.text.contains("转给")))]  # fmt: skip
    assert texts and not any(m.name in t for t in texts for m in hw["members"])
    # The idle members are not handed new work on the next runs (they would hold it up again).
    services.tick(start + timedelta(days=3, hours=1))
    assert services.my_allocations(idle, a) == [] and services.my_allocations(busy, a) == []
    # Coming back to the page, an idle member gets work again.
    services.ensure_allocated_for(idle, a, now=start + timedelta(days=3, hours=2))
    assert len(services.my_allocations(idle, a)) == 3


def test_reassignment_can_be_turned_off(app, hw):
    app.config["HOMEWORK_REVIEW_REASSIGN_DAYS"] = 0
    a = long_review(hw)
    submit_all(hw)
    start = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, start)
    for m in hw["members"][1:]:
        for al in services.my_allocations(m, a):
            score_all(a, al, m, now=start)
    assert services.tick(start + timedelta(days=4))["reassigned"] == 0
    assert len(services.my_allocations(hw["members"][0], a)) == 3
