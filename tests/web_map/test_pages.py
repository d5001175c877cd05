"""The pages' HTML, without a browser: what every page shares, then the officer map's own.

Every page of tests/web_map/page_specs.py, built from its sample data: local assets only, the
basemaps' tile templates the only remote URLs, a zh-CN header and controls, Chinese layer
names, bad data refused, names that cannot break out. Then the officer map: its legend, its
buildings as vector tiles, its basemaps and labels.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import escape
from pathlib import Path

import pytest

from tests.web_map.page_specs import OFFICER_DATA as DATA
from tests.web_map.page_specs import PAGES, STATIC
from web_map import labels
from web_map.pages import (
    SHADINGS,
    VENUE_K_RANGE,
    CommunityChoice,
    class_labels,
    officer_map,
    page_config,
)

ASSET = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", re.IGNORECASE)
REMOTE = re.compile(r"^(?:[a-z]+:)?//", re.IGNORECASE)
BASEMAPS = ["osm", "amap", "none"]


def assets(html: str) -> list[str]:
    return ASSET.findall(html)


def script(html: str) -> str:
    """The page's inline script (after the body), where the map is built."""
    return html.rsplit("<script>", 1)[1]


# --- what every page shares -------------------------------------------------------------------

#: The files each page loads, by name.
NEEDED_ASSETS: dict[str, tuple[str, ...]] = {
    "officer": (
        "leaflet.js",
        "leaflet.css",
        "jquery.min.js",
        "bootstrap.bundle.min.js",
        "bootstrap.min.css",
        "all.min.css",
        "leaflet.awesome-markers.js",
        "leaflet.awesome-markers.css",
        "Leaflet.VectorGrid.bundled.min.js",
    ),
    "circle": (
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
    ),
    "venues": (
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
    ),
    "lead_zones": ("lead_zones.js", "lead_zones.css", "core.js", "leaflet.js"),
    "split": ("split.js", "split.css", "analysis.js", "loading.js", "core.js", "leaflet.js"),
}
#: What no file a page loads may be named (lower case): the circle and venue pages get their
#: buildings from the analysis as GeoJSON, not as vector tiles; the venue curve is inline SVG.
ABSENT_ASSETS: dict[str, tuple[str, ...]] = {
    "officer": (),
    "circle": ("leaflet.vectorgrid.bundled.min.js",),
    "venues": ("leaflet.vectorgrid.bundled.min.js", "chart"),
    "lead_zones": (),
    # The thumbnails are inline SVG; units come from the analysis as GeoJSON.
    "split": ("leaflet.vectorgrid.bundled.min.js", "chart"),
}


@pytest.mark.parametrize("basemap", BASEMAPS)
@pytest.mark.parametrize("name", PAGES)
def test_no_cdn_every_asset_local_and_present(name: str, basemap: str, vendor_assets: Path) -> None:
    page = PAGES[name]
    html = page.render(replace(page.data, basemap=basemap))
    urls = assets(html)
    assert urls, "the page loads no scripts or styles at all"
    remote = [u for u in urls if REMOTE.match(u)]
    assert remote == [], f"assets from outside the app: {remote}"
    assert "cdn" not in html.lower()
    for url in urls:
        if url.startswith("data:"):
            continue
        assert url.startswith("/static/"), url
        path = STATIC / url.removeprefix("/static/")
        assert path.is_file(), f"{url} is referenced but {path} does not exist"
    names = {u.rsplit("/", 1)[-1] for u in urls}
    for needed in NEEDED_ASSETS[name]:
        assert needed in names, needed
    for absent in ABSENT_ASSETS[name]:
        assert not any(absent in n.lower() for n in names), absent


TILE_HOSTS = {"tile.openstreetmap.org", "webrd0{s}.is.autonavi.com", "t{s}.tianditu.gov.cn"}
#: Hosts a page may name besides the basemaps' tiles: the SVG namespace (never fetched).
IDENTIFIERS: dict[str, set[str]] = {
    "officer": set(),
    "circle": {"www.w3.org"},
    "venues": {"www.w3.org"},
    "lead_zones": {"www.w3.org"},
    "split": {"www.w3.org"},
}


@pytest.mark.parametrize("name", PAGES)
def test_only_basemap_tile_templates_are_remote(name: str) -> None:
    page = PAGES[name]
    html = page.render(replace(page.data, tianditu_token="abc123"))
    hosts = set(re.findall(r"https?://([^/\"'\\]+)", html))
    assert hosts - IDENTIFIERS[name] == TILE_HOSTS


