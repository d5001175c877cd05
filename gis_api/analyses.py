"""Glue between the store and the analyses, used by both the CLI and the routes.

Reads one community's layers, projects them to its UTM zone, runs a pure analysis from
:mod:`gis_api.analysis` and turns the result into tables and GeoJSON in WGS84. Nothing here
writes to the database: scenarios change only what the analysis sees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from gis_api.analysis import service_circle as sc
from gis_api.analysis.walknet import SNAP_SEARCH_M
from layers import crs as crsmod
from layers.errors import GridmapError, MissingData, NotFound
from layers.queries import AnalysisInputs, analysis_inputs


class AnalysisError(GridmapError):
    """An analysis refused its inputs or options (the message says which and why)."""

    type = "analysis_error"
    status = 422


@dataclass(frozen=True)
class NewPoint:
    """A service point a scenario adds (WGS84)."""

    lon: float
    lat: float
    kind: str = "red_house"
    name: str = "拟新增服务点"


@dataclass(frozen=True)
class Scenario:
    """What a scenario changes: gates closed or opened, points added or removed."""

    close_gates: tuple[str, ...] = ()
    open_gates: tuple[str, ...] = ()
    add_points: tuple[NewPoint, ...] = ()
    remove_points: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether the scenario changes nothing."""
        return not (self.close_gates or self.open_gates or self.add_points or self.remove_points)


@dataclass(frozen=True)
class Projected:
    """A community's inputs in its metric CRS, ready for the analyses."""

    inputs: AnalysisInputs
    crs: Any
    buildings: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame | None
    walled: gpd.GeoDataFrame
    closed_gates: frozenset[str]
    gates: tuple[str, ...] = field(default=())


