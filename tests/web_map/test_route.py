"""The pages' routes: every page of a community from the store, and /map's basemaps.

Every page of tests/web_map/page_specs.py is asked of the real app on the test community T1
(``client``): its HTML with the header links to the others, the first community by default,
a zh-CN 404 for an unknown one, and the links under a root path. Then /map's own: the bounds,
the empty store, the basemaps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from gis_api.app import create_app
from gis_api.settings import Settings
from tests import factories
from tests.databases import admin_headers
from tests.web_map.page_specs import PAGES

# --- every page -------------------------------------------------------------------------------

#: Per page: what a test adds to the query, and what the page then says.
SERVES: dict[str, tuple[str, tuple[str, ...]]] = {
    "officer": ("", ()),
    "circle": ("", ('"minutes":15',)),
    "venues": ("&k=4&minutes=15", ('"k":4', '"minutes":15')),
    "lead_zones": ("", ()),
    "split": ("&parts=3", ('"parts":3', 'name="parts" value="3"')),
}


@pytest.mark.parametrize("name", PAGES)
def test_route_serves_the_page_of_a_community(name: str, client: TestClient) -> None:
    page = PAGES[name]
    query, says = SERVES[name]
    r = client.get(f"{page.path}?community=T1&basemap=none{query}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert f"<title>测试社区 · {page.title}</title>" in html
    assert '"community":"T1"' in html
    assert '"basemap":"none"' in html
    for other, spec in PAGES.items():
        if other != name:
            href = f"{spec.path}?community=T1&amp;basemap=none"
            assert f'class="gm-nav-link" href="{href}"' in html, other
            assert spec.title in html, other
    for text in says:
        assert text in html, text


#: Per page: the query a test asks with (no community), and what the page then says.
DEFAULTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "officer": ("", ("/tiles/buildings/{z}/{x}/{y}.pbf?community=T1",)),
    "circle": ("?minutes=5", ('"minutes":5',)),
    "venues": ("", ()),
    "lead_zones": ("", ()),
    "split": ("", ('"parts":2',)),
}


@pytest.mark.parametrize("name", PAGES)
def test_default_community_is_the_first_by_code(name: str, client: TestClient) -> None:
    page = PAGES[name]
    query, says = DEFAULTS[name]
    r = client.get(f"{page.path}{query}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert f"<title>测试社区 · {page.title}</title>" in html
    assert '<option value="T1" selected>测试社区（T1）</option>' in html
    assert '"community":"T1"' in html
    for text in says:
        assert text in html, text


@pytest.mark.parametrize("name", PAGES)
def test_unknown_community_is_a_chinese_404(name: str, client: TestClient) -> None:
    r = client.get(PAGES[name].path, params={"community": "NOPE"})
    assert r.status_code == 404
    detail = r.json()["detail"][0]
    assert detail["type"] == "not_found"
    assert detail["loc"] == ["query", "community"]
    assert "社区编号“NOPE”不存在" in detail["msg"]
    assert "T1" in detail["msg"]


def test_every_page_links_to_the_others(client: TestClient) -> None:
    pages = {
        "/map": ("/map/service-circle", "/map/venues", "/map/lead-zones", "/map/split"),
        "/map/service-circle": ("/map", "/map/venues", "/map/lead-zones", "/map/split"),
        "/map/venues": ("/map", "/map/service-circle", "/map/lead-zones", "/map/split"),
        "/map/lead-zones": ("/map", "/map/service-circle", "/map/venues", "/map/split"),
        "/map/split": ("/map", "/map/service-circle", "/map/venues", "/map/lead-zones"),
    }
    for path, others in pages.items():
        html = client.get(f"{path}?community=T1&basemap=none").text
        links = re.findall(r'class="gm-nav-link" href="([^"]*)"', html)
        assert [unescape(u) for u in links] == [f"{o}?community=T1&basemap=none" for o in others], (
            path
        )


#: Per page: what else its HTML must put under the root path.
UNDER_ROOT: dict[str, tuple[str, ...]] = {
    "officer": ("/gridmap/tiles/buildings/",),
    "circle": ('src="/gridmap/static/gridmap/circle.js"',),
    "venues": ('src="/gridmap/static/gridmap/venues.js"',),
    "lead_zones": ('src="/gridmap/static/gridmap/lead_zones.js"',),
    "split": ('src="/gridmap/static/gridmap/split.js"', '"officerUrl":"/gridmap/map"'),
}


@pytest.mark.parametrize("name", PAGES)
def test_static_and_api_follow_the_root_path(name: str, settings: Settings) -> None:
    page = PAGES[name]
    with TestClient(create_app(settings), root_path="/gridmap", headers=admin_headers()) as client:
        html = client.get(page.path).text
    assert 'href="/gridmap/static/vendor/leaflet/leaflet.css"' in html
    assert '"apiRoot":"/gridmap"' in html
    assert f'data-page-url="/gridmap{page.path}"' in html
    for other, spec in PAGES.items():
        if other != name:
            assert f'href="/gridmap{spec.path}?community=T1&amp;basemap=osm"' in html, other
    for text in UNDER_ROOT[name]:
        assert text in html, text


# --- /map -------------------------------------------------------------------------------------


def test_bounds_are_the_community_extent(client: TestClient) -> None:
    html = client.get("/map?community=T1").text
    bounds = html.split('"bounds":[', 1)[1].split("]", 1)[0]
    got = [float(v) for v in bounds.split(",")]
    expected = factories.community_layers()["communities"].total_bounds
    assert got == pytest.approx(list(expected), abs=1e-7)


def test_empty_store_says_what_to_do(fresh_db: str) -> None:
    with TestClient(create_app(Settings(database_url=fresh_db)), headers=admin_headers()) as client:
        r = client.get("/map")
    assert r.status_code == 404
    assert "还没有任何社区" in r.json()["detail"][0]["msg"]


def test_basemap_none_shows_no_remote_layer(client: TestClient) -> None:
    html = client.get("/map?basemap=none").text
    assert 'GridMap.basemap("none"' in html
    assert '"basemap":"none"' in html


def test_bad_basemap_is_refused(client: TestClient) -> None:
    r = client.get("/map?basemap=google")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "basemap"]


def test_tianditu_without_a_token_falls_back_to_osm(client: TestClient) -> None:
    html = client.get("/map?basemap=tianditu").text
    assert '"basemap":"osm"' in html
    assert "tianditu.gov.cn" not in html


class _TokenSettings(Settings):
    tianditu_token: str | None = None


@pytest.fixture
def token_client(t1_db: str) -> Iterator[TestClient]:
    settings = _TokenSettings(database_url=t1_db, tianditu_token="secret-key")
    with TestClient(create_app(settings), headers=admin_headers()) as client:
        yield client


def test_tianditu_with_a_token(token_client: TestClient) -> None:
    html = token_client.get("/map?basemap=tianditu").text
    assert '"basemap":"tianditu"' in html
    assert "tk=secret-key" in html
    assert "天地图" in html
