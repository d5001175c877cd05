"""Every analysis endpoint on every shape a real community has, with hand-checked answers.

The walks below are worked out by hand on the test community's layout (tests/factories.py,
metres from its south-west corner; SP1 stands 10 m south of the road y = 50 at x = 500):

- B1 (170, 160) → lane x = 250 (80 m) → down to the road (110) → east to x = 500 (250) → SP1
  (10): 450 m.
- B2 (320, 310) → lane y = 250 (60 m) → east to x = 450 (130) → down the street (200) → east
  (50) → SP1 (10): 450 m; with the east gate closed it must leave by the south gate instead:
  60 + 70 + 200 + 250 + 10 = 590 m.
- B3 (620, 610) → the end of the street at (450, 400) (√(170² + 210²) = 270.2 m) → down (350) →
  east (50) → SP1 (10): 680.2 m.
- Without a network: straight line × 1.3, e.g. B1: √(330² + 120²) × 1.3 = 456.5 m.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gis_api.app import create_app
from gis_api.settings import Settings
from tests import factories, shapes
from tests.databases import admin_headers

B1, B2, B3 = 450.0, 450.0, 270.185 + 410.0
CLOSED_EAST_GATE_B2 = 590.0


def _client(url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=url)), headers=admin_headers()) as c:
        yield c


@pytest.fixture
def shaped(request: pytest.FixtureRequest, fresh_db: str) -> Iterator[TestClient]:
    """The app on a fresh database holding the shape named by the test's parameter."""
    layers, ways = shapes.SHAPES[request.param]()
    shapes.load(fresh_db, layers, ways)
    yield from _client(fresh_db)


def _walks(body: dict[str, Any]) -> dict[str, Any]:
    return {f["properties"]["building_id"]: f["properties"] for f in body["buildings"]["features"]}


def _circle(client: TestClient, community: str = "T1") -> dict[str, Any]:
    r = client.get("/api/analysis/service-circle", params={"community": community})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _missing(r: Any, what: str) -> None:
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["type"] == "missing_data"
    assert what in detail["msg"]


@pytest.mark.parametrize("shaped", ["no_compounds", "compounds_without_walls"], indirect=True)
def test_open_places_walk_straight_through(shaped: TestClient) -> None:
    body = _circle(shaped)
    assert not body["approximate"]
    walks = _walks(body)
    assert walks["B1"]["walk_m"] == pytest.approx(B1, abs=0.5)
    assert walks["B2"]["walk_m"] == pytest.approx(B2, abs=0.5)  # no gate to go round
    assert walks["B3"]["walk_m"] == pytest.approx(B3, abs=0.5)
    assert body["uncovered"] == []
    assert body["summary"]["community"][0]["households_covered_share"] == pytest.approx(1.0)
    zones = shaped.get("/api/analysis/lead-zones", params={"community": "T1"})
    assert zones.status_code == 200, zones.text
    assert {b["building_id"] for b in zones.json()["buildings"]} == {"B1", "B2", "B3"}
    venues = shaped.get("/api/analysis/venues", params={"community": "T1", "k": 1})
    assert venues.status_code == 200, venues.text
    assert venues.json()["before"]["residents"] == 330  # everyone is already covered


@pytest.mark.parametrize("shaped", ["sealed_compound"], indirect=True)
def test_sealed_compound_is_said_per_building(shaped: TestClient) -> None:
    body = _circle(shaped)
    walks = _walks(body)
    assert walks["B1"]["walk_m"] is None and not walks["B1"]["covered"]
    assert walks["B2"]["walk_m"] is None and not walks["B2"]["covered"]
    assert walks["B3"]["walk_m"] == pytest.approx(B3, abs=0.5)
    reasons = {r["building_id"]: r for r in body["uncovered"]}
    assert set(reasons) == {"B1", "B2"}
    for r in reasons.values():
        assert r["reason"] == "unreachable"
        assert "翠湖花园" in r["reason_zh"] and "出入口" in r["reason_zh"]
    share = body["summary"]["community"][0]["households_covered_share"]
    assert share == pytest.approx(20 / 120)


@pytest.mark.parametrize("shaped", ["no_service_points"], indirect=True)
def test_no_service_points_every_building_a_gap(shaped: TestClient) -> None:
    body = _circle(shaped)
    assert body["summary"]["community"][0]["households_covered_share"] == 0
    assert {r["building_id"] for r in body["uncovered"]} == {"B1", "B2", "B3"}
    for r in body["uncovered"]:
        assert r["reason"] == "no_open_point"
        assert "gridmap import service_points" in r["reason_zh"]
    assert body["areas"]["features"] == []
    # A red house is then the only way to cover anyone: the one candidate (in C1, its legal
    # checklist not yet complete) is picked once incomplete ones are allowed.
    params = {"community": "T1", "k": 1, "include_incomplete_legal": True}
    venues = shaped.get("/api/analysis/venues", params=params)
    assert venues.status_code == 200, venues.text
    picks = venues.json()["picks"]["features"]
    assert [p["properties"]["candidate_id"] for p in picks] == ["CV1"]
    assert venues.json()["before"]["residents"] == 0
    assert venues.json()["after"]["residents"] > 0


