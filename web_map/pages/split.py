"""The community split planner (社区拆分): plans side by side, one on the map, moved by hand.

The page asks ``POST /api/analysis/split`` for plans (docs/domain.md, "Splitting a community"):
each unit's territory (a compound, or a building outside every compound) and, per plan, the part
of every unit, its measures and its flags. The panel shows the settings (parts, tolerance,
balance by residents or households, how many plans), one card per plan with a thumbnail of its
parts and its key figures, and a comparison table; the map draws the selected plan, its
territories coloured by part and the new boundaries bold. A click on a unit moves it to another
part, measured at once by ``POST /api/analysis/split/measure`` (撤销 takes the last move back).
The plans export as a comparison table (CSV, Excel) or boundaries (GeoJSON, GeoPackage) through
``POST /api/analysis/split/export``; roles that may restructure communities (``restructure``)
save the selected plan as new communities (``POST /api/split/save``), the others compare only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from web_map import labels
from web_map.elements import LayerSwitcher, Loading, SplitLayer, SplitPanel
from web_map.pages.base import (
    MapData,
    common_config,
    community_layer,
    map_page,
    may,
    notices,
    top_bar,
    validate,
)

#: Parts a community may be split into, and plans asked for: (min, max), as the API accepts.
SPLIT_PARTS_RANGE: Final = (2, 8)
SPLIT_PLANS_RANGE: Final = (1, 10)
#: The tolerance the form offers, in per cent: (min, max, step); the API takes (0, 0.5].
SPLIT_TOLERANCE_PCT_RANGE: Final = (0.5, 50.0, 0.5)
#: One colour per part, distinct on the map and in the thumbnails (no red: red marks problems).
PART_COLORS: Final = (
    "#2c6fbb",
    "#e8891c",
    "#2e9d5b",
    "#8e44ad",
    "#17a2b8",
    "#8c564b",
    "#d35db0",
    "#9a9a1f",
)
BOUNDARY_COLOR: Final = "#1b2430"
FLAG_COLOR: Final = "#c62828"
#: What the analysis may take, in seconds (the page says it is working meanwhile).
TIME_BUDGET_S: Final = 5.0
SPLIT_PANEL_WIDTH_PX = 420

SplitBy = Literal["residents", "households"]


@dataclass(frozen=True)
class SplitMapData(MapData):
    """Everything the community split page needs, as plain values.

    The fields of :class:`~web_map.pages.base.MapData`, and what the settings form starts at:
    ``parts`` (2..8, default 2), ``tolerance`` (a share in (0, 0.5], default 0.05: 5 %),
    ``by`` (``residents`` or ``households``) and ``plans`` (1..10, default 5).
    """

    page_url: str = "/map/split"
    parts: int = 2
    tolerance: float = 0.05
    by: SplitBy = "residents"
    plans: int = 5


def _number(value: float) -> float | int:
    """``value`` as the form writes it: 5 rather than 5.0."""
    return int(value) if float(value).is_integer() else value


def _settings(data: SplitMapData) -> dict[str, Any]:
    return {
        "parts": data.parts,
        "tolerance_pct": _number(round(data.tolerance * 100, 2)),
        "by": data.by,
        "plans": data.plans,
        "time_budget_s": TIME_BUDGET_S,
        "ranges": {
            "parts": list(SPLIT_PARTS_RANGE),
            "plans": list(SPLIT_PLANS_RANGE),
            "tolerance_pct": list(SPLIT_TOLERANCE_PCT_RANGE),
        },
    }


def split_config(data: SplitMapData) -> dict[str, Any]:
    """Return the configuration the split page's scripts start from."""
    return {
        **common_config(data),
        "panelWidth": SPLIT_PANEL_WIDTH_PX,
        "labels": {**labels.UI, **labels.SPLIT_UI, "no_data": labels.NO_DATA},
        "layerNames": {**labels.LAYER_NAMES, **labels.SPLIT_LAYER_NAMES},
        # The officer map's shading machinery expects a scheme; units here go by part.
        "shading": {"initial": "part", "schemes": {"part": {"property": "part"}}},
        "split": {
            "colors": list(PART_COLORS),
            "boundaryColor": BOUNDARY_COLOR,
            "flagColor": FLAG_COLOR,
            "settings": _settings(data),
            "by": dict(labels.SPLIT_BY),
            "flags": dict(labels.SPLIT_FLAGS),
            "moved": dict(labels.SPLIT_MOVED),
            "numerals": list(labels.SPLIT_NUMERALS),
            "canSave": may(data.user, "restructure"),
            "officerUrl": f"{data.api_root.rstrip('/')}/map",
        },
    }


def _validate(data: SplitMapData) -> None:
    validate(data)
    lo, hi = SPLIT_PARTS_RANGE
    if isinstance(data.parts, bool) or not lo <= data.parts <= hi:
        msg = f"parts must be within {(lo, hi)}, got {data.parts!r}"
        raise ValueError(msg)
    lo, hi = SPLIT_PLANS_RANGE
    if isinstance(data.plans, bool) or not lo <= data.plans <= hi:
        msg = f"plans must be within {(lo, hi)}, got {data.plans!r}"
        raise ValueError(msg)
    if not 0 < data.tolerance <= 0.5:
        msg = f"tolerance must be within (0, 0.5], got {data.tolerance!r}"
        raise ValueError(msg)
    if data.by not in labels.SPLIT_BY:
        msg = f"by must be one of {tuple(labels.SPLIT_BY)}, got {data.by!r}"
        raise ValueError(msg)


def split_map(data: SplitMapData) -> str:
    """Return the community split page for ``data`` as a complete HTML document."""
    _validate(data)
    static = data.static_url.rstrip("/")
    page, fmap = map_page(data, title=labels.SPLIT_TITLE, config=split_config(data))
    fmap.add_child(community_layer(data, "communities"))
    fmap.add_child(community_layer(data, "compounds"))
    for part in ("units", "boundaries"):
        fmap.add_child(SplitLayer(part, labels.SPLIT_LAYER_NAMES[part], static_url=static))
    fmap.add_child(top_bar(data, title=labels.SPLIT_TITLE))
    fmap.add_child(LayerSwitcher(position="topleft", collapsed=True))
    fmap.add_child(
        SplitPanel(
            community_name=data.community_name,
            labels={**labels.UI, **labels.SPLIT_UI},
            by=labels.SPLIT_BY,
            settings=_settings(data),
            notices=notices(data, ("buildings",)),
            can_save=may(data.user, "restructure"),
            static_url=static,
        )
    )
    # "加载中…" while layers load; the script names what it waits for (the plans, a measure).
    fmap.add_child(Loading(text=labels.UI["loading"], static_url=static))
    html: str = page.render()
    return html
