"""The demo homework is where the printed demo logins can open it (the audit found it 404 for them)."""

from sqlalchemy import select

from lms.accounts.models import User
from lms.homework import services
from lms.homework.models import Assignment


def test_printed_demo_logins_open_the_demo_homework(app, db, login_as):
    result = app.test_cli_runner().invoke(args=["lms", "demo", "--scale", "300", "--seed", "7"])
    assert result.exit_code == 0, result.output
    a = db.session.scalar(select(Assignment))
    assert a is not None and a.phase == "review"
    users = {u.username: u for u in db.session.scalars(select(User).where(User.username.like("demo_%")))}
    for name in ("demo_teacher", "demo_host", "demo_leader"):
        if name in users:
            assert login_as(users[name]).get(f"/homework/{a.id}").status_code == 200, name
    host = login_as(users["demo_host"])
    assert host.get(f"/homework/{a.id}/results").status_code == 200
    # The teacher login has submitted and has reviews to do.
    teacher = users["demo_teacher"]
    assert services.submission_of(a, teacher) is not None
    assert services.my_allocations(teacher, a)
