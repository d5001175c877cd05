"""The block mesh: Voronoi cells of the seeds are the blocks, their ridges the streets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Voronoi, cKDTree

import shapely

from layers.synth.base import _JOG_M, _MERGE_M, BoolArray, FloatArray, GeomArray, IntArray
from layers.synth.helpers import _ptr, _ragged
from layers.synth.seeds import _Seeds


@dataclass(frozen=True)
class _Mesh:
    """Voronoi blocks: cells are urban blocks, ridges are street centrelines."""

    seeds: FloatArray
    verts: FloatArray
    ridge_pts: IntArray  # (r, 2) cells either side
    ridge_verts: IntArray  # (r, 2) end vertices
    ridge_rank: IntArray  # 0 residential, 1 secondary, 2 primary
    ridge_road: IntArray  # road index for ranked ridges, else -1
    cell_ok: BoolArray  # finite and inside the area of interest
    ring_ptr: IntArray  # CSR: cell i's ring is ring_vid[ring_ptr[i]:ring_ptr[i + 1]]
    ring_vid: IntArray  # ring vertices, counter-clockwise, not closed
    ring_ridge: IntArray  # ridge of the segment from ring_vid[k] to the next ring vertex
    cells: GeomArray  # polygons (None where not ok)
    area_m2: FloatArray

    def ring_segments(self, cell: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """Each boundary segment of ``cell``: owner (index into ``cell``), start and end slot."""
        q, k = _ragged(self.ring_ptr[cell + 1] - self.ring_ptr[cell])
        seg = self.ring_ptr[cell[q]] + k
        nxt = np.where(seg + 1 < self.ring_ptr[cell[q] + 1], seg + 1, self.ring_ptr[cell[q]])
        return q, seg, nxt


def _merge_vertices(v: FloatArray, pairs: IntArray) -> tuple[FloatArray, IntArray]:
    """Merge the vertices ``pairs`` join (transitively): (merged vertices, old -> new)."""
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(v), len(v)))
    _, label = connected_components(graph, directed=False)
    label = label.astype(np.int64)
    n = int(label.max()) + 1
    count = np.bincount(label, minlength=n)[:, None]
    merged = np.column_stack(
        (np.bincount(label, weights=v[:, 0], minlength=n), np.bincount(label, weights=v[:, 1]))
    )
    return merged / count, label


def _mesh_ridges(
    vor: Voronoi, remap: IntArray, seeds: _Seeds, road_rank: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Finite ridges of non-zero length: (cells, vertices, rank, road)."""
    n = len(seeds.xy)
    rv = np.asarray(vor.ridge_vertices, dtype=np.int64)
    rp = np.asarray(vor.ridge_points, dtype=np.int64)
    finite = (rv >= 0).all(axis=1) & (rp < n).all(axis=1)
    rv, rp = remap[rv[finite]], rp[finite]
    keep = rv[:, 0] != rv[:, 1]
    rv, rp = rv[keep], rp[keep]
    key = np.minimum(rv[:, 0], rv[:, 1]) * (int(remap.max()) + 1) + np.maximum(rv[:, 0], rv[:, 1])
    _, uniq = np.unique(key, return_index=True)
    uniq.sort()
    rv, rp = rv[uniq], rp[uniq]
    # A ridge traces a road where its two seeds front that road from opposite sides.
    road = np.full(len(rv), -1, dtype=np.int64)
    for sa in (0, 1):
        for sb in (0, 1):
            ra, rb = seeds.road[rp[:, 0], sa], seeds.road[rp[:, 1], sb]
            opposite = seeds.side[rp[:, 0], sa] == -seeds.side[rp[:, 1], sb]
            road = np.where((ra >= 0) & (ra == rb) & opposite & (road < 0), ra, road)
    rank = np.where(road >= 0, road_rank[np.maximum(road, 0)], 0).astype(np.int64)
    return rp, rv, rank, road


