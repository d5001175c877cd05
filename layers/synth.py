"""Synthetic communities and cities (streets, compounds, buildings, lanes, gates) for demos."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import Voronoi, cKDTree

import geopandas as gpd
import shapely
from pyproj import CRS, Transformer

from layers.domain import SERVICE_POINT_KINDS, VENUE_KINDS
from layers.schema import LAYERS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
GeomArray = NDArray[np.object_]
StrArray = NDArray[np.str_]
ObjArray = NDArray[np.object_]

#: A point in the flat built-up part of Xiqiao town (西樵镇), about 3 km inside its boundary.
XIQIAO_CENTER: tuple[float, float] = (112.970, 22.930)
#: An invented street (镇/街道) code for Xiqiao.
XIQIAO_STREET = "440605-XQ"
#: Qiaohua community's published figures (docs/domain.md, "参考社区").
QIAOHUA: dict[str, int] = {
    "households": 13_234,
    "residents": 40_335,
    "registered_residents": 13_126,
    "floating_residents": 9_268,
    "staff": 23,
    "cadres": 8,
    "party_members": 226,
}
#: Every kind of candidate venue, in the order the demo guarantees one of each.
VENUE_ORDER = ("community_room", "property_room", "owners_centre", "stilted_floor")

# Compound kinds; RURAL only zones land that stays empty (fields, works, hills).
NEW, OLD, VILLAGE, RURAL = 0, 1, 2, 3
# Poisson-disc spacing per zone kind; a block's area comes out near 1.3 x spacing squared.
_SPACING_M = (212.0, 142.0, 72.0, 270.0)
# Building counts that make a block a believable compound of each kind, and a typical one.
_BUILDINGS_RANGE = ((5, 24), (4, 20), (8, 70))
_BUILDINGS_TYPICAL = (14.0, 11.0, 27.0)
# Street half-width from the centreline to the wall, then the wall to the nearest building.
_SETBACK_M = (9.0, 7.0, 4.5)
_WALL_MARGIN_M = (8.0, 5.5, 4.0)
# Lanes stop this far inside a wall unless they pass a gate.
_LANE_INSET_M = 3.0
# Arterial half-widths (centreline to wall) by road rank: 1 secondary, 2 primary.
_ROAD_HALF_WIDTH_M = (0.0, 11.0, 15.0)
_HIGHWAY_BY_RANK = ("residential", "secondary", "primary")
# Connector ends this close to a junction snap onto it, so no sliver edges appear.
_SNAP_M = 0.5
# Street junctions closer than this are one junction, and so are the ends of a jog this
# short in a road (see _mesh).
_MERGE_M = 1.5
_JOG_M = 20.0
# Road-fronting seeds: spacing along a road, and distance from it, as shares of the spacing.
_FRONT_STEP = 1.2
_FRONT_DEPTH = 0.5
# Side of one city community, for 450 buildings (blocks then hold about 1.5 times that).
_CITY_SIDE_M = 1050.0


def _words(text: str) -> tuple[str, ...]:
    """Split a space-separated word list (kept as one string so the lists stay compact)."""
    return tuple(text.split())


_SURNAMES = tuple("陈梁黄何冯李邓潘关区麦罗谭吴张林刘周杨卢苏叶霍岑简招余郭曾彭胡袁朱徐莫钟严")
_GIVEN = tuple(
    "伟志强秀英丽敏华建国明杰燕玲芳婷俊嘉锦荣雪梅卓立晓文海美惠冬德"
    "永健坤洁桂娟振耀汉炳少慧彩家宝源辉颖欣倩琪淑桃金满"
)
_PLACE_WORDS = _words(
    "樵华 新村 西岸 文昌 永安 康乐 富民 兴业 东风 建设 民乐 百西 太平 松岗"
    " 简溪 儒林 朝阳 迎宾 和平 环湖 翠屏 南华 北岸 德政 龙腾 云路 岭南 福庆"
    " 崇文 仁厚 金沙 锦湖 丰宁 荔枝 桂花 紫荆 木棉 凤凰 樵乐 官山 大同 七星"
    " 河溪 松塘 良溪 山根 吉水 崇北 新田 上金 沙水 海舟 平沙 江浦 聚龙"
)
_STREET_SUFFIXES = _words("路 街 二路 一街 巷 横街 直街 大街 东路 西街")
_ESTATE_WORDS = _words(
    "翠湖 金碧 樵华 锦绣 碧水 丽景 君悦 怡景 御景 逸翠 云山 星河 名都 海逸"
    " 雅居 翡翠 峰景 绿茵 华庭 玉兰 天悦 美林 富豪 南国 紫薇 嘉华 汇景 山水"
    " 璟园 东方"
)
_NEW_SUFFIXES = _words("花园 苑 豪庭 华府 名苑 山庄 新城 雅苑 湾 公馆")
_OLD_SUFFIXES = _words("新村 小区 宿舍区 大院 花园 住宅区")
_VILLAGE_WORDS = _words(
    "简溪 百西 上金瓯 民乐 太平 河溪 大同 七星 儒溪 松塘 崇北 新田 良溪 山根"
    " 吉水 沙水 海舟 江浦 聚龙 平沙 白石 樵北 岗头 新基 竹园 塘边 南坊 西坊"
    " 东头 大岸"
)
_VILLAGE_SUFFIXES = _words("村 坊 里 社")
_PROPERTY_COMPANIES = tuple(
    f"{w}物业{('管理', '服务')[i % 2]}有限公司"
    for i, w in enumerate(_words("樵山 华信 南海城建 锦辉 粤秀 西岸 嘉和 恒顺 百越"))
)
_PRIMARY_NAMES = ("樵华路", "新村大道")
_SECONDARY_NAMES = ("西岸街", "文昌路")
_DIRECTIONS = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")
_ORDINALS = ("", "二", "三", "四", "五", "六", "七", "八", "九", "十")
#: A generated service point is named by its host and its kind (activity rooms as the party
#: members' ones they usually are).
_SERVICE_LABELS = {**SERVICE_POINT_KINDS, "activity_room": "党员活动室"}
_SERVICE_AREA_M2 = {
    "centre": (600, 1000),
    "sub_centre": (150, 400),
    "activity_room": (60, 150),
    "red_house": (40, 120),
}
_VENUE_LABELS = VENUE_KINDS


@dataclass(frozen=True)
class SynthCity:
    """A generated place: every layer and the walkable ways, all in EPSG:4326.

    ``layers`` holds ``communities``, ``grids``, ``compounds``, ``gates``, ``buildings``,
    ``service_points``, ``candidate_venues`` and ``barriers``, each with a unique ``code``
    and exactly the fields of :data:`layers.schema.LAYERS` (plus ``community`` where the
    layer is community-scoped); ``ways`` holds LineStrings with ``code``, ``highway`` and
    ``name`` that meet only at shared vertices.
    """

    layers: dict[str, gpd.GeoDataFrame]
    ways: gpd.GeoDataFrame


# --------------------------------------------------------------------------- small helpers


def _geoms(values: Any) -> GeomArray:
    return np.asarray(values, dtype=object)


def _apportion(total: int, weights: FloatArray, cap: IntArray | None = None) -> IntArray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder).

    With ``cap``, no share exceeds its cap; what a capped share cannot take goes to the rest.
    """
    w = np.maximum(np.asarray(weights, dtype=np.float64), 0.0)
    out = np.zeros(len(w), dtype=np.int64)
    open_ = w > 0
    for _ in range(50):
        remaining = total - int(out.sum())
        if remaining <= 0 or not open_.any():
            break
        ww = np.where(open_, w, 0.0)
        share = remaining * ww / ww.sum()
        add = np.floor(share).astype(np.int64)
        short = remaining - int(add.sum())
        if short > 0:
            rem = np.where(open_, share - add, -1.0)
            add[np.argsort(-rem, kind="stable")[:short]] += 1
        if cap is not None:
            add = np.minimum(add, cap - out)
            open_ &= out + add < cap
        out += add
    return out


