"""Homework services on the real database: phases, allocation, reviews, grades, signals, reminders."""

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lms.communities import services as community
from lms.core.db import utcnow
from lms.extensions import db
from lms.homework import services
from lms.homework.models import Review, ReviewAllocation, Submission
from lms.notifications.models import Notification
from lms.signals import homework_graded, homework_published, homework_review_graded
from tests.factories import make_user


def submit_all(hw, who=None, now=None):
    now = now or hw["now"]
    a = hw["a"]
    services.sync(a, now)
    for i, u in enumerate(who or hw["members"]):
        services.submit(u, a, f"作业{i}", f"正文 {i}", now=now)


def to_review(hw):
    """Everyone submitted; the deadline passes; the review phase starts with allocation."""
    submit_all(hw)
    later = hw["a"].submission_due_at + timedelta(minutes=1)
    services.sync(hw["a"], later)
    return later


def score_all(a, alloc, user, levels=(3, 4, 3), now=None):
    names = [c["name"] for c in a.form["criteria"]]
    return services.save_review(user, alloc, dict(zip(names, levels, strict=True)), "不错", now=now)


def test_phase_advances_on_dates_and_by_hand(hw):
    a, now = hw["a"], hw["now"]
    assert a.phase == "setup"
    services.sync(a, now)
    assert a.phase == "submission"
    services.sync(a, a.closes_at + timedelta(seconds=1))
    assert a.phase == "closed"


def test_advance_by_hand_needs_manage(hw):
    a, w = hw["a"], hw["world"]
    with pytest.raises(PermissionError):
        services.advance(w["member"], a)
    assert services.advance(w["host"], a) == "submission"


def test_no_submission_before_opening_or_after_deadline(hw):
    a, m = hw["a"], hw["members"][0]
    with pytest.raises(services.HomeworkError, match="closed"):
        services.submit(m, a, "t", "x", now=hw["now"])  # still in setup
    services.sync(a, hw["now"])
    s = services.submit(m, a, "t", "x", now=hw["now"])
    services.submit(m, a, "t2", "edited", now=hw["now"])  # editable until the deadline
    assert db.session.get(Submission, s.id).title == "t2"
    after = a.submission_due_at + timedelta(seconds=1)
    with pytest.raises(services.HomeworkError, match="closed"):
        services.submit(m, a, "t3", "too late", now=after)  # not even before the tick noticed
    services.sync(a, after)
    with pytest.raises(services.HomeworkError, match="closed"):
        services.submit(m, a, "t3", "too late", now=after)
    assert db.session.get(Submission, s.id).title == "t2"


def test_only_participants_submit(hw):
    a, w = hw["a"], hw["world"]
    services.sync(a, hw["now"])
    for who in ("teacher", "member_b", "host_b", "outsider"):
        with pytest.raises(PermissionError):
            services.submit(w[who], a, "t", "x", now=hw["now"])


def test_no_review_before_review_phase(hw):
    a = hw["a"]
    submit_all(hw)
    m0, m1 = hw["members"][:2]
    s1 = services.submission_of(a, m1)
    # Reviewers are not allocated by hand before the review phase: they could read the work early.
    with pytest.raises(services.HomeworkError, match="not_allocatable"):
        services.allocate_by_hand(hw["world"]["host"], a, now=hw["now"])
    assert db.session.scalar(select(ReviewAllocation.id).where(ReviewAllocation.assignment_id == a.id)) is None
    # An allocation from before this rule (older data) cannot be used before the review phase either.
    al = ReviewAllocation(assignment_id=a.id, submission_id=s1.id, reviewer_id=m0.id)
    db.session.add(al)
    db.session.commit()
    assert not services.may_view_submission(m0, s1)
    assert services.status_for(m0, a)["allocations"] == []
    with pytest.raises(services.HomeworkError, match="review_closed"):
        score_all(a, al, al.reviewer, now=hw["now"])
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    assert services.allocate_by_hand(hw["world"]["host"], a) == 0  # from the review phase on it may run


