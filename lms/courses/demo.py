"""Demo courses for `flask lms demo`: about 30 courses across stages, subjects and the four kinds,
with text lessons and quizzes, some required for demo workshops and one county; the lecture of the
required courses is a video (one short generated clip, transcoded once by the real pipeline and
shared by those lessons); and study progress for a share of the workshop members, so the progress
bars and the hosts' members' progress page show numbers from the start."""

import subprocess
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import bindparam, insert, select

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


#: The demo clip: ffmpeg's testsrc2 pattern with a tone, small and short so that generating and
#: transcoding it adds a second or two to the demo build.
CLIP_SECONDS = 8
CLIP_SIZE = "320x180"
#: How long the demo waits for the transcode (the in-process worker, or an RQ worker when configured).
TRANSCODE_WAIT_SECONDS = 90
#: The lesson (position) of each course that is the video lecture when a clip is available.
VIDEO_POSITION = 2
#: Share of workshop members given study progress in their required courses.
STUDYING_SHARE = 0.65


def _start_clip_transcode():
    """Generate the clip with ffmpeg's testsrc2, store it as an upload and queue its transcode (the
    real pipeline: lms.media's job, probe, ladder, poster); returns (StoredFile, MediaJob), or
    (None, note) when ffmpeg is not there or fails."""
    from werkzeug.datastructures import FileStorage

    from lms.media import ffmpeg, tasks
    from lms.media import services as media

    try:
        exe = ffmpeg.ffmpeg_exe()
    except Exception as err:  # noqa: BLE001 - no system ffmpeg and no imageio-ffmpeg wheel
        return None, f"course videos skipped: ffmpeg not found ({err.__class__.__name__})"
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "demo-lesson.mp4"
        cmd = [exe, "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={CLIP_SIZE}:d={CLIP_SECONDS}:r=15",
               "-f", "lavfi", "-i", f"sine=frequency=440:d={CLIP_SECONDS}", "-c:v", "libx264", "-preset",
               "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip)]  # fmt: skip
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=60)  # noqa: S603 - our own arguments
        except (OSError, subprocess.SubprocessError) as err:
            return None, f"course videos skipped: ffmpeg could not make the demo clip ({err.__class__.__name__})"
        with clip.open("rb") as fh:
            stored = media.save_upload(FileStorage(fh, filename="微课示例.mp4"), allowed=media.VIDEO,
                                       max_bytes=current_app.config["VIDEO_UPLOAD_MAX_BYTES"],
                                       purpose="video")  # fmt: skip
    db.session.commit()
    return stored, tasks.enqueue(stored)


def _wait_for(job):
    from lms.media.models import MediaJob

    deadline = time.monotonic() + TRANSCODE_WAIT_SECONDS
    while True:
        db.session.expire_all()
        row = db.session.get(MediaJob, job.id)
        if row.status in ("done", "failed") or time.monotonic() > deadline:
            return row
        time.sleep(0.1)


def on_demo_built(result, rng=None, scale=None, password=None, **_kw) -> None:
    province = db.session.scalar(select(Region).where(Region.level == "province").order_by(Region.id))
    if province is None:
        return
    # The transcode runs in the media worker while the courses are built.
    stored, job = _start_clip_transcode()  # job: the note why not, when stored is None
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
    required = list(dict.fromkeys(r.course_id for r in rows))
    videos = []
    if stored is not None:
        # The lecture of each required course becomes a video lesson sharing the one transcode.
        for c in courses:
            if c.id in required:
                lesson = c.lessons[VIDEO_POSITION - 1]
                lesson.kind, lesson.media_file_id, lesson.media_job_id = "video", stored.id, job.id
                videos.append(lesson)
    db.session.commit()
    if stored is not None:
        done = _wait_for(job)
        if done.status == "done":
            from lms.courses.services import record_job

            record_job(done)  # usually done already, by the job's media_job_finished signal
            result.extra.append(f"{len(videos)} video lessons share one transcoded clip ({CLIP_SECONDS} s)")
        else:  # no video: the lessons stay readable texts
            for lesson in videos:
                lesson.kind, lesson.media_file_id, lesson.media_job_id = "text", None, None
            db.session.commit()
            videos = []
            result.extra.append(f"course videos skipped: the demo clip's transcode {done.status} ({done.error or ''})")
    else:
        result.extra.append(job)
    from lms import signals

    signals.content_changed.send("courses", kind="course", ids=[c.id for c in courses])
    n_lessons = len(courses) * len(LESSONS)
    result.extra.append(f"{len(courses)} courses, {n_lessons} lessons, {len(rows)} course assignments")
    _seed_progress(result, rng, courses, rows)


