"""The working graph of :func:`layers.network.build_network`, and the topology of lines.

:class:`_Graph` holds the arrays of a network under construction; :func:`_topology` turns
lines into edges between numbered nodes at shared vertices and line ends, :func:`_node_all`
first splits lines wherever they cross or touch (``node_crossings=True``), and :func:`_split`
cuts lines at distances along them (also used by :mod:`layers.network_walls`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

import shapely

Geoms = NDArray[np.object_]
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


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
