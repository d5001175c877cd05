"""A routable walking network built from footpath lines, walls and gates."""

from __future__ import annotations

from dataclasses import dataclass, field
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
            self.xy,
            self.geom[keep],
            self.source[keep],
            self.target[keep],
            self.way[keep],
            self.gate[keep],
        )

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


# --- topology -------------------------------------------------------------------------------


def _grid_ids(coords: Floats, tol_m: float) -> tuple[Ints, Ints]:
    """Snap coordinates to a grid; return an id per coordinate and one coordinate per id."""
    q = np.round(coords / tol_m)
    q -= q.min(axis=0)
    qi = q.astype(np.int64)
    span = int(qi[:, 1].max()) + 1
    if int(qi[:, 0].max()) < (2**62) // span:
        _, first, inverse = np.unique(
            qi[:, 0] * span + qi[:, 1], return_index=True, return_inverse=True
        )
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
    parts, pidx = shapely.get_parts(
        shapely.intersection(lines[left], lines[right]), return_index=True
    )
    kind = shapely.get_type_id(parts)
    # Overlapping stretches are joined at their ends.
    ov = kind == 1
    pts = np.concatenate(
        [parts[kind == 0], shapely.get_point(parts[ov], 0), shapely.get_point(parts[ov], -1)]
    )
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


def _geoms(values: Any) -> Geoms:
    """Return shapely output as a 1-D object array."""
    return np.asarray(values, dtype=object).reshape(-1)


@dataclass(frozen=True)
class _Walls:
    """Barrier lines with what the crossing tests need about them."""

    geom: Geoms
    length: Floats
    closed: Bools
    tree: shapely.STRtree

    @classmethod
    def of(cls, geom: Geoms) -> _Walls:
        """Index barrier lines."""
        return cls(
            geom,
            np.asarray(shapely.length(geom), dtype=np.float64),
            np.asarray(shapely.is_closed(geom), dtype=bool),
            shapely.STRtree(geom),
        )

    def frame(self, b: Ints, t: Floats) -> tuple[Floats, Floats]:
        """Return points a little ahead of and behind distance ``t`` along barrier ``b``."""
        lb = self.length[b]
        ring = self.closed[b]
        step = np.where(
            ring, np.minimum(_PROBE_M, lb / 4), np.minimum(_PROBE_M, np.minimum(t, lb - t) / 2)
        )
        ahead = np.where(ring, np.mod(t + step, lb), np.minimum(t + step, lb))
        behind = np.where(ring, np.mod(t - step, lb), np.maximum(t - step, 0.0))
        return _interpolate_xy(self.geom[b], ahead), _interpolate_xy(self.geom[b], behind)


@dataclass(frozen=True)
class _Gates:
    """Usable gate points; ``local`` indices below index these arrays, not the input."""

    index: Ints  # row of each gate in the input
    pts: Geoms
    tree: shapely.STRtree
    tolerance_m: float

    def nearest(self, where: Geoms) -> Ints:
        """Return the local index of the nearest gate within tolerance of each geometry, or -1."""
        out = np.full(len(where), -1, dtype=np.int64)
        if len(where) and len(self.index):
            src, hit = self.tree.query_nearest(
                where, max_distance=self.tolerance_m, all_matches=False
            )
            out[src] = hit
        return out


@dataclass
class _Plan:
    """Changes to make to the edges found by looking at walls and gates."""

    used: Bools  # per local gate: it already opens a crossing
    edge: list[Ints] = field(default_factory=list)  # stretches to remove or gate
    lo: list[Floats] = field(default_factory=list)
    hi: list[Floats] = field(default_factory=list)
    kind: list[Ints] = field(default_factory=list)
    gate: list[Ints] = field(default_factory=list)
    relabel_edge: Ints = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    relabel_start: Bools = field(default_factory=lambda: np.empty(0, dtype=bool))
    relabel_pair: Ints = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    merge_at: Ints = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def add(self, edge: Ints, lo: Floats, hi: Floats, kind: Ints, gate: Ints) -> None:
        """Plan stretches of edges to remove (``_GAP``) or turn into gate edges (``_GATE``)."""
        self.edge.append(edge)
        self.lo.append(lo)
        self.hi.append(hi)
        self.kind.append(np.broadcast_to(kind, edge.shape).astype(np.int64))
        self.gate.append(gate)


