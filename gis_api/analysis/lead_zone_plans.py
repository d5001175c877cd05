"""Lead zones as results: the zones, their ids, leads, reasons and flags, and diffs.

What :func:`gis_api.analysis.lead_zones.group_buildings` hands back (:class:`Grouping`,
:class:`SearchStats`), what the adapter :func:`gis_api.analysis.lead_zones.lead_zones` hands
back (:class:`LeadZonePlan`), and how a set of zones becomes one: a locked zone judged as it
stands (:func:`locked_zone`), stable ids by member overlap (:func:`assign_ids`, Jaccard >=
:data:`JACCARD_KEEP_ID`), the suggested lead building, the zh-CN reason of each building and
the per-zone arrays (:func:`grouping_fields`), and the comparison with a previous plan
(:func:`diff_zones`, :class:`ZoneDiff`). The public names are re-exported from
:mod:`gis_api.analysis.lead_zones`; docs/lead_zones.md states the rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

import geopandas as gpd

from gis_api.analysis.graphs import GraphDistances
from layers import domain

__all__ = [
    "JACCARD_KEEP_ID",
    "Grouping",
    "Kind",
    "LeadZonePlan",
    "SearchStats",
    "Zone",
    "ZoneChange",
    "ZoneDiff",
    "assign_ids",
    "diff_zones",
    "grouping_fields",
    "locked_zone",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Objects = NDArray[np.object_]
Kind = Literal["own", "shared", "rotating"]

#: A new zone keeps a previous zone's id when their member sets overlap this much (Jaccard).
JACCARD_KEEP_ID = 0.5
# Weight comparisons allow this much round-off (occupied households are products).
_EPS = 1e-9


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
        Stable rule code (``lead_zones.RULES``) and zh-CN reason with the building's figures.
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
        The zone's members hold ``PARTY_GROUP_MIN`` or more party members together.
    party_group_buildings
        Member buildings with ``PARTY_GROUP_MIN`` or more party members on their own.
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


# --- zones, ids, leads ------------------------------------------------------------------------


@dataclass
class Zone:
    """One zone being assembled: members (ascending), kind, rule code ("" = by size), id."""

    members: Ints
    kind: Kind
    code: str
    zone_id: str = ""
    flags: tuple[str, ...] = ()
    locked: bool = False


def locked_zone(
    zid: str,
    *,
    idx: Ints,
    own: Bools,
    weight: Floats,
    threshold: float,
    comp: Ints,
    G: Any,
    cross_compounds: bool,
) -> Zone:
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
    return Zone(idx, kind, "locked", zone_id=zid, flags=tuple(flags), locked=True)


def assign_ids(zones: list[Zone], prev: Mapping[str, Ints], prefix: str) -> list[str]:
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


def _match_previous(zones: list[Zone], prev: Mapping[str, Ints]) -> list[str]:
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
    zone: Zone,
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


def grouping_fields(
    zones: list[Zone],
    ids: list[str],
    prev: Mapping[str, Ints],
    *,
    h: Ints,
    occ: Floats,
    pm: Ints,
    weight: Floats,
    own: Bools,
    dist: GraphDistances,
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
        group_buildings_.append(m[pm[m] >= domain.PARTY_GROUP_MIN])
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
        "party_group_suggested": party >= domain.PARTY_GROUP_MIN,
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