def _rank_within(group: IntArray, key: FloatArray) -> IntArray:
    """Rank of each element within its group, by ascending ``key`` (0 = first)."""
    order = np.lexsort((key, group))
    g = group[order]
    idx = np.arange(len(g), dtype=np.int64)
    start = np.ones(len(g), dtype=np.bool_)
    start[1:] = g[1:] != g[:-1]
    first = np.maximum.accumulate(np.where(start, idx, 0))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = idx - first
    return rank


def _ragged(counts: IntArray) -> tuple[IntArray, IntArray]:
    """For groups of ``counts`` items: each item's group and its index within the group."""
    counts = np.maximum(counts, 0)
    group = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(len(group), dtype=np.int64) - starts[group]


def _ptr(group: IntArray, n: int) -> IntArray:
    """CSR offsets of ``n`` groups for a ``group`` array sorted by group."""
    return np.concatenate(([0], np.cumsum(np.bincount(group, minlength=n)))).astype(np.int64)


def _pick(rng: np.random.Generator, words: Sequence[str], n: int) -> StrArray:
    return np.asarray(words, dtype=np.str_)[rng.integers(0, len(words), size=n)]


def _or_none(mask: BoolArray, values: StrArray) -> ObjArray:
    out = np.full(len(mask), None, dtype=object)
    out[mask] = values[mask]
    return out


def _person_names(rng: np.random.Generator, n: int) -> StrArray:
    """Plausible Cantonese-area names: a common surname and one or two given characters."""
    two = rng.random(n) < 0.75
    second = np.where(two, _pick(rng, _GIVEN, n), "").astype(np.str_)
    return np.strings.add(_pick(rng, _SURNAMES, n), np.strings.add(_pick(rng, _GIVEN, n), second))


def _phones(rng: np.random.Generator, n: int) -> StrArray:
    """Fake mobile numbers in the 138 block."""
    digits = rng.integers(0, 100_000_000, size=n).astype(np.str_)
    return np.strings.add("138", np.strings.zfill(digits, 8))


def _numbered(prefix: str | StrArray, numbers: IntArray, width: int) -> StrArray:
    """``prefix`` followed by ``numbers`` zero-padded to ``width``."""
    return np.strings.add(prefix, np.strings.zfill(numbers.astype(np.str_), width))


