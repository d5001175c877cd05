"""Streets: where gates' connectors meet the street, and ridges chained into named streets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

import shapely

from layers.synth.base import (
    _HIGHWAY_BY_RANK,
    _PLACE_WORDS,
    _SNAP_M,
    _STREET_SUFFIXES,
    BoolArray,
    FloatArray,
    GeomArray,
    IntArray,
    ObjArray,
    StrArray,
)
from layers.synth.helpers import _geoms, _rank_within
from layers.synth.mesh import _Mesh
from layers.synth.seeds import _Road


def _nearest_on_segments(
    owner: IntArray, a: FloatArray, b: FloatArray, xy: FloatArray
) -> tuple[IntArray, FloatArray]:
    """For each point ``xy[i]``, its nearest segment among those ``owner == i``, and where."""
    d = b - a
    length2 = np.maximum((d * d).sum(axis=1), 1e-18)
    t = np.clip(((xy[owner] - a) * d).sum(axis=1) / length2, 0.0, 1.0)
    dist = np.linalg.norm(a + t[:, None] * d - xy[owner], axis=1)
    best = np.flatnonzero(_rank_within(owner, dist) == 0)
    best = best[np.argsort(owner[best])]
    return best, t[best]


def _square_out(walls: GeomArray, xy: FloatArray) -> FloatArray:
    """Return unit normals pointing out of each wall at the point ``xy`` on it."""
    wxy, widx = shapely.get_coordinates(shapely.get_exterior_ring(walls), return_index=True)
    e0 = np.flatnonzero(widx[1:] == widx[:-1])
    edge, _ = _nearest_on_segments(widx[e0], wxy[e0], wxy[e0 + 1], xy)
    we = wxy[e0[edge] + 1] - wxy[e0[edge]]
    normal = np.column_stack((we[:, 1], -we[:, 0])) / np.linalg.norm(we, axis=1)[:, None]
    inward = shapely.get_coordinates(shapely.centroid(walls)) - xy
    flip = ((normal * inward).sum(axis=1) > 0)[:, None]
    return np.asarray(np.where(flip, -normal, normal), dtype=np.float64)


def _street_points(
    mesh: _Mesh, cell: IntArray, xy: FloatArray, walls: GeomArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Where each gate's connector meets the street round its block: (ridge, 0..1 along, xy).

    The nearest point of the street, unless the way there would run along the compound's
    own wall (near a corner): then square out from the wall. Points within ``_SNAP_M`` of a
    junction are moved onto it, so no sliver edges appear.
    """
    q, seg, nxt = mesh.ring_segments(cell)
    a, b = mesh.verts[mesh.ring_vid[seg]], mesh.verts[mesh.ring_vid[nxt]]
    d = b - a
    near, t_near = _nearest_on_segments(q, a, b, xy)
    p_near = a[near] + t_near[:, None] * d[near]
    # Grazing: beyond its first half metre the connector comes within 0.25 m of the wall.
    away = p_near - xy
    span = np.maximum(np.linalg.norm(away, axis=1), 1e-9)
    start = xy + away * np.minimum(_SNAP_M / span, 1.0)[:, None]
    path = shapely.linestrings(np.stack((start, p_near), axis=1))
    grazes = (shapely.distance(path, shapely.get_exterior_ring(walls)) < 0.25) & (span > _SNAP_M)
    # Square out: along the wall's outward normal, to the first street that ray meets.
    r = _square_out(walls, xy)[q]
    denom = r[:, 0] * d[:, 1] - r[:, 1] * d[:, 0]
    ag = a - xy[q]
    safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
    t_ray = (ag[:, 0] * d[:, 1] - ag[:, 1] * d[:, 0]) / safe
    s_ray = (ag[:, 0] * r[:, 1] - ag[:, 1] * r[:, 0]) / safe
    hit = (np.abs(denom) > 1e-12) & (t_ray > 1e-9) & (s_ray >= 0.0) & (s_ray <= 1.0)
    ray = np.flatnonzero(_rank_within(q, np.where(hit, t_ray, np.inf)) == 0)
    ray = ray[np.argsort(q[ray])]
    use_ray = grazes & hit[ray]
    best = np.where(use_ray, ray, near)
    t = np.where(use_ray, s_ray[ray], t_near)
    length = np.linalg.norm(d[best], axis=1)
    t = np.where(t * length < _SNAP_M, 0.0, np.where((1 - t) * length < _SNAP_M, 1.0, t))
    a, b = a[best], b[best]
    pt = np.where(
        (t == 0.0)[:, None], a, np.where((t == 1.0)[:, None], b, a + t[:, None] * (b - a))
    )
    ridge = mesh.ring_ridge[seg[best]]
    forward = mesh.ridge_verts[ridge, 0] == mesh.ring_vid[seg[best]]
    return ridge, np.where(forward, t, 1.0 - t), pt


