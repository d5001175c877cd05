"""Building-lead zones: preview a grouping with its diff, save it, lock zones, the roster."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from gis_api import auth
from gis_api.access import redact_frame
from gis_api.analyses import common
from gis_api.analyses import lead_zones as zones
from gis_api.auth import CurrentUser
from gis_api.deps import SessionDep, SettingsDep
from gis_api.routes.downloads import Format, table_download
from layers import domain

router = APIRouter(tags=["楼长责任区 lead zones"])

MinHouseholds = Annotated[
    int | None,
    Query(ge=1, description=f"独立楼长的户数门槛，默认 {domain.LEAD_MIN_HOUSEHOLDS}（设置可改）"),
]
MinOccupancy = Annotated[
    float | None,
    Query(ge=0, le=1, description=f"入住率门槛，默认 {domain.LEAD_MIN_OCCUPANCY:g}（设置可改）"),
]
MaxWalk = Annotated[
    float | None,
    Query(gt=0, le=2000, description=f"相邻楼栋的步行距离（米），默认 {domain.LEAD_MAX_WALK_M:g}"),
]
Cross = Annotated[bool, Query(description="是否允许跨小区合并")]


def zone_options(
    min_households: MinHouseholds = None,
    min_occupancy: MinOccupancy = None,
    max_walk_m: MaxWalk = None,
    cross_compounds: Cross = False,
) -> zones.Options:
    """Read the rule's thresholds from the query (shared by the preview and the save)."""
    return zones.Options(
        min_households=min_households,
        min_occupancy=min_occupancy,
        max_walk_m=max_walk_m,
        cross_compounds=cross_compounds,
    )


ZoneOptions = Annotated[zones.Options, Depends(zone_options)]
Community = Annotated[str, Query(description="社区编号")]


@router.get(
    "/api/analysis/lead-zones",
    dependencies=[auth.ANALYSE],
    summary="楼长责任区自动划分（预览，含与已保存方案的差异）",
)
def preview(
    session: SessionDep, settings: SettingsDep, community: Community, options: ZoneOptions
) -> dict[str, Any]:
    """Group buildings by the Foshan rule; nothing is saved. Locked zones are kept."""
    return zones.to_json(zones.run(session, community, settings, options))


@router.post(
    "/api/lead-zones/save",
    dependencies=[auth.SAVE_PLANS],
    summary="保存楼长责任区方案（已锁定的责任区保持不变）",
)
def save(
    session: SessionDep, settings: SettingsDep, community: Community, options: ZoneOptions
) -> dict[str, Any]:
    """Run the grouping and save it, replacing unlocked zones; return the diff it applied."""
    with session.begin():
        result = zones.run(session, community, settings, options)
        counts = zones.save(session, result)
    return {**counts, "diff": zones.diff_json(result.plan.diff)}


class LockIn(BaseModel):
    """Confirm (lock) or release a zone."""

    locked: bool = True


@router.post(
    "/api/lead-zones/{code}/lock",
    dependencies=[auth.SAVE_PLANS],
    summary="锁定/解锁责任区（网格员确认后锁定）",
)
def lock(
    code: str,
    body: LockIn,
    session: SessionDep,
    community: Community,
) -> dict[str, Any]:
    """Lock a saved zone so later runs keep it, or unlock it."""
    with session.begin():
        zones.lock(session, community, code, locked=body.locked)
    return {"zone_id": code, "locked": body.locked}


@router.get("/api/lead-zones", dependencies=[auth.READ], summary="已保存的楼长责任区（GeoJSON）")
def saved(session: SessionDep, community: Community, who: CurrentUser) -> dict[str, Any]:
    """Return the saved zones with members, households and lead (masked as the role needs)."""
    return common.geojson(redact_frame(who, zones.roster(session, community)))


@router.get(
    "/api/lead-zones/roster",
    dependencies=[auth.READ],
    summary="导出楼长责任区花名册（CSV、Excel）",
    response_class=FileResponse,
)
def roster(
    session: SessionDep, community: Community, who: CurrentUser, fmt: Format = "csv"
) -> FileResponse:
    """Return the roster: zone, buildings, households, lead (masked as the role needs)."""
    table = redact_frame(who, zones.roster(session, community))
    return table_download(table, f"楼长责任区_{community}.{fmt}")