def _unique_names(
    rng: np.random.Generator, words: Sequence[str], suffixes: Sequence[str], n: int
) -> list[str]:
    """``n`` distinct names word+suffix, each word used once while words last."""
    order = rng.permutation(len(words))
    names: list[str] = []
    used: set[str] = set()
    for i in range(n):
        word = words[order[i % len(words)]]
        options = [word + s for s in suffixes if word + s not in used]
        if options:
            name = options[int(rng.integers(0, len(options)))]
        else:
            name = f"{word}{_ORDINALS[min(i // len(words), 9)] or '一'}{suffixes[0]}"
        while name in used:
            name = f"{name}{len(used)}"
        used.add(name)
        names.append(name)
    return names


# --------------------------------------------------------------------------- seed points


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


# --------------------------------------------------------------------------- the block mesh


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


# --------------------------------------------------------------------------- compounds


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


# --------------------------------------------------------------------------- lanes and gates


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


# --------------------------------------------------------------------------- streets


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


# --------------------------------------------------------------------------- assembly


@dataclass(frozen=True)
class _Community:
    code: str
    name: str
    cells: IntArray
    #: Published totals to match exactly (the demo), or None to let them follow the buildings.
    targets: dict[str, int] | None
    n_grids: int
    n_venues: int
    red_houses: int


@dataclass(frozen=True)
class _Plan:
    """A laid-out place before its figures: blocks, roads, compounds, buildings, lanes."""

    mesh: _Mesh
    roads: Sequence[_Road]
    sites: _Sites
    blds: _Buildings
    communities: Sequence[_Community]
    site_comm: IntArray


def _kmeans_seeds(rng: np.random.Generator, xy: FloatArray, weight: FloatArray, k: int) -> IntArray:
    """Return ``k`` distinct points of ``xy`` near the centres of a weighted k-means."""
    centres = xy[rng.choice(len(xy), size=k, replace=False, p=weight / weight.sum())]
    for _ in range(10):
        lab = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        for c in range(k):
            m = lab == c
            if m.any():
                centres[c] = (xy[m] * weight[m, None]).sum(axis=0) / weight[m].sum()
    d = ((xy[:, None, :] - centres[None]) ** 2).sum(axis=2)
    chosen: list[int] = []
    for c in range(k):
        chosen.append(next(int(i) for i in np.argsort(d[:, c]) if int(i) not in chosen))
    return np.asarray(chosen, dtype=np.int64)


def _partition(
    rng: np.random.Generator, mesh: _Mesh, cells: IntArray, weight: FloatArray, k: int
) -> IntArray:
    """Split contiguous ``cells`` into ``k`` contiguous groups of similar weight (grids).

    Weighted k-means picks a seed block per group; every block then joins the seed nearest
    along the block adjacency graph, which keeps groups contiguous.
    """
    k = min(k, len(cells))
    local = np.full(len(mesh.seeds), -1, dtype=np.int64)
    local[cells] = np.arange(len(cells))
    a, b = local[mesh.ridge_pts[:, 0]], local[mesh.ridge_pts[:, 1]]
    both = (a >= 0) & (b >= 0)
    a, b = a[both], b[both]
    xy = mesh.seeds[cells]
    w = np.linalg.norm(xy[a] - xy[b], axis=1)
    graph = coo_matrix((w, (a, b)), shape=(len(cells), len(cells))).tocsr()
    seeds = _kmeans_seeds(rng, xy, weight + 0.05 * weight.mean() + 1e-9, k)
    _, _, source = dijkstra(
        graph, directed=False, indices=seeds, min_only=True, return_predecessors=True
    )
    slot = np.zeros(len(cells), dtype=np.int64)
    slot[seeds] = np.arange(k)
    src = np.asarray(source, dtype=np.int64)
    return np.where(src >= 0, slot[np.maximum(src, 0)], 0).astype(np.int64)


def _frame(layer: str, data: dict[str, Any], geometry: GeomArray) -> gpd.GeoDataFrame:
    """Return a layer's frame: ``code``, ``community`` if scoped, the schema's fields in order."""
    spec = LAYERS[layer]
    n = len(geometry)
    cols: dict[str, Any] = {"code": np.asarray(data["code"], dtype=object)}
    if spec.community_scoped:
        cols["community"] = np.asarray(data["community"], dtype=object)
    for f in spec.fields:
        value = data.get(f.name)
        if value is None:
            value = np.full(n, None, dtype=object)
        cols[f.name] = np.asarray(value, dtype=object) if f.type == "str" else value
    return gpd.GeoDataFrame(cols, geometry=_geoms(geometry), crs="EPSG:4326")


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {k: [r[k] for r in rows] for k in rows[0]} if rows else {"code": [], "community": []}


def _lonlat(
    center_lonlat: tuple[float, float], rot_rad: float, offset_m: FloatArray
) -> Callable[[Any], GeomArray]:
    """Map plan metres (less ``offset_m``, turned by ``rot_rad``) to lon/lat geometries."""
    lon, lat = center_lonlat
    local = CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat} +lon_0={lon} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    )
    tr = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
    c, s = np.cos(rot_rad), np.sin(rot_rad)

    def fn(xy: FloatArray) -> FloatArray:
        px, py = xy[:, 0] - offset_m[0], xy[:, 1] - offset_m[1]
        lo, la = tr.transform(px * c - py * s, px * s + py * c)
        return np.column_stack((lo, la))

    def apply(geoms: Any) -> GeomArray:
        return _geoms(shapely.transform(_geoms(geoms), fn))

    return apply


