"""Concurrent edits over real HTTP: no lost update, exactly one winner per version.

Every test starts its clients together on a barrier, each with its own connection to the
app served by uvicorn (``live_url``), against the real PostGIS store.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, text

from tests import factories
from tests.databases import admin_headers

N = 20
MAX_TRIES = 200


def _fid(base: str, layer: str, code: str) -> int:
    features = httpx.get(f"{base}/api/layers/{layer}", timeout=30, headers=admin_headers()).json()[
        "features"
    ]
    return int(next(f["id"] for f in features if f["properties"]["code"] == code))


def _row(engine: Engine, table: str, fid: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT to_jsonb(t) - 'geom' FROM {table} t WHERE id = :id"), {"id": fid}
        ).scalar_one()
    return dict(row)


def _together(n: int, work: Callable[[httpx.Client, int], Any], base: str) -> list[Any]:
    """Run ``work(client, i)`` in ``n`` threads released at once; return their results."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with httpx.Client(base_url=base, timeout=120, headers=admin_headers()) as client:
                client.get("/health")  # connect before the start line
                barrier.wait()
                results[i] = work(client, i)
        except BaseException as exc:  # report it in the test, not lost in a thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    return results


def _edit_with_retry(
    client: httpx.Client, url: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> tuple[int, bool]:
    """Read, change, write with the version read; on 409 read again.

    Return the 409s met and whether the edit that landed was merged onto a newer version
    (someone else's edit came in between).
    """
    for conflicts in range(MAX_TRIES):
        got = client.get(url)
        assert got.status_code == 200, got.text
        feature = got.json()
        base = feature["properties"]["version"]
        body = {**change(feature["properties"]), "version": base}
        r = client.patch(url, json=body)
        if r.status_code == 200:
            return conflicts, r.json()["properties"]["version"] > base + 1
        assert r.status_code == 409, r.text
    pytest.fail(f"{url}: no success in {MAX_TRIES} tries")


def _square(x0: float, y0: float, size: float) -> dict[str, Any]:
    geom = factories.frame([{"geometry": factories.shapely.box(x0, y0, x0 + size, y0 + size)}])
    return dict(json.loads(geom.to_json())["features"][0]["geometry"])


# Every field of a building, each with a new value that keeps the cross-field rules true
# whichever order the edits land in (B1: 170 residents, 20 floating, 5 party, 1 mobile).
B1_CHANGES: dict[str, Any] = {
    "name": "一号楼",
    "households": 66,
    "residents": 180,
    "floating_residents": 25,
    "occupancy": 0.95,
    "floors": 19,
    "party_members": 7,
    "mobile_party_members": 2,
    "lead_name": "陈静",
    "lead_phone": "13812345678",
    "address": "樵华路 1 号",
}


def test_edits_of_different_fields_all_survive(live_url: str, engine_: Engine) -> None:
    """One client per field of a building (and one moving it), all at once: nothing lost.

    Edits of different fields never collide: each one based on an older version is merged
    onto the newer one (docs/robustness.md), so none is refused.
    """
    fid = _fid(live_url, "buildings", "B1")
    url = f"/api/layers/buildings/{fid}"
    start = _row(engine_, "buildings", fid)["version"]
    changes: list[dict[str, Any]] = [{"properties": {k: v}} for k, v in B1_CHANGES.items()]
    changes.append({"properties": {}, "geometry": _square(160, 160, 30)})

    def work(client: httpx.Client, i: int) -> tuple[int, bool]:
        return _edit_with_retry(client, url, lambda _props: changes[i])

    results = _together(len(changes), work, live_url)
    row = _row(engine_, "buildings", fid)
    for field, value in B1_CHANGES.items():
        assert row[field] == value, field
    assert row["version"] == start + len(changes)
    with engine_.connect() as conn:
        area = conn.execute(
            text("SELECT ST_Area(geom::geography) FROM buildings WHERE id = :id"), {"id": fid}
        ).scalar_one()
    assert area == pytest.approx(900, rel=0.01)  # the moved 30 m square
    assert sum(conflicts for conflicts, _ in results) == 0, results
    assert any(merged for _, merged in results), "the clients did not overlap"


@pytest.mark.parametrize(
    "case",
    [("buildings", "B2", "households", 100), ("service_points", "SP1", "floor_area_m2", 500.0)],
)
def test_same_version_exactly_one_wins(
    live_url: str, engine_: Engine, case: tuple[str, str, str, float]
) -> None:
    layer, code, field, base = case
    fid = _fid(live_url, layer, code)
    url = f"/api/layers/{layer}/{fid}"
    version = httpx.get(f"{live_url}{url}", timeout=30, headers=admin_headers()).json()[
        "properties"
    ]["version"]

    def work(client: httpx.Client, i: int) -> tuple[int, Any]:
        r = client.patch(url, json={"properties": {field: base + i}, "version": version})
        return r.status_code, r.json()

    results = _together(N, work, live_url)
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: N - 1}, statuses
    winner = next(body for status, body in results if status == 200)
    row = _row(engine_, layer, fid)
    assert row[field] == winner["properties"][field]
    assert row["version"] == version + 1 == winner["properties"]["version"]
    for status, body in results:
        if status == 409:
            assert body["detail"][0]["ctx"]["current_version"] == version + 1
            assert f"当前版本 {version + 1}" in body["detail"][0]["msg"]


def test_read_modify_write_increments_are_all_counted(live_url: str, engine_: Engine) -> None:
    fid = _fid(live_url, "buildings", "B3")
    url = f"/api/layers/buildings/{fid}"
    start = _row(engine_, "buildings", fid)

    def work(client: httpx.Client, _i: int) -> int:
        conflicts, _ = _edit_with_retry(
            client, url, lambda props: {"properties": {"residents": props["residents"] + 1}}
        )
        return conflicts

    results = _together(N, work, live_url)
    row = _row(engine_, "buildings", fid)
    assert row["residents"] == start["residents"] + N
    assert row["version"] == start["version"] + N
    assert sum(results) > 0, "the clients did not overlap"
    # Nothing else of the row moved.
    for key in ("residents", "version", "updated_at"):
        row.pop(key), start.pop(key)
    assert row == start


def test_if_match_race_one_winner(live_url: str, engine_: Engine) -> None:
    """The same race with the version as ``If-Match`` (the ETag of the GET)."""
    fid = _fid(live_url, "candidate_venues", "CV1")
    url = f"/api/layers/candidate_venues/{fid}"
    tag = httpx.get(f"{live_url}{url}", timeout=30, headers=admin_headers()).headers["ETag"]

    def work(client: httpx.Client, i: int) -> int:
        r = client.patch(
            url, json={"properties": {"floor_area_m2": 10 + i}}, headers={"If-Match": tag}
        )
        return r.status_code

    statuses = Counter(_together(N, work, live_url))
    assert statuses == {200: 1, 409: N - 1}, statuses
    assert _row(engine_, "candidate_venues", fid)["version"] == 2
