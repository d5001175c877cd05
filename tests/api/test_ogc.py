"""OGC API - Features, read by a real OGC client library (owslib), as QGIS would."""

from __future__ import annotations

from owslib.ogcapi.features import Features


def test_owslib_reads_collections(live_url: str) -> None:
    api = Features(live_url)
    conformance = api.conformance()["conformsTo"]
    assert any("ogcapi-features-1/1.0/conf/core" in c for c in conformance)
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"buildings", "compounds", "grids", "service_points", "network"} <= ids
    assert api.collection("buildings")["title"] == "楼栋"
    listed = {c["id"]: c for c in api.collections()["collections"]}
    assert listed["buildings"]["description"] == "楼栋（buildings）"
    items = api.collection_items("buildings", limit=10)
    codes = sorted(f["properties"]["code"] for f in items["features"])
    assert codes == ["B1", "B2", "B3"]
    assert items["numberMatched"] == 3


def test_owslib_bbox_filter(live_url: str) -> None:
    from tests import factories

    box = factories.frame([{"geometry": factories.shapely.box(590, 590, 650, 630)}]).total_bounds
    items = Features(live_url).collection_items("buildings", bbox=list(box))
    assert [f["properties"]["code"] for f in items["features"]] == ["B3"]
