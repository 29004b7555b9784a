"""Progress bars: the teacher's own (personal space), hosts' view of their workshop members."""

from lms.courses import watch
from lms.extensions import db
from tests.courses.watch.conftest import make_lesson
from tests.sql_counting import counting as count_statements

T0 = 1_800_000_000.0


def watched(user, lesson, seconds):
    key = user.get_id()
    v = watch.load_viewing(watch.start_viewing(key, lesson), key)
    watch.heartbeat(v, position=0, playing=True, visible=True, now=T0)
    t = 0
    while t < seconds:
        step = min(15, seconds - t)
        t += step
        watch.heartbeat(v, position=t, playing=True, visible=True, now=T0 + t)
    watch.heartbeat(v, position=t, playing=False, visible=True, now=T0 + t)


def test_personal_space_shows_my_study(app, world, video, login_as):
    course, lesson = video
    watched(world["teacher"], lesson, 90)
    html = login_as(world["teacher"]).get("/me").get_data(as_text=True)
    assert 'id="study-progress"' in html
    assert course.title in html
    assert "1/1" not in html  # 90 of 120 s: not completed


def test_personal_space_without_any_study(app, world, login_as):
    html = login_as(world["outsider"]).get("/me").get_data(as_text=True)
    assert 'id="study-progress"' in html


def test_host_sees_members_progress(app, world, video, login_as):
    course, lesson = video
    watched(world["member"], lesson, 120)
    watched(world["leader"], lesson, 30)
    host = login_as(world["host"])
    ws = world.workshop_a
    page = host.get(f"/workshops/{ws.id}").get_data(as_text=True)
    assert f"/workshops/{ws.id}/course-progress" in page
    r = host.get(f"/workshops/{ws.id}/course-progress")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert world["member"].name in html and world["leader"].name in html
    assert course.title in html
    assert "1/1" in html  # the member completed the lesson


