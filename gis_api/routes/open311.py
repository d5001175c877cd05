"""Open311 GeoReport v2 over the events, so 12345-hotline-style clients read and file them.

The spec's resources and field names (https://wiki.open311.org/GeoReport_v2): services are
the event subclasses (``service_code`` = category code, ``group`` = its main class); a
service request is an event (``service_request_id`` = its code, ``status`` ``open`` or
``closed``, ``agency_responsible`` its department). Our place fields are added to each
request (``community``, ``grid``, ``building``) with the Chinese status (``status_zh``).
Where the spec has an ``api_key``, a bearer token authenticates, as on the rest of the API;
errors keep the API's one error body.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import JSONResponse

from gis_api import auth
from gis_api.auth import CurrentUser
from gis_api.deps import ClockDep, PlainStr, SessionDep
from gis_api.routes.events import actor, shown
from layers import domain
from layers import events as ev
from layers.errors import GridmapError, NotFound

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])

#: Requests listed when no dates are given: the last 90 days, at most 1,000 (the spec's
#: defaults).
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
_CLOSED = frozenset(ev.FINAL)


@router.get("/services.json", dependencies=[auth.READ], summary="Open311：服务（事件类别）列表")
def services(session: SessionDep) -> list[dict[str, Any]]:
    """Every active event subclass as an Open311 service."""
    out = []
    for group in ev.categories(session):
        for c in group["children"]:
            if not c["active"]:
                continue
            out.append(
                {
                    "service_code": c["code"],
                    "service_name": c["name"],
                    "description": (
                        f"{group['name']} / {c['name']}："
                        f"承办部门 {c['department_name'] or '待定'}，"
                        f"处置时限 {c['handle_hours']:g} 小时"
                    ),
                    "metadata": False,
                    "type": "realtime",
                    "keywords": "",
                    "group": group["name"],
                }
            )
    return out


def request_json(who: Any, row: dict[str, Any]) -> dict[str, Any]:
    """Return an event as an Open311 service request (with our place fields)."""
    e = shown(who, row)
    return {
        "service_request_id": e["code"],
        "status": "closed" if e["status"] in _CLOSED else "open",
        "status_notes": e["last_note"] or e["status_zh"],
        "service_name": e["category_name"],
        "service_code": e["category"],
        "description": e["description"],
        "agency_responsible": e["department_name"],
        "service_notice": "",
        "requested_datetime": _iso(e["reported_at"]),
        "updated_datetime": _iso(e["status_at"]),
        "expected_datetime": _iso(e["due_at"]),
        "address": e["address"],
        "address_id": None,
        "zipcode": None,
        "lat": e["lat"],
        "long": e["lon"],
        "media_url": None,
        "community": e["community"],
        "grid": e["grid"],
        "building": e["building"],
        "status_zh": e["status_zh"],
    }


@router.get("/requests.json", dependencies=[auth.READ], summary="Open311：查询服务请求（事件）")
def requests(
    session: SessionDep,
    who: CurrentUser,
    now: ClockDep,
    service_request_id: Annotated[
        str | None, Query(max_length=4000, description="事件编号，逗号分隔")
    ] = None,
    service_code: Annotated[str | None, Query(max_length=32)] = None,
    start_date: Annotated[datetime | None, Query(description="上报时间自（ISO 8601）")] = None,
    end_date: Annotated[datetime | None, Query(description="上报时间至（ISO 8601）")] = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)(,(open|closed))*$")] = None,
    community: Annotated[str | None, Query(max_length=64, description="社区编号（扩展）")] = None,
) -> list[dict[str, Any]]:
    """Service requests, newest first: by ids, or by code, dates and status."""
    codes = tuple(c.strip() for c in (service_request_id or "").split(",") if c.strip())
    statuses: tuple[str, ...] = ()
    if status:
        wanted = set(status.split(","))
        statuses = tuple(
            s for s in ev.STATUS_ZH if ("closed" if s in _CLOSED else "open") in wanted
        )
    since, until = _aware(start_date), _aware(end_date)
    if not codes and since is None and until is None:
        since = now - timedelta(days=DEFAULT_DAYS)
    if since is not None and until is not None and since > until:
        msg = "start_date 晚于 end_date"
        raise GridmapError(msg, loc=("query", "start_date"))
    rows = ev.list_events(
        session,
        ev.EventFilter(
            communities=who.within,
            community=community,
            category=service_code,
            status=statuses,
            since=since,
            until=until,
            codes=codes,
            limit=MAX_REQUESTS,
        ),
        now=now,
    )
    return [request_json(who, r) for r in rows]


@router.get(
    "/requests/{service_request_id}.json",
    dependencies=[auth.READ],
    summary="Open311：一个服务请求（事件）",
)
def one_request(
    service_request_id: str, session: SessionDep, who: CurrentUser, now: ClockDep
) -> list[dict[str, Any]]:
    """Return one request, as a list of one (as the spec answers)."""
    cid = ev.community_of_event(session, service_request_id)
    if cid is None or not who.in_community(cid):
        msg = f"服务请求（事件）“{service_request_id}”不存在"
        raise NotFound(msg, loc=("path", "service_request_id"))
    return [request_json(who, ev.get_event(session, service_request_id, now=now))]


@router.post(
    "/requests.json",
    dependencies=[auth.REPORT_EVENTS],
    summary="Open311：提交服务请求（上报事件）",
    response_class=JSONResponse,
    status_code=201,
)
def post_request(
    session: SessionDep,
    who: CurrentUser,
    now: ClockDep,
    service_code: Annotated[PlainStr, Form(min_length=1, max_length=32)],
    lat: Annotated[float, Form(ge=-90, le=90)],
    long: Annotated[float, Form(ge=-180, le=180)],
    description: Annotated[PlainStr, Form(min_length=1, max_length=2000)],
    address_string: Annotated[PlainStr | None, Form(max_length=200)] = None,
    first_name: Annotated[PlainStr | None, Form(max_length=32)] = None,
    last_name: Annotated[PlainStr | None, Form(max_length=32)] = None,
    phone: Annotated[str | None, Form(pattern=r"^[0-9+\- ]{3,32}$")] = None,
) -> list[dict[str, Any]]:
    """File an event as a service request; answer its id (the spec's list of one)."""
    name = "".join(p for p in (last_name, first_name) if p) or None  # 姓在前
    if not description.strip():
        msg = "description（问题描述）不能为空"
        raise ev.EventError(msg, loc=("body", "description"))
    with session.begin():
        code = ev.report(
            session,
            actor(who),
            now=now,
            lon=long,
            lat=lat,
            category=service_code,
            description=description.strip(),
            source="open311",
            address=address_string,
            reporter_name=name,
            reporter_phone=phone,
            allow_duplicate=True,  # a hotline call is recorded; the community merges later
        )
    return [{"service_request_id": code, "service_notice": "", "account_id": None}]


def _iso(value: datetime | None) -> str | None:
    """Return a time as ISO 8601 in China's time zone (the spec wants a zone)."""
    return None if value is None else value.astimezone(domain.CHINA).isoformat()


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=domain.CHINA)
