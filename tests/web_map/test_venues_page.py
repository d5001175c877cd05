"""The red-house venue page (红房子选址): its HTML, its route, and the page in a real Chromium.

What it shares with every page (assets, header, labels, its route) is tested for all of them
in tests/web_map/test_pages.py and tests/web_map/test_route.py; here is what is its own.

The browser test opens the demo community (generated Qiaohua), sets k = 3 at the 10-minute
circle (500 m) in the form, runs the selection and checks that the panel shows the API's picks,
coverage curve and export, and that the map highlights exactly the buildings the picks newly
cover (the scenario API's ``diff.gained``). It fails on any console error, uncaught exception
or failed load, and saves a screenshot to ``tmp_path`` and to ``/tmp/gridmap-venues.png``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import urllib.request
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gis_api.analysis import venues as venue_analysis
from tests.databases import admin_headers
from tests.running import get_json, post_json
from tests.web_map.browser import Browser, Page, text_of, visible
from tests.web_map.page_specs import VENUES_DATA as DATA
from web_map import labels
from web_map.pages import venues_config, venues_map

SCREENSHOT_COPY = Path("/tmp/gridmap-venues.png")
READY = "window.GridMap && GridMap.state.venues && GridMap.state.venues.ready"


# --- the HTML, without a browser ---------------------------------------------------------------


def test_legend_is_chinese() -> None:
    html = venues_map(DATA)
    legend = html.split('class="gm-legend gm-card gm-sc-legend gm-vn-legend"', 1)[1]
    legend = unescape(legend.split("<script>", 1)[0])
    for text in (
        "候选场地（按状态）",
        "候选场地（按综合评分）",
        "入选",
        "可选（未入选）",
        "排除（法律手续不全）",
        "选址后新增覆盖",
        "选址后仍未覆盖",
        "入选红房子（序号）",
        "新增服务范围",
        "现有服务点及范围（淡显）",
    ):
        assert text in legend, text


def test_config_starts_the_form_and_knows_the_criteria() -> None:
    config = venues_config(replace(DATA, k=5, minutes=15, demand="households"))
    v = config["venues"]
    assert (v["k"], v["minutes"], v["demand"]) == (5, 15, "households")
    assert [c["metres"] for c in v["lifeCircles"]] == [300, 500, 1000]
    # The panel's criteria are the analysis's own, in its order.
    assert tuple(v["criteria"]) == venue_analysis.CRITERIA
    assert set(config["labels"]) >= set(labels.VENUE_UI)
    assert config["shading"]["initial"] == "status"


# --- the route (what every page's route does: tests/web_map/test_route.py) -------------------


def test_route_refuses_bad_parameters(client: TestClient) -> None:
    for query, loc in (("k=11", "k"), ("minutes=20", "minutes"), ("demand=x", "demand")):
        r = client.get(f"/map/venues?{query}")
        assert r.status_code == 422, query
        assert r.json()["detail"][0]["loc"] == ["query", loc]


# --- in Chromium ------------------------------------------------------------------------------


def set_number(page: Page, name: str, value: int) -> None:
    """Replace the number in the form's field ``name`` by typing, as a planner would."""
    page.evaluate(f"document.querySelector('.gm-vn-form [name={name}]').select()")
    page.call("Input.insertText", {"text": str(value)})


def scroll_panel_to(page: Page, selector: str) -> None:
    """Scroll the panel's results so ``selector`` is at their top.

    Not ``scrollIntoView``: that also scrolls the map's container, which Leaflet then puts back.
    """
    page.evaluate(
        "(() => { const b = document.querySelector('.gm-vn-body');"
        f" const e = document.querySelector({json.dumps(selector)});"
        " b.scrollTop += e.getBoundingClientRect().top - b.getBoundingClientRect().top; })()"
    )


