"""Fixes from the audit of issue 5: free-riders after a hand-over, notification language, the
weighted peer grade, reviewer codes, the export, allocation defaults, when authors see reviews."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.homework import services
from lms.homework.models import ReviewerGrade
from lms.notifications.models import Notification
from tests.homework.test_pages import csrf
from tests.homework.test_services import score_all, submit_all


def _grade(a, user):
    db.session.expire_all()
    return db.session.scalar(
        select(ReviewerGrade).where(ReviewerGrade.assignment_id == a.id, ReviewerGrade.user_id == user.id)
    )


def test_reviews_handed_over_for_not_doing_them_still_count_as_owed(app, hw):
    a = hw["a"]
    a.review_due_at = hw["now"] + timedelta(days=12)
    a.closes_at = hw["now"] + timedelta(days=14)
    db.session.commit()
    submit_all(hw)
    start = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, start)
    lazy = hw["members"][0]
    mine = services.my_allocations(lazy, a)
    assert len(mine) == 3
    day1 = start + timedelta(days=1)
    score_all(a, mine[0], lazy, now=day1)  # 1 of 3, then nothing
    for m in hw["members"][1:]:
        for al in services.my_allocations(m, a):
            score_all(a, al, m, now=day1)
    # Everyone scored alike: agreement is perfect, so the grade is 5 × done / required.
    before = _grade(a, lazy)
    assert before.reviews_done == 1 and before.grade == pytest.approx(5 / 3, abs=0.01)
    assert services.tick(start + timedelta(days=3, minutes=1))["reassigned"] == 2
    assert len(services.my_allocations(lazy, a)) == 1
    after = _grade(a, lazy)
    # Before the fix the lazy reviewer's "required" dropped to 1 and the grade rose to 5.0.
    assert after.reviews_moved == 2 and after.grade == pytest.approx(5 / 3, abs=0.01)
    st = services.status_for(lazy, a)
    assert st["reviews_required"] == 3
    row = next(r for r in services.results(a) if r.user_id == lazy.id)
    assert (row.reviews_done, row.reviews_required) == (1, 3)
    # Those who took the work over did all of theirs: still full marks.
    for m in hw["members"][1:]:
        assert _grade(a, m).grade == pytest.approx(5.0)
    # A member who never submitted and was never given a review has no grade to lose.
    assert services.reviews_required(a, 0) == 1 and services.reviews_required(a, 2) == 2
    assert services.reviews_required(a, 1, moved=2) == 3


def _english(client):
    client.post("/lang/en", data={"next": "/"})
    assert 'lang="en"' in client.get("/me").get_data(as_text=True)
    return client


def test_notifications_are_in_the_site_language_whatever_the_senders_ui(client, login_as, hw):
    a = hw["a"]
    submit_all(hw)
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    a.review_due_at = a.closes_at = None
    db.session.commit()
    reviewer = hw["members"][1]
    al = services.my_allocations(reviewer, a)[0]
    author = al.submission.author
    c = _english(login_as(reviewer))
    page = c.get(f"/homework/reviews/{al.id}").get_data(as_text=True)
    names = [cr["name"] for cr in a.form["criteria"]]
    data = {"csrf_token": csrf(page), "comment": "ok", **dict(zip([f"score:{n}" for n in names], "343", strict=True))}
    assert c.post(f"/homework/reviews/{al.id}", data=data).status_code == 302
    db.session.expire_all()
    texts = list(db.session.scalars(select(Notification.text).where(Notification.user_id == author.id)))
    review_texts = [t for t in texts if a.title in t and "互评" in t]
    assert review_texts, texts
    assert not any("peer review" in t for t in texts)  # nothing in the reviewer's UI language
    # A host with an English UI recommending: the experts read Chinese too.
    s = al.submission
    host = _english(login_as(hw["world"]["host"]))
    page = host.get(f"/homework/{a.id}/results").get_data(as_text=True)
    assert host.post(f"/homework/submissions/{s.id}/recommend", data={"csrf_token": csrf(page)}).status_code == 302
    english = list(db.session.scalars(select(Notification.text).where(Notification.text.contains("recommended"))))
    assert not english


def test_authors_read_received_reviews_only_after_the_review_phase(client, login_as, hw):
    a = hw["a"]
    submit_all(hw)
    later = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    a.review_due_at = a.closes_at = None
    db.session.commit()
    author = hw["members"][0]
    s = services.submission_of(a, author)
    for al in services.allocations_of(s):
        services.save_review(al.reviewer, al, dict.fromkeys([c["name"] for c in a.form["criteria"]], 0), "要再改改",
                             now=later)  # fmt: skip
    assert s.peer_grade == 0.0
    c = login_as(author)
    api = f"/api/v1/homework/assignments/{a.id}/submission"
    for body in (c.get(f"/homework/{a.id}").get_data(as_text=True),
                 c.get(f"/homework/submissions/{s.id}").get_data(as_text=True)):  # fmt: skip
        assert "要再改改" not in body and "互评阶段结束后" in body
    got = c.get(api).get_json()
    assert got["reviews_received"] == [] and got["submission"]["peer_grade"] is None
    assert got["submission"]["final_grade"] is None
    assert services.status_for(author, a)["received"] == []
    # The host sees them at once.
    host = login_as(hw["world"]["host"])
    assert "要再改改" in host.get(f"/homework/submissions/{s.id}").get_data(as_text=True)
    # The review phase ends: the author reads them, and the grade.
    services.advance(hw["world"]["host"], a)
    assert a.phase == "grading"
    c = login_as(author)
    for body in (c.get(f"/homework/{a.id}").get_data(as_text=True),
                 c.get(f"/homework/submissions/{s.id}").get_data(as_text=True)):  # fmt: skip
        assert "要再改改" in body
    got = c.get(api).get_json()
    assert len(got["reviews_received"]) == 3 and got["submission"]["peer_grade"] == 0.0


def test_anonymous_codes_are_long_and_unique_in_a_provincial_assignment(app, hw):
    a = hw["a"]
    n = 20_000  # more than the 11,140 teachers of a provincial project
    for kind in ("a", "r"):
        codes = [services._pseudonym(a, kind, i) for i in range(1, n + 1)]
        assert len(set(codes)) == n
        assert all(len(c.replace("-", "")) == services.CODE_CHARS >= 8 for c in codes)
    assert services._pseudonym(a, "a", 5) == services._pseudonym(a, "a", 5)  # stable
    assert services._pseudonym(a, "a", 5) != services._pseudonym(
        a, "r", 5
    )  # an author's code is not theirs as reviewer


def test_export_names_reviewers_for_graders_and_nothing_a_teacher_downloads_names_anyone(client, login_as, hw):
    import io

    from openpyxl import load_workbook

    from tests.homework.test_services import _upload

    a, w = hw["a"], hw["world"]
    services.sync(a, hw["now"])
    author = hw["members"][0]
    services.submit(author, a, "案例", "正文", uploads=[_upload(name=f"{author.name}的案例.pdf")], now=hw["now"])
    submit_all(hw, who=hw["members"][1:])
    later = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    a.review_due_at = a.closes_at = None
    db.session.commit()
    s = services.submission_of(a, author)
    allocs = services.allocations_of(s)
    for al in allocs:
        score_all(a, al, al.reviewer, now=later)
    # The host's pages name the reviewers; the export says the same, row by row.
    host = login_as(w["host"])
    page = host.get(f"/homework/submissions/{s.id}").get_data(as_text=True)
    assert all(al.reviewer.name in page for al in allocs)
    wb = load_workbook(io.BytesIO(host.get(f"/homework/{a.id}/export.xlsx").data))
    rows = [r for r in wb.worksheets[1].iter_rows(min_row=2, values_only=True) if r[0] == author.name]
    assert sorted(r[2] for r in rows) == sorted(al.reviewer.name for al in allocs)
    # Teachers (authors, reviewers, other members) cannot download the export.
    for m in (author, allocs[0].reviewer, w["teacher"]):
        assert login_as(m).get(f"/homework/{a.id}/export.xlsx").status_code in (403, 404)
    # A reviewer downloading the attachment gets a neutral file name, not the one carrying the author's name.
    fid = s.files[0].file_id
    r = login_as(allocs[0].reviewer).get(f"/homework/submissions/{s.id}/files/{fid}")
    assert r.status_code == 200
    disposition = r.headers["Content-Disposition"]
    assert f"homework-{fid}.pdf" in disposition and author.name not in disposition and "%" not in disposition
    # The host gets the real name.
    assert "filename" in host.get(f"/homework/submissions/{s.id}/files/{fid}").headers.get("Content-Disposition", "")


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("median", 10.0), ("mean", 6.67), ("weighted", 8.57)],
)
def test_weighted_peer_grade_by_grade_for_reviewing_hand_worked(hw, strategy, expected):
    """Author X gets reviews 0, 10, 10. The reviewer who gave 0 did only that one of their 3
    reviews; the two others did all 3. With quality_share 0 the grades for reviewing are
    5 × 1/3 = 5/3, 5 and 5. Weighted mean: (0·5/3 + 10·5 + 10·5) / (5/3 + 5 + 5) = 100 / (35/3)
    = 60/7 = 8.57; plain mean 20/3 = 6.67; median 10."""
    a = hw["a"]
    a.grade_strategy, a.quality_share = strategy, 0.0
    db.session.commit()
    submit_all(hw)
    later = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    x = services.submission_of(a, hw["members"][0])
    lazy, *diligent = [al.reviewer for al in services.allocations_of(x)]
    lazy_al = next(al for al in services.allocations_of(x) if al.reviewer_id == lazy.id)
    score_all(a, lazy_al, lazy, levels=(0, 0, 0), now=later)
    for r in diligent:
        for al in services.my_allocations(r, a):
            score_all(a, al, r, levels=(3, 4, 3), now=later)
    db.session.expire_all()
    assert _grade(a, lazy).grade == pytest.approx(5 / 3, abs=0.01)
    assert all(_grade(a, r).grade == 5.0 for r in diligent)
    assert services.submission_of(a, hw["members"][0]).peer_grade == pytest.approx(expected, abs=0.01)


def test_weighted_strategy_is_offered_and_validated(client, login_as, hw):
    a = hw["a"]
    page = login_as(hw["world"]["host"]).get(f"/homework/{a.id}/edit").get_data(as_text=True)
    assert 'value="weighted"' in page and 'id="strategy-help"' in page
    data = services.AssignmentInput(title="t", grade_strategy="weighted")
    assert services._check_input(data)["grade_strategy"] == "weighted"
    with pytest.raises(services.HomeworkError, match="bad_strategy"):
        services._check_input(services.AssignmentInput(title="t", grade_strategy="mode"))


@pytest.mark.parametrize("must_submit", [True, False])
def test_few_submissions_get_the_quota_not_everyone(hw, must_submit):
    """3 of 8 submit, 3 reviews each (the audit: 6 of 93 got 77 each, 87 non-submitters told to do 5)."""
    from collections import Counter

    a = hw["a"]
    assert a.reviewers_must_submit is True and a.reviews_per_submission is None  # the defaults
    a.reviewers_must_submit = must_submit
    db.session.commit()
    submitters, idle = hw["members"][:3], hw["members"][3:]
    submit_all(hw, who=submitters)
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    allocs = [al for m in hw["members"] for al in services.my_allocations(m, a)]
    per_sub = Counter(al.submission_id for al in allocs)
    if must_submit:
        # Only the three review, each the two others: all they can.
        assert sorted(per_sub.values()) == [2, 2, 2]
        assert not any(services.my_allocations(m, a) for m in idle)
    else:
        assert sorted(per_sub.values()) == [3, 3, 3]  # the target, not everyone's quota piled on
        assert len(allocs) == 9 and max(Counter(al.reviewer_id for al in allocs).values()) <= a.reviews_per_member


def test_editor_shows_only_the_chosen_kinds_fields_and_the_server_ignores_the_others(client, login_as, hw):
    import re

    from lms.homework.forms import rubric_from_form

    a = hw["a"]
    page = login_as(hw["world"]["host"]).get(f"/homework/{a.id}/edit").get_data(as_text=True)
    assert "js/homework.js" in page
    weighted = re.findall(r'<div class="row g-2 mt-1" data-hw-kind="weighted"( hidden)?>', page)
    rubric = re.findall(r'<div data-hw-kind="rubric"( hidden)?>', page)
    assert weighted and all(h == " hidden" for h in weighted)  # a rubric: the weighted inputs are hidden
    assert rubric and all(h == "" for h in rubric)
    data = {"c0_name": "结构", "c0_max": "10", "c0_weight": "2", "c0_l0_points": "3", "c0_l0_label": "好"}
    assert rubric_from_form(data, "weighted")["criteria"][0] == {
        "name": "结构", "description": "", "max_points": "10", "weight": "2"}  # fmt: skip
    assert "max_points" not in rubric_from_form(data, "rubric")["criteria"][0]


def test_results_table_filters_sorts_and_stays_n_plus_1_free(client, login_as, hw):
    import re

    from tests.sql_counting import counting

    a, w = hw["a"], hw["world"]
    a.accept_late = True
    db.session.commit()
    first, rest = hw["members"][:4], hw["members"][4:]
    submit_all(hw, who=first)
    later = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    a.review_due_at = a.closes_at = None
    db.session.commit()
    s0 = services.submission_of(a, first[0])
    services.set_host_grade(w["host"], s0, 9.0)
    host = login_as(w["host"])
    url = f"/homework/{a.id}/results"
    page = host.get(url).get_data(as_text=True)
    assert "<table" in page and "hw-results-table" in page and "d-md-none" in page
    assert page.count("<tr") == len(hw["members"]) + 1

    def names(query):
        body = host.get(url + query).get_data(as_text=True)
        table = body[body.index("<tbody>") : body.index("</tbody>")] if "<tbody>" in body else ""
        return re.findall(r'<th scope="row"[^>]*><strong>([^<]+)</strong>', table)

    assert sorted(names("?show=unsubmitted")) == sorted(m.name for m in rest)
    assert sorted(names("?show=ungraded")) == sorted(m.name for m in first[1:])
    assert sorted(names("?show=missing")) == sorted(m.name for m in first)  # nobody has reviewed yet
    by_host = names("?sort=host&desc=1")
    assert by_host[0] == first[0].name  # the only host grade first, the rest after
    assert names("?sort=name") == sorted(m.name for m in hw["members"])
    assert names("?sort=name&desc=1") == sorted((m.name for m in hw["members"]), reverse=True)
    assert host.get(url + "?show=nonsense&sort=nonsense").status_code == 200
    # Statements do not grow with the rows.
    host.get(url)
    with counting() as few:
        host.get(url)
    for i, m in enumerate(rest):
        services.submit(m, a, f"迟交{i}", "正文", now=later)
    for al in services.my_allocations(first[1], a):
        score_all(a, al, first[1], now=later)
    with counting() as many:
        host.get(url)
    assert len(many) == len(few), "\n".join(many)
