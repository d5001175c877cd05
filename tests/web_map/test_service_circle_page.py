"""The 15-minute service circle page: its HTML, its route, and the page in a real Chromium.

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
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gis_api.analysis import service_circle as sc
from gis_api.settings import Settings
from tests.web_map.browser import Browser, Page
from tests.web_map.conftest import LiveApp, app_with_pages
from tests.web_map.test_browser import get_json, screen_point, text_of, visible
from web_map import labels
from web_map.pages import (
    GB50180_LIFE_CIRCLES,
    CommunityChoice,
    PageLink,
    ServiceCircleMapData,
    service_circle_config,
    service_circle_map,
    walk_scheme,
)

STATIC = Path(__file__).resolve().parents[2] / "web_map" / "static"
SCRIPTS = [STATIC / "gridmap" / name for name in ("circle.js", "circle_panel.js")]
SCREENSHOT_COPY = Path("/tmp/gridmap-service-circle.png")
DATA = ServiceCircleMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=(112.95, 22.91, 112.99, 22.95),
    communities=(CommunityChoice("QH", "樵华社区"), CommunityChoice("XQ", "西樵社区")),
    links=(PageLink("网格员工作地图", "/map?community=QH&basemap=osm", "fa-map-location-dot"),),
)
ASSET = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", re.IGNORECASE)
REMOTE = re.compile(r"^(?:[a-z]+:)?//", re.IGNORECASE)
READY = (
    "window.GridMap && GridMap.state.circle && GridMap.state.circle.ready"
    " && GridMap.pending() === 0"
)


# --- the HTML, without a browser ---------------------------------------------------------------


@pytest.mark.parametrize("basemap", ["osm", "amap", "none"])
def test_no_cdn_every_asset_local_and_present(basemap: str, vendor_assets: Path) -> None:
    html = service_circle_map(replace(DATA, basemap=basemap))  # type: ignore[arg-type]
    urls = [u for u in ASSET.findall(html) if not u.startswith("data:")]
    assert [u for u in urls if REMOTE.match(u)] == []
    for url in urls:
        assert url.startswith("/static/"), url
        assert (STATIC / url.removeprefix("/static/")).is_file(), url
    names = {u.rsplit("/", 1)[-1] for u in urls}
    for needed in (
        "leaflet.js",
        "leaflet.css",
        "all.min.css",
        "core.js",
        "gcj02.js",
        "layers.js",
        "circle.js",
        "circle_panel.js",
        "gridmap.css",
        "circle.css",
    ):
        assert needed in names, needed
    # Buildings come from the analysis as GeoJSON: no vector tiles here.
    assert "Leaflet.VectorGrid.bundled.min.js" not in names


def test_only_basemap_tile_templates_are_remote() -> None:
    html = service_circle_map(replace(DATA, tianditu_token="abc"))
    hosts = set(re.findall(r"https?://([^/\"'\\]+)", html))
    # Besides the basemaps' tiles, only the SVG namespace (an identifier, never fetched).
    assert hosts - {"www.w3.org"} == {
        "tile.openstreetmap.org",
        "webrd0{s}.is.autonavi.com",
        "t{s}.tianditu.gov.cn",
    }


def test_page_is_chinese_with_every_control() -> None:
    html = service_circle_map(DATA)
    assert '<html lang="zh-CN">' in html
    assert "<title>樵华社区 · 15分钟党群服务圈</title>" in html
    assert '<h1 class="gm-title">15分钟党群服务圈</h1>' in html
    # header: community selector pointing at this page, link back to the officer map
    assert 'data-page-url="/map/service-circle"' in html
    assert '<option value="QH" selected>樵华社区（QH）</option>' in html
    assert 'class="gm-nav-link" href="/map?community=QH&amp;basemap=osm"' in html
    # the limit: GB 50180-2018 life circles and custom metres
    for minutes, metres in ((5, 300), (10, 500), (15, 1000)):
        assert re.search(
            rf'data-minutes="{minutes}"[^>]*>{minutes} 分钟<small>{metres} 米</small>', html
        )
    assert 'type="number" name="metres"' in html and 'min="50" max="5000"' in html
    assert "步行范围（GB 50180-2018 生活圈）" in html
    # figures, tabs, scenario controls, the "nothing is saved" note
    for text in (
        "覆盖户数",
        "覆盖人口",
        "按服务点类型",
        "未覆盖楼栋",
        "情景推演",
        "新增服务点",
        ">计算</span>",
        "重置",
        "情景推演只在本页计算，不会保存，也不改动任何数据",
        "新增覆盖",
        "失去覆盖",
        "无步行路网，按直线距离×1.3 估算",
        "党群服务中心",
        "红房子",
        "加载中…",
    ):
        assert text in html, text
    # the approximate-mode warning is there, hidden until the analysis says so
    assert re.search(r'class="gm-panel-message gm-sc-approximate" hidden>', html)


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


def test_layer_control_names_are_chinese() -> None:
    js = service_circle_map(DATA).rsplit("<script>", 1)[1]
    control = js.split("L.control.layers(", 1)[1].split(").addTo(", 1)[0]
    for name in ("社区边界", "小区/院落", *labels.CIRCLE_LAYER_NAMES.values()):
        assert f'"{name}"' in control, name


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


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"basemap": "google"}, "basemap"),
        ({"minutes": 20}, "minutes"),
        ({"bounds": (22.9, 112.9, 23.0, 113.0)}, "bounds"),
        ({"basemap": "tianditu"}, "tianditu_token"),
    ],
)
def test_bad_data_is_refused(change: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        service_circle_map(replace(DATA, **change))  # type: ignore[arg-type]


def test_names_cannot_break_out_of_the_page() -> None:
    evil = "</script><script>alert(1)</script>"
    html = service_circle_map(
        replace(DATA, community_name=evil, communities=(CommunityChoice("QH", evil),))
    )
    assert evil not in html


def test_every_string_the_scripts_use_is_in_labels() -> None:
    config = service_circle_config(DATA)["labels"]
    used: set[str] = set()
    for path in SCRIPTS:
        code = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\b(?:ui|u)\.(circle_\w+)", code))
        used |= set(re.findall(r"GridMap\.text\('(circle_\w+)'", code))
        used |= {f"circle_change_{t}" for t in ("close", "open", "add", "remove")}
    assert used, "no labels found: did the scripts change their naming?"
    missing = sorted(used - set(config))
    assert missing == [], missing


# --- the route ------------------------------------------------------------------------------


def test_route_serves_the_page_of_a_community(page_client: TestClient) -> None:
    r = page_client.get("/map/service-circle?community=T1&basemap=none")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<title>测试社区 · 15分钟党群服务圈</title>" in html
    assert '"community":"T1"' in html
    assert '"basemap":"none"' in html
    assert 'href="/map?community=T1&amp;basemap=none"' in html
    assert '"minutes":15' in html


def test_route_default_community_and_initial_circle(page_client: TestClient) -> None:
    html = page_client.get("/map/service-circle?minutes=5").text
    assert '<option value="T1" selected>' in html
    assert '"minutes":5' in html


def test_route_refuses_unknown_community_and_circle(page_client: TestClient) -> None:
    r = page_client.get("/map/service-circle?community=NOPE")
    assert r.status_code == 404
    assert "社区编号“NOPE”不存在" in r.json()["detail"][0]["msg"]
    r = page_client.get("/map/service-circle?minutes=20")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "minutes"]


def test_officer_map_links_to_the_service_circle(page_client: TestClient) -> None:
    html = page_client.get("/map?community=T1&basemap=none").text
    assert 'class="gm-nav-link" href="/map/service-circle?community=T1&amp;basemap=none"' in html
    assert "15分钟党群服务圈" in html


def test_links_follow_the_root_path(small_db: str) -> None:
    app = app_with_pages(Settings(database_url=small_db))
    with TestClient(app, root_path="/gridmap") as client:
        html = client.get("/map/service-circle").text
        officer = client.get("/map").text
    assert 'src="/gridmap/static/gridmap/circle.js"' in html
    assert '"apiRoot":"/gridmap"' in html
    assert 'href="/gridmap/map?community=T1&amp;basemap=osm"' in html
    assert 'data-page-url="/gridmap/map/service-circle"' in html
    assert 'href="/gridmap/map/service-circle?community=T1&amp;basemap=osm"' in officer


# --- in Chromium ------------------------------------------------------------------------------


def post_json(base: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


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


def test_service_circle_in_chromium(demo_app: LiveApp, browser: Browser, tmp_path: Path) -> None:
    base = demo_app.url
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


def test_without_a_network_it_says_so_and_links_both_ways(
    small_app: LiveApp, browser: Browser
) -> None:
    """T1 has no walking network: the page warns the figures are straight-line estimates."""
    page = browser.page(width=1280, height=800)
    page.navigate(f"{small_app.url}/map?basemap=none")
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
    gate = get_json(small_app.url, "/api/layers/gates", community="T1")["features"][0]
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