def test_progress_page_permissions(app, world, login_as, client):
    ws = world.workshop_a
    url = f"/workshops/{ws.id}/course-progress"
    for role in ("host", "county_admin", "expert", "site_admin"):
        assert login_as(world[role]).get(url).status_code == 200, role
    assert login_as(world["member"]).get(url).status_code == 403  # sees the workshop, not the statistics
    assert login_as(world["host_b"]).get(url).status_code == 404  # another county's host
    assert login_as(world["county_admin_b"]).get(url).status_code == 404
    r = client.get(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    member_page = login_as(world["member"]).get(f"/workshops/{ws.id}").get_data(as_text=True)
    assert "course-progress" not in member_page


def test_progress_page_query_count_does_not_grow_with_members(app, db, world, video, login_as):
    from lms.communities import services as community
    from tests.factories import make_user

    _course, lesson = video
    host = login_as(world["host"])
    url = f"/workshops/{world.workshop_a.id}/course-progress"
    with count_statements() as few:
        host.get(url)
    for i in range(8):
        u = make_user(name=f"教师{i}", school=world.school_a)
        community.add_member(world.workshop_a, u)
        db.session.flush()
        watched(u, lesson, 20)
    community.refresh_counters()
    db.session.commit()
    with count_statements() as many:
        host.get(url)
    assert len(many) <= len(few) + 1


def test_course_page_shows_my_progress_per_lesson(app, world, video, login_as):
    course, lesson = video
    second = make_lesson(course, duration=60, title="第二课")
    third = make_lesson(course, duration=60, title="第三课")
    db.session.commit()
    watched(world["teacher"], lesson, 60)  # 60 of 120 s
    watched(world["teacher"], second, 60)  # all of it
    html = login_as(world["teacher"]).get(f"/courses/{course.id}").get_data(as_text=True)
    assert html.count('class="lesson-progress') == 2  # nothing for the lesson not started
    assert "50%" in html
    assert "lesson-progress small text-nowrap text-success" in html  # the completed one
    assert third.title in html
    # Another teacher sees their own (no) progress, not this one's.
    other = login_as(world["member"]).get(f"/courses/{course.id}").get_data(as_text=True)
    assert "lesson-progress" not in other


def _text_lesson(course, title="阅读材料"):
    from lms.courses.models import Lesson

    lesson = Lesson(course_id=course.id, title=title, kind="text", body_html="<p>读一读</p>",
                    position=len(course.lessons) + 1)  # fmt: skip
    db.session.add(lesson)
    course.lesson_count = (course.lesson_count or 0) + 1
    db.session.flush()
    return lesson


def test_progress_counts_every_lesson_not_only_videos(app, world, video, login_as):
    """20 s of a video in a course of a video, three texts and a quiz is not 100%: every lesson counts,
    a text when opened, a lesson with a quiz when the quiz is passed too (the audit of issue 3)."""
    from lms.courses import services

    course, lesson = video
    texts = [_text_lesson(course, f"阅读材料{i}") for i in range(3)]
    db.session.commit()
    quiz_lesson = texts[2]
    q = services.add_question(world["county_admin"], quiz_lesson, "选B", "single", ["A", "B"], [1])
    t = world["teacher"]
    watched(t, lesson, 20)
    row = watch.my_progress(t.id)["courses"][0]
    assert (row["completed"], row["lessons"], row["percent"], row["seconds"]) == (0, 4, 0, 20)
    c = login_as(t)
    html = c.get("/me").get_data(as_text=True)
    assert "0/4 课时 · 视频 20 秒" in html and "个视频" not in html
    watched(t, lesson, 120)  # now to its end
    for x in texts:
        assert c.get(f"/courses/lessons/{x.id}").status_code == 200
    row = watch.my_progress(t.id)["courses"][0]
    assert (row["completed"], row["lessons"], row["percent"]) == (3, 4, 75)  # the quiz is not passed yet
    page = c.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "课程进度计算全部课时" in page and "测评未通过" in page
    services.submit_quiz(t, quiz_lesson, {q.id: [1]})
    row = watch.my_progress(t.id)["courses"][0]
    assert (row["completed"], row["lessons"], row["percent"]) == (4, 4, 100)
    assert "4/4 课时 · 视频 2 分钟" in c.get("/me").get_data(as_text=True)
    host = login_as(world["host"]).get(f"/workshops/{world.workshop_a.id}/course-progress").get_data(as_text=True)
    assert "0/4 课时" not in host  # the teacher is not a member of the workshop; members are listed
    watched(world["member"], lesson, 120)
    host = login_as(world["host"]).get(f"/workshops/{world.workshop_a.id}/course-progress").get_data(as_text=True)
    assert "1/4 课时 · 视频 2 分钟" in host


def test_reading_a_lesson_twice_writes_once(app, world, video, login_as):
    from tests.sql_counting import counting

    course, _lesson = video
    text = _text_lesson(course)
    db.session.commit()
    c = login_as(world["teacher"])
    c.get(f"/courses/lessons/{text.id}")
    with counting() as statements:
        c.get(f"/courses/lessons/{text.id}")
    assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    row = watch.my_progress(world["teacher"].id)["courses"][0]
    assert (row["completed"], row["lessons"]) == (1, 2)


def test_deleting_a_completed_lesson_lowers_the_count(app, world, video, login_as):
    from lms.courses import services
    from lms.courses.models import Lesson
    from lms.courses.watch_models import CourseProgress

    course, lesson = video
    second = make_lesson(course, duration=60, title="第二课")
    db.session.commit()
    watched(world["teacher"], lesson, 120)
    watched(world["teacher"], second, 60)
    watched(world["member"], lesson, 120)
    services.delete_lesson(world["county_admin"], db.session.get(Lesson, second.id))
    db.session.expire_all()
    done = dict(db.session.execute(db.select(CourseProgress.user_id, CourseProgress.lessons_completed)).all())
    assert done == {world["teacher"].id: 1, world["member"].id: 1}
    row = watch.my_progress(world["teacher"].id)["courses"][0]
    assert (row["completed"], row["lessons"], row["percent"]) == (1, 1, 100)
    assert "1/1" in login_as(world["teacher"]).get("/me").get_data(as_text=True)
    # A new video lesson: the teacher has one of two left to watch.
    services.add_lesson(world["county_admin"], db.session.get(type(course), course.id), "第三课", "video")
    row = watch.my_progress(world["teacher"].id)["courses"][0]
    assert (row["completed"], row["lessons"], row["percent"]) == (1, 2, 50)


def test_group_leader_sees_own_group_only(app, world, video, login_as):
    """小组长 urge their group on (督促组员): they see their own group's progress, no other group's."""
    from lms.communities import services as community
    from tests.factories import make_user

    _course, lesson = video
    ws = world.workshop_a
    other_group = community.create_group(ws, "第二组")
    outsider_of_group = make_user("member_g2", "周二组", world.school_a, subject="math")
    community.add_member(ws, outsider_of_group, other_group)
    ungrouped = make_user("member_ng", "吴未分组", world.school_a, subject="math")
    community.add_member(ws, ungrouped)
    db.session.commit()
    for u in (world["member"], outsider_of_group, ungrouped):
        watched(u, lesson, 120)
    url = f"/workshops/{ws.id}/course-progress"
    leader = login_as(world["leader"])
    r = leader.get(url)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert world["member"].name in html and world["leader"].name in html
    assert outsider_of_group.name not in html and ungrouped.name not in html
    assert 'id="group-scope"' in html and "第一组" in html
    assert "1/1 课时" in html  # the group member's progress
    # The workshop page links a leader to it; a plain member gets neither the link nor the page.
    assert url in leader.get(f"/workshops/{ws.id}").get_data(as_text=True)
    member = login_as(world["member"])
    assert member.get(url).status_code == 403
    assert url not in member.get(f"/workshops/{ws.id}").get_data(as_text=True)
    # Another workshop's page: not theirs to see at all.
    assert login_as(world["leader"]).get(f"/workshops/{world.workshop_b.id}/course-progress").status_code == 404
    # The host still sees everyone.
    host = login_as(world["host"]).get(url).get_data(as_text=True)
    assert outsider_of_group.name in host and ungrouped.name in host and 'id="group-scope"' not in host
    # A leader who no longer leads a group sees nothing.
    community.set_group_leader(world.group_a, None)
    db.session.commit()
    assert login_as(world["leader"]).get(url).status_code == 403