def _codes(plan: _Plan, rng: np.random.Generator) -> dict[str, StrArray]:
    """Codes and names of compounds and buildings, numbered within each community."""
    sites, blds, s_comm = plan.sites, plan.blds, plan.site_comm
    comm_code = np.asarray([c.code for c in plan.communities], dtype=np.str_)
    n_sites, n_b = len(sites.cell), len(blds.site)
    s_rank = _rank_within(s_comm, np.arange(n_sites, dtype=np.float64))
    s_name = np.empty(n_sites, dtype=object)
    for i in range(len(plan.communities)):
        for kind, words, suffixes in (
            (NEW, _ESTATE_WORDS, _NEW_SUFFIXES),
            (OLD, _PLACE_WORDS, _OLD_SUFFIXES),
            (VILLAGE, _VILLAGE_WORDS, _VILLAGE_SUFFIXES),
        ):
            m = np.flatnonzero((s_comm == i) & (sites.kind == kind))
            s_name[m] = _unique_names(rng, words, suffixes, len(m))
    b_comm = s_comm[blds.site]
    b_rank = _rank_within(b_comm, np.arange(n_b, dtype=np.float64))
    in_site = _rank_within(blds.site, np.arange(n_b, dtype=np.float64)) + 1
    return {
        "s_code": _numbered(np.strings.add(comm_code[s_comm], "-C"), s_rank + 1, 2),
        "s_name": s_name.astype(np.str_),
        "b_code": _numbered(np.strings.add(comm_code[b_comm], "-B"), b_rank + 1, 4),
        "b_name": np.strings.add(in_site.astype(np.str_), "栋"),
        "comm_code": comm_code,
        "comm_name": np.asarray([c.name for c in plan.communities], dtype=np.str_),
    }


def _gate_fields(
    rng: np.random.Generator,
    plan: _Plan,
    lanes: _Lanes,
    *,
    s_code: StrArray,
    closed_gates: int | None,
    rot_rad: float,
) -> dict[str, Any]:
    """Gates' codes, names (from their bearing), kinds and opening state."""
    sites, g_site = plan.sites, lanes.gate_site
    n_g = len(g_site)
    # Main gates take cars (new estates keep cars apart); side gates on footpaths are for walkers.
    kind = np.where(
        lanes.gate_main,
        np.where((sites.kind[g_site] == NEW) & (rng.random(n_g) < 0.6), "vehicle", "mixed"),
        np.where(lanes.gate_on_service | (rng.random(n_g) < 0.4), "mixed", "pedestrian"),
    ).astype(np.str_)
    closable = ~lanes.gate_main & (np.bincount(g_site, minlength=len(sites.cell))[g_site] >= 2)
    is_open = np.ones(n_g, dtype=np.bool_)
    if closed_gates is None:
        is_open[closable & (rng.random(n_g) < 0.08)] = False
    else:
        cand = np.flatnonzero(closable)
        is_open[rng.choice(cand, size=min(closed_gates, len(cand)), replace=False)] = False
    off = lanes.gate_xy - np.column_stack((sites.cx, sites.cy))[g_site]
    sector = np.round((np.arctan2(off[:, 1], off[:, 0]) + rot_rad) / (np.pi / 4)).astype(np.int64)
    sector %= 8
    nth = _rank_within(g_site * 8 + sector, np.arange(n_g, dtype=np.float64))
    side = np.asarray(_DIRECTIONS, dtype=np.str_)[sector]
    name = np.strings.add(np.strings.add(side, np.asarray(_ORDINALS)[np.minimum(nth, 9)]), "门")
    number = (_rank_within(g_site, np.arange(n_g, dtype=np.float64)) + 1).astype(np.str_)
    return {
        "code": np.strings.add(np.strings.add(s_code[g_site], "-M"), number),
        "community": np.asarray([c.code for c in plan.communities])[plan.site_comm[g_site]],
        "name": name,
        "compound": s_code[g_site],
        "is_open": is_open,
        "kind": kind,
    }


def _ways(
    rng: np.random.Generator, plan: _Plan, lanes: _Lanes, *, gate_kind: StrArray, prefix: str
) -> tuple[GeomArray, dict[str, Any]]:
    """All walkable lines: streets, lanes, door paths and gate connectors (plan metres)."""
    mesh, sites = plan.mesh, plan.sites
    # Connectors: from each gate out to the street round its block.
    ins_ridge, ins_t, street_xy = _street_points(
        mesh, sites.cell[lanes.gate_site], lanes.gate_xy, sites.poly[lanes.gate_site]
    )
    connectors = _geoms(shapely.linestrings(np.stack((lanes.gate_xy, street_xy), axis=1)))
    used = np.zeros(len(mesh.seeds), dtype=np.bool_)
    for c in plan.communities:
        used[c.cells] = True
    ridges = np.flatnonzero(used[mesh.ridge_pts[:, 0]] | used[mesh.ridge_pts[:, 1]])
    streets = _streets(
        rng, mesh, plan.roads, ridges=ridges, ins_ridge=ins_ridge, ins_t=ins_t, ins_xy=street_xy
    )
    lines = np.concatenate((streets.lines, lanes.lines, connectors))
    walkers = np.where(gate_kind == "pedestrian", "footway", "service")
    highway = np.concatenate((streets.highway, lanes.highway, walkers)).astype(np.str_)
    name = np.concatenate((streets.name, np.full(len(lines) - len(streets.lines), None)))
    code = _numbered(f"{prefix}W", np.arange(1, len(lines) + 1, dtype=np.int64), 6)
    return lines, {"code": code.astype(object), "highway": highway.astype(object), "name": name}


