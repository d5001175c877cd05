"""Every page on the communities real places have (:mod:`tests.shapes`), in headless Chromium.

One fresh database per shape, the pages opened side by side in one Chromium: the officer's
map, the service circle, the venues, the building-lead zones and the split. Each test reads what the
panels *say* (coverage, uncovered buildings, the straight-line warning, the zones, what to
import next) and checks it against the analysis API; any console error, uncaught exception,
failed load or error toast fails it. A community with no buildings at all, and a second
community in the same database, are shapes too; so are error answers of the analysis API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests import factories, shapes
from tests.running import get_json, serve
from tests.web_map.browser import Browser, Page, js, open_pages
from tests.web_map.page_specs import PAGES

# --- reading the panels (the pages open with tests.web_map.browser.open_pages) ---------------


def text(page: Page, selector: str) -> str:
    """The rendered text of the first ``selector``, or "" when it is hidden or absent."""
    value = page.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " return e && !e.hidden && e.offsetParent !== null ? e.innerText : ''; })()"
    )
    return str(value or "")


def texts(page: Page, selector: str) -> list[str]:
    return list(
        page.evaluate(
            f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.innerText)"
        )
    )


def assert_clean(pages: dict[str, Page]) -> None:
    """No console error, exception or failed load; no error toast; no raw English error."""
    for name, page in pages.items():
        assert page.console_errors() == [], name
        toast = page.evaluate(
            "(() => { const t = document.querySelector('.gm-toast.gm-toast-visible');"
            " return t ? t.textContent : null; })()"
        )
        assert toast is None, f"{name}: {toast}"
        body = page.evaluate("document.body.innerText")
        for raw in ("Error", "undefined", "NaN", "null", "[object", "Internal Server"):
            assert raw not in body, f"{name} shows {raw!r}"


def pct(share: float) -> str:
    """A share as the panels write it (zh-CN, one decimal at most)."""
    return f"{round(share * 100, 1):g}%"


def community_buildings(page: Page) -> str:
    """The officer panel's building count of the whole community."""
    page.evaluate("document.querySelector('[data-level=\"community\"]').click()")
    assert js(
        page, "document.querySelector('[data-level=\"community\"]').classList.contains('active')"
    )
    return text(page, '[data-stat="buildings"]')


def missing(page: Page, layer: str) -> str:
    return text(page, f'[data-missing="{layer}"]')


def requested(page: Page, path: str) -> list[str]:
    return page.requests(lambda u: path in u)


# --- what each page answers, per shape --------------------------------------------------------


def check_officer(page: Page, buildings: int, *, compounds: int) -> None:
    state = js(page, "GridMap.state")
    assert state["layersLoaded"]["communities"] == 1
    assert state["layersLoaded"]["compounds"] == compounds
    assert community_buildings(page) == str(buildings)
    assert js(page, "document.querySelectorAll('.gm-missing').length") == 0


def check_circle(page: Page, base: str, community: str = "T1") -> dict[str, Any]:
    """The panel's coverage and uncovered list are the analysis's; return the analysis."""
    api = get_json(base, "/api/analysis/service-circle", community=community, minutes=15)
    row = api["summary"]["community"][0]
    assert js(page, "GridMap.state.circle.ready") is True
    assert text(page, '[data-stat="households_covered_share"]') == pct(
        row["households_covered_share"]
    )
    assert text(page, '[data-stat="residents_covered_share"]') == pct(
        row["residents_covered_share"]
    )
    assert js(page, "GridMap.state.circle.buildingsDrawn") == len(api["buildings"]["features"])
    uncovered = page.evaluate(
        "[...document.querySelectorAll('.gm-sc-uncovered [data-building]')]"
        ".map(b => b.dataset.building)"
    )
    assert uncovered == [r["building_id"] for r in api["uncovered"]]
    assert text(page, '[data-stat="uncovered_count"]') == str(len(api["uncovered"]))
    approximate = bool(api["approximate"])
    assert (text(page, ".gm-sc-approximate") != "") is approximate
    return dict(api)


