"""The officer map in a real headless Chromium, served by the real app over the demo community.

Fails on any console error, uncaught exception or failed load; saves a screenshot of the demo
community to ``tmp_path`` and to ``/tmp/gridmap-officer-map.png`` (and a street-level one with
a building's popup to ``/tmp/gridmap-officer-map-street.png``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from layers.crs import gcj02_to_wgs84, wgs84_to_gcj02
from tests.running import get_json
from tests.web_map.browser import Browser, Page, screen_point, text_of, visible

SCREENSHOT_COPY = Path("/tmp/gridmap-officer-map.png")
STREET_COPY = Path("/tmp/gridmap-officer-map-street.png")
READY = "window.GridMap && GridMap.map && GridMap.pending() === 0"


def open_map(page: Page, base: str, query: str = "basemap=none") -> None:
    page.navigate(f"{base}/map?{query}")
    page.wait_for("document.querySelector('.folium-map')", what=".folium-map")
    page.wait_for(
        "window.GridMap && GridMap.state.buildingFeaturesDrawn > 0 && GridMap.map"
        ".getPane('gm-buildings').querySelectorAll('canvas.leaflet-tile-loaded').length > 0",
        what="building vector tiles drawn on canvas",
    )
    page.wait_for(
        f"{READY} && GridMap.state.statsLoaded > 0"
        " && ['communities', 'grids', 'compounds', 'service_points', 'gates']"
        ".every(n => GridMap.state.layersLoaded[n] !== undefined)",
        what="GeoJSON layers and figures loaded",
    )


def test_officer_map_in_chromium(demo_url: str, browser: Browser, tmp_path: Path) -> None:
    page = browser.page(width=1440, height=900)
    open_map(page, demo_url)
    state = page.evaluate("GridMap.state")
    assert state["layersLoaded"]["compounds"] == 30
    assert state["layersLoaded"]["communities"] == 1
    assert state["layersLoaded"]["service_points"] > 0
    assert state["basemap"] == "none"
    # The loading badge was shown while layers loaded, and is gone now.
    assert state["loadingShown"] > 0
    assert not visible(page, ".gm-loading")

    # Nothing came from outside the app: "no basemap" works offline.
    outside = page.requests(
        lambda u: not u.startswith(demo_url) and not u.startswith(("data:", "blob:"))
    )
    assert outside == []
    # Buildings came as vector tiles, never as GeoJSON.
    assert page.requests(lambda u: "/tiles/buildings/" in u)
    assert not page.requests(lambda u: "/api/layers/buildings" in u)

    # Layer control: base layers and overlays by their Chinese names.
    layers = text_of(page, ".leaflet-control-layers-list")
    for name in ("OpenStreetMap 地图", "高德地图", "无底图（离线）"):
        assert name in layers
    for name in ("社区边界", "网格", "小区/院落", "楼栋", "服务点", "小区出入口"):
        assert name in layers
    assert "天地图" not in layers

    # Legend of the households shading; side panel with the community's figures.
    assert visible(page, ".gm-legend")
    assert "楼栋户数" in text_of(page, ".gm-legend")
    assert "20 户以下" in text_of(page, ".gm-legend")
    assert "楼栋入住率" not in text_of(page, ".gm-legend")
    centre = page.evaluate(
        "(() => { const c = GridMap.map.getCenter(); return [c.lng, c.lat]; })()"
    )
    stats = get_json(demo_url, "/api/stats/at", lon=f"{centre[0]:.6f}", lat=f"{centre[1]:.6f}")
    community = stats["community"]
    assert community is not None, "the map opens centred on its community"
    panel = text_of(page, ".gm-panel")
    assert community["name"] in panel
    assert text_of(page, '[data-stat="households"]') == f"{community['households']:,}"
    assert text_of(page, '[data-stat="residents"]') == f"{community['residents']:,}"
    assert text_of(page, '[data-stat="buildings"]') == f"{community['buildings']:,}"
    assert text_of(page, '[data-service="red_house"]') == str(
        community["service_points"]["red_house"]
    )
    per_cadre = round(community["residents_per_cadre"])
    assert text_of(page, '[data-stat="residents_per_cadre"]') == f"{per_cadre:,}"

    # The screenshot of the demo community.
    shot = tmp_path / "officer_map.png"
    png = page.screenshot(shot)
    assert png.startswith(b"\x89PNG") and len(png) > 50_000
    shutil.copyfile(shot, SCREENSHOT_COPY)

    # Shading by occupancy restyles the drawn buildings and the legend, fetching no tile.
    tiles_before = len(page.requests(lambda u: "/tiles/buildings/" in u))
    page.click('.gm-shading-button[data-scheme="occupancy"]')
    page.wait_for("GridMap.state.shading === 'occupancy'")
    assert "楼栋入住率" in text_of(page, ".gm-legend")
    assert "90%及以上" in text_of(page, ".gm-legend")
    assert "楼栋户数" not in text_of(page, ".gm-legend")
    assert len(page.requests(lambda u: "/tiles/buildings/" in u)) == tiles_before
    colours = page.evaluate(
        """(() => {
          const out = [];
          const layer = GridMap.layers.buildings;
          for (const key in layer._vectorTiles) {
            const features = layer._vectorTiles[key]._features;
            for (const id in features) {
              const f = features[id].feature;
              const p = f.properties;
              out.push([p.occupancy, f.options.fillColor, GridMap.shadeColor(p)]);
            }
          }
          return out;
        })()"""
    )
    assert colours
    occupancy = page.evaluate("GridMap.config.shading.schemes.occupancy")
    for value, drawn, expected in colours:
        assert drawn == expected
        k = sum(value >= b for b in occupancy["breaks"]) if value is not None else None
        assert drawn == (occupancy["colors"][k] if k is not None else occupancy["nodata"])

    # Click a building: its popup, in Chinese, with what officers need.
    building = get_json(demo_url, "/api/layers/buildings", community="QH", limit=1)
    b = building["features"][0]
    hit = get_json(demo_url, "/api/search", q=b["properties"]["code"], community="QH")[0]
    page.evaluate(f"void GridMap.map.setView([{hit['lat']}, {hit['lon']}], 18, {{animate: false}})")
    page.wait_for(f"{READY} && GridMap.state.buildingTilesLoaded > 0")
    page.click_at(*screen_point(page, hit["lat"], hit["lon"]))
    page.wait_for("document.querySelector('.leaflet-popup-content')", what="building popup")
    popup = text_of(page, ".leaflet-popup-content")
    for label in (
        "楼栋",
        "所属小区",
        "所属网格",
        "户数",
        "常住人口",
        "入住率",
        "楼层",
        "党员数",
        "楼长",
    ):
        assert label in popup, label
    assert b["properties"]["compound_name"] in popup
    assert f"{round(b['properties']['occupancy'] * 100)}%" in popup
    assert page.evaluate("GridMap._highlightBuilding") == b["id"]
    page.wait_for(
        f"{READY} && getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    street = tmp_path / "officer_map_street.png"
    page.screenshot(street)
    shutil.copyfile(street, STREET_COPY)

    # Search a compound by name: fly there, outline it, open its popup.
    compound = get_json(demo_url, "/api/layers/compounds", community="QH", limit=1)
    name = compound["features"][0]["properties"]["name"]
    page.evaluate("void GridMap.map.closePopup()")
    page.type_text(".gm-search-input", name)
    page.click(".gm-search-button")
    page.wait_for(
        "GridMap.state.lastResult && GridMap.state.lastResult.layer === 'compounds'",
        what="search result shown",
    )
    assert page.evaluate("GridMap.state.lastResult.found") is True
    popup = text_of(page, ".leaflet-popup-content")
    for label in ("小区", "户数", "建成年份", "物业", "党支部", "业委会"):
        assert label in popup, label
    assert name in popup
    assert page.evaluate("!!GridMap._highlight")

    # Search that matches many buildings: pick one from the list.
    page.evaluate(
        "(() => { const i = document.querySelector('.gm-search-input'); i.value = ''; })()"
    )
    page.type_text(".gm-search-input", "1栋")
    page.click(".gm-search-button")
    page.wait_for("document.querySelectorAll('.gm-search-result').length > 1", what="result list")
    first = text_of(page, ".gm-search-result")
    assert "楼栋" in first
    page.click(".gm-search-result")
    page.wait_for(
        "GridMap.state.lastResult && GridMap.state.lastResult.layer === 'buildings'",
        what="building result shown",
    )
    assert page.evaluate("GridMap.state.lastResult.found") is True
    assert "楼长" in text_of(page, ".leaflet-popup-content")

    # At street level the panel shows the grid at the centre.
    page.wait_for(f"{READY} && GridMap.state.statsLoaded > 1")
    page.wait_for("document.querySelector('.gm-panel-sub').innerText.length > 0")
    assert "网格" in text_of(page, ".gm-panel-sub")

    # Switch the basemap in the layer control: offered, recorded in the URL (not loaded here:
    # the test machine has no network, and remote tiles are no part of the page's own code).
    page.evaluate("void GridMap.map.fire('baselayerchange', {layer: {gmKind: 'osm'}})")
    assert "basemap=osm" in page.evaluate("window.location.search")

    errors = page.console_errors()
    assert errors == [], "\n".join(errors)


def test_gcj02_shift_in_chromium(live_url: str, browser: Browser) -> None:
    """The page's GCJ-02 code matches layers/crs.py, and Amap tiles are drawn shifted by it."""
    page = browser.page(width=1024, height=768)
    page.navigate(f"{live_url}/map?basemap=none")
    page.wait_for(READY, what="map ready")
    rng = np.random.default_rng(5)
    lon = rng.uniform(73.0, 135.0, 40)
    lat = rng.uniform(18.0, 53.0, 40)
    points = [[float(x), float(y)] for x, y in zip(lon, lat, strict=True)]
    points.append([112.97, 22.93])
    forward = page.evaluate(f"{json.dumps(points)}.map(p => GridMap.gcj02.fromWgs84(p[0], p[1]))")
    gx, gy = wgs84_to_gcj02([p[0] for p in points], [p[1] for p in points])
    assert np.allclose(np.array(forward), np.column_stack([gx, gy]), atol=1e-10, rtol=0)
    back = page.evaluate(f"{json.dumps(forward)}.map(p => GridMap.gcj02.toWgs84(p[0], p[1]))")
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert np.allclose(np.array(back), np.column_stack([wx, wy]), atol=1e-8, rtol=0)
    assert np.allclose(np.array(back), np.array(points), atol=1e-8, rtol=0)
    # Outside China nothing moves.
    assert page.evaluate("GridMap.gcj02.fromWgs84(2.35, 48.85)") == [2.35, 48.85]

    # Tiles of a GCJ-02 layer sit where a plain layer's tiles sit, moved back by the offset at
    # the tile centre (in pixels at that zoom), and cover the view. Local images stand in for
    # Amap's, which the test machine cannot reach.
    result = page.evaluate(
        """new Promise(resolve => {
          const map = GridMap.map;
          map.setView([22.93, 112.97], 17, {animate: false});
          const url = '/static/vendor/leaflet/images/layers.png?z={z}&x={x}&y={y}';
          const gcj = new GridMap.GcjTileLayer(url, {maxZoom: 20}).addTo(map);
          gcj.once('load', () => {
            const out = [];
            for (const key in gcj._tiles) {
              const t = gcj._tiles[key];
              if (!t.current) continue;
              const pos = L.DomUtil.getPosition(t.el);
              const plain = L.TileLayer.prototype._getTilePos.call(gcj, t.coords);
              out.push({x: t.coords.x, y: t.coords.y, z: t.coords.z,
                        dx: plain.x - pos.x, dy: plain.y - pos.y,
                        left: pos.x + gcj._level.origin.x, top: pos.y + gcj._level.origin.y});
            }
            const b = map.getPixelBounds();
            resolve({tiles: out, view: [b.min.x, b.min.y, b.max.x, b.max.y]});
          });
        })""",
        await_promise=True,
    )
    tiles = result["tiles"]
    assert tiles
    for t in tiles:
        z = t["z"]
        n = 256 * 2**z
        # the tile centre in GCJ-02 (what the image shows), and its WGS84 position
        cx, cy = (t["x"] + 0.5) * 256, (t["y"] + 0.5) * 256
        glon = cx / n * 360 - 180
        glat = float(np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * cy / n)))))
        wlon, wlat = (float(v[0]) for v in gcj02_to_wgs84([glon], [glat]))
        wx = (wlon + 180) / 360 * n
        wy = (1 - np.arcsinh(np.tan(np.radians(wlat))) / np.pi) / 2 * n
        assert t["dx"] == pytest.approx(cx - wx, abs=0.5)
        assert t["dy"] == pytest.approx(cy - wy, abs=0.5)
        # ~500 m at z17 is a few hundred pixels: the shift is real, not rounding.
        assert abs(t["dx"]) > 100
    # The shifted tiles still cover the whole view.
    x0, y0, x1, y1 = result["view"]
    assert min(t["left"] for t in tiles) <= x0 and max(t["left"] + 256 for t in tiles) >= x1
    assert min(t["top"] for t in tiles) <= y0 and max(t["top"] + 256 for t in tiles) >= y1

    errors = page.console_errors()
    assert errors == [], "\n".join(errors)
