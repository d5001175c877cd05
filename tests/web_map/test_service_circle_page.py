"""The 15-minute service circle page: its HTML, its route, and the page in a real Chromium.

What it shares with every page (assets, header, labels, its route) is tested for all of them
in tests/web_map/test_pages.py and tests/web_map/test_route.py; here is what is its own.

The browser test opens the demo community (generated Qiaohua), switches to the 10-minute
circle, closes a gate the scenario API says costs coverage by clicking it on the map, runs
the scenario and reads who lost coverage in the panel; then proposes a red house by clicking
the map. It fails on any console error, uncaught exception or failed load, and saves a
screenshot to ``tmp_path`` and to ``/tmp/gridmap-service-circle.png``.
"""

from __future__ import annotations

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gis_api.analysis import service_circle as sc
from tests.running import get_json, post_json
from tests.web_map.browser import Browser, Page, screen_point, text_of, visible
from tests.web_map.page_specs import CIRCLE_DATA as DATA
from web_map import labels
from web_map.pages import (
    GB50180_LIFE_CIRCLES,
    service_circle_config,
    service_circle_map,
    walk_scheme,
)

SCREENSHOT_COPY = Path("/tmp/gridmap-service-circle.png")
READY = (
    "window.GridMap && GridMap.state.circle && GridMap.state.circle.ready"
    " && GridMap.pending() === 0"
)


# --- the HTML, without a browser ---------------------------------------------------------------


def test_legend_has_walking_classes_and_scenario_symbols() -> None:
    html = service_circle_map(DATA)
    legend = html.split('class="gm-legend gm-card gm-sc-legend"', 1)[1].split("<script>", 1)[0]
    legend = unescape(legend)
    for text in (
        "到最近服务点的步行距离",
        "5 分钟内（≤300 米）",
        "5–10 分钟（300–500 米）",
        "10–15 分钟（500–1000 米）",
        "15 分钟以上（>1000 米）",
        "不可达（路网不通）",
        "服务圈外的楼栋",
        "情景中新增覆盖",
        "情景中失去覆盖",
        "拟新增服务点",
        "情景中移除的服务点",
        "情景中改变的出入口",
        "开放的出入口",
        "关闭的出入口",
        "每分钟 67 米",
    ):
        assert text in legend, text


def test_life_circles_are_the_analysis_ones() -> None:
    """The page's GB 50180-2018 table and walking speed are the analysis's own."""
    assert dict(GB50180_LIFE_CIRCLES) == sc.LIFE_CIRCLE_M
    assert DATA.speed_m_per_min == pytest.approx(sc.WALK_SPEED_M_PER_MIN)
    scheme = walk_scheme(GB50180_LIFE_CIRCLES)
    assert scheme["property"] == "walk_m"
    assert scheme["breaks"] == sorted(sc.LIFE_CIRCLE_M.values())
    assert len(scheme["colors"]) == len(scheme["classes"]) == len(scheme["breaks"]) + 1


def test_config_starts_at_the_chosen_circle() -> None:
    config = service_circle_config(replace(DATA, minutes=10))
    assert config["circle"]["minutes"] == 10
    assert [c["metres"] for c in config["circle"]["lifeCircles"]] == [300, 500, 1000]
    assert config["shading"]["initial"] == "walk"
    assert config["labels"]["no_data"] == labels.UNREACHABLE


# --- the route (what every page's route does: tests/web_map/test_route.py) -------------------


def test_route_refuses_an_unknown_circle(client: TestClient) -> None:
    r = client.get("/map/service-circle?minutes=20")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "minutes"]


# --- in Chromium ------------------------------------------------------------------------------


