"""Permissions: `from lms import access; access.can(user, "roster.import", school)`."""

from lms.access.services import (  # noqa: F401
    Scope,
    can,
    grants,
    holds_anywhere,
    reach_paths,
    require,
    scope,
    visible,
)
