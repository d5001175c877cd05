"""A routable walking network built from footpath lines, walls and gates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from layers.errors import BadFile, CrsMismatch, InvalidGeometry

__all__ = ["WalkNetwork", "build_network"]

Geoms = NDArray[np.object_]
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

# A cut wall leaves nodes this far either side of it, so the two sides are visibly apart.
_WALL_HALF_GAP_M = 0.5
# A gate edge runs this far either side of the wall it passes.
_GATE_HALF_M = 1.0
# How far along a line we look to tell which side of a wall it is on: short enough to stay
# clear of the next bend, long enough to be far above coordinate round-off.
_PROBE_M = 0.1
# A gate this close to a line, and nearer to it than to any wall, is a gate on that line
# (an OSM lift gate on a service road with no wall mapped).
_GATE_ON_EDGE_M = 0.5
# Angles within this of a wall's direction count as running along it.
_ANGLE_EPS = 1e-7

# What happens to a stretch of an edge between two cuts.
_KEEP, _GAP, _GATE = 0, 1, 2

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


@dataclass
class _Graph:
    """Working arrays of a network under construction; node ids index ``xy``."""

    xy: Floats  # (n, 2) node coordinates
    geom: Geoms  # (m,) LineStrings, source to target
    source: Ints
    target: Ints
    way: Ints  # positional row of the input way, -1 for gate connectors
    gate: Ints  # index of the gate this edge passes, -1 for none

    def length(self) -> Floats:
        """Return the length of every edge."""
        return np.asarray(shapely.length(self.geom), dtype=np.float64)

    def take(self, keep: Bools | Ints) -> _Graph:
        """Return the graph with only the selected edges (nodes are untouched)."""
        return _Graph(
            self.xy, self.geom[keep], self.source[keep], self.target[keep],
            self.way[keep], self.gate[keep],
        )  # fmt: skip

    def extend(self, other: _Graph) -> _Graph:
        """Return the graph with the edges of ``other`` appended (same node ids)."""
        return _Graph(
            other.xy,
            np.concatenate([self.geom, other.geom]),
            np.concatenate([self.source, other.source]),
            np.concatenate([self.target, other.target]),
            np.concatenate([self.way, other.way]),
            np.concatenate([self.gate, other.gate]),
        )


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
        raise ValueError("node_tolerance_m must be > 0 and gate_tolerance_m >= 0")
    crs = _metric_crs(ways.crs)
    if "code" not in ways.columns:
        raise BadFile("路网图层缺少 code（编号）列", loc=("ways", "code"))
    lines, row = _way_lines(ways)
    if node_crossings:
        lines, row = _node_all(lines, row, node_tolerance_m)
    graph = _topology(lines, row, node_tolerance_m)

    bars = _barrier_lines(barriers, crs)
    gate_xy, gate_codes, gate_ok = _gate_points(gates, crs)
    unconnected: list[int] = np.flatnonzero(~gate_ok).tolist()
    if len(graph.geom) and (len(bars) or gate_ok.any()):
        graph, missed = _walls_and_gates(
            graph, bars, gate_xy, np.flatnonzero(gate_ok),
            gate_tolerance_m=gate_tolerance_m, tol_m=node_tolerance_m,
        )  # fmt: skip
        unconnected.extend(missed.tolist())
    elif gate_ok.any():
        unconnected.extend(np.flatnonzero(gate_ok).tolist())
    return _assemble(graph, ways, gate_codes, sorted(set(unconnected)), crs)


# --- input checks ---------------------------------------------------------------------------


def _metric_crs(crs: Any) -> CRS:
    """Return the CRS of the ways, refusing anything but a projected CRS in metres."""
    if crs is None:
        raise InvalidGeometry("路网图层没有坐标系，无法按米计算长度", loc=("ways", "crs"))
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise InvalidGeometry(
            f"路网图层的坐标系 {crs.to_string()} 不是投影坐标系；请先投影到以米为单位的坐标系"
            "（如 UTM）",
            loc=("ways", "crs"),
        )
    units = {axis.unit_name for axis in crs.axis_info}
    if not units <= {"metre", "meter", "m"}:
        raise InvalidGeometry(
            f"路网图层的坐标系 {crs.to_string()} 不以米为单位", loc=("ways", "crs")
        )
    return crs


def _same_crs(crs: Any, ways_crs: CRS, layer: str, zh: str) -> None:
    """Refuse a layer whose declared CRS differs from the ways' (None means 'the same')."""
    if crs is not None and not CRS.from_user_input(crs).equals(ways_crs):
        raise CrsMismatch(f"{zh}图层的坐标系与路网不同，请先统一坐标系", loc=(layer, "crs"))


