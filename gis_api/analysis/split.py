"""Splitting a community (Qiaohua): balanced, contiguous plans, each measured and drawn.

docs/domain.md, "Splitting a community (Qiaohua)": when a community is too big, planners split
it; compounds are not cut, each part should be contiguous, balanced in residents and staff
load, and still served by its own service centre. Issue 15 asks for several plans, each
measured on what planners weigh, a manual move measured at once, and the new boundaries.

This module is the community adapter over the domain-free core
:func:`gis_api.analysis.partition.partition`: :func:`prepare_split` validates the layers and
precomputes everything into arrays (:class:`PreparedSplit`), :func:`split_plans` runs the
search and :func:`measure_plan` measures any assignment (the page's manual move calls it;
a few milliseconds), :func:`plan_boundaries` dissolves the parts. :func:`split_community`
does all four. All geometry is in one projected CRS in metres; areas are reported in km².

Units
-----
A *unit* is what moves whole: every compound (its buildings are the ones whose
``compound_id`` names it), and every building outside the compounds on its own (a *loose*
unit, id ``loose:<building id>``; the issue's "buildings outside compounds form small units
of their own"). With ``loose_group_m`` > 0, loose buildings whose footprints are within
that distance of each other, and not on two sides of a street, form one unit (the id of
its first building). A building without ``compound_id`` whose representative point lies in a
compound counts as that compound's; a loose building outside the community is left out
(``notes`` says so).

Territories
-----------
Each unit gets a *territory* and the territories cover the community exactly, without gap
or overlap (checked): a compound keeps its own polygon (clipped to the community; where two
compounds overlap, the first listed keeps the overlap); the land between the compounds is
first cut by the streets into faces, and each face is shared among the units that touch it
(a compound sharing part of its boundary, a loose building inside it) by nearest distance
(Voronoi cells of points every ``sample_step_m`` along the units' outlines). So the land
between a compound and the street in front of it goes to that compound, and two units facing
each other across a street meet on the street's centre line. A face that touches no unit (a
park between streets), and any piece of a territory cut off from its unit, goes to the
neighbouring territory it shares the longest boundary with.

Two units are *adjacent* when their territories share a boundary of positive length (more
than 1 cm); per link, the shared length and the length of it within ``street_buffer_m`` of a
street. A part is contiguous when its units are connected through such links.

Measures (:class:`PlanMeasures`)
--------------------------------
Per part: residents, households, floating, area (km²), compounds, buildings, units;
deviation of the balanced figure (``by``: residents or households) from ``total / parts``;
contiguity; Polsby–Popper ``4 pi A / P^2`` of the dissolved territory (``P`` = the units'
perimeters minus twice the boundaries shared inside the part); service points and centres
(kinds in ``centre_kinds``, default ``centre`` and ``sub_centre``: 党群服务中心 and 分中心)
in the part, open ones only (an ``is_open`` column, when there is one); 15-minute coverage:
the share of the part's residents whose building is within ``walk_limit_m`` (1,000 m, GB
50180-2018's 15-minute circle) of an open service point *of the same part* (walking metres
from ``walk_m`` when given, else straight metres times ``detour_factor``, 1.3, and
``coverage_source`` says ``"straight_line"``); cadres and staff split in proportion to
residents (largest remainder, at least one per part when there are enough) and residents per
cadre and per staff member. Per plan: the largest deviation against the tolerance, the share
of the new boundary (the links between parts) along streets, and grids cut: grids of which
more than 1 % of their area (within the community) lies in each of two parts or more.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix, csr_matrix, issparse
from scipy.sparse.csgraph import connected_components

import geopandas as gpd
import shapely
from shapely import STRtree

from gis_api.analysis import checks
from gis_api.analysis.errors import (
    CrsError,
    GeometryError,
    InvalidValueError,
    LockConflictError,
    MissingColumnError,
    OptionError,
    SplitColumnError,
    SplitCrsError,
    SplitInputError,
)
from gis_api.analysis.partition import (
    DEFAULT_KICKS,
    DEFAULT_STARTS,
    DEFAULT_TOLERANCE,
    MAX_PARTS,
    MIN_PARTS,
    PartitionStats,
    partition,
)
from layers import domain

__all__ = [
    "CENTRE_KINDS",
    "DEFAULT_TOLERANCE",
    "PlanMeasures",
    "PreparedSplit",
    "SplitPlan",
    "SplitResult",
    "measure_plan",
    "plan_boundaries",
    "plan_parts",
    "prepare_split",
    "split_community",
    "split_plans",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Objects = NDArray[np.object_]
By = Literal["residents", "households"]

#: Service point kinds that make a part's centre: the community centre and its sub-centres.
CENTRE_KINDS: tuple[str, ...] = ("centre", "sub_centre")
#: A grid is cut when more than this share of its area lies in each of two parts.
GRID_CUT_SHARE = 0.01

# Overlays snap to this grid (metres): territories then share their edges exactly.
_GRID_M = 0.01
# Links shorter than this (metres) are corner touches, not shared boundaries.
_MIN_LINK_M = 0.01
# A gap or overlap in the territories above this share of the community's area is an error.
_COVER_TOL = 1e-6
_LOOSE_PREFIX = "loose:"


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedSplit:
    """A community made ready for splitting: units, territories, links and lookups as arrays.

    Sizes: ``n`` units, ``E`` links, ``B`` buildings kept, ``S`` service points, ``G`` grids.

    Attributes
    ----------
    crs, community
        The layers' CRS and the community's (dissolved, snapped) polygon.
    unit_ids, unit_kind
        ``(n,)`` unit id (compound id, or ``loose:<building id>``) and ``"compound"`` or
        ``"loose"``.
    territories
        ``(n,)`` shapely polygons covering ``community`` exactly.
    area_m2, perimeter_m
        ``(n,)`` of the territories.
    residents, households, floating, buildings, compounds
        ``(n,)`` sums over the unit's buildings (``compounds`` is 1 for a compound unit).
    edge_i, edge_j, edge_length_m, edge_street_m
        ``(E,)`` links ``i < j``, shared boundary metres and the metres of it along streets.
    links, along
        ``(n, n)`` symmetric sparse matrices of the same (the core's input).
    building_ids, building_unit, building_residents
        ``(B,)`` buildings kept, each one's unit index and residents.
    point_ids, point_unit, point_open, point_centre
        ``(S,)`` service points, each one's unit index (-1 outside the community), whether
        open and whether a centre.
    reach
        ``(B, S)`` sparse COO boolean: building within the walk limit of the point.
    coverage_source
        ``"walk_matrix"`` or ``"straight_line"``.
    grid_ids, grid_area_m2, grid_unit_m2
        ``(G,)`` grid ids, each grid's area within the community, ``(n, G)`` dense area of
        each grid in each territory.
    staff, cadres
        As given (``None`` when not).
    by, tolerance
        What balances and how closely.
    lookup
        Unit index by unit id, compound id or building id (also by their ``str``).
    notes
        zh-CN notes on what was resolved on the way (overlaps, buildings left out).
    seconds
        Time :func:`prepare_split` took.
    """

    crs: Any
    community: Any
    unit_ids: Objects
    unit_kind: Objects
    territories: Objects
    area_m2: Floats
    perimeter_m: Floats
    residents: Floats
    households: Floats
    floating: Floats
    buildings: Ints
    compounds: Ints
    edge_i: Ints
    edge_j: Ints
    edge_length_m: Floats
    edge_street_m: Floats
    links: Any
    along: Any
    building_ids: Objects
    building_unit: Ints
    building_residents: Floats
    point_ids: Objects
    point_unit: Ints
    point_open: Bools
    point_centre: Bools
    reach: Any
    coverage_source: str
    grid_ids: Objects
    grid_area_m2: Floats
    grid_unit_m2: Floats
    staff: int | None
    cadres: int | None
    by: By
    tolerance: float
    lookup: Mapping[Hashable, int]
    notes: tuple[str, ...]
    seconds: float

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.unit_ids)

    @property
    def weights(self) -> Floats:
        """The balanced figure per unit (``by``)."""
        return self.residents if self.by == "residents" else self.households

    @property
    def edge_street_share(self) -> Floats:
        """``(E,)`` share of each link's shared boundary along streets."""
        return np.where(
            self.edge_length_m > 0, self.edge_street_m / np.maximum(self.edge_length_m, 1e-9), 0.0
        )

    def unit_index(self, key: Hashable) -> int:
        """Return the index of a unit named by its unit id, compound id or a building id."""
        if key in self.lookup:
            return self.lookup[key]
        if str(key) in self.lookup:
            return self.lookup[str(key)]
        msg = f"没有编号为 {key!r} 的小区、单元或楼栋"
        raise LockConflictError(msg, loc=("locks", str(key)))


@dataclass(frozen=True)
class PlanMeasures:
    """What a plan costs, per part (arrays of ``(k,)``) and for the whole plan.

    ``deviation_pct`` is signed (``100 * (W_p / ideal - 1)`` of the balanced figure);
    ``coverage`` the share (0-1) of the part's residents within the walk limit of one of its
    own open service points (``nan`` for a part without residents); ``cadres`` and ``staff``
    are ``None`` when not given, and then so are the per-cadre figures. ``flags`` are stable
    codes: ``tolerance_broken``, ``not_contiguous``, ``empty_part``, ``part_without_centre``.
    """

    parts: int
    residents: Floats
    households: Floats
    floating: Floats
    area_km2: Floats
    compounds: Ints
    buildings: Ints
    units: Ints
    deviation_pct: Floats
    max_deviation_pct: float
    tolerance_pct: float
    within_tolerance: bool
    contiguous: Bools
    polsby_popper: Floats
    mean_pp: float
    boundary_km: float
    street_share: float
    service_points: Ints
    centres: Ints
    has_centre: Bools
    coverage: Floats
    coverage_source: str
    cadres: Ints | None
    residents_per_cadre: Floats | None
    staff: Ints | None
    residents_per_staff: Floats | None
    grids_cut: int
    grids_cut_ids: tuple[Any, ...]
    flags: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """One row per part (``part`` 0..k-1) with every per-part measure."""
        data: dict[str, Any] = {
            "part": np.arange(self.parts),
            "residents": self.residents,
            "households": self.households,
            "floating": self.floating,
            "area_km2": self.area_km2,
            "compounds": self.compounds,
            "buildings": self.buildings,
            "units": self.units,
            "deviation_pct": self.deviation_pct,
            "contiguous": self.contiguous,
            "polsby_popper": self.polsby_popper,
            "service_points": self.service_points,
            "centres": self.centres,
            "has_centre": self.has_centre,
            "coverage": self.coverage,
        }
        if self.cadres is not None and self.residents_per_cadre is not None:
            data["cadres"] = self.cadres
            data["residents_per_cadre"] = self.residents_per_cadre
        if self.staff is not None and self.residents_per_staff is not None:
            data["staff"] = self.staff
            data["residents_per_staff"] = self.residents_per_staff
        return pd.DataFrame(data)

    def summary(self) -> dict[str, Any]:
        """Return the plan's figures as one flat row (for the comparison table)."""
        row: dict[str, Any] = {
            "parts": self.parts,
            "max_deviation_pct": self.max_deviation_pct,
            "tolerance_pct": self.tolerance_pct,
            "within_tolerance": self.within_tolerance,
            "all_contiguous": bool(self.contiguous.all()),
            "mean_pp": self.mean_pp,
            "min_pp": float(self.polsby_popper.min()),
            "boundary_km": self.boundary_km,
            "street_share": self.street_share,
            "parts_with_centre": int(self.has_centre.sum()),
            "min_coverage": _nanmin(self.coverage),
            "grids_cut": self.grids_cut,
            "flags": ",".join(self.flags),
        }
        if self.residents_per_cadre is not None:
            row["max_residents_per_cadre"] = float(np.max(self.residents_per_cadre))
        for p in range(self.parts):
            row[f"residents_{p}"] = float(self.residents[p])
        return row


@dataclass(frozen=True)
class SplitPlan:
    """One plan: a part per unit (``(n,)``, labels 0..k-1) and its measures."""

    part: Ints
    measures: PlanMeasures


@dataclass(frozen=True)
class SplitResult:
    """Plans for one community, best first (see :func:`split_plans`)."""

    prepared: PreparedSplit
    parts: int
    plans: tuple[SplitPlan, ...]
    stats: PartitionStats
    feasible: bool

    def assignments(self) -> pd.DataFrame:
        """One row per plan and building: ``plan``, ``building_id``, ``unit_id``, ``part``."""
        prep = self.prepared
        frames = [
            pd.DataFrame(
                {
                    "plan": i,
                    "building_id": prep.building_ids,
                    "unit_id": prep.unit_ids[prep.building_unit],
                    "part": plan.part[prep.building_unit],
                }
            )
            for i, plan in enumerate(self.plans)
        ]
        return pd.concat(frames, ignore_index=True)

    def measures(self) -> pd.DataFrame:
        """One row per plan: :meth:`PlanMeasures.summary` with ``plan`` first."""
        return pd.DataFrame(
            [{"plan": i, **plan.measures.summary()} for i, plan in enumerate(self.plans)]
        )

    def boundaries(self) -> gpd.GeoDataFrame:
        """One polygon per plan and part (``plan``, ``part``), each plan covering the community."""
        return plan_boundaries(self.prepared, [p.part for p in self.plans])


# --- the adapter --------------------------------------------------------------------------------


def split_community(
    community: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    parts: int = 2,
    tolerance: float = DEFAULT_TOLERANCE,
    by: By = "residents",
    locks: Mapping[Hashable, int] | None = None,
    plans: int = 5,
    seed: int = 0,
    time_budget_s: float = 10.0,
    **prepare: Any,
) -> SplitResult:
    """Prepare a community and split it: :func:`prepare_split` then :func:`split_plans`.

    ``prepare`` takes the other keywords of :func:`prepare_split` (``streets``,
    ``service_points``, ``grids``, ``staff``, ``cadres``, ``walk_m``, ...).
    """
    prepared = prepare_split(community, compounds, buildings, tolerance=tolerance, by=by, **prepare)
    return split_plans(
        prepared,
        parts=parts,
        locks=locks,
        plans=plans,
        seed=seed,
        time_budget_s=time_budget_s,
    )


def prepare_split(
    community: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    streets: gpd.GeoDataFrame | None = None,
    service_points: gpd.GeoDataFrame | None = None,
    grids: gpd.GeoDataFrame | None = None,
    staff: int | None = None,
    cadres: int | None = None,
    by: By = "residents",
    tolerance: float = DEFAULT_TOLERANCE,
    walk_m: Any = None,
    walk_limit_m: float = domain.SERVICE_CIRCLE_M,
    detour_factor: float = domain.DETOUR_FACTOR,
    street_buffer_m: float = 5.0,
    sample_step_m: float = 10.0,
    loose_group_m: float = 0.0,
    centre_kinds: Sequence[str] = CENTRE_KINDS,
) -> PreparedSplit:
    """Validate a community's layers and precompute units, territories, links and lookups.

    Parameters
    ----------
    community
        The community polygon (one row or several, dissolved), projected CRS in metres.
    compounds
        ``id`` (column or index, unique) and polygon ``geometry``.
    buildings
        ``id`` (unique), ``compound_id`` (missing: outside every compound), ``residents``,
        ``households`` (numbers >= 0), ``floating`` (optional, missing counts 0) and a
        footprint or point ``geometry``.
    streets
        Street centre lines (optional, may be empty): territories meet on them, and the new
        boundary's share along them is measured.
    service_points
        Points with ``kind`` (optional ``id``, ``is_open``); may be empty or ``None``.
    grids
        Grid polygons (optional ``id``); may be empty or ``None``.
    staff, cadres
        Community staff and cadres, split in proportion to residents (optional).
    by
        The figure to balance: ``"residents"`` or ``"households"``.
    tolerance
        Largest relative deviation of a part from ``total / parts``, in (0, 0.5].
    walk_m
        Optional walking metres from every building (rows of ``buildings``, in order) to
        every service point (rows of ``service_points``): a dense ``(B, S)`` array (``inf``
        or ``nan`` for no walk) or a scipy sparse matrix whose stored entries are the walks
        (as :func:`gis_api.analysis.walknet.distances_within` gives). Without it, straight
        metres times ``detour_factor`` stand in.
    walk_limit_m
        The 15-minute walk, metres (GB 50180-2018: 1,000 m).
    detour_factor
        Walking metres over straight metres when there is no ``walk_m``.
    street_buffer_m
        A shared boundary within this distance of a street runs along it.
    sample_step_m
        Spacing of the points along the units' outlines that share the land between them.
    loose_group_m
        Group loose buildings within this distance of each other (0: each its own unit).
    centre_kinds
        Service point kinds that count as a part's centre.

    Returns
    -------
    PreparedSplit

    Raises
    ------
    SplitCrsError
        If a layer has no CRS or a geographic one (also a :class:`CrsError`).
    CrsMismatchError
        If the layers are in different CRSs.
    SplitColumnError
        If a column is missing (also a :class:`MissingColumnError`).
    DuplicateIdError, InvalidValueError, GeometryError
        If an id repeats, a figure is missing or negative, a geometry is missing, or the
        territories fail to cover the community.
    SplitInputError
        If the community has no area or no compound or building in it.
    OptionError
        If an option is out of range.
    """
    t0 = time.perf_counter()
    layers = {
        "community": community,
        "compounds": compounds,
        "buildings": buildings,
        "streets": _given(streets),
        "service_points": _given(service_points),
        "grids": _given(grids),
    }
    try:
        crs = checks.metric_crs(layers)
    except CrsError as exc:
        raise SplitCrsError(exc.msg, loc=exc.loc) from exc
    tol = _check_prepare_options(
        by=by,
        tolerance=tolerance,
        walk_limit_m=walk_limit_m,
        detour_factor=detour_factor,
        street_buffer_m=street_buffer_m,
        sample_step_m=sample_step_m,
        loose_group_m=loose_group_m,
    )
    for name, frame, cols in (
        ("compounds", compounds, ("geometry",)),
        ("buildings", buildings, ("residents", "households", "geometry")),
    ):
        for col in cols:
            if col not in frame.columns and not (col == "geometry" and frame.geometry is not None):
                msg = f"参数 {name} 缺少 {col} 列"
                raise SplitColumnError(msg, loc=(name, col))
    if "compound_id" not in buildings.columns:
        msg = "参数 buildings 缺少 compound_id 列（所属小区编号；不在小区内的楼栋留空）"
        raise SplitColumnError(msg, loc=("buildings", "compound_id"))
    notes: list[str] = []
    area_c = _community_geometry(community)
    comp_ids, comp_geoms = _compounds(compounds, area_c, notes)
    b = _buildings(buildings, comp_ids)
    units = _units(
        b, comp_ids, comp_geoms, area_c, streets=streets, loose_group_m=loose_group_m, notes=notes
    )
    street_lines = _street_lines(streets, area_c)
    terr = _territories(
        area_c,
        units.core,
        units.is_compound,
        streets=street_lines,
        step_m=sample_step_m,
        notes=notes,
    )
    area = np.asarray(shapely.area(terr), dtype=np.float64)
    perim = np.asarray(shapely.length(terr), dtype=np.float64)
    ei, ej, el, es = _adjacency(terr, street_lines, street_buffer_m)
    n = len(terr)
    # Shared lengths are measured on the snapped overlay and may exceed a territory's own
    # length by millimetres on real outlines; a perimeter holds every boundary it shares.
    shared = np.bincount(ei, weights=el, minlength=n) + np.bincount(ej, weights=el, minlength=n)
    perim = np.maximum(perim, shared)
    links = _sym(ei, ej, el, n)
    along = _sym(ei, ej, es, n)
    bu = units.building_unit
    keep = bu >= 0

    def per_unit(values: Floats) -> Floats:
        got = np.bincount(bu[keep], weights=values[keep], minlength=n)
        return np.asarray(got, dtype=np.float64)

    residents, households = per_unit(b.residents), per_unit(b.households)
    floating = per_unit(b.floating)
    n_build = np.bincount(bu[keep], minlength=n).astype(np.int64)
    pts = _points(service_points, terr, centre_kinds)
    reach, source = _reach(
        b.geoms,
        keep,
        pts,
        walk_m=walk_m,
        limit_m=walk_limit_m,
        detour=detour_factor,
        n_rows=len(buildings),
        n_points=0 if service_points is None else len(service_points),
    )
    grid_ids, grid_area, grid_unit = _grids(grids, terr, area_c)
    return PreparedSplit(
        crs=crs,
        community=area_c,
        unit_ids=units.ids,
        unit_kind=np.where(units.is_compound, "compound", "loose").astype(object),
        territories=terr,
        area_m2=area,
        perimeter_m=perim,
        residents=residents,
        households=households,
        floating=floating,
        buildings=n_build,
        compounds=units.is_compound.astype(np.int64),
        edge_i=ei,
        edge_j=ej,
        edge_length_m=el,
        edge_street_m=es,
        links=links,
        along=along,
        building_ids=b.ids[keep],
        building_unit=bu[keep],
        building_residents=b.residents[keep],
        point_ids=pts.ids,
        point_unit=pts.unit,
        point_open=pts.open,
        point_centre=pts.centre,
        reach=reach,
        coverage_source=source,
        grid_ids=grid_ids,
        grid_area_m2=grid_area,
        grid_unit_m2=grid_unit,
        staff=_count("staff", "工作人员数", staff),
        cadres=_count("cadres", "干部数", cadres),
        by=by,
        tolerance=tol,
        lookup=_lookup(units.ids, b.ids[keep], bu[keep]),
        notes=tuple(notes),
        seconds=time.perf_counter() - t0,
    )


def split_plans(
    prepared: PreparedSplit,
    *,
    parts: int = 2,
    locks: Mapping[Hashable, int] | None = None,
    plans: int = 5,
    seed: int = 0,
    time_budget_s: float = 10.0,
    min_moved: int = 1,
    starts: int = DEFAULT_STARTS,
    kicks: int = DEFAULT_KICKS,
) -> SplitResult:
    """Several distinct plans splitting the prepared community into ``parts`` parts.

    The core (:func:`gis_api.analysis.partition.partition`) balances ``prepared.by`` within
    ``prepared.tolerance`` and maximizes the mean Polsby–Popper score; its Pareto filter also
    weighs the share of the new boundary along streets, the parts holding a centre, the
    lowest 15-minute coverage and the grids cut (the measures planners compare), so a plan
    is dropped only when another is at least as good on all of them and better on one.

    Parameters
    ----------
    prepared
        From :func:`prepare_split`.
    parts
        Number of parts, 2..8.
    locks
        ``{compound id, unit id or building id: part}``, parts ``0..parts-1``.
    plans
        Most plans returned.
    seed, time_budget_s, min_moved, starts, kicks
        As in :func:`gis_api.analysis.partition.partition` (the last two: the effort).

    Returns
    -------
    SplitResult

    Raises
    ------
    SplitInputError
        If the community has fewer units than parts (one compound cannot be split), or more
        separate pieces than parts.
    LockConflictError
        If a lock names nothing known, a part out of range, or cannot be kept.
    OptionError
        If an option is out of range.
    """
    n = prepared.n_units
    valid = isinstance(parts, int) and not isinstance(parts, bool)
    if valid and MIN_PARTS <= parts <= MAX_PARTS and n < parts:
        msg = f"社区只有 {n} 个可分单元，无法分成 {parts} 部分（小区不拆分）"
        raise SplitInputError(msg, loc=("parts",))
    lock_idx: dict[int, int] = {}
    for key, part in (locks or {}).items():
        lock_idx[prepared.unit_index(key)] = part
    if prepared.weights.sum() <= 0:
        what = "居民数" if prepared.by == "residents" else "户数"
        msg = f"社区各楼栋的{what}合计为 0，无法按{what}均衡划分"
        raise SplitInputError(msg, loc=("buildings", prepared.by))

    def criteria(part: Ints) -> tuple[float, ...]:
        m = measure_plan(prepared, part, parts=parts)
        low = float(np.nanmin(m.coverage)) if np.isfinite(m.coverage).any() else 0.0
        return (float(m.has_centre.sum()), low, -float(m.grids_cut))

    result = partition(
        prepared.weights,
        prepared.links,
        k=parts,
        areas=prepared.area_m2,
        perimeters=prepared.perimeter_m,
        locks=lock_idx,
        tolerance=prepared.tolerance,
        preferred=prepared.along,
        criteria=criteria,
        max_plans=plans,
        min_moved=min_moved,
        seed=seed,
        starts=starts,
        kicks=kicks,
        time_budget_s=time_budget_s,
        unit_names=[str(u) for u in prepared.unit_ids],
    )
    out = tuple(
        SplitPlan(part=p.part, measures=measure_plan(prepared, p.part, parts=parts))
        for p in result.plans
    )
    return SplitResult(
        prepared=prepared, parts=parts, plans=out, stats=result.stats, feasible=result.feasible
    )


def measure_plan(
    prepared: PreparedSplit,
    assignment: ArrayLike | Mapping[Hashable, int],
    *,
    parts: int | None = None,
) -> PlanMeasures:
    """Measure one assignment of units to parts (a few milliseconds: arrays only).

    Parameters
    ----------
    prepared
        From :func:`prepare_split`.
    assignment
        ``(n,)`` part (0..k-1) of every unit, in ``prepared.unit_ids`` order, or a mapping
        ``{unit id, compound id or building id: part}`` naming every unit.
    parts
        Number of parts ``k`` (default: the largest part + 1); a part without units is
        measured as empty and flagged.

    Returns
    -------
    PlanMeasures

    Raises
    ------
    InvalidValueError
        If the assignment has the wrong length, misses a unit or holds a negative part.
    """
    x = plan_parts(prepared, assignment, parts=parts)
    k = int(parts) if parts is not None else int(x.max()) + 1

    def per(values: ArrayLike) -> Floats:
        got = np.bincount(x, weights=np.asarray(values, dtype=np.float64), minlength=k)
        return np.asarray(got, dtype=np.float64)

    res, hh = per(prepared.residents), per(prepared.households)
    units = np.bincount(x, minlength=k).astype(np.int64)
    weight = res if prepared.by == "residents" else hh
    ideal = float(weight.sum()) / k
    dev = (weight / ideal - 1.0) * 100.0 if ideal > 0 else np.zeros(k)
    max_dev = float(np.abs(dev).max())
    tol_pct = prepared.tolerance * 100.0
    shape = _shape(prepared, x, k)
    n_points, n_centres, coverage = _service(prepared, x, k)
    cadres = _apportion(prepared.cadres, res) if prepared.cadres is not None else None
    staff = _apportion(prepared.staff, res) if prepared.staff is not None else None
    cut_grids = _grids_cut(prepared, x, k)
    flags = []
    if max_dev > tol_pct + 1e-7:
        flags.append("tolerance_broken")
    if (units == 0).any():
        flags.append("empty_part")
    if not shape.contiguous[units > 0].all():
        flags.append("not_contiguous")
    if (n_centres == 0).any():
        flags.append("part_without_centre")
    return PlanMeasures(
        parts=k,
        residents=res,
        households=hh,
        floating=per(prepared.floating),
        area_km2=per(prepared.area_m2) / 1e6,
        compounds=per(prepared.compounds).astype(np.int64),
        buildings=per(prepared.buildings).astype(np.int64),
        units=units,
        deviation_pct=dev,
        max_deviation_pct=max_dev,
        tolerance_pct=tol_pct,
        within_tolerance=max_dev <= tol_pct + 1e-7,
        contiguous=shape.contiguous,
        polsby_popper=shape.pp,
        mean_pp=float(shape.pp.mean()),
        boundary_km=shape.cut_m / 1000.0,
        street_share=shape.street_share,
        service_points=n_points,
        centres=n_centres,
        has_centre=n_centres > 0,
        coverage=coverage,
        coverage_source=prepared.coverage_source,
        cadres=cadres,
        residents_per_cadre=_per(res, cadres),
        staff=staff,
        residents_per_staff=_per(res, staff),
        grids_cut=len(cut_grids),
        grids_cut_ids=tuple(prepared.grid_ids[cut_grids].tolist()),
        flags=tuple(flags),
    )


def plan_parts(
    prepared: PreparedSplit,
    assignment: ArrayLike | Mapping[Hashable, int],
    *,
    parts: int | None = None,
) -> Ints:
    """Return an assignment as the ``(n,)`` part of every unit, checked (see :func:`measure_plan`).

    Raises
    ------
    InvalidValueError
        If the assignment has the wrong length, misses a unit, names an unknown one, or holds
        a part outside ``0..parts-1``.
    """
    x = _assignment(prepared, assignment)
    k = int(parts) if parts is not None else int(x.max()) + 1
    if len(x) and x.max() >= k:
        i = int(np.argmax(x))
        msg = f"单元 {prepared.unit_ids[i]} 分到第 {int(x[i]) + 1} 部分，超出 {k} 部分"
        raise InvalidValueError(msg, loc=("assignment", str(prepared.unit_ids[i])))
    return x


def plan_boundaries(
    prepared: PreparedSplit, assignments: Sequence[ArrayLike | Mapping[Hashable, int]]
) -> gpd.GeoDataFrame:
    """One polygon per plan and part (``plan``, ``part``, ``geometry``): territories dissolved.

    Each plan's polygons cover the community exactly (the territories do).
    """
    rows: list[dict[str, Any]] = []
    for i, a in enumerate(assignments):
        x = _assignment(prepared, a)
        for p in range(int(x.max()) + 1):
            members = prepared.territories[x == p]
            geom = shapely.union_all(members, grid_size=_GRID_M) if len(members) else None
            rows.append({"plan": i, "part": p, "geometry": geom})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=prepared.crs)


