import html
import re
import threading

from lms.extensions import db
from lms.search import services
from lms.signals import content_changed, content_deleted


def _titles(result):
    return sorted(h["title"] for h in result.hits)


def test_chinese_query_finds_documents_about_its_words(world, index, announce):
    ctx = world.county_a.context
    admin = world["county_admin"]
    announce(admin, ctx, "信息技术在课堂教学中的应用", "介绍交互式白板与学科融合的课例")
    announce(admin, ctx, "学科融合的校本研修", "如何用信息技术支持学科融合")
    announce(admin, ctx, "班主任工作经验交流", "家校沟通与班级管理")
    services.flush()
    teacher = world["teacher"]
    r = services.search(teacher, "信息技术与学科融合")
    assert _titles(r) == ["信息技术在课堂教学中的应用", "学科融合的校本研修"]
    assert r.total == 2
    assert _titles(services.search(teacher, "班级管理")) == ["班主任工作经验交流"]
    assert services.search(teacher, "物理实验").total == 0
    # the matches are highlighted
    hit = services.search(teacher, "校本研修").hits[0]
    assert "<mark>校本</mark>" in hit["title_html"] or "<mark>校本研修</mark>" in hit["title_html"]


def test_english_words_lowercased(world, index, announce):
    announce(world["county_admin"], world.county_a.context, "Python编程入门", "Scratch and Python for kids")
    services.flush()
    assert services.search(world["teacher"], "python").total == 1
    assert services.search(world["teacher"], "SCRATCH").total == 1


def test_other_county_never_sees_private_community_documents(world, index, announce):
    announce(world["county_admin"], world.county_a.context, "东湖区教研通知", "东湖区内部教研安排")
    announce(world["host"], world.workshop_a.context, "东湖工作坊教研计划", "工作坊内部")
    announce(world["county_admin_b"], world.county_b.context, "西湖区教研通知", "西湖区内部教研安排")
    announce(world["province_admin"], world.province.context, "全省教研通知", "全省教研安排")
    services.flush()
    t_b = world["teacher_b"]
    assert _titles(services.search(t_b, "教研")) == ["全省教研通知", "西湖区教研通知"]
    # a county-A teacher sees the county (upward), not the workshop they are not a member of
    assert _titles(services.search(world["teacher"], "教研")) == ["东湖区教研通知", "全省教研通知"]
    assert _titles(services.search(world["member"], "教研")) == ["东湖区教研通知", "东湖工作坊教研计划", "全省教研通知"]
    assert services.search(world["county_admin_b"], "东湖").total == 0
    assert _titles(services.search(world["city_admin"], "教研")) == [
        "东湖区教研通知", "东湖工作坊教研计划", "全省教研通知", "西湖区教研通知",
    ]  # fmt: skip
    assert services.search(world["outsider"], "教研").total == 0
    assert services.search(None, "教研").total == 0


def test_owner_only_documents(world, index, announce):
    announce(world["teacher"], world.school_a.context, "私:我的研修日志草稿", "反思今天的课堂")
    services.flush()
    assert services.search(world["teacher"], "研修日志").total == 1
    assert services.search(world["member"], "研修日志").total == 0  # same school
    assert services.search(world["site_admin"], "研修日志").total == 0


def test_filters_and_paging_stay_exact_under_permission_filter(world, index, announce):
    for i in range(25):
        announce(world["county_admin"], world.county_a.context, f"课堂观察记录{i}", "观课评课")
        announce(world["county_admin_b"], world.county_b.context, f"课堂观察记录B{i}", "观课评课")
    services.flush()
    teacher = world["teacher"]
    p1 = services.search(teacher, "课堂观察", per_page=10)
    assert p1.total == 25 and p1.pages == 3 and len(p1.hits) == 10
    p3 = services.search(teacher, "课堂观察", page=3, per_page=10)
    assert len(p3.hits) == 5
    seen = {h["id"] for h in p1.hits} | {h["id"] for h in p3.hits}
    seen |= {h["id"] for h in services.search(teacher, "课堂观察", page=2, per_page=10).hits}
    assert len(seen) == 25
    # community filter narrows inside what the user may see; another county's id gives nothing
    admin = world["city_admin"]
    assert services.search(admin, "课堂观察", {"community": str(world.county_b.context.id)}).total == 25
    assert services.search(teacher, "课堂观察", {"community": str(world.county_b.context.id)}).total == 0
    assert services.search(admin, "课堂观察", {"kind": "announcement"}).total == 50
    assert services.search(admin, "课堂观察", {"kind": "course"}).total == 0


