"""Layer endpoints against a real PostGIS: reads, filters, paging, writes and their errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from layers import crs as crsmod
from layers import db
from tests import factories
from tests.conftest import snapshot


@pytest.fixture
def engine_(api_db: str) -> Iterator[Engine]:
    engine = db.make_engine(api_db)
    yield engine
    engine.dispose()


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["postgis"].startswith("3")
    assert body["counts"]["buildings"] == 3


def test_layer_list(client: TestClient) -> None:
    layers = {item["id"]: item for item in client.get("/api/layers").json()}
    assert layers["buildings"]["title"] == "楼栋"
    assert layers["buildings"]["count"] == 3
    assert {"name": "households", "title": "户数", "type": "int"} in layers["buildings"]["fields"]


def test_features_with_filters_and_paging(client: TestClient) -> None:
    body = client.get("/api/layers/buildings").json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 3
    b1 = next(f for f in body["features"] if f["properties"]["code"] == "B1")
    assert isinstance(b1["id"], int)
    assert b1["properties"]["compound_name"] == "翠湖花园"
    assert b1["properties"]["grid_name"] == "第一网格"
    assert b1["properties"]["version"] == 1
    codes = lambda r: sorted(f["properties"]["code"] for f in r.json()["features"])  # noqa: E731
    assert codes(client.get("/api/layers/buildings?compound=C1")) == ["B1", "B2"]
    assert codes(client.get("/api/layers/buildings?grid=G2&community=T1")) == ["B3"]
    # bbox around B3 only (local 600..640 x 600..620)
    box = factories.frame([{"geometry": factories.shapely.box(590, 590, 650, 630)}]).total_bounds
    assert codes(client.get(f"/api/layers/buildings?bbox={','.join(map(str, box))}")) == ["B3"]
    page = client.get("/api/layers/buildings?limit=2").json()
    assert page["numberReturned"] == 2 and page["numberMatched"] == 3
    assert page["links"][0] == {"rel": "next", "offset": 2, "limit": 2}
    rest = client.get("/api/layers/buildings?limit=2&offset=2").json()
    assert rest["numberReturned"] == 1


def test_gcj02_output(client: TestClient) -> None:
    wgs = client.get("/api/layers/service_points").json()["features"][0]["geometry"]
    gcj = client.get("/api/layers/service_points?crs=gcj02").json()["features"][0]["geometry"]
    lon, lat = crsmod.wgs84_to_gcj02(*wgs["coordinates"])
    assert gcj["coordinates"] == pytest.approx([float(lon), float(lat)], abs=1e-9)


def test_one_feature_and_not_found(client: TestClient) -> None:
    fid = client.get("/api/layers/compounds").json()["features"][0]["id"]
    one = client.get(f"/api/layers/compounds/{fid}").json()
    assert one["properties"]["name"] == "翠湖花园"
    missing = client.get("/api/layers/compounds/999999")
    assert missing.status_code == 404
    assert missing.json()["detail"][0]["loc"] == ["path", "fid"]
    unknown = client.get("/api/layers/pubs")
    assert unknown.status_code == 404 and "pubs" in unknown.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("bbox", "fragment"),
    [("1,2,3", "4 个"), ("22.9,112.9,22.95,113.0", "颠倒"), ("113,23,112,22", "最小值")],
)
def test_bad_bbox(client: TestClient, bbox: str, fragment: str) -> None:
    r = client.get(f"/api/layers/buildings?bbox={bbox}")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "bbox"]
    assert fragment in r.json()["detail"][0]["msg"]


def test_over_large_page_refused(client: TestClient) -> None:
    r = client.get("/api/layers/buildings?limit=50000")
    assert r.status_code == 413
    assert "分页" in r.json()["detail"][0]["msg"]


def _feature(code: str, x0: float, y0: float, **props: object) -> dict[str, object]:
    geom = factories.frame([{"geometry": factories.shapely.box(x0, y0, x0 + 20, y0 + 15)}])
    return {
        "type": "Feature",
        "geometry": json.loads(geom.to_json())["features"][0]["geometry"],
        "properties": {"code": code, **props},
    }


def test_create_features(client: TestClient) -> None:
    body = {
        "type": "FeatureCollection",
        "features": [
            _feature("B7", 200, 300, households=30, name="7栋"),
            _feature("B8", 700, 700, households=12, occupancy="60%"),
        ],
    }
    r = client.post("/api/layers/buildings?community=T1", json=body)
    assert r.status_code == 201, r.text
    result = r.json()
    assert (result["added"], len(result["ids"])) == (2, 2)
    b7 = client.get(f"/api/layers/buildings/{min(result['ids'])}").json()["properties"]
    assert (b7["code"], b7["compound_name"], b7["households"]) == ("B7", "翠湖花园", 30)


def test_bad_feature_rejected_whole_and_unchanged(client: TestClient, engine_: Engine) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [
                [112.97, 22.93],
                [112.971, 22.931],
                [112.971, 22.93],
                [112.97, 22.931],
                [112.97, 22.93],
            ]
        ],
    }
    body = {
        "type": "FeatureCollection",
        "features": [
            _feature("B7", 200, 300, households=30),
            {"type": "Feature", "geometry": bowtie, "properties": {"code": "B8"}},
            _feature("B9", 250, 300, households=-4),
        ],
    }
    before = snapshot(engine_)
    r = client.post("/api/layers/buildings?community=T1", json=body)
    assert r.status_code == 422
    details = r.json()["detail"]
    locs = [d["loc"] for d in details]
    assert ["body", "features", 1, "geometry"] in locs
    assert ["body", "features", 2, "properties", "households"] in locs
    assert any("第 2 个要素" in d["msg"] and "自相交" in d["msg"] for d in details)
    assert snapshot(engine_) == before


def test_feature_outside_community_rejected(client: TestClient, engine_: Engine) -> None:
    before = snapshot(engine_)
    r = client.post("/api/layers/buildings?community=T1", json=_feature("B7", 1500, 200))
    assert r.status_code == 422
    assert "不在社区" in r.json()["detail"][0]["msg"]
    assert snapshot(engine_) == before


def test_patch_with_versions(client: TestClient) -> None:
    fid = next(
        f["id"]
        for f in client.get("/api/layers/buildings").json()["features"]
        if f["properties"]["code"] == "B2"
    )
    r = client.patch(
        f"/api/layers/buildings/{fid}",
        json={"properties": {"households": 44, "lead_name": "赵敏"}, "version": 1},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["properties"]["households"], r.json()["properties"]["version"]) == (44, 2)
    # A colleague still on version 1 is refused, not silently overwriting.
    stale = client.patch(
        f"/api/layers/buildings/{fid}", json={"properties": {"households": 41}, "version": 1}
    )
    assert stale.status_code == 409
    assert "当前版本 2" in stale.json()["detail"][0]["msg"]
    assert client.get(f"/api/layers/buildings/{fid}").json()["properties"]["households"] == 44
    bad = client.patch(f"/api/layers/buildings/{fid}", json={"properties": {"occupancy": 3}})
    assert bad.status_code == 422
    unknown = client.patch(f"/api/layers/buildings/{fid}", json={"properties": {"colour": 1}})
    assert unknown.status_code == 404 and "colour" in unknown.json()["detail"][0]["msg"]


def test_delete(client: TestClient) -> None:
    fid = client.get("/api/layers/service_points").json()["features"][0]["id"]
    assert client.delete(f"/api/layers/service_points/{fid}").status_code == 204
    assert client.get(f"/api/layers/service_points/{fid}").status_code == 404
    assert client.delete(f"/api/layers/service_points/{fid}").status_code == 404


def test_upload(client: TestClient, tmp_path: Path, engine_: Engine) -> None:
    path = tmp_path / "buildings.geojson"
    from layers.io.files import write_table

    write_table(factories.community_layers()["buildings"], path)
    with path.open("rb") as fh:
        r = client.post("/api/layers/buildings/import", files={"file": ("b.geojson", fh)})
    assert r.status_code == 200, r.text
    assert (r.json()["unchanged"], r.json()["added"]) == (3, 0)
    before = snapshot(engine_)
    broken = client.post(
        "/api/layers/buildings/import", files={"file": ("b.geojson", b'{"type": "Feat')}
    )
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "bad_file"
    assert snapshot(engine_) == before


def test_upload_too_large(api_db: str) -> None:
    from gis_api.app import create_app
    from gis_api.settings import Settings

    with TestClient(create_app(Settings(database_url=api_db, max_upload_mb=0.001))) as c:
        r = c.post("/api/layers/buildings/import", files={"file": ("b.csv", b"x" * 5000)})
    assert r.status_code == 413
    assert "文件过大" in r.json()["detail"][0]["msg"]


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/layers/{layer}",
        "/api/layers/{layer}/{fid}",
        "/api/layers/{layer}/import",
        "/tiles/{layer}/{z}/{x}/{y}.pbf",
        "/api/stats/communities/{code}",
        "/api/search",
        "/collections",
        "/collections/{collectionId}/items",
        "/conformance",
    ):
        assert path in paths, path
