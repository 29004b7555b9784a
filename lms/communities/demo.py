"""A fictitious demo province for `flask lms demo`: regions, schools, teachers, workshops, roles, notices.

Everything is generated from word lists with one seeded random generator, so a seed always gives the
same province. Names of places and people are made up; ID numbers use the fictitious province code
99 (never a real region) with a valid check digit; phones come from the 1990xxxxxxx block.

Scale: `scale` is the number of teachers. The default (3,000) gives 3 cities, 8 counties, 60
schools and 40 workshops; 11,140 gives the 004 project's 19 counties and 136 workshops; other sizes
are interpolated from those two anchors. Tree nodes (regions, schools, workshops, groups) go through
`communities.services`; the bulk rows (users, memberships, role assignments) are inserted with
executemany, and the demo password is hashed once and shared by every demo account.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import insert, select, text, update
from werkzeug.security import generate_password_hash

from lms import signals
from lms.access.models import Context, RoleAssignment
from lms.access.roles import LEGACY_CONTEXTS, ROLE_CONTEXTS
from lms.access.services import site_context
from lms.accounts.models import User
from lms.activities.models import Announcement
from lms.communities import services
from lms.communities.models import Region, School, StudyGroup, Workshop, WorkshopMembership
from lms.core.db import utcnow
from lms.core.idcard import check_digit
from lms.core.taxonomy import SUBJECT_ZH
from lms.core.text import sanitize_html
from lms.extensions import db

DEFAULT_PASSWORD = "Demo2026!"  # noqa: S105 - the published password of the demo accounts
DEFAULT_SCALE = 3000
DEFAULT_SEED = 2026

# --- word lists --------------------------------------------------------------------------------

# Common surnames, roughly by frequency (the weight is a rough share per thousand).
SURNAMES = [
    ("王", 72), ("李", 72), ("张", 68), ("刘", 55), ("陈", 46), ("杨", 31), ("黄", 23), ("赵", 22),
    ("吴", 20), ("周", 19), ("徐", 14), ("孙", 13), ("马", 12), ("朱", 12), ("胡", 11), ("郭", 11),
    ("何", 10), ("高", 10), ("林", 10), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 7), ("宋", 6),
    ("唐", 6), ("许", 6), ("韩", 6), ("冯", 5), ("邓", 5), ("曹", 5), ("彭", 5), ("曾", 5),
    ("肖", 5), ("田", 4), ("董", 4), ("袁", 4), ("潘", 4), ("于", 4), ("蒋", 4), ("蔡", 4),
    ("余", 4), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 3), ("魏", 3), ("吕", 3), ("丁", 3),
    ("任", 3), ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3), ("崔", 3), ("钟", 3), ("谭", 3),
    ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3), ("廖", 3), ("贾", 2), ("夏", 2),
    ("韦", 2), ("付", 2), ("方", 2), ("白", 2), ("邹", 2), ("孟", 2), ("熊", 2), ("秦", 2),
    ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2), ("侯", 2),
    ("龙", 2), ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2), ("顾", 2), ("毛", 2), ("郝", 2),
    ("龚", 2), ("邵", 2), ("万", 2), ("钱", 2), ("严", 2), ("武", 2), ("戴", 2), ("莫", 1),
    ("孔", 1), ("向", 1), ("汤", 1), ("欧阳", 1), ("司马", 1),
]  # fmt: skip
GIVEN_F = list("秀英华玲芳敏静丽娟霞燕艳婷雪琳慧颖洁倩梅兰凤琴云莉萍红娜晶欣怡悦雯岚璐佳嘉宁瑶蓉")
GIVEN_M = list("伟强军磊勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆峰亮林建国文志永海东晨阳")
GIVEN_ANY = list("文晓小春秋海天思子梓雨一安心嘉欣宏立新建志")

TOWNS = [
    "青石", "白沙", "河口", "黄岗", "枫林", "桃源", "梅岭", "松湖", "柳溪", "龙潭", "古城", "新塘",
    "高桥", "杨村", "沙坪", "云山", "石门", "长岭", "南港", "荷塘", "金竹", "凤凰", "马鞍", "双溪",
    "大塘", "清水", "竹林", "望江", "三江", "白云", "樟树湾", "花园", "桥头", "横岗", "沙洲", "塘下",
    "东山", "西岭", "北源", "南坪",
]  # fmt: skip
PLACE_A = list("青云白丹桂梅柳石金玉翠银紫碧龙凤安宁永兴")
PLACE_B = list("山溪湖江岭川林泉原峰阳城")
PROVINCE_NAME = "江右省"
PROVINCE_CODE = "99"  # not a real province code: demo ID numbers can never be someone's

STAGE_ZH = {"preschool": "幼儿园", "primary": "小学", "junior": "初中", "senior": "高中"}
STAGE_ORDER = {"preschool": 0, "primary": 1, "junior": 2, "senior": 3}
# Share of schools by stage, relative size of their staff, share of women teaching there.
STAGE_MIX = {"primary": 55, "junior": 27, "senior": 10, "preschool": 8}
STAGE_SIZE = {"preschool": 0.5, "primary": 1.0, "junior": 1.3, "senior": 2.0}
STAGE_FEMALE = {"preschool": 0.97, "primary": 0.75, "junior": 0.6, "senior": 0.5}
STAGE_SUBJECTS = {
    "preschool": {"preschool_ed": 90, "music": 5, "art": 5},
    "primary": {"chinese": 30, "math": 25, "english": 10, "science": 6, "pe": 7, "music": 5, "art": 5,
                "politics": 5, "it": 3, "general": 3, "psychology": 1},
    "junior": {"chinese": 15, "math": 15, "english": 14, "physics": 7, "chemistry": 5, "biology": 5,
               "history": 6, "geography": 5, "politics": 7, "pe": 7, "music": 3, "art": 3, "it": 3,
               "psychology": 2},
    "senior": {"chinese": 13, "math": 13, "english": 13, "physics": 9, "chemistry": 8, "biology": 8,
               "history": 7, "geography": 6, "politics": 7, "pe": 6, "it": 3, "art": 2, "music": 2,
               "psychology": 2},
}  # fmt: skip
SCHOOL_NAMES = {
    "primary": ["第一实验小学", "城关小学", "第二实验小学", "城南小学", "育才小学", "城北小学", "光明小学",
                "东门小学", "解放路小学", "人民路小学"],
    "junior": ["城关中学", "第二中学", "实验中学", "第三中学", "城东中学", "育英学校", "第四中学"],
    "senior": ["第一中学", "高级中学", "第五中学", "实验高级中学", "第六中学"],
    "preschool": ["机关幼儿园", "实验幼儿园", "第一幼儿园", "城关幼儿园"],
}  # fmt: skip
SCHOOL_TOWN_PATTERNS = {
    "primary": ["{t}镇中心小学", "{t}小学"],
    "junior": ["{t}镇中学", "{t}初级中学"],
    "senior": ["{t}中学"],
    "preschool": ["{t}镇中心幼儿园"],
}
# Subject workshops at province level, most common first (chief experts lead them).
SUBJECT_WORKSHOPS = [
    ("primary", "math"), ("primary", "chinese"), ("junior", "math"), ("junior", "chinese"),
    ("junior", "english"), ("primary", "english"), ("senior", "math"), ("senior", "chinese"),
    ("senior", "english"), ("junior", "physics"), ("junior", "politics"), ("primary", "science"),
    ("senior", "physics"), ("junior", "history"), ("junior", "chemistry"), ("senior", "chemistry"),
    ("senior", "biology"), ("junior", "biology"), ("junior", "geography"), ("senior", "history"),
    ("primary", "pe"), ("junior", "pe"), ("primary", "music"), ("primary", "art"), ("preschool", "preschool_ed"),
    ("senior", "politics"), ("senior", "geography"), ("junior", "it"), ("primary", "politics"),
]  # fmt: skip
# Related subjects sit next to each other, so a county's classes cut from this order stay coherent.
SUBJECT_RANK = {code: i for i, code in enumerate((
    "chinese", "math", "english", "physics", "chemistry", "biology", "science", "geography", "it", "history",
    "politics", "psychology", "music", "art", "pe", "preschool_ed", "general"))}  # fmt: skip
GROUP_NAMES = ["第一小组", "第二小组", "第三小组", "第四小组", "第五小组", "第六小组", "第七小组", "第八小组"]
CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1..99 in Chinese numerals (一, 十二, 二十三)."""
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


