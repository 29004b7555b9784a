"""Project pages, in Chinese: list, detail, create/edit, enrolment, managers; refusals never show data."""

from sqlalchemy import select

from lms.extensions import db
from lms.projects.models import Project, ProjectEnrolment
from tests.html_checks import live_markup


def _html(resp) -> str:
    return resp.get_data(as_text=True)


def test_list_and_detail_for_a_trainee(world, projects, login_as):
    c = login_as(world["teacher"])
    html = _html(c.get("/projects"))
    assert "培训项目" in html and projects.a.name in html and projects.q.name not in html
    r = c.get(f"/projects/{projects.a.id}")
    html = _html(r)
    assert r.status_code == 200 and "您已报名" in html and "混合" in html and "江西师范大学" in html
    assert "报名教师" not in html and "编辑项目" not in html  # no enrol or edit buttons for a trainee
    assert c.get(f"/projects/{projects.q.id}").status_code == 404
    assert c.get(f"/projects/{projects.a.id}/edit").status_code == 403
    assert c.get(f"/projects/{projects.a.id}/enrolment").status_code == 403
    html = _html(c.get("/me"))
    assert 'id="my-projects"' in html and "我的项目" in html and projects.a.name in html


def test_cross_county_is_404_and_shows_nothing(world, projects, login_as):
    c = login_as(world["county_admin_b"])
    base = f"/projects/{projects.a.id}"
    for url in (base, f"{base}/edit", f"{base}/enrolment"):
        r = c.get(url)
        assert r.status_code == 404 and projects.a.name not in _html(r), url
    r = c.post(f"/projects/{projects.a.id}/enrolment", data={"action": "enrol", "user_id": world["teacher_b"].id})
    assert r.status_code == 404
    assert projects.a.name not in _html(c.get("/projects"))


def test_region_admin_creates_and_edits(world, login_as):
    c = login_as(world["county_admin"])
    html = _html(c.get("/projects/new"))
    assert "新建培训项目" in html and "东湖区" in html and "西湖区" not in html
    data = {"region_id": world.county_a.id, "name": "东湖区班主任能力提升", "mode": "onsite", "places": "40",
            "online_hours": "", "onsite_days": "3", "starts_on": "2026-07-01", "ends_on": "2026-07-03",
            "hours_text": "集中3天", "institution": "", "target_group": "",
            "description": "第一行\n第二行"}  # fmt: skip
    r = c.post("/projects/new", data=data)
    assert r.status_code == 302
    project = db.session.scalar(select(Project).where(Project.name == "东湖区班主任能力提升"))
    assert project.region_id == world.county_a.id and project.places == 40 and project.mode == "onsite"
    r = c.post("/projects/new", data={**data, "region_id": world.county_b.id})  # not theirs: not a choice
    assert r.status_code == 422
    r = c.post("/projects/new", data={**data, "ends_on": "2026-06-01"})
    assert r.status_code == 422 and "结束日期不能早于开始日期" in _html(r)
    r = c.post(f"/projects/{project.id}/edit", data={**data, "name": "东湖区班主任能力提升（修订）"})
    assert r.status_code == 302
    db.session.refresh(project)
    assert project.name == "东湖区班主任能力提升（修订）" and project.region_id == world.county_a.id
    assert login_as(world["teacher"]).get("/projects/new").status_code in (403, 404)


def test_enrolment_page_search_paging_and_bulk(world, projects, login_as):
    c = login_as(projects.pm_a)
    r = c.get(f"/projects/{projects.a.id}/enrolment?q=老师")
    html = _html(r)
    assert r.status_code == 200 and "报名教师" in html and "李老师" in html and "赵老师" not in html
    r = c.post(f"/projects/{projects.a.id}/enrolment?q=老师",
               data={"action": "enrol", "user_id": [world["member"].id]})  # fmt: skip
    assert r.status_code == 302 and "q=" in r.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Project, projects.a.id).enrolled_count == 2, _html(c.get(r.headers["Location"]))
    r = c.post(f"/projects/{projects.a.id}/enrolment", data={"action": "enrol", "user_id": [world["teacher_b"].id]},
               follow_redirects=True)  # fmt: skip
    assert "不能报名" in _html(r) or "只能" in _html(r)
    r = c.post(f"/projects/{projects.a.id}/enrolment", data={"action": "school", "school_id": world.school_a.id},
               follow_redirects=True)  # fmt: skip
    assert "名教师已报名" in _html(r)
    r = c.post(f"/projects/{projects.a.id}/enrolment", data={"action": "withdraw", "user_id": world["member"].id})
    assert r.status_code == 302
    assert db.session.scalar(select(ProjectEnrolment).where(ProjectEnrolment.user_id == world["member"].id)) is None
    # The manager of A cannot open Q's enrolment, in the same county.
    assert c.get(f"/projects/{projects.q.id}/enrolment").status_code == 404