def _plain_lines(geoms: Geoms, layer: str) -> tuple[Geoms, Ints]:
    """Flatten lines, multi-lines and rings into 2D LineStrings; return each one's source."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    if not np.isfinite(coords).all():
        raise InvalidGeometry("含有无效坐标（NaN 或无穷大）", loc=(layer, "geometry"))
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
        raise InvalidGeometry(
            f"路网第 {bad + 1} 行的几何是 {geoms[bad].geom_type}，路网只接受线"
            "（LineString / MultiLineString）",
            loc=("ways", bad, "geometry"),
        )
    rows = np.flatnonzero(present)
    lines, idx = _plain_lines(geoms[rows], "ways")
    return lines, rows[idx].astype(np.int64)


def _barrier_lines(barriers: Any, crs: CRS) -> Geoms:
    """Return the barriers as LineStrings, with walls split into several lines merged."""
    if barriers is None:
        return np.empty(0, dtype=object)
    _same_crs(barriers.crs, crs, "barriers", "围墙")
    geoms = np.asarray(barriers.geometry.array if hasattr(barriers, "columns")
                       else barriers.array, dtype=object)  # fmt: skip
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    types = shapely.get_type_id(geoms)
    areas = np.isin(types, _AREA_TYPES)
    geoms = np.where(areas, shapely.boundary(geoms), geoms)
    wrong = ~areas & ~np.isin(types, _LINE_TYPES)
    if wrong.any():
        raise InvalidGeometry("围墙图层只接受线或面", loc=("barriers", "geometry"))
    parts, _ = _plain_lines(geoms, "barriers")
    if len(parts) == 0:
        return np.empty(0, dtype=object)
    # OSM often splits one wall into several ways; merging them at shared ends means a
    # path crossing where two pieces meet is still seen to cross a wall, not pass its end.
    merged = shapely.line_merge(shapely.multilinestrings(parts))
    out = np.asarray(shapely.get_parts(merged), dtype=object)
    return out[shapely.length(out) > 0]


def _gate_points(gates: Any, crs: CRS) -> tuple[Floats, list[str], Bools]:
    """Return gate coordinates, codes and which gates have a usable point."""
    if gates is None or len(gates) == 0:
        return np.empty((0, 2)), [], np.zeros(0, dtype=bool)
    _same_crs(gates.crs, crs, "gates", "出入口")
    if "code" not in gates.columns:
        raise BadFile("出入口图层缺少 code（编号）列", loc=("gates", "code"))
    geoms = np.asarray(gates.geometry.array, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    wrong = ok & (shapely.get_type_id(geoms) != 0)
    if wrong.any():
        bad = int(np.flatnonzero(wrong)[0])
        raise InvalidGeometry(
            f"出入口第 {bad + 1} 行不是点（{geoms[bad].geom_type}）", loc=("gates", bad, "geometry")
        )
    xy = np.full((len(geoms), 2), np.nan)
    xy[ok] = shapely.get_coordinates(geoms[ok])
    codes = [str(c) for c in gates["code"].tolist()]
    return xy, codes, ok & np.isfinite(xy).all(axis=1)


# --- topology -------------------------------------------------------------------------------


def _grid_ids(coords: Floats, tol_m: float) -> tuple[Ints, Ints]:
    """Snap coordinates to a grid; return an id per coordinate and one coordinate per id."""
    q = np.round(coords / tol_m)
    q -= q.min(axis=0)
    qi = q.astype(np.int64)
    span = int(qi[:, 1].max()) + 1
    if int(qi[:, 0].max()) < (2**62) // span:
        _, first, inverse = np.unique(qi[:, 0] * span + qi[:, 1], return_index=True,
                                      return_inverse=True)  # fmt: skip
    else:  # an extent too wide for one int64 key: slower row-wise unique
        _, first, inverse = np.unique(qi, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), first.astype(np.int64)


def _topology(lines: Geoms, row: Ints, tol_m: float) -> _Graph:
    """Split lines at shared vertices and line ends into edges between numbered nodes."""
    empty = _Graph(np.empty((0, 2)), np.empty(0, dtype=object), *(np.empty(0, np.int64),) * 4)
    if len(lines) == 0:
        return empty
    coords, li = shapely.get_coordinates(lines, return_index=True)
    vid, first = _grid_ids(coords, tol_m)
    vxy = coords[first]  # each snapped vertex keeps the first input coordinate found there
    # Repeated points (exact or within the grid) would make zero-length segments.
    dup = np.zeros(len(vid), dtype=bool)
    dup[1:] = (li[1:] == li[:-1]) & (vid[1:] == vid[:-1])
    vid, li = vid[~dup], li[~dup]
    longer = np.bincount(li, minlength=len(lines))[li] >= 2
    vid, li = vid[longer], li[longer]
    if len(vid) == 0:
        return empty
    line_start = np.ones(len(vid), dtype=bool)
    line_start[1:] = li[1:] != li[:-1]
    line_end = np.ones(len(vid), dtype=bool)
    line_end[:-1] = line_start[1:]
    is_node = line_start | line_end | (np.bincount(vid)[vid] >= 2)

    seg = np.flatnonzero(~line_end)  # vertex k starts segment k -> k+1
    edge_of_seg = np.cumsum(is_node[seg]) - 1
    closes = is_node[seg + 1]  # segments that end their edge
    # Each edge's coordinates: the start vertex of each of its segments, then its end node.
    rec_v = np.concatenate([seg, seg[closes] + 1])
    rec_e = np.concatenate([edge_of_seg, edge_of_seg[closes]])
    order = np.lexsort((rec_v, rec_e))
    geom = shapely.linestrings(vxy[vid[rec_v[order]]], indices=rec_e[order])

    node_vids = np.unique(vid[is_node])
    node_of = np.full(len(vxy), -1, dtype=np.int64)
    node_of[node_vids] = np.arange(len(node_vids))
    opens = seg[is_node[seg]]
    n_edges = len(opens)
    return _Graph(
        xy=vxy[node_vids],
        geom=np.asarray(geom, dtype=object),
        source=node_of[vid[opens]],
        target=node_of[vid[seg[closes] + 1]],
        way=row[li[opens]],
        gate=np.full(n_edges, -1, dtype=np.int64),
    )


def _ranges(starts: Ints, counts: Ints) -> Ints:
    """Concatenate ``arange(s, s + c)`` for every start and count."""
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + np.arange(total) - offsets


def _split(
    geom: Geoms, cut_line: Ints, cut_pos: Floats, cut_xy: Floats | None = None
) -> tuple[Geoms, Ints, Ints, Ints]:
    """Split lines at distances along them.

    Parameters
    ----------
    geom
        The lines.
    cut_line, cut_pos
        Where to cut: line index and distance from its start, sorted by line then
        distance, every distance strictly inside its line.
    cut_xy
        Coordinates of the cut points; interpolated when not given. Passing them makes
        pieces end exactly on points computed elsewhere (an intersection, a node).

    Returns
    -------
    pieces, piece_line, prev_cut, next_cut
        Every line's pieces in order, the line each came from, and the index of the cut
        that starts and ends each (-1 for a line's own start or end).
    """
    n = len(geom)
    if cut_xy is None:
        cut_xy = shapely.get_coordinates(shapely.line_interpolate_point(geom[cut_line], cut_pos))
    coords, vline = shapely.get_coordinates(geom, return_index=True)
    step = np.hypot(*np.diff(coords, axis=0).T)
    step[vline[1:] != vline[:-1]] = 0.0
    run = np.concatenate([[0.0], np.cumsum(step)])
    line_first = np.searchsorted(vline, np.arange(n))
    vpos = run - run[line_first][vline]
    total = np.bincount(vline, weights=np.concatenate([step, [0.0]]), minlength=n)
    # One sortable key per (line, distance): lines laid end to end with a gap of 1.
    offset = np.cumsum(total + 1.0) - (total + 1.0)
    vkey = offset[vline] + vpos
    ckey = offset[cut_line] + cut_pos
    ncut = len(cut_line)
    cut_idx = np.arange(ncut)
    # Line i's pieces are numbered i + (cuts before them), so piece ids are contiguous.
    vpiece = vline + np.searchsorted(ckey, vkey, side="left")
    rec_xy = np.concatenate([coords, cut_xy, cut_xy])
    rec_piece = np.concatenate([vpiece, cut_line + cut_idx, cut_line + cut_idx + 1])
    rec_key = np.concatenate([vkey, ckey, ckey])
    # A cut point starts its next piece before any vertex there and ends its piece after.
    rec_tie = np.concatenate([np.ones(len(vkey)), np.full(ncut, 2.0), np.zeros(ncut)])
    order = np.lexsort((rec_tie, rec_key, rec_piece))
    pieces = np.asarray(shapely.linestrings(rec_xy[order], indices=rec_piece[order]), dtype=object)
    per_line = np.bincount(cut_line, minlength=n) + 1
    piece_line = np.repeat(np.arange(n), per_line)
    cut_base = np.searchsorted(cut_line, np.arange(n))
    local = np.arange(len(piece_line)) - (piece_line + cut_base[piece_line])
    prev_cut = np.where(local > 0, cut_base[piece_line] + local - 1, -1)
    next_cut = np.where(local < per_line[piece_line] - 1, cut_base[piece_line] + local, -1)
    return pieces, piece_line, prev_cut.astype(np.int64), next_cut.astype(np.int64)


def _node_all(lines: Geoms, row: Ints, tol_m: float) -> tuple[Geoms, Ints]:
    """Split lines wherever they cross or touch, so that every crossing shares a vertex."""
    simple = np.asarray(shapely.is_simple(lines), dtype=bool)
    if not simple.all():
        noded, idx = shapely.get_parts(shapely.node(lines[~simple]), return_index=True)
        lines = np.concatenate([lines[simple], np.asarray(noded, dtype=object)])
        row = np.concatenate([row[simple], row[~simple][idx]])
    left, right = shapely.STRtree(lines).query(lines, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    if len(left) == 0:
        return lines, row
    parts, pidx = shapely.get_parts(shapely.intersection(lines[left], lines[right]),
                                    return_index=True)  # fmt: skip
    kind = shapely.get_type_id(parts)
    # Overlapping stretches are joined at their ends.
    ov = kind == 1
    pts = np.concatenate([parts[kind == 0], shapely.get_point(parts[ov], 0),
                          shapely.get_point(parts[ov], -1)])  # fmt: skip
    pp = np.concatenate([pidx[kind == 0], pidx[ov], pidx[ov]])
    cut_line = np.concatenate([left[pp], right[pp]])
    cut_pt = np.concatenate([pts, pts])
    pos = shapely.line_locate_point(lines[cut_line], cut_pt)
    length = shapely.length(lines)[cut_line]
    inside = (pos > tol_m) & (pos < length - tol_m)
    cut_line, pos, cut_pt = cut_line[inside], pos[inside], cut_pt[inside]
    order = np.lexsort((pos, cut_line))
    cut_line, pos, cut_pt = cut_line[order], pos[order], cut_pt[order]
    distinct = np.ones(len(pos), dtype=bool)
    distinct[1:] = (cut_line[1:] != cut_line[:-1]) | (pos[1:] != pos[:-1])
    cut_line, pos, cut_pt = cut_line[distinct], pos[distinct], cut_pt[distinct]
    pieces, piece_line, _, _ = _split(lines, cut_line, pos, shapely.get_coordinates(cut_pt))
    return pieces, row[piece_line]


# --- walls and gates ------------------------------------------------------------------------


def _interpolate_xy(geom: Geoms, pos: Floats) -> Floats:
    """Return the coordinates of the points at distances ``pos`` along ``geom``."""
    return np.asarray(shapely.get_coordinates(shapely.line_interpolate_point(geom, pos)))


def _wall_frame(
    bars: Geoms, bar_len: Floats, closed: Bools, b: Ints, t: Floats
) -> tuple[Floats, Floats]:
    """Return points a little ahead of and behind distance ``t`` along barrier ``b``."""
    lb = bar_len[b]
    ring = closed[b]
    step = np.where(ring, np.minimum(_PROBE_M, lb / 4),
                    np.minimum(_PROBE_M, np.minimum(t, lb - t) / 2))  # fmt: skip
    ahead = np.where(ring, np.mod(t + step, lb), np.minimum(t + step, lb))
    behind = np.where(ring, np.mod(t - step, lb), np.maximum(t - step, 0.0))
    return _interpolate_xy(bars[b], ahead), _interpolate_xy(bars[b], behind)


def _side(apex: Floats, ahead: Floats, behind: Floats, probe: Floats) -> Ints:
    """Tell on which side of a wall a probe point lies: +1 left, -1 right, 0 on the wall.

    The wall near ``apex`` runs from ``behind`` through ``apex`` to ``ahead`` and may bend
    there (a corner of a compound), so the sides are the two angular sectors it bounds.
    """
    two_pi = 2.0 * np.pi

    def angle(p: Floats) -> Floats:
        return np.arctan2(p[:, 1] - apex[:, 1], p[:, 0] - apex[:, 0])

    fwd = angle(ahead)
    wedge = np.mod(angle(behind) - fwd, two_pi)
    rel = np.mod(angle(probe) - fwd, two_pi)
    on = (rel < _ANGLE_EPS) | (rel > two_pi - _ANGLE_EPS) | (np.abs(rel - wedge) < _ANGLE_EPS)
    return np.where(on, 0, np.where(rel < wedge, 1, -1)).astype(np.int64)


@dataclass
class _Intervals:
    """Stretches of edges to remove (wall gaps) or to turn into gate edges."""

    edge: list[Ints]
    lo: list[Floats]
    hi: list[Floats]
    kind: list[Ints]
    gate: list[Ints]

    def add(self, edge: Ints, lo: Floats, hi: Floats, kind: Ints, gate: Ints) -> None:
        """Append stretches."""
        self.edge.append(edge)
        self.lo.append(lo)
        self.hi.append(hi)
        self.kind.append(kind)
        self.gate.append(gate)


def _walls_and_gates(
    g: _Graph, bars: Geoms, gate_xy: Floats, gate_idx: Ints, *, gate_tolerance_m: float,
    tol_m: float,
) -> tuple[_Graph, Ints]:  # fmt: skip
    """Cut the network at walls, open it at gates and connect the remaining gates."""
    length = g.length()
    gate_pts = shapely.points(gate_xy[gate_idx]) if len(gate_idx) else np.empty(0, dtype=object)
    gate_tree = shapely.STRtree(gate_pts)
    bar_tree = shapely.STRtree(bars)
    bar_len = np.asarray(shapely.length(bars), dtype=np.float64)
    closed = np.asarray(shapely.is_closed(bars), dtype=bool)
    iv = _Intervals([], [], [], [], [])
    used_gate = np.zeros(len(gate_idx), dtype=bool)

    def nearest_gate(points: Floats) -> Ints:
        """Return the (local) index of the nearest gate within tolerance, or -1."""
        out = np.full(len(points), -1, dtype=np.int64)
        if len(points) and len(gate_idx):
            src, hit = gate_tree.query_nearest(shapely.points(points), all_matches=False,
                                               max_distance=gate_tolerance_m)  # fmt: skip
            out[src] = hit
        return out

    merge_at = np.empty(0, dtype=np.int64)
    relabel_edge = np.empty(0, dtype=np.int64)
    relabel_start = np.empty(0, dtype=bool)
    relabel_node = np.empty(0, dtype=np.int64)
    if len(bars):
        ei, bi = bar_tree.query(g.geom, predicate="intersects")
        parts, pidx = shapely.get_parts(shapely.intersection(g.geom[ei], bars[bi]),
                                        return_index=True)  # fmt: skip
        # Only point contacts can be crossings; stretches running along a wall are not.
        point = shapely.get_type_id(parts) == 0
        parts, pidx = parts[point], pidx[point]
        e, b = ei[pidx], bi[pidx]
        pxy = shapely.get_coordinates(parts)
        d = np.asarray(shapely.line_locate_point(g.geom[e], parts), dtype=np.float64)
        t = np.asarray(shapely.line_locate_point(bars[b], parts), dtype=np.float64)
        wall_end = ~closed[b] & ((t <= tol_m) | (t >= bar_len[b] - tol_m))
        at_start = ~wall_end & (d <= tol_m)
        at_end = ~wall_end & ~at_start & (d >= length[e] - tol_m)
        mid = ~wall_end & ~at_start & ~at_end

        # Crossings inside an edge: compare the sides just before and just after.
        e1, d1, b1, t1, p1 = e[mid], d[mid], b[mid], t[mid], pxy[mid]
        ahead, behind = _wall_frame(bars, bar_len, closed, b1, t1)
        step = np.minimum(_PROBE_M, np.minimum(d1, length[e1] - d1) / 2)
        before = _side(p1, ahead, behind, _interpolate_xy(g.geom[e1], d1 - step))
        after = _side(p1, ahead, behind, _interpolate_xy(g.geom[e1], d1 + step))
        cross = before * after == -1
        e1, d1, p1 = e1[cross], d1[cross], p1[cross]
        near = nearest_gate(p1)
        used_gate[near[near >= 0]] = True
        half = np.where(near >= 0, _GATE_HALF_M, _WALL_HALF_GAP_M)
        iv.add(e1, d1 - half, d1 + half, np.where(near >= 0, _GATE, _GAP), near)

        # Nodes on a wall: a crossing when their edges leave it on both sides.
        touch = at_start | at_end
        node = np.where(at_start, g.source[e], g.target[e])[touch]
        key, first = np.unique(node * max(len(bars), 1) + b[touch], return_index=True)
        del key
        tn, tb, tt, tp = node[first], b[touch][first], t[touch][first], pxy[touch][first]
        found = _node_crossings(g, length, bars, bar_len, closed, tn, tb, tt, tp)
        pair, inc_e, inc_start, inc_side = found
        if len(pair):
            n_pairs = len(tn)
            plus = np.bincount(pair, weights=inc_side == 1, minlength=n_pairs)
            minus = np.bincount(pair, weights=inc_side == -1, minlength=n_pairs)
            is_cross = (plus > 0) & (minus > 0)
            # One crossing per node, even where two walls meet on it.
            cross_pairs = np.flatnonzero(is_cross)
            _, once = np.unique(tn[cross_pairs], return_index=True)
            is_cross = np.zeros(n_pairs, dtype=bool)
            is_cross[cross_pairs[once]] = True
            near_pair = np.full(n_pairs, -1, dtype=np.int64)
            near_pair[is_cross] = nearest_gate(tp[is_cross])
            used_gate[near_pair[near_pair >= 0]] = True
            sel = is_cross[pair] & (inc_side != 0)
            p, ie, ist, isd = pair[sel], inc_e[sel], inc_start[sel], inc_side[sel]
            count = np.where(isd == 1, plus[p], minus[p])
            other = np.where(isd == 1, minus[p], plus[p])
            gated = near_pair[p] >= 0
            # Cut the lone edge on a side; cutting an edge of a side with several would
            # part them from each other. With several on both sides, give the minus side
            # its own node instead (and leave a gated crossing open: rare).
            cut = count == 1
            half = np.where(gated, _GATE_HALF_M, _WALL_HALF_GAP_M)[cut]
            ce, cs = ie[cut], ist[cut]
            lo = np.where(cs, 0.0, length[ce] - half)
            hi = np.where(cs, half, length[ce])
            iv.add(ce, lo, hi, np.where(gated[cut], _GATE, _GAP), near_pair[p][cut])
            apart = (count > 1) & (other > 1) & ~gated & (isd == -1)
            relabel_edge, relabel_start = ie[apart], ist[apart]
            relabel_node = p[apart]
            both_single = is_cross & (plus == 1) & (minus == 1) & (near_pair >= 0)
            merge_at = tn[both_single]

    # Gates no crossing used: those sitting on a line become a stretch of it.
    spare = np.flatnonzero(~used_gate)
    on_line = np.zeros(len(spare), dtype=bool)
    if len(spare) and len(g.geom):
        pts = gate_pts[spare]
        src, hit = shapely.STRtree(g.geom).query_nearest(
            pts, max_distance=_GATE_ON_EDGE_M, return_distance=False, all_matches=False
        )
        edge_dist = np.full(len(spare), np.inf)
        edge_dist[src] = shapely.distance(pts[src], g.geom[hit])
        edge_of = np.full(len(spare), -1, dtype=np.int64)
        edge_of[src] = hit
        wall_dist = np.full(len(spare), np.inf)
        if len(bars):
            wsrc, whit = bar_tree.query_nearest(pts, max_distance=gate_tolerance_m,
                                                all_matches=False)  # fmt: skip
            wall_dist[wsrc] = shapely.distance(pts[wsrc], bars[whit])
        on_line = (edge_of >= 0) & (edge_dist < wall_dist)
        le = edge_of[on_line]
        ld = np.asarray(shapely.line_locate_point(g.geom[le], pts[on_line]), dtype=np.float64)
        iv.add(le, ld - _GATE_HALF_M, ld + _GATE_HALF_M, np.full(len(le), _GATE),
               spare[on_line])  # fmt: skip

    # Apply everything found so far in one pass of cuts.
    n_before = len(g.xy)
    if len(relabel_edge):
        g = _relabel(g, relabel_edge, relabel_start, relabel_node)
    g = _cut_intervals(g, iv, length, tol_m)
    if len(merge_at):
        g = _merge_gate_halves(g, merge_at[merge_at < n_before])
    g = _Graph(g.xy, g.geom, g.source, g.target, g.way,
               np.where(g.gate >= 0, gate_idx[np.maximum(g.gate, 0)], -1))  # fmt: skip

    # The rest go through the nearest wall, joined to the network on both sides.
    rest = spare[~on_line]
    if len(rest) == 0:
        return g, np.empty(0, dtype=np.int64)
    g, missed = _connect_gates(g, bars, bar_tree, bar_len, closed, gate_xy, gate_idx[rest],
                               gate_tolerance_m=gate_tolerance_m, tol_m=tol_m)  # fmt: skip
    return g, missed


def _node_crossings(
    g: _Graph, length: Floats, bars: Geoms, bar_len: Floats, closed: Bools,
    node: Ints, b: Ints, t: Floats, pxy: Floats,
) -> tuple[Ints, Ints, Bools, Ints]:  # fmt: skip
    """For nodes touching a wall, tell on which side each of their edges leaves.

    Returns, per (touch, incident edge): the touch index, the edge, whether the node is the
    edge's start, and the side (+1, -1, 0 along the wall).
    """
    m = len(g.geom)
    inc_e = np.concatenate([np.arange(m), np.arange(m)])
    inc_n = np.concatenate([g.source, g.target])
    inc_start = np.concatenate([np.ones(m, dtype=bool), np.zeros(m, dtype=bool)])
    order = np.argsort(inc_n, kind="stable")
    inc_e, inc_n, inc_start = inc_e[order], inc_n[order], inc_start[order]
    lo = np.searchsorted(inc_n, node, side="left")
    count = np.searchsorted(inc_n, node, side="right") - lo
    flat = _ranges(lo, count)
    pair = np.repeat(np.arange(len(node)), count)
    e, start = inc_e[flat], inc_start[flat]
    step = np.minimum(_PROBE_M, length[e] / 2)
    probe = _interpolate_xy(g.geom[e], np.where(start, step, length[e] - step))
    ahead, behind = _wall_frame(bars, bar_len, closed, b[pair], t[pair])
    side = _side(pxy[pair], ahead, behind, probe)
    return pair, e, start, side


def _relabel(g: _Graph, edge: Ints, at_start: Bools, pair: Ints) -> _Graph:
    """Give the listed edge ends a new node per crossing, at the old node's place."""
    uniq, new_of = np.unique(pair, return_inverse=True)
    old = np.where(at_start, g.source[edge], g.target[edge])
    first_old = np.zeros(len(uniq), dtype=np.int64)
    first_old[new_of] = old
    new_id = len(g.xy) + new_of
    source, target = g.source.copy(), g.target.copy()
    source[edge[at_start]] = new_id[at_start]
    target[edge[~at_start]] = new_id[~at_start]
    xy = np.concatenate([g.xy, g.xy[first_old]])
    return _Graph(xy, g.geom, source, target, g.way, g.gate)


def _cut_intervals(g: _Graph, iv: _Intervals, length: Floats, tol_m: float) -> _Graph:
    """Remove the gap stretches and split off the gate stretches of edges."""
    if not iv.edge or sum(len(x) for x in iv.edge) == 0:
        return g
    e = np.concatenate(iv.edge)
    lo = np.clip(np.concatenate(iv.lo), 0.0, length[e])
    hi = np.clip(np.concatenate(iv.hi), 0.0, length[e])
    kind = np.concatenate(iv.kind).astype(np.int64)
    gate = np.concatenate(iv.gate).astype(np.int64)
    order = np.lexsort((lo, e))
    e, lo, hi, kind, gate = e[order], lo[order], hi[order], kind[order], gate[order]
    # Merge overlapping stretches of one edge; lay edges end to end so a running maximum
    # never leaks from one edge into the next.
    offset = (np.cumsum(length + 1.0) - (length + 1.0))[e]
    reach = np.maximum.accumulate(hi + offset)
    new = np.ones(len(e), dtype=bool)
    new[1:] = (e[1:] != e[:-1]) | (lo[1:] + offset[1:] > reach[:-1])
    starts = np.flatnonzero(new)
    ce, clo = e[starts], lo[starts]
    chi = np.maximum.reduceat(hi, starts)
    ckind = np.minimum.reduceat(kind, starts)  # a wall anywhere in a cluster closes it
    cgate = np.where(ckind == _GATE, np.maximum.reduceat(gate, starts), -1)
    clen = length[ce]
    cut_lo = clo > tol_m
    cut_hi = chi < clen - tol_m

    affected = np.unique(ce)
    local = np.searchsorted(affected, ce)
    init_kind = np.full(len(affected), _KEEP, dtype=np.int64)
    init_gate = np.full(len(affected), -1, dtype=np.int64)
    init_kind[local[~cut_lo]] = ckind[~cut_lo]
    init_gate[local[~cut_lo]] = cgate[~cut_lo]
    cut_line = np.concatenate([local[cut_lo], local[cut_hi]])
    cut_pos = np.concatenate([clo[cut_lo], chi[cut_hi]])
    after_kind = np.concatenate([ckind[cut_lo], np.full(int(cut_hi.sum()), _KEEP)])
    after_gate = np.concatenate([cgate[cut_lo], np.full(int(cut_hi.sum()), -1)])
    order = np.lexsort((cut_pos, cut_line))
    cut_line, cut_pos = cut_line[order], cut_pos[order]
    after_kind, after_gate = after_kind[order], after_gate[order]

    cut_xy = _interpolate_xy(g.geom[affected][cut_line], cut_pos)
    pieces, pline, prev_cut, next_cut = _split(g.geom[affected], cut_line, cut_pos, cut_xy)
    n0 = len(g.xy)
    parent = affected[pline]
    kind_of = np.where(prev_cut < 0, init_kind[pline], after_kind[np.maximum(prev_cut, 0)])
    gate_of = np.where(prev_cut < 0, init_gate[pline], after_gate[np.maximum(prev_cut, 0)])
    keep = (kind_of != _GAP) & (shapely.length(pieces) > 0)
    new = _Graph(
        xy=np.concatenate([g.xy, cut_xy]),
        geom=pieces[keep],
        source=np.where(prev_cut < 0, g.source[parent], n0 + prev_cut)[keep],
        target=np.where(next_cut < 0, g.target[parent], n0 + next_cut)[keep],
        way=g.way[parent][keep],
        gate=np.where(kind_of == _GATE, gate_of, g.gate[parent])[keep],
    )
    untouched = np.ones(len(g.geom), dtype=bool)
    untouched[affected] = False
    return g.take(untouched).extend(new)


def _merge_gate_halves(g: _Graph, nodes: Ints) -> _Graph:
    """Join the two 1 m gate stretches that meet on a wall node into one 2 m gate edge."""
    at = np.isin(g.source, nodes) | np.isin(g.target, nodes)
    cand = np.flatnonzero(at & (g.gate >= 0))
    drop: list[int] = []
    geoms: list[Any] = []
    ends: list[tuple[int, int, int, int]] = []
    # Only a handful of gates sit exactly on a node, so a loop is cheap here.
    for node in nodes.tolist():
        pair = [i for i in cand.tolist() if node in (g.source[i], g.target[i])]
        if len(pair) != 2 or g.gate[pair[0]] != g.gate[pair[1]]:
            continue
        a, b = pair
        ca = shapely.get_coordinates(g.geom[a])
        cb = shapely.get_coordinates(g.geom[b])
        a_from = int(g.source[a]) if g.target[a] == node else int(g.target[a])
        if g.target[a] != node:
            ca = ca[::-1]
        b_to = int(g.target[b]) if g.source[b] == node else int(g.source[b])
        if g.source[b] != node:
            cb = cb[::-1]
        geoms.append(shapely.linestrings(np.concatenate([ca, cb[1:]])))
        ends.append((a_from, b_to, int(g.way[a]), int(g.gate[a])))
        drop.extend(pair)
    if not geoms:
        return g
    keep = np.ones(len(g.geom), dtype=bool)
    keep[drop] = False
    arr = np.array(ends, dtype=np.int64)
    merged = _Graph(g.xy, np.asarray(geoms, dtype=object), arr[:, 0], arr[:, 1], arr[:, 2],
                    arr[:, 3])  # fmt: skip
    return g.take(keep).extend(merged)


def _connect_gates(
    g: _Graph, bars: Geoms, bar_tree: shapely.STRtree, bar_len: Floats, closed: Bools,
    gate_xy: Floats, todo: Ints, *, gate_tolerance_m: float, tol_m: float,
) -> tuple[_Graph, Ints]:  # fmt: skip
    """Join gates that no line passes to the nearest network point on both wall sides."""
    missed = np.zeros(len(todo), dtype=bool)
    if len(bars) == 0 or len(g.geom) == 0:
        return g, todo
    pts = shapely.points(gate_xy[todo])
    src, hit = bar_tree.query_nearest(pts, max_distance=gate_tolerance_m, all_matches=False)
    missed[:] = True
    missed[src] = False
    todo_ok = todo[src]
    b = hit
    t = np.asarray(shapely.line_locate_point(bars[b], pts[src]), dtype=np.float64)
    wall_xy = _interpolate_xy(bars[b], t)
    ahead, behind = _wall_frame(bars, bar_len, closed, b, t)
    # At the free end of a wall the frame is one-sided; the direction is still good.
    direction = ahead - behind
    norm = np.hypot(direction[:, 0], direction[:, 1])
    flat = norm == 0
    norm[flat] = 1.0
    normal = np.column_stack([-direction[:, 1], direction[:, 0]]) / norm[:, None]
    k = len(todo_ok)
    side_xy = np.concatenate([wall_xy + _GATE_HALF_M * normal, wall_xy - _GATE_HALF_M * normal])

    free = np.flatnonzero(g.gate < 0)  # never hang a connector on another gate's edge
    qi, ej = shapely.STRtree(g.geom[free]).query(
        shapely.points(side_xy), predicate="dwithin", distance=3 * gate_tolerance_m
    )
    ej = free[ej]
    d = np.asarray(shapely.line_locate_point(g.geom[ej], shapely.points(side_xy[qi])),
                   dtype=np.float64)  # fmt: skip
    q_xy = _interpolate_xy(g.geom[ej], d)
    dist = np.hypot(*(q_xy - side_xy[qi]).T)
    conn = shapely.linestrings(np.stack([side_xy[qi], q_xy], axis=1))
    blocked = np.zeros(len(qi), dtype=bool)
    blocked[np.unique(bar_tree.query(conn, predicate="intersects")[0])] = True
    ok = ~blocked
    qi, ej, d, q_xy, dist = qi[ok], ej[ok], d[ok], q_xy[ok], dist[ok]
    order = np.lexsort((dist, qi))
    qi, ej, d, q_xy, dist = qi[order], ej[order], d[order], q_xy[order], dist[order]
    firsts = np.ones(len(qi), dtype=bool)
    firsts[1:] = qi[1:] != qi[:-1]
    best = np.full(2 * k, -1, dtype=np.int64)
    best[qi[firsts]] = np.flatnonzero(firsts)
    both = (best[:k] >= 0) & (best[k:] >= 0) & ~flat
    missed[src[~both]] = True
    chosen = np.concatenate([best[:k][both], best[k:][both]])
    gates_done = todo_ok[both]
    if len(gates_done) == 0:
        return g, todo[missed]

    # Split the chosen edges where the connectors reach them.
    ce, cd, cxy = ej[chosen], d[chosen], q_xy[chosen]
    length = g.length()
    at_start, at_end = cd <= tol_m, cd >= length[ce] - tol_m
    inner = ~at_start & ~at_end
    q_node = np.where(at_start, g.source[ce], g.target[ce])
    cuts = np.unique(np.column_stack([ce[inner], cd[inner]]), axis=0, return_inverse=True)
    uniq, inv = cuts[0], cuts[1].reshape(-1)
    n0 = len(g.xy)
    if len(uniq):
        cut_edge, cut_pos = uniq[:, 0].astype(np.int64), uniq[:, 1]
        first_of = np.zeros(len(uniq), dtype=np.int64)
        first_of[inv] = np.flatnonzero(inner)
        affected = np.unique(cut_edge)
        pieces, pline, prev_cut, next_cut = _split(
            g.geom[affected], np.searchsorted(affected, cut_edge), cut_pos, cxy[first_of]
        )
        parent = affected[pline]
        split = _Graph(
            np.concatenate([g.xy, cxy[first_of]]),
            pieces,
            np.where(prev_cut < 0, g.source[parent], n0 + prev_cut),
            np.where(next_cut < 0, g.target[parent], n0 + next_cut),
            g.way[parent],
            g.gate[parent],
        )
        untouched = np.ones(len(g.geom), dtype=bool)
        untouched[affected] = False
        g = g.take(untouched).extend(split)
        q_node[inner] = n0 + inv

    # Nodes on both sides of the wall, unless the network already passes right there.
    n1 = len(g.xy)
    side_pts = np.concatenate([side_xy[:k][both], side_xy[k:][both]])
    close = dist[chosen] <= tol_m
    side_node = np.where(close, q_node, n1 + np.arange(len(side_pts)))
    xy = np.concatenate([g.xy, side_pts])
    m = len(gates_done)
    plus, minus = side_node[:m], side_node[m:]
    node_xy = xy
    conn_geom = shapely.linestrings(np.stack([node_xy[q_node], side_pts], axis=1))
    gate_geom = shapely.linestrings(np.stack([node_xy[plus], node_xy[minus]], axis=1))
    link = ~close
    added = _Graph(
        xy,
        np.concatenate([conn_geom[link], gate_geom]),
        np.concatenate([q_node[link], plus]),
        np.concatenate([side_node[link], minus]),
        np.full(int(link.sum()) + m, -1, dtype=np.int64),
        np.concatenate([np.full(int(link.sum()), -1, dtype=np.int64), gates_done]),
    )
    return g.extend(added), todo[missed]


# --- output ---------------------------------------------------------------------------------


def _text(values: Any) -> NDArray[np.object_]:
    """Return values as an object array of str, with missing values as None."""
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    out = series.astype(str).to_numpy(dtype=object)
    out[series.isna().to_numpy()] = None
    return out


def _assemble(
    g: _Graph, ways: gpd.GeoDataFrame, gate_codes: list[str], unconnected: list[int], crs: CRS
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
    graph = coo_matrix((np.ones(len(source)), (source, target)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    # Number components by falling size so that 0 is the main network.
    size = np.bincount(label)
    rank = np.empty(len(size), dtype=np.int64)
    rank[np.lexsort((np.arange(len(size)), -size))] = np.arange(len(size))
    nodes = gpd.GeoDataFrame(
        {"node_id": np.arange(n, dtype=np.int64), "component": rank[label].astype(np.int64)},
        geometry=shapely.points(g.xy[used]),
        crs=crs,
    )
    way_attr = {
        col: _text(ways[col].to_numpy()) if col in ways.columns else np.full(len(ways), None)
        for col in ("code", "highway", "name")
    }
    has_way = g.way >= 0
    wi = np.maximum(g.way, 0)

    def per_edge(col: str, default: str | None) -> NDArray[np.object_]:
        values = way_attr[col][wi]
        if default is not None:  # a way without a code still gets a str
            values = np.where(values == None, default, values)  # noqa: E711
        return np.where(has_way, values, default)

    codes = np.asarray(gate_codes + [""], dtype=object)
    edges = gpd.GeoDataFrame(
        {
            "edge_id": np.arange(len(source), dtype=np.int64),
            "source": source.astype(np.int64),
            "target": target.astype(np.int64),
            "length_m": length,
            "way_code": pd.array(per_edge("code", ""), dtype=object),
            "highway": pd.array(per_edge("highway", None), dtype=object),
            "name": pd.array(per_edge("name", None), dtype=object),
            "gate_code": pd.array(np.where(g.gate >= 0, codes[g.gate], None), dtype=object),
        },
        geometry=g.geom,
        crs=crs,
    )
    return WalkNetwork(nodes, edges, tuple(gate_codes[i] for i in unconnected))
