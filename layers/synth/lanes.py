"""Lanes and gates: row and cross lanes inside each compound, door paths, and the gates.

Lanes are clipped 3 m inside the walls and joined into one system per compound; gates
open where lanes meet the wall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import shapely

from layers.synth.base import (
    _LANE_INSET_M,
    OLD,
    VILLAGE,
    BoolArray,
    FloatArray,
    GeomArray,
    IntArray,
    StrArray,
)
from layers.synth.compounds import _Buildings, _column_u, _Sites, _to_world
from layers.synth.helpers import _geoms, _ptr, _ragged, _rank_within


def _clip_axis_lines(
    polys: GeomArray, line_site: IntArray, axis: IntArray, level: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Return where axis-parallel lines lie inside their site's polygon: (line, start, end).

    Line i is ``v = level[i]`` (axis 0) or ``u = level[i]`` (axis 1) in the site's frame;
    positions are along the line. Crossings pair up even-odd, so concave walls work too.
    """
    xy, ring = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)
    e0 = np.flatnonzero(ring[1:] == ring[:-1])
    ptr = _ptr(ring[e0], len(polys))
    line, k = _ragged(np.diff(ptr)[line_site])
    e = e0[ptr[line_site[line]] + k]
    ax = axis[line]
    p, q = xy[e], xy[e + 1]
    ps, pt = np.where(ax == 0, p[:, 0], p[:, 1]), np.where(ax == 0, p[:, 1], p[:, 0])
    qs, qt = np.where(ax == 0, q[:, 0], q[:, 1]), np.where(ax == 0, q[:, 1], q[:, 0])
    lv = level[line]
    hit = (pt > lv) != (qt > lv)
    line, ps, pt, qs, qt, lv = line[hit], ps[hit], pt[hit], qs[hit], qt[hit], lv[hit]
    s = ps + (lv - pt) * (qs - ps) / (qt - pt)
    order = np.lexsort((s, line))
    line, s = line[order], s[order]
    first = np.flatnonzero(_rank_within(line, s) % 2 == 0)
    return line[first], s[first], s[first + 1]


def _find_piece(
    piece_line: IntArray, piece_a: FloatArray, piece_b: FloatArray, line: IntArray, s: FloatArray
) -> IntArray:
    """Return the piece of ``line`` holding position ``s`` (pieces sorted by line), or -1."""
    span = 1.0e5  # local positions stay within +-2e4 m of a compound's centre
    pkey = piece_line * span + (piece_a + span / 2)
    i = np.searchsorted(pkey, line * span + (s + span / 2), side="right") - 1
    j = np.maximum(i, 0)
    ok = (i >= 0) & (piece_line[j] == line) & (s <= piece_b[j]) & (s >= piece_a[j])
    return np.where(ok, j, -1).astype(np.int64)


@dataclass(frozen=True)
class _LaneNet:
    """Row lanes (axis 0) and cross lanes (axis 1), in pieces 3 m inside the walls."""

    line_site: IntArray
    line_axis: IntArray
    line_level: FloatArray
    p_line: IntArray  # pieces, sorted by line and start
    p_a: FloatArray
    p_b: FloatArray
    jp_row: IntArray  # junctions: row piece, cross piece, and where (u, v)
    jp_cross: IntArray
    ju: FloatArray
    jv: FloatArray
    stub_piece: IntArray  # per building: the row piece its door path meets, or -1