LIFE_CIRCLE_BUTTONS = tuple(
    rf'data-minutes="{minutes}"[^>]*>{minutes} 分钟<small>{metres} 米</small>'
    for minutes, metres in ((5, 300), (10, 500), (15, 1000))
)
#: What each page holds besides its header: text, then patterns.
CONTROLS: dict[str, tuple[str, ...]] = {
    "officer": (
        'class="gm-topbar"',
        '<option value="XQ">西樵社区（XQ）</option>',
        # search box
        'class="gm-search',
        'placeholder="搜索小区或楼栋名称…"',
        ">搜索</button>",
        # side panel with the officer's figures
        'class="gm-panel',
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
        # shading switch
        ">按户数</button>",
        ">按入住率</button>",
    ),
    "circle": (
        # the limit: GB 50180-2018 life circles and custom metres
        'type="number" name="metres"',
        'min="50" max="5000"',
        "步行范围（GB 50180-2018 生活圈）",
        # figures, tabs, scenario controls, the "nothing is saved" note
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
    ),
    "venues": (
        # the form: k, per-compound cap, limit, demand, weight, legal checkbox, run
        'type="number" name="max_per_compound"',
        'type="range" name="weight_score"',
        'type="checkbox" name="include_incomplete_legal"',
        'type="number" name="metres"',
        'data-demand="residents"',
        'data-demand="households"',
        'data-format="csv"',
        'data-format="xlsx"',
        'data-format="geojson"',
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
    ),
    "lead_zones": ("预览", "保存方案", "新增", "删除", "变动", "不变", "允许跨小区合并"),
    "split": (
        "拆分为几个片区",
        "人口偏差容差（%）",
        "均衡依据",
        '<option value="residents" selected>常住人口</option>',
        '<option value="households">户数</option>',
        "方案个数",
        "生成方案",
        "方案对比（点击方案在地图上查看）",
        "各片区（地图图例）",
        "撤销",
        "对比表 CSV",
        "对比表 Excel",
        "边界 GeoJSON",
        "边界 GeoPackage",
        "保存为新社区",
        "下一步",
        "确认保存",
        'data-drawer="split"',
    ),
}
PATTERNS: dict[str, tuple[str, ...]] = {
    "officer": (),
    # the approximate-mode warning is there, hidden until the analysis says so
    "circle": (*LIFE_CIRCLE_BUTTONS, r'class="gm-panel-message gm-sc-approximate" hidden>'),
    "venues": (
        rf'type="number" name="k"\s+min="{VENUE_K_RANGE[0]}" max="{VENUE_K_RANGE[1]}"',
        *LIFE_CIRCLE_BUTTONS,
    ),
    "lead_zones": (),
    "split": (
        r'type="number" name="parts" value="2"\s+min="2" max="8"',
        r'type="number" name="tolerance_pct" value="5"\s+min="0.5" max="50.0" step="0.5"',
        r'type="number" name="plans" value="5"\s+min="1" max="10"',
        r'class="gm-panel-message gm-split-infeasible" hidden>',
    ),
}


@pytest.mark.parametrize("name", PAGES)
def test_page_is_chinese_with_every_control(name: str) -> None:
    page = PAGES[name]
    html = page.render(page.data)
    assert '<html lang="zh-CN">' in html
    assert f"<title>樵华社区 · {page.title}</title>" in html
    # header: the page's title, the community selector pointing at this page, its links
    assert f'<h1 class="gm-title">{page.title}</h1>' in html
    assert f'data-page-url="{page.path}"' in html
    assert '<option value="QH" selected>樵华社区（QH）</option>' in html
    for link in page.data.links:
        assert f'class="gm-nav-link" href="{escape(link.url)}"' in html, link
    # loading indicator
    assert "加载中…" in html
    for text in CONTROLS[name]:
        assert text in html, text
    for pattern in PATTERNS[name]:
        assert re.search(pattern, html), pattern


