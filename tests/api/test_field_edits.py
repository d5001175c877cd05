"""Tablet edits: field-level merge of an edit based on an old version, exactly-once resends.

The vocabulary of issue 14 (docs/robustness.md, "同时编辑"): ``PATCH`` with ``If-Match`` (the
version the edit was based on), ``Idempotency-Key`` (the edit's id on the device) and only the
changed fields.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from layers import db
from tests.databases import snapshot


def _b(client: TestClient, code: str) -> dict[str, Any]:
    features = client.get("/api/layers/buildings").json()["features"]
    return next(f for f in features if f["properties"]["code"] == code)


def test_non_colliding_edits_merge_and_colliding_ones_say_why(client: TestClient) -> None:
    b = _b(client, "B2")
    url, v = f"/api/layers/buildings/{b['id']}", b["properties"]["version"]
    tag = {"If-Match": f'W/"{v}"'}
    first = client.patch(url, json={"properties": {"households": 45}}, headers=tag)
    assert first.status_code == 200
    # A second tablet, still on version v, records occupancy: merged.
    second = client.patch(url, json={"properties": {"occupancy": 0.8}}, headers=tag)
    assert second.status_code == 200, second.text
    assert second.json()["properties"]["households"] == 45
    assert second.json()["properties"]["occupancy"] == 0.8
    assert second.json()["properties"]["version"] == v + 2
    # A third, on version v too, records households differently: a conflict, field by field.
    third = client.patch(url, json={"properties": {"households": 50, "floors": 12}}, headers=tag)
    assert third.status_code == 409
    ctx = third.json()["detail"][0]["ctx"]
    assert ctx["current_version"] == v + 2
    assert ctx["fields"] == [{"field": "households", "base": 40, "current": 45, "proposed": 50}]
    assert _b(client, "B2")["properties"]["floors"] == 11  # nothing of the refused edit
    # Even proposing the value it holds now collides: a count read at v and written back
    # plus one must not be merged into a lost increment.
    same = client.patch(url, json={"properties": {"households": 45}}, headers=tag)
    assert same.status_code == 409


def test_a_resent_edit_is_applied_once(client: TestClient, t1_db: str) -> None:
    b = _b(client, "B1")
    url, v = f"/api/layers/buildings/{b['id']}", b["properties"]["version"]
    headers = {"If-Match": f'W/"{v}"', "Idempotency-Key": "tablet-7:edit-0001"}
    body = {"properties": {"residents": b["properties"]["residents"] + 1}}
    first = client.patch(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    engine = db.make_engine(t1_db)
    try:
        before = snapshot(engine)
        again = client.patch(url, json=body, headers=headers)
        assert again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["ETag"] == first.headers["ETag"]
        assert snapshot(engine) == before  # nothing applied twice, no history written twice
        with engine.connect() as conn:
            entries = conn.execute(
                text(
                    "SELECT count(*) FROM history WHERE layer = 'buildings' "
                    "AND feature_id = :f AND action = 'update' AND changed_by = 'test-admin'"
                ),
                {"f": b["id"]},
            ).scalar()
        assert entries == 1
    finally:
        engine.dispose()
    other = _b(client, "B3")
    reused = client.patch(
        f"/api/layers/buildings/{other['id']}",
        json={"properties": {"floors": 7}},
        headers={
            "If-Match": f'W/"{other["properties"]["version"]}"',
            **{"Idempotency-Key": "tablet-7:edit-0001"},
        },
    )
    assert reused.status_code == 422
    assert reused.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_a_refused_edit_leaves_its_key_free(client: TestClient) -> None:
    b = _b(client, "B3")
    url, v = f"/api/layers/buildings/{b['id']}", b["properties"]["version"]
    headers = {"If-Match": f'W/"{v}"', "Idempotency-Key": "k-1"}
    bad = client.patch(url, json={"properties": {"households": -5}}, headers=headers)
    assert bad.status_code == 422
    good = client.patch(url, json={"properties": {"households": 25}}, headers=headers)
    assert good.status_code == 200 and good.json()["properties"]["households"] == 25


def test_bad_keys_are_refused(client: TestClient) -> None:
    b = _b(client, "B3")
    url = f"/api/layers/buildings/{b['id']}"
    for key in ("", "x" * 129, "two words"):
        r = client.patch(
            url,
            json={"properties": {"floors": 7}, "version": b["properties"]["version"]},
            headers={"Idempotency-Key": key},
        )
        assert r.status_code == 422, (key, r.text)
