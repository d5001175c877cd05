"""The red-house venue page (红房子选址): its HTML, its route, and the page in a real Chromium.

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
import re
import shutil
import urllib.request
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gis_api.analysis import venues as venue_analysis
from gis_api.settings import Settings
from tests.web_map.browser import Browser, Page
from tests.web_map.conftest import LiveApp, app_with_pages
from tests.web_map.test_browser import get_json, text_of, visible
from tests.web_map.test_service_circle_page import post_json
from web_map import labels
from web_map.pages import (
    VENUE_K_RANGE,
    CommunityChoice,
    PageLink,
    VenuesMapData,
    venues_config,
    venues_map,
)

STATIC = Path(__file__).resolve().parents[2] / "web_map" / "static"
SCRIPTS = [STATIC / "gridmap" / name for name in ("venues.js", "venue_panel.js")]
SCREENSHOT_COPY = Path("/tmp/gridmap-venues.png")
DATA = VenuesMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=(112.95, 22.91, 112.99, 22.95),
    communities=(CommunityChoice("QH", "樵华社区"), CommunityChoice("XQ", "西樵社区")),
    links=(
        PageLink("网格员工作地图", "/map?community=QH&basemap=osm", "fa-map-location-dot"),
        PageLink("15分钟党群服务圈", "/map/service-circle?community=QH&basemap=osm"),
    ),
)
ASSET = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", re.IGNORECASE)
REMOTE = re.compile(r"^(?:[a-z]+:)?//", re.IGNORECASE)
READY = "window.GridMap && GridMap.state.venues && GridMap.state.venues.ready"


# --- the HTML, without a browser ---------------------------------------------------------------


@pytest.mark.parametrize("basemap", ["osm", "amap", "none"])
def test_no_cdn_every_asset_local_and_present(basemap: str, vendor_assets: Path) -> None:
    html = venues_map(replace(DATA, basemap=basemap))  # type: ignore[arg-type]
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
        "layers.js",
        "venues.js",
        "venue_panel.js",
        "gridmap.css",
        "circle.css",
        "venues.css",
        "loading.js",
        "shading.js",
    ):
        assert needed in names, needed
    assert "Leaflet.VectorGrid.bundled.min.js" not in names
    # No chart library: the curve is inline SVG.
    assert not any("chart" in n.lower() for n in names)


def test_only_basemap_tile_templates_are_remote() -> None:
    html = venues_map(replace(DATA, tianditu_token="abc"))
    hosts = set(re.findall(r"https?://([^/\"'\\]+)", html))
    assert hosts - {"www.w3.org"} == {
        "tile.openstreetmap.org",
        "webrd0{s}.is.autonavi.com",
        "t{s}.tianditu.gov.cn",
    }


def test_page_is_chinese_with_every_control() -> None:
    html = venues_map(DATA)
    assert '<html lang="zh-CN">' in html
    assert "<title>樵华社区 · 红房子选址</title>" in html
    assert '<h1 class="gm-title">红房子选址</h1>' in html
    assert 'data-page-url="/map/venues"' in html
    assert 'class="gm-nav-link" href="/map?community=QH&amp;basemap=osm"' in html
    assert 'class="gm-nav-link" href="/map/service-circle?community=QH&amp;basemap=osm"' in html
    # the form: k, per-compound cap, limit, demand, weight, legal checkbox, run
    lo, hi = VENUE_K_RANGE
    assert re.search(rf'type="number" name="k"\s+min="{lo}" max="{hi}"', html)
    assert 'type="number" name="max_per_compound"' in html
    assert 'type="range" name="weight_score"' in html
    assert 'type="checkbox" name="include_incomplete_legal"' in html
    assert 'type="number" name="metres"' in html
    for minutes, metres in ((5, 300), (10, 500), (15, 1000)):
        assert re.search(
            rf'data-minutes="{minutes}"[^>]*>{minutes} 分钟<small>{metres} 米</small>', html
        )
    assert 'data-demand="residents"' in html and 'data-demand="households"' in html
    for fmt in ("csv", "xlsx", "geojson"):
        assert f'data-format="{fmt}"' in html
    for text in (
        "新增红房子个数",
        "每个小区最多新增",
        "步行范围（GB 50180-2018 生活圈）",
        "覆盖目标",
        "常住人口",
        "户数",
        "评分与覆盖的权衡",
        "0 · 只看覆盖",
        "允许法律手续不全的场地",
        ">计算</span>",
        "覆盖变化",
        "选址方案",
        "覆盖率随新增个数的变化",
        "排除的候选场地",
        "导出",
        "Excel",
        "选址只在本页计算，不会保存，也不改动任何数据",
        "加载中…",
    ):
        assert text in html, text


def test_legend_and_layers_are_chinese() -> None:
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
    js = html.rsplit("<script>", 1)[1]
    control = js.split("L.control.layers(", 1)[1].split(").addTo(", 1)[0]
    for name in ("社区边界", "小区/院落", *labels.VENUE_LAYER_NAMES.values()):
        assert f'"{name}"' in control, name


def test_config_starts_the_form_and_knows_the_criteria() -> None:
    config = venues_config(replace(DATA, k=5, minutes=15, demand="households"))
    v = config["venues"]
    assert (v["k"], v["minutes"], v["demand"]) == (5, 15, "households")
    assert [c["metres"] for c in v["lifeCircles"]] == [300, 500, 1000]
    # The panel's criteria are the analysis's own, in its order.
    assert tuple(v["criteria"]) == venue_analysis.CRITERIA
    assert set(config["labels"]) >= set(labels.VENUE_UI)
    assert config["shading"]["initial"] == "status"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"basemap": "google"}, "basemap"),
        ({"minutes": 20}, "minutes"),
        ({"k": 0}, "k must"),
        ({"k": 11}, "k must"),
        ({"demand": "buildings"}, "demand"),
        ({"max_per_compound": 0}, "max_per_compound"),
        ({"weight_score": -1.0}, "weight_score"),
    ],
)
def test_bad_data_is_refused(change: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        venues_map(replace(DATA, **change))  # type: ignore[arg-type]


def test_names_cannot_break_out_of_the_page() -> None:
    evil = "</script><script>alert(1)</script>"
    html = venues_map(
        replace(DATA, community_name=evil, communities=(CommunityChoice("QH", evil),))
    )
    assert evil not in html


def test_every_string_the_scripts_use_is_in_labels() -> None:
    config = venues_config(DATA)["labels"]
    used: set[str] = set()
    for path in SCRIPTS:
        code = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\b(?:ui|u)\.((?:venue|circle)_\w+)", code))
        used |= set(re.findall(r"GridMap\.text\('((?:venue|circle)_\w+)'", code))
        used |= {f"venue_method_{m}" for m in ("milp", "greedy")}
    assert used, "no labels found: did the scripts change their naming?"
    missing = sorted(used - set(config))
    assert missing == [], missing


# --- the route ------------------------------------------------------------------------------


def test_route_serves_the_page_of_a_community(page_client: TestClient) -> None:
    r = page_client.get("/map/venues?community=T1&basemap=none&k=4&minutes=15")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<title>测试社区 · 红房子选址</title>" in html
    assert '"community":"T1"' in html
    assert '"basemap":"none"' in html
    assert '"k":4' in html and '"minutes":15' in html
    assert 'href="/map?community=T1&amp;basemap=none"' in html
    assert 'href="/map/service-circle?community=T1&amp;basemap=none"' in html


def test_route_refuses_bad_parameters(page_client: TestClient) -> None:
    for query, loc in (("k=11", "k"), ("minutes=20", "minutes"), ("demand=x", "demand")):
        r = page_client.get(f"/map/venues?{query}")
        assert r.status_code == 422, query
        assert r.json()["detail"][0]["loc"] == ["query", loc]
    r = page_client.get("/map/venues?community=NOPE")
    assert r.status_code == 404


def test_every_page_links_to_the_others(page_client: TestClient) -> None:
    pages = {
        "/map": ("/map/service-circle", "/map/venues", "/map/lead-zones"),
        "/map/service-circle": ("/map", "/map/venues", "/map/lead-zones"),
        "/map/venues": ("/map", "/map/service-circle", "/map/lead-zones"),
        "/map/lead-zones": ("/map", "/map/service-circle", "/map/venues"),
    }
    for path, others in pages.items():
        html = page_client.get(f"{path}?community=T1&basemap=none").text
        links = re.findall(r'class="gm-nav-link" href="([^"]*)"', html)
        assert [unescape(u) for u in links] == [f"{o}?community=T1&basemap=none" for o in others], (
            path
        )


def test_links_follow_the_root_path(small_db: str) -> None:
    app = app_with_pages(Settings(database_url=small_db))
    with TestClient(app, root_path="/gridmap") as client:
        html = client.get("/map/venues").text
    assert 'src="/gridmap/static/gridmap/venues.js"' in html
    assert '"apiRoot":"/gridmap"' in html
    assert 'data-page-url="/gridmap/map/venues"' in html
    assert 'href="/gridmap/map?community=T1&amp;basemap=osm"' in html


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
    with urllib.request.urlopen(f"{base}{href}", timeout=60) as response:
        assert response.status == 200
        text = response.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_venues_in_chromium(demo_app: LiveApp, browser: Browser, tmp_path: Path) -> None:
    base = demo_app.url
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
