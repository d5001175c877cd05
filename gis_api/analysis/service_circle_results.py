"""What the service circle hands back, and what is made of it: sums, lists, scenario diffs.

Part of :mod:`gis_api.analysis.service_circle`, which re-exports every public name here:
:class:`Coverage` (who reaches an open service point, and the area each one serves),
:func:`summarize` (per community, grid or compound), :func:`uncovered` (the buildings outside
the circle, nearest to its edge first) and :func:`compare` (what a scenario changes,
:class:`ScenarioDiff`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import geopandas as gpd

from gis_api.analysis import checks
from gis_api.analysis.errors import (
    CoverageMismatchError,
    MissingColumnError,
    OptionError,
)
from gis_api.analysis.service_circle_inputs import KINDS, _numbers

__all__ = [
    "GROUPINGS",
    "Coverage",
    "ScenarioDiff",
    "compare",
    "summarize",
    "uncovered",
]

#: Building columns :func:`summarize` can group by.
GROUPINGS: tuple[str, ...] = ("community", "grid", "compound")


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Who reaches an open service point within the limit, and the area each one serves.

    Attributes
    ----------
    buildings
        One row per building, in input order: ``building_id``, ``nearest_service_point_id``
        (None when none is reachable), ``walk_m`` (access legs + network; NaN when no open
        point is reachable), ``walk_min``, ``covered`` (``walk_m <= limit_m``), ``access_m``
        (the building's straight access leg; NaN in approximate mode) and
        ``snap_unrestricted`` (no edge on its side of the walls within 300 m, so the nearest
        of all was used).
    by_kind
        Same rows as ``buildings``, one column per kind in :data:`KINDS`: walking metres to
        the nearest open point of that kind, NaN when none lies within the limit.
    points
        One row per service point: ``service_point_id``, ``kind``, ``is_open``, ``access_m``,
        ``snap_unrestricted``, ``buildings_served`` and ``households_served`` (covered
        buildings for which it is the nearest open point).
    areas
        One row per open point: ``service_point_id``, ``kind``, ``street_m`` (metres of street
        reached) and the polygon of the streets reached within the limit, buffered by
        ``street_buffer_m`` and dissolved. In approximate mode a circle of radius
        ``limit_m / detour_factor``. None when not asked for.
    limit_m, speed_m_per_min, detour_factor
        The options used.
    approximate
        True when there was no network and straight distance x ``detour_factor`` stood in.
    crs
        The CRS of the inputs.
    """

    buildings: pd.DataFrame
    by_kind: pd.DataFrame
    points: pd.DataFrame
    areas: gpd.GeoDataFrame | None
    limit_m: float
    speed_m_per_min: float
    detour_factor: float
    approximate: bool
    crs: Any


@dataclass(frozen=True)
class ScenarioDiff:
    """What a scenario changes in coverage, ``before`` -> ``after``.

    Attributes
    ----------
    gained, lost
        Ids of the buildings covered after but not before, and before but not after, in the
        order of the buildings given.
    households_gained, households_lost, residents_gained, residents_lost
        Their households and residents (missing values count as 0).
    """

    gained: tuple[Any, ...]
    lost: tuple[Any, ...]
    households_gained: float
    households_lost: float
    residents_gained: float
    residents_lost: float

    @property
    def households_net(self) -> float:
        """Households gained minus households lost."""
        return self.households_gained - self.households_lost

    @property
    def residents_net(self) -> float:
        """Residents gained minus residents lost."""
        return self.residents_gained - self.residents_lost


# --- summaries and scenarios ------------------------------------------------------------------


def _aligned(coverage: Coverage, buildings: gpd.GeoDataFrame) -> NDArray[np.int64]:
    """Row of ``buildings`` for each row of ``coverage.buildings``; the id sets must match."""
    ids = checks.ids(buildings, "buildings", "building_id")
    cov_ids = coverage.buildings["building_id"].to_numpy(dtype=object)
    index = pd.Index(ids)
    pos = index.get_indexer(pd.Index(cov_ids))
    if len(ids) != len(cov_ids) or (pos < 0).any():
        msg = (
            f"参数 buildings（{len(ids)} 栋）与 coverage 计算时的楼栋不一致"
            f"（{len(cov_ids)} 栋）；请传入同一批楼栋"
        )
        raise CoverageMismatchError(msg, loc=("buildings", "building_id"))
    return pos.astype(np.int64)


