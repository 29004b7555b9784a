"""The /live namespace through Flask-SocketIO's test client: auth, per-event permissions, votes,
merge, moderation, replay by seq."""

import threading

import pytest
from sqlalchemy import func, select

from lms.extensions import db as _db
from lms.live import services
from lms.live.models import LiveEvent, LiveQuestion, LiveVote
from tests.live.conftest import NS, call, events


def test_anonymous_refused(app, client, sock):
    client.get("/login")
    sc = sock(client=client)
    assert not sc.is_connected(NS)


def test_deactivated_user_refused(world, sock, db):
    world["member"].active = False
    db.session.commit()
    sc = sock(world["member"])
    assert not sc.is_connected(NS)


def test_deactivating_closes_open_sockets_and_they_stop_receiving(world, sock, session, app, login_as):
    """A joined socket stays in its room: deactivation closes it, so the broadcasts stop too."""
    from lms.accounts.services import set_active

    member, leader = sock(world["member"]), sock(world["leader"])
    for sc in (member, leader):
        assert call(sc, "join", session_id=session.id)["ok"]
    set_active(world["county_admin"], world["member"], False)
    assert not member.is_connected(NS)
    assert leader.is_connected(NS)
    assert call(leader, "ask", session_id=session.id, body="停用之后的问题")["ok"]
    with app.app_context():
        assert services.presence_count(session.id) == 1


def test_a_socket_whose_sign_in_ended_is_closed_at_its_next_event(world, sock, session, db):
    member = sock(world["member"])
    assert call(member, "join", session_id=session.id)["ok"]
    world["member"].session_version = (world["member"].session_version or 0) + 1  # e.g. signed out everywhere
    db.session.commit()
    assert call(member, "ask", session_id=session.id, body="还在吗") == {"ok": False, "error": "unauthorized"}
    assert not member.is_connected(NS)


def test_a_one_time_password_is_refused_until_replaced(world, sock, db):
    """As the pages and the API: a one-time password opens no live connection."""
    world["member"].must_change_password = True
    db.session.commit()
    assert not sock(world["member"]).is_connected(NS)
    world["member"].must_change_password = False
    db.session.commit()
    assert sock(world["member"]).is_connected(NS)


def test_join_needs_permission(world, sock, session):
    member = sock(world["member"])
    assert call(member, "join", session_id=session.id)["ok"]
    # Teacher of school A is not a member of workshop A; teacher B is in another county.
    for role in ("teacher", "teacher_b", "host_b", "outsider"):
        sc = sock(world[role])
        assert sc.is_connected(NS)
        assert call(sc, "join", session_id=session.id) == {"ok": False, "error": "not_found"}, role
        assert call(sc, "ask", session_id=session.id, body="hi") == {"ok": False, "error": "not_found"}


def test_question_reaches_the_room_with_seq(world, sock, session):
    a, b = sock(world["member"]), sock(world["leader"])
    call(a, "join", session_id=session.id)
    call(b, "join", session_id=session.id)
    b.get_received(NS)
    res = call(a, "ask", session_id=session.id, body="  如何设计   大单元作业？ ")
    assert res["ok"]
    got = events(b)
    assert [e["kind"] for e in got] == ["question.new"]
    assert got[0]["seq"] == 1 and got[0]["data"]["body"] == "如何设计 大单元作业？"
    assert got[0]["data"]["author"] == "李老师" and got[0]["data"]["votes"] == 0


def test_a_teacher_cannot_mark_answered_the_expert_can(world, sock, session):
    member, expert, host_b = sock(world["member"]), sock(world["expert"]), sock(world["host_b"])
    for sc in (member, expert):
        call(sc, "join", session_id=session.id)
    qid = call(member, "ask", session_id=session.id, body="问题一")["id"]
    assert call(member, "mark", question_id=qid, status="answered") == {"ok": False, "error": "forbidden"}
    assert call(host_b, "mark", question_id=qid, status="answered")["error"] == "not_found"
    for name, data in [("merge", {"question_id": qid, "into_id": qid}), ("slow_mode", {"session_id": session.id,
                       "seconds": 5}), ("status", {"session_id": session.id, "status": "live"}),
                       ("mute", {"session_id": session.id, "user_id": world["leader"].id})]:  # fmt: skip
        assert call(member, name, **data) == {"ok": False, "error": "forbidden"}, name
    member.get_received(NS)
    assert call(expert, "mark", question_id=qid, status="answering") == {"ok": True, "id": qid, "status": "answering"}
    assert call(expert, "mark", question_id=qid, status="answered")["ok"]
    got = events(member, "question.status")
    assert [e["data"]["status"] for e in got] == ["answering", "answered"]
    assert _db.session.get(LiveQuestion, qid).status == "answered"


