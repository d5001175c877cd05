"""What every page of the web map is built from: its data's shared fields, and the parts alike.

A page module (:mod:`~web_map.pages.officer`, :mod:`~web_map.pages.service_circle`,
:mod:`~web_map.pages.venues`, :mod:`~web_map.pages.lead_zones`) subclasses :class:`MapData` with
its own fields, and composes its page from this small API:

- :class:`UserBadge` and :func:`may`: who is logged in and what their role may do (the
  header shows them; each page hides what the role may not do);
- :func:`validate`: the checks of the shared fields (basemap, bounds, ``missing``);
- :func:`common_config`: the configuration every page's scripts share, to extend;
- :func:`map_page`: the document and its map, with local assets, ``core.js`` started and the
  basemaps; then :func:`top_bar` (the header) and :func:`community_layer` (boundaries);
- :func:`notices` and :func:`network_hint`: what the page says about the layers it lacks;
- the styles: :data:`SERVICE_STYLE` (:func:`service_kinds`), :class:`Shading`,
  :data:`NO_DATA_COLOR`, :func:`legend_labels` and :func:`community_and_compounds` (the legend
  parts the pages share), and the life circles of the analysis pages
  (:data:`GB50180_LIFE_CIRCLES`, :func:`life_circle_buttons`, :func:`validate_minutes`).

Every script, style and font comes from ``static_url`` (``web_map/static/``): neither CI nor an
intranet reaches a CDN. The only remote URLs are the basemaps' tile templates, and "no basemap"
fetches none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args
from urllib.parse import quote

import folium

from layers import domain
from web_map import labels
from web_map.elements import ApiLayer, Basemap, Core, Page, TopBar

BasemapName = Literal["osm", "amap", "tianditu", "none"]
BASEMAPS: Final[tuple[str, ...]] = get_args(BasemapName)

#: Width the side panel takes from the map's right edge, so the community is not hidden.
PANEL_WIDTH_PX = 340
#: Width the analysis pages' legend takes from the left edge (it is open, and wide).
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
class UserBadge:
    """Who is logged in, as the header shows them and the scripts know them (plain data).

    ``role_label`` is the role's zh-CN name; ``permissions`` the values of what the role may do
    (``gis_api.access.Permission``: ``"analyse"``, ``"save_plans"``, ``"history"``, ...).
    The app converts its user into this: the pages know nothing of the app.
    """

    username: str
    role: str
    role_label: str
    display_name: str | None = None
    permissions: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The name the header shows: the display name, else the username."""
        return self.display_name or self.username

    def may(self, permission: str) -> bool:
        """Whether the role has ``permission`` (a ``Permission`` value such as ``"analyse"``)."""
        return permission in self.permissions

    def config(self) -> dict[str, Any]:
        """Return the user as the page's scripts know it (``GridMap.config.user``)."""
        return {
            "username": self.username,
            "displayName": self.name,
            "role": self.role,
            "roleLabel": self.role_label,
            "permissions": list(self.permissions),
        }


def may(user: UserBadge | None, permission: str) -> bool:
    """Whether ``user`` may do ``permission``; a page built without a user may do anything.

    Pages rendered without a user (tests of their HTML, previews) show every control; the app
    always passes the logged-in user, and the API refuses what the role may not do anyway.
    """
    return user is None or user.may(permission)


@dataclass(frozen=True)
class MapData:
    """The fields every page's data has, as plain values; each page subclasses it with its own.

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
        URL of this page, for the community selector (each page has its own default).
    tianditu_token
        Tianditu key; without one, Tianditu is not offered.
    links
        Links in the header to the other pages.
    missing
        The layers (of :data:`MISSABLE`) the community has no data in: the page says what to
        import next instead of asking an analysis that can only refuse.
    user
        Who is logged in (the header shows them, the scripts hide what the role may not do);
        ``None``: a page built without one, every control shown.
    field_labels
        The zh-CN label of each field, by layer (``{"buildings": {"households": "户数"}}``),
        for the change history in the popups.
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
    links: tuple[PageLink, ...] = ()
    missing: tuple[str, ...] = ()
    user: UserBadge | None = None
    field_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


#: Layers a community may have no data in, as ``missing`` names them (``network``: the
#: walking network). Real places come without compounds, service points, network or rooms.
MISSABLE: Final = ("buildings", "compounds", "service_points", "candidate_venues", "network")


def validate(data: MapData) -> None:
    """Raise :class:`ValueError` when a shared field of ``data`` is out of bounds."""
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


# --- notices about missing layers ---------------------------------------------------------------


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


# --- styles ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shading:
    """Classes of one building shading: ``breaks`` split values into ``len(breaks) + 1``."""

    property: str
    breaks: tuple[float, ...]
    colors: tuple[str, ...]
    percent: bool = False


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


def service_kinds() -> dict[str, dict[str, str]]:
    """Return the service point kinds as the scripts and legends know them: label, colour, icon."""
    return {
        kind: {"label": labels.SERVICE_POINT_KINDS[kind], "color": color, "icon": icon}
        for kind, (color, icon) in SERVICE_STYLE.items()
    }


def community_and_compounds() -> list[dict[str, str]]:
    """Return the boundary items the analysis pages' legends share."""
    return [
        {"kind": "community", "label": labels.LAYER_NAMES["communities"]},
        {"kind": "compound", "label": labels.LAYER_NAMES["compounds"]},
    ]


def legend_labels(no_data: str) -> dict[str, str]:
    """Return the legend section titles every page shares, with its own no-data wording."""
    return {
        "no_data": no_data,
        "boundaries": labels.UI["legend_boundaries"],
        "service_points": labels.UI["legend_service_points"],
        "gates": labels.UI["legend_gates"],
    }


