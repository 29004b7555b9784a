"""Demo research writing and briefs (demo_built listener): a few workshops get a host plan and stage
summary, some members' plans and logs, and a brief; the province and the first county a brief each.
Small on purpose: rows are added in bulk, the feed and search hear one signal per kind."""

from datetime import timedelta

from sqlalchemy import select

from lms.access.models import RoleAssignment
from lms.accounts.models import User
from lms.activities.models import Brief, Writing
from lms.communities.models import Region, Workshop, WorkshopMembership
from lms.core.db import utcnow
from lms.core.text import sanitize_html
from lms.extensions import db
from lms.signals import content_changed

WORKSHOPS = 8  # workshops with demo writing (demo_teacher's among them)
LOG_TOPICS = [
    (
        "观课记录：《分数的初步认识》",
        "今天观摩了同组老师的公开课。导入环节用分蛋糕的情境引出“平均分”，学生兴趣很高；"
        "但在“几分之一”的表述上，部分学生仍把分子分母混淆。课后我们讨论，认为应多让学生动手折纸，再用语言描述。",
    ),
    (
        "课程学习心得：信息技术与学科融合",
        "学习了“信息技术与学科教学深度融合”专题课程。"
        "印象最深的是利用互动课件即时收集学生答题数据，教师可以据此调整讲解节奏。我准备在下周的练习课上尝试用平板收集学生的错题。",
    ),
    (
        "第一次小组研讨反思",
        "本周参加了小组线上研讨，围绕“如何设计分层作业”交流。组长提出作业分为基础、提升、拓展三层，"
        "学生自主选择。我觉得拓展层的题目要控制数量，避免学生负担过重。",
    ),
    (
        "作业设计实践记录",
        "按照研讨结果，我把本单元作业分为三层。统计发现约七成学生选择了提升层，"
        "基础层的学生完成质量明显提高。下一步打算把典型错题整理成微课。",
    ),
    (
        "读书笔记：《给教师的建议》",
        "重读苏霍姆林斯基的《给教师的建议》，其中“让学生把学习当作乐事”一节给我很大启发。"
        "课堂上应多给学生表达的机会，少一些机械重复的练习。",
    ),
]
PLAN_BODY = (
    "<h3>一、研修目标</h3><p>结合本坊主题，提升课堂教学中信息技术的应用能力，完成60学时的网络研修。</p>"
    "<h3>二、研修内容</h3><ul><li>完成必修与选修课程学习</li><li>参加坊内主题研讨，发表有效研讨帖</li>"
    "<li>提交研修作业并完成同伴互评</li></ul><h3>三、时间安排</h3><p>7月至9月网络研修，10月考核。</p>"
)
SUMMARY_BODY = (
    "<p>本学年研修按计划完成了课程学习与主题研讨。通过观课评课和分层作业设计实践，我对信息技术支持下的"
    "精准教学有了更深的认识。今后将继续把研修成果用到日常课堂中。</p>"
)
WS_PLAN_BODY = (
    "<p>本坊研修分三个阶段：<strong>第一阶段</strong>完成课程学习；"
    "<strong>第二阶段</strong>开展主题研讨与资源共享；"
    "<strong>第三阶段</strong>进行线下实践，提交成绩鉴定表。各小组长每周督促组员进度。</p>"
)
STAGE_BODY = (
    "<p>第一阶段共有九成以上坊员完成课程学习，研讨区发帖踊跃。存在问题：个别学员学习时间集中在截止前，"
    "下一阶段将通过小组长每周提醒改进。</p>"
)
BRIEF_BODY = (
    "<p>本期简报：本坊第一阶段研修顺利完成。坊员累计学习时长持续增长，研讨区涌现出多篇优秀研讨帖，"
    "小组长组织了两次线上集体备课。</p><p>下一阶段将围绕“分层作业设计”开展主题研讨，请各位坊员按时参加。</p>"
)


