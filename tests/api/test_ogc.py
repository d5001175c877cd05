"""OGC API - Features, read by a real OGC client library (owslib), as QGIS would."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from owslib.ogcapi.features import Features

from tests.databases import admin_headers
from tests.factories import CJK


def test_owslib_reads_collections(live_url: str) -> None:
    api = Features(live_url, headers=admin_headers())
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
    items = Features(live_url, headers=admin_headers()).collection_items(
        "buildings", bbox=list(box)
    )
    assert [f["properties"]["code"] for f in items["features"]] == ["B3"]


# --- Client errors: every bad OGC request is a 4xx in the one body shape, in zh-CN -----------

ITEMS = "/collections/buildings/items"

#: (request, status, loc, type, a fragment the message must quote)
BAD_REQUESTS: list[tuple[str, int, list[str], str, str]] = [
    # items that do not exist, ids that cannot exist
    (f"{ITEMS}/99999", 404, ["path", "itemId"], "not_found", "99999"),
    (f"{ITEMS}/abc", 404, ["path", "itemId"], "not_found", "abc"),
    (f"{ITEMS}/99999999999999999999", 404, ["path", "itemId"], "not_found", "9999"),
    (f"{ITEMS}/{'9' * 5000}", 404, ["path", "itemId"], "not_found", "9999"),
    ("/collections/unknown/items", 404, ["path", "collectionId"], "not_found", "unknown"),
    ("/collections/unknown", 404, ["path", "collectionId"], "not_found", "unknown"),
    ("/collections/buildings/tiles", 404, ["path"], "not_found", "/collections/buildings/tiles"),
    ("/conformance/x", 404, ["path"], "not_found", "/conformance/x"),
    # bbox, on the collection list and on items
    ("/collections?bbox=null", 400, ["query", "bbox"], "invalid_bbox", "null"),
    ("/collections?bbox=1,2,3", 400, ["query", "bbox"], "invalid_bbox", "3 个"),
    (f"{ITEMS}?bbox=null", 400, ["query", "bbox"], "invalid_bbox", "null"),
    (f"{ITEMS}?bbox=1,2,3", 400, ["query", "bbox"], "invalid_bbox", "1,2,3"),
    (f"{ITEMS}?bbox=1,2,3,4,5", 400, ["query", "bbox"], "invalid_bbox", "5 个"),
    (f"{ITEMS}?bbox=112.98,22.93,112.97,22.94", 400, ["query", "bbox"], "invalid_bbox", "经度"),
    (f"{ITEMS}?bbox=112.97,22.94,112.98,22.93", 400, ["query", "bbox"], "invalid_bbox", "纬度"),
    (f"{ITEMS}?bbox=200,0,210,1", 400, ["query", "bbox"], "invalid_bbox", "200"),
    (f"{ITEMS}?bbox=22.93,112.97,22.94,112.98", 400, ["query", "bbox"], "invalid_bbox", "写反"),
    (f"{ITEMS}?bbox=nan,nan,nan,nan", 400, ["query", "bbox"], "invalid_bbox", "nan"),
    (f"{ITEMS}?bbox=1,2,inf,4", 400, ["query", "bbox"], "invalid_bbox", "inf"),
    (
        f"{ITEMS}?bbox=1,2,3,4&bbox-crs=EPSG:9999",
        400,
        ["query", "bbox-crs"],
        "unsupported_crs",
        "EPSG:9999",
    ),
    (f"{ITEMS}?crs=EPSG:3857", 400, ["query", "crs"], "unsupported_crs", "EPSG:3857"),
    # datetime
    ("/collections?datetime=x", 400, ["query", "datetime"], "invalid_datetime", "x"),
    ("/collections?datetime=a/b/c", 400, ["query", "datetime"], "invalid_datetime", "a/b/c"),
    (f"{ITEMS}?datetime=2020-01-01", 400, ["query", "datetime"], "invalid_datetime", "2020-01-01"),
    (
        f"{ITEMS}?datetime=2020-13-01T00:00:00Z",
        400,
        ["query", "datetime"],
        "invalid_datetime",
        "2020-13-01",
    ),
    (f"{ITEMS}?datetime=../..", 400, ["query", "datetime"], "invalid_datetime", "../.."),
    (
        f"{ITEMS}?datetime=2030-01-01T00:00:00Z/2020-01-01T00:00:00Z",
        400,
        ["query", "datetime"],
        "invalid_datetime",
        "2030-01-01T00:00:00Z",
    ),
    (
        f"{ITEMS}?datetime-column=nope",
        400,
        ["query", "datetime-column"],
        "unknown_property",
        "nope",
    ),
    # filter and filter-lang
    (f"{ITEMS}?filter=code%3D", 400, ["query", "filter"], "invalid_filter", "第 1 行第 6 个字符"),
    (
        f"{ITEMS}?filter=code %3D 'B1' AND",
        400,
        ["query", "filter"],
        "invalid_filter",
        "第 16 个字符",
    ),
    (f"{ITEMS}?filter=nope%3D1", 400, ["query", "filter"], "unknown_property", "nope"),
    (f"{ITEMS}?filter=code%3D1", 400, ["query", "filter"], "invalid_filter", "比较文本和整数"),
    (f"{ITEMS}?filter=floors>'x'", 400, ["query", "filter"], "invalid_filter", "“x”不是有效的整数"),
    (f"{ITEMS}?filter=floors>1e400", 400, ["query", "filter"], "invalid_filter", "1e400"),
    (f"{ITEMS}?filter=foo(code)%3D1", 400, ["query", "filter"], "invalid_filter", "foo"),
    (f"{ITEMS}?filter=code LIKE 1", 400, ["query", "filter"], "invalid_filter", "like"),
    (
        f"{ITEMS}?filter=created_at>TIMESTAMP('xx')",
        400,
        ["query", "filter"],
        "invalid_filter",
        "xx",
    ),
    (
        f"{ITEMS}?filter=S_INTERSECTS(code,POINT(1 1))",
        400,
        ["query", "filter"],
        "invalid_filter",
        "code",
    ),
    (
        f"{ITEMS}?filter={{}}&filter-lang=cql2-json",
        400,
        ["query", "filter"],
        "invalid_filter",
        "JSON",
    ),
    (
        f"{ITEMS}?filter={{bad&filter-lang=cql2-json",
        400,
        ["query", "filter"],
        "invalid_filter",
        "第 1 行第 2 列",
    ),
    (
        f"{ITEMS}?filter=a%3D1&filter-lang=xx",
        400,
        ["query", "filter-lang"],
        "literal_error",
        "cql2-text",
    ),
    (f"{ITEMS}?floors=abc", 400, ["query", "floors"], "invalid_filter", "abc"),
    # sortby, ids, properties, geom-column
    (f"{ITEMS}?sortby=nope", 400, ["query", "sortby"], "unknown_property", "nope"),
    (f"{ITEMS}?sortby=-nope", 400, ["query", "sortby"], "unknown_property", "nope"),
    (f"{ITEMS}?sortby=code,", 400, ["query", "sortby"], "invalid_sortby", "code,"),
    (f"{ITEMS}?ids=abc", 400, ["query", "ids"], "invalid_ids", "abc"),
    (f"{ITEMS}?ids=1,,2", 400, ["query", "ids"], "invalid_ids", "1,,2"),
    (
        f"{ITEMS}?ids=99999999999999999999",
        400,
        ["query", "ids"],
        "invalid_ids",
        "99999999999999999999",
    ),
    (f"{ITEMS}?properties=nope,code", 400, ["query", "properties"], "unknown_property", "nope"),
    (f"{ITEMS}/1?properties=nope", 400, ["query", "properties"], "unknown_property", "nope"),
    (f"{ITEMS}?geom-column=nope", 400, ["query", "geom-column"], "unknown_property", "nope"),
    # limit, offset, simplify, formats and other validated parameters
    (f"{ITEMS}?limit=-1", 400, ["query", "limit"], "greater_than_equal", "-1"),
    (f"{ITEMS}?limit=99999999", 400, ["query", "limit"], "less_than_equal", "99999999"),
    (f"{ITEMS}?limit=abc", 400, ["query", "limit"], "int_parsing", "abc"),
    ("/collections?limit=-1", 400, ["query", "limit"], "greater_than_equal", "-1"),
    ("/collections?limit=5000", 400, ["query", "limit"], "less_than_equal", "1000"),
    (f"{ITEMS}?offset=-1", 400, ["query", "offset"], "greater_than_equal", "-1"),
    (
        f"{ITEMS}?offset=99999999999999999999",
        400,
        ["query", "offset"],
        "less_than_equal",
        "99999999999999999999",
    ),
    (f"{ITEMS}?offset={'9' * 5000}", 400, ["query", "offset"], "int_parsing_size", "整数"),
    (f"{ITEMS}?ids={'9' * 5000}", 400, ["query", "ids"], "invalid_ids", "9999"),
    (f"{ITEMS}?simplify=-1", 400, ["query", "simplify"], "invalid_simplify", "-1"),
    (f"{ITEMS}?simplify=nan", 400, ["query", "simplify"], "invalid_simplify", "nan"),
    (f"{ITEMS}?bbox-only=maybe", 400, ["query", "bbox-only"], "bool_parsing", "maybe"),
    (f"{ITEMS}?f=xx", 400, ["query", "f"], "literal_error", "geojson"),
    ("/collections/buildings?f=xx", 400, ["query", "f"], "literal_error", "xx"),
    ("/collections/buildings/queryables?f=xx", 400, ["query", "f"], "literal_error", "schemajson"),
    ("/conformance?f=xx", 400, ["query", "f"], "literal_error", "json"),
    ("/?f=xx", 400, ["query", "f"], "literal_error", "html"),
    ("/collections?type=xx", 400, ["query", "type"], "literal_error", "Table"),
]


def assert_client_error(response: Any, status: int, loc: list[str], type_: str) -> str:
    """Assert the one 4xx body shape with a zh-CN message; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["detail"], body
    (item,) = body["detail"]
    assert set(item) == {"loc", "msg", "type"}, item
    assert item["loc"] == loc, item
    assert item["type"] == type_, item
    assert CJK.search(item["msg"]), item
    return str(item["msg"])


