"""The web map's custom folium elements: one small class per control or layer kind.

Each class pairs a Jinja template in ``web_map/templates/`` with its script in
``web_map/static/gridmap/`` (the structure of folium's plugins, e.g. ``Fullscreen``). Templates
render the control's HTML on the server, so the page reads without JavaScript; the scripts move
it into the map and make it live. Every asset URL starts with the page's ``static_url``: nothing
comes from a CDN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from branca.element import Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer, LayerControl
from folium.template import Template

from web_map import labels

TEMPLATES = Path(__file__).parent / "templates"


def _template(name: str) -> Any:
    """Load ``web_map/templates/{name}`` as a folium template (with its ``tojavascript``)."""
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def to_js(value: Any) -> str:
    """Serialise ``value`` as a JavaScript literal, keeping Chinese readable.

    ``<``, ``>`` and ``&`` are escaped so no string can close the ``<script>`` it sits in.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _Assets(JSCSSMixin):
    """An element whose scripts and styles are our own files under ``static_url``."""

    js: tuple[str, ...] = ()
    css: tuple[str, ...] = ()

    def _use_assets(self, static_url: str, *, vendor_js: Sequence[tuple[str, str]] = ()) -> None:
        # Instance lists: JSCSSMixin's class-level lists are shared and mutated by add_js_link.
        self.default_js = [(name, f"{static_url}/vendor/{path}") for name, path in vendor_js]
        self.default_js += [(f"gridmap_{n}", f"{static_url}/gridmap/{n}") for n in self.js]
        self.default_css = [(f"gridmap_{n}", f"{static_url}/gridmap/{n}") for n in self.css]


class Page(Figure):
    """The HTML document: zh-CN, titled, with the page's body class."""

    _template = _template("page.html.j2")

    def __init__(self, title: str) -> None:
        super().__init__(title=title)
        self._name = "Page"