def check_venues(page: Page, base: str, community: str = "T1") -> dict[str, Any]:
    api = get_json(
        base,
        "/api/analysis/venues",
        community=community,
        k=3,
        demand="residents",
        weight_score=0,
        max_per_compound=1,
        minutes=10,
    )
    box = '[data-kpi="residents"]'
    assert text(page, f"{box} [data-before]") == pct(api["before"]["residents_share"])
    assert text(page, f"{box} [data-after]") == pct(api["after"]["residents_share"])
    picks = js(page, "document.querySelectorAll('.gm-vn-picks > li').length")
    assert picks == len(api["picks"]["features"]) == js(page, "GridMap.state.venues.picks")
    if not picks:
        assert "没有可选的候选场地" in text(page, ".gm-vn-no-picks")
    assert (text(page, ".gm-vn-approximate") != "") is bool(api["approximate"])
    return dict(api)


def check_venues_blocked(page: Page, layer: str, base: str) -> None:
    """No choice is asked for; the panel says what is missing and what to import."""
    assert js(page, "GridMap.state.venues.blocked") == layer
    assert js(page, "GridMap.state.venues.ready") is False
    assert requested(page, "/api/analysis/venues") == []
    assert js(page, "document.querySelector('[data-action=\"run\"]').disabled") is True
    assert text(page, ".gm-vn-result") == ""


def check_lead_zones(page: Page, base: str, community: str = "T1") -> dict[str, Any]:
    api = get_json(base, "/api/analysis/lead-zones", community=community)
    zones = api["zones"]["features"]
    assert js(page, "GridMap.state.leadZones.zones") == len(zones) > 0
    counts = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('.gm-lz-kinds [data-zones]')]"
        ".map(n => [n.closest('li').dataset.kind, Number(n.dataset.zones)]))"
    )
    by_kind: dict[str, int] = {}
    for f in zones:
        by_kind[f["properties"]["kind"]] = by_kind.get(f["properties"]["kind"], 0) + 1
    assert {k: v for k, v in counts.items() if v} == by_kind
    assert text(page, '[data-count="total"]') == f"{len(zones)} 个"
    assert (text(page, ".gm-lz-approximate") != "") is bool(api["approximate"])
    return dict(api)


def check_all(pages: dict[str, Page], base: str, *, buildings: int, compounds: int) -> None:
    """The pages every shape opens, checked against the analyses (those it opened)."""
    if "officer" in pages:
        check_officer(pages["officer"], buildings, compounds=compounds)
    check_circle(pages["circle"], base)
    if "lead_zones" in pages:
        check_lead_zones(pages["lead_zones"], base)


# --- the shapes -------------------------------------------------------------------------------


def _no_compounds(pages: dict[str, Page], base: str) -> None:
    check_all(pages, base, buildings=3, compounds=0)
    check_venues(pages["venues"], base)


def _compounds_without_walls(pages: dict[str, Page], base: str) -> None:
    check_all(pages, base, buildings=3, compounds=1)
    circle = check_circle(pages["circle"], base)
    assert circle["uncovered"] == []  # open compounds: everyone walks in
    check_venues(pages["venues"], base)


def _sealed_compound(pages: dict[str, Page], base: str) -> None:
    check_all(pages, base, buildings=3, compounds=1)
    page = pages["circle"]
    circle = check_circle(page, base)
    assert sorted(texts(page, ".gm-sc-uncovered .gm-sc-item-name")) == [
        "翠湖花园 1栋",
        "翠湖花园 2栋",
    ]
    assert len(circle["uncovered"]) == 2
    check_venues(pages["venues"], base)


def _no_service_points(pages: dict[str, Page], base: str) -> None:
    check_all(pages, base, buildings=3, compounds=1)
    page = pages["circle"]
    check_circle(page, base)
    assert text(page, '[data-stat="households_covered_share"]') == "0%"
    assert text(page, '[data-stat="uncovered_count"]') == "3"
    page.evaluate("document.querySelector('[data-tab=\"uncovered\"]').click()")
    names = texts(page, ".gm-sc-uncovered .gm-sc-item-name")
    assert sorted(names) == ["3栋", "翠湖花园 1栋", "翠湖花园 2栋"]
    notice = missing(page, "service_points")
    assert "还没有服务点" in notice
    assert "gridmap import service_points 文件 --community T1" in notice
    venues = check_venues(pages["venues"], base)
    assert venues["before"]["residents_share"] == 0