def _site_years(rng: np.random.Generator, plan: _Plan) -> IntArray:
    """Return build years: walk-ups 1985-2000, village houses 1980-2005, new estates 2008-2020.

    New estates' years spread evenly within each community, so both new and mature appear.
    """
    sites, s_comm = plan.sites, plan.site_comm
    n = len(sites.cell)
    is_new = (sites.kind == NEW).astype(np.int64)
    nth = _rank_within(s_comm * 2 + is_new, rng.random(n))
    n_new = np.bincount(s_comm, weights=is_new, minlength=len(plan.communities))[s_comm]
    spread = np.minimum(2008 + np.floor((nth + rng.random(n)) / np.maximum(n_new, 1) * 13), 2020)
    year = np.select(
        [sites.kind == NEW, sites.kind == OLD],
        [spread.astype(np.int64), rng.integers(1985, 2001, n)],
        rng.integers(1980, 2006, n),
    ).astype(np.int64)
    return np.asarray(year, dtype=np.int64)


def _building_figures(
    rng: np.random.Generator, plan: _Plan, year: IntArray
) -> tuple[dict[str, Any], list[dict[str, int]]]:
    """Households, residents, occupancy, party members and leads of every building.

    Households follow floor area (flats of 95, 80 and 60 m2 in new estates, walk-ups and
    village houses); a community with published ``targets`` matches them exactly.
    """
    sites, blds = plan.sites, plan.blds
    n_b = len(blds.site)
    kind = sites.kind[blds.site]
    b_comm = plan.site_comm[blds.site]
    hh_w = blds.floors * (blds.u1 - blds.u0) * (blds.v1 - blds.v0) / np.asarray((95, 80, 60))[kind]
    # Recent estates are often half empty; walk-ups and villages are full (DOMAIN: occupancy).
    n = len(sites.cell)
    base = np.select(
        [(sites.kind == NEW) & (year >= 2018), sites.kind == NEW, sites.kind == OLD],
        [rng.uniform(0.3, 0.6, n), rng.uniform(0.78, 0.97, n), rng.uniform(0.85, 0.98, n)],
        rng.uniform(0.88, 1.0, n),
    )
    occ = np.round(np.clip(base[blds.site] + rng.normal(0, 0.04, n_b), 0.3, 1.0), 2)
    res_w_per_hh = occ * np.asarray((3.1, 2.6, 3.8))[kind]
    float_rate = np.asarray((0.12, 0.2, 0.55))[kind]
    # Old estates house more (older) party members, villages fewer (DOMAIN: 51 of 226 over 60).
    party_w = np.asarray((1.0, 1.6, 0.7))[kind] * rng.gamma(1.5, 1.0, n_b)
    out = {k: np.zeros(n_b, dtype=np.int64) for k in ("households", "residents", "floating")}
    out["party"] = np.zeros(n_b, dtype=np.int64)
    totals: list[dict[str, int]] = []
    for i, c in enumerate(plan.communities):
        m = np.flatnonzero(b_comm == i)
        t = c.targets
        hh = _apportion(t["households"], hh_w[m]) if t else np.round(hh_w[m]).astype(np.int64)
        hh = np.maximum(hh, 1)
        res = (
            _apportion(t["residents"], hh * res_w_per_hh[m])
            if t
            else np.round(hh * res_w_per_hh[m])
        )
        res = np.maximum(res, 1).astype(np.int64)
        fl_w = res * float_rate[m]
        fl = _apportion(t["floating_residents"] if t else round(float(fl_w.sum())), fl_w, cap=res)
        p_total = t["party_members"] if t else round(0.0056 * float(res.sum()))
        pw = res * party_w[m]
        party = rng.multinomial(p_total, pw / pw.sum()).astype(np.int64)
        out["households"][m], out["residents"][m], out["floating"][m] = hh, res, fl
        out["party"][m] = party
        tot_res, tot_fl = int(res.sum()), int(fl.sum())
        totals.append(
            {
                "households": int(hh.sum()),
                "residents": tot_res,
                "registered_residents": t["registered_residents"] if t else tot_res - tot_fl,
                "floating_residents": t["floating_residents"] if t else tot_fl,
                "staff": t["staff"] if t else max(8, round(tot_res / 1750)),
                "cadres": t["cadres"] if t else int(rng.integers(7, 10)),
                "party_members": int(party.sum()),
            }
        )
    # Foshan rule (DOMAIN): big, well-occupied buildings get their own lead; others share or
    # are still looking, so about 60% have a named lead.
    big = (out["households"] >= 50) & (occ >= 0.5)
    has_lead = rng.random(n_b) < np.where(big, 0.85, 0.55)
    figures = {
        "households": out["households"],
        "residents": out["residents"],
        "floating_residents": out["floating"],
        "occupancy": occ,
        "floors": blds.floors,
        "party_members": out["party"],
        "mobile_party_members": rng.binomial(out["party"], 0.2).astype(np.int64),
        "lead_name": _or_none(has_lead, _person_names(rng, n_b)),
        "lead_phone": _or_none(has_lead, _phones(rng, n_b)),
    }
    return figures, totals