# --- measures' helpers --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    pp: Floats
    contiguous: Bools
    cut_m: float
    street_share: float


def _shape(prepared: PreparedSplit, x: Ints, k: int) -> _Shape:
    """Return Polsby–Popper and contiguity per part, the new boundary and its street share."""
    n = len(x)
    ei, ej, el = prepared.edge_i, prepared.edge_j, prepared.edge_length_m
    same = x[ei] == x[ej]
    area = np.bincount(x, weights=prepared.area_m2, minlength=k)
    inner = np.bincount(x[ei][same], weights=el[same], minlength=k)
    perim = np.bincount(x, weights=prepared.perimeter_m, minlength=k) - 2.0 * inner
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = np.where(perim > 0, 4.0 * math.pi * area / np.maximum(perim, 1e-300) ** 2, 0.0)
    cut = ~same
    cut_m = float(el[cut].sum())
    share = float(prepared.edge_street_m[cut].sum()) / cut_m if cut_m > 0 else 0.0
    # contiguous: the links inside the parts leave one component per part
    G = csr_matrix((np.ones(int(same.sum())), (ei[same], ej[same])), shape=(n, n))
    _, comp = connected_components(G, directed=False)
    pairs = np.unique(np.column_stack([x, comp]), axis=0)
    pieces = np.bincount(pairs[:, 0], minlength=k)
    return _Shape(np.asarray(pp, dtype=np.float64), pieces == 1, cut_m, share)