def _cross_candidates(
    rng: np.random.Generator, sites: _Sites, blds: _Buildings
) -> tuple[IntArray, FloatArray, BoolArray]:
    """Places for cross lanes (site, u) in the gaps between columns, and a first choice.

    Estates get a spine near the middle and some more; villages an alley at every wider
    gap. Both may get a lane along their outer columns.
    """
    n_sites = len(sites.cell)
    grp = np.flatnonzero(np.r_[True, blds.site[1:] != blds.site[:-1]])
    cmin = np.minimum.reduceat(blds.col, grp)
    cmax = np.maximum.reduceat(blds.col, grp)
    c_site, kk = _ragged(cmax - cmin + 2)
    i = cmin[c_site] + kk
    left, right = i == cmin[c_site], i == cmax[c_site] + 1
    inner = ~left & ~right
    wide = i % sites.every[c_site] == 0
    gap = sites.gap_m[c_site] + np.where(wide, sites.extra_m[c_site], 0.0)
    outer = np.clip(gap / 2, 0.5, sites.margin_m[c_site] - _LANE_INSET_M - 0.5)
    u = np.select(
        [left, right],
        [
            _column_u(sites, c_site, i) - outer,
            _column_u(sites, c_site, i - 1) + sites.length_m[c_site] + outer,
        ],
        _column_u(sites, c_site, i) - gap / 2,
    )
    r = rng.random(len(u))
    spine = _rank_within(c_site, np.where(inner, np.abs(u), 1e9)) == 0
    pick = np.where(
        sites.kind[c_site] != VILLAGE,
        (spine & inner) | (inner & (r < 0.25)) | (~inner & (r < 0.15)),
        (wide & inner) | (~inner & (r < 0.25)),
    )
    none = np.bincount(c_site, weights=pick, minlength=n_sites) == 0
    pick |= none[c_site] & (_rank_within(c_site, r) == 0)
    return c_site, u, pick


def _lane_net(
    sites: _Sites,
    blds: _Buildings,
    *,
    row_of_bld: IntArray,
    cand_site: IntArray,
    cand_u: FloatArray,
    pick: BoolArray,
) -> _LaneNet:
    """Clip the lanes, find their junctions and where door paths meet them.

    A row no cross lane reaches would need a gate of its own: a cross lane opens in a gap
    of that row instead (up to twice), so each compound's lanes form one system.
    """
    n_sites = len(sites.cell)
    first_of_row = np.r_[True, row_of_bld[1:] != row_of_bld[:-1]]
    row_site, row_level = blds.site[first_of_row], blds.lane_v[first_of_row]
    n_rows = len(row_site)
    door_u = 0.5 * (blds.u0 + blds.u1)
    cand_ptr = _ptr(cand_site, n_sites)
    pick = pick.copy()
    for attempt in range(3):
        c_site = cand_site[pick]
        line_site = np.concatenate((row_site, c_site))
        line_axis = np.concatenate((np.zeros(n_rows, np.int64), np.ones(len(c_site), np.int64)))
        line_level = np.concatenate((row_level, cand_u[pick]))
        p_line, p_a, p_b = _clip_axis_lines(sites.inner_loc, line_site, line_axis, line_level)
        rows_per = np.bincount(row_site, minlength=n_sites)
        cross_per = np.bincount(c_site, minlength=n_sites)
        j_site, k = _ragged(rows_per * cross_per)
        nc = np.maximum(cross_per[j_site], 1)
        j_row = _ptr(row_site, n_sites)[j_site] + k // nc
        j_cross = n_rows + _ptr(c_site, n_sites)[j_site] + k % nc
        ju, jv = line_level[j_cross], line_level[j_row]
        jp_row = _find_piece(p_line, p_a, p_b, j_row, ju)
        jp_cross = _find_piece(p_line, p_a, p_b, j_cross, jv)
        ok = (jp_row >= 0) & (jp_cross >= 0)
        stub = _find_piece(p_line, p_a, p_b, row_of_bld, door_u)
        lonely_mask = np.zeros(len(p_line), dtype=np.bool_)
        lonely_mask[stub[stub >= 0]] = True
        lonely_mask[jp_row[ok]] = False
        lonely = np.flatnonzero(lonely_mask)
        if attempt == 2 or len(lonely) == 0:
            break
        l_site = line_site[p_line[lonely]]
        li, kk = _ragged(np.diff(cand_ptr)[l_site])
        ci = cand_ptr[l_site[li]] + kk
        fits = (cand_u[ci] >= p_a[lonely[li]]) & (cand_u[ci] <= p_b[lonely[li]]) & ~pick[ci]
        mid = 0.5 * (p_a + p_b)[lonely[li]]
        best = (_rank_within(li, np.where(fits, np.abs(cand_u[ci] - mid), np.inf)) == 0) & fits
        if not best.any():
            break
        pick[ci[best]] = True
    return _LaneNet(
        line_site=line_site,
        line_axis=line_axis,
        line_level=line_level,
        p_line=p_line,
        p_a=p_a,
        p_b=p_b,
        jp_row=jp_row[ok],
        jp_cross=jp_cross[ok],
        ju=ju[ok],
        jv=jv[ok],
        stub_piece=stub,
    )