def _compound_fields(
    rng: np.random.Generator, plan: _Plan, figures: dict[str, Any], year: IntArray
) -> dict[str, Any]:
    """Compounds' sums of their buildings, age, maturity and governance."""
    sites, b_site = plan.sites, plan.blds.site
    n = len(sites.cell)
    party = np.bincount(b_site, weights=figures["party_members"], minlength=n).astype(np.int64)
    # Qiaohua rule (DOMAIN): three or more party members may form their own group.
    branch = np.where(party >= 3, rng.random(n) < 0.9, rng.random(n) < 0.1)
    managed = (sites.kind == NEW) | ((sites.kind == OLD) & (rng.random(n) < 0.55))
    return {
        "households": np.bincount(b_site, weights=figures["households"], minlength=n).astype(
            np.int64
        ),
        "residents": np.bincount(b_site, weights=figures["residents"], minlength=n).astype(
            np.int64
        ),
        "build_year": year,
        "maturity": np.select([sites.kind != NEW, year >= 2016], ["old", "new"], "mature"),
        "has_party_branch": branch,
        "has_owners_committee": rng.random(n) < np.asarray((0.6, 0.25, 0.0))[sites.kind],
        "property_company": _or_none(managed, _pick(rng, _PROPERTY_COMPANIES, n)),
        "party": party,
    }


def _spread(rng: np.random.Generator, xy: FloatArray, centre: FloatArray, k: int) -> IntArray:
    """Return ``k`` of the points, spread round ``centre`` (evenly by bearing)."""
    if k <= 0 or len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(xy) <= k:
        return np.arange(len(xy), dtype=np.int64)
    order = np.argsort(np.arctan2(xy[:, 1] - centre[1], xy[:, 0] - centre[0]))
    start = int(rng.integers(0, len(xy)))
    return order[(start + np.floor(np.arange(k) * len(xy) / k).astype(np.int64)) % len(xy)]


def _service_hosts(
    rng: np.random.Generator, plan: _Plan, ci: int, *, centre: FloatArray, party: IntArray
) -> list[tuple[str, int]]:
    """Compounds hosting the "1 + N" service points of community ``ci``: (kind, site).

    One party-mass centre near the middle, five sub-centres in new estates, four activity
    rooms in old estates and a few red houses already running (DOMAIN: 15-minute circle).
    """
    sites, c = plan.sites, plan.communities[ci]
    mine = np.flatnonzero(plan.site_comm == ci)
    xy = np.column_stack((sites.cx, sites.cy))[mine]
    kind = sites.kind[mine]
    estates = np.flatnonzero(kind != VILLAGE)
    pool = estates if len(estates) else np.arange(len(mine))
    first = int(pool[np.argmin(np.linalg.norm(xy[pool] - centre, axis=1))])
    picks = [("centre", first)]
    used = {first}
    for sp_kind, want, k in (("sub_centre", 5, NEW), ("activity_room", 4, OLD)):
        same = [int(j) for j in np.flatnonzero(kind == k) if int(j) not in used]
        other = [j for j in range(len(mine)) if j not in used and j not in same]
        cand = np.asarray(same + other[: max(want - len(same), 0)], dtype=np.int64)
        for j in cand[_spread(rng, xy[cand], centre, want)]:
            picks.append((sp_kind, int(j)))
            used.add(int(j))
    rest = np.array([j for j in range(len(mine)) if j not in used], dtype=np.int64)
    if len(rest):
        score = party[mine[rest]] + rng.random(len(rest))
        picks += [("red_house", int(j)) for j in rest[np.argsort(-score)][: c.red_houses]]
    return [(k, int(mine[j])) for k, j in picks]


def _service_points(
    rng: np.random.Generator,
    plan: _Plan,
    ci: int,
    *,
    names: dict[str, StrArray],
    households: IntArray,
    party: IntArray,
    lanes: _Lanes,
    centre: FloatArray,
) -> list[dict[str, Any]]:
    """Return the service points of community ``ci``, each at the door of a big building."""
    c = plan.communities[ci]
    b_order = np.argsort(plan.blds.site, kind="stable")
    b_ptr = _ptr(plan.blds.site, len(plan.sites.cell))
    rows: list[dict[str, Any]] = []
    taken: set[int] = set()
    for n, (sp_kind, site) in enumerate(_service_hosts(rng, plan, ci, centre=centre, party=party)):
        bs = b_order[b_ptr[site] : b_ptr[site + 1]]
        bs = bs[np.argsort(-households[bs], kind="stable")]
        b = next((int(x) for x in bs if int(x) not in taken), int(bs[0]))
        taken.add(b)
        host = c.name if sp_kind == "centre" else str(names["s_name"][site])
        lo, hi = _SERVICE_AREA_M2[sp_kind]
        rows.append(
            {
                "code": f"{c.code}-SP{n + 1:02d}",
                "community": c.code,
                "name": host + _SERVICE_LABELS[sp_kind],
                "kind": sp_kind,
                "is_open": True,
                "floor_area_m2": float(np.round(rng.uniform(lo, hi))),
                "address": str(names["s_name"][site]) + str(names["b_name"][b]),
                "geometry": shapely.Point(lanes.entrance_xy[b]),
            }
        )
    return rows


