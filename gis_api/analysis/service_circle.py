"""The 15-minute service circle: which buildings reach an open service point on foot.

docs/domain.md, "15 分钟党群服务圈": every resident should reach a
service point within a 15-minute walk, walked on the network through open gates. GB 50180-2018
sets the life circles by walking distance: 15 minutes 1,000 m, 10 minutes 500 m, 5 minutes
300 m (:func:`limit_from`). This module is the thin GeoDataFrame adapter: it validates, builds
the graph and snaps with :mod:`gis_api.analysis.walknet`, and returns frozen results. All
inputs are in one projected CRS in metres. Scenarios (a gate closed, a point added or closed)
are new calls with other ``closed_gates`` or ``points``; nothing stored changes.
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
    CoverageMismatchError,
    GeometryError,
    InvalidValueError,
    MissingColumnError,
    OptionError,
    UnknownGateError,
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

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Geoms = NDArray[np.object_]

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
#: Kinds of service point (the store's ``service_points.kind``), in display order.
KINDS: tuple[str, ...] = tuple(domain.SERVICE_POINT_KINDS)
#: Building columns :func:`summarize` can group by.
GROUPINGS: tuple[str, ...] = ("community", "grid", "compound")

_POLYGONAL = (3, 6)  # Polygon, MultiPolygon
_WORKERS = max(1, min(os.cpu_count() or 1, 8))
# Side of the blocks of edges dissolved once and shared by the service areas (measured on a
# 50,000 building city: 100 m blocks of ~20 edges halve the time of 500 areas).
_BLOCK_M = 100.0
_POINT = 0


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Who reaches an open service point within the limit, and the area each one serves.

    Attributes
    ----------
    buildings
        One row per building, in input order: ``building_id``, ``nearest_service_point_id``
        (None when none is reachable), ``walk_m`` (access legs + network; NaN when no open
        point is reachable), ``walk_min``, ``covered`` (``walk_m <= limit_m``), ``access_m``
        (the building's straight access leg; NaN in approximate mode) and
        ``snap_unrestricted`` (no edge on its side of the walls within 300 m, so the nearest
        of all was used).
    by_kind
        Same rows as ``buildings``, one column per kind in :data:`KINDS`: walking metres to
        the nearest open point of that kind, NaN when none lies within the limit.
    points
        One row per service point: ``service_point_id``, ``kind``, ``is_open``, ``access_m``,
        ``snap_unrestricted``, ``buildings_served`` and ``households_served`` (covered
        buildings for which it is the nearest open point).
    areas
        One row per open point: ``service_point_id``, ``kind``, ``street_m`` (metres of street
        reached) and the polygon of the streets reached within the limit, buffered by
        ``street_buffer_m`` and dissolved. In approximate mode a circle of radius
        ``limit_m / detour_factor``. None when not asked for.
    limit_m, speed_m_per_min, detour_factor
        The options used.
    approximate
        True when there was no network and straight distance x ``detour_factor`` stood in.
    crs
        The CRS of the inputs.
    """

    buildings: pd.DataFrame
    by_kind: pd.DataFrame
    points: pd.DataFrame
    areas: gpd.GeoDataFrame | None
    limit_m: float
    speed_m_per_min: float
    detour_factor: float
    approximate: bool
    crs: Any


@dataclass(frozen=True)
class ScenarioDiff:
    """What a scenario changes in coverage, ``before`` -> ``after``.

    Attributes
    ----------
    gained, lost
        Ids of the buildings covered after but not before, and before but not after, in the
        order of the buildings given.
    households_gained, households_lost, residents_gained, residents_lost
        Their households and residents (missing values count as 0).
    """

    gained: tuple[Any, ...]
    lost: tuple[Any, ...]
    households_gained: float
    households_lost: float
    residents_gained: float
    residents_lost: float

    @property
    def households_net(self) -> float:
        """Households gained minus households lost."""
        return self.households_gained - self.households_lost

    @property
    def residents_net(self) -> float:
        """Residents gained minus residents lost."""
        return self.residents_gained - self.residents_lost


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


# --- input checks -----------------------------------------------------------------------------


def _gate_codes(closed_gates: Iterable[str]) -> set[str]:
    if isinstance(closed_gates, str | bytes):
        msg = (
            "参数 closed_gates 应为出入口编号的集合（如 ['G1']），"
            f"而不是单个字符串 {closed_gates!r}"
        )
        raise OptionError(msg, loc=("closed_gates",))
    return {str(code) for code in closed_gates}


def _geoms(frame: gpd.GeoDataFrame) -> Geoms:
    return np.asarray(frame.geometry.array, dtype=object)