# --- plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    teachers: int
    cities: int
    counties: int
    schools: int
    workshops: int
    subject_workshops: int

    @classmethod
    def for_scale(cls, scale: int) -> Plan:
        """Sizes interpolated through two anchors: 3,000 → 3/8/60/40 and 11,140 → 19 counties, 136 workshops."""
        r = scale / DEFAULT_SCALE
        counties = max(1, round(8 * r**0.66))
        cities = min(counties, max(1, round(3 * r**0.5)), 99)
        schools = max(counties, round(scale / 50))
        workshops = max(1, round(40 * r**0.93))
        subject = min(len(SUBJECT_WORKSHOPS), max(1, round(workshops * 0.1)))
        workshops = max(workshops, counties + subject)
        return cls(scale, cities, counties, schools, workshops, subject)


@dataclass
class DemoResult:
    plan: Plan
    password: str
    users: int = 0
    memberships: int = 0
    roles: int = 0
    announcements: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, where
    #: Lines other domains add to the summary ("120 courses, 31 lessons with video"…).
    extra: list[str] = field(default_factory=list)


# --- helpers -----------------------------------------------------------------------------------


class _Names:
    """Unique-ish realistic names: weighted surname + one or two given-name characters."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.surnames = [s for s, _ in SURNAMES]
        self.cum = []
        total = 0
        for _, w in SURNAMES:
            total += w
            self.cum.append(total)

    def person(self, female: bool) -> str:
        rng = self.rng
        surname = rng.choices(self.surnames, cum_weights=self.cum)[0]
        pool = GIVEN_F if female else GIVEN_M
        if rng.random() < 0.22:
            return surname + rng.choice(pool)
        first = rng.choice(GIVEN_ANY) if rng.random() < 0.3 else rng.choice(pool)
        second = rng.choice(pool)
        while second == first:
            second = rng.choice(pool)
        return surname + first + second


class _Ids:
    """Valid, unique 18-character ID numbers for a region code; birth years fit a working teacher."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.start = date(1966, 1, 1).toordinal()
        self.end = date(2002, 12, 31).toordinal()

    def make(self, region6: str, female: bool) -> str:
        rng = self.rng
        while True:
            born = date.fromordinal(rng.randint(self.start, self.end)).strftime("%Y%m%d")
            order = rng.randrange(0, 500) * 2 + (0 if female else 1)  # 17th digit: odd = male
            first17 = f"{region6}{born}{order:03d}"
            number = first17 + check_digit(first17)
            if number not in self.used:
                self.used.add(number)
                return number


