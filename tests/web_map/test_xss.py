"""Hostile names render as text on every page, in its popups, tooltips, search, panels and lists.

The test community T1 is stored with every name a person types (community, grid and grid
officer, compound and property company, gates, buildings and building lead, service point,
candidate rooms) carrying ``<script>alert(1)</script>``, ``<img src=x onerror=alert(1)>`` and
``"'><b>x</b>``. Stored as given is fine; shown, it must stay text. Each page is opened in
Chromium with ``window.alert`` recording calls (and dialogs watched over DevTools); the test
opens the popups, search results and lists where the names appear, then checks that no alert
fired, no ``img[src=x]``, ``<b>x</b>`` or ``alert(1)`` script exists, and the literal name is
what the user reads.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

import geopandas as gpd
from shapely.geometry import Point

from tests import factories, shapes
from tests.running import serve
from tests.web_map.browser import Browser, Page, js, open_pages

EVIL = "<script>alert(1)</script><img src=x onerror=alert(1)>\"'><b>x</b>"
COMMUNITY = f"社区{EVIL}"
GRID = f"网格{EVIL}"
OFFICER = f"网格员{EVIL}"
COMPOUND = f"小区{EVIL}"
PROPERTY = f"物业{EVIL}"
GATE = f"南门{EVIL}"
BUILDINGS = {"B1": f"1栋{EVIL}", "B2": f"2栋{EVIL}", "B3": f"3栋{EVIL}"}
LEAD = f"楼长{EVIL}"
POINT = f"服务点{EVIL}"
VENUES = {"CV1": f"场地甲{EVIL}", "CV2": f"场地乙{EVIL}", "CV3": f"场地丙{EVIL}"}

#: Records calls to window.alert (and confirm, prompt) before any of the page's scripts run.
RECORD_ALERTS = (
    "window.__alerts = [];"
    " ['alert', 'confirm', 'prompt'].forEach(n => {"
    " window[n] = function (m) { window.__alerts.push(n + ':' + String(m)); }; });"
)
#: What an injection would leave in the document.
INJECTED = """(() => ({
    img: document.querySelectorAll('img[src="x"]').length,
    bold: [...document.querySelectorAll('b')].filter(b => b.textContent === 'x').length,
    script: [...document.scripts].filter(s => s.textContent.trim() === 'alert(1)').length,
}))()"""


def hostile_layers() -> dict[str, gpd.GeoDataFrame]:
    """T1 with every name hostile, and three candidate rooms (two allowed, one excluded)."""
    layers = factories.community_layers()
    layers["communities"]["name"] = COMMUNITY
    grids = layers["grids"]
    grids.loc[grids["code"] == "G1", ["name", "officer_name"]] = [GRID, OFFICER]
    layers["compounds"]["name"] = COMPOUND
    layers["compounds"]["property_company"] = PROPERTY
    layers["gates"]["name"] = GATE
    buildings = layers["buildings"]
    buildings["name"] = buildings["code"].map(BUILDINGS)
    buildings["lead_name"] = LEAD
    layers["service_points"]["name"] = POINT
    legal = {
        "lawyer_consulted": True,
        "housing_filed": True,
        "publicly_noticed": True,
        "property_recorded": True,
    }
    rooms = factories.frame(
        [
            {
                "code": "CV2",
                "kind": "community_room",
                "floor_area_m2": 80.0,
                "ground_floor": True,
                "ventilation": "good",
                **legal,
                "geometry": Point(620, 700),
            },
            {
                "code": "CV3",
                "kind": "property_room",
                "floor_area_m2": 60.0,
                "ground_floor": False,
                "ventilation": "poor",
                **legal,
                "housing_filed": False,
                "geometry": Point(320, 220),
            },
        ]
    )
    first = layers["candidate_venues"].assign(**legal)
    venues = gpd.GeoDataFrame(pd.concat([first, rooms], ignore_index=True), crs=first.crs)
    venues["name"] = venues["code"].map(VENUES)
    layers["candidate_venues"] = venues
    return layers


def assert_safe(page: Page, where: str) -> None:
    """No alert, no dialog, nothing injected, so far."""
    assert js(page, "window.__alerts") == [], where
    dialogs = [
        e
        for e in page.browser.events
        if e.get("sessionId") == page.session and e.get("method") == "Page.javascriptDialogOpening"
    ]
    assert dialogs == [], where
    assert js(page, INJECTED) == {"img": 0, "bold": 0, "script": 0}, where
    assert page.console_errors() == [], where


def shown(page: Page, selector: str) -> list[str]:
    """What the user reads in each element matching ``selector``."""
    return list(
        page.evaluate(
            f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.innerText)"
        )
    )


def close_popup(page: Page) -> None:
    page.evaluate("GridMap.map.closePopup(), null")
    page.wait_for("!document.querySelector('.leaflet-popup-content')", what="popup closed")


def popup(page: Page, where: str) -> str:
    """The open popup's text (waiting for it)."""
    page.wait_for("!!document.querySelector('.leaflet-popup-content')", what=f"{where} popup")
    text = str(js(page, "document.querySelector('.leaflet-popup-content').innerText"))
    assert_safe(page, where)
    return text


