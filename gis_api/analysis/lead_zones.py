"""Building-lead zones (楼长责任区): the Foshan rule as max-p regionalization on walking links.

docs/domain.md, "楼长：佛山规则": a building with 50 or more households
*and* a high occupancy rate gets its own lead; smaller or emptier buildings join neighbouring
buildings under one shared lead, "nearby, contiguous, convenient" (就近、连片、方便); a single
isolated building gets a rotating lead (轮值楼长). "Building party groups (楼宇党小组),
Qiaohua rule": 3 or more party members may form a party group. ``docs/lead_zones.md`` states
the rule made precise for officers and planners; this module is its implementation.

The core, :func:`group_buildings`, works on arrays and a sparse neighbour graph of walking
metres; :func:`lead_zones` is the thin GeoDataFrame adapter that validates, delegates and
draws the zones. All distances are walking metres in a projected CRS.

The parts live beside it, and their public names are importable from here:

- :mod:`gis_api.analysis.maxp`: the max-p search itself, domain-free (units, weights, a
  threshold, a contiguity graph);
- :mod:`gis_api.analysis.lead_zone_plans`: the result types, zone ids, leads, reasons and
  flags, and :func:`diff_zones`;
- :mod:`gis_api.analysis.neighbours`: the neighbour graphs (:func:`neighbour_graph_walking`,
  :func:`neighbour_graph_euclidean`).

Formulation
-----------
Let ``h_i`` be households, ``o_i`` occupancy, ``c_i`` compound and ``d_ij`` the walking metres
between buildings ``i`` and ``j``. Building ``i`` is *own* when ``h_i >= H`` and ``o_i >= O``
(``H = min_households``, ``O = min_occupancy``). The remaining (*small*) buildings that are
not locked are linked by the *allowed* edges ``{i, j}`` with ``d_ij <= max_walk_m`` and, unless
``cross_compounds``, ``c_i == c_j``. On each connected component ``C`` of that graph, with zone
weight ``w_i = h_i * o_i`` (occupied households; ``h_i`` when ``count_occupied=False``), find
a partition of ``C`` into zones ``Z_1..Z_p`` that

1. are connected in the allowed graph (contiguity: 连片),
2. each have ``sum(w_i, i in Z_k) >= H`` (one lead per about ``H`` households),
3. maximize ``p`` (more zones: one lead per ~50 households, not per 300), then
4. minimize ``sum_k diam(Z_k)``, with ``diam(Z) = max_{i,j in Z} dist(i, j)`` the longest
   shortest walk along allowed links between two members (compact: 就近、方便).

This is the max-p-regions problem (Duque, Anselin and Rey 2012), NP-hard in general, solved
by :func:`gis_api.analysis.maxp.max_p_regions` with the small buildings as active units,
compounds as labels that may not mix and walks followed up to 4 x ``max_walk_m``: exact on
components of up to 10 buildings, spanning-tree cuts and local search above (its module
docstring says how). A component with ``sum(w) < H`` cannot hold one zone: see :data:`RULES`
``rotating_*``.

The bound reported (:class:`SearchStats`) is ``sum_C floor(W_C / H)`` and a bin-covering
bound that also counts how many buildings a zone needs; ``bench/README.md`` compares the
result with both and with PySAL spopt's ``MaxPHeuristic``. With ``previous`` zones the search
starts from them (:func:`group_buildings`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix, issparse

import geopandas as gpd
import shapely

from gis_api.analysis import checks
from gis_api.analysis.errors import (
    InvalidValueError,
    LeadZoneInputError,
    LockConflictError,
    MissingColumnError,
    NeighbourGraphError,
    OptionError,
)
from gis_api.analysis.graphs import DENSE_MAX
from gis_api.analysis.lead_zone_plans import (
    JACCARD_KEEP_ID,
    Grouping,
    Kind,
    LeadZonePlan,
    SearchStats,
    Zone,
    ZoneChange,
    ZoneDiff,
    assign_ids,
    diff_zones,
    grouping_fields,
    locked_zone,
)
from gis_api.analysis.maxp import cover_bound, max_p_regions
from gis_api.analysis.neighbours import (
    NeighbourGraph,
    checked_geometries,
    neighbour_graph_euclidean,
    neighbour_graph_walking,
)
from layers import domain

__all__ = [
    "DEFAULT_DETOUR_FACTOR",
    "DEFAULT_MAX_WALK_M",
    "DEFAULT_MIN_HOUSEHOLDS",
    "DEFAULT_MIN_OCCUPANCY",
    "JACCARD_KEEP_ID",
    "KINDS",
    "PARTY_GROUP_MIN",
    "RULES",
    "Grouping",
    "LeadZonePlan",
    "NeighbourGraph",
    "SearchStats",
    "ZoneChange",
    "ZoneDiff",
    "diff_zones",
    "group_buildings",
    "lead_zones",
    "neighbour_graph_euclidean",
    "neighbour_graph_walking",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Objects = NDArray[np.object_]

#: Foshan rule: a building with this many households (and high occupancy) has its own lead;
#: a shared zone must reach it together.
DEFAULT_MIN_HOUSEHOLDS = domain.LEAD_MIN_HOUSEHOLDS
#: "High occupancy": the source gives no number; 50 % is the default (docs/domain.md).
DEFAULT_MIN_OCCUPANCY = domain.LEAD_MIN_OCCUPANCY
#: Two buildings are neighbours within this walk (about two minutes at 70 m/min).
DEFAULT_MAX_WALK_M = domain.LEAD_MAX_WALK_M
#: Walking metres over straight metres when there is no network.
DEFAULT_DETOUR_FACTOR = domain.DETOUR_FACTOR
#: Qiaohua rule: a building or zone with this many party members may form a party group.
PARTY_GROUP_MIN = domain.PARTY_GROUP_MIN
#: Zone kinds in display order: own lead, shared lead, rotating lead.
KINDS: tuple[Kind, ...] = ("own", "shared", "rotating")
#: Rule codes (stable English) and what each means (zh-CN); reasons fill in the figures.
RULES: dict[str, str] = {
    "own": "户数与入住率均达标，单独设楼长",
    "shared_small": "户数不足，与相邻楼栋合设楼长（就近、连片、方便）",
    "shared_low_occupancy": "入住率偏低，与相邻楼栋合设楼长（就近、连片、方便）",
    "shared_alone": "入住率偏低，不单独设楼长；本楼在住户数已达标，单独构成一个合设责任区",
    "rotating_isolated": "单体楼：步行范围内没有可合并的楼栋，设轮值楼长",
    "rotating_below_threshold": "与相邻楼栋连片，但合计户数不足，无法组成合设责任区，共设轮值楼长",
    "locked": "责任区已经确认并锁定，本次保持不变",
}

# The search follows walks up to this many times max_walk_m (zones are a few links across).
_DIST_LIMIT_FACTOR = 4.0
# Components up to this many buildings get a dense distance matrix (a test lowers it to
# check that the sparse one gives the same zones).
_DENSE_MAX = DENSE_MAX
# The bin-covering bound, under the name the tests know it by.
_cover_bound = cover_bound


# --- the core ---------------------------------------------------------------------------------


def group_buildings(
    households: ArrayLike,
    occupancy: ArrayLike,
    party: ArrayLike,
    compound: ArrayLike,
    neighbours: Any,
    *,
    min_households: float = DEFAULT_MIN_HOUSEHOLDS,
    min_occupancy: float = DEFAULT_MIN_OCCUPANCY,
    max_walk_m: float = DEFAULT_MAX_WALK_M,
    cross_compounds: bool = False,
    count_occupied: bool = True,
    locked: Mapping[str, ArrayLike] | None = None,
    previous: Mapping[str, ArrayLike] | None = None,
    seed: int = 0,
    time_budget_s: float = 60.0,
    id_prefix: str = "LZ",
) -> Grouping:
    """Group buildings into lead zones by the Foshan rule (docs/lead_zones.md), as max-p regions.

    Own lead: ``h_i >= min_households`` and ``o_i >= min_occupancy``. The other buildings
    that are not locked form shared zones: connected along allowed links (walk
    ``<= max_walk_m``; same compound unless ``cross_compounds``), each with zone weight
    ``sum(w_i) >= min_households`` where ``w_i = h_i * o_i`` (``h_i`` if not
    ``count_occupied``), as many zones as possible, then the smallest summed diameters (see
    the module docstring). A building with no allowed link is ``rotating_isolated``; a
    connected group whose total weight is below the threshold becomes one zone under a
    rotating lead, ``rotating_below_threshold`` (``docs/lead_zones.md`` says why).

    With ``previous`` the run starts from the previous zones: each one still connected and
    above the threshold is kept as it is; only the rest is grouped again, and a fresh search
    replaces this only where it finds more zones. Ids then follow the member overlap.

    Parameters
    ----------
    households
        ``(n,)`` households per building (integers >= 0).
    occupancy
        ``(n,)`` occupancy rate per building, in ``[0, 1]``.
    party
        ``(n,)`` party members per building (formal and mobile), integers >= 0.
    compound
        ``(n,)`` integer compound index per building, -1 for none. Buildings outside every
        compound may group with each other, not with a compound's buildings.
    neighbours
        ``(n, n)`` scipy sparse matrix of walking metres between neighbouring buildings
        (stored entries are neighbours, explicit zeros included; see
        :func:`neighbour_graph_walking`, :func:`neighbour_graph_euclidean`). Read as
        undirected: the shorter of ``d_ij`` and ``d_ji`` counts.
    min_households
        Households for an own lead, and zone weight a shared zone must reach.
    min_occupancy
        Occupancy rate for an own lead ("high occupancy"), in ``[0, 1]``.
    max_walk_m
        Longest walk between two linked members, metres.
    cross_compounds
        Let a zone cross a compound's boundary (the planner allows it).
    count_occupied
        Zone weight is occupied households ``h * o`` (default) or households ``h``.
    locked
        ``{zone_id: building indices}`` confirmed by officers: kept exactly as they are.
    previous
        ``{zone_id: building indices}`` of the last run, for stable ids and members.
    seed
        Seed of the randomized spanning trees; the same inputs and seed give the same zones.
    time_budget_s
        Stop improving after this many seconds (a safety cap; normal runs end sooner and
        do not depend on it).
    id_prefix
        Prefix of new zone ids (``LZ0001``...).

    Returns
    -------
    Grouping

    Raises
    ------
    LeadZoneInputError
        If an array has the wrong length or a value out of range.
    NeighbourGraphError
        If ``neighbours`` is not an ``(n, n)`` sparse matrix of finite metres >= 0.
    LockConflictError
        If locked zones overlap, are empty or name indices out of range.
    OptionError
        If a setting is out of range.

    Examples
    --------
    Three small buildings in a row, 40 m apart, and one isolated building:

    >>> from scipy.sparse import csr_matrix
    >>> walk = csr_matrix(([40.0, 40.0], ([0, 1], [1, 2])), shape=(4, 4))
    >>> g = group_buildings([20, 20, 20, 30], [1, 1, 1, 1], [0, 1, 0, 0], [-1] * 4, walk)
    >>> g.zone_kind, [m.tolist() for m in g.members], g.lead.tolist()
    (('shared', 'rotating'), [[0, 1, 2], [3]], [1, 3])
    """
    t0 = time.perf_counter()
    h, occ, pm, comp = _check_arrays(households, occupancy, party, compound)
    n = len(h)
    _check_options(min_households, min_occupancy, max_walk_m, time_budget_s)
    threshold = float(min_households)
    weight = h * occ if count_occupied else h.astype(np.float64)
    own = (h >= min_households) & (occ >= min_occupancy)
    walk_links = _walk_links(neighbours, n, max_walk_m)
    locks = _check_locked(locked, n)
    prev = _check_previous(previous, n)
    locked_mask = np.zeros(n, dtype=np.bool_)
    for idx in locks.values():
        locked_mask[idx] = True

    found = max_p_regions(
        weight,
        threshold,
        walk_links,
        active=~own & ~locked_mask,
        labels=None if cross_compounds else comp,
        start=list(prev.values()),
        distance_limit=_DIST_LIMIT_FACTOR * max_walk_m,
        seed=seed,
        time_budget_s=max(0.0, t0 + time_budget_s - time.perf_counter()),
        dense_max=_DENSE_MAX,
    )
    dist = found.distances

    zones: list[Zone] = []
    for zid, idx in locks.items():
        zones.append(
            locked_zone(
                zid,
                idx=idx,
                own=own,
                weight=weight,
                threshold=threshold,
                comp=comp,
                G=dist.graph,
                cross_compounds=cross_compounds,
            )
        )
    for i in np.flatnonzero(own & ~locked_mask).tolist():
        zones.append(Zone(np.array([i], dtype=np.int64), "own", "own"))
    for part in found.regions:
        zones.append(Zone(part, "shared", ""))
    for part in found.unassigned:
        code = "rotating_isolated" if len(part) == 1 else "rotating_below_threshold"
        zones.append(Zone(part, "rotating", code))
    zones.sort(key=lambda z: int(z.members[0]))

    ids = assign_ids(zones, prev, id_prefix)
    grouping = grouping_fields(
        zones,
        ids,
        prev,
        h=h,
        occ=occ,
        pm=pm,
        weight=weight,
        own=own,
        dist=dist,
        threshold=threshold,
        min_occupancy=float(min_occupancy),
        max_walk_m=float(max_walk_m),
    )
    stats = SearchStats(
        shared_zones=len(found.regions),
        upper_bound=found.upper_bound,
        bin_bound=found.cover_bound,
        components=found.components,
        feasible_components=found.feasible_components,
        components_at_bound=found.components_at_bound,
        rotating_buildings=int(sum(len(p) for p in found.unassigned)),
        starts=found.starts,
        moves=found.moves,
        seconds=time.perf_counter() - t0,
        time_budget_reached=found.time_budget_reached,
    )
    return Grouping(
        **grouping,
        stats=stats,
        flags=("time_budget_reached",) if found.time_budget_reached else (),
        min_households=threshold,
        min_occupancy=float(min_occupancy),
        max_walk_m=float(max_walk_m),
        cross_compounds=bool(cross_compounds),
        count_occupied=bool(count_occupied),
    )


# --- input checks -----------------------------------------------------------------------------


def _check_arrays(
    households: ArrayLike, occupancy: ArrayLike, party: ArrayLike, compound: ArrayLike
) -> tuple[Ints, Floats, Ints, Ints]:
    """Validate and convert the per-building arrays."""
    arrays: dict[str, Floats] = {}
    for name, zh, values in (
        ("households", "户数", households),
        ("occupancy", "入住率", occupancy),
        ("party", "党员数", party),
        ("compound", "小区编号", compound),
    ):
        try:
            arr = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            msg = f"参数 {name}（{zh}）应为数值数组"
            raise LeadZoneInputError(msg, loc=(name,)) from exc
        bad = np.flatnonzero(~np.isfinite(arr))
        if len(bad):
            msg = f"参数 {name}（{zh}）第 {int(bad[0])} 个楼栋的值缺失或不是有限数值"
            raise LeadZoneInputError(msg, loc=(name, int(bad[0])))
        arrays[name] = arr
    n = len(arrays["households"])
    for name in ("occupancy", "party", "compound"):
        if len(arrays[name]) != n:
            msg = f"参数 {name} 有 {len(arrays[name])} 个值，与 households 的 {n} 个楼栋不一致"
            raise LeadZoneInputError(msg, loc=(name,))
    for name, zh, low in (("households", "户数", 0.0), ("party", "党员数", 0.0)):
        arr = arrays[name]
        bad = np.flatnonzero((arr < low) | (arr != np.round(arr)))
        if len(bad):
            i = int(bad[0])
            msg = f"参数 {name}（{zh}）应为非负整数，第 {i} 个楼栋为 {arr[i]:g}"
            raise LeadZoneInputError(msg, loc=(name, i))
    occ = arrays["occupancy"]
    bad = np.flatnonzero((occ < 0) | (occ > 1))
    if len(bad):
        i = int(bad[0])
        msg = f"参数 occupancy（入住率）应在 0 到 1 之间，第 {i} 个楼栋为 {occ[i]:g}"
        raise LeadZoneInputError(msg, loc=("occupancy", i))
    cmp = arrays["compound"]
    bad = np.flatnonzero((cmp < -1) | (cmp != np.round(cmp)))
    if len(bad):
        i = int(bad[0])
        msg = (
            f"参数 compound（小区编号）应为整数（-1 表示不属于任何小区），"
            f"第 {i} 个楼栋为 {cmp[i]:g}"
        )
        raise LeadZoneInputError(msg, loc=("compound", i))
    return (
        arrays["households"].astype(np.int64),
        occ,
        arrays["party"].astype(np.int64),
        cmp.astype(np.int64),
    )


def _check_options(
    min_households: float, min_occupancy: float, max_walk_m: float, time_budget_s: float
) -> None:
    """Refuse settings out of range."""
    checks = (
        ("min_households", "户数阈值", min_households, 0.0, math.inf, "大于 0 的有限数"),
        ("min_occupancy", "入住率阈值", min_occupancy, 0.0, 1.0, "0 到 1 之间的数"),
        (
            "max_walk_m",
            "相邻楼栋最大步行距离（米）",
            max_walk_m,
            0.0,
            math.inf,
            "大于 0 的有限米数",
        ),
        ("time_budget_s", "计算时间上限（秒）", time_budget_s, 0.0, math.inf, "大于 0 的秒数"),
    )
    for name, zh, value, low, high, expected in checks:
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        strict_low = name != "min_occupancy"
        ok = math.isfinite(v) and (v > low if strict_low else v >= low) and v <= high
        if not ok:
            msg = f"参数 {name}（{zh}）应为{expected}，实际为 {value!r}"
            raise OptionError(msg, loc=(name,))


def _walk_links(neighbours: Any, n: int, max_walk_m: float) -> Any:
    """Return the neighbour pairs within ``max_walk_m`` as COO, after checking the matrix."""
    if not issparse(neighbours):
        msg = (
            f"参数 neighbours 应为 scipy 稀疏矩阵（楼栋之间的步行米数），"
            f"实际为 {type(neighbours).__name__}"
        )
        raise NeighbourGraphError(msg, loc=("neighbours",))
    if neighbours.shape != (n, n):
        msg = f"参数 neighbours 的形状为 {neighbours.shape}，应为 ({n}, {n})，与楼栋顺序一一对应"
        raise NeighbourGraphError(msg, loc=("neighbours",))
    coo = coo_matrix(neighbours)
    d = np.asarray(coo.data, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(d) | (d < 0))
    if len(bad):
        k = int(bad[0])
        msg = (
            f"参数 neighbours 中楼栋 {int(coo.row[k])} 与 {int(coo.col[k])} 之间的步行距离为 "
            f"{d[k]:g}，应为有限的非负米数"
        )
        raise NeighbourGraphError(msg, loc=("neighbours", int(coo.row[k]), int(coo.col[k])))
    keep = d <= max_walk_m
    return coo_matrix((d[keep], (coo.row[keep], coo.col[keep])), shape=(n, n))


def _index_array(values: ArrayLike, n: int, what: str, zid: str) -> Ints:
    """Return the building indices of one locked or previous zone, checked against ``n``."""
    try:
        arr = np.asarray(values, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as exc:
        msg = f"{what} {zid} 的成员应为楼栋序号（整数）"
        raise LockConflictError(msg, loc=(what, zid)) from exc
    bad = arr[(arr < 0) | (arr >= n)]
    if len(bad):
        msg = f"{what} {zid} 含有不存在的楼栋序号 {int(bad[0])}（共 {n} 栋，序号 0 到 {n - 1}）"
        raise LockConflictError(msg, loc=(what, zid))
    return np.unique(arr)


def _check_locked(locked: Mapping[str, ArrayLike] | None, n: int) -> dict[str, Ints]:
    """Locked zones: non-empty, disjoint, in range."""
    out: dict[str, Ints] = {}
    owner: dict[int, str] = {}
    for zid, values in (locked or {}).items():
        name = str(zid)
        idx = _index_array(values, n, "locked", name)
        if len(idx) == 0:
            msg = f"锁定的责任区 {name} 没有任何楼栋"
            raise LockConflictError(msg, loc=("locked", name))
        for i in idx.tolist():
            if i in owner:
                msg = (
                    f"楼栋 {i} 同时属于锁定的责任区 {owner[i]} 和 {name}，一栋楼只能属于一个责任区"
                )
                raise LockConflictError(msg, loc=("locked", name))
            owner[i] = name
        out[name] = idx
    return out


def _check_previous(previous: Mapping[str, ArrayLike] | None, n: int) -> dict[str, Ints]:
    """Previous zones: in range; a building named twice stays with the first zone."""
    out: dict[str, Ints] = {}
    seen = np.zeros(n, dtype=np.bool_)
    for zid, values in (previous or {}).items():
        idx = _index_array(values, n, "previous", str(zid))
        idx = idx[~seen[idx]]
        seen[idx] = True
        if len(idx):
            out[str(zid)] = idx
    return out


# --- the GeoDataFrame adapter -----------------------------------------------------------------

_REQUIRED = {"building_id": "楼栋编号", "households": "户数", "occupancy": "入住率"}
_ZONE_PAD_M = 8.0
_CONCAVE_RATIO = 0.4


def lead_zones(
    buildings: gpd.GeoDataFrame,
    neighbours: NeighbourGraph | Any,
    *,
    min_households: float = DEFAULT_MIN_HOUSEHOLDS,
    min_occupancy: float = DEFAULT_MIN_OCCUPANCY,
    max_walk_m: float = DEFAULT_MAX_WALK_M,
    cross_compounds: bool = False,
    count_occupied: bool = True,
    locked: Mapping[str, Iterable[Hashable]] | None = None,
    previous: Mapping[str, Iterable[Hashable]] | pd.DataFrame | None = None,
    seed: int = 0,
    time_budget_s: float = 60.0,
    id_prefix: str = "LZ",
) -> LeadZonePlan:
    """Lead zones for buildings by the Foshan rule; see :func:`group_buildings`.

    Parameters
    ----------
    buildings
        One row per building in a projected CRS in metres: ``building_id`` (unique),
        ``households``, ``occupancy`` (0-1), ``party_members`` (missing counts 0; a
        ``mobile_party_members`` column is added when present: the Qiaohua rule counts
        formal and mobile members), ``compound`` (any code; missing = no compound; an
        absent column = no compounds) and a footprint or point geometry.
    neighbours
        A :class:`NeighbourGraph` or an ``(n, n)`` sparse matrix of walking metres aligned
        with the rows of ``buildings``.
    min_households, min_occupancy, max_walk_m, cross_compounds, count_occupied, seed,
    time_budget_s, id_prefix
        As in :func:`group_buildings`.
    locked
        ``{zone_id: building ids}`` confirmed by officers. Ids no longer present are dropped
        and the zone flagged ``locked_member_missing``.
    previous
        ``{zone_id: building ids}``, or a table with ``building_id`` and ``zone_id`` (a
        previous plan's ``buildings``).

    Returns
    -------
    LeadZonePlan

    Raises
    ------
    CrsError
        If ``buildings`` has no CRS or one not projected in metres.
    MissingColumnError, DuplicateIdError, InvalidValueError, GeometryError
        If a column is missing, an id repeats, a figure is missing or out of range, or a
        geometry is missing or empty.
    OptionError
        If ``neighbours`` was measured only up to less than ``max_walk_m``, or as in
        :func:`group_buildings`.
    NeighbourGraphError, LockConflictError
        From :func:`group_buildings`.
    """
    crs = checks.metric_crs({"buildings": buildings})
    ids, h, occ, pm, comp = _building_columns(buildings)
    geoms = checked_geometries(buildings, ids)
    if isinstance(neighbours, NeighbourGraph):
        walk, approximate = neighbours.walk_m, neighbours.approximate
        if neighbours.max_m < max_walk_m:
            msg = (
                f"邻接图只计算到 {neighbours.max_m:g} 米，小于 max_walk_m={max_walk_m:g} 米，"
                f"会漏掉相邻楼栋；请按不少于 {max_walk_m:g} 米重新计算邻接图"
            )
            raise OptionError(msg, loc=("max_walk_m",))
    else:
        walk, approximate = neighbours, False
    pos = {bid: i for i, bid in enumerate(ids.tolist())}
    lock_idx, lock_missing = _ids_to_index(locked, pos)
    prev_members = _previous_members(previous)
    prev_idx = {zid: [pos[b] for b in members if b in pos] for zid, members in prev_members.items()}
    grouping = group_buildings(
        h,
        occ,
        pm,
        comp,
        walk,
        min_households=min_households,
        min_occupancy=min_occupancy,
        max_walk_m=max_walk_m,
        cross_compounds=cross_compounds,
        count_occupied=count_occupied,
        locked={k: v for k, v in lock_idx.items() if v},
        previous={k: v for k, v in prev_idx.items() if v},
        seed=seed,
        time_budget_s=time_budget_s,
        id_prefix=id_prefix,
    )
    zone_ids = np.asarray(grouping.zone_ids, dtype=object)
    lead_mask = np.zeros(len(ids), dtype=np.bool_)
    lead_mask[grouping.lead] = True
    table = pd.DataFrame(
        {
            "building_id": ids,
            "zone_id": zone_ids[grouping.zone],
            "zone_kind": grouping.kind,
            "rule": grouping.rule,
            "reason_zh": grouping.reason_zh,
            "is_lead": lead_mask,
            "party_group_suggested": pm >= PARTY_GROUP_MIN,
        },
        index=buildings.index,
    )
    flags = [
        (*f, "locked_member_missing") if zid in lock_missing else f
        for zid, f in zip(grouping.zone_ids, grouping.zone_flags, strict=True)
    ]
    zones = gpd.GeoDataFrame(
        {
            "zone_id": list(grouping.zone_ids),
            "kind": list(grouping.zone_kind),
            "members": [ids[m].tolist() for m in grouping.members],
            "n_buildings": [len(m) for m in grouping.members],
            "households": grouping.households,
            "occupied_households": grouping.occupied_households,
            "party_members": grouping.party_members,
            "lead_building_id": ids[grouping.lead],
            "has_party_member": grouping.has_party_member,
            "party_group_suggested": grouping.party_group_suggested,
            "party_group_buildings": [ids[m].tolist() for m in grouping.party_group_buildings],
            "diameter_m": grouping.diameter_m,
            "locked": grouping.locked,
            "flags": [list(f) for f in flags],
        },
        geometry=_zone_polygons(geoms, grouping.members),
        crs=crs,
    )
    current = dict(zip(grouping.zone_ids, zones["members"], strict=True))
    return LeadZonePlan(
        buildings=table,
        zones=zones,
        diff=diff_zones(prev_members, current),
        grouping=grouping,
        approximate=bool(approximate),
        crs=crs,
    )


def _column(frame: pd.DataFrame, col: str, ids: Objects, *, default: float | None) -> Floats:
    """Return a numeric column; a missing value is ``default`` or an error naming it."""
    zh = {**_REQUIRED, "party_members": "党员数", "mobile_party_members": "流动党员数"}[col]
    values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
    raw_missing = frame[col].isna().to_numpy()
    bad = np.flatnonzero(np.isnan(values) & ~raw_missing)
    if len(bad):
        i = int(bad[0])
        msg = f"楼栋 {ids[i]} 的{zh}（{col}）不是数值：{frame[col].iloc[i]!r}"
        raise InvalidValueError(msg, loc=("buildings", i, col))
    if default is not None:
        return np.where(np.isnan(values), default, values)
    missing = np.flatnonzero(np.isnan(values))
    if len(missing):
        i = int(missing[0])
        msg = f"楼栋 {ids[i]} 缺少{zh}（{col}）；请先补录（共 {len(missing)} 栋缺少）"
        raise InvalidValueError(msg, loc=("buildings", i, col))
    return values


def _building_columns(buildings: gpd.GeoDataFrame) -> tuple[Objects, Ints, Floats, Ints, Ints]:
    """Ids, households, occupancy, party members and compound index, validated."""
    for col, zh in _REQUIRED.items():
        if col not in buildings.columns:
            msg = f"楼栋图层缺少 {col}（{zh}）列"
            raise MissingColumnError(msg, loc=("buildings", col))
    ids = checks.ids(buildings, "buildings", "building_id")
    h = _column(buildings, "households", ids, default=None)
    bad = np.flatnonzero((h < 0) | (h != np.round(h)))
    if len(bad):
        i = int(bad[0])
        msg = f"楼栋 {ids[i]} 的户数（households）应为非负整数，实际为 {h[i]:g}"
        raise InvalidValueError(msg, loc=("buildings", i, "households"))
    occ = _column(buildings, "occupancy", ids, default=None)
    bad = np.flatnonzero((occ < 0) | (occ > 1))
    if len(bad):
        i = int(bad[0])
        hint = "；若为百分数请除以 100" if 1 < occ[i] <= 100 else ""
        msg = (
            f"楼栋 {ids[i]} 的入住率（occupancy）应为 0 到 1 之间的小数（如 0.85），"
            f"实际为 {occ[i]:g}{hint}"
        )
        raise InvalidValueError(msg, loc=("buildings", i, "occupancy"))
    pm = np.zeros(len(ids))
    for col in ("party_members", "mobile_party_members"):
        if col in buildings.columns:
            v = _column(buildings, col, ids, default=0.0)
            bad = np.flatnonzero((v < 0) | (v != np.round(v)))
            if len(bad):
                i = int(bad[0])
                msg = f"楼栋 {ids[i]} 的{col}应为非负整数，实际为 {v[i]:g}"
                raise InvalidValueError(msg, loc=("buildings", i, col))
            pm += v
    if "compound" in buildings.columns:
        codes, _ = pd.factorize(buildings["compound"], use_na_sentinel=True)
        comp = np.asarray(codes, dtype=np.int64)
    else:
        comp = np.full(len(ids), -1, dtype=np.int64)
    return ids, h.astype(np.int64), occ, pm.astype(np.int64), comp


def _ids_to_index(
    zones: Mapping[str, Iterable[Hashable]] | None, pos: Mapping[Hashable, int]
) -> tuple[dict[str, list[int]], set[str]]:
    """Zone members as row positions; the ids of zones that named a building not present."""
    out: dict[str, list[int]] = {}
    missing: set[str] = set()
    for zid, members in (zones or {}).items():
        name = str(zid)
        got = []
        for b in members:
            if b in pos:
                got.append(pos[b])
            else:
                missing.add(name)
        out[name] = got
    return out, missing


def _previous_members(
    previous: Mapping[str, Iterable[Hashable]] | pd.DataFrame | None,
) -> dict[str, list[Hashable]]:
    if previous is None:
        return {}
    if isinstance(previous, pd.DataFrame):
        for col in ("building_id", "zone_id"):
            if col not in previous.columns:
                msg = f"参数 previous 缺少 {col} 列（应为上次方案的楼栋表）"
                raise MissingColumnError(msg, loc=("previous", col))
        rows = previous.dropna(subset=["zone_id"])
        grouped: dict[str, list[Hashable]] = {}
        for b, z in zip(rows["building_id"].tolist(), rows["zone_id"].tolist(), strict=True):
            grouped.setdefault(str(z), []).append(b)
        return grouped
    return {str(k): list(v) for k, v in previous.items()}


def _zone_polygons(geoms: Objects, members: Sequence[Ints]) -> Objects:
    """Footprints with the ground between them: concave hull, clipped to Voronoi cells."""
    pts = shapely.point_on_surface(geoms)
    xy = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
    uniq, inverse = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    cells: Objects | None = None
    if len(uniq) >= 2:
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        frame = shapely.box(x0, y0, x1, y1).buffer(10 * _ZONE_PAD_M)
        vor = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=frame, ordered=True)
        parts = np.asarray(shapely.get_parts(vor), dtype=object)
        if len(parts) == len(uniq):
            cells = parts[np.asarray(inverse).reshape(-1)]
    out = np.empty(len(members), dtype=object)
    for k, m in enumerate(members):
        body = geoms[m[0]] if len(m) == 1 else shapely.union_all(geoms[m])
        hull = body if len(m) == 1 else shapely.concave_hull(body, ratio=_CONCAVE_RATIO)
        area: Any = shapely.buffer(hull, _ZONE_PAD_M)
        if cells is not None:
            # Voronoi cells tile the plane edge to edge: a coverage union is exact and fast.
            cover = cells[m[0]] if len(m) == 1 else shapely.coverage_union_all(cells[m])
            area = shapely.intersection(area, cover)
        out[k] = shapely.make_valid(shapely.union(area, body))
    return out
