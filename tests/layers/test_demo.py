"""The demo places load through the validating importer and look as docs/domain.md says.

Its section "参考社区" gives the reference community's figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd

from layers.demo import load_place
from tests.running import gridmap


def scalar(session: Session, sql: str) -> float:
    return float(session.execute(text(sql)).scalar_one())


def test_qiaohua_matches_the_reference_community(session: Session) -> None:
    load_place(session, "qiaohua")
    households = scalar(session, "SELECT sum(households) FROM buildings")
    residents = scalar(session, "SELECT sum(residents) FROM buildings")
    assert households == pytest.approx(13_234, rel=0.02)
    assert residents == pytest.approx(40_335, rel=0.02)
    assert scalar(session, "SELECT sum(party_members) FROM buildings") == 226
    assert scalar(session, "SELECT count(*) FROM compounds") == 30
    assert 300 <= scalar(session, "SELECT count(*) FROM buildings") <= 700
    kinds = dict(
        session.execute(text("SELECT kind, count(*) FROM service_points GROUP BY kind")).all()
    )
    assert (kinds["centre"], kinds["sub_centre"], kinds["activity_room"]) == (1, 5, 4)
    assert 24 <= scalar(session, "SELECT count(*) FROM candidate_venues") <= 48
    area_km2 = scalar(session, "SELECT ST_Area(geom::geography) / 1e6 FROM communities")
    assert area_km2 == pytest.approx(5.5, rel=0.1)
    # Placed in the real Xiqiao town, and every residential building lies in a compound.
    assert (
        scalar(
            session,
            "SELECT count(*) FROM communities c JOIN streets s ON s.id = c.street_id "
            "WHERE s.name = '西樵镇' AND ST_Within(c.geom, s.geom)",
        )
        == 1
    )
    assert scalar(session, "SELECT count(*) FROM buildings WHERE compound_id IS NULL") == 0
    assert scalar(session, "SELECT count(*) FROM buildings WHERE grid_id IS NULL") == 0


def test_qiaohua_network_is_walled_and_connected(session: Session) -> None:
    load_place(session, "qiaohua")
    edges = scalar(session, "SELECT count(*) FROM walk_edges")
    gate_edges = scalar(session, "SELECT count(DISTINCT gate_id) FROM walk_edges")
    gates = scalar(session, "SELECT count(*) FROM gates")
    assert edges > 1000
    assert gate_edges >= 0.9 * gates  # nearly every gate is a passage in the network
    main = scalar(
        session,
        "SELECT max(n)::float / sum(n) "
        "FROM (SELECT count(*) n FROM walk_nodes GROUP BY component) c",
    )
    assert main > 0.9  # one walkable place, not islands


def test_demo_reload_updates_in_place(session: Session) -> None:
    load_place(session, "qiaohua")
    counts = scalar(session, "SELECT count(*) FROM buildings")
    reports = load_place(session, "qiaohua")
    assert all(r.added == 0 for r in reports)
    assert {r.layer: r.unchanged for r in reports}["buildings"] == counts
    assert scalar(session, "SELECT count(*) FROM buildings") == counts


def test_haidian_real_extract(session: Session) -> None:
    load_place(session, "haidian")
    assert scalar(session, "SELECT count(*) FROM compounds") >= 8
    assert scalar(session, "SELECT count(*) FROM buildings") >= 80
    assert scalar(session, "SELECT count(*) FROM gates") >= 5
    assert scalar(session, "SELECT count(*) FROM walk_edges") >= 500
    # Derived attributes are deterministic and within the database's rules.
    first = session.execute(
        text("SELECT code, households, occupancy FROM buildings ORDER BY code LIMIT 1")
    ).one()
    session.execute(text("DELETE FROM communities"))
    load_place(session, "haidian")
    again = session.execute(
        text("SELECT code, households, occupancy FROM buildings ORDER BY code LIMIT 1")
    ).one()
    assert tuple(first) == tuple(again)
    lon, lat = session.execute(
        text("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM communities")
    ).one()
    assert 116.33 < lon < 116.37 and 39.99 < lat < 40.02  # Haidian, Beijing


def test_unknown_place(session: Session) -> None:
    from layers.errors import NotFound

    with pytest.raises(NotFound, match="haidian"):
        load_place(session, "atlantis")


def test_generate_city_command(tmp_path: Path) -> None:
    out = tmp_path / "city.gpkg"
    code, output = gridmap(
        "demo", "generate", "--buildings", "2000", "--seed", "3", "--out", str(out)
    )
    assert code == 0, output
    buildings = gpd.read_file(out, layer="buildings")
    assert len(buildings) == pytest.approx(2000, rel=0.1)
    assert buildings["community"].nunique() >= 3
    assert len(gpd.read_file(out, layer="network")) > 2000