def _check_geometry(
    frame: gpd.GeoDataFrame,
    name: str,
    col: str,
    ids: NDArray[np.object_],
    expect: tuple[tuple[int, ...], str],
) -> None:
    """Refuse missing, empty, wrongly typed or invalid geometry, naming the feature."""
    types, expected = expect
    geoms = _geoms(frame)
    missing = shapely.is_missing(geoms)
    empty = missing | shapely.is_empty(geoms)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        what = "缺失" if missing[i] else "为空"
        msg = f"参数 {name} 中 {col}={ids[i]} 的几何{what}"
        raise GeometryError(msg, loc=(name, str(ids[i]), "geometry"))
    wrong = ~np.isin(shapely.get_type_id(geoms), types)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        msg = f"参数 {name} 中 {col}={ids[i]} 的几何是 {geoms[i].geom_type}，应为{expected}"
        raise GeometryError(msg, loc=(name, str(ids[i]), "geometry"))
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        i = int(np.flatnonzero(invalid)[0])
        reason = shapely.is_valid_reason(geoms[i])
        msg = f"参数 {name} 中 {col}={ids[i]} 的几何无效：{reason}"
        raise GeometryError(msg, loc=(name, str(ids[i]), "geometry"))


def _numbers(frame: pd.DataFrame, name: str, col: str) -> Floats:
    if col not in frame.columns:
        msg = f"参数 {name} 缺少 {col} 列"
        raise MissingColumnError(msg, loc=(name, col))
    try:
        return pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        msg = f"参数 {name} 的 {col} 列应为数值"
        raise InvalidValueError(msg, loc=(name, col)) from exc


def _kinds(points: pd.DataFrame, ids: NDArray[np.object_]) -> NDArray[np.object_]:
    if "kind" not in points.columns:
        msg = "参数 points 缺少 kind 列"
        raise MissingColumnError(msg, loc=("points", "kind"))
    kind = points["kind"].to_numpy(dtype=object)
    bad = ~np.isin(kind, np.asarray(KINDS, dtype=object))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"参数 points 中 service_point_id={ids[i]} 的 kind 为 {kind[i]!r}，"
            f"应为 {'、'.join(KINDS)} 之一"
        )
        raise InvalidValueError(msg, loc=("points", str(ids[i]), "kind"))
    return kind


def _open(points: pd.DataFrame, ids: NDArray[np.object_]) -> Bools:
    if "is_open" not in points.columns:
        msg = "参数 points 缺少 is_open 列"
        raise MissingColumnError(msg, loc=("points", "is_open"))
    values = points["is_open"].to_numpy(dtype=object)
    bad = np.array([not isinstance(v, bool | np.bool_) for v in values], dtype=np.bool_)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"参数 points 中 service_point_id={ids[i]} 的 is_open 为 {values[i]!r}，"
            "应为 True 或 False"
        )
        raise InvalidValueError(msg, loc=("points", str(ids[i]), "is_open"))
    return values.astype(np.bool_)


# --- summaries and scenarios ------------------------------------------------------------------


def _aligned(coverage: Coverage, buildings: gpd.GeoDataFrame) -> NDArray[np.int64]:
    """Row of ``buildings`` for each row of ``coverage.buildings``; the id sets must match."""
    ids = checks.ids(buildings, "buildings", "building_id")
    cov_ids = coverage.buildings["building_id"].to_numpy(dtype=object)
    index = pd.Index(ids)
    pos = index.get_indexer(pd.Index(cov_ids))
    if len(ids) != len(cov_ids) or (pos < 0).any():
        msg = (
            f"参数 buildings（{len(ids)} 栋）与 coverage 计算时的楼栋不一致"
            f"（{len(cov_ids)} 栋）；请传入同一批楼栋"
        )
        raise CoverageMismatchError(msg, loc=("buildings", "building_id"))
    return pos.astype(np.int64)


def summarize(
    coverage: Coverage,
    buildings: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    by: str,
) -> pd.DataFrame:
    """Sum up coverage per community, grid or compound.

    Parameters
    ----------
    coverage
        From :func:`service_coverage`.
    buildings
        The buildings it was computed for, with ``households``, ``residents`` and the ``by``
        column.
    points
        The service points it was computed for (checked against the coverage).
    by
        ``"community"``, ``"grid"`` or ``"compound"``. Buildings without a value form one
        group with a missing key.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by``: ``buildings``, ``buildings_covered``, ``households``,
        ``households_covered``, ``households_covered_share``, ``residents``,
        ``residents_covered``, ``residents_covered_share`` and, per kind,
        ``households_covered_<kind>`` (households whose nearest open point of that kind is
        within the limit). Missing households or residents count as unknown: left out of
        both the total and the covered sum.
    """
    if by not in GROUPINGS:
        msg = f"参数 by 为 {by!r}，应为 {'、'.join(GROUPINGS)} 之一"
        raise OptionError(msg, loc=("by",))
    if by not in buildings.columns:
        msg = f"参数 buildings 缺少 {by} 列，无法按其汇总"
        raise MissingColumnError(msg, loc=("buildings", by))
    p_ids = checks.ids(points, "points", "service_point_id")
    known = set(coverage.points["service_point_id"].tolist())
    if len(p_ids) != len(known) or not known.issuperset(p_ids.tolist()):
        msg = f"参数 points（{len(p_ids)} 个）与 coverage 计算时的服务点不一致（{len(known)} 个）"
        raise CoverageMismatchError(msg, loc=("points", "service_point_id"))
    rows = _aligned(coverage, buildings)
    hh = _numbers(buildings, "buildings", "households")[rows]
    res = _numbers(buildings, "buildings", "residents")[rows]
    covered = coverage.buildings["covered"].to_numpy(dtype=np.bool_)
    frame = pd.DataFrame(
        {
            by: buildings[by].to_numpy(dtype=object)[rows],
            "buildings": 1,
            "buildings_covered": covered.astype(np.int64),
            "households": hh,
            "households_covered": np.where(covered, hh, 0.0),
            "residents": res,
            "residents_covered": np.where(covered, res, 0.0),
        }
    )
    for k in KINDS:
        near = coverage.by_kind[k].to_numpy(dtype=np.float64) <= coverage.limit_m
        frame[f"households_covered_{k}"] = np.where(near, hh, 0.0)
    sums = frame.groupby(by, dropna=False, sort=True).sum(min_count=0)
    columns: dict[str, Any] = {}
    for col in sums.columns:
        columns[col] = sums[col]
        what = col.removesuffix("_covered")
        if col.endswith("_covered") and what in ("households", "residents"):
            total = sums[what].to_numpy(dtype=np.float64)
            got = sums[col].to_numpy(dtype=np.float64)
            share = np.divide(got, total, out=np.full(len(total), np.nan), where=total > 0)
            columns[f"{col}_share"] = share
    return pd.DataFrame(columns, index=sums.index)


