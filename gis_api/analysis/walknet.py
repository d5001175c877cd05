"""Walking distances on a street network: a CSR graph, snapping, nearest source and reach.

The core of the 15-minute service circle (docs/domain.md, "15 分钟党群服务圈"; GB 50180-2018),
on numpy arrays, shapely geometry arrays and a scipy sparse graph; the GeoDataFrame adapter is
:mod:`gis_api.analysis.service_circle`. Everything is in a projected CRS in metres.

A feature (a building, a service point) joins the network at the nearest point of its nearest
edge; the straight *access leg* from the feature to that point is walked too and counts. A
feature snapped at fraction ``t`` along edge ``(u, v)`` of length ``L`` reaches ``u`` after
``t * L`` and ``v`` after ``(1 - t) * L``; two features on the same edge also reach each other
directly, ``|t1 - t2| * L`` apart. Walls constrain snapping: a feature inside a walled compound
joins only that compound's lanes, a feature outside only the streets outside (GB 50180's walk is
"through open gates"; the closed gate of docs/domain.md that forces "a big loop").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_array, csr_array
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

import shapely

from gis_api.analysis.errors import (
    GeometryError,
    OptionError,
)

__all__ = [
    "SNAP_SEARCH_M",
    "NearestSource",
    "Reach",
    "Snapped",
    "WalkGraph",
    "build_graph",
    "distances_within",
    "nearest_source_distances",
    "reached_segments",
    "snap_points",
    "snap_to_nodes",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Geoms = NDArray[np.object_]

#: How far a feature looks for an edge on its own side of a wall before it takes any edge.
SNAP_SEARCH_M = 300.0

# Sources run together in one Dijkstra call on one local subgraph; measured on a 50,000
# building city (bench/README.md): smaller chunks cut the subgraph, larger ones the calls.
_CHUNK = 64
# ...and a chunk may spread over at least this much, so that short limits make few calls.
_MIN_SPREAD_M = 250.0
# Added to every Dijkstra limit so that round-off in a sum never drops a node at the limit;
# the exact limit is applied to the final sums.
_LIMIT_SLACK = 1e-9
_LINESTRING = 1


# --- the graph --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkGraph:
    """An undirected walking network as a scipy CSR graph plus its edges' geometry.

    Attributes
    ----------
    csgraph
        ``(n, n)`` symmetric CSR matrix of metres; of parallel edges only the shortest is
        kept; closed gates' edges are left out. Explicit zeros are edges (scipy csgraph).
    node_id
        The input id of each node ``0..n-1``.
    node_xy
        ``(n, 2)`` node coordinates, from the ends of the edge lines.
    edge_u, edge_v, edge_length_m, edge_geometry
        The kept edges: node indices, walking metres and LineStrings from ``u`` to ``v``.
    edge_row
        Position of each kept edge in the input arrays.
    edge_gate
        True on an edge through a gate; features never snap to one.
    edge_zone
        Index into ``zones`` of the walled compound holding the edge's midpoint, -1 outside.
    zones
        Walled compound polygons.
    reach_ratio, reach_slack_m
        A walk of ``w`` metres ends within ``w / reach_ratio + reach_slack_m`` metres (straight
        line) of where it began: the bound that lets a search keep only nearby nodes.
        ``reach_ratio`` is 1 when every edge is at least as long as its line; 0 turns the
        bound off.
    """

    csgraph: Any
    node_id: Ints
    node_xy: Floats
    edge_u: Ints
    edge_v: Ints
    edge_length_m: Floats
    edge_geometry: Geoms
    edge_row: Ints
    edge_gate: Bools
    edge_zone: Ints
    zones: Geoms
    reach_ratio: float
    reach_slack_m: float

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_id)

    def reach_radius_m(self, limit_m: float) -> float:
        """Return how far (straight line) a walk of ``limit_m`` metres can end from its start."""
        if self.reach_ratio <= 0 or not np.isfinite(limit_m):
            return float("inf")
        return limit_m / self.reach_ratio + self.reach_slack_m + 1e-6


def build_graph(
    source: ArrayLike,
    target: ArrayLike,
    length_m: ArrayLike,
    geometry: ArrayLike,
    *,
    gate: ArrayLike | None = None,
    closed_gates: Iterable[str] = (),
    walled: ArrayLike | None = None,
) -> WalkGraph:
    """Build the walking graph from an edge table.

    Parameters
    ----------
    source, target
        Integer node ids of each edge's ends (any ids, not necessarily ``0..n-1``).
    length_m
        Walking metres of each edge (finite, >= 0).
    geometry
        LineStrings from the source node to the target node, in a projected CRS in metres.
    gate
        Gate code of the edge through a gate, None (or NaN) elsewhere.
    closed_gates
        Gate codes whose edges are left out: the gate is shut.
    walled
        Polygons of walled compounds; an edge belongs to the compound holding its midpoint.

    Returns
    -------
    WalkGraph

    Raises
    ------
    GeometryError
        If the arrays differ in length, ids are not integers, a length is negative or not
        finite, or a geometry is not a non-empty LineString.

    Examples
    --------
    >>> import shapely
    >>> g = build_graph([10, 20], [20, 30], [5.0, 7.0],
    ...                 shapely.linestrings([[[0, 0], [5, 0]], [[5, 0], [12, 0]]]))
    >>> g.n_nodes, float(g.csgraph[0, 1]), float(g.csgraph[1, 2])
    (3, 5.0, 7.0)
    """
    src, tgt, length, geoms = _edge_arrays(source, target, length_m, geometry)
    m = len(src)
    is_gate, closed = _gate_flags(gate, closed_gates, m)
    node_id, inverse = np.unique(np.concatenate([src, tgt]), return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    u_all, v_all = inverse[:m], inverse[m:]
    n = len(node_id)

    coords, line_of = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(line_of, minlength=m)
    first = np.cumsum(counts) - counts
    last = first + counts - 1
    node_xy = np.full((n, 2), np.nan)
    node_xy[v_all] = coords[last]
    node_xy[u_all] = coords[first]

    kept = np.flatnonzero(~closed)
    u, v, ell = u_all[kept], v_all[kept], length[kept]
    mid_xy, geom_len = _midpoints(coords, line_of, first, last)
    off = np.maximum(
        np.hypot(*(coords[first[kept]] - node_xy[u]).T),
        np.hypot(*(coords[last[kept]] - node_xy[v]).T),
    )
    chord = np.hypot(*(node_xy[u] - node_xy[v]).T)
    ratio, slack = _reach_bound(ell, geom_len[kept], chord, off)
    zones = _polygons(walled)
    zone = np.full(len(kept), -1, dtype=np.int64)
    if len(zones) and len(kept):
        zone = _zone_of(zones, geoms[kept], mid_xy[kept])
    return WalkGraph(
        csgraph=_csr(n, u, v, ell),
        node_id=node_id.astype(np.int64),
        node_xy=node_xy,
        edge_u=u,
        edge_v=v,
        edge_length_m=ell,
        edge_geometry=geoms[kept],
        edge_row=kept.astype(np.int64),
        edge_gate=is_gate[kept],
        edge_zone=zone,
        zones=zones,
        reach_ratio=ratio,
        reach_slack_m=slack,
    )


def _edge_arrays(
    source: ArrayLike, target: ArrayLike, length_m: ArrayLike, geometry: ArrayLike
) -> tuple[Ints, Ints, Floats, Geoms]:
    """Return the edge columns as arrays, refusing what cannot be routed."""
    src = np.asarray(source)
    tgt = np.asarray(target)
    length = np.asarray(length_m, dtype=np.float64)
    geoms = np.asarray(geometry, dtype=object).reshape(-1)
    m = len(src)
    if not len(tgt) == len(length) == len(geoms) == m:
        msg = (
            f"路网边表各列长度不一致：source {m}、target {len(tgt)}、"
            f"length_m {len(length)}、geometry {len(geoms)}"
        )
        raise GeometryError(msg, loc=("edges",))
    if m and not (np.issubdtype(src.dtype, np.integer) and np.issubdtype(tgt.dtype, np.integer)):
        msg = f"路网边表的 source/target 应为整数节点编号，实际类型为 {src.dtype}/{tgt.dtype}"
        raise GeometryError(msg, loc=("edges", "source"))
    bad = ~np.isfinite(length) | (length < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = f"路网边表第 {i + 1} 行的 length_m 为 {length[i]}，应为有限的非负米数"
        raise GeometryError(msg, loc=("edges", "row", i + 1, "length_m"))
    wrong = shapely.is_missing(geoms) | (shapely.get_type_id(geoms) != _LINESTRING)
    wrong |= shapely.is_empty(geoms)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        msg = f"路网边表第 {i + 1} 行的几何不是非空的线（LineString）：{_describe(geoms[i])}"
        raise GeometryError(msg, loc=("edges", "row", i + 1, "geometry"))
    return src.astype(np.int64), tgt.astype(np.int64), length, geoms


def _gate_flags(gate: ArrayLike | None, closed_gates: Iterable[str], m: int) -> tuple[Bools, Bools]:
    """Return which edges pass a gate, and which pass a closed one."""
    if gate is None:
        return np.zeros(m, dtype=np.bool_), np.zeros(m, dtype=np.bool_)
    gates = pd.Series(np.asarray(gate, dtype=object).reshape(-1), dtype=object)
    is_gate = gates.notna().to_numpy()
    shut = {str(code) for code in closed_gates}
    closed = is_gate & gates.astype(str).isin(shut).to_numpy() if shut else np.zeros_like(is_gate)
    return is_gate, closed


def _reach_bound(ell: Floats, geom_len: Floats, chord: Floats, off: Floats) -> tuple[float, float]:
    """Return how much shorter than its line a walk can be, and the ends' mismatch.

    Walking ``w`` metres moves at most ``w / ratio`` metres along lines and node to node;
    ``slack`` allows for edge ends that do not sit exactly on their node.
    """
    ratio = 1.0
    for span in (geom_len, chord):
        pos = span > 0
        if pos.any():
            ratio = min(ratio, float(np.min(ell[pos] / span[pos])))
    slack = 2.0 * float(off.max(initial=0.0))
    return max(ratio, 0.0), slack


def _describe(geom: Any) -> str:
    if geom is None or shapely.is_missing(geom):
        return "缺失"
    if shapely.is_empty(geom):
        return f"空的 {geom.geom_type}"
    return str(geom.geom_type)


def _polygons(walled: ArrayLike | None) -> Geoms:
    if walled is None:
        return np.empty(0, dtype=object)
    geoms = np.asarray(walled, dtype=object).reshape(-1)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out: Geoms = geoms[keep]
    return out


def _midpoints(coords: Floats, line_of: Ints, first: Ints, last: Ints) -> tuple[Floats, Floats]:
    """Return the point halfway along each line, and each line's length (>= 2 points)."""
    step = np.zeros(len(coords))
    step[1:] = np.hypot(*np.diff(coords, axis=0).T)
    step[first] = 0.0
    total = np.cumsum(step)
    cum = total - total[first][line_of]
    length = cum[last]
    span = float(length.max(initial=0.0)) + 1.0
    key = line_of * span + cum
    half = length / 2.0
    j = np.searchsorted(key, np.arange(len(first)) * span + half, side="left")
    j = np.clip(j, first + 1, last)
    seg = cum[j] - cum[j - 1]
    f = np.where(seg > 0, (half - cum[j - 1]) / np.where(seg > 0, seg, 1.0), 0.0)
    f = np.clip(f, 0.0, 1.0)[:, None]
    return coords[j - 1] * (1.0 - f) + coords[j] * f, length


