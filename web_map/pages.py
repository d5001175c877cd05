"""The web map's pages: folium pages built from plain data, no database in sight.

:func:`officer_map` is the grid officer's map; :func:`service_circle_map` the 15-minute
service circle (15分钟党群服务圈) with its what-if scenarios. Both share the header, basemaps,
legend, loading badge and scripts.

The officer's page draws one community: its boundary, grids, compounds, gates and service
points as GeoJSON from ``/api/layers/{layer}``, and its buildings as vector tiles from
``/tiles/buildings/{z}/{x}/{y}.pbf`` (a city of 50,000 buildings stays responsive). Its side
panel reads ``/api/stats/at`` and its search box ``/api/search``. Every script, style and font
comes from ``static_url`` (``web_map/static/``): neither CI nor an intranet reaches a CDN. The
only remote URLs are the basemaps' tile templates, and "no basemap" fetches none of them.

:func:`venues_map` is the planner's red-house venue selection (红房子选址): the picks of
``/api/analysis/venues``, their new service areas and the buildings they newly cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final, Literal, get_args
from urllib.parse import quote

import folium

from layers import domain
from web_map import labels
from web_map.elements import (
    ApiLayer,
    Basemap,
    BuildingTiles,
    CircleLayer,
    CirclePanel,
    Core,
    LayerSwitcher,
    Legend,
    Loading,
    Page,
    SearchBox,
    ShadingSwitch,
    SidePanel,
    TopBar,
    VenueLayer,
    VenuePanel,
)

BasemapName = Literal["osm", "amap", "tianditu", "none"]
BASEMAPS: Final[tuple[str, ...]] = get_args(BasemapName)
ShadingName = Literal["households", "occupancy"]

#: Width the side panel takes from the map's right edge, so the community is not hidden.
PANEL_WIDTH_PX = 340
#: Width the service circle page's legend takes from the left edge (it is open, and wide).
LEGEND_WIDTH_PX = 290


@dataclass(frozen=True)
class CommunityChoice:
    """A community the selector offers."""

    code: str
    name: str


@dataclass(frozen=True)
class PageLink:
    """A link in the header to another page (its URL keeps the community and basemap)."""

    label: str
    url: str
    icon: str = "fa-map"


@dataclass(frozen=True)
class OfficerMapData:
    """Everything the officer map needs, as plain values.

    Attributes
    ----------
    community_code, community_name
        The community shown.
    bounds
        Its extent ``(minlon, minlat, maxlon, maxlat)`` in WGS84 degrees.
    communities
        The communities the header's selector offers (the current one among them).
    basemap
        The basemap shown first: ``osm``, ``amap`` (GCJ-02, shifted to fit WGS84 data),
        ``tianditu`` (needs ``tianditu_token``) or ``none`` (nothing remote: works offline).
    static_url
        URL prefix of ``web_map/static/``, no trailing slash.
    api_root
        URL prefix of the API (``""``: the same origin as the page).
    page_url
        URL of this page, for the community selector.
    tianditu_token
        Tianditu key; without one, Tianditu is not offered.
    shading
        How buildings are shaded first: by ``households`` or by ``occupancy``.
    links
        Links in the header to the other pages.
    missing
        The layers (of :data:`MISSABLE`) the community has no data in: the page says what to
        import next instead of asking an analysis that can only refuse.
    """

    community_code: str
    community_name: str
    bounds: tuple[float, float, float, float]
    communities: tuple[CommunityChoice, ...] = field(default=())
    basemap: BasemapName = "osm"
    static_url: str = "/static"
    api_root: str = ""
    page_url: str = "/map"
    tianditu_token: str | None = None
    shading: ShadingName = "households"
    links: tuple[PageLink, ...] = ()
    missing: tuple[str, ...] = ()


#: GB 50180-2018 life circles as (walking minutes, walking metres): 5 -> 300, 10 -> 500,
#: 15 -> 1000. The route passes the analysis's own table; this default is the same standard.
GB50180_LIFE_CIRCLES: Final[tuple[tuple[int, float], ...]] = tuple(
    sorted(domain.LIFE_CIRCLES_M.items())
)
#: The custom walking limit the service circle page accepts, in metres.
CUSTOM_LIMIT_RANGE_M: Final = (50, 5000)


@dataclass(frozen=True)
class ServiceCircleMapData:
    """Everything the 15-minute service circle page needs, as plain values.

    Attributes
    ----------
    community_code, community_name, bounds, communities, basemap, static_url, api_root,
    tianditu_token, links
        As for :class:`OfficerMapData`.
    page_url
        URL of this page, for the community selector.
    life_circles
        ``(minutes, metres)`` of the life circles the limit control offers (GB 50180-2018);
        they also split the buildings' walking-distance classes.
    minutes
        The life circle shown first (one of ``life_circles``).
    speed_m_per_min
        The walking speed the analysis turns metres into minutes with (for the legend).
    missing
        As for :class:`OfficerMapData`.
    """

    community_code: str
    community_name: str
    bounds: tuple[float, float, float, float]
    communities: tuple[CommunityChoice, ...] = field(default=())
    basemap: BasemapName = "osm"
    static_url: str = "/static"
    api_root: str = ""
    page_url: str = "/map/service-circle"
    tianditu_token: str | None = None
    links: tuple[PageLink, ...] = ()
    life_circles: tuple[tuple[int, float], ...] = GB50180_LIFE_CIRCLES
    minutes: int = 15
    speed_m_per_min: float = 1000 / 15
    missing: tuple[str, ...] = ()


#: The number of new red houses the venue page offers, and its default (docs/domain.md: Qiaohua
#: built 10 red houses among 30 compounds).
VENUE_K_RANGE: Final = (1, 10)
#: The venue page's "at most this many new red houses per compound".
VENUE_PER_COMPOUND_RANGE: Final = (1, 10)
#: The score-vs-coverage slider: residents (or households) per point of score, min, max, step.
VENUE_WEIGHT_RANGE: Final = (0, 1000, 50)


@dataclass(frozen=True)
class VenuesMapData:
    """Everything the red-house venue page (红房子选址) needs, as plain values.

    Attributes
    ----------
    community_code, community_name, bounds, communities, basemap, static_url, api_root,
    tianditu_token, links, life_circles, speed_m_per_min
        As for :class:`ServiceCircleMapData`.
    page_url
        URL of this page, for the community selector.
    minutes
        The walking limit the form starts at (one of ``life_circles``); 10 minutes (500 m) is
        the neighbourhood scale of a red house.
    k
        How many new red houses the form starts at (within :data:`VENUE_K_RANGE`).
    demand
        What coverage counts first: ``residents`` or ``households``.
    weight_score, include_incomplete_legal, max_per_compound
        The other parameters of ``/api/analysis/venues`` the form starts at.
    missing
        As for :class:`OfficerMapData`.
    """

    community_code: str
    community_name: str
    bounds: tuple[float, float, float, float]
    communities: tuple[CommunityChoice, ...] = field(default=())
    basemap: BasemapName = "osm"
    static_url: str = "/static"
    api_root: str = ""
    page_url: str = "/map/venues"
    tianditu_token: str | None = None
    links: tuple[PageLink, ...] = ()
    life_circles: tuple[tuple[int, float], ...] = GB50180_LIFE_CIRCLES
    speed_m_per_min: float = 1000 / 15
    minutes: int = 10
    k: int = 3
    demand: Literal["residents", "households"] = "residents"
    weight_score: float = 0.0
    include_incomplete_legal: bool = False
    max_per_compound: int = 1
    missing: tuple[str, ...] = ()


#: Any page's data: the header, basemaps and boundaries are built from these fields alike.
MapData = OfficerMapData | ServiceCircleMapData | VenuesMapData

#: Layers a community may have no data in, as ``missing`` names them (``network``: the
#: walking network). Real places come without compounds, service points, network or rooms.
MISSABLE: Final = ("buildings", "compounds", "service_points", "candidate_venues", "network")


def notices(data: MapData, layers: Sequence[str]) -> list[dict[str, str]]:
    """Return what the page says about the ``layers`` it needs that its community lacks.

    Each is ``{"layer", "text", "command"}``: the sentence of :data:`labels.MISSING` (or of
    :data:`labels.MISSING_WITHOUT_BUILDINGS` when there are no buildings either) and the
    command that imports the layer into this community.
    """
    texts = dict(labels.MISSING)
    if "buildings" in data.missing:
        texts.update(labels.MISSING_WITHOUT_BUILDINGS)
    return [
        {
            "layer": layer,
            "text": texts[layer],
            "command": import_command(layer, data.community_code),
        }
        for layer in layers
        if layer in data.missing
    ]


def import_command(layer: str, community: str) -> str:
    """Return the command that imports ``layer`` into ``community``."""
    return labels.IMPORT_COMMAND.format(layer=layer, community=community)


def network_hint(data: MapData) -> str | None:
    """Return the approximate banner's hint when the community has no walking network."""
    if "network" not in data.missing:
        return None
    return f"{labels.MISSING_NETWORK}：{import_command('network', data.community_code)}"


