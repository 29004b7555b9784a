"""Plugins: packages under plugins/<name>/ exposing `setup(api: PluginAPI)`.

They see only this API and lms.signals, so the core can change beneath them.
"""

import importlib
import logging
import os
import pkgutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Blueprint, Flask

from lms.activities.kinds import ActivityKind  # re-exported: plugins build kinds from lms.plugins only
from lms.assessment.schemes import Item as AssessmentItem  # re-exported, as ActivityKind
from lms.assessment.schemes import Scheme as AssessmentScheme
from lms.config import BASE_DIR

__all__ = [
    "ActivityKind",
    "AssessmentItem",
    "AssessmentScheme",
    "Notifier",
    "OutgoingNotification",
    "PluginAPI",
    "load_plugins",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingNotification:
    """One stored notification as a Notifier gets it, with what a gateway needs to reach the person.

    `text` is plain text in the site's language (at most 500 characters); `url` is site-relative or
    None. `phone`, `email` are the recipient's as on their profile (None when not given). They are
    personal data: do not log them in full."""

    id: int
    user_id: int
    kind: str
    text: str
    url: str | None
    created_at: datetime
    name: str
    phone: str | None
    email: str | None


class Notifier:
    """A notification channel a plugin adds (SMS, WeChat, e-mail) with
    `api.register_notification_channel(name, notifier)`.

    Every notification is stored for its recipient first and shown in the site; after the rows are
    committed, `send` gets them in batches of up to 1,000, in the process that stored them (for a large
    announcement: the background job). `kinds`: only these notification kinds reach `send` (None:
    all), e.g. {"announcement", "activity_marked"}; kinds in use include announcement, activity,
    activity_marked, brief, post_reply, post_liked, post_hide, post_unhide, post_feature.
    An exception in `send` is logged and does not stop the other channels; nothing is retried, so a
    gateway that can fail should queue and retry on its side. Keep `send` quick: it runs after a
    user's request or inside a fan-out job.
    """

    kinds: frozenset[str] | set[str] | None = None

    def send(self, messages: list[OutgoingNotification]) -> None:  # pragma: no cover - interface
        raise NotImplementedError


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

    def setting(self, key: str, default=None):
        """A setting of this plugin: app.config["<NAME>_<KEY>"], else the environment variable
        LMS_<NAME>_<KEY> (e.g. LMS_SMS_LOG_KINDS for plugin sms_log, key "KINDS"), else `default`."""
        name = f"{self.name}_{key}".upper()
        if name in self.app.config:
            return self.app.config[name]
        return os.environ.get(f"LMS_{name}", default)

    def register_notification_channel(self, name: str, notifier: Notifier) -> str:
        """Deliver notifications through `notifier` as well (see Notifier); returns the channel's
        registered name, "<plugin>.<name>"."""
        from lms.notifications.services import NotifierChannel, register_channel

        full = f"{self.name}.{name}"
        register_channel(full, NotifierChannel(notifier))
        return full

    def register_activity_kind(self, kind) -> None:
        """Add a workshop activity kind (lms.activities.kinds.ActivityKind: name, label, template,
        features, hooks); its template lives in templates/plugins/<name>/."""
        from lms.activities.kinds import register_kind

        register_kind(kind)

    def register_assessment_scheme(self, scheme) -> None:
        """Add an assessment scheme (AssessmentScheme of AssessmentItems: points, and how each is scored
        from a member's inputs, lms.assessment.schemes); a site picks it with LMS_ASSESSMENT_SCHEME."""
        from lms.assessment.schemes import register

        register(scheme)


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
