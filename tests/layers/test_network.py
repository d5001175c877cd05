"""Tests of layers.network: topology from shared vertices, walls cut, gates opened."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

import geopandas as gpd
import shapely
from shapely import LineString, Point, Polygon

from layers.errors import BadFile, CrsMismatch, InvalidGeometry
from layers.network import WalkNetwork, build_network

UTM = "EPSG:32649"
X0, Y0 = 500_000.0, 3_000_000.0  # metres, somewhere in UTM zone 49N

# The compound used throughout: a 40 m x 40 m square wall, x 20..60, y -20..20.
SQUARE = [(20, -20), (60, -20), (60, 20), (20, 20)]


def line(*pts: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


def point(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


def ways(*lines: LineString, codes: list[str] | None = None) -> gpd.GeoDataFrame:
    codes = codes or [f"w{i}" for i in range(len(lines))]
    return gpd.GeoDataFrame(
        {"code": codes, "highway": "footway", "name": None}, geometry=list(lines), crs=UTM
    )


def wall(corners: Sequence[tuple[float, float]] = SQUARE) -> gpd.GeoSeries:
    ring = Polygon([(X0 + x, Y0 + y) for x, y in corners]).exterior
    return gpd.GeoSeries([ring], crs=UTM)


def gates(**where: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": list(where)}, geometry=[point(x, y) for x, y in where.values()], crs=UTM
    )


def node_at(net: WalkNetwork, x: float, y: float) -> int:
    dist = net.nodes.distance(point(x, y))
    assert dist.min() < 1e-6, f"no node at ({x}, {y})"
    return int(dist.idxmin())


def distance(net: WalkNetwork, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Shortest walking distance between the nodes at two places (inf if unconnected)."""
    e, n = net.edges, len(net.nodes)
    graph = coo_matrix((e["length_m"], (e["source"], e["target"])), shape=(n, n)).tocsr()
    dist = dijkstra(graph, directed=False, indices=node_at(net, *a))
    return float(dist[node_at(net, *b)])


def degrees(net: WalkNetwork) -> np.ndarray[Any, Any]:
    ends = np.concatenate([net.edges["source"], net.edges["target"]])
    return np.bincount(ends, minlength=len(net.nodes))


def n_components(net: WalkNetwork) -> int:
    e, n = net.edges, len(net.nodes)
    graph = coo_matrix((np.ones(len(e)), (e["source"], e["target"])), shape=(n, n))
    return int(connected_components(graph, directed=False)[0])


# --- topology ---------------------------------------------------------------------------------


def test_t_junction_splits_into_three_edges() -> None:
    net = build_network(ways(line((0, 0), (50, 0), (100, 0)), line((50, 0), (50, 30))))
    edges = net.edges.sort_values("length_m")
    assert edges["length_m"].tolist() == pytest.approx([30.0, 50.0, 50.0])
    assert edges["way_code"].tolist() == ["w1", "w0", "w0"]
    assert len(net.nodes) == 4
    assert degrees(net)[node_at(net, 50, 0)] == 3
    assert net.nodes["node_id"].tolist() == [0, 1, 2, 3]
    assert net.edges["edge_id"].tolist() == [0, 1, 2]
    assert net.unconnected_gates == ()
    # Every edge runs from its source node to its target node.
    for row in net.edges.itertuples():
        coords = shapely.get_coordinates(row.geometry)
        assert Point(coords[0]).equals(net.nodes.geometry[row.source])
        assert Point(coords[-1]).equals(net.nodes.geometry[row.target])


def test_output_columns_and_types() -> None:
    net = build_network(ways(line((0, 0), (10, 0))))
    assert list(net.nodes.columns) == ["node_id", "component", "geometry"]
    assert list(net.edges.columns) == [
        "edge_id",
        "source",
        "target",
        "length_m",
        "way_code",
        "highway",
        "name",
        "gate_code",
        "geometry",
    ]
    for col in ("node_id", "component"):
        assert net.nodes[col].dtype == np.int64
    for col in ("edge_id", "source", "target"):
        assert net.edges[col].dtype == np.int64
    assert net.edges.crs == net.nodes.crs == UTM
    row = net.edges.iloc[0]
    assert (row["way_code"], row["highway"], row["name"], row["gate_code"]) == (
        "w0",
        "footway",
        None,
        None,
    )