def _zone_of(zones: Geoms, probe: Geoms, xy: Floats) -> Ints:
    """Index of the (first) zone polygon holding each point ``xy`` strictly inside, -1 if none.

    ``probe`` holds a geometry per point whose box contains it (the point itself, or the
    line it is the midpoint of): the tree pairs boxes, ``contains_xy`` decides, which is
    several times faster than building points and asking for ``within``.
    """
    out = np.full(len(xy), -1, dtype=np.int64)
    if len(zones) == 0 or len(xy) == 0:
        return out
    pi, zi = shapely.STRtree(zones).query(probe)
    inside = shapely.contains_xy(zones[zi], xy[pi, 0], xy[pi, 1])
    pi, zi = pi[inside], zi[inside]
    order = np.lexsort((zi, pi))[::-1]  # the lowest zone index is written last and wins
    out[pi[order]] = zi[order]
    return out


def _csr(n: int, u: Ints, v: Ints, length: Floats) -> Any:
    """Symmetric CSR matrix keeping the shortest of parallel edges, without self-loops."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    loop = a == b
    a, b, length = a[~loop], b[~loop], length[~loop]
    order = np.lexsort((length, b, a))
    a, b, length = a[order], b[order], length[order]
    first = np.ones(len(a), dtype=np.bool_)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, length = a[first], b[first], length[first]
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    # tocsr keeps explicit zeros, so a zero-length edge still joins its two nodes.
    return coo_array((np.concatenate([length, length]), (rows, cols)), shape=(n, n)).tocsr()


# --- snapping ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapped:
    """Where features join the network.

    Attributes
    ----------
    edge
        Index of the graph edge each feature joins (-1: not joined, unreachable).
    t
        Fraction along the edge from ``edge_u`` to ``edge_v``.
    access_m
        Length of the straight access leg from the feature to its snap point (NaN if none).
    xy
        ``(k, 2)`` snap points.
    zone
        Walled compound the feature stands in (index into the graph's zones), -1 outside.
    unrestricted
        True where no edge on the feature's own side of the walls lay within the search
        radius, so the nearest edge of all was taken.
    """

    edge: Ints
    t: Floats
    access_m: Floats
    xy: Floats
    zone: Ints
    unrestricted: Bools

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, index: ArrayLike) -> Snapped:
        """Return the features at ``index`` (positions or a boolean mask)."""
        i = np.asarray(index)
        return Snapped(
            self.edge[i],
            self.t[i],
            self.access_m[i],
            self.xy[i],
            self.zone[i],
            self.unrestricted[i],
        )


def snap_points(graph: WalkGraph, xy: ArrayLike, *, search_m: float = SNAP_SEARCH_M) -> Snapped:
    """Join features to the nearest point of their nearest eligible edge.

    A feature inside walled compound X may join only edges whose midpoint lies in X; a
    feature outside all walled compounds only edges outside all of them. Gate edges are never
    joined. When nothing eligible lies within ``search_m``, the nearest edge of all is taken
    and the feature is flagged ``unrestricted``.

    Parameters
    ----------
    graph
        The walking graph.
    xy
        ``(k, 2)`` feature coordinates (a building's representative point), same CRS.
    search_m
        Radius of the search for an eligible edge, metres.

    Returns
    -------
    Snapped
    """
    pts_xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    k = len(pts_xy)
    pts = np.asarray(shapely.points(pts_xy), dtype=object).reshape(-1)
    zone = _zone_of(graph.zones, pts, pts_xy)
    edge = np.full(k, -1, dtype=np.int64)
    unrestricted = np.zeros(k, dtype=np.bool_)
    cand = np.flatnonzero(~graph.edge_gate).astype(np.int64)
    if len(cand) and k:
        geoms = graph.edge_geometry
        if len(graph.zones) == 0:
            _nearest_into(edge, np.arange(k), pts, cand=cand, geoms=geoms, max_m=None)
        else:
            cz = graph.edge_zone[cand]
            outside, inside = np.flatnonzero(zone < 0), np.flatnonzero(zone >= 0)
            _nearest_into(edge, outside, pts, cand=cand[cz < 0], geoms=geoms, max_m=search_m)
            _nearest_in_zone(
                edge, inside, pts, zone=zone, cand=cand[cz >= 0], graph=graph, max_m=search_m
            )
            miss = np.flatnonzero(edge < 0)
            if len(miss):
                _nearest_into(edge, miss, pts, cand=cand, geoms=geoms, max_m=None)
                unrestricted[miss] = True
    return _locate(graph, pts, pts_xy, edge, zone=zone, unrestricted=unrestricted)


def _nearest_into(
    edge: Ints, which: Ints, pts: Geoms, *, cand: Ints, geoms: Geoms, max_m: float | None
) -> None:
    """Write into ``edge[which]`` the nearest of ``cand`` edges (within ``max_m``)."""
    if len(which) == 0 or len(cand) == 0:
        return
    tree = shapely.STRtree(geoms[cand])
    qi, ej = tree.query_nearest(pts[which], max_distance=max_m, all_matches=False)
    edge[which[qi]] = cand[ej]


def _nearest_in_zone(
    edge: Ints,
    which: Ints,
    pts: Geoms,
    *,
    zone: Ints,
    cand: Ints,
    graph: WalkGraph,
    max_m: float,
) -> None:
    """Write into ``edge[which]`` the nearest edge in each feature's own walled compound."""
    if len(which) == 0 or len(cand) == 0:
        return
    geoms = graph.edge_geometry
    tree = shapely.STRtree(geoms[cand])
    # Compounds do not overlap, so the nearest inside edge is nearly always the compound's own.
    qi, ej = tree.query_nearest(pts[which], max_distance=max_m, all_matches=True)
    ok = graph.edge_zone[cand[ej]] == zone[which[qi]]
    edge[which[qi[ok]]] = cand[ej[ok]]
    rest = which[edge[which] < 0]
    if len(rest) == 0:
        return
    qi, ej = tree.query(pts[rest], predicate="dwithin", distance=max_m)
    ok = graph.edge_zone[cand[ej]] == zone[rest[qi]]
    qi, ej = qi[ok], ej[ok]
    if len(qi) == 0:
        return
    dist = shapely.distance(pts[rest[qi]], geoms[cand[ej]])
    order = np.lexsort((cand[ej], dist, qi))
    first = order[np.r_[True, qi[order][1:] != qi[order][:-1]]]
    edge[rest[qi[first]]] = cand[ej[first]]


def _locate(
    graph: WalkGraph, pts: Geoms, pts_xy: Floats, edge: Ints, *, zone: Ints, unrestricted: Bools
) -> Snapped:
    k = len(edge)
    t = np.full(k, np.nan)
    access = np.full(k, np.nan)
    xy = np.full((k, 2), np.nan)
    ok = np.flatnonzero(edge >= 0)
    if len(ok):
        geoms = graph.edge_geometry[edge[ok]]
        along = np.asarray(shapely.line_locate_point(geoms, pts[ok]), dtype=np.float64)
        glen = np.asarray(shapely.length(geoms), dtype=np.float64)
        t[ok] = np.where(glen > 0, np.clip(along / np.where(glen > 0, glen, 1.0), 0.0, 1.0), 0.0)
        snap = shapely.line_interpolate_point(geoms, along)
        xy[ok] = shapely.get_coordinates(snap)
        access[ok] = np.hypot(*(xy[ok] - pts_xy[ok]).T)
    return Snapped(edge, t, access, xy, zone, unrestricted)


def snap_to_nodes(graph: WalkGraph, xy: ArrayLike) -> Snapped:
    """Join features to their nearest node, with no access leg and no wall rule.

    This is how node-based routers (pandana, pgRouting's ``pgr_drivingDistance``) place
    points; it exists to compare with them like for like, not for the service circle.
    """
    pts_xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    k = len(pts_xy)
    m = len(graph.edge_u)
    edge = np.full(k, -1, dtype=np.int64)
    t = np.full(k, np.nan)
    if m and k:
        at_u = np.full(graph.n_nodes, -1, dtype=np.int64)
        at_v = np.full(graph.n_nodes, -1, dtype=np.int64)
        rows = np.arange(m, dtype=np.int64)
        at_u[graph.edge_u[::-1]] = rows[::-1]  # the first edge at a node wins
        at_v[graph.edge_v[::-1]] = rows[::-1]
        used = np.flatnonzero((at_u >= 0) | (at_v >= 0))
        _, j = cKDTree(graph.node_xy[used]).query(pts_xy)
        node = used[np.asarray(j, dtype=np.int64)]
        from_u = at_u[node] >= 0
        edge = np.where(from_u, at_u[node], at_v[node])
        t = np.where(from_u, 0.0, 1.0)
    ok = edge >= 0
    access = np.where(ok, 0.0, np.nan)
    snap_xy = np.full((k, 2), np.nan)
    if ok.any():
        node_at = np.where(t[ok] == 0.0, graph.edge_u[edge[ok]], graph.edge_v[edge[ok]])
        snap_xy[ok] = graph.node_xy[node_at]
    zone = np.full(k, -1, dtype=np.int64)
    return Snapped(edge, t, access, snap_xy, zone, np.zeros(k, dtype=np.bool_))


# --- distances --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NearestSource:
    """Per target: walking metres to the nearest source and which source.

    Attributes
    ----------
    walk_m
        Access leg + network + access leg, metres; ``inf`` when no source is reachable
        (within the limit, when one was given).
    source
        Position of the nearest source in the sources given, -1 when none.
    """

    walk_m: Floats
    source: Ints


def _with_sources(base: Any, n: int, ends: tuple[Ints, Ints], legs: tuple[Floats, Floats]) -> Any:
    """Return ``base`` (``n`` nodes) plus a virtual node per source, with edges to its ends.

    The edges run one way, from the source to ``ends`` (metres ``legs``), so no walk passes
    through a source; virtual node ``n + i`` is source ``i``.
    """
    u, v = ends
    to_u, to_v = legs
    p = len(u)
    indptr = np.concatenate([base.indptr, base.indptr[-1] + 2 * np.arange(1, p + 1)])
    return csr_array(
        (
            np.concatenate([base.data, np.column_stack([to_u, to_v]).ravel()]),
            np.concatenate([base.indices, np.column_stack([u, v]).ravel()]).astype(np.int64),
            indptr.astype(np.int64),
        ),
        shape=(n + p, n + p),
    )


def _legs(graph: WalkGraph, src: Snapped) -> tuple[Floats, Floats]:
    """Metres from each snapped source to the two ends of its edge, access leg included."""
    ell = graph.edge_length_m[src.edge]
    return src.access_m + src.t * ell, src.access_m + (1.0 - src.t) * ell


def _same_edge_pairs(a_edge: Ints, b_edge: Ints) -> tuple[Ints, Ints]:
    """All pairs ``(i, j)`` with ``a_edge[i] == b_edge[j] >= 0``."""
    order = np.argsort(a_edge, kind="stable")
    sorted_a = a_edge[order]
    lo = np.searchsorted(sorted_a, b_edge, side="left")
    hi = np.searchsorted(sorted_a, b_edge, side="right")
    count = np.where(b_edge >= 0, hi - lo, 0)
    bj = np.repeat(np.arange(len(b_edge), dtype=np.int64), count)
    start = np.repeat(lo - (np.cumsum(count) - count), count)
    ai = order[start + np.arange(int(count.sum()), dtype=np.int64)]
    return ai.astype(np.int64), bj


def nearest_source_distances(
    graph: WalkGraph,
    sources: Snapped,
    targets: Snapped,
    *,
    limit_m: float | None = None,
) -> NearestSource:
    """Return walking metres from every target to its nearest source, in one Dijkstra run.

    Each source becomes a virtual node with one-way edges to the two ends of its edge
    (access leg + part of the edge); one multi-source run (scipy ``dijkstra`` with
    ``min_only=True``) labels every node with its nearest source. A target at fraction ``t``
    of edge ``(u, v)`` of length ``L`` with access leg ``a`` is then
    ``a + min(d(u) + t L, d(v) + (1 - t) L, a_s + |t_s - t| L for sources s on that edge)``.

    Parameters
    ----------
    graph
        The walking graph.
    sources, targets
        Snapped features.
    limit_m
        Stop the search at this many metres; farther targets get ``inf`` and -1.

    Returns
    -------
    NearestSource
    """
    n = graph.n_nodes
    k = len(targets)
    walk = np.full(k, np.inf)
    which = np.full(k, -1, dtype=np.int64)
    live = np.flatnonzero(sources.edge >= 0)
    if len(live) == 0 or k == 0:
        return NearestSource(walk, which)
    src = sources.take(live)
    ends = (graph.edge_u[src.edge], graph.edge_v[src.edge])
    G = _with_sources(graph.csgraph, n, ends, _legs(graph, src))
    limit = np.inf if limit_m is None else limit_m + _LIMIT_SLACK
    dist, _, origin = dijkstra(
        G,
        directed=True,
        indices=n + np.arange(len(live)),
        min_only=True,
        limit=limit,
        return_predecessors=True,
    )
    node_d = np.append(np.asarray(dist[:n], dtype=np.float64), np.inf)
    node_s = np.append(np.where(origin[:n] >= n, origin[:n] - n, -1), -1).astype(np.int64)

    ok = targets.edge >= 0
    e = np.where(ok, targets.edge, 0)
    pu = np.where(ok, graph.edge_u[e], n)  # node n is the padding: inf, no source
    pv = np.where(ok, graph.edge_v[e], n)
    ell = graph.edge_length_m[e]
    via_u = node_d[pu] + targets.t * ell
    via_v = node_d[pv] + (1.0 - targets.t) * ell
    best = np.where(via_u <= via_v, via_u, via_v)
    best_s = np.where(via_u <= via_v, node_s[pu], node_s[pv])
    si, tj = _same_edge_pairs(src.edge, targets.edge)
    if len(si):
        direct = src.access_m[si] + np.abs(src.t[si] - targets.t[tj]) * ell[tj]
        order = np.lexsort((direct, tj))
        firsts = order[np.r_[True, tj[order][1:] != tj[order][:-1]]]
        tj_f, d_f = tj[firsts], direct[firsts]
        better = d_f < best[tj_f]
        best[tj_f[better]] = d_f[better]
        best_s[tj_f[better]] = si[firsts][better]
    total = np.where(ok, best + targets.access_m, np.inf)
    reached = np.isfinite(total)
    if limit_m is not None:
        reached &= total <= limit_m
    walk[reached] = total[reached]
    which[reached] = live[best_s[reached]]
    return NearestSource(walk, which)


@dataclass(frozen=True)
class _Run:
    """One chunk of sources searched on one local subgraph."""

    sources: Ints  # positions in the sources given
    node: Ints  # subgraph node -> graph node
    pos: Ints  # graph node -> subgraph node, -1 outside (the padding column)
    dist: Floats  # (len(sources), len(node) + 1) metres; last column inf
    bbox: tuple[float, float, float, float]  # where anything reached can be


def _chunks(xy: Floats, radius: float, size: int) -> list[Ints]:
    """Split sources into compact groups of at most ``size`` (Morton order of cells)."""
    k = len(xy)
    if k == 0:
        return []
    if not np.isfinite(radius):
        return [np.arange(i, min(i + size, k), dtype=np.int64) for i in range(0, k, size)]
    cell = np.floor((xy - xy.min(axis=0)) / max(radius, 1.0)).astype(np.uint64)
    spread = max(radius, _MIN_SPREAD_M)
    order = np.argsort(_morton(cell[:, 0], cell[:, 1]), kind="stable").astype(np.int64)
    out: list[Ints] = []
    start = 0
    x0 = y0 = np.inf
    x1 = y1 = -np.inf
    for i, s in enumerate(order.tolist()):
        x, y = xy[s]
        nx0, ny0, nx1, ny1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
        # A group may not spread much wider than a search radius: its subgraph would balloon.
        if i > start and (i - start >= size or nx1 - nx0 > spread or ny1 - ny0 > spread):
            out.append(order[start:i])
            start = i
            nx0, ny0, nx1, ny1 = x, y, x, y
        x0, y0, x1, y1 = nx0, ny0, nx1, ny1
    out.append(order[start:])
    return out


def _morton(x: NDArray[np.uint64], y: NDArray[np.uint64]) -> NDArray[np.uint64]:
    def spread(v: NDArray[np.uint64]) -> NDArray[np.uint64]:
        v = v & np.uint64(0xFFFFFFFF)
        for shift, mask in (
            (16, 0x0000FFFF0000FFFF),
            (8, 0x00FF00FF00FF00FF),
            (4, 0x0F0F0F0F0F0F0F0F),
            (2, 0x3333333333333333),
            (1, 0x5555555555555555),
        ):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    return spread(x) | (spread(y) << np.uint64(1))


class _Grid:
    """Points bucketed in square cells, to list the points in a box quickly."""

    def __init__(self, xy: Floats, cell_m: float) -> None:
        self.xy = xy
        lo = xy.min(axis=0) if len(xy) else np.zeros(2)
        span = (xy.max(axis=0) - lo) if len(xy) else np.zeros(2)
        # Never more than about four million cells, whatever the radius.
        self.cell = max(cell_m, float(np.sqrt(max(span[0] * span[1], 1.0) / 4e6)), 1e-3)
        self.lo = lo
        c = np.floor((xy - lo) / self.cell).astype(np.int64)
        self.nx = int(c[:, 0].max(initial=0)) + 1
        self.ny = int(c[:, 1].max(initial=0)) + 1
        key = c[:, 1] * self.nx + c[:, 0]
        self.order = np.argsort(key, kind="stable").astype(np.int64)
        self.starts = np.searchsorted(key[self.order], np.arange(self.nx * self.ny + 1))

    def within(self, bbox: tuple[float, float, float, float]) -> Ints:
        """Positions of the points inside ``bbox`` (boundary included), ascending."""
        x0, y0, x1, y1 = bbox
        cx0, cy0 = np.floor((np.array([x0, y0]) - self.lo) / self.cell).astype(np.int64)
        cx1, cy1 = np.floor((np.array([x1, y1]) - self.lo) / self.cell).astype(np.int64)
        cx0, cx1 = max(int(cx0), 0), min(int(cx1), self.nx - 1)
        cy0, cy1 = max(int(cy0), 0), min(int(cy1), self.ny - 1)
        if cx0 > cx1 or cy0 > cy1:
            return np.empty(0, dtype=np.int64)
        rows = [
            self.order[self.starts[cy * self.nx + cx0] : self.starts[cy * self.nx + cx1 + 1]]
            for cy in range(cy0, cy1 + 1)
        ]
        got = np.concatenate(rows)
        p = self.xy[got]
        keep = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
        return np.sort(got[keep])


def _runs(graph: WalkGraph, sources: Snapped, limit_m: float, size: int) -> Iterator[_Run]:
    """Search from every snapped source up to ``limit_m``, chunk by chunk.

    A walk of ``limit_m`` never ends farther (straight line) than ``graph.reach_radius_m``
    from its start, so each chunk searches only the nodes in its sources' box widened by
    that radius; every shortest path within the limit stays inside it, so this is exact.
    ``_Run.pos`` is valid until the next run is asked for.
    """
    n = graph.n_nodes
    live = np.flatnonzero(sources.edge >= 0).astype(np.int64)
    radius = graph.reach_radius_m(limit_m)
    limit = limit_m + _LIMIT_SLACK
    bounded = bool(np.isfinite(radius))
    grid = _Grid(graph.node_xy, radius) if bounded and len(live) else None
    pos = np.full(n + 1, -1, dtype=np.int64)
    for chunk in _chunks(sources.xy[live], radius, size):
        which = live[chunk]
        sxy = sources.xy[which]
        bbox = (
            float(sxy[:, 0].min() - radius),
            float(sxy[:, 1].min() - radius),
            float(sxy[:, 0].max() + radius),
            float(sxy[:, 1].max() + radius),
        )
        node = grid.within(bbox) if grid is not None else np.arange(n, dtype=np.int64)
        pos[node] = np.arange(len(node), dtype=np.int64)
        src = sources.take(which)
        ns = len(node)
        # An edge end outside the box lies beyond the limit: point its leg at the padding
        # node ``ns``, which nothing leaves.
        su, sv = pos[graph.edge_u[src.edge]], pos[graph.edge_v[src.edge]]
        su[su < 0] = ns
        sv[sv < 0] = ns
        ext = _local_graph(graph.csgraph, node, pos, (su, sv), _legs(graph, src))
        d = dijkstra(ext, directed=True, indices=ns + 1 + np.arange(len(which)), limit=limit)
        dist = np.asarray(d[:, : ns + 1], dtype=np.float64)
        dist[:, ns] = np.inf
        yield _Run(which, node, pos, dist, bbox)
        pos[node] = -1


def _local_graph(
    G: Any, node: Ints, pos: Ints, ends: tuple[Ints, Ints], legs: tuple[Floats, Floats]
) -> Any:
    """Return the subgraph on ``node``, a padding node, then a virtual node per source.

    Built straight from the CSR arrays: scipy's fancy indexing costs more than the search
    itself when a chunk is small.
    """
    u, v = ends
    to_u, to_v = legs
    ns, p = len(node), len(u)
    start, stop = G.indptr[node], G.indptr[node + 1]
    count = stop - start
    offset = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(count) - count, count
    )
    flat = np.repeat(start, count) + offset
    col = pos[G.indices[flat]]
    keep = col >= 0
    row_len = np.bincount(np.repeat(np.arange(ns), count)[keep], minlength=ns)
    indptr = np.concatenate(
        [[0], np.cumsum(row_len), [keep.sum()], keep.sum() + 2 * np.arange(1, p + 1)]
    ).astype(np.int64)
    indices = np.concatenate([col[keep], np.column_stack([u, v]).ravel()]).astype(np.int64)
    data = np.concatenate([G.data[flat[keep]], np.column_stack([to_u, to_v]).ravel()])
    size = ns + 1 + p
    return csr_array((data, indices, indptr), shape=(size, size))


def distances_within(
    graph: WalkGraph,
    sources: Snapped,
    targets: Snapped,
    *,
    limit_m: float,
    chunk: int = _CHUNK,
) -> Any:
    """Return walking metres between every source and every target, up to ``limit_m``.

    One Dijkstra per source (scipy, ``limit=limit_m``), run a chunk of nearby sources at a
    time on the subgraph they can reach (see :func:`_runs`), so the cost follows what lies
    within the limit, not the size of the city. Same formula as
    :func:`nearest_source_distances`.

    Parameters
    ----------
    graph
        The walking graph.
    sources, targets
        Snapped features (candidate venues and buildings, say).
    limit_m
        Largest walk kept, metres.
    chunk
        Sources per Dijkstra call.

    Returns
    -------
    scipy.sparse.csr_array
        ``(len(sources), len(targets))`` walking metres; stored entries are exactly the
        pairs within the limit (a zero walk is stored as an explicit zero).
    """
    if not np.isfinite(limit_m) or limit_m < 0:
        msg = f"limit_m 应为有限的非负米数，实际为 {limit_m}"
        raise OptionError(msg, loc=("limit_m",))
    rows: list[Ints] = []
    cols: list[Ints] = []
    vals: list[Floats] = []
    t_ok = np.flatnonzero(targets.edge >= 0)
    t_grid = _Grid(targets.xy[t_ok], graph.reach_radius_m(limit_m)) if len(t_ok) else None
    for run in _runs(graph, sources, limit_m, chunk):
        if t_grid is None:
            break
        tj = t_ok[t_grid.within(run.bbox)] if np.isfinite(run.bbox[0]) else t_ok
        if len(tj) == 0:
            continue
        e = targets.edge[tj]
        ell = graph.edge_length_m[e]
        t = targets.t[tj]
        du = run.dist[:, run.pos[graph.edge_u[e]]] + t * ell
        dv = run.dist[:, run.pos[graph.edge_v[e]]] + (1.0 - t) * ell
        d = np.minimum(du, dv)
        si, sj = _same_edge_pairs(sources.edge[run.sources], e)
        if len(si):
            direct = (
                sources.access_m[run.sources[si]]
                + np.abs(sources.t[run.sources[si]] - t[sj]) * ell[sj]
            )
            np.minimum.at(d, (si, sj), direct)
        d += targets.access_m[tj]
        r, c = np.nonzero(d <= limit_m)
        rows.append(run.sources[r])
        cols.append(tj[c])
        vals.append(d[r, c])
    shape = (len(sources), len(targets))
    if not rows:
        return csr_array(shape, dtype=np.float64)
    return coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    ).tocsr()