def project(session: Session, community: str) -> Projected:
    """Read a community's layers and project them to its UTM zone."""
    inputs = analysis_inputs(session, community)
    if len(inputs.buildings) == 0:
        msg = (
            f"社区“{community}”还没有楼栋数据，无法分析："
            f"请先导入楼栋（gridmap import buildings 文件 --community {community}）"
        )
        raise MissingData(msg, loc=("community",))
    metric = crsmod.metric_crs(inputs.buildings.geometry)

    def m(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return frame.rename_geometry("geometry").to_crs(metric)

    edges = m(inputs.edges) if len(inputs.edges) else None
    gate_rows = inputs.edges.dropna(subset=["gate"])
    closed = frozenset(gate_rows.loc[~gate_rows["gate_open"].astype(bool), "gate"])
    return Projected(
        inputs=inputs,
        crs=metric,
        buildings=m(inputs.buildings),
        points=m(inputs.points),
        edges=edges,
        walled=m(inputs.walled),
        closed_gates=closed,
        gates=tuple(sorted(set(gate_rows["gate"]))),
    )


def points_for(p: Projected, scenario: Scenario | None) -> gpd.GeoDataFrame:
    """Return the service points a scenario leaves: stored ones, less removed, plus added."""
    scenario = scenario or Scenario()
    points = p.points
    unknown = set(scenario.remove_points) - set(points["service_point_id"])
    if unknown:
        msg = f"没有这些服务点：{'、'.join(sorted(unknown))}"
        raise NotFound(msg, loc=("body", "remove_points"))
    points = points[~points["service_point_id"].isin(scenario.remove_points)]
    if scenario.add_points:
        added = gpd.GeoDataFrame(
            {
                "service_point_id": [f"新增{i + 1}" for i in range(len(scenario.add_points))],
                "name": [a.name for a in scenario.add_points],
                "kind": [a.kind for a in scenario.add_points],
                "is_open": True,
            },
            geometry=[shapely.Point(a.lon, a.lat) for a in scenario.add_points],
            crs="EPSG:4326",
        ).to_crs(p.crs)
        points = pd.concat([points, added], ignore_index=True)
    return gpd.GeoDataFrame(points, geometry="geometry", crs=p.crs)


def _closed_for(p: Projected, scenario: Scenario) -> frozenset[str]:
    unknown = (set(scenario.close_gates) | set(scenario.open_gates)) - set(p.gates)
    if unknown:
        msg = f"路网中没有这些出入口：{'、'.join(sorted(unknown))}"
        raise NotFound(msg, loc=("body", "gates"))
    return (p.closed_gates | set(scenario.close_gates)) - set(scenario.open_gates)


def coverage(
    p: Projected,
    *,
    limit_m: float,
    scenario: Scenario | None = None,
    speed_m_per_min: float | None = None,
    detour_factor: float = sc.DEFAULT_DETOUR_FACTOR,
    with_areas: bool = True,
) -> sc.Coverage:
    """Compute the walking coverage of a community's buildings, under an optional scenario."""
    scenario = scenario or Scenario()
    try:
        return sc.service_coverage(
            p.buildings,
            points_for(p, scenario),
            p.edges,
            walled=p.walled,
            closed_gates=_closed_for(p, scenario),
            limit_m=limit_m,
            speed_m_per_min=speed_m_per_min or sc.WALK_SPEED_M_PER_MIN,
            detour_factor=detour_factor,
            with_areas=with_areas,
        )
    except ValueError as exc:
        loc = getattr(exc, "loc", ())
        raise AnalysisError(str(exc), loc=tuple(loc)) from exc


def limit_m(*, metres: float | None, minutes: float | None, speed_m_per_min: float | None) -> float:
    """Return the walking limit in metres from what the user gave (GB 50180-2018)."""
    try:
        return sc.limit_from(metres=metres, minutes=minutes, speed_m_per_min=speed_m_per_min)
    except ValueError as exc:
        raise AnalysisError(str(exc), loc=tuple(getattr(exc, "loc", ()))) from exc


# --- results as tables and GeoJSON ------------------------------------------------------------


def reach_notes(cov: sc.Coverage) -> list[str | None]:
    """Say, per building, when the walking network does not reach it (None when it does).

    A building with no way on its side of the walls within the snap search gets its walk
    from the nearest way of all, across whatever lies between: the figure is then a guess
    and the network needs the missing paths.
    """
    if cov.approximate:
        return [None] * len(cov.buildings)
    free = cov.buildings["snap_unrestricted"].to_numpy(dtype=bool)
    access = cov.buildings["access_m"].to_numpy(dtype=float)
    return [
        f"步行路网未覆盖此楼：{SNAP_SEARCH_M:.0f} 米内没有可走的道路，"
        f"按最近道路（{a:.0f} 米外）估算，请补充路网"
        if f
        else None
        for f, a in zip(free, access, strict=True)
    ]


def building_table(p: Projected, cov: sc.Coverage) -> gpd.GeoDataFrame:
    """Every building with its nearest open service point, walking metres and coverage (WGS84).

    ``note`` says where the network does not reach a building (:func:`reach_notes`).
    """
    b = p.buildings
    out = gpd.GeoDataFrame(
        {
            "building_id": b["building_id"].to_numpy(),
            "name": b["name"].to_numpy(),
            "compound": b["compound"].to_numpy(),
            "grid": b["grid"].to_numpy(),
            "households": b["households"].to_numpy(),
            "residents": b["residents"].to_numpy(),
            "nearest_service_point_id": cov.buildings["nearest_service_point_id"].to_numpy(),
            "walk_m": np.round(cov.buildings["walk_m"].to_numpy(dtype=float), 1),
            "walk_min": np.round(cov.buildings["walk_min"].to_numpy(dtype=float), 1),
            "covered": cov.buildings["covered"].to_numpy(dtype=bool),
            "note": reach_notes(cov),
        },
        geometry=b.geometry.to_numpy(),
        crs=p.crs,
    )
    return out.to_crs("EPSG:4326")


def summaries(
    p: Projected, cov: sc.Coverage, scenario: Scenario | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Coverage per community, grid and compound, as JSON-ready records."""
    buildings = p.buildings.assign(community=p.inputs.community)
    points = points_for(p, scenario)
    out = {}
    for by in ("community", "grid", "compound"):
        table = sc.summarize(cov, buildings, points, by=by)
        out[by] = records(table.reset_index())  # the grid / compound code is the index
    return out


def uncovered_list(
    p: Projected, cov: sc.Coverage, scenario: Scenario | None = None
) -> list[dict[str, Any]]:
    """List the uncovered buildings, nearest to the circle's edge first, each with why.

    ``reason`` is a stable code and ``reason_zh`` the sentence for people: ``no_open_point``
    (the community has no open service point), ``beyond_limit`` (reached, but farther than
    the limit), ``unreachable`` (walls or closed gates cut it off from every open point;
    a compound all of whose buildings are cut off is named as sealed).
    """
    table = sc.uncovered(cov, p.buildings)
    rows = records(pd.DataFrame(table.drop(columns=table.geometry.name, errors="ignore")))
    points = points_for(p, scenario)
    n_open = int(points["is_open"].astype(bool).sum()) if len(points) else 0
    cut_off = {r["building_id"] for r in rows if r.get("walk_m") is None}
    by_compound = p.buildings.groupby("compound", dropna=True)["building_id"].agg(set)
    sealed = {c: len(ids) for c, ids in by_compound.items() if ids <= cut_off}
    names = dict(zip(p.buildings["compound"], p.buildings["compound_name"], strict=False))
    notes = dict(zip(cov.buildings["building_id"], reach_notes(cov), strict=True))
    for r in rows:
        compound = r.get("compound")
        if n_open == 0:
            r["reason"] = "no_open_point"
            r["reason_zh"] = (
                f"社区还没有开放的服务点：请导入服务点"
                f"（gridmap import service_points 文件 --community {p.inputs.community}）"
            )
        elif r.get("walk_m") is not None:
            r["reason"] = "beyond_limit"
            r["reason_zh"] = (
                f"步行 {r['walk_m']:.0f} 米{'（直线估算）' if cov.approximate else ''}，"
                f"超出 {cov.limit_m:.0f} 米 {r['gap_m']:.0f} 米"
            )
        elif compound in sealed:
            r["reason"] = "unreachable"
            r["reason_zh"] = (
                f"无法步行到达任何开放的服务点：所在小区“{names.get(compound) or compound}”"
                f"的 {sealed[compound]} 栋楼都被围墙隔断，围墙上没有开放的出入口"
                "（请检查出入口数据或开放状态）"
            )
        else:
            r["reason"] = "unreachable"
            r["reason_zh"] = "无法步行到达任何开放的服务点：步行路网在围墙或关闭的出入口处断开"
        if notes.get(r["building_id"]):
            r["reason_zh"] += f"；{notes[r['building_id']]}"
    return rows


def areas_geojson(cov: sc.Coverage) -> dict[str, Any]:
    """Each open point's service area as GeoJSON (WGS84)."""
    if cov.areas is None or len(cov.areas) == 0:
        return {"type": "FeatureCollection", "features": []}
    areas = cov.areas.to_crs("EPSG:4326")
    return dict(json.loads(areas.to_json(na="null", drop_id=True)))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn a table into JSON-ready records (NaN to None, numpy scalars to Python)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, np.generic):
            return clean(v.item())
        return v

    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def diff_record(p: Projected, before: sc.Coverage, after: sc.Coverage) -> dict[str, Any]:
    """Who gains and who loses coverage in a scenario."""
    d = sc.compare(before, after, p.buildings)
    return {
        "gained": list(d.gained),
        "lost": list(d.lost),
        "households_gained": d.households_gained,
        "households_lost": d.households_lost,
        "residents_gained": d.residents_gained,
        "residents_lost": d.residents_lost,
        "households_net": d.households_net,
        "residents_net": d.residents_net,
    }


def scenario_from(
    *,
    close_gates: Sequence[str] = (),
    open_gates: Sequence[str] = (),
    add_points: Sequence[dict[str, Any]] = (),
    remove_points: Sequence[str] = (),
) -> Scenario:
    """Build a scenario from plain values (request bodies, CLI options)."""
    return Scenario(
        close_gates=tuple(close_gates),
        open_gates=tuple(open_gates),
        add_points=tuple(NewPoint(**a) for a in add_points),
        remove_points=tuple(remove_points),
    )


# --- walking between any two sets of places ---------------------------------------------------


def walking_graph(p: Projected) -> Any:
    """Return the community's walking graph (walls, stored closed gates), validated."""
    try:
        return sc.walk_graph(p.edges, p.walled, set(p.closed_gates))
    except ValueError as exc:
        raise AnalysisError(str(exc), loc=tuple(getattr(exc, "loc", ()))) from exc


def walk_matrix(
    p: Projected,
    sources: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    *,
    limit_m: float,
    detour_factor: float = sc.DEFAULT_DETOUR_FACTOR,
) -> tuple[Any, bool]:
    """Return walking metres from every source to every target within ``limit_m`` (sparse).

    On the community's network (walls and closed gates respected, access legs counted) when
    it has one; otherwise straight distance x ``detour_factor``, and the flag says so.
    """
    from scipy.sparse import csr_array
    from scipy.spatial import cKDTree

    from gis_api.analysis import walknet

    s_xy = shapely.get_coordinates(shapely.point_on_surface(sources.geometry.to_numpy()))
    t_xy = shapely.get_coordinates(shapely.point_on_surface(targets.geometry.to_numpy()))
    if p.edges is None or len(p.edges) == 0:
        pairs = cKDTree(s_xy).sparse_distance_matrix(
            cKDTree(t_xy), limit_m / detour_factor, output_type="coo_matrix"
        )
        walk = csr_array(
            (pairs.data * detour_factor, (pairs.row, pairs.col)), shape=(len(s_xy), len(t_xy))
        )
        return walk, True
    graph = walking_graph(p)
    walk = walknet.distances_within(
        graph,
        walknet.snap_points(graph, s_xy),
        walknet.snap_points(graph, t_xy),
        limit_m=limit_m,
    )
    return walk, False


# --- red-house venue selection ----------------------------------------------------------------


def venue_plan(
    p: Projected,
    *,
    k: int,
    limit_m: float,
    demand: str = "residents",
    weight_score: float = 0.0,
    include_incomplete_legal: bool = False,
    max_per_compound: int | None = 1,
    time_limit_s: float = 10.0,
) -> tuple[Any, bool]:
    """Choose ``k`` candidate rooms for red houses; return the plan and whether approximate."""
    from gis_api.analysis import venues

    candidates = p.inputs.candidates.rename_geometry("geometry").to_crs(p.crs)
    if len(candidates) == 0:
        msg = (
            f"社区“{p.inputs.community}”还没有候选场地，无法选址：请先导入候选场地"
            f"（gridmap import candidate_venues 文件 --community {p.inputs.community}）"
        )
        raise MissingData(msg, loc=("community",))
    existing = coverage(p, limit_m=limit_m, with_areas=False)
    walk, approximate = walk_matrix(p, candidates, p.buildings, limit_m=limit_m)
    try:
        plan = venues.venue_selection(
            p.buildings,
            candidates,
            walk,
            existing_covered=existing.buildings["covered"].to_numpy(dtype=bool),
            k=k,
            limit_m=limit_m,
            demand=demand,  # type: ignore[arg-type]
            include_incomplete_legal=include_incomplete_legal,
            max_per_compound=max_per_compound,
            weight_score=weight_score,
            time_limit_s=time_limit_s,
        )
    except ValueError as exc:
        raise AnalysisError(str(exc), loc=tuple(getattr(exc, "loc", ()))) from exc
    return plan, approximate or existing.approximate


def write_table_any(frame: gpd.GeoDataFrame, path: Any) -> None:
    """Write a result table: ``.xlsx`` for spreadsheets, else by the store's file formats."""
    from pathlib import Path

    from layers.io.files import write_table

    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        reps = frame.geometry.representative_point()
        table["lon"], table["lat"] = reps.x.round(7), reps.y.round(7)
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_excel(path, index=False)
    else:
        write_table(frame, path)


def picks_frame(p: Projected, plan: Any) -> gpd.GeoDataFrame:
    """Return the picks with their places (WGS84), for maps and GeoJSON/CSV export."""
    cands = p.inputs.candidates[["candidate_id", "geom"]].rename_geometry("geometry")
    picks = plan.picks.copy()
    for col in picks.columns:
        if picks[col].map(lambda v: isinstance(v, (list, tuple))).any():
            picks[col] = picks[col].map(
                lambda v: "、".join(map(str, v)) if isinstance(v, (list, tuple)) else v
            )
    merged = picks.merge(cands, on="candidate_id", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")


# --- building-lead zones ----------------------------------------------------------------------


def lead_zone_plan(
    session: Session,
    p: Projected,
    *,
    min_households: float,
    min_occupancy: float,
    max_walk_m: float,
    cross_compounds: bool = False,
) -> Any:
    """Group a community's buildings into lead zones, keeping locked zones and old ids.

    Neighbours are buildings within ``max_walk_m`` of each other on the walking network
    (walls and gates respected) or, without one, straight distance x 1.3 (flagged).
    """
    from gis_api.analysis import lead_zones as lz
    from layers.queries import stored_zones

    if p.edges is None or len(p.edges) == 0:
        neighbours = lz.neighbour_graph_euclidean(p.buildings, max_walk_m)
    else:
        neighbours = lz.neighbour_graph_walking(p.buildings, walking_graph(p), max_walk_m)
    saved = stored_zones(session, p.inputs.community)
    previous = dict(zip(saved["code"], saved["members"], strict=True))
    locked = {
        c: m for c, m, k in zip(saved["code"], saved["members"], saved["locked"], strict=True) if k
    }
    try:
        return lz.lead_zones(
            p.buildings,
            neighbours,
            min_households=min_households,
            min_occupancy=min_occupancy,
            max_walk_m=max_walk_m,
            cross_compounds=cross_compounds,
            locked=locked or None,
            previous=previous or None,
            id_prefix=f"{p.inputs.community}-LZ",
        )
    except ValueError as exc:
        raise AnalysisError(str(exc), loc=tuple(getattr(exc, "loc", ()))) from exc


def lead_zones_for(
    session: Session,
    community: str,
    settings: Any,
    *,
    min_households: int | None = None,
    min_occupancy: float | None = None,
    max_walk_m: float | None = None,
    cross_compounds: bool = False,
) -> tuple[Projected, Any]:
    """Project a community and group it, thresholds not given taken from ``settings``."""
    p = project(session, community)
    plan = lead_zone_plan(
        session,
        p,
        min_households=min_households or settings.lead_min_households,
        min_occupancy=settings.lead_min_occupancy if min_occupancy is None else min_occupancy,
        max_walk_m=max_walk_m or settings.lead_max_walk_m,
        cross_compounds=cross_compounds,
    )
    return p, plan


def diff_dict(diff: Any) -> dict[str, Any]:
    """Return a zone diff as plain JSON: added, removed, changed (members in/out), unchanged."""
    return {
        "added": list(diff.added),
        "removed": list(diff.removed),
        "changed": [
            {"zone_id": c.zone_id, "in": list(c.members_in), "out": list(c.members_out)}
            for c in diff.changed
        ],
        "unchanged": len(diff.unchanged),
    }