@dataclass(frozen=True)
class Shading:
    """Classes of one building shading: ``breaks`` split values into ``len(breaks) + 1``."""

    property: str
    breaks: tuple[float, ...]
    colors: tuple[str, ...]
    percent: bool = False


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
}
NO_DATA_COLOR = "#cfd3d9"

#: Service point kinds: colour and Font Awesome icon. Red houses are red, as they are called.
SERVICE_STYLE: Final[dict[str, tuple[str, str]]] = {
    "centre": ("#a67c00", "fa-landmark-flag"),
    "sub_centre": ("#00897b", "fa-flag"),
    "activity_room": ("#1e78d2", "fa-people-roof"),
    "red_house": ("#e0262b", "fa-house-chimney"),
    "other": ("#6f8593", "fa-circle-info"),
}
VENUE_COLOR = "#8e24aa"

#: Buildings by walking metres to the nearest open service point, one class per life circle
#: and one beyond: blues within reach (darker is nearer), orange beyond the largest circle.
#: Greens and reds are kept for the scenario's gains and losses.
WALK_COLORS: Final = ("#0b4f9c", "#3a89c9", "#9fcae6", "#f59e42")
UNREACHABLE_COLOR = "#5f5f66"
#: Kinds a proposed service point may be, red houses first (the usual proposal).
ADD_KINDS: Final = ("red_house", "activity_room", "sub_centre", "centre", "other")

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
AMAP_TILES = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
TIANDITU_TILES = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={token}"
)

