"""Demo homework: one assignment in a demo workshop, in its review phase, with a few submissions."""

from datetime import timedelta

from sqlalchemy import func, select

from lms.core.db import utcnow
from lms.extensions import db

TEXTS = [
    ("基于核心素养的分数单元教学设计", "本单元以“分数的初步认识”为主题，设计了三个学习任务：分一分、折一折、说一说。"),
    (
        "信息技术支持下的课堂提问策略研究",
        "通过课堂观察记录发现，开放性问题占比偏低。本研究尝试用在线投票工具收集学生想法。",
    ),
    ("小组合作学习中的分层任务设计", "针对班级学生差异，设计基础、提高、拓展三层任务，学生自主选择并在组内互评。"),
    ("作业设计与减负增效的实践反思", "本学期将书面作业压缩为分层弹性作业，并配合智慧作业平台进行即时反馈。"),
    ("微课在复习课中的应用案例", "录制了 5 节 6 分钟左右的微课，学生课前观看，课堂用于答疑与变式练习。"),
    ("跨学科主题学习活动设计", "结合科学与数学，设计“校园植物测量”项目，学生分组测量、记录并绘制统计图。"),
]
COMMENTS = [
    "设计思路清晰，建议补充评价量规。",
    "案例真实，反思可以更深入。",
    "结构完整，语言简洁。",
    "很有启发，值得借鉴。",
]


def on_demo_built(result, rng=None, **_):
    import random

    rng = rng or random.Random(5)  # noqa: S311 - demo content
    from lms.access.models import RoleAssignment
    from lms.accounts.models import User
    from lms.communities.models import Workshop, WorkshopMembership
    from lms.homework import services
    from lms.homework.models import Assignment

    # The workshop of the printed demo logins (demo_host hosts it, demo_teacher is a member), so that
    # they open the demo homework; else the first workshop large enough.
    ws = db.session.scalar(
        select(Workshop)
        .join(RoleAssignment, RoleAssignment.context_id == Workshop.context_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(User.username == "demo_host", RoleAssignment.role == "host")
        .limit(1)
    )
    if ws is None:
        ws = db.session.scalar(
            select(Workshop)
            .join(WorkshopMembership, WorkshopMembership.workshop_id == Workshop.id)
            .group_by(Workshop.id)
            .having(func.count(WorkshopMembership.id) >= 8)
            .order_by(Workshop.id)
            .limit(1)
        )
    if ws is None:
        return
    host_id = db.session.scalar(
        select(RoleAssignment.user_id).where(RoleAssignment.context_id == ws.context_id, RoleAssignment.role == "host")
    )
    now = utcnow()
    a = Assignment(
        context_id=ws.context_id, workshop_id=ws.id, author_id=host_id, title="2026 年度研修作业：一份教学改进案例",
        instructions_html="<p>结合本学期的课堂实践，提交一份教学改进案例（1500 字左右），可附教学设计或课件。</p>"
        "<p>提交截止后，每位坊员匿名互评 3 份作业。</p>",
        phase="submission", submission_opens_at=now - timedelta(days=10), submission_due_at=now - timedelta(hours=1),
        review_due_at=now + timedelta(days=7), closes_at=now + timedelta(days=20), reviews_per_member=3,
        anonymous=True, exclude_own_group=True, grade_strategy="median", host_weight=1.0, quality_share=0.5,
        form=services.parse_form(services.DEFAULT_FORM), reminded=[],
    )  # fmt: skip
    db.session.add(a)
    db.session.flush()
    # demo_teacher first: the printed teacher login has submitted and has reviews to do.
    members = list(db.session.scalars(
        select(WorkshopMembership.user_id).join(User, User.id == WorkshopMembership.user_id)
        .where(WorkshopMembership.workshop_id == ws.id)
        .order_by(User.username != "demo_teacher", WorkshopMembership.user_id).limit(len(TEXTS))))  # fmt: skip
    from lms.homework.models import Submission

    for uid, (title, body) in zip(members, TEXTS, strict=False):
        db.session.add(Submission(assignment_id=a.id, author_id=uid, title=title, body_html=f"<p>{body}</p>",
                                  updated_at=now - timedelta(days=1)))  # fmt: skip
    db.session.commit()
    # The deadline has passed: the review phase starts, reviewers are allocated, a few reviews are in.
    services._enter(a, "review", now)
    from lms.homework.models import Review, ReviewAllocation

    allocs = list(db.session.scalars(select(ReviewAllocation).where(ReviewAllocation.assignment_id == a.id)
                                     .order_by(ReviewAllocation.id)))  # fmt: skip
    form = services.build_form(a.form)
    for al in allocs[: len(allocs) // 2]:
        scores = {c["name"]: rng.choice(c["levels"][1:])["points"] for c in a.form["criteria"]}
        db.session.add(Review(allocation_id=al.id, scores=scores, comment=rng.choice(COMMENTS),
                              grade=round(form.grade(scores), 2), submitted_at=now))  # fmt: skip
    db.session.commit()
    services.recompute(a)
    result.extra.append(f"1 homework assignment ({ws.name}) with {len(members)} submissions")