def csv_rows(base: str, href: str) -> list[dict[str, str]]:
    request = urllib.request.Request(f"{base}{href}", headers=admin_headers())
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        text = response.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_venues_in_chromium(demo_url: str, browser: Browser, tmp_path: Path) -> None:
    base = demo_url
    page = browser.page(width=1440, height=900)
    page.navigate(f"{base}/map/venues?community=QH&basemap=none")
    page.wait_for("document.querySelector('.folium-map')", what=".folium-map")
    page.wait_for(f"{READY} && GridMap.pending() === 0", timeout=90, what="first selection")
    assert page.evaluate("GridMap.state.venues.runs") == 1
    assert page.evaluate("GridMap.state.loadingShown") > 0

    # The form: k = 3 (typed over 5), 10 minutes = 500 m, residents; the result goes stale.
    page.click('[data-minutes="15"]')
    set_number(page, "k", 5)
    page.wait_for("GridMap.state.venues.stale === true", what="the result marked stale")
    assert visible(page, ".gm-vn-stale")
    set_number(page, "k", 3)
    page.click('[data-minutes="10"]')
    page.click('[data-demand="residents"]')
    page.click('[data-action="run"]')
    page.wait_for(
        f"{READY} && GridMap.state.venues.runs === 2 && GridMap.pending() === 0",
        timeout=90,
        what="the selection at k = 3, 500 m",
    )
    assert not visible(page, ".gm-vn-stale")
    assert not visible(page, ".gm-loading")

    # What the API answers is what the panel shows.
    plan = get_json(base, "/api/analysis/venues", community="QH", k=3, metres=500)
    picks = plan["picks"]["features"]
    assert len(picks) == 3
    shown = page.evaluate(
        "[...document.querySelectorAll('.gm-vn-pick-card')].map(li => ({"
        " rank: Number(li.dataset.rank), name: li.querySelector('.gm-vn-pick-name').innerText,"
        " residents: Number(li.querySelector('[data-new-residents]').dataset.newResidents),"
        " text: li.innerText}))"
    )
    assert [s["rank"] for s in shown] == [1, 2, 3]
    assert [s["name"] for s in shown] == [f["properties"]["name"] for f in picks]
    assert [s["residents"] for s in shown] == [f["properties"]["new_residents"] for f in picks]
    first = picks[0]["properties"]
    assert f"+{round(first['new_residents']):,} 人" in shown[0]["text"]
    for criterion in labels.VENUE_CRITERIA.values():
        assert criterion in shown[0]["text"], criterion
    if first["runner_up_name"]:
        assert f"胜过 {first['runner_up_name']}" in shown[0]["text"]
    assert page.evaluate("GridMap.state.venues.picks") == 3
    coverage = text_of(page, '[data-kpi="residents"]')
    before, after = plan["before"]["residents_share"], plan["after"]["residents_share"]
    assert f"{before * 100:.1f}".removesuffix(".0") + "%" in coverage
    assert f"{after * 100:.1f}".removesuffix(".0") + "%" in coverage
    assert f"{round(plan['after']['residents']):,} 人" in coverage
    proof = text_of(page, '[data-field="proof"]')
    assert ("已证明最优" in proof) == bool(plan["optimal"])
    assert "步行 500 米" in text_of(page, '[data-field="params"]')

    # The curve: one point per k = 1..3, never falling, the API's shares.
    curve = page.evaluate(
        "[...document.querySelectorAll('.gm-vn-curve-point')]"
        ".map(c => [Number(c.dataset.k), Number(c.dataset.share)])"
    )
    assert [k for k, _ in curve] == [1, 2, 3]
    shares = [s for _, s in curve]
    assert shares == sorted(shares)
    assert shares == pytest.approx([r["share"] for r in plan["curve"]])

    # The excluded rooms with their reasons; the candidates on the map, by status.
    assert text_of(page, '[data-field="excluded-count"]') == str(len(plan["excluded"]))
    scroll_panel_to(page, ".gm-vn-excluded summary")
    page.click(".gm-vn-excluded summary")
    page.wait_for("document.querySelector('.gm-vn-excluded').open", what="the excluded list")
    if plan["excluded"]:
        listed = text_of(page, ".gm-vn-excluded-list")
        assert plan["excluded"][0]["reason"] in listed
    cands = get_json(base, "/api/layers/candidate_venues", community="QH", limit=10_000)
    assert page.evaluate("GridMap.state.venues.candidatesDrawn") == len(cands["features"])

    # Export: the CSV link carries the result's parameters and holds the 3 picks.
    href = page.evaluate("document.querySelector('[data-format=\"csv\"]').getAttribute('href')")
    assert href.startswith("/api/analysis/venues/export?")
    assert "k=3" in href and "minutes=10" in href and "format=csv" in href
    rows = csv_rows(base, href)
    assert [r["candidate_id"] for r in rows] == [f["properties"]["candidate_id"] for f in picks]

    # The map: the picks' new areas and exactly the buildings they newly cover.
    adds = [
        {
            "lon": f["geometry"]["coordinates"][0],
            "lat": f["geometry"]["coordinates"][1],
            "kind": "red_house",
            "name": f["properties"]["name"],
        }
        for f in picks
    ]
    scenario = post_json(
        base,
        "/api/analysis/service-circle/scenario",
        {"community": "QH", "metres": 500, "add_points": adds},
    )
    gained = scenario["diff"]["gained"]
    assert gained, "the demo's picks newly cover no building"
    assert page.evaluate("GridMap.state.venues.gainedDrawn") == len(gained)
    assert page.evaluate(
        "GridMap.map.getPane('gm-vn-gained').querySelectorAll('path.gm-vn-gained').length"
    ) == len(gained)
    assert page.evaluate("GridMap.state.venues.areasDrawn") == 3
    uncovered = [
        f for f in scenario["after"]["buildings"]["features"] if not f["properties"]["covered"]
    ]
    assert page.evaluate("GridMap.state.venues.uncoveredDrawn") == len(uncovered)
    assert page.evaluate("document.querySelectorAll('.gm-vn-pick-pin').length") == 3
    assert page.evaluate("GridMap.state.venues.existingDrawn") > 0

    # Header links keep the community and basemap.
    links = page.evaluate(
        "[...document.querySelectorAll('.gm-nav-link')].map(a => a.getAttribute('href'))"
    )
    assert links == [
        "/map?community=QH&basemap=none",
        "/map/service-circle?community=QH&basemap=none",
        "/map/lead-zones?community=QH&basemap=none",
        "/map/split?community=QH&basemap=none",
        "/admin/users",  # the tests' admin manages users
    ]

    # Colour by score: the legend follows.
    page.click('.gm-shading [data-scheme="score"]')
    page.wait_for("GridMap.state.shading === 'score'")
    assert visible(page, '.gm-legend-shading[data-scheme="score"]')
    page.click('.gm-shading [data-scheme="status"]')
    page.wait_for("GridMap.state.shading === 'status'")

    # A pick in the panel opens its popup on the map.
    scroll_panel_to(page, ".gm-vn-pick-card")
    page.click('.gm-vn-pick-card[data-rank="1"] .gm-vn-pick-head')
    page.wait_for(
        "[...document.querySelectorAll('.leaflet-popup-content')]"
        f".some(e => e.innerText.includes({json.dumps(first['name'])}))",
        what="the first pick's popup",
    )
    popup = text_of(page, ".leaflet-popup-content")
    assert "入选" in popup and "综合评分" in popup and "法律手续" in popup

    # The screenshot: the community, its picks and the plan.
    page.evaluate(
        "(() => { const b = GridMap.config.bounds; GridMap.map.closePopup();"
        " GridMap.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {animate: false,"
        " paddingTopLeft: [GridMap.config.legendWidth, 24],"
        " paddingBottomRight: [GridMap.config.panelWidth, 24]}); })()"
    )
    page.wait_for(
        f"{READY} && GridMap.pending() === 0 && !document.querySelector('.leaflet-popup')"
    )
    page.evaluate("document.querySelector('.gm-vn-body').scrollTop = 0")
    page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 720, "y": 20})
    shot = tmp_path / "venues.png"
    png = page.screenshot(shot)
    assert png.startswith(b"\x89PNG") and len(png) > 50_000
    shutil.copyfile(shot, SCREENSHOT_COPY)

    outside = page.requests(lambda u: not u.startswith(base) and not u.startswith("data:"))
    assert outside == []
    errors = page.console_errors()
    assert errors == [], "\n".join(errors)
