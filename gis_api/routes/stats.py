"""Summary figures of a community or grid, and search by name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import text

from gis_api.deps import SessionDep
from layers.queries import search, summary, summary_at
from layers.schema import LAYERS

router = APIRouter(prefix="/api", tags=["统计与搜索 stats"])
health_router = APIRouter(tags=["统计与搜索 stats"])


@health_router.get("/health", summary="服务与数据库状态")
def health(session: SessionDep) -> dict[str, Any]:
    """Answer whether the database is reachable, with PostGIS version and feature counts."""
    postgis = session.execute(text("SELECT postgis_lib_version()")).scalar()
    counts = {
        name: int(session.execute(text(f"SELECT count(*) FROM {layer.table}")).scalar_one())
        for name, layer in LAYERS.items()
    }
    return {"status": "ok", "postgis": postgis, "counts": counts}


@router.get("/stats/communities/{code}", summary="社区汇总数据")
def community_stats(code: str, session: SessionDep) -> dict[str, Any]:
    """Households, residents, buildings, party members, leads, service points, per cadre."""
    return summary(session, community=code)


@router.get("/stats/grids/{code}", summary="网格汇总数据")
def grid_stats(
    code: str,
    session: SessionDep,
    community: Annotated[str, Query(description="社区编号")],
) -> dict[str, Any]:
    """Return the same figures for one grid of a community."""
    return summary(session, community=community, grid=code)


@router.get("/stats/at", summary="某点所在社区与网格的汇总数据")
def stats_at(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
) -> dict[str, Any]:
    """Figures of the community and grid at a point (the map's centre, for the side panel)."""
    return summary_at(session, lon, lat)


@router.get("/search", summary="按名称或编号搜索小区、楼栋")
def find(
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=50, description="名称或编号的一部分")],
    community: Annotated[str | None, Query(description="社区编号")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    """Compounds first, then buildings, shortest names first."""
    return search(session, q, community=community, limit=limit)