def _no_network(pages: dict[str, Page], base: str) -> None:
    check_all(pages, base, buildings=3, compounds=1)
    hint = "gridmap import network 文件 --community T1"
    for name, selector in (
        ("circle", ".gm-sc-approximate"),
        ("venues", ".gm-vn-approximate"),
        ("lead_zones", ".gm-lz-approximate"),
    ):
        banner = text(pages[name], selector)
        assert "直线" in banner and "估算" in banner, name
        assert hint in banner, name
    assert check_circle(pages["circle"], base)["approximate"] is True
    check_venues(pages["venues"], base)


def _no_candidates(pages: dict[str, Page], base: str) -> None:
    check_all(pages, base, buildings=3, compounds=1)
    page = pages["venues"]
    check_venues_blocked(page, "candidate_venues", base)
    notice = missing(page, "candidate_venues")
    assert "还没有候选场地" in notice
    assert "gridmap import candidate_venues 文件 --community T1" in notice
    assert js(page, "GridMap.state.layersLoaded.service_points") == 1  # still on the map


def _one_building(pages: dict[str, Page], base: str) -> None:
    check_all(pages, base, buildings=1, compounds=0)
    page = pages["lead_zones"]
    api = check_lead_zones(page, base)
    assert [f["properties"]["kind"] for f in api["zones"]["features"]] == ["rotating"]
    assert page.evaluate("document.querySelector('[data-count=\"rotating\"]').dataset.zones") == "1"
    assert js(pages["circle"], "GridMap.state.circle.buildingsDrawn") == 1
    check_venues_blocked(pages["venues"], "candidate_venues", base)


def _network_misses_a_building(pages: dict[str, Page], base: str) -> None:
    check_all(pages, base, buildings=3, compounds=1)


ALL = tuple(PAGES)
#: Each shape's check and the pages it opens: every page where the shape changes the answer
#: (the officer's map where a layer it draws is missing), to keep the run short.
CHECKS: dict[str, tuple[Callable[[dict[str, Page], str], None], tuple[str, ...]]] = {
    "no_compounds": (_no_compounds, ALL),
    "compounds_without_walls": (_compounds_without_walls, ("circle", "venues")),
    "sealed_compound": (_sealed_compound, ("circle", "venues")),
    "no_service_points": (_no_service_points, ("circle", "venues")),
    "no_network": (_no_network, ("circle", "venues", "lead_zones")),
    "no_candidates": (_no_candidates, ("circle", "venues")),
    "one_building": (_one_building, ALL),
    "network_misses_a_building": (_network_misses_a_building, ("circle", "lead_zones")),
}


@pytest.mark.parametrize("shape", list(CHECKS))
def test_pages_on_shape(shape: str, fresh_db: str, browser: Browser) -> None:
    layers, ways = shapes.SHAPES[shape]()
    shapes.load(fresh_db, layers, ways)
    check, which = CHECKS[shape]
    with serve(fresh_db) as base:
        pages = open_pages(browser, base, which=which)
        check(pages, base)
        assert_clean(pages)


def test_pages_of_a_community_without_buildings(fresh_db: str, browser: Browser) -> None:
    """Only the boundary: every page opens and says to import buildings (and what else)."""
    shapes.load(fresh_db, {"communities": factories.community_layers()["communities"]}, None)
    with serve(fresh_db) as base:
        pages = open_pages(browser, base)
        command = "gridmap import buildings 文件 --community T1"
        for name, page in pages.items():
            assert "还没有楼栋数据" in missing(page, "buildings"), name
            assert command in missing(page, "buildings"), name
        officer = pages["officer"]
        assert js(officer, "GridMap.state.layersLoaded.communities") == 1
        assert community_buildings(officer) == "0"

        circle = pages["circle"]
        assert js(circle, "GridMap.state.circle.blocked") == "buildings"
        assert requested(circle, "/api/analysis/service-circle") == []
        assert text(circle, ".gm-sc-figures") == ""  # no figures of nothing
        assert "导入楼栋之后，再导入服务点" in missing(circle, "service_points")

        venues = pages["venues"]
        check_venues_blocked(venues, "buildings", base)
        assert "gridmap import candidate_venues" in missing(venues, "candidate_venues")

        lead = pages["lead_zones"]
        assert js(lead, "GridMap.state.leadZones.blocked") == "buildings"
        assert requested(lead, "/api/analysis/lead-zones") == []
        assert js(lead, "document.querySelector('.gm-lz-preview').disabled") is True
        assert_clean(pages)


