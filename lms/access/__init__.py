"""Permissions: `from lms import access; access.can(user, "roster.import", school)`."""

from lms.access.services import can, grants, holds_anywhere, reach_paths, require, visible  # noqa: F401