def test_changes_and_deletes_follow_signals(world, index, announce):
    a = announce(world["county_admin"], world.county_a.context, "寒假研修安排", "")
    services.flush()
    assert services.search(world["teacher"], "寒假").total == 1
    a.title = "暑期研修安排"
    db.session.commit()
    content_changed.send("activities", kind="announcement", ids=[a.id])
    services.flush()
    assert services.search(world["teacher"], "寒假").total == 0
    assert services.search(world["teacher"], "暑期").total == 1
    aid = a.id
    db.session.delete(a)
    db.session.commit()
    content_deleted.send("activities", kind="announcement", ids=[aid])
    services.flush()
    assert services.search(world["teacher"], "暑期").total == 0


def test_changed_signal_for_a_row_gone_removes_it(world, index, announce):
    a = announce(world["county_admin"], world.county_a.context, "秋季学期公告", "")
    services.flush()
    aid = a.id
    db.session.delete(a)
    db.session.commit()
    content_changed.send("activities", kind="announcement", ids=[aid])
    services.flush()
    assert services.search(world["teacher"], "秋季").total == 0


def test_reindex_equals_incremental(world, index, announce):
    texts = ["语文阅读教学设计", "数学思维训练", "英语听说课例 English", "私:个人反思", "综合实践活动"]
    for i, t in enumerate(texts):
        ctx = [world.county_a.context, world.school_a.context, world.workshop_a.context][i % 3]
        announce(world["county_admin"] if i != 3 else world["teacher"], ctx, t, f"正文{t}")
    services.flush()
    incremental = index.keys()
    assert len(incremental) == 5
    counts = services.reindex()
    assert counts == {"announcement": 5}
    assert index.keys() == incremental
    index.put("clear", None)
    services.flush()
    assert index.keys() == set()
    services.reindex(["announcement"])
    assert index.keys() == incremental


def test_concurrent_writes_never_raise(app, world, index):
    """Many request threads committing and signalling at once: one writer thread, no LockError."""
    from lms.activities.models import Announcement

    ctx_id, author_id = world.county_a.context.id, world["county_admin"].id
    rows = [
        Announcement(context_id=ctx_id, author_id=author_id, title=f"并发写入{i}", body_html="<p>压力</p>")
        for i in range(240)
    ]
    db.session.add_all(rows)
    db.session.commit()
    ids = [a.id for a in rows]
    admin_id = world["county_admin"].id
    errors = []

    def worker(n):
        try:
            with app.app_context():
                from lms.accounts.models import User

                admin = db.session.get(User, admin_id)
                for i in ids[n * 20 : (n + 1) * 20]:
                    content_changed.send("test", kind="announcement", ids=[i])
                    if i % 4 == 0:
                        services.search(admin, "并发")
                    if i % 7 == 0:
                        content_deleted.send("test", kind="announcement", ids=[i])
                        content_changed.send("test", kind="announcement", ids=[i])
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - the test collects every failure
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert services.flush()
    assert index.errors == 0
    assert services.search(world["county_admin"], "并发写入").total == 240


def test_xss_comes_back_escaped(world, index, announce, xss_payloads):
    from lms.activities.models import Announcement

    admin = world["county_admin"]
    for p in xss_payloads:
        a = Announcement(
            context_id=world.county_a.context.id, author_id=admin.id, title=f"安全测试 {p}"[:200], body_html=""
        )
        a.body_html = f"安全测试 {p} 安全"  # raw, as a source that forgot to strip would return it
        db.session.add(a)
    db.session.commit()
    services.reindex()
    r = services.search(admin, "安全测试", per_page=100)
    assert r.total == len(xss_payloads)
    for h in r.hits:
        for field in ("title_html", "snippet_html"):
            stripped = h[field].replace("<mark>", "").replace("</mark>", "")
            assert "<" not in stripped and ">" not in stripped, h[field]
            assert re.sub(r"</?mark>", "", h[field]) == stripped


def test_search_page_and_api(world, index, announce, login_as, xss_payloads):
    announce(world["county_admin"], world.county_a.context, "信息技术应用能力提升工程", "整校推进<b>x</b>")
    announce(world["county_admin"], world.county_a.context, "<script>alert(1)</script>信息技术", "")
    services.flush()
    c = login_as(world["teacher"])
    r = c.get("/search?q=信息技术")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "<mark>信息技术</mark>" in body
    assert "<script>alert(1)" not in body
    assert 'data-total="2"' in body
    r = c.get("/api/v1/search?q=信息技术&per_page=1&page=2")
    assert r.status_code == 200
    data = r.get_json()
    assert data["total"] == 2 and data["pages"] == 2 and len(data["items"]) == 1
    assert login_as(world["teacher_b"]).get("/api/v1/search?q=信息技术").get_json()["total"] == 0
    # the nav carries the compact box on every page
    assert 'role="search"' in c.get("/notifications").get_data(as_text=True)


