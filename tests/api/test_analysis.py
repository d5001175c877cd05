"""The service circle through the API and the CLI, on the hand-drawn community.

Walking metres are worked out by hand from tests/factories.py (local metres; a building walks
from its centre to the nearest path on its side of the wall, the access leg counts):

- SP1 (500, 40) joins the main road y = 50 at (500, 50): 10 m.
- B1, centre (170, 160), inside walled C1, joins lane x = 250 at (250, 160): 80 m; then
  down through open gate M1 to (250, 50) 110 m and east to (500, 50) 250 m: 80+110+250+10 = 450.
- B2, centre (320, 310), joins the inner lane y = 250 at (320, 250): 60 m; west 70 m, down
  200 m, east 250 m: 60+70+200+250+10 = 590.
- B3, centre (620, 610), outside any compound, joins the road end (450, 400): 270.19 m;
  down 350 m, east 50 m: 270.19+350+50+10 = 680.19.
- With M1 closed and M2 opened, B1 goes up 90 m, east 200 m through M2, down the road 200 m,
  east 50 m: 80+90+200+200+50+10 = 630.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import geopandas as gpd

from gis_api.settings import get_settings
from tests import factories
from tests.running import gridmap

B3 = 270.1851 + 350 + 50 + 10  # sqrt(170² + 210²) = 270.185...


def walks(body: dict) -> dict[str, float | None]:
    return {
        f["properties"]["building_id"]: f["properties"]["walk_m"]
        for f in body["buildings"]["features"]
    }


def test_walking_metres_by_hand(net_client: TestClient) -> None:
    body = net_client.get("/api/analysis/service-circle?community=T1").json()
    assert body["approximate"] is False
    assert body["closed_gates"] == ["C1-M2"]  # stored as closed
    w = walks(body)
    assert w["B1"] == pytest.approx(450, abs=0.2)
    assert w["B2"] == pytest.approx(590, abs=0.2)
    assert w["B3"] == pytest.approx(B3, abs=0.2)
    community = body["summary"]["community"][0]
    assert community["households_covered"] == 120
    grids = {row["grid"]: row["households_covered"] for row in body["summary"]["grid"]}
    assert grids == {"G1": 100, "G2": 20}
    compounds = {row["compound"]: row["households"] for row in body["summary"]["compound"]}
    assert compounds["C1"] == 100
    assert body["areas"]["features"][0]["properties"]["service_point_id"] == "SP1"


def test_minutes_follow_the_national_standard(net_client: TestClient) -> None:
    body = net_client.get("/api/analysis/service-circle?community=T1&minutes=10").json()
    assert body["limit_m"] == 500  # GB 50180-2018: the 10-minute circle is 500 m
    covered = {
        f["properties"]["building_id"]: f["properties"]["covered"]
        for f in body["buildings"]["features"]
    }
    assert covered == {"B1": True, "B2": False, "B3": False}
    assert [u["building_id"] for u in body["uncovered"]] == ["B2", "B3"]  # nearest edge first


def test_gate_scenarios(net_client: TestClient) -> None:
    shut = net_client.post(
        "/api/analysis/service-circle/scenario",
        json={"community": "T1", "close_gates": ["C1-M1"]},
    ).json()
    assert sorted(shut["diff"]["lost"]) == ["B1", "B2"]
    assert shut["diff"]["households_lost"] == 100
    assert walks(shut["after"])["B1"] is None  # sealed in: unreachable
    swap = net_client.post(
        "/api/analysis/service-circle/scenario",
        json={"community": "T1", "close_gates": ["C1-M1"], "open_gates": ["C1-M2"]},
    ).json()
    assert walks(swap["after"])["B1"] == pytest.approx(630, abs=0.2)  # the "big loop"
    assert swap["diff"]["lost"] == []


def test_adding_a_point(net_client: TestClient) -> None:
    p = factories.frame([{"geometry": factories.shapely.Point(450, 420)}]).geometry[0]
    body = net_client.post(
        "/api/analysis/service-circle/scenario",
        json={"community": "T1", "metres": 600, "add_points": [{"lon": p.x, "lat": p.y}]},
    ).json()
    assert body["diff"]["gained"] == ["B3"]
    assert walks(body["after"])["B3"] == pytest.approx(270.1851 + 20, abs=0.2)
    # Nothing was stored: the plain circle is as before.
    again = net_client.get("/api/analysis/service-circle?community=T1&metres=600").json()
    assert walks(again)["B3"] == pytest.approx(B3, abs=0.2)


def test_bad_requests(net_client: TestClient) -> None:
    r = net_client.get("/api/analysis/service-circle?community=T1&metres=500&minutes=10")
    assert r.status_code == 422 and "只能给出一个" in r.json()["detail"][0]["msg"]
    r = net_client.post(
        "/api/analysis/service-circle/scenario",
        json={"community": "T1", "close_gates": ["NOPE"]},
    )
    assert r.status_code == 404 and "NOPE" in r.json()["detail"][0]["msg"]
    assert net_client.get("/api/analysis/service-circle?community=ZZ").status_code == 404


def test_without_network_it_is_approximate(client: TestClient) -> None:
    body = client.get("/api/analysis/service-circle?community=T1").json()
    assert body["approximate"] is True
    # straight line B1 centre (170, 160) -> SP1 (500, 40), times the detour factor 1.3
    assert walks(body)["B1"] == pytest.approx(1.3 * math.hypot(330, 120), abs=0.2)


def test_cli_writes_every_building(
    net_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", net_db)
    get_settings.cache_clear()
    out = tmp_path / "circle.geojson"
    try:
        code, output = gridmap("analyze", "service-circle", "--community", "T1", "--out", str(out))
    finally:
        get_settings.cache_clear()
    assert code == 0, output
    assert "覆盖楼栋 3/3" in output
    frame = gpd.read_file(out)
    assert set(frame.columns) >= {"building_id", "nearest_service_point_id", "walk_m", "covered"}
    row = frame.set_index("building_id").loc["B2"]
    assert row["nearest_service_point_id"] == "SP1"
    assert row["walk_m"] == pytest.approx(590, abs=0.2)


# --- red-house venue selection ----------------------------------------------------------------
# CV1 at (200, 200) inside C1 joins lane x = 250 at (250, 200): 50 m. Within 400 m it reaches
# B1 (50 + 40 + 80 = 170 m) and B2 (50 + 50 + 70 + 60 = 230 m), not B3 (1,020 m). SP1 covers
# nobody within 400 m (B1 is 450 m away). CV1's legal checks are incomplete (only a lawyer).


def test_venue_excluded_without_legal_checks(net_client: TestClient) -> None:
    body = net_client.get("/api/analysis/venues?community=T1&k=1&metres=400").json()
    assert body["picks"]["features"] == []
    assert body["excluded"][0]["candidate_id"] == "CV1"
    assert "法律手续不全" in body["excluded"][0]["reason"]
    assert body["after"]["residents"] == body["before"]["residents"] == 0


def test_venue_pick_when_planner_includes_it(net_client: TestClient) -> None:
    body = net_client.get(
        "/api/analysis/venues?community=T1&k=1&metres=400&include_incomplete_legal=true"
    ).json()
    assert body["optimal"] is True
    pick = body["picks"]["features"][0]["properties"]
    assert (pick["rank"], pick["candidate_id"]) == (1, "CV1")
    assert pick["new_residents"] == 170 + 110  # B1 + B2
    assert pick["new_households"] == 60 + 40
    assert body["after"]["residents"] == 280
    # The existing centre is no candidate: it is never "picked" again.
    assert all(s["candidate_id"] != "SP1" for s in body["scores"])


def test_venue_export_files(net_client: TestClient, tmp_path: Path) -> None:
    import pandas as pd

    query = "community=T1&k=1&metres=400&include_incomplete_legal=true"
    xlsx = net_client.get(f"/api/analysis/venues/export?format=xlsx&{query}")
    assert xlsx.status_code == 200
    path = tmp_path / "picks.xlsx"
    path.write_bytes(xlsx.content)
    table = pd.read_excel(path)
    assert list(table["candidate_id"]) == ["CV1"]
    geo = net_client.get(f"/api/analysis/venues/export?format=geojson&{query}").json()
    assert geo["features"][0]["geometry"]["type"] == "Point"
    bad = net_client.get(f"/api/analysis/venues/export?format=pdf&{query}")
    assert bad.status_code == 422


def test_cli_venues(net_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", net_db)
    get_settings.cache_clear()
    out = tmp_path / "picks.csv"
    try:
        code, output = gridmap(
            "analyze",
            "venues",
            "--community",
            "T1",
            "--k",
            "1",
            "--metres",
            "400",
            "--include-incomplete-legal",
            "--out",
            str(out),
        )
    finally:
        get_settings.cache_clear()
    assert code == 0, output
    assert "已证明最优" in output
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table.columns[:4]) == ["rank", "candidate_id", "name", "kind"]
    assert table.loc[0, "residents_covered_after"] == 280