@dataclass(frozen=True)
class _Gates:
    piece: IntArray
    end: IntArray  # 0: the piece's start, 1: its end
    s: FloatArray  # position of the gate (on the wall) along the piece's line
    main: BoolArray
    main_piece: BoolArray  # per piece: leads to a main gate


def _pick_gates(rng: np.random.Generator, sites: _Sites, net: _LaneNet, used: BoolArray) -> _Gates:
    """Gates where lanes meet the wall: one per lane system, then up to 1-4 per compound.

    The main gate faces the front (south) of the compound when it can.
    """
    n_sites, n_pieces = len(sites.cell), len(net.p_line)
    graph = coo_matrix(
        (np.ones(len(net.jp_row)), (net.jp_row, net.jp_cross)), shape=(n_pieces, n_pieces)
    )
    comp = connected_components(graph, directed=False)[1].astype(np.int64)
    piece = np.repeat(np.flatnonzero(used), 2)
    end = np.tile(np.array([0, 1], dtype=np.int64), int(used.sum()))
    line = net.p_line[piece]
    s_in = np.where(end == 0, net.p_a[piece], net.p_b[piece])
    o_line, o_a, o_b = _clip_axis_lines(
        sites.poly_loc, net.line_site, net.line_axis, net.line_level
    )
    op = _find_piece(o_line, o_a, o_b, line, s_in)
    s_out = np.where(op < 0, s_in, np.where(end == 0, o_a[op], o_b[op]))
    site, c_comp = net.line_site[line], comp[piece]
    sector = net.line_axis[line] * 2 + end  # 0 west, 1 east, 2 south, 3 north
    key = rng.random(len(piece))
    first = _rank_within(c_comp, key + np.where(sector == 2, 0.0, 1.0)) == 0
    size = np.bincount(c_comp, minlength=n_pieces)[c_comp]
    # At most four gates: a rare fifth lane system (a corner the lanes cannot join) stays shut.
    first &= _rank_within(site, np.where(first, -size + 1e-3 * key, 1e9)) < 4
    main = first & (_rank_within(site, np.where(first, -size + 1e-3 * key, 1e9)) == 0)
    wanted = np.select(
        [sites.kind == OLD], [rng.integers(1, 4, n_sites)], rng.integers(2, 5, n_sites)
    )
    used_sector = np.zeros((n_sites, 4), dtype=np.bool_)
    used_sector[site[first], sector[first]] = True
    extra = ~first & ~used_sector[site, sector]
    extra &= _rank_within(site * 4 + sector, np.where(extra, key, 2.0)) == 0
    have = np.bincount(site[first], minlength=n_sites)[site]
    extra &= have + _rank_within(site, np.where(extra, key, 2.0)) < wanted[site]
    # In compound order, so per-compound numbering and grouping stay simple.
    g = np.flatnonzero(first | extra)
    g = g[np.argsort(site[g], kind="stable")]
    main_piece = np.zeros(n_pieces, dtype=np.bool_)
    main_piece[piece[main]] = True
    return _Gates(piece=piece[g], end=end[g], s=s_out[g], main=main[g], main_piece=main_piece)


@dataclass(frozen=True)
class _Lanes:
    """Lanes, paths to building doors and gates of the compounds, in plan metres."""

    lines: GeomArray
    highway: StrArray
    gate_xy: FloatArray
    gate_site: IntArray
    gate_main: BoolArray
    gate_on_service: BoolArray
    entrance_xy: FloatArray  # in front of each building's door, inside the compound