#: folium's default scripts and styles, served from our own copies (scripts/install-web-assets.sh).
#: Glyphicons (Bootstrap 3) and the awesome-markers rotation CSS are left out: the page uses
#: Font Awesome icons and no rotated markers.
VENDOR_JS: Final = (
    ("leaflet", "leaflet/leaflet.js"),
    ("jquery", "jquery/jquery.min.js"),
    ("bootstrap", "bootstrap/bootstrap.bundle.min.js"),
    ("awesome_markers", "awesome-markers/leaflet.awesome-markers.js"),
)
VENDOR_CSS: Final = (
    ("leaflet_css", "leaflet/leaflet.css"),
    ("bootstrap_css", "bootstrap/bootstrap.min.css"),
    ("awesome_markers_font_css", "fontawesome/css/all.min.css"),
    ("awesome_markers_css", "awesome-markers/leaflet.awesome-markers.css"),
)


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
        classes = class_labels(shading, text["unit"])
        schemes[name] = {
            "property": shading.property,
            "breaks": list(shading.breaks),
            "colors": list(shading.colors),
            "nodata": NO_DATA_COLOR,
            "title": text["title"],
            "classes": [
                {"color": c, "label": t} for c, t in zip(shading.colors, classes, strict=True)
            ],
        }
    return schemes


def _service_kinds() -> dict[str, dict[str, str]]:
    return {
        kind: {"label": labels.SERVICE_POINT_KINDS[kind], "color": color, "icon": icon}
        for kind, (color, icon) in SERVICE_STYLE.items()
    }


def _basemap_specs(token: str | None) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {
        "osm": {
            "urls": [OSM_TILES],
            "options": {
                "maxZoom": 20,
                "maxNativeZoom": 19,
                "attribution": labels.ATTRIBUTION["osm"],
            },
        },
        "amap": {
            "urls": [AMAP_TILES],
            "options": {
                "maxZoom": 20,
                "maxNativeZoom": 18,
                "subdomains": "1234",
                "attribution": labels.ATTRIBUTION["amap"],
            },
        },
    }
    if token:
        t = quote(token, safe="")
        specs["tianditu"] = {
            "urls": [TIANDITU_TILES.format(layer=layer, token=t) for layer in ("vec", "cva")],
            "options": {
                "maxZoom": 20,
                "maxNativeZoom": 18,
                "subdomains": "01234567",
                "attribution": labels.ATTRIBUTION["tianditu"],
            },
        }
    specs["none"] = {"urls": [], "options": {}}
    return specs


def _common_config(data: MapData) -> dict[str, Any]:
    """Return the configuration every page's scripts share."""
    return {
        "community": data.community_code,
        "communityName": data.community_name,
        "apiRoot": data.api_root,
        "bounds": list(data.bounds),
        "basemap": data.basemap,
        "panelWidth": PANEL_WIDTH_PX,
        "serviceKinds": _service_kinds(),
        "venueColor": VENUE_COLOR,
        "gateKinds": dict(labels.GATE_KINDS),
        "venueKinds": dict(labels.VENUE_KINDS),
        "maturity": dict(labels.MATURITY),
        "missing": list(data.missing),
    }