def gate_that_loses(
    base: str, circle: dict[str, Any], *, minutes: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An open gate whose closing loses buildings at ``minutes``, and the scenario's answer.

    Gates of the compounds with the most covered households are tried first (closing one of
    theirs is the likeliest to cost coverage), a few at a time on the scenario API; of the
    first batch holding any, the gate that loses the most households.
    """
    covered: dict[str, float] = {}
    for f in circle["buildings"]["features"]:
        p = f["properties"]
        if p["covered"]:
            covered[p["compound"]] = covered.get(p["compound"], 0) + (p["households"] or 0)
    gates = get_json(base, "/api/layers/gates", community="QH", limit=10_000)["features"]
    candidates = sorted(
        (g for g in gates if g["properties"]["is_open"]),
        key=lambda g: -covered.get(g["properties"]["compound"], 0),
    )

    def ask(gate: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        body = {"community": "QH", "minutes": minutes, "close_gates": [gate["properties"]["code"]]}
        return gate, post_json(base, "/api/analysis/service-circle/scenario", body)

    with ThreadPoolExecutor(max_workers=6) as pool:
        for start in range(0, len(candidates), 6):
            answers = list(pool.map(ask, candidates[start : start + 6]))
            losing = [(g, a) for g, a in answers if a["diff"]["lost"]]
            if losing:
                return max(losing, key=lambda ga: ga[1]["diff"]["households_lost"])
    pytest.fail(f"no gate of the demo loses coverage at {minutes} minutes")


def pct(share: float) -> str:
    """A share as the page writes it: one decimal at most (87.8%, 100%)."""
    return f"{share * 100:.1f}".removesuffix(".0") + "%"


def share_shown(page: Page, stat: str) -> float:
    text = text_of(page, f'[data-stat="{stat}"]')
    match = re.fullmatch(r"([\d.]+)%", text.strip())
    assert match, f"{stat} shows {text!r}"
    return float(match.group(1)) / 100


def popup_says(page: Page, text: str) -> None:
    """Wait for an open popup saying ``text`` (a closed one lingers while it fades)."""
    page.wait_for(
        "[...document.querySelectorAll('.leaflet-popup-content')]"
        f".some(e => e.innerText.includes({json.dumps(text)}))",
        what=f"a popup saying {text}",
    )


def wait_ready(page: Page) -> None:
    page.wait_for("document.querySelector('.folium-map')", what=".folium-map")
    page.wait_for(
        f"{READY} && GridMap.state.circle.buildingsDrawn > 0"
        " && GridMap.state.layersLoaded.compounds !== undefined",
        timeout=60,
        what="circle, buildings, points and gates drawn",
    )


def fit_community(page: Page) -> None:
    page.evaluate(
        "(() => { const b = GridMap.config.bounds; GridMap.map.closePopup();"
        " GridMap.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {animate: false,"
        " paddingTopLeft: [GridMap.config.legendWidth, 24],"
        " paddingBottomRight: [GridMap.config.panelWidth, 24]}); })()"
    )


def test_service_circle_in_chromium(demo_url: str, browser: Browser, tmp_path: Path) -> None:
    base = demo_url
    page = browser.page(width=1440, height=900)
    page.navigate(f"{base}/map/service-circle?community=QH&basemap=none")
    wait_ready(page)

    # What the analysis says at 15 minutes is what the page drew and shows.
    circle15 = get_json(base, "/api/analysis/service-circle", community="QH")
    state = page.evaluate("GridMap.state.circle")
    assert state["limitM"] == 1000
    assert state["approximate"] is False
    assert state["buildingsDrawn"] == len(circle15["buildings"]["features"])
    assert state["areasDrawn"] == len(circle15["areas"]["features"]) > 0
    assert page.evaluate("GridMap.state.layersLoaded.gates") > 0
    assert page.evaluate("GridMap.state.layersLoaded.service_points") > 0
    assert page.evaluate("GridMap.state.loadingShown") > 0
    assert not visible(page, ".gm-loading")
    row15 = circle15["summary"]["community"][0]
    assert share_shown(page, "households_covered_share") == pytest.approx(
        row15["households_covered_share"], abs=0.0006
    )
    assert share_shown(page, "residents_covered_share") == pytest.approx(
        row15["residents_covered_share"], abs=0.0006
    )
    assert text_of(page, '[data-stat="households"]') == f"{round(row15['households']):,}"
    assert "步行 1,000 米" in text_of(page, '[data-field="limit"]')
    assert not visible(page, ".gm-sc-approximate")
    assert "15 分钟" in text_of(page, ".gm-sc-limit-buttons .active")
    # Nothing came from outside the app; the analysis was asked, the buildings not as tiles.
    outside = page.requests(lambda u: not u.startswith(base) and not u.startswith("data:"))
    assert outside == []
    assert not page.requests(lambda u: "/tiles/buildings/" in u)

    # 10 minutes: new figures, the uncovered list nearest first.
    page.click('[data-minutes="10"]')
    page.wait_for(f"{READY} && GridMap.state.circle.limitM === 500", what="10-minute circle")
    circle10 = get_json(base, "/api/analysis/service-circle", community="QH", minutes=10)
    row10 = circle10["summary"]["community"][0]
    assert row10["households_covered_share"] < row15["households_covered_share"]
    assert share_shown(page, "households_covered_share") == pytest.approx(
        row10["households_covered_share"], abs=0.0006
    )
    assert share_shown(page, "residents_covered_share") == pytest.approx(
        row10["residents_covered_share"], abs=0.0006
    )
    assert "步行 500 米" in text_of(page, '[data-field="limit"]')
    uncovered = circle10["uncovered"]
    assert page.evaluate("GridMap.state.circle.uncoveredDrawn") == len(uncovered) > 0
    assert text_of(page, '[data-stat="uncovered_count"]') == f"{len(uncovered):,}"
    page.click('[data-tab="uncovered"]')
    first = uncovered[0]["building_id"]
    assert (
        page.evaluate("document.querySelector('.gm-sc-uncovered [data-building]').dataset.building")
        == first
    )
    page.click(".gm-sc-uncovered [data-building]")
    page.wait_for("document.querySelector('.leaflet-popup-content')", what="building popup")
    popup = text_of(page, ".leaflet-popup-content")
    for label in (
        "楼栋",
        "所属小区",
        "最近服务点",
        "步行距离（米）",
        "步行时间（分钟）",
        "是否覆盖",
    ):
        assert label in popup, label
    assert "未覆盖" in popup
    assert page.evaluate("GridMap.state.circle.shownBuilding") == first

    # Close a gate that costs coverage, by clicking it on the map.
    gate, answer = gate_that_loses(base, circle10, minutes=10)
    code = gate["properties"]["code"]
    lon, lat = gate["geometry"]["coordinates"]
    page.evaluate(f"void GridMap.map.setView([{lat}, {lon}], 18, {{animate: false}})")
    page.wait_for(READY)
    page.click_at(*screen_point(page, lat, lon))
    page.wait_for("GridMap.state.circle.edits === 1", what="the gate closed in the scenario")
    assert page.evaluate(f"GridMap.circle.gateOpen({json.dumps(code)})") is False
    assert "关闭出入口" in text_of(page, ".gm-sc-changes")
    assert gate["properties"]["name"] in text_of(page, ".gm-sc-changes")
    assert visible(page, '[data-section="scenario"]')
    popup_says(page, "情景中")

    # Run it: before -> after, who lost, drawn red; the loading badge shown meanwhile.
    shown_before = page.evaluate("GridMap.state.loadingShown")
    page.click('[data-action="run"]')
    page.wait_for(f"{READY} && GridMap.state.circle.runs === 1", what="scenario computed")
    assert page.evaluate("GridMap.state.loadingShown") > shown_before
    diff = answer["diff"]
    lost_box = text_of(page, '[data-diff="lost"]')
    assert "失去覆盖" in lost_box
    counts = f"{len(diff['lost'])} 栋 · {round(diff['households_lost']):,} 户"
    assert counts in lost_box
    assert page.evaluate(
        "document.querySelectorAll('[data-diff=\"lost\"] [data-building]').length"
    ) == len(diff["lost"])
    assert not visible(page, '[data-diff="gained"]')
    after = answer["after"]["summary"]["community"][0]
    assert share_shown(page, "households_covered_share") == pytest.approx(
        after["households_covered_share"], abs=0.0006
    )
    compare = text_of(page, '[data-compare="households"]')
    assert pct(row10["households_covered_share"]) in compare
    assert pct(after["households_covered_share"]) in compare
    assert "−" in compare  # a loss
    assert text_of(page, '[data-field="state"]') == "情景结果"
    assert visible(page, ".gm-sc-note")
    marks = page.evaluate("GridMap.map.getPane('gm-sc-marks').querySelectorAll('path').length")
    assert marks == len(diff["lost"])

    # The screenshot: the community with the scenario's losses and the panel's figures.
    fit_community(page)
    page.wait_for(f"{READY} && !document.querySelector('.leaflet-popup')", what="popup gone")
    assert page.evaluate(
        "(() => { const b = document.querySelector('.gm-sc-body').getBoundingClientRect();"
        " const r = document.querySelector('[data-diff=\"lost\"]').getBoundingClientRect();"
        " return r.top >= b.top && r.top < b.bottom; })()"
    ), "the result is scrolled into view"
    page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 720, "y": 20})
    shot = tmp_path / "service_circle.png"
    png = page.screenshot(shot)
    assert png.startswith(b"\x89PNG") and len(png) > 50_000
    shutil.copyfile(shot, SCREENSHOT_COPY)

    # Reset: the stored network again, nothing saved (the API answers as before).
    page.click('[data-action="reset"]')
    page.wait_for("GridMap.state.circle.edits === 0 && !GridMap.state.circle.scenario")
    assert share_shown(page, "households_covered_share") == pytest.approx(
        row10["households_covered_share"], abs=0.0006
    )
    assert page.evaluate(f"GridMap.circle.gateOpen({json.dumps(code)})") is True
    again = get_json(base, "/api/analysis/service-circle", community="QH", minutes=10)
    assert again["summary"] == circle10["summary"]

    # Propose a red house by clicking the map at the farthest uncovered building: it gains.
    farthest = [r for r in uncovered if r["walk_m"] is not None][-1]
    target = next(
        f
        for f in circle10["buildings"]["features"]
        if f["properties"]["building_id"] == farthest["building_id"]
    )
    ring = target["geometry"]["coordinates"][0]
    if target["geometry"]["type"] == "MultiPolygon":
        ring = ring[0]
    tlon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    tlat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    page.evaluate(f"void GridMap.map.setView([{tlat}, {tlon}], 17, {{animate: false}})")
    page.wait_for(READY)
    page.click('[data-action="add"]')
    page.wait_for("GridMap.state.circle.addMode === true")
    assert visible(page, ".gm-sc-add-hint")
    page.click_at(*screen_point(page, tlat, tlon))
    page.wait_for("GridMap.state.circle.edits === 1 && !GridMap.state.circle.addMode")
    assert "拟新增红房子" in text_of(page, ".gm-sc-changes")
    assert page.evaluate("document.querySelectorAll('.gm-sc-proposed').length") == 1
    page.click('[data-action="run"]')
    page.wait_for(f"{READY} && GridMap.state.circle.runs === 2", what="second scenario")
    gained = page.evaluate(
        "document.querySelectorAll('[data-diff=\"gained\"] [data-building]').length"
    )
    assert gained > 0
    assert "新增覆盖" in text_of(page, '[data-diff="gained"]')
    assert share_shown(page, "households_covered_share") > row10["households_covered_share"]

    errors = page.console_errors()
    assert errors == [], "\n".join(errors)


def test_without_a_network_it_says_so_and_links_both_ways(live_url: str, browser: Browser) -> None:
    """T1 has no walking network: the page warns the figures are straight-line estimates."""
    page = browser.page(width=1280, height=800)
    page.navigate(f"{live_url}/map?basemap=none")
    page.wait_for("window.GridMap && GridMap.map && GridMap.pending() === 0")
    href = page.evaluate("document.querySelector('.gm-nav-link').getAttribute('href')")
    assert href == "/map/service-circle?community=T1&basemap=none"
    page.click(".gm-nav-link")
    page.wait_for("location.pathname === '/map/service-circle'", what="the link followed")
    page.wait_for("document.readyState === 'complete'")
    wait_ready(page)
    assert page.evaluate("GridMap.state.circle.approximate") is True
    assert visible(page, ".gm-sc-approximate")
    assert "无步行路网，按直线距离×1.3 估算" in text_of(page, ".gm-sc-approximate")
    # A custom limit in metres.
    page.type_text(".gm-sc-custom input", "800")
    page.click(".gm-sc-apply")
    page.wait_for(f"{READY} && GridMap.state.circle.limitM === 800", what="custom limit")
    assert "自定义：步行 800 米" in text_of(page, '[data-field="limit"]')
    assert page.evaluate("document.querySelectorAll('.gm-sc-limit-buttons .active').length") == 0
    # Gates change nothing without a network: a click explains instead of toggling.
    gate = get_json(live_url, "/api/layers/gates", community="T1")["features"][0]
    lon, lat = gate["geometry"]["coordinates"]
    page.evaluate(f"void GridMap.map.setView([{lat}, {lon}], 18, {{animate: false}})")
    page.wait_for(READY)
    page.click_at(*screen_point(page, lat, lon))
    popup_says(page, "出入口开关不影响结果")
    assert page.evaluate("GridMap.state.circle.edits") == 0
    # And back to the officer map.
    back = page.evaluate("document.querySelector('.gm-nav-link').getAttribute('href')")
    assert back == "/map?community=T1&basemap=none"

    errors = page.console_errors()
    assert errors == [], "\n".join(errors)