@dataclass(frozen=True)
class _Contacts:
    """Where edges meet walls: crossings inside edges and nodes lying on walls."""

    edge: Ints  # crossings inside an edge, over [lo, hi] along it (lo == hi at a point)
    lo: Floats
    hi: Floats
    where: Geoms  # the crossing point, or the stretch along the wall
    node: Ints  # nodes on a wall, once per (node, wall)
    wall: Ints
    wall_pos: Floats
    node_xy: Floats


def _walls_and_gates(
    g: _Graph, walls: _Walls, gates: _Gates, *, tol_m: float
) -> tuple[_Graph, Ints]:
    """Cut the network at walls, open it at gates and connect the remaining gates.

    Returns the new graph and the input rows of the gates that could not be connected.
    """
    length = g.length()
    plan = _Plan(used=np.zeros(len(gates.index), dtype=bool))
    if len(walls.geom):
        contacts = _contacts(g, length, walls, tol_m=tol_m)
        _plan_edge_crossings(contacts, gates, plan)
        _plan_node_crossings(g, length, walls, gates=gates, c=contacts, plan=plan)
    _plan_gates_on_lines(g, walls, gates, plan)

    n_before = len(g.xy)
    if len(plan.relabel_edge):
        g = _relabel(g, plan.relabel_edge, plan.relabel_start, plan.relabel_pair)
    g = _cut_stretches(g, plan, length, tol_m=tol_m)
    if len(plan.merge_at):
        g = _merge_gate_halves(g, plan.merge_at[plan.merge_at < n_before])
    if len(gates.index):  # number gates as in the input from here on
        global_gate = np.where(g.gate >= 0, gates.index[np.maximum(g.gate, 0)], -1)
        g = _Graph(g.xy, g.geom, g.source, g.target, g.way, global_gate)

    # Gates that got no edge (none crossed near them, or their crossing merged with a wall
    # crossing) are joined through their wall instead.
    rest = np.flatnonzero(~np.isin(gates.index, g.gate))
    if len(rest) == 0:
        return g, np.empty(0, dtype=np.int64)
    return _connect_gates(g, walls, gates, rest, tol_m=tol_m)


def _contacts(g: _Graph, length: Floats, walls: _Walls, *, tol_m: float) -> _Contacts:
    """Find where edges cross walls, and which nodes lie on walls."""
    ei, bi = walls.tree.query(g.geom, predicate="intersects")
    parts, pidx = shapely.get_parts(
        shapely.intersection(g.geom[ei], walls.geom[bi]), return_index=True
    )
    kind = shapely.get_type_id(parts)
    point = kind == 0
    pts, e, b = parts[point], ei[pidx[point]], bi[pidx[point]]
    xy = np.asarray(shapely.get_coordinates(pts))
    d = np.asarray(shapely.line_locate_point(g.geom[e], pts), dtype=np.float64)
    t = np.asarray(shapely.line_locate_point(walls.geom[b], pts), dtype=np.float64)
    # Passing the free end of a wall is walking round it.
    wall_end = ~walls.closed[b] & ((t <= tol_m) | (t >= walls.length[b] - tol_m))
    at_start = ~wall_end & (d <= tol_m)
    at_end = ~wall_end & ~at_start & (d >= length[e] - tol_m)
    mid = ~wall_end & ~at_start & ~at_end

    # Inside an edge: a crossing when the edge is on opposite sides just before and after.
    e1, d1, b1, t1 = e[mid], d[mid], b[mid], t[mid]
    step = np.minimum(_PROBE_M, np.minimum(d1, length[e1] - d1) / 2)
    before = _side_of(walls, b1, t1, xy[mid], _interpolate_xy(g.geom[e1], d1 - step))
    after = _side_of(walls, b1, t1, xy[mid], _interpolate_xy(g.geom[e1], d1 + step))
    cross = before * after == -1
    along = kind == 1
    oe, olo, ohi, owhere = _overlap_crossings(
        g, length, walls, lines=parts[along], e=ei[pidx[along]], b=bi[pidx[along]], tol_m=tol_m
    )

    touch = at_start | at_end
    node = np.where(at_start, g.source[e], g.target[e])[touch]
    _, once = np.unique(node * max(len(walls.geom), 1) + b[touch], return_index=True)
    return _Contacts(
        edge=np.concatenate([e1[cross], oe]),
        lo=np.concatenate([d1[cross], olo]),
        hi=np.concatenate([d1[cross], ohi]),
        where=np.concatenate([pts[mid][cross], owhere]),
        node=node[once],
        wall=b[touch][once],
        wall_pos=t[touch][once],
        node_xy=xy[touch][once],
    )


