"""Web pages: the grid officer's map, the service circle, venues, lead zones and the split.

Reads the store here and hands plain data to ``web_map``: every page gets who is logged in
(:class:`~web_map.pages.UserBadge`, from the guard's principal) and the layers' field labels
(for the change history in popups). Roles that may not run analyses get the analysis pages
as a notice (and no links to them); ``/admin/users`` is the admins' user management page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_api import auth
from gis_api.access import ROLE_NAMES, Permission, Principal
from gis_api.auth import CurrentUser
from gis_api.deps import SessionDep, SettingsDep
from gis_api.settings import Settings
from layers import events as ev
from layers.errors import NotFound
from layers.queries import read_layer
from layers.schema import LAYERS
from web_map import labels
from web_map.pages import (
    GB50180_LIFE_CIRCLES,
    MISSABLE,
    SPLIT_PARTS_RANGE,
    VENUE_K_RANGE,
    AdminUsersData,
    CommunityChoice,
    EventAction,
    EventSetup,
    LeadZonesMapData,
    NoAnalysisData,
    OfficerMapData,
    PageLink,
    ServiceCircleMapData,
    SplitMapData,
    UserBadge,
    VenuesMapData,
    admin_users_page,
    lead_zones_map,
    no_analysis_page,
    officer_map,
    service_circle_map,
    split_map,
    venues_map,
)

router = APIRouter(tags=["页面 pages"])

LIFE_CIRCLE_MINUTES = frozenset(m for m, _ in GB50180_LIFE_CIRCLES)

Basemap = Literal["osm", "amap", "tianditu", "none"]
BasemapQuery = Annotated[
    Basemap,
    Query(
        description="底图：osm（默认）、amap（高德，已纠偏）、tianditu（天地图，需密钥）、none（无底图）"
    ),
]
CommunityQuery = Annotated[str | None, Query(description="社区编号；默认按编号排第一的社区")]


@dataclass(frozen=True)
class _Community:
    """The community a page shows, the others it offers, and where the page lives."""

    code: str
    name: str
    bounds: tuple[float, float, float, float]
    choices: tuple[CommunityChoice, ...]
    basemap: Basemap
    token: str | None
    root: str
    missing: tuple[str, ...] = ()

    def link(self, label: str, path: str, icon: str) -> PageLink:
        """Return a header link to the page at ``path``, for this community and basemap."""
        query = urlencode({"community": self.code, "basemap": self.basemap})
        return PageLink(label, f"{self.root}{path}?{query}", icon)


#: What a page needs, counted per community: a layer with no rows is "missing", and the page
#: says what to import instead of asking an analysis that can only refuse.
_INVENTORY = text(
    """
    SELECT
        (SELECT count(*) FROM buildings t WHERE t.community_id = c.id) AS buildings,
        (SELECT count(*) FROM compounds t WHERE t.community_id = c.id) AS compounds,
        (SELECT count(*) FROM service_points t WHERE t.community_id = c.id) AS service_points,
        (SELECT count(*) FROM candidate_venues t WHERE t.community_id = c.id)
            AS candidate_venues,
        (SELECT count(*) FROM walk_edges t WHERE t.community_id = c.id) AS network
    FROM communities c
    WHERE c.code = :code
    """
)


def _missing(session: Session, code: str) -> tuple[str, ...]:
    """Return the layers community ``code`` has no data in (see ``web_map.pages.MISSABLE``)."""
    row = session.execute(_INVENTORY, {"code": code}).mappings().one_or_none()
    if row is None:
        return ()
    return tuple(layer for layer in MISSABLE if not row[layer])


def _community(
    request: Request, session: Session, settings: Settings, community: str | None, basemap: Basemap
) -> _Community:
    """Find the community asked for (the first by code when none is named).

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
    return _Community(
        code=code,
        name=str(name or code),
        bounds=(minx, miny, maxx, maxy),
        choices=tuple(
            CommunityChoice(str(c), str(n or c))
            for c, n in zip(communities["code"], communities["name"], strict=True)
        ),
        basemap=basemap,
        token=token,
        root=str(request.scope.get("root_path", "")).rstrip("/"),
        missing=_missing(session, code),
    )


