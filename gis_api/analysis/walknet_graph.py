"""The walking graph and how features join it: :func:`build_graph`, :func:`snap_points`.

Part of :mod:`gis_api.analysis.walknet` (which re-exports every public name here and holds the
distances): the undirected CSR graph of an edge table, with closed gates left out and each
edge's walled compound (:class:`WalkGraph`), and the snapping of features to it, on their own
side of the walls (:class:`Snapped`). Everything is in a projected CRS in metres.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_array
from scipy.spatial import cKDTree

import shapely

from gis_api.analysis.errors import GeometryError

__all__ = [
    "SNAP_SEARCH_M",
    "Snapped",
    "WalkGraph",
    "build_graph",
    "snap_points",
    "snap_to_nodes",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Geoms = NDArray[np.object_]

#: How far a feature looks for an edge on its own side of a wall before it takes any edge.
SNAP_SEARCH_M = 300.0
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
