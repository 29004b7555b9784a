"""Projects on top of the test world: A and Q in county A, B in county B, one run by the city; a
project manager of project A only; the first teacher of school A enrolled in A."""

from dataclasses import dataclass
from datetime import date

import pytest

from lms.access.services import assign
from lms.extensions import db
from lms.projects import services
from tests.factories import make_user


@dataclass
class Projects:
    a: object
    q: object
    b: object
    city: object
    pm_a: object


def facts(name, **kw):
    base = {"mode": "blended", "hours_text": "线下集中7天+网络研修50学时", "online_hours": "50", "onsite_days": 7,
            "places": 100, "institution": "江西师范大学", "target_group": "乡村小学数学教师",
            "starts_on": date(2026, 3, 1), "ends_on": date(2026, 6, 30), "description": "项目简介"}  # fmt: skip
    base.update(kw)
    return services.check_facts(name, **base)


def build_projects(w) -> Projects:
    a = services.create(w["county_admin"], w.county_a, facts("东湖区乡村教师工作坊研修"))
    q = services.create(w["county_admin"], w.county_a, facts("东湖区信息技术应用能力提升"))
    b = services.create(w["county_admin_b"], w.county_b, facts("西湖区骨干教师培训"))
    city = services.create(w["city_admin"], w.city, facts("南昌市新教师岗前培训", mode="online"))
    pm_a = make_user("pm_a", "项目管理员甲")
    assign(pm_a, "project_manager", a.context)
    db.session.commit()
    services.enrol(w["county_admin"], a, [w["teacher"]])
    return Projects(a, q, b, city, pm_a)


@pytest.fixture
def projects(world):
    return build_projects(world)