def test_search_page_pages(world, index, announce, login_as, app, monkeypatch):
    for i in range(3):
        announce(world["county_admin"], world.county_a.context, f"信息技术专题{i}", "信息技术")
    services.flush()
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    c = login_as(world["teacher"])
    first = c.get("/search?q=信息技术")
    assert first.status_code == 200
    body = first.get_data(as_text=True)
    assert "page=2" in body and "下一页" in body
    second = c.get("/search?q=信息技术&page=2")
    assert second.status_code == 200 and "上一页" in second.get_data(as_text=True)


def test_search_needs_sign_in(client):
    assert client.get("/search?q=x").status_code in (302, 401)
    assert client.get("/api/v1/search?q=x").status_code == 401


def test_escaping_helper_is_plain_html():
    assert html.escape("<") == "&lt;"


def test_bitmap_caches_follow_commits_across_segments(world, index, announce):
    """Counts, ranking and deletions stay exact when documents land in new segments and old
    segments get deletions; a commit keeps the bitmaps of the segments it did not rewrite."""
    admin, ctx = world["county_admin"], world.county_a.context
    first = [announce(admin, ctx, f"课堂观察记录{i}", "课堂观察 课堂观察") for i in range(6)]
    services.flush()
    teacher = world["teacher"]
    assert services.search(teacher, "课堂观察").total == 6
    seg_keys = {k for k in index._cache if k[1] == "seg"}
    assert seg_keys
    # a new document (a new segment) and an edit (a deletion in the old one)
    announce(admin, ctx, "课堂观察新记录", "")
    first[0].title = "已改名的记录"
    first[0].body_html = "<p>无关内容</p>"
    db.session.commit()
    content_changed.send("activities", kind="announcement", ids=[first[0].id])
    services.flush()
    r = services.search(teacher, "课堂观察", per_page=50)
    assert r.total == 6 and len(r.hits) == 6
    assert "已改名的记录" not in _titles(r) and "课堂观察新记录" in _titles(r)
    assert len({h["id"] for h in r.hits}) == 6
    # title matches with the words repeated in the body first (ties: later written first)
    assert r.hits[0]["title"].startswith("课堂观察记录") and r.hits[-1]["title"] == "课堂观察新记录"
    assert r.hits[0]["score"] > r.hits[-1]["score"]
    s = index._acquire()
    live_segments = {seg for _, _, seg in index._leaves(s)}
    index._release(s)
    kept = {k for k in seg_keys if k[2] in live_segments}
    assert kept <= set(index._cache)  # bitmaps of segments the commit did not rewrite are kept
    assert services.search(teacher, "已改名").total == 1
    assert services.search(world["teacher_b"], "课堂观察").total == 0


def test_reindex_removes_what_left_the_database_and_keeps_the_rest_searchable(world, index, announce, monkeypatch):
    from lms.activities.models import Announcement
    from lms.search import whoosh_index

    monkeypatch.setattr(whoosh_index, "MAX_BATCH_DOCS", 3)  # a reindex of 7 documents in several commits
    admin = world["county_admin"]
    rows = [announce(admin, world.county_a.context, f"教研通知{i}", "教研安排") for i in range(7)]
    services.flush()
    before = index.keys()
    assert services.search(admin, "教研通知").total == 7
    commits = index._commits
    db.session.delete(db.session.get(Announcement, rows[2].id))  # gone without a signal
    db.session.commit()
    assert services.reindex() == {"announcement": 6}
    assert index._commits - commits >= 3
    assert index.keys() == {k for k in before if not k.startswith(f"announcement:{rows[2].id}|")}
    assert services.search(admin, "教研通知").total == 6


def test_warm_up_changes_no_result(app, world, index, announce):
    announce(world["county_admin"], world.county_a.context, "信息技术与学科融合", "校本研修")
    services.flush()
    before = services.search(world["teacher"], "信息技术 xinxi")
    services.warm_up(app)
    after = services.search(world["teacher"], "信息技术 xinxi")
    assert (after.total, after.hits) == (before.total, before.hits)
    assert services.search(world["teacher"], "信息技术").total == 1
