"""Helpers several domains need and that know no domain."""