def reads(text: str, *names: str) -> None:
    for name in names:
        assert name in text, (name, text)


def fire_click(page: Page, group: str, *, marker: bool = False) -> None:
    """Click the first shape (at its centre), or ``marker``, of the layer group ``group``."""
    close_popup(page)
    page.evaluate(
        f"""(() => {{
        const found = [];
        const walk = l => l.eachLayer ? l.eachLayer(walk) : found.push(l);
        walk(GridMap.layers[{json.dumps(group)}]);
        const l = found.filter(f => !{json.dumps(marker)} || f.getLatLng)[0];
        const at = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
        l.fire('click', {{ latlng: at }}, true);
        if (l.getPopup && l.getPopup()) {{ l.openPopup(at); }}
    }})()"""
    )


def check_header(page: Page) -> None:
    assert js(page, "document.title").startswith(COMMUNITY)
    options = shown(page, ".gm-community-select option")
    assert options == [f"{COMMUNITY}（T1）"]


def officer_map(page: Page) -> None:
    check_header(page)
    page.evaluate("document.querySelector('[data-level=\"community\"]').click()")
    assert shown(page, '.gm-panel [data-field="name"]') == [COMMUNITY]
    labels: list[Any] = shown(page, ".gm-label-grids, .gm-label-compounds")
    reads(" ".join(labels), GRID, COMPOUND)

    # Search: the results list, then a building's popup with its lead.
    page.type_text(".gm-search-input", "onerror")
    page.evaluate("document.querySelector('.gm-search-form').requestSubmit()")
    page.wait_for("GridMap.state.searches === 1 && GridMap.pending() === 0", what="search")
    names = shown(page, ".gm-search-results .gm-search-name")
    assert sorted(names) == sorted([COMPOUND, *BUILDINGS.values()])
    assert_safe(page, "search results")
    page.evaluate(
        "[...document.querySelectorAll('.gm-search-result')]"
        ".find(b => b.innerText.includes('1栋')).click()"
    )
    page.wait_for("GridMap.state.lastResult && GridMap.pending() === 0", what="search result")
    reads(popup(page, "building popup"), BUILDINGS["B1"], COMPOUND, GRID, LEAD)

    # Areas under a click: the compound, the grid.
    for where, lonlat, names_ in (
        ("compound", (250, 300), (COMPOUND, PROPERTY)),
        ("grid", (50, 900), (GRID, OFFICER)),
    ):
        point = factories.frame([{"geometry": Point(*lonlat)}]).geometry.iloc[0]
        close_popup(page)
        page.evaluate(f"GridMap.openAreaPopup({{ latlng: L.latLng({point.y}, {point.x}) }}), null")
        reads(popup(page, f"{where} popup"), *names_)

    # Points: the service point and a gate (popups and hover labels), then candidate rooms.
    fire_click(page, "service_points")
    reads(popup(page, "service point popup"), POINT)
    fire_click(page, "gates")
    reads(popup(page, "gate popup"), GATE, COMPOUND)
    page.evaluate("GridMap.map.addLayer(GridMap.layers.candidate_venues), null")
    page.wait_for("GridMap.state.layersLoaded.candidate_venues === 3 && GridMap.pending() === 0")
    fire_click(page, "candidate_venues")
    reads(popup(page, "candidate popup"), VENUES["CV1"], COMPOUND)
    page.evaluate("GridMap.layers.service_points.eachLayer(l => l.openTooltip()), null")
    reads(" ".join(shown(page, ".gm-hover-label")), POINT)


def circle_page(page: Page) -> None:
    check_header(page)
    assert shown(page, ".gm-sc-panel .gm-panel-name") == [COMMUNITY]
    # At 5 minutes (300 m) buildings fall outside: the uncovered list names them.
    page.evaluate("document.querySelector('[data-minutes=\"5\"]').click()")
    page.wait_for(
        "GridMap.state.circle.limitM === 300 && GridMap.pending() === 0", what="5 minutes"
    )
    page.evaluate("document.querySelector('[data-tab=\"uncovered\"]').click()")
    listed = shown(page, ".gm-sc-uncovered .gm-sc-item-name")
    assert listed and all(EVIL in n for n in listed), listed
    assert_safe(page, "uncovered list")
    close_popup(page)
    assert js(page, "GridMap.circle.showBuilding('B1', { fly: false })") is True
    reads(popup(page, "building popup"), BUILDINGS["B1"], COMPOUND, POINT)
    page.evaluate("document.querySelector('[data-minutes=\"15\"]').click()")
    page.wait_for(
        "GridMap.state.circle.limitM === 1000 && GridMap.pending() === 0", what="15 minutes"
    )
    fire_click(page, "circle_gates")
    reads(popup(page, "gate popup"), GATE, COMPOUND)
    fire_click(page, "circle_service_points")  # removes it in the scenario
    reads(popup(page, "service point popup"), POINT)
    changes = shown(page, ".gm-sc-changes .gm-sc-change-name")
    reads(" ".join(changes), POINT, f"{COMPOUND} {GATE}")
    assert js(page, "GridMap.circle.edits().length") == 2
    page.evaluate("GridMap.circle.run(), null")
    page.wait_for("GridMap.state.circle.runs === 1 && GridMap.pending() === 0", what="run")
    lost = shown(page, '[data-diff="lost"] .gm-sc-item-name')
    assert lost and all(EVIL in n for n in lost), lost
    page.evaluate("GridMap.circle.layer('service_points').eachLayer(l => l.openTooltip()), null")
    reads(" ".join(shown(page, ".gm-hover-label")), POINT)
    assert_safe(page, "scenario result")