@pytest.mark.parametrize("shaped", ["no_network"], indirect=True)
def test_no_network_falls_back_to_the_flagged_straight_line(shaped: TestClient) -> None:
    body = _circle(shaped)
    assert body["approximate"] is True
    b1 = _walks(body)["B1"]
    assert b1["walk_m"] == pytest.approx(math.hypot(330, 120) * 1.3, abs=0.5)
    assert b1["note"] is None
    venues = shaped.get("/api/analysis/venues", params={"community": "T1", "k": 1})
    assert venues.status_code == 200 and venues.json()["approximate"] is True
    zones = shaped.get("/api/analysis/lead-zones", params={"community": "T1"})
    assert zones.status_code == 200 and zones.json()["approximate"] is True


@pytest.mark.parametrize("shaped", ["no_candidates"], indirect=True)
def test_no_candidates_says_what_to_import(shaped: TestClient) -> None:
    r = shaped.get("/api/analysis/venues", params={"community": "T1", "k": 1})
    _missing(r, "gridmap import candidate_venues")
    r = shaped.get("/api/analysis/venues/export", params={"community": "T1", "k": 1})
    _missing(r, "gridmap import candidate_venues")
    walks = _walks(_circle(shaped))  # the circle itself still works, the east gate closed
    assert walks["B2"]["walk_m"] == pytest.approx(CLOSED_EAST_GATE_B2, abs=0.5)


@pytest.mark.parametrize("shaped", ["one_building"], indirect=True)
def test_one_building(shaped: TestClient) -> None:
    walks = _walks(_circle(shaped))
    assert list(walks) == ["B3"]
    assert walks["B3"]["walk_m"] == pytest.approx(B3, abs=0.5)
    zones = shaped.get("/api/analysis/lead-zones", params={"community": "T1"})
    assert zones.status_code == 200, zones.text
    assert zones.json()["kinds"] == {"rotating": 1}  # a single isolated building rotates
    saved = shaped.post("/api/lead-zones/save", params={"community": "T1"})
    assert saved.status_code == 200, saved.text
    roster = shaped.get("/api/lead-zones", params={"community": "T1"}).json()
    assert len(roster["features"]) == 1


@pytest.mark.parametrize("shaped", ["network_misses_a_building"], indirect=True)
def test_network_that_misses_a_building_says_so(shaped: TestClient) -> None:
    walks = _walks(_circle(shaped))
    assert walks["B1"]["note"] is None and walks["B2"]["note"] is None
    note = walks["B3"]["note"]
    assert note is not None and "路网未覆盖" in note
    assert f"{math.hypot(170, 360):.0f} 米" in note  # the leg to the nearest way


def test_empty_community_says_what_to_import(fresh_db: str) -> None:
    shapes.load(fresh_db, {"communities": factories.community_layers()["communities"]}, None)
    for client in _client(fresh_db):
        for path, params in [
            ("/api/analysis/service-circle", {}),
            ("/api/analysis/venues", {"k": 1}),
            ("/api/analysis/lead-zones", {}),
        ]:
            r = client.get(path, params={"community": "T1", **params})
            _missing(r, "gridmap import buildings")
        r = client.post("/api/lead-zones/save", params={"community": "T1"})
        _missing(r, "gridmap import buildings")
        r = client.get("/api/lead-zones", params={"community": "T1"})
        assert r.status_code == 200 and r.json()["features"] == []
        r = client.get("/api/stats/communities/T1")
        assert r.status_code == 200, r.text


def test_second_community_keeps_to_itself(fresh_db: str) -> None:
    layers, ways = factories.community_layers(), factories.network_lines()
    shapes.load(fresh_db, layers, ways)
    shapes.load(fresh_db, shapes.second_community(), None, community="T2")
    for client in _client(fresh_db):
        t1 = _circle(client, "T1")
        assert set(_walks(t1)) == {"B1", "B2", "B3"}
        assert _walks(t1)["B2"]["walk_m"] == pytest.approx(CLOSED_EAST_GATE_B2, abs=0.5)
        t2 = _circle(client, "T2")
        assert set(_walks(t2)) == {"T2-B3"}
        assert t2["approximate"] is True  # T2 has no network of its own
        # Straight line from B3 to T2's own SP1, both moved 1 km east together.
        assert _walks(t2)["T2-B3"]["walk_m"] == pytest.approx(math.hypot(120, 570) * 1.3, abs=0.5)
        r = client.get("/api/layers/buildings", params={"community": "T2"})
        assert [f["properties"]["code"] for f in r.json()["features"]] == ["T2-B3"]
