"""Property-based fuzz of the whole API: schemathesis drives every operation of ``/openapi.json``.

The schema is the app's own ``/openapi.json``; the requests go over real HTTP to the app on a
fresh copy of the test community T1 with its walking network, so analyses, tiles and OGC API
Features reach real rows. Reads (GET), writes (POST, PATCH) and deletes each get a database
of their own, dropped at the end of the module: nothing a write does leaks into other tests.

Every response is checked for: no 5xx, the declared content type and body schema, and the
project's one 4xx body shape ``{"detail": [{"loc": [...], "msg": <zh-CN>, "type": str}]}``.
Undeclared statuses (404, 413...) are not a failure here: most routes do not list them.

Generated values are steered towards data that exists (layer names, ``T1``, ids 1..3, tiles
over T1) about half of the time; the rest is left to schemathesis (positive and negative
cases). Runs are reproducible: a fixed seed, no example database. A 5xx names the file and
exception behind it (from the server's log, by ``X-Error-Id``); failures whose fix belongs to
another file are listed in ``KNOWN_FAILURES``.
"""

from __future__ import annotations

import logging
import math
import re
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis import checks as st_checks
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import Engine

from gis_api.app import create_app
from gis_api.settings import Settings
from layers import db
from layers.schema import LAYERS
from tests import factories, shapes
from tests.databases import admin_headers, fresh_database
from tests.factories import CJK
from tests.running import serve

SEED = 20_240_601
#: Examples per operation in the fuzzing phase (the coverage and examples phases add theirs).
MAX_EXAMPLES = 80

# --- what exists in the test database --------------------------------------------------------

#: The T1 community of tests/factories.py: its south-west corner and a point inside it.
T1_LONLAT = (112.975, 22.934)
T1_BBOX = "112.969,22.929,112.981,22.940"

LAYER_NAMES = [*LAYERS, "network"]
IDS = [1, 2, 3]


def _tile(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


TILES = [_tile(*T1_LONLAT, z) for z in (10, 14, 16)]

#: Known values per parameter name, in any location (path, query).
KNOWN: dict[str, list[Any]] = {
    "layer": LAYER_NAMES,
    "collectionId": LAYER_NAMES,
    "fid": IDS,
    "itemId": [str(i) for i in IDS],
    "community": ["T1"],
    "grid": ["G1", "G2"],
    "compound": ["C1"],
    "crs": ["wgs84", "gcj02", "bd09", "cgcs2000", "EPSG:4490"],
    "bbox": [T1_BBOX],
    "lon": [T1_LONLAT[0]],
    "lat": [T1_LONLAT[1]],
    "q": ["测试", "B1", "C1"],
    "k": [1, 2],
    "minutes": [5, 10, 15],
    "metres": [300, 1000, 5, 0.5],  # 5 m and less: within no node's reach
}
#: Edge values that found bugs before, mixed into generated requests (never the clean branch).
EDGE: dict[str, list[Any]] = {
    "community": ["T1\x00", "不存在"],
    "grid": ["G1\x00"],
    "compound": ["C1\x00"],
    "q": ["测\x00"],
    "max_per_compound": [2**63],
}
#: ``code`` means a different thing per path.
CODES = {
    "/api/stats/communities/{code}": ["T1"],
    "/api/stats/grids/{code}": ["G1", "G2"],
    "/api/lead-zones/{code}/lock": ["T1-LZ0001", "T1-LZ0002", "T1-LZ0003"],
}


def _known_for(path: str, name: str) -> list[Any] | None:
    if name == "code":
        return CODES.get(path)
    return KNOWN.get(name)


def _steer(path: str, *, keep_all: bool) -> Callable[[Any], st.SearchStrategy[Any]]:
    """Return a flatmap that swaps generated values for known ones.

    One branch lets each parameter we know of keep its generated value or take a known or an
    edge one; the other gives every known parameter a known value and, for the query
    (``keep_all=False``), drops the parameters we know nothing of, so a good share of
    requests is wholly valid and reaches real rows.
    """

    def steer(params: Any) -> st.SearchStrategy[Any]:
        if not isinstance(params, dict):
            return st.just(params)
        mixed: dict[str, st.SearchStrategy[Any]] = {}
        clean: dict[str, st.SearchStrategy[Any]] = {}
        for name, value in params.items():
            known = _known_for(path, name) or []
            others = known + EDGE.get(name, [])
            mixed[name] = (
                st.one_of(st.just(value), st.sampled_from(others)) if others else st.just(value)
            )
            if known:
                clean[name] = st.sampled_from(known)
            elif keep_all:
                clean[name] = st.just(value)
        whole = st.fixed_dictionaries(clean)
        if {"z", "x", "y"} <= set(params):  # a tile over T1: the three together
            tiles = st.sampled_from(TILES).map(lambda t: dict(zip("zxy", t, strict=True)))
            whole = st.tuples(whole, tiles).map(lambda pair: {**pair[0], **pair[1]})
        return st.one_of(st.fixed_dictionaries(mixed), whole, whole)  # 2/3 clean

    return steer


#: Valid bodies, per operation path: a share of requests sends one of them instead.
GOOD_BODIES: dict[str, list[Any]] = {
    "/api/analysis/service-circle/scenario": [
        {
            "community": "T1",
            "close_gates": ["C1-M1"],
            "open_gates": ["C1-M2"],
            "remove_points": ["SP1"],
        },
        {
            "community": "T1",
            "minutes": 10,
            "add_points": [{"lon": T1_LONLAT[0], "lat": T1_LONLAT[1], "name": "新点"}],
        },
    ],
    "/api/lead-zones/{code}/lock": [{"locked": True}, {"locked": False}],
    "/api/layers/{layer}/{fid}": [
        {"properties": {"name": "改过的名字"}, "version": 1},
        {"properties": {"households": 10}, "version": 1},
    ],
    "/api/layers/{layer}": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(T1_LONLAT)},
            "properties": {"code": "FZ1", "name": "模糊测试点", "kind": "red_house"},
        },
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [112.9745, 22.9335],
                                [112.9748, 22.9335],
                                [112.9748, 22.9338],
                                [112.9745, 22.9338],
                                [112.9745, 22.9335],
                            ]
                        ],
                    },
                    "properties": {"code": "FZ2", "name": "模糊测试楼", "households": 12},
                }
            ],
        },
    ],
}


