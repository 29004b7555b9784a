"""Optional and site-specific features; each sub-package exposes setup(api: lms.plugins.PluginAPI)."""