def _service(prepared: PreparedSplit, x: Ints, k: int) -> tuple[Ints, Ints, Floats]:
    """Return open service points and centres per part, and coverage by the part's own."""
    pu = prepared.point_unit
    inside = pu >= 0
    p_part = np.full(len(pu), -1, dtype=np.int64)
    p_part[inside] = x[pu[inside]]
    open_in = inside & prepared.point_open
    n_points = np.bincount(p_part[open_in], minlength=k).astype(np.int64)
    n_centres = np.bincount(p_part[open_in & prepared.point_centre], minlength=k).astype(np.int64)
    b_part = x[prepared.building_unit]
    covered = np.zeros(len(b_part), dtype=np.bool_)
    reach = prepared.reach
    if reach.nnz:
        own = (p_part[reach.col] == b_part[reach.row]) & open_in[reach.col]
        covered[reach.row[own]] = True
    res = prepared.building_residents
    res_b = np.bincount(b_part, weights=res, minlength=k)
    res_cov = np.bincount(b_part[covered], weights=res[covered], minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(res_b > 0, res_cov / np.maximum(res_b, 1e-300), math.nan)
    return n_points, n_centres, np.asarray(coverage, dtype=np.float64)


def _grids_cut(prepared: PreparedSplit, x: Ints, k: int) -> Ints:
    """Return the grids with more than 1 % of their area in each of two parts or more."""
    if len(prepared.grid_ids) == 0:
        return np.zeros(0, dtype=np.int64)
    n = len(x)
    onehot = np.zeros((k, n))
    onehot[x, np.arange(n)] = 1.0
    in_part = onehot @ prepared.grid_unit_m2
    sides = (in_part > GRID_CUT_SHARE * prepared.grid_area_m2[None, :]).sum(axis=0)
    return np.asarray(np.flatnonzero(sides >= 2), dtype=np.int64)


def _assignment(prepared: PreparedSplit, assignment: ArrayLike | Mapping[Hashable, int]) -> Ints:
    n = prepared.n_units
    if isinstance(assignment, Mapping):
        x = np.full(n, -1, dtype=np.int64)
        for key, part in assignment.items():
            try:
                x[prepared.unit_index(key)] = int(part)
            except LockConflictError as exc:
                raise InvalidValueError(exc.msg, loc=("assignment", str(key))) from exc
        missing = np.flatnonzero(x < 0)
        if len(missing):
            i = int(missing[0])
            msg = (
                f"方案没有给单元 {prepared.unit_ids[i]} 指定部分（共 {len(missing)} 个单元未指定）"
            )
            raise InvalidValueError(msg, loc=("assignment", str(prepared.unit_ids[i])))
        return x
    try:
        x = np.asarray(assignment, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as exc:
        msg = "方案应为每个单元的部分编号（整数数组）或 {单元编号: 部分} 映射"
        raise InvalidValueError(msg, loc=("assignment",)) from exc
    if len(x) != n:
        msg = f"方案有 {len(x)} 个值，与 {n} 个单元不一致"
        raise InvalidValueError(msg, loc=("assignment",))
    if n and x.min() < 0:
        i = int(np.argmin(x))
        msg = f"单元 {prepared.unit_ids[i]} 的部分编号为 {int(x[i])}，应为 0 及以上"
        raise InvalidValueError(msg, loc=("assignment", i))
    return x


def _apportion(total: int, residents: Floats) -> Ints:
    """``total`` people split in proportion to residents: largest remainder, one per part first.

    >>> _apportion(8, np.array([30000.0, 10335.0])).tolist()
    [6, 2]
    >>> _apportion(2, np.array([10.0, 0.0, 0.0])).tolist()
    [1, 1, 0]
    """
    k = len(residents)
    r = np.maximum(residents, 0.0)
    share = r / r.sum() if r.sum() > 0 else np.full(k, 1.0 / k)
    out = np.zeros(k, dtype=np.int64)
    left = total
    if total >= k:
        out += 1  # every part gets one before the rest is shared out
        left -= k
        quota = share * total - 1.0
    else:
        quota = share * total
    quota = np.maximum(quota, 0.0)
    quota = quota * (left / quota.sum()) if quota.sum() > 0 else np.full(k, left / k)
    base = np.floor(quota).astype(np.int64)
    out += base
    rest = left - int(base.sum())
    if rest > 0:
        order = np.lexsort((np.arange(k), -(quota - base)))
        out[order[:rest]] += 1
    return out


def _nanmin(values: Floats) -> float:
    return float(np.nanmin(values)) if np.isfinite(values).any() else math.nan


def _per(residents: Floats, people: Ints | None) -> Floats | None:
    if people is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(people > 0, residents / np.maximum(people, 1), math.inf)


def _lookup(unit_ids: Objects, building_ids: Objects, building_unit: Ints) -> dict[Hashable, int]:
    lookup: dict[Hashable, int] = {}
    for b, u in zip(building_ids.tolist(), building_unit.tolist(), strict=True):
        lookup[b] = u
        lookup[str(b)] = u
    for i, uid in enumerate(unit_ids.tolist()):
        lookup[uid] = i
        lookup[str(uid)] = i
    return lookup


# --- preparation's helpers --------------------------------------------------------------------


def _ids(frame: pd.DataFrame, name: str) -> Objects:
    """``checks.ids`` of column or index ``id``, a missing one as :class:`SplitColumnError`."""
    try:
        return checks.ids(frame, name, "id")
    except MissingColumnError as exc:
        raise SplitColumnError(exc.msg, loc=exc.loc) from exc


def _given(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    return frame if frame is not None and len(frame) else None


def _check_prepare_options(
    *,
    by: Any,
    tolerance: Any,
    walk_limit_m: Any,
    detour_factor: Any,
    street_buffer_m: Any,
    sample_step_m: Any,
    loose_group_m: Any,
) -> float:
    if by not in ("residents", "households"):
        msg = f"参数 by（均衡依据）应为 residents（居民数）或 households（户数），实际为 {by!r}"
        raise OptionError(msg, loc=("by",))
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        tol = math.nan
    if not (0.0 < tol <= 0.5):
        msg = f"参数 tolerance（允许偏差）应为大于 0、不超过 0.5 的比例，实际为 {tolerance!r}"
        raise OptionError(msg, loc=("tolerance",))
    checks.positive("walk_limit_m", walk_limit_m)
    checks.positive("street_buffer_m", street_buffer_m)
    checks.positive("sample_step_m", sample_step_m)
    if checks.positive("detour_factor", detour_factor) < 1.0:
        msg = f"参数 detour_factor（绕行系数）应不小于 1，实际为 {detour_factor!r}"
        raise OptionError(msg, loc=("detour_factor",))
    try:
        group = float(loose_group_m)
    except (TypeError, ValueError):
        group = math.nan
    if not (math.isfinite(group) and group >= 0):
        msg = f"参数 loose_group_m（零散楼栋合并距离）应为非负米数，实际为 {loose_group_m!r}"
        raise OptionError(msg, loc=("loose_group_m",))
    return tol


def _count(name: str, zh: str, value: Any) -> int | None:
    if value is None:
        return None
    try:
        v = int(value)
    except (TypeError, ValueError):
        v = -1
    if isinstance(value, bool) or v < 0 or v != value:
        msg = f"参数 {name}（{zh}）应为非负整数，实际为 {value!r}"
        raise OptionError(msg, loc=(name,))
    return v


def _community_geometry(community: gpd.GeoDataFrame) -> Any:
    geoms = np.asarray(community.geometry.to_numpy(), dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0:
        msg = "参数 community 没有社区范围（几何图形缺失或为空）"
        raise GeometryError(msg, loc=("community", "geometry"))
    # Snapped to the overlay grid first: every later overlay then keeps its edges exactly.
    area = shapely.set_precision(shapely.union_all(_valid_polygons(geoms)), _GRID_M)
    area = _polygonal(area)
    if area is None or shapely.area(area) <= 0:
        msg = "参数 community 的社区范围不是面（面积为 0），无法划分"
        raise SplitInputError(msg, loc=("community", "geometry"))
    return area


def _valid_polygons(geoms: Objects) -> Objects:
    """Return each geometry made valid, keeping its polygons (an empty polygon if none)."""
    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(shapely.make_valid(geoms)):
        poly = _polygonal(g)
        out[i] = poly if poly is not None else shapely.Polygon()
    return out


def _polygonal(geom: Any) -> Any:
    """Return the polygons of a geometry (not the lines and points of an overlay), or None."""
    if geom is None or shapely.is_empty(geom):
        return None
    parts = np.asarray(shapely.get_parts(geom), dtype=object)
    polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    if len(polys) == 0:
        return None
    if len(polys) == 1 and shapely.get_type_id(polys[0]) == 3:
        return polys[0]
    return shapely.union_all(polys, grid_size=_GRID_M)


def _compounds(
    compounds: gpd.GeoDataFrame, area_c: Any, notes: list[str]
) -> tuple[Objects, Objects]:
    """Compound ids and polygons clipped to the community, made disjoint (first listed wins)."""
    if len(compounds) == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=object)
    ids = _ids(compounds, "compounds")
    geoms = checks.checked_geometries(compounds, ids, layer="compounds", noun="小区")
    clipped = shapely.intersection(_valid_polygons(geoms), area_c, grid_size=_GRID_M)
    out = np.empty(len(ids), dtype=object)
    taken: list[Any] = []
    tree_geoms: list[Any] = []
    for i, g in enumerate(clipped):
        poly = _polygonal(g)
        if poly is None:
            msg = f"小区 {ids[i]} 不在社区范围内（与社区范围没有重叠的面）"
            raise SplitInputError(msg, loc=("compounds", i, "geometry"))
        if tree_geoms:
            hits = STRtree(tree_geoms).query(poly, predicate="intersects")
            if len(hits):
                before = shapely.area(poly)
                poly = _polygonal(
                    shapely.difference(
                        poly, shapely.union_all([tree_geoms[h] for h in hits]), grid_size=_GRID_M
                    )
                )
                lost = before - (shapely.area(poly) if poly is not None else 0.0)
                if lost > 1.0:
                    notes.append(
                        f"小区 {ids[i]} 与前面的小区重叠 {lost:.0f} 平方米，重叠部分归前者"
                    )
                if poly is None:
                    msg = f"小区 {ids[i]} 完全被其他小区覆盖，无法作为单独单元"
                    raise GeometryError(msg, loc=("compounds", i, "geometry"))
        out[i] = poly
        taken.append(poly)
        tree_geoms.append(poly)
    del taken
    return ids, out


@dataclass(frozen=True)
class _Buildings:
    ids: Objects
    compound: Objects  # compound id or None
    residents: Floats
    households: Floats
    floating: Floats
    geoms: Objects


def _buildings(buildings: gpd.GeoDataFrame, comp_ids: Objects) -> _Buildings:
    ids = _ids(buildings, "buildings")
    geoms = checks.checked_geometries(buildings, ids, layer="buildings", noun="楼栋")
    figures = {}
    for col, zh, required in (
        ("residents", "居民数", True),
        ("households", "户数", True),
        ("floating", "流动人口", False),
    ):
        if col not in buildings.columns:
            figures[col] = np.zeros(len(ids))
            continue
        raw = buildings[col]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        wrong = np.flatnonzero(np.isnan(values) & ~raw.isna().to_numpy())
        if len(wrong):
            i = int(wrong[0])
            msg = f"楼栋 {ids[i]} 的{zh}（{col}）不是数值：{raw.iloc[i]!r}"
            raise InvalidValueError(msg, loc=("buildings", i, col))
        missing = np.flatnonzero(np.isnan(values))
        if len(missing) and required:
            i = int(missing[0])
            msg = f"楼栋 {ids[i]} 缺少{zh}（{col}）；请先补录（共 {len(missing)} 栋缺少）"
            raise InvalidValueError(msg, loc=("buildings", i, col))
        values = np.where(np.isnan(values), 0.0, values)
        neg = np.flatnonzero(values < 0)
        if len(neg):
            i = int(neg[0])
            msg = f"楼栋 {ids[i]} 的{zh}（{col}）为 {values[i]:g}，应为非负数"
            raise InvalidValueError(msg, loc=("buildings", i, col))
        figures[col] = values
    known = {c: c for c in comp_ids.tolist()} | {str(c): c for c in comp_ids.tolist()}
    compound = np.empty(len(ids), dtype=object)
    for i, c in enumerate(buildings["compound_id"].tolist()):
        if c is None or (isinstance(c, float) and math.isnan(c)) or c is pd.NA:
            compound[i] = None
        elif c in known or str(c) in known:
            compound[i] = known.get(c, known.get(str(c)))
        else:
            msg = f"楼栋 {ids[i]} 的所属小区 {c!r}（compound_id）不在小区图层中"
            raise InvalidValueError(msg, loc=("buildings", i, "compound_id"))
    return _Buildings(
        ids, compound, figures["residents"], figures["households"], figures["floating"], geoms
    )


@dataclass(frozen=True)
class _Units:
    ids: Objects
    is_compound: Bools
    core: Objects  # compound polygon, or the loose buildings' footprints (within the land)
    building_unit: Ints  # per building row, -1 when left out


def _units(
    b: _Buildings,
    comp_ids: Objects,
    comp_geoms: Objects,
    area_c: Any,
    *,
    streets: gpd.GeoDataFrame | None,
    loose_group_m: float,
    notes: list[str],
) -> _Units:
    """Return the units: compounds first, then loose buildings (alone or grouped)."""
    n_c = len(comp_ids)
    pos = {c: i for i, c in enumerate(comp_ids.tolist())}
    bu = np.full(len(b.ids), -1, dtype=np.int64)
    for i, c in enumerate(b.compound.tolist()):
        if c is not None:
            bu[i] = pos[c]
    loose = np.flatnonzero(bu < 0)
    rep = shapely.point_on_surface(b.geoms[loose])
    if n_c and len(loose):
        tree = STRtree(comp_geoms)
        pt_idx, comp_idx = tree.query(rep, predicate="within")
        first = pd.Series(comp_idx).groupby(pt_idx).min()
        for p, c in zip(first.index.tolist(), first.tolist(), strict=True):
            bu[loose[int(p)]] = int(c)
        if len(first):
            notes.append(f"{len(first)} 栋楼没有填所属小区但位于小区内，按所在小区计")
    loose = np.flatnonzero(bu < 0)
    outside = loose[~shapely.within(shapely.point_on_surface(b.geoms[loose]), area_c)]
    if len(outside):
        shown = "、".join(str(x) for x in b.ids[outside][:5])
        notes.append(f"{len(outside)} 栋零散楼栋在社区范围外，未计入：{shown}")
    loose = np.setdiff1d(loose, outside)
    land = shapely.difference(area_c, shapely.union_all(comp_geoms), grid_size=_GRID_M)
    groups = _loose_groups(b.geoms[loose], streets, loose_group_m)
    ids = list(comp_ids.tolist())
    core = list(comp_geoms.tolist())
    for members in groups:
        rows = loose[members]
        u = len(ids)
        ids.append(f"{_LOOSE_PREFIX}{b.ids[rows[0]]}")
        fp = shapely.union_all(b.geoms[rows], grid_size=_GRID_M)
        inside = shapely.intersection(fp, land, grid_size=_GRID_M)
        if shapely.is_empty(inside):
            # a point building or one on a compound's edge: its representative point
            inside = shapely.point_on_surface(fp)
        core.append(inside)
        bu[rows] = u
    if len(ids) == 0:
        msg = "社区内没有小区，也没有楼栋，无法划分"
        raise SplitInputError(msg, loc=("compounds",))
    return _Units(
        np.asarray(ids, dtype=object),
        np.r_[np.ones(n_c, dtype=np.bool_), np.zeros(len(groups), dtype=np.bool_)],
        np.asarray(core, dtype=object),
        bu,
    )


def _loose_groups(geoms: Objects, streets: gpd.GeoDataFrame | None, group_m: float) -> list[Ints]:
    """Loose buildings (positions) grouped within ``group_m``, not across a street."""
    n = len(geoms)
    if group_m <= 0 or n < 2:
        return [np.array([i], dtype=np.int64) for i in range(n)]
    tree = STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=group_m)
    keep = i < j
    i, j = i[keep], j[keep]
    if streets is not None and len(streets) and len(i):
        pts = shapely.point_on_surface(geoms)
        segs = shapely.linestrings(
            np.stack(
                [
                    np.column_stack([shapely.get_x(pts[i]), shapely.get_y(pts[i])]),
                    np.column_stack([shapely.get_x(pts[j]), shapely.get_y(pts[j])]),
                ],
                axis=1,
            )
        )
        lines = np.asarray(streets.geometry.to_numpy(), dtype=object)
        s_idx, _ = STRtree(lines).query(segs, predicate="intersects")
        crosses = np.zeros(len(i), dtype=np.bool_)
        crosses[s_idx] = True
        i, j = i[~crosses], j[~crosses]
    G = csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, label = connected_components(G, directed=False)
    order = np.argsort(label, kind="stable")
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    groups = [np.asarray(g, dtype=np.int64) for g in np.split(order, cuts)]
    return sorted(groups, key=lambda g: int(g[0]))


def _street_lines(streets: gpd.GeoDataFrame | None, area_c: Any) -> Any:
    """Street lines clipped to the community, noded (one geometry), or None."""
    if streets is None or len(streets) == 0:
        return None
    lines = np.asarray(streets.geometry.to_numpy(), dtype=object)
    lines = lines[~(shapely.is_missing(lines) | shapely.is_empty(lines))]
    if len(lines) == 0:
        return None
    merged = shapely.intersection(
        shapely.union_all(lines, grid_size=_GRID_M), area_c, grid_size=_GRID_M
    )
    parts = np.asarray(shapely.get_parts(merged), dtype=object)
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2, 5))]
    return shapely.union_all(parts, grid_size=_GRID_M) if len(parts) else None


