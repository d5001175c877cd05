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

This is the max-p-regions problem (Duque, Anselin and Rey 2012), NP-hard in general. A
component with ``sum(w) < H`` cannot hold one zone: see :data:`RULES` ``rotating_*``.

Algorithm
---------
Per component (compounds are small, so components are too):

- up to ``_EXACT_MAX`` (10) buildings: dynamic programming over subsets gives the exact
  optimum of 3 then 4 (``3^m`` steps);
- larger: on a *tree* max-p is solved exactly by one bottom-up pass (carry each subtree's
  unassigned weight to its parent, cut a zone as soon as the carry reaches ``H``, join what
  is left at the root to an adjacent zone), and every partition into connected zones is a
  cut of some spanning tree. So we cut several randomized spanning trees optimally and keep
  the best: near-minimum trees (compact zones) and nearest-neighbour walks (long paths whose
  cuts overshoot ``H`` least, so more zones);
- local search, every move keeping contiguity and thresholds: *recombination* merges two
  adjacent zones and re-splits the union along a sweep between two centres (members ordered
  by ``dist(c1, .) - dist(c2, .)``; every front/back split of every centre pair is scored
  at once with running maxima) when that shortens the summed diameters; *regrouping* merges
  a zone with its heaviest neighbours and re-splits them into one zone more when their weight
  allows it; while below the bound, the whole component is split anew by *recursive
  bisection* (each half must hold its share of zones; all subsets of small halves, sweeps of
  large ones, with backtracking).

The bound reported (:class:`SearchStats`) is ``sum_C floor(W_C / H)`` and a bin-covering
bound that also counts how many buildings a zone needs; ``bench/README.md`` compares the
result with both and with PySAL spopt's ``MaxPHeuristic``. With ``previous`` zones the search
starts from them (:func:`group_buildings`).
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix, csr_matrix, issparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

import geopandas as gpd
import shapely