def _mesh(seeds: _Seeds, usable: BoolArray, road_rank: IntArray) -> _Mesh:
    """Voronoi cells of the seeds (the blocks) and their ridges (the streets)."""
    xy = seeds.xy
    n = len(xy)
    span = float(np.ptp(xy, axis=0).max()) + 1.0
    far = xy.mean(axis=0) + 20 * span * np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1, 1]])
    vor = Voronoi(np.vstack((xy, far)))
    # Seeds mirrored across a road are (nearly) co-circular by design, so qhull returns a
    # 4-way junction as two vertices a hair apart, or a few metres apart where the road
    # bends; merged, the streets meet at one shared point and the road runs on straight.
    close = cKDTree(vor.vertices).query_pairs(_MERGE_M, output_type="ndarray")
    verts, remap = _merge_vertices(vor.vertices, close.reshape(-1, 2))
    rp, rv, rank, road = _mesh_ridges(vor, remap, seeds, road_rank)
    jog = (rank > 0) & (np.linalg.norm(verts[rv[:, 0]] - verts[rv[:, 1]], axis=1) < _JOG_M)
    if jog.any():
        verts, again = _merge_vertices(verts, rv[jog])
        remap = again[remap]
        rp, rv, rank, road = _mesh_ridges(vor, remap, seeds, road_rank)
    regions = [vor.regions[i] for i in vor.point_region[:n]]
    ok_idx = np.flatnonzero(usable & np.array([len(r) > 0 and -1 not in r for r in regions]))
    lens = np.array([len(regions[i]) for i in ok_idx], dtype=np.int64)
    raw = np.concatenate([np.asarray(regions[i], dtype=np.int64) for i in ok_idx])
    cell_of = ok_idx[_ragged(lens)[0]]
    # Rings counter-clockwise round their seed (ordered on qhull's own, convex cells), then
    # merged vertices dropped.
    v0 = vor.vertices
    ang = np.arctan2(v0[raw, 1] - xy[cell_of, 1], v0[raw, 0] - xy[cell_of, 0])
    order = np.lexsort((ang, cell_of))
    vid, cell_of = remap[raw[order]], cell_of[order]
    keep = np.ones(len(vid), dtype=np.bool_)
    keep[1:] = (vid[1:] != vid[:-1]) | (cell_of[1:] != cell_of[:-1])
    vid, cell_of = vid[keep], cell_of[keep]
    ptr = _ptr(cell_of, n)
    has = np.flatnonzero(ptr[1:] > ptr[:-1])
    wrap = vid[ptr[has + 1] - 1] == vid[ptr[has]]
    if wrap.any():
        keep = np.ones(len(vid), dtype=np.bool_)
        keep[ptr[has[wrap] + 1] - 1] = False
        vid, cell_of = vid[keep], cell_of[keep]
        ptr = _ptr(cell_of, n)
    counts = np.diff(ptr)
    nxt = np.arange(len(vid), dtype=np.int64) + 1
    nxt[ptr[1:][counts > 0] - 1] = ptr[:-1][counts > 0]
    nv = len(verts)
    key = np.minimum(rv[:, 0], rv[:, 1]) * nv + np.maximum(rv[:, 0], rv[:, 1])
    skey = np.minimum(vid, vid[nxt]) * nv + np.maximum(vid, vid[nxt])
    korder = np.argsort(key)
    pos = np.clip(np.searchsorted(key, skey, sorter=korder), 0, len(key) - 1)
    ring_ridge = np.where(key[korder[pos]] == skey, korder[pos], -1).astype(np.int64)
    ok = counts >= 3
    cells = np.full(n, None, dtype=object)
    _, ring_idx = np.unique(cell_of, return_inverse=True)
    cells[np.unique(cell_of)] = shapely.polygons(shapely.linearrings(verts[vid], indices=ring_idx))
    area = np.zeros(n)
    area[ok] = shapely.area(cells[ok])
    return _Mesh(
        seeds=xy,
        verts=verts,
        ridge_pts=rp,
        ridge_verts=rv,
        ridge_rank=rank,
        ridge_road=road,
        cell_ok=ok,
        ring_ptr=ptr,
        ring_vid=vid,
        ring_ridge=ring_ridge,
        cells=cells,
        area_m2=area,
    )
