"""The role × capability × object matrix, written out as data from DOMAIN.md §2.

Deliberately NOT computed from lms.access.roles: this is what the domain says, so the table in
roles.py can be checked against it. Rules applied:

- a role held in a context reaches that context's whole subtree, never a neighbour's;
- county admin: only that county; school admin: only that school; host: only that workshop;
- a teacher belongs to their school (and may list its members), may open the pages of the regions
  above it, and of the workshops they are a member of, and nothing sideways;
- a supervisor inspects their region read-only (view, member lists, statistics);
- only `community.view` looks *up* the tree (a teacher may open their county's page, not list
  its members).

Objects of build_world(): province ⊃ city ⊃ {county A ⊃ {school A, workshop A}, county B ⊃ {school B,
workshop B}}. Users: teacher, member, leader, host (all teachers of school A; member and leader in
workshop A, host hosts workshop A), expert (expert in workshop A, no school), school_trainer and
school_admin (school A), county_admin (county A), supervisor (county A), city_admin, province_admin,
project_manager (province), site_admin, outsider (nothing).
"""

ROLES = [
    "teacher",
    "member",
    "leader",
    "host",
    "expert",
    "school_trainer",
    "school_admin",
    "county_admin",
    "city_admin",
    "province_admin",
    "supervisor",
    "project_manager",
    "site_admin",
    "outsider",
]

# attribute of tests.factories.World
OBJECTS = ["school_a", "school_b", "county_a", "county_b", "workshop_a", "workshop_b", "city", "province"]

# Every capability, spelled out. test_matrix checks this equals lms.access.roles.CAPABILITIES, so a
# capability added later fails the suite until someone decides who gets it.
ALL = {
    "community.view",
    "member.list",
    "member.contact",
    "user.manage",
    "workshop.manage",
    "workshop.create",
    "school.manage",
    "region.manage",
    "roster.import",
    "roster.export",
    "idcard.view_full",
    "announcement.post",
    "stats.view",
    "role.assign",
    "resource.upload",
    "resource.curate",
    "resource.remove",
    "course.manage",
    "course.assign",
    "live.view",
    "live.ask",
    "live.host",
    "live.answer",
    "writing.view",
    "writing.write",
    "writing.host",
    "brief.post",
    "activity.manage",
    "activity.participate",
    "post.moderate",
    "homework.view",
    "homework.submit",
    "homework.manage",
    "homework.grade",
    "homework.publish",
    "group.progress",
    "project.view",
    "project.manage",
    "project.enrol",
    "project.nominate",
}

# Resource library: whoever belongs to a community may post into its library; hosts, experts and
# admins curate; admins remove. A supervisor only inspects.
UP = {"resource.upload"}
CURATE = {"resource.upload", "resource.curate"}
ALL_RES = {"resource.upload", "resource.curate", "resource.remove"}

VIEW = {"community.view"}
LIST = {"community.view", "member.list"} | UP
HOST = {"community.view", "member.list", "member.contact", "workshop.manage", "announcement.post", "stats.view"}
HOST |= CURATE
# Experts and region admins make courses and assign them in their contexts (课程超市); a host
# makes courses required (or elective) for their own workshop.
EXPERT = {"community.view", "member.list", "announcement.post", "stats.view", "course.manage", "course.assign"} | CURATE
HOST |= {"course.assign"}
HOST |= {"activity.manage", "activity.participate", "post.moderate"}
EXPERT |= {"activity.participate", "activity.manage", "post.moderate"}
TRAINER = {"community.view", "member.list", "announcement.post", "stats.view"} | UP
SCHOOL_ADMIN = {
    "community.view",
    "member.list",
    "member.contact",
    "user.manage",
    "workshop.manage",
    "school.manage",
    "roster.import",
    "roster.export",
    "announcement.post",
    "stats.view",
    "activity.manage",
    "post.moderate",
} | ALL_RES
REGION_ADMIN = {
    "community.view",
    "member.list",
    "member.contact",
    "user.manage",
    "workshop.manage",
    "workshop.create",
    "school.manage",
    "region.manage",
    "roster.import",
    "roster.export",
    "idcard.view_full",
    "announcement.post",
    "stats.view",
    "role.assign",
    "course.manage",
    "course.assign",
    "activity.manage",
    "post.moderate",
} | ALL_RES
SUPERVISOR = {"community.view", "member.list", "stats.view"}
PROJECT_MANAGER = {"community.view", "member.list", "announcement.post", "stats.view", "roster.export"} | UP
NOTHING: set[str] = set()