def badge(who: Principal) -> UserBadge:
    """Return the logged-in user as the pages show them: plain data, the role in Chinese."""
    return UserBadge(
        username=who.username,
        role=who.role,
        role_label=ROLE_NAMES.get(who.role, who.role),
        display_name=who.display_name,
        permissions=tuple(sorted(p.value for p in who.permissions)),
    )


def event_setup(who: Principal) -> EventSetup:
    """Return the events' workflow as the officer map draws it, and the sides ``who`` acts on.

    The community's steps (file, dispatch, verify, close...) are for admins, planners and grid
    officers, the departments' (accept, handle, feed back) for admins and department staff,
    each only with the permission to take steps at all (``layers.events`` checks again).
    """
    sides: list[Literal["community", "department"]] = []
    if who.may(Permission.EVENT_STEPS):
        if who.role in ev.COMMUNITY_ROLES:
            sides.append("community")
        if who.role in ev.DEPARTMENT_ROLES:
            sides.append("department")
    return EventSetup(
        statuses=tuple(ev.STATUS_ZH.items()),
        final=tuple(s for s in ev.STATUS_ZH if s in ev.FINAL),
        actions=tuple(EventAction(code, a.zh, a.side) for code, a in ev.ACTIONS.items()),
        sides=tuple(sides),
        roles=dict(ROLE_NAMES),
    )


#: Each layer's fields with their zh-CN labels (``layers.schema``), for the change history.
FIELD_LABELS: dict[str, dict[str, str]] = {
    name: {f.name: f.zh for f in layer.fields} for name, layer in LAYERS.items()
}


def _officer_link(c: _Community) -> PageLink:
    return c.link(labels.NAV["officer"], "/map", "fa-map-location-dot")


def _circle_link(c: _Community) -> PageLink:
    return c.link(labels.NAV["service_circle"], "/map/service-circle", "fa-person-walking")


def _venues_link(c: _Community) -> PageLink:
    return c.link(labels.NAV["venues"], "/map/venues", "fa-house-chimney")


def _lead_zones_link(c: _Community) -> PageLink:
    return c.link(labels.LEAD_ZONES_NAV, "/map/lead-zones", "fa-people-roof")


def _split_link(c: _Community) -> PageLink:
    return c.link(labels.SPLIT_NAV, "/map/split", "fa-object-ungroup")


def _analysis_links(who: Principal, *links: PageLink) -> tuple[PageLink, ...]:
    """Return the header's links to analysis pages: none for roles that may not run them."""
    return links if who.may(Permission.ANALYSE) else ()


def _no_analysis(c: _Community, who: Principal, title: str) -> HTMLResponse:
    """Return what an analysis page shows a role that may not run analyses: a notice."""
    officer = _officer_link(c)
    data = NoAnalysisData(
        user=badge(who),
        links=(officer,),
        static_url=f"{c.root}/static",
        api_root=c.root,
        page_title=title,
        officer_url=officer.url,
    )
    return HTMLResponse(no_analysis_page(data))


def _common(c: _Community, path: str, who: Principal) -> dict[str, Any]:
    """Return the fields every page's data shares: community, bounds, basemap, URLs, user."""
    return {
        "community_code": c.code,
        "community_name": c.name,
        "bounds": c.bounds,
        "communities": c.choices,
        "basemap": c.basemap,
        "static_url": f"{c.root}/static",
        "api_root": c.root,
        "page_url": f"{c.root}{path}",
        "tianditu_token": c.token,
        "missing": c.missing,
        "user": badge(who),
        "field_labels": FIELD_LABELS,
    }