def _territories(
    area_c: Any,
    core: Objects,
    is_compound: Bools,
    *,
    streets: Any,
    step_m: float,
    notes: list[str],
) -> Objects:
    """Return one polygon per unit covering ``area_c`` exactly (see the module docstring)."""
    n = len(core)
    comp_union = (
        shapely.union_all(core[is_compound], grid_size=_GRID_M) if is_compound.any() else None
    )
    land = (
        shapely.difference(area_c, comp_union, grid_size=_GRID_M)
        if comp_union is not None
        else area_c
    )
    land = _polygonal(land)
    shares = _Land(
        core=core,
        tree=STRtree(core),
        is_compound=is_compound,
        step_m=step_m,
        pieces=[[core[u]] if is_compound[u] else [] for u in range(n)],
        orphans=[],
    )
    if land is not None:
        for face in _faces(land, streets):
            _share_face(face, shares)
    pieces, orphans = shares.pieces, shares.orphans
    terr = np.empty(n, dtype=object)
    for u in range(n):
        terr[u] = _polygonal(shapely.union_all(pieces[u], grid_size=_GRID_M)) if pieces[u] else None
    terr = _reattach(terr, core, orphans, notes)
    total = float(shapely.area(area_c))
    areas = np.asarray([shapely.area(t) if t is not None else 0.0 for t in terr])
    union = shapely.union_all(terr, grid_size=_GRID_M)
    union_area = float(shapely.area(union))
    # Gaps (and land outside the community) are measured on the overlay grid: snapping the cuts
    # to it leaves slivers narrower than the grid along long straight edges, which add up to
    # square metres on a long outline (a 4 km one, ~0.6 mm on average: 2.5 m²) but are no gap.
    gap = float(shapely.area(shapely.symmetric_difference(area_c, union, grid_size=_GRID_M)))
    overlap = abs(float(areas.sum()) - union_area)
    if gap > _COVER_TOL * total + 1.0 or overlap > _COVER_TOL * total + 1.0:
        msg = (
            f"各单元的领地未能恰好覆盖社区范围（缝隙 {gap:.1f} 平方米、"
            f"重叠 {overlap:.1f} 平方米）；请检查社区与小区的几何图形"
        )
        raise GeometryError(msg, loc=("community", "geometry"))
    return terr


