"""Demo content for `flask lms demo`: an on-duty rota, a scheduled session with questions and votes,
and a Q&A-area thread with an expert's answer. Small on purpose: the demo must stay fast."""

from datetime import timedelta

from sqlalchemy import select

from lms.access.models import Context, RoleAssignment
from lms.accounts.models import User
from lms.communities.models import Workshop, WorkshopMembership
from lms.core.db import utcnow
from lms.extensions import db
from lms.live.models import DutySlot, LiveQuestion, LiveSession, LiveVote, QaAnswer, QaThread, SessionExpert
from lms.live.services import record

# Mon/Thu, Tue/Fri, Wed/Sat (DOMAIN.md §7).
DAY_PAIRS = [(0, 3), (1, 4), (2, 5)]
QUESTIONS = [
    "大单元教学设计中，如何把课程标准的核心素养目标落实到每一课时？",
    "农村小规模学校没有交互式白板，信息技术与学科融合可以从哪些低成本的做法开始？",
    "课堂上使用智慧作业平台后，怎样根据学情数据调整第二天的教学？",
    "磨课时同伴评课意见很多，怎样取舍才能真正改进教学？",
    "作业设计如何做到分层，既减负又能照顾学有余力的学生？",
]
THREADS = [
    ("二年级数学“认识时间”一课，学生总把时针和分针读反，有什么好办法？",
     "我们用了钟面模型，但效果一般。",
     "可以先让学生只看时针判断“几时多”，再看分针；配合生活中的作息表，每天课前读一次钟，坚持两周效果明显。"),
]  # fmt: skip


OPEN_THREADS = [
    ("单元整体教学时，课时被压缩了，练习课怎么安排？", "我们学校每周数学课只有五节，单元复习总是来不及。"),
    ("怎样用课堂观察量表记录学生的小组合作情况？", ""),
]


def on_demo_built(result, rng=None, **_):
    experts = db.session.execute(
        select(RoleAssignment.user_id, RoleAssignment.context_id)
        .join(Context, RoleAssignment.context_id == Context.id)
        .where(RoleAssignment.role == "expert", Context.kind == "workshop")
        .order_by(RoleAssignment.id)
        .limit(3)
    ).all()
    if not experts:
        return
    now = utcnow()
    for (uid, ctx_id), days in zip(experts, DAY_PAIRS, strict=False):
        ws = db.session.scalar(select(Workshop).where(Workshop.context_id == ctx_id))
        for d in days:
            db.session.add(DutySlot(expert_id=uid, context_id=ctx_id, subject=ws.subject or "math", weekday=d,
                                    starts="19:00", ends="21:00"))  # fmt: skip
    uid, ctx_id = experts[0]
    ws = db.session.scalar(select(Workshop).where(Workshop.context_id == ctx_id))
    members = list(
        db.session.scalars(
            select(WorkshopMembership.user_id)
            .where(WorkshopMembership.workshop_id == ws.id)
            .order_by(WorkshopMembership.id)
            .limit(12)  # fmt: skip
        )
    )
    start = (now + timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)  # 19:00 in Beijing
    s = LiveSession(context_id=ctx_id, title=f"{ws.name}专家视频答疑：大单元教学与作业设计", subject=ws.subject,
                    description="请提前在下方提交问题并为关心的问题点赞，专家将优先解答票数高的问题。",
                    starts_at=start, ends_at=start + timedelta(hours=1, minutes=30), created_by_id=uid)  # fmt: skip
    db.session.add(s)
    db.session.flush()
    db.session.add(SessionExpert(session_id=s.id, user_id=uid))
    for i, body in enumerate(QUESTIONS[: max(1, len(members))]):
        author = members[i % len(members)] if members else uid
        q = LiveQuestion(session_id=s.id, author_id=author, body=body)
        db.session.add(q)
        db.session.flush()
        voters = members[: max(0, len(members) - 2 * i)]
        for v in voters:
            db.session.add(LiveVote(question_id=q.id, user_id=v))
        q.vote_count = len(voters)
        s.question_count += 1
        db.session.flush()
        record(s.id, "question.new", {"id": q.id, "body": body, "author": "", "votes": q.vote_count,
                                      "status": "open", "merged_into": None})  # fmt: skip
        db.session.refresh(s)
    if members:
        # Questions still open in the Q&A area: the host collects them into the session (pick_thread).
        for i, (title, body) in enumerate(OPEN_THREADS):
            db.session.add(QaThread(context_id=ctx_id, author_id=members[(i + 1) % len(members)], title=title,
                                    body=body, subject=ws.subject))  # fmt: skip
        for title, body, answer in THREADS:
            t = QaThread(context_id=ctx_id, author_id=members[0], title=title, body=body, subject=ws.subject,
                         answer_count=1)  # fmt: skip
            db.session.add(t)
            db.session.flush()
            db.session.add(QaAnswer(thread_id=t.id, author_id=uid, body=answer, by_expert=True))
    name = db.session.get(User, uid).username
    if hasattr(result, "extra"):
        result.extra.append(f"live Q&A: rota of {len(experts)} experts, 1 session ({name}), {len(QUESTIONS)} questions")
