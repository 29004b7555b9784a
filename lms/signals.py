"""Every blinker signal of the application, with the keyword arguments it carries.

Domains send; other domains listen (DESIGN.md: fan-out goes through signals).
"""

from blinker import Namespace

_signals = Namespace()

#: sender=User, kwargs: none. After a successful sign-in.
user_logged_in = _signals.signal("user-logged-in")
#: sender=importer (User), kwargs: scope (School | Region), created (int), updated (int).
roster_imported = _signals.signal("roster-imported")
#: sender=Workshop, kwargs: user (User). After a member joins a workshop.
member_joined = _signals.signal("member-joined")
#: sender=Announcement, kwargs: context (access Context). After an announcement is posted.
announcement_posted = _signals.signal("announcement-posted")

#: sender=DemoResult, kwargs: rng (random.Random), scale (int), password (str). After `flask lms demo`
#: built the communities; each domain may add its own demo content (courses, activities…).
demo_built = _signals.signal("demo-built")

#: sender=domain name (str), kwargs: kind (str, e.g. "post"), ids (list[int]). After a commit that
#: created or changed searchable things; the search domain re-reads them through the owner's
#: `search_documents(ids)` service and indexes them.
content_changed = _signals.signal("content-changed")
#: sender=domain name (str), kwargs: kind (str), ids (list[int]). After a commit that deleted them.
content_deleted = _signals.signal("content-deleted")