def page_config(data: OfficerMapData) -> dict[str, Any]:
    """Return the configuration the page's scripts start from (all their strings included)."""
    return {
        **_common_config(data),
        "labels": {**labels.UI, "no_data": labels.NO_DATA},
        "layerNames": dict(labels.LAYER_NAMES),
        "shading": {"initial": data.shading, "schemes": _schemes()},
    }


def _validate_common(data: MapData) -> None:
    if data.basemap not in BASEMAPS:
        msg = f"basemap must be one of {BASEMAPS}, got {data.basemap!r}"
        raise ValueError(msg)
    if data.basemap == "tianditu" and not data.tianditu_token:
        msg = "basemap 'tianditu' needs a tianditu_token"
        raise ValueError(msg)
    x0, y0, x1, y1 = data.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        msg = f"bounds must be (minlon, minlat, maxlon, maxlat) in WGS84, got {data.bounds}"
        raise ValueError(msg)
    unknown = sorted(set(data.missing) - set(MISSABLE))
    if unknown:
        msg = f"missing must name layers of {MISSABLE}, got {unknown}"
        raise ValueError(msg)


def _validate(data: OfficerMapData) -> None:
    _validate_common(data)
    if data.shading not in SHADINGS:
        msg = f"shading must be one of {tuple(SHADINGS)}, got {data.shading!r}"
        raise ValueError(msg)


def _map_page(data: MapData, *, title: str, config: dict[str, Any]) -> tuple[Page, folium.Map]:
    """Build the page and its map: local assets, the shared script started, the basemaps."""
    static = data.static_url.rstrip("/")
    x0, y0, x1, y1 = data.bounds
    page = Page(title=f"{data.community_name} · {title}")
    fmap = folium.Map(
        location=[(y0 + y1) / 2, (x0 + x1) / 2],
        zoom_start=15,
        tiles=None,
        max_zoom=20,
        control_scale=False,
        zoom_control="bottomright",
    )
    # folium's own CDN links, replaced by our copies (instance lists, not the shared defaults).
    fmap.default_js = [(name, f"{static}/vendor/{path}") for name, path in VENDOR_JS]
    fmap.default_css = [(name, f"{static}/vendor/{path}") for name, path in VENDOR_CSS]
    page.add_child(fmap)

    fmap.add_child(Core(config, static_url=static))

    for kind, spec in _basemap_specs(data.tianditu_token).items():
        fmap.add_child(
            Basemap(
                kind,
                labels.BASEMAPS[kind],
                urls=spec["urls"],
                options=spec["options"],
                show=kind == data.basemap,
                static_url=static,
            )
        )
    return page, fmap


def _top_bar(data: MapData, *, title: str) -> TopBar:
    return TopBar(
        brand=labels.BRAND,
        title=title,
        select_label=labels.COMMUNITY_SELECT,
        note=labels.COORDINATES_NOTE,
        communities=_choices(data),
        current=data.community_code,
        page_url=data.page_url,
        links=[{"label": k.label, "url": k.url, "icon": k.icon} for k in data.links],
        static_url=data.static_url.rstrip("/"),
    )


def _community_layer(data: MapData, layer: str, *, show: bool = True) -> ApiLayer:
    return ApiLayer(
        layer,
        labels.LAYER_NAMES[layer],
        params={"community": data.community_code, "limit": 10_000},
        show=show,
        static_url=data.static_url.rstrip("/"),
    )


def officer_map(data: OfficerMapData) -> str:
    """Return the grid officer's map page for ``data`` as a complete HTML document."""
    _validate(data)
    static = data.static_url.rstrip("/")
    community = quote(data.community_code, safe="")
    page, fmap = _map_page(data, title=labels.TITLE, config=page_config(data))

    def api_layer(layer: str, *, show: bool = True) -> ApiLayer:
        return _community_layer(data, layer, show=show)

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

    fmap.add_child(_top_bar(data, title=labels.TITLE))
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
            service_kinds=_service_kinds(),
            notices=notices(data, ("buildings",)),
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
            service_kinds=_service_kinds(),
            gates=[
                {"kind": "open", "icon": "fa-door-open", "label": labels.UI["gate_open"]},
                {"kind": "closed", "icon": "fa-door-closed", "label": labels.UI["gate_closed"]},
            ],
            labels=_legend_labels(labels.NO_DATA),
            static_url=static,
        )
    )
    fmap.add_child(Loading(text=labels.UI["loading"], static_url=static))
    html: str = page.render()
    return html


