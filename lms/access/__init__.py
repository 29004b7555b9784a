"""Permissions: `from lms import access; access.can(user, "roster.import", school)`."""

from lms.access.services import (  # noqa: F401
    AccessError,
    Scope,
    appoint,
    assignable_roles,
    assignments_at,
    can,
    check_appointment,
    dismiss,
    grants,
    holds_anywhere,
    in_reach,
    manageable,
    reach_paths,
    replace_holders,
    require,
    scope,
    visible,
    visible_people,
)