def _install_hooks(schema: OpenApiSchema) -> None:
    @schema.hook
    def before_generate_path_parameters(
        context: schemathesis.HookContext, strategy: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        assert context.operation is not None
        return strategy.flatmap(_steer(context.operation.path, keep_all=True))

    @schema.hook
    def before_generate_query(
        context: schemathesis.HookContext, strategy: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        assert context.operation is not None
        return strategy.flatmap(_steer(context.operation.path, keep_all=False))

    @schema.hook
    def before_generate_body(
        context: schemathesis.HookContext, strategy: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        assert context.operation is not None
        good = GOOD_BODIES.get(context.operation.path)
        if good is None:
            return strategy
        return st.one_of(strategy, st.sampled_from(good))

    @schema.hook
    def filter_failure(
        context: schemathesis.HookContext, failure: Failure, case: Any, response: Any
    ) -> bool:
        return _excluded(failure, response) is None


# --- where a 5xx came from: the server's own log, by error id --------------------------------


class _Origins(logging.Handler):
    """Keep, per error id (the ``X-Error-Id`` of a 500), where the exception was raised."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.by_id: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info or record.exc_info[1] is None:
            return
        exc = record.exc_info[1]
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/site-packages/" not in f.filename]
        raised = frames[-1] if frames else None
        shown = [*ours[-2:], *([raised] if raised and raised not in ours else [])]
        where = " → ".join(f"{_short(f.filename)}:{f.lineno} {f.name}" for f in shown)
        origin = f"{where}: {type(exc).__name__}: {exc}"[:500]
        message = record.getMessage()
        for eid in re.findall(r"\b[0-9a-f]{8}\b", message):
            self.by_id[eid] = origin


ROOT = Path(__file__).resolve().parents[2]


def _short(filename: str) -> str:
    path = Path(filename)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


ORIGINS = _Origins()


def origin_of(response: Any) -> str:
    """Where the exception behind a 5xx was raised, or "" when the server did not say."""
    eid = response.headers.get("x-error-id", "")
    if isinstance(eid, list):
        eid = eid[0] if eid else ""
    return ORIGINS.by_id.get(eid, "")


def server_error_origin(ctx: schemathesis.CheckContext, response: Any, case: Any) -> None:
    """Name, for a 5xx, the file, function and exception behind it (in the failure report)."""
    if response.status_code >= 500:
        origin = origin_of(response) or "（服务器日志中没有对应的错误编号）"
        msg = f"{response.status_code} raised at {origin}"
        raise AssertionError(msg)


# --- known failures, owned by others -------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """A failure found by this fuzz whose fix lives in a file another engineer owns."""

    operation: str  # "GET /api/layers/{layer}", or "*" for any
    check: str  # "5xx" (matched with ``where``), or a check name: "response_schema_conformance"
    where: str  # for "5xx": a piece of the origin, e.g. "walknet.py:1050 reached_segments"
    why: str


#: Failures tolerated for now, each reported to its owner; the lead removes entries as fixes land.
KNOWN_FAILURES: list[Known] = []


def _excluded(failure: Failure, response: Any) -> Known | None:
    names = (*getattr(type(failure), "checks", ()), failure.title)
    origin = origin_of(response) if response.status_code >= 500 else ""
    for known in KNOWN_FAILURES:
        if known.operation not in ("*", failure.operation):
            continue
        if known.check == "5xx":
            if origin and known.where in origin:
                return known
        elif any(known.check in name for name in names):
            return known
    return None


# --- the project's own check -------------------------------------------------------------------


def error_body_shape(ctx: schemathesis.CheckContext, response: Any, case: Any) -> None:
    """Every 4xx JSON body is ``{"detail": [{"loc": [...], "msg": zh-CN str, "type": str}]}``."""
    if not 400 <= response.status_code < 500:
        return
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if "json" not in content_type:
        return
    body = response.json()
    where = f"{response.status_code} {case.method} {case.path}: {body!r}"[:600]
    assert isinstance(body, dict) and set(body) == {"detail"}, f"not {{'detail': ...}}: {where}"
    detail = body["detail"]
    assert isinstance(detail, list) and detail, f"detail is not a non-empty list: {where}"
    for item in detail:
        assert isinstance(item, dict), f"detail item is not an object: {where}"
        assert set(item) >= {"loc", "msg", "type"}, f"detail item lacks loc/msg/type: {where}"
        assert isinstance(item["loc"], list), f"loc is not a list: {where}"
        assert all(isinstance(p, str | int) for p in item["loc"]), f"loc parts: {where}"
        assert isinstance(item["msg"], str) and item["msg"], f"msg is not a str: {where}"
        assert isinstance(item["type"], str) and item["type"], f"type is not a str: {where}"
        assert CJK.search(item["msg"]), f"msg is not zh-CN: {where}"


CHECKS = [
    st_checks.not_a_server_error,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    error_body_shape,
    server_error_origin,
]

# --- the app, three times: a database each for reads, writes and deletes -------------------


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "request-timeout": 60,
        }
    )


def _load_schema() -> OpenApiSchema:
    """The app's own ``/openapi.json`` (it needs no database), with our steering hooks."""
    app = create_app(Settings(database_url="postgresql+psycopg://fuzz@127.0.0.1:9/unused"))
    raw = TestClient(app).get("/openapi.json").raise_for_status().json()
    schema = schemathesis.openapi.from_dict(raw, config=_config())
    _install_hooks(schema)
    return schema


SCHEMA = _load_schema()


@contextmanager
def _t1_database(cluster: db.LocalCluster, engine: Engine) -> Iterator[str]:
    """A fresh copy of the migrated template holding T1 and its walking network."""
    with fresh_database(cluster, engine, prefix="fuzz") as url:
        shapes.load(url, factories.community_layers(), factories.network_lines())
        yield url


@contextmanager
def _serve(database_url: str) -> Iterator[str]:
    """The app over real HTTP on a free loopback port, the origins of its errors recorded."""
    with serve(database_url, log_level="error") as base:
        logging.getLogger("gridmap").addHandler(ORIGINS)
        try:
            yield base
        finally:
            logging.getLogger("gridmap").removeHandler(ORIGINS)


@pytest.fixture(scope="module")
def read_url(cluster: db.LocalCluster, engine: Engine) -> Iterator[str]:
    with _t1_database(cluster, engine) as url, _serve(url) as base:
        yield base


@pytest.fixture(scope="module")
def write_url(cluster: db.LocalCluster, engine: Engine) -> Iterator[str]:
    """A database of its own: what POST and PATCH change is dropped with it."""
    with _t1_database(cluster, engine) as url, _serve(url) as base:
        yield base


@SCHEMA.include(method="GET").parametrize()
def test_reads(case: schemathesis.Case, read_url: str) -> None:
    case.call_and_validate(base_url=read_url, headers=admin_headers(), checks=CHECKS)


#: Anonymous callers: a shorter run over every operation (each must answer 401 or its own
#: public answer, never a 5xx). The admin's token stays valid: logout is left out.
ANONYMOUS = SCHEMA.exclude(path="/api/auth/logout")


@ANONYMOUS.parametrize()
@hypothesis.settings(max_examples=8)
def test_anonymous(case: schemathesis.Case, read_url: str) -> None:
    case.call_and_validate(base_url=read_url, checks=CHECKS)


@pytest.fixture(scope="module")
def delete_url(cluster: db.LocalCluster, engine: Engine) -> Iterator[str]:
    """Deletes get a database of their own, so the writes still find T1 (id 1) to write to."""
    with _t1_database(cluster, engine) as url, _serve(url) as base:
        yield base


@SCHEMA.include(method="DELETE").parametrize()
def test_deletes(case: schemathesis.Case, delete_url: str) -> None:
    case.call_and_validate(base_url=delete_url, headers=admin_headers(), checks=CHECKS)


#: Writes as the admin; logging out would end the token the run writes with.
WRITES = SCHEMA.exclude(method=["GET", "DELETE"]).exclude(path="/api/auth/logout")


@WRITES.parametrize()
def test_writes(case: schemathesis.Case, write_url: str) -> None:
    case.call_and_validate(base_url=write_url, headers=admin_headers(), checks=CHECKS)
