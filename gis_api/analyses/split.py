"""The community split, from the store to the answer (docs/domain.md, "Splitting a community").

:func:`run` reads a community's compounds, buildings, service points, grids and roads, and
asks :func:`gis_api.analysis.split.split_community` for balanced, contiguous plans;
:func:`assignments`, :func:`measures` and :func:`boundaries` are the CLI's files.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

import geopandas as gpd

from gis_api.analyses.common import AnalysisError, geojson, project, records, refusals
from gis_api.analysis import split as sp
from layers import domain
from layers.errors import Conflict
from layers.queries import split_inputs, split_revision
from layers.splitting import NewCommunity, SavedSplit, lock_community, save_split

#: Ways that are no street a boundary should follow: paths, steps, the passages of gates.
_NOT_STREETS = frozenset({"footway", "path", "steps", "pedestrian", "corridor", "cycleway"})


@dataclass(frozen=True)
class Options:
    """What the planner asks for (issue 15's command line)."""

    parts: int = 2
    tolerance: float = sp.DEFAULT_TOLERANCE
    plans: int = 5
    by: Literal["residents", "households"] = "residents"
    locks: Mapping[Hashable, int] | None = None
    time_budget_s: float = 10.0
    seed: int = 0


def prepare(
    session: Session,
    community: str,
    *,
    by: Literal["residents", "households"] = "residents",
    tolerance: float = sp.DEFAULT_TOLERANCE,
) -> Prepared:
    """Read and prepare a community for splitting, once per revision of what it reads.

    A prepared community is kept (a few per process) until the store changes: the page's
    manual moves are then measured in milliseconds instead of reading and cutting the
    territories again.
    """
    revision = split_revision(session, community)
    key = (community, by, float(tolerance), revision)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    prepared = _prepare(session, community, by=by, tolerance=tolerance, revision=revision)
    with _CACHE_LOCK:
        _CACHE[key] = prepared
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return prepared


@dataclass(frozen=True)
class Prepared:
    """A community ready to split, with its units' names (compound, or the loose building)."""

    community: str
    split: sp.PreparedSplit
    names: tuple[str, ...]
    #: :func:`layers.queries.split_revision` of the data it was prepared from.
    revision: str


def run(session: Session, community: str, options: Options | None = None) -> sp.SplitResult:
    """Split a community into ``options.parts`` parts; several plans, best first."""
    o = options or Options()
    return split(prepare(session, community, by=o.by, tolerance=o.tolerance), o)


def split(prepared: Prepared, options: Options) -> sp.SplitResult:
    """Split a prepared community as ``options`` ask."""
    o = options
    with refusals():
        return sp.split_plans(
            prepared.split,
            parts=o.parts,
            locks=dict(o.locks or {}),
            plans=o.plans,
            seed=o.seed,
            time_budget_s=o.time_budget_s,
        )


def measure(prepared: Prepared, assignment: Mapping[Hashable, int], *, parts: int) -> sp.SplitPlan:
    """Measure a plan the planner changed by hand (a unit moved)."""
    with refusals():
        x = sp.plan_parts(prepared.split, assignment, parts=parts)
        return sp.SplitPlan(part=x, measures=sp.measure_plan(prepared.split, x, parts=parts))


_CACHE: OrderedDict[tuple[Any, ...], Prepared] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _prepare(
    session: Session,
    community: str,
    *,
    by: Literal["residents", "households"],
    tolerance: float,
    revision: str,
) -> Prepared:
    p = project(session, community)
    extra = split_inputs(session, community)
    crs = p.crs
    buildings = p.buildings.rename(columns={"building_id": "code"}).copy()
    floating = extra.floating.set_index("building_id")["floating"]
    buildings["floating"] = buildings["code"].map(floating).fillna(0)
    buildings["id"] = buildings["code"]
    buildings["compound_id"] = buildings["compound"]
    compounds = p.inputs.compounds.rename_geometry("geometry").to_crs(crs)
    compounds = compounds.assign(id=compounds["compound"])[["id", "geometry"]]
    edges = p.inputs.edges
    streets = None
    if len(edges):
        roads = edges[edges["gate"].isna() & ~edges["highway"].isin(_NOT_STREETS)]
        streets = roads.rename_geometry("geometry").to_crs(crs)[["geometry"]]
    points = p.points.drop(columns="id").rename(columns={"service_point_id": "id"})
    walk_m = None
    if not p.walker.approximate and len(points):
        walk_m = p.walker.matrix(buildings, points, limit_m=domain.SERVICE_CIRCLE_M)
    grids = extra.grids.rename_geometry("geometry").to_crs(crs)
    area = extra.community.rename_geometry("geometry").to_crs(crs)
    staff, cadres = (_count(area, c) for c in ("staff", "cadres"))
    with refusals():
        prepared = sp.prepare_split(
            area[["geometry"]],
            compounds,
            buildings[["id", "compound_id", "residents", "households", "floating", "geometry"]],
            tolerance=tolerance,
            by=by,
            streets=streets,
            service_points=points[["id", "kind", "is_open", "geometry"]],
            grids=grids[["id", "geometry"]] if len(grids) else None,
            staff=staff,
            cadres=cadres,
            walk_m=walk_m,
        )
    compound_names = dict(
        zip(p.inputs.compounds["compound"], p.inputs.compounds["name"], strict=True)
    )
    building_names = dict(zip(p.buildings["building_id"], p.buildings["name"], strict=True))
    first: dict[int, Any] = {}  # each unit's first building
    for b, u in zip(prepared.building_ids, prepared.building_unit.tolist(), strict=True):
        first.setdefault(u, b)
    names = tuple(
        str(compound_names.get(uid) or uid)
        if kind == "compound"
        else str(building_names.get(first.get(i)) or first.get(i) or uid)
        for i, (uid, kind) in enumerate(zip(prepared.unit_ids, prepared.unit_kind, strict=True))
    )
    return Prepared(community=community, split=prepared, names=names, revision=revision)


def _count(frame: gpd.GeoDataFrame, column: str) -> int | None:
    value = frame[column].iloc[0] if len(frame) else None
    return None if value is None or pd.isna(value) else int(value)


#: The measures' flags as planners read them.
FLAG_LABELS: dict[str, str] = {
    "tolerance_broken": "人口偏差超出容差",
    "not_contiguous": "有片区不连片",
    "empty_part": "有片区为空",
    "part_without_centre": "有片区没有党群服务中心",
}
#: The comparison table's columns in Chinese (``headers="zh"``), in their order.
COLUMNS_ZH: dict[str, str] = {
    "plan": "方案",
    "parts": "片区数",
    "max_deviation_pct": "最大人口偏差（%）",
    "tolerance_pct": "容差（%）",
    "within_tolerance": "在容差内",
    "all_contiguous": "各片区连片",
    "mean_pp": "平均紧凑度（Polsby–Popper）",
    "min_pp": "最低紧凑度",
    "boundary_km": "新边界长度（公里）",
    "street_share": "新边界沿街比例（%）",
    "parts_with_centre": "有党群服务中心的片区数",
    "min_coverage": "最低15分钟覆盖率（%）",
    "grids_cut": "被切分的网格数",
    "max_residents_per_cadre": "最多每名干部服务人口",
    "flags": "问题",
}
#: Per part, in the comparison table (``{n}`` is the part's number from 1).
PART_COLUMNS_ZH: dict[str, str] = {
    "residents": "片区{n}常住人口",
    "households": "片区{n}户数",
    "area_km2": "片区{n}面积（平方公里）",
    "compounds": "片区{n}小区数",
    "deviation_pct": "片区{n}偏差（%）",
}
#: What the page calls each measure (summary and per part).
MEASURE_LABELS: dict[str, str] = {
    **{k: v for k, v in COLUMNS_ZH.items() if k not in {"plan", "flags"}},
    "residents": "常住人口",
    "households": "户数",
    "floating": "流动人口",
    "area_km2": "面积（平方公里）",
    "compounds": "小区数",
    "buildings": "楼栋数",
    "units": "单元数",
    "deviation_pct": "偏差（%）",
    "contiguous": "连片",
    "polsby_popper": "紧凑度",
    "service_points": "服务点数",
    "centres": "党群服务中心数",
    "has_centre": "有党群服务中心",
    "coverage": "15分钟覆盖率",
    "cadres": "干部数",
    "residents_per_cadre": "每名干部服务人口",
    "staff": "工作人员数",
    "residents_per_staff": "每名工作人员服务人口",
}


def to_json(prepared: Prepared, result: sp.SplitResult) -> dict[str, Any]:
    """Return the plans as the API answers them: units, plans with measures, boundaries."""
    prep = prepared.split
    return {
        "community": prepared.community,
        "revision": prepared.revision,
        "parts": result.parts,
        "by": prep.by,
        "tolerance": prep.tolerance,
        "feasible": result.feasible,
        "notes": list(prep.notes),
        "coverage_source": prep.coverage_source,
        "seconds": round(prep.seconds + result.stats.seconds, 3),
        "units": units_json(prepared),
        "plans": [{"plan": i, **plan_json(prepared, p)} for i, p in enumerate(result.plans)],
        "boundaries": geojson(result.boundaries()),
        "flag_labels": FLAG_LABELS,
        "measure_labels": MEASURE_LABELS,
    }


def units_json(prepared: Prepared) -> dict[str, Any]:
    """Return the units' territories (what moves whole) as GeoJSON, with their figures."""
    prep = prepared.split
    frame = gpd.GeoDataFrame(
        {
            "unit_id": prep.unit_ids.astype(str),
            "kind": prep.unit_kind.astype(str),
            "name": list(prepared.names),
            "residents": prep.residents,
            "households": prep.households,
            "floating": prep.floating,
            "buildings": prep.buildings,
        },
        geometry=list(prep.territories),
        crs=prep.crs,
    )
    return geojson(frame)


def plan_json(prepared: Prepared, plan: sp.SplitPlan) -> dict[str, Any]:
    """One plan: each unit's part, the plan's figures, each part's, and its flags."""
    ids = prepared.split.unit_ids.astype(str)
    m = plan.measures
    return {
        "assignment": dict(zip(ids.tolist(), plan.part.tolist(), strict=True)),
        "summary": _clean(m.summary()),
        "parts": [_clean(r) for r in records(m.table())],
        "flags": list(m.flags),
    }


def measure_json(prepared: Prepared, plan: sp.SplitPlan) -> dict[str, Any]:
    """Return a plan moved by hand: its figures and the parts' new boundaries."""
    parts = sp.plan_boundaries(prepared.split, [plan.part]).drop(columns="plan")
    return {
        **plan_json(prepared, plan),
        "boundaries": geojson(parts),
        "revision": prepared.revision,
    }


def comparison(plans: list[sp.SplitPlan], *, headers: Literal["zh", "en"] = "zh") -> pd.DataFrame:
    """Return the plans side by side, one row each: what planners take to a meeting.

    ``headers="en"`` keeps :meth:`~gis_api.analysis.split.PlanMeasures.summary`'s column
    names and raw values for scripts; ``"zh"`` names them in Chinese, says 是/否, gives
    shares in per cent, rounds, and names the flags.
    """
    rows = []
    for i, plan in enumerate(plans):
        m = plan.measures
        row = {"plan": i, **m.summary()}
        table = m.table()
        for key in PART_COLUMNS_ZH:
            for p, value in enumerate(table[key].tolist()):
                row[f"{key}_{p}"] = value
        rows.append(row)
    frame = pd.DataFrame(rows)
    if headers == "en":
        return frame
    out = pd.DataFrame(
        {zh: _zh_column(key, frame[key]) for key, zh in COLUMNS_ZH.items() if key in frame}
    )
    parts = int(frame["parts"].max()) if len(frame) else 0
    for p in range(parts):
        for key, zh in PART_COLUMNS_ZH.items():
            col = f"{key}_{p}"
            if col in frame:
                values = frame[col]
                out[zh.format(n=p + 1)] = values.round(2) if values.dtype.kind == "f" else values
    return out


def _zh_column(key: str, values: pd.Series) -> pd.Series:
    """Return one column of the comparison table as an office reads it."""
    if key == "plan":
        return values + 1
    if key in {"within_tolerance", "all_contiguous"}:
        return values.map({True: "是", False: "否"})
    if key in {"street_share", "min_coverage"}:
        return (100 * values.astype(float)).round(1)
    if key == "flags":
        return values.map(
            lambda f: "；".join(FLAG_LABELS.get(c, c) for c in str(f).split(",") if c) or "无"
        )
    if values.dtype.kind == "f":
        return values.round(3 if key.endswith("pp") else 2)
    return values


def plan_boundaries(prepared: Prepared, plans: list[sp.SplitPlan]) -> gpd.GeoDataFrame:
    """One polygon per plan and part (``plan``, ``part`` from 1, and the part's figures)."""
    frame = sp.plan_boundaries(prepared.split, [p.part for p in plans])
    for key in ("residents", "households", "area_km2", "compounds", "deviation_pct"):
        frame[key] = [
            float(plans[int(r.plan)].measures.table()[key].iloc[int(r.part)])
            for r in frame.itertuples()
        ]
    frame["plan"] += 1
    frame["part"] += 1
    return frame.to_crs("EPSG:4326")


@dataclass(frozen=True)
class NewName:
    """The code and name a part is saved under."""

    code: str
    name: str


def save(
    session: Session,
    community: str,
    assignment: Mapping[Hashable, int],
    names: list[NewName],
    *,
    by: Literal["residents", "households"] = "residents",
    tolerance: float = sp.DEFAULT_TOLERANCE,
    revision: str | None = None,
) -> tuple[sp.SplitPlan, SavedSplit]:
    """Save a plan: its parts become communities (:func:`layers.splitting.save_split`).

    The community is locked first and prepared from the store as it is now. Given the
    ``revision`` the plan was made on (the API's answers carry it), a community changed since
    is refused (409) rather than the plan applied to other data.
    A plan with a part empty or not contiguous is refused; one outside the tolerance is the
    planner's call.
    """
    lock_community(session, community)
    # Read afresh under the lock, never from the cache: what is saved is what is stored now.
    now = split_revision(session, community)
    if revision is not None and revision != now:
        msg = f"社区“{community}”的数据在方案生成后有改动（或已被他人拆分），请重新生成方案后再保存"
        raise Conflict(msg, loc=("body", "revision"))
    prepared = _prepare(session, community, by=by, tolerance=tolerance, revision=now)
    plan = measure(prepared, assignment, parts=len(names))
    m = plan.measures
    for flag, zh in (
        ("empty_part", "有片区没有任何小区或楼栋"),
        ("not_contiguous", "有片区不连片"),
    ):
        if flag in m.flags:
            msg = f"方案{zh}，不能保存为新社区：请先调整"
            raise AnalysisError(msg, loc=("body", "assignment"), type=f"split_{flag}")
    prep = prepared.split
    shapes = sp.plan_boundaries(prep, [plan.part]).to_crs("EPSG:4326")
    parts = [
        NewCommunity(
            code=n.code,
            name=n.name,
            geometry=shapes.geometry.iloc[p],
            residents=round(float(m.residents[p])),
            households=round(float(m.households[p])),
            floating=round(float(m.floating[p])),
            staff=None if m.staff is None else int(m.staff[p]),
            cadres=None if m.cadres is None else int(m.cadres[p]),
        )
        for p, n in enumerate(names)
    ]
    compound = prep.unit_kind == "compound"
    saved = save_split(
        session,
        community,
        parts,
        compound_part=dict(
            zip(prep.unit_ids[compound].astype(str), plan.part[compound].tolist(), strict=True)
        ),
        building_part=dict(
            zip(
                prep.building_ids.astype(str),
                plan.part[prep.building_unit].tolist(),
                strict=True,
            )
        ),
    )
    return plan, saved


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    def value(v: Any) -> Any:
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return {str(k): value(v) for k, v in row.items()}


def assignments(result: sp.SplitResult) -> pd.DataFrame:
    """One row per plan and building: ``plan``, ``building_id``, ``unit_id``, ``part``."""
    return result.assignments()


def measures(result: sp.SplitResult) -> pd.DataFrame:
    """One row per plan with its measures (the comparison table)."""
    return result.measures()


def boundaries(result: sp.SplitResult) -> gpd.GeoDataFrame:
    """One polygon per plan and part, each plan covering the community (WGS84)."""
    return result.boundaries().to_crs("EPSG:4326")