BASEMAP_NAMES = ("OpenStreetMap 地图", "高德地图（已纠偏至 WGS84）", "无底图（离线）")
OVERLAYS: dict[str, tuple[str, ...]] = {
    "officer": ("社区边界", "网格", "小区/院落", "楼栋", "服务点", "小区出入口"),
    "circle": ("社区边界", "小区/院落", *labels.CIRCLE_LAYER_NAMES.values()),
    "venues": ("社区边界", "小区/院落", *labels.VENUE_LAYER_NAMES.values()),
    "lead_zones": ("社区边界", "小区/院落", *labels.LEAD_ZONE_LAYER_NAMES.values()),
    "split": ("社区边界", "小区/院落", *labels.SPLIT_LAYER_NAMES.values()),
}


@pytest.mark.parametrize("name", PAGES)
def test_layer_control_names_are_chinese(name: str) -> None:
    page = PAGES[name]
    js = script(page.render(page.data))
    control = js.split("L.control.layers(", 1)[1].split(").addTo(", 1)[0]
    for layer in (*BASEMAP_NAMES, *OVERLAYS[name]):
        assert f'"{layer}"' in control, layer
    assert "天地图" not in control


BAD_DATA = [
    *((name, {"basemap": "google"}, "basemap") for name in PAGES),
    *((name, {"bounds": (22.9, 112.9, 23.0, 113.0)}, "bounds") for name in PAGES),
    *((name, {"basemap": "tianditu"}, "tianditu_token") for name in PAGES),
    ("officer", {"shading": "colour"}, "shading"),
    ("circle", {"minutes": 20}, "minutes"),
    ("venues", {"minutes": 20}, "minutes"),
    ("venues", {"k": 0}, "k must"),
    ("venues", {"k": 11}, "k must"),
    ("venues", {"demand": "buildings"}, "demand"),
    ("venues", {"max_per_compound": 0}, "max_per_compound"),
    ("venues", {"weight_score": -1.0}, "weight_score"),
    ("split", {"parts": 1}, "parts must"),
    ("split", {"parts": 9}, "parts must"),
    ("split", {"plans": 0}, "plans must"),
    ("split", {"plans": 11}, "plans must"),
    ("split", {"tolerance": 0.0}, "tolerance must"),
    ("split", {"tolerance": 0.6}, "tolerance must"),
    ("split", {"by": "buildings"}, "by must"),
]


@pytest.mark.parametrize(("name", "change", "match"), BAD_DATA)
def test_bad_data_is_refused(name: str, change: dict[str, object], match: str) -> None:
    page = PAGES[name]
    with pytest.raises(ValueError, match=match):
        page.render(replace(page.data, **change))


@pytest.mark.parametrize("name", PAGES)
def test_names_cannot_break_out_of_the_page(name: str) -> None:
    evil = "</script><script>alert(1)</script>"
    page = PAGES[name]
    html = page.render(
        replace(page.data, community_name=evil, communities=(CommunityChoice("QH", evil),))
    )
    assert evil not in html
    assert "alert(1)" in html  # still shown, escaped


#: Each page's own scripts, the label keys they use, and the keys named only in parts.
SCRIPT_LABELS: dict[str, tuple[tuple[str, ...], str, set[str]]] = {
    "circle": (
        ("circle.js", "circle_panel.js"),
        "circle_",
        {f"circle_change_{t}" for t in ("close", "open", "add", "remove")},
    ),
    "venues": (
        ("venues.js", "venue_panel.js"),
        "(?:venue|circle)_",
        {f"venue_method_{m}" for m in ("milp", "greedy")},
    ),
    "split": (("split.js",), "split_", set()),
}


@pytest.mark.parametrize("name", SCRIPT_LABELS)
def test_every_string_the_scripts_use_is_in_labels(name: str) -> None:
    page = PAGES[name]
    scripts, prefix, composed = SCRIPT_LABELS[name]
    config = page.config(page.data)["labels"]
    used: set[str] = set()
    for script_name in scripts:
        code = (STATIC / "gridmap" / script_name).read_text(encoding="utf-8")
        used |= set(re.findall(rf"\b(?:ui|u)\.({prefix}\w+)", code))
        used |= set(re.findall(rf"GridMap\.text\('({prefix}\w+)'", code))
        used |= composed
    assert used, "no labels found: did the scripts change their naming?"
    missing = sorted(used - set(config))
    assert missing == [], missing


# --- the officer map ---------------------------------------------------------------------------


def test_static_prefix_is_used_everywhere() -> None:
    html = officer_map(replace(DATA, static_url="/gridmap/static/"))
    urls = [u for u in assets(html) if not u.startswith("data:")]
    assert urls
    assert all(u.startswith("/gridmap/static/") and "//" not in u[1:] for u in urls), urls


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
