"""Seed points of the blocks: roads first, seeds mirrored across them, then blue noise.

Long roads are drawn before the blocks; seeds fronting a road sit in pairs either side of
it (so Voronoi ridges between them trace the road), and Poisson-disc seeds, spaced by the
land use, fill the blocks between the roads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

import shapely

from layers.synth.base import _FRONT_DEPTH, _FRONT_STEP, _SPACING_M, BoolArray, FloatArray, IntArray


class _DiscGrid:
    """Points on a background grid, for neighbour look-ups while Poisson-disc sampling."""

    def __init__(
        self, bounds_m: tuple[float, float, float, float], cell_m: float, cap: int
    ) -> None:
        x0, y0, x1, y1 = bounds_m
        self.x0, self.y0, self.cell = x0, y0, cell_m
        self.slots = 6
        shape = (int(np.ceil((x1 - x0) / cell_m)) + 1, int(np.ceil((y1 - y0) / cell_m)) + 1)
        self.grid = np.full((*shape, self.slots), -1, dtype=np.int64)
        self.count = np.zeros(shape, dtype=np.int64)
        self.pts = np.empty((cap, 2), dtype=np.float64)
        self.rad = np.empty(cap, dtype=np.float64)
        self.n = 0

    def cell_of(self, p: FloatArray) -> tuple[int, int]:
        return int((p[0] - self.x0) / self.cell), int((p[1] - self.y0) / self.cell)

    def add(self, p: FloatArray, r: float) -> None:
        self.pts[self.n], self.rad[self.n] = p, r
        ix, iy = self.cell_of(p)
        # A point closer to others than the grid assumes is kept but not indexed: rare, and
        # only fixed points (never sampled ones) can be that close.
        if self.count[ix, iy] < self.slots:
            self.grid[ix, iy, self.count[ix, iy]] = self.n
            self.count[ix, iy] += 1
        self.n += 1

    def near(self, p: FloatArray, reach_m: float) -> IntArray:
        ix, iy = self.cell_of(p)
        w = int(reach_m / self.cell) + 1
        block = self.grid[max(ix - w, 0) : ix + w + 1, max(iy - w, 0) : iy + w + 1].ravel()
        return block[block >= 0]


def _poisson_disc(
    rng: np.random.Generator,
    *,
    bounds_m: tuple[float, float, float, float],
    spacing_m: Callable[[FloatArray], FloatArray],
    min_spacing_m: float,
    max_spacing_m: float,
    fixed_xy: FloatArray,
    keep_out: Callable[[FloatArray, FloatArray], BoolArray],
    tries: int = 20,
) -> FloatArray:
    """Blue-noise points by Bridson's algorithm, with spacing varying over the plane.

    ``fixed_xy`` come first in the result and are never moved; two points keep at least the
    mean of their spacings apart; ``keep_out(xy, spacing)`` rejects candidates (near roads).
    """
    x0, y0, x1, y1 = bounds_m
    cap = len(fixed_xy) + int(3.0 * (x1 - x0) * (y1 - y0) / min_spacing_m**2) + 16
    disc = _DiscGrid(bounds_m, min_spacing_m / np.sqrt(2.0), cap)
    if len(fixed_xy):
        for p, r in zip(fixed_xy, spacing_m(fixed_xy), strict=True):
            disc.add(p, float(r))
    else:
        start = np.array([[rng.uniform(x0, x1), rng.uniform(y0, y1)]])
        disc.add(start[0], float(spacing_m(start)[0]))
    active = list(range(disc.n))
    while active and disc.n < cap:
        j = int(rng.integers(0, len(active)))
        p, r = disc.pts[active[j]], disc.rad[active[j]]
        ang = rng.uniform(0.0, 2.0 * np.pi, tries)
        dist = r * np.sqrt(rng.uniform(1.0, 4.0, tries))
        cand = p + dist[:, None] * np.column_stack((np.cos(ang), np.sin(ang)))
        ok = (cand[:, 0] > x0) & (cand[:, 0] < x1) & (cand[:, 1] > y0) & (cand[:, 1] < y1)
        rc = spacing_m(cand)
        block = disc.near(p, 2.0 * r + max_spacing_m)
        d2 = ((cand[:, None, :] - disc.pts[block][None, :, :]) ** 2).sum(axis=2)
        need = 0.5 * (rc[:, None] + disc.rad[block][None, :])
        idx = np.flatnonzero(ok & (d2 >= need * need).all(axis=1))
        if len(idx):
            idx = idx[~keep_out(cand[idx], rc[idx])]
        if len(idx) == 0:
            active[j] = active[-1]
            active.pop()
            continue
        disc.add(cand[idx[0]], float(rc[idx[0]]))
        active.append(disc.n - 1)
    return disc.pts[: disc.n].copy()


@dataclass(frozen=True)
class _Road:
    """A long road drawn before the blocks: blocks line up along it (frontage)."""

    xy: FloatArray  # samples about 5 m apart
    family: int  # 0 runs south-north, 1 west-east; roads of different families cross
    rank: int  # 1 secondary, 2 primary
    name: str


def _wavy_road(
    rng: np.random.Generator,
    *,
    family: int,
    level_m: float,
    span_m: tuple[float, float],
    amp_m: float,
    rank: int,
    name: str,
) -> _Road:
    """Draw a road across the plan at ``level_m``, bending gently by up to ``amp_m``."""
    lo, hi = span_m
    t = np.linspace(lo, hi, max(int((hi - lo) / 5.0), 2) + 1)
    off = np.full(len(t), level_m)
    if amp_m > 0:
        for share, wl in ((0.7, rng.uniform(3000, 6000)), (0.3, rng.uniform(1200, 2500))):
            off += share * amp_m * np.sin(2 * np.pi * t / wl + rng.uniform(0, 2 * np.pi))
    xy = np.column_stack((off, t)) if family == 0 else np.column_stack((t, off))
    return _Road(xy=xy, family=family, rank=rank, name=name)


@dataclass(frozen=True)
class _Seeds:
    xy: FloatArray
    road: IntArray  # (n, 2): roads a point fronts (-1 none); crossing corners front two
    side: IntArray  # (n, 2): which side of that road (+1/-1)


class _RoadWalk:
    """Positions along a road by arc length: point and unit tangent."""

    def __init__(self, road: _Road) -> None:
        self.xy = road.xy
        d = np.gradient(road.xy, axis=0)
        self.tangent = d / np.linalg.norm(d, axis=1)[:, None]
        seg = np.linalg.norm(np.diff(road.xy, axis=0), axis=1)
        self.cum = np.concatenate(([0.0], np.cumsum(seg)))
        self.line = shapely.LineString(road.xy)

    def at(self, pos: float) -> tuple[FloatArray, FloatArray]:
        c, xy, tg = self.cum, self.xy, self.tangent
        p = np.array([np.interp(pos, c, xy[:, 0]), np.interp(pos, c, xy[:, 1])])
        u = np.array([np.interp(pos, c, tg[:, 0]), np.interp(pos, c, tg[:, 1])])
        return p, u / np.linalg.norm(u)


def _road_seeds(roads: Sequence[_Road], spacing_m: Callable[[FloatArray], FloatArray]) -> _Seeds:
    """Seed points mirrored across each road, so Voronoi ridges between them trace the road.

    Where two roads cross, four points sit symmetrically in the four corners instead.
    """
    walks = [_RoadWalk(r) for r in roads]
    xs: list[FloatArray] = []
    road_ids: list[tuple[int, int]] = []
    sides: list[tuple[int, int]] = []
    avoid: list[list[tuple[float, float]]] = [[] for _ in roads]
    for a in range(len(roads)):
        for b in range(a + 1, len(roads)):
            if roads[a].family == roads[b].family:
                continue
            for x in shapely.get_parts(shapely.intersection(walks[a].line, walks[b].line)):
                pa = float(shapely.line_locate_point(walks[a].line, x))
                pb = float(shapely.line_locate_point(walks[b].line, x))
                xy, u = walks[a].at(pa)
                v = walks[b].at(pb)[1]
                s = float(spacing_m(xy[None, :])[0])
                half = _FRONT_DEPTH * s
                avoid[a].append((pa, half + 0.7 * _FRONT_STEP * s))
                avoid[b].append((pb, half + 0.7 * _FRONT_STEP * s))
                na, nb = np.array([-u[1], u[0]]), np.array([-v[1], v[0]])
                for su, sv in ((1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)):
                    off = half * (su * u + sv * v)
                    xs.append(xy + off)
                    road_ids.append((a, b))
                    sides.append((int(np.sign(na @ off)), int(np.sign(nb @ off))))
    for k, walk in enumerate(walks):
        pos = 0.0
        while pos < walk.cum[-1]:
            p, u = walk.at(pos)
            s = float(spacing_m(p[None, :])[0])
            if all(abs(pos - c) >= r for c, r in avoid[k]):
                normal = np.array([-u[1], u[0]]) * _FRONT_DEPTH * s
                xs += [p + normal, p - normal]
                road_ids += [(k, -1), (k, -1)]
                sides += [(1, 0), (-1, 0)]
            pos += _FRONT_STEP * s
    return _Seeds(
        xy=np.array(xs, dtype=np.float64).reshape(-1, 2),
        road=np.array(road_ids, dtype=np.int64).reshape(-1, 2),
        side=np.array(sides, dtype=np.int64).reshape(-1, 2),
    )


def _road_keep_out(
    roads: Sequence[_Road], spacing_m: Callable[[FloatArray], FloatArray]
) -> Callable[[FloatArray, FloatArray], BoolArray]:
    """Test whether a candidate seed is too near a road: its block would straddle the road."""
    samples = np.concatenate([r.xy for r in roads])
    half = _FRONT_DEPTH * spacing_m(samples)
    tree = cKDTree(samples)

    def keep_out(xy: FloatArray, spacing: FloatArray) -> BoolArray:
        d, i = tree.query(xy)
        return np.asarray(d < half[i] + 0.4 * spacing, dtype=np.bool_)

    return keep_out


def _seed_blocks(
    rng: np.random.Generator,
    roads: Sequence[_Road],
    spacing: Callable[[FloatArray], FloatArray],
    bounds_m: tuple[float, float, float, float],
) -> _Seeds:
    """Road-fronting seeds first, then blue-noise seeds filling the blocks between roads."""
    fixed = _road_seeds(roads, spacing)
    x0, y0, x1, y1 = bounds_m
    fx, fy = fixed.xy[:, 0], fixed.xy[:, 1]
    inside = (fx > x0) & (fx < x1) & (fy > y0) & (fy < y1)
    fixed = _Seeds(xy=fixed.xy[inside], road=fixed.road[inside], side=fixed.side[inside])
    pts = _poisson_disc(
        rng,
        bounds_m=bounds_m,
        spacing_m=spacing,
        min_spacing_m=min(_SPACING_M),
        max_spacing_m=max(_SPACING_M),
        fixed_xy=fixed.xy,
        keep_out=_road_keep_out(roads, spacing),
    )
    n_fill = len(pts) - len(fixed.xy)
    return _Seeds(
        xy=pts,
        road=np.vstack((fixed.road, np.full((n_fill, 2), -1, dtype=np.int64))),
        side=np.vstack((fixed.side, np.zeros((n_fill, 2), dtype=np.int64))),
    )