def _choices(data: MapData) -> list[tuple[str, str]]:
    choices = [(c.code, c.name) for c in data.communities]
    if data.community_code not in {code for code, _ in choices}:
        choices.insert(0, (data.community_code, data.community_name))
    return choices


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
    )
    return {key: labels.UI[key] for key in keys}


# --- the 15-minute service circle ---------------------------------------------------------------


def _metres(value: float) -> str:
    return f"{value:.0f}"


def walk_scheme(life_circles: Sequence[tuple[int, float]]) -> dict[str, Any]:
    """Return the buildings' walking-distance classes: one per life circle and one beyond.

    A building is in the first class whose upper bound its walking metres do not exceed, as
    "covered" is ``walk_m <= limit_m``; buildings no open point reaches are ``nodata``.

    >>> [c["label"] for c in walk_scheme(GB50180_LIFE_CIRCLES)["classes"]][1:3]
    ['5–10 分钟（300–500 米）', '10–15 分钟（500–1000 米）']
    """
    circles = sorted(life_circles, key=lambda c: c[1])
    if len(circles) + 1 > len(WALK_COLORS):
        msg = f"at most {len(WALK_COLORS) - 1} life circles, got {len(circles)}"
        raise ValueError(msg)
    (m0, d0), (m_last, d_last) = circles[0], circles[-1]
    texts = [labels.WALK_CLASS_FIRST.format(minutes=m0, metres=_metres(d0))]
    texts += [
        labels.WALK_CLASS.format(lo_min=a, hi_min=b, lo=_metres(lo), hi=_metres(hi))
        for (a, lo), (b, hi) in pairwise(circles)
    ]
    texts.append(labels.WALK_CLASS_LAST.format(minutes=m_last, metres=_metres(d_last)))
    colors = WALK_COLORS[len(WALK_COLORS) - len(texts) :]
    return {
        "property": "walk_m",
        "breaks": [d for _, d in circles],
        "colors": list(colors),
        "nodata": UNREACHABLE_COLOR,
        "title": labels.WALK_TITLE,
        "classes": [{"color": c, "label": t} for c, t in zip(colors, texts, strict=True)],
    }


def _life_circles(data: ServiceCircleMapData | VenuesMapData) -> list[dict[str, Any]]:
    return [
        {
            "minutes": minutes,
            "metres": metres,
            "button": labels.LIFE_CIRCLE_BUTTON.format(minutes=minutes),
            "metres_label": labels.LIFE_CIRCLE_METRES.format(metres=_metres(metres)),
        }
        for minutes, metres in sorted(data.life_circles)
    ]


def _circle_labels() -> dict[str, str]:
    return {**labels.UI, **labels.CIRCLE_UI, "no_data": labels.UNREACHABLE}


def service_circle_config(data: ServiceCircleMapData) -> dict[str, Any]:
    """Return the configuration the service circle page's scripts start from."""
    return {
        **_common_config(data),
        "legendWidth": LEGEND_WIDTH_PX,
        "labels": _circle_labels(),
        "layerNames": {**labels.LAYER_NAMES, **labels.CIRCLE_LAYER_NAMES},
        "shading": {"initial": "walk", "schemes": {"walk": walk_scheme(data.life_circles)}},
        "circle": {
            "lifeCircles": _life_circles(data),
            "minutes": data.minutes,
            "customRange": list(CUSTOM_LIMIT_RANGE_M),
            "maxNewPoints": 50,
        },
    }


def _validate_circle(data: ServiceCircleMapData) -> None:
    _validate_common(data)
    minutes = [m for m, _ in data.life_circles]
    if not minutes or data.minutes not in minutes:
        msg = f"minutes must be one of the life circles {minutes}, got {data.minutes!r}"
        raise ValueError(msg)
    walk_scheme(data.life_circles)


def _community_and_compounds() -> list[dict[str, str]]:
    """Return the boundary items the analysis pages' legends share."""
    return [
        {"kind": "community", "label": labels.LAYER_NAMES["communities"]},
        {"kind": "compound", "label": labels.LAYER_NAMES["compounds"]},
    ]


def _legend_labels(no_data: str) -> dict[str, str]:
    """Return the legend section titles every page shares, with its own no-data wording."""
    return {
        "no_data": no_data,
        "boundaries": labels.UI["legend_boundaries"],
        "service_points": labels.UI["legend_service_points"],
        "gates": labels.UI["legend_gates"],
    }