def test_only_one_question_is_being_answered(world, sock, session):
    member, expert = sock(world["member"]), sock(world["expert"])
    q1 = call(member, "ask", session_id=session.id, body="一")["id"]
    q2 = call(member, "ask", session_id=session.id, body="二")["id"]
    call(expert, "mark", question_id=q1, status="answering")
    call(expert, "mark", question_id=q2, status="answering")
    _db.session.expire_all()
    assert _db.session.get(LiveQuestion, q1).status == "open"
    assert [q.id for q in services.ranked_questions(session)] == [q2, q1]


def test_votes_counted_once_per_user(world, sock, session):
    a, b = sock(world["member"]), sock(world["leader"])
    call(a, "join", session_id=session.id)
    qid = call(a, "ask", session_id=session.id, body="投票")["id"]
    a.get_received(NS)
    assert call(a, "vote", question_id=qid) == {"ok": True, "id": qid, "votes": 1, "counted": True}
    assert call(a, "vote", question_id=qid) == {"ok": True, "id": qid, "votes": 1, "counted": False}
    assert call(b, "vote", question_id=qid)["votes"] == 2
    assert [e["data"] for e in events(a, "question.votes")] == [{"id": qid, "votes": 1}, {"id": qid, "votes": 2}]
    _db.session.expire_all()
    assert _db.session.get(LiveQuestion, qid).vote_count == 2


def test_concurrent_votes_and_seq_allocation(app, world, session, db):
    """Threads on their own connections: every vote counts once, seqs are unique and gap-free."""
    from lms.communities import services as community
    from tests.factories import make_user

    voters = []
    for i in range(8):
        u = make_user(f"voter{i}", f"投票人{i}")
        community.add_member(world.workshop_a, u)
        voters.append(u.id)
    db.session.commit()
    q = services.ask(world["member"], session, "并发")
    qid, sid = q.id, session.id
    errors = []
    barrier = threading.Barrier(len(voters))

    def run(uid):
        from lms.accounts.models import User

        with app.app_context():
            try:
                user = _db.session.get(User, uid)
                question = _db.session.get(LiveQuestion, qid)
                barrier.wait()
                services.vote(user, question)
                services.vote(user, question)  # a repeat never counts
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(repr(err))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(uid,)) for uid in voters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    _db.session.expire_all()
    assert _db.session.get(LiveQuestion, qid).vote_count == len(voters)
    assert _db.session.scalar(select(func.count()).select_from(LiveVote).where(LiveVote.question_id == qid)) == 8
    seqs = list(_db.session.scalars(select(LiveEvent.seq).where(LiveEvent.session_id == sid).order_by(LiveEvent.seq)))
    assert seqs == list(range(1, len(voters) + 2))


def test_merge_combines_votes_without_double_counting(world, sock, session, db):
    from lms.communities import services as community
    from tests.factories import make_user

    extra = make_user("voter_x", "钱老师")
    community.add_member(world.workshop_a, extra)
    db.session.commit()
    m, lead, x, expert = sock(world["member"]), sock(world["leader"]), sock(extra), sock(world["expert"])
    q1 = call(m, "ask", session_id=session.id, body="怎样分层布置作业？")["id"]
    q2 = call(lead, "ask", session_id=session.id, body="分层作业怎么布置？")["id"]
    call(m, "vote", question_id=q1)
    call(lead, "vote", question_id=q2)
    call(x, "vote", question_id=q1)
    call(x, "vote", question_id=q2)  # voted for both: counts once after the merge
    assert call(m, "merge", question_id=q2, into_id=q1)["error"] == "forbidden"
    call(m, "join", session_id=session.id)
    m.get_received(NS)
    assert call(expert, "merge", question_id=q2, into_id=q1) == {"ok": True, "id": q2, "into": q1, "votes": 3}
    assert [e["data"] for e in events(m, "question.merged")] == [{"id": q2, "into": q1, "votes": 3}]
    _db.session.expire_all()
    dup = _db.session.get(LiveQuestion, q2)
    assert (dup.status, dup.merged_into_id, dup.vote_count) == ("merged", q1, 0)
    assert [q.id for q in services.ranked_questions(session)] == [q1]
    # A vote for the merged duplicate goes to the question it was merged into, once.
    assert call(lead, "vote", question_id=q2) == {"ok": True, "id": q1, "votes": 3, "counted": False}
    assert call(expert, "vote", question_id=q2)["votes"] == 4
    assert call(expert, "merge", question_id=q1, into_id=q2)["error"] == "invalid"


