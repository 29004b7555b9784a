"""Homework endpoints of /api/v1: assignments, my submission, my reviews. Anonymity as on the pages:
names of the other party are replaced by a pseudonym unless the caller may grade (the host)."""

from flask import abort, jsonify

from lms.api import BOOL, DATETIME, INT, STR, api_user, array, nullable, obj, route, schema
from lms.homework import services
from lms.homework.models import PHASES

NUM = {"type": "number"}
REVIEW = PHASES.index("review")

schema("HomeworkCriterion", {"type": "object", "description": "A rubric criterion (levels) or a weighted one "
                             "(max_points, weight)"})  # fmt: skip
schema("HomeworkAssignment", obj(
    ("id", "title", "phase", "anonymous", "reviews_per_member", "criteria"),
    id=INT, title=STR, instructions_html=STR, phase={**STR, "enum": list(PHASES)},
    workshop_id=nullable(INT), submission_due_at=nullable(DATETIME), review_due_at=nullable(DATETIME),
    anonymous=BOOL, reviews_per_member=INT, grade_strategy=STR, form_kind=STR,
    criteria=array({"$ref": "#/components/schemas/HomeworkCriterion"}),
    may_manage=BOOL, participant=BOOL,
))  # fmt: skip
schema("HomeworkAssignmentList", obj(("items",), items=array({"$ref": "#/components/schemas/HomeworkAssignment"})))
schema("HomeworkReceivedReview", obj(
    ("reviewer", "grade", "scores", "comment"),
    reviewer={**STR, "description": "The reviewer's name, or a pseudonym when the assignment is anonymous"},
    grade=nullable(NUM), scores={"type": "object"}, comment=STR, submitted_at=nullable(DATETIME),
))  # fmt: skip
schema("HomeworkSubmission", obj(
    ("submission",),
    submission=nullable(obj(
        ("id", "title"),
        id=INT, title=STR, body_html=STR, updated_at=nullable(DATETIME), late=BOOL,
        files=array(obj(("id", "filename"), id=INT, filename=STR, size=INT)),
        peer_grade=nullable(NUM), host_grade=nullable(NUM), final_grade=nullable(NUM), recommended=BOOL,
        published=BOOL,
    )),
    reviews_received=array({"$ref": "#/components/schemas/HomeworkReceivedReview"}),
    reviews_done=INT, reviews_todo=INT, reviewing_grade=nullable(NUM),
    reviews_required={**INT, "description": "Reviews that earn the full grade for reviewing: reviews_per_member, "
                      "or fewer when allocation could not give that many"},
))  # fmt: skip
schema("HomeworkReviewTask", obj(
    ("id", "assignment_id", "submission_id", "author", "title", "done"),
    id=INT, assignment_id=INT, assignment_title=STR, submission_id=INT,
    author={**STR, "description": "The author's name, or a pseudonym when the assignment is anonymous"},
    title=STR, body_html=STR, done=BOOL, grade=nullable(NUM), scores={"type": "object"}, comment=STR,
))  # fmt: skip
schema("HomeworkReviewList", obj(("items",), items=array({"$ref": "#/components/schemas/HomeworkReviewTask"})))


def _iso(dt):
    return dt.isoformat() if dt else None


def _assignment_json(a, user) -> dict:
    return {
        "id": a.id,
        "title": a.title,
        "instructions_html": a.instructions_html,
        "phase": a.phase,
        "workshop_id": a.workshop_id,
        "submission_due_at": _iso(a.submission_due_at),
        "review_due_at": _iso(a.review_due_at),
        "anonymous": a.anonymous,
        "reviews_per_member": a.reviews_per_member,
        "grade_strategy": a.grade_strategy,
        "form_kind": a.form.get("kind", "rubric"),
        "criteria": a.form.get("criteria", []),
        "may_manage": services.may_manage(user, a),
        "participant": services.is_participant(user, a),
    }


def _visible(aid: int):
    a = services.get(aid)
    if a is None or not services.may_view(api_user(), a):
        abort(404)
    return a


@route("/homework/assignments", response="HomeworkAssignmentList", summary="Assignments the caller may open")
def homework_assignments():
    user = api_user()
    return jsonify(items=[_assignment_json(a, user) for a in services.visible_assignments(user)])


@route("/homework/assignments/<int:aid>", response="HomeworkAssignment", errors=(404,), summary="One assignment")
def homework_assignment(aid):
    a = _visible(aid)
    services.sync(a)
    return jsonify(_assignment_json(a, api_user()))


@route("/homework/assignments/<int:aid>/submission", response="HomeworkSubmission", errors=(403, 404),
       summary="My submission, grades and the reviews I received")  # fmt: skip
def homework_my_submission(aid):
    user = api_user()
    a = _visible(aid)
    if not services.is_participant(user, a):
        abort(403)
    st = services.status_for(user, a)
    s = st["submission"]
    sub = None
    if s is not None:
        sub = {
            "id": s.id, "title": s.title, "body_html": s.body_html, "updated_at": _iso(s.updated_at), "late": s.late,
            "files": [{"id": sf.file_id, "filename": sf.file.filename, "size": sf.file.size} for sf in s.files],
            # Grades and received reviews reach the author after the review phase (reviews_released).
            **({"peer_grade": s.peer_grade, "host_grade": s.host_grade, "final_grade": s.final_grade}
               if st["released"] else {"peer_grade": None, "host_grade": None, "final_grade": None}),
            "recommended": s.recommended_at is not None, "published": s.published_at is not None,
        }  # fmt: skip
    received = [
        {
            "reviewer": services.reviewer_label(user, al, i),
            "grade": r.grade,
            "scores": r.scores,
            "comment": r.comment,
            "submitted_at": _iso(r.submitted_at),
        }  # fmt: skip
        for i, (al, r) in enumerate(st["received"], start=1)
    ]
    return jsonify(submission=sub, reviews_received=received, reviews_done=st["reviews_done"],
                   reviews_todo=st["reviews_todo"], reviews_required=st["reviews_required"],
                   reviewing_grade=st["reviewing_grade"])  # fmt: skip


@route("/homework/reviews", response="HomeworkReviewList", summary="Reviews allocated to me")
def homework_my_reviews():
    user = api_user()
    items = []
    for al in services.my_allocations(user):
        s, r = al.submission, al.review
        if s.assignment.phase_index < REVIEW:
            continue  # made before the review phase (older data): not the reviewer's to read yet
        done = r is not None and r.submitted_at is not None
        items.append({
            "id": al.id, "assignment_id": s.assignment_id, "assignment_title": s.assignment.title,
            "submission_id": s.id, "author": services.author_label(user, s), "title": s.title,
            "body_html": s.body_html, "done": done, "grade": r.grade if done else None,
            "scores": r.scores if r else {}, "comment": r.comment if r else "",
        })  # fmt: skip
    return jsonify(items=items)