def _overlap_crossings(
    g: _Graph,
    length: Floats,
    walls: _Walls,
    *,
    lines: Geoms,
    e: Ints,
    b: Ints,
    tol_m: float,
) -> tuple[Ints, Floats, Floats, Geoms]:
    """Find edges that run along a wall for a while and leave it on the other side.

    Only stretches inside an edge count; one reaching an edge's end is left alone.
    Returns the edge, the stretch's start and end along it, and the stretch.
    """
    if len(lines) == 0:
        return np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, dtype=object)
    # Overlay output comes in pieces split at vertices; join each (edge, wall) pair's pieces.
    key = e * len(walls.geom) + b
    uniq, group = np.unique(key, return_inverse=True)
    merged = shapely.line_merge(shapely.multilinestrings(lines, indices=group))
    runs, ridx = shapely.get_parts(merged, return_index=True)
    e, b = uniq[ridx] // len(walls.geom), uniq[ridx] % len(walls.geom)
    ends = [_geoms(shapely.get_point(runs, i)) for i in (0, -1)]
    d0, d1 = (np.asarray(shapely.line_locate_point(g.geom[e], p), np.float64) for p in ends)
    t0, t1 = (np.asarray(shapely.line_locate_point(walls.geom[b], p), np.float64) for p in ends)
    flip = d1 < d0
    lo, hi = np.where(flip, d1, d0), np.where(flip, d0, d1)
    t_lo, t_hi = np.where(flip, t1, t0), np.where(flip, t0, t1)
    lo_xy = np.where(
        flip[:, None], shapely.get_coordinates(ends[1]), shapely.get_coordinates(ends[0])
    )
    hi_xy = np.where(
        flip[:, None], shapely.get_coordinates(ends[0]), shapely.get_coordinates(ends[1])
    )
    open_wall = ~walls.closed[b]
    wall_end = open_wall & (
        (np.minimum(t_lo, t_hi) <= tol_m) | (np.maximum(t_lo, t_hi) >= walls.length[b] - tol_m)
    )
    ok = ~wall_end & (lo > tol_m) & (hi < length[e] - tol_m)
    e, b, lo, hi, t_lo, t_hi = e[ok], b[ok], lo[ok], hi[ok], t_lo[ok], t_hi[ok]
    lo_xy, hi_xy, runs = lo_xy[ok], hi_xy[ok], runs[ok]
    step_lo = np.minimum(_PROBE_M, lo / 2)
    step_hi = np.minimum(_PROBE_M, (length[e] - hi) / 2)
    before = _side_of(walls, b, t_lo, lo_xy, _interpolate_xy(g.geom[e], lo - step_lo))
    after = _side_of(walls, b, t_hi, hi_xy, _interpolate_xy(g.geom[e], hi + step_hi))
    cross = before * after == -1
    return e[cross], lo[cross], hi[cross], runs[cross]


def _side_of(walls: _Walls, b: Ints, t: Floats, apex: Floats, probe: Floats) -> Ints:
    """Tell on which side of wall ``b``, near distance ``t`` along it, each probe lies."""
    ahead, behind = walls.frame(b, t)
    return _side(apex, ahead, behind, probe)


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


def _plan_edge_crossings(c: _Contacts, gates: _Gates, plan: _Plan) -> None:
    """Plan a gap, or a gate edge when a gate is near, at every crossing inside an edge."""
    near = gates.nearest(c.where)
    plan.used[near[near >= 0]] = True
    half = np.where(near >= 0, _GATE_HALF_M, _WALL_HALF_GAP_M)
    plan.add(c.edge, c.lo - half, c.hi + half, np.where(near >= 0, _GATE, _GAP), near)


