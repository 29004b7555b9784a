"""What workshop activities hook up at start: the workshop-page panel, template helpers, search
sources, the demo content and the `flask lms activities-open` command."""

import click
from flask_babel import lazy_gettext as _l


def init_activities(app) -> None:
    from lms.activities.kinds import kind_label
    from lms.core import schedule
    from lms.core.slots import register_panel
    from lms.search.sources import register_source
    from lms.signals import demo_built

    app.jinja_env.globals["kind_label"] = kind_label
    register_panel(app, "workshop", "activities", "activities/_panel.html", workshop_panel, order=20, column="side")
    # The activity page (and a post's anchor on it) requires community.view on the workshop.
    register_source("post", load_posts, capability="community.view")
    register_source("activity", load_activities, capability="community.view")
    demo_built.connect(on_demo_built, weak=False)
    schedule.every(app, "activities.announce_opened", 300, _announce_opened)

    from lms.cli import lms_cli

    if "activities-open" not in lms_cli.commands:
        lms_cli.add_command(activities_open)


PANEL_LIMIT = 5


def workshop_panel(user=None, workshop=None, **_):
    from lms.activities import workshop_services as svc
    from lms.core.db import utcnow

    if workshop is None:
        return None
    items = svc.activities_of(workshop)  # one statement; announcing happens only when one just opened
    svc.announce_opened([a for a in items if a.notified_at is None])
    return {
        "workshop": workshop,
        "activities": items[:PANEL_LIMIT],
        "total": len(items),
        "more": len(items) > PANEL_LIMIT,
        "now": utcnow(),
        "may_manage": svc.may_manage(user, workshop),
    }


def _announce_opened():
    from lms.activities.workshop_services import announce_opened

    announce_opened()


@click.command("activities-open", help=str(_l("Tell members about activities that have opened (run from cron).")))
def activities_open():
    from lms.activities.workshop_services import announce_opened

    click.echo(f"{announce_opened()} activities announced")


# --- search -------------------------------------------------------------------------------------


def _batches(stmt, ids, column, size=500):
    from lms.extensions import db

    if ids is None:
        last = 0
        while True:
            rows = list(db.session.scalars(stmt.where(column > last).order_by(column).limit(size)))
            if not rows:
                return
            yield from rows
            last = rows[-1].id
    else:
        ids = list(ids)
        for i in range(0, len(ids), size):
            yield from db.session.scalars(stmt.where(column.in_(ids[i : i + size])))


def load_posts(ids):
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from lms.activities.models import Activity, Post
    from lms.communities.models import Workshop

    stmt = (
        select(Post)
        .where(Post.hidden.is_(False), Post.deleted_at.is_(None))
        .options(selectinload(Post.activity).selectinload(Activity.workshop).selectinload(Workshop.context))
    )
    for p in _batches(stmt, ids, Post.id):
        ws = p.activity.workshop
        yield {
            "kind": "post",
            "id": p.id,
            "title": p.activity.title,
            "body": p.body_text,
            "url": f"/activities/{p.activity_id}#post-{p.id}",
            "context_path": ws.context.path,
            "owner_id": p.author_id,
            "stage": ws.stage,
            "subject": ws.subject,
            "type": "reply" if p.parent_id else "post",
            "created_at": p.created_at,
        }


def load_activities(ids):
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from lms.activities.models import Activity
    from lms.communities.models import Workshop
    from lms.core.text import html_to_text

    stmt = select(Activity).options(selectinload(Activity.workshop).selectinload(Workshop.context))
    for a in _batches(stmt, ids, Activity.id):
        ws = a.workshop
        yield {
            "kind": "activity",
            "id": a.id,
            "title": a.title,
            "body": html_to_text(a.description_html, collapse=True),
            "url": f"/activities/{a.id}",
            "context_path": ws.context.path,
            "owner_id": a.author_id,
            "stage": ws.stage,
            "subject": ws.subject,
            "type": a.kind,
            "created_at": a.created_at,
        }


# --- demo ------------------------------------------------------------------------------------------

DEMO_ACTIVITIES = [
    (
        "discussion",
        "主题研讨：信息技术如何支持课堂互动",
        "结合本学科一节课，谈谈你如何用信息技术组织学生互动，效果如何，遇到了哪些困难。",
    ),
    ("sharing", "资源共享：优秀教学设计与课件", "请上传一份本学期自己设计的教学设计或课件，并简要说明设计思路。"),
    ("offline", "线下实践：校本研修磨课活动", "在本校完成一次磨课活动，上传盖章的成绩鉴定表照片及磨课形成的资源。"),
    ("questionnaire", "研修需求调查问卷", ""),
]
DEMO_QUESTIONS = (
    "单选: 您的教龄是？\n- 5年以下\n- 5-10年\n- 10-20年\n- 20年以上\n\n"
    "多选: 您最希望提升哪些能力？\n- 信息技术应用\n- 教学设计\n- 课堂管理\n- 作业设计\n- 教育科研\n\n"
    "问答: 对本工作坊研修活动的建议"
)
DEMO_POSTS = [
    "我在数学课上用平板推送课堂练习，学生提交后马上能看到全班的正确率，讲评更有针对性，课堂节奏也更紧凑了。",
    "分享一点体会：小组合作时用计时器和随机点名工具，学生参与度明显提高，但要注意不要让工具喧宾夺主。",
    "信息技术不是越多越好。我觉得关键是先想清楚教学目标，再选择合适的工具，否则容易变成“为用而用”。",
    "我们学校网络条件有限，我常用投屏加实物展台的方式展示学生作品，简单易行，学生也很喜欢看到自己的作业。",
    "请教各位老师：低年级学生使用平板时注意力容易分散，大家有什么好的课堂管理办法吗？",
    "在语文阅读课上，我用思维导图软件带学生梳理文章结构，学生的概括能力有了明显进步，推荐大家试试。",
]
DEMO_REPLIES = [
    "很有启发，我下周也在课堂上试一试，再来交流效果。",
    "赞同！工具要服务于目标。可以先约定使用规则，比如老师示意时平板屏幕朝下。",
    "谢谢分享，请问课堂练习是用什么平台推送的？",
]


