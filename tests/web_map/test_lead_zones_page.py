"""The building-lead zone page (楼长责任区): its HTML, its route, and the page in Chromium.

The browser test opens the demo community (generated Qiaohua), waits for the preview, checks
the panel's counts against ``/api/analysis/lead-zones``, saves the plan with the page's
保存方案 button, locks one zone through the page's script and reads both back from
``/api/lead-zones``. It fails on any console error, and saves a screenshot to ``tmp_path``
and to ``/tmp/gridmap-lead-zones.png``.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from pathlib import Path

from fastapi.testclient import TestClient

from tests.web_map.browser import Browser
from tests.web_map.conftest import LiveApp
from tests.web_map.test_browser import get_json
from web_map.pages import (
    CommunityChoice,
    LeadZonesMapData,
    PageLink,
    lead_zones_config,
    lead_zones_map,
)

STATIC = Path(__file__).resolve().parents[2] / "web_map" / "static"
SCREENSHOT_COPY = Path("/tmp/gridmap-lead-zones.png")
DATA = LeadZonesMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=(112.95, 22.91, 112.99, 22.95),
    communities=(CommunityChoice("QH", "樵华社区"),),
    basemap="none",
    links=(PageLink("网格员工作地图", "/map?community=QH&basemap=none", "fa-map-location-dot"),),
)
ASSET = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", re.IGNORECASE)
REMOTE = re.compile(r"^(?:[a-z]+:)?//", re.IGNORECASE)
READY = "window.GridMap && GridMap.state.leadZones && GridMap.state.leadZones.ready"


def test_no_cdn_every_asset_local(vendor_assets: Path) -> None:
    html = lead_zones_map(DATA)
    urls = [u for u in ASSET.findall(html) if not u.startswith("data:")]
    assert [u for u in urls if REMOTE.match(u)] == []
    for url in urls:
        assert (STATIC / url.removeprefix("/static/")).is_file(), url
    names = {u.rsplit("/", 1)[-1] for u in urls}
    assert {"lead_zones.js", "lead_zones.css", "core.js", "leaflet.js"} <= names
    assert "cdn" not in html.lower()


def test_chinese_labels() -> None:
    html = lead_zones_map(DATA)
    assert '<html lang="zh-CN">' in html
    for text in (
        "楼长责任区",
        "预览",
        "保存方案",
        "新增",
        "删除",
        "变动",
        "不变",
        "允许跨小区合并",
    ):
        assert text in html, text
    kinds = lead_zones_config(DATA)["leadZones"]["kinds"]
    assert {k: v["label"] for k, v in kinds.items()} == {
        "own": "独立楼长",
        "shared": "合并责任区",
        "rotating": "轮值楼长",
    }
    assert "/map?community=QH&amp;basemap=none" in html


def test_route_and_header_links(page_client: TestClient) -> None:
    r = page_client.get("/map/lead-zones", params={"basemap": "none"})
    assert r.status_code == 200, r.text
    assert "楼长责任区" in r.text
    assert "/map/service-circle?community=" in r.text
    assert "basemap=none" in r.text.split("/map/venues?", 1)[1][:80]
    assert page_client.get("/map/lead-zones", params={"community": "NOPE"}).status_code == 404


def _post(url: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as response:
        return json.load(response)


def test_lead_zones_in_chromium(demo_app: LiveApp, browser: Browser, tmp_path: Path) -> None:
    base = demo_app.url
    page = browser.page(width=1440, height=900)
    page.navigate(f"{base}/map/lead-zones?community=QH&basemap=none")
    page.wait_for(f"{READY} || GridMap.state.leadZones.error", timeout=90, what="drawn")
    assert page.evaluate(READY), page.evaluate("GridMap.state.leadZones.error")

    api = get_json(base, "/api/analysis/lead-zones", community="QH")
    n_zones = len(api["zones"]["features"])
    assert n_zones > 0
    counts = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('.gm-lz-kinds [data-buildings]')]"
        ".map(n => [n.closest('li').dataset.kind, Number(n.dataset.buildings)]))"
    )
    assert {k: v for k, v in counts.items() if v} == api["kinds"]
    assert page.evaluate("GridMap.state.leadZones.zones") == n_zones
    assert page.evaluate("GridMap.state.loadingShown") > 0
    assert page.evaluate("GridMap.layers.lead_zones.getLayers()[0].getLayers().length") == n_zones
    stars = page.evaluate("GridMap.layers.lead_leads.getLayers().length")
    assert stars == n_zones
    # Nothing saved yet: everything is new, shown before saving.
    added = int(page.evaluate("document.querySelector('[data-diff=\"added\"]').textContent"))
    assert added == len(api["diff"]["added"]) > 0
    assert get_json(base, "/api/lead-zones", community="QH")["features"] == []

    page.click('[data-action="save"]')
    page.wait_for(f"{READY} && GridMap.state.leadZones.saves === 1", timeout=90, what="saved")
    saved = get_json(base, "/api/lead-zones", community="QH")
    assert len(saved["features"]) == n_zones
    assert page.evaluate("document.querySelector('[data-diff=\"added\"]').textContent") == "0"
    assert "已保存方案" in page.evaluate("document.querySelector('.gm-lz-saved').textContent")

    # Lock one zone through the page's script; its outline then shows it.
    zone_id = saved["features"][0]["properties"]["zone_id"]
    page.evaluate(f"GridMap.leadZones.lock({json.dumps(zone_id)}, true)", await_promise=True)
    page.wait_for(f"{READY} && GridMap.state.leadZones.locks === 1", timeout=90)
    after = get_json(base, "/api/lead-zones", community="QH")
    locked = {f["properties"]["zone_id"]: f["properties"]["locked"] for f in after["features"]}
    assert locked[zone_id] is True
    assert page.evaluate("document.querySelectorAll('path.gm-lz-locked').length") >= 1

    # A zone popup: its figures, building reasons and the unlock button.
    assert page.evaluate(f"GridMap.leadZones.openZone({json.dumps(zone_id)})") is True
    page.wait_for("!!document.querySelector('.gm-lz-popup')", what="zone popup")
    popup = page.evaluate("document.querySelector('.gm-lz-popup').innerText")
    for text in (
        "责任区编号",
        "类型",
        "户数",
        "党员数",
        "建议楼长楼栋",
        "可建楼宇党小组",
        "已锁定",
        "解锁",
    ):
        assert text in popup, text
    assert page.evaluate("document.querySelectorAll('.gm-lz-popup .gm-lz-reason').length") >= 1

    roster = page.evaluate("document.querySelector('.gm-lz-export[data-format=\"csv\"]').href")
    with urllib.request.urlopen(roster, timeout=30) as response:
        assert response.status == 200

    assert page.console_errors() == []
    shot = tmp_path / "lead-zones.png"
    page.screenshot(shot)
    shutil.copyfile(shot, SCREENSHOT_COPY)
