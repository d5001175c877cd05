"""Every failure a client can meet answers in one body shape, in Chinese, and changes nothing."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gis_api.app import create_app
from gis_api.settings import Settings
from layers.errors import ImportRowError
from tests.databases import admin_headers, snapshot
from tests.factories import CJK


def _detail(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"detail"}, body
    item: dict[str, Any] = body["detail"][0]
    assert set(item) >= {"loc", "msg", "type"}
    assert CJK.search(item["msg"]), item["msg"]
    return item


def test_validation_errors_are_chinese_and_say_where(client: TestClient) -> None:
    r = client.get("/api/layers/buildings", params={"limit": "many"})
    assert r.status_code == 422
    item = _detail(r)
    assert item["loc"] == ["query", "limit"] and item["type"] == "int_parsing"
    assert "应为整数" in item["msg"] and "many" in item["msg"]
    r = client.get("/api/layers/buildings", params={"limit": 0})
    assert "应不小于 1" in _detail(r)["msg"]
    r = client.get("/api/analysis/service-circle")
    item = _detail(r)
    assert item["loc"] == ["query", "community"] and "缺少必填项" in item["msg"]
    r = client.post(
        "/api/layers/buildings",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert "JSON" in _detail(r)["msg"]


def test_unknown_path_and_method_in_the_same_shape(client: TestClient) -> None:
    r = client.get("/api/no-such-thing")
    assert r.status_code == 404
    assert "/api/no-such-thing" in _detail(r)["msg"]
    r = client.put("/api/layers/buildings/1")
    assert r.status_code == 405
    assert "PUT" in _detail(r)["msg"]


def test_a_bug_is_a_500_with_an_id_and_the_traceback_only_in_the_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    broken = APIRouter()

    @broken.get("/api/broken")
    def _boom() -> None:
        msg = "simulated bug at /secret/path.py"
        raise RuntimeError(msg)

    app.include_router(broken)
    with (
        TestClient(app, raise_server_exceptions=False, headers=admin_headers()) as c,
        caplog.at_level(logging.ERROR, logger="gridmap"),
    ):
        r = c.get("/api/broken")
    assert r.status_code == 500
    item = _detail(r)
    assert item["type"] == "internal_error"
    assert "secret" not in r.text and "Traceback" not in r.text
    eid = r.headers["x-error-id"]
    assert eid in item["msg"]
    logged = [rec for rec in caplog.records if eid in rec.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_numpy_row_numbers_in_an_error_serialise(settings: Settings) -> None:
    app = create_app(settings)
    broken = APIRouter()

    @broken.get("/api/rows")
    def _rows() -> None:
        raise ImportRowError([(("file", "row", np.int64(3), "geometry"), "第 3 行：自相交", "x")])

    app.include_router(broken)
    with TestClient(app, headers=admin_headers()) as c:
        r = c.get("/api/rows")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["file", "row", 3, "geometry"]


def test_an_over_large_json_body_is_refused_before_it_is_read(
    engine_: Engine, client: TestClient
) -> None:
    before = snapshot(engine_)
    big = b'{"type": "FeatureCollection", "features": [' + b" " * (21 << 20) + b"]}"
    r = client.post(
        "/api/layers/buildings", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    item = _detail(r)
    assert item["type"] == "request_too_large" and "20 MB" in item["msg"]

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        yield b'{"type": "FeatureCollection", "features": ['
        for _ in range(25):
            yield b" " * (1 << 20)
        yield b"]}"

    r = client.post(
        "/api/layers/buildings", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413, r.text
    assert _detail(r)["type"] == "request_too_large"
    assert snapshot(engine_) == before


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"speed": 5e-324, "minutes": 10}, "10～200 米/分钟"),
        ({"metres": 1e9}, "1～20000 米"),
        ({"minutes": 100000}, "1～240 分钟"),
    ],
)
def test_walks_no_one_walks_are_refused(
    client: TestClient, params: dict[str, float], says: str
) -> None:
    r = client.get("/api/analysis/service-circle", params={"community": "T1", **params})
    assert r.status_code == 422, r.text
    assert says in _detail(r)["msg"]


def test_an_analysis_refusal_keeps_its_own_type_and_place(client: TestClient) -> None:
    """The glue translates analysis errors once, keeping their code (not "analysis_error")."""
    r = client.get(
        "/api/analysis/service-circle", params={"community": "T1", "metres": 500, "minutes": 10}
    )
    assert r.status_code == 422, r.text
    item = _detail(r)
    assert item["type"] == "invalid_option"
    assert item["loc"] == ["metres"]
    assert "只能给出一个" in item["msg"]