def _seed_progress(result, rng, courses, assignments) -> None:
    """Study progress of a share of every demo workshop's members in the courses required for them
    (the province's and their workshop's): lessons read, videos watched (to the end, or part of the
    way), quizzes attempted and passed or not; the totals kept as lms.courses.watch keeps them.
    demo_teacher has read the introduction of their first course only, so a newcomer meets an open
    quiz and an unwatched video."""
    import random

    from lms.accounts.models import User
    from lms.communities.models import WorkshopMembership
    from lms.core.db import utcnow
    from lms.courses.models import QuizAttempt
    from lms.courses.watch import COMPLETION_SHARE
    from lms.courses.watch_models import CourseProgress, LessonProgress, WatchState

    rng = rng or random.Random(1)
    by_id = {c.id: c for c in courses}
    ctx_courses: dict[int, list[int]] = {}
    for a in assignments:
        ctx_courses.setdefault(a.context_id, []).append(a.course_id)
    province_wide = list(ctx_courses.get(courses[0].context_id, []))
    members = db.session.execute(
        select(WorkshopMembership.user_id, Workshop.context_id)
        .join(Workshop, Workshop.id == WorkshopMembership.workshop_id)
        .where(Workshop.context_id.in_(list(ctx_courses)))
        .order_by(WorkshopMembership.user_id)
    ).all()  # fmt: skip
    demo_teacher = db.session.scalar(select(User.id).where(User.username == "demo_teacher"))
    todo: dict[int, list[int]] = {}
    for uid, ws_ctx in members:
        if uid != demo_teacher and rng.random() >= STUDYING_SHARE:
            continue
        mine = todo.setdefault(uid, list(province_wide))
        mine.extend(cid for cid in ctx_courses.get(ws_ctx, []) if cid not in mine)
    now = utcnow()
    lp_rows, cp_rows, ws_rows, attempts = [], [], [], []
    for uid, course_ids in todo.items():
        total = 0.0
        for n, cid in enumerate(course_ids):
            course = by_id[cid]
            lessons = course.lessons
            if uid == demo_teacher and n > 0:
                break
            # How far along: lessons done in order, then one in progress (or none).
            reach = 1 if uid == demo_teacher else rng.choice((1, 2, 2, 3, 3, 3))
            seconds, done = 0.0, 0
            for pos, lesson in enumerate(lessons, start=1):
                if pos > reach:
                    break
                finished = pos < reach or rng.random() < 0.6
                watched, completed = 0.0, True
                if lesson.kind == "video":
                    full = float(lesson.duration_seconds or CLIP_SECONDS)
                    watched = full if finished else round(full * rng.uniform(0.2, 0.7), 1)
                    completed = watched >= COMPLETION_SHARE * full
                passed = False
                if lesson.questions and completed and uid != demo_teacher:
                    tries = 1 if finished else rng.choice((1, 2))
                    for k in range(1, tries + 1):
                        ok = finished and k == tries
                        answers = {str(q.id): list(q.answer) for q in lesson.questions}
                        if not ok:  # the last question answered wrong
                            q = lesson.questions[-1]
                            answers[str(q.id)] = [(q.answer[0] + 1) % len(q.options)]
                        correct = len(lesson.questions) if ok else len(lesson.questions) - 1
                        attempts.append({"lesson_id": lesson.id, "user_id": uid, "attempt_no": k, "answers": answers,
                                         "correct": correct, "total": len(lesson.questions),
                                         "score": round(100.0 * correct / len(lesson.questions), 1),
                                         "created_at": now})  # fmt: skip
                    passed = finished
                seconds += watched
                done += completed and (passed or not lesson.questions)
                lp_rows.append({"user_id": uid, "lesson_id": lesson.id, "course_id": cid, "seconds": watched,
                                "max_position": watched, "last_position": watched, "completed": completed,
                                "quiz_passed": passed, "updated_at": now})  # fmt: skip
            cp_rows.append({"user_id": uid, "course_id": cid, "seconds": seconds, "lessons_completed": done,
                            "updated_at": now})  # fmt: skip
            total += seconds
        ws_rows.append({"user_id": uid, "seconds": total, "position": 0.0, "playing": False,
                        "viewing_seconds": 0.0, "carry": 0.0})  # fmt: skip
    for table, rows in ((LessonProgress, lp_rows), (CourseProgress, cp_rows), (WatchState, ws_rows),
                        (QuizAttempt, attempts)):  # fmt: skip
        if rows:
            db.session.execute(insert(table), rows)
    # Whoever studied has signed in, within the last fortnight; so have some who have not started yet
    # (participation runs ahead of learning, as in a real province's first weeks).
    seen = []
    for uid in db.session.scalars(select(User.id).where(User.school_id.is_not(None)).order_by(User.id)):
        if uid in todo or rng.random() < 0.35:
            at = now - timedelta(hours=rng.uniform(1, 14 * 24))
            seen.append({"uid": uid, "at": at})
    if seen:
        users = User.__table__
        stmt = users.update().where(users.c.id == bindparam("uid"))
        db.session.execute(stmt.values(last_login_at=bindparam("at"), last_seen_at=bindparam("at")), seen)
    db.session.commit()
    result.extra.append(f"course progress for {len(todo)} teachers, {len(attempts)} quiz attempts, "
                        f"{len(seen)} teachers signed in")  # fmt: skip
