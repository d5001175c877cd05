"""The officer map's HTML, without a browser: local assets only, zh-CN controls, basemaps."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from web_map import labels
from web_map.pages import (
    SHADINGS,
    CommunityChoice,
    OfficerMapData,
    class_labels,
    officer_map,
    page_config,
)

STATIC = Path(__file__).resolve().parents[2] / "web_map" / "static"
DATA = OfficerMapData(
    community_code="QH",
    community_name="樵华社区",
    bounds=(112.95, 22.91, 112.99, 22.95),
    communities=(CommunityChoice("QH", "樵华社区"), CommunityChoice("XQ", "西樵社区")),
)
ASSET = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", re.IGNORECASE)
REMOTE = re.compile(r"^(?:[a-z]+:)?//", re.IGNORECASE)


def assets(html: str) -> list[str]:
    return ASSET.findall(html)


def script(html: str) -> str:
    """The page's inline script (after the body), where the map is built."""
    return html.rsplit("<script>", 1)[1]


@pytest.mark.parametrize("basemap", ["osm", "amap", "none"])
def test_no_cdn_every_asset_local_and_present(basemap: str, vendor_assets: Path) -> None:
    html = officer_map(replace(DATA, basemap=basemap))  # type: ignore[arg-type]
    urls = assets(html)
    assert urls, "the page loads no scripts or styles at all"
    remote = [u for u in urls if REMOTE.match(u)]
    assert remote == [], f"assets from outside the app: {remote}"
    for url in urls:
        if url.startswith("data:"):
            continue
        assert url.startswith("/static/"), url
        path = STATIC / url.removeprefix("/static/")
        assert path.is_file(), f"{url} is referenced but {path} does not exist"
    names = {u.rsplit("/", 1)[-1] for u in urls}
    for needed in (
        "leaflet.js",
        "leaflet.css",
        "jquery.min.js",
        "bootstrap.bundle.min.js",
        "bootstrap.min.css",
        "all.min.css",
        "leaflet.awesome-markers.js",
        "leaflet.awesome-markers.css",
        "Leaflet.VectorGrid.bundled.min.js",
    ):
        assert needed in names, needed


def test_only_basemap_tile_templates_are_remote() -> None:
    html = officer_map(replace(DATA, tianditu_token="abc123"))
    hosts = set(re.findall(r"https?://([^/\"'\\]+)", html))
    assert hosts == {
        "tile.openstreetmap.org",
        "webrd0{s}.is.autonavi.com",
        "t{s}.tianditu.gov.cn",
    }


def test_static_prefix_is_used_everywhere() -> None:
    html = officer_map(replace(DATA, static_url="/gridmap/static/"))
    urls = [u for u in assets(html) if not u.startswith("data:")]
    assert urls
    assert all(u.startswith("/gridmap/static/") and "//" not in u[1:] for u in urls), urls


def test_page_is_chinese_with_every_control() -> None:
    html = officer_map(DATA)
    assert '<html lang="zh-CN">' in html
    assert "<title>樵华社区 · 网格员工作地图</title>" in html
    # header with the community selector
    assert 'class="gm-topbar"' in html
    assert '<option value="QH" selected>樵华社区（QH）</option>' in html
    assert '<option value="XQ">西樵社区（XQ）</option>' in html
    # search box
    assert 'class="gm-search' in html
    assert 'placeholder="搜索小区或楼栋名称…"' in html
    assert ">搜索</button>" in html
    # side panel with the officer's figures
    assert 'class="gm-panel' in html
    for text in (
        "户数",
        "常住人口",
        "户籍",
        "流动",
        "楼栋数",
        "党员数",
        "有楼长的楼栋",
        "每名两委干部服务居民数",
        "党群服务中心",
        "党群服务分中心",
        "活动室",
        "红房子",
    ):
        assert text in html, text
    # shading switch
    assert ">按户数</button>" in html and ">按入住率</button>" in html
    # loading indicator
    assert "加载中…" in html


def test_legend_lists_the_classes_of_both_shadings_one_shown() -> None:
    html = officer_map(DATA)
    legend = html.split('class="gm-legend gm-card"', 1)[1].split("</div>\n</div>", 1)[0]
    assert "图例" in legend
    assert '<div class="gm-legend-shading" data-scheme="households">' in legend
    assert '<div class="gm-legend-shading" data-scheme="occupancy" hidden>' in legend
    for text in ("楼栋户数", "20 户以下", "50–99 户", "200 户及以上", "楼栋入住率", "90%及以上"):
        assert text in legend, text
    for text in ("社区边界", "网格", "小区/院落", "红房子", "开放的出入口", "关闭的出入口"):
        assert text in legend, text
    occupancy = officer_map(replace(DATA, shading="occupancy"))
    assert '<div class="gm-legend-shading" data-scheme="households" hidden>' in occupancy


