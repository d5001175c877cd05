"""The generators: the Qiaohua demo community and benchmark districts of communities.

:func:`generate_community` and :func:`generate_city` each choose land use, roads, blocks
and compounds, then hand the plan to :func:`layers.synth.assembly._build`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.spatial import cKDTree

import shapely

from layers.synth.assembly import _build, _Community, _Plan
from layers.synth.base import (
    _BUILDINGS_RANGE,
    _BUILDINGS_TYPICAL,
    _CITY_SIDE_M,
    _PLACE_WORDS,
    _PRIMARY_NAMES,
    _SECONDARY_NAMES,
    _SPACING_M,
    NEW,
    OLD,
    QIAOHUA,
    RURAL,
    VILLAGE,
    XIQIAO_CENTER,
    BoolArray,
    FloatArray,
    IntArray,
    SynthCity,
)
from layers.synth.compounds import _Buildings, _plan_sites, _select_sites, _Sites
from layers.synth.helpers import _apportion, _ptr, _unique_names
from layers.synth.mesh import _Mesh, _mesh
from layers.synth.seeds import _Road, _seed_blocks, _wavy_road


def _order_sites(sites: _Sites, comm: IntArray, rot_rad: float) -> IntArray:
    """Return the order that numbers compounds north-west to south-east on the final map."""
    c, s = np.cos(rot_rad), np.sin(rot_rad)
    x = sites.cx * c - sites.cy * s
    y = sites.cx * s + sites.cy * c
    return np.lexsort((x, -np.floor(y / 350.0), comm)).astype(np.int64)


def _fitting(sites: _Sites, blds: _Buildings) -> tuple[IntArray, BoolArray]:
    """Count buildings per candidate compound, and whether that count suits its kind."""
    count = np.bincount(blds.site, minlength=len(sites.cell)).astype(np.int64)
    lo_hi = np.asarray(_BUILDINGS_RANGE)[sites.kind]
    return count, (count >= lo_hi[:, 0]) & (count <= lo_hi[:, 1])


def _demo_zones(rng: np.random.Generator, scale: float) -> Callable[[FloatArray], IntArray]:
    """Land use of the demo: a compact town in fields.

    Old walk-ups in the core, four new-estate quarters round it, three village clusters
    further out, and large blocks of fields and works filling the rest of the community.
    """
    a0 = rng.uniform(0, 2 * np.pi)
    zones: list[tuple[float, float, float, int]] = [
        (rng.normal(0, 50), rng.normal(0, 50), 400.0, OLD)
    ]
    for k in range(4):
        a, r = a0 + np.pi / 2 * k + rng.normal(0, 0.15), rng.uniform(600, 680) * min(scale, 1.0)
        zones.append((r * np.cos(a), r * np.sin(a), rng.uniform(230, 270), NEW))
    for k in rng.permutation(4)[:3]:
        a, r = a0 + np.pi / 4 + np.pi / 2 * k + rng.normal(0, 0.15), rng.uniform(920, 1050) * scale
        zones.append((r * np.cos(a), r * np.sin(a), rng.uniform(190, 220), VILLAGE))
    zone_xy = np.asarray([z[:2] for z in zones])
    zone_r = np.asarray([z[2] for z in zones])
    zone_kind = np.asarray([z[3] for z in zones], dtype=np.int64)

    def zone_of(xy: FloatArray) -> IntArray:
        rel = np.linalg.norm(xy[:, None, :] - zone_xy[None], axis=2) / zone_r[None, :]
        best = np.argmin(rel, axis=1)
        inside = rel[np.arange(len(xy)), best] <= 1.0
        return np.where(inside, zone_kind[best], RURAL).astype(np.int64)

    return zone_of


def _demo_roads(rng: np.random.Generator, half_m: float, scale: float) -> list[_Road]:
    """Two arterials crossing near the centre, two secondary roads further out."""
    span = (-half_m - 500, half_m + 500)
    roads = []
    for family in (0, 1):
        roads.append(
            _wavy_road(
                rng,
                family=family,
                level_m=rng.uniform(-200, 200) * scale,
                span_m=span,
                amp_m=rng.uniform(40, 90),
                rank=2,
                name=_PRIMARY_NAMES[family],
            )
        )
    for family in (0, 1):
        roads.append(
            _wavy_road(
                rng,
                family=family,
                level_m=rng.choice([-1, 1]) * rng.uniform(650, 950) * scale,
                span_m=span,
                amp_m=rng.uniform(30, 70),
                rank=1,
                name=_SECONDARY_NAMES[family],
            )
        )
    return roads


def _blob_cells(rng: np.random.Generator, mesh: _Mesh, area_m2: float) -> IntArray:
    """Blocks inside an irregular outline of about ``area_m2``: one piece, no holes."""
    k = np.arange(2, 6)
    amp = rng.uniform(0.04, 0.12, len(k)) / np.sqrt(k - 1)
    phase = rng.uniform(0, 2 * np.pi, len(k))
    ok = np.flatnonzero(mesh.cell_ok)
    xy = mesh.seeds[ok]
    ang = np.arctan2(xy[:, 1], xy[:, 0])
    wobble = 1 + (amp[None, :] * np.cos(k[None, :] * ang[:, None] + phase[None, :])).sum(axis=1)
    rel = np.hypot(xy[:, 0], xy[:, 1]) / wobble
    r0 = float(np.sqrt(area_m2 / np.pi))
    best, best_err = ok[:0], np.inf
    for _ in range(12):
        sel = ok[rel < r0]
        # One piece without holes: the largest part, and every block inside its outline.
        parts = shapely.get_parts(shapely.coverage_union_all(mesh.cells[sel]))
        main = shapely.polygons(shapely.get_exterior_ring(parts[np.argmax(shapely.area(parts))]))
        sel = ok[shapely.contains_xy(main, mesh.seeds[ok, 0], mesh.seeds[ok, 1])]
        got = float(mesh.area_m2[sel].sum())
        if abs(got / area_m2 - 1) < best_err:
            best, best_err = sel, abs(got / area_m2 - 1)
        if best_err < 0.01:
            break
        r0 *= float(np.sqrt(area_m2 / got)) ** 0.9
    return np.sort(best).astype(np.int64)


def _demo_pick(
    rng: np.random.Generator,
    sites: _Sites,
    blds: _Buildings,
    *,
    zone: IntArray,
    n_compounds: int,
) -> IntArray:
    """Choose the demo's compounds: 8 new estates, 10 old estates, 12 villages (for 30).

    Each kind prefers blocks in its own zone, near the centre, whose layout holds a typical
    number of buildings; every block is used once.
    """
    count, fits = _fitting(sites, blds)
    typical = np.asarray(_BUILDINGS_TYPICAL)[sites.kind]
    score = np.hypot(sites.cx, sites.cy) * rng.uniform(0.85, 1.15, len(sites.cell)) / 600.0
    score += np.abs(count - typical) / typical
    quota = {NEW: round(n_compounds * 8 / 30), OLD: round(n_compounds * 10 / 30)}
    quota[VILLAGE] = n_compounds - quota[NEW] - quota[OLD]
    taken: set[int] = set()
    chosen: list[int] = []
    for k in (NEW, OLD, VILLAGE):
        pref = np.select([zone == k, zone == RURAL], [0, 2], 1)
        got = 0
        for i in np.lexsort((score, pref)):
            if got == quota[k]:
                break
            if sites.kind[i] == k and fits[i] and int(sites.cell[i]) not in taken:
                chosen.append(int(i))
                taken.add(int(sites.cell[i]))
                got += 1
    # Short of a kind (a small community): make up the number with any fitting block.
    for i in np.argsort(score):
        if len(chosen) >= n_compounds:
            break
        if fits[i] and int(sites.cell[i]) not in taken:
            chosen.append(int(i))
            taken.add(int(sites.cell[i]))
    return np.asarray(chosen, dtype=np.int64)


def generate_community(
    *,
    seed: int = 20240,
    center_lonlat: tuple[float, float] = XIQIAO_CENTER,
    code: str = "QH",
    name: str = "樵华社区",
    area_km2: float = 5.5,
    n_compounds: int = 30,
    figures: dict[str, int] | None = None,
) -> SynthCity:
    """Generate the demo community, modelled on Qiaohua (樵华社区), Xiqiao, Foshan.

    One community of about ``area_km2`` with ``n_compounds`` compounds (new estates, old
    walk-up estates and village clusters) in an organic street grid crossed by two
    arterials, with lanes, gates, 6-8 grids, the "1 + N" service points and ~36 candidate
    venues. Its totals match ``figures`` (default :data:`QIAOHUA`: 13,234 households, 40,335
    residents, 226 party members). All layers are in EPSG:4326; one seed, one place.
    """
    rng = np.random.default_rng(seed)
    rot = float(rng.uniform(-0.3, 0.3))
    scale = float(np.sqrt(area_km2 / 5.5))
    half = 2700.0 * scale
    zone_of = _demo_zones(rng, scale)

    def spacing(xy: FloatArray) -> FloatArray:
        return np.asarray(_SPACING_M)[zone_of(xy)]

    roads = _demo_roads(rng, half, scale)
    seeds = _seed_blocks(rng, roads, spacing, (-half, -half, half, half))
    usable = np.asarray((np.abs(seeds.xy) < half - 400).all(axis=1), dtype=np.bool_)
    mesh = _mesh(seeds, usable, np.asarray([r.rank for r in roads], dtype=np.int64))
    cells = _blob_cells(rng, mesh, area_km2 * 1e6)
    # Every block is tried as each kind; the quotas then take the fitting, central ones.
    cand_kind = np.tile(np.array([NEW, OLD, VILLAGE], dtype=np.int64), len(cells))
    sites, blds = _plan_sites(rng, mesh, np.repeat(cells, 3), cand_kind, rot)
    zone = zone_of(mesh.seeds[sites.cell])
    sites, blds = _select_sites(
        sites, blds, _demo_pick(rng, sites, blds, zone=zone, n_compounds=n_compounds)
    )
    one = np.zeros(len(sites.cell), dtype=np.int64)
    sites, blds = _select_sites(sites, blds, _order_sites(sites, one, rot))
    community = _Community(
        code=code,
        name=name,
        cells=cells,
        targets=dict(QIAOHUA if figures is None else figures),
        n_grids=int(rng.integers(6, 9)),
        n_venues=36,
        red_houses=int(rng.integers(2, 4)),
    )
    plan = _Plan(
        mesh=mesh, roads=roads, sites=sites, blds=blds, communities=[community], site_comm=one
    )
    return _build(
        rng,
        plan,
        way_prefix=f"{code}-",
        closed_gates=2,
        center_lonlat=center_lonlat,
        rot_rad=rot,
    )


def generate_city(
    *,
    n_buildings: int,
    seed: int = 7,
    center_lonlat: tuple[float, float] = XIQIAO_CENTER,
    buildings_per_community: int = 450,
) -> SynthCity:
    """Generate a district of communities holding ``n_buildings`` buildings, for benchmarks.

    The district is a grid of gently curving arterials; each cell of that grid is one
    community (codes ``C001``...) of about ``buildings_per_community`` buildings, built of
    the same blocks, compounds, buildings, lanes and gates as :func:`generate_community`.
    The walking network has about four edges per building once split at its junctions.
    """
    if n_buildings < 1:
        msg = f"n_buildings must be at least 1, got {n_buildings}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    rot = float(rng.uniform(-0.3, 0.3))
    n_comm = max(1, round(n_buildings / buildings_per_community))
    nx = int(np.ceil(np.sqrt(n_comm)))
    ny = int(np.ceil(n_comm / nx))
    side = max(_CITY_SIDE_M * float(np.sqrt(n_buildings / (nx * ny) / 450.0)), 450.0)
    for _ in range(8):
        plan = _city_plan(rng, n_buildings=n_buildings, nx=nx, ny=ny, side=side, rot_rad=rot)
        if plan is not None:
            return _build(
                rng,
                plan,
                way_prefix="",
                closed_gates=None,
                center_lonlat=center_lonlat,
                rot_rad=rot,
                offset_m=np.array([nx * side / 2, ny * side / 2]),
            )
        side *= 1.2  # the blocks could not hold the buildings: a bigger district
    msg = f"could not place {n_buildings} buildings"
    raise RuntimeError(msg)


def _city_zones(
    rng: np.random.Generator, width_m: float, height_m: float
) -> Callable[[FloatArray], IntArray]:
    """Land use of a city: each block takes the kind of the nearest of scattered zone centres."""
    step = 650.0
    gx, gy = np.meshgrid(
        np.arange(-step, width_m + 2 * step, step), np.arange(-step, height_m + 2 * step, step)
    )
    zone_xy = np.column_stack((gx.ravel(), gy.ravel()))
    zone_xy += rng.uniform(-0.35, 0.35, zone_xy.shape) * step
    zone_kind = rng.choice(np.array([NEW, OLD, VILLAGE]), size=len(zone_xy), p=[0.4, 0.3, 0.3])
    tree = cKDTree(zone_xy)

    def zone_of(xy: FloatArray) -> IntArray:
        return np.asarray(zone_kind[tree.query(xy)[1]], dtype=np.int64)

    return zone_of


def _city_roads(rng: np.random.Generator, nx: int, ny: int, side_m: float) -> list[_Road]:
    """Arterials on community edges: straight round the district, gently curving inside."""
    words = [str(w) for w in rng.permutation(np.asarray(_PLACE_WORDS))]
    roads: list[_Road] = []
    for family, count, extent in ((0, nx, ny * side_m), (1, ny, nx * side_m)):
        for i in range(count + 1):
            edge = i in (0, count)
            rank = 1 if edge or i % 2 == 0 else 2
            word = words[len(roads) % len(words)]
            roads.append(
                _wavy_road(
                    rng,
                    family=family,
                    level_m=i * side_m,
                    span_m=(-600.0, extent + 600.0),
                    amp_m=0.0 if edge else float(rng.uniform(30, 80)),
                    rank=rank,
                    name=word + ("大道" if rank == 2 else "路"),
                )
            )
    return roads


def _city_faces(xy: FloatArray, roads: Sequence[_Road], nx: int, ny: int) -> IntArray:
    """Community (row-major from the north-west) of each point, or -1 outside the district."""
    col = np.full(len(xy), -1, dtype=np.int64)
    row = np.full(len(xy), -1, dtype=np.int64)
    for r in roads:
        if r.family == 0:
            col += xy[:, 0] > np.interp(xy[:, 1], r.xy[:, 1], r.xy[:, 0])
        else:
            row += xy[:, 1] > np.interp(xy[:, 0], r.xy[:, 0], r.xy[:, 1])
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    return np.where(inside, (ny - 1 - row) * nx + col, -1).astype(np.int64)


def _city_pick(
    rng: np.random.Generator, sites: _Sites, blds: _Buildings, s_face: IntArray, quota: IntArray
) -> tuple[IntArray, IntArray]:
    """Compounds for each community until its quota of buildings: (sites, buildings kept).

    The last compound taken is trimmed to the quota: a part-built estate whose last rows
    are not there yet.
    """
    count, fits = _fitting(sites, blds)
    b_order = np.argsort(blds.site, kind="stable")
    b_ptr = _ptr(blds.site, len(sites.cell))
    chosen: list[IntArray] = []
    keep = np.ones(len(blds.site), dtype=np.bool_)
    for f in np.flatnonzero(quota > 0):
        cand = np.flatnonzero((s_face == f) & fits)
        cand = cand[rng.permutation(len(cand))]
        cum = np.cumsum(count[cand])
        k = int(np.searchsorted(cum, quota[f])) + 1
        chosen.append(cand[:k])
        excess = int(cum[k - 1] - quota[f])
        if excess > 0:
            last = b_order[b_ptr[cand[k - 1]] : b_ptr[cand[k - 1] + 1]]
            keep[last[np.lexsort((-blds.col[last], -blds.row[last]))][:excess]] = False
    return np.concatenate(chosen), np.flatnonzero(keep)


def _city_plan(
    rng: np.random.Generator, *, n_buildings: int, nx: int, ny: int, side: float, rot_rad: float
) -> _Plan | None:
    """Lay out a city of ``nx`` x ``ny`` communities; None if its blocks cannot hold them."""
    width, height = nx * side, ny * side
    zone_of = _city_zones(rng, width, height)

    def spacing(xy: FloatArray) -> FloatArray:
        return np.asarray(_SPACING_M)[zone_of(xy)]

    roads = _city_roads(rng, nx, ny, side)
    seeds = _seed_blocks(rng, roads, spacing, (-500.0, -500.0, width + 500.0, height + 500.0))
    face = _city_faces(seeds.xy, roads, nx, ny)
    mesh = _mesh(seeds, face >= 0, np.asarray([r.rank for r in roads], dtype=np.int64))
    face = np.where(mesh.cell_ok, face, -1)
    cells = np.flatnonzero(face >= 0).astype(np.int64)
    sites, blds = _plan_sites(rng, mesh, cells, zone_of(mesh.seeds[cells]), rot_rad)
    count, fits = _fitting(sites, blds)
    s_face = face[sites.cell]
    capacity = np.bincount(s_face, weights=count * fits, minlength=nx * ny).astype(np.int64)
    if capacity.sum() < n_buildings:
        return None
    quota = _apportion(n_buildings, capacity.astype(np.float64), cap=capacity)
    pick, keep = _city_pick(rng, sites, blds, s_face, quota)
    blds = blds.take(keep)
    faces = np.unique(s_face[pick])
    comm_of_face = np.full(nx * ny, -1, dtype=np.int64)
    comm_of_face[faces] = np.arange(len(faces))
    s_comm = comm_of_face[s_face[pick]]
    order = _order_sites(sites.take(pick), s_comm, rot_rad)
    sites, blds = _select_sites(sites, blds, pick[order])
    names = _unique_names(rng, _PLACE_WORDS, ("社区",), len(faces))
    communities = [
        _Community(
            code=f"C{i + 1:03d}",
            name=names[i],
            cells=np.flatnonzero(face == f).astype(np.int64),
            targets=None,
            n_grids=int(rng.integers(6, 9)),
            n_venues=max(1, round(1.2 * int((s_comm[order] == i).sum()))),
            red_houses=int(rng.integers(2, 4)),
        )
        for i, f in enumerate(faces)
    ]
    return _Plan(
        mesh=mesh,
        roads=roads,
        sites=sites,
        blds=blds,
        communities=communities,
        site_comm=s_comm[order],
    )