@router.get(
    "/map",
    dependencies=[auth.READ_PAGE],
    response_class=HTMLResponse,
    summary="网格员工作地图",
)
def officer_map_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: CurrentUser,
    community: CommunityQuery = None,
    basemap: BasemapQuery = "osm",
) -> HTMLResponse:
    """Return the officer map of one community (the first by code when none is named).

    The map draws the community's events (``/api/events``); its panel reports them for roles
    that may, and offers each user the next steps of their side (:func:`event_setup`).
    Tianditu is offered only with a key (``tianditu_token`` setting); asked for without one,
    the page opens on OpenStreetMap.
    """
    c = _community(request, session, settings, community, basemap)
    data = OfficerMapData(
        **_common(c, "/map", who),
        links=_analysis_links(
            who, _circle_link(c), _venues_link(c), _lead_zones_link(c), _split_link(c)
        ),
        events=event_setup(who),
    )
    return HTMLResponse(officer_map(data))


def _life_circle(minutes: int) -> int:
    if minutes not in LIFE_CIRCLE_MINUTES:
        msg = f"生活圈只有 5、10、15 分钟（GB 50180-2018），收到 {minutes}"
        raise ValueError(msg)
    return minutes


@router.get(
    "/map/service-circle",
    dependencies=[auth.READ_PAGE],
    response_class=HTMLResponse,
    summary="15分钟党群服务圈地图",
)
def service_circle_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: CurrentUser,
    community: CommunityQuery = None,
    basemap: BasemapQuery = "osm",
    minutes: Annotated[
        int,
        Query(description="先显示的生活圈（GB 50180-2018）：5、10 或 15 分钟"),
        AfterValidator(_life_circle),
    ] = 15,
) -> HTMLResponse:
    """Return the 15-minute service circle page of one community, with its scenarios.

    Coverage and scenarios come from ``/api/analysis/service-circle``; the page saves nothing.
    Its life circles and walking speed are GB 50180-2018's, as the analysis's defaults (the
    page's tests check that both agree).
    """
    c = _community(request, session, settings, community, basemap)
    if not who.may(Permission.ANALYSE):
        return _no_analysis(c, who, labels.CIRCLE_TITLE)
    data = ServiceCircleMapData(
        **_common(c, "/map/service-circle", who),
        links=(_officer_link(c), _venues_link(c), _lead_zones_link(c), _split_link(c)),
        minutes=minutes,
    )
    return HTMLResponse(service_circle_map(data))


@router.get(
    "/map/venues",
    dependencies=[auth.READ_PAGE],
    response_class=HTMLResponse,
    summary="红房子选址地图",
)
def venues_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: CurrentUser,
    community: CommunityQuery = None,
    basemap: BasemapQuery = "osm",
    minutes: Annotated[
        int,
        Query(description="步行范围（GB 50180-2018 生活圈）：5、10 或 15 分钟"),
        AfterValidator(_life_circle),
    ] = 10,
    k: Annotated[
        int, Query(ge=VENUE_K_RANGE[0], le=VENUE_K_RANGE[1], description="新增红房子个数")
    ] = 3,
    demand: Annotated[
        Literal["residents", "households"], Query(description="覆盖目标：常住人口或户数")
    ] = "residents",
) -> HTMLResponse:
    """Return the red-house venue page of one community: where the next red houses go.

    The page starts its form at ``minutes``, ``k`` and ``demand`` and asks
    ``/api/analysis/venues`` (and the service circle's scenario for the picks' areas); it
    saves nothing.
    """
    c = _community(request, session, settings, community, basemap)
    if not who.may(Permission.ANALYSE):
        return _no_analysis(c, who, labels.VENUES_TITLE)
    data = VenuesMapData(
        **_common(c, "/map/venues", who),
        links=(_officer_link(c), _circle_link(c), _lead_zones_link(c), _split_link(c)),
        minutes=minutes,
        k=k,
        demand=demand,
    )
    return HTMLResponse(venues_map(data))


