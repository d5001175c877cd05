"""The 15-minute service circle, from the store to the answer (docs/domain.md, "15 分钟党群服务圈").

:func:`run` walks every building to its nearest open service point (under an optional
scenario); :func:`to_json` is the API's answer, :func:`to_table` the CLI's file;
:func:`scenario_json` compares two runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd

from gis_api.analyses.common import (
    Projected,
    Scenario,
    geojson,
    points_for,
    records,
    refusals,
    walker_for,
)
from gis_api.analysis import service_circle as sc
from gis_api.analysis.walknet import SNAP_SEARCH_M


@dataclass(frozen=True)
class Circle:
    """One run of the service circle: its inputs, the scenario and the coverage."""

    inputs: Projected
    scenario: Scenario
    points: gpd.GeoDataFrame
    coverage: sc.Coverage

    @property
    def approximate(self) -> bool:
        """Whether walks are straight-line estimates (the community has no network)."""
        return bool(self.coverage.approximate)


def run(
    p: Projected,
    *,
    limit_m: float,
    scenario: Scenario | None = None,
    speed_m_per_min: float | None = None,
    with_areas: bool = True,
) -> Circle:
    """Compute the walking coverage of a community's buildings, under an optional scenario."""
    scenario = scenario or Scenario()
    return run_with(
        p,
        points_for(p, scenario),
        limit_m=limit_m,
        scenario=scenario,
        speed_m_per_min=speed_m_per_min,
        with_areas=with_areas,
    )


def run_with(
    p: Projected,
    points: gpd.GeoDataFrame,
    *,
    limit_m: float,
    scenario: Scenario | None = None,
    speed_m_per_min: float | None = None,
    with_areas: bool = True,
) -> Circle:
    """Compute the coverage with these ``points`` (the scenario then only closes gates)."""
    scenario = scenario or Scenario()
    walker = walker_for(p, scenario)
    with refusals():
        cov = sc.service_coverage(
            p.buildings,
            points,
            walker.edges,
            walled=walker.walled,
            closed_gates=walker.closed_gates,
            limit_m=limit_m,
            speed_m_per_min=speed_m_per_min or sc.WALK_SPEED_M_PER_MIN,
            detour_factor=walker.detour_factor,
            with_areas=with_areas,
        )
    return Circle(inputs=p, scenario=scenario, points=points, coverage=cov)


# --- the answer ---------------------------------------------------------------------------------


def to_json(c: Circle) -> dict[str, Any]:
    """Return the API's answer: figures, uncovered buildings and why, buildings, areas."""
    return {
        "community": c.inputs.community,
        "limit_m": c.coverage.limit_m,
        "speed_m_per_min": c.coverage.speed_m_per_min,
        "approximate": c.approximate,
        "summary": summaries(c),
        "uncovered": uncovered(c),
        "buildings": geojson(to_table(c)),
        "areas": areas_geojson(c.coverage),
        "closed_gates": sorted(c.inputs.closed_gates),
    }


def scenario_json(before: Circle, after: Circle) -> dict[str, Any]:
    """Return a scenario's answer: the figures before, the whole answer after, the diff."""
    return {
        "before": summaries(before)["community"],
        "after": to_json(after),
        "diff": diff(before, after),
    }


def to_table(c: Circle) -> gpd.GeoDataFrame:
    """Every building with its nearest open service point, walking metres and coverage (WGS84).

    ``note`` says where the network does not reach a building (:func:`reach_notes`).
    """
    b, cov = c.inputs.buildings, c.coverage.buildings
    out = gpd.GeoDataFrame(
        {
            "building_id": b["building_id"].to_numpy(),
            "name": b["name"].to_numpy(),
            "compound": b["compound"].to_numpy(),
            "grid": b["grid"].to_numpy(),
            "households": b["households"].to_numpy(),
            "residents": b["residents"].to_numpy(),
            "nearest_service_point_id": cov["nearest_service_point_id"].to_numpy(),
            "walk_m": np.round(cov["walk_m"].to_numpy(dtype=float), 1),
            "walk_min": np.round(cov["walk_min"].to_numpy(dtype=float), 1),
            "covered": cov["covered"].to_numpy(dtype=bool),
            "note": reach_notes(c.coverage),
        },
        geometry=b.geometry.to_numpy(),
        crs=c.inputs.crs,
    )
    return out.to_crs("EPSG:4326")


def summaries(c: Circle) -> dict[str, list[dict[str, Any]]]:
    """Coverage per community, grid and compound, as JSON-ready records."""
    buildings = c.inputs.buildings.assign(community=c.inputs.community)
    out = {}
    for by in ("community", "grid", "compound"):
        table = sc.summarize(c.coverage, buildings, c.points, by=by)
        out[by] = records(table.reset_index())  # the grid / compound code is the index
    return out


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


def uncovered(c: Circle) -> list[dict[str, Any]]:
    """List the uncovered buildings, nearest to the circle's edge first, each with why.

    ``reason`` is a stable code and ``reason_zh`` the sentence for people: ``no_open_point``
    (the community has no open service point), ``beyond_limit`` (reached, but farther than
    the limit), ``unreachable`` (walls or closed gates cut it off from every open point;
    a compound all of whose buildings are cut off is named as sealed). See
    docs/robustness.md.
    """
    p, cov = c.inputs, c.coverage
    table = sc.uncovered(cov, p.buildings)
    rows = records(pd.DataFrame(table.drop(columns=table.geometry.name, errors="ignore")))
    n_open = int(c.points["is_open"].astype(bool).sum()) if len(c.points) else 0
    cut_off = {r["building_id"] for r in rows if r.get("walk_m") is None}
    by_compound = p.buildings.groupby("compound", dropna=True)["building_id"].agg(set)
    sealed = {k: len(ids) for k, ids in by_compound.items() if ids <= cut_off}
    names = dict(zip(p.buildings["compound"], p.buildings["compound_name"], strict=False))
    notes = dict(zip(cov.buildings["building_id"], reach_notes(cov), strict=True))
    for r in rows:
        compound = r.get("compound")
        if n_open == 0:
            r["reason"] = "no_open_point"
            r["reason_zh"] = (
                f"社区还没有开放的服务点：请导入服务点"
                f"（gridmap import service_points 文件 --community {p.community}）"
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
    if cov.areas is None:
        return {"type": "FeatureCollection", "features": []}
    return geojson(cov.areas)


def diff(before: Circle, after: Circle) -> dict[str, Any]:
    """Who gains and who loses coverage between two runs."""
    d = sc.compare(before.coverage, after.coverage, before.inputs.buildings)
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