def _phone(i: int) -> str:
    # A permutation of the 1990xxxxxxx block (7919 is coprime with 10^7): unique, not sequential-looking.
    return f"1990{(i * 7919 + 4321) % 10**7:07d}"


def _split(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Largest-remainder split of `total` in proportion to weights, each part at least `minimum`."""
    n = len(weights)
    base = minimum * n
    rest = max(0, total - base)
    s = sum(weights) or 1
    raw = [rest * w / s for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(n), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def _place_names(rng: random.Random, count: int, suffixes: tuple[str, ...], taken: set[str]) -> list[str]:
    combos = [a + b for a in PLACE_A for b in PLACE_B]
    rng.shuffle(combos)
    out = []
    for i, stem in enumerate(c for c in combos if c not in taken):
        if len(out) == count:
            break
        taken.add(stem)
        out.append(stem + suffixes[i % len(suffixes)])
    while len(out) < count:  # word lists exhausted (only at very large scales)
        out.append(f"第{len(out) + 1}{suffixes[len(out) % len(suffixes)]}")
    return out


def _school_names(rng: random.Random, stages: list[str]) -> list[str]:
    """Names for one county's schools, unique within it, in the given stage order."""
    towns = TOWNS[:]
    rng.shuffle(towns)
    fixed = {st: list(names) for st, names in SCHOOL_NAMES.items()}
    used: set[str] = set()
    town_i = 0
    numbered = Counter()
    out = []
    for st in stages:
        name = None
        while fixed[st] and name is None:
            cand = fixed[st].pop(0)
            name = cand if cand not in used else None
        while name is None and town_i < len(towns) * 2:
            pattern = SCHOOL_TOWN_PATTERNS[st][town_i // len(towns) % len(SCHOOL_TOWN_PATTERNS[st])]
            cand = pattern.format(t=towns[town_i % len(towns)])
            town_i += 1
            name = cand if cand not in used else None
        while name is None:
            numbered[st] += 1
            n = numbered[st]
            suffix = {"primary": "小学", "junior": "中学", "senior": "中学", "preschool": "幼儿园"}[st]
            cand = f"第{cn_number(n)}{suffix}" if n < 100 else f"{suffix}{n}号"
            name = cand if cand not in used else None
        used.add(name)
        out.append(name)
    return out


def _pick(rng: random.Random, table: dict[str, int]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


def _role_ok(role: str, kind: str, level: str | None) -> None:
    # Also where a role is no longer appointed but still held (roles.LEGACY_CONTEXTS): the demo's
    # province-wide project manager (demo_manager, the whole-staff training's briefs and notices) is
    # such a holder, as upgraded installations have; the projects demo adds a project's own (demo_pm).
    allowed = ROLE_CONTEXTS[role] | LEGACY_CONTEXTS.get(role, set())
    if (kind, level) not in allowed and (kind, None) not in allowed:
        raise ValueError(f"{role} cannot be held in {kind}/{level}")


# --- the generator -----------------------------------------------------------------------------


def has_users() -> bool:
    return db.session.scalar(select(User.id).limit(1)) is not None


def build(scale: int = DEFAULT_SCALE, seed: int = DEFAULT_SEED, password: str = DEFAULT_PASSWORD) -> DemoResult:
    """Build the demo province in the current (empty) database and commit."""
    rng = random.Random(seed)
    plan = Plan.for_scale(scale)
    result = DemoResult(plan=plan, password=password)
    pw_hash = generate_password_hash(password)  # once: scrypt per user would take minutes
    names = _Names(rng)
    ids = _Ids(rng)
    now = utcnow()

    # Regions: province → cities → counties, with fictitious codes that prefix the ID numbers.
    site_context()
    province = services.create_region(PROVINCE_NAME, "province", code=f"{PROVINCE_CODE}0000")
    taken: set[str] = set()
    city_names = _place_names(rng, plan.cities, ("市",), taken)
    cities = [
        services.create_region(n, "city", province, code=f"{PROVINCE_CODE}{i + 1:02d}00")
        for i, n in enumerate(city_names)
    ]
    per_city = _split(plan.counties, [1.0] * plan.cities, minimum=1)
    county_names = _place_names(rng, plan.counties, ("县", "区", "县", "市"), taken)
    counties: list[Region] = []
    for ci, (city, n) in enumerate(zip(cities, per_city, strict=True)):
        for k in range(n):
            name = county_names[len(counties)]
            counties.append(
                services.create_region(name, "county", city, code=f"{PROVINCE_CODE}{ci + 1:02d}{k + 2:02d}")
            )

    # Schools: a county's first schools are its 第一实验小学, 城关中学, 第一中学; the rest drawn by stage.
    school_weights = [rng.uniform(0.6, 1.4) for _ in counties]
    per_county = _split(plan.schools, school_weights, minimum=1)
    schools: list[School] = []
    for county, n in zip(counties, per_county, strict=True):
        stages = ["primary", "junior", "senior"][:n] + [_pick(rng, STAGE_MIX) for _ in range(max(0, n - 3))]
        for st, name in zip(stages, _school_names(rng, stages), strict=True):
            schools.append(services.create_school(name, county, stage=st))
    db.session.flush()

    # Teachers: staff sizes by stage, subjects fitting the stage, ID numbers from the county code.
    weights = [STAGE_SIZE[s.stage] * rng.uniform(0.6, 1.4) for s in schools]
    sizes = _split(plan.teachers, weights, minimum=min(3, plan.teachers // len(schools)))
    user_rows: list[dict] = []
    teachers_by_school: dict[int, list[int]] = defaultdict(list)  # school index → row indexes
    teacher_meta: list[tuple[int, str, str]] = []  # (school index, stage, subject) per teacher row

    def add_user(name, female, region_code, **fields) -> int:
        i = len(user_rows)
        user_rows.append(
            {
                "username": fields.pop("username"),
                "name": name,
                "gender": "F" if female else "M",
                "id_card": ids.make(region_code, female),
                "phone": _phone(i + 1),
                "password_hash": pw_hash,
                "school_id": fields.pop("school_id", None),
                "subject": fields.pop("subject", None),
                "stage": fields.pop("stage", None),
            }
        )
        return i

    for si, (school, n) in enumerate(zip(schools, sizes, strict=True)):
        for _ in range(n):
            st = school.stage
            subject = _pick(rng, STAGE_SUBJECTS[st])
            female = rng.random() < STAGE_FEMALE[st]
            i = add_user(names.person(female), female, school.county.code, username=f"t{len(user_rows) + 1:06d}",
                         school_id=school.id, subject=subject, stage=st)  # fmt: skip
            teachers_by_school[si].append(i)
            teacher_meta.append((si, st, subject))

    # demo_teacher: a primary maths teacher of the first county's 第一实验小学.
    demo_school_i = 0
    demo_t = teachers_by_school[demo_school_i][0]
    user_rows[demo_t].update(username="demo_teacher", subject="math", stage=schools[0].stage)
    teacher_meta[demo_t] = (demo_school_i, schools[0].stage, "math")

    # School admin and school trainer: two teachers of every school (not demo_teacher).
    special: set[int] = {demo_t}
    school_staff: dict[int, tuple[int | None, int | None]] = {}
    for si in range(len(schools)):
        staff = [i for i in teachers_by_school[si] if i not in special][:2]
        admin, trainer = (staff + [None, None])[:2]
        school_staff[si] = (admin, trainer)
        special.update(x for x in staff if x is not None)
    admin0, trainer0 = school_staff[demo_school_i]
    if admin0 is not None:
        user_rows[admin0]["username"] = "demo_school_admin"
    if trainer0 is not None:
        user_rows[trainer0]["username"] = "demo_trainer"

    # Staff without a school: region admins, a supervisor, a project manager, experts, the site admin.
    def staff_user(username, region: Region, **fields) -> int:
        female = rng.random() < 0.5
        return add_user(names.person(female), female, region.code, username=username, **fields)

    province_admin = staff_user("demo_province_admin", province)
    city_admins = [
        staff_user("demo_city_admin" if i == 0 else f"city_admin{i + 1:02d}", c) for i, c in enumerate(cities)
    ]
    county_admins = [
        staff_user("demo_county_admin" if i == 0 else f"county_admin{i + 1:03d}", c) for i, c in enumerate(counties)
    ]
    supervisor = staff_user("demo_supervisor", province)
    manager = staff_user("demo_manager", province)
    site_admin = staff_user("demo_admin", province)
    experts: list[tuple[int, int, str, str]] = []  # (chief row, second row, stage, subject)
    for k, (st, subj) in enumerate(SUBJECT_WORKSHOPS[: plan.subject_workshops]):
        chief = staff_user("demo_expert" if k == 0 else f"expert{2 * k + 1:03d}", province, subject=subj, stage=st)
        second = staff_user(f"expert{2 * k + 2:03d}", province, subject=subj, stage=st)
        experts.append((chief, second, st, subj))

    db.session.execute(insert(User), user_rows)
    uid_by_name = dict(db.session.execute(select(User.username, User.id)).all())
    uid = [uid_by_name[r["username"]] for r in user_rows]
    result.users = len(user_rows)

    roles: list[dict] = []

    def grant(row: int | None, role: str, ctx: Context, kind: str, level: str | None = None) -> None:
        if row is None:
            return
        _role_ok(role, kind, level)
        roles.append({"user_id": uid[row], "role": role, "context_id": ctx.id})

    # Class workshops: each county's teachers, sorted by stage and subject, cut into classes of ~80-100.
    n_class = plan.workshops - plan.subject_workshops
    by_county: dict[int, list[int]] = defaultdict(list)
    for i, (si, _st, _subj) in enumerate(teacher_meta):
        by_county[schools[si].county_id].append(i)
    ws_per_county = _split(n_class, [len(by_county[c.id]) for c in counties], minimum=1)
    class_ws: list[tuple[Region, list[int], str, str]] = []  # (county, teacher rows, stage, subject)
    for county, k in zip(counties, ws_per_county, strict=True):
        rows = sorted(
            by_county[county.id], key=lambda i: (SUBJECT_RANK[teacher_meta[i][2]], STAGE_ORDER[teacher_meta[i][1]], i)
        )
        for part in _chunks(rows, k, rng):
            # Named after the subject and stage most members share; mixed classes are 综合 / 中小学.
            subj, n_subj = Counter(teacher_meta[i][2] for i in part).most_common(1)[0]
            st, n_st = Counter(teacher_meta[i][1] for i in part).most_common(1)[0]
            class_ws.append(
                (county, part, st if n_st >= 0.7 * len(part) else None, subj if n_subj >= 0.5 * len(part) else None)
            )
    # demo_teacher teaches maths: put her in a maths class of her county if there is one.
    home = next((p for c, p, st, subj in class_ws if demo_t in p), None)
    maths = next((p for c, p, st, subj in class_ws if c is counties[0] and subj == "math" and st != "senior"), None)
    if home is not None and maths is not None and home is not maths:
        swap = next((j for j, i in enumerate(maths) if i not in special), None)
        if swap is not None:
            home[home.index(demo_t)], maths[swap] = maths[swap], demo_t
    same_name = Counter((c.id, st, subj) for c, _, st, subj in class_ws)
    seen = Counter()
    workshops: list[tuple[Workshop, list[int], int | None, list[int]]] = []  # ws, members, host row, experts
    expert_by_subject = {(st, subj): chief for chief, _second, st, subj in experts}
    for county, part, st, subj in class_ws:
        seen[(county.id, st, subj)] += 1
        what = f"{STAGE_ZH[st] if st else '中小学'}{SUBJECT_ZH[subj] if subj else '综合学科'}"
        label = f"{county.name}{what}工作坊"
        if same_name[(county.id, st, subj)] > 1:
            label += f"（{cn_number(seen[(county.id, st, subj)])}班）"
        ws = services.create_workshop(
            label, county, kind="class", subject=subj, stage=st,
            description=f"{county.name}{what}教师网络研修班：线上课程学习、"
            "主题研讨与线下实践相结合，坊主带领学员完成年度研修任务。",
        )  # fmt: skip
        candidates = [i for i in part if i not in special and teacher_meta[i][2] == (subj or "chinese")] or [
            i for i in part if i not in special
        ]
        host = candidates[0] if candidates else None
        if host is not None:
            special.add(host)
        members = [i for i in part if i != host]
        chief = expert_by_subject.get((st, subj))
        workshops.append((ws, members, host, [chief] if chief is not None else []))

    # Subject workshops: province level, led by the chief expert, with key teachers of that subject.
    by_stage_subject: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (_si, st, subj) in enumerate(teacher_meta):
        by_stage_subject[(st, subj)].append(i)
    for chief, second, st, subj in experts:
        ws = services.create_workshop(
            f"{STAGE_ZH[st]}{SUBJECT_ZH.get(subj, '')}学科工作坊", province, kind="subject", subject=subj, stage=st,
            description=f"全省{STAGE_ZH[st]}{SUBJECT_ZH.get(subj, '')}学科工作坊：首席专家领衔，"
            "骨干教师参与课例研磨、专题讲座与资源共建。",
        )  # fmt: skip
        pool = by_stage_subject.get((st, subj), [])
        size = min(len(pool), rng.randint(40, 70))
        members = sorted(rng.sample(pool, size)) if size else []
        if (st, subj) == ("primary", "math") and demo_t not in members:
            members = [demo_t] + members[:-1] if members else [demo_t]
        workshops.append((ws, members, chief, [second]))
    db.session.flush()

    # Groups of 4-8 per workshop, each led by a member of it.
    membership_rows: list[dict] = []
    group_plan: list[tuple[StudyGroup, int]] = []
    demo_ws = demo_group = None
    for ws, members, _host, _experts in workshops:
        n_groups = min(8, max(4, round(len(members) / 15)), max(1, len(members)))
        order = members[:]
        rng.shuffle(order)
        if demo_t in order:  # demo_teacher sits in the first group, led by a plain teacher
            order.remove(demo_t)
            plain = next((i for i, row in enumerate(order) if row not in special), None)
            if plain:
                order.insert(0, order.pop(plain))
            order.insert(min(n_groups, len(order)), demo_t)
        groups = [services.create_group(ws, GROUP_NAMES[g]) for g in range(n_groups)] if members else []
        db.session.flush()
        for pos, row in enumerate(order):
            group = groups[pos % n_groups]
            membership_rows.append({"workshop_id": ws.id, "user_id": uid[row], "group_id": group.id})
            if pos < n_groups:
                group_plan.append((group, row))  # the first member placed in each group leads it
            if row == demo_t and ws.kind == "class":
                demo_ws, demo_group = ws, group
    if membership_rows:
        db.session.execute(insert(WorkshopMembership), membership_rows)
    # Leaders are members of their group by construction (set_group_leader would re-check each with a query).
    for group, row in group_plan:
        group.leader_id = uid[row]
    result.memberships = len(membership_rows)

    demo_leader = next((row for g, row in group_plan if g is demo_group), None)
    demo_host_row = next((h for ws, _m, h, _e in workshops if ws is demo_ws), None)
    for row, username in ((demo_leader, "demo_leader"), (demo_host_row, "demo_host")):
        if row is not None and row != demo_t:
            user_rows[row]["username"] = username
            db.session.execute(update(User).where(User.id == uid[row]).values(username=username))

    # Roles in their contexts.
    for ws, _members, host, ws_experts in workshops:
        grant(host, "host", ws.context, "workshop")
        for e in ws_experts:
            grant(e, "expert", ws.context, "workshop")
    for si, school in enumerate(schools):
        admin, trainer = school_staff[si]
        grant(admin, "school_admin", school.context, "school")
        grant(trainer, "school_trainer", school.context, "school")
    for row, county in zip(county_admins, counties, strict=True):
        grant(row, "county_admin", county.context, "region", "county")
    for row, city in zip(city_admins, cities, strict=True):
        grant(row, "city_admin", city.context, "region", "city")
    grant(province_admin, "province_admin", province.context, "region", "province")
    grant(supervisor, "supervisor", province.context, "region", "province")
    grant(manager, "project_manager", province.context, "region", "province")
    grant(site_admin, "site_admin", site_context(), "site")
    for chief, _second, _st, _subj in experts:
        grant(chief, "expert", province.context, "region", "province")
    db.session.execute(insert(RoleAssignment), roles)
    result.roles = len(roles)

    # Announcements at every level, newest first on the pages.
    notices: list[Announcement] = []

    def notice(ctx: Context, author_row: int | None, title: str, body: str, days_ago: float) -> None:
        notices.append(
            Announcement(
                context_id=ctx.id,
                author_id=uid[author_row] if author_row is not None else None,
                title=title,
                body_html=sanitize_html(body),
                created_at=now - timedelta(days=days_ago),
            )
        )

    notice(province.context, province_admin, "关于开展2026年度中小学教师全员培训的通知",
           "<p>各设区市、县（市、区）教育局：</p><p>2026年度全员培训分为<strong>报名、网络研修、考核、学分登记</strong>"
           "四个阶段，每位教师年度须完成<strong>60学时</strong>（20学时折合1学分）。请各地按通知要求做好组织工作。</p>",
           12)  # fmt: skip
    notice(province.context, manager, "课程超市已上线",
           "<p>本年度课程超市已上线，课程分为必修与选修，请学员登录个人空间完成选课。</p>"
           "<ul><li>师德修养</li><li>信息技术应用</li><li>学科融合</li><li>教学案例</li></ul>", 5)  # fmt: skip
    for ci, (county, row) in enumerate(zip(counties, county_admins, strict=True)):
        notice(county.context, row, f"{county.name}网络研修阶段工作安排",
               f"<p>请{county.name}各校于本月底前组织教师完成选课，学校管理员每周查看学情日报。</p>",
               3 + ci % 5)  # fmt: skip
    first_school_of: dict[int, int] = {}
    for si, school in enumerate(schools):
        first_school_of.setdefault(school.county_id, si)
    for si in sorted(set(first_school_of.values())):
        school = schools[si]
        notice(school.context, school_staff[si][0], f"{school.name}校本研修活动安排",
               "<p>本周三下午第三节课在会议室开展集体备课与观课评课活动，请各教研组长组织本组教师参加。</p>",
               2)  # fmt: skip
    # The first class workshop of each county, demo_teacher's, and every subject workshop.
    noticed: dict[int, Workshop] = {}
    counties_done: set[int] = set()
    for ws, _m, _h, _e in workshops:
        if ws.kind == "subject" or ws.region_id not in counties_done or ws is demo_ws:
            noticed[ws.id] = ws
            counties_done.add(ws.region_id)
    hosts = {ws.id: h for ws, _m, h, _e in workshops}
    for ws in noticed.values():
        notice(ws.context, hosts.get(ws.id), f"{ws.name}研修计划发布",
               "<p>本坊研修计划已发布：第一阶段完成课程学习，第二阶段开展主题研讨，第三阶段进行线下实践并提交成绩鉴定表。"
               "请各小组长督促组员按时完成。</p>", 1)  # fmt: skip
    db.session.add_all(notices)
    result.announcements = len(notices)

    services.refresh_counters()
    db.session.commit()
    # Fresh planner statistics: right after a bulk load PostgreSQL guesses a handful of rows per table
    # and picks nested loops over the whole province for a county's member list.
    db.session.execute(text("ANALYZE"))
    db.session.commit()

    # The known logins and where they belong.
    demo_school = schools[demo_school_i]
    county0, city0 = counties[0], cities[0]
    first_subject_ws = next((ws for ws, *_ in workshops if ws.kind == "subject"), None)
    where_ws = demo_ws.name if demo_ws is not None else "-"
    result.logins = [
        ("demo_teacher", "教师 teacher", f"{demo_school.name} · {where_ws} · {demo_group.name if demo_group else ''}"),
        ("demo_leader", "小组长 group leader", f"{where_ws} · {demo_group.name if demo_group else ''}"),
        ("demo_host", "坊主 host", where_ws),
        ("demo_school_admin", "校级管理员 school admin", f"{demo_school.name}（{county0.name}）"),
        ("demo_trainer", "校级培训者 school trainer", demo_school.name),
        ("demo_county_admin", "县级管理员 county admin", county0.name),
        ("demo_city_admin", "市级管理员 city admin", city0.name),
        ("demo_province_admin", "省级管理员 province admin", province.name),
        ("demo_expert", "学科专家 subject expert", first_subject_ws.name if first_subject_ws else province.name),
        ("demo_supervisor", "督导 supervisor", province.name),
        ("demo_manager", "项目管理员 project manager", province.name),
        ("demo_admin", "系统管理员 site admin", "site"),
    ]
    present = {r["username"] for r in user_rows}
    result.logins = [x for x in result.logins if x[0] in present]
    # Other domains add their content (courses, activities, homework…) to the same province.
    signals.demo_built.send(result, rng=random.Random(seed + 1), scale=scale, password=password)
    db.session.commit()
    return result


def _chunks(rows: list[int], k: int, rng: random.Random | None = None) -> list[list[int]]:
    """`rows` cut into k consecutive parts; with `rng`, of uneven size (±30%), as real classes are."""
    weights = [rng.uniform(0.7, 1.3) for _ in range(k)] if rng else [1.0] * k
    sizes = _split(len(rows), weights)
    out, start = [], 0
    for size in sizes:
        out.append(rows[start : start + size])
        start += size
    return [c for c in out if c]


def summary(result: DemoResult) -> str:
    p = result.plan
    lines = [
        f"Demo province built: {p.cities} cities, {p.counties} counties, {p.schools} schools, "
        f"{p.workshops} workshops ({p.subject_workshops} subject), {p.teachers} teachers; "
        f"{result.users} accounts, {result.memberships} memberships, {result.roles} roles, "
        f"{result.announcements} announcements.",
        *result.extra,
        "",
        f"Demo logins (password for every demo account: {result.password}):",
    ]
    width = max((len(u) for u, _, _ in result.logins), default=10)
    for username, role, where in result.logins:
        lines.append(f"  {username:<{width}}  {role:<28}  {where}")
    lines.append("Every other teacher signs in as t000001, t000002, … with the same password.")
    return "\n".join(lines)
