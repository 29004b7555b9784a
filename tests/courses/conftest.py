from decimal import Decimal

import pytest

from lms.courses import services
from lms.courses.models import Course
from lms.extensions import db


def make_course(ctx, title="课程", kind="integration", stage="primary", subject="math", hours=2, published=True,
                lessons=0, user=None) -> Course:  # fmt: skip
    c = Course(title=title, kind=kind, stage=stage, subject=subject, hours=Decimal(str(hours)), published=published,
               context_id=ctx.id, created_by=getattr(user, "id", None))  # fmt: skip
    db.session.add(c)
    db.session.flush()
    for i in range(lessons):
        from lms.courses.models import Lesson

        c.lessons.append(Lesson(title=f"第{i + 1}讲", kind="text", body_html="<p>正文</p>", position=i + 1))
    c.lesson_count = lessons
    db.session.commit()
    return c


@pytest.fixture
def catalogue(world):
    """Province-wide courses, one course per county, one unpublished."""
    w = world
    prov = w.province.context
    out = {
        "ethics": make_course(prov, "师德修养专题", kind="ethics", stage=None, subject="general", hours=4),
        "math_primary": make_course(prov, "小学数学信息化教学", stage="primary", subject="math", hours=3, lessons=3),
        "chinese_junior": make_course(prov, "初中语文群文阅读", stage="junior", subject="chinese", kind="cases"),
        "county_a": make_course(w.county_a.context, "东湖区本地课程", hours=1.5),
        "county_b": make_course(w.county_b.context, "西湖区本地课程"),
        "draft": make_course(prov, "未发布课程", published=False),
    }
    return out


__all__ = ["make_course", "services"]


@pytest.fixture(autouse=True)
def _fresh_watch_caches(app):
    """Per-process caches of the playback paths (account standing, verified cookies) keyed by ids a
    later test's rows may reuse: start every test without them."""
    from lms.courses import watch

    yield
    watch.forget_accounts()
    fast = app.extensions.get("watch_fast")
    if fast is not None:
        fast.forget()