def test_crossing_without_shared_vertex_is_not_a_junction() -> None:
    cross = ways(line((0, 0), (100, 0)), line((50, -50), (50, 50)))
    bridge = build_network(cross)
    assert len(bridge.edges) == 2
    assert len(bridge.nodes) == 4
    assert n_components(bridge) == 2
    assert bridge.nodes["component"].nunique() == 2

    noded = build_network(cross, node_crossings=True)
    assert len(noded.edges) == 4
    assert noded.edges["length_m"].tolist() == pytest.approx([50.0] * 4)
    assert degrees(noded)[node_at(noded, 50, 0)] == 4
    assert n_components(noded) == 1


def test_node_crossings_also_joins_an_end_touching_a_line() -> None:
    touching = ways(line((0, 0), (100, 0)), line((30, 0), (30, 40)))  # no vertex at (30, 0)
    assert n_components(build_network(touching)) == 2
    noded = build_network(touching, node_crossings=True)
    assert sorted(noded.edges["length_m"]) == pytest.approx([30.0, 40.0, 70.0])
    assert n_components(noded) == 1


def test_shared_interior_vertex_is_a_junction_and_loops_keep_their_node() -> None:
    net = build_network(
        ways(
            line((0, 0), (10, 0), (20, 0)),
            line((10, -10), (10, 0), (10, 10)),  # shares the vertex (10, 0)
            line((30, 0), (40, 0), (40, 10), (30, 0)),  # a closed loop
        )
    )
    assert degrees(net)[node_at(net, 10, 0)] == 4
    loop = net.edges[net.edges["way_code"] == "w2"]
    assert len(loop) == 1
    assert loop["source"].iloc[0] == loop["target"].iloc[0]
    assert loop["length_m"].iloc[0] == pytest.approx(20 + np.hypot(10, 10))


def test_vertices_within_the_node_tolerance_are_one_node() -> None:
    net = build_network(ways(line((0, 0), (10, 0)), line((10.002, 0.001), (10, 10))))
    assert len(net.nodes) == 3
    assert n_components(net) == 1


def test_multilinestrings_are_exploded_and_empty_rows_skipped() -> None:
    multi = shapely.MultiLineString([line((0, 0), (10, 0)), line((0, 5), (10, 5))])
    frame = gpd.GeoDataFrame(
        {"code": ["m", "empty", "none"]}, geometry=[multi, LineString(), None], crs=UTM
    )
    net = build_network(frame)
    assert net.edges["way_code"].tolist() == ["m", "m"]
    assert net.edges["highway"].tolist() == [None, None]


def test_random_grid_keeps_length_and_degrees() -> None:
    """Independent check: a jittered grid of segments with some missing, counted by hand."""
    rng = np.random.default_rng(7)
    n = 30
    xy = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1) * 25.0
    xy = xy + rng.normal(0, 2.0, xy.shape)
    segments, degree = [], np.zeros((n, n), dtype=int)
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n and rng.random() < 0.8:
                    a, b = xy[i, j], xy[i + di, j + dj]
                    mid = (a + b) / 2 + rng.normal(0, 1.0, 2)  # a bend, not a node
                    segments.append(line(tuple(a), tuple(mid), tuple(b)))
                    degree[i, j] += 1
                    degree[i + di, j + dj] += 1
    frame = ways(*segments)
    net = build_network(frame)
    assert net.edges["length_m"].sum() == pytest.approx(frame.length.sum(), rel=1e-12)
    assert len(net.edges) == len(segments)
    assert len(net.nodes) == int((degree > 0).sum())
    counted = np.sort(degree[degree > 0])
    assert np.array_equal(np.sort(degrees(net)), counted)


