"""The web map's pages: folium pages built from plain data, no database in sight.

Each page is a module: :mod:`~web_map.pages.officer` the grid officer's map (``/map``),
:mod:`~web_map.pages.service_circle` the 15-minute service circle (15分钟党群服务圈) with its
what-if scenarios, :mod:`~web_map.pages.venues` the planner's red-house venue selection
(红房子选址), :mod:`~web_map.pages.lead_zones` the building-lead zones (楼长责任区) and
:mod:`~web_map.pages.split` the community split planner (社区拆分); :mod:`~web_map.pages.events`
the events (事件) the officer map draws, reports and handles;
:mod:`~web_map.pages.plain` the pages without a map (user management, and the notice a role
sees on a page it may not use). Each map page subclasses :class:`~web_map.pages.base.MapData`
with its own fields and composes its page from :mod:`~web_map.pages.base`: the header (with
the logged-in user, :class:`~web_map.pages.base.UserBadge`), basemaps, boundaries, notices
about missing layers and styles every page shares.

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
    UserBadge,
    network_hint,
    notices,
)
from web_map.pages.events import EventAction, EventSetup, events_config
from web_map.pages.lead_zones import LeadZonesMapData, lead_zones_config, lead_zones_map
from web_map.pages.officer import SHADINGS, OfficerMapData, class_labels, officer_map, page_config
from web_map.pages.plain import (
    AdminUsersData,
    NoAnalysisData,
    PlainPageData,
    admin_users_page,
    no_analysis_page,
)
from web_map.pages.service_circle import (
    ServiceCircleMapData,
    service_circle_config,
    service_circle_map,
    walk_scheme,
)
from web_map.pages.split import (
    SPLIT_PARTS_RANGE,
    SPLIT_PLANS_RANGE,
    SplitMapData,
    split_config,
    split_map,
)
from web_map.pages.venues import VENUE_K_RANGE, VenuesMapData, venues_config, venues_map

__all__ = [
    "GB50180_LIFE_CIRCLES",
    "MISSABLE",
    "SHADINGS",
    "SPLIT_PARTS_RANGE",
    "SPLIT_PLANS_RANGE",
    "VENUE_K_RANGE",
    "AdminUsersData",
    "BasemapName",
    "CommunityChoice",
    "EventAction",
    "EventSetup",
    "LeadZonesMapData",
    "MapData",
    "NoAnalysisData",
    "OfficerMapData",
    "PageLink",
    "PlainPageData",
    "ServiceCircleMapData",
    "SplitMapData",
    "UserBadge",
    "VenuesMapData",
    "admin_users_page",
    "class_labels",
    "events_config",
    "lead_zones_config",
    "lead_zones_map",
    "network_hint",
    "no_analysis_page",
    "notices",
    "officer_map",
    "page_config",
    "service_circle_config",
    "service_circle_map",
    "split_config",
    "split_map",
    "venues_config",
    "venues_map",
    "walk_scheme",
]
