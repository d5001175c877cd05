"""Building-lead zones through the API and CLI: the rule per building, save, lock, roster.

On the test community: B1 (60 households, occupancy 0.9) qualifies for its own lead; B2 (40,
0.4) and B3 (20, 0.75) do not. B3 stands alone outside the compound, 500 m and a wall from
anyone: a rotating lead.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from gis_api.settings import get_settings
from tests.running import gridmap


def kinds(body: dict) -> dict[str, str]:
    return {b["building_id"]: b["zone_kind"] for b in body["buildings"]}


def test_rule_per_building(net_client: TestClient) -> None:
    body = net_client.get("/api/analysis/lead-zones?community=T1").json()
    k = kinds(body)
    assert k["B1"] == "own"
    assert k["B3"] == "rotating"
    assert sorted(k) == ["B1", "B2", "B3"]  # every building, exactly once
    zones = body["zones"]["features"]
    members = sorted(m for z in zones for m in z["properties"]["members"])
    assert members == ["B1", "B2", "B3"]
    assert body["diff"]["added"] and body["diff"]["removed"] == []
    reasons = {b["building_id"]: b["reason_zh"] for b in body["buildings"]}
    assert "户" in reasons["B1"]
    # A half-empty building is not given its own lead even when big enough.
    strict = net_client.get("/api/analysis/lead-zones?community=T1&min_households=30").json()
    assert kinds(strict)["B2"] != "own"  # 40 households but occupancy 0.4 < 0.5


def test_save_lock_and_rerun(net_client: TestClient) -> None:
    saved = net_client.post("/api/lead-zones/save?community=T1").json()
    assert saved["saved"] >= 2 and saved["locked"] == 0
    stored = net_client.get("/api/lead-zones?community=T1").json()["features"]
    b1_zone = next(
        z["properties"]["zone_id"] for z in stored if "B1" in z["properties"]["buildings"]
    )
    assert (
        net_client.post(
            f"/api/lead-zones/{b1_zone}/lock?community=T1", json={"locked": True}
        ).status_code
        == 200
    )
    # Raise the threshold so B1 would no longer qualify: its locked zone is kept as it is.
    again = net_client.get("/api/analysis/lead-zones?community=T1&min_households=70").json()
    assert b1_zone not in again["diff"]["removed"]
    zone_of = {b["building_id"]: b["zone_id"] for b in again["buildings"]}
    assert zone_of["B1"] == b1_zone
    kept = net_client.post("/api/lead-zones/save?community=T1&min_households=70").json()
    assert kept["locked"] == 1
    missing = net_client.post("/api/lead-zones/NOPE/lock?community=T1", json={"locked": True})
    assert missing.status_code == 404


def test_roster_export(net_client: TestClient) -> None:
    net_client.post("/api/lead-zones/save?community=T1")
    r = net_client.get("/api/lead-zones/roster?community=T1&format=csv")
    assert r.status_code == 200
    table = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")
    assert {"zone_id", "kind", "buildings", "households", "lead_building_id"} <= set(table.columns)
    assert table["households"].sum() == 60 + 40 + 20


def test_cli_lead_zones(net_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", net_db)
    get_settings.cache_clear()
    out = tmp_path / "zones.csv"
    try:
        code, output = gridmap("analyze", "lead-zones", "--community", "T1", "--out", str(out))
        assert code == 0, output
        assert "未保存" in output
        table = pd.read_csv(out)
        assert list(table.columns[:4]) == ["building_id", "zone_id", "zone_kind", "rule"]
        assert dict(zip(table["building_id"], table["zone_kind"], strict=True))["B1"] == "own"
        code, output = gridmap(
            "analyze", "lead-zones", "--community", "T1", "--out", str(out), "--save"
        )
        assert "已保存" in output
        code, output = gridmap("analyze", "lead-zones", "--community", "T1", "--out", str(out))
        assert "新增 0、删除 0、变动 0" in output  # stable ids: nothing changed
    finally:
        get_settings.cache_clear()
