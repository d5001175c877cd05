"""The web map's pages: folium pages built from plain data, no database in sight.

Each page is a module: :mod:`~web_map.pages.officer` the grid officer's map (``/map``),
:mod:`~web_map.pages.service_circle` the 15-minute service circle (15分钟党群服务圈) with its
what-if scenarios, :mod:`~web_map.pages.venues` the planner's red-house venue selection
(红房子选址) and :mod:`~web_map.pages.lead_zones` the building-lead zones (楼长责任区). Each
subclasses :class:`~web_map.pages.base.MapData` with its own fields and composes its page from
:mod:`~web_map.pages.base`: the header, basemaps, boundaries, notices about missing layers and
styles every page shares.

The names the app and the tests use are re-exported here.
"""

from __future__ import annotations

from web_map.pages.base import (
    GB50180_LIFE_CIRCLES,
    MISSABLE,
    BasemapName,
    CommunityChoice,
    MapData,
    PageLink,
    network_hint,
    notices,
)
from web_map.pages.lead_zones import LeadZonesMapData, lead_zones_config, lead_zones_map
from web_map.pages.officer import SHADINGS, OfficerMapData, class_labels, officer_map, page_config
from web_map.pages.service_circle import (
    ServiceCircleMapData,
    service_circle_config,
    service_circle_map,
    walk_scheme,
)
from web_map.pages.venues import VENUE_K_RANGE, VenuesMapData, venues_config, venues_map

__all__ = [
    "GB50180_LIFE_CIRCLES",
    "MISSABLE",
    "SHADINGS",
    "VENUE_K_RANGE",
    "BasemapName",
    "CommunityChoice",
    "LeadZonesMapData",
    "MapData",
    "OfficerMapData",
    "PageLink",
    "ServiceCircleMapData",
    "VenuesMapData",
    "class_labels",
    "lead_zones_config",
    "lead_zones_map",
    "network_hint",
    "notices",
    "officer_map",
    "page_config",
    "service_circle_config",
    "service_circle_map",
    "venues_config",
    "venues_map",
    "walk_scheme",
]
