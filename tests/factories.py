"""Persisted test objects. Passwords share one precomputed hash: scrypt per user would slow every test."""

import itertools
from dataclasses import dataclass, field

from werkzeug.security import generate_password_hash

from lms.access.models import RoleAssignment
from lms.access.services import assign, site_context
from lms.accounts.models import User
from lms.communities import services as community
from lms.core.idcard import check_digit
from lms.extensions import db

PASSWORD = "Passw0rd!"
_HASH = generate_password_hash(PASSWORD)
_seq = itertools.count(1)


def id_number(seq: int | None = None, region: str = "360102", born: str = "19850315", male: bool = True) -> str:
    """A valid 18-character ID number (check digit computed)."""
    seq = next(_seq) if seq is None else seq
    order = (seq % 499) * 2 + (1 if male else 0)
    first17 = f"{region}{born}{order:03d}"
    return first17 + check_digit(first17)


def make_user(username: str | None = None, name: str = "测试教师", school=None, **kw) -> User:
    n = next(_seq)
    user = User(
        username=username or f"user{n}",
        name=name,
        school=school,
        password_hash=_HASH,
        phone=kw.pop("phone", f"139{n:08d}"),
        **kw,
    )
    db.session.add(user)
    db.session.flush()
    return user


@dataclass
class World:
    """Two counties in one city, each with a school and a workshop, and a user in every role."""

    province: object = None
    city: object = None
    county_a: object = None
    county_b: object = None
    school_a: object = None
    school_b: object = None
    workshop_a: object = None
    workshop_b: object = None
    group_a: object = None
    users: dict = field(default_factory=dict)

    def __getitem__(self, role: str) -> User:
        return self.users[role]


def build_world() -> World:
    w = World()
    w.province = community.create_region("江西省", "province")
    w.city = community.create_region("南昌市", "city", w.province)
    w.county_a = community.create_region("东湖区", "county", w.city)
    w.county_b = community.create_region("西湖区", "county", w.city)
    w.school_a = community.create_school("东湖小学", w.county_a, stage="primary")
    w.school_b = community.create_school("西湖中学", w.county_b, stage="junior")
    w.workshop_a = community.create_workshop("东湖数学工作坊", w.county_a, subject="math", stage="primary")
    w.workshop_b = community.create_workshop("西湖语文工作坊", w.county_b, subject="chinese", stage="junior")
    db.session.flush()
    w.group_a = community.create_group(w.workshop_a, "第一组")
    u = w.users
    u["teacher"] = make_user("teacher_a", "张老师", w.school_a, subject="math", id_card=id_number())
    u["member"] = make_user("member_a", "李老师", w.school_a, subject="math", id_card=id_number())
    u["leader"] = make_user("leader_a", "王组长", w.school_a, subject="math")
    u["teacher_b"] = make_user("teacher_b", "赵老师", w.school_b, subject="chinese", id_card=id_number())
    u["member_b"] = make_user("member_b", "钱老师", w.school_b, subject="chinese")
    u["host"] = make_user("host_a", "孙坊主", w.school_a, subject="math")
    u["host_b"] = make_user("host_b", "周坊主", w.school_b)
    u["expert"] = make_user("expert", "吴专家")
    u["school_trainer"] = make_user("trainer_a", "郑培训者", w.school_a)
    u["school_admin"] = make_user("sadmin_a", "冯校管", w.school_a)
    u["school_admin_b"] = make_user("sadmin_b", "陈校管", w.school_b)
    u["county_admin"] = make_user("cadmin_a", "褚县管")
    u["county_admin_b"] = make_user("cadmin_b", "卫县管")
    u["city_admin"] = make_user("cityadmin", "蒋市管")
    u["province_admin"] = make_user("padmin", "沈省管")
    u["supervisor"] = make_user("supervisor_a", "韩督导")
    u["project_manager"] = make_user("pm", "杨项目")
    u["site_admin"] = make_user("root", "系统管理员")
    u["outsider"] = make_user("outsider", "无归属")
    community.add_member(w.workshop_a, u["member"], w.group_a)
    community.add_member(w.workshop_a, u["leader"], w.group_a)
    community.add_member(w.workshop_b, u["member_b"])
    db.session.flush()
    community.set_group_leader(w.group_a, u["leader"])
    assign(u["host"], "host", w.workshop_a.context)
    assign(u["host_b"], "host", w.workshop_b.context)
    assign(u["expert"], "expert", w.workshop_a.context)
    assign(u["school_trainer"], "school_trainer", w.school_a.context)
    assign(u["school_admin"], "school_admin", w.school_a.context)
    assign(u["school_admin_b"], "school_admin", w.school_b.context)
    assign(u["county_admin"], "county_admin", w.county_a.context)
    assign(u["county_admin_b"], "county_admin", w.county_b.context)
    assign(u["city_admin"], "city_admin", w.city.context)
    assign(u["province_admin"], "province_admin", w.province.context)
    assign(u["supervisor"], "supervisor", w.county_a.context)
    # A province-wide project manager, as appointed before projects existed (no longer appointable:
    # roles.LEGACY_CONTEXTS); the rows are still there on upgraded installations.
    db.session.add(RoleAssignment(user_id=u["project_manager"].id, role="project_manager",
                                  context_id=w.province.context_id))  # fmt: skip
    assign(u["site_admin"], "site_admin", site_context())
    community.refresh_counters()
    db.session.commit()
    return w
