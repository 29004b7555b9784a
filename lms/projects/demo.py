"""Demo training projects for `flask lms demo` (DOMAIN.md §3, the kind of 001's project table): a
province-run national-training rural workshop project with a project manager of its own, the first
county's whole-staff IT training, and a city's induction course. Enrolments are bulk inserts: the
demo must stay fast at any scale."""

from datetime import date

from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from lms.access.services import assign
from lms.accounts.models import User
from lms.communities.models import Region, School
from lms.core.idcard import check_digit
from lms.extensions import db
from lms.projects import services
from lms.projects.models import Project, ProjectEnrolment

DEMO_MANAGER = "demo_pm"


def _teachers(county_ids: list[int]) -> list[int]:
    return list(
        db.session.scalars(
            select(User.id)
            .join(School, User.school_id == School.id)
            .where(School.county_id.in_(county_ids), User.active.is_(True))
            .order_by(User.id)
        )
    )


def _free_phone() -> str:
    """A number of the demo's 1990xxxxxxx block that no account has (the communities demo numbers
    its accounts from the start of a permutation of the block; this takes from its far end)."""
    i = 10**7 - 1
    while True:
        phone = f"1990{(i * 7919 + 4321) % 10**7:07d}"
        if db.session.scalar(select(User.id).where(User.phone == phone)) is None:
            return phone
        i -= 1


def _free_id_card(region_code: str) -> str:
    """A valid ID number of the demo's (fictional) province code that no account has."""
    for order in range(1, 999, 2):
        first17 = f"{region_code[:6]}19860412{order:03d}"
        number = first17 + check_digit(first17)
        if db.session.scalar(select(User.id).where(User.id_card == number)) is None:
            return number
    raise RuntimeError("no free demo ID number")


def _project(region: Region, name: str, **facts) -> Project:
    """Made as the region's admins would (services.check_facts), without an acting person."""
    from lms.access.services import new_context

    checked = services.check_facts(name, **facts)
    project = Project(region=region, context=new_context("project", checked.name, region.context), **vars(checked))
    db.session.add(project)
    db.session.flush()
    return project


def _enrol(project: Project, user_ids: list[int]) -> None:
    if user_ids:
        db.session.execute(insert(ProjectEnrolment), [{"project_id": project.id, "user_id": u} for u in user_ids])
    project.enrolled_count = len(user_ids)


def on_demo_built(result, rng=None, password=None, **_):
    province = db.session.scalar(select(Region).where(Region.level == "province").order_by(Region.id))
    if province is None:
        return
    counties = list(db.session.scalars(select(Region).where(Region.level == "county").order_by(Region.id)))
    city = db.session.scalar(select(Region).where(Region.level == "city").order_by(Region.id))
    demo_teacher = db.session.scalar(select(User.id).where(User.username == "demo_teacher"))

    national = _project(
        province, "国培计划（2026）乡村教师工作坊研修项目", target_group="乡村中小学、幼儿园骨干教师",
        mode="blended", hours_text="线下集中研修7天+网络研修50学时", online_hours=50, onsite_days=7, places=300,
        institution="江西师范大学继续教育学院", starts_on=date(2026, 3, 1), ends_on=date(2026, 11, 30),
        description="面向乡村学校骨干教师，采用“线下集中+网络研修+返岗实践”的混合式培训。\n"
        "学员按学科编入工作坊，完成课程学习、主题研讨、线下实践与研修作业，考核合格记入继续教育学分。",
    )  # fmt: skip
    # A share of the province's rural-county teachers: every counties' sixth teacher, and demo_teacher.
    pool = _teachers([c.id for c in counties])
    chosen = sorted(set(pool[::6][:300]) | ({demo_teacher} if demo_teacher else set()))
    _enrol(national, chosen)

    projects = [national]
    if counties:
        county = counties[0]
        whole = _project(
            county, f"{county.name}2026年中小学教师全员信息技术应用能力提升培训", target_group="全体在职中小学教师",
            mode="online", hours_text="网络研修50学时", online_hours=50, institution=f"{county.name}教师发展中心",
            starts_on=date(2026, 7, 23), ends_on=date(2026, 9, 30),
            description="按“报名—网络研修—考核—学分登记”分阶段实施，每位教师完成50学时信息技术应用能力提升课程。",
        )  # fmt: skip
        staff = _teachers([county.id])
        whole.places = len(staff)
        _enrol(whole, staff)
        projects.append(whole)
    if city is not None:
        city_counties = [c.id for c in counties if c.parent_id == city.id]
        induction = _project(
            city, f"{city.name}2026年新入职教师岗前培训", target_group="2026年新入职中小学教师", mode="onsite",
            hours_text="线下集中培训5天", onsite_days=5, places=120, institution=f"{city.name}教育学院",
            starts_on=date(2026, 8, 17), ends_on=date(2026, 8, 21),
            description="师德师风、课堂教学基本功与班级管理专题培训。",
        )  # fmt: skip
        newcomers = [u for u in _teachers(city_counties)[3::25] if u != demo_teacher][:60]
        _enrol(induction, newcomers)
        projects.append(induction)

    # The national project's manager: someone of the training institution, manager of this project only.
    manager = User(username=DEMO_MANAGER, name="周文静", gender="F", phone=_free_phone(),
                   id_card=_free_id_card(province.code or "990000"),
                   password_hash=generate_password_hash(password or "x"))  # fmt: skip
    db.session.add(manager)
    db.session.flush()
    assign(manager, "project_manager", national.context)
    db.session.commit()
    _require_courses(manager, national)

    result.logins.append((DEMO_MANAGER, "项目管理员 project manager", national.name))
    result.extra.append(f"{len(projects)} training projects, {sum(p.enrolled_count for p in projects)} enrolments")


def _require_courses(manager: User, project: Project) -> None:
    """Two courses of the supermarket made required for the project by its manager (if courses exist)."""
    from lms.courses import services as courses

    # IT methods and integration first: what a rural-teacher workshop project makes required.
    picked = [c for kind in ("it_methods", "integration", None)
              for c in courses.catalogue(manager, kind=kind, per_page=10).items if c.published]  # fmt: skip
    picked = list(dict.fromkeys(picked))[:3]
    for i, course in enumerate(picked):
        try:
            courses.assign(manager, course, project.context, required=i < 2)
        except courses.CourseError:
            continue