def on_demo_built(result, rng=None, **_):
    now = utcnow()
    year = now.year
    workshops = list(db.session.scalars(select(Workshop).order_by(Workshop.id)))
    demo_teacher = db.session.scalar(select(User).where(User.username == "demo_teacher"))
    chosen = workshops[:WORKSHOPS]
    mine: set[int] = set()
    if demo_teacher is not None:
        mine = {m.workshop_id for m in demo_teacher.memberships}
        chosen = list({w.id: w for w in [*(w for w in workshops if w.id in mine), *chosen]}.values())
    hosts = dict(
        db.session.execute(
            select(RoleAssignment.context_id, RoleAssignment.user_id).where(
                RoleAssignment.role == "host", RoleAssignment.context_id.in_([w.context_id for w in chosen])
            )
        ).all()
    )
    writings: list[Writing] = []
    briefs: list[Brief] = []
    for wi, ws in enumerate(chosen):
        members = list(
            db.session.scalars(
                select(WorkshopMembership.user_id).where(WorkshopMembership.workshop_id == ws.id).limit(6)
            )
        )
        if ws.id in mine and demo_teacher.id not in members:
            members.insert(0, demo_teacher.id)
        host = hosts.get(ws.context_id)
        if host:
            writings.append(Writing(kind="workshop_plan", author_id=host, workshop_id=ws.id, year=year,
                                    title=f"{ws.name}{year}年度研修计划", body_html=sanitize_html(WS_PLAN_BODY),
                                    created_at=now - timedelta(days=30)))  # fmt: skip
            writings.append(Writing(kind="stage_summary", author_id=host, workshop_id=ws.id, year=year,
                                    title="第一阶段研修小结", body_html=sanitize_html(STAGE_BODY),
                                    created_at=now - timedelta(days=6)))  # fmt: skip
            if wi < 4:
                briefs.append(Brief(context_id=ws.context_id, author_id=host, title=f"{ws.name}研修简报（第1期）",
                                    body_html=sanitize_html(BRIEF_BODY),
                                    created_at=now - timedelta(days=4, hours=wi)))  # fmt: skip
        for mi, uid in enumerate(members):
            writings.append(Writing(kind="plan", author_id=uid, workshop_id=ws.id, year=year, title="个人研修计划",
                                    body_html=sanitize_html(PLAN_BODY),
                                    created_at=now - timedelta(days=25, hours=mi)))  # fmt: skip
            for k in range(1 + (mi + wi) % 3):
                title, text = LOG_TOPICS[(mi + k + wi) % len(LOG_TOPICS)]
                writings.append(Writing(kind="log", author_id=uid, workshop_id=ws.id, year=year, title=title,
                                        body_html=f"<p>{text}</p>",
                                        created_at=now - timedelta(days=10 - 3 * k, hours=mi * 2 + wi)))  # fmt: skip
            if mi == 0:
                writings.append(Writing(kind="summary", author_id=uid, workshop_id=ws.id, year=year,
                                        title="年度研修总结", body_html=sanitize_html(SUMMARY_BODY),
                                        created_at=now - timedelta(days=1)))  # fmt: skip
    province = db.session.scalar(select(Region).where(Region.level == "province").order_by(Region.id))
    county = db.session.scalar(select(Region).where(Region.level == "county").order_by(Region.id))
    manager = db.session.scalar(select(User.id).where(User.username == "demo_manager"))
    county_admin = db.session.scalar(select(User.id).where(User.username == "demo_county_admin"))
    if province is not None:
        briefs.append(Brief(context_id=province.context_id, author_id=manager, title="全员培训项目简报（第3期）",
                            body_html=sanitize_html(
                                "<p>截至本周，全省参训率达到<strong>97.6%</strong>，课程学习人均时长较上周增加2.1小时。"
                                "各地工作坊陆续提交第一阶段研修小结。</p><ul><li>学习率排名前三的县区已在通报中表扬</li>"
                                "<li>请学习率低于80%的学校加强督促</li></ul>"),
                            created_at=now - timedelta(days=2)))  # fmt: skip
    if county is not None:
        briefs.append(Brief(context_id=county.context_id, author_id=county_admin,
                            title=f"{county.name}网络研修学情简报",
                            body_html=sanitize_html("<p>本县各校本周完成选课，校本研修活动有序开展。</p>"),
                            created_at=now - timedelta(days=3)))  # fmt: skip
    db.session.add_all(writings + briefs)
    db.session.commit()
    by_kind: dict[str, list[int]] = {}
    from lms.activities.writing import SOURCE_KIND

    for w in writings:
        by_kind.setdefault(SOURCE_KIND[w.kind], []).append(w.id)
    for kind, ids in by_kind.items():
        content_changed.send("activities", kind=kind, ids=ids)
    if briefs:
        content_changed.send("activities", kind="brief", ids=[b.id for b in briefs])
    result.extra.append(f"{len(writings)} research plans/logs/summaries, {len(briefs)} briefs")
