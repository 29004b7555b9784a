"""`flask lms create-region`, `create-school`, `grant-role`: an installer bootstraps a province from the
shell, with the same checks and messages as the administration pages."""

import logging

from sqlalchemy import func, select

from lms import access
from lms.access.models import RoleAssignment
from lms.accounts.models import User
from lms.accounts.services import authenticate
from lms.communities.models import Region, School
from lms.extensions import db


def run(app, *args):
    return app.test_cli_runner().invoke(args=["lms", *args])


def _counts():
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Region, School, RoleAssignment, User))


def test_bootstrap_a_province(app, db, caplog):
    assert run(app, "create-region", "江西省", "--code", "360000").exit_code == 0
    assert run(app, "create-region", "南昌市", "--parent", "江西省", "--code", "360100").exit_code == 0
    r = run(app, "create-region", "东湖区", "--parent", "360100", "--code", "360102")
    assert r.exit_code == 0 and "county 东湖区 created in 南昌市" in r.output
    r = run(app, "create-school", "东湖小学", "--county", "东湖区", "--stage", "primary")
    assert r.exit_code == 0
    school = db.session.scalar(select(School))
    assert school.county.code == "360102" and school.stage == "primary"
    with caplog.at_level(logging.INFO, logger="lms.audit"):
        r = run(app, "grant-role", "padmin", "province_admin", "--region", "360000", "--new-name", "沈省管")
    assert r.exit_code == 0, r.output
    password = r.output.rsplit(": ", 1)[1].strip()
    user = authenticate("padmin", password)
    assert user is not None and user.must_change_password
    assert access.can(user, "region.manage", db.session.scalar(select(Region).where(Region.code == "360000")))
    assert "province_admin" in caplog.text and "the shell" in caplog.text
    # The site admin, from the shell only.
    r = run(app, "grant-role", "root", "site_admin", "--new-name", "管理员")
    assert r.exit_code == 0
    assert access.can(db.session.scalar(select(User).where(User.username == "root")), "role.assign", school)
    r = run(app, "grant-role", "padmin", "province_admin", "--region", "江西省", "--revoke")
    assert r.exit_code == 0
    db.session.expire_all()
    assert not access.can(db.session.get(User, user.id), "region.manage", school)


def test_mistakes_are_refused_clearly_and_store_nothing(app, db):
    run(app, "create-region", "江西省")
    run(app, "create-region", "南昌市", "--parent", "江西省")
    run(app, "create-region", "东湖区", "--parent", "南昌市")
    run(app, "create-region", "九江市", "--parent", "江西省")
    run(app, "create-region", "东湖区", "--parent", "九江市")  # the same name under another city is fine
    run(app, "create-school", "东湖小学", "--county", "3")
    before = _counts()
    for args, message in [
        (("create-region", "东湖 区", "--parent", "南昌市"), "already a region with this name"),
        (("create-region", "某镇", "--parent", "3"), "A county has schools, not sub-regions"),
        (("create-region", "新区", "--parent", "南昌市", "--code", "12"), "6- or 12-digit"),
        (("create-region", "新区", "--parent", "广州市"), "no region '广州市'"),
        (("create-school", "东湖小学", "--county", "3"), "already has a school with this name"),
        (("create-school", "新校", "--county", "东湖区"), "several counties are called '东湖区': 3 东湖区 (in 南昌市)"),
        (("create-school", "新校", "--county", "南昌市"), "Schools are created in a county"),
        (("grant-role", "nobody", "host", "--workshop", "1"), "no workshop 1"),
        (("grant-role", "nobody", "county_admin", "--region", "3"), "no account 'nobody'"),
        (("grant-role", "x", "county_admin", "--region", "3", "--new-name", "某"), "a username has"),
        (("grant-role", "newbie", "county_admin", "--region", "江西省", "--new-name", "某"), "cannot be held here"),
        (("grant-role", "newbie", "wizard", "--new-name", "某"), "Invalid value for ROLE"),
        (("grant-role", "newbie", "host", "--region", "3", "--school", "1"), "give one place"),
    ]:
        r = run(app, *args)
        assert r.exit_code != 0, args
        assert message in r.output, (args, r.output)
        db.session.rollback()
        assert _counts() == before, args
