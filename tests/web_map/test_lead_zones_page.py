"""The building-lead zone page (楼长责任区): its HTML, its route, and the page in Chromium.

The browser test opens the demo community (generated Qiaohua), waits for the preview, checks
the panel's counts against ``/api/analysis/lead-zones``, saves the plan with the page's
保存方案 button, locks one zone through the page's script and reads both back from
``/api/lead-zones``. It fails on any console error, and saves a screenshot to ``tmp_path``
and to ``/tmp/gridmap-lead-zones.png``.

What it shares with every page (assets, header, labels, its route) is tested for all of them
in tests/web_map/test_pages.py and tests/web_map/test_route.py; here is what is its own.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

from tests.databases import admin_headers
from tests.running import get_json
from tests.web_map.browser import Browser
from tests.web_map.page_specs import LEAD_ZONES_DATA as DATA
from web_map.pages import lead_zones_config

SCREENSHOT_COPY = Path("/tmp/gridmap-lead-zones.png")
READY = "window.GridMap && GridMap.state.leadZones && GridMap.state.leadZones.ready"


def test_zone_kinds_are_named_in_chinese() -> None:
    kinds = lead_zones_config(DATA)["leadZones"]["kinds"]
    assert {k: v["label"] for k, v in kinds.items()} == {
        "own": "独立楼长",
        "shared": "合并责任区",
        "rotating": "轮值楼长",
    }


def _post(url: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as response:
        return json.load(response)


def test_lead_zones_in_chromium(demo_url: str, browser: Browser, tmp_path: Path) -> None:
    base = demo_url
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
    request = urllib.request.Request(roster, headers=admin_headers())
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200

    assert page.console_errors() == []
    shot = tmp_path / "lead-zones.png"
    page.screenshot(shot)
    shutil.copyfile(shot, SCREENSHOT_COPY)