@dataclass(frozen=True)
class Reach:
    """The parts of edges that sources reach.

    Attributes
    ----------
    owner
        Position of the source in the sources given.
    edge
        Graph edge the part lies on.
    start_m, end_m
        Where the part begins and ends, walking metres along the edge from ``edge_u``.
    whole
        True when the whole edge is reached (then ``geometry`` is the edge's own line).
    geometry
        LineStrings in the direction of their edge.
    """

    owner: Ints
    edge: Ints
    start_m: Floats
    end_m: Floats
    whole: Bools
    geometry: Geoms

    def __len__(self) -> int:
        return len(self.owner)


def reached_segments(
    graph: WalkGraph, sources: Snapped, *, limit_m: float, chunk: int = _CHUNK
) -> Reach:
    """Return the parts of edges each source reaches within ``limit_m``, cut exactly.

    An edge ``(u, v)`` of length ``L`` reached at ``d(u)`` and ``d(v)`` is walked from ``u``
    for ``limit - d(u)`` and from ``v`` for ``limit - d(v)`` (whole when these add up to
    ``L``); the source's own edge is also walked both ways from the snap point for
    ``limit - access``. The access leg itself is not included.

    Parameters
    ----------
    graph
        The walking graph.
    sources
        Snapped sources: one (``sources.take([i])``), or many, sharing the work.
    limit_m
        Walking metres.
    chunk
        Sources per Dijkstra call.

    Returns
    -------
    Reach
    """
    if not np.isfinite(limit_m) or limit_m < 0:
        msg = f"limit_m 应为有限的非负米数，实际为 {limit_m}"
        raise OptionError(msg, loc=("limit_m",))
    parts: list[tuple[Ints, Ints, Floats, Floats]] = []
    own_parts: list[tuple[Ints, Ints, Floats, Floats]] = []
    eu, ev, ell_all = graph.edge_u, graph.edge_v, graph.edge_length_m
    for run in _runs(graph, sources, limit_m, chunk):
        pu, pv = run.pos[eu], run.pos[ev]
        cand = np.flatnonzero((pu >= 0) | (pv >= 0))
        ell = ell_all[cand]
        ru = limit_m - run.dist[:, pu[cand]]
        rv = limit_m - run.dist[:, pv[cand]]
        # A source's own edge is done below, where its intervals may overlap.
        own_edge = sources.edge[run.sources]
        at_c = np.minimum(np.searchsorted(cand, own_edge), max(len(cand) - 1, 0))
        # No edge reached at all (a limit shorter than every access leg): no row to clear.
        hit = cand[at_c] == own_edge if len(cand) else np.zeros(len(own_edge), dtype=np.bool_)
        rows = np.flatnonzero(hit)
        free = np.ones(ru.shape, dtype=np.bool_)
        free[rows, at_c[rows]] = False
        whole = free & (ru >= 0) & (rv >= 0) & (ru + rv >= ell)
        s, c = np.nonzero(whole)
        parts.append((run.sources[s], cand[c], np.zeros(len(c)), ell[c]))
        s, c = np.nonzero(free & ~whole & (ru > 0))
        parts.append((run.sources[s], cand[c], np.zeros(len(c)), np.minimum(ru[s, c], ell[c])))
        s, c = np.nonzero(free & ~whole & (rv > 0))
        parts.append((run.sources[s], cand[c], np.maximum(ell[c] - rv[s, c], 0.0), ell[c]))

        own = run.sources
        big = ell_all[own_edge]
        r0 = limit_m - sources.access_m[own]
        at = sources.t[own] * big
        from_u = limit_m - run.dist[np.arange(len(own)), run.pos[eu[own_edge]]]
        from_v = limit_m - run.dist[np.arange(len(own)), run.pos[ev[own_edge]]]
        for ok, lo, hi in (
            (r0 >= 0, np.maximum(at - r0, 0.0), np.minimum(at + r0, big)),
            (from_u > 0, np.zeros(len(own)), np.minimum(from_u, big)),
            (from_v > 0, np.maximum(big - from_v, 0.0), big),
        ):
            own_parts.append((own[ok], own_edge[ok], lo[ok], hi[ok]))
    if own_parts:
        merged = _merge_intervals(*(np.concatenate(col) for col in zip(*own_parts, strict=True)))
        parts.append(merged)
    if not parts:
        parts.append((np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0)))
    owner, edge, lo, hi = (np.concatenate(col) for col in zip(*parts, strict=True))
    owner, edge = owner.astype(np.int64), edge.astype(np.int64)
    ell = ell_all[edge]
    whole = (lo <= 0.0) & (hi >= ell)
    keep = whole | (hi > lo)
    owner, edge, lo, hi, whole, ell = (a[keep] for a in (owner, edge, lo, hi, whole, ell))
    geometry = graph.edge_geometry[edge].copy()
    part = np.flatnonzero(~whole)
    if len(part):
        glen = np.asarray(shapely.length(geometry[part]), dtype=np.float64)
        scale = glen / ell[part]  # a partial edge has a positive length
        geometry[part] = _substrings(
            graph.edge_geometry, edge[part], lo[part] * scale, hi[part] * scale
        )
    return Reach(owner, edge, lo, hi, whole, geometry)