def _venues(
    rng: np.random.Generator, plan: _Plan, ci: int, *, names: dict[str, StrArray]
) -> list[dict[str, Any]]:
    """Rooms that could become red houses (DOMAIN: candidate venues), spread over compounds.

    Stilted ground floors and owners' centres come with new estates; most rooms lack some
    of the four legal checks.
    """
    sites, blds, c = plan.sites, plan.blds, plan.communities[ci]
    mine = np.flatnonzero(plan.site_comm == ci)
    if len(mine) == 0 or c.n_venues <= 0:
        return []
    w = np.asarray((3.0, 2.0, 1.0))[sites.kind[mine]]
    site = mine[rng.choice(len(mine), size=c.n_venues, p=w / w.sum())]
    r = rng.random(len(site))
    v_kind = np.where(
        sites.kind[site] == NEW,
        np.select([r < 0.3, r < 0.55, r < 0.85], list(VENUE_ORDER[1:]), VENUE_ORDER[0]),
        np.where((sites.kind[site] == OLD) & (r < 0.4), VENUE_ORDER[1], VENUE_ORDER[0]),
    ).astype(np.str_)
    new_estates = mine[sites.kind[mine] == NEW]
    if len(new_estates) and len(site) >= len(VENUE_ORDER):
        # Every kind of room is on the list at least once: new estates have all four.
        site[: len(VENUE_ORDER)] = rng.choice(new_estates, size=len(VENUE_ORDER))
        v_kind[: len(VENUE_ORDER)] = VENUE_ORDER
    order = np.argsort(site, kind="stable")
    site, v_kind = site[order], v_kind[order]
    b_ptr = _ptr(blds.site, len(sites.cell))
    b = b_ptr[site] + rng.integers(0, np.maximum(b_ptr[site + 1] - b_ptr[site], 1))
    lo = np.select([v_kind == k for k in VENUE_ORDER[1:]], [20.0, 80.0, 100.0], 40.0)
    area = np.round(rng.uniform(lo, np.where(v_kind == VENUE_ORDER[1], 120.0, 300.0)))
    stilted = v_kind == "stilted_floor"
    ground = stilted | (rng.random(len(site)) < 0.7)
    vent = np.where(
        stilted,
        np.where(rng.random(len(site)) < 0.7, "good", "fair"),
        np.asarray(["good", "fair", "poor"])[rng.choice(3, size=len(site), p=[0.4, 0.35, 0.25])],
    )
    checks = (rng.random(len(site)) < 0.2)[:, None] | (rng.random((len(site), 4)) < 0.4)
    width = blds.u1[b] - blds.u0[b]
    u = 0.5 * (blds.u0[b] + blds.u1[b]) + rng.uniform(-0.3, 0.3, len(b)) * width
    front = np.minimum(1.5, 0.5 * sites.lane_off_m[site])
    xy = _to_world(sites, site, u, blds.v0[b] - front)
    label = [
        str(names["s_name"][s]) + str(names["b_name"][x]) for s, x in zip(site, b, strict=True)
    ]
    return [
        {
            "code": f"{c.code}-CV{n + 1:02d}",
            "community": c.code,
            "name": label[n] + _VENUE_LABELS[str(v_kind[n])],
            "kind": str(v_kind[n]),
            "floor_area_m2": float(area[n]),
            "ground_floor": bool(ground[n]),
            "ventilation": str(vent[n]),
            "lawyer_consulted": bool(checks[n, 0]),
            "housing_filed": bool(checks[n, 1]),
            "publicly_noticed": bool(checks[n, 2]),
            "property_recorded": bool(checks[n, 3]),
            "geometry": shapely.Point(xy[n]),
        }
        for n in range(len(site))
    ]


def _grids(
    rng: np.random.Generator, plan: _Plan, ci: int, *, site_households: IntArray
) -> list[dict[str, Any]]:
    """Grids of community ``ci``: neighbouring blocks grouped, balanced on households."""
    mesh, c = plan.mesh, plan.communities[ci]
    cell_hh = np.zeros(len(mesh.seeds))
    np.add.at(cell_hh, plan.sites.cell, site_households)
    label = _partition(rng, mesh, c.cells, cell_hh[c.cells], c.n_grids)
    k = int(label.max()) + 1
    officers, phones = _person_names(rng, k), _phones(rng, k)
    return [
        {
            "code": f"{c.code}-G{g + 1:02d}",
            "community": c.code,
            "name": f"{c.name}第{g + 1}网格",
            "officer_name": str(officers[g]),
            "officer_phone": str(phones[g]),
            "households": int(cell_hh[c.cells[label == g]].sum()),
            "geometry": shapely.coverage_union_all(mesh.cells[c.cells[label == g]]),
        }
        for g in range(k)
    ]