def test_pages_of_the_second_community(fresh_db: str, browser: Browser) -> None:
    """T2 beside T1: one building, no compounds, no network of its own, no candidates."""
    layers, ways = shapes.no_candidates()
    shapes.load(fresh_db, layers, ways, shapes.second_community())
    with serve(fresh_db) as base:
        pages = open_pages(browser, base, "T2")
        officer = pages["officer"]
        assert community_buildings(officer) == "1"
        options = texts(officer, ".gm-community-select option")
        assert options == ["测试社区（T1）", "第二测试社区（T2）"]
        assert js(officer, "document.querySelector('.gm-community-select select').value") == "T2"
        circle = check_circle(pages["circle"], base, "T2")
        assert [b["properties"]["building_id"] for b in circle["buildings"]["features"]] == [
            "T2-B3"
        ]
        assert "gridmap import network 文件 --community T2" in text(
            pages["circle"], ".gm-sc-approximate"
        )
        check_venues_blocked(pages["venues"], "candidate_venues", base)
        assert "--community T2" in missing(pages["venues"], "candidate_venues")
        assert len(check_lead_zones(pages["lead_zones"], base, "T2")["zones"]["features"]) == 1
        assert_clean(pages)


# --- error answers of the analysis API ---------------------------------------------------------


#: An error answer per analysis: a zh-CN message, a raw English 500, an English 422.
ERRORS = {
    "/api/analysis/service-circle": (
        500,
        {"detail": [{"msg": "分析服务暂时不可用：数据库连接中断"}]},
    ),
    "/api/analysis/venues": (500, {"detail": "Internal Server Error"}),
    "/api/analysis/lead-zones": (422, {"detail": [{"msg": "Input should be a valid integer"}]}),
}
#: What each page's panel then says (its own words around the API's, never raw English).
SHOWN = {
    "circle": (".gm-sc-error", "服务圈计算失败：分析服务暂时不可用：数据库连接中断"),
    "venues": (".gm-vn-error", "选址计算失败：服务器出错（HTTP 500）"),
    "lead_zones": (".gm-lz-error", "责任区计算失败：请求未被接受（HTTP 422）"),
}


def _failing_analyses() -> str:
    """A script that makes each analysis of :data:`ERRORS` answer its error."""
    answers = {
        path: {"status": status, "body": json.dumps(body)}
        for path, (status, body) in ERRORS.items()
    }
    return (
        f"(() => {{ const answers = {json.dumps(answers)}; const real = window.fetch;"
        " window.fetch = function (url) {"
        " const path = new URL(String(url), location.href).pathname; const a = answers[path];"
        " if (a) { return Promise.resolve(new Response(a.body,"
        " { status: a.status, headers: { 'Content-Type': 'application/json' } })); }"
        " return real.apply(this, arguments); }; })();"
    )


def test_pages_say_why_the_analysis_failed(live_url: str, browser: Browser) -> None:
    """A 4xx/5xx answer: the panel shows the API's zh-CN message, or says what failed."""
    pages = open_pages(
        browser, live_url, before=_failing_analyses(), which=("circle", "venues", "lead_zones")
    )
    for name, (selector, shown) in SHOWN.items():
        page = pages[name]
        message = text(page, selector)
        assert message.startswith(shown), (name, message)
        assert "Input should" not in message and "Internal" not in message
        panel = js(page, "document.querySelector('.gm-panel').className")
        assert "gm-panel-loading" not in panel, name
        assert page.console_errors() == [], name