def _plan_node_crossings(
    g: _Graph, length: Floats, walls: _Walls, *, gates: _Gates, c: _Contacts, plan: _Plan
) -> None:
    """Plan how to part nodes on a wall whose edges leave it on both sides."""
    pair, inc_e, inc_start, inc_side = _incident_sides(g, length, walls, c)
    n_pairs = len(c.node)
    if len(pair) == 0:
        return
    plus = np.bincount(pair, weights=inc_side == 1, minlength=n_pairs).astype(np.int64)
    minus = np.bincount(pair, weights=inc_side == -1, minlength=n_pairs).astype(np.int64)
    crossing = np.flatnonzero((plus > 0) & (minus > 0))
    # One crossing per node, even where two walls meet on it.
    _, once = np.unique(c.node[crossing], return_index=True)
    is_cross = np.zeros(n_pairs, dtype=bool)
    is_cross[crossing[once]] = True
    near = np.full(n_pairs, -1, dtype=np.int64)
    near[is_cross] = gates.nearest(_geoms(shapely.points(c.node_xy[is_cross])))
    plan.used[near[near >= 0]] = True

    sel = is_cross[pair] & (inc_side != 0)
    p, ie, ist, isd = pair[sel], inc_e[sel], inc_start[sel], inc_side[sel]
    count = np.where(isd == 1, plus[p], minus[p])
    other = np.where(isd == 1, minus[p], plus[p])
    gated = near[p] >= 0
    # Cut the lone edge on a side: cutting one of several would part them from each other.
    cut = count == 1
    half = np.where(gated, _GATE_HALF_M, _WALL_HALF_GAP_M)[cut]
    ce, cs = ie[cut], ist[cut]
    plan.add(
        ce,
        np.where(cs, 0.0, length[ce] - half),
        np.where(cs, half, length[ce]),
        np.where(gated[cut], _GATE, _GAP),
        near[p][cut],
    )
    # Several edges on both sides: the minus side gets a node of its own. With no single
    # edge to carry it, a gate there is then joined through the wall like a gate off paths.
    apart = (count > 1) & (other > 1) & (isd == -1)
    plan.relabel_edge, plan.relabel_start, plan.relabel_pair = ie[apart], ist[apart], p[apart]
    # Two gate halves meeting on the wall node are joined into one gate edge afterwards.
    plan.merge_at = c.node[is_cross & (plus == 1) & (minus == 1) & (near >= 0)]


def _incident_sides(
    g: _Graph, length: Floats, walls: _Walls, c: _Contacts
) -> tuple[Ints, Ints, Bools, Ints]:
    """For nodes on a wall, tell on which side each of their edges leaves.

    Returns, per (node contact, incident edge): the contact index, the edge, whether the node
    is the edge's start, and the side (+1, -1, or 0 along the wall).
    """
    m = len(g.geom)
    inc_e = np.concatenate([np.arange(m), np.arange(m)])
    inc_n = np.concatenate([g.source, g.target])
    inc_start = np.concatenate([np.ones(m, dtype=bool), np.zeros(m, dtype=bool)])
    order = np.argsort(inc_n, kind="stable")
    inc_e, inc_n, inc_start = inc_e[order], inc_n[order], inc_start[order]
    lo = np.searchsorted(inc_n, c.node, side="left")
    count = np.searchsorted(inc_n, c.node, side="right") - lo
    flat = _ranges(lo, count)
    pair = np.repeat(np.arange(len(c.node)), count)
    e, start = inc_e[flat], inc_start[flat]
    step = np.minimum(_PROBE_M, length[e] / 2)
    probe = _interpolate_xy(g.geom[e], np.where(start, step, length[e] - step))
    return pair, e, start, _side_of(walls, c.wall[pair], c.wall_pos[pair], c.node_xy[pair], probe)