def _circle_legend(data: ServiceCircleMapData, static: str) -> Legend:
    kinds = _service_kinds()
    t = labels.CIRCLE_LEGEND
    red = SERVICE_STYLE["red_house"]
    return Legend(
        title=labels.UI["legend_title"],
        schemes={"walk": walk_scheme(data.life_circles)},
        initial="walk",
        boundaries=_community_and_compounds(),
        service_kinds={},
        gates=[
            {"kind": "open", "icon": "fa-door-open", "label": labels.UI["gate_open"]},
            {"kind": "closed", "icon": "fa-door-closed", "label": labels.UI["gate_closed"]},
        ],
        labels=_legend_labels(labels.UNREACHABLE),
        extra=[
            {
                "title": t["areas"],
                "items": [
                    {
                        "label": k["label"],
                        "swatch": "gm-poi-pin gm-poi-pin-sm gm-sc-kind-swatch",
                        "style": f"background:{k['color']};--gm-kind:{k['color']}",
                        "icon": k["icon"],
                    }
                    for k in kinds.values()
                ],
            },
            {
                "title": t["coverage"],
                "items": [
                    {"label": t["uncovered"], "swatch": "gm-sc-swatch gm-sc-swatch-uncovered"},
                    {"label": t["gained"], "swatch": "gm-sc-swatch gm-sc-swatch-gained"},
                    {"label": t["lost"], "swatch": "gm-sc-swatch gm-sc-swatch-lost"},
                    {
                        "label": t["proposed"],
                        "swatch": "gm-poi-pin gm-poi-pin-sm gm-sc-pin-proposed",
                        "style": f"background:{red[0]}",
                        "icon": red[1],
                    },
                    {
                        "label": t["removed"],
                        "swatch": "gm-poi-pin gm-poi-pin-sm gm-sc-pin-removed",
                        "icon": "fa-xmark",
                    },
                    {
                        "label": t["changed_gate"],
                        "swatch": "gm-gate gm-gate-closed gm-sc-gate-changed",
                        "icon": "fa-door-closed",
                    },
                ],
                "note": t["note"].format(speed=f"{data.speed_m_per_min:.0f}"),
            },
        ],
        css_class="gm-sc-legend",
        static_url=static,
    )


def service_circle_map(data: ServiceCircleMapData) -> str:
    """Return the 15-minute service circle page for ``data`` as a complete HTML document.

    The page asks ``/api/analysis/service-circle`` for the community's coverage at the limit
    chosen, and ``/api/analysis/service-circle/scenario`` for a what-if (gates closed or
    opened, service points added or removed). Nothing it does is saved.
    """
    _validate_circle(data)
    static = data.static_url.rstrip("/")
    config = service_circle_config(data)
    page, fmap = _map_page(data, title=labels.CIRCLE_TITLE, config=config)

    fmap.add_child(_community_layer(data, "communities"))
    fmap.add_child(_community_layer(data, "compounds"))
    for part in ("areas", "buildings", "service_points", "gates"):
        fmap.add_child(CircleLayer(part, labels.CIRCLE_LAYER_NAMES[part], static_url=static))

    fmap.add_child(_top_bar(data, title=labels.CIRCLE_TITLE))
    fmap.add_child(LayerSwitcher(position="topright", collapsed=True))
    kinds = _service_kinds()
    fmap.add_child(
        CirclePanel(
            community_name=data.community_name,
            labels=_circle_labels(),
            life_circles=_life_circles(data),
            service_kinds=kinds,
            add_kinds=[(k, kinds[k]["label"]) for k in ADD_KINDS],
            custom_range_m=CUSTOM_LIMIT_RANGE_M,
            notices=notices(data, ("buildings", "service_points")),
            network_hint=network_hint(data),
            static_url=static,
        )
    )
    fmap.add_child(_circle_legend(data, static))
    fmap.add_child(Loading(text=labels.UI["loading"], static_url=static))
    html: str = page.render()
    return html


# --- the red-house venue selection ------------------------------------------------------------