def test_long_lines_over_a_grid_need_node_crossings() -> None:
    n = 12
    rows = [line((0, 10 * k), (10 * (n - 1), 10 * k)) for k in range(n)]
    cols = [line((10 * k, 0), (10 * k, 10 * (n - 1))) for k in range(n)]
    net = build_network(ways(*rows, *cols), node_crossings=True)
    assert len(net.nodes) == n * n
    assert len(net.edges) == 2 * n * (n - 1)
    assert net.edges["length_m"].sum() == pytest.approx(2 * n * 10 * (n - 1))
    assert np.bincount(degrees(net)).tolist() == [0, 0, 4, 4 * (n - 2), (n - 2) ** 2]


# --- walls and gates --------------------------------------------------------------------------


def test_path_through_gate_gets_a_two_metre_gate_edge() -> None:
    path = ways(line((0, 0), (40, 0)))  # from outside to inside, through the west wall
    net = build_network(path, barriers=wall(), gates=gates(G1=(20, 0)))
    gate = net.edges[net.edges["gate_code"].notna()]
    assert gate["gate_code"].tolist() == ["G1"]
    assert gate["length_m"].tolist() == pytest.approx([2.0])
    assert gate["way_code"].tolist() == ["w0"]
    assert sorted(net.edges["length_m"]) == pytest.approx([2.0, 19.0, 19.0])
    assert distance(net, (0, 0), (40, 0)) == pytest.approx(40.0)
    assert n_components(net) == 1
    assert net.unconnected_gates == ()
    # Closing the gate (dropping its edge) parts the two sides.
    closed = WalkNetwork(net.nodes, net.edges[net.edges["gate_code"].isna()])
    assert distance(closed, (0, 0), (40, 0)) == np.inf


def test_gate_within_tolerance_of_the_crossing_opens_it() -> None:
    net = build_network(ways(line((0, 0), (40, 0))), barriers=wall(), gates=gates(G=(20, 12)))
    assert net.edges["gate_code"].tolist().count("G") == 1
    assert distance(net, (0, 0), (40, 0)) == pytest.approx(40.0)


def test_wall_without_gate_cuts_the_path() -> None:
    path = ways(line((0, 0), (40, 0)))
    net = build_network(path, barriers=wall())
    assert distance(net, (0, 0), (40, 0)) == np.inf
    assert net.edges["gate_code"].isna().all()
    # Distinct nodes half a metre either side of the wall; one metre of path removed.
    assert sorted(net.edges["length_m"]) == pytest.approx([19.5, 19.5])
    assert node_at(net, 19.5, 0) != node_at(net, 20.5, 0)
    assert net.nodes["component"].nunique() == 2


def test_path_crossing_elsewhere_goes_round_through_the_gate() -> None:
    # The gate at (20, 10) is 20 m from where the path crosses at (20, -10): the crossing is
    # cut, and the gate is joined to the nearest path point on each side of the wall.
    path = ways(line((0, -10), (40, -10)))
    net = build_network(path, barriers=wall(), gates=gates(G=(20, 10)))
    gate = net.edges[net.edges["gate_code"] == "G"]
    assert gate["length_m"].tolist() == pytest.approx([2.0])
    assert gate["way_code"].tolist() == [""]  # made for the gate, not from an input line
    connectors = net.edges[(net.edges["way_code"] == "") & net.edges["gate_code"].isna()]
    assert connectors["length_m"].tolist() == pytest.approx([20.0, 20.0])
    # 19 m to below the gate, 20 m up, 2 m through, 20 m down, 19 m on.
    assert distance(net, (0, -10), (40, -10)) == pytest.approx(80.0)
    assert net.unconnected_gates == ()


def test_gate_with_nothing_on_one_side_is_unconnected() -> None:
    path = ways(line((-30, -40), (-30, 40)))  # only outside the compound
    net = build_network(path, barriers=wall(), gates=gates(G=(20, 0), FAR=(500, 500)))
    assert net.unconnected_gates == ("G", "FAR")
    assert net.edges["gate_code"].isna().all()
    assert len(net.edges) == 1


