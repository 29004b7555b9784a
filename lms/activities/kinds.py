"""The registry of activity kinds. Built-in kinds register here; plugins add theirs through
`PluginAPI.register_activity_kind(ActivityKind(...))`.

A kind says how its activity page looks (a template included into activities/activity.html, given
`activity`, `kind` and whatever `context(activity, user)` returns) and which shared features it
uses (`posts`: the discussion thread under it; `resources`: members share files; `offline`: the
stamped result form 成绩鉴定表 and its marking; `questionnaire`: questions answered once).
Hooks are plain callables, all optional:

    on_created(activity)              after the activity was committed
    context(activity, user) -> dict   extra template data for the kind's template
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass
class ActivityKind:
    name: str
    label: Any  # a (lazy) string
    #: The template included into the activity page for this kind.
    template: str = "activities/kinds/discussion.html"
    #: One line for the form: what members do in it.
    help: Any = ""
    posts: bool = False
    resources: bool = False
    offline: bool = False
    questionnaire: bool = False
    #: Counts toward the "online activities" of a host's assessment (offline does not).
    online: bool = True
    hooks: dict[str, Callable] = field(default_factory=dict)

    def hook(self, name: str, *args, default=None):
        fn = self.hooks.get(name)
        return fn(*args) if fn else default


_KINDS: dict[str, ActivityKind] = {}


def register_kind(kind: ActivityKind) -> ActivityKind:
    if not kind.name or len(kind.name) > 32:
        raise ValueError("an activity kind needs a name of at most 32 characters")
    _KINDS[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    _KINDS.pop(name, None)


def get_kind(name: str) -> ActivityKind | None:
    return _KINDS.get(name)


def all_kinds() -> list[ActivityKind]:
    return list(_KINDS.values())


def kind_label(name: str) -> str:
    kind = _KINDS.get(name)
    return str(kind.label) if kind else name


# Built-in kinds (DOMAIN.md §5).
register_kind(ActivityKind(
    "discussion", _l("Discussion"), "activities/kinds/discussion.html", posts=True,
    help=_l("Members post and reply on the topic; effective posts are counted."),
))  # fmt: skip
register_kind(ActivityKind(
    "sharing", _l("Resource sharing"), "activities/kinds/sharing.html", resources=True, posts=True,
    help=_l("Members upload resources on the topic (lesson designs, courseware, cases…)."),
))  # fmt: skip
register_kind(ActivityKind(
    "offline", _l("Offline practice"), "activities/kinds/offline.html", offline=True, online=False,
    help=_l("Members upload a photo or scan of the stamped result form and the resources they produced; "
            "the host marks it."),
))  # fmt: skip
register_kind(ActivityKind(
    "questionnaire", _l("Questionnaire"), "activities/kinds/questionnaire.html", questionnaire=True,
    help=_l("Single-choice, multiple-choice and free-text questions; each member answers once."),
))  # fmt: skip