def _faces(land: Any, streets: Any) -> list[Any]:
    """Return the land cut into faces by the streets (its own pieces without streets)."""
    polys = list(shapely.get_parts(land))
    if streets is None:
        return polys
    faces: list[Any] = []
    tree = STRtree(polys)
    hit = set(tree.query(streets, predicate="intersects").tolist())
    for i, poly in enumerate(polys):
        if i not in hit:
            faces.append(poly)
            continue
        lines = shapely.union_all(
            [shapely.boundary(poly), shapely.intersection(streets, poly, grid_size=_GRID_M)],
            grid_size=_GRID_M,
        )
        cells = np.asarray(shapely.get_parts(shapely.polygonize([lines])), dtype=object)
        if len(cells) == 0:
            faces.append(poly)
            continue
        # polygonize also fills the holes; keep the cells inside the land
        inside = shapely.within(shapely.point_on_surface(cells), poly)
        cells = cells[inside]
        got = float(shapely.area(cells).sum())
        if abs(got - shapely.area(poly)) > 1e-6 * max(1.0, shapely.area(poly)):
            faces.append(poly)  # could not cut it cleanly: keep the piece whole
            continue
        faces.extend(cells.tolist())
    return faces


@dataclass
class _Land:
    """The units' cores and what the faces of land have been given so far."""

    core: Objects
    tree: STRtree
    is_compound: Bools
    step_m: float
    pieces: list[list[Any]]
    orphans: list[Any]