@router.get(
    "/map/lead-zones",
    dependencies=[auth.READ_PAGE],
    response_class=HTMLResponse,
    summary="楼长责任区地图",
)
def lead_zones_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: CurrentUser,
    community: CommunityQuery = None,
    basemap: BasemapQuery = "osm",
) -> HTMLResponse:
    """Return the building-lead zone page (楼长责任区) of one community.

    The page previews ``/api/analysis/lead-zones`` (nothing saved) and saves, locks and
    exports through ``/api/lead-zones``; its settings start at the analysis's defaults.
    Saving and locking are offered only to roles that may save plans.
    """
    c = _community(request, session, settings, community, basemap)
    if not who.may(Permission.ANALYSE):
        return _no_analysis(c, who, labels.LEAD_ZONES_TITLE)
    data = LeadZonesMapData(
        **_common(c, "/map/lead-zones", who),
        links=(_officer_link(c), _circle_link(c), _venues_link(c), _split_link(c)),
        min_households=settings.lead_min_households,
        min_occupancy=settings.lead_min_occupancy,
        max_walk_m=settings.lead_max_walk_m,
    )
    return HTMLResponse(lead_zones_map(data))


@router.get(
    "/map/split",
    dependencies=[auth.READ_PAGE],
    response_class=HTMLResponse,
    summary="社区拆分方案地图",
)
def split_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: CurrentUser,
    community: CommunityQuery = None,
    basemap: BasemapQuery = "osm",
    parts: Annotated[
        int,
        Query(
            ge=SPLIT_PARTS_RANGE[0],
            le=SPLIT_PARTS_RANGE[1],
            description="拆分为几个片区（2–8），表单从此开始",
        ),
    ] = 2,
) -> HTMLResponse:
    """Return the community split planner (社区拆分) of one community.

    The page asks ``/api/analysis/split`` for plans when the planner clicks 生成方案, measures
    manual moves with ``/api/analysis/split/measure`` and exports through
    ``/api/analysis/split/export``; nothing is saved there. Saving a plan as new communities
    (``/api/split/save``) is offered only to roles that may restructure communities.
    """
    c = _community(request, session, settings, community, basemap)
    if not who.may(Permission.ANALYSE):
        return _no_analysis(c, who, labels.SPLIT_TITLE)
    data = SplitMapData(
        **_common(c, "/map/split", who),
        links=(_officer_link(c), _circle_link(c), _venues_link(c), _lead_zones_link(c)),
        parts=parts,
    )
    return HTMLResponse(split_map(data))


@router.get(
    "/admin/users",
    dependencies=[auth.MANAGE_USERS_PAGE],
    response_class=HTMLResponse,
    summary="用户管理（系统管理员）",
)
def admin_users(request: Request, session: SessionDep, who: CurrentUser) -> HTMLResponse:
    """Return the admins' user management page; its script reads and changes ``/api/users``."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    communities = read_layer(session, "communities")
    choices = tuple(
        CommunityChoice(str(c), str(n or c))
        for c, n in zip(communities["code"], communities["name"], strict=True)
    )
    data = AdminUsersData(
        user=badge(who),
        links=tuple(
            PageLink(label, f"{root}{path}", icon)
            for label, path, icon in (
                (labels.NAV["officer"], "/map", "fa-map-location-dot"),
                (labels.NAV["service_circle"], "/map/service-circle", "fa-person-walking"),
                (labels.NAV["venues"], "/map/venues", "fa-house-chimney"),
                (labels.LEAD_ZONES_NAV, "/map/lead-zones", "fa-people-roof"),
                (labels.SPLIT_NAV, "/map/split", "fa-object-ungroup"),
            )
        ),
        static_url=f"{root}/static",
        api_root=root,
        roles=tuple(ROLE_NAMES.items()),
        communities=choices,
    )
    return HTMLResponse(admin_users_page(data))