def test_layer_control_names_are_chinese() -> None:
    js = script(officer_map(DATA))
    control = js.split("L.control.layers(", 1)[1].split(").addTo(", 1)[0]
    for name in ("OpenStreetMap 地图", "高德地图（已纠偏至 WGS84）", "无底图（离线）"):
        assert f'"{name}"' in control, name
    for name in ("社区边界", "网格", "小区/院落", "楼栋", "服务点", "小区出入口"):
        assert f'"{name}"' in control, name
    assert "天地图" not in control


def test_buildings_are_vector_tiles_not_geojson() -> None:
    js = script(officer_map(DATA))
    assert 'GridMap.buildingTiles("/tiles/buildings/{z}/{x}/{y}.pbf?community=QH")' in js
    assert 'GridMap.apiLayer("buildings"' not in js


def test_community_code_is_url_encoded_in_tile_url() -> None:
    js = script(officer_map(replace(DATA, community_code="A B/1")))
    assert "/tiles/buildings/{z}/{x}/{y}.pbf?community=A%20B%2F1" in js


def _shown_basemaps(html: str) -> list[str]:
    js = script(html)
    kinds = dict(re.findall(r"var (basemap_\w+) = GridMap\.basemap\(\"(\w+)\"", js))
    shown = re.findall(r"(basemap_\w+)\.addTo\(", js)
    return [kinds[name] for name in shown]


@pytest.mark.parametrize("basemap", ["osm", "amap", "none"])
def test_basemap_choice_is_the_one_shown(basemap: str) -> None:
    assert _shown_basemaps(officer_map(replace(DATA, basemap=basemap))) == [basemap]  # type: ignore[arg-type]


def test_tianditu_offered_only_with_a_token() -> None:
    without = script(officer_map(DATA))
    assert 'GridMap.basemap("tianditu"' not in without
    with_token = officer_map(replace(DATA, basemap="tianditu", tianditu_token="k&ey"))
    assert _shown_basemaps(with_token) == ["tianditu"]
    js = script(with_token)
    assert "vec_w/wmts" in js and "cva_w/wmts" in js
    assert "tk=k%26ey" in js
    assert '"天地图"' in js
    with pytest.raises(ValueError, match="tianditu_token"):
        officer_map(replace(DATA, basemap="tianditu"))


def test_default_basemap_is_openstreetmap() -> None:
    assert _shown_basemaps(officer_map(DATA)) == ["osm"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"basemap": "google"}, "basemap"),
        ({"shading": "colour"}, "shading"),
        ({"bounds": (22.9, 112.9, 23.0, 113.0)}, "bounds"),
    ],
)
def test_bad_data_is_refused(change: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        officer_map(replace(DATA, **change))  # type: ignore[arg-type]


def test_names_cannot_break_out_of_the_page() -> None:
    evil = "</script><script>alert(1)</script>"
    html = officer_map(
        replace(DATA, community_name=evil, communities=(CommunityChoice("QH", evil),))
    )
    assert evil not in html
    assert "alert(1)" in html  # still shown, escaped


def test_every_user_string_comes_from_labels() -> None:
    """The page's scripts hold no Chinese: their strings come from labels.py via the config."""
    han = re.compile(r"[\u4e00-\u9fff]")
    for path in (STATIC / "gridmap").glob("*.js"):
        code = "\n".join(
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.lstrip().startswith(("*", "/*", "//"))
        )
        assert not han.search(code), f"{path.name} holds Chinese text: move it to labels.py"
    config = page_config(DATA)
    assert config["labels"] == {**labels.UI, "no_data": labels.NO_DATA}


def test_class_labels_follow_the_breaks() -> None:
    assert class_labels(SHADINGS["households"], " 户") == [
        "20 户以下",
        "20–49 户",
        "50–99 户",
        "100–199 户",
        "200 户及以上",
    ]
    assert class_labels(SHADINGS["occupancy"], "%") == [
        "30%以下",
        "30–49%",
        "50–69%",
        "70–89%",
        "90%及以上",
    ]
    for shading in SHADINGS.values():
        assert len(shading.colors) == len(shading.breaks) + 1
        assert list(shading.breaks) == sorted(shading.breaks)
