"""Permissions: `from lms import access; access.can(user, "roster.import", school)`."""

from lms.access.services import can, holds_anywhere, require, visible  # noqa: F401
