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

The graph and the snapping are in :mod:`gis_api.analysis.walknet_graph`; this module holds the
distances (:func:`nearest_source_distances`, :func:`distances_within`, :func:`reached_segments`)
and re-exports the graph's public names, so ``walknet`` stays the one entry point.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_array, csr_array
from scipy.sparse.csgraph import dijkstra

import shapely

from gis_api.analysis.errors import OptionError
from gis_api.analysis.walknet_graph import (
    SNAP_SEARCH_M,
    Bools,
    Floats,
    Geoms,
    Ints,
    Snapped,
    WalkGraph,
    build_graph,
    snap_points,
    snap_to_nodes,
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

# Sources run together in one Dijkstra call on one local subgraph; measured on a 50,000
# building city (bench/README.md): smaller chunks cut the subgraph, larger ones the calls.
_CHUNK = 64
# ...and a chunk may spread over at least this much, so that short limits make few calls.
_MIN_SPREAD_M = 250.0
# Added to every Dijkstra limit so that round-off in a sum never drops a node at the limit;
# the exact limit is applied to the final sums.
_LIMIT_SLACK = 1e-9


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