# Research writing (issue 4): read by the workshop's members and the roles above it, written by members
# (their own) and hosts/experts (the workshop's); briefs composed by hosts, experts, managers, admins.
# Workshop members take part in the workshop's activities.
MEMBER = LIST | {"writing.view", "writing.write", "activity.participate"}
HOST |= {"writing.view", "writing.host", "brief.post"}
EXPERT |= {"writing.view", "writing.host", "brief.post"}
TRAINER |= {"writing.view", "brief.post"}
SCHOOL_ADMIN |= {"writing.view", "brief.post"}
REGION_ADMIN |= {"writing.view", "brief.post"}
SUPERVISOR |= {"writing.view"}
PROJECT_MANAGER |= {"writing.view", "brief.post"}
# Homework (issue 5): members submit and review in their workshop; the host sets and grades; the
# expert also publishes excellent work; read-only inspection roles and admins may open assignments.
MEMBER |= {"homework.view", "homework.submit"}
HOST |= {"homework.view", "homework.manage", "homework.grade"}
EXPERT |= {"homework.view", "homework.manage", "homework.grade", "homework.publish"}
REGION_ADMIN |= {"homework.view"}
SUPERVISOR |= {"homework.view"}
PROJECT_MANAGER |= {"homework.view", "homework.manage", "homework.grade"}
# Administration (issue 2): a school admin names the school's trainers, so holds role.assign there.
SCHOOL_ADMIN |= {"role.assign"}

# Training projects (lms.projects): region admins create, edit and enrol in the projects of their region;
# a project manager enrols and assigns courses where they hold the role (here the province: the
# project-held manager is covered in test_projects_matrix); a supervisor sees; a school admin
# nominates their school's teachers into the projects of the regions above the school (looking up).
REGION_ADMIN |= {"project.view", "project.manage", "project.enrol"}
SUPERVISOR |= {"project.view"}
# The matrix's project manager is a province-wide holder appointed before projects existed: it keeps
# its inspection and communication but none of a project manager's powers over projects and courses,
# which are held in a project only (a training institution runs one project, DOMAIN.md §2–3; the
# project-held manager is covered in test_projects_matrix).
SCHOOL_ADMIN |= {"project.nominate"}
_NOMINATE_UP = VIEW | {"project.nominate"}

# Regions above school A / workshop A: a member of those may open the pages, nothing more.
_UP_A = {"county_a": VIEW, "city": VIEW, "province": VIEW}

# role -> object -> capabilities; an object not listed means no capability at all.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "teacher": {"school_a": LIST, **_UP_A},
    "member": {"school_a": LIST, "workshop_a": MEMBER, **_UP_A},
    # A group leader sees their own group's course progress (the view narrows it to the groups they lead).
    "leader": {"school_a": LIST, "workshop_a": MEMBER | {"group.progress"}, **_UP_A},
    "host": {"school_a": LIST, "workshop_a": HOST, **_UP_A},
    "expert": {"workshop_a": EXPERT, **_UP_A},
    "school_trainer": {"school_a": TRAINER, **_UP_A},
    "school_admin": {
        "school_a": SCHOOL_ADMIN,
        "county_a": _NOMINATE_UP,
        "city": _NOMINATE_UP,
        "province": _NOMINATE_UP,
    },
    "county_admin": {
        "county_a": REGION_ADMIN,
        "school_a": REGION_ADMIN,
        "workshop_a": REGION_ADMIN,
        "city": VIEW,
        "province": VIEW,
    },
    "city_admin": {
        "city": REGION_ADMIN,
        "county_a": REGION_ADMIN,
        "county_b": REGION_ADMIN,
        "school_a": REGION_ADMIN,
        "school_b": REGION_ADMIN,
        "workshop_a": REGION_ADMIN,
        "workshop_b": REGION_ADMIN,
        "province": VIEW,
    },
    "province_admin": {obj: REGION_ADMIN for obj in OBJECTS},
    "supervisor": {
        "county_a": SUPERVISOR,
        "school_a": SUPERVISOR,
        "workshop_a": SUPERVISOR,
        "city": VIEW,
        "province": VIEW,
    },
    "project_manager": {obj: PROJECT_MANAGER for obj in OBJECTS},
    "site_admin": {obj: ALL for obj in OBJECTS},
    "outsider": {},
}