from gis_api.analysis import checks
from gis_api.analysis.errors import (
    GeometryError,
    InvalidValueError,
    LeadZoneInputError,
    LockConflictError,
    MissingColumnError,
    NeighbourGraphError,
    OptionError,
)
from gis_api.analysis.walknet import (
    WalkGraph,
    distances_within,
    snap_points,
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
Bools = NDArray[np.bool_]
Objects = NDArray[np.object_]
Kind = Literal["own", "shared", "rotating"]

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
#: A new zone keeps a previous zone's id when their member sets overlap this much (Jaccard).
JACCARD_KEEP_ID = 0.5
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

# Searches keep walking distances up to this many times max_walk_m (zones are a few links
# across); a pair farther apart counts as _FAR_FACTOR times that limit.
_DIST_LIMIT_FACTOR = 4.0
_FAR_FACTOR = 2.0
# Components up to this size get a dense distance matrix; larger ones a sparse one.
_DENSE_MAX = 2500
# Weight comparisons allow this much round-off (occupied households are products).
_EPS = 1e-9
# Multi-start trees: (kind, noise added to link lengths). "prim" trees are near-minimum
# spanning trees (compact zones); "walk" trees follow nearest-neighbour walks, long paths
# whose cuts overshoot the threshold least (more zones).
_STARTS: tuple[tuple[str, float], ...] = (
    ("prim", 0.0),
    ("walk", 0.0),
    ("walk", 0.5),
    ("prim", 0.5),
    ("walk", 1.0),
    ("prim", 1.0),
    ("walk", 2.0),
    ("walk", 4.0),
)
# Construction stops after this many starts once it reaches the bound.
_EARLY_STOP = 3
# Spanning trees tried per regrouping move.
_GROUP_TRIES = 4
# Neighbours taken into a regrouping move, and local-search passes over a component.
_GROUP_NEIGHBOURS = 3
_MAX_PASSES = 6
# Recombination sweeps two zones' union up to this many buildings.
_SWEEP_MAX = 48
# Bisection: centre pairs sampled per sweep, splits tried per level, sweeps per attempt, and
# the largest set of buildings it splits.
_BISECT_PAIRS = 160
_BISECT_KEEP = 6
_BISECT_BUDGET = 40
_BISECT_MAX = 120
# Sets up to this size are split by trying every subset; components up to _EXACT_MAX
# buildings are solved exactly (3^m steps).
_SUBSET_MAX = 13
_EXACT_MAX = 10
# A recombination must shorten the summed diameters by this much to be taken.
_MIN_GAIN_M = 0.5


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneChange:
    """One zone kept under its id with other members: who came in and who left."""

    zone_id: str
    members_in: tuple[Any, ...]
    members_out: tuple[Any, ...]


@dataclass(frozen=True)
class ZoneDiff:
    """What a run changes against the previous zones, to show before anything is saved.

    Attributes
    ----------
    added
        Ids of zones that are new.
    removed
        Ids of previous zones that no longer exist.
    changed
        Zones kept under their id whose members differ.
    unchanged
        Ids of zones with exactly the same members.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ZoneChange, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing was added, removed or changed."""
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class SearchStats:
    """How good the grouping is and what the search did.

    Attributes
    ----------
    shared_zones
        Shared zones found by the search (locked zones excluded).
    upper_bound
        ``sum_C floor(W_C / H)`` over the components of small unlocked buildings: no
        grouping can have more shared zones.
    bin_bound
        A tighter bound: per component, the buildings that reach ``H`` alone plus
        ``floor(rest / H)``.
    components
        Components of small unlocked buildings (isolated buildings included).
    feasible_components
        Those that reach the threshold and so hold at least one shared zone.
    components_at_bound
        Feasible components whose shared zones reach ``bin_bound``: proven best in number.
    rotating_buildings
        Buildings left to a rotating lead.
    starts, moves
        Spanning trees cut in the construction, improving moves taken.
    seconds
        Time in the search.
    time_budget_reached
        True when the search stopped early on ``time_budget_s``.
    """

    shared_zones: int
    upper_bound: int
    bin_bound: int
    components: int
    feasible_components: int
    components_at_bound: int
    rotating_buildings: int
    starts: int
    moves: int
    seconds: float
    time_budget_reached: bool


@dataclass(frozen=True)
class Grouping:
    """Buildings grouped into lead zones, with the rule that placed each one.

    Per-building arrays are in input order; per-zone arrays in zone order (by smallest
    member index).

    Attributes
    ----------
    zone
        Index of each building's zone into ``zone_ids``.
    kind
        ``own``, ``shared`` or ``rotating`` per building (its zone's kind).
    rule, reason_zh
        Stable rule code (:data:`RULES`) and zh-CN reason with the building's figures.
    zone_ids
        Stable zone ids: locked zones keep theirs, others inherit a previous zone's id when
        the member sets overlap by Jaccard >= :data:`JACCARD_KEEP_ID`, else get a new one.
    zone_kind
        Kind of each zone.
    members
        Building indices of each zone, ascending.
    households, occupied_households, party_members
        Zone totals (occupied households: ``sum(h_i * o_i)``).
    lead
        Suggested lead building per zone: most party members, then the most central (least
        longest walk to the other members), then the lowest index.
    has_party_member
        False flags a zone whose lead must rotate until a suitable person is found.
    party_group_suggested
        The zone's members hold :data:`PARTY_GROUP_MIN` or more party members together.
    party_group_buildings
        Member buildings with :data:`PARTY_GROUP_MIN` or more party members on their own.
    diameter_m
        Longest shortest walk between two members along allowed links (0 for one
        building, NaN when the members are not connected).
    locked
        Zone kept as locked.
    zone_flags
        Per zone: ``no_party_member``, ``locked``, ``locked_below_threshold``,
        ``locked_not_contiguous``, ``locked_crosses_compound``, ``locked_mixed_own``.
    diff
        Against ``previous``, in building indices.
    stats
        Search figures.
    flags
        Whole-run flags: ``time_budget_reached``.
    min_households, min_occupancy, max_walk_m, cross_compounds, count_occupied
        The settings used.
    """

    zone: Ints
    kind: Objects
    rule: Objects
    reason_zh: Objects
    zone_ids: tuple[str, ...]
    zone_kind: tuple[Kind, ...]
    members: tuple[Ints, ...]
    households: Ints
    occupied_households: Floats
    party_members: Ints
    lead: Ints
    has_party_member: Bools
    party_group_suggested: Bools
    party_group_buildings: tuple[Ints, ...]
    diameter_m: Floats
    locked: Bools
    zone_flags: tuple[tuple[str, ...], ...]
    diff: ZoneDiff
    stats: SearchStats
    flags: tuple[str, ...]
    min_households: float
    min_occupancy: float
    max_walk_m: float
    cross_compounds: bool
    count_occupied: bool

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return len(self.zone_ids)

    def zone_members(self) -> dict[str, Ints]:
        """Return ``{zone_id: member indices}``, the form ``previous`` and ``locked`` take."""
        return dict(zip(self.zone_ids, self.members, strict=True))


@dataclass(frozen=True)
class NeighbourGraph:
    """Walking metres between neighbouring buildings, and how they were measured.

    Attributes
    ----------
    walk_m
        ``(n, n)`` CSR matrix of walking metres; stored entries (explicit zeros included)
        are neighbour pairs, absent entries are not neighbours.
    approximate
        True when straight distance times ``detour_factor`` stood in for a network walk.
    detour_factor
        The factor used (1 on a network).
    max_m
        Longest walk kept.
    """

    walk_m: Any
    approximate: bool
    detour_factor: float
    max_m: float


@dataclass(frozen=True)
class LeadZonePlan:
    """Lead zones for a set of buildings, ready for an officer to review, lock and save.

    Attributes
    ----------
    buildings
        One row per input building, in input order: ``building_id``, ``zone_id``,
        ``zone_kind`` (own/shared/rotating), ``rule`` (code), ``reason_zh``, ``is_lead``
        (the suggested lead building of its zone) and ``party_group_suggested`` (3+ party
        members in the building).
    zones
        One row per zone: ``zone_id``, ``kind``, ``members`` (list of building ids),
        ``n_buildings``, ``households``, ``occupied_households``, ``party_members``,
        ``lead_building_id``, ``has_party_member``, ``party_group_suggested``,
        ``party_group_buildings`` (list of ids), ``diameter_m``, ``locked``, ``flags``
        (list) and ``geometry``: the members' footprints with the ground between them
        (a concave hull of the members, buffered, clipped to the members' Voronoi cells so
        zones do not overlap).
    diff
        Against ``previous``, in building ids (a building no longer present counts as out).
    grouping
        The core result, in building indices.
    approximate
        True when the neighbour graph was straight distance times a detour factor.
    crs
        The buildings' CRS.
    """

    buildings: pd.DataFrame
    zones: gpd.GeoDataFrame
    diff: ZoneDiff
    grouping: Grouping
    approximate: bool
    crs: Any


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
    G = _allowed_graph(neighbours, n, comp, max_walk_m, cross_compounds)
    locks = _check_locked(locked, n)
    prev = _check_previous(previous, n)
    locked_mask = np.zeros(n, dtype=np.bool_)
    for idx in locks.values():
        locked_mask[idx] = True

    limit_m = _DIST_LIMIT_FACTOR * max_walk_m
    dist = _Distances(G, limit_m)
    small = ~own & ~locked_mask
    search = _Search(G, small, weight, threshold, dist, seed=seed, deadline=t0 + time_budget_s)
    outcome = search.run(prev)

    zones: list[_Zone] = []
    for zid, idx in locks.items():
        zones.append(
            _locked_zone(
                zid,
                idx=idx,
                own=own,
                weight=weight,
                threshold=threshold,
                comp=comp,
                G=G,
                cross_compounds=cross_compounds,
            )
        )
    for i in np.flatnonzero(own & ~locked_mask).tolist():
        zones.append(_Zone(np.array([i], dtype=np.int64), "own", "own"))
    for part in outcome.shared:
        zones.append(_Zone(np.sort(np.asarray(part, dtype=np.int64)), "shared", ""))
    for part in outcome.rotating:
        code = "rotating_isolated" if len(part) == 1 else "rotating_below_threshold"
        zones.append(_Zone(np.sort(np.asarray(part, dtype=np.int64)), "rotating", code))
    zones.sort(key=lambda z: int(z.members[0]))

    ids = _assign_ids(zones, prev, id_prefix)
    grouping = _finish(
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
        shared_zones=len(outcome.shared),
        upper_bound=outcome.upper_bound,
        bin_bound=outcome.bin_bound,
        components=outcome.components,
        feasible_components=outcome.feasible,
        components_at_bound=outcome.at_bound,
        rotating_buildings=int(sum(len(p) for p in outcome.rotating)),
        starts=search.starts,
        moves=search.moves,
        seconds=time.perf_counter() - t0,
        time_budget_reached=search.out_of_time,
    )
    return Grouping(
        **grouping,
        stats=stats,
        flags=("time_budget_reached",) if search.out_of_time else (),
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


def _allowed_graph(
    neighbours: Any, n: int, comp: Ints, max_walk_m: float, cross_compounds: bool
) -> Any:
    """Symmetric CSR of allowed links: walk <= max_walk_m, same compound unless allowed."""
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
    i = np.concatenate([coo.row, coo.col]).astype(np.int64)
    j = np.concatenate([coo.col, coo.row]).astype(np.int64)
    d = np.concatenate([d, d])
    keep = (i != j) & (d <= max_walk_m)
    if not cross_compounds:
        keep &= comp[i] == comp[j]
    i, j, d = i[keep], j[keep], d[keep]
    order = np.lexsort((d, j, i))
    i, j, d = i[order], j[order], d[order]
    first = np.ones(len(i), dtype=np.bool_)
    first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
    return _csr(i[first], j[first], d[first], n)


def _csr(i: Ints, j: Ints, d: Floats, n: int) -> Any:
    """CSR from pairs sorted by row, built from its arrays so explicit zero walks stay links."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(i, minlength=n), out=indptr[1:])
    return csr_matrix((d, j, indptr), shape=(n, n))


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


# --- walking distances within components ------------------------------------------------------


class _Distances:
    """Shortest walks along allowed links, up to a limit, per connected component.

    Pairs farther than ``limit_m`` (or not connected) read as ``far_m``; the exact value of
    such a pair is computed only for reporting (:meth:`diameter`).
    """

    def __init__(self, G: Any, limit_m: float) -> None:
        self.G = G
        self.limit_m = limit_m
        self.far_m = _FAR_FACTOR * limit_m
        n = G.shape[0]
        ncomp, label = connected_components(G, directed=False)
        self.comp = np.asarray(label, dtype=np.int64)
        order = np.argsort(self.comp, kind="stable")
        ptr = np.zeros(ncomp + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.comp, minlength=ncomp), out=ptr[1:])
        self.local = np.empty(n, dtype=np.int64)
        self.members: list[Ints] = []
        self.blocks: list[Any] = []
        Gp = G[order][:, order].tocsr()
        for c in range(ncomp):
            a, b = int(ptr[c]), int(ptr[c + 1])
            idx = order[a:b]
            self.local[idx] = np.arange(b - a)
            self.members.append(idx)
            if b - a == 1:
                self.blocks.append(np.zeros((1, 1)))
                continue
            sub = Gp[a:b, a:b]
            if b - a <= _DENSE_MAX:
                D = np.asarray(dijkstra(sub, directed=False, limit=limit_m), dtype=np.float64)
                D[~np.isfinite(D)] = self.far_m
                self.blocks.append(D)
            else:
                self.blocks.append(self._sparse(sub))

    def _sparse(self, sub: Any) -> Any:
        """Limited walks of a big component as CSR holding ``metres + 1`` (0 = far)."""
        m = sub.shape[0]
        rows: list[Ints] = []
        cols: list[Ints] = []
        vals: list[Floats] = []
        for a in range(0, m, 256):
            src = np.arange(a, min(a + 256, m))
            D = np.asarray(dijkstra(sub, directed=False, indices=src, limit=self.limit_m))
            r, c = np.nonzero(np.isfinite(D))
            rows.append(src[r])
            cols.append(c.astype(np.int64))
            vals.append(D[r, c] + 1.0)
        return coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, m)
        ).tocsr()

    def block(self, idx: Sequence[int] | Ints) -> Floats:
        """Return walking metres between the buildings ``idx`` (far pairs read ``far_m``)."""
        ix = np.asarray(idx, dtype=np.int64)
        comps = self.comp[ix]
        c = int(comps[0])
        if (comps == c).all():
            return self._same(c, self.local[ix])
        out = np.full((len(ix), len(ix)), self.far_m)
        for c in np.unique(comps).tolist():
            sel = np.flatnonzero(comps == c)
            out[np.ix_(sel, sel)] = self._same(c, self.local[ix[sel]])
        return out

    def _same(self, c: int, loc: Ints) -> Floats:
        B = self.blocks[c]
        if isinstance(B, np.ndarray):
            return np.asarray(B[np.ix_(loc, loc)], dtype=np.float64)
        D = np.asarray(B[loc][:, loc].toarray(), dtype=np.float64)
        D[D == 0] = self.far_m + 1.0
        D -= 1.0
        np.fill_diagonal(D, 0.0)
        return D

    def diameter(self, idx: Ints) -> float:
        """Exact longest shortest walk between members (NaN if they are not connected)."""
        if len(idx) < 2:
            return 0.0
        D = self.block(idx)
        if D.max() < self.far_m:
            return float(D.max())
        comps = self.comp[idx]
        if not (comps == comps[0]).all():
            return math.nan
        whole = self.members[int(comps[0])]
        sub = self.G[whole][:, whole]
        exact = dijkstra(sub, directed=False, indices=self.local[idx])[:, self.local[idx]]
        return float(np.max(exact))


# --- the search -------------------------------------------------------------------------------


@dataclass
class _Outcome:
    shared: list[list[int]] = field(default_factory=list)
    rotating: list[list[int]] = field(default_factory=list)
    upper_bound: int = 0
    bin_bound: int = 0
    components: int = 0
    feasible: int = 0
    at_bound: int = 0


@dataclass
class _Partition:
    """Zones of one component under construction; ``label`` maps building -> zone key."""

    parts: dict[int, list[int]]
    weight: dict[int, float]
    diam: dict[int, float]
    label: dict[int, int]
    next_key: int = 0
    fixed: set[int] = field(default_factory=set)

    @property
    def p(self) -> int:
        return len(self.parts)

    def add(self, members: list[int], weight: float, diam: float, *, fixed: bool = False) -> int:
        key = self.next_key
        self.next_key += 1
        self.parts[key] = members
        self.weight[key] = weight
        self.diam[key] = diam
        for v in members:
            self.label[v] = key
        if fixed:
            self.fixed.add(key)
        return key

    def drop(self, key: int) -> list[int]:
        members = self.parts.pop(key)
        del self.weight[key], self.diam[key]
        self.fixed.discard(key)
        return members


class _Search:
    """Max-p search over the small buildings, component by component."""

    def __init__(
        self,
        G: Any,
        small: Bools,
        weight: Floats,
        threshold: float,
        dist: _Distances,
        *,
        seed: int,
        deadline: float,
    ) -> None:
        self.w = weight.tolist()
        self.T = threshold - _EPS * max(1.0, threshold)
        self.H = threshold
        self.dist = dist
        self.seed = seed
        self.deadline = deadline
        self.out_of_time = False
        self.starts = 0
        self.moves = 0
        idx = np.flatnonzero(small)
        sub = G[idx][:, idx].tocsr()
        self.sub_index = idx
        self.ncomp, lab = connected_components(sub, directed=False)
        self.sub_label = np.asarray(lab, dtype=np.int64)
        # Adjacency among small buildings, in global indices, as Python lists for speed.
        n = G.shape[0]
        self.adj: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        ip, ind, dat = sub.indptr, idx[sub.indices], sub.data
        for r, v in enumerate(idx.tolist()):
            a, b = int(ip[r]), int(ip[r + 1])
            self.adj[v] = list(zip(ind[a:b].tolist(), dat[a:b].tolist(), strict=True))

    def _time_left(self) -> bool:
        if time.perf_counter() > self.deadline:
            self.out_of_time = True
        return not self.out_of_time

    # --- driver ---

    def run(self, previous: Mapping[str, Ints]) -> _Outcome:
        out = _Outcome(components=self.ncomp)
        prev_of: dict[int, int] = {}
        for k, idx in enumerate(previous.values()):
            for v in idx.tolist():
                prev_of[v] = k
        order = np.argsort(self.sub_label, kind="stable")
        bounds = np.searchsorted(self.sub_label[order], np.arange(self.ncomp + 1))
        for c in range(self.ncomp):
            nodes = sorted(self.sub_index[order[bounds[c] : bounds[c + 1]]].tolist())
            total = sum(self.w[v] for v in nodes)
            if total < self.T:
                out.rotating.append(nodes)
                continue
            out.feasible += 1
            bound = math.floor(total / self.H + _EPS)
            bin_bound = min(bound, _cover_bound([self.w[v] for v in nodes], self.T))
            out.upper_bound += bound
            out.bin_bound += bin_bound
            rnd = random.Random(self.seed * 1_000_003 + nodes[0])
            best = self._solve(nodes, total, bin_bound, rnd)
            if any(v in prev_of for v in nodes):
                warm = self._warm(nodes, prev_of, bin_bound, rnd)
                if warm.p >= best.p:
                    best = warm
            out.at_bound += best.p >= bin_bound
            out.shared.extend(best.parts.values())
        return out

    # --- building blocks ---

    def _diam(self, members: list[int]) -> float:
        if len(members) < 2:
            return 0.0
        return float(self.dist.block(members).max())

    def _tree(
        self, nodes: Sequence[int], inside: set[int], root: int, noise: float, rnd: random.Random
    ) -> tuple[list[int], dict[int, int]]:
        """Randomized Prim: a spanning tree of ``inside`` favouring short links.

        Returns the nodes in the order added (parents before children) and each node's
        parent (-1 for the root).
        """
        parent = {root: -1}
        order = [root]
        heap: list[tuple[float, int, int]] = []
        rand = rnd.random
        for x, d in self.adj[root]:
            if x in inside:
                heap.append((d * (1.0 + noise * rand()), x, root))
        heapq.heapify(heap)
        while heap and len(order) < len(nodes):
            _, v, u = heapq.heappop(heap)
            if v in parent:
                continue
            parent[v] = u
            order.append(v)
            for x, d in self.adj[v]:
                if x in inside and x not in parent:
                    heapq.heappush(heap, (d * (1.0 + noise * rand()), x, v))
        return order, parent

    def _walk_tree(
        self, nodes: Sequence[int], inside: set[int], root: int, noise: float, rnd: random.Random
    ) -> tuple[list[int], dict[int, int]]:
        """Depth-first tree stepping to the nearest unvisited neighbour: long, thin paths."""
        parent = {root: -1}
        order = [root]
        stack = [root]
        rand = rnd.random
        while stack:
            v = stack[-1]
            step, best = -1, math.inf
            for x, d in self.adj[v]:
                if x in inside and x not in parent:
                    key = d * (1.0 + noise * rand())
                    if key < best:
                        step, best = x, key
            if step < 0:
                stack.pop()
                continue
            parent[step] = v
            order.append(step)
            stack.append(step)
        del nodes
        return order, parent

    def _cut_tree(self, order: list[int], parent: dict[int, int]) -> list[list[int]]:
        """Optimal max-p cut of a tree: cut a zone as soon as the carried weight reaches T.

        Bottom-up, each node carries its own weight plus what its uncut children carry;
        a node whose carry reaches the threshold closes a zone. This maximizes the number of
        zones on the tree (an exchange argument: cutting as low as possible never loses a
        zone and leaves the most weight free above). What remains at the root joins the
        adjacent zone it makes least wide.
        """
        w = self.w
        carry_w = {v: w[v] for v in order}
        carry: dict[int, list[int]] = {v: [v] for v in order}
        parts: list[list[int]] = []
        leftover: list[int] = []
        for v in reversed(order):
            cw = carry_w[v]
            if cw >= self.T:
                parts.append(carry.pop(v))
                continue
            u = parent[v]
            if u < 0:
                leftover = carry.pop(v)
                break
            carry_w[u] += cw
            carry[u].extend(carry.pop(v))
        if leftover and parts:
            where = {v: k for k, part in enumerate(parts) for v in part}
            near = {where[x] for v in leftover for x, _ in self.adj[v] if x in where}
            if len(near) == 1:
                k = near.pop()
            else:
                k = min(sorted(near), key=lambda q: self._diam(parts[q] + leftover))
            parts[k] = parts[k] + leftover
        elif leftover:
            parts.append(leftover)
        return parts

    def _fresh(
        self, nodes: list[int], total: float, rnd: random.Random, bound: int = 0
    ) -> list[list[int]]:
        """Best of several randomized spanning-tree cuts: most zones, then least diameter.

        Stops early once a cut reaches ``bound`` zones and the first trees of both kinds have
        been tried: the local search then works on compactness alone.
        """
        inside = set(nodes)
        best: list[list[int]] = []
        best_key = (-1, 0.0)
        far = self._far_node(nodes, inside)
        for s, (kind, noise) in enumerate(_STARTS):
            if s > 0 and not self._time_left():
                break
            root = far if s < 2 else nodes[rnd.randrange(len(nodes))]
            grow = self._tree if kind == "prim" else self._walk_tree
            order, parent = grow(nodes, inside, root, noise, rnd)
            parts = self._cut_tree(order, parent)
            self.starts += 1
            key = (len(parts), -sum(self._diam(p) for p in parts))
            if key > best_key:
                best, best_key = parts, key
            if len(nodes) <= 2 or total < 2 * self.H:
                break  # one zone is all there can be
            if s >= _EARLY_STOP and best_key[0] >= bound > 0:
                break
        return best

    def _far_node(self, nodes: list[int], inside: set[int]) -> int:
        """Return a node at the edge of the component (farthest by links from the first)."""
        seen = {nodes[0]}
        frontier = [nodes[0]]
        last = nodes[0]
        while frontier:
            nxt = []
            for v in frontier:
                for x, _ in self.adj[v]:
                    if x in inside and x not in seen:
                        seen.add(x)
                        nxt.append(x)
            if nxt:
                last = min(nxt)
            frontier = nxt
        return last

    def _partition(self, parts: Iterable[list[int]]) -> _Partition:
        P = _Partition({}, {}, {}, {})
        for part in parts:
            P.add(list(part), sum(self.w[v] for v in part), self._diam(list(part)))
        return P

    def _solve(
        self, nodes: list[int], total: float, bin_bound: int, rnd: random.Random
    ) -> _Partition:
        if len(nodes) <= _EXACT_MAX:
            exact = self._exact(nodes)
            if exact is not None:
                return self._partition(exact)
        P = self._partition(self._fresh(nodes, total, rnd, bin_bound))
        if P.p > 1 or len(nodes) > 2:
            self._improve(P, bin_bound, rnd, compact=True)
        while P.p < bin_bound and len(nodes) <= _BISECT_MAX and self._time_left():
            split = self._bisect(nodes, P.p + 1, rnd, [_BISECT_BUDGET])
            if split is None:
                break
            P = self._partition(split)
            self.moves += 1
            self._improve(P, bin_bound, rnd, compact=True)
        return P

    def _warm(
        self, nodes: list[int], prev_of: dict[int, int], bin_bound: int, rnd: random.Random
    ) -> _Partition:
        """Keep every previous zone still connected and above the threshold; regroup the rest."""
        groups: dict[int, list[int]] = {}
        for v in nodes:
            if v in prev_of:
                groups.setdefault(prev_of[v], []).append(v)
        P = _Partition({}, {}, {}, {})
        kept: set[int] = set()
        for members in groups.values():
            for piece in self._pieces(members):
                wsum = sum(self.w[v] for v in piece)
                if wsum >= self.T:
                    P.add(piece, wsum, self._diam(piece), fixed=True)
                    kept.update(piece)
        free = [v for v in nodes if v not in kept]
        leftovers: list[int] = []
        for piece in self._pieces(free):
            wsum = sum(self.w[v] for v in piece)
            if wsum >= self.T:
                for part in self._fresh(sorted(piece), wsum, rnd):
                    P.add(part, sum(self.w[v] for v in part), self._diam(part))
            else:
                leftovers.extend(piece)
        if P.p == 0:
            return self._partition([nodes])
        self._absorb(P, leftovers)
        self._improve(P, bin_bound, rnd, compact=True)
        return P

    def _pieces(self, members: list[int]) -> list[list[int]]:
        """Return the connected pieces of ``members`` along allowed links."""
        inside = set(members)
        pieces: list[list[int]] = []
        for s in members:
            if s not in inside:
                continue
            inside.discard(s)
            piece = [s]
            stack = [s]
            while stack:
                v = stack.pop()
                for x, _ in self.adj[v]:
                    if x in inside:
                        inside.discard(x)
                        piece.append(x)
                        stack.append(x)
            pieces.append(sorted(piece))
        return pieces

    def _absorb(self, P: _Partition, leftovers: list[int]) -> None:
        """Join buildings left over to the adjacent zone they widen least, nearest first."""
        todo = set(leftovers)
        while todo:
            progress = False
            for v in sorted(todo):
                near = sorted(
                    {P.label[x] for x, _ in self.adj[v] if x in P.label and x not in todo}
                )
                near = [k for k in near if k in P.parts]
                if not near:
                    continue
                k = min(near, key=lambda q: self._diam([*P.parts[q], v]))
                members = [*P.parts[k], v]
                fixed = k in P.fixed
                P.drop(k)
                P.add(members, sum(self.w[x] for x in members), self._diam(members), fixed=fixed)
                todo.discard(v)
                progress = True
            if not progress:  # cannot happen in a connected component holding a zone
                break

    # --- local search ---

    def _improve(self, P: _Partition, bin_bound: int, rnd: random.Random, *, compact: bool) -> None:
        """Regroup (more zones) and recombine (smaller diameters) until nothing improves."""
        dirty = set(P.parts)
        for _ in range(_MAX_PASSES):
            if not dirty or not self._time_left():
                break
            changed: set[int] = set()
            keys = sorted(dirty & set(P.parts))
            rnd.shuffle(keys)
            if P.p < bin_bound:
                for k in keys:
                    if k in P.parts and k not in P.fixed:
                        changed |= self._regroup(P, k, rnd)
            keys = sorted(dirty & set(P.parts)) if compact else []
            rnd.shuffle(keys)
            seen: set[tuple[int, int]] = set()
            for a in keys:
                if a not in P.parts or a in P.fixed:
                    continue
                for b in self._adjacent(P, a):
                    pair = (min(a, b), max(a, b))
                    if b in P.fixed or a not in P.parts or b not in P.parts or pair in seen:
                        continue
                    seen.add(pair)
                    changed |= self._recombine(P, a, b)
            dirty = changed & set(P.parts)

    def _adjacent(self, P: _Partition, k: int) -> list[int]:
        members = P.parts[k]
        near = {P.label[x] for v in members for x, _ in self.adj[v]}
        near.discard(k)
        return sorted(q for q in near if q in P.parts)

    def _replace(self, P: _Partition, old: list[int], parts: list[list[int]]) -> set[int]:
        for k in old:
            P.drop(k)
        self.moves += 1
        return {P.add(part, sum(self.w[v] for v in part), self._diam(part)) for part in parts}

    def _regroup(self, P: _Partition, k: int, rnd: random.Random) -> set[int]:
        """One more zone from a zone and its heaviest neighbours, if their weight allows."""
        near = [q for q in self._adjacent(P, k) if q not in P.fixed]
        near.sort(key=lambda q: -P.weight[q])
        group = [k, *near[:_GROUP_NEIGHBOURS]]
        total = sum(P.weight[q] for q in group)
        if total < (len(group) + 1) * self.H - _EPS:
            return set()
        nodes = sorted(v for q in group for v in P.parts[q])
        if len(nodes) <= _BISECT_MAX:
            split = self._bisect(nodes, len(group) + 1, rnd, [_BISECT_BUDGET])
            if split is not None:
                return self._replace(P, group, split)
        inside = set(nodes)
        for _ in range(_GROUP_TRIES):
            root = nodes[rnd.randrange(len(nodes))]
            order, parent = self._walk_tree(nodes, inside, root, 1.0, rnd)
            parts = self._cut_tree(order, parent)
            if len(parts) > len(group):
                return self._replace(P, group, parts)
        return set()

    def _recombine(self, P: _Partition, a: int, b: int) -> set[int]:
        """Merge two adjacent zones and re-split them where their diameters sum least."""
        nodes = P.parts[a] + P.parts[b]
        if len(nodes) > _SWEEP_MAX:
            return set()
        na = len(P.parts[a])
        ci, cj = np.divmod(np.arange(na * (len(nodes) - na)), len(nodes) - na)
        cj = cj + na
        found = self._sweep(
            nodes,
            self.dist.block(nodes),
            (ci, cj),
            need=(self.T, self.T),
            below=P.diam[a] + P.diam[b] - _MIN_GAIN_M,
            keep=1,
        )
        if not found:
            return set()
        return self._replace(P, [a, b], [found[0][1], found[0][2]])

    def _sweep(
        self,
        nodes: list[int],
        D: Floats,
        centres: tuple[Ints, Ints],
        *,
        need: tuple[float, float],
        below: float,
        keep: int,
    ) -> list[tuple[float, list[int], list[int]]]:
        """Two-zone splits of ``nodes`` by sweeps between two centres, least diameters first.

        For each centre pair ``(c1, c2)`` order the members by ``D[c1] - D[c2]`` (nearer to
        ``c1`` first) and consider every split of that order into a front and a back. Keep
        splits whose front weighs at least ``need[0]`` and back ``need[1]``, whose diameter
        sum is below ``below`` and whose two sides are connected; return up to ``keep`` of
        them, least diameter sum first. Vectorized over centre pairs and positions: prefix
        and suffix diameters are running maxima of the reordered distance matrix.
        """
        m = len(nodes)
        w = np.asarray([self.w[v] for v in nodes])
        order = np.argsort(D[centres[0]] - D[centres[1]], axis=1, kind="stable")
        Ds = D[order[:, :, None], order[:, None, :]]
        low = np.tril(np.ones((m, m), dtype=np.bool_), -1)
        front = np.maximum.accumulate(np.where(low, Ds, 0.0).max(axis=2), axis=1)
        back_row = np.where(low.T, Ds, 0.0).max(axis=2)[:, ::-1]
        back = np.maximum.accumulate(back_row, axis=1)[:, ::-1]
        cw = np.cumsum(w[order], axis=1)
        left = cw[:, :-1]
        cost = front[:, :-1] + back[:, 1:]
        cost[(left < need[0]) | (cw[:, -1:] - left < need[1]) | (cost >= below)] = np.inf
        found: list[tuple[float, list[int], list[int]]] = []
        tried: set[frozenset[int]] = set()
        flat = np.argsort(cost, axis=None, kind="stable")
        for f in flat[: 8 * m].tolist():
            q, k = divmod(f, m - 1)
            if not np.isfinite(cost[q, k]):
                break
            side = frozenset(order[q, : k + 1].tolist())
            if side in tried:
                continue
            tried.add(side)
            one = [nodes[i] for i in sorted(side)]
            two = [nodes[i] for i in range(m) if i not in side]
            if self._connected(one) and self._connected(two):
                found.append((float(cost[q, k]), one, two))
                if len(found) >= keep:
                    break
        return found

    def _bisect(
        self, nodes: list[int], k: int, rnd: random.Random, budget: list[int]
    ) -> list[list[int]] | None:
        """Split ``nodes`` into ``k`` connected zones above the threshold, by halves.

        A split leaves ``a`` zones' worth of weight on one side and ``k - a`` on the other,
        ``a = k // 2`` first and then ``a = 1``; the best few splits (all subsets of a small
        set, else sweeps) are tried in turn, so a side that cannot be split further
        backtracks. ``budget`` caps the splits searched, across the recursion.
        """
        if k == 1:
            return [nodes]
        m = len(nodes)
        for a in sorted({k // 2, 1}, reverse=True):
            if budget[0] <= 0 or m < k:
                return None
            budget[0] -= 1
            need = (a * self.T, (k - a) * self.T)
            if m <= _SUBSET_MAX:
                found = self._subset_splits(nodes, need=need, keep=_BISECT_KEEP)
            else:
                ci, cj = np.divmod(np.arange(m * m), m)
                pairs = np.flatnonzero(ci != cj)
                if len(pairs) > _BISECT_PAIRS:
                    pairs = np.asarray(sorted(rnd.sample(pairs.tolist(), _BISECT_PAIRS)))
                found = self._sweep(
                    nodes,
                    self.dist.block(nodes),
                    (ci[pairs], cj[pairs]),
                    need=need,
                    below=np.inf,
                    keep=_BISECT_KEEP,
                )
            parts = self._descend(found, a, k, rnd, budget)
            if parts is not None:
                return parts
        return None

    def _descend(
        self,
        found: list[tuple[float, list[int], list[int]]],
        a: int,
        k: int,
        rnd: random.Random,
        budget: list[int],
    ) -> list[list[int]] | None:
        for _, one, two in found:
            first = self._bisect(one, a, rnd, budget)
            if first is None:
                continue
            second = self._bisect(two, k - a, rnd, budget)
            if second is not None:
                return first + second
        return None

    def _masks(self, nodes: list[int]) -> tuple[Bools, Floats, Floats, list[int]]:
        """Every subset of ``nodes`` as a bit mask: members, weight, diameter, links."""
        m = len(nodes)
        bits = ((np.arange(1 << m)[:, None] >> np.arange(m)) & 1).astype(np.bool_)
        w = np.asarray([self.w[v] for v in nodes])
        weight = bits @ w
        D = self.dist.block(nodes)
        pi, pj = np.triu_indices(m, 1)
        both = bits[:, pi] & bits[:, pj]
        diam = np.where(both, D[pi, pj], 0.0).max(axis=1) if len(pi) else np.zeros(1 << m)
        pos = {v: i for i, v in enumerate(nodes)}
        links = [0] * m
        for i, v in enumerate(nodes):
            for x, _ in self.adj[v]:
                if x in pos:
                    links[i] |= 1 << pos[x]
        return bits, weight, diam, links

    @staticmethod
    def _mask_connected(mask: int, links: list[int]) -> bool:
        seen = mask & -mask
        frontier = seen
        while frontier:
            low = frontier & -frontier
            frontier ^= low
            new = links[low.bit_length() - 1] & mask & ~seen
            seen |= new
            frontier |= new
        return seen == mask

    def _exact(self, nodes: list[int]) -> list[list[int]] | None:
        """Most zones, then least diameter sum, by dynamic programming over subsets.

        ``f(S) = best over connected Z in S holding S's lowest member with w(Z) >= T of
        (1, diam(Z)) + f(S - Z)``, lexicographically (more zones, then less diameter);
        ``3^m`` steps, so only for small components. None when no zone fits.
        """
        m = len(nodes)
        _, weight, diam, links = self._masks(nodes)
        full = (1 << m) - 1
        ok = [bool(weight[z] >= self.T) and self._mask_connected(z, links) for z in range(full + 1)]
        dl = diam.tolist()
        best_p = [-1] * (full + 1)
        best_d = [0.0] * (full + 1)
        choice = [0] * (full + 1)
        best_p[0] = 0
        for S in range(1, full + 1):
            low = S & -S
            rest = S ^ low
            sub = rest
            bp, bd, bz = -1, 0.0, 0
            while True:
                z = low | sub
                r = S ^ z
                if ok[z] and best_p[r] >= 0:
                    p = best_p[r] + 1
                    d = best_d[r] + dl[z]
                    if p > bp or (p == bp and d < bd - 1e-9):
                        bp, bd, bz = p, d, z
                if sub == 0:
                    break
                sub = (sub - 1) & rest
            best_p[S], best_d[S], choice[S] = bp, bd, bz
        if best_p[full] <= 0:
            return None
        parts: list[list[int]] = []
        S = full
        while S:
            z = choice[S]
            parts.append([nodes[i] for i in range(m) if z >> i & 1])
            S ^= z
        return parts

    def _subset_splits(
        self, nodes: list[int], *, need: tuple[float, float], keep: int
    ) -> list[tuple[float, list[int], list[int]]]:
        """All two-zone splits of a small set, least diameter sum first (as :meth:`_sweep`)."""
        m = len(nodes)
        _, weight, diam, links = self._masks(nodes)
        full = (1 << m) - 1
        z = np.arange(1, full)
        cost = diam[z] + diam[full ^ z]
        fits = (weight[z] >= need[0]) & (weight[full ^ z] >= need[1])
        z, cost = z[fits], cost[fits]
        found: list[tuple[float, list[int], list[int]]] = []
        for k in np.argsort(cost, kind="stable").tolist():
            mask = int(z[k])
            if self._mask_connected(mask, links) and self._mask_connected(full ^ mask, links):
                one = [nodes[i] for i in range(m) if mask >> i & 1]
                two = [nodes[i] for i in range(m) if not mask >> i & 1]
                found.append((float(cost[k]), one, two))
                if len(found) >= keep:
                    break
        return found

    def _connected(self, members: list[int]) -> bool:
        inside = set(members)
        seen = {members[0]}
        stack = [members[0]]
        while stack:
            v = stack.pop()
            for x, _ in self.adj[v]:
                if x in inside and x not in seen:
                    seen.add(x)
                    stack.append(x)
        return len(seen) == len(inside)


def _cover_bound(weights: list[float], threshold: float) -> int:
    """Most zones the weights could fill if contiguity did not matter (bin covering).

    A zone holds a building of weight ``>= T`` (at most one zone each), or two *heavy*
    buildings (``>= T/2``), or one heavy building ``h`` plus light ones worth ``T - h``, or
    light ones worth ``T``. Light ones are counted by weight and by number: a zone of light
    buildings needs at least ``k_min`` of them (the fewest whose largest weights reach
    ``T``), a heavy one ``h`` at least ``k(T - h)``. With the ``b`` heaviest heavies alone in
    a zone, at most ``(|heavy| - b) // 2 + b + c`` zones, where ``c`` light-only zones fit in
    the light weight and number left; the bound is the best ``b``.
    """
    big = sum(1 for x in weights if x >= threshold)
    heavy = sorted((x for x in weights if threshold / 2 <= x < threshold), reverse=True)
    lights = sorted((x for x in weights if x < threshold / 2), reverse=True)
    prefix = np.cumsum(lights) if lights else np.zeros(0)
    light = float(prefix[-1]) if lights else 0.0

    def fewest(x: float) -> int:
        """Fewest light buildings worth ``x`` (len + 1 when all of them are not enough)."""
        return int(np.searchsorted(prefix, x - _EPS)) + 1 if x > 0 else 0

    k_min = fewest(threshold)

    def light_zones(weight_left: float, count_left: int) -> int:
        if weight_left < -_EPS or count_left < 0:
            return -1
        by_weight = math.floor(weight_left / threshold + _EPS)
        return min(by_weight, count_left // k_min) if k_min <= len(lights) else 0

    best = len(heavy) // 2 + max(0, light_zones(light, len(lights)))
    need_w, need_k = 0.0, 0
    for b, x in enumerate(heavy, start=1):
        need_w += threshold - x
        need_k += fewest(threshold - x)
        c = light_zones(light - need_w, len(lights) - need_k)
        if c < 0:
            break
        best = max(best, (len(heavy) - b) // 2 + b + c)
    return big + best


# --- zones, ids, leads ------------------------------------------------------------------------


@dataclass
class _Zone:
    members: Ints
    kind: Kind
    code: str
    zone_id: str = ""
    flags: tuple[str, ...] = ()
    locked: bool = False


def _locked_zone(
    zid: str,
    *,
    idx: Ints,
    own: Bools,
    weight: Floats,
    threshold: float,
    comp: Ints,
    G: Any,
    cross_compounds: bool,
) -> _Zone:
    """Return a locked zone as it stands, flagged where it no longer meets the rule."""
    flags = ["locked"]
    if len(idx) == 1 and own[idx[0]]:
        kind: Kind = "own"
    elif weight[idx].sum() >= threshold - _EPS:
        kind = "shared"
    else:
        kind = "rotating"
        if len(idx) > 1:
            flags.append("locked_below_threshold")
    if len(idx) > 1:
        if own[idx].any():
            flags.append("locked_mixed_own")
        sub = G[idx][:, idx]
        if connected_components(sub, directed=False)[0] > 1:
            flags.append("locked_not_contiguous")
        if not cross_compounds and len(np.unique(comp[idx])) > 1:
            flags.append("locked_crosses_compound")
    return _Zone(idx, kind, "locked", zone_id=zid, flags=tuple(flags), locked=True)


def _assign_ids(zones: list[_Zone], prev: Mapping[str, Ints], prefix: str) -> list[str]:
    """Keep locked ids; match the rest to previous zones by Jaccard >= 0.5; number new ones."""
    ids = _match_previous(zones, prev)
    reserved = set(ids) | set(prev)
    counter = 0
    for k in range(len(zones)):
        if ids[k]:
            continue
        while True:
            counter += 1
            candidate = f"{prefix}{counter:04d}"
            if candidate not in reserved:
                break
        ids[k] = candidate
        reserved.add(candidate)
    return ids


def _match_previous(zones: list[_Zone], prev: Mapping[str, Ints]) -> list[str]:
    """Return each zone's kept id ("" for none): its lock, else its best previous match.

    Pairs (zone, previous zone) with Jaccard ``|A & B| / |A | B| >= JACCARD_KEEP_ID`` are
    taken greedily, highest overlap first, each id and each zone at most once.
    """
    ids = [z.zone_id if z.locked else "" for z in zones]
    prev_of: dict[int, str] = {}
    prev_size: dict[str, int] = {}
    for zid, idx in prev.items():
        if zid in ids:
            continue
        prev_size[zid] = len(idx)
        for v in idx.tolist():
            prev_of[v] = zid
    pairs: list[tuple[float, str, int]] = []
    for k, z in enumerate(zones):
        if z.locked:
            continue
        overlap = Counter(prev_of[v] for v in z.members.tolist() if v in prev_of)
        for zid, inter in overlap.items():
            jac = inter / (len(z.members) + prev_size[zid] - inter)
            if jac >= JACCARD_KEEP_ID - 1e-12:
                pairs.append((-jac, zid, k))
    taken: set[str] = set()
    for _, zid, k in sorted(pairs):
        if not ids[k] and zid not in taken:
            ids[k] = zid
            taken.add(zid)
    return ids


def _reason(
    code: str,
    i: int,
    zone: _Zone,
    *,
    h: Ints,
    occ: Floats,
    weight: Floats,
    threshold: float,
    min_occupancy: float,
    max_walk_m: float,
) -> str:
    """Return the zh-CN reason for one building, with its figures."""
    k = len(zone.members)
    zone_w = float(weight[zone.members].sum())
    figures = f"本楼 {int(h[i])} 户，入住率 {occ[i]:.0%}"
    if code == "own":
        return (
            f"{figures}，达到单独设楼长标准（不少于 {threshold:g} 户且入住率不低于 "
            f"{min_occupancy:.0%}），单独设楼长"
        )
    if code == "locked":
        return f"{figures}；所在责任区（共 {k} 栋）已经确认并锁定，本次保持不变"
    if code in ("shared_small", "shared_low_occupancy"):
        why = (
            f"不足 {threshold:g} 户"
            if code == "shared_small"
            else f"户数够但入住率低于 {min_occupancy:.0%}，不单独设楼长"
        )
        return (
            f"{figures}，{why}，与相邻 {k - 1} 栋楼合设一名楼长（就近、连片、方便），"
            f"责任区合计在住约 {zone_w:.0f} 户"
        )
    if code == "shared_alone":
        return (
            f"{figures}，入住率低于 {min_occupancy:.0%}，不单独设楼长；但本楼在住约 "
            f"{zone_w:.0f} 户，已达 {threshold:g} 户，单独构成一个合设责任区"
        )
    if code == "rotating_isolated":
        return (
            f"{figures}，单体楼：步行 {max_walk_m:g} 米内（同一小区）没有可合并的楼栋，设轮值楼长"
        )
    return (
        f"{figures}，与相邻 {k - 1} 栋楼连片，但合计在住约 {zone_w:.0f} 户，不足 "
        f"{threshold:g} 户，无法组成合设责任区，共设一名轮值楼长"
    )


def _shared_code(size: int, households: int, threshold: float) -> str:
    """Return the rule code of a building in a shared zone of ``size`` buildings."""
    if size == 1:
        return "shared_alone"
    return "shared_low_occupancy" if households >= threshold else "shared_small"


def _lead(members: Ints, pm: Ints, D: Floats) -> int:
    """Most party members, then the most central member (least longest walk), then index."""
    ecc = D.max(axis=1) if len(members) > 1 else np.zeros(1)
    order = np.lexsort((members, ecc, -pm[members]))
    return int(members[order[0]])


def _finish(
    zones: list[_Zone],
    ids: list[str],
    prev: Mapping[str, Ints],
    *,
    h: Ints,
    occ: Floats,
    pm: Ints,
    weight: Floats,
    own: Bools,
    dist: _Distances,
    threshold: float,
    min_occupancy: float,
    max_walk_m: float,
) -> dict[str, Any]:
    """Per-building and per-zone arrays of a :class:`Grouping` (all but stats and settings)."""
    n = len(h)
    nz = len(zones)
    zone = np.full(n, -1, dtype=np.int64)
    kind = np.empty(n, dtype=object)
    rule = np.empty(n, dtype=object)
    reason = np.empty(n, dtype=object)
    lead = np.zeros(nz, dtype=np.int64)
    diameter = np.zeros(nz, dtype=np.float64)
    zone_flags: list[tuple[str, ...]] = []
    group_buildings_: list[Ints] = []
    for k, z in enumerate(zones):
        m = z.members
        zone[m] = k
        kind[m] = z.kind
        D = dist.block(m) if len(m) > 1 else np.zeros((1, 1))
        diameter[k] = dist.diameter(m)
        lead[k] = _lead(m, pm, D)
        flags = list(z.flags)
        if pm[m].sum() == 0:
            flags.append("no_party_member")
        zone_flags.append(tuple(flags))
        group_buildings_.append(m[pm[m] >= PARTY_GROUP_MIN])
        for i in m.tolist():
            code = z.code or _shared_code(len(m), int(h[i]), threshold)
            rule[i] = code
            reason[i] = _reason(
                code,
                i,
                z,
                h=h,
                occ=occ,
                weight=weight,
                threshold=threshold,
                min_occupancy=min_occupancy,
                max_walk_m=max_walk_m,
            )
    del own
    members = tuple(z.members for z in zones)
    party = np.asarray([int(pm[m].sum()) for m in members], dtype=np.int64)
    current = dict(zip(ids, (m.tolist() for m in members), strict=True))
    diff = diff_zones({k: v.tolist() for k, v in prev.items()}, current)
    out: dict[str, Any] = {
        "zone": zone,
        "kind": kind,
        "rule": rule,
        "reason_zh": reason,
        "zone_ids": tuple(ids),
        "zone_kind": tuple(z.kind for z in zones),
        "members": members,
        "households": np.asarray([int(h[m].sum()) for m in members], dtype=np.int64),
        "occupied_households": np.asarray([float(weight[m].sum()) for m in members]),
        "party_members": party,
        "lead": lead,
        "has_party_member": party > 0,
        "party_group_suggested": party >= PARTY_GROUP_MIN,
        "party_group_buildings": tuple(group_buildings_),
        "diameter_m": diameter,
        "locked": np.asarray([z.locked for z in zones], dtype=np.bool_),
        "zone_flags": tuple(zone_flags),
        "diff": diff,
    }
    for value in out.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return out


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def diff_zones(
    previous: Mapping[str, Iterable[Hashable]], current: Mapping[str, Iterable[Hashable]]
) -> ZoneDiff:
    """Compare two sets of zones by id: added, removed, changed (members in/out), unchanged.

    Examples
    --------
    >>> d = diff_zones({"A": [1, 2], "B": [3]}, {"A": [1, 2, 4], "C": [3]})
    >>> d.added, d.removed, d.changed[0].members_in
    (('C',), ('B',), (4,))
    """
    before = {str(k): set(v) for k, v in previous.items()}
    after = {str(k): set(v) for k, v in current.items()}
    changed: list[ZoneChange] = []
    unchanged: list[str] = []
    for zid in sorted(before.keys() & after.keys()):
        gained, lost = after[zid] - before[zid], before[zid] - after[zid]
        if gained or lost:
            changed.append(
                ZoneChange(
                    zid,
                    tuple(sorted(gained, key=_sort_key)),
                    tuple(sorted(lost, key=_sort_key)),
                )
            )
        else:
            unchanged.append(zid)
    return ZoneDiff(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(changed),
        unchanged=tuple(unchanged),
    )


# --- neighbour graphs -------------------------------------------------------------------------


def neighbour_graph_euclidean(
    buildings: gpd.GeoDataFrame,
    max_m: float = DEFAULT_MAX_WALK_M,
    *,
    detour: float = DEFAULT_DETOUR_FACTOR,
) -> NeighbourGraph:
    """Approximate walking metres between buildings when there is no network.

    ``walk_ij = detour * |p_i - p_j|`` between the buildings' representative points, kept
    when ``walk_ij <= max_m``. Walls and gates are unknown, so the result is flagged
    ``approximate``; pass the compound of each building to :func:`lead_zones` so zones still
    stop at compound boundaries.

    Raises
    ------
    CrsError
        If the buildings are not in a projected CRS in metres.
    OptionError
        If ``max_m`` or ``detour`` is not a positive finite number (``detour >= 1``).
    GeometryError
        If a geometry is missing or empty.
    """
    checks.metric_crs({"buildings": buildings})
    if not (math.isfinite(max_m) and max_m > 0):
        msg = f"参数 max_m（最大步行距离，米）应为大于 0 的有限数，实际为 {max_m!r}"
        raise OptionError(msg, loc=("max_m",))
    if not (math.isfinite(detour) and detour >= 1):
        msg = f"参数 detour（绕行系数）应为不小于 1 的有限数，实际为 {detour!r}"
        raise OptionError(msg, loc=("detour",))
    xy = _points_xy(buildings)
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(max_m / detour, output_type="ndarray").astype(np.int64)
    d = detour * np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    d = np.concatenate([d, d])
    order = np.lexsort((j, i))
    return NeighbourGraph(_csr(i[order], j[order], d[order], n), True, float(detour), float(max_m))


def neighbour_graph_walking(
    buildings: gpd.GeoDataFrame,
    graph: WalkGraph,
    max_m: float = DEFAULT_MAX_WALK_M,
) -> NeighbourGraph:
    """Measure walking metres between buildings on the network, through open gates only.

    Each building joins the network at its representative point
    (:func:`gis_api.analysis.walknet.snap_points`: inside a walled compound only to that
    compound's lanes); ``walk_ij`` is access leg + network + access leg
    (:func:`gis_api.analysis.walknet.distances_within`), kept when ``<= max_m``. Same CRS
    as the graph, in metres.
    """
    checks.metric_crs({"buildings": buildings})
    if not (math.isfinite(max_m) and max_m > 0):
        msg = f"参数 max_m（最大步行距离，米）应为大于 0 的有限数，实际为 {max_m!r}"
        raise OptionError(msg, loc=("max_m",))
    snapped = snap_points(graph, _points_xy(buildings))
    walk = csr_matrix(distances_within(graph, snapped, snapped, limit_m=float(max_m)))
    return NeighbourGraph(walk, False, 1.0, float(max_m))


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
    geoms = _geometries(buildings, ids)
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


def _geometries(buildings: gpd.GeoDataFrame, ids: Objects) -> Objects:
    geoms = np.asarray(buildings.geometry.to_numpy(), dtype=object)
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(bad):
        i = int(bad[0])
        msg = f"楼栋 {ids[i]} 没有几何图形（缺失或为空）"
        raise GeometryError(msg, loc=("buildings", i, "geometry"))
    return geoms


def _points_xy(buildings: gpd.GeoDataFrame) -> Floats:
    geoms = _geometries(buildings, np.asarray(buildings.index.to_numpy(), dtype=object))
    pts = shapely.point_on_surface(geoms)
    return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]).astype(np.float64)


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
