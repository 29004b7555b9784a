"""Community endpoints of /api/v1."""
