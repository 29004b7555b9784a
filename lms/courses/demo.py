"""Demo courses for `flask lms demo`: about 30 courses across stages, subjects and the four kinds,
with text lessons and quizzes (no video files), some required for demo workshops and one county."""

from decimal import Decimal

from sqlalchemy import select

from lms.access.models import Context
from lms.communities.models import Region, Workshop
from lms.core.text import sanitize_html
from lms.courses.models import Course, CourseAssignment, Lesson, QuizQuestion
from lms.extensions import db

# (title, kind, stage, subject, hours)
COURSES = [
    ("新时代中小学教师职业行为十项准则解读", "ethics", None, "general", 4),
    ("师德师风建设与典型案例警示教育", "ethics", None, "general", 3),
    ("教师心理健康与压力调适", "ethics", None, "psychology", 2),
    ("依法执教：教师应知的教育法律法规", "ethics", None, "general", 3),
    ("班主任工作中的育人智慧", "ethics", "primary", "general", 2),
    ("信息技术支持的学情分析", "it_methods", None, "general", 3),
    ("希沃白板课件制作入门", "it_methods", "primary", "general", 2),
    ("微课设计与制作全流程", "it_methods", None, "general", 4),
    ("智慧作业平台的布置与批改", "it_methods", "junior", "general", 2),
    ("国家中小学智慧教育平台资源应用", "it_methods", None, "general", 3),
    ("在线研修中的协同备课工具", "it_methods", "senior", "general", 2),
    ("人工智能助手在备课中的使用与边界", "it_methods", None, "it", 2),
    ("信息技术与小学数学深度融合", "integration", "primary", "math", 4),
    ("几何画板在初中函数教学中的应用", "integration", "junior", "math", 3),
    ("数字化阅读与小学语文整本书教学", "integration", "primary", "chinese", 3),
    ("初中语文群文阅读的信息化教学设计", "integration", "junior", "chinese", 3),
    ("英语听说教学中的智能语音评测", "integration", "junior", "english", 2),
    ("虚拟仿真实验在高中物理中的应用", "integration", "senior", "physics", 3),
    ("数字化实验与初中化学探究", "integration", "junior", "chemistry", 2),
    ("地理信息系统走进高中课堂", "integration", "senior", "geography", 2),
    ("小学科学项目式学习与数字工具", "integration", "primary", "science", 3),
    ("道德与法治课的情境创设与媒体运用", "integration", "junior", "politics", 2),
    ("小学数学“图形与几何”优秀课例评析", "cases", "primary", "math", 2),
    ("初中数学单元整体教学案例", "cases", "junior", "math", 3),
    ("小学语文习作教学课例研讨", "cases", "primary", "chinese", 2),
    ("高中英语读后续写教学案例", "cases", "senior", "english", 2),
    ("初中历史大概念教学案例", "cases", "junior", "history", 2),
    ("小学音乐课堂律动教学实录", "cases", "primary", "music", 1.5),
    ("幼儿园区域活动观察与指导案例", "cases", "preschool", "preschool_ed", 2),
    ("体育与健康课大单元教学案例", "cases", "junior", "pe", 2),
]

LESSONS = [
    ("导学：本课程的目标与学习建议", "<p>本课程共三讲。建议先通读导学，再结合本校教学实际完成每讲后的即时测评。</p>"
     "<ul><li>学习目标：理解核心概念</li><li>学习方式：自主学习与坊内研讨相结合</li></ul>"),
    ("第一讲：核心概念与政策依据", "<p>本讲梳理相关政策文件的要点，说明其在课堂教学中的具体要求。</p>"
     "<p><strong>思考：</strong>结合自己的课堂，哪些做法已经符合要求？哪些需要改进？</p>"),
    ("第二讲：课堂实践与案例分析", "<p>本讲通过两个课例，分析教学设计、课堂实施与评价反馈三个环节。</p>"
     "<ol><li>课例一：问题驱动的导入</li><li>课例二：基于证据的评价</li></ol>"),
]  # fmt: skip

QUIZ = [
    ("每位教师年度须完成多少学时的培训？", "single", ["30学时", "60学时", "90学时", "120学时"], [1]),
    ("下列哪些属于教师工作坊的常见研修活动？", "multiple", ["主题研讨", "资源共享", "线下实践", "网络游戏"], [0, 1, 2]),
]  # fmt: skip


def on_demo_built(result, rng=None, scale=None, password=None, **_kw) -> None:
    province = db.session.scalar(select(Region).where(Region.level == "province").order_by(Region.id))
    if province is None:
        return
    ctx = db.session.get(Context, province.context_id)
    courses = []
    for i, (title, kind, stage, subject, hours) in enumerate(COURSES):
        c = Course(title=title, kind=kind, stage=stage, subject=subject, hours=Decimal(str(hours)),
                   description_html=sanitize_html(f"<p>{title}：面向一线教师的网络研修课程，"
                                                  "包含导学、专题讲解与即时测评。</p>"),
                   published=i != len(COURSES) - 1, context_id=ctx.id, lesson_count=len(LESSONS))  # fmt: skip
        for pos, (lt, body) in enumerate(LESSONS, start=1):
            lesson = Lesson(title=lt, kind="text", body_html=sanitize_html(body), position=pos)
            if pos == 2:
                for qpos, (prompt, qkind, options, answer) in enumerate(QUIZ, start=1):
                    lesson.questions.append(QuizQuestion(prompt=prompt, kind=qkind, options=options, answer=answer,
                                                         position=qpos))  # fmt: skip
            c.lessons.append(lesson)
        courses.append(c)
    db.session.add_all(courses)
    db.session.flush()
    # Ethics courses are required province-wide; a subject course is required for each of the first
    # workshops of that subject; one county requires the IT-methods basics.
    rows = [CourseAssignment(course_id=c.id, context_id=ctx.id, required=True) for c in courses[:2]]
    workshops = list(db.session.scalars(select(Workshop).order_by(Workshop.id).limit(40)))
    by_subject = {}
    for c in courses:
        if c.kind in ("integration", "cases") and c.subject:
            by_subject.setdefault(c.subject, c)
    for ws in workshops:
        c = by_subject.get(ws.subject)
        if c is not None:
            rows.append(CourseAssignment(course_id=c.id, context_id=ws.context_id, required=True))
    county = db.session.scalar(select(Region).where(Region.level == "county").order_by(Region.id))
    if county is not None:
        rows.append(CourseAssignment(course_id=courses[5].id, context_id=county.context_id, required=True))
    db.session.add_all(rows)
    db.session.commit()
    from lms import signals

    signals.content_changed.send("courses", kind="course", ids=[c.id for c in courses])
    n_lessons = len(courses) * len(LESSONS)
    result.extra.append(f"{len(courses)} courses, {n_lessons} lessons, {len(rows)} course assignments")
