"""The one table of which role grants which capability, and where a role may be held.

A role held in a context reaches that context's whole subtree (DOMAIN.md §2).
"""

from flask_babel import lazy_gettext as _l

# Capabilities, by name. Views, API endpoints and socket events check these, never role names.
CAPABILITIES = {
    "community.view": _l("View a community page"),
    "member.list": _l("See member lists"),
    "member.contact": _l("See members' phone numbers"),
    "user.manage": _l("Edit accounts and reset passwords"),
    "workshop.manage": _l("Manage a workshop: groups, leaders, members"),
    "workshop.create": _l("Create workshops"),
    "school.manage": _l("Manage a school"),
    "region.manage": _l("Manage a region"),
    "roster.import": _l("Import rosters"),
    "roster.export": _l("Export rosters"),
    "idcard.view_full": _l("See full ID-card numbers"),
    "announcement.post": _l("Post announcements"),
    "stats.view": _l("See learning statistics"),
    "role.assign": _l("Assign roles"),
    "resource.upload": _l("Upload resources into a community library"),
    "resource.curate": _l("Curate resources: feature, mark excellent, move into a regional library"),
    "resource.remove": _l("Remove resources from a library"),
    "course.manage": _l("Create and edit courses, upload lesson videos"),
    "course.assign": _l("Make courses required or elective for a workshop or region"),
    "activity.manage": _l("Create and run workshop activities, mark offline practice"),
    "activity.participate": _l("Take part in workshop activities: post, reply, share, answer"),
    "post.moderate": _l("Pin, hide and feature discussion posts"),
    "writing.view": _l("Read a workshop's research plans, logs and summaries"),
    "writing.write": _l("Write one's own research plan, logs and summary in a workshop"),
    "writing.host": _l("Write the workshop plan and stage summaries"),
    "brief.post": _l("Compose briefs"),
    "homework.view": _l("Open homework assignments"),
    "homework.submit": _l("Submit homework and review peers"),
    "homework.manage": _l("Set homework assignments, phases and reviewer allocation"),
    "homework.grade": _l("Grade homework, see reviewers' names, recommend excellent work"),
    "homework.publish": _l("Publish recommended excellent homework"),
}

_VIEW = {"community.view", "member.list"}
_ADMIN = _VIEW | {
    "member.contact", "user.manage", "school.manage", "roster.import", "roster.export",
    "announcement.post", "stats.view", "workshop.manage", "workshop.create",
}  # fmt: skip
_REGION_ADMIN = _ADMIN | {"region.manage", "idcard.view_full", "role.assign"}

ROLE_CAPABILITIES: dict[str, set[str]] = {
    # A teacher is a member of their school community and may list its teachers (no phone numbers).
    "teacher": {"community.view", "member.list"},
    "member": {"community.view", "member.list"},
    "group_leader": {"community.view", "member.list"},
    "host": _VIEW | {"workshop.manage", "announcement.post", "stats.view", "member.contact"},
    "expert": _VIEW | {"announcement.post", "stats.view"},
    "school_trainer": _VIEW | {"stats.view", "announcement.post"},
    "school_admin": _ADMIN - {"workshop.create"},
    "supervisor": _VIEW | {"stats.view"},
    "project_manager": _VIEW | {"stats.view", "announcement.post", "roster.export"},
    # Each role its own set: PluginAPI.add_capability() adds to one role's set in place.
    "county_admin": set(_REGION_ADMIN),
    "city_admin": set(_REGION_ADMIN),
    "province_admin": set(_REGION_ADMIN),
    "site_admin": set(CAPABILITIES),
}

# Workshop activities: workshop members, hosts and experts take part; whoever manages the workshop
# (host, school admin, region admins) runs its activities and moderates posts. Subject workshops are
# led by subject experts (DOMAIN.md §1): an expert runs activities where they hold the expert role.
for _role in ("member", "group_leader", "host", "expert"):
    ROLE_CAPABILITIES[_role].add("activity.participate")
for _role in ("host", "expert", "school_admin", "county_admin", "city_admin", "province_admin"):
    ROLE_CAPABILITIES[_role] |= {"activity.manage", "post.moderate"}
# Research writing is read inside its workshop and by the roles above it, never by a school's
# teachers who are not members; briefs are composed by hosts, experts, project managers and admins.
for _role in ("member", "group_leader"):
    ROLE_CAPABILITIES[_role] |= {"writing.view", "writing.write"}
for _role in ("host", "expert"):
    ROLE_CAPABILITIES[_role] |= {"writing.view", "writing.host", "brief.post"}
for _role in ("school_trainer", "school_admin", "project_manager", "county_admin", "city_admin", "province_admin"):
    ROLE_CAPABILITIES[_role] |= {"writing.view", "brief.post"}
ROLE_CAPABILITIES["supervisor"] |= {"writing.view"}
# Homework (issue 5): members submit and review; hosts and experts set and grade; experts publish.
for _role in ("member", "group_leader"):
    ROLE_CAPABILITIES[_role] |= {"homework.view", "homework.submit"}