def test_mute_remove_pin(world, sock, session):
    m, lead, expert = sock(world["member"]), sock(world["leader"]), sock(world["expert"])
    for sc in (m, lead):
        call(sc, "join", session_id=session.id)
    mid = call(m, "chat", session_id=session.id, body="大家好")["id"]
    assert call(lead, "remove", message_id=mid)["error"] == "forbidden"
    assert call(lead, "pin", session_id=session.id, message_id=mid)["error"] == "forbidden"
    lead.get_received(NS)
    assert call(expert, "pin", session_id=session.id, message_id=mid)["ok"]
    assert call(expert, "mute", session_id=session.id, user_id=world["member"].id)["ok"]
    assert call(m, "chat", session_id=session.id, body="还能说话吗") == {"ok": False, "error": "muted"}
    assert call(m, "ask", session_id=session.id, body="提问")["error"] == "muted"
    assert call(expert, "remove", message_id=mid)["ok"]
    kinds = [(e["kind"], e["data"]) for e in events(lead)]
    assert kinds[0][0] == "chat.pinned" and kinds[0][1]["message"]["body"] == "大家好"
    # Who was muted is the hosts' business (and the muted person's): the others get a placeholder.
    assert kinds[1] == ("hidden", {})
    assert kinds[2] == ("chat.removed", {"id": mid})
    assert kinds[3] == ("chat.pinned", {"message": None})  # removing the pinned message unpins it
    assert services.recent_messages(session) == []
    # The expert cannot be muted; unmuting gives the voice back.
    assert call(expert, "mute", session_id=session.id, user_id=world["expert"].id)["error"] == "invalid"
    assert call(expert, "mute", session_id=session.id, user_id=world["member"].id, muted=False)["ok"]
    assert call(m, "chat", session_id=session.id, body="谢谢")["ok"]


def test_slow_mode(world, sock, session):
    m, expert = sock(world["member"]), sock(world["expert"])
    assert call(expert, "slow_mode", session_id=session.id, seconds=30) == {"ok": True, "seconds": 30}
    assert call(m, "chat", session_id=session.id, body="一")["ok"]
    res = call(m, "chat", session_id=session.id, body="二")
    assert res["ok"] is False and res["error"] == "slow_mode" and 0 < res["wait"] <= 30
    # The host is not slowed down; turning slow mode off lets the teacher talk again.
    assert call(expert, "chat", session_id=session.id, body="欢迎")["ok"]
    assert call(expert, "chat", session_id=session.id, body="开始")["ok"]
    call(expert, "slow_mode", session_id=session.id, seconds=0)
    assert call(m, "chat", session_id=session.id, body="二")["ok"]


def test_reconnect_gets_missed_events_by_seq(world, sock, session, login_as):
    client = login_as(world["member"])
    m = sock(client=client)
    assert call(m, "join", session_id=session.id, last_seq=0) == {"ok": True, "seq": 0, "missed": [], "presence": 1}
    call(m, "ask", session_id=session.id, body="第一个")
    seen = events(m)[-1]["seq"]
    m.disconnect(NS)
    # While the member is away: a question, a vote, a status change, a chat message.
    lead, expert = sock(world["leader"]), sock(world["expert"])
    q = call(lead, "ask", session_id=session.id, body="第二个")["id"]
    call(expert, "vote", question_id=q)
    call(expert, "mark", question_id=q, status="answering")
    call(lead, "chat", session_id=session.id, body="专家好")
    m2 = sock(client=client)
    res = call(m2, "join", session_id=session.id, last_seq=seen)
    assert res["ok"] and res["seq"] == seen + 4
    assert [e["seq"] for e in res["missed"]] == [seen + 1, seen + 2, seen + 3, seen + 4]
    assert [e["kind"] for e in res["missed"]] == ["question.new", "question.votes", "question.status", "chat.new"]
    assert call(m2, "replay", session_id=session.id, after=seen + 2)["events"] == res["missed"][2:]
    # Joining with the full state gives the ranked queue and my votes.
    state = call(m2, "join", session_id=session.id, state=True)["state"]
    assert [q["body"] for q in state["questions"]] == ["第二个", "第一个"]
    assert state["host"] is False and state["messages"][0]["body"] == "专家好"


def test_presence_counts_distinct_users(world, sock, session, app, monkeypatch):
    from lms.live import events as live_events

    monkeypatch.setattr(live_events, "PRESENCE_EVERY", 0)
    a1, a2, b = sock(world["member"]), sock(world["member"]), sock(world["leader"])
    # Each joiner hears the count at once, themselves included; a second tab is the same user.
    assert [call(sc, "join", session_id=session.id)["presence"] for sc in (a1, a2, b)] == [1, 1, 2]
    assert services.presence_count(session.id) == 2
    b.disconnect(NS)
    assert services.presence_count(session.id) == 1