def test_allocation_at_deadline_balanced_no_self_group_first(hw):
    a = hw["a"]
    to_review(hw)
    assert a.phase == "review"
    allocs = list(db.session.scalars(select(ReviewAllocation).where(ReviewAllocation.assignment_id == a.id)))
    load = Counter(al.reviewer_id for al in allocs)
    received = Counter(al.submission_id for al in allocs)
    assert all(load[m.id] == 3 for m in hw["members"])
    assert max(received.values()) - min(received.values()) <= 1
    assert all(al.reviewer_id != al.submission.author_id for al in allocs)
    assert not any(al.fallback for al in allocs)  # two groups of 4: outsiders always exist
    # Reviewers were told, without any names.
    texts = [n.text for n in db.session.scalars(select(Notification).where(Notification.kind == "homework"))]
    assert texts and all("成员" not in t and "李老师" not in t for t in texts)


def test_late_submission_and_late_joiner_are_allocated(hw):
    a, w = hw["a"], hw["world"]
    a.accept_late = True
    db.session.commit()
    late_author = hw["members"][-1]
    submit_all(hw, who=hw["members"][:-1])
    later = to_review_at = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    s = services.submit(late_author, a, "迟交", "迟交的作业", now=to_review_at)
    assert s.late
    got = db.session.scalars(select(ReviewAllocation).where(ReviewAllocation.submission_id == s.id)).all()
    assert len(got) >= 3  # nobody waits: reviewers take one more when everyone's quota was used
    assert len(services.my_allocations(late_author, a)) == 3  # and reviews like everyone else
    # A member joining during the review phase gets work on their first visit (when members who
    # did not submit review too).
    a.reviewers_must_submit = False
    db.session.commit()
    newcomer = make_user("hw_new", "新成员", w.school_a)
    community.add_member(w.workshop_a, newcomer)
    db.session.commit()
    services.ensure_allocated_for(newcomer, a, now=later)
    assert len(services.my_allocations(newcomer, a)) == 3


def test_small_group_falls_back_instead_of_waiting(hw):
    a = hw["a"]
    a.exclude_own_group = True
    a.reviews_per_member = 5
    db.session.commit()
    # Only first-group members submit and review: 4 people, everyone in one group.
    first = hw["members"][:4]
    submit_all(hw, who=first)
    for m in hw["members"][4:]:
        community.remove_member(hw["world"].workshop_a, m.id)
    db.session.commit()
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    allocs = list(db.session.scalars(select(ReviewAllocation).where(ReviewAllocation.assignment_id == a.id)))
    assert Counter(al.submission_id for al in allocs) == {services.submission_of(a, m).id: 3 for m in first}
    assert all(al.fallback for al in allocs)


def test_grades_stored_and_signal_sent(hw):
    a, w = hw["a"], hw["world"]
    later = to_review(hw)
    sent = []

    def listener(sender, **kw):
        sent.append((sender.id, kw))

    homework_graded.connect(listener)
    try:
        reviewer = hw["members"][0]
        mine = services.my_allocations(reviewer, a)
        score_all(a, mine[0], reviewer, now=later)
        s = mine[0].submission
        db.session.refresh(s)
        assert s.peer_grade == pytest.approx(10 * 10 / 10)  # 3+4+3 = 10 of 10 points
        assert s.final_grade == s.peer_grade
        assert any(sid == s.id and kw["peer_grade"] == s.peer_grade for sid, kw in sent)
        # reviews_done of the reviewer's own submission changed too
        own = services.submission_of(a, reviewer)
        assert any(sid == own.id and kw["reviews_done"] == 1 for sid, kw in sent)
        sent.clear()
        services.set_host_grade(w["host"], s, 6.0)
        assert s.final_grade == 6.0 and sent[-1][1]["host_grade"] == 6.0
        services.set_host_grade(w["host"], s, 6.0, override=9.0)
        assert s.final_grade == 9.0 and sent[-1][1]["final_grade"] == 9.0
        sent.clear()
        services.set_host_grade(w["host"], s, 6.0, override=9.0)
        assert sent == []  # nothing changed, nothing sent
    finally:
        homework_graded.disconnect(listener)
    with pytest.raises(PermissionError):
        services.set_host_grade(w["member"], s, 1.0)


