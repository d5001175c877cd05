"""Grid delineation (网格划分): grids of 300-500 households covering a community, coded.

Issue 17, docs/domain.md ("网格与组织体系"): a grid (网格) has one grid officer; urban
comprehensive grids are drawn at about 300-500 households and at most 2,000-2,500 residents.
:func:`delineate_grids` proposes grids that cover the whole community without gap or overlap,
keep compounds whole where they fit, are contiguous and compact and follow the streets; it
keeps locked grids as they are and codes every grid, keeping the code of a grid that did not
change. :func:`prepare_grids` is its first half (locked grids, units, territories, links),
public so a benchmark can give another solver exactly the same graph.

Pure: layers in, a :class:`GridPlan` out; all geometry in one projected CRS in metres.

Units and territories
---------------------
The units and their territories are the community split's
(:func:`gis_api.analysis.split.prepare_split`): every compound is a unit and every building
outside the compounds one of its own; the territories cover the community exactly (a
compound keeps its polygon; the land between compounds is cut by the streets and shared by
nearest distance). Two units are linked when their territories share a boundary.

A compound *fits* when its households are at most ``max_households``: it stays whole. A
compound above that with two buildings or more is split by its buildings: ``prepare_split``
runs again on the compound's territory alone, with the compound's buildings as loose
buildings and ``paths`` (its lanes and footways) as the lines that cut the land. So the
compound's territory is shared among its own buildings exactly as the split shares the land
between compounds, and no land leaves or enters the compound. A building of the compound
lying outside its territory joins the unit of the nearest one. A compound above the limit
with one building stays one unit (its grid's note says so).

Locked grids
------------
``locked`` grids are kept as they are: their polygons (clipped to the community; where two
overlap the first listed keeps the overlap) and the buildings whose representative point
lies in them. The rest of the community (the community minus the locked grids) is prepared
as above, with compounds clipped to it, and delineated.

Number of grids and the search
------------------------------
The rest is delineated piece by piece (:mod:`gis_api.analysis.grid_search`). A *piece* is a
connected component of the unit graph: there is one, unless locked grids (or water) cut the
community apart. A piece has ``W`` households and ``R`` residents in ``n`` units. With ``k``
grids the ideal grid holds ``W / k`` households, and the *slack* of ``k`` is
``min(max / ideal - 1, 1 - min / ideal, max_residents * k / R - 1)``: the largest symmetric
deviation that stays within the thresholds. The search starts from the ``k`` of largest
slack (near ``2 W / (min + max)``). While its best plan misses a threshold it tries one grid
more when more grids of two units or more are too big than too small, else one fewer, up to
four values of ``k``. A piece below ``min_households``, or of one unit, is one grid.

For each ``k`` an iterated local search runs on the moves of
:mod:`gis_api.analysis.partition_search` (seeds of random spanning trees cut by recursive
bisection; boundary flips, swaps and recombinations of two grids; kicks). Its objective is
the partition core's with a range in place of a tolerance: a grid's *excess* is how far its
households lie outside ``[min, max]``, as a share of the ideal, and ``f = 1e6 * (max excess
+ sum of squared excesses) - mean PP``. So plans within the thresholds compare by compactness
alone, the Polsby-Popper score ``4 pi A / P^2``. Every grid stays contiguous through the
links between its units.

Among all the local optima the searches met, the plan kept has the fewest grids outside the
thresholds. Ties go to the smallest total excess (households over ``max`` or under ``min``
as shares of the ideal, residents over ``max_residents`` as shares of theirs), then to the
highest ``mean PP + 0.25 * street share``, where the street share is the share of the
boundaries between grids that runs along streets (within ``street_buffer_m``).

A grid outside a threshold gets a ``note`` (zh-CN) saying which threshold and why:
- one compound with one building, or one building, alone over the limit;
- a compound or building too small alone whose every neighbour is too big to join;
- a piece below the minimum in total;
- no ``k`` that meets both limits;
- none found within the time budget.

Codes
-----
``code`` is ``admin_code + separator + serial``, with a serial of three digits (``001``...).
``admin_code`` is the community's administrative code (e.g. ``440605-XQ-QH``: district,
street, community), whose parts are the caller's, as the grid-coding schemes build a grid's code
from its administrative parents' codes. The serial is the grid's number within the community,
in reading order: west to east within rows, rows taken north to south. Rows are formed from
the grids' centroids (``y`` grows northwards in a projected CRS):

1. ``h`` is the median north-south extent (bounding-box height) of all the grids;
2. the northernmost centroid not yet placed (ties: the westernmost) opens a row, and the row
   takes every grid not yet placed whose centroid lies at most ``h / 2`` south of it;
3. the row is read west to east (by centroid ``x``; ties: north first), then the next row is
   opened.

A grid keeps its code when it is *unchanged*: locked with a code, or with the same set of
buildings as a grid of ``existing`` (a building belongs to the first existing grid holding
its representative point). The other grids get, in reading order, the lowest serials that no
kept code of the form ``admin_code + separator + NNN`` uses. So serials stay dense, and the
code of a grid that changed may go to another grid.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import geopandas as gpd
import shapely
from shapely import STRtree

from gis_api.analysis import checks
from gis_api.analysis.errors import (
    AnalysisInputError,
    GeometryError,
    InvalidValueError,
    MissingColumnError,
    OptionError,
    SplitInputError,
)
from gis_api.analysis.grid_search import Attempt, Limits, pieces, solve
from gis_api.analysis.partition import DEFAULT_KICKS, DEFAULT_STARTS
from gis_api.analysis.partition_search import polsby_popper
from gis_api.analysis.split import prepare_split

__all__ = [
    "DEFAULT_MAX_HOUSEHOLDS",
    "DEFAULT_MAX_RESIDENTS",
    "DEFAULT_MIN_HOUSEHOLDS",
    "GridPlan",
    "GridUnits",
    "delineate_grids",
    "prepare_grids",
    "reading_order",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Objects = NDArray[np.object_]

#: Urban comprehensive grids: about 300-500 households, at most 2,500 residents (issue 17).
DEFAULT_MIN_HOUSEHOLDS = 300
DEFAULT_MAX_HOUSEHOLDS = 500
DEFAULT_MAX_RESIDENTS = 2500

# Overlays snap to this grid (metres), as the split's do: territories share edges exactly.
_GRID_M = 0.01
# Shared boundaries shorter than this (metres) are corner touches, not links.
_MIN_LINK_M = 0.01
# Pieces of a locked grid or a compound smaller than this (m²) are slivers.
_SLIVER_M2 = 1.0
# Comparisons of households allow this much round-off.
_EPS = 1e-6
_BUILDING_PREFIX = "building:"


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridUnits:
    """A community made ready for delineation: locked grids, and the rest's units and links.

    Sizes: ``n`` units, ``E`` links, ``B`` buildings in the rest, ``L`` locked grids.

    Attributes
    ----------
    crs, community
        The layers' CRS and the community's polygon (snapped to 1 cm).
    rest
        The community minus the locked grids (None when they cover it).
    unit_ids, unit_kind, unit_name, unit_compound
        ``(n,)`` unit id (a compound's id, or ``building:<building id>``), ``"compound"``
        (a whole compound) or ``"building"`` (a loose building, or a building of a split
        compound with any that joined it), the compound's or building's id, and the compound
        the unit is or is part of (None for a loose building).
    unit_one_building
        ``(n,)`` True for a compound unit with a single building.
    territories, area_m2, perimeter_m
        ``(n,)`` polygons covering ``rest`` exactly, their areas and perimeters.
    households, residents, buildings
        ``(n,)`` sums over each unit's buildings.
    edge_i, edge_j, edge_length_m, edge_street_m
        ``(E,)`` links ``i < j``: shared boundary metres and the metres of it along streets.
    building_ids, building_unit
        ``(B,)`` the rest's buildings and their unit.
    locked_codes, locked_geoms, locked_buildings
        ``(L,)`` the locked grids' codes (None when not given), polygons and building ids.
    split_compounds
        Ids of the compounds split by their buildings.
    figures
        ``households`` and ``residents`` of every building given, indexed by its id.
    notes
        zh-CN notes on what was resolved on the way.
    """

    crs: Any
    community: Any
    rest: Any
    unit_ids: Objects
    unit_kind: Objects
    unit_name: Objects
    unit_compound: Objects
    unit_one_building: Bools
    territories: Objects
    area_m2: Floats
    perimeter_m: Floats
    households: Floats
    residents: Floats
    buildings: Ints
    edge_i: Ints
    edge_j: Ints
    edge_length_m: Floats
    edge_street_m: Floats
    building_ids: Objects
    building_unit: Ints
    locked_codes: tuple[str | None, ...]
    locked_geoms: tuple[Any, ...]
    locked_buildings: tuple[frozenset[Hashable], ...]
    split_compounds: tuple[Hashable, ...]
    figures: pd.DataFrame
    notes: tuple[str, ...]

    @property
    def n_units(self) -> int:
        """Number of units of the rest."""
        return len(self.unit_ids)

    def street_share(self, part: Ints) -> float:
        """Return the share of the boundaries between the units' grids ``part`` along streets."""
        cut = part[self.edge_i] != part[self.edge_j]
        total = float(self.edge_length_m[cut].sum())
        return float(self.edge_street_m[cut].sum()) / total if total > 0 else 0.0

    def pieces(self) -> Ints:
        """``(n,)`` the connected piece of every unit, pieces numbered by their lowest unit."""
        return pieces(self.n_units, self.edge_i, self.edge_j)


@dataclass(frozen=True)
class GridPlan:
    """Grids covering a community, their codes and figures, and each building's grid.

    Attributes
    ----------
    grids
        One row per grid, by code: ``code``, ``households``, ``residents``, ``buildings``,
        ``compounds`` (whole compounds in it), ``area_km2``, ``polsby_popper`` (of its
        polygon), ``locked``, ``unchanged`` (locked with a code, or the same buildings as a
        grid of ``existing``: its code kept), ``within_limits`` (every threshold met),
        ``row`` (its reading-order row, 0 the northernmost), ``note`` (zh-CN; empty when
        every threshold is met) and ``geometry``.
    buildings
        ``building_id`` and ``grid`` (code) of every building given, in their order;
        ``grid`` is None for a building left out (``notes`` says why).
    k
        Number of grids, locked ones included.
    feasible
        True when every grid meets every threshold.
    street_share
        Share of the boundaries between the delineated grids that runs along streets.
    attempts
        The numbers of grids tried, piece by piece.
    notes
        zh-CN notes on the community as a whole (overlaps resolved, buildings left out).
    seconds
        Time taken.
    units
        What :func:`prepare_grids` made.
    """

    grids: gpd.GeoDataFrame
    buildings: pd.DataFrame
    k: int
    feasible: bool
    street_share: float
    attempts: tuple[Attempt, ...]
    notes: tuple[str, ...]
    seconds: float
    units: GridUnits = field(repr=False)


# --- the entry points ---------------------------------------------------------------------------


def delineate_grids(
    community: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame,
    *,
    admin_code: str | None = None,
    separator: str = "-",
    streets: gpd.GeoDataFrame | None = None,
    paths: gpd.GeoDataFrame | None = None,
    min_households: float = DEFAULT_MIN_HOUSEHOLDS,
    max_households: float = DEFAULT_MAX_HOUSEHOLDS,
    max_residents: float = DEFAULT_MAX_RESIDENTS,
    locked: gpd.GeoDataFrame | None = None,
    existing: gpd.GeoDataFrame | None = None,
    seed: int = 0,
    time_budget_s: float = 10.0,
    starts: int = DEFAULT_STARTS,
    kicks: int = DEFAULT_KICKS,
    street_buffer_m: float = 5.0,
    sample_step_m: float = 10.0,
) -> GridPlan:
    """Delineate a community's grids: exact cover, compounds whole where they fit, coded.

    See the module docstring for the units, the number of grids, the plan kept and the codes.

    Parameters
    ----------
    community
        The community polygon (rows dissolved), projected CRS in metres; its ``code``
        column is the default ``admin_code``.
    compounds
        ``id`` (column or index, unique) and polygon ``geometry``; may be empty or None.
        Compounds outside the community are left out.
    buildings
        ``id`` (unique), ``households`` and ``residents`` (numbers >= 0), optional
        ``compound_id`` (missing: the compound holding the building's representative point,
        if any) and a footprint or point ``geometry``.
    admin_code
        The community's administrative code, the codes' prefix (default: the community's
        ``code``; when there is none either, the codes are the bare serials).
    separator
        Between the prefix and the serial.
    streets
        Street centre lines (optional): the land between compounds is cut along them, and
        of two plans otherwise alike the one whose boundaries follow them is kept.
    paths
        Lanes and footways (optional; default ``streets``): a compound split by its
        buildings is cut along them.
    min_households, max_households, max_residents
        The thresholds: households per grid within ``[min, max]``, residents at most
        ``max_residents``.
    locked
        Grids to keep as they are: polygons, with an optional ``code``.
    existing
        The community's current grids, polygons with ``code``: a new grid with the same
        buildings as one of them keeps its code.
    seed
        Seed of the search: the same inputs and seed give the same grids, unless the time
        budget stops a search.
    time_budget_s
        Time for the searches, shared among the pieces by their units (preparation and
        coding come on top).
    starts, kicks
        The search's effort per number of grids tried: seeds, and kicks per seed.
    street_buffer_m
        A grid boundary within this distance of a street runs along it.
    sample_step_m
        Spacing of the points that share land between units (as in the split).

    Returns
    -------
    GridPlan

    Raises
    ------
    CrsError, CrsMismatchError
        If a layer has no projected CRS in metres, or the layers' CRSs differ.
    MissingColumnError, DuplicateIdError, InvalidValueError, GeometryError
        If a column is missing, an id repeats, a figure is missing or negative, a geometry is
        missing, a locked grid lies outside the community, or the territories fail to
        cover the community.
    SplitInputError
        If the community has no area, or no building and no compound outside the locked
        grids while land is left to delineate.
    OptionError
        If an option is out of range.
    """
    t0 = time.perf_counter()
    limits = _check_limits(min_households, max_households, max_residents)
    budget = checks.positive("time_budget_s", time_budget_s)
    for name, zh, value, low in (("starts", "起点数", starts, 1), ("kicks", "扰动次数", kicks, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            msg = f"参数 {name}（{zh}）应为不小于 {low} 的整数，实际为 {value!r}"
            raise OptionError(msg, loc=(name,))
    prefix = _prefix(community, admin_code)
    if _given(existing) is not None:
        checks.metric_crs({"buildings": buildings, "existing": existing})
    units = prepare_grids(
        community,
        compounds,
        buildings,
        streets=streets,
        paths=paths,
        max_households=limits.high,
        locked=locked,
        street_buffer_m=street_buffer_m,
        sample_step_m=sample_step_m,
    )
    part, attempts, reasons = solve(
        units,
        limits,
        locked=bool(units.locked_geoms),
        budget=budget,
        seed=int(seed),
        starts=int(starts),
        kicks=int(kicks),
    )
    grids, b_grid = _assemble(units, part, reasons, limits)
    codes = _codes(grids, prefix, separator, _existing_sets(existing, buildings))
    grids = grids.drop(columns=["_buildings"])
    grids["code"] = codes.code
    grids["unchanged"] = codes.unchanged
    grids["row"] = codes.row
    grids = gpd.GeoDataFrame(grids[_COLUMNS], geometry="geometry", crs=units.crs)
    grids = grids.sort_values("code", kind="stable").reset_index(drop=True)
    all_ids = _building_ids(buildings)
    grid_of = [codes.code[b_grid[b]] if b in b_grid else None for b in all_ids.tolist()]
    table = pd.DataFrame({"building_id": all_ids, "grid": pd.Series(grid_of, dtype=object)})
    return GridPlan(
        grids=grids,
        buildings=table,
        k=len(grids),
        feasible=bool(grids["within_limits"].all()),
        street_share=units.street_share(part) if len(part) else 0.0,
        attempts=tuple(attempts),
        notes=units.notes,
        seconds=time.perf_counter() - t0,
        units=units,
    )


def prepare_grids(
    community: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame,
    *,
    streets: gpd.GeoDataFrame | None = None,
    paths: gpd.GeoDataFrame | None = None,
    max_households: float = DEFAULT_MAX_HOUSEHOLDS,
    locked: gpd.GeoDataFrame | None = None,
    street_buffer_m: float = 5.0,
    sample_step_m: float = 10.0,
) -> GridUnits:
    """Keep the locked grids and make the rest into units, territories and links.

    The parameters are :func:`delineate_grids`'s, and so are the errors.
    """
    crs = checks.metric_crs(
        {
            "community": community,
            "compounds": _given(compounds),
            "buildings": buildings,
            "streets": _given(streets),
            "paths": _given(paths),
            "locked": _given(locked),
        }
    )
    high = checks.positive("max_households", max_households)
    checks.positive("street_buffer_m", street_buffer_m)
    checks.positive("sample_step_m", sample_step_m)
    notes: list[str] = []
    area = _community_geometry(community)
    streets, paths = _near(streets, area), _near(paths, area)
    b = _buildings_frame(buildings, crs)
    figures = pd.DataFrame(
        {"households": b["households"].to_numpy(), "residents": b["residents"].to_numpy()},
        index=pd.Index(b["id"].to_numpy(dtype=object), dtype=object),
    )
    locks = _locked(locked, area, b, notes)
    rest = area
    if locks.geoms:
        rest = _polygonal(
            shapely.difference(area, shapely.union_all(list(locks.geoms)), grid_size=_GRID_M)
        )
        if rest is not None and shapely.area(rest) <= _SLIVER_M2:
            rest = None
    b_rest = b[~locks.taken].reset_index(drop=True)
    if rest is None:
        if len(b_rest):
            notes.append(f"{len(b_rest)} 栋楼不在任何锁定网格内，但锁定网格已覆盖整个社区，未计入")
        return _units(
            crs=crs, area=area, rest=None, found=_Found(), locks=locks, figures=figures, notes=notes
        )
    comp = _clip_compounds(_compounds_frame(compounds, crs), rest, notes)
    known = {c: c for c in comp["id"].tolist()} | {str(c): c for c in comp["id"].tolist()}
    b_rest["compound_id"] = [
        known.get(c, known.get(str(c))) if c is not None else None
        for c in b_rest["compound_id"].tolist()
    ]
    if len(b_rest) == 0 and len(comp) == 0:
        msg = (
            "锁定网格以外的社区范围内没有楼栋，也没有小区，无法划分网格；请把这部分并入锁定网格"
            if locks.geoms
            else "社区内没有小区，也没有楼栋，无法划分网格"
        )
        raise SplitInputError(msg, loc=("buildings",))
    top = prepare_split(
        gpd.GeoDataFrame(geometry=[rest], crs=crs),
        comp,
        b_rest,
        streets=streets,
        by="households",
        street_buffer_m=street_buffer_m,
        sample_step_m=sample_step_m,
    )
    notes.extend(top.notes)
    found = _split_big(
        top=top,
        b_rest=b_rest,
        crs=crs,
        high=high,
        paths=paths if paths is not None else streets,
        notes=notes,
    )
    return _units(
        crs=crs,
        area=area,
        rest=rest,
        found=found,
        locks=locks,
        figures=figures,
        notes=notes,
        streets=streets,
        street_buffer_m=street_buffer_m,
    )


def reading_order(geoms: Sequence[Any] | Objects) -> tuple[Ints, Ints]:
    """Return the reading order of polygons and each one's row (module docstring, "Codes").

    Returns ``order`` (indices, the first read first) and ``row`` (per polygon, 0 = north).

    >>> from shapely.geometry import box
    >>> order, row = reading_order([box(1, 0, 2, 1), box(0, 0, 1, 1), box(0, 1, 1, 2)])
    >>> order.tolist(), row.tolist()
    ([2, 1, 0], [1, 1, 0])
    """
    g = np.asarray(list(geoms), dtype=object)
    n = len(g)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    c = shapely.centroid(g)
    x = np.asarray(shapely.get_x(c), dtype=np.float64)
    y = np.asarray(shapely.get_y(c), dtype=np.float64)
    bounds = shapely.bounds(g)
    h = float(np.median(bounds[:, 3] - bounds[:, 1]))
    placed = np.zeros(n, dtype=np.bool_)
    row = np.zeros(n, dtype=np.int64)
    order: list[int] = []
    r = 0
    while not placed.all():
        left = np.flatnonzero(~placed)
        head = left[np.lexsort((x[left], -y[left]))[0]]
        members = left[y[left] >= y[head] - h / 2.0 - 1e-9]
        members = members[np.lexsort((-y[members], x[members]))]
        placed[members] = True
        row[members] = r
        order.extend(members.tolist())
        r += 1
    return np.asarray(order, dtype=np.int64), row


# --- inputs -------------------------------------------------------------------------------------


def _given(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    return frame if frame is not None and len(frame) else None


def _check_limits(low: Any, high: Any, residents: Any) -> Limits:
    values = []
    for name, zh, value in (
        ("min_households", "每格最少户数", low),
        ("max_households", "每格最多户数", high),
        ("max_residents", "每格最多居民数", residents),
    ):
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        if isinstance(value, bool) or not math.isfinite(v) or v < 0:
            msg = f"参数 {name}（{zh}）应为非负的有限数，实际为 {value!r}"
            raise OptionError(msg, loc=(name,))
        values.append(v)
    if values[1] <= values[0]:
        msg = (
            f"参数 max_households（每格最多户数，{high!r}）应大于 "
            f"min_households（每格最少户数，{low!r}）"
        )
        raise OptionError(msg, loc=("max_households",))
    if values[2] <= 0:
        msg = f"参数 max_residents（每格最多居民数）应大于 0，实际为 {residents!r}"
        raise OptionError(msg, loc=("max_residents",))
    return Limits(values[0], values[1], values[2])


def _prefix(community: gpd.GeoDataFrame, admin_code: str | None) -> str:
    if admin_code is not None:
        return str(admin_code)
    if "code" in community.columns and len(community):
        value = community["code"].iloc[0]
        if isinstance(value, str):
            return value
    return ""


def _community_geometry(community: gpd.GeoDataFrame) -> Any:
    """Return the community's polygon snapped to the overlay grid, as the split snaps it."""
    geoms = np.asarray(community.geometry.to_numpy(), dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0:
        msg = "参数 community 没有社区范围（几何图形缺失或为空）"
        raise GeometryError(msg, loc=("community", "geometry"))
    area = _polygonal(shapely.set_precision(shapely.union_all(shapely.make_valid(geoms)), _GRID_M))
    if area is None or shapely.area(area) <= 0:
        msg = "参数 community 的社区范围不是面（面积为 0），无法划分网格"
        raise SplitInputError(msg, loc=("community", "geometry"))
    return area


def _polygonal(geom: Any) -> Any:
    """Return the polygons of a geometry (not an overlay's lines and points), or None."""
    if geom is None or shapely.is_empty(geom):
        return None
    parts = np.asarray(shapely.get_parts(geom), dtype=object)
    polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    if len(polys) == 0:
        return None
    if len(polys) == 1:
        return polys[0]
    return shapely.union_all(polys, grid_size=_GRID_M)


def _near(lines: gpd.GeoDataFrame | None, area: Any) -> gpd.GeoDataFrame | None:
    """Return the lines reaching the community (a district's streets hold many that do not)."""
    if lines is None or len(lines) == 0:
        return None
    geoms = np.asarray(lines.geometry.to_numpy(), dtype=object)
    idx = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if len(idx) == 0:
        return None
    hit = idx[STRtree(geoms[idx]).query(area, predicate="intersects")]
    return gpd.GeoDataFrame(geometry=geoms[np.sort(hit)], crs=lines.crs) if len(hit) else None


def _building_ids(buildings: gpd.GeoDataFrame) -> Objects:
    return checks.ids(buildings, "buildings", "id")


def _buildings_frame(buildings: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Return the buildings as ``prepare_split`` takes them, figures checked, and their points."""
    ids = _building_ids(buildings)
    figures = {}
    for col, zh in (("households", "户数"), ("residents", "居民数")):
        if col not in buildings.columns:
            msg = f"参数 buildings 缺少 {col} 列（{zh}）"
            raise MissingColumnError(msg, loc=("buildings", col))
        raw = buildings[col]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
        if len(bad):
            i = int(bad[0])
            msg = (
                f"楼栋 {ids[i]} 的{zh}（{col}）为 {raw.iloc[i]!r}，应为非负数；"
                f"请先补录（共 {len(bad)} 栋）"
            )
            raise InvalidValueError(msg, loc=("buildings", i, col))
        figures[col] = values
    geoms = checks.checked_geometries(buildings, ids, layer="buildings", noun="楼栋")
    raw_compound = (
        buildings["compound_id"].tolist()
        if "compound_id" in buildings.columns
        else [None] * len(ids)
    )
    compound = np.asarray([None if _missing(c) else c for c in raw_compound], dtype=object)
    return gpd.GeoDataFrame(
        {
            "id": ids,
            "compound_id": compound,
            "households": figures["households"],
            "residents": figures["residents"],
            "point": shapely.point_on_surface(geoms),
        },
        geometry=geoms,
        crs=crs,
    )


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _compounds_frame(compounds: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame:
    if compounds is None or len(compounds) == 0:
        return gpd.GeoDataFrame({"id": pd.Series([], dtype=object)}, geometry=[], crs=crs)
    ids = checks.ids(compounds, "compounds", "id")
    geoms = checks.checked_geometries(compounds, ids, layer="compounds", noun="小区")
    return gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs=crs)


def _clip_compounds(comp: gpd.GeoDataFrame, rest: Any, notes: list[str]) -> gpd.GeoDataFrame:
    """Compounds clipped to the rest of the community; those left without area dropped."""
    if len(comp) == 0:
        return comp
    geoms = np.asarray(comp.geometry.to_numpy(), dtype=object)
    clipped = shapely.intersection(shapely.make_valid(geoms), rest, grid_size=_GRID_M)
    keep, polys = [], []
    for i, g in enumerate(clipped):
        poly = _polygonal(g)
        if poly is not None and shapely.area(poly) > _SLIVER_M2:
            keep.append(i)
            polys.append(poly)
    if len(keep) < len(comp):
        notes.append(f"{len(comp) - len(keep)} 个小区不在社区范围内（或全在锁定网格内），未计入")
    ids = comp["id"].to_numpy(dtype=object)[keep]
    return gpd.GeoDataFrame({"id": ids}, geometry=polys, crs=comp.crs)


@dataclass(frozen=True)
class _Locks:
    codes: tuple[str | None, ...]
    geoms: tuple[Any, ...]
    buildings: tuple[frozenset[Hashable], ...]
    taken: Bools  # per building row: in a locked grid


def _locked(
    locked: gpd.GeoDataFrame | None, area: Any, b: gpd.GeoDataFrame, notes: list[str]
) -> _Locks:
    """Locked grids clipped to the community and made disjoint (first wins), their buildings."""
    taken = np.zeros(len(b), dtype=np.bool_)
    if locked is None or len(locked) == 0:
        return _Locks((), (), (), taken)
    raw = np.asarray(locked.geometry.to_numpy(), dtype=object)
    codes: list[str | None] = (
        [None if pd.isna(c) else str(c) for c in locked["code"].tolist()]
        if "code" in locked.columns
        else [None] * len(raw)
    )
    named = [c for c in codes if c is not None]
    if len(set(named)) != len(named):
        dup = sorted({c for c in named if named.count(c) > 1})
        msg = f"锁定网格的编码重复：{'、'.join(dup[:5])}"
        raise InvalidValueError(msg, loc=("locked", "code"))
    points = np.asarray(b["point"].to_numpy(), dtype=object)
    ids = b["id"].to_numpy(dtype=object)
    geoms: list[Any] = []
    members: list[frozenset[Hashable]] = []
    so_far: Any = None
    for i, g in enumerate(raw):
        name = codes[i] if codes[i] is not None else f"第 {i + 1} 个"
        if g is None or shapely.is_empty(g):
            msg = f"锁定网格 {name} 没有几何图形（缺失或为空）"
            raise GeometryError(msg, loc=("locked", i, "geometry"))
        poly = _polygonal(shapely.intersection(shapely.make_valid(g), area, grid_size=_GRID_M))
        if poly is not None and so_far is not None:
            poly = _polygonal(shapely.difference(poly, so_far, grid_size=_GRID_M))
        if poly is None or shapely.area(poly) <= _SLIVER_M2:
            msg = f"锁定网格 {name} 不在社区范围内，或完全被前面的锁定网格覆盖"
            raise InvalidValueError(msg, loc=("locked", i, "geometry"))
        lost = float(shapely.area(g)) - float(shapely.area(poly))
        if lost > _SLIVER_M2:
            notes.append(
                f"锁定网格 {name} 有 {lost:.0f} 平方米在社区范围外或与前面的锁定网格重叠，已裁去"
            )
        inside = shapely.within(points, poly) & ~taken
        taken |= inside
        geoms.append(poly)
        members.append(frozenset(ids[inside].tolist()))
        so_far = poly if so_far is None else shapely.union(so_far, poly, grid_size=_GRID_M)
    return _Locks(tuple(codes), tuple(geoms), tuple(members), taken)


# --- units: the split's, and large compounds split by their buildings ------------------------


@dataclass
class _Found:
    """The units found so far, as lists (one entry per unit, or per building for ``b_*``)."""

    ids: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    name: list[Any] = field(default_factory=list)
    compound: list[Any] = field(default_factory=list)
    one_building: list[bool] = field(default_factory=list)
    territory: list[Any] = field(default_factory=list)
    households: list[float] = field(default_factory=list)
    residents: list[float] = field(default_factory=list)
    buildings: list[int] = field(default_factory=list)
    b_ids: list[Any] = field(default_factory=list)
    b_unit: list[int] = field(default_factory=list)
    split: list[Any] = field(default_factory=list)

    def add(
        self,
        uid: str,
        kind: str,
        *,
        name: Any,
        compound: Any,
        terr: Any,
        bids: list[Any],
        figures: tuple[float, float],
    ) -> None:
        """Add one unit with its buildings and their summed households and residents."""
        self.b_unit.extend([len(self.ids)] * len(bids))
        self.b_ids.extend(bids)
        self.ids.append(uid)
        self.kind.append(kind)
        self.name.append(name)
        self.compound.append(compound)
        self.one_building.append(kind == "compound" and len(bids) == 1)
        self.territory.append(terr)
        self.households.append(figures[0])
        self.residents.append(figures[1])
        self.buildings.append(len(bids))


def _split_big(
    *,
    top: Any,
    b_rest: gpd.GeoDataFrame,
    crs: Any,
    high: float,
    paths: gpd.GeoDataFrame | None,
    notes: list[str],
) -> _Found:
    """Return the units of ``top``, each compound above ``high`` replaced by its buildings'."""
    row = {bid: i for i, bid in enumerate(b_rest["id"].tolist())}
    hh = b_rest["households"].to_numpy(dtype=np.float64)
    res = b_rest["residents"].to_numpy(dtype=np.float64)
    members: dict[int, list[Hashable]] = {}
    for bid, u in zip(top.building_ids.tolist(), top.building_unit.tolist(), strict=True):
        members.setdefault(int(u), []).append(bid)

    def sums(bids: list[Hashable]) -> tuple[float, float]:
        idx = [row[x] for x in bids]
        return float(hh[idx].sum()), float(res[idx].sum())

    out = _Found()
    for u in range(top.n_units):
        bids = members.get(u, [])
        terr = top.territories[u]
        if top.unit_kind[u] == "loose":
            bid = bids[0]
            out.add(
                f"{_BUILDING_PREFIX}{bid}",
                "building",
                name=bid,
                compound=None,
                terr=terr,
                bids=bids,
                figures=sums(bids),
            )
            continue
        cid = top.unit_ids[u]
        pieces: list[tuple[list[Hashable], Any]] | str = [(bids, terr)]
        if top.households[u] > high + _EPS and len(bids) >= 2:
            pieces = _share_compound(terr, b_rest.iloc[[row[x] for x in bids]], crs, paths)
        if isinstance(pieces, str):
            notes.append(f"小区 {cid} 超过每格户数上限，但无法按楼栋拆分（{pieces}），保持完整")
            pieces = [(bids, terr)]
        elif len(pieces) > 1:
            out.split.append(cid)
        whole = len(pieces) == 1
        for unit_bids, piece in pieces:
            first = unit_bids[0] if unit_bids else cid
            out.add(
                str(cid) if whole else f"{_BUILDING_PREFIX}{first}",
                "compound" if whole else "building",
                name=cid if whole else first,
                compound=cid,
                terr=piece,
                bids=unit_bids,
                figures=sums(unit_bids),
            )
    return out


def _share_compound(
    terr: Any, blds: gpd.GeoDataFrame, crs: Any, paths: gpd.GeoDataFrame | None
) -> list[tuple[list[Hashable], Any]] | str:
    """Share a compound's territory among its buildings; a reason (zh-CN) when it cannot.

    Returns ``(building ids, territory)`` per new unit: one building each, and a building
    lying outside the territory with the building nearest to it.
    """
    loose = gpd.GeoDataFrame(
        {
            "id": blds["id"].to_numpy(dtype=object),
            "compound_id": np.full(len(blds), None, dtype=object),
            "households": blds["households"].to_numpy(),
            "residents": blds["residents"].to_numpy(),
        },
        geometry=blds.geometry.to_numpy(),
        crs=crs,
    )
    inner = None
    if paths is not None:
        lines = np.asarray(paths.geometry.to_numpy(), dtype=object)
        near = STRtree(lines).query(terr, predicate="intersects")
        if len(near):
            inner = gpd.GeoDataFrame(geometry=lines[np.sort(near)], crs=crs)
    empty = gpd.GeoDataFrame({"id": pd.Series([], dtype=object)}, geometry=[], crs=crs)
    try:
        sub = prepare_split(gpd.GeoDataFrame(geometry=[terr], crs=crs), empty, loose, streets=inner)
    except AnalysisInputError as exc:
        return exc.msg
    if sub.n_units < 2:
        return "小区内只有 1 栋楼在小区范围内"
    members: list[list[Hashable]] = [[] for _ in range(sub.n_units)]
    for bid, u in zip(sub.building_ids.tolist(), sub.building_unit.tolist(), strict=True):
        members[int(u)].append(bid)
    kept = set(sub.building_ids.tolist())
    tree = STRtree(np.asarray(sub.territories, dtype=object))
    for bid, geom in zip(loose["id"].tolist(), loose.geometry.to_numpy(), strict=True):
        if bid not in kept:
            members[int(tree.nearest(geom))].append(bid)
    return [(members[u], sub.territories[u]) for u in range(sub.n_units) if members[u]]


def _units(
    *,
    crs: Any,
    area: Any,
    rest: Any,
    found: _Found,
    locks: _Locks,
    figures: pd.DataFrame,
    notes: list[str],
    streets: gpd.GeoDataFrame | None = None,
    street_buffer_m: float = 5.0,
) -> GridUnits:
    terr = np.asarray(found.territory, dtype=object)
    ei, ej, el, es = _adjacency(terr, _street_zone(streets, street_buffer_m))
    n = len(terr)
    perim = np.asarray(shapely.length(terr), dtype=np.float64) if n else np.zeros(0)
    shared = np.bincount(ei, weights=el, minlength=n) + np.bincount(ej, weights=el, minlength=n)
    return GridUnits(
        crs=crs,
        community=area,
        rest=rest,
        unit_ids=np.asarray(found.ids, dtype=object),
        unit_kind=np.asarray(found.kind, dtype=object),
        unit_name=np.asarray(found.name, dtype=object),
        unit_compound=np.asarray(found.compound, dtype=object),
        unit_one_building=np.asarray(found.one_building, dtype=np.bool_),
        territories=terr,
        area_m2=np.asarray(shapely.area(terr), dtype=np.float64) if n else np.zeros(0),
        perimeter_m=np.maximum(perim, shared),
        households=np.asarray(found.households, dtype=np.float64),
        residents=np.asarray(found.residents, dtype=np.float64),
        buildings=np.asarray(found.buildings, dtype=np.int64),
        edge_i=ei,
        edge_j=ej,
        edge_length_m=el,
        edge_street_m=es,
        building_ids=np.asarray(found.b_ids, dtype=object),
        building_unit=np.asarray(found.b_unit, dtype=np.int64),
        locked_codes=locks.codes,
        locked_geoms=locks.geoms,
        locked_buildings=locks.buildings,
        split_compounds=tuple(found.split),
        figures=figures,
        notes=tuple(notes),
    )


def _street_zone(streets: gpd.GeoDataFrame | None, buffer_m: float) -> Any:
    if streets is None:
        return None
    zone = shapely.buffer(shapely.union_all(streets.geometry.to_numpy()), buffer_m)
    shapely.prepare(zone)
    return zone


def _adjacency(terr: Objects, zone: Any) -> tuple[Ints, Ints, Floats, Floats]:
    """Links between territories sharing a boundary: lengths, and lengths along streets."""
    if len(terr) < 2:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), np.zeros(0), np.zeros(0)
    i, j = STRtree(terr).query(terr, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    bounds = shapely.boundary(terr)
    shared = shapely.intersection(bounds[i], bounds[j], grid_size=_GRID_M)
    length = np.asarray(shapely.length(shared), dtype=np.float64)
    ok = length > _MIN_LINK_M
    i, j, shared, length = i[ok], j[ok], shared[ok], length[ok]
    along = np.zeros(len(i))
    if zone is not None and len(i):
        along = np.asarray(shapely.length(shapely.intersection(shared, zone)), dtype=np.float64)
        along = np.minimum(along, length)
    return i.astype(np.int64), j.astype(np.int64), length, along


# --- grids: geometry, figures, notes, codes ----------------------------------------------------

_COLUMNS = [
    "code",
    "households",
    "residents",
    "buildings",
    "compounds",
    "area_km2",
    "polsby_popper",
    "locked",
    "unchanged",
    "within_limits",
    "row",
    "note",
    "geometry",
]


def _assemble(
    units: GridUnits, part: Ints, reasons: dict[int, str], limits: Limits
) -> tuple[gpd.GeoDataFrame, dict[Hashable, int]]:
    """One row per grid (the locked ones first), and each building's row."""
    rows: list[dict[str, Any]] = []
    b_grid: dict[Hashable, int] = {}
    empty = np.zeros(0, dtype=np.int64)
    for geom, code, bids in zip(
        units.locked_geoms, units.locked_codes, units.locked_buildings, strict=True
    ):
        rows.append({"code": code, "locked": True, "geometry": geom, "_b": bids, "_u": empty})
    for q in range(int(part.max()) + 1 if len(part) else 0):
        members = np.flatnonzero(part == q)
        bids = frozenset(units.building_ids[np.isin(units.building_unit, members)].tolist())
        geom = _polygonal(shapely.union_all(units.territories[members], grid_size=_GRID_M))
        rows.append(
            {
                "code": None,
                "locked": False,
                "geometry": geom,
                "_b": bids,
                "_u": members,
                "_why": reasons.get(q, ""),
            }
        )
    hh = units.figures["households"].to_dict()
    res = units.figures["residents"].to_dict()
    out = []
    for g, row in enumerate(rows):
        for b in row["_b"]:
            b_grid[b] = g
        h = float(sum(hh[b] for b in row["_b"]))
        r = float(sum(res[b] for b in row["_b"]))
        area, perim = float(shapely.area(row["geometry"])), float(shapely.length(row["geometry"]))
        members = row["_u"]
        out.append(
            {
                "code": row["code"],
                "households": h,
                "residents": r,
                "buildings": len(row["_b"]),
                "compounds": int(np.sum(units.unit_kind[members] == "compound")),
                "area_km2": area / 1e6,
                "polsby_popper": polsby_popper(area, perim),
                "locked": row["locked"],
                "within_limits": limits.within(h, r),
                "note": _note(units, row, h, r, limits),
                "_buildings": row["_b"],
                "geometry": row["geometry"],
            }
        )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=units.crs), b_grid


def _note(units: GridUnits, row: dict[str, Any], hh: float, res: float, limits: Limits) -> str:
    """Why a grid misses a threshold (zh-CN); empty when it meets them all."""
    if limits.within(hh, res):
        return "锁定网格，保持原样" if row["locked"] else ""
    lo, hi = f"{limits.low:g}", f"{limits.high:g}"
    what = []
    if hh > limits.high + _EPS:
        what.append(f"{hh:g} 户，超过每格上限 {hi} 户")
    elif hh < limits.low - _EPS:
        what.append(f"{hh:g} 户，不足每格下限 {lo} 户")
    if res > limits.residents + _EPS:
        what.append(f"居民 {res:g} 人，超过每格上限 {limits.residents:g} 人")
    head = "，".join(what)
    if row["locked"]:
        return f"锁定网格，保持原样；{head}"
    members: Ints = row["_u"]
    too_big = hh > limits.high + _EPS or res > limits.residents + _EPS
    if len(members) == 1 and too_big:
        return f"{head}：{_alone(units, int(members[0]), limits)}"
    stuck = _stranded(units, members, limits)
    if stuck:
        return f"{head}：{stuck}"
    return f"{head}：{row.get('_why') or '在时间上限内未找到满足条件的划分'}"


def _unit_label(units: GridUnits, u: int) -> str:
    name = units.unit_name[u]
    if units.unit_kind[u] == "compound":
        return f"小区 {name}"
    if units.unit_compound[u] is not None:
        return f"小区 {units.unit_compound[u]} 的楼栋 {name}"
    return f"楼栋 {name}"


def _alone(units: GridUnits, u: int, limits: Limits) -> str:
    """Why one unit alone is over a limit."""
    label = _unit_label(units, u)
    if units.unit_kind[u] == "compound" and units.unit_one_building[u]:
        return f"{label} 只有 1 栋楼，无法再分"
    if units.unit_kind[u] == "compound" and units.households[u] > limits.high + _EPS:
        return f"{label} 无法按楼栋拆分（见整体说明）"
    if units.unit_kind[u] == "compound":
        return f"{label} 户数不超过 {limits.high:g} 户，整体不拆分"
    if units.buildings[u] > 1:
        return f"{label} 与邻近的楼栋合为一个单元（其余楼栋在小区范围外），无法再分"
    return f"{label} 单栋成一个网格，无法再分"


def _stranded(units: GridUnits, members: Ints, limits: Limits) -> str:
    """Name a unit of the grid too small alone and too big with any neighbour (zh-CN), or ""."""
    hh = units.households
    for u in members.tolist():
        if hh[u] >= limits.low - _EPS:
            continue
        nbr = np.r_[units.edge_j[units.edge_i == u], units.edge_i[units.edge_j == u]]
        if len(nbr) and (hh[u] + hh[nbr] > limits.high + _EPS).all():
            return (
                f"{_unit_label(units, u)}（{hh[u]:g} 户）单独不足 {limits.low:g} 户，"
                f"与任一相邻的小区或楼栋合在一起又超过 {limits.high:g} 户"
            )
    return ""


def _existing_sets(
    existing: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame
) -> list[tuple[str, frozenset[Hashable]]]:
    """``(code, building ids)`` of every existing grid (a building in the first holding it)."""
    if existing is None or len(existing) == 0:
        return []
    if "code" not in existing.columns:
        msg = "参数 existing（现有网格）缺少 code 列（网格编码）"
        raise MissingColumnError(msg, loc=("existing", "code"))
    ids = _building_ids(buildings)
    pts = shapely.point_on_surface(
        checks.checked_geometries(buildings, ids, layer="buildings", noun="楼栋")
    )
    polys = np.asarray(existing.geometry.to_numpy(), dtype=object)
    valid = np.flatnonzero(~(shapely.is_missing(polys) | shapely.is_empty(polys)))
    owner = np.full(len(ids), -1, dtype=np.int64)
    if len(valid):
        p_idx, g_idx = STRtree(shapely.make_valid(polys[valid])).query(pts, predicate="within")
        first = pd.Series(valid[g_idx]).groupby(p_idx).min()
        owner[first.index.to_numpy(dtype=np.int64)] = first.to_numpy(dtype=np.int64)
    return [
        (str(code), frozenset(ids[owner == g].tolist()))
        for g, code in enumerate(existing["code"].tolist())
        if not pd.isna(code)
    ]


@dataclass(frozen=True)
class _Coded:
    code: list[str]
    unchanged: list[bool]
    row: Ints


def _codes(
    grids: gpd.GeoDataFrame,
    prefix: str,
    separator: str,
    old: list[tuple[str, frozenset[Hashable]]],
) -> _Coded:
    """Codes: kept where unchanged, else the lowest free serials in reading order."""
    order, row = reading_order(grids.geometry.to_numpy())
    by_set: dict[frozenset[Hashable], str] = {}
    for code, members in old:
        if members:
            by_set.setdefault(members, code)
    codes: list[str | None] = [None if _missing(c) else str(c) for c in grids["code"].tolist()]
    unchanged = [c is not None for c in codes]
    used = {c for c in codes if c is not None}
    for i, members in enumerate(grids["_buildings"].tolist()):
        kept = by_set.get(members)
        if codes[i] is None and kept is not None and kept not in used:
            codes[i], unchanged[i] = kept, True
            used.add(kept)
    head = f"{prefix}{separator}" if prefix else ""
    pattern = re.compile(re.escape(head) + r"(\d{3,})")
    taken = {int(m.group(1)) for c in used if (m := pattern.fullmatch(c))}
    serial = 1
    for i in order.tolist():
        if codes[i] is None:
            while serial in taken:
                serial += 1
            codes[i] = f"{head}{serial:03d}"
            taken.add(serial)
    return _Coded([str(c) for c in codes], unchanged, row)
