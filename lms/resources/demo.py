"""Demo resources for `flask lms demo`: about a hundred items with tiny generated files."""

import io
import struct
import zlib
from datetime import timedelta

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from lms import signals
from lms.accounts.models import User
from lms.communities.models import Region, School, Workshop, WorkshopMembership
from lms.core.db import utcnow
from lms.core.taxonomy import SUBJECT_ZH
from lms.extensions import db
from lms.media import services as media
from lms.resources.models import Resource, ResourceRating, ResourceView

TOPICS = {
    "chinese": ["《春》朗读指导", "古诗词群文阅读", "整本书阅读《西游记》", "记叙文写作训练", "《背影》细节描写"],
    "math": ["分数的初步认识", "一元一次方程应用题", "勾股定理探究", "统计与概率", "图形的旋转"],
    "english": ["Unit 3 My Friends 阅读课", "英语绘本教学", "现在进行时语法", "听说课任务设计", "英语写作评价"],
    "physics": ["牛顿第一定律", "浮力实验探究", "电路连接", "光的折射"],
    "chemistry": ["氧气的制取", "酸碱中和反应", "质量守恒定律"],
    "biology": ["细胞的结构", "光合作用实验", "生态系统"],
    "history": ["辛亥革命", "丝绸之路", "改革开放"],
    "geography": ["地球的运动", "中国的气候", "等高线地形图"],
    "science": ["植物的一生", "简单电路", "水的三态变化"],
    "it": ["信息技术与学科融合", "Scratch 编程入门", "数据的可视化", "网络安全教育"],
    "art": ["色彩的冷暖", "剪纸艺术"],
    "music": ["二声部合唱", "民族乐器欣赏"],
}
KIND_WORDS = {
    "courseware": "课件",
    "lesson_design": "教学设计",
    "case": "教学案例",
    "reflection": "教学反思",
    "micro_lesson": "微课脚本",
    "image": "板书设计图",
    "document": "学案",
}
TAGS = ["信息技术2.0", "大单元教学", "双减", "核心素养", "项目式学习", "分层作业", "跨学科", "课堂观察"]
DESCRIPTIONS = [
    "<p>本资源结合课堂实录整理，包含教学目标、重难点分析与教学过程，适合{stage}{subject}教师参考。</p>",
    "<p>在工作坊研修活动中生成，经坊主点评修改。<strong>建议</strong>结合本校学情调整使用。</p>",
    "<p>围绕“{topic}”设计的学习任务单与评价量规，已在两个班级试用。</p>",
]
STAGE_ZH = {"primary": "小学", "junior": "初中", "senior": "高中", "preschool": "幼儿园", "vocational": "中职"}


def _png(rng) -> bytes:
    """An 8×8 solid-colour PNG."""
    w = h = 8
    color = bytes(rng.randrange(60, 230) for _ in range(3))
    raw = b"".join(b"\x00" + color * w for _ in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))  # fmt: skip


def _pdf(title: str) -> bytes:
    """A one-page PDF with an ASCII line (a real PDF viewers open)."""
    text = title.encode("ascii", "ignore").decode() or "Yanxiu resource"
    stream = f"BT /F1 18 Tf 40 760 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def on_demo_built(result, rng=None, scale=None, password=None, **_):
    import random

    rng = rng or random.Random(7)
    workshops = list(db.session.scalars(select(Workshop).order_by(Workshop.id).limit(12)))
    schools = list(db.session.scalars(select(School).order_by(School.id).limit(8)))
    counties = list(db.session.scalars(select(Region).where(Region.level == "county").order_by(Region.id).limit(4)))
    members: dict[int, list[int]] = {}
    for wid, uid in db.session.execute(
        select(WorkshopMembership.workshop_id, WorkshopMembership.user_id).where(
            WorkshopMembership.workshop_id.in_([w.id for w in workshops])
        )
    ):
        members.setdefault(wid, []).append(uid)
    teachers: dict[int, list[int]] = {}
    for sid, uid in db.session.execute(
        select(User.school_id, User.id).where(User.school_id.in_([s.id for s in schools])).limit(2000)
    ):
        teachers.setdefault(sid, []).append(uid)
    libraries = []  # (context, owner ids, stage, subject)
    for w in workshops:
        if members.get(w.id):
            libraries.append((w.context, members[w.id], w.stage, w.subject))
    for s in schools:
        if teachers.get(s.id):
            libraries.append((s.context, teachers[s.id], s.stage, None))
    county_owners = [uid for ids in teachers.values() for uid in ids[:3]]
    for c in counties:
        if county_owners:
            libraries.append((c.context, county_owners, None, None))
    if not libraries:
        return
    created: list[Resource] = []
    stamp = utcnow()
    for i in range(100):
        ctx, owners, stage, subject = libraries[i % len(libraries)]
        subject = subject or rng.choice(list(TOPICS))
        if subject not in TOPICS:
            subject = rng.choice(list(TOPICS))
        stage = stage or rng.choice(["primary", "junior", "senior"])
        topic = rng.choice(TOPICS[subject])
        kind = rng.choice(list(KIND_WORDS))
        title = f"{STAGE_ZH.get(stage, '')}{topic}{KIND_WORDS[kind]}"
        if kind == "image":
            data, name = _png(rng), f"{topic}.png"
        else:
            data, name = _pdf(f"Yanxiu demo resource {i + 1}"), f"{title}.pdf"
        owner_id = rng.choice(owners)
        stored = media.save_upload(FileStorage(io.BytesIO(data), filename=name), owner=owner_id, purpose="resource")
        desc = rng.choice(DESCRIPTIONS).format(stage=STAGE_ZH.get(stage, ""), subject=SUBJECT_ZH.get(subject, ""),
                                               topic=topic)  # fmt: skip
        r = Resource(
            title=title[:200],
            description_html=desc,
            stage=stage,
            subject=subject,
            kind=kind,
            tags=" ".join(rng.sample(TAGS, 2)),
            file_id=stored.id,
            owner_id=owner_id,
            context_id=ctx.id,
            status=rng.choices(["normal", "featured", "excellent"], [8, 2, 1])[0],
            source="upload",
            download_count=rng.randrange(0, 120),
            view_count=rng.randrange(0, 300),
            rating_sum=0,
            rating_count=0,
            created_at=stamp.replace(microsecond=0) - timedelta(hours=rng.randrange(1, 2000)),
        )
        db.session.add(r)
        created.append(r)
    db.session.flush()
    # A few ratings and openings, so averages, "top rated" and recommendations have something to show.
    for r in created:
        ctx_owners = next(o for c, o, _s, _j in libraries if c.id == r.context_id)
        raters = rng.sample(ctx_owners, min(len(ctx_owners), rng.randrange(0, 5)))
        for uid in raters:
            stars = rng.choice([3, 4, 4, 5, 5])
            db.session.add(ResourceRating(resource_id=r.id, user_id=uid, stars=stars))
            r.rating_sum += stars
            r.rating_count += 1
            db.session.add(ResourceView(user_id=uid, resource_id=r.id, downloaded=rng.random() < 0.5))
        r.rating_avg = r.rating_sum / r.rating_count if r.rating_count else 0.0
    db.session.commit()
    result.extra.append(f"{len(created)} resources")
    signals.content_changed.send("resources", kind="resource", ids=[r.id for r in created])