def test_school_admin_sees_only_own_school(world, projects, login_as):
    c = login_as(world["school_admin"])
    html = _html(c.get(f"/projects/{projects.city.id}/enrolment"))
    assert "东湖小学" in html and "西湖中学" not in html and "赵老师" not in html
    assert "本校教师" in html
    r = c.post(f"/projects/{projects.city.id}/enrolment", data={"action": "enrol", "user_id": [world["teacher_b"].id]})
    assert r.status_code == 302
    assert db.session.scalar(select(ProjectEnrolment).where(ProjectEnrolment.user_id == world["teacher_b"].id)) is None
    assert c.get(f"/projects/{projects.b.id}").status_code == 404


def test_region_admin_appoints_a_project_manager(world, projects, login_as):
    c = login_as(world["county_admin"])
    html = _html(c.get(f"/projects/{projects.q.id}"))
    assert "项目管理员" in html and "任命" in html
    r = c.post(f"/projects/{projects.q.id}/managers", data={"action": "appoint", "login": "host_a"},
               follow_redirects=True)  # fmt: skip
    assert "孙坊主" in _html(r)
    host_client = login_as(world["host"])
    assert host_client.get(f"/projects/{projects.q.id}/enrolment").status_code == 200
    assert host_client.get(f"/projects/{projects.a.id}").status_code == 404
    r = c.post(f"/projects/{projects.q.id}/managers", data={"action": "appoint", "login": "teacher_b"},
               follow_redirects=True)  # fmt: skip
    assert "您权限范围内没有" in _html(r) or "没有" in _html(r)
    assert login_as(projects.pm_a).post(f"/projects/{projects.a.id}/managers",
                                        data={"action": "appoint", "login": "member_a"}).status_code == 403  # fmt: skip


def test_xss_in_name_and_description_is_inert(world, login_as, xss_payloads):
    from lms.projects import services
    from tests.projects.conftest import facts

    admin = world["county_admin"]
    made = [services.create(admin, world.county_a, facts(p[:200], description=p)) for p in xss_payloads[:40]]
    services.enrol(admin, made[0], [world["teacher"]])
    c = login_as(admin)
    pages = [_html(c.get("/projects?page=1")), _html(c.get("/projects?page=2"))]
    pages += [_html(c.get(f"/projects/{p.id}")) for p in made]
    pages.append(_html(login_as(world["teacher"]).get("/me")))
    for html in pages:
        assert live_markup(html) == []
    # The text itself is kept, shown escaped, not dropped.
    assert "&lt;SCRIPT&gt;alert(" in _html(c.get(f"/projects/{made[0].id}"))


def test_list_queries_do_not_grow_with_projects(world, projects, login_as):
    from lms.projects import services
    from tests.projects.conftest import facts
    from tests.sql_counting import counting

    c = login_as(world["city_admin"])
    c.get("/projects")
    with counting() as few:
        assert c.get("/projects").status_code == 200
        assert c.get("/api/v1/projects").status_code == 200
    for i in range(8):
        region = world.county_a if i % 2 else world.county_b
        services.create(world["city_admin"], region, facts(f"追加项目{i}"))
    with counting() as many:
        assert c.get("/projects").status_code == 200
        assert c.get("/api/v1/projects").status_code == 200
    assert len(many) == len(few)


def test_account_page_names_the_project_a_manager_holds(world, projects, login_as):
    html = _html(login_as(world["county_admin"]).get(f"/manage/people/{projects.pm_a.id}"))
    assert projects.a.name in html and "全站" not in html.split("项目管理员", 1)[-1][:400]