def _merge_intervals(
    owner: Ints, edge: Ints, lo: Floats, hi: Floats
) -> tuple[Ints, Ints, Floats, Floats]:
    """Merge overlapping intervals of the same (owner, edge)."""
    if len(owner) == 0:
        return owner, edge, lo, hi
    order = np.lexsort((lo, edge, owner))
    owner, edge, lo, hi = owner[order], edge[order], lo[order], hi[order]
    new_group = np.r_[True, (owner[1:] != owner[:-1]) | (edge[1:] != edge[:-1])]
    group = np.cumsum(new_group) - 1
    span = float(max(hi.max(), 0.0)) + 1.0
    # Offsetting each group past the last makes one running maximum respect the groups.
    hi_key = hi + group * span
    prev_max = np.r_[-np.inf, np.maximum.accumulate(hi_key)[:-1]]
    start = new_group | (lo + group * span > prev_max)
    run = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    out_hi = np.zeros(len(first))
    np.maximum.at(out_hi, run, hi)
    return owner[first], edge[first], lo[first], out_hi


def _substrings(geoms: Geoms, edge: Ints, start: Floats, end: Floats) -> Geoms:
    """Return the parts of ``geoms[edge]`` between ``start`` and ``end`` metres along them."""
    if len(edge) == 0:
        return np.empty(0, dtype=object)
    uniq, line = np.unique(edge, return_inverse=True)
    line = line.reshape(-1)
    coords, ci = shapely.get_coordinates(geoms[uniq], return_index=True)
    step = np.zeros(len(coords))
    step[1:] = np.hypot(*np.diff(coords, axis=0).T)
    begins = np.r_[True, ci[1:] != ci[:-1]]
    step[begins] = 0.0
    total = np.cumsum(step)
    first_v = np.flatnonzero(begins)
    cum = total - total[first_v][ci]
    last_v = np.r_[first_v[1:] - 1, len(coords) - 1]
    span = float(cum.max()) + 1.0
    key = ci * span + cum
    full = cum[last_v][line]
    a = np.clip(start, 0.0, full)
    b = np.clip(end, a, full)
    lo_v, hi_v = first_v[line] + 1, last_v[line]
    ja = np.clip(np.searchsorted(key, line * span + a, side="right"), lo_v, hi_v)
    jb = np.clip(np.searchsorted(key, line * span + b, side="left"), lo_v, hi_v)

    def at(j: Ints, dist: Floats) -> Floats:
        seg = cum[j] - cum[j - 1]
        f = np.where(seg > 0, (dist - cum[j - 1]) / np.where(seg > 0, seg, 1.0), 0.0)
        f = np.clip(f, 0.0, 1.0)[:, None]
        out: Floats = coords[j - 1] * (1.0 - f) + coords[j] * f
        return out

    p0, p1 = at(ja, a), at(jb, b)
    inner = np.maximum(jb - ja, 0)
    count = inner + 2
    k = len(edge)
    owner = np.repeat(np.arange(k, dtype=np.int64), count)
    offset = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(count) - count, count
    )
    out = np.empty((len(owner), 2))
    is_first = offset == 0
    is_last = offset == np.repeat(count - 1, count)
    mid = ~(is_first | is_last)
    out[is_first] = p0
    out[is_last] = p1
    out[mid] = coords[np.repeat(ja, inner) + (offset[mid] - 1)]
    return np.asarray(shapely.linestrings(out, indices=owner), dtype=object)
