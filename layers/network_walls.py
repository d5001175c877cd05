"""Walls and gates of :func:`layers.network.build_network`: cut at walls, open at gates.

Where an edge properly crosses a wall it is cut (a gap of about 1 m), or, with a gate within
tolerance, it passes through a 2 m gate edge; edges meeting on a wall node are parted the same
way; a gate no line passes is joined through its wall by connector edges
(:func:`_walls_and_gates`). The distances these rules use (gap, gate half-length, probe) are
here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import shapely

from layers.network_topology import Bools, Floats, Geoms, Ints, _Graph, _ranges, _split

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
