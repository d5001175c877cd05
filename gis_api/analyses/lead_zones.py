"""Building-lead zones, from the store to the answer and back (docs/lead_zones.md).

:func:`run` groups a community's buildings by the Foshan rule, keeping the saved plan's
locked zones and ids; :func:`save` runs and stores it; :func:`lock` confirms a zone;
:func:`roster` reads the saved plan. :func:`to_json` is the API's answer, :func:`to_table`
the CLI's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
from sqlalchemy.orm import Session

import geopandas as gpd

from gis_api.analyses.common import Projected, geojson, project, records, refusals
from gis_api.analysis import lead_zones as lz
from layers.queries import lock_zone, save_zones, stored_zones, zone_roster


class Thresholds(Protocol):
    """Where defaults come from: the settings' ``lead_*`` fields."""

    lead_min_households: int
    lead_min_occupancy: float
    lead_max_walk_m: float


@dataclass(frozen=True)
class Options:
    """The rule's thresholds as asked; ``None`` takes the default (the settings')."""

    min_households: int | None = None
    min_occupancy: float | None = None
    max_walk_m: float | None = None
    cross_compounds: bool = False


@dataclass(frozen=True)
class LeadZones:
    """One grouping of a community's buildings into lead zones, with its diff."""

    inputs: Projected
    plan: lz.LeadZonePlan

    @property
    def approximate(self) -> bool:
        """Whether neighbours were straight-line estimates (no walking network)."""
        return bool(self.plan.approximate)


def run(
    session: Session, community: str, defaults: Thresholds, options: Options | None = None
) -> LeadZones:
    """Group a community's buildings; thresholds not given come from ``defaults``.

    Neighbours are buildings within ``max_walk_m`` of each other as the community's walker
    walks (network, or straight distance x 1.3 flagged approximate). The saved plan's
    locked zones are kept as they are, and its ids carried over to the zones they become.
    """
    o = options or Options()
    p = project(session, community)
    walk_m = o.max_walk_m or defaults.lead_max_walk_m
    neighbours = p.walker.neighbours(p.buildings, walk_m)
    saved = stored_zones(session, community)
    previous = dict(zip(saved["code"], saved["members"], strict=True))
    locked = {
        c: m for c, m, k in zip(saved["code"], saved["members"], saved["locked"], strict=True) if k
    }
    with refusals():
        plan = lz.lead_zones(
            p.buildings,
            neighbours,
            min_households=o.min_households or defaults.lead_min_households,
            min_occupancy=(
                defaults.lead_min_occupancy if o.min_occupancy is None else o.min_occupancy
            ),
            max_walk_m=walk_m,
            cross_compounds=o.cross_compounds,
            locked=locked or None,
            previous=previous or None,
            id_prefix=f"{community}-LZ",
        )
    return LeadZones(inputs=p, plan=plan)


def save(session: Session, result: LeadZones) -> dict[str, int]:
    """Store a grouping, replacing the unlocked zones (locked ones stay); return the counts."""
    plan = result.plan
    return save_zones(
        session, result.inputs.community, plan.zones.to_crs("EPSG:4326"), plan.buildings
    )


def lock(session: Session, community: str, code: str, *, locked: bool) -> None:
    """Lock (confirm) a saved zone so later runs keep it, or release it."""
    lock_zone(session, community, code, locked=locked)


def roster(session: Session, community: str) -> gpd.GeoDataFrame:
    """Return the saved zones with members, households and lead (WGS84)."""
    return zone_roster(session, community)


# --- the answer ---------------------------------------------------------------------------------


def to_json(result: LeadZones) -> dict[str, Any]:
    """Return the API's answer: zones (GeoJSON), every building's zone and rule, the diff."""
    plan = result.plan
    zones = plan.zones.copy()
    for col in ("members", "flags", "party_group_buildings"):
        if col in zones:
            zones[col] = zones[col].map(list)
    return {
        "community": result.inputs.community,
        "approximate": result.approximate,
        "kinds": plan.buildings["zone_kind"].value_counts().to_dict(),
        "zones": geojson(zones),
        "buildings": records(plan.buildings),
        "diff": diff_json(plan.diff),
    }


def to_table(result: LeadZones) -> gpd.GeoDataFrame:
    """One row per building: its zone, the zone's kind and the rule that placed it (WGS84)."""
    rows = result.plan.buildings[["building_id", "zone_id", "zone_kind", "rule", "reason_zh"]]
    table = result.inputs.buildings[["building_id", "geometry"]].merge(rows, on="building_id")
    return gpd.GeoDataFrame(table, geometry="geometry", crs=result.inputs.crs).to_crs("EPSG:4326")


def kind_counts(result: LeadZones) -> dict[str, int]:
    """Return the number of buildings per zone kind."""
    return {
        str(k): int(v)
        for k, v in pd.Series(result.plan.buildings["zone_kind"]).value_counts().items()
    }


def diff_json(diff: lz.ZoneDiff) -> dict[str, Any]:
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
