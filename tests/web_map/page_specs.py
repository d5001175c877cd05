"""The map pages as the tests know them: route, title, renderer, and the data each is built from.

The sample data (``*_DATA``) is the Qiaohua community "QH" without a database, for the tests
of the pages' HTML; the routes and titles serve the tests through the app, in-process and in
Chromium. :data:`PAGES` lists the pages in the order of their header links.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web_map.pages import (
    CommunityChoice,
    LeadZonesMapData,
    OfficerMapData,
    PageLink,
    ServiceCircleMapData,
    SplitMapData,
    VenuesMapData,
    lead_zones_config,
    lead_zones_map,
    officer_map,
    page_config,
    service_circle_config,
    service_circle_map,
    split_config,
    split_map,
    venues_config,
    venues_map,
)

#: The pages' static files, as the app serves them under ``/static/``.
STATIC = Path(__file__).resolve().parents[2] / "web_map" / "static"

BOUNDS = (112.95, 22.91, 112.99, 22.95)
COMMUNITIES = (CommunityChoice("QH", "樵华社区"), CommunityChoice("XQ", "西樵社区"))

OFFICER_DATA = OfficerMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=BOUNDS,
    communities=COMMUNITIES,
)
CIRCLE_DATA = ServiceCircleMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=BOUNDS,
    communities=COMMUNITIES,
    links=(PageLink("网格员工作地图", "/map?community=QH&basemap=osm", "fa-map-location-dot"),),
)
VENUES_DATA = VenuesMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=BOUNDS,
    communities=COMMUNITIES,
    links=(
        PageLink("网格员工作地图", "/map?community=QH&basemap=osm", "fa-map-location-dot"),
        PageLink("15分钟党群服务圈", "/map/service-circle?community=QH&basemap=osm"),
    ),
)
LEAD_ZONES_DATA = LeadZonesMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=BOUNDS,
    communities=(CommunityChoice("QH", "樵华社区"),),
    basemap="none",
    links=(PageLink("网格员工作地图", "/map?community=QH&basemap=none", "fa-map-location-dot"),),
)

SPLIT_DATA = SplitMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=BOUNDS,
    communities=COMMUNITIES,
    basemap="none",
    links=(PageLink("网格员工作地图", "/map?community=QH&basemap=none", "fa-map-location-dot"),),
)


@dataclass(frozen=True)
class PageSpec:
    """One page: its route, the title its header and ``<title>`` show, how it is built."""

    path: str
    title: str
    render: Callable[[Any], str]
    config: Callable[[Any], dict[str, Any]]
    data: Any


PAGES: dict[str, PageSpec] = {
    "officer": PageSpec("/map", "网格员工作地图", officer_map, page_config, OFFICER_DATA),
    "circle": PageSpec(
        "/map/service-circle",
        "15分钟党群服务圈",
        service_circle_map,
        service_circle_config,
        CIRCLE_DATA,
    ),
    "venues": PageSpec("/map/venues", "红房子选址", venues_map, venues_config, VENUES_DATA),
    "lead_zones": PageSpec(
        "/map/lead-zones", "楼长责任区", lead_zones_map, lead_zones_config, LEAD_ZONES_DATA
    ),
    "split": PageSpec("/map/split", "社区拆分", split_map, split_config, SPLIT_DATA),
}
