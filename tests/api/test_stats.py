"""Summary figures and search, checked against sums done by hand on the test community."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests import factories


def test_community_figures(client: TestClient) -> None:
    s = client.get("/api/stats/communities/T1").json()
    # Buildings B1 + B2 + B3: households 60 + 40 + 20, residents 170 + 110 + 50.
    assert (s["households"], s["residents"], s["buildings"]) == (120, 330, 3)
    assert s["party_members"] == 5 + 2 + 0
    assert s["buildings_with_lead"] == 1
    assert s["service_points"] == {
        "centre": 1,
        "sub_centre": 0,
        "activity_room": 0,
        "red_house": 0,
        "other": 0,
    }
    assert s["residents_per_cadre"] == 330 / 2
    assert (s["registered_residents"], s["floating_residents"]) == (200, 100)  # the record


def test_grid_figures(client: TestClient) -> None:
    s = client.get("/api/stats/grids/G1?community=T1").json()
    assert (s["name"], s["households"], s["buildings"]) == ("第一网格", 100, 2)
    assert s["residents_per_cadre"] is None
    # A grid's split comes from its buildings: B1 has 20 floating of 170; B2 records none.
    assert (s["registered_residents"], s["floating_residents"]) == (280 - 20, 20)
    missing = client.get("/api/stats/grids/G9?community=T1")
    assert missing.status_code == 404 and "G9" in missing.json()["detail"][0]["msg"]


def test_figures_at_a_point(client: TestClient) -> None:
    p = factories.frame([{"geometry": factories.shapely.Point(800, 800)}]).geometry[0]
    s = client.get(f"/api/stats/at?lon={p.x}&lat={p.y}").json()
    assert s["community"]["code"] == "T1" and s["grid"]["code"] == "G2"
    assert client.get("/api/stats/at?lon=0&lat=0").json() == {"community": None, "grid": None}


def test_search(client: TestClient) -> None:
    hits = client.get("/api/search?q=翠湖").json()
    assert [h["layer"] for h in hits] == ["compounds"]
    assert hits[0]["name"] == "翠湖花园" and len(hits[0]["bbox"]) == 4
    hits = client.get("/api/search?q=栋&community=T1").json()
    assert sorted(h["code"] for h in hits) == ["B1", "B2", "B3"]
    assert client.get("/api/search?q=").status_code == 422
