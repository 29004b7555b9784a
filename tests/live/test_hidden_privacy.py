"""A question a moderator hid: its text and its asker's name reach the moderators only, by every path
a viewer has: the live socket events, the missed-events fetch on (re)join, the replay event, the
session and replay pages, and the Q&A area its question came from. Real Socket.IO test clients."""

import json

from sqlalchemy import select

from lms.extensions import db as _db
from lms.live import services
from lms.live.models import LiveEvent
from tests.live.conftest import NS, call, events

SECRET = "私密问题内容甲乙"


def _text(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _hidden(world, sock, session):
    """The member asks; the leader watches live; the expert hides the question."""
    member, expert, leader = sock(world["member"]), sock(world["expert"]), sock(world["leader"])
    for sc in (member, expert, leader):
        assert call(sc, "join", session_id=session.id)["ok"]
    qid = call(member, "ask", session_id=session.id, body=SECRET)["id"]
    leader.get_received(NS)
    assert call(expert, "mark", question_id=qid, status="hidden")["ok"]
    return member, expert, leader, qid


def test_hiding_broadcasts_no_name_or_text(world, sock, session):
    _member, _expert, leader, qid = _hidden(world, sock, session)
    got = events(leader)
    assert [(e["kind"], e["data"]["id"], e["data"]["status"]) for e in got] == [("question.status", qid, "hidden")]
    assert SECRET not in _text(got) and world["member"].name not in _text(got)


def test_missed_events_and_replay_carry_no_name_or_text(world, sock, session):
    member, _expert, leader, qid = _hidden(world, sock, session)
    late = sock(world["supervisor"])  # the county's supervisor, who saw none of it live
    for res in (call(leader, "replay", session_id=session.id, after=0),
                call(late, "join", session_id=session.id, last_seq=0, state=True)):  # fmt: skip
        evs = res.get("events", res.get("missed"))
        assert SECRET not in _text(res) and world["member"].name not in _text(res)
        new = next(e for e in evs if e["kind"] == "question.new")
        assert new["data"]["id"] == qid and new["data"]["removed"] and new["data"]["author"] == ""
        assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    assert call(late, "join", session_id=session.id, state=True)["state"]["questions"] == []


def test_hidden_again_after_being_brought_back(world, sock, session):
    """Unhiding stores the whole question in its event; hiding it again scrubs that one too."""
    member, expert, leader, qid = _hidden(world, sock, session)
    assert call(expert, "mark", question_id=qid, status="open")["ok"]
    back = call(leader, "replay", session_id=session.id, after=0)["events"][-1]
    assert back["data"]["question"]["author"] == world["member"].name  # visible again: whole
    assert call(expert, "mark", question_id=qid, status="hidden")["ok"]
    res = call(leader, "replay", session_id=session.id, after=0)
    assert SECRET not in _text(res) and world["member"].name not in _text(res)
    stored = _text([e.data for e in _db.session.scalars(select(LiveEvent).where(LiveEvent.session_id == session.id))])
    assert SECRET not in stored and world["member"].name not in stored


def test_events_stored_before_the_fix_are_scrubbed_when_read(world, sock, session):
    """Rows hidden by an earlier version kept the asker's name ({"body": "", "removed": true,
    "author": ...}); the fetch leaves it out for viewers, whatever the row holds."""
    member, expert, leader, qid = _hidden(world, sock, session)
    ev = _db.session.scalar(select(LiveEvent).where(LiveEvent.session_id == session.id,
                                                    LiveEvent.kind == "question.new"))  # fmt: skip
    ev.data = {**ev.data, "author": world["member"].name, "body": SECRET}  # as if never scrubbed
    _db.session.commit()
    for sc in (leader, sock(world["supervisor"])):
        res = call(sc, "join", session_id=session.id, last_seq=0)
        assert SECRET not in _text(res) and world["member"].name not in _text(res)
    # The moderators are not told less than before (they also see the question in the state).
    host = call(expert, "join", session_id=session.id, last_seq=0, state=True)
    assert [q["body"] for q in host["state"]["questions"]] == [SECRET]


def test_pages_show_it_to_moderators_only(world, sock, session, login_as):
    _member, _expert, _leader, qid = _hidden(world, sock, session)
    for who in ("leader", "supervisor"):
        for url in (f"/live/{session.id}", f"/live/{session.id}/replay"):
            page = login_as(world[who]).get(url)
            assert page.status_code == 200 and SECRET not in page.text, (who, url)
    assert SECRET in login_as(world["expert"]).get(f"/live/{session.id}").text


def test_a_picked_thread_leaves_the_qa_area_when_hidden_live(world, sock, session, login_as, db):
    t = services.ask_thread(world["member"], world.workshop_a.context, SECRET, "请专家举例说明。", "math")
    q, added = services.pick_thread(world["expert"], session, t)
    assert added
    leader = sock(world["leader"])
    assert call(leader, "join", session_id=session.id)["ok"]
    assert call(sock(world["expert"]), "mark", question_id=q.id, status="hidden")["ok"]
    res = call(leader, "replay", session_id=session.id, after=0)
    assert SECRET not in _text(res) and world["member"].name not in _text(res)
    assert all(e["data"].get("thread") is None for e in res["events"] if e["kind"] == "question.new")
    for who in ("leader", "supervisor"):
        c = login_as(world[who])
        assert SECRET not in c.get("/live/qa").text, who
        assert c.get(f"/live/qa/{t.id}").status_code == 404, who
    # The asker still has their own thread; the session's moderator and the workshop's host see it.
    for who in ("member", "expert", "host"):
        c = login_as(world[who])
        assert SECRET in c.get("/live/qa").text, who
        assert c.get(f"/live/qa/{t.id}").status_code == 200, who
    # Brought back: the thread is back for everyone.
    services.mark(world["expert"], q, "open")
    assert login_as(world["leader"]).get(f"/live/qa/{t.id}").status_code == 200


def test_viewers_cannot_vote_for_a_hidden_question(world, sock, session):
    member, expert, leader, qid = _hidden(world, sock, session)
    for sc in (member, leader):
        sc.get_received(NS)
    assert call(leader, "vote", question_id=qid) == {"ok": False, "error": "not_found"}
    assert events(leader) == [] and events(member) == []
    assert call(expert, "vote", question_id=qid)["ok"]  # the moderators still see it, and may


def test_no_json_endpoint_lists_live_questions(app):
    """The JSON API (/api/v1) has no live-question endpoint today: a new one must go through
    services.ranked_questions (hidden ones for hosts only) or events_after."""
    paths = [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert paths and not [p for p in paths if "live" in p or "question" in p]
