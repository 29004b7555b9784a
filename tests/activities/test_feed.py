"""The personal-space feed: entries written by listeners, filtered by the reader's communities, paged."""

from sqlalchemy import func, select

from lms.activities import briefs, feed, writing
from lms.activities import services as announcements
from lms.activities.models import FeedEntry
from lms.signals import content_changed


def _titles(user, **kw):
    return [e.title for e in feed.entries(user, **kw).items]


def test_feed_shows_what_happened_in_my_communities(world, login_as, db):
    writing.create(world["member"], world.workshop_a, "log", "A坊日志", "内容")
    writing.create(world["member_b"], world.workshop_b, "log", "B坊日志", "内容")
    briefs.post(world["host"], world.workshop_a.context, "A坊简报", "")
    briefs.post(world["school_admin"], world.school_a.context, "A校简报", "")
    announcements.post(world["county_admin"], world.county_a.context, "A县公告", "")
    announcements.post(world["county_admin_b"], world.county_b.context, "B县公告", "")
    announcements.post(world["province_admin"], world.province.context, "全省公告", "")

    # A member of workshop A at school A: the workshop, the school, the county and above.
    assert _titles(world["leader"]) == ["全省公告", "A县公告", "A校简报", "A坊简报", "A坊日志"]
    # A teacher of school A who is in no workshop: no workshop writing or workshop briefs.
    assert _titles(world["teacher"]) == ["全省公告", "A县公告", "A校简报"]
    # Workshop B's member: B's log and county, the province; nothing of A.
    assert _titles(world["member_b"]) == ["全省公告", "B县公告", "B坊日志"]
    # The host of workshop A follows the workshop; the expert (no school) too.
    assert _titles(world["expert"]) == ["全省公告", "A县公告", "A坊简报", "A坊日志"]
    # The county admin sees county-level news (not every workshop's logs), and the province's.
    assert _titles(world["county_admin"]) == ["全省公告", "A县公告"]
    assert _titles(world["outsider"]) == []
    assert _titles(world["leader"], kind="log") == ["A坊日志"]

    page = login_as(world["leader"]).get("/me").get_data(as_text=True)
    assert "A坊日志" in page and "A县公告" in page and "B坊日志" not in page
    api = login_as(world["member_b"]).get("/api/v1/me/feed").get_json()
    assert [i["title"] for i in api["items"]] == ["全省公告", "B县公告", "B坊日志"]
    assert api["items"][-1]["kind"] == "log" and api["items"][-1]["url"].startswith("/writing/")


def test_edits_update_and_deletes_remove_entries(world, login_as, db):
    item = writing.create(world["member"], world.workshop_a, "log", "初稿", "")
    writing.update(world["member"], item, "改后的标题", "")
    assert _titles(world["leader"]) == ["改后的标题"]
    b = briefs.post(world["host"], world.workshop_a.context, "简报", "")
    notice = announcements.post(world["host"], world.workshop_a.context, "坊公告", "")
    assert db.session.scalar(select(func.count(FeedEntry.id))) == 3
    writing.delete(world["member"], item)
    briefs.delete(world["host"], b)
    announcements.delete(world["host"], notice)
    assert db.session.scalar(select(func.count(FeedEntry.id))) == 0
    # A kind the feed does not follow, or a document without a source, is ignored.
    content_changed.send("elsewhere", kind="course", ids=[1])
    content_changed.send("elsewhere", kind="post", ids=[1])
    assert db.session.scalar(select(func.count(FeedEntry.id))) == 0


def test_feed_pages(world, login_as, db):
    for i in range(feed.PER_PAGE + 5):
        writing.create(world["member"], world.workshop_a, "log", f"日志{i:02d}", "")
    first = feed.entries(world["leader"], 1)
    second = feed.entries(world["leader"], 2)
    assert first.total == feed.PER_PAGE + 5 and len(first.items) == feed.PER_PAGE and len(second.items) == 5
    assert {e.id for e in first.items}.isdisjoint({e.id for e in second.items})
    client = login_as(world["leader"])
    assert "日志00" in client.get("/me/feed?page=2").get_data(as_text=True)
    assert client.get("/me/feed?kind=brief").status_code == 200
    api = client.get("/api/v1/me/feed?page=2&per_page=10").get_json()
    assert api["page"] == 2 and len(api["items"]) == 10