def _share_face(face: Any, land: _Land) -> None:
    """Give a face to the units touching it, split by nearest distance to their outlines."""
    touching = _touching(face, land)
    if not touching:
        land.orphans.append(face)
        return
    if len(touching) == 1:
        land.pieces[touching[0]].append(face)
        return
    xy, labels = _outline_points(face, touching, land)
    if len(np.unique(labels)) == 1:
        land.pieces[int(labels[0])].append(face)
        return
    cells = shapely.voronoi_polygons(
        shapely.multipoints(xy), extend_to=shapely.buffer(face, 10.0), ordered=True
    )
    cells = np.asarray(shapely.get_parts(cells), dtype=object)
    if len(cells) == len(xy):
        cell_label = labels
    else:
        # degenerate points: label each cell by the point nearest to it
        points = np.asarray(shapely.points(xy), dtype=object)
        nearest = STRtree(points).nearest(shapely.point_on_surface(cells))
        cell_label = labels[nearest]
    for u in np.unique(cell_label).tolist():
        region = shapely.coverage_union_all(cells[cell_label == u])
        part = _polygonal(shapely.intersection(region, face, grid_size=_GRID_M))
        if part is not None:
            land.pieces[u].append(part)


def _touching(face: Any, land: _Land) -> list[int]:
    """Return the units touching a face: compounds along a boundary, loose buildings in it."""
    out = []
    for u in land.tree.query(face, predicate="intersects").tolist():
        core = land.core[u]
        if land.is_compound[u]:
            ring = shapely.buffer(face, _GRID_M)
            if shapely.length(shapely.intersection(shapely.boundary(core), ring)) > _MIN_LINK_M:
                out.append(u)
        elif shapely.intersects(core, face):
            out.append(u)
    return out


