"""A school moved to another county: the documents under it are re-indexed with its new context
path at once, so the county it left no longer finds them and the county it joined does."""

from lms.communities import services as communities
from lms.search import services


def test_a_moved_schools_documents_follow_it_in_the_index(app, world, index, announce):
    w = world
    announce(w["school_admin"], w.school_a.context, "教研活动安排", "")
    services.flush()
    old_admin, new_admin = w["county_admin"], w["county_admin_b"]
    assert services.search(old_admin, "教研活动").total == 1
    assert services.search(new_admin, "教研活动").total == 0
    communities.move_school(w.school_a, w.county_b, actor=w["city_admin"])
    services.flush()
    assert services.search(old_admin, "教研活动").total == 0
    assert services.search(new_admin, "教研活动").total == 1
    assert services.check(repair=False) == {}