def test_session_status_and_closed(world, sock, session):
    m, expert = sock(world["member"]), sock(world["expert"])
    assert call(expert, "status", session_id=session.id, status="live")["ok"]
    assert call(expert, "status", session_id=session.id, status="scheduled")["error"] == "invalid"
    assert call(expert, "status", session_id=session.id, status="ended")["ok"]
    assert call(m, "ask", session_id=session.id, body="晚了")["error"] == "closed"
    assert call(m, "chat", session_id=session.id, body="晚了")["error"] == "closed"


@pytest.mark.parametrize("bad", [None, "x", [], {"session_id": "abc"}, {"question_id": None}])
def test_malformed_payloads(world, sock, session, bad):
    m = sock(world["member"])
    for name in ("join", "ask", "vote", "mark", "chat", "replay"):
        if isinstance(bad, dict):
            res = call(m, name, **bad)
        else:
            with m.app.app_context():
                res = m.emit(name, bad, namespace=NS, callback=True)
        assert res["ok"] is False, name


def test_xss_payloads_inert(world, sock, session, login_as, xss_payloads, unlimited):
    from tests.html_checks import live_markup

    m, expert = sock(world["member"]), sock(world["expert"])
    call(expert, "slow_mode", session_id=session.id, seconds=0)
    for p in xss_payloads:
        assert call(m, "ask", session_id=session.id, body=p)["ok"] or not p.strip()
        assert call(m, "chat", session_id=session.id, body=p[:300])["ok"] or not p.strip()
    stored = [e.data for e in _db.session.scalars(select(LiveEvent))]
    assert stored  # the payloads travel as plain text in JSON; the page script only sets textContent
    for user in ("member", "expert"):
        html = login_as(world[user]).get(f"/live/{session.id}").get_data(as_text=True)
        assert live_markup(html) == [], user
    html = login_as(world["member"]).get(f"/live/{session.id}/replay").get_data(as_text=True)
    assert live_markup(html) == []


def test_presence_of_a_dead_process_expires_and_is_swept(world, sock, session, app, db):
    """Rows of a process that crashed stop counting after the TTL; any live process's sweep deletes
    them and refreshes its own rows."""
    from datetime import timedelta

    from lms.core.db import utcnow
    from lms.live import events as live_events
    from lms.live.models import LivePresence

    m = sock(world["member"])
    call(m, "join", session_id=session.id)
    ttl = app.config["LIVE_PRESENCE_TTL"]
    old = utcnow() - timedelta(seconds=ttl + 5)
    # A socket held by another process that died a while ago, and one of ours not refreshed lately.
    db.session.add(LivePresence(sid="dead-sid", session_id=session.id, user_id=world["leader"].id, joined_at=old,
                                process="otherhost:4242:dead", seen_at=old))  # fmt: skip
    db.session.execute(
        LivePresence.__table__.update()
        .where(LivePresence.sid != "dead-sid")
        .values(seen_at=old + timedelta(seconds=10))
    )
    db.session.commit()
    assert services.presence_count(session.id) == 1  # the dead row does not count
    assert services.sweep_presence() == [session.id]
    db.session.expire_all()
    rows = db.session.scalars(select(LivePresence)).all()
    assert [r.user_id for r in rows] == [world["member"].id]
    assert rows[0].seen_at > utcnow() - timedelta(seconds=5)  # our own row was refreshed
    assert services.sweep_presence() == []
    # The sweep wrapper used by the background task tells the room the new count.
    live_events.sweeper.sweep(app)


def test_leaving_tells_the_room_the_new_count(world, sock, session, monkeypatch):
    """A viewer who leaves the room (without disconnecting) is no longer counted by the others."""
    import time

    from lms.live import events as live_events

    monkeypatch.setattr(live_events, "PRESENCE_EVERY", 0)
    a, b = sock(world["member"]), sock(world["leader"])
    for sc in (a, b):
        call(sc, "join", session_id=session.id)
    time.sleep(0.3)  # the join broadcasts
    a.get_received(NS)
    assert call(b, "leave", session_id=session.id) == {"ok": True}
    counts = []
    end = time.monotonic() + 5
    while time.monotonic() < end and 1 not in counts:
        counts += [e["args"][0]["count"] for e in a.get_received(NS) if e["name"] == "presence"]
        time.sleep(0.05)
    assert counts and counts[-1] == 1, counts