def _link_ends(verts: FloatArray, rv: IntArray, rank: IntArray) -> IntArray:
    """At each junction pair up the ends of same-rank ridges that run on straightest.

    Ridge ``r`` has ends ``2r`` (at ``rv[r, 0]``) and ``2r + 1``; the result maps an end to
    the end it continues into, or -1.
    """
    ends = rv.ravel()
    d = verts[rv[:, ::-1].ravel()] - verts[ends]
    d /= np.linalg.norm(d, axis=1)[:, None]
    order = np.argsort(ends, kind="stable")
    sv = ends[order]
    cut = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1], True])
    link = np.full(len(ends), -1, dtype=np.int64)
    straight = np.cos(np.radians(40.0))
    for g in np.flatnonzero(np.diff(cut) >= 2):
        idx = order[cut[g] : cut[g + 1]]
        score = -(d[idx] @ d[idx].T)
        rk = rank[idx // 2]
        ii, jj = np.triu_indices(len(idx), 1)
        good = (score[ii, jj] > straight) & (rk[ii] == rk[jj])
        taken: set[int] = set()
        for p in np.flatnonzero(good)[np.argsort(-score[ii, jj][good], kind="stable")]:
            a, b = int(idx[ii[p]]), int(idx[jj[p]])
            if a not in taken and b not in taken:
                link[a], link[b] = b, a
                taken.update((a, b))
    return link


def _strokes(
    verts: FloatArray, rv: IntArray, rank: IntArray
) -> tuple[IntArray, IntArray, BoolArray]:
    """Chain ridges into named streets that run on straight through junctions.

    Returns each ridge's street, its position along the street, and whether it runs reversed.
    """
    link = _link_ends(verts, rv, rank)
    n = len(rv)
    street = np.full(n, -1, dtype=np.int64)
    pos = np.zeros(n, dtype=np.int64)
    rev = np.zeros(n, dtype=np.bool_)
    sid = 0
    for r in range(n):
        if street[r] >= 0:
            continue
        end = 2 * r  # walk back to the street's start (or round a loop back to r)
        for _ in range(n):
            nb = int(link[end])
            if nb < 0 or nb // 2 == r:
                break
            end = nb ^ 1
        q = 0
        while True:
            rr = end // 2
            street[rr], pos[rr], rev[rr] = sid, q, end % 2 == 1
            nb = int(link[end ^ 1])
            if nb < 0 or street[nb // 2] >= 0:
                break
            end, q = nb, q + 1
        sid += 1
    return street, pos, rev


@dataclass(frozen=True)
class _Streets:
    lines: GeomArray
    highway: StrArray
    name: ObjArray


def _streets(
    rng: np.random.Generator,
    mesh: _Mesh,
    roads: Sequence[_Road],
    *,
    ridges: IntArray,
    ins_ridge: IntArray,
    ins_t: FloatArray,
    ins_xy: FloatArray,
) -> _Streets:
    """Street lines over ``ridges``, with the connectors' ends inserted as vertices."""
    rv = mesh.ridge_verts[ridges]
    rank = mesh.ridge_rank[ridges]
    street, pos, rev = _strokes(mesh.verts, rv, rank)
    local = np.full(len(mesh.ridge_verts), -1, dtype=np.int64)
    local[ridges] = np.arange(len(ridges))
    n_streets = int(street.max()) + 1 if len(street) else 0
    last = np.zeros(n_streets, dtype=np.int64)
    np.maximum.at(last, street, pos)
    is_last = pos == last[street]
    li = local[ins_ridge]
    ok = (li >= 0) & (ins_t > 0.0) & (ins_t < 1.0)
    li, t_in, xy_in = li[ok], ins_t[ok], ins_xy[ok]
    ev_street = np.concatenate((street, street[li], street[is_last]))
    ev_pos = np.concatenate((pos, pos[li], pos[is_last]))
    ev_t = np.concatenate(
        (np.zeros(len(street)), np.where(rev[li], 1.0 - t_in, t_in), np.ones(int(is_last.sum())))
    )
    start_v = np.where(rev, rv[:, 1], rv[:, 0])
    end_v = np.where(rev, rv[:, 0], rv[:, 1])[is_last]
    ev_xy = np.concatenate((mesh.verts[start_v], xy_in, mesh.verts[end_v]))
    order = np.lexsort((ev_t, ev_pos, ev_street))
    ev_street, ev_xy = ev_street[order], ev_xy[order]
    keep = np.r_[True, (ev_street[1:] != ev_street[:-1]) | (ev_xy[1:] != ev_xy[:-1]).any(axis=1)]
    lines = _geoms(shapely.linestrings(ev_xy[keep], indices=ev_street[keep]))
    s_rank = np.zeros(n_streets, dtype=np.int64)
    s_road = np.full(n_streets, -1, dtype=np.int64)
    s_rank[street] = rank
    s_road[street] = mesh.ridge_road[ridges]
    pool = np.asarray([w + s for s in _STREET_SUFFIXES for w in _PLACE_WORDS], dtype=object)
    pool = pool[rng.permutation(len(pool))]
    road_names = np.asarray([r.name for r in roads] + [""], dtype=object)
    name = np.where(s_rank > 0, road_names[s_road], pool[np.arange(n_streets) % len(pool)])
    highway = np.asarray(_HIGHWAY_BY_RANK, dtype=np.str_)[s_rank]
    return _Streets(lines=lines, highway=highway, name=name.astype(object))
