"""Building-lead zones: preview a grouping with its diff, save it, lock zones, the roster."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from gis_api.analyses import common
from gis_api.analyses import lead_zones as zones
from gis_api.deps import SessionDep, SettingsDep
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


@router.get("/api/analysis/lead-zones", summary="楼长责任区自动划分（预览，含与已保存方案的差异）")
def preview(
    session: SessionDep,
    settings: SettingsDep,
    community: Annotated[str, Query(description="社区编号")],
    min_households: MinHouseholds = None,
    min_occupancy: MinOccupancy = None,
    max_walk_m: MaxWalk = None,
    cross_compounds: Cross = False,
) -> dict[str, Any]:
    """Group buildings by the Foshan rule; nothing is saved. Locked zones are kept."""
    result = zones.run(
        session,
        community,
        settings,
        min_households=min_households,
        min_occupancy=min_occupancy,
        max_walk_m=max_walk_m,
        cross_compounds=cross_compounds,
    )
    return zones.to_json(result)


@router.post("/api/lead-zones/save", summary="保存楼长责任区方案（已锁定的责任区保持不变）")
def save(
    session: SessionDep,
    settings: SettingsDep,
    community: Annotated[str, Query(description="社区编号")],
    min_households: MinHouseholds = None,
    min_occupancy: MinOccupancy = None,
    max_walk_m: MaxWalk = None,
    cross_compounds: Cross = False,
) -> dict[str, Any]:
    """Run the grouping and save it, replacing unlocked zones; return the diff it applied."""
    with session.begin():
        result = zones.run(
            session,
            community,
            settings,
            min_households=min_households,
            min_occupancy=min_occupancy,
            max_walk_m=max_walk_m,
            cross_compounds=cross_compounds,
        )
        counts = zones.save(session, result)
    return {**counts, "diff": zones.diff_json(result.plan.diff)}


class LockIn(BaseModel):
    """Confirm (lock) or release a zone."""

    locked: bool = True


@router.post("/api/lead-zones/{code}/lock", summary="锁定/解锁责任区（网格员确认后锁定）")
def lock(
    code: str,
    body: LockIn,
    session: SessionDep,
    community: Annotated[str, Query(description="社区编号")],
) -> dict[str, Any]:
    """Lock a saved zone so later runs keep it, or unlock it."""
    with session.begin():
        zones.lock(session, community, code, locked=body.locked)
    return {"zone_id": code, "locked": body.locked}


@router.get("/api/lead-zones", summary="已保存的楼长责任区（GeoJSON）")
def saved(session: SessionDep, community: Annotated[str, Query()]) -> dict[str, Any]:
    """Return the saved zones with members, households and lead."""
    return common.geojson(zones.roster(session, community))


@router.get(
    "/api/lead-zones/roster",
    summary="导出楼长责任区花名册（CSV、Excel）",
    response_class=FileResponse,
)
def roster(
    session: SessionDep,
    community: Annotated[str, Query()],
    fmt: Annotated[str, Query(alias="format", pattern="^(csv|xlsx|geojson)$")] = "csv",
) -> FileResponse:
    """Return the roster: zone, buildings, households, lead."""
    folder = Path(tempfile.mkdtemp(prefix="gridmap-roster-"))
    path = folder / f"楼长责任区_{community}.{fmt}"
    common.write_table(zones.roster(session, community), path)
    return FileResponse(
        path, filename=path.name, background=BackgroundTask(shutil.rmtree, folder, True)
    )
