"""The building-lead zone page (楼长责任区): the Foshan rule's zones on a map, saved on demand.

The page asks ``/api/analysis/lead-zones`` for a preview (zones, each building's rule and the
difference from the saved plan), draws the zones by kind (own / shared / rotating, locked ones
outlined), the buildings inside them and a star on each zone's suggested lead building.
Its panel shows the counts by kind, the settings, the difference *before* saving, a save
button and roster exports; each zone's popup locks or unlocks it
(``/api/lead-zones/{zone_id}/lock``). Save and lock are there only for roles that may save
plans (``save_plans``); the others preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from web_map import labels
from web_map.elements import LayerSwitcher, LeadZoneLayer, LeadZonePanel, Loading
from web_map.pages.base import (
    MapData,
    common_config,
    community_layer,
    map_page,
    may,
    network_hint,
    notices,
    top_bar,
    validate,
)

#: Zone kinds, their fill colours: own leads blue, shared zones green, rotating leads orange.
LEAD_ZONE_COLORS: Final = {"own": "#2c6fbb", "shared": "#2e9d5b", "rotating": "#e8891c"}
LOCKED_COLOR: Final = "#b3261e"
LEAD_STAR_COLOR: Final = "#d4a106"
#: Settings the form offers: (min, max, step); defaults are the analysis's (docs/lead_zones.md).
MIN_HOUSEHOLDS_RANGE: Final = (1, 500, 1)
MIN_OCCUPANCY_RANGE: Final = (0.0, 1.0, 0.05)
MAX_WALK_RANGE: Final = (10, 2000, 10)
LEAD_ZONES_PANEL_WIDTH_PX = 340


@dataclass(frozen=True)
class LeadZonesMapData(MapData):
    """Everything the building-lead zone page needs, as plain values.

    The fields of :class:`~web_map.pages.base.MapData`, and ``min_households``,
    ``min_occupancy``, ``max_walk_m`` and ``cross_compounds``: what the settings form starts at
    (the analysis's defaults: 50 households, 50 %, 150 m, no).
    """

    page_url: str = "/map/lead-zones"
    min_households: int = 50
    min_occupancy: float = 0.5
    max_walk_m: float = 150.0
    cross_compounds: bool = False


def _kinds() -> dict[str, dict[str, str]]:
    return {
        kind: {"label": labels.LEAD_ZONE_KINDS[kind], "color": color}
        for kind, color in LEAD_ZONE_COLORS.items()
    }


def _settings(data: LeadZonesMapData) -> dict[str, Any]:
    return {
        "min_households": data.min_households,
        "min_occupancy": data.min_occupancy,
        "max_walk_m": data.max_walk_m,
        "cross_compounds": data.cross_compounds,
        "ranges": {
            "min_households": list(MIN_HOUSEHOLDS_RANGE),
            "min_occupancy": list(MIN_OCCUPANCY_RANGE),
            "max_walk_m": list(MAX_WALK_RANGE),
        },
    }


def lead_zones_config(data: LeadZonesMapData) -> dict[str, Any]:
    """Return the configuration the lead zone page's scripts start from."""
    return {
        **common_config(data),
        "panelWidth": LEAD_ZONES_PANEL_WIDTH_PX,
        "labels": {**labels.UI, **labels.LEAD_ZONE_UI, "no_data": labels.NO_DATA},
        "layerNames": {**labels.LAYER_NAMES, **labels.LEAD_ZONE_LAYER_NAMES},
        # The officer map's shading machinery expects a scheme; buildings here go by zone.
        "shading": {"initial": "zone", "schemes": {"zone": {"property": "zone_kind"}}},
        "leadZones": {
            "kinds": _kinds(),
            "lockedColor": LOCKED_COLOR,
            "starColor": LEAD_STAR_COLOR,
            "settings": _settings(data),
        },
    }


def _validate(data: LeadZonesMapData) -> None:
    validate(data)
    lo, hi, _ = MIN_HOUSEHOLDS_RANGE
    if not lo <= data.min_households <= hi:
        msg = f"min_households must be within {(lo, hi)}, got {data.min_households!r}"
        raise ValueError(msg)
    if not 0 <= data.min_occupancy <= 1:
        msg = f"min_occupancy must be within (0, 1), got {data.min_occupancy!r}"
        raise ValueError(msg)
    if not 0 < data.max_walk_m <= MAX_WALK_RANGE[1]:
        msg = f"max_walk_m must be within (0, {MAX_WALK_RANGE[1]}], got {data.max_walk_m!r}"
        raise ValueError(msg)


def lead_zones_map(data: LeadZonesMapData) -> str:
    """Return the building-lead zone page for ``data`` as a complete HTML document."""
    _validate(data)
    static = data.static_url.rstrip("/")
    page, fmap = map_page(data, title=labels.LEAD_ZONES_TITLE, config=lead_zones_config(data))
    fmap.add_child(community_layer(data, "communities"))
    fmap.add_child(community_layer(data, "compounds"))
    for part in ("zones", "buildings", "leads"):
        fmap.add_child(LeadZoneLayer(part, labels.LEAD_ZONE_LAYER_NAMES[part], static_url=static))
    fmap.add_child(top_bar(data, title=labels.LEAD_ZONES_TITLE))
    fmap.add_child(LayerSwitcher(position="topleft", collapsed=True))
    fmap.add_child(
        LeadZonePanel(
            community_name=data.community_name,
            labels={**labels.UI, **labels.LEAD_ZONE_UI},
            kinds=_kinds(),
            settings=_settings(data),
            notices=notices(data, ("buildings",)),
            network_hint=network_hint(data),
            can_save=may(data.user, "save_plans"),
            static_url=static,
        )
    )
    fmap.add_child(Loading(text=labels.LEAD_ZONE_UI["lz_loading"], static_url=static))
    html: str = page.render()
    return html
