"""Every blinker signal of the application, with the keyword arguments it carries.

Domains send; other domains listen (DESIGN.md: fan-out goes through signals).
"""

from blinker import Namespace

_signals = Namespace()

#: sender=User, kwargs: none. After a successful sign-in.
user_logged_in = _signals.signal("user-logged-in")
#: sender=importer (User), kwargs: scope (School | Region), created (int), updated (int).
roster_imported = _signals.signal("roster-imported")
#: sender=User (the person), kwargs: role (str), context (access Context), actor (User, or None from
#: the shell). After a role was given (access.appoint, access.replace_holders) and committed.
role_granted = _signals.signal("role-granted")
#: Same arguments, after a role was taken away and committed.
role_revoked = _signals.signal("role-revoked")
#: sender=User (the account), kwargs: change ("password_reset", "deactivated", "reactivated"),
#: actor (User). After an administrator changed someone's account and committed.
account_changed = _signals.signal("account-changed")
#: sender=Workshop, kwargs: user (User). After a member joins a workshop.
member_joined = _signals.signal("member-joined")
#: sender=Announcement, kwargs: context (access Context). After an announcement is posted.
announcement_posted = _signals.signal("announcement-posted")

#: sender=DemoResult, kwargs: rng (random.Random), scale (int), password (str). After `flask lms demo`
#: built the communities; each domain may add its own demo content (courses, activities…).
demo_built = _signals.signal("demo-built")

#: sender=domain name (str), kwargs: kind (str, e.g. "post"), ids (list[int]). After a commit that
#: created or changed searchable things. The search domain re-reads them through the source the
#: owning domain registered with `lms.search.sources.register_source(kind, load)` (see there for
#: the document shape) and indexes them.
content_changed = _signals.signal("content-changed")
#: sender=domain name (str), kwargs: kind (str), ids (list[int]). After a commit that deleted them.
content_deleted = _signals.signal("content-deleted")

#: sender=Submission, kwargs: assignment, peer_grade (float | None), host_grade (float | None),
#: final_grade (float | None), reviews_done (int), reviewing_grade (float | None: the author's grade
#: for reviewing, None before their first review). After a grade of the submission or its author's
#: grade for reviewing changed; assessment, credits and notifications listen (homework computes no
#: final score itself).
homework_graded = _signals.signal("homework-graded")
#: sender=Assignment, kwargs: user_id (int), grade (float, out of 5), reviews_done (int),
#: reviews_required (int: what full marks need, fewer than reviews_per_member when fewer were
#: allocated). After one participant's grade for reviewing changed, whether or not they submitted.
homework_review_graded = _signals.signal("homework-review-graded")
#: sender=Submission, kwargs: expert (User), title (str), body_html (str), file_ids (list[int]),
#: context (access Context the work came from), author (User). An expert published excellent
#: homework (推优); the resource library listens and files it as a resource.
homework_published = _signals.signal("homework-published")
#: sender=the activity's object, kwargs: user (User), title (str), description (str),
#: file_id (int, a media StoredFile), context (access Context of the workshop). A member shared a
#: resource in a resource-sharing or offline activity; the resource library may file it.
activity_resource_shared = _signals.signal("activity-resource-shared")
#: sender=User (the teacher), kwargs: lesson_id (int), course_id (int), seconds (int). After
#: watch time was credited; assessment and stats listen.
watch_time_credited = _signals.signal("watch-time-credited")

#: sender=MediaJob, kwargs: none. After a transcoding job finished (job.status "done" or "failed")
#: and was committed; the domain that owns the video (e.g. a course lesson) records the result.
media_job_finished = _signals.signal("media-job-finished")

# --- administration (the audit trail, lms.audit, stores each of these) ---------------------------
#: sender=School or Region, kwargs: change ("created", "renamed", "moved", "closed"), actor (User, or
#: None from the shell), detail (dict of names and counts, no personal data: e.g. {"old": "…",
#: "new": "…"}), origin (access Context or None: the other place concerned: for "moved", the county it left; for
#: "closed", the school its teachers moved to). After commit.
community_changed = _signals.signal("community-changed")
#: sender=Workshop, kwargs: actor (User or None), host (User). After a workshop was opened and committed.
workshop_created = _signals.signal("workshop-created")
#: sender=importer (User), kwargs: change ("kept": a roster import's initial passwords are kept for
#: one download; "taken": downloaded), count (int: passwords on the sheet), context (access Context
#: the roster was imported into, or None). After commit.
password_sheet = _signals.signal("password-sheet")