def _lanes(rng: np.random.Generator, sites: _Sites, blds: _Buildings) -> _Lanes:
    """Lanes along the rows and across them, doors joined to lanes, gates where lanes meet walls.

    Every vertex two lines share is computed once in the compound's frame and mapped to the
    plan with one formula, so junctions are bit-identical shared coordinates.
    """
    estate = sites.kind != VILLAGE
    row_key = blds.site * 100_000 + blds.row
    row_of_bld = np.cumsum(np.r_[True, row_key[1:] != row_key[:-1]]) - 1
    cand_site, cand_u, pick = _cross_candidates(rng, sites, blds)
    net = _lane_net(
        sites, blds, row_of_bld=row_of_bld, cand_site=cand_site, cand_u=cand_u, pick=pick
    )
    door_u = 0.5 * (blds.u0 + blds.u1)
    has_stub = net.stub_piece >= 0
    ev_piece = np.concatenate((net.jp_row, net.jp_cross, net.stub_piece[has_stub]))
    ev_s = np.concatenate((net.ju, net.jv, door_u[has_stub]))
    used = np.bincount(ev_piece, minlength=len(net.p_line)) > 0
    gates = _pick_gates(rng, sites, net, used)
    # Lanes through a gate run on to the wall; the others stop short of it.
    start_s, end_s = net.p_a.copy(), net.p_b.copy()
    start_s[gates.piece[gates.end == 0]] = gates.s[gates.end == 0]
    end_s[gates.piece[gates.end == 1]] = gates.s[gates.end == 1]
    kept = np.flatnonzero(used)
    ev_piece = np.concatenate((kept, ev_piece, kept))
    ev_s = np.concatenate((start_s[kept], ev_s, end_s[kept]))
    order = np.lexsort((ev_s, ev_piece))
    ev_piece, ev_s = ev_piece[order], ev_s[order]
    keep = np.r_[True, (ev_piece[1:] != ev_piece[:-1]) | (ev_s[1:] != ev_s[:-1])]
    ev_piece, ev_s = ev_piece[keep], ev_s[keep]
    ev_line = net.p_line[ev_piece]
    lv = net.line_level[ev_line]
    row_like = net.line_axis[ev_line] == 0
    ev_u, ev_v = np.where(row_like, ev_s, lv), np.where(row_like, lv, ev_s)
    ev_xy = _to_world(sites, net.line_site[ev_line], ev_u, ev_v)
    lane_lines = shapely.linestrings(ev_xy, indices=np.unique(ev_piece, return_inverse=True)[1])
    k_line = net.p_line[kept]
    # Estate row lanes and the lane from the main gate carry cars; the rest are footpaths.
    car = (net.line_axis[k_line] == 0) | gates.main_piece[kept]
    lane_hw = np.where(car & estate[net.line_site[k_line]], "service", "footway")
    stub_b = np.flatnonzero(has_stub)
    door = _to_world(sites, blds.site[stub_b], door_u[stub_b], blds.v0[stub_b])
    lane_end = _to_world(sites, blds.site[stub_b], door_u[stub_b], blds.lane_v[stub_b])
    stubs = shapely.linestrings(np.stack((door, lane_end), axis=1))
    g_line = net.p_line[gates.piece]
    g_level, g_row, g_site = (
        net.line_level[g_line],
        net.line_axis[g_line] == 0,
        net.line_site[g_line],
    )
    gate_u, gate_v = np.where(g_row, gates.s, g_level), np.where(g_row, g_level, gates.s)
    front = np.minimum(1.5, 0.5 * sites.lane_off_m[blds.site])
    return _Lanes(
        lines=np.concatenate((_geoms(lane_lines), _geoms(stubs))),
        highway=np.concatenate((lane_hw, np.full(len(stub_b), "footway"))).astype(np.str_),
        gate_xy=_to_world(sites, g_site, gate_u, gate_v),
        gate_site=g_site,
        gate_main=gates.main,
        gate_on_service=(g_row | gates.main_piece[gates.piece]) & estate[g_site],
        entrance_xy=_to_world(sites, blds.site, door_u, blds.v0 - front),
    )
