"""A routable walking network built from footpath lines, walls and gates.

:func:`build_network` checks its inputs and assembles the result here; the topology of lines
is in :mod:`layers.network_topology`, the cutting at walls and opening at gates in
:mod:`layers.network_walls`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import geopandas as gpd
import shapely
from pyproj import CRS

from layers.errors import BadFile, CrsMismatch, InvalidGeometry
from layers.network_topology import Geoms, Ints, _Graph, _node_all, _topology
from layers.network_walls import _Gates, _geoms, _Walls, _walls_and_gates

__all__ = ["WalkNetwork", "build_network"]

_LINE_TYPES = (1, 2, 5)  # LineString, LinearRing, MultiLineString
_AREA_TYPES = (3, 6)  # Polygon, MultiPolygon


@dataclass(frozen=True)
class WalkNetwork:
    """An undirected walking network, ready to load into a router.

    Attributes
    ----------
    nodes
        One row per node: ``node_id`` (int64, ``0..n-1``), ``component`` (int64, connected
        component; 0 is the largest, then by falling size) and ``geometry`` (Point), in the
        CRS of the input ways.
    edges
        One row per edge: ``edge_id`` (int64), ``source`` and ``target`` (node ids),
        ``length_m``, ``way_code`` (code of the input line; ``""`` for the connectors made
        for gates), ``highway`` and ``name`` (from the input line, or None), ``gate_code``
        (set only on the short edge through a gate, so a router closes a gate by dropping
        that edge) and ``geometry`` (LineString from source to target).
    unconnected_gates
        Codes of gates that could be joined to nothing: no line passes them and no line
        lies near both sides of their wall.
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    unconnected_gates: tuple[str, ...] = ()


def build_network(
    ways: gpd.GeoDataFrame,
    *,
    barriers: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    gates: gpd.GeoDataFrame | None = None,
    gate_tolerance_m: float = 15.0,
    node_tolerance_m: float = 0.01,
    node_crossings: bool = False,
) -> WalkNetwork:
    """Build a walking network from lines, cutting it at walls and opening it at gates.

    Topology comes from shared vertices, as in OSM and most GIS edge tables: after
    snapping coordinates to a ``node_tolerance_m`` grid, a vertex is a node when it ends a
    line or occurs more than once (in two lines, or twice in one line such as a loop), and
    lines are split at every node. Lines that cross without a shared vertex are *not*
    joined, since in OSM that is a bridge or a tunnel. Pass ``node_crossings=True`` for
    hand-drawn lines that cross without shared vertices: every crossing and every end
    touching another line then becomes a junction.

    Wherever an edge properly crosses a barrier (it passes from one side to the other;
    touching or running along the wall is not a crossing, and neither is passing the free
    end of a wall), the edge is cut: about 1 m around the crossing is removed, leaving
    distinct nodes 0.5 m either side. If a gate lies within ``gate_tolerance_m`` of the
    crossing, the crossing becomes a passage instead: the edge is split 1 m either side
    of the wall and the 2 m middle edge carries ``gate_code``. Edges from both sides that
    meet at a node on the wall are treated the same way.

    A gate that no edge crosses within tolerance is connected: if it lies on a line (and
    nearer to it than to any wall) a 2 m stretch of that line becomes its gate edge;
    otherwise the nearest point of the network on each side of the nearest wall, within
    ``3 * gate_tolerance_m``, is joined to a 2 m gate edge across the wall by connector
    edges. A gate with nothing on one side is listed in ``unconnected_gates``.

    Parameters
    ----------
    ways
        Lines (LineString / MultiLineString) in a projected CRS in metres, with a ``code``
        column and optional ``highway`` and ``name`` columns.
    barriers
        Walls and fences (lines, or polygons whose boundary is the wall) in the same CRS.
    gates
        Gate points with a ``code`` column, in the same CRS.
    gate_tolerance_m
        How far a gate may lie from a wall crossing and still open it.
    node_tolerance_m
        Grid to which vertices are snapped before deciding which are shared.
    node_crossings
        Also join lines where they cross or touch without a shared vertex.

    Returns
    -------
    WalkNetwork
        Nodes (with connected ``component``) and edges; nothing is dropped for being in a
        small component.

    Raises
    ------
    InvalidGeometry
        If the ways have no CRS or a geographic one, or a layer holds the wrong geometry.
    CrsMismatch
        If barriers or gates are in another CRS than the ways.
    BadFile
        If ``ways`` or ``gates`` lack their ``code`` column.
    """
    if node_tolerance_m <= 0 or gate_tolerance_m < 0:
        msg = "node_tolerance_m must be > 0 and gate_tolerance_m >= 0"
        raise ValueError(msg)
    crs = _metric_crs(ways.crs)
    if "code" not in ways.columns:
        msg = "路网图层缺少 code（编号）列"
        raise BadFile(msg, loc=("ways", "code"))
    lines, row = _way_lines(ways)
    if node_crossings:
        lines, row = _node_all(lines, row, node_tolerance_m)
    graph = _topology(lines, row, node_tolerance_m)

    walls = _Walls.of(_barrier_lines(barriers, crs))
    gate_pts, gate_codes = _gate_points(gates, crs)
    usable = np.flatnonzero(~(shapely.is_missing(gate_pts) | shapely.is_empty(gate_pts)))
    unconnected = np.flatnonzero(shapely.is_missing(gate_pts) | shapely.is_empty(gate_pts))
    gate_set = _Gates(usable, gate_pts[usable], shapely.STRtree(gate_pts[usable]), gate_tolerance_m)
    if len(graph.geom) and (len(walls.geom) or len(usable)):
        graph, missed = _walls_and_gates(graph, walls, gate_set, tol_m=node_tolerance_m)
        unconnected = np.concatenate([unconnected, missed])
    else:
        unconnected = np.concatenate([unconnected, usable])
    missing = tuple(gate_codes[i] for i in np.unique(unconnected).tolist())
    return _assemble(graph, ways, gate_codes, missing, crs)