# --- life circles (the service circle and venue pages) --------------------------------------------

#: GB 50180-2018 life circles as (walking minutes, walking metres): 5 -> 300, 10 -> 500,
#: 15 -> 1000. The route passes the analysis's own table; this default is the same standard.
GB50180_LIFE_CIRCLES: Final[tuple[tuple[int, float], ...]] = tuple(
    sorted(domain.LIFE_CIRCLES_M.items())
)
#: The custom walking limit the analysis pages accept, in metres.
CUSTOM_LIMIT_RANGE_M: Final = (50, 5000)


def metres_text(value: float) -> str:
    """Return walking metres as the pages write them: whole metres."""
    return f"{value:.0f}"


def life_circle_buttons(life_circles: Sequence[tuple[int, float]]) -> list[dict[str, Any]]:
    """Return the limit control's life circles, shortest first: minutes, metres, their texts."""
    return [
        {
            "minutes": minutes,
            "metres": metres,
            "button": labels.LIFE_CIRCLE_BUTTON.format(minutes=minutes),
            "metres_label": labels.LIFE_CIRCLE_METRES.format(metres=metres_text(metres)),
        }
        for minutes, metres in sorted(life_circles)
    ]


def validate_minutes(minutes: int, life_circles: Sequence[tuple[int, float]]) -> None:
    """Raise :class:`ValueError` unless ``minutes`` is one of the ``life_circles``."""
    offered = [m for m, _ in life_circles]
    if not offered or minutes not in offered:
        msg = f"minutes must be one of the life circles {offered}, got {minutes!r}"
        raise ValueError(msg)


# --- the page and its header ----------------------------------------------------------------------

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


def basemap_specs(token: str | None) -> dict[str, dict[str, Any]]:
    """Return the basemaps offered, by kind: tile URL templates and Leaflet options.

    Tianditu is offered only with a ``token``; ``none`` has no tiles at all.
    """
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


def common_config(data: MapData) -> dict[str, Any]:
    """Return the configuration every page's scripts share (a page adds its own keys)."""
    return {
        "community": data.community_code,
        "communityName": data.community_name,
        "apiRoot": data.api_root,
        "bounds": list(data.bounds),
        "basemap": data.basemap,
        "panelWidth": PANEL_WIDTH_PX,
        "serviceKinds": service_kinds(),
        "venueColor": VENUE_COLOR,
        "gateKinds": dict(labels.GATE_KINDS),
        "venueKinds": dict(labels.VENUE_KINDS),
        "maturity": dict(labels.MATURITY),
        "missing": list(data.missing),
        "user": None if data.user is None else data.user.config(),
        "fieldLabels": {
            layer: {**labels.HISTORY_COLUMNS, **dict(names)}
            for layer, names in data.field_labels.items()
        },
        "urls": site_urls(data.api_root),
        "drawers": dict(labels.DRAWERS),
    }


def site_urls(root: str) -> dict[str, str]:
    """Return the URLs of logging in and out and of the user management page, under ``root``."""
    root = root.rstrip("/")
    return {
        "login": f"{root}/login",
        "logout": f"{root}/api/auth/logout",
        "admin": f"{root}/admin/users",
    }


def user_area(user: UserBadge | None, root: str) -> dict[str, Any] | None:
    """Return what the header shows of the user: name, role, and the admin link if allowed."""
    if user is None:
        return None
    urls = site_urls(root)
    return {
        "name": user.name,
        "username": user.username,
        "role": user.role,
        "role_label": user.role_label,
        "label": labels.USER["label"],
        "logout": labels.USER["logout"],
        "admin": (
            {"label": labels.USER["admin_nav"], "url": urls["admin"], "icon": "fa-users-gear"}
            if user.may("manage_users")
            else None
        ),
    }


def map_page(data: MapData, *, title: str, config: dict[str, Any]) -> tuple[Page, folium.Map]:
    """Build the page and its map: local assets, the shared script started, the basemaps.

    ``config`` is what the page's scripts start from (:func:`common_config` and the page's own).
    The caller adds its layers and controls to the map, then renders the page.
    """
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

    for kind, spec in basemap_specs(data.tianditu_token).items():
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


def community_choices(data: MapData) -> list[tuple[str, str]]:
    """Return the selector's ``(code, name)`` choices, the current community always among them."""
    choices = [(c.code, c.name) for c in data.communities]
    if data.community_code not in {code for code, _ in choices}:
        choices.insert(0, (data.community_code, data.community_name))
    return choices


def top_bar(data: MapData, *, title: str) -> TopBar:
    """Return the page's header: brand, ``title``, links to the other pages, the selector."""
    return TopBar(
        brand=labels.BRAND,
        title=title,
        select_label=labels.COMMUNITY_SELECT,
        note=labels.COORDINATES_NOTE,
        communities=community_choices(data),
        current=data.community_code,
        page_url=data.page_url,
        links=[{"label": k.label, "url": k.url, "icon": k.icon} for k in data.links],
        user=user_area(data.user, data.api_root),
        menu=dict(labels.MENU),
        static_url=data.static_url.rstrip("/"),
    )


def community_layer(data: MapData, layer: str, *, show: bool = True) -> ApiLayer:
    """Return the overlay of the community's ``layer`` (``/api/layers/{layer}``), by its name."""
    return ApiLayer(
        layer,
        labels.LAYER_NAMES[layer],
        params={"community": data.community_code, "limit": 10_000},
        show=show,
        static_url=data.static_url.rstrip("/"),
    )
