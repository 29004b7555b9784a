"""Issue 6 audit: what hosts take away stays away in replays; flood limits; socket text fields;
supervisors only watch."""

import json

from sqlalchemy import func, select

from lms.extensions import db as _db
from lms.live import services
from lms.live.models import LiveMessage, LiveQuestion, LiveSession
from tests.conftest import at_once
from tests.live.conftest import NS, call, events


def _moderated(world, sock, session):
    """The member asks and chats; the expert hides the question, removes the message, mutes the member."""
    member, expert, leader = sock(world["member"]), sock(world["expert"]), sock(world["leader"])
    for sc in (member, expert, leader):
        assert call(sc, "join", session_id=session.id)["ok"]
    qid = call(member, "ask", session_id=session.id, body="秘密问题甲")["id"]
    mid = call(member, "chat", session_id=session.id, body="秘密留言乙")["id"]
    assert call(expert, "pin", session_id=session.id, message_id=mid)["ok"]
    assert call(expert, "mark", question_id=qid, status="hidden")["ok"]
    assert call(expert, "remove", message_id=mid)["ok"]
    assert call(expert, "mute", session_id=session.id, user_id=world["member"].id)["ok"]
    return member, expert, leader, qid, mid


def test_replay_and_join_hide_what_the_host_took_away(world, sock, session):
    member, expert, leader, qid, mid = _moderated(world, sock, session)
    # Another teacher, and a supervisor who saw none of it live.
    sup = sock(world["supervisor"])
    for res in (call(leader, "replay", session_id=session.id, after=0),
                call(sup, "join", session_id=session.id, last_seq=0)):  # fmt: skip
        evs = res.get("events", res.get("missed"))
        text = json.dumps(evs, ensure_ascii=False)
        assert "秘密问题甲" not in text and "秘密留言乙" not in text
        assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))  # still gap-free
        new = next(e for e in evs if e["kind"] == "question.new")
        assert new["data"]["id"] == qid and new["data"]["removed"] and new["data"]["body"] == ""
        chat = next(e for e in evs if e["kind"] == "chat.new")
        assert chat["data"]["id"] == mid and chat["data"]["removed"] and chat["data"]["body"] == ""
        assert all(e["data"]["message"] is None for e in evs if e["kind"] == "chat.pinned")
        # Who was muted is not everyone's business: a placeholder keeps the seq.
        assert "user.muted" not in {e["kind"] for e in evs}
        assert "hidden" in {e["kind"] for e in evs}
    # The hosts see the mute; so does the muted person (their page disables the chat).
    for sc in (expert, member):
        evs = call(sc, "replay", session_id=session.id, after=0)["events"]
        assert [e["data"]["user_id"] for e in evs if e["kind"] == "user.muted"] == [world["member"].id]


def test_mute_is_broadcast_to_hosts_and_the_muted_only(world, sock, session):
    member, expert, leader = sock(world["member"]), sock(world["expert"]), sock(world["leader"])
    for sc in (member, expert, leader):
        assert call(sc, "join", session_id=session.id)["ok"]
        sc.get_received(NS)
    assert call(expert, "mute", session_id=session.id, user_id=world["leader"].id)["ok"]
    assert [e["kind"] for e in events(member)] == ["hidden"]
    assert [e["kind"] for e in events(expert)][0] == "user.muted"
    assert [e["kind"] for e in events(leader)][0] == "user.muted"


def test_unhiding_brings_the_question_back(world, sock, session):
    member, expert = sock(world["member"]), sock(world["expert"])
    qid = call(member, "ask", session_id=session.id, body="先隐藏再恢复")["id"]
    assert call(expert, "mark", question_id=qid, status="hidden")["ok"]
    assert call(expert, "mark", question_id=qid, status="open")["ok"]
    evs = call(member, "replay", session_id=session.id, after=0)["events"]
    assert evs[-1]["kind"] == "question.status" and evs[-1]["data"]["question"]["body"] == "先隐藏再恢复"


def test_bad_seq_values_are_refused(world, sock, session):
    member = sock(world["member"])
    for after in (-1, "abc", ["x"], 1.5, True, {"a": 1}):
        assert call(member, "replay", session_id=session.id, after=after) == {"ok": False, "error": "invalid"}, after
        assert call(member, "join", session_id=session.id, last_seq=after)["error"] == "invalid", after
    assert call(member, "replay", session_id=session.id, after="0")["ok"]
    assert call(member, "replay", session_id=session.id, after=10**6) == {"ok": True, "events": []}