def test_walls_may_be_given_as_polygons() -> None:
    compound = gpd.GeoDataFrame(
        {"name": ["小区"]}, geometry=[Polygon([(X0 + x, Y0 + y) for x, y in SQUARE])], crs=UTM
    )
    path = ways(line((0, 0), (40, 0)))
    assert distance(build_network(path, barriers=compound), (0, 0), (40, 0)) == np.inf
    net = build_network(path, barriers=compound, gates=gates(G=(20, 1)))
    assert distance(net, (0, 0), (40, 0)) == pytest.approx(40.0)


def test_gate_on_a_path_without_wall_becomes_its_gate_edge() -> None:
    net = build_network(ways(line((0, 0), (100, 0))), gates=gates(LIFT=(50, 0)))
    gate = net.edges[net.edges["gate_code"] == "LIFT"]
    assert gate["length_m"].tolist() == pytest.approx([2.0])
    assert sorted(net.edges["length_m"]) == pytest.approx([2.0, 49.0, 49.0])


def test_total_length_is_kept_but_for_the_wall_gaps() -> None:
    paths = ways(
        line((0, 0), (80, 0)),  # crosses twice
        line((40, -40), (40, 40)),  # crosses twice
        line((30, -30), (30, -25), (35, -25)),  # stays outside
        line((30, 5), (50, 5)),  # stays inside
    )
    paths = build_network(paths, node_crossings=True).edges.rename(columns={"way_code": "code"})
    net = build_network(paths, barriers=wall())
    assert net.edges["length_m"].sum() == pytest.approx(paths.length.sum() - 4 * 1.0)
    with_gate = build_network(paths, barriers=wall(), gates=gates(G=(20, 0)))
    assert with_gate.edges["length_m"].sum() == pytest.approx(paths.length.sum() - 3 * 1.0)


def test_touching_or_running_along_a_wall_is_not_a_crossing() -> None:
    touch = ways(line((0, 0), (20, 5), (0, 10)))  # a V touching the wall from outside
    along = ways(line((20, -30), (20, 30)))  # on the wall's west side itself
    round_end = ways(line((0, 0), (100, 0)))
    fence = gpd.GeoSeries([line((50, 0), (50, 50))], crs=UTM)  # ends on the path
    for frame, barriers in ((touch, wall()), (along, wall()), (round_end, fence)):
        net = build_network(frame, barriers=barriers)
        assert len(net.edges) == 1
        assert net.edges["length_m"].sum() == pytest.approx(frame.length.sum())


def test_running_along_a_wall_then_leaving_on_the_other_side_is_cut() -> None:
    net = build_network(ways(line((20, -30), (20, 0), (40, 0))), barriers=wall())
    assert distance(net, (20, -30), (40, 0)) == np.inf
    # Cut from half a metre before the wall to half a metre after the shared stretch.
    assert sorted(net.edges["length_m"]) == pytest.approx([9.5, 19.5])


def test_crossing_at_a_wall_corner_and_at_a_split_wall() -> None:
    corner = build_network(ways(line((0, -40), (40, 0))), barriers=wall())
    assert n_components(corner) == 2
    split = gpd.GeoSeries([line((50, -50), (50, 0)), line((50, 0), (50, 50))], crs=UTM)
    net = build_network(ways(line((0, 0), (100, 0))), barriers=split)
    assert n_components(net) == 2


