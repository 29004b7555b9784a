"""Homework pages, API and export: permissions, anonymity in every output, XSS, export contents."""

import io
import json
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.extensions import db
from lms.homework import services
from lms.homework.models import ReviewAllocation
from lms.notifications.models import Notification
from tests.homework.test_services import score_all, to_review
from tests.html_checks import live_markup


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture
def reviewed(hw):
    """Review phase with every allocation of member 0's submission and member 0's own reviews done."""
    a = hw["a"]
    later = to_review(hw)
    author = hw["members"][0]
    s = services.submission_of(a, author)
    for al in services.allocations_of(s):
        score_all(a, al, al.reviewer, now=later)
    for al in services.my_allocations(author, a):
        if al.review is None:
            score_all(a, al, author, now=later)
    a.review_due_at = None  # keep the review phase open whatever the clock says
    a.closes_at = None
    db.session.commit()
    return {**hw, "s": s, "author": author, "reviewers": [al.reviewer for al in services.allocations_of(s)]}


def test_permission_matrix(client, login_as, hw):
    a, w = hw["a"], hw["world"]
    url = f"/homework/{a.id}"
    expect = {
        "member": (200, 403, 403), "leader": (200, 403, 403), "host": (200, 200, 200), "expert": (200, 200, 200),
        "county_admin": (200, 403, 403), "site_admin": (200, 200, 200),
        "teacher": (404, 404, 404), "member_b": (404, 404, 404), "host_b": (404, 404, 404),
        "county_admin_b": (404, 404, 404), "outsider": (404, 404, 404),
    }  # fmt: skip
    for role, (view, results, edit) in expect.items():
        c = login_as(w[role])
        assert c.get(url).status_code == view, role
        assert c.get(f"{url}/results").status_code == results, role
        assert c.get(f"{url}/edit").status_code == edit, role
        assert c.get(f"{url}/export.xlsx").status_code == results, role
        api = c.get(f"/api/v1/homework/assignments/{a.id}")
        assert api.status_code == (200 if view == 200 else 404), role
        ids = [x["id"] for x in c.get("/api/v1/homework/assignments").get_json()["items"]]
        assert (a.id in ids) is (view == 200), role
    # creating: host of A yes, host of B not in A
    assert login_as(w["host"]).get(f"/homework/new/{w.workshop_a.context_id}").status_code == 200
    assert login_as(w["host_b"]).get(f"/homework/new/{w.workshop_a.context_id}").status_code == 404
    assert login_as(w["member"]).get(f"/homework/new/{w.workshop_a.context_id}").status_code == 403