def venues_page(page: Page) -> None:
    check_header(page)
    assert shown(page, ".gm-vn-panel .gm-panel-name") == [COMMUNITY]
    picks = shown(page, ".gm-vn-picks .gm-vn-pick-name")
    assert picks and set(picks) <= set(VENUES.values()), picks
    runners = shown(page, ".gm-vn-beat b")  # the rooms each pick beat, by name
    assert set(runners) <= set(VENUES.values()), runners
    page.evaluate("document.querySelector('.gm-vn-excluded').open = true")
    assert shown(page, ".gm-vn-excluded-list .gm-sc-item-name") == [VENUES["CV3"]]
    reads(" ".join(shown(page, ".gm-vn-pick-label")), *picks)
    assert_safe(page, "venue panel")
    close_popup(page)
    assert js(page, "GridMap.venues.show('CV3')") is True
    reads(popup(page, "candidate popup"), VENUES["CV3"])
    fire_click(page, "venues_buildings")
    reads(popup(page, "building popup"), EVIL)
    fire_click(page, "venues_existing", marker=True)
    reads(popup(page, "service point popup"), POINT)


def lead_zones_page(page: Page) -> None:
    check_header(page)
    assert shown(page, ".gm-lz-panel .gm-panel-name") == [COMMUNITY]
    zone = js(page, "GridMap.leadZones.last().zones.features[0].properties.zone_id")
    assert js(page, f"GridMap.leadZones.openZone({json.dumps(zone)})") is True
    text = popup(page, "zone popup")
    assert any(name in text for name in BUILDINGS.values()), text
    fire_click(page, "lead_buildings")
    assert any(name in popup(page, "building popup") for name in BUILDINGS.values())
    page.evaluate("GridMap.map.setZoom(18, { animate: false }), null")
    stars = js(page, "[...document.querySelectorAll('.gm-lz-star')].map(s => s.title)")
    assert stars and all(s in BUILDINGS.values() for s in stars), stars


def split_page(page: Page) -> None:
    check_header(page)
    assert shown(page, ".gm-split-panel .gm-panel-name") == [COMMUNITY]
    page.evaluate("GridMap.split.generate()", await_promise=True)
    page.wait_for("GridMap.state.split.ready && GridMap.pending() === 0", what="split plans")
    assert_safe(page, "split plans")
    names = js(page, "GridMap.split.last().units.features.map(f => f.properties.name)")
    assert COMPOUND in names, names
    units = js(page, "GridMap.split.last().units.features.map(f => f.properties.unit_id)")
    for unit in units:
        close_popup(page)
        assert js(page, f"GridMap.split.openUnit({json.dumps(unit)})") is True
        text = popup(page, "unit popup")
        assert any(name in text for name in (COMPOUND, *BUILDINGS.values())), text
    # A move names the unit moved (the undo line); the save form keeps the names as typed.
    close_popup(page)
    plan = js(page, "GridMap.split.plan(0)")
    unit = units[0]
    part = 1 - plan["assignment"][unit]
    page.evaluate(f"GridMap.split.move({json.dumps(unit)}, {part})", await_promise=True)
    assert EVIL in shown(page, ".gm-split-undo-what")[0]
    assert js(page, "GridMap.split.openSave()") is True
    values = js(
        page, "[...document.querySelectorAll('.gm-split-save-row input')].map(i => i.value)"
    )
    assert values[:2] == ["T1", COMMUNITY], values
    assert js(page, "GridMap.split.confirmSave()") is True
    reads(shown(page, ".gm-split-save-check")[0], COMMUNITY)
    assert_safe(page, "split save form")


def test_hostile_names_render_as_text(fresh_db: str, browser: Browser) -> None:
    shapes.load(fresh_db, hostile_layers(), factories.network_lines())
    with serve(fresh_db) as base:
        pages = open_pages(browser, base, before=RECORD_ALERTS)
        for name, check in (
            ("officer", officer_map),
            ("circle", circle_page),
            ("venues", venues_page),
            ("lead_zones", lead_zones_page),
            ("split", split_page),
        ):
            page = pages[name]
            page.call("Page.bringToFront")
            assert_safe(page, f"{name} opened")
            check(page)
            assert_safe(page, f"{name} done")