def test_osm_style_path_through_a_gate_vertex_of_the_wall() -> None:
    # OSM: the path and the wall share the gate node; the path may be split there.
    one_way = ways(line((0, 0), (20, 0), (40, 0)))
    split = ways(line((0, 0), (20, 0)), line((20, 0), (40, 0)))
    osm_wall = wall([(20, -20), (60, -20), (60, 20), (20, 20), (20, 0)])
    for frame in (one_way, split):
        net = build_network(frame, barriers=osm_wall, gates=gates(G=(20, 0)))
        gate = net.edges[net.edges["gate_code"] == "G"]
        assert gate["length_m"].tolist() == pytest.approx([2.0])
        assert distance(net, (0, 0), (40, 0)) == pytest.approx(40.0)
        shut = build_network(frame, barriers=osm_wall)
        assert distance(shut, (0, 0), (40, 0)) == np.inf
        assert shut.edges["length_m"].sum() == pytest.approx(39.0)


def test_node_on_the_wall_with_a_junction_inside_keeps_the_inside_together() -> None:
    frame = ways(line((0, 0), (20, 0)), line((20, 0), (40, 0)), line((20, 0), (30, 10)))
    net = build_network(frame, barriers=wall())
    assert distance(net, (40, 0), (30, 10)) == pytest.approx(20 + np.hypot(10, 10))
    assert n_components(net) == 2
    frame = ways(
        line((0, 0), (20, 0)),
        line((20, 0), (0, 10)),
        line((20, 0), (40, 0)),
        line((20, 0), (30, 10)),
    )
    net = build_network(frame, barriers=wall())
    assert distance(net, (0, 0), (0, 10)) < np.inf
    assert distance(net, (40, 0), (30, 10)) < np.inf
    assert distance(net, (0, 0), (40, 0)) == np.inf


def test_compound_walls_leak_nowhere() -> None:
    """Independent check: with walls and no gates, no edge joins places the walls part."""
    rng = np.random.default_rng(3)
    n, step = 40, 20.0
    segs = []
    for i in range(n):
        for j in range(n):
            if i + 1 < n:
                segs.append(line((i * step, j * step), ((i + 1) * step, j * step)))
            if j + 1 < n:
                segs.append(line((i * step, j * step), (i * step, (j + 1) * step)))
    boxes = []
    for cx, cy in rng.uniform(50, n * step - 50, (30, 2)):
        w, h = rng.uniform(25, 70, 2)
        boxes.append(
            [
                (cx - w / 2, cy - h / 2),
                (cx + w / 2, cy - h / 2),
                (cx + w / 2, cy + h / 2),
                (cx - w / 2, cy + h / 2),
            ]
        )
    walls = gpd.GeoSeries(
        [Polygon([(X0 + x, Y0 + y) for x, y in b]).exterior for b in boxes], crs=UTM
    )
    frame = ways(*segs)
    net = build_network(frame, barriers=walls)
    inside = np.zeros((len(net.nodes), len(boxes)), dtype=bool)
    for k, b in enumerate(boxes):
        poly = Polygon([(X0 + x, Y0 + y) for x, y in b])
        inside[:, k] = net.nodes.within(poly).to_numpy()
    s, t = net.edges["source"].to_numpy(), net.edges["target"].to_numpy()
    assert (inside[s] == inside[t]).all()
    # At most a metre goes per crossing (less where a crossing is near a path's end).
    all_walls = shapely.MultiLineString(list(walls))
    crossings = len(shapely.get_coordinates(frame.intersection(all_walls)))
    removed = frame.length.sum() - net.edges["length_m"].sum()
    assert 0.5 * crossings < removed <= crossings + 1e-6

    # With a gate on every wall, every compound is reachable again.
    gate_pts = [shapely.line_interpolate_point(ring, 0.3, normalized=True) for ring in walls]
    gated = build_network(
        frame,
        barriers=walls,
        gates=gpd.GeoDataFrame(
            {"code": [f"g{k}" for k in range(len(walls))]}, geometry=gate_pts, crs=UTM
        ),
    )
    assert gated.unconnected_gates == ()
    assert set(gated.edges["gate_code"].dropna()) == {f"g{k}" for k in range(len(walls))}