#: Candidate rooms by status: picked in party red (a red house), the others in the venue
#: colour, excluded ones grey, allowed-but-incomplete ones amber (a warning to the planner).
VENUE_STATUS_COLORS: Final = {
    "picked": SERVICE_STYLE["red_house"][0],
    "eligible": VENUE_COLOR,
    "incomplete": "#e08a00",
    "excluded": "#9aa3ad",
}
#: Candidate rooms by score (0-1, the weighted mean of the criteria): light to dark purple.
VENUE_SCORE = Shading(
    "score",
    (0.5, 0.6, 0.7, 0.8),
    ("#eadcf2", "#cfaee0", "#ac7cc9", "#8547ad", "#571d80"),
)
#: Building coverage before and after the picks.
VENUE_COVERAGE_COLORS: Final = {"covered": "#9fb8cf", "gained": "#1e8e3e", "uncovered": "#c62828"}
#: Width of the venue page's panel (wider than the others: it carries the whole plan).
VENUE_PANEL_WIDTH_PX = 380
#: Export formats of ``/api/analysis/venues/export``: format, button label key, icon.
VENUE_EXPORTS: Final = (
    ("csv", "venue_export_csv", "fa-file-csv"),
    ("xlsx", "venue_export_xlsx", "fa-file-excel"),
    ("geojson", "venue_export_geojson", "fa-map"),
)


def _venue_labels() -> dict[str, str]:
    return {**labels.UI, **labels.CIRCLE_UI, **labels.VENUE_UI, "no_data": labels.NO_DATA}


def _venue_schemes() -> dict[str, dict[str, Any]]:
    """Return the candidates' colourings, as the legend and the shading switch know them."""
    status = ("picked", "eligible", "incomplete", "excluded")
    score = VENUE_SCORE
    b = list(score.breaks)
    texts = [labels.CLASS_BELOW.format(hi=f"{b[0]:.1f}", unit="")]
    texts += [
        labels.VENUE_SCORE_CLASS.format(lo=f"{lo:.1f}", hi=f"{hi:.1f}") for lo, hi in pairwise(b)
    ]
    texts.append(labels.CLASS_ABOVE.format(lo=f"{b[-1]:.1f}", unit=""))
    return {
        "status": {
            "property": "status",
            "colors": dict(VENUE_STATUS_COLORS),
            "nodata": NO_DATA_COLOR,
            "title": labels.VENUE_SHADING["status"]["title"],
            "classes": [
                {"color": VENUE_STATUS_COLORS[k], "label": labels.VENUE_STATUS[k]} for k in status
            ],
        },
        "score": {
            "property": "score",
            "breaks": b,
            "colors": list(score.colors),
            "nodata": NO_DATA_COLOR,
            "title": labels.VENUE_SHADING["score"]["title"],
            "classes": [{"color": c, "label": t} for c, t in zip(score.colors, texts, strict=True)],
        },
    }


def venues_config(data: VenuesMapData) -> dict[str, Any]:
    """Return the configuration the venue page's scripts start from."""
    return {
        **_common_config(data),
        "panelWidth": VENUE_PANEL_WIDTH_PX,
        "legendWidth": LEGEND_WIDTH_PX,
        "labels": _venue_labels(),
        "layerNames": {**labels.LAYER_NAMES, **labels.VENUE_LAYER_NAMES},
        "shading": {"initial": "status", "schemes": _venue_schemes()},
        "venues": {
            "lifeCircles": _life_circles(data),
            "minutes": data.minutes,
            "speedMPerMin": data.speed_m_per_min,
            "customRange": list(CUSTOM_LIMIT_RANGE_M),
            "k": data.k,
            "kRange": list(VENUE_K_RANGE),
            "demand": data.demand,
            "demands": {k: dict(v) for k, v in labels.VENUE_DEMANDS.items()},
            "weightScore": data.weight_score,
            "weightRange": list(VENUE_WEIGHT_RANGE),
            "includeIncompleteLegal": data.include_incomplete_legal,
            "maxPerCompound": data.max_per_compound,
            "perCompoundRange": list(VENUE_PER_COMPOUND_RANGE),
            "criteria": dict(labels.VENUE_CRITERIA),
            "coverageColors": dict(VENUE_COVERAGE_COLORS),
        },
    }


def _validate_venues(data: VenuesMapData) -> None:
    _validate_common(data)
    minutes = [m for m, _ in data.life_circles]
    if not minutes or data.minutes not in minutes:
        msg = f"minutes must be one of the life circles {minutes}, got {data.minutes!r}"
        raise ValueError(msg)
    lo, hi = VENUE_K_RANGE
    if not lo <= data.k <= hi:
        msg = f"k must be within {VENUE_K_RANGE}, got {data.k!r}"
        raise ValueError(msg)
    if data.demand not in labels.VENUE_DEMANDS:
        msg = f"demand must be one of {tuple(labels.VENUE_DEMANDS)}, got {data.demand!r}"
        raise ValueError(msg)
    lo, hi = VENUE_PER_COMPOUND_RANGE
    if not lo <= data.max_per_compound <= hi:
        got = data.max_per_compound
        msg = f"max_per_compound must be within {VENUE_PER_COMPOUND_RANGE}, got {got!r}"
        raise ValueError(msg)
    if not VENUE_WEIGHT_RANGE[0] <= data.weight_score <= VENUE_WEIGHT_RANGE[1]:
        msg = f"weight_score must be within {VENUE_WEIGHT_RANGE[:2]}, got {data.weight_score!r}"
        raise ValueError(msg)