ROLE_CAPABILITIES["host"] |= {"homework.view", "homework.manage", "homework.grade"}
ROLE_CAPABILITIES["expert"] |= {"homework.view", "homework.manage", "homework.grade", "homework.publish"}
ROLE_CAPABILITIES["project_manager"] |= {"homework.view", "homework.manage", "homework.grade"}
for _role in ("supervisor", "county_admin", "city_admin", "province_admin"):
    ROLE_CAPABILITIES[_role] |= {"homework.view"}

ROLE_LABELS = {
    "teacher": _l("Teacher"),
    "member": _l("Workshop member"),
    "group_leader": _l("Group leader"),
    "host": _l("Workshop host"),
    "expert": _l("Subject expert"),
    "school_trainer": _l("School trainer"),
    "school_admin": _l("School admin"),
    "supervisor": _l("Supervisor"),
    "project_manager": _l("Project manager"),
    "county_admin": _l("County admin"),
    "city_admin": _l("City admin"),
    "province_admin": _l("Province admin"),
    "site_admin": _l("Site admin"),
    "trainee": _l("Trainee"),
}

# Where an explicit role may be held: (context kind, region level or None).
ROLE_CONTEXTS = {
    "host": {("workshop", None)},
    "expert": {("workshop", None), ("region", "province"), ("region", "city"), ("region", "county")},
    "school_trainer": {("school", None)},
    "school_admin": {("school", None)},
    "supervisor": {("region", "province"), ("region", "city"), ("region", "county")},
    # In one training project (lms.projects) only: see HELD_IN below for the older region-wide holders.
    "project_manager": {("project", None)},
    "county_admin": {("region", "county")},
    "city_admin": {("region", "city")},
    "province_admin": {("region", "province")},
    "site_admin": {("site", None)},
}

# Resource library (issue 7): members post into their workshop and school libraries, regional roles
# into the region's; hosts, experts and admins curate; admins remove.
for _role in ("teacher", "member", "group_leader", "host", "expert", "school_trainer", "school_admin",
              "project_manager", "county_admin", "city_admin", "province_admin"):  # fmt: skip
    ROLE_CAPABILITIES[_role].add("resource.upload")
for _role in ("host", "expert", "school_admin", "county_admin", "city_admin", "province_admin"):
    ROLE_CAPABILITIES[_role].add("resource.curate")
for _role in ("school_admin", "county_admin", "city_admin", "province_admin"):
    ROLE_CAPABILITIES[_role].add("resource.remove")

# Capabilities that also look *up* the tree: a teacher belongs to their county, city and province
# communities and may open those pages, though the role does not reach sideways into a neighbour.
UPWARD = {"community.view"}

# Courses 课程超市: subject experts and region admins make courses in their contexts; they and
# workshop hosts assign courses (required or elective) to the workshops and regions they reach: a
# host to their own workshop, as required courses are the workshop's/project's call (DOMAIN.md §1,
# §4). Site admins hold every capability already.
for _role in ("expert", "county_admin", "city_admin", "province_admin"):
    ROLE_CAPABILITIES[_role] |= {"course.manage", "course.assign"}
ROLE_CAPABILITIES["host"].add("course.assign")
# A group leader 小组长 urges their group on (督促组员): they see the course progress of the members of
# the study groups they lead, in their workshop, and nothing of the other groups (lms.courses.watch_views
# narrows the page to their groups; stats.view shows the whole workshop).
CAPABILITIES["group.progress"] = _l("See the course progress of the members of the study groups one leads")
ROLE_CAPABILITIES["group_leader"].add("group.progress")
ROLE_CAPABILITIES["site_admin"].add("group.progress")

# Live Q&A (lms.live): watching (live.view) and taking part (live.ask: ask, vote, chat, post in the
# Q&A area) reach up the tree like community.view (a teacher follows the county's and the province's
# sessions); hosting and answering stay within the context. Supervisors 督导 only watch (read-only
# inspection, DOMAIN.md §2).
CAPABILITIES.update({
    "live.view": _l("Watch live Q&A sessions and read the Q&A area"),
    "live.ask": _l("Ask questions, vote and chat in live Q&A sessions and the Q&A area"),
    "live.host": _l("Host live sessions: schedule, broadcast, answer, moderate"),
    "live.answer": _l("Answer in the Q&A area and keep on-duty slots"),
})  # fmt: skip
for _role in ("teacher", "member", "group_leader", "school_trainer", "school_admin"):
    ROLE_CAPABILITIES[_role] |= {"live.view", "live.ask"}
ROLE_CAPABILITIES["supervisor"] |= {"live.view"}
for _role in ("host", "project_manager", "county_admin", "city_admin", "province_admin"):
    ROLE_CAPABILITIES[_role] |= {"live.view", "live.ask", "live.host"}
ROLE_CAPABILITIES["expert"] |= {"live.view", "live.ask", "live.host", "live.answer"}
ROLE_CAPABILITIES["site_admin"] |= {"live.view", "live.ask", "live.host", "live.answer"}
UPWARD |= {"live.view", "live.ask"}