# --- input checks ---------------------------------------------------------------------------


def _metric_crs(crs: Any) -> CRS:
    """Return the CRS of the ways, refusing anything but a projected CRS in metres."""
    if crs is None:
        msg = "路网图层没有坐标系，无法按米计算长度"
        raise InvalidGeometry(msg, loc=("ways", "crs"))
    out = CRS.from_user_input(crs)
    if not out.is_projected:
        msg = f"路网图层的坐标系 {out.name} 不是投影坐标系；请先投影到以米为单位的坐标系（如 UTM）"
        raise InvalidGeometry(msg, loc=("ways", "crs"))
    if not {axis.unit_name for axis in out.axis_info} <= {"metre", "meter", "m"}:
        msg = f"路网图层的坐标系 {out.name} 不以米为单位"
        raise InvalidGeometry(msg, loc=("ways", "crs"))
    return out


def _same_crs(crs: Any, ways_crs: CRS, layer: str, zh: str) -> None:
    """Refuse a layer whose declared CRS differs from the ways' (None means 'the same')."""
    if crs is not None and not CRS.from_user_input(crs).equals(ways_crs):
        msg = f"{zh}图层的坐标系与路网不同，请先统一坐标系"
        raise CrsMismatch(msg, loc=(layer, "crs"))


def _plain_lines(geoms: Geoms, layer: str) -> tuple[Geoms, Ints]:
    """Flatten lines, multi-lines and rings into 2D LineStrings; return each one's source."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    if not np.isfinite(coords).all():
        msg = "含有无效坐标（NaN 或无穷大）"
        raise InvalidGeometry(msg, loc=(layer, "geometry"))
    keep = np.bincount(part_of, minlength=len(parts)) >= 2
    renumber = np.cumsum(keep) - 1
    sel = keep[part_of]
    lines = shapely.linestrings(coords[sel], indices=renumber[part_of[sel]])
    return np.asarray(lines, dtype=object), idx[keep].astype(np.int64)


def _way_lines(ways: gpd.GeoDataFrame) -> tuple[Geoms, Ints]:
    """Return the ways as 2D LineStrings with the positional row each came from."""
    geoms = np.asarray(ways.geometry.array, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(geoms)
    wrong = present & ~np.isin(types, _LINE_TYPES)
    if wrong.any():
        bad = int(np.flatnonzero(wrong)[0])
        msg = f"路网第 {bad + 1} 行的几何是 {geoms[bad].geom_type}，路网只接受线"
        raise InvalidGeometry(msg, loc=("ways", "row", bad + 1, "geometry"))
    rows = np.flatnonzero(present)
    lines, idx = _plain_lines(geoms[rows], "ways")
    return lines, rows[idx].astype(np.int64)


def _barrier_lines(barriers: Any, crs: CRS) -> Geoms:
    """Return the barriers as LineStrings, with walls split into several lines merged."""
    if barriers is None:
        return np.empty(0, dtype=object)
    _same_crs(barriers.crs, crs, "barriers", "围墙")
    series = barriers.geometry if hasattr(barriers, "columns") else barriers
    geoms = np.asarray(series.array, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    types = shapely.get_type_id(geoms)
    areas = np.isin(types, _AREA_TYPES)
    geoms[areas] = shapely.boundary(geoms[areas])
    wrong = ~areas & ~np.isin(types, _LINE_TYPES)
    if wrong.any():
        msg = "围墙图层只接受线或面"
        raise InvalidGeometry(msg, loc=("barriers", "geometry"))
    parts, _ = _plain_lines(geoms, "barriers")
    if len(parts) == 0:
        return np.empty(0, dtype=object)
    # OSM often splits one wall into several ways; merging them at shared ends means a
    # path crossing where two pieces meet is still seen to cross a wall, not pass its end.
    merged = shapely.line_merge(shapely.multilinestrings(parts))
    out = np.asarray(shapely.get_parts(merged), dtype=object)
    return out[shapely.length(out) > 0]


def _gate_points(gates: Any, crs: CRS) -> tuple[Geoms, list[str]]:
    """Return gate points (None where a gate has no usable point) and codes."""
    if gates is None or len(gates) == 0:
        return np.empty(0, dtype=object), []
    _same_crs(gates.crs, crs, "gates", "出入口")
    if "code" not in gates.columns:
        msg = "出入口图层缺少 code（编号）列"
        raise BadFile(msg, loc=("gates", "code"))
    geoms = np.asarray(gates.geometry.array, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    wrong = present & (shapely.get_type_id(geoms) != 0)
    if wrong.any():
        bad = int(np.flatnonzero(wrong)[0])
        msg = f"出入口第 {bad + 1} 行不是点（{geoms[bad].geom_type}）"
        raise InvalidGeometry(msg, loc=("gates", "row", bad + 1, "geometry"))
    pts = _geoms(shapely.force_2d(geoms))
    codes = [str(c) for c in gates["code"].tolist()]
    return pts, codes


# --- output ---------------------------------------------------------------------------------


def _text(values: Any) -> NDArray[np.object_]:
    """Return values as an object array of str, with missing values as None."""
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    out = series.astype(str).to_numpy(dtype=object)
    out[series.isna().to_numpy()] = None
    return out


def _assemble(
    g: _Graph,
    ways: gpd.GeoDataFrame,
    gate_codes: list[str],
    unconnected: tuple[str, ...],
    crs: CRS,
) -> WalkNetwork:
    """Drop degenerate edges and unused nodes, number everything and build the frames."""
    length = g.length()
    g = g.take(length > 0)
    length = length[length > 0]
    used = np.zeros(len(g.xy), dtype=bool)
    used[g.source] = True
    used[g.target] = True
    new_id = np.cumsum(used) - 1
    source, target = new_id[g.source], new_id[g.target]
    n = int(used.sum())
    adjacency = coo_matrix((np.ones(len(source)), (source, target)), shape=(n, n))
    _, label = connected_components(adjacency, directed=False)
    # Number components by falling size so that 0 is the main network.
    size = np.bincount(label, minlength=1)
    rank = np.empty(len(size), dtype=np.int64)
    rank[np.lexsort((np.arange(len(size)), -size))] = np.arange(len(size))
    nodes = gpd.GeoDataFrame(
        {"node_id": np.arange(n, dtype=np.int64), "component": rank[label].astype(np.int64)},
        geometry=shapely.points(g.xy[used]) if n else np.empty(0, dtype=object),
        crs=crs,
    )
    has_way = g.way >= 0
    wi = np.maximum(g.way, 0)

    def per_edge(col: str) -> NDArray[np.object_]:
        values = _text(ways[col].to_numpy()) if col in ways.columns else np.full(len(ways), None)
        out = np.full(len(wi), None, dtype=object)
        out[has_way] = values[wi[has_way]]
        return out

    way_code = per_edge("code")
    way_code[way_code == None] = ""  # noqa: E711  (connectors, and ways without a code)
    gate_code = np.full(len(wi), None, dtype=object)
    gated = g.gate >= 0
    gate_code[gated] = np.asarray(gate_codes, dtype=object)[g.gate[gated]]
    edges = gpd.GeoDataFrame(
        {
            "edge_id": np.arange(len(source), dtype=np.int64),
            "source": source.astype(np.int64),
            "target": target.astype(np.int64),
            "length_m": length,
            "way_code": pd.Series(way_code, dtype=object),
            "highway": pd.Series(per_edge("highway"), dtype=object),
            "name": pd.Series(per_edge("name"), dtype=object),
            "gate_code": pd.Series(gate_code, dtype=object),
        },
        geometry=g.geom,
        crs=crs,
    )
    return WalkNetwork(nodes, edges, unconnected)
