"""The stored walking network: walls cut paths, gates are the only passages, rebuilt on change.

Distances are checked by hand on the test community (see tests/factories.py) with an
independent shortest-path computation (scipy's Dijkstra) over the stored edge table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from layers.importing import import_frame
from layers.queries import read_network
from layers.walkways import import_ways
from tests import factories

OUTSIDE = (0, 50)  # west end of the main road
INSIDE = (250, 250)  # the lane junction inside compound C1


def load(session: Session, *, with_gates: bool = True, extra_ways: list | None = None) -> None:
    for layer, gdf in factories.community_layers().items():
        if layer == "gates" and not with_gates:
            continue
        import_frame(session, layer, gdf)
    ways = factories.network_lines()
    if extra_ways:
        ways = pd.concat([ways, factories.frame(extra_ways)], ignore_index=True)
    import_ways(session, gpd.GeoDataFrame(ways, crs="EPSG:4326"), community="T1")


def walk_m(
    session: Session,
    a: tuple[float, float],
    b: tuple[float, float],
    *,
    drop_gates: tuple[str, ...] = (),
) -> float:
    """Shortest walk in metres between the nodes nearest ``a`` and ``b`` (local metres)."""
    edges = read_network(session, community="T1")
    edges = edges[~edges["gate"].isin(drop_gates)]
    nodes = pd.concat([edges["source"], edges["target"]]).unique()
    index = {n: i for i, n in enumerate(nodes)}
    src = edges["source"].map(index).to_numpy()
    dst = edges["target"].map(index).to_numpy()
    graph = coo_matrix((edges["length_m"], (src, dst)), shape=(len(nodes), len(nodes)))
    lines = edges.geometry.to_numpy()
    coords = {}
    for column, vertex in (("source", 0), ("target", -1)):
        ends = gpd.GeoSeries(list(shapely.get_point(lines, vertex)), crs="EPSG:4326")
        for n, p in zip(edges[column], ends.to_crs(factories.METRIC), strict=True):
            coords[n] = p

    def nearest(xy: tuple[float, float]) -> int:
        target = shapely.Point(xy[0] + factories._E0, xy[1] + factories._N0)
        best = min(coords, key=lambda n: coords[n].distance(target))
        assert coords[best].distance(target) < 1.5, "no node near the point"
        return index[best]

    dist = dijkstra(graph.tocsr(), directed=False, indices=nearest(a))
    return float(dist[nearest(b)])


def test_open_gate_is_the_way_through(session: Session) -> None:
    load(session)
    # (250, 250) -> down the lane through gate M1 at (250, 100) -> (250, 50) -> west to (0, 50)
    assert walk_m(session, INSIDE, OUTSIDE) == pytest.approx(200 + 250, abs=0.05)
    # Without M1: east along the inner lane, through gate M2 at (400, 250), down the road.
    assert walk_m(session, INSIDE, OUTSIDE, drop_gates=("C1-M1",)) == pytest.approx(
        100 + 100 + 200 + 450, abs=0.05
    )
    # Without either gate the compound is sealed.
    assert np.isinf(walk_m(session, INSIDE, OUTSIDE, drop_gates=("C1-M1", "C1-M2")))


def test_gate_edges_are_short_and_named(session: Session) -> None:
    load(session)
    rows = session.execute(
        text(
            "SELECT g.code, e.length_m FROM walk_edges e JOIN gates g ON g.id = e.gate_id "
            "ORDER BY g.code"
        )
    ).all()
    assert [r[0] for r in rows] == ["C1-M1", "C1-M2"]
    assert all(1.5 < r[1] < 2.5 for r in rows)


def test_wall_without_gate_cuts_the_path(session: Session) -> None:
    lane = {
        "code": "L4",
        "highway": "footway",
        "name": None,
        "geometry": shapely.LineString([(20, 300), (150, 300)]),
    }
    link = {
        "code": "L5",
        "highway": "footway",
        "name": None,
        "geometry": shapely.LineString([(20, 300), (0, 300), (0, 50)]),
    }
    load(session, extra_ways=[lane, link])
    # (150, 300) is inside C1, reached from outside only by crossing the west wall at x = 100.
    assert np.isinf(walk_m(session, (150, 300), OUTSIDE))
    # The outside part still reaches the road: (20, 300) -> (0, 300) -> (0, 50).
    assert walk_m(session, (20, 300), OUTSIDE) == pytest.approx(250 + 20, abs=0.05)


def test_network_rebuilt_when_gates_arrive_later(session: Session) -> None:
    lane = {
        "code": "L4",
        "highway": "footway",
        "name": None,
        "geometry": shapely.LineString([(20, 300), (150, 300)]),
    }
    link = {
        "code": "L5",
        "highway": "footway",
        "name": None,
        "geometry": shapely.LineString([(20, 300), (0, 300), (0, 50)]),
    }
    load(session, with_gates=False, extra_ways=[lane, link])
    # No gates yet: C1 is not walled, so the west lane walks straight in.
    assert walk_m(session, (150, 300), OUTSIDE) == pytest.approx(130 + 250 + 20, abs=0.05)
    import_frame(session, "gates", factories.community_layers()["gates"])
    assert np.isinf(walk_m(session, (150, 300), OUTSIDE))
    assert walk_m(session, INSIDE, OUTSIDE) == pytest.approx(450, abs=0.05)


def test_reimport_network_replaces_not_duplicates(session: Session) -> None:
    load(session)
    before = session.execute(text("SELECT count(*) FROM walk_edges")).scalar()
    report = import_ways(
        session, gpd.GeoDataFrame(factories.network_lines(), crs="EPSG:4326"), community="T1"
    )
    assert report.added == 0 and report.updated == 5
    assert session.execute(text("SELECT count(*) FROM walk_edges")).scalar() == before
    assert session.execute(text("SELECT count(*) FROM walk_ways")).scalar() == 5