class Core(_Assets, MacroElement):
    """The shared script and styles; starts the page with its configuration (first child)."""

    _template = _template("core.html.j2")
    js = ("core.js", "history.js")
    css = ("gridmap.css",)

    def __init__(self, config: Mapping[str, Any], *, static_url: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GridMapCore"
        self.config_js = to_js(dict(config))
        self._use_assets(static_url)


class Basemap(_Assets, Layer):
    """A base layer: OpenStreetMap, Amap (shifted from GCJ-02), Tianditu, or none at all."""

    _template = _template("basemap.html.j2")
    js = ("gcj02.js",)

    def __init__(
        self,
        kind: str,
        name: str,
        *,
        urls: Sequence[str] = (),
        options: Mapping[str, Any] | None = None,
        show: bool = False,
        static_url: str,
    ) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "Basemap"
        self.kind = kind
        self.spec_js = to_js({"urls": list(urls), "options": dict(options or {})})
        self._use_assets(static_url)


class ApiLayer(_Assets, Layer):
    """An overlay of one API layer (GeoJSON of ``/api/layers/{layer}``), fetched when shown."""

    _template = _template("api_layer.html.j2")
    js = ("layers.js",)

    def __init__(
        self,
        layer: str,
        name: str,
        *,
        params: Mapping[str, Any],
        show: bool = True,
        static_url: str,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ApiLayer"
        self.layer = layer
        self.params_js = to_js(dict(params))
        self._use_assets(static_url)


class BuildingTiles(_Assets, Layer):
    """Buildings as Mapbox vector tiles (Leaflet.VectorGrid), shaded by the scheme in force."""

    _template = _template("building_tiles.html.j2")
    js = ("layers.js",)

    def __init__(self, url: str, name: str, *, show: bool = True, static_url: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "BuildingTiles"
        self.url = url
        self._use_assets(
            static_url,
            vendor_js=[("vectorgrid", "vectorgrid/Leaflet.VectorGrid.bundled.min.js")],
        )


class LayerSwitcher(LayerControl):
    """Leaflet's layer control over the map's layers, with readable (unescaped) zh-CN names."""

    _template = _template("layer_switcher.html.j2")

    def __init__(self, *, position: str = "topright", collapsed: bool = True) -> None:
        super().__init__(position=position, collapsed=collapsed)
        self._name = "LayerSwitcher"
        self.base_js = self.overlays_js = "{}"

    # branca declares Element.render -> str; MacroElement.render returns None.
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Collect the map's layers (as folium does), then render them by name."""
        self.reset()
        parent = self._parent
        assert parent is not None, "add the layer switcher to a map first"
        for item in parent._children.values():
            if isinstance(item, Layer) and item.control:
                target = self.overlays if item.overlay else self.base_layers
                target[item.layer_name] = item.get_name()
        self.base_js = _js_object(self.base_layers)
        self.overlays_js = _js_object(self.overlays)
        MacroElement.render(self, **kwargs)  # type: ignore[no-untyped-call]


def _js_object(names: Mapping[str, str]) -> str:
    """``{"label": variable, ...}``: labels as JSON strings, values as JavaScript names."""
    return "{" + ", ".join(f"{to_js(label)}: {var}" for label, var in names.items()) + "}"


class TopBar(_Assets, MacroElement):
    """The page header: product name, page title, links to the other pages, community selector.

    ``links`` are ``{"label", "url", "icon"}`` mappings; each keeps the community in its URL,
    and the header's script keeps the basemap in step with the one shown. ``user`` is who is
    logged in (``web_map.pages.base.user_area``): their name, role, the admin page's link when
    they may manage users, and the logout button; ``None`` leaves the user area out.
    ``menu`` names the button (``{"open", "close"}``) that holds the links, the selector and
    the user on small screens (``web_map.labels.MENU`` by default).
    """

    _template = _template("top_bar.html.j2")
    js = ("topbar.js",)

    def __init__(
        self,
        *,
        brand: str,
        title: str,
        select_label: str,
        note: str,
        communities: Sequence[tuple[str, str]],
        current: str,
        page_url: str,
        links: Sequence[Mapping[str, str]] = (),
        user: Mapping[str, Any] | None = None,
        menu: Mapping[str, str] | None = None,
        static_url: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "TopBar"
        self.menu = dict(labels.MENU if menu is None else menu)
        self.links = [dict(link) for link in links]
        self.user = None if user is None else dict(user)
        self.brand = brand
        self.title = title
        self.select_label = select_label
        self.note = note
        self.communities = list(communities)
        self.current = current
        self.page_url = page_url
        self._use_assets(static_url)


class SearchBox(_Assets, MacroElement):
    """Search compounds and buildings by name (``/api/search``); fly to and open the result."""

    _template = _template("search_box.html.j2")
    js = ("search.js",)

    def __init__(
        self, *, placeholder: str, button: str, position: str = "topleft", static_url: str
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "SearchBox"
        self.placeholder = placeholder
        self.button = button
        self.position = position
        self._use_assets(static_url)


class SidePanel(_Assets, MacroElement):
    """Summary figures of the community or grid at the map centre (``/api/stats/at``).

    With ``events`` (``web_map.pages.events.panel_events``) the panel has a second view, 事件:
    the events' filter, list, report form and an event's page with its timeline and steps
    (``events.js``); without, it shows the figures only.
    """

    _template = _template("side_panel.html.j2")
    js: tuple[str, ...] = ("sidepanel.js",)

    def __init__(
        self,
        *,
        labels: Mapping[str, str],
        service_kinds: Mapping[str, Mapping[str, str]],
        notices: Sequence[Mapping[str, str]] = (),
        events: Mapping[str, Any] | None = None,
        position: str = "topright",
        static_url: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "SidePanel"
        self.notices = [dict(n) for n in notices]
        self.labels = dict(labels)
        self.service_kinds = {k: dict(v) for k, v in service_kinds.items()}
        self.events = None if events is None else dict(events)
        # The 事件 view, rendered here from its own template (folium's have no loader).
        self.events_html = "" if events is None else _EVENT_PANEL.render(ev=self.events)
        self.position = position
        if events is not None:
            self.js = (*type(self).js, "events.js")
            self.css = (*type(self).css, "events.css")
        self._use_assets(static_url)


_EVENT_PANEL = _template("event_panel.html.j2")


class EventLayer(_Assets, Layer):
    """One overlay of the officer map's events: ``points`` (by status) or ``heat`` (per grid).

    The layer is filled by ``events.js`` from ``/api/events`` (the side panel's 事件 view holds
    its filter).
    """

    _template = _template("event_layer.html.j2")
    js = ("layers.js", "events.js")
    css = ("events.css",)

    def __init__(self, part: str, name: str, *, show: bool = True, static_url: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "EventLayer"
        self.part = part
        self._use_assets(static_url)


class Legend(_Assets, MacroElement):
    """The legend: building classes of each shading (the one in force shown), and symbols.

    Every scheme's classes are rendered, the others hidden, so switching shows another section
    and the legend always matches the buildings; then boundaries, service points and gates (each
    left out when empty), then any ``extra`` sections: ``{"title", "items": [{"label",
    "swatch", "style", "icon"}], "note", "key", "hidden"}``, where ``swatch`` is the CSS class
    of the item's sample, ``key`` names the section (``data-legend``, for a script to show or
    hide it) and ``hidden`` hides it at first. ``css_class`` is added to the legend's own, for a
    page's styles.
    """

    _template = _template("legend.html.j2")
    js = ("legend.js",)

    def __init__(
        self,
        *,
        title: str,
        schemes: Mapping[str, Mapping[str, Any]],
        initial: str,
        boundaries: Sequence[Mapping[str, str]],
        service_kinds: Mapping[str, Mapping[str, str]],
        gates: Sequence[Mapping[str, str]],
        labels: Mapping[str, str],
        extra: Sequence[Mapping[str, Any]] = (),
        css_class: str = "",
        position: str = "bottomleft",
        static_url: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        self.extra = [dict(section) for section in extra]
        self.css_class = css_class
        self.title = title
        self.schemes = {k: dict(v) for k, v in schemes.items()}
        self.initial = initial
        self.boundaries = [dict(b) for b in boundaries]
        self.service_kinds = {k: dict(v) for k, v in service_kinds.items()}
        self.gates = [dict(g) for g in gates]
        self.labels = dict(labels)
        self.position = position
        self._use_assets(static_url)


class ShadingSwitch(_Assets, MacroElement):
    """Two buttons that shade buildings by households or by occupancy, without a reload."""

    _template = _template("shading_switch.html.j2")
    js = ("shading.js",)

    def __init__(
        self,
        *,
        label: str,
        buttons: Mapping[str, str],
        initial: str,
        position: str = "bottomleft",
        static_url: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "ShadingSwitch"
        self.label = label
        self.buttons = dict(buttons)
        self.initial = initial
        self.position = position
        self._use_assets(static_url)


class Loading(_Assets, MacroElement):
    """A "加载中…" badge shown while layers, tiles or figures load."""

    _template = _template("loading.html.j2")
    js = ("loading.js",)

    def __init__(self, *, text: str, static_url: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Loading"
        self.text = text
        self._use_assets(static_url)


class CircleLayer(_Assets, Layer):
    """One overlay of the service circle page, drawn from the analysis (``/api/analysis``).

    ``part`` is ``areas`` (service areas), ``buildings`` (walking distance, uncovered marked,
    gains and losses), ``service_points`` or ``gates``; the page's script fills it.
    """

    _template = _template("circle_layer.html.j2")
    js = ("layers.js", "analysis.js", "circle.js")
    css = ("circle.css",)

    def __init__(self, part: str, name: str, *, show: bool = True, static_url: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CircleLayer"
        self.part = part
        self._use_assets(static_url)


class CirclePanel(_Assets, MacroElement):
    """The service circle's panel: the limit, coverage figures, uncovered buildings, scenarios.

    ``life_circles`` are ``{"minutes", "metres"}`` mappings (GB 50180-2018), ``add_kinds`` the
    kinds a proposed service point may be, as ``(kind, label)``.
    """

    _template = _template("circle_panel.html.j2")
    js = ("analysis.js", "circle.js", "circle_panel.js")
    css = ("circle.css",)

    def __init__(
        self,
        *,
        community_name: str,
        labels: Mapping[str, str],
        life_circles: Sequence[Mapping[str, Any]],
        service_kinds: Mapping[str, Mapping[str, str]],
        add_kinds: Sequence[tuple[str, str]],
        custom_range_m: tuple[int, int],
        notices: Sequence[Mapping[str, str]] = (),
        network_hint: str | None = None,
        position: str = "topright",
        static_url: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "CirclePanel"
        self.notices = [dict(n) for n in notices]
        self.network_hint = network_hint
        self.community_name = community_name
        self.labels = dict(labels)
        self.life_circles = [dict(c) for c in life_circles]
        self.service_kinds = {k: dict(v) for k, v in service_kinds.items()}
        self.add_kinds = list(add_kinds)
        self.custom_range_m = custom_range_m
        self.position = position
        self._use_assets(static_url)


class VenueLayer(_Assets, Layer):
    """One overlay of the red-house venue page, drawn from ``/api/analysis/venues``.

    ``part`` is ``existing`` (the service points there are and their areas, faded),
    ``buildings`` (covered before, newly covered, still uncovered), ``areas`` (the picks' new
    service areas), ``candidates`` (every candidate room, by status or score) or ``picks``
    (the chosen rooms, numbered); the page's script fills it.
    """

    _template = _template("venue_layer.html.j2")
    js = ("layers.js", "analysis.js", "venues.js")
    css = ("circle.css", "venues.css")

    def __init__(self, part: str, name: str, *, show: bool = True, static_url: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "VenueLayer"
        self.part = part
        self._use_assets(static_url)


class VenuePanel(_Assets, MacroElement):
    """The venue page's panel: the selection's parameters, then what a planner takes away.

    Coverage before and after, whether the answer is proven optimal, each pick with its gains,
    score breakdown and the runner-up it beat, the coverage curve over ``k``, the excluded
    candidates, and export links. ``life_circles`` are ``{"minutes", "metres", "button",
    "metres_label"}`` mappings; ``demands`` map the API's demand to its button text;
    ``k_range``, ``per_compound_range`` and ``weight_range`` are ``(min, max)`` (the weight's
    also its step).
    """

    _template = _template("venue_panel.html.j2")
    js = ("analysis.js", "venues.js", "venue_panel.js")
    css = ("circle.css", "venues.css")

    def __init__(
        self,
        *,
        community_name: str,
        labels: Mapping[str, str],
        life_circles: Sequence[Mapping[str, Any]],
        demands: Mapping[str, str],
        k_range: tuple[int, int],
        per_compound_range: tuple[int, int],
        weight_range: tuple[int, int, int],
        custom_range_m: tuple[int, int],
        exports: Sequence[tuple[str, str, str]],
        notices: Sequence[Mapping[str, str]] = (),
        network_hint: str | None = None,
        position: str = "topright",
        static_url: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "VenuePanel"
        self.notices = [dict(n) for n in notices]
        self.network_hint = network_hint
        self.community_name = community_name
        self.labels = dict(labels)
        self.life_circles = [dict(c) for c in life_circles]
        self.demands = dict(demands)
        self.k_range = k_range
        self.per_compound_range = per_compound_range
        self.weight_range = weight_range
        self.custom_range_m = custom_range_m
        self.exports = list(exports)
        self.position = position
        self._use_assets(static_url)


class LeadZoneLayer(_Assets, Layer):
    """One overlay of the lead zone page: ``zones``, ``buildings`` or ``leads`` (stars)."""

    _template = _template("lead_zone_layer.html.j2")
    js = ("layers.js", "analysis.js", "lead_zones.js")
    css = ("lead_zones.css",)

    def __init__(self, part: str, name: str, *, show: bool = True, static_url: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "LeadZoneLayer"
        self.part = part
        self._use_assets(static_url)


class LeadZonePanel(_Assets, MacroElement):
    """The lead zone panel: counts by kind, settings and 预览, the diff, 保存方案, exports.

    Without ``can_save`` (a role that may not save plans) the panel has no 保存方案 button and
    says the page only previews.
    """

    _template = _template("lead_zone_panel.html.j2")
    js = ("analysis.js", "lead_zones.js")
    css = ("lead_zones.css",)

    def __init__(
        self,
        *,
        community_name: str,
        labels: Mapping[str, str],
        kinds: Mapping[str, Mapping[str, str]],
        settings: Mapping[str, Any],
        notices: Sequence[Mapping[str, str]] = (),
        network_hint: str | None = None,
        can_save: bool = True,
        position: str = "topright",
        static_url: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "LeadZonePanel"
        self.can_save = can_save
        self.notices = [dict(n) for n in notices]
        self.network_hint = network_hint
        self.community_name = community_name
        self.labels = dict(labels)
        self.kinds = {k: dict(v) for k, v in kinds.items()}
        self.settings = dict(settings)
        self.position = position
        self._use_assets(static_url)


class SplitLayer(_Assets, Layer):
    """One overlay of the split page: ``units`` (territories by part) or ``boundaries``."""

    _template = _template("split_layer.html.j2")
    js = ("layers.js", "analysis.js", "split.js")
    css = ("split.css",)

    def __init__(self, part: str, name: str, *, show: bool = True, static_url: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "SplitLayer"
        self.part = part
        self._use_assets(static_url)


class SplitPanel(_Assets, MacroElement):
    """The split panel: settings and 生成方案, the plans' cards and table, 撤销, exports, save.

    The selected plan's parts are listed with their colours: the map's legend.
    ``by`` maps the API's balanced figure to its name; ``settings`` holds what the form starts
    at and its ``ranges``. Without ``can_save`` (a role that may not restructure communities)
    the panel has no save form and says the page only compares.
    """

    _template = _template("split_panel.html.j2")
    js = ("analysis.js", "split.js")
    css = ("split.css",)

    def __init__(
        self,
        *,
        community_name: str,
        labels: Mapping[str, str],
        by: Mapping[str, str],
        settings: Mapping[str, Any],
        notices: Sequence[Mapping[str, str]] = (),
        can_save: bool = True,
        position: str = "topright",
        static_url: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "SplitPanel"
        self.can_save = can_save
        self.notices = [dict(n) for n in notices]
        self.community_name = community_name
        self.labels = dict(labels)
        self.by = dict(by)
        self.settings = dict(settings)
        self.position = position
        self._use_assets(static_url)