def _plan_gates_on_lines(g: _Graph, walls: _Walls, gates: _Gates, plan: _Plan) -> None:
    """Plan a gate edge on the line under each unused gate that sits on one, off any wall."""
    spare = np.flatnonzero(~plan.used)
    if len(spare) == 0 or len(g.geom) == 0:
        return
    pts = gates.pts[spare]
    src, hit = shapely.STRtree(g.geom).query_nearest(
        pts, max_distance=_GATE_ON_EDGE_M, all_matches=False
    )
    edge_dist = np.full(len(spare), np.inf)
    edge_dist[src] = shapely.distance(pts[src], g.geom[hit])
    edge_of = np.full(len(spare), -1, dtype=np.int64)
    edge_of[src] = hit
    wall_dist = np.full(len(spare), np.inf)
    if len(walls.geom):
        wsrc, whit = walls.tree.query_nearest(
            pts, max_distance=gates.tolerance_m, all_matches=False
        )
        wall_dist[wsrc] = shapely.distance(pts[wsrc], walls.geom[whit])
    # A gate in a wall beside a path belongs to the wall, not the path.
    hits = (edge_of >= 0) & (edge_dist < wall_dist)
    le = edge_of[hits]
    ld = np.asarray(shapely.line_locate_point(g.geom[le], pts[hits]), dtype=np.float64)
    plan.add(le, ld - _GATE_HALF_M, ld + _GATE_HALF_M, np.asarray(_GATE), spare[hits])


def _relabel(g: _Graph, edge: Ints, at_start: Bools, pair: Ints) -> _Graph:
    """Give the listed edge ends a new node per contact, at the old node's place."""
    uniq, new_of = np.unique(pair, return_inverse=True)
    old = np.where(at_start, g.source[edge], g.target[edge])
    first_old = np.zeros(len(uniq), dtype=np.int64)
    first_old[new_of] = old
    new_id = len(g.xy) + new_of
    source, target = g.source.copy(), g.target.copy()
    source[edge[at_start]] = new_id[at_start]
    target[edge[~at_start]] = new_id[~at_start]
    return _Graph(np.concatenate([g.xy, g.xy[first_old]]), g.geom, source, target, g.way, g.gate)


def _cut_stretches(g: _Graph, plan: _Plan, length: Floats, *, tol_m: float) -> _Graph:
    """Remove the gap stretches and split off the gate stretches planned for edges."""
    if sum(len(x) for x in plan.edge) == 0:
        return g
    e = np.concatenate(plan.edge)
    lo = np.clip(np.concatenate(plan.lo), 0.0, length[e])
    hi = np.clip(np.concatenate(plan.hi), 0.0, length[e])
    kind = np.concatenate(plan.kind)
    gate = np.concatenate(plan.gate).astype(np.int64)
    order = np.lexsort((lo, e))
    e, lo, hi, kind, gate = e[order], lo[order], hi[order], kind[order], gate[order]
    # Merge overlapping stretches of one edge; laying edges end to end keeps the running
    # maximum from leaking from one edge into the next.
    offset = (np.cumsum(length + 1.0) - (length + 1.0))[e]
    reach = np.maximum.accumulate(hi + offset)
    new = np.ones(len(e), dtype=bool)
    new[1:] = (e[1:] != e[:-1]) | (lo[1:] + offset[1:] > reach[:-1])
    starts = np.flatnonzero(new)
    ce, clo = e[starts], lo[starts]
    chi = np.maximum.reduceat(hi, starts)
    ckind = np.minimum.reduceat(kind, starts)  # a wall anywhere in a cluster closes it
    cgate = np.where(ckind == _GATE, np.maximum.reduceat(gate, starts), -1)
    cut_lo = clo > tol_m
    cut_hi = chi < length[ce] - tol_m

    affected = np.unique(ce)
    local = np.searchsorted(affected, ce)
    # A stretch from the very start of an edge sets the kind of its first piece.
    init_kind = np.full(len(affected), _KEEP, dtype=np.int64)
    init_gate = np.full(len(affected), -1, dtype=np.int64)
    init_kind[local[~cut_lo]] = ckind[~cut_lo]
    init_gate[local[~cut_lo]] = cgate[~cut_lo]
    n_hi = int(cut_hi.sum())
    cut_line = np.concatenate([local[cut_lo], local[cut_hi]])
    cut_pos = np.concatenate([clo[cut_lo], chi[cut_hi]])
    after_kind = np.concatenate([ckind[cut_lo], np.full(n_hi, _KEEP, dtype=np.int64)])
    after_gate = np.concatenate([cgate[cut_lo], np.full(n_hi, -1, dtype=np.int64)])
    order = np.lexsort((cut_pos, cut_line))
    cut_line, cut_pos = cut_line[order], cut_pos[order]
    after_kind, after_gate = after_kind[order], after_gate[order]

    cut_xy = _interpolate_xy(g.geom[affected][cut_line], cut_pos)
    pieces, pline, prev_cut, next_cut = _split(g.geom[affected], cut_line, cut_pos, cut_xy)
    n0 = len(g.xy)
    parent = affected[pline]
    before = np.maximum(prev_cut, 0)
    kind_of = np.where(prev_cut < 0, init_kind[pline], after_kind[before])
    gate_of = np.where(prev_cut < 0, init_gate[pline], after_gate[before])
    keep = (kind_of != _GAP) & (shapely.length(pieces) > 0)
    split = _Graph(
        xy=np.concatenate([g.xy, cut_xy]),
        geom=pieces[keep],
        source=np.where(prev_cut < 0, g.source[parent], n0 + prev_cut)[keep],
        target=np.where(next_cut < 0, g.target[parent], n0 + next_cut)[keep],
        way=g.way[parent][keep],
        gate=np.where(kind_of == _GATE, gate_of, g.gate[parent])[keep],
    )
    untouched = np.ones(len(g.geom), dtype=bool)
    untouched[affected] = False
    return g.take(untouched).extend(split)


