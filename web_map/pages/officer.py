"""The grid officer's map (``/map``): one community's layers, its figures, search and shading.

The page draws the community's boundary, grids, compounds, gates and service points as GeoJSON
from ``/api/layers/{layer}``, and its buildings as vector tiles from
``/tiles/buildings/{z}/{x}/{y}.pbf`` (a city of 50,000 buildings stays responsive). Its side
panel reads ``/api/stats/at`` and its search box ``/api/search``. With ``events`` (the
workflow, :class:`~web_map.pages.events.EventSetup`) it draws the community's events too, and
its panel reports and handles them (:mod:`~web_map.pages.events`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final, Literal
from urllib.parse import quote

from web_map import labels
from web_map.elements import (
    ApiLayer,
    BuildingTiles,
    EventLayer,
    LayerSwitcher,
    Legend,
    Loading,
    SearchBox,
    ShadingSwitch,
    SidePanel,
)
from web_map.pages.base import (
    NO_DATA_COLOR,
    MapData,
    Shading,
    common_config,
    community_layer,
    legend_labels,
    map_page,
    notices,
    service_kinds,
    top_bar,
    validate,
)
from web_map.pages.events import (
    EventSetup,
    events_config,
    legend_sections,
    panel_events,
    validate_events,
)

ShadingName = Literal["households", "occupancy", "visit"]


@dataclass(frozen=True)
class OfficerMapData(MapData):
    """Everything the officer map needs, as plain values.

    The fields of :class:`~web_map.pages.base.MapData`, and:

    Attributes
    ----------
    shading
        How buildings are shaded first: by ``households`` or by ``occupancy``.
    events
        The events' workflow (statuses, steps, the sides the user acts on): the page then
        shows the community's events and its panel reports and handles them; ``None``: no
        events on the page.
    """

    page_url: str = "/map"
    shading: ShadingName = "households"
    events: EventSetup | None = None


#: Households: the Foshan rule (docs/domain.md) puts the own-lead line at 50 households.
#: Occupancy: 50% is the default "high occupancy" threshold of the same rule.
SHADINGS: Final[dict[str, Shading]] = {
    "households": Shading(
        "households",
        (20, 50, 100, 200),
        ("#d4e4f2", "#a3c6e3", "#6aa3d1", "#3479b7", "#0f4b8a"),
    ),
    "occupancy": Shading(
        "occupancy",
        (0.3, 0.5, 0.7, 0.9),
        ("#d7301f", "#f98e52", "#fddf8b", "#a2d48a", "#2f9a4f"),
        percent=True,
    ),
    # Days since the last visit (扫楼): today, this week, this month, this quarter, older.
    "visit": Shading(
        "visit_age_days",
        (1, 8, 31, 91),
        ("#1a7f3c", "#7cc47f", "#fddf8b", "#f98e52", "#d7301f"),
    ),
}


def _number(value: float, *, percent: bool) -> str:
    return f"{round(value * 100) if percent else round(value)}"


def class_labels(shading: Shading, unit: str) -> list[str]:
    """Legend labels of the classes of ``shading``: integers, upper bounds exclusive.

    >>> class_labels(SHADINGS["households"], " 户")
    ['20 户以下', '20–49 户', '50–99 户', '100–199 户', '200 户及以上']
    """
    p = shading.percent
    b = [int(_number(x, percent=p)) for x in shading.breaks]
    out = [labels.CLASS_BELOW.format(hi=b[0], unit=unit)]
    out += [labels.CLASS_RANGE.format(lo=lo, hi=hi - 1, unit=unit) for lo, hi in pairwise(b)]
    out.append(labels.CLASS_ABOVE.format(lo=b[-1], unit=unit))
    return out


def _schemes() -> dict[str, dict[str, Any]]:
    schemes = {}
    for name, shading in SHADINGS.items():
        text = labels.SHADING[name]
        visit = name == "visit"
        classes = list(labels.VISIT_CLASSES) if visit else class_labels(shading, text["unit"])
        schemes[name] = {
            "property": shading.property,
            "breaks": list(shading.breaks),
            "colors": list(shading.colors),
            "nodata": NO_DATA_COLOR,
            "nodataLabel": labels.NEVER_VISITED if visit else labels.NO_DATA,
            "title": text["title"],
            "classes": [
                {"color": c, "label": t} for c, t in zip(shading.colors, classes, strict=True)
            ],
        }
    return schemes


def page_config(data: OfficerMapData) -> dict[str, Any]:
    """Return the configuration the page's scripts start from (all their strings included)."""
    config = {
        **common_config(data),
        "labels": {**labels.UI, "no_data": labels.NO_DATA},
        "layerNames": dict(labels.LAYER_NAMES),
        "shading": {"initial": data.shading, "schemes": _schemes()},
    }
    if data.events is not None:
        config["labels"].update(labels.EVENT_UI)
        config["layerNames"].update(labels.EVENT_LAYER_NAMES)
        config["events"] = events_config(data.events, data.user)
    return config