def on_demo_built(result, rng=None, **_):
    """A few activities per demo workshop, with Chinese posts and replies (bulk rows: stays fast)."""
    import random
    from datetime import timedelta

    from sqlalchemy import select

    from lms.access.models import RoleAssignment
    from lms.activities import workshop_services as svc
    from lms.activities.models import Activity, ActivityMemberStat, Post, Question
    from lms.communities.models import Workshop, WorkshopMembership
    from lms.core.db import utcnow
    from lms.core.text import html_to_text, rich_text
    from lms.extensions import db

    rng = rng or random.Random(7)
    workshops = list(db.session.scalars(select(Workshop).order_by(Workshop.id)))
    if not workshops:
        return
    members: dict[int, list[int]] = {}
    for wid, uid in db.session.execute(
        select(WorkshopMembership.workshop_id, WorkshopMembership.user_id).order_by(WorkshopMembership.id)
    ):
        members.setdefault(wid, []).append(uid)
    hosts = dict(
        db.session.execute(
            select(Workshop.id, RoleAssignment.user_id)
            .join(RoleAssignment, RoleAssignment.context_id == Workshop.context_id)
            .where(RoleAssignment.role == "host")
        ).all()
    )
    now = utcnow()
    n_activities = n_posts = 0
    for ws in workshops:
        host = hosts.get(ws.id)
        people = members.get(ws.id, [])[:12]
        for i, (kind, title, desc) in enumerate(DEMO_ACTIVITIES):
            opens = now - timedelta(days=10 - i * 2)
            activity = Activity(workshop_id=ws.id, author_id=host, kind=kind, title=title,
                                description_html=rich_text(desc), opens_at=opens,
                                closes_at=now + timedelta(days=20 + i), settings={}, notified_at=now)  # fmt: skip
            db.session.add(activity)
            db.session.flush()
            n_activities += 1
            if kind == "questionnaire":
                for pos, q in enumerate(svc.parse_questions(DEMO_QUESTIONS)):
                    db.session.add(Question(activity_id=activity.id, position=pos, kind=q["kind"], text=q["text"],
                                            options=q["options"]))  # fmt: skip
            if kind != "discussion" or not people:
                continue
            posts: list[Post] = []
            authors = rng.sample(people, min(len(people), 4))
            for j, uid in enumerate(authors):
                body = DEMO_POSTS[(ws.id + j) % len(DEMO_POSTS)]
                html = rich_text(body)
                text = html_to_text(html, collapse=True)
                created = opens + timedelta(hours=3 + j * 5)
                root = Post(activity_id=activity.id, author_id=uid, body_html=html, body_text=text,
                            created_at=created, like_count=0, reply_count=0, pinned=j == 0 and host is not None,
                            featured=j == 1, hidden=False, effective=False)  # fmt: skip
                db.session.add(root)
                db.session.flush()
                posts.append(root)
                for k in range(rng.randint(0, 2)):
                    replier = rng.choice(people)
                    rhtml = rich_text(DEMO_REPLIES[(j + k) % len(DEMO_REPLIES)])
                    rtext = html_to_text(rhtml, collapse=True)
                    posts.append(Post(activity_id=activity.id, author_id=replier, parent_id=root.id, body_html=rhtml,
                                      body_text=rtext, created_at=created + timedelta(hours=k + 1),
                                      like_count=0, reply_count=0, pinned=False, featured=False, hidden=False,
                                      effective=False))  # fmt: skip
                    root.reply_count += 1
            db.session.add_all(posts)
            db.session.flush()
            by_author: dict[int, list[Post]] = {}
            for p in posts:
                by_author.setdefault(p.author_id, []).append(p)
            for uid, own in by_author.items():
                flags = svc.effective_flags(own)
                for p in own:
                    p.effective = flags[p.id]
                db.session.add(ActivityMemberStat(activity_id=activity.id, user_id=uid, workshop_id=ws.id,
                                                  post_count=len(own), effective_count=sum(flags.values()),
                                                  resource_count=0))  # fmt: skip
            activity.post_count = len(posts)
            n_posts += len(posts)
    db.session.commit()
    result.extra.append(f"{n_activities} workshop activities, {n_posts} posts")