def test_twenty_thousand_segments_build_quickly() -> None:
    rng = np.random.default_rng(11)
    n, step = 100, 20.0
    gx, gy = np.meshgrid(np.arange(n) * step, np.arange(n) * step, indexing="ij")
    pts = np.stack([gx + X0, gy + Y0], -1) + rng.normal(0, 1.0, (n, n, 2))
    h = np.stack([pts[:-1, :], pts[1:, :]], -2).reshape(-1, 2, 2)
    v = np.stack([pts[:, :-1], pts[:, 1:]], -2).reshape(-1, 2, 2)
    segs = np.asarray(shapely.linestrings(np.concatenate([h, v])))
    frame = gpd.GeoDataFrame({"code": np.arange(len(segs)).astype(str)}, geometry=segs, crs=UTM)
    centre = np.array([X0, Y0]) + rng.uniform(50, (n - 1) * step - 50, (300, 2))
    size = rng.uniform(30, 80, (300, 2))
    areas = np.asarray(shapely.box(*(centre - size / 2).T, *(centre + size / 2).T))
    rings = np.asarray(shapely.boundary(areas))
    walls = gpd.GeoSeries(rings, crs=UTM)
    where = shapely.line_interpolate_point(np.repeat(rings, 2), rng.random(600), normalized=True)
    gate_frame = gpd.GeoDataFrame({"code": [f"g{i}" for i in range(600)]}, geometry=where, crs=UTM)
    started = time.perf_counter()
    net = build_network(frame, barriers=walls, gates=gate_frame)
    assert time.perf_counter() - started < 5.0
    assert len(frame) == 19_800
    assert len(net.unconnected_gates) < 30
    assert net.edges["gate_code"].nunique() == 600 - len(net.unconnected_gates)
    assert (net.nodes["component"] == 0).mean() > 0.9
    # Only gate edges join the inside of a compound to its outside.
    nodes = np.asarray(net.nodes.geometry.array)
    inside = np.zeros((len(nodes), len(areas)), dtype=bool)
    i, k = shapely.STRtree(areas).query(nodes, predicate="within")
    inside[i, k] = True
    on_wall = np.zeros(len(nodes), dtype=bool)
    on_wall[shapely.STRtree(rings).query(nodes, predicate="dwithin", distance=0.01)[0]] = True
    s, t = net.edges["source"].to_numpy(), net.edges["target"].to_numpy()
    plain = net.edges["gate_code"].isna().to_numpy() & ~on_wall[s] & ~on_wall[t]
    assert (inside[s] == inside[t]).all(axis=1)[plain].all()


# --- bad input --------------------------------------------------------------------------------


def test_geographic_or_missing_crs_is_refused() -> None:
    frame = ways(line((0, 0), (10, 0)))
    with pytest.raises(InvalidGeometry, match="投影"):
        build_network(frame.to_crs("EPSG:4326"))
    with pytest.raises(InvalidGeometry, match="坐标系"):
        build_network(frame.set_crs(None, allow_override=True))
    with pytest.raises(CrsMismatch):
        build_network(frame, barriers=wall().to_crs("EPSG:32650"))


def test_wrong_geometry_and_missing_code_are_refused() -> None:
    frame = gpd.GeoDataFrame(
        {"code": ["a", "b"]}, geometry=[line((0, 0), (1, 0)), point(0, 0)], crs=UTM
    )
    with pytest.raises(InvalidGeometry) as info:
        build_network(frame)
    assert info.value.loc == ("ways", "row", 2, "geometry")
    with pytest.raises(BadFile):
        build_network(frame.drop(columns="code"))
    bad_gates = gpd.GeoDataFrame({"code": ["g"]}, geometry=[line((0, 0), (1, 0))], crs=UTM)
    with pytest.raises(InvalidGeometry):
        build_network(ways(line((0, 0), (10, 0))), gates=bad_gates)


def test_empty_input_gives_an_empty_network() -> None:
    net = build_network(ways().iloc[:0], barriers=wall(), gates=gates(G=(20, 0)))
    assert len(net.nodes) == len(net.edges) == 0
    assert net.unconnected_gates == ("G",)