def _outline_points(face: Any, units: list[int], land: _Land) -> tuple[Floats, Ints]:
    """Return points every ``step_m`` along the units' outlines near a face, and their unit."""
    xy_list, label_list = [], []
    for u in units:
        core = land.core[u]
        outline = shapely.boundary(core) if shapely.get_dimensions(core) == 2 else core
        if land.is_compound[u]:
            outline = shapely.intersection(outline, shapely.buffer(face, land.step_m))
        pts = shapely.get_coordinates(shapely.segmentize(outline, land.step_m))
        if len(pts) == 0:
            pts = shapely.get_coordinates(shapely.point_on_surface(core))
        xy_list.append(pts)
        label_list.append(np.full(len(pts), u, dtype=np.int64))
    xy, first = np.unique(np.round(np.vstack(xy_list), 2), axis=0, return_index=True)
    return np.asarray(xy, dtype=np.float64), np.concatenate(label_list)[first]


def _reattach(terr: Objects, core: Objects, orphans: list[Any], notes: list[str]) -> Objects:
    """Give cut-off pieces and unclaimed faces to the territory they share most boundary with.

    A piece touching no territory at all (an island of the community without units) goes to
    the nearest unit, and ``notes`` says so.
    """
    pieces = list(orphans) + _detach(terr, core)
    for _ in range(4):
        if not pieces:
            break
        pieces = _give(terr, pieces)
    if pieces:
        tree = STRtree(_alive(terr))
        for piece in pieces:
            u = int(tree.nearest(piece))
            terr[u] = _polygonal(shapely.union_all([terr[u], piece], grid_size=_GRID_M))
        notes.append(f"社区范围有 {len(pieces)} 块不与任何单元相连的飞地，归入最近的单元")
    for u in range(len(terr)):
        if terr[u] is None:
            # a loose building that got no land (e.g. on a compound's edge): its footprint
            terr[u] = shapely.buffer(core[u], _GRID_M)
    return terr


