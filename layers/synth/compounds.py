"""Compounds: blocks shrunk from their streets, each laid out in rows of buildings.

Every compound has its own frame (u along the buildings' long axis, v across it); the
buildings are placed, and kept, in that frame.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

import shapely

from layers.synth.base import (
    _LANE_INSET_M,
    _ROAD_HALF_WIDTH_M,
    _SETBACK_M,
    _WALL_MARGIN_M,
    NEW,
    OLD,
    VILLAGE,
    FloatArray,
    GeomArray,
    IntArray,
)
from layers.synth.helpers import _geoms, _ragged, _rank_within
from layers.synth.mesh import _Mesh


@dataclass(frozen=True)
class _Sites:
    """Compounds (or candidates): a block shrunk from its streets, and its layout frame.

    The local frame (u along the buildings' long axis, v across it) has its origin at the
    compound's centroid; ``origin_u``/``origin_v`` place column 0 and row 0 in it.
    """

    cell: IntArray
    kind: IntArray
    poly: GeomArray
    cx: FloatArray
    cy: FloatArray
    cos: FloatArray
    sin: FloatArray
    poly_loc: GeomArray
    inner_loc: GeomArray
    length_m: FloatArray
    depth_m: FloatArray
    gap_m: FloatArray
    every: IntArray
    extra_m: FloatArray
    lane_off_m: FloatArray
    row_pitch_m: FloatArray
    margin_m: FloatArray
    origin_u: FloatArray
    origin_v: FloatArray

    def take(self, idx: IntArray) -> _Sites:
        """Return the sites ``idx``, in that order."""
        return _Sites(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass(frozen=True)
class _Buildings:
    """Building footprints in their compound's local frame."""

    site: IntArray
    col: IntArray
    row: IntArray
    u0: FloatArray
    u1: FloatArray
    v0: FloatArray
    v1: FloatArray
    lane_v: FloatArray  # the row lane in front (south) of the building
    floors: IntArray

    def take(self, idx: IntArray, site: IntArray | None = None) -> _Buildings:
        """Return the buildings ``idx``, in that order (with new ``site`` numbers if given)."""
        out = {f.name: getattr(self, f.name)[idx] for f in fields(self)}
        if site is not None:
            out["site"] = site
        return _Buildings(**out)


def _column_u(sites: _Sites, site: IntArray, col: IntArray) -> FloatArray:
    """Start of column ``col``: village columns come in groups split by a wider alley."""
    pitch = sites.length_m[site] + sites.gap_m[site]
    start = sites.origin_u[site] + col * pitch + (col // sites.every[site]) * sites.extra_m[site]
    return np.asarray(start, dtype=np.float64)


def _to_world(sites: _Sites, site: IntArray, u: FloatArray, v: FloatArray) -> FloatArray:
    """Plan coordinates of points given in their compound's frame."""
    c, s = sites.cos[site], sites.sin[site]
    return np.column_stack((sites.cx[site] + u * c - v * s, sites.cy[site] + u * s + v * c))


def _site_polygons(mesh: _Mesh, cell: IntArray, kind: IntArray) -> GeomArray:
    """Blocks shrunk from their streets; arterials take a wider band than residential streets."""
    setback = np.asarray(_SETBACK_M)[kind]
    poly = _geoms(shapely.buffer(mesh.cells[cell], -setback, join_style="mitre", mitre_limit=10))
    site, seg, nxt = mesh.ring_segments(cell)
    ridge = mesh.ring_ridge[seg]
    half = np.asarray(_ROAD_HALF_WIDTH_M)[mesh.ridge_rank[np.maximum(ridge, 0)]]
    wide = (ridge >= 0) & (half > setback[site])
    if not wide.any():
        return poly
    site, seg, nxt, half = site[wide], seg[wide], nxt[wide], half[wide]
    p, q = mesh.verts[mesh.ring_vid[seg]], mesh.verts[mesh.ring_vid[nxt]]
    d = (q - p) / np.linalg.norm(q - p, axis=1)[:, None]
    # Extended along the street, the band cuts the (convex) block as a half-plane would, so
    # the compound keeps its block's shape.
    ext = 400.0
    line = shapely.linestrings(np.stack((p - ext * d, q + ext * d), axis=1))
    bands = _geoms(shapely.buffer(line, half, cap_style="flat"))
    rank = _rank_within(site, np.zeros(len(site)))
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        poly[site[sel]] = shapely.difference(poly[site[sel]], bands[sel])
    return poly


def _params(rng: np.random.Generator, kind: IntArray) -> dict[str, Any]:
    """Per-compound layout parameters: slab or tower estates, walk-ups, village houses."""
    n = len(kind)
    new, old, vil = kind == NEW, kind == OLD, kind == VILLAGE
    tower = new & (rng.random(n) < 0.35)
    floors = np.where(
        new, rng.choice(np.array([11, 18, 18, 24, 26, 30, 32, 33]), size=n), np.where(old, 6, 4)
    )
    length = np.select(
        [tower, new, old],
        [rng.uniform(22, 28, n), rng.uniform(32, 50, n), rng.uniform(36, 58, n)],
        rng.uniform(10.5, 13.5, n),
    )
    depth = np.select(
        [tower, new, old],
        [length * rng.uniform(0.85, 1.0, n), rng.uniform(13, 16, n), rng.uniform(10, 12.5, n)],
        rng.uniform(10.5, 13.5, n),
    )
    # Gaps between buildings in a row: fire lanes in estates, a hand's reach in villages.
    gap = np.select(
        [tower, new, old],
        [rng.uniform(18, 26, n), rng.uniform(14, 22, n), rng.uniform(8, 14, n)],
        rng.uniform(1.2, 2.2, n),
    )
    # Row spacing: sunlight spacing for towers and slabs, a lane for walk-ups, an alley in villages.
    pitch = depth + np.select(
        [new, old],
        [np.clip(0.75 * floors * 2.9, 22, 55), rng.uniform(13, 17, n)],
        rng.uniform(3.0, 4.5, n),
    )
    return {
        "length_m": length,
        "depth_m": depth,
        "gap_m": gap,
        "every": np.where(vil, rng.integers(3, 6, n), 1).astype(np.int64),
        "extra_m": np.where(vil, rng.uniform(1.8, 2.8, n), 0.0),
        "lane_off_m": np.select([new, old], [8.0, 6.0], (pitch - depth) / 2),
        "row_pitch_m": pitch,
        "margin_m": np.asarray(_WALL_MARGIN_M)[kind],
        "floors": floors.astype(np.int64),
    }


def _site_frames(poly: GeomArray, rot_rad: float) -> tuple[FloatArray, FloatArray, GeomArray]:
    """Each compound's centroid, axis angle and polygon in its own frame.

    Buildings follow the block's axis nearest east-west on the final (turned) map, unless
    that is far off: then they face due south, as most Guangdong estates do.
    """
    env = shapely.get_coordinates(shapely.oriented_envelope(poly)).reshape(-1, 5, 2)
    edge = env[:, 1] - env[:, 0]
    theta = (np.arctan2(edge[:, 1], edge[:, 0]) + rot_rad + np.pi / 4) % (np.pi / 2) - np.pi / 4
    theta = np.where(np.abs(theta) > np.radians(25.0), 0.0, theta) - rot_rad
    cen = shapely.get_coordinates(shapely.centroid(poly))
    xy, index = shapely.get_coordinates(poly, return_index=True)
    c, s = np.cos(-theta)[index], np.sin(-theta)[index]
    dx, dy = xy[:, 0] - cen[index, 0], xy[:, 1] - cen[index, 1]
    local = np.column_stack((dx * c - dy * s, dx * s + dy * c))
    return cen, theta, _geoms(shapely.set_coordinates(poly.copy(), local))


def _plan_sites(
    rng: np.random.Generator, mesh: _Mesh, cell: IntArray, kind: IntArray, rot_rad: float
) -> tuple[_Sites, _Buildings]:
    """Lay out candidate compounds on blocks ``cell`` as ``kind``: rows of buildings.

    Buildings stand in rows along the compound's axis; each row has a lane in front of it.
    Nothing is placed where the building and its path to the lane would not fit inside the
    wall with a margin.
    """
    poly = _site_polygons(mesh, cell, kind)
    fine = (shapely.area(poly) > 1500.0) & (shapely.get_type_id(poly) == 3)
    fine &= shapely.is_valid(poly)
    cell, kind, poly = cell[fine], kind[fine], poly[fine]
    cen, theta, poly_loc = _site_frames(poly, rot_rad)
    prm = _params(rng, kind)
    inner_b = _geoms(shapely.buffer(poly_loc, -prm["margin_m"], join_style="mitre"))
    b = shapely.bounds(inner_b)
    b = np.where(np.isfinite(b), b, 0.0)
    width, height = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    pitch_u = prm["length_m"] + prm["gap_m"] + prm["extra_m"] / prm["every"]
    n_cols = np.maximum(np.floor((width - prm["length_m"]) / pitch_u) + 1, 0).astype(np.int64)
    fixed_v = prm["lane_off_m"] + prm["depth_m"]
    n_rows = np.maximum(np.floor((height - fixed_v) / prm["row_pitch_m"]) + 1, 0).astype(np.int64)
    used_u = np.maximum(n_cols - 1, 0) * pitch_u + prm["length_m"]
    used_v = np.maximum(n_rows - 1, 0) * prm["row_pitch_m"] + fixed_v
    n = len(cell)
    sites = _Sites(
        cell=cell,
        kind=kind,
        poly=poly,
        cx=cen[:, 0].copy(),
        cy=cen[:, 1].copy(),
        cos=np.cos(theta),
        sin=np.sin(theta),
        poly_loc=poly_loc,
        inner_loc=_geoms(shapely.buffer(poly_loc, -_LANE_INSET_M, join_style="mitre")),
        length_m=prm["length_m"],
        depth_m=prm["depth_m"],
        gap_m=prm["gap_m"],
        every=prm["every"],
        extra_m=prm["extra_m"],
        lane_off_m=prm["lane_off_m"],
        row_pitch_m=prm["row_pitch_m"],
        margin_m=prm["margin_m"],
        origin_u=b[:, 0] + np.maximum(width - used_u, 0) * rng.uniform(0.3, 0.7, n),
        origin_v=b[:, 1]
        + prm["lane_off_m"]
        + np.maximum(height - used_v, 0) * rng.uniform(0.3, 0.7, n),
    )
    return sites, _place_buildings(
        rng, sites, inner=inner_b, n_cols=n_cols, n_rows=n_rows, floors=prm["floors"]
    )


def _place_buildings(
    rng: np.random.Generator,
    sites: _Sites,
    *,
    inner: GeomArray,
    n_cols: IntArray,
    n_rows: IntArray,
    floors: IntArray,
) -> _Buildings:
    """Place buildings on every grid plot where they and the way to their lane fit ``inner``."""
    site, k = _ragged(n_cols * n_rows)
    col = k % np.maximum(n_cols[site], 1)
    row = k // np.maximum(n_cols[site], 1)
    m = len(site)
    kind = sites.kind[site]
    bj = sites.origin_v[site] + row * sites.row_pitch_m[site]
    vil = kind == VILLAGE
    # Village houses vary in size and sit anywhere in their plot; estates are regular.
    w = sites.length_m[site] - np.where(vil, rng.uniform(0, 2.5, m), 0.0)
    d = sites.depth_m[site] - np.where(vil, rng.uniform(0, 2.5, m), 0.0)
    u0 = _column_u(sites, site, col) + rng.uniform(0, 1, m) * (sites.length_m[site] - w)
    v0 = bj + rng.uniform(0, 1, m) * (sites.depth_m[site] - d)
    lane_v = bj - sites.lane_off_m[site]
    shapely.prepare(inner)
    fits = shapely.contains(inner[site], shapely.box(u0, lane_v, u0 + w, v0 + d))
    drop = rng.random(m) < np.asarray((0.06, 0.06, 0.12))[kind]
    jitter = np.where(kind == NEW, rng.integers(-2, 3, m), rng.integers(-1, 2, m))
    lo, hi = np.asarray((11, 5, 3))[kind], np.asarray((33, 7, 5))[kind]
    blds = _Buildings(
        site=site,
        col=col,
        row=row,
        u0=u0,
        u1=u0 + w,
        v0=v0,
        v1=v0 + d,
        lane_v=lane_v,
        floors=np.clip(floors[site] + jitter, lo, hi).astype(np.int64),
    )
    return blds.take(np.flatnonzero(fits & ~drop))


def _select_sites(sites: _Sites, blds: _Buildings, chosen: IntArray) -> tuple[_Sites, _Buildings]:
    """Keep the sites ``chosen`` (renumbered in that order) and their buildings."""
    new_id = np.full(len(sites.cell), -1, dtype=np.int64)
    new_id[chosen] = np.arange(len(chosen))
    keep = np.flatnonzero(new_id[blds.site] >= 0)
    out = blds.take(keep, site=new_id[blds.site[keep]])
    return sites.take(chosen), out.take(np.lexsort((out.col, out.row, out.site)))
