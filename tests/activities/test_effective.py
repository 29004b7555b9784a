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


def test_near_copies_with_edits_reordering_or_long_bodies_are_caught_distinct_posts_count():
    other = "我在语文阅读课上用思维导图带学生梳理文章结构，概括能力明显提高了很多。"
    edited = LONG.replace("平板", "手机")  # two characters changed in 37
    reordered = "学生提交后能立即看到全班的正确率，讲评更有针对性。我在课堂上使用平板推送练习。"
    flags = svc.effective_flags(_posts(LONG, edited, reordered, other, other + "补充一句：下周继续。"))
    assert flags == {0: True, 1: False, 2: False, 3: True, 4: False}
    # Two different texts on the same topic share characters but not enough sequences.
    same_topic = "课堂上我用希沃白板的蒙层和拖拽功能设计互动游戏，学生抢着上台，气氛很活跃。"
    assert svc.effective_flags(_posts(LONG, same_topic)) == {0: True, 1: True}
    # Long bodies: a copy of a 15,000-character post with a different ending is still caught,
    # and fifty long posts of different texts all count.
    long_text = (LONG + other) * 200
    flags = svc.effective_flags(_posts(long_text, long_text[:-40] + "结尾不同的一段话，补充说明。"))
    assert flags == {0: True, 1: False}
    distinct = [_distinct_text(i, 15000) for i in range(50)]
    assert all(svc.effective_flags(_posts(*distinct)).values())


def _distinct_text(seed: int, length: int) -> str:
    """A long text of its own: pseudo-random characters of the CJK block, reproducible per seed."""
    import random

    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(length))


def test_recount_cost_is_bounded_whatever_the_post_length(monkeypatch):
    """Fifty posts of 15,000 characters: the old character-by-character comparison took seconds per
    pair (quadratic in length, then quadratic in posts). Now each post is read once and only a bounded
    head is compared: at most n·(n-1)/2 comparisons, each of sets smaller than COMPARE_CHARS."""
    posts = _posts(*(_distinct_text(i, 15000) for i in range(50)))
    compared = []
    real_similar = svc.similar

    def counting(a, b):
        compared.append(max(len(a), len(b)))
        return real_similar(a, b)

    monkeypatch.setattr(svc, "similar", counting)
    read = []
    real_normalize = svc.normalized_for_comparison
    monkeypatch.setattr(svc, "normalized_for_comparison", lambda t: read.append(len(t)) or real_normalize(t))
    flags = svc.effective_flags(posts)
    assert all(flags.values())
    assert len(compared) <= 50 * 49 // 2
    assert max(compared) < svc.COMPARE_CHARS
    # Only enough of each body is normalized to fill the compared head, not all 15,000 characters.
    assert sum(read) <= 50 * 2 * svc.COMPARE_CHARS
    assert len(svc.comparison_head("，" * 20000 + LONG)) == len(svc.normalized_for_comparison(LONG))


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
    # The rule says how near-copies are measured, with the figures the code uses.
    assert "相邻两字组合有 80% 及以上相同" in html and "长帖只比较前 2000 个字" in html