def _alive(terr: Objects) -> Objects:
    return np.asarray([t if t is not None else shapely.Point() for t in terr], dtype=object)


def _detach(terr: Objects, core: Objects) -> list[Any]:
    """Keep each territory's pieces that touch its unit; return the others."""
    out: list[Any] = []
    for u, t in enumerate(terr):
        if t is None:
            continue
        parts = np.asarray(shapely.get_parts(t), dtype=object)
        if len(parts) == 1:
            continue
        attached = shapely.intersects(parts, shapely.buffer(core[u], _GRID_M))
        if not attached.any():
            attached[int(np.argmax(shapely.area(parts)))] = True
        terr[u] = _polygonal(shapely.union_all(parts[attached], grid_size=_GRID_M))
        out.extend(parts[~attached].tolist())
    return out


def _give(terr: Objects, pieces: list[Any]) -> list[Any]:
    """Give each piece to the territory sharing most boundary with it; return the rest."""
    still: list[Any] = []
    for piece in pieces:
        ring = shapely.buffer(shapely.boundary(piece), _GRID_M)
        best, best_len = -1, _MIN_LINK_M
        for u in STRtree(_alive(terr)).query(piece, predicate="intersects").tolist():
            if terr[u] is not None:
                shared = shapely.length(shapely.intersection(shapely.boundary(terr[u]), ring))
                if shared > best_len:
                    best, best_len = u, shared
        if best < 0:
            still.append(piece)
        else:
            terr[best] = _polygonal(shapely.union_all([terr[best], piece], grid_size=_GRID_M))
    return still


def _adjacency(terr: Objects, streets: Any, buffer_m: float) -> tuple[Ints, Ints, Floats, Floats]:
    """Links between territories sharing a boundary, their lengths and lengths along streets."""
    tree = STRtree(terr)
    i, j = tree.query(terr, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    bounds = shapely.boundary(terr)
    shared = shapely.intersection(bounds[i], bounds[j], grid_size=_GRID_M)
    lines = shapely.line_merge(_line_parts(shared))
    length = np.asarray(shapely.length(lines), dtype=np.float64)
    ok = length > _MIN_LINK_M
    i, j, lines, length = i[ok], j[ok], lines[ok], length[ok]
    if streets is not None and len(i):
        zone = shapely.buffer(streets, buffer_m)
        shapely.prepare(zone)
        along = np.asarray(shapely.length(shapely.intersection(lines, zone)), dtype=np.float64)
        along = np.minimum(along, length)
    else:
        along = np.zeros(len(i))
    return i.astype(np.int64), j.astype(np.int64), length, along


def _line_parts(geoms: Objects) -> Objects:
    """Return the linear parts of each geometry (an intersection of boundaries may hold points)."""
    out = np.empty(len(geoms), dtype=object)
    for k, g in enumerate(geoms):
        parts = np.asarray(shapely.get_parts(g), dtype=object)
        lines = parts[np.isin(shapely.get_type_id(parts), (1, 2, 5))]
        out[k] = shapely.multilinestrings(lines) if len(lines) else shapely.LineString()
    return out


def _sym(i: Ints, j: Ints, v: Floats, n: int) -> Any:
    return csr_matrix((np.r_[v, v], (np.r_[i, j], np.r_[j, i])), shape=(n, n))


@dataclass(frozen=True)
class _Points:
    ids: Objects
    unit: Ints
    open: Bools
    centre: Bools
    geoms: Objects


def _points(points: gpd.GeoDataFrame | None, terr: Objects, kinds: Sequence[str]) -> _Points:
    if points is None or len(points) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Points(
            np.zeros(0, dtype=object),
            empty,
            empty.astype(np.bool_),
            empty.astype(np.bool_),
            np.zeros(0, dtype=object),
        )
    if "kind" not in points.columns:
        msg = "参数 service_points 缺少 kind 列（服务点类型，如 centre 党群服务中心）"
        raise SplitColumnError(msg, loc=("service_points", "kind"))
    if "id" in points.columns or points.index.name == "id":
        ids = _ids(points, "service_points")
    else:
        ids = np.asarray(points.index.to_numpy(), dtype=object)
    geoms = checks.checked_geometries(points, ids, layer="service_points", noun="服务点")
    pts = shapely.point_on_surface(geoms)
    unit = np.full(len(ids), -1, dtype=np.int64)
    p_idx, t_idx = STRtree(terr).query(pts, predicate="intersects")
    first = pd.Series(t_idx).groupby(p_idx).min()
    unit[first.index.to_numpy(dtype=np.int64)] = first.to_numpy(dtype=np.int64)
    is_open = (
        points["is_open"].fillna(True).astype(bool).to_numpy()
        if "is_open" in points.columns
        else np.ones(len(ids), dtype=np.bool_)
    )
    centre = points["kind"].isin(list(kinds)).to_numpy(dtype=np.bool_)
    return _Points(ids, unit, np.asarray(is_open, dtype=np.bool_), centre, pts)


def _reach(
    b_geoms: Objects,
    keep: Bools,
    pts: _Points,
    *,
    walk_m: Any,
    limit_m: float,
    detour: float,
    n_rows: int,
    n_points: int,
) -> tuple[Any, str]:
    """Return the ``(B kept, S)`` COO boolean: building within the walk limit of the point."""
    kept = np.flatnonzero(keep)
    n_b, n_s = len(kept), len(pts.ids)
    if walk_m is None:
        if n_s == 0 or n_b == 0:
            return coo_matrix((n_b, n_s), dtype=np.bool_), "straight_line"
        s_idx, b_idx = STRtree(b_geoms[kept]).query(
            pts.geoms, predicate="dwithin", distance=limit_m / detour
        )
        data = np.ones(len(b_idx), dtype=np.bool_)
        return coo_matrix((data, (b_idx, s_idx)), shape=(n_b, n_s)), "straight_line"
    if issparse(walk_m):
        m = coo_matrix(walk_m)
        if m.shape != (n_rows, n_points):
            msg = f"参数 walk_m 的形状为 {m.shape}，应为 ({n_rows}, {n_points})（楼栋 × 服务点）"
            raise InvalidValueError(msg, loc=("walk_m",))
        rows, cols, d = m.row, m.col, np.asarray(m.data, dtype=np.float64)
    else:
        dense = np.asarray(walk_m, dtype=np.float64)
        if dense.shape != (n_rows, n_points):
            msg = (
                f"参数 walk_m 的形状为 {dense.shape}，应为 ({n_rows}, {n_points})（楼栋 × 服务点）"
            )
            raise InvalidValueError(msg, loc=("walk_m",))
        rows, cols = np.nonzero(np.isfinite(dense))
        d = dense[rows, cols]
    ok = (d <= limit_m) & keep[rows]
    new_row = np.cumsum(keep) - 1
    data = np.ones(int(ok.sum()), dtype=np.bool_)
    return coo_matrix((data, (new_row[rows[ok]], cols[ok])), shape=(n_b, n_s)), "walk_matrix"


def _grids(
    grids: gpd.GeoDataFrame | None, terr: Objects, area_c: Any
) -> tuple[Objects, Floats, Floats]:
    n = len(terr)
    if grids is None or len(grids) == 0:
        return np.zeros(0, dtype=object), np.zeros(0), np.zeros((n, 0))
    if "id" in grids.columns or grids.index.name == "id":
        ids = _ids(grids, "grids")
    else:
        ids = np.asarray(grids.index.to_numpy(), dtype=object)
    geoms = _valid_polygons(np.asarray(grids.geometry.to_numpy(), dtype=object))
    inside = _valid_polygons(shapely.intersection(geoms, area_c, grid_size=_GRID_M))
    g_area = np.asarray(shapely.area(inside), dtype=np.float64)
    unit_area = np.zeros((n, len(ids)))
    g_idx, t_idx = STRtree(terr).query(inside, predicate="intersects")
    if len(g_idx):
        unit_area[t_idx, g_idx] = shapely.area(
            shapely.intersection(terr[t_idx], inside[g_idx], grid_size=_GRID_M)
        )
    return ids, g_area, unit_area
