"""Analysis endpoints: the 15-minute service circle, its scenarios and red-house venues.

Each endpoint reads its parameters, calls the analysis's glue in :mod:`gis_api.analyses`
(``run``) and answers its ``to_json``; files are its ``to_table``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from gis_api import auth
from gis_api.analyses import common, venues
from gis_api.analyses import service_circle as circle
from gis_api.auth import CurrentUser
from gis_api.deps import PlainStr, SessionDep
from gis_api.routes.downloads import Format, table_download

router = APIRouter(prefix="/api/analysis", tags=["分析 analysis"])

Metres = Annotated[float | None, Query(gt=0, description="步行距离上限（米），默认 1000")]
Minutes = Annotated[float | None, Query(gt=0, description="或：步行分钟数（15/10/5 按国标）")]
Speed = Annotated[float | None, Query(gt=0, description="步行速度（米/分钟）")]


@router.get(
    "/service-circle",
    dependencies=[auth.ANALYSE],
    summary="15 分钟服务圈：每栋楼的步行距离、覆盖情况与服务范围",
)
def service_circle(
    session: SessionDep,
    community: Annotated[str, Query(description="社区编号")],
    metres: Metres = None,
    minutes: Minutes = None,
    speed: Speed = None,
) -> dict[str, Any]:
    """Walk every building to its nearest open service point on the network (gates included)."""
    limit = common.limit_m(metres=metres, minutes=minutes, speed_m_per_min=speed)
    p = common.project(session, community)
    return circle.to_json(circle.run(p, limit_m=limit, speed_m_per_min=speed))


class NewPointIn(BaseModel):
    """A service point to add in a scenario."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    kind: str = "red_house"
    name: str = "拟新增服务点"


class ScenarioIn(BaseModel):
    """A what-if: close or open gates, add or remove service points. Nothing is stored."""

    community: PlainStr
    metres: float | None = Field(default=None, gt=0)
    minutes: float | None = Field(default=None, gt=0)
    speed: float | None = Field(default=None, gt=0)
    close_gates: list[PlainStr] = Field(default_factory=list)
    open_gates: list[PlainStr] = Field(default_factory=list)
    add_points: list[NewPointIn] = Field(default_factory=list, max_length=50)
    remove_points: list[PlainStr] = Field(default_factory=list)


@router.post(
    "/service-circle/scenario",
    dependencies=[auth.ANALYSE],
    summary="情景分析：关闭/开放出入口、增减服务点后的覆盖变化",
)
def scenario(body: ScenarioIn, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    """Coverage before and after the scenario, and who gains or loses (nothing is saved)."""
    who.check_community(body.community)  # the body names it, so the guard cannot see it
    limit = common.limit_m(metres=body.metres, minutes=body.minutes, speed_m_per_min=body.speed)
    p = common.project(session, body.community)
    what = common.scenario_from(
        close_gates=body.close_gates,
        open_gates=body.open_gates,
        add_points=[a.model_dump() for a in body.add_points],
        remove_points=body.remove_points,
    )
    speed = body.speed
    before = circle.run(p, limit_m=limit, with_areas=False, speed_m_per_min=speed)
    after = circle.run(p, limit_m=limit, scenario=what, speed_m_per_min=speed)
    return circle.scenario_json(before, after)


K = Annotated[int, Query(ge=1, le=100, description="新增红房子个数")]
Demand = Annotated[str, Query(pattern="^(residents|households)$", description="覆盖目标")]
WeightScore = Annotated[float, Query(ge=0, description="评分与覆盖的权衡，0 为只看覆盖")]
Incomplete = Annotated[bool, Query(description="是否允许法律手续不全的候选场地")]
#: More per compound than ``k`` at most (100) constrains nothing, and a bound keeps the value a
#: machine integer for the solver.
PerCompound = Annotated[int, Query(ge=1, le=100, description="每个小区最多新增几处（1～100）")]


@dataclass(frozen=True)
class VenueRequest:
    """A venue selection as asked in the query: community, walking limit, options."""

    community: str
    limit_m: float
    options: venues.Options


def venue_request(
    community: Annotated[str, Query(description="社区编号")],
    k: K,
    metres: Metres = None,
    minutes: Minutes = None,
    demand: Demand = "residents",
    weight_score: WeightScore = 0.0,
    include_incomplete_legal: Incomplete = False,
    max_per_compound: PerCompound = 1,
) -> VenueRequest:
    """Read a venue selection's query parameters (shared by the answer and the export)."""
    options = venues.Options(
        k=k,
        demand=cast("venues.Demand", demand),  # the query's pattern allows no other
        weight_score=weight_score,
        include_incomplete_legal=include_incomplete_legal,
        max_per_compound=max_per_compound,
    )
    limit = common.limit_m(metres=metres, minutes=minutes, speed_m_per_min=None)
    return VenueRequest(community=community, limit_m=limit, options=options)


VenueQuery = Annotated[VenueRequest, Depends(venue_request)]


@router.get(
    "/venues",
    dependencies=[auth.ANALYSE],
    summary="红房子选址：最大覆盖选址（HiGHS 精确求解）及其解释",
)
def venue_selection(session: SessionDep, q: VenueQuery) -> dict[str, Any]:
    """Pick ``k`` candidate rooms that, with the existing points, cover the most residents.

    ``circle`` gives the service areas with the picks open and the buildings they newly
    cover (what the venue page draws).
    """
    p = common.project(session, q.community)
    return venues.to_json(venues.run(p, q.options, limit_m=q.limit_m, with_circle=True))


@router.get(
    "/venues/export",
    dependencies=[auth.ANALYSE],
    summary="导出红房子选址结果（CSV、Excel、GeoJSON）",
    response_class=FileResponse,
)
def venue_export(session: SessionDep, q: VenueQuery, fmt: Format = "csv") -> FileResponse:
    """Return the picks as a file planners can take to a meeting."""
    result = venues.run(common.project(session, q.community), q.options, limit_m=q.limit_m)
    return table_download(venues.to_table(result), f"红房子选址_{q.community}.{fmt}")
