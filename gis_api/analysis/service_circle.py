"""The 15-minute service circle: which buildings reach an open service point on foot.

docs/domain.md, "15 分钟党群服务圈": every resident should reach a
service point within a 15-minute walk, walked on the network through open gates. GB 50180-2018
sets the life circles by walking distance: 15 minutes 1,000 m, 10 minutes 500 m, 5 minutes
300 m (:func:`limit_from`). This module is the thin GeoDataFrame adapter: it validates, builds
the graph and snaps with :mod:`gis_api.analysis.walknet`, and returns frozen results. All
inputs are in one projected CRS in metres. Scenarios (a gate closed, a point added or closed)
are new calls with other ``closed_gates`` or ``points``; nothing stored changes.

The checks of the inputs are in :mod:`gis_api.analysis.service_circle_inputs`, the results and
their summaries (:func:`summarize`, :func:`uncovered`, :func:`compare`) in
:mod:`gis_api.analysis.service_circle_results`; their public names are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

import geopandas as gpd
import shapely

from gis_api.analysis import checks
from gis_api.analysis.errors import (
    GeometryError,
    MissingColumnError,
    OptionError,
    UnknownGateError,
)
from gis_api.analysis.service_circle_inputs import (
    KINDS,
    Bools,
    Floats,
    Geoms,
    Ints,
    _check_geometry,
    _gate_codes,
    _geoms,
    _kinds,
    _numbers,
    _open,
)
from gis_api.analysis.service_circle_results import (
    GROUPINGS,
    Coverage,
    ScenarioDiff,
    compare,
    summarize,
    uncovered,
)
from gis_api.analysis.walknet import (
    SNAP_SEARCH_M,
    Snapped,
    WalkGraph,
    build_graph,
    nearest_source_distances,
    reached_segments,
    snap_points,
)
from layers import domain

__all__ = [
    "DEFAULT_DETOUR_FACTOR",
    "DEFAULT_LIMIT_M",
    "GROUPINGS",
    "KINDS",
    "LIFE_CIRCLE_M",
    "STREET_BUFFER_M",
    "WALK_SPEED_M_PER_MIN",
    "Coverage",
    "ScenarioDiff",
    "compare",
    "limit_from",
    "service_coverage",
    "summarize",
    "uncovered",
]

#: GB 50180-2018 life circles: walking minutes -> walking metres (``layers.domain``).
LIFE_CIRCLE_M = domain.LIFE_CIRCLES_M
#: The 15-minute circle.
DEFAULT_LIMIT_M = domain.SERVICE_CIRCLE_M
#: The walking speed implied by the 15-minute circle: 1,000 m in 15 minutes.
WALK_SPEED_M_PER_MIN = domain.WALK_SPEED_M_PER_MIN
#: Walking distance over straight distance, used when there is no network.
DEFAULT_DETOUR_FACTOR = domain.DETOUR_FACTOR
#: Half-width of the street band drawn around the streets a point reaches.
STREET_BUFFER_M = 25.0

_POLYGONAL = (3, 6)  # Polygon, MultiPolygon
_WORKERS = max(1, min(os.cpu_count() or 1, 8))
# Side of the blocks of edges dissolved once and shared by the service areas (measured on a
# 50,000 building city: 100 m blocks of ~20 edges halve the time of 500 areas).
_BLOCK_M = 100.0
_POINT = 0


# --- limits -----------------------------------------------------------------------------------


def limit_from(
    *,
    metres: float | None = None,
    minutes: float | None = None,
    speed_m_per_min: float | None = None,
) -> float:
    """Return a walking limit in metres, from metres or from minutes.

    With neither, the 15-minute circle: 1,000 m. Minutes with a speed give
    ``minutes * speed``. Minutes alone follow GB 50180-2018's life circles (15 -> 1,000 m,
    10 -> 500 m, 5 -> 300 m), which are not one speed; other minutes use
    :data:`WALK_SPEED_M_PER_MIN`.

    Raises
    ------
    OptionError
        If both metres and minutes are given, or a value is not a positive finite number.

    Examples
    --------
    >>> limit_from(), limit_from(minutes=10), limit_from(minutes=10, speed_m_per_min=60)
    (1000.0, 500.0, 600.0)
    """
    if metres is not None and minutes is not None:
        msg = f"metres（{metres}）与 minutes（{minutes}）只能给出一个"
        raise OptionError(msg, loc=("metres",))
    for name, value in (("metres", metres), ("minutes", minutes), ("speed", speed_m_per_min)):
        if value is not None:
            checks.positive(name if name != "speed" else "speed_m_per_min", value)
            _within(name, float(value))
    if metres is not None:
        return float(metres)
    if minutes is None:
        return DEFAULT_LIMIT_M
    if speed_m_per_min is not None:
        return float(minutes) * float(speed_m_per_min)
    if float(minutes).is_integer() and int(minutes) in LIFE_CIRCLE_M:
        return LIFE_CIRCLE_M[int(minutes)]
    return float(minutes) * WALK_SPEED_M_PER_MIN


#: What a walk can be: a slow elderly pace to a brisk one, and no farther than a district.
_RANGES = {
    "metres": (1.0, 20_000.0, "米"),
    "minutes": (1.0, 240.0, "分钟"),
    "speed": (10.0, 200.0, "米/分钟"),
}


def _within(name: str, value: float) -> None:
    lo, hi, unit = _RANGES[name]
    if not lo <= value <= hi:
        msg = f"参数 {name} 应在 {lo:g}～{hi:g} {unit}之间，实际为 {value:g}"
        raise OptionError(msg, loc=(name,))


# --- the analysis -----------------------------------------------------------------------------


def service_coverage(
    buildings: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame | None,
    *,
    walled: gpd.GeoDataFrame | None = None,
    closed_gates: Iterable[str] = (),
    limit_m: float = DEFAULT_LIMIT_M,
    speed_m_per_min: float = WALK_SPEED_M_PER_MIN,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    street_buffer_m: float = STREET_BUFFER_M,
    with_areas: bool = True,
    search_m: float = SNAP_SEARCH_M,
) -> Coverage:
    """Walk from every building to its nearest open service point on the street network.

    Each building (from its representative point) and each service point joins the network
    at the nearest point of its nearest edge, on its own side of the walls (see
    :func:`gis_api.analysis.walknet.snap_points`); both straight access legs count. Gate
    edges in ``closed_gates`` are dropped, so residents walk around ("a big loop") or not at
    all. Closed points (``is_open`` False) serve nobody. One multi-source Dijkstra gives
    every building its nearest open point; one more per kind, stopped at the limit, fills
    :attr:`Coverage.by_kind`.

    Without a network (``edges`` None or empty) the walk is the straight distance times
    ``detour_factor`` and the result is flagged ``approximate``.

    Parameters
    ----------
    buildings
        ``building_id`` (index or column), ``households``, Polygon/MultiPolygon footprints.
    points
        ``service_point_id`` (column or index), ``kind`` (one of :data:`KINDS`), ``is_open``,
        Point geometry.
    edges
        Walking network: ``source``, ``target`` (int node ids), ``length_m``, optional
        ``gate`` (gate code on the edge through a gate), LineStrings source -> target.
    walled
        Walled compounds (polygons) whose walls leave only the gates to pass.
    closed_gates
        Gate codes to treat as closed.
    limit_m
        Walking limit, metres (see :func:`limit_from`; 1,000 m is the 15-minute circle).
    speed_m_per_min
        Walking speed, for ``walk_min``.
    detour_factor
        Walking over straight distance, used only without a network.
    street_buffer_m
        Half-width of the street band of a service area.
    with_areas
        Also draw each open point's service area (the costliest part).
    search_m
        How far a feature looks for an edge on its own side of a wall.

    Returns
    -------
    Coverage

    Raises
    ------
    CrsError, CrsMismatchError
        A layer not in a projected CRS in metres, or layers in different CRSs.
    MissingColumnError, DuplicateIdError, GeometryError, InvalidValueError
        Missing columns, repeated ids, missing/empty/invalid geometry, unknown kinds.
    UnknownGateError
        A gate in ``closed_gates`` that no edge carries.
    OptionError
        A limit, speed, factor or width that is not a positive finite number.
    """
    limit_m = checks.positive("limit_m", limit_m)
    speed_m_per_min = checks.positive("speed_m_per_min", speed_m_per_min)
    detour_factor = checks.positive("detour_factor", detour_factor)
    street_buffer_m = checks.positive("street_buffer_m", street_buffer_m)
    search_m = checks.positive("search_m", search_m)
    shut = _gate_codes(closed_gates)
    has_network = edges is not None and len(edges) > 0
    layers: dict[str, gpd.GeoDataFrame | None] = {
        "buildings": buildings,
        "points": points,
        "edges": edges if has_network else None,
        "walled": walled,
    }
    crs = checks.metric_crs(layers)
    b_ids = checks.ids(buildings, "buildings", "building_id")
    p_ids = checks.ids(points, "points", "service_point_id")
    _check_geometry(buildings, "buildings", "building_id", b_ids, (_POLYGONAL, "面（Polygon）"))
    _check_geometry(points, "points", "service_point_id", p_ids, ((_POINT,), "点（Point）"))
    households = _numbers(buildings, "buildings", "households")
    kind = _kinds(points, p_ids)
    is_open = _open(points, p_ids)
    b_xy = shapely.get_coordinates(shapely.point_on_surface(_geoms(buildings)))
    p_xy = shapely.get_coordinates(_geoms(points))
    open_idx = np.flatnonzero(is_open).astype(np.int64)
    if edges is not None and has_network:
        graph = walk_graph(edges, walled, shut)
        w = _on_network(
            graph,
            b_xy,
            p_xy,
            open_idx,
            kind,
            limit_m=limit_m,
            search_m=search_m,
            buffer_m=street_buffer_m if with_areas else None,
        )
    else:
        w = _straight_line(
            b_xy,
            p_xy,
            open_idx,
            kind,
            limit_m=limit_m,
            detour=detour_factor,
            with_areas=with_areas,
        )

    walk_m = _walk_m(w.walk)
    covered = walk_m <= limit_m
    has = w.nearest >= 0
    nearest_pos = np.full(len(b_ids), -1, dtype=np.int64)
    nearest_pos[has] = open_idx[w.nearest[has]]
    nearest_id = np.full(len(b_ids), None, dtype=object)
    nearest_id[has] = p_ids[nearest_pos[has]]
    b_frame = pd.DataFrame(
        {
            "building_id": b_ids,
            "nearest_service_point_id": pd.Series(nearest_id, dtype=object),
            "walk_m": walk_m,
            "walk_min": walk_m / speed_m_per_min,
            "covered": covered,
            "access_m": w.b_access,
            "snap_unrestricted": w.b_free,
        }
    )
    served = nearest_pos[covered]
    p_frame = pd.DataFrame(
        {
            "service_point_id": p_ids,
            "kind": kind,
            "is_open": is_open,
            "access_m": w.p_access,
            "snap_unrestricted": w.p_free,
            "buildings_served": np.bincount(served, minlength=len(p_ids)).astype(np.int64),
            "households_served": np.bincount(
                served, weights=np.nan_to_num(households[covered]), minlength=len(p_ids)
            ),
        }
    )
    area_frame = None
    if w.areas is not None:
        polygons, street_m = w.areas
        area_frame = gpd.GeoDataFrame(
            {"service_point_id": p_ids[open_idx], "kind": kind[open_idx], "street_m": street_m},
            geometry=gpd.GeoSeries(polygons, crs=crs).array,
            crs=crs,
        )
    return Coverage(
        buildings=b_frame,
        by_kind=pd.DataFrame({k: w.kind_walk[k] for k in KINDS}),
        points=p_frame,
        areas=area_frame,
        limit_m=limit_m,
        speed_m_per_min=speed_m_per_min,
        detour_factor=detour_factor,
        approximate=not has_network,
        crs=crs,
    )


@dataclass(frozen=True)
class _Walks:
    """What either way of walking gives, before it is put into frames."""

    walk: Floats  # to the nearest open point, inf when none
    nearest: Ints  # position among the open points, -1 when none
    kind_walk: dict[str, Floats]
    b_access: Floats
    b_free: Bools
    p_access: Floats
    p_free: Bools
    areas: tuple[Geoms, Floats] | None


def _on_network(
    graph: WalkGraph,
    b_xy: Floats,
    p_xy: Floats,
    open_idx: Ints,
    kind: NDArray[np.object_],
    *,
    limit_m: float,
    search_m: float,
    buffer_m: float | None,
) -> _Walks:
    b_snap = snap_points(graph, b_xy, search_m=search_m)
    p_snap = snap_points(graph, p_xy, search_m=search_m)
    sources = p_snap.take(open_idx)
    near = nearest_source_distances(graph, sources, b_snap)
    kind_walk = {}
    for k in KINDS:
        of_kind = p_snap.take(open_idx[kind[open_idx] == k])
        got = nearest_source_distances(graph, of_kind, b_snap, limit_m=limit_m)
        kind_walk[k] = _walk_m(got.walk_m)
    areas = None
    if buffer_m is not None:
        areas = _network_areas(graph, sources, p_xy[open_idx], limit_m, buffer_m)
    return _Walks(
        walk=near.walk_m,
        nearest=near.source,
        kind_walk=kind_walk,
        b_access=b_snap.access_m,
        b_free=b_snap.unrestricted,
        p_access=p_snap.access_m,
        p_free=p_snap.unrestricted,
        areas=areas,
    )


def _straight_line(
    b_xy: Floats,
    p_xy: Floats,
    open_idx: Ints,
    kind: NDArray[np.object_],
    *,
    limit_m: float,
    detour: float,
    with_areas: bool,
) -> _Walks:
    walk, nearest = _straight(p_xy[open_idx], b_xy, detour, None)
    kind_walk = {}
    for k in KINDS:
        sel = open_idx[kind[open_idx] == k]
        kind_walk[k] = _walk_m(_straight(p_xy[sel], b_xy, detour, limit_m)[0])
    areas = None
    if with_areas:
        circles = shapely.buffer(shapely.points(p_xy[open_idx]), limit_m / detour)
        areas = (np.asarray(circles, dtype=object).reshape(-1), np.full(len(open_idx), np.nan))
    return _Walks(
        walk=walk,
        nearest=nearest,
        kind_walk=kind_walk,
        b_access=np.full(len(b_xy), np.nan),
        b_free=np.zeros(len(b_xy), dtype=np.bool_),
        p_access=np.full(len(p_xy), np.nan),
        p_free=np.zeros(len(p_xy), dtype=np.bool_),
        areas=areas,
    )


def _walk_m(walk: Floats) -> Floats:
    """Return the walks with unreachable (``inf``) as NaN."""
    return np.where(np.isfinite(walk), walk, np.nan)


def _straight(
    src_xy: Floats, dst_xy: Floats, detour: float, limit_m: float | None
) -> tuple[Floats, Ints]:
    """Return the nearest source by straight distance x ``detour`` (``inf``/-1: none)."""
    walk = np.full(len(dst_xy), np.inf)
    which = np.full(len(dst_xy), -1, dtype=np.int64)
    if len(src_xy) == 0 or len(dst_xy) == 0:
        return walk, which
    bound = np.inf if limit_m is None else limit_m / detour * (1 + 1e-12)
    dist, j = cKDTree(src_xy).query(dst_xy, distance_upper_bound=bound)
    ok = np.isfinite(dist)
    walk[ok] = np.asarray(dist, dtype=np.float64)[ok] * detour
    which[ok] = np.asarray(j, dtype=np.int64)[ok]
    if limit_m is not None:
        far = walk > limit_m
        walk[far], which[far] = np.inf, -1
    return walk, which


def walk_graph(
    edges: gpd.GeoDataFrame, walled: gpd.GeoDataFrame | None, shut: set[str]
) -> WalkGraph:
    """Build the validated walking graph from a stored edge table, walls and closed gates."""
    for col in ("source", "target", "length_m"):
        if col not in edges.columns:
            msg = f"参数 edges 缺少 {col} 列"
            raise MissingColumnError(msg, loc=("edges", col))
    gate = edges["gate"].to_numpy(dtype=object) if "gate" in edges.columns else None
    if shut:
        known = set() if gate is None else {str(g) for g in gate if not pd.isna(g)}
        unknown = sorted(shut - known)
        if unknown:
            msg = f"参数 closed_gates 中的出入口编号在路网中不存在：{', '.join(unknown[:10])}"
            raise UnknownGateError(msg, loc=("closed_gates",))
    walls = None
    if walled is not None and len(walled):
        ids = np.arange(len(walled)).astype(str)
        label = "compound" if "compound" in walled.columns else "行号"
        if "compound" in walled.columns:
            ids = walled["compound"].astype(str).to_numpy()
        _check_geometry(walled, "walled", label, ids, (_POLYGONAL, "面（Polygon）"))
        walls = _geoms(walled)
    try:
        source = edges["source"].to_numpy(dtype=np.int64)
        target = edges["target"].to_numpy(dtype=np.int64)
    except (TypeError, ValueError) as exc:
        msg = "参数 edges 的 source/target 应为整数节点编号，不能有空值"
        raise GeometryError(msg, loc=("edges", "source")) from exc
    return build_graph(
        source,
        target,
        edges["length_m"].to_numpy(dtype=np.float64),
        _geoms(edges),
        gate=gate,
        closed_gates=shut,
        walled=walls,
    )


def _network_areas(
    graph: WalkGraph, sources: Snapped, origin_xy: Floats, limit_m: float, buffer_m: float
) -> tuple[Geoms, Floats]:
    """Streets each source reaches (with its own access leg), buffered and dissolved.

    Dissolving thousands of street pieces per area is the costly part, and neighbouring
    areas share most of their streets. So the edges are grouped in small square blocks; a
    block whose every edge an area reaches whole enters that area as one polygon, dissolved
    once for all areas. The result is the same union, in fewer, larger pieces.
    """
    k = len(sources)
    reach = reached_segments(graph, sources, limit_m=limit_m)
    street_m = np.bincount(reach.owner, weights=reach.end_m - reach.start_m, minlength=k)
    block, block_size = _blocks(graph)
    n_blocks = len(block_size)
    whole = np.flatnonzero(reach.whole)
    # (area, block) pairs where the area reaches every edge of the block whole.
    pair = reach.owner[whole] * n_blocks + block[reach.edge[whole]]
    pairs, count = np.unique(pair, return_counts=True)
    full_pairs = pairs[count == block_size[pairs % n_blocks]]
    in_full = np.isin(pair, full_pairs)
    used_blocks = np.unique(full_pairs % n_blocks)

    loose = np.concatenate([whole[~in_full], np.flatnonzero(~reach.whole)])
    edges, which = np.unique(reach.edge[loose], return_inverse=True)
    pieces = _buffer(graph.edge_geometry[edges], buffer_m)[which.reshape(-1)]
    part = ~reach.whole[loose]
    pieces[part] = _buffer(reach.geometry[loose[part]], buffer_m)
    # The access leg is walked too, as far as the limit allows.
    leg = np.flatnonzero((sources.edge >= 0) & (sources.access_m > 0))
    share = np.minimum(1.0, limit_m / sources.access_m[leg])
    end = origin_xy[leg] + (sources.xy[leg] - origin_xy[leg]) * share[:, None]
    legs = _buffer(
        np.asarray(shapely.linestrings(np.stack([origin_xy[leg], end], axis=1))), buffer_m
    )

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        # GEOS releases the GIL, so threads use every core for the costly unions.
        members = np.argsort(block, kind="stable")
        starts = np.searchsorted(block[members], np.arange(n_blocks + 1))

        def block_union(b: int) -> Any:
            lines = graph.edge_geometry[members[starts[b] : starts[b + 1]]]
            return shapely.union_all(_buffer(lines, buffer_m))

        merged = np.empty(n_blocks, dtype=object)
        merged[used_blocks] = list(pool.map(block_union, used_blocks.tolist()))
        pieces = np.concatenate([pieces, legs, merged[full_pairs % n_blocks]])
        owner = np.concatenate([reach.owner[loose], leg, full_pairs // n_blocks])
        order = np.argsort(owner, kind="stable")
        pieces = pieces[order]
        bounds = np.searchsorted(owner[order], np.arange(k + 1))

        def dissolve(i: int) -> Any:
            if bounds[i] == bounds[i + 1]:
                return shapely.Polygon()
            return shapely.union_all(pieces[bounds[i] : bounds[i + 1]])

        out = np.empty(k, dtype=object)
        out[:] = list(pool.map(dissolve, range(k)))
    return out, street_m.astype(np.float64)


def _blocks(graph: WalkGraph) -> tuple[Ints, Ints]:
    """Group the edges by the square block holding their midpoint; return group and sizes."""
    mid = (graph.node_xy[graph.edge_u] + graph.node_xy[graph.edge_v]) / 2.0
    lo = mid.min(axis=0) if len(mid) else np.zeros(2)
    cell = np.floor((mid - lo) / _BLOCK_M).astype(np.int64)
    _, block = np.unique(
        cell[:, 0] * (cell[:, 1].max(initial=0) + 1) + cell[:, 1], return_inverse=True
    )
    block = block.reshape(-1).astype(np.int64)
    return block, np.bincount(block).astype(np.int64)


def _buffer(lines: Geoms, buffer_m: float) -> Geoms:
    # Two segments a quarter circle keep the cap tip exact and cut the union's work by a third.
    return np.asarray(shapely.buffer(lines, buffer_m, quad_segs=2), dtype=object).reshape(-1)
