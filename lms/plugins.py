"""Plugins: packages under plugins/<name>/ exposing `setup(api: PluginAPI)`.

They see only this API and lms.signals, so the core can change beneath them.
"""

import importlib
import logging
import pkgutil
from pathlib import Path

from flask import Blueprint, Flask

from lms.config import BASE_DIR

log = logging.getLogger(__name__)


class PluginAPI:
    def __init__(self, app: Flask, name: str):
        self.app = app
        self.name = name

    def register_blueprint(self, bp: Blueprint, url_prefix: str | None = None) -> None:
        self.app.register_blueprint(bp, url_prefix=url_prefix or f"/plugins/{self.name}")

    def add_capability(self, capability: str, label, roles: list[str]) -> None:
        from lms.access.roles import CAPABILITIES, ROLE_CAPABILITIES

        CAPABILITIES[capability] = label
        # The site admin holds every capability, including those plugins add later.
        for role in {*roles, "site_admin"}:
            ROLE_CAPABILITIES[role].add(capability)

    def register_nav(self, endpoint: str, label, order: int = 80, side: str = "main", visible=None) -> None:
        from lms.core.slots import register_nav

        register_nav(self.app, endpoint, label, order, side, visible)

    def register_panel(self, page: str, name: str, template: str, loader, order: int = 80, column="list") -> None:
        """Add a panel to the personal space or a workshop/school/region page (see lms.core.slots)."""
        from lms.core.slots import register_panel

        register_panel(self.app, page, f"{self.name}.{name}", template, loader, order, column)

    def register_activity_kind(self, kind) -> None:
        """Add a workshop activity kind (lms.activities.kinds.ActivityKind: name, label, template,
        features, hooks); its template lives in templates/plugins/<name>/."""
        from lms.activities.kinds import register_kind

        register_kind(kind)


def load_plugins(app: Flask) -> list[str]:
    enabled = app.config.get("PLUGINS")
    plugin_dir = Path(BASE_DIR / "plugins")
    loaded = []
    for info in pkgutil.iter_modules([str(plugin_dir)]):
        if enabled is not None and info.name not in enabled:
            continue
        module = importlib.import_module(f"plugins.{info.name}")
        if hasattr(module, "setup"):
            module.setup(PluginAPI(app, info.name))
            loaded.append(info.name)
    app.extensions["lms_plugins"] = loaded
    return loaded
