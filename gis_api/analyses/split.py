"""The community split, from the store to the answer (docs/domain.md, "Splitting a community").

:func:`run` reads a community's compounds, buildings, service points, grids and roads, and
asks :func:`gis_api.analysis.split.split_community` for balanced, contiguous plans;
:func:`assignments`, :func:`measures` and :func:`boundaries` are the CLI's files.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlalchemy.orm import Session

import geopandas as gpd

from gis_api.analyses.common import project, refusals
from gis_api.analysis import split as sp
from layers.queries import split_inputs

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


def run(session: Session, community: str, options: Options | None = None) -> sp.SplitResult:
    """Split a community into ``options.parts`` parts; several plans, best first."""
    o = options or Options()
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
    grids = extra.grids.rename_geometry("geometry").to_crs(crs)
    area = extra.community.rename_geometry("geometry").to_crs(crs)
    staff, cadres = (_count(area, c) for c in ("staff", "cadres"))
    with refusals():
        return sp.split_community(
            area[["geometry"]],
            compounds,
            buildings[["id", "compound_id", "residents", "households", "floating", "geometry"]],
            parts=o.parts,
            tolerance=o.tolerance,
            by=o.by,
            locks=dict(o.locks or {}),
            plans=o.plans,
            seed=o.seed,
            time_budget_s=o.time_budget_s,
            streets=streets,
            service_points=points[["id", "kind", "is_open", "geometry"]],
            grids=grids[["id", "geometry"]] if len(grids) else None,
            staff=staff,
            cadres=cadres,
        )


def _count(frame: gpd.GeoDataFrame, column: str) -> int | None:
    value = frame[column].iloc[0] if len(frame) else None
    return None if value is None or pd.isna(value) else int(value)


def assignments(result: sp.SplitResult) -> pd.DataFrame:
    """One row per plan and building: ``plan``, ``building_id``, ``unit_id``, ``part``."""
    return result.assignments()


def measures(result: sp.SplitResult) -> pd.DataFrame:
    """One row per plan with its measures (the comparison table)."""
    return result.measures()


def boundaries(result: sp.SplitResult) -> gpd.GeoDataFrame:
    """One polygon per plan and part, each plan covering the community (WGS84)."""
    return result.boundaries().to_crs("EPSG:4326")