def _venue_legend(static: str) -> Legend:
    t = labels.VENUE_LEGEND
    red = SERVICE_STYLE["red_house"]
    colors = VENUE_COVERAGE_COLORS
    return Legend(
        title=labels.UI["legend_title"],
        schemes=_venue_schemes(),
        initial="status",
        boundaries=_community_and_compounds(),
        service_kinds={},
        gates=[],
        labels=_legend_labels(labels.NO_DATA),
        extra=[
            {
                "title": t["coverage"],
                "items": [
                    {
                        "label": t["covered"],
                        "swatch": "gm-sc-swatch",
                        "style": f"background:{colors['covered']}",
                    },
                    {"label": t["gained"], "swatch": "gm-sc-swatch gm-vn-swatch-gained"},
                    {"label": t["uncovered"], "swatch": "gm-sc-swatch gm-sc-swatch-uncovered"},
                ],
            },
            {
                "title": t["symbols"],
                "items": [
                    {
                        "label": t["pick"],
                        "swatch": "gm-vn-pick-swatch",
                        "style": f"background:{red[0]}",
                    },
                    {"label": t["pick_area"], "swatch": "gm-sc-swatch gm-vn-swatch-area"},
                    {
                        "label": t["existing"],
                        "swatch": "gm-poi-pin gm-poi-pin-sm gm-vn-faded-swatch",
                        "style": f"background:{SERVICE_STYLE['centre'][0]}",
                        "icon": SERVICE_STYLE["centre"][1],
                    },
                ],
                "note": t["note"],
            },
        ],
        css_class="gm-sc-legend gm-vn-legend",
        static_url=static,
    )


def venues_map(data: VenuesMapData) -> str:
    """Return the red-house venue selection page for ``data`` as a complete HTML document.

    The page asks ``/api/analysis/venues`` for the picks, then
    ``/api/analysis/service-circle/scenario`` with the picks added for their service areas and
    the buildings they newly cover; candidates come from ``/api/layers/candidate_venues``.
    Exports link to ``/api/analysis/venues/export`` with the parameters of the result shown.
    Nothing is saved.
    """
    _validate_venues(data)
    static = data.static_url.rstrip("/")
    page, fmap = _map_page(data, title=labels.VENUES_TITLE, config=venues_config(data))

    fmap.add_child(_community_layer(data, "communities"))
    fmap.add_child(_community_layer(data, "compounds"))
    for part in ("existing", "buildings", "areas", "candidates", "picks"):
        fmap.add_child(VenueLayer(part, labels.VENUE_LAYER_NAMES[part], static_url=static))

    fmap.add_child(_top_bar(data, title=labels.VENUES_TITLE))
    # Top left (there is no search box here): the tall panel gets the whole right edge.
    fmap.add_child(LayerSwitcher(position="topleft", collapsed=True))
    ui = _venue_labels()
    fmap.add_child(
        VenuePanel(
            community_name=data.community_name,
            labels=ui,
            life_circles=_life_circles(data),
            demands={k: v["button"] for k, v in labels.VENUE_DEMANDS.items()},
            k_range=VENUE_K_RANGE,
            per_compound_range=VENUE_PER_COMPOUND_RANGE,
            weight_range=VENUE_WEIGHT_RANGE,
            custom_range_m=CUSTOM_LIMIT_RANGE_M,
            exports=[(fmt, ui[key], icon) for fmt, key, icon in VENUE_EXPORTS],
            notices=notices(data, ("buildings", "candidate_venues")),
            network_hint=network_hint(data),
            static_url=static,
        )
    )
    fmap.add_child(_venue_legend(static))
    fmap.add_child(
        ShadingSwitch(
            label=labels.VENUE_UI["venue_candidate"],
            buttons={k: v["button"] for k, v in labels.VENUE_SHADING.items()},
            initial="status",
            static_url=static,
        )
    )
    fmap.add_child(Loading(text=labels.UI["loading"], static_url=static))
    html: str = page.render()
    return html
