"""Summary figures of a community or grid, and search by name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import text

from gis_api import auth
from gis_api.auth import CurrentUser
from gis_api.deps import BadQuery, SessionDep
from layers.queries import search, summary, summary_at
from layers.schema import LAYERS

router = APIRouter(prefix="/api", tags=["统计与搜索 stats"])
health_router = APIRouter(tags=["统计与搜索 stats"])


@health_router.get("/health", dependencies=[auth.PUBLIC], summary="服务与数据库状态")
def health(session: SessionDep) -> dict[str, Any]:
    """Answer whether the database is reachable, with PostGIS version and feature counts."""
    postgis = session.execute(text("SELECT postgis_lib_version()")).scalar()
    counts = {
        name: int(session.execute(text(f"SELECT count(*) FROM {layer.table}")).scalar_one())
        for name, layer in LAYERS.items()
    }
    return {"status": "ok", "postgis": postgis, "counts": counts}


@router.get("/stats/communities/{code}", dependencies=[auth.READ], summary="社区汇总数据")
def community_stats(code: str, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    """Households, residents, buildings, party members, leads, service points, per cadre."""
    who.check_community(code)
    return summary(session, community=code)


@router.get("/stats/grids/{code}", dependencies=[auth.READ], summary="网格汇总数据")
def grid_stats(
    code: str,
    session: SessionDep,
    community: Annotated[str, Query(description="社区编号")],
    who: CurrentUser,
) -> dict[str, Any]:
    """Return the same figures for one grid of a community."""
    who.check_community(community)
    return summary(session, community=community, grid=code)


@router.get("/stats/at", dependencies=[auth.READ], summary="某点所在社区与网格的汇总数据")
def stats_at(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    who: CurrentUser,
) -> dict[str, Any]:
    """Figures of the community and grid at a point (the map's centre, for the side panel).

    A point in a community the user does not work in answers as a point in none.
    """
    figures = summary_at(session, lon, lat)
    community = figures["community"]
    mine = who.communities is None or community is None
    if not mine and community["code"] not in who.community_codes:
        return {"community": None, "grid": None}
    return figures


#: The longest search text, in characters: names and codes are far shorter.
SEARCH_MAX_CHARS = 100


@router.get("/search", dependencies=[auth.READ], summary="按名称或编号搜索小区、楼栋")
def find(
    session: SessionDep,
    who: CurrentUser,
    q: Annotated[
        str | None,
        Query(description=f"名称或编号的一部分（1～{SEARCH_MAX_CHARS} 个字，按原样匹配）"),
    ] = None,
    community: Annotated[str | None, Query(description="社区编号")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    """Compounds first, then buildings, shortest names first.

    ``q`` matches as typed (``%`` and ``_`` are no wildcards); an empty, blank or overlong
    ``q``, or one with control characters, is refused with a zh-CN 422.
    """
    words = (q or "").strip()
    if not words:
        msg = "请输入要搜索的名称或编号（搜索词不能为空）"
        raise BadQuery(msg, loc=("query", "q"))
    if len(words) > SEARCH_MAX_CHARS:
        msg = (
            f"搜索词过长：最多 {SEARCH_MAX_CHARS} 个字，实际 {len(words)} 个；"
            "请输入名称或编号的一部分"
        )
        raise BadQuery(msg, loc=("query", "q"))
    if any(ord(c) < 32 or ord(c) == 127 for c in words):
        msg = "搜索词不能包含控制字符（如换行、制表符）"
        raise BadQuery(msg, loc=("query", "q"))
    return search(session, words, community=community, limit=limit, within=who.within)
