"""Loaders of the resource panels on the shared pages (lms.core.slots)."""

from lms.resources import services


def recommended(user=None, **_):
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    from lms.courses import services as courses

    return {"resources": services.recommend(user), "courses": courses.recommend(user)}


def library(page: str):
    def load(user=None, **objects):
        community = objects.get(page)
        if community is None or user is None:
            return None
        ctx = community.context
        items, total = services.library_preview(user, ctx)
        return {"resources": items, "total": total, "context": ctx,
                "may_upload": services.may_upload(user, ctx)}  # fmt: skip

    return load
