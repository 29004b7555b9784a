"""The effective-post rule 有效帖 and the maintained per-member counts."""

from datetime import timedelta
from types import SimpleNamespace

from lms.activities import services as activity_services
from lms.activities import workshop_services as svc
from lms.core.db import utcnow
from tests.activities.conftest import LONG


def _posts(*texts, hidden=()):
    t0 = utcnow()
    return [
        SimpleNamespace(id=i, body_text=t, hidden=i in hidden, created_at=t0 + timedelta(seconds=i))
        for i, t in enumerate(texts)
    ]


def test_rule_edges():
    nineteen = "一二三四五六七八九十一二三四五六七八九"
    assert len(nineteen) == 19
    flags = svc.effective_flags(
        _posts(
            nineteen,  # 19 characters: not effective
            nineteen + "十",  # 20: effective
            "！！！。。。，，，、、、？？？……" * 3 + "好",  # punctuation does not count
            "   " + nineteen + "   ",  # whitespace does not count
        )
    )
    assert flags == {0: False, 1: True, 2: False, 3: False}


def test_copies_and_near_copies_of_own_earlier_posts_do_not_count():
    flags = svc.effective_flags(
        _posts(
            LONG,
            LONG,  # exact copy
            LONG.replace("，", " ").replace("。", "!"),  # same text, other punctuation
            LONG[:-2] + "啊。",  # near copy (≥ 90 % alike)
            "我在语文阅读课上用思维导图带学生梳理文章结构，概括能力明显提高了很多。",  # different
        )
    )
    assert flags == {0: True, 1: False, 2: False, 3: False, 4: True}


def test_hidden_posts_do_not_count_and_do_not_block_a_later_copy():
    flags = svc.effective_flags(_posts(LONG, LONG, hidden={0}))
    assert flags == {0: False, 1: True}


def test_counts_follow_post_edit_hide_delete(world, make_activity):
    activity = make_activity()
    member = world["member"]
    ws = world.workshop_a
    ids = [member.id, world["leader"].id, world["teacher"].id]

    def counts():
        return activity_services.member_post_counts(ws, ids)

    assert counts() == {member.id: (0, 0), world["leader"].id: (0, 0), world["teacher"].id: (0, 0)}
    first = svc.create_post(member, activity, LONG)
    assert counts()[member.id] == (1, 1)
    copy = svc.create_post(member, activity, LONG)
    assert counts()[member.id] == (2, 1)
    assert not copy.effective and first.effective
    short = svc.create_post(member, activity, "赞同！", parent=first)
    assert counts()[member.id] == (3, 1)
    # Editing the short reply into a real one makes it count.
    svc.edit_post(member, short, "赞同！另外我觉得还要注意课堂节奏，不能让技术喧宾夺主，要服务于教学目标。")
    assert counts()[member.id] == (3, 2)
    # Hiding the original: the copy becomes the first of its kind and counts.
    svc.moderate(world["host"], first, "hide")
    assert counts()[member.id] == (2, 2)
    svc.moderate(world["host"], first, "unhide")
    assert counts()[member.id] == (3, 2)
    # Deleting the original thread deletes its reply too; the copy then counts.
    svc.delete_post(member, first)
    assert counts()[member.id] == (1, 1)
    # Other workshops' activities are not added in.
    other = make_activity(workshop=world.workshop_b)
    svc.create_post(world["member_b"], other, LONG)
    assert activity_services.member_post_counts(ws, [world["member_b"].id]) == {world["member_b"].id: (0, 0)}
    assert activity_services.member_post_counts(world.workshop_b, [world["member_b"].id]) == {
        world["member_b"].id: (1, 1)
    }


def test_counts_add_up_over_activities(world, make_activity):
    a1, a2 = make_activity(), make_activity(title="第二个研讨")
    svc.create_post(world["member"], a1, LONG)
    svc.create_post(world["member"], a2, LONG)  # the same text in another activity still counts
    assert activity_services.member_post_counts(world.workshop_a, [world["member"].id]) == {world["member"].id: (2, 2)}
    assert activity_services.member_post_counts(world.workshop_a.id, []) == {}


def test_rule_is_shown(world, login_as, make_activity):
    activity = make_activity()
    html = login_as(world["member"]).get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "有效帖：正文至少 20 个字" in html
