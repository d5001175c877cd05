"""Tests of gis_api.analysis.walknet on the hand-checked network and against networkx (no DB).

The hand network is drawn in tests/analysis/hand_network.py.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest

import shapely

from gis_api.analysis import errors
from gis_api.analysis import walknet as wn
from tests.analysis.hand_network import (
    BUILDING_XY,
    COMPOUND,
    EDGES,
    NODES,
    POINT_XY,
    X0,
    Y0,
    hand_edges,
    split_graph,
    xy,
)


def hand_graph(closed: tuple[str, ...] = ("G-E",)) -> wn.WalkGraph:
    e = hand_edges()
    return wn.build_graph(
        e["source"],
        e["target"],
        e["length_m"],
        e["geometry"],
        gate=e["gate"],
        closed_gates=closed,
        walled=[COMPOUND],
    )


def coords(named: dict[str, tuple[float, float]]) -> np.ndarray:
    return np.array([xy(p) for p in named.values()])


# --- the graph --------------------------------------------------------------------------------


def test_graph_maps_ids_keeps_shortest_parallel_and_drops_closed_gates() -> None:
    g = hand_graph(closed=("G-E",))
    assert g.n_nodes == len(NODES)
    assert set(g.node_id.tolist()) == set(NODES)
    i42, i7 = (int(np.flatnonzero(g.node_id == n)[0]) for n in (42, 7))
    assert g.csgraph[i42, i7] == pytest.approx(60.0)  # not the 84.85 m detour
    assert len(g.edge_u) == len(EDGES) - 1
    kept_gates = hand_edges()["gate"][g.edge_row]
    assert "G-E" not in kept_gates.tolist()
    assert g.edge_gate.sum() == 1
    inside = g.edge_zone == 0
    lanes = {(501, 600), (600, 700)}
    got = {
        (int(g.node_id[g.edge_u[k]]), int(g.node_id[g.edge_v[k]])) for k in np.flatnonzero(inside)
    }
    assert got == lanes
    assert g.reach_ratio == pytest.approx(1.0)


def test_zero_length_edge_still_joins() -> None:
    geoms = shapely.linestrings([[[0, 0], [10, 0]], [[10, 0], [10, 0]], [[10, 0], [20, 0]]])
    g = wn.build_graph([1, 2, 3], [2, 3, 4], [10.0, 0.0, 10.0], geoms)
    src = wn.snap_points(g, [[0, 0]])
    dst = wn.snap_points(g, [[20, 0]])
    assert wn.nearest_source_distances(g, src, dst).walk_m[0] == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"length_m": [1.0]}, "长度不一致"),
        ({"length_m": [-1.0, 1.0]}, "length_m"),
        ({"geometry": [shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 0)])]}, "LineString"),
        ({"source": [0.5, 1.5]}, "整数"),
    ],
)
def test_build_graph_rejects_bad_arrays(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "source": [1, 2],
        "target": [2, 3],
        "length_m": [1.0, 1.0],
        "geometry": shapely.linestrings([[[0, 0], [1, 0]], [[1, 0], [2, 0]]]),
    }
    args.update(kwargs)
    with pytest.raises(errors.GeometryError, match=match):
        wn.build_graph(args["source"], args["target"], args["length_m"], args["geometry"])


# --- snapping ---------------------------------------------------------------------------------


def test_snapping_respects_walls_and_measures_the_access_leg() -> None:
    g = hand_graph()
    b = wn.snap_points(g, coords(BUILDING_XY))
    np.testing.assert_allclose(b.access_m, [20.0, 30.0, 60.0, 30.0])
    np.testing.assert_allclose(
        b.xy, [xy(p) for p in [(50, 60), (92, 60), (110, 115), (-60, -10)]], atol=1e-9
    )
    np.testing.assert_array_equal(b.zone, [0, 0, -1, -1])
    assert not b.unrestricted.any()
    # Without walls, B2 takes the east street 18 m away and B3 the lane top 55 m away.
    e = hand_edges()
    free = wn.build_graph(e["source"], e["target"], e["length_m"], e["geometry"], gate=e["gate"])
    nb = wn.snap_points(free, coords(BUILDING_XY))
    np.testing.assert_allclose(nb.access_m, [20.0, 18.0, 55.0, 30.0])


def test_snapping_never_joins_a_gate_edge() -> None:
    g = hand_graph(closed=())
    s = wn.snap_points(g, [xy((100.5, 60.2)), xy((50.3, 0.0))])
    assert not g.edge_gate[s.edge].any()


def test_snapping_falls_back_and_flags_when_nothing_on_its_side() -> None:
    e = hand_edges()
    empty_compound = shapely.box(X0 - 400, Y0 + 300, X0 - 300, Y0 + 400)  # no lanes inside
    g = wn.build_graph(
        e["source"],
        e["target"],
        e["length_m"],
        e["geometry"],
        gate=e["gate"],
        walled=[COMPOUND, empty_compound],
    )
    s = wn.snap_points(g, [xy((-350, 350)), xy((-60, -40)), xy((-1000, 2000))])
    np.testing.assert_array_equal(s.unrestricted, [True, False, True])
    assert s.zone[0] == 1
    np.testing.assert_allclose(s.xy[0], xy((-200, -10)))  # nearest edge of all: the street end


def test_snap_to_nodes_has_no_access_leg() -> None:
    g = hand_graph()
    s = wn.snap_to_nodes(g, [xy((48, 62)), xy((-95, -12))])
    ends = np.where(s.t == 0, g.edge_u[s.edge], g.edge_v[s.edge])
    assert g.node_id[ends].tolist() == [600, 9001]
    np.testing.assert_allclose(s.access_m, 0.0)
    np.testing.assert_allclose(s.xy[0], xy((50, 60)))


# --- distances --------------------------------------------------------------------------------


def _walks(closed: tuple[str, ...], limit_m: float | None = None) -> np.ndarray:
    g = hand_graph(closed)
    src = wn.snap_points(g, [xy(POINT_XY["SP1"])])
    dst = wn.snap_points(g, coords(BUILDING_XY))
    res = wn.nearest_source_distances(g, src, dst, limit_m=limit_m)
    assert set(res.source[np.isfinite(res.walk_m)].tolist()) <= {0}
    return res.walk_m


def test_walk_through_the_open_gate() -> None:
    # B1: 20 + 59 + 2 + 9 + 150 + 10; B2: 30 + 42 + 59 + 2 + 9 + 150 + 10;
    # B3: 60 + 55 + 70 + 60 + 150 + 10; B4 on SP1's own edge: 10 + 40 + 30.
    np.testing.assert_allclose(_walks(("G-E",)), [250.0, 302.0, 405.0, 80.0], atol=1e-9)


def test_big_loop_when_the_near_gate_is_closed() -> None:
    # B1: 20 + 49 + 2 + 9 + 70 + 60 + 150 + 10; B2: 30 + 7 + 2 + 9 + 70 + 60 + 150 + 10.
    np.testing.assert_allclose(_walks(("G-S",)), [370.0, 338.0, 405.0, 80.0], atol=1e-9)


def test_unreachable_when_both_gates_are_closed() -> None:
    walk = _walks(("G-S", "G-E"))
    assert np.isinf(walk[:2]).all()
    np.testing.assert_allclose(walk[2:], [405.0, 80.0])


def test_limit_cuts_exactly() -> None:
    walk = _walks(("G-E",), limit_m=302.0)
    np.testing.assert_allclose(walk, [250.0, 302.0, np.inf, 80.0])
    walk = _walks(("G-E",), limit_m=301.999)
    assert np.isinf(walk[1])


def test_same_edge_features_reach_each_other_directly() -> None:
    line = shapely.linestrings([[[0, 0], [1000, 0]]])
    g = wn.build_graph([5], [6], [1000.0], line)
    src = wn.snap_points(g, [[300, 10]])
    dst = wn.snap_points(g, [[420, -5], [100, 0]])
    res = wn.nearest_source_distances(g, src, dst)
    np.testing.assert_allclose(res.walk_m, [10 + 120 + 5, 10 + 200])
    m = wn.distances_within(g, src, dst, limit_m=150)
    assert m.nnz == 1
    assert m[0, 0] == pytest.approx(135.0)


def test_nearest_source_picks_the_nearest_of_several() -> None:
    g = hand_graph(("G-E",))
    src = wn.snap_points(g, coords(POINT_XY))  # SP1 and SP3 both open here
    dst = wn.snap_points(g, coords(BUILDING_XY))
    res = wn.nearest_source_distances(g, src, dst)
    # SP3 joins the east street at (110,130): B3 = 60 + 15 + 50.
    np.testing.assert_allclose(res.walk_m, [250.0, 302.0, 125.0, 80.0])
    np.testing.assert_array_equal(res.source, [0, 0, 1, 0])


def test_unsnapped_sources_and_targets_are_unreachable() -> None:
    g = hand_graph()
    src = wn.snap_points(g, [xy(POINT_XY["SP1"])])
    lost = wn.Snapped(
        np.array([-1]),
        np.array([np.nan]),
        np.array([np.nan]),
        np.full((1, 2), np.nan),
        np.array([-1]),
        np.array([False]),
    )
    assert np.isinf(wn.nearest_source_distances(g, src, lost).walk_m).all()
    assert np.isinf(wn.nearest_source_distances(g, lost, src).walk_m).all()


# --- reach ------------------------------------------------------------------------------------


def test_reached_segments_cut_partial_edges_at_the_remaining_distance() -> None:
    g = hand_graph(("G-E",))
    src = wn.snap_points(g, [xy(POINT_XY["SP1"])])
    reach = wn.reached_segments(g, src, limit_m=300.0)
    segs = reach.geometry
    assert (reach.owner == 0).all()
    np.testing.assert_allclose(shapely.length(segs), reach.end_m - reach.start_m)
    by_edge = {}
    for seg in segs:
        c = shapely.get_coordinates(seg) - [X0, Y0]
        by_edge[(tuple(c[0].round(6)), tuple(c[-1].round(6)))] = shapely.length(seg)
    # At n3 (110,-10) 80 m remain: the street towards (300,-10) is cut at (190,-10).
    assert by_edge[((110, -10), (190, -10))] == pytest.approx(80.0)
    # North on the east street 70 m to n10, then 10 m more.
    assert by_edge[((110, 60), (110, 70))] == pytest.approx(10.0)
    # The lane L2 from n7 (reached at 230 m) for 49 m, whole; the closed gate not at all.
    assert by_edge[((50, 60), (99, 60))] == pytest.approx(49.0)
    assert not any(abs(k[0][0] - 99) < 1e-6 and abs(k[1][0] - 101) < 1e-6 for k in by_edge)
    # SP1's own edge: west to the street end (100 m) and east to n2 (150 m), merged.
    assert by_edge[((-200, -10), (50, -10))] == pytest.approx(250.0)
    total = float(shapely.length(segs).sum())
    # 250 + 60 + 80 + 9 + 2 + 59 + 49 + 70 + 10 + 9 + detour 84.85
    assert total == pytest.approx(250 + 60 + 80 + 9 + 2 + 59 + 49 + 70 + 10 + 9 + 60 * 2**0.5)


def test_reached_segments_follow_bends() -> None:
    line = shapely.linestrings([[[0, 0], [100, 0], [100, 100], [0, 100]]])
    g = wn.build_graph([1], [2], [300.0], line)
    src = wn.snap_points(g, [[50, -1]])
    reach = wn.reached_segments(g, src, limit_m=121.0)
    assert len(reach) == 1
    assert not reach.whole[0]
    np.testing.assert_allclose((reach.start_m[0], reach.end_m[0]), (0.0, 170.0))
    np.testing.assert_allclose(
        shapely.get_coordinates(reach.geometry[0]), [[0, 0], [100, 0], [100, 70]]
    )


def test_reached_segments_within_a_limit_shorter_than_any_edge() -> None:
    # 1 m access leg, 5 m limit: only 4 m either side of the snap point, no node reached.
    line = shapely.linestrings([[[0, 0], [100, 0]]])
    g = wn.build_graph([1], [2], [100.0], line)
    src = wn.snap_points(g, [[50, -1]])
    reach = wn.reached_segments(g, src, limit_m=5.0)
    assert len(reach) == 1
    np.testing.assert_allclose((reach.start_m[0], reach.end_m[0]), (46.0, 54.0))


def test_reached_segments_of_a_source_beyond_the_limit_are_empty() -> None:
    g = hand_graph()
    src = wn.snap_points(g, [xy((-100, -500))])  # 490 m from the street
    assert len(wn.reached_segments(g, src, limit_m=300.0)) == 0


# --- against networkx -------------------------------------------------------------------------


def random_grid(seed: int = 3, n: int = 25) -> tuple[wn.WalkGraph, np.ndarray]:
    rng = np.random.default_rng(seed)
    pts = np.array(
        [
            (i * 90 + rng.uniform(-25, 25), j * 90 + rng.uniform(-25, 25))
            for j in range(n)
            for i in range(n)
        ]
    )
    s, t = [], []
    for j in range(n):
        for i in range(n):
            k = j * n + i
            if i + 1 < n and rng.random() < 0.85:
                s.append(k)
                t.append(k + 1)
            if j + 1 < n and rng.random() < 0.85:
                s.append(k)
                t.append(k + n)
    src, dst = np.array(s), np.array(t)
    mids = (pts[src] + pts[dst]) / 2 + rng.uniform(-15, 15, (len(src), 2))
    geoms = shapely.linestrings(np.stack([pts[src], mids, pts[dst]], axis=1))
    length = np.asarray(shapely.length(geoms)) * rng.uniform(1.0, 1.3, len(src))
    g = wn.build_graph(src * 13 + 5, dst * 13 + 5, length, geoms)
    return g, rng.uniform(0, (n - 1) * 90, (4000, 2))


def test_nearest_and_within_match_networkx_on_a_random_grid() -> None:
    g, pts = random_grid()
    src = wn.snap_points(g, pts[:60])
    dst = wn.snap_points(g, pts[60:])
    G = split_graph(g, {"s": src, "t": dst})
    ref = nx.multi_source_dijkstra_path_length(G, [("s", i) for i in range(len(src))])
    expect = np.array([ref.get(("t", j), np.inf) for j in range(len(dst))])
    got = wn.nearest_source_distances(g, src, dst)
    np.testing.assert_allclose(got.walk_m, expect, rtol=0, atol=1e-6)

    limit = 700.0
    m = wn.distances_within(g, src, dst, limit_m=limit, chunk=7)
    for i in range(len(src)):
        d = nx.single_source_dijkstra_path_length(G, ("s", i), cutoff=limit)
        row = m[[i]].tocoo()
        mine = dict(zip(row.coords[1].tolist(), row.data.tolist(), strict=True))
        theirs = {j: d[("t", j)] for j in range(len(dst)) if ("t", j) in d}
        assert mine.keys() == theirs.keys()
        for j, w in theirs.items():
            assert mine[j] == pytest.approx(w, abs=1e-6)


def test_distances_within_rejects_a_bad_limit() -> None:
    g, pts = random_grid(n=4)
    s = wn.snap_points(g, pts[:3])
    with pytest.raises(errors.OptionError, match="limit_m"):
        wn.distances_within(g, s, s, limit_m=float("nan"))


def test_reach_of_many_sources_equals_reach_of_each() -> None:
    g, pts = random_grid()
    src = wn.snap_points(g, pts[:40])
    together = wn.reached_segments(g, src, limit_m=400.0, chunk=6)
    for i in range(len(src)):
        alone = wn.reached_segments(g, src.take([i]), limit_m=400.0)
        mine = together.owner == i
        assert mine.sum() == len(alone)
        np.testing.assert_allclose(
            np.sort(together.end_m[mine] - together.start_m[mine]),
            np.sort(alone.end_m - alone.start_m),
        )


def test_reached_parts_end_exactly_at_the_limit() -> None:
    g, pts = random_grid()
    src = wn.snap_points(g, pts[:5])
    reach = wn.reached_segments(g, src, limit_m=500.0)
    part = ~reach.whole
    assert part.any()
    # Walk to each partial end from its source independently: exactly the limit, or the end
    # of the edge (when reached from the other side).
    G = split_graph(g, {"s": src})
    for k in np.flatnonzero(part)[:40]:
        e, i = int(reach.edge[k]), int(reach.owner[k])
        d = nx.single_source_dijkstra_path_length(G, ("s", i))
        u, v = ("n", int(g.edge_u[e])), ("n", int(g.edge_v[e]))
        length = float(g.edge_length_m[e])
        if reach.start_m[k] == 0 and e != src.edge[i]:
            assert d[u] + reach.end_m[k] == pytest.approx(500.0)
        elif reach.end_m[k] == pytest.approx(length) and e != src.edge[i]:
            assert d[v] + (length - reach.start_m[k]) == pytest.approx(500.0)