def test_bad_ogc_requests_are_4xx_in_zh(client: TestClient) -> None:
    failures = []
    for url, status, loc, type_, quoted in BAD_REQUESTS:
        response = client.get(url)
        try:
            msg = assert_client_error(response, status, loc, type_)
            assert quoted in msg, msg
        except AssertionError as exc:
            failures.append(f"{url}: {exc}")
    assert not failures, "\n".join(failures)


def test_bad_accept_header_and_method(client: TestClient) -> None:
    response = client.get(ITEMS, headers={"accept": "application/json;level"})
    assert "application/json;level" in assert_client_error(
        response, 400, ["header", "accept"], "invalid_accept"
    )
    response = client.post("/collections")
    assert "GET" in assert_client_error(response, 405, ["method"], "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_errors_outside_the_ogc_api_keep_their_handlers(client: TestClient) -> None:
    # The app's own validation answer (422, not the OGC API's 400) for the other routes.
    response = client.get("/api/layers/buildings/abc")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "fid"]
    assert "OGC" not in client.get("/no/such/page").json()["detail"][0]["msg"]


def test_valid_ogc_queries_still_answer(client: TestClient) -> None:
    def codes(url: str) -> list[str]:
        response = client.get(url)
        assert response.status_code == 200, response.text
        return [f["properties"]["code"] for f in response.json()["features"]]

    assert codes(f"{ITEMS}?filter=floors > 10&sortby=-floors") == ["B1", "B2"]
    assert codes(f"{ITEMS}?filter=code IN ('B1','B3')&sortby=code") == ["B1", "B3"]
    assert codes(f"{ITEMS}?filter=\"code\" %3D 'B2'") == ["B2"]
    cql2_json = '{"op": ">", "args": [{"property": "households"}, 30]}'
    assert codes(f"{ITEMS}?filter={cql2_json}&filter-lang=cql2-json&sortby=code") == ["B1", "B2"]
    assert codes(f"{ITEMS}?sortby=%2Bfloors") == ["B3", "B2", "B1"]
    assert codes(f"{ITEMS}?sortby=households, -code") == ["B3", "B2", "B1"]
    ids = client.get(f"{ITEMS}?limit=10").json()["features"]
    by_code = {f["properties"]["code"]: f["id"] for f in ids}
    assert codes(f"{ITEMS}?ids={by_code['B1']},{by_code['B3']}&sortby=code") == ["B1", "B3"]
    assert codes(f"{ITEMS}?floors=6") == ["B3"]
    assert codes(f"{ITEMS}?datetime=2000-01-01T00:00:00Z/..&sortby=code") == ["B1", "B2", "B3"]
    assert codes(f"{ITEMS}?datetime=../2000-01-01T00:00:00%2B08:00") == []
    assert codes(f"{ITEMS}?datetime=2000-01-01T00:00:00Z/2999-01-01T00:00:00Z&sortby=code") == [
        "B1",
        "B2",
        "B3",
    ]
    assert codes(f"{ITEMS}?datetime-column=updated_at&datetime=2999-01-01T00:00:00Z/..") == []
    assert codes(f"{ITEMS}?bbox=112.9,22.9,113.0,23.0&bbox-crs=OGC:CRS84&sortby=code") == [
        "B1",
        "B2",
        "B3",
    ]
    assert codes(f"{ITEMS}?bbox=100,20,101,21") == []
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert codes(f"{ITEMS}?crs={crs84}&sortby=code&limit=2&offset=1") == ["B2", "B3"]
    response = client.get(f"{ITEMS}?properties=code,floors&sortby=code&simplify=0.00001")
    assert [f["properties"] for f in response.json()["features"]] == [
        {"code": "B1", "floors": 18},
        {"code": "B2", "floors": 11},
        {"code": "B3", "floors": 6},
    ]
    item = client.get(f"{ITEMS}/{by_code['B2']}?properties=code&geom-column=geom")
    assert item.status_code == 200, item.text
    assert item.json()["properties"] == {"code": "B2"}
    assert client.get("/collections?bbox=112.9,22.9,113.0,23.0").json()["numberMatched"] >= 5
    assert client.get("/collections/buildings/queryables").status_code == 200
    assert client.get("/conformance?f=json").status_code == 200
    assert client.get(f"{ITEMS}?f=csv&filter=code%3D'B1'").text.count("B1") == 1
