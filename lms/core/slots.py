"""Extension points of the shared pages: navigation entries and page panels.

Domains register here from their package's `init_app(app)` instead of editing the shared templates,
so the personal space, the community pages and the navigation bar grow without each new domain
touching the others. Plugins use the same registry through PluginAPI.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

PAGES = ("personal_space", "workshop", "school", "region")


@dataclass(order=True)
class NavItem:
    order: int
    endpoint: str = field(compare=False)
    label: Any = field(compare=False)  # a lazy string
    #: "main" (left, after My space), "user" (right, beside the user's name) or "bar": always in
    #: sight on a phone, beside the menu button (an icon with a count), hidden on wider screens.
    side: str = field(default="main", compare=False)
    #: Shown only when this returns true for the signed-in user.
    visible: Callable[[Any], bool] | None = field(default=None, compare=False)
    #: Optional template rendered inside the link (a badge, an icon).
    template: str | None = field(default=None, compare=False)
    #: Optional template rendered INSTEAD of the link, inside the <li> (a compact search form).
    widget: str | None = field(default=None, compare=False)


@dataclass(order=True)
class Panel:
    order: int
    name: str = field(compare=False)
    template: str = field(compare=False)
    #: Called with the page's objects (user=..., workshop=..., ...); returns the template's data,
    #: or None to leave the panel out.
    loader: Callable[..., dict | None] = field(compare=False)
    #: "main", "side" or "list": the column of the page grid it goes into.
    column: str = field(default="list", compare=False)


@dataclass
class Slots:
    nav: list[NavItem] = field(default_factory=list)
    panels: dict[str, list[Panel]] = field(default_factory=lambda: {p: [] for p in PAGES})


def slots(app: Flask) -> Slots:
    return app.extensions.setdefault("lms_slots", Slots())


def register_nav(
    app: Flask, endpoint: str, label, order: int = 50, side: str = "main", visible=None, template=None, widget=None
):
    items = slots(app).nav
    items[:] = [i for i in items if (i.endpoint, i.side) != (endpoint, side)]
    items.append(NavItem(order, endpoint, label, side, visible, template, widget))
    items.sort()


def register_panel(app: Flask, page: str, name: str, template: str, loader, order: int = 50, column: str = "list"):
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}; one of {PAGES}")
    panels = slots(app).panels[page]
    panels[:] = [p for p in panels if p.name != name]
    panels.append(Panel(order, name, template, loader, column))
    panels.sort()


@dataclass
class RenderedPanel:
    name: str
    template: str
    column: str
    data: dict


def panels_for(app: Flask, page: str, **objects) -> list[RenderedPanel]:
    """Run the loaders of a page's panels; a loader returning None leaves its panel out."""
    out = []
    for p in slots(app).panels[page]:
        data = p.loader(**objects)
        if data is not None:
            out.append(RenderedPanel(p.name, p.template, p.column, data))
    return out


def nav_items(app: Flask, user, side: str) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [i for i in slots(app).nav if i.side == side and (i.visible is None or i.visible(user))]