def _barriers(
    plan: _Plan, lanes: _Lanes, rng: np.random.Generator
) -> tuple[GeomArray, IntArray, StrArray]:
    """Each compound's wall as lines, open 5 m wide at its gates: (lines, site, kind)."""
    sites = plan.sites
    holes = shapely.buffer(shapely.multipoints(lanes.gate_xy, indices=lanes.gate_site), 2.5)
    walls = shapely.difference(shapely.get_exterior_ring(sites.poly), holes)
    parts, site = shapely.get_parts(walls, return_index=True)
    fence = (sites.kind[site] == NEW) & (rng.random(len(site)) < 0.5)
    return _geoms(parts), site.astype(np.int64), np.where(fence, "fence", "wall").astype(np.str_)


def _build(
    rng: np.random.Generator,
    plan: _Plan,
    *,
    way_prefix: str,
    closed_gates: int | None,
    center_lonlat: tuple[float, float],
    rot_rad: float,
    offset_m: FloatArray | None = None,
) -> SynthCity:
    """Everything after the layout: lanes, gates, ways, figures, grids, service points."""
    sites, blds, s_comm = plan.sites, plan.blds, plan.site_comm
    names = _codes(plan, rng)
    comm_code = names["comm_code"]
    lanes = _lanes(rng, sites, blds)
    gate = _gate_fields(
        rng, plan, lanes, s_code=names["s_code"], closed_gates=closed_gates, rot_rad=rot_rad
    )
    way_lines, way_cols = _ways(rng, plan, lanes, gate_kind=gate["kind"], prefix=way_prefix)
    year = _site_years(rng, plan)
    figures, totals = _building_figures(rng, plan, year)
    compound = _compound_fields(rng, plan, figures, year)
    comm_geoms = [shapely.coverage_union_all(plan.mesh.cells[c.cells]) for c in plan.communities]
    sp_rows: list[dict[str, Any]] = []
    cv_rows: list[dict[str, Any]] = []
    grid_rows: list[dict[str, Any]] = []
    for i, geom in enumerate(comm_geoms):
        centre = shapely.get_coordinates(shapely.centroid(geom))[0]
        sp_rows += _service_points(
            rng,
            plan,
            i,
            names=names,
            households=figures["households"],
            party=compound["party"],
            lanes=lanes,
            centre=centre,
        )
        cv_rows += _venues(rng, plan, i, names=names)
        grid_rows += _grids(rng, plan, i, site_households=compound["households"])
    wall_lines, wall_site, wall_kind = _barriers(plan, lanes, rng)

    to_ll = _lonlat(center_lonlat, rot_rad, np.zeros(2) if offset_m is None else offset_m)
    corners = [(blds.u0, blds.v0), (blds.u1, blds.v0), (blds.u1, blds.v1), (blds.u0, blds.v1)]
    ring = np.stack([_to_world(sites, blds.site, u, v) for u, v in [*corners, corners[0]]], axis=1)
    b_comm = s_comm[blds.site]
    address = np.strings.add(
        np.strings.add(names["comm_name"][b_comm], names["s_name"][blds.site]), names["b_name"]
    )
    del compound["party"]
    layers = {
        "communities": _frame(
            "communities",
            {
                "code": comm_code,
                "name": names["comm_name"],
                "street": [XIQIAO_STREET] * len(comm_code),
                **{k: [t[k] for t in totals] for k in totals[0]},
            },
            to_ll(comm_geoms),
        ),
        "grids": _frame(
            "grids", _columns(grid_rows), to_ll([r.pop("geometry") for r in grid_rows])
        ),
        "compounds": _frame(
            "compounds",
            {"code": names["s_code"], "community": comm_code[s_comm], "name": names["s_name"]}
            | compound,
            to_ll(sites.poly),
        ),
        "gates": _frame("gates", gate, to_ll(shapely.points(lanes.gate_xy))),
        "buildings": _frame(
            "buildings",
            {"code": names["b_code"], "community": comm_code[b_comm], "name": names["b_name"]}
            | figures
            | {"address": address},
            to_ll(shapely.polygons(ring)),
        ),
        "service_points": _frame(
            "service_points", _columns(sp_rows), to_ll([r.pop("geometry") for r in sp_rows])
        ),
        "candidate_venues": _frame(
            "candidate_venues", _columns(cv_rows), to_ll([r.pop("geometry") for r in cv_rows])
        ),
        "barriers": _frame(
            "barriers",
            {
                "code": np.strings.add(
                    np.strings.add(names["s_code"][wall_site], "-W"),
                    (
                        _rank_within(wall_site, np.arange(len(wall_site), dtype=np.float64)) + 1
                    ).astype(np.str_),
                ),
                "community": comm_code[s_comm[wall_site]],
                "kind": wall_kind,
            },
            to_ll(wall_lines),
        ),
    }
    ways = gpd.GeoDataFrame(way_cols, geometry=to_ll(way_lines), crs="EPSG:4326")
    return SynthCity(layers=layers, ways=ways)


# --------------------------------------------------------------------------- generators


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