def test_non_string_text_is_invalid(world, sock, session):
    member, expert = sock(world["member"]), sock(world["expert"])
    qid = call(member, "ask", session_id=session.id, body="正常问题")["id"]
    bad = [
        (member, "ask", {"session_id": session.id, "body": ["x"]}),
        (member, "ask", {"session_id": session.id, "body": 5}),
        (member, "chat", {"session_id": session.id, "body": {"a": 1}}),
        (expert, "mark", {"question_id": qid, "status": ["open"]}),
        (expert, "status", {"session_id": session.id, "status": 1}),
        (expert, "mute", {"session_id": session.id, "user_id": world["member"].id, "muted": "no"}),
        (expert, "mute", {"session_id": session.id, "user_id": [1]}),
        (expert, "slow_mode", {"session_id": session.id, "seconds": [5]}),
    ]
    for sc, name, data in bad:
        assert call(sc, name, **data)["error"] == "invalid", (name, data)
    assert _db.session.scalar(select(func.count()).select_from(LiveQuestion)) == 1
    assert _db.session.scalar(select(func.count()).select_from(LiveMessage)) == 0
    assert _db.session.scalar(select(func.count()).select_from(services.LiveMute)) == 0


def test_ask_rate_limit_and_open_cap(world, sock, session, app, monkeypatch):
    monkeypatch.setitem(app.config, "LIVE_ASK_PER_MINUTE", 3)
    member, expert = sock(world["member"]), sock(world["expert"])
    ids = [call(member, "ask", session_id=session.id, body=f"问题{i}")["id"] for i in range(3)]
    res = call(member, "ask", session_id=session.id, body="第四个")
    assert res["ok"] is False and res["error"] == "rate_limited" and 0 < res["wait"] <= 61
    # Hosts are not limited.
    for i in range(4):
        assert call(expert, "ask", session_id=session.id, body=f"主持人{i}")["ok"]
    # The cap on open questions: answering one of them frees a place.
    monkeypatch.setitem(app.config, "LIVE_ASK_PER_MINUTE", 100)
    monkeypatch.setitem(app.config, "LIVE_OPEN_QUESTIONS_MAX", 3)
    assert call(member, "ask", session_id=session.id, body="第四个") == {"ok": False, "error": "too_many_open",
                                                                         "limit": 3}  # fmt: skip
    assert call(expert, "mark", question_id=ids[0], status="answered")["ok"]
    assert call(member, "ask", session_id=session.id, body="第四个")["ok"]


def test_slow_mode_applies_to_questions(world, sock, session):
    member, expert = sock(world["member"]), sock(world["expert"])
    assert call(expert, "slow_mode", session_id=session.id, seconds=30)["ok"]
    assert call(member, "ask", session_id=session.id, body="一")["ok"]
    res = call(member, "ask", session_id=session.id, body="二")
    assert res["error"] == "slow_mode" and 0 < res["wait"] <= 30


def test_chat_rate_limit(world, sock, session, app, monkeypatch):
    monkeypatch.setitem(app.config, "LIVE_CHAT_PER_MINUTE", 4)
    member = sock(world["member"])
    for i in range(4):
        assert call(member, "chat", session_id=session.id, body=f"消息{i}")["ok"]
    assert call(member, "chat", session_id=session.id, body="太快")["error"] == "rate_limited"


def test_a_burst_of_questions_at_once_is_limited(app, world, session, monkeypatch):
    """Twelve asks at the same moment (separate connections, as separate processes): the limit is
    counted under the session row's lock, so exactly the limit gets through."""
    monkeypatch.setitem(app.config, "LIVE_ASK_PER_MINUTE", 4)
    uid, sid = world["member"].id, session.id

    def one():
        from lms.accounts.models import User

        try:
            services.ask(_db.session.get(User, uid), _db.session.get(LiveSession, sid), "同时提问")
            return "ok"
        except services.LiveError as err:
            return err.code

    got = at_once(app, 12, one)
    assert got.count("ok") == 4 and set(got) <= {"ok", "rate_limited"}, got
    assert _db.session.scalar(select(func.count()).select_from(LiveQuestion)) == 4


def test_question_count_counts_open_and_answered_only(world, sock, session):
    member, expert = sock(world["member"]), sock(world["expert"])
    a, b, c = (call(member, "ask", session_id=session.id, body=t)["id"] for t in ("甲", "乙", "丙"))

    def count():
        _db.session.expire_all()
        return _db.session.get(LiveSession, session.id).question_count

    assert count() == 3
    assert call(expert, "mark", question_id=a, status="hidden")["ok"]
    assert call(expert, "merge", question_id=b, into_id=c)["ok"]
    assert count() == 1
    assert call(expert, "mark", question_id=a, status="answered")["ok"]  # back from hidden
    assert call(expert, "mark", question_id=c, status="answering")["ok"]
    assert count() == 2


def test_supervisors_watch_but_do_not_take_part(world, sock, session):
    member, sup = sock(world["member"]), sock(world["supervisor"])
    qid = call(member, "ask", session_id=session.id, body="督导能看到")["id"]
    res = call(sup, "join", session_id=session.id, state=True)
    assert res["ok"] and res["state"]["can_ask"] is False
    assert [q["id"] for q in res["state"]["questions"]] == [qid]
    for name, data in [("ask", {"session_id": session.id, "body": "督导提问"}), ("vote", {"question_id": qid}),
                       ("chat", {"session_id": session.id, "body": "督导留言"})]:  # fmt: skip
        assert call(sup, name, **data) == {"ok": False, "error": "forbidden"}, name