def _merge_gate_halves(g: _Graph, nodes: Ints) -> _Graph:
    """Join the two 1 m gate stretches that meet on a wall node into one 2 m gate edge."""
    at = np.isin(g.source, nodes) | np.isin(g.target, nodes)
    cand = np.flatnonzero(at & (g.gate >= 0)).tolist()
    drop: list[int] = []
    geoms: list[Any] = []
    ends: list[tuple[int, int, int, int]] = []
    # Gate stretches by the node they touch, built once: scanning every candidate for every
    # node was quadratic (thousands of gates in a generated city took seconds).
    touching: dict[int, list[int]] = {}
    for i in cand:
        for end in {int(g.source[i]), int(g.target[i])}:
            touching.setdefault(end, []).append(i)
    for node in nodes.tolist():
        pair = touching.get(int(node), [])
        if len(pair) != 2 or g.gate[pair[0]] != g.gate[pair[1]]:
            continue
        a, b = pair
        ca = np.asarray(shapely.get_coordinates(g.geom[a]))
        cb = np.asarray(shapely.get_coordinates(g.geom[b]))
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
    geom = np.empty(len(geoms), dtype=object)
    geom[:] = geoms
    merged = _Graph(g.xy, geom, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
    return g.take(keep).extend(merged)


def _connect_gates(
    g: _Graph, walls: _Walls, gates: _Gates, todo: Ints, *, tol_m: float
) -> tuple[_Graph, Ints]:
    """Join gates that no line passes to the nearest network point on both wall sides.

    ``todo`` holds local gate indices; returns the graph and the input rows of the gates
    left unconnected.
    """
    missed = np.ones(len(todo), dtype=bool)
    if len(walls.geom) == 0:
        return g, gates.index[todo]
    pts = gates.pts[todo]
    src, b = walls.tree.query_nearest(pts, max_distance=gates.tolerance_m, all_matches=False)
    t = np.asarray(shapely.line_locate_point(walls.geom[b], pts[src]), dtype=np.float64)
    wall_xy = _interpolate_xy(walls.geom[b], t)
    ahead, behind = walls.frame(b, t)
    # At the free end of a wall the frame is one-sided; its direction is still right.
    direction = ahead - behind
    norm = np.hypot(direction[:, 0], direction[:, 1])
    normal = np.column_stack([-direction[:, 1], direction[:, 0]]) / np.maximum(norm, 1e-12)[:, None]
    k = len(src)
    side_xy = np.concatenate([wall_xy + _GATE_HALF_M * normal, wall_xy - _GATE_HALF_M * normal])
    best, reach_edge, reach_pos, reach_xy, reach_dist = _reach(
        g, walls, side_xy, 3 * gates.tolerance_m
    )
    both = (best[:k] >= 0) & (best[k:] >= 0) & (norm > 0)
    missed[src[both]] = False
    if not both.any():
        return g, gates.index[todo]
    chosen = np.concatenate([best[:k][both], best[k:][both]])
    g, q_node = _split_at(g, reach_edge[chosen], reach_pos[chosen], reach_xy[chosen], tol_m=tol_m)

    # New nodes on both sides of the wall, unless the network already passes right there.
    side_pts = np.concatenate([side_xy[:k][both], side_xy[k:][both]])
    close = reach_dist[chosen] <= tol_m
    side_node = np.where(close, q_node, len(g.xy) + np.arange(len(side_pts)))
    xy = np.concatenate([g.xy, side_pts])
    m = int(both.sum())
    plus, minus = side_node[:m], side_node[m:]
    link = ~close
    conn = _geoms(shapely.linestrings(np.stack([xy[q_node], side_pts], axis=1)))
    gate_geom = _geoms(shapely.linestrings(np.stack([xy[plus], xy[minus]], axis=1)))
    n_link = int(link.sum())
    added = _Graph(
        xy,
        np.concatenate([conn[link], gate_geom]),
        np.concatenate([q_node[link], plus]),
        np.concatenate([side_node[link], minus]),
        np.full(n_link + m, -1, dtype=np.int64),
        np.concatenate([np.full(n_link, -1, dtype=np.int64), gates.index[todo[src[both]]]]),
    )
    return g.extend(added), gates.index[todo[missed]]


def _reach(
    g: _Graph, walls: _Walls, xy: Floats, radius_m: float
) -> tuple[Ints, Ints, Floats, Floats, Floats]:
    """Find the nearest network point to each of ``xy`` that a straight line reaches.

    Returns, per point, the index of the best candidate (-1 for none) into the candidate
    arrays that follow: edge, distance along it, coordinates and distance from the point.
    """
    free = np.flatnonzero(g.gate < 0)  # never hang a connector on another gate's edge
    qi, ej = shapely.STRtree(g.geom[free]).query(
        shapely.points(xy), predicate="dwithin", distance=radius_m
    )
    ej = free[ej]
    pos = np.asarray(
        shapely.line_locate_point(g.geom[ej], shapely.points(xy[qi])), dtype=np.float64
    )
    q_xy = _interpolate_xy(g.geom[ej], pos)
    dist = np.hypot(*(q_xy - xy[qi]).T)
    conn = shapely.linestrings(np.stack([xy[qi], q_xy], axis=1))
    # A connector must not pass through any wall, or it would be a new hole in it.
    blocked = np.zeros(len(qi), dtype=bool)
    blocked[walls.tree.query(conn, predicate="intersects")[0]] = True
    order = np.lexsort((dist, qi))
    order = order[~blocked[order]]
    firsts = order[np.r_[True, qi[order][1:] != qi[order][:-1]]] if len(order) else order
    best = np.full(len(xy), -1, dtype=np.int64)
    best[qi[firsts]] = firsts
    return best, ej, pos, q_xy, dist


def _split_at(
    g: _Graph, edge: Ints, pos: Floats, xy: Floats, *, tol_m: float
) -> tuple[_Graph, Ints]:
    """Split edges at points on them; return the graph and the node at each point."""
    length = g.length()
    at_start, at_end = pos <= tol_m, pos >= length[edge] - tol_m
    inner = np.flatnonzero(~at_start & ~at_end)
    node = np.where(at_start, g.source[edge], g.target[edge])
    if len(inner) == 0:
        return g, node
    order = np.lexsort((pos[inner], edge[inner]))
    inner = inner[order]
    # The same point chosen twice (two gates, one path) becomes one node.
    fresh = np.r_[True, (edge[inner][1:] != edge[inner][:-1]) | (pos[inner][1:] != pos[inner][:-1])]
    cut_id = np.cumsum(fresh) - 1
    cuts = inner[fresh]
    affected = np.unique(edge[cuts])
    pieces, pline, prev_cut, next_cut = _split(
        g.geom[affected], np.searchsorted(affected, edge[cuts]), pos[cuts], xy[cuts]
    )
    n0 = len(g.xy)
    parent = affected[pline]
    split = _Graph(
        np.concatenate([g.xy, xy[cuts]]),
        pieces,
        np.where(prev_cut < 0, g.source[parent], n0 + prev_cut),
        np.where(next_cut < 0, g.target[parent], n0 + next_cut),
        g.way[parent],
        g.gate[parent],
    )
    untouched = np.ones(len(g.geom), dtype=bool)
    untouched[affected] = False
    node[inner] = n0 + cut_id
    return g.take(untouched).extend(split), node


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