def test_votes_racing_a_merge_all_land_on_the_target_once(app, world, session, db, unlimited):
    """Votes on the duplicate and on the target while the host merges them (threads on their own
    connections, as separate processes): afterwards every voter counts once on the target, the
    counter equals the stored votes, the duplicate holds none. Several rounds: a race is a chance."""
    import itertools

    from lms.accounts.models import User
    from lms.communities import services as community
    from tests.conftest import at_once
    from tests.factories import make_user

    voters = []
    for i in range(6):
        u = make_user(f"racer{i}", f"抢票人{i}")
        community.add_member(world.workshop_a, u)
        voters.append(u.id)
    db.session.commit()
    expert_id, sid = world["expert"].id, session.id
    for round_ in range(6):
        target = services.ask(world["member"], session, f"目标{round_}")
        dup = services.ask(world["leader"], session, f"重复{round_}")
        tid, did = target.id, dup.id
        for uid in voters[:2]:  # votes already there before the race
            services.vote(_db.session.get(User, uid), _db.session.get(LiveQuestion, did))
        services.vote(_db.session.get(User, voters[2]), _db.session.get(LiveQuestion, tid))
        turn = itertools.count()

        def act(tid=tid, did=did, turn=turn):
            n = next(turn)
            try:
                if n == 0:
                    expert = _db.session.get(User, expert_id)
                    services.merge(expert, _db.session.get(LiveQuestion, did), _db.session.get(LiveQuestion, tid))
                    return "merged"
                uid = voters[(n - 1) % len(voters)]
                qid = did if n % 2 else tid
                services.vote(_db.session.get(User, uid), _db.session.get(LiveQuestion, qid))
                return "voted"
            except Exception as err:  # noqa: BLE001 - reported below
                _db.session.rollback()
                return repr(err)

        results = at_once(app, 1 + len(voters), act)
        assert sorted(results) == ["merged"] + ["voted"] * len(voters), results
        _db.session.expire_all()
        on_target = set(_db.session.scalars(select(LiveVote.user_id).where(LiveVote.question_id == tid)))
        assert on_target == set(voters), round_
        assert _db.session.get(LiveQuestion, tid).vote_count == len(voters), round_
        assert _db.session.scalar(select(func.count()).select_from(LiveVote).where(LiveVote.question_id == did)) == 0
        d = _db.session.get(LiveQuestion, did)
        assert (d.status, d.vote_count, d.merged_into_id) == ("merged", 0, tid)
    seqs = list(_db.session.scalars(select(LiveEvent.seq).where(LiveEvent.session_id == sid).order_by(LiveEvent.seq)))
    assert seqs == list(range(1, len(seqs) + 1))


def test_hidden_questions_leave_viewers_and_come_back_whole(world, sock, session):
    """Hiding removes a question for viewers (hosts keep it, last); reopening sends it back whole,
    since viewers no longer have it. The host's state lists who is muted."""
    m, expert = sock(world["member"]), sock(world["expert"])
    call(m, "join", session_id=session.id)
    q1 = call(m, "ask", session_id=session.id, body="不合适的问题")["id"]
    q2 = call(m, "ask", session_id=session.id, body="好问题")["id"]
    call(expert, "vote", question_id=q1)
    m.get_received(NS)
    assert call(expert, "mark", question_id=q1, status="hidden")["ok"]
    assert [e["data"] for e in events(m, "question.status")] == [{"id": q1, "status": "hidden"}]
    viewer = call(m, "join", session_id=session.id, state=True)["state"]
    assert [q["id"] for q in viewer["questions"]] == [q2] and viewer["muted_users"] == []
    call(expert, "mute", session_id=session.id, user_id=world["leader"].id)
    host = call(expert, "join", session_id=session.id, state=True)["state"]
    assert [(q["id"], q["status"]) for q in host["questions"]] == [(q2, "open"), (q1, "hidden")]
    assert host["muted_users"] == [{"user_id": world["leader"].id, "user": "王组长"}]
    m.get_received(NS)
    assert call(expert, "mark", question_id=q1, status="open")["ok"]
    (ev,) = events(m, "question.status")
    assert ev["data"]["question"] == {"id": q1, "body": "不合适的问题", "author": "李老师", "votes": 1,
                                      "status": "open", "merged_into": None, "thread": None}  # fmt: skip
    assert [q.id for q in services.ranked_questions(session)] == [q1, q2]
    call(expert, "mute", session_id=session.id, user_id=world["leader"].id, muted=False)
    assert call(expert, "join", session_id=session.id, state=True)["state"]["muted_users"] == []