# Who appoints whom (DOMAIN.md §2, issue 2): an administrative role hands out, within its reach, the
# roles below its own level, never its own level or one above it. A county admin appoints school
# admins, trainers, hosts, supervisors and project managers of the county (in one of its projects:
# ROLE_CONTEXTS); a school admin names the school's trainers. site_admin is granted only from the
# shell (`flask lms grant-role`), so no web session can make another site admin. The same table bounds
# whose account one may reset or deactivate (access.services.can on a person): only people all of
# whose roles one could have given.
#
# Subject experts 学科专家 are appointed by city and province admins only (in their region, one of its
# counties or one of its workshops), never by a county admin: DOMAIN.md §1–2 has them lead subject
# workshops across a project (004: 37 experts for 19 counties), with a chief expert per subject, and
# the role carries powers beyond a county's own (homework.publish into the regional library, courses
# for the supermarket, answering in the Q&A area). A county's teaching researcher 县教研员 who leads
# the county's workshop is its host 坊主, which the county admin does appoint. Expert rows already
# held in a county stay valid (a city admin may name an expert for one county's workshops).
_BELOW_COUNTY = {"supervisor", "project_manager", "expert", "school_admin", "school_trainer", "host"}
ASSIGNABLE: dict[str, set[str]] = {
    "site_admin": {"province_admin", "city_admin", "county_admin"} | _BELOW_COUNTY,
    "province_admin": {"city_admin", "county_admin"} | _BELOW_COUNTY,
    "city_admin": {"county_admin"} | _BELOW_COUNTY,
    "county_admin": _BELOW_COUNTY - {"expert"},
    "school_admin": {"school_trainer"},
}
# A school admin names the school's trainers (whose capabilities are a subset of its own).
ROLE_CAPABILITIES["school_admin"].add("role.assign")

# Training projects 培训项目 (lms.projects, DOMAIN.md §3). A project's context hangs under the region
# that runs it. Region admins create and edit projects and enrol teachers of their region; a project
# manager, appointed for one project, enrols into it and makes courses required or elective for it;
# enrolled teachers are its trainees (an implied role, like a workshop's members) and see it; a
# supervisor inspects. A school admin nominates the school's own teachers (调训) into the projects of
# the regions above the school: `project.nominate` looks up the tree, so holding it at the school
# answers for the county, city and province that run projects, and downward only for that school.
CAPABILITIES.update({
    "project.view": _l("See a training project"),
    "project.manage": _l("Create and edit training projects"),
    "project.enrol": _l("Enrol the teachers of a project's region into a training project"),
    "project.nominate": _l("Nominate the school's teachers for the training projects above it"),
})  # fmt: skip
# Trainees also follow the live Q&A sessions held for their project (DOMAIN §7: sessions for a
# project), asking and voting as in their workshop's.
ROLE_CAPABILITIES["trainee"] = {"community.view", "project.view", "live.view", "live.ask"}
for _role in ("county_admin", "city_admin", "province_admin"):
    ROLE_CAPABILITIES[_role] |= {"project.view", "project.manage", "project.enrol"}
ROLE_CAPABILITIES["project_manager"] |= {"project.view", "project.enrol", "course.assign"}

# A project manager 项目管理员 is the training institution running one project (DOMAIN.md §2–3).
# Before projects existed the role was held over a whole region, where it made courses required for
# every workshop and enrolled into every project of the region: another institution's projects
# included. It is now appointed in a project only (ROLE_CONTEXTS); the region-wide assignments still
# stored keep the inspection and communication they had (lists, statistics, announcements, briefs,
# homework, live sessions: the assessments other pages rely on) but not these, which a role carries
# only where it is held in a context of the kind named here. access.services applies this in every
# check (can, require, visible, scope, reach_paths), so a list never shows what can() refuses.
HELD_IN: dict[str, tuple[str, frozenset[str]]] = {
    "project_manager": ("project", frozenset({"project.view", "project.enrol", "course.assign"})),
}
#: Where a role could be held once and no longer may be appointed: existing rows still count (as
#: HELD_IN narrows them) and may be revoked, never given anew.
LEGACY_CONTEXTS = {
    "project_manager": {("region", "province"), ("region", "city"), ("region", "county")},
}
ROLE_CAPABILITIES["supervisor"].add("project.view")
ROLE_CAPABILITIES["school_admin"].add("project.nominate")
ROLE_CAPABILITIES["site_admin"] |= set(CAPABILITIES)
UPWARD.add("project.nominate")

# Audit trail (lms.audit): the administrators of a school or region read the stored record of the
# administrative actions taken there (roles, accounts, rosters, the community tree, workshops); site
# admins read all of it. Kept in its own block so that other changes to this table merge cleanly.
CAPABILITIES["audit.view"] = _l("Read the audit trail of administrative actions")
for _role in ("school_admin", "county_admin", "city_admin", "province_admin", "site_admin"):
    ROLE_CAPABILITIES[_role].add("audit.view")
