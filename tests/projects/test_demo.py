"""The demo province gets training projects, enrolments, a project manager of one project, and
courses the national project requires."""

from sqlalchemy import func, select

from lms import access
from lms.accounts.models import User
from lms.courses import services as courses
from lms.projects import services
from lms.projects.models import Project, ProjectEnrolment
from tests.communities.test_demo import run_demo


def test_demo_projects(app, db):
    out = run_demo(app, "--scale", "300", "--seed", "7")
    assert out.exit_code == 0, out.output
    assert "demo_pm" in out.output and "3 training projects" in out.output
    projects = list(db.session.scalars(select(Project).order_by(Project.id)))
    assert len(projects) == 3 and projects[0].name.startswith("国培计划（2026）")
    for p in projects:
        assert p.context.kind == "project" and p.context.parent_id == p.region.context_id
        rows = db.session.scalar(select(func.count(ProjectEnrolment.id)).where(ProjectEnrolment.project_id == p.id))
        assert p.enrolled_count == rows > 0
    teacher = db.session.scalar(select(User).where(User.username == "demo_teacher"))
    mine = [p for p, role in services.my_projects(teacher)]
    assert projects[0] in mine and projects[1] in mine
    pm = db.session.scalar(select(User).where(User.username == "demo_pm"))
    assert services.my_projects(pm) == [(projects[0], "project_manager")]
    assert access.can(pm, "project.enrol", projects[0]) and not access.can(pm, "project.enrol", projects[1])
    required = {c.id for c, req in services.courses_of(projects[0]) if req}
    assert len(required) == 2 and required <= courses.required_ids(teacher)
    client = app.test_client()
    r = client.post("/login", data={"identifier": "demo_pm", "password": "Demo2026!"})
    assert r.status_code == 302
    assert "国培计划" in client.get("/me").get_data(as_text=True)
