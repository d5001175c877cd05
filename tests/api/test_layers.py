"""Layer endpoints against a real PostGIS: reads, filters, paging, writes and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from layers import crs as crsmod
from tests import factories
from tests.databases import admin_headers, snapshot


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


def _fid(client: TestClient, layer: str, code: str) -> int:
    features = client.get(f"/api/layers/{layer}").json()["features"]
    return int(next(f["id"] for f in features if f["properties"]["code"] == code))


def _row(engine: Engine, table: str, fid: int) -> dict[str, object]:
    """Every column of one row, the geometry as its exact EWKB."""
    sql = text(
        f"SELECT to_jsonb(t) - 'geom' AS j, encode(ST_AsEWKB(t.geom), 'hex') AS g "
        f"FROM {table} t WHERE id = :id"
    )
    with engine.connect() as conn:
        row = conn.execute(sql, {"id": fid}).one()
    return {**row.j, "geom": row.g}


def test_patch_with_versions(client: TestClient) -> None:
    fid = _fid(client, "buildings", "B2")
    r = client.patch(
        f"/api/layers/buildings/{fid}",
        json={"properties": {"households": 44, "lead_name": "赵敏"}, "version": 1},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["properties"]["households"], r.json()["properties"]["version"]) == (44, 2)
    assert r.headers["ETag"] == 'W/"2"'
    # A colleague still on version 1 changing the same field is refused, not overwriting,
    # and told, per field, the value then, now and theirs.
    stale = client.patch(
        f"/api/layers/buildings/{fid}", json={"properties": {"households": 41}, "version": 1}
    )
    assert stale.status_code == 409
    assert "当前版本 2" in stale.json()["detail"][0]["msg"]
    assert "户数" in stale.json()["detail"][0]["msg"]
    assert stale.json()["detail"][0]["ctx"] == {
        "current_version": 2,
        "fields": [{"field": "households", "base": 40, "current": 44, "proposed": 41}],
        "conflict_id": 1,  # kept until its author decides (docs/field.md, "冲突")
    }
    # One changing another field is merged onto version 2: both changes stay.
    merged = client.patch(
        f"/api/layers/buildings/{fid}", json={"properties": {"floors": 12}, "version": 1}
    )
    assert merged.status_code == 200, merged.text
    props = merged.json()["properties"]
    assert (props["households"], props["floors"], props["version"]) == (44, 12, 3)
    assert client.get(f"/api/layers/buildings/{fid}").json()["properties"]["households"] == 44
    bad = client.patch(
        f"/api/layers/buildings/{fid}", json={"properties": {"occupancy": 3}, "version": 2}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "properties", "occupancy"]
    unknown = client.patch(
        f"/api/layers/buildings/{fid}", json={"properties": {"colour": 1}, "version": 2}
    )
    assert unknown.status_code == 404 and "colour" in unknown.json()["detail"][0]["msg"]


def test_patch_without_version_refused(client: TestClient, engine_: Engine) -> None:
    fid = _fid(client, "buildings", "B1")
    before = snapshot(engine_)
    r = client.patch(f"/api/layers/buildings/{fid}", json={"properties": {"households": 1}})
    assert r.status_code == 428
    detail = r.json()["detail"][0]
    assert detail["type"] == "version_required" and "版本号" in detail["msg"]
    assert detail["loc"] == ["body", "version"]
    assert snapshot(engine_) == before


def test_stale_version_refused_and_nothing_written(client: TestClient, engine_: Engine) -> None:
    fid = _fid(client, "service_points", "SP1")
    ok = client.patch(
        f"/api/layers/service_points/{fid}", json={"properties": {"is_open": False}, "version": 1}
    )
    assert ok.status_code == 200, ok.text
    before = snapshot(engine_)
    # A colleague on version 1 changing the same field (another field would be merged).
    r = client.patch(
        f"/api/layers/service_points/{fid}", json={"properties": {"is_open": True}, "version": 1}
    )
    assert r.status_code == 409
    assert "当前版本 2" in r.json()["detail"][0]["msg"]
    assert _kept_conflict(snapshot(engine_), before) == 1


def test_etag_and_if_match(client: TestClient, engine_: Engine) -> None:
    fid = _fid(client, "compounds", "C1")
    got = client.get(f"/api/layers/compounds/{fid}")
    assert got.headers["ETag"] == 'W/"1"' and got.json()["properties"]["version"] == 1
    url = f"/api/layers/compounds/{fid}"
    r = client.patch(
        url, json={"properties": {"property_company": "新物业"}}, headers={"If-Match": 'W/"1"'}
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == 'W/"2"' and r.json()["properties"]["version"] == 2
    assert client.get(url).headers["ETag"] == 'W/"2"'
    # The ETag as sent back by a client, a strong tag, a bare number and "<id>-<version>".
    for tag in ('W/"2"', '"3"', "4", f'"{fid}-5"'):
        r = client.patch(url, json={"properties": {"households": 90}}, headers={"If-Match": tag})
        assert r.status_code == 200, (tag, r.text)
    before = snapshot(engine_)
    stale = client.patch(url, json={"properties": {"households": 1}}, headers={"If-Match": '"2"'})
    assert stale.status_code == 409 and stale.json()["detail"][0]["loc"] == ["header", "If-Match"]
    odd = client.patch(url, json={"properties": {"households": 1}}, headers={"If-Match": "abc"})
    assert odd.status_code == 422 and "If-Match" in odd.json()["detail"][0]["msg"]
    both = client.patch(
        url, json={"properties": {"households": 1}, "version": 5}, headers={"If-Match": '"6"'}
    )
    assert both.status_code == 422 and "不一致" in both.json()["detail"][0]["msg"]
    assert _kept_conflict(snapshot(engine_), before) == 1


def _kept_conflict(after: dict[str, tuple[int, str]], before: dict[str, tuple[int, str]]) -> int:
    """Check that a refused edit changed nothing but the conflict kept for its author.

    Return how many conflicts are kept (docs/field.md, "冲突").
    """
    assert {t: v for t, v in after.items() if t != "edit_conflicts"} == {
        t: v for t, v in before.items() if t != "edit_conflicts"
    }
    return after["edit_conflicts"][0] - before["edit_conflicts"][0]


def test_patch_writes_only_the_sent_field(client: TestClient, engine_: Engine) -> None:
    fid = _fid(client, "buildings", "B1")
    # The edit changes its row and adds its history entry; nothing else.
    others = {t: v for t, v in snapshot(engine_).items() if t not in ("buildings", "history")}
    entries = snapshot(engine_)["history"][0]
    before = _row(engine_, "buildings", fid)
    rest = {r: _row(engine_, "buildings", _fid(client, "buildings", r)) for r in ("B2", "B3")}
    r = client.patch(
        f"/api/layers/buildings/{fid}",
        json={"properties": {"lead_phone": "13800000000"}, "version": 1},
    )
    assert r.status_code == 200, r.text
    after = _row(engine_, "buildings", fid)
    assert after.pop("lead_phone") == "13800000000"
    assert (before.pop("version"), after.pop("version")) == (1, 2)
    assert before.pop("updated_at") != after.pop("updated_at")
    before.pop("lead_phone")
    assert after == before  # every other column, the geometry byte for byte
    assert {r: _row(engine_, "buildings", _fid(client, "buildings", r)) for r in rest} == rest
    after_all = snapshot(engine_)
    assert {t: v for t, v in after_all.items() if t not in ("buildings", "history")} == others
    assert after_all["history"][0] == entries + 1


def test_patch_geometry_validated_and_assigned(client: TestClient, engine_: Engine) -> None:
    fid = _fid(client, "buildings", "B3")
    url = f"/api/layers/buildings/{fid}"
    before = snapshot(engine_)
    outside = _feature("B3", 1500, 200)["geometry"]
    r = client.patch(url, json={"geometry": outside, "version": 1})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "geometry"]
    assert "不在社区" in r.json()["detail"][0]["msg"]
    broken = client.patch(url, json={"geometry": {"type": "Polygon"}, "version": 1})
    assert broken.status_code == 422 and broken.json()["detail"][0]["loc"] == ["body", "geometry"]
    assert snapshot(engine_) == before
    # Moved into compound C1: the derived compound and grid follow, as on import.
    inside = _feature("B3", 200, 300)["geometry"]
    r = client.patch(url, json={"geometry": inside, "version": 1})
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert (props["compound_name"], props["grid_name"], props["version"]) == (
        "翠湖花园",
        "第一网格",
        2,
    )


@pytest.mark.parametrize(
    ("props", "field", "fragment"),
    [
        ({"households": -3}, "households", "不能小于"),
        ({"floors": "高"}, "floors", "应为数字"),
        ({"occupancy": "150%"}, "occupancy", "不能大于"),
        ({"party_members": 500}, "party_members", "党员数不能多于常住人口"),
        ({"residents": 1}, "residents", "不能多于常住人口"),
        ({"mobile_party_members": 9}, "mobile_party_members", "流动党员数"),
        ({"lead_phone": "1" * 40}, "lead_phone", "数据库拒绝"),
    ],
)
def test_invalid_patch_refused_in_chinese(
    client: TestClient, engine_: Engine, props: dict[str, object], field: str, fragment: str
) -> None:
    fid = _fid(client, "buildings", "B1")
    before = snapshot(engine_)
    r = client.patch(f"/api/layers/buildings/{fid}", json={"properties": props, "version": 1})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["body", "properties", field]
    assert fragment in detail["msg"], detail["msg"]
    assert snapshot(engine_) == before


def test_patch_other_layers(client: TestClient) -> None:
    for layer, code, props in (
        ("communities", "T1", {"staff": 6}),
        ("grids", "G2", {"officer_phone": "13900000000"}),
        ("gates", "C1-M2", {"is_open": True}),
        ("candidate_venues", "CV1", {"housing_filed": "是"}),
        ("barriers", "W1", {"kind": "围栏"}),
    ):
        fid = _fid(client, layer, code)
        url = f"/api/layers/{layer}/{fid}"
        assert client.patch(url, json={"properties": props}).status_code == 428
        r = client.patch(url, json={"properties": props, "version": 1})
        assert r.status_code == 200, (layer, r.text)
        assert r.json()["properties"]["version"] == 2 and r.headers["ETag"] == 'W/"2"'
        # The same fields again from version 1: they changed since, a conflict.
        assert client.patch(url, json={"properties": props, "version": 1}).status_code == 409


def test_delete(client: TestClient) -> None:
    fid = client.get("/api/layers/service_points").json()["features"][0]["id"]
    assert client.delete(f"/api/layers/service_points/{fid}").status_code == 204
    assert client.get(f"/api/layers/service_points/{fid}").status_code == 404
    assert client.delete(f"/api/layers/service_points/{fid}").status_code == 404


def test_delete_with_if_match(client: TestClient, engine_: Engine) -> None:
    fid = _fid(client, "candidate_venues", "CV1")
    url = f"/api/layers/candidate_venues/{fid}"
    assert client.patch(url, json={"properties": {"name": "新"}, "version": 1}).status_code == 200
    before = snapshot(engine_)
    stale = client.delete(url, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 409 and "当前版本 2" in stale.json()["detail"][0]["msg"]
    assert snapshot(engine_) == before
    assert client.delete(url, headers={"If-Match": 'W/"2"'}).status_code == 204


#: Tables of users and of the history: a deleted community leaves them (and its history).
#: Tables that are not a community's data: accounts, history, and the events' reference tables.
ACCOUNTS = {
    "users",
    "user_communities",
    "user_grids",
    "auth_tokens",
    "history",
    "applied_edits",
    "departments",
    "department_users",
    "event_categories",
    "event_transitions",
}


def test_delete_community_with_dependents(client: TestClient, engine_: Engine) -> None:
    fid = _fid(client, "communities", "T1")
    before = snapshot(engine_)
    r = client.delete(f"/api/layers/communities/{fid}")
    assert r.status_code == 409
    detail = r.json()["detail"][0]
    assert detail["type"] == "has_dependents"
    for part in (
        "3 栋楼栋",
        "1 个小区/院落",
        "2 个网格",
        "2 个出入口",
        "1 段围墙/围栏",
        "cascade=true",
    ):
        assert part in detail["msg"], (part, detail["msg"])
    assert detail["ctx"]["dependents"]["buildings"] == 3
    assert snapshot(engine_) == before
    assert client.delete(f"/api/layers/communities/{fid}?cascade=true").status_code == 204
    assert client.get(f"/api/layers/communities/{fid}").status_code == 404
    after = snapshot(engine_)
    layers_after = {t: v for t, v in after.items() if t not in ACCOUNTS}
    assert all(count == 0 for count, _ in layers_after.values()), after


def test_delete_compound_refused_then_detached(client: TestClient, engine_: Engine) -> None:
    fid = _fid(client, "compounds", "C1")
    before = snapshot(engine_)
    r = client.delete(f"/api/layers/compounds/{fid}")
    assert r.status_code == 409
    msg = r.json()["detail"][0]["msg"]
    assert "2 栋楼栋" in msg and "2 个出入口" in msg and "不再属于" in msg
    assert snapshot(engine_) == before
    assert client.delete(f"/api/layers/compounds/{fid}?cascade=true").status_code == 204
    b1 = client.get(f"/api/layers/buildings/{_fid(client, 'buildings', 'B1')}").json()
    assert b1["properties"]["compound_name"] is None
    assert snapshot(engine_)["gates"][0] == 2  # kept, without a compound


def test_delete_leaf_gate_rebuilds_network(net_client: TestClient) -> None:
    fid = _fid(net_client, "gates", "C1-M1")
    assert net_client.delete(f"/api/layers/gates/{fid}").status_code == 204
    assert net_client.get(f"/api/layers/gates/{fid}").status_code == 404


def test_unknown_layer_everywhere(client: TestClient) -> None:
    for method, url in (
        ("GET", "/api/layers/pubs"),
        ("GET", "/api/layers/pubs/1"),
        ("PATCH", "/api/layers/pubs/1"),
        ("DELETE", "/api/layers/pubs/1"),
        ("POST", "/api/layers/pubs"),
    ):
        body = {"properties": {}, "version": 1} if method == "PATCH" else None
        if method == "POST":
            body = {"type": "Feature", "geometry": None, "properties": {}}
        r = client.request(method, url, json=body)
        assert r.status_code == 404, (method, url, r.text)
        assert "未知图层" in r.json()["detail"][0]["msg"]


def test_layer_parameter_is_an_enum_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, methods in paths.items():
        if not path.startswith("/api/layers/{layer}"):
            continue
        for op in methods.values():
            param = next(p for p in op["parameters"] if p["name"] == "layer")
            assert param["schema"]["enum"][:2] == ["streets", "communities"], path
            assert "buildings" in param["schema"]["enum"]


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


def test_upload_too_large(t1_db: str) -> None:
    from gis_api.app import create_app
    from gis_api.settings import Settings

    with TestClient(
        create_app(Settings(database_url=t1_db, max_upload_mb=0.001)), headers=admin_headers()
    ) as c:
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
