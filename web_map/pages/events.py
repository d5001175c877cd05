"""Events on the officer map (事件：基层吹哨、部门报到): the layer, its panel, its legend.

The officer map (:mod:`~web_map.pages.officer`) draws the community's events from
``/api/events`` as circles coloured by status (overdue ones outlined red), or as a heat view of
the open events per grid; its side panel gets a second view, 事件, with the filter (status group,
大类, period), the list, the report form (``/api/events/duplicates`` asked before
``POST /api/events``) and an event's page: its place, department, deadline, timeline
(``/api/events/{code}``) and the buttons of the next steps the user takes
(``POST /api/events/{code}/steps``). The script is ``events.js``.

The workflow is the store's (``layers.events``): the app hands it over as plain data
(:class:`EventSetup`), the pages only draw it. The colours are the pages' own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from web_map import labels
from web_map.pages.base import UserBadge, may

Side = Literal["community", "department"]
SIDES: Final = ("community", "department")

#: Each status's colour: warm while the community has it, purple once the whistle is blown,
#: blues and greens while the department works, greys once finished.
STATUS_COLORS: Final[dict[str, str]] = {
    "reported": "#f57c00",
    "filed": "#f9a825",
    "dispatched": "#8e24aa",
    "accepted": "#1e88e5",
    "handled": "#00897b",
    "fed_back": "#43a047",
    "verified": "#9ccc65",
    "closed": "#78909c",
    "cancelled": "#bdbdbd",
}
#: A status no colour was chosen for (a newly configured one) is drawn so.
OTHER_STATUS_COLOR: Final = "#5d6d7e"
#: The outline of an overdue event (督办).
OVERDUE_COLOR: Final = "#d50000"
#: Open events per grid: the heat view's class breaks (upper bounds exclusive) and colours.
HEAT_BREAKS: Final = (1, 3, 6, 10)
HEAT_COLORS: Final = ("#ffffff", "#fee8c8", "#fdbb84", "#ef6548", "#b30000")
#: How many events the panel lists (the map draws them all).
LIST_MAX: Final = 50


@dataclass(frozen=True)
class EventAction:
    """One step of the workflow: its code, its zh-CN name and the side that takes it."""

    code: str
    label: str
    side: Side


@dataclass(frozen=True)
class EventSetup:
    """The events' workflow as the page needs it, as plain values (the app's, from the store).

    Attributes
    ----------
    statuses
        ``(code, zh-CN name)`` of every status, in the workflow's order.
    final
        The statuses from which no step leads on (已结: closed or cancelled).
    actions
        Every step the workflow has.
    sides
        The sides whose steps the logged-in user takes (``community``: admins, planners and
        grid officers; ``department``: admins and department staff); none: they only read.
    roles
        Each role's zh-CN name, for the timeline ("网格员").
    """

    statuses: tuple[tuple[str, str], ...]
    final: tuple[str, ...]
    actions: tuple[EventAction, ...]
    sides: tuple[Side, ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)


def validate_events(setup: EventSetup) -> None:
    """Raise :class:`ValueError` when ``setup`` does not hang together."""
    codes = [code for code, _ in setup.statuses]
    if not codes or len(set(codes)) != len(codes):
        msg = f"statuses must be distinct and not empty, got {codes}"
        raise ValueError(msg)
    unknown = sorted(set(setup.final) - set(codes))
    if unknown:
        msg = f"final statuses must be statuses, got {unknown}"
        raise ValueError(msg)
    sides = sorted({a.side for a in setup.actions} | set(setup.sides))
    if set(sides) - set(SIDES):
        msg = f"sides must be {SIDES}, got {sides}"
        raise ValueError(msg)


def status_items(setup: EventSetup) -> list[dict[str, str]]:
    """Return the statuses with their colours, in order: ``{"code", "label", "color"}``."""
    return [
        {"code": code, "label": zh, "color": STATUS_COLORS.get(code, OTHER_STATUS_COLOR)}
        for code, zh in setup.statuses
    ]


def heat_classes() -> list[dict[str, str]]:
    """Return the heat view's classes: ``{"color", "label"}``, fewest first."""
    return [
        {"color": c, "label": t}
        for c, t in zip(HEAT_COLORS, labels.EVENT_HEAT_CLASSES, strict=True)
    ]


def events_config(setup: EventSetup, user: UserBadge | None) -> dict[str, Any]:
    """Return what ``events.js`` starts from (``GridMap.config.events``)."""
    return {
        "statuses": status_items(setup),
        "final": list(setup.final),
        "open": [code for code, _ in setup.statuses if code not in setup.final],
        "actions": {a.code: {"label": a.label, "side": a.side} for a in setup.actions},
        "sides": list(setup.sides),
        "roles": dict(setup.roles),
        "groups": dict(labels.EVENT_GROUPS),
        "periods": dict(labels.EVENT_PERIODS),
        "views": dict(labels.EVENT_VIEWS),
        "sources": dict(labels.EVENT_SOURCES),
        "overdueColor": OVERDUE_COLOR,
        "heat": {"breaks": list(HEAT_BREAKS), "colors": list(HEAT_COLORS)},
        "initial": {"group": "open", "period": "all", "view": "points"},
        "listMax": LIST_MAX,
        "mayReport": may(user, "report_events"),
        "layerNames": dict(labels.EVENT_LAYER_NAMES),
    }


def panel_events(setup: EventSetup, user: UserBadge | None) -> dict[str, Any]:
    """Return what the side panel's 事件 view renders: its strings, filter, statuses, form."""
    return {
        "labels": dict(labels.EVENT_UI),
        "groups": dict(labels.EVENT_GROUPS),
        "periods": dict(labels.EVENT_PERIODS),
        "views": dict(labels.EVENT_VIEWS),
        "statuses": status_items(setup),
        "heat": heat_classes(),
        "legend": dict(labels.EVENT_LEGEND),
        "overdue_color": OVERDUE_COLOR,
        "may_report": may(user, "report_events"),
    }


def legend_sections(setup: EventSetup) -> list[dict[str, Any]]:
    """Return the officer legend's event sections: the statuses, and the heat view's classes.

    The heat section is hidden until the heat view is shown (``events.js``).
    """
    dot = "gm-ev-dot"
    statuses = [
        {"label": s["label"], "swatch": dot, "style": f"background:{s['color']}", "icon": ""}
        for s in status_items(setup)
    ]
    statuses.append(
        {
            "label": labels.EVENT_LEGEND["overdue"],
            "swatch": f"{dot} gm-ev-dot-overdue",
            "style": f"background:#ffffff;border-color:{OVERDUE_COLOR}",
            "icon": "",
        }
    )
    heat = [
        {"label": c["label"], "swatch": "gm-swatch", "style": f"background:{c['color']}"}
        for c in heat_classes()
    ]
    return [
        {"key": "events", "title": labels.EVENT_LEGEND["statuses"], "items": statuses},
        {"key": "event_heat", "title": labels.EVENT_LEGEND["heat"], "items": heat, "hidden": True},
    ]