def summarize(
    coverage: Coverage,
    buildings: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    by: str,
) -> pd.DataFrame:
    """Sum up coverage per community, grid or compound.

    Parameters
    ----------
    coverage
        From :func:`service_coverage`.
    buildings
        The buildings it was computed for, with ``households``, ``residents`` and the ``by``
        column.
    points
        The service points it was computed for (checked against the coverage).
    by
        ``"community"``, ``"grid"`` or ``"compound"``. Buildings without a value form one
        group with a missing key.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by``: ``buildings``, ``buildings_covered``, ``households``,
        ``households_covered``, ``households_covered_share``, ``residents``,
        ``residents_covered``, ``residents_covered_share`` and, per kind,
        ``households_covered_<kind>`` (households whose nearest open point of that kind is
        within the limit). Missing households or residents count as unknown: left out of
        both the total and the covered sum.
    """
    if by not in GROUPINGS:
        msg = f"参数 by 为 {by!r}，应为 {'、'.join(GROUPINGS)} 之一"
        raise OptionError(msg, loc=("by",))
    if by not in buildings.columns:
        msg = f"参数 buildings 缺少 {by} 列，无法按其汇总"
        raise MissingColumnError(msg, loc=("buildings", by))
    p_ids = checks.ids(points, "points", "service_point_id")
    known = set(coverage.points["service_point_id"].tolist())
    if len(p_ids) != len(known) or not known.issuperset(p_ids.tolist()):
        msg = f"参数 points（{len(p_ids)} 个）与 coverage 计算时的服务点不一致（{len(known)} 个）"
        raise CoverageMismatchError(msg, loc=("points", "service_point_id"))
    rows = _aligned(coverage, buildings)
    hh = _numbers(buildings, "buildings", "households")[rows]
    res = _numbers(buildings, "buildings", "residents")[rows]
    covered = coverage.buildings["covered"].to_numpy(dtype=np.bool_)
    frame = pd.DataFrame(
        {
            by: buildings[by].to_numpy(dtype=object)[rows],
            "buildings": 1,
            "buildings_covered": covered.astype(np.int64),
            "households": hh,
            "households_covered": np.where(covered, hh, 0.0),
            "residents": res,
            "residents_covered": np.where(covered, res, 0.0),
        }
    )
    for k in KINDS:
        near = coverage.by_kind[k].to_numpy(dtype=np.float64) <= coverage.limit_m
        frame[f"households_covered_{k}"] = np.where(near, hh, 0.0)
    sums = frame.groupby(by, dropna=False, sort=True).sum(min_count=0)
    columns: dict[str, Any] = {}
    for col in sums.columns:
        columns[col] = sums[col]
        what = col.removesuffix("_covered")
        if col.endswith("_covered") and what in ("households", "residents"):
            total = sums[what].to_numpy(dtype=np.float64)
            got = sums[col].to_numpy(dtype=np.float64)
            share = np.divide(got, total, out=np.full(len(total), np.nan), where=total > 0)
            columns[f"{col}_share"] = share
    return pd.DataFrame(columns, index=sums.index)


def uncovered(coverage: Coverage, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """List the buildings outside the circle, nearest to its edge first.

    Sorted by ``gap_m = walk_m - limit_m`` ascending (the easiest to bring in first), then
    the buildings no open point reaches at all (``walk_m`` NaN).

    Returns
    -------
    geopandas.GeoDataFrame
        ``building_id``, ``households``, ``residents`` (when given), ``community``, ``grid``
        and ``compound`` (when given), ``nearest_service_point_id``, ``walk_m``, ``gap_m`` and
        the footprint.
    """
    rows = _aligned(coverage, buildings)
    cov = coverage.buildings
    out_rows = np.flatnonzero(~cov["covered"].to_numpy(dtype=np.bool_))
    walk = cov["walk_m"].to_numpy(dtype=np.float64)[out_rows]
    order = np.lexsort((np.arange(len(out_rows)), walk, np.isnan(walk)))
    out_rows = out_rows[order]
    src = buildings.iloc[rows[out_rows]]
    data: dict[str, Any] = {"building_id": cov["building_id"].to_numpy(dtype=object)[out_rows]}
    for col in ("households", "residents", *GROUPINGS):
        if col in buildings.columns:
            data[col] = src[col].to_numpy()
    data["nearest_service_point_id"] = cov["nearest_service_point_id"].to_numpy(dtype=object)[
        out_rows
    ]
    data["walk_m"] = walk[order]
    data["gap_m"] = walk[order] - coverage.limit_m
    return gpd.GeoDataFrame(data, geometry=src.geometry.array, crs=buildings.crs)


def compare(before: Coverage, after: Coverage, buildings: gpd.GeoDataFrame) -> ScenarioDiff:
    """Count the buildings, households and residents a scenario brings in or leaves out.

    Both coverages must be for the same buildings, and both on the network or both
    approximate (mixing them would report the method's difference as a gain or a loss).
    """
    if before.approximate != after.approximate:
        msg = "参数 before 与 after 一个按路网计算、一个按直线距离估算，不能比较"
        raise CoverageMismatchError(msg, loc=("after", "approximate"))
    rows = _aligned(before, buildings)
    ids = before.buildings["building_id"].to_numpy(dtype=object)
    after_pos = pd.Index(after.buildings["building_id"].to_numpy(dtype=object)).get_indexer(
        pd.Index(ids)
    )
    if len(after.buildings) != len(ids) or (after_pos < 0).any():
        msg = "参数 before 与 after 的楼栋不一致，不能比较"
        raise CoverageMismatchError(msg, loc=("after", "building_id"))
    was = before.buildings["covered"].to_numpy(dtype=np.bool_)
    now = after.buildings["covered"].to_numpy(dtype=np.bool_)[after_pos]
    hh = np.nan_to_num(_numbers(buildings, "buildings", "households")[rows])
    res = (
        np.nan_to_num(_numbers(buildings, "buildings", "residents")[rows])
        if "residents" in buildings.columns
        else np.zeros(len(ids))
    )
    # Report in the order of the buildings given.
    order = np.argsort(rows, kind="stable")
    gained = order[(now & ~was)[order]]
    lost = order[(was & ~now)[order]]
    return ScenarioDiff(
        gained=tuple(ids[gained].tolist()),
        lost=tuple(ids[lost].tolist()),
        households_gained=float(hh[gained].sum()),
        households_lost=float(hh[lost].sum()),
        residents_gained=float(res[gained].sum()),
        residents_lost=float(res[lost].sum()),
    )