# Live Q&A: live.view (and live.ask, but for supervisors) everywhere a role sees the page (it looks
# up the tree like community.view); live.host where a host, expert, project manager or region admin
# works; live.answer for experts.
# (New sets, not add(): the rows share the sets above.)
for _role, _row in EXPECTED.items():
    for _obj, _caps in list(_row.items()):
        if "community.view" in _caps:
            # Supervisors only watch: asking, voting and chatting (live.ask) is taking part.
            _row[_obj] = _caps | ({"live.view"} if _role == "supervisor" else {"live.view", "live.ask"})
for _role, _objs in {
    "host": ["workshop_a"],
    "expert": ["workshop_a"],
    "county_admin": ["county_a", "school_a", "workshop_a"],
    "city_admin": ["city", "county_a", "county_b", "school_a", "school_b", "workshop_a", "workshop_b"],
    "province_admin": OBJECTS,
    "project_manager": OBJECTS,
}.items():
    for _obj in _objs:
        EXPECTED[_role][_obj] = EXPECTED[_role][_obj] | {"live.host"}
EXPECTED["expert"]["workshop_a"] = EXPECTED["expert"]["workshop_a"] | {"live.answer"}


def expected(role: str, capability: str, obj: str) -> bool:
    return capability in EXPECTED[role].get(obj, NOTHING)


# Who may appoint (and revoke) which role where, from DOMAIN.md §2: an administrative role hands out,
# within its reach, the roles below its own level, never its own level or one above it; a role goes
# only where it may be held (a county admin in a county, a host in a workshop…). Site admins are made
# from the shell only. role -> object -> roles; an object not listed means none.
# A project manager is appointed in a project only (test_projects_matrix), never over a region.
# Subject experts lead subject workshops across a project (§1): city and province admins appoint them,
# a county admin does not (the county's teaching researcher leading its workshop is the host).
_REGION_STAFF = {"expert", "supervisor"}
_SCHOOL_STAFF = {"school_admin", "school_trainer"}
_WORKSHOP_STAFF = {"host", "expert"}
_COUNTY_STAFF = {"supervisor"}


_SCHOOLS_AND_WORKSHOPS = {
    "school_a": _SCHOOL_STAFF,
    "school_b": _SCHOOL_STAFF,
    "workshop_a": _WORKSHOP_STAFF,
    "workshop_b": _WORKSHOP_STAFF,
}
_COUNTIES = {"county_a": _REGION_STAFF | {"county_admin"}, "county_b": _REGION_STAFF | {"county_admin"}}

APPOINTS: dict[str, dict[str, set[str]]] = {
    "school_admin": {"school_a": {"school_trainer"}},
    "county_admin": {"county_a": _COUNTY_STAFF, "school_a": _SCHOOL_STAFF, "workshop_a": {"host"}},
    "city_admin": {"city": _REGION_STAFF, **_COUNTIES, **_SCHOOLS_AND_WORKSHOPS},
    "province_admin": {
        "province": _REGION_STAFF,
        "city": _REGION_STAFF | {"city_admin"},
        **_COUNTIES,
        **_SCHOOLS_AND_WORKSHOPS,
    },
    "site_admin": {
        "province": _REGION_STAFF | {"province_admin"},
        "city": _REGION_STAFF | {"city_admin"},
        **_COUNTIES,
        **_SCHOOLS_AND_WORKSHOPS,
    },
}


# Audit trail (lms.audit): school and region admins read the entries of the places they administer
# (downward only, like their other administrative rights); site admins everything. Its own block so
# that changes above merge cleanly.
ALL.add("audit.view")
for _role, _objs in {
    "site_admin": OBJECTS,
    "school_admin": ["school_a"],
    "county_admin": ["county_a", "school_a", "workshop_a"],
    "city_admin": ["city", "county_a", "county_b", "school_a", "school_b", "workshop_a", "workshop_b"],
    "province_admin": OBJECTS,
}.items():
    for _obj in _objs:
        EXPECTED[_role][_obj] = EXPECTED[_role][_obj] | {"audit.view"}