def _validate(data: OfficerMapData) -> None:
    validate(data)
    if data.shading not in SHADINGS:
        msg = f"shading must be one of {tuple(SHADINGS)}, got {data.shading!r}"
        raise ValueError(msg)
    if data.events is not None:
        validate_events(data.events)


def _panel_labels() -> dict[str, str]:
    keys: Sequence[str] = (
        "panel_title",
        "panel_hint",
        "panel_community_tab",
        "panel_grid_tab",
        "households",
        "residents",
        "registered",
        "floating",
        "buildings",
        "party_members",
        "buildings_with_lead",
        "lead_coverage",
        "residents_per_cadre",
        "service_points",
        "unit_households",
        "unit_people",
        "unit_buildings",
        "unknown",
        "walk_title",
    )
    return {key: labels.UI[key] for key in keys}


def officer_map(data: OfficerMapData) -> str:
    """Return the grid officer's map page for ``data`` as a complete HTML document."""
    _validate(data)
    static = data.static_url.rstrip("/")
    community = quote(data.community_code, safe="")
    page, fmap = map_page(data, title=labels.TITLE, config=page_config(data))

    def api_layer(layer: str, *, show: bool = True) -> ApiLayer:
        return community_layer(data, layer, show=show)

    fmap.add_child(api_layer("communities"))
    fmap.add_child(api_layer("grids"))
    fmap.add_child(api_layer("compounds"))
    fmap.add_child(
        BuildingTiles(
            f"{data.api_root}/tiles/buildings/{{z}}/{{x}}/{{y}}.pbf?community={community}",
            labels.LAYER_NAMES["buildings"],
            static_url=static,
        )
    )
    fmap.add_child(api_layer("gates"))
    fmap.add_child(api_layer("service_points"))
    fmap.add_child(api_layer("candidate_venues", show=False))
    if data.events is not None:
        for part, layer in (("points", "events"), ("heat", "event_heat")):
            fmap.add_child(
                EventLayer(
                    part, labels.EVENT_LAYER_NAMES[layer], show=part == "points", static_url=static
                )
            )

    fmap.add_child(top_bar(data, title=labels.TITLE))
    fmap.add_child(
        SearchBox(
            placeholder=labels.UI["search_placeholder"],
            button=labels.UI["search_button"],
            static_url=static,
        )
    )
    fmap.add_child(LayerSwitcher(position="topright", collapsed=True))
    fmap.add_child(
        SidePanel(
            labels=_panel_labels(),
            service_kinds=service_kinds(),
            notices=notices(data, ("buildings",)),
            events=None if data.events is None else panel_events(data.events, data.user),
            static_url=static,
        )
    )
    fmap.add_child(
        ShadingSwitch(
            label=labels.UI["shading_label"],
            buttons={name: text["button"] for name, text in labels.SHADING.items()},
            initial=data.shading,
            static_url=static,
        )
    )
    fmap.add_child(
        Legend(
            title=labels.UI["legend_title"],
            schemes=_schemes(),
            initial=data.shading,
            boundaries=[
                {"kind": "community", "label": labels.LAYER_NAMES["communities"]},
                {"kind": "grid", "label": labels.LAYER_NAMES["grids"]},
                {"kind": "compound", "label": labels.LAYER_NAMES["compounds"]},
            ],
            service_kinds=service_kinds(),
            gates=[
                {"kind": "open", "icon": "fa-door-open", "label": labels.UI["gate_open"]},
                {"kind": "closed", "icon": "fa-door-closed", "label": labels.UI["gate_closed"]},
            ],
            labels=legend_labels(labels.NO_DATA),
            extra=() if data.events is None else legend_sections(data.events),
            static_url=static,
        )
    )
    fmap.add_child(Loading(text=labels.UI["loading"], static_url=static))
    html: str = page.render()
    return html