def uncovered(coverage: Coverage, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """List the buildings outside the circle, nearest to its edge first.

    Sorted by ``gap_m = walk_m - limit_m`` ascending (the easiest to bring in first), then
    the buildings no open point reaches at all (``walk_m`` NaN).

    Returns
    -------
    geopandas.GeoDataFrame
        ``building_id``, ``households``, ``residents`` (when given), ``community``, ``grid``
        and ``compound`` (when given), ``nearest_service_point_id``, ``walk_m``, ``gap_m`` and
        the footprint.
    """
    rows = _aligned(coverage, buildings)
    cov = coverage.buildings
    out_rows = np.flatnonzero(~cov["covered"].to_numpy(dtype=np.bool_))
    walk = cov["walk_m"].to_numpy(dtype=np.float64)[out_rows]
    order = np.lexsort((np.arange(len(out_rows)), walk, np.isnan(walk)))
    out_rows = out_rows[order]
    src = buildings.iloc[rows[out_rows]]
    data: dict[str, Any] = {"building_id": cov["building_id"].to_numpy(dtype=object)[out_rows]}
    for col in ("households", "residents", *GROUPINGS):
        if col in buildings.columns:
            data[col] = src[col].to_numpy()
    data["nearest_service_point_id"] = cov["nearest_service_point_id"].to_numpy(dtype=object)[
        out_rows
    ]
    data["walk_m"] = walk[order]
    data["gap_m"] = walk[order] - coverage.limit_m
    return gpd.GeoDataFrame(data, geometry=src.geometry.array, crs=buildings.crs)


def compare(before: Coverage, after: Coverage, buildings: gpd.GeoDataFrame) -> ScenarioDiff:
    """Count the buildings, households and residents a scenario brings in or leaves out.

    Both coverages must be for the same buildings, and both on the network or both
    approximate (mixing them would report the method's difference as a gain or a loss).
    """
    if before.approximate != after.approximate:
        msg = "参数 before 与 after 一个按路网计算、一个按直线距离估算，不能比较"
        raise CoverageMismatchError(msg, loc=("after", "approximate"))
    rows = _aligned(before, buildings)
    ids = before.buildings["building_id"].to_numpy(dtype=object)
    after_pos = pd.Index(after.buildings["building_id"].to_numpy(dtype=object)).get_indexer(
        pd.Index(ids)
    )
    if len(after.buildings) != len(ids) or (after_pos < 0).any():
        msg = "参数 before 与 after 的楼栋不一致，不能比较"
        raise CoverageMismatchError(msg, loc=("after", "building_id"))
    was = before.buildings["covered"].to_numpy(dtype=np.bool_)
    now = after.buildings["covered"].to_numpy(dtype=np.bool_)[after_pos]
    hh = np.nan_to_num(_numbers(buildings, "buildings", "households")[rows])
    res = (
        np.nan_to_num(_numbers(buildings, "buildings", "residents")[rows])
        if "residents" in buildings.columns
        else np.zeros(len(ids))
    )
    # Report in the order of the buildings given.
    order = np.argsort(rows, kind="stable")
    gained = order[(now & ~was)[order]]
    lost = order[(was & ~now)[order]]
    return ScenarioDiff(
        gained=tuple(ids[gained].tolist()),
        lost=tuple(ids[lost].tolist()),
        households_gained=float(hh[gained].sum()),
        households_lost=float(hh[lost].sum()),
        residents_gained=float(res[gained].sum()),
        residents_lost=float(res[lost].sum()),
    )
