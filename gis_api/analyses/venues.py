"""Red-house venue selection, from the store to the answer (docs/domain.md, "红房子选址").

:func:`run` picks ``k`` candidate rooms that, with the existing service points, cover the
most residents within the walking limit, and (for the page) walks the circle again with the
picks open, so the answer carries their service areas and who they newly cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

import geopandas as gpd

from gis_api.analyses import service_circle
from gis_api.analyses.common import Projected, geojson, records, refusals
from gis_api.analysis import venues
from layers.errors import MissingData

Demand = Literal["residents", "households"]


@dataclass(frozen=True)
class Options:
    """What the planner asks: how many rooms, covering what, under which rules."""

    k: int
    demand: Demand = "residents"
    weight_score: float = 0.0
    include_incomplete_legal: bool = False
    max_per_compound: int | None = 1
    time_limit_s: float = 10.0


@dataclass(frozen=True)
class Venues:
    """One venue selection: the plan, its walking limit and, when asked, the circle after."""

    inputs: Projected
    plan: venues.VenuePlan
    limit_m: float
    approximate: bool
    before: service_circle.Circle
    after: service_circle.Circle | None = None


def run(p: Projected, options: Options, *, limit_m: float, with_circle: bool = False) -> Venues:
    """Choose ``k`` candidate rooms for red houses; ``with_circle`` also walks the picks' areas."""
    if len(p.candidates) == 0:
        msg = (
            f"社区“{p.community}”还没有候选场地，无法选址：请先导入候选场地"
            f"（gridmap import candidate_venues 文件 --community {p.community}）"
        )
        raise MissingData(msg, loc=("community",))
    before = service_circle.run(p, limit_m=limit_m, with_areas=False)
    walk = p.walker.matrix(p.candidates, p.buildings, limit_m=limit_m)
    with refusals():
        plan = venues.venue_selection(
            p.buildings,
            p.candidates,
            walk,
            existing_covered=before.coverage.buildings["covered"].to_numpy(dtype=bool),
            k=options.k,
            limit_m=limit_m,
            demand=options.demand,
            include_incomplete_legal=options.include_incomplete_legal,
            max_per_compound=options.max_per_compound,
            weight_score=options.weight_score,
            time_limit_s=options.time_limit_s,
        )
    after = None
    if with_circle:
        after = service_circle.run_with(p, _points_with_picks(p, plan), limit_m=limit_m)
    return Venues(
        inputs=p,
        plan=plan,
        limit_m=limit_m,
        approximate=p.walker.approximate or before.approximate,
        before=before,
        after=after,
    )


def _points_with_picks(p: Projected, plan: venues.VenuePlan) -> gpd.GeoDataFrame:
    """Return the existing service points plus the picks, open, as red houses."""
    picked = p.candidates.set_index("candidate_id").loc[list(plan.picks["candidate_id"])]
    added = gpd.GeoDataFrame(
        {
            "service_point_id": picked.index.to_numpy(),
            "name": picked["name"].to_numpy(),
            "kind": "red_house",
            "is_open": True,
        },
        geometry=picked.geometry.representative_point().to_numpy(),
        crs=p.crs,
    )
    points = pd.concat([p.points, added], ignore_index=True)
    return gpd.GeoDataFrame(points, geometry="geometry", crs=p.crs)


# --- the answer ---------------------------------------------------------------------------------


def to_json(v: Venues) -> dict[str, Any]:
    """Return the API's answer: picks and why, curve, exclusions, scores; the circle after.

    ``circle`` (when run ``with_circle``) holds every open point's service area with the picks
    open (a pick's ``service_point_id`` is its room's id), every building's coverage then, and
    ``gained``: the buildings the picks newly cover.
    """
    plan = v.plan
    out: dict[str, Any] = {
        "community": v.inputs.community,
        "limit_m": v.limit_m,
        "approximate": v.approximate,
        "demand": plan.demand,
        "optimal": plan.optimal,
        "gap": plan.gap,
        "method": plan.method,
        "seconds": plan.seconds,
        "note": plan.note,
        "before": plan.before.__dict__,
        "after": plan.after.__dict__,
        "picks": geojson(to_table(v)),
        "curve": records(plan.curve),
        "excluded": records(plan.excluded),
        "scores": records(plan.scores),
    }
    if v.after is not None:
        out["circle"] = {
            "areas": service_circle.areas_geojson(v.after.coverage),
            "buildings": geojson(service_circle.to_table(v.after)),
            "gained": service_circle.diff(v.before, v.after)["gained"],
        }
    return out


def to_table(v: Venues) -> gpd.GeoDataFrame:
    """Return the picks with their places (WGS84), for maps and GeoJSON/CSV/Excel export."""
    cands = v.inputs.inputs.candidates[["candidate_id", "geom"]].rename_geometry("geometry")
    picks = v.plan.picks.copy()
    for col in picks.columns:
        if picks[col].map(lambda x: isinstance(x, (list, tuple))).any():
            picks[col] = picks[col].map(
                lambda x: "、".join(map(str, x)) if isinstance(x, (list, tuple)) else x
            )
    merged = picks.merge(cands, on="candidate_id", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")
