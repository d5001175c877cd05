"""Vector tiles decode to the features expected at that place."""

from __future__ import annotations

import math

import mapbox_vector_tile
from fastapi.testclient import TestClient

from tests import factories


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile containing a point (the slippy-map formula, computed independently)."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def b1_lonlat() -> tuple[float, float]:
    p = factories.frame([{"geometry": factories.shapely.Point(170, 160)}]).geometry[0]
    return p.x, p.y


def test_building_tile_decodes(client: TestClient) -> None:
    for z in (14, 16, 17):
        x, y = tile_of(*b1_lonlat(), z)
        r = client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        decoded = mapbox_vector_tile.decode(r.content)
        props = {f["properties"]["code"]: f["properties"] for f in decoded["buildings"]["features"]}
        assert "B1" in props, z
        assert props["B1"]["households"] == 60
        assert props["B1"]["compound_name"] == "翠湖花园"
        assert props["B1"]["lead_name"] == "张伟"


def test_tile_elsewhere_is_empty(client: TestClient) -> None:
    x, y = tile_of(-0.1, 51.5, 16)  # London
    r = client.get(f"/tiles/buildings/16/{x}/{y}.pbf")
    assert r.status_code == 200 and r.content == b""


def test_service_point_tile_has_kind(client: TestClient) -> None:
    p = factories.frame([{"geometry": factories.shapely.Point(500, 40)}]).geometry[0]
    x, y = tile_of(p.x, p.y, 15)
    decoded = mapbox_vector_tile.decode(client.get(f"/tiles/service_points/15/{x}/{y}.pbf").content)
    assert decoded["service_points"]["features"][0]["properties"]["kind"] == "centre"


def test_tile_errors(client: TestClient) -> None:
    r = client.get("/tiles/buildings/3/8/1.pbf")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "x"]
    assert client.get("/tiles/pubs/3/1/1.pbf").status_code == 404
    assert client.get("/tiles/buildings/30/1/1.pbf").status_code == 422
