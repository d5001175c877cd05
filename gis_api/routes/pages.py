"""Web pages: the grid officer's map. Reads the store here, hands plain data to ``web_map``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gis_api.deps import SessionDep, SettingsDep
from layers.errors import NotFound
from layers.queries import read_layer
from web_map.pages import CommunityChoice, OfficerMapData, officer_map

router = APIRouter(tags=["页面 pages"])

BasemapQuery = Annotated[
    Literal["osm", "amap", "tianditu", "none"],
    Query(
        description="底图：osm（默认）、amap（高德，已纠偏）、tianditu（天地图，需密钥）、none（无底图）"
    ),
]


@router.get("/map", response_class=HTMLResponse, summary="网格员工作地图")
def officer_map_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    community: Annotated[str | None, Query(description="社区编号；默认按编号排第一的社区")] = None,
    basemap: BasemapQuery = "osm",
) -> HTMLResponse:
    """Return the officer map of one community (the first by code when none is named).

    Tianditu is offered only with a key (``tianditu_token`` setting); asked for without one,
    the page opens on OpenStreetMap.
    """
    communities = read_layer(session, "communities")
    if len(communities) == 0:
        msg = "还没有任何社区：请先导入社区边界（或运行 gridmap demo load 载入演示社区）"
        raise NotFound(msg, loc=("query", "community"))
    codes = [str(code) for code in communities["code"]]
    code = codes[0] if community is None else community
    if code not in codes:
        known = "、".join(codes[:10]) + ("等" if len(codes) > 10 else "")
        msg = f"社区编号“{code}”不存在（现有：{known}）"
        raise NotFound(msg, loc=("query", "community"))
    index = codes.index(code)
    minx, miny, maxx, maxy = (float(v) for v in communities.geometry.iloc[index].bounds)
    name = communities["name"].iloc[index]
    token: str | None = getattr(settings, "tianditu_token", None) or None
    if basemap == "tianditu" and not token:
        basemap = "osm"
    root = str(request.scope.get("root_path", "")).rstrip("/")
    data = OfficerMapData(
        community_code=code,
        community_name=str(name or code),
        bounds=(minx, miny, maxx, maxy),
        communities=tuple(
            CommunityChoice(str(c), str(n or c))
            for c, n in zip(communities["code"], communities["name"], strict=True)
        ),
        basemap=basemap,
        static_url=f"{root}/static",
        api_root=root,
        page_url=f"{root}/map",
        tianditu_token=token,
    )
    return HTMLResponse(officer_map(data))
