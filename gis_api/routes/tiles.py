"""Vector tiles of every layer, made by PostGIS ``ST_AsMVT``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from gis_api import auth
from gis_api.auth import CurrentUser
from gis_api.deps import BadQuery, ClockDep, SessionDep
from gis_api.routes.event_stats import day_start
from layers.errors import NotFound
from layers.queries import TILE_PROPERTIES, vector_tile
from layers.queries.tiles import event_tile

router = APIRouter(tags=["矢量瓦片 tiles"])

MVT = "application/vnd.mapbox-vector-tile"

Z = Annotated[int, Path(ge=0, le=22)]
XY = Annotated[int, Path(ge=0)]
EventStatus = Literal[
    "reported",
    "filed",
    "cancelled",
    "dispatched",
    "accepted",
    "handled",
    "fed_back",
    "verified",
    "closed",
]


def _check_xyz(z: int, x: int, y: int) -> None:
    if x >= 2**z or y >= 2**z:
        msg = f"瓦片坐标超出范围：第 {z} 级的 x、y 应小于 {2**z}，实际为 x={x}, y={y}"
        raise BadQuery(msg, loc=("path", "x" if x >= 2**z else "y"))


# Declared before the layers' route, which would take "events" for a layer's name.
@router.get(
    "/tiles/events/{z}/{x}/{y}.pbf",
    dependencies=[auth.READ],
    summary="事件矢量瓦片（按状态、类别、上报时间筛选；含是否超期，不含上报人信息）",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
def event_tiles(
    z: Z,
    x: XY,
    y: XY,
    session: SessionDep,
    who: CurrentUser,
    now: ClockDep,
    community: Annotated[str | None, Query(description="社区编号")] = None,
    status: Annotated[list[EventStatus] | None, Query(description="状态，可多选")] = None,
    category: Annotated[str | None, Query(max_length=32, description="类别（大类或小类）")] = None,
    since: Annotated[date | None, Query(description="上报日期自（含）")] = None,
    until: Annotated[date | None, Query(description="上报日期至（含）")] = None,
) -> Response:
    """Return one tile of events (MVT layer ``events``): code, status, category, overdue."""
    _check_xyz(z, x, y)
    data = event_tile(
        session,
        z,
        x,
        y,
        now=now,
        community=community,
        within=who.within,
        status=tuple(status or ()),
        category=category,
        since=day_start(since, "since"),
        until=day_start(until, "until", after=True),
    )
    # Private and short: a tile depends on who asks, and "overdue" on the time.
    return Response(data, media_type=MVT, headers={"Cache-Control": "private, max-age=30"})


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    dependencies=[auth.READ],
    summary="矢量瓦片（Mapbox Vector Tile，Web 墨卡托）",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
def tile(
    layer: str,
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    session: SessionDep,
    who: CurrentUser,
    community: Annotated[str | None, Query(description="社区编号")] = None,
) -> Response:
    """Return one tile of ``layer``; the MVT layer inside is named like the layer."""
    if layer not in TILE_PROPERTIES:
        msg = f"未知图层：{layer}（可选：{'、'.join(TILE_PROPERTIES)}）"
        raise NotFound(msg, loc=("path", "layer"))
    _check_xyz(z, x, y)
    data = vector_tile(
        session,
        layer,
        z,
        x,
        y,
        community=community,
        within=who.within,
        personal=who.sees_personal,
    )
    # Private: a tile depends on who asks (their communities, whether names are masked).
    return Response(data, media_type=MVT, headers={"Cache-Control": "private, max-age=60"})