def test_host_creates_assignment_with_rubric_form(client, login_as, hw):
    w = hw["world"]
    c = login_as(w["host"])
    page = c.get(f"/homework/new/{w.workshop_a.context_id}").get_data(as_text=True)
    data = {
        "csrf_token": csrf(page), "title": "新作业", "instructions": "说明", "reviews_per_member": "5",
        "grade_strategy": "mean", "host_weight": "1", "quality_share": "0.5", "form_kind": "rubric",
        "anonymous": "y", "c0_name": "设计", "c0_desc": "d", "c0_l0_points": "0", "c0_l0_label": "差",
        "c0_l1_points": "5", "c0_l1_label": "好", "c1_name": "反思", "c1_l0_points": "1", "c1_l1_points": "2",
    }  # fmt: skip
    r = c.post(f"/homework/new/{w.workshop_a.context_id}", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    a = services.for_context(w.workshop_a.context)[0]
    assert a.title == "新作业" and a.grade_strategy == "mean"
    assert [cr["name"] for cr in a.form["criteria"]] == ["设计", "反思"]
    assert [lv["points"] for lv in a.form["criteria"][0]["levels"]] == [0, 5]
    # The workshop page lists it.
    assert "新作业" in login_as(w["member"]).get(f"/workshops/{w.workshop_a.id}").get_data(as_text=True)


def test_teacher_submits_and_sees_status(client, login_as, hw):
    a = hw["a"]
    services.sync(a, hw["now"])
    m = hw["members"][0]
    c = login_as(m)
    page = c.get(f"/homework/{a.id}/submit").get_data(as_text=True)
    r = c.post(f"/homework/{a.id}/submit", data={"csrf_token": csrf(page), "title": "我的案例", "body": "正文"})
    assert r.status_code == 302
    assert "我的案例" in c.get(f"/homework/{a.id}").get_data(as_text=True)
    assert "教学改进案例" in c.get("/me").get_data(as_text=True)  # personal-space panel


def test_anonymity_in_pages_api_export_notifications(client, login_as, reviewed):
    a, s, author, reviewers = reviewed["a"], reviewed["s"], reviewed["author"], reviewed["reviewers"]
    w = reviewed["world"]
    # After the review phase the author sees reviews but not who wrote them, in the page and in the API.
    a.phase = "grading"
    db.session.commit()
    c = login_as(author)
    for body in (c.get(f"/homework/{a.id}").get_data(as_text=True),
                 c.get(f"/homework/submissions/{s.id}").get_data(as_text=True),
                 json.dumps(c.get(f"/api/v1/homework/assignments/{a.id}/submission").get_json(),
                            ensure_ascii=False)):  # fmt: skip
        assert "不错" in body  # the comments are there
        for r in reviewers:
            assert r.name not in body, r.name
    a.phase = "review"
    db.session.commit()
    # A reviewer does not see the author's name.
    rc = login_as(reviewers[0])
    al = db.session.scalar(select(ReviewAllocation).where(ReviewAllocation.submission_id == s.id,
                                                          ReviewAllocation.reviewer_id == reviewers[0].id))  # fmt: skip
    for body in (rc.get(f"/homework/reviews/{al.id}").get_data(as_text=True),
                 rc.get(f"/homework/{a.id}").get_data(as_text=True),
                 rc.get(f"/homework/submissions/{s.id}").get_data(as_text=True),
                 json.dumps(rc.get("/api/v1/homework/reviews").get_json(), ensure_ascii=False)):  # fmt: skip
        assert author.name not in body
    # Notification texts name nobody.
    for n in db.session.scalars(select(Notification)):
        assert not any(m.name in n.text for m in reviewed["members"])
    # The host sees names on the results page.
    results = login_as(w["host"]).get(f"/homework/{a.id}/results").get_data(as_text=True)
    assert author.name in results
    # The export is for who may see reviewers' names (homework.grade), like the pages they see: it
    # names them (a code joined with the Scores sheet gave the names back anyway); tested in test_audit.


def test_not_anonymous_shows_names(client, login_as, reviewed):
    a, s, author, reviewers = reviewed["a"], reviewed["s"], reviewed["author"], reviewed["reviewers"]
    a.anonymous = False
    a.phase = "grading"  # the author reads reviews after the review phase
    db.session.commit()
    body = login_as(author).get(f"/homework/submissions/{s.id}").get_data(as_text=True)
    assert reviewers[0].name in body


def test_export_contents(client, login_as, reviewed):
    a, s, w = reviewed["a"], reviewed["s"], reviewed["world"]
    services.set_host_grade(w["host"], s, 7.5)
    r = login_as(w["host"]).get(f"/homework/{a.id}/export.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.data))
    scores, reviews = wb.worksheets
    rows = list(scores.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(reviewed["members"])
    mine = next(row for row in rows if row[0] == reviewed["author"].name)
    assert mine[6] == 7.5 and mine[8] == 7.5  # host grade, final grade
    assert mine[9] >= 1  # reviews done
    review_rows = list(reviews.iter_rows(min_row=2, values_only=True))
    allocated = db.session.scalars(select(ReviewAllocation).where(ReviewAllocation.assignment_id == a.id)).all()
    assert len(review_rows) == len(allocated)
    assert any(row[-2] == "不错" for row in review_rows)


def test_review_form_scores_and_phase(client, login_as, hw):
    a = hw["a"]
    to_review(hw)
    a.review_due_at = None
    a.closes_at = None
    db.session.commit()
    m = hw["members"][0]
    al = services.my_allocations(m, a)[0]
    c = login_as(m)
    page = c.get(f"/homework/reviews/{al.id}").get_data(as_text=True)
    names = [cr["name"] for cr in a.form["criteria"]]
    data = {"csrf_token": csrf(page), "comment": "好", **{f"score:{n}": "3" for n in names[:1]}}
    data.update({f"score:{n}": lv for n, lv in zip(names[1:], ("4", "3"), strict=True)})
    assert c.post(f"/homework/reviews/{al.id}", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(ReviewAllocation, al.id).review.grade == 10.0
    # Someone else's allocation is not found.
    assert login_as(hw["members"][1]).get(f"/homework/reviews/{al.id}").status_code == 404
    # Bad scores are refused.
    page = c.get(f"/homework/reviews/{al.id}").get_data(as_text=True)
    bad = {"csrf_token": csrf(page), "comment": "", f"score:{names[0]}": "2.5"}
    assert c.post(f"/homework/reviews/{al.id}", data=bad).status_code == 200


def test_xss_payloads_inert(client, login_as, hw, xss_payloads):
    a = hw["a"]
    services.sync(a, hw["now"])
    from werkzeug.datastructures import FileStorage

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    for i, payload in enumerate(xss_payloads):
        m = hw["members"][i % len(hw["members"])]
        upload = FileStorage(io.BytesIO(png), filename=f"{payload}.png")
        s = services.submit(m, a, payload, "正文 " + payload, uploads=[upload] if i < 5 else [], now=hw["now"])
        assert live_markup(s.body_html) == [], payload
    a.anonymous = False
    db.session.commit()
    host = login_as(hw["world"]["host"])
    pages = [host.get(f"/homework/{a.id}/results").get_data(as_text=True)]
    for s in db.session.scalars(select(services.Submission).where(services.Submission.assignment_id == a.id)):
        pages.append(host.get(f"/homework/submissions/{s.id}").get_data(as_text=True))
    for body in pages:
        assert live_markup(body) == []
    # Export: titles that look like formulas are stored as text.
    data = host.get(f"/homework/{a.id}/export.xlsx").data
    wb = load_workbook(io.BytesIO(data))
    for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True):
        assert not (isinstance(row[3], str) and row[3].startswith("="))


def test_late_submission_page(client, login_as, hw):
    a = hw["a"]
    services.sync(a, hw["now"])
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    c = login_as(hw["members"][0])
    page = c.get(f"/homework/{a.id}/submit").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' not in page and "本作业已停止提交" in page
    # Closed, the page is not titled "submit my homework" and leads back to the assignment.
    assert "提交我的作业" not in page and '<h1 class="h5">我的作业</h1>' in page
    assert f'href="/homework/{a.id}"' in page and "返回作业" in page


def _edit_data(page: str, a, **changes) -> dict:
    """The edit form as the browser would post it, from the assignment's current values."""
    data = {"csrf_token": csrf(page), "title": a.title, "instructions": a.instructions_html,
            "reviews_per_member": str(a.reviews_per_member), "grade_strategy": a.grade_strategy,
            "host_weight": str(a.host_weight), "quality_share": str(a.quality_share), "form_kind": "rubric",
            "exclude_own_group": "y"}  # fmt: skip
    for name in ("submission_opens_at", "submission_due_at", "review_due_at", "closes_at"):
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
        data[name] = found.group(1) if found else ""
    if a.anonymous:
        data["anonymous"] = "y"
    for i, c in enumerate(a.form["criteria"]):
        data[f"c{i}_name"], data[f"c{i}_desc"] = c["name"], c["description"]
        for j, lv in enumerate(c["levels"]):
            data[f"c{i}_l{j}_points"], data[f"c{i}_l{j}_label"] = str(lv["points"]), lv["label"]
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_anonymity_cannot_be_switched_off_once_reviewers_are_allocated(client, login_as, hw):
    a, host = hw["a"], hw["world"]["host"]
    c = login_as(host)
    # Before allocation the host may still change their mind.
    page = c.get(f"/homework/{a.id}/edit").get_data(as_text=True)
    assert "评审已分配" not in page
    assert c.post(f"/homework/{a.id}/edit", data=_edit_data(page, a, anonymous=None)).status_code == 302
    db.session.refresh(a)
    assert a.anonymous is False
    a.anonymous = True
    db.session.commit()
    to_review(hw)
    assert services.allocations_of(services.submission_of(a, hw["members"][0]))
    page = c.get(f"/homework/{a.id}/edit").get_data(as_text=True)
    assert "评审已分配" in page  # said before the host tries
    r = c.post(f"/homework/{a.id}/edit", data=_edit_data(page, a, anonymous=None, title="改了标题"))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "已按匿名方式分配评审" in html and "is-invalid" in html
    db.session.refresh(a)
    assert (a.anonymous, a.title) == (True, "教学改进案例")  # refused whole: nothing stored
    with pytest.raises(services.HomeworkError, match="anonymity_locked"):
        services.update_assignment(host, a, services.AssignmentInput(title=a.title, anonymous=False, form=a.form))
    # Making a named assignment anonymous later only hides more: allowed.
    a.anonymous = False
    db.session.commit()
    services.update_assignment(host, a, services.AssignmentInput(title=a.title, anonymous=True, form=a.form,
                                                                 reviews_per_member=3))  # fmt: skip
    assert a.anonymous is True


def test_reviewers_read_nothing_before_the_review_phase(client, login_as, hw):
    a, host = hw["a"], hw["world"]["host"]
    services.sync(a, hw["now"])
    m0, m1 = hw["members"][:2]
    services.submit(m1, a, "秘密标题", "还在修改的正文", now=hw["now"])
    h = login_as(host)
    page = h.get(f"/homework/{a.id}").get_data(as_text=True)
    assert f"/homework/{a.id}/allocate" not in page  # no button in the submission phase
    r = h.post(f"/homework/{a.id}/allocate", data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert "从互评阶段到关闭前都可分配互评" in r.get_data(as_text=True)
    assert db.session.scalar(select(ReviewAllocation.id).where(ReviewAllocation.assignment_id == a.id)) is None
    # An allocation left from before this rule: the reviewer still reads nothing until the review phase.
    al = ReviewAllocation(assignment_id=a.id, submission_id=services.submission_of(a, m1).id, reviewer_id=m0.id)
    db.session.add(al)
    db.session.commit()
    c = login_as(m0)
    assert c.get(f"/homework/reviews/{al.id}").status_code == 404
    assert c.get(f"/homework/submissions/{al.submission_id}").status_code == 404
    assert c.get("/api/v1/homework/reviews").get_json()["items"] == []
    assert "秘密标题" not in c.get(f"/homework/{a.id}").get_data(as_text=True)
    # From the review phase on, the reviewer reads it and the host may allocate by hand.
    services.sync(a, a.submission_due_at + timedelta(minutes=1))
    a.review_due_at = a.closes_at = None  # keep the review phase open whatever the clock says
    db.session.commit()
    assert "还在修改的正文" in c.get(f"/homework/reviews/{al.id}").get_data(as_text=True)
    items = c.get("/api/v1/homework/reviews").get_json()["items"]
    assert [(x["id"], x["body_html"]) for x in items] == [(al.id, "<p>还在修改的正文</p>")]
    assert f"/homework/{a.id}/allocate" in h.get(f"/homework/{a.id}").get_data(as_text=True)


def test_excellent_work_is_reachable_by_who_publishes_it(client, login_as, hw):
    """The expert finds the recommended work from the menu and from the notification, and publishes
    it from the list; nobody else sees the entry."""
    from tests.sql_counting import counting

    a, w = hw["a"], hw["world"]
    to_review(hw)
    subs = [services.submission_of(a, m) for m in hw["members"][:3]]
    for s in subs:
        services.recommend(w["host"], s)
    expert = login_as(w["expert"])
    home = expert.get("/me").get_data(as_text=True)
    assert 'href="/homework/excellent"' in home and "优秀作业" in home
    for role in ("host", "member", "teacher", "county_admin"):
        assert 'href="/homework/excellent"' not in login_as(w[role]).get("/me").get_data(as_text=True), role
    urls = db.session.scalars(select(Notification.url).where(Notification.user_id == w["expert"].id)
                              .order_by(Notification.id)).all()  # fmt: skip
    assert urls == [f"/homework/excellent#s{s.id}" for s in subs]
    page = expert.get(urls[-1]).get_data(as_text=True)
    assert f'id="s{subs[-1].id}"' in page and "待发布" in page and "发布到资源库" in page
    assert hw["members"][0].name in page  # the expert grades too: names, as on the results page
    r = expert.post(f"/homework/submissions/{subs[0].id}/publish", data={"csrf_token": csrf(page), "next": "excellent"})
    assert r.headers["Location"].endswith(f"/homework/excellent#s{subs[0].id}")
    db.session.refresh(subs[0])
    assert subs[0].published_at is not None
    assert 'id="published"' in expert.get("/homework/excellent").get_data(as_text=True)
    # The list loads what it shows up front: no statement per recommended submission.
    with counting() as few:
        expert.get("/homework/excellent")
    for m in hw["members"][3:]:
        services.recommend(w["host"], services.submission_of(a, m))
    with counting() as many:
        assert expert.get("/homework/excellent").status_code == 200
    assert len(many) == len(few)
    assert login_as(w["member"]).get("/homework/excellent").status_code == 404


def test_export_statements_do_not_grow_with_rows(client, login_as, hw):
    from tests.sql_counting import counting

    a, w = hw["a"], hw["world"]
    a.accept_late, a.anonymous = True, False  # named: the reviewers' names are loaded too
    db.session.commit()
    first, rest = hw["members"][:4], hw["members"][4:]
    services.sync(a, hw["now"])
    for i, m in enumerate(first):
        services.submit(m, a, f"作业{i}", f"正文 {i}", now=hw["now"])
    later = a.submission_due_at + timedelta(minutes=1)
    services.sync(a, later)
    a.review_due_at = a.closes_at = None  # keep the review phase open whatever the clock says
    db.session.commit()

    def review_everything():
        for al in db.session.scalars(select(ReviewAllocation).where(ReviewAllocation.assignment_id == a.id)):
            if al.review is None:
                score_all(a, al, al.reviewer)

    review_everything()
    host = login_as(w["host"])
    host.get("/me")  # the first request of a session also records the visit
    with counting() as few:
        small = host.get(f"/homework/{a.id}/export.xlsx")
    for i, m in enumerate(rest):  # late submissions: more rows on both sheets
        services.submit(m, a, f"迟交{i}", f"正文 {i}")
    review_everything()
    with counting() as many:
        big = host.get(f"/homework/{a.id}/export.xlsx")
    sizes = [len(list(load_workbook(io.BytesIO(r.data)).worksheets[1].iter_rows(min_row=2))) for r in (small, big)]
    assert sizes[1] > sizes[0] + 10
    assert len(many) == len(few), "\n".join(many)


def test_space_panel_shows_empty_state_to_workshop_members_only(client, login_as, world):
    # No homework anywhere yet: a member sees the card and why it is empty.
    page = login_as(world["member"]).get("/me").get_data(as_text=True)
    assert 'id="my-homework"' in page and "暂无作业" in page
    for who in ("teacher", "county_admin"):  # in no workshop: nothing to show
        r = login_as(world[who]).get("/me")
        assert r.status_code in (200, 302) and 'id="my-homework"' not in r.get_data(as_text=True)


def test_space_panel_shows_the_grade_only_once_reviews_are_released(login_as, hw, db):
    """As the homework's own page: a grade made from peer reviews is not shown while they come in."""
    a, member = hw["a"], hw["world"]["member"]
    a.phase = "submission"
    db.session.commit()
    s = services.submit(member, a, "我的案例", "正文")
    for phase in ("review", "grading"):
        a.phase = phase
        s.final_grade = 7.5
        db.session.commit()
        page = login_as(member).get("/me").get_data(as_text=True)
        assert ("7.5 / 10" in page) is (phase == "grading"), phase


def test_workshop_homework_list_has_the_activity_lists_head(login_as, hw):
    """Back link to the workshop, a page heading, the host's "New assignment" as a full button."""
    w = hw["world"]
    page = login_as(w["host"]).get(f"/workshops/{w.workshop_a.id}/homework").get_data(as_text=True)
    assert f'<a href="/workshops/{w.workshop_a.id}">← {w.workshop_a.name}</a>' in page
    assert '<h1 class="h5 mb-0">研修作业</h1>' in page and hw["a"].title in page
    assert f'<a class="btn btn-sm btn-primary" href="/homework/new/{w.workshop_a.context_id}">布置作业</a>' in page
    member = login_as(hw["members"][0]).get(f"/workshops/{w.workshop_a.id}/homework").get_data(as_text=True)
    assert '<h1 class="h5 mb-0">研修作业</h1>' in member and "布置作业" not in member