def test_median_mean_and_reviewing_grade(hw):
    a = hw["a"]
    later = to_review(hw)
    target = services.submission_of(a, hw["members"][0])
    allocs = services.allocations_of(target)
    levels = [(3, 4, 3), (3, 4, 3), (0, 0, 0)]
    for al, lv in zip(allocs, levels, strict=False):
        score_all(a, al, al.reviewer, levels=lv, now=later)
    db.session.refresh(target)
    grades = sorted(al.review.grade for al in allocs if al.review)
    assert target.peer_grade == pytest.approx(grades[len(grades) // 2])  # median
    a.grade_strategy = "mean"
    db.session.commit()
    services.recompute(a)
    assert target.peer_grade == pytest.approx(round(sum(grades) / len(grades), 2))
    # The outlier's review is far from the consensus: lower grade for reviewing than the others.
    outlier = services.reviewer_grade(a, allocs[2].reviewer_id)
    good = services.reviewer_grade(a, allocs[0].reviewer_id)
    assert outlier.reviews_done == good.reviews_done == 1
    assert outlier.grade < good.grade


def test_reminders_once_per_phase(hw):
    a = hw["a"]
    submit_all(hw, who=hw["members"][:3])
    near = a.submission_due_at - timedelta(hours=2)
    services.sync(a, near)
    services.sync(a, near + timedelta(minutes=30))
    rem = list(db.session.scalars(select(Notification).where(Notification.kind == "homework_reminder")))
    assert sorted(n.user_id for n in rem) == sorted(m.id for m in hw["members"][3:])
    assert "教学改进案例" in rem[0].text
    # The deadline reads in the site's time (Asia/Shanghai), as the pages show it, not in UTC.
    local_due = a.submission_due_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert local_due in rem[0].text and "UTC" not in rem[0].text
    # Review phase: reviewers with unfinished reviews, once.
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    services.sync(a, a.review_due_at - timedelta(hours=1))
    services.sync(a, a.review_due_at - timedelta(minutes=30))
    rem2 = list(db.session.scalars(select(Notification).where(Notification.kind == "homework_reminder")))
    assert len(rem2) == len(rem) + 3  # only the three who submitted review (reviewers_must_submit)
    for n in rem2:  # no names of anyone in reminder texts
        assert not any(m.name in n.text for m in hw["members"])


def test_recommend_notifies_experts_and_publish_sends_signal(hw):
    a, w = hw["a"], hw["world"]
    to_review(hw)
    s = services.submission_of(a, hw["members"][0])
    with pytest.raises(services.HomeworkError):
        services.publish(w["expert"], s)
    services.recommend(w["host"], s)
    note = db.session.scalar(select(Notification).where(Notification.user_id == w["expert"].id))
    assert note is not None and hw["members"][0].name not in note.text
    got = []

    def listener(sender, **kw):
        got.append((sender, kw))

    homework_published.connect(listener)
    try:
        with pytest.raises(PermissionError):
            services.publish(w["host"], s)  # the host recommends, the expert publishes
        services.publish(w["expert"], s)
    finally:
        homework_published.disconnect(listener)
    assert len(got) == 1
    sender, kw = got[0]
    assert sender.id == s.id and kw["expert"].id == w["expert"].id and kw["author"].id == s.author_id
    assert set(kw) >= {"title", "body_html", "file_ids", "context"}
    assert services.recommended(w["expert"]) == [s]


def test_form_validation():
    with pytest.raises(services.HomeworkError):
        services.parse_form({"kind": "rubric", "criteria": []})
    with pytest.raises(services.HomeworkError):
        services.parse_form({"kind": "rubric", "criteria": [{"name": "a", "levels": [{"points": "x"}]}]})
    with pytest.raises(services.HomeworkError):
        services.parse_form({"kind": "weighted", "criteria": [{"name": "a", "max_points": 0}]})
    f = services.parse_form({"kind": "weighted", "criteria": [{"name": "a", "max_points": "10", "weight": "2"},
                                                             {"name": "b", "max_points": 5, "weight": 1}]})  # fmt: skip
    form = services.build_form(f)
    assert form.grade({"a": 10, "b": 0}) == pytest.approx(10 * 2 / 3)


def test_tick_runs_everything(hw):
    a = hw["a"]
    submit_all(hw)
    counts = services.tick(a.submission_due_at + timedelta(minutes=5))
    assert counts["assignments"] == 1
    assert a.phase == "review"
    assert db.session.scalar(select(ReviewAllocation.id).where(ReviewAllocation.assignment_id == a.id))
    assert Review is not None


def test_the_scheduler_reminds_without_anyone_opening_a_page(app, hw):
    """Reminders reach the members who do not visit: the periodic task sends them, no page view."""
    from lms.core.schedule import run_due

    a = hw["a"]
    submit_all(hw, who=hw["members"][:2])
    a.submission_due_at = utcnow() + timedelta(hours=3)
    db.session.commit()
    assert run_due(app)["homework.tick"] == "ok"
    reminded = db.session.scalars(select(Notification.user_id).where(Notification.kind == "homework_reminder"))
    assert sorted(reminded) == sorted(m.id for m in hw["members"][2:])


def test_reminders_go_out_once_when_runs_overlap(app, hw):
    """A page view's sync, the scheduler and cron at the same moment: each member is reminded once."""
    from lms.homework.models import Assignment
    from tests.conftest import at_once

    a = hw["a"]
    near = a.submission_due_at - timedelta(hours=2)
    at_once(app, 3, lambda: services.sync(db.session.get(Assignment, a.id), near))
    reminded = list(db.session.scalars(select(Notification.user_id).where(Notification.kind == "homework_reminder")))
    assert sorted(reminded) == sorted(m.id for m in hw["members"])


def test_fewer_reviews_allocated_than_required_can_still_earn_full_marks(client, login_as, hw):
    """Each submission is capped at 2 reviews: 8 submissions × 2 = 16 reviews for 8 reviewers who
    should do 3 each. Everyone gets 2, through no fault of their own, and 2 done earn the full 5."""
    a = hw["a"]
    a.reviews_per_submission = 2
    db.session.commit()
    later = to_review(hw)
    assert Counter(al.reviewer_id for al in db.session.scalars(select(ReviewAllocation))) == {
        m.id: 2 for m in hw["members"]
    }
    lazy = hw["members"][1]
    for m in hw["members"]:
        for al in services.my_allocations(m, a)[: 1 if m is lazy else 2]:
            score_all(a, al, m, now=later)  # everybody agrees: every review is at the consensus
    grades = {m.id: (g.reviews_done, g.grade) for m in hw["members"] for g in [services.reviewer_grade(a, m.id)]}
    assert grades == {m.id: (1, 2.5) if m is lazy else (2, 5.0) for m in hw["members"]}
    page = login_as(hw["members"][0]).get(f"/homework/{a.id}").get_data(as_text=True)
    assert "已完成 2 / 2" in page  # done of allocated, not "2 of 3"
    api = login_as(hw["members"][0]).get(f"/api/v1/homework/assignments/{a.id}/submission").get_json()
    assert (api["reviews_done"], api["reviews_required"], api["reviewing_grade"]) == (2, 2, 5.0)
    # Before allocation the assignment's number is what is asked; never more than allocated after it.
    assert [services.reviews_required(a, n) for n in (0, 2, 3, 7)] == [1, 2, 3, 3]


def test_grade_for_reviewing_is_signalled_per_user_submitted_or_not(hw):
    a = hw["a"]
    quiet = hw["members"][-1]  # reviews, never submits
    a.reviewers_must_submit = False
    db.session.commit()
    submit_all(hw, who=hw["members"][:-1])
    later = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    graded, reviewed = [], []

    def on_graded(sender, **kw):
        graded.append((sender.author_id, kw))

    def on_reviewed(sender, **kw):
        reviewed.append((sender.id, kw))

    homework_graded.connect(on_graded)
    homework_review_graded.connect(on_reviewed)
    try:
        first = services.my_allocations(quiet, a)[0]
        target = first.submission
        score_all(a, first, quiet, now=later)
        # Alone on that submission: nothing to compare with, quality granted; 1 of 3 done.
        assert reviewed == [(a.id, {"user_id": quiet.id, "grade": 1.67, "reviews_done": 1, "reviews_required": 3})]
        assert [uid for uid, _ in graded] == [target.author_id]  # the reviewed one; quiet has no submission
        assert graded[0][1]["reviewing_grade"] is None  # the author has not reviewed yet
        reviewed.clear()
        graded.clear()
        # A second reviewer disagrees: both are now compared with the consensus, both grades move.
        other = next(al for al in services.allocations_of(target) if al.reviewer_id != quiet.id)
        score_all(a, other, other.reviewer, levels=(0, 0, 0), now=later)
        got = {kw["user_id"]: kw for _, kw in reviewed}
        assert set(got) == {quiet.id, other.reviewer_id}
        for uid in got:
            g = services.reviewer_grade(a, uid)
            assert (got[uid]["grade"], got[uid]["reviews_done"], got[uid]["reviews_required"]) == (
                g.grade, g.reviews_done, 3)  # fmt: skip
        assert got[quiet.id]["grade"] < 1.67
        # The second reviewer submitted: their homework_graded carries their grade for reviewing.
        own = [kw for uid, kw in graded if uid == other.reviewer_id]
        assert own and own[-1]["reviewing_grade"] == got[other.reviewer_id]["grade"]
        reviewed.clear()
        graded.clear()
        services.recompute(a)
        assert reviewed == [] and graded == []  # nothing changed, nothing sent
    finally:
        homework_graded.disconnect(on_graded)
        homework_review_graded.disconnect(on_reviewed)


PDF = b"%PDF-1.4\n" + b"0" * 200


def _upload(data=PDF, name="案例.pdf"):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=BytesIO(data), filename=name)


def test_removed_attachment_survives_a_failed_save(app, hw):
    """Removing a file and then failing (nothing else left, or a bad upload) loses nothing: the file
    is still listed and still on disk; only a save that commits removes it."""
    from lms.core.uploads import UploadError
    from lms.media.services import path_of

    a, m = hw["a"], hw["members"][0]
    services.sync(a, hw["now"])
    with app.test_request_context("/"):
        s = services.submit(m, a, "带附件", "", uploads=[_upload()], now=hw["now"])
    sf_id, path = s.files[0].id, path_of(s.files[0].file)
    assert path.read_bytes() == PDF

    def still_there():
        db.session.expire_all()
        assert [sf.id for sf in services.submission_of(a, m).files] == [sf_id]
        assert path.read_bytes() == PDF

    with pytest.raises(services.HomeworkError, match="empty"):  # the only content removed
        services.submit(m, a, "带附件", "", remove_file_ids=[sf_id], now=hw["now"])
    still_there()
    exe = _upload(b"MZ\x90\x00" + b"\x00" * 200, "说明.pdf")  # a program named .pdf: refused
    with pytest.raises(UploadError), app.test_request_context("/"):
        services.submit(m, a, "带附件", "正文", uploads=[exe], remove_file_ids=[sf_id], now=hw["now"])
    still_there()
    services.submit(m, a, "带附件", "正文", remove_file_ids=[sf_id], now=hw["now"])
    assert services.submission_of(a, m).files == [] and not path.exists()


def test_published_excellent_work_brings_every_attachment_to_the_library(app, hw):
    from lms.resources.models import Resource

    a, w, m = hw["a"], hw["world"], hw["members"][0]
    services.sync(a, hw["now"])
    with app.test_request_context("/"):
        s = services.submit(m, a, "分层作业设计", "<p>正文</p>", now=hw["now"],
                            uploads=[_upload(name="设计.pdf"), _upload(name="课件.pdf")])  # fmt: skip
    services.recommend(w["host"], s)
    services.publish(w["expert"], s)
    got = db.session.scalars(select(Resource).order_by(Resource.id)).all()
    assert [(r.title, r.file_id) for r in got] == [
        ("分层作业设计 · 设计", s.files[0].file_id),
        ("分层作业设计 · 课件", s.files[1].file_id),
    ]
