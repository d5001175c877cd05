"""GET /map: the page of a community from the store, its basemap, and zh-CN errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gis_api.settings import Settings
from tests import factories
from tests.web_map.conftest import app_with_pages


def test_default_community_is_the_first_by_code(page_client: TestClient) -> None:
    r = page_client.get("/map")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<title>测试社区 · 网格员工作地图</title>" in html
    assert '<option value="T1" selected>测试社区（T1）</option>' in html
    assert "/tiles/buildings/{z}/{x}/{y}.pbf?community=T1" in html
    assert '"community":"T1"' in html


def test_bounds_are_the_community_extent(page_client: TestClient) -> None:
    html = page_client.get("/map?community=T1").text
    bounds = html.split('"bounds":[', 1)[1].split("]", 1)[0]
    got = [float(v) for v in bounds.split(",")]
    expected = factories.community_layers()["communities"].total_bounds
    assert got == pytest.approx(list(expected), abs=1e-7)


def test_unknown_community_is_a_chinese_404(page_client: TestClient) -> None:
    r = page_client.get("/map?community=NOPE")
    assert r.status_code == 404
    detail = r.json()["detail"][0]
    assert detail["type"] == "not_found"
    assert detail["loc"] == ["query", "community"]
    assert "社区编号“NOPE”不存在" in detail["msg"]
    assert "T1" in detail["msg"]


def test_empty_store_says_what_to_do(fresh_db: str) -> None:
    with TestClient(app_with_pages(Settings(database_url=fresh_db))) as client:
        r = client.get("/map")
    assert r.status_code == 404
    assert "还没有任何社区" in r.json()["detail"][0]["msg"]


def test_basemap_none_shows_no_remote_layer(page_client: TestClient) -> None:
    html = page_client.get("/map?basemap=none").text
    assert 'GridMap.basemap("none"' in html
    assert '"basemap":"none"' in html


def test_bad_basemap_is_refused(page_client: TestClient) -> None:
    r = page_client.get("/map?basemap=google")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "basemap"]


def test_tianditu_without_a_token_falls_back_to_osm(page_client: TestClient) -> None:
    html = page_client.get("/map?basemap=tianditu").text
    assert '"basemap":"osm"' in html
    assert "tianditu.gov.cn" not in html


class _TokenSettings(Settings):
    tianditu_token: str | None = None


@pytest.fixture
def token_client(small_db: str) -> Iterator[TestClient]:
    settings = _TokenSettings(database_url=small_db, tianditu_token="secret-key")
    with TestClient(app_with_pages(settings)) as client:
        yield client


def test_tianditu_with_a_token(token_client: TestClient) -> None:
    html = token_client.get("/map?basemap=tianditu").text
    assert '"basemap":"tianditu"' in html
    assert "tk=secret-key" in html
    assert "天地图" in html


def test_static_and_api_follow_the_root_path(small_db: str) -> None:
    app = app_with_pages(Settings(database_url=small_db))
    with TestClient(app, root_path="/gridmap") as client:
        html = client.get("/map").text
    assert 'href="/gridmap/static/vendor/leaflet/leaflet.css"' in html
    assert '"apiRoot":"/gridmap"' in html
    assert "/gridmap/tiles/buildings/" in html
