"""Vector tiles of every layer, made by PostGIS ``ST_AsMVT``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gis_api import auth
from gis_api.auth import CurrentUser
from gis_api.deps import BadQuery, SessionDep
from layers.errors import NotFound
from layers.queries import TILE_PROPERTIES, vector_tile

router = APIRouter(tags=["矢量瓦片 tiles"])

MVT = "application/vnd.mapbox-vector-tile"


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
    if x >= 2**z or y >= 2**z:
        msg = f"瓦片坐标超出范围：第 {z} 级的 x、y 应小于 {2**z}，实际为 x={x}, y={y}"
        raise BadQuery(msg, loc=("path", "x" if x >= 2**z else "y"))
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
