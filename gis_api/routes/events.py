"""Events: report, list, look up, and take the workflow's steps (docs/events.md).

Reading is for every role in its communities (reporters' names and phones masked for roles
that may not see them); reporting for officers, field staff, planners and admins; steps for
the community's side and the departments, each step checked in :mod:`layers.events` against
the user's role, grid or department. Times come from :func:`gis_api.deps.clock`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from gis_api import auth
from gis_api.access import Principal, mask
from gis_api.auth import CurrentUser
from gis_api.deps import ClockDep, PlainStr, SessionDep
from gis_api.routes.photos import read_upload
from layers import domain, event_photos, photos
from layers import events as ev
from layers.errors import NotFound
from layers.models import EVENT_STATUSES

router = APIRouter(tags=["事件 events"])

#: Personal fields of an event: who reported it.
PERSONAL = ("reporter_name", "reporter_phone")

Text = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\x00]*$")]


class EventIn(BaseModel):
    """A new event: where (WGS84, or a building), what, and who saw it."""

    lon: float = Field(ge=-180, le=180, description="经度（WGS84）")
    lat: float = Field(ge=-90, le=90, description="纬度（WGS84）")
    category: Annotated[Text, StringConstraints(min_length=1, max_length=32)] = Field(
        description="事件小类编号（见 /api/event-categories）"
    )
    description: Annotated[Text, StringConstraints(min_length=1, max_length=2000)]
    building: Annotated[Text, StringConstraints(min_length=1, max_length=64)] | None = None
    address: Annotated[Text, StringConstraints(max_length=200)] | None = None
    reporter_name: Annotated[Text, StringConstraints(max_length=64)] | None = None
    reporter_phone: Annotated[str, StringConstraints(pattern=r"^[0-9+\- ]{3,32}$")] | None = None
    source: Literal["map", "field", "api"] = "api"
    allow_duplicate: bool = Field(default=False, description="附近已有同类未结事件时仍然上报")


class StepIn(BaseModel):
    """One step of the workflow, with a note; ``version`` as last read guards against races."""

    action: Literal[
        "file",
        "cancel",
        "dispatch",
        "accept",
        "return",
        "handle",
        "feedback",
        "verify",
        "send_back",
        "close",
    ]
    note: Annotated[Text, StringConstraints(max_length=ev.MAX_NOTE)] | None = None
    department: Annotated[Text, StringConstraints(min_length=1, max_length=32)] | None = None
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


def actor(who: Principal) -> ev.Actor:
    """Return the user as the events' workflow sees them."""
    return ev.Actor(
        username=who.username,
        role=who.role,
        user_id=who.user_id,
        communities=who.communities,
        grids=who.grids,
    )


def shown(who: Principal, row: dict[str, Any]) -> dict[str, Any]:
    """Return an event as this user may see it (reporter masked unless they may see it)."""
    out = {k: v for k, v in row.items() if k != "id"}
    if not who.sees_personal:
        for column in PERSONAL:
            out[column] = mask(column, out.get(column))
    return out


def feature(who: Principal, row: dict[str, Any]) -> dict[str, Any]:
    """Return an event as a GeoJSON feature."""
    props = shown(who, row)
    lon, lat = props.pop("lon"), props.pop("lat")
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


@router.get(
    "/api/event-categories",
    dependencies=[auth.READ],
    summary="事件类别（大类/小类）、承办部门、状态与办理步骤",
)
def categories(session: SessionDep) -> dict[str, Any]:
    """Return the category tree: each subclass's department, hours and duplicate distance."""
    return {
        "categories": ev.categories(session),
        "departments": ev.departments(session),
        "statuses": dict(ev.STATUS_ZH),
        "actions": {code: a.zh for code, a in ev.ACTIONS.items()},
        "step_hours": dict(ev.STEP_HOURS),
    }


@router.post(
    "/api/events",
    dependencies=[auth.REPORT_EVENTS],
    status_code=201,
    summary="上报事件（自动确定社区、网格、小区、楼栋和网格员）",
)
def report(body: EventIn, session: SessionDep, who: CurrentUser, now: ClockDep) -> dict[str, Any]:
    """Record the event; 409 when an open event of the same kind is near (unless allowed)."""
    with session.begin():
        code = ev.report(
            session,
            actor(who),
            now=now,
            lon=body.lon,
            lat=body.lat,
            category=body.category,
            description=body.description,
            source=body.source,
            building=body.building,
            address=body.address,
            reporter_name=body.reporter_name,
            reporter_phone=body.reporter_phone,
            allow_duplicate=body.allow_duplicate,
        )
    return shown(who, ev.get_event(session, code, now=now))


StatusName = Literal[
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
if set(get_args(StatusName)) != set(EVENT_STATUSES):  # the one list, checked at import
    msg = "StatusName must list layers.models.EVENT_STATUSES"
    raise RuntimeError(msg)
Statuses = Annotated[list[StatusName] | None, Query(description="状态，可多选")]


@router.get(
    "/api/events",
    dependencies=[auth.READ],
    summary="事件列表（GeoJSON，可按状态、类别、网格、时间筛选）",
)
def list_events(
    session: SessionDep,
    who: CurrentUser,
    now: ClockDep,
    community: Annotated[str | None, Query(description="社区编号")] = None,
    status: Statuses = None,
    category: Annotated[str | None, Query(max_length=32, description="类别（大类或小类）")] = None,
    grid: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=32)] = None,
    overdue: Annotated[bool | None, Query(description="只看超期（督办）")] = None,
    since: Annotated[date | None, Query(description="上报日期自（含）")] = None,
    until: Annotated[date | None, Query(description="上报日期至（含）")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Events in the user's communities, newest first."""
    rows = ev.list_events(
        session,
        ev.EventFilter(
            communities=who.within,
            community=community,
            status=tuple(status or ()),
            category=category,
            grid=grid,
            department=department,
            overdue=overdue,
            since=_day_start(since),
            until=_day_start(until + timedelta(days=1)) if until else None,
            limit=limit,
        ),
        now=now,
    )
    return {"type": "FeatureCollection", "features": [feature(who, r) for r in rows]}


@router.get(
    "/api/events/duplicates",
    dependencies=[auth.READ],
    summary="上报前查重：附近同类未结事件",
)
def nearby(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    category: Annotated[str, Query(min_length=1, max_length=32)],
) -> dict[str, Any]:
    """Open events of the category within its duplicate distance of the point."""
    return {"duplicates": ev.duplicates(session, lon=lon, lat=lat, category=category)}


@router.get("/api/events/{code}", dependencies=[auth.READ], summary="事件详情与办理时间线")
def one(code: str, session: SessionDep, who: CurrentUser, now: ClockDep) -> dict[str, Any]:
    """Return the event, its place, status, deadline and every step taken."""
    _visible(session, code, who)  # another community's is as unknown as a missing one
    return shown(who, ev.get_event(session, code, now=now))


@router.post(
    "/api/events/{code}/steps",
    dependencies=[auth.EVENT_STEPS],
    summary="办理事件：立案、派遣（吹哨）、报到、处置、反馈、核查、结案或退回",
)
def step(
    code: str, body: StepIn, session: SessionDep, who: CurrentUser, now: ClockDep
) -> dict[str, Any]:
    """Take one step; refused (403/409/422, in Chinese) when the role or order is wrong."""
    with session.begin():
        ev.take_step(
            session,
            code,
            body.action,
            actor(who),
            now=now,
            note=body.note,
            department=body.department,
            version=body.version,
        )
    return shown(who, ev.get_event(session, code, now=now))


def _day_start(day: date | None) -> datetime | None:
    """Return the start of a day in China's time zone (the users' day)."""
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=domain.CHINA).astimezone(UTC)


# --- photos -------------------------------------------------------------------------------------

PhotoUid = Annotated[str, Path(max_length=64, description="照片编号（设备生成的 UUID）")]


def _visible(session: Session, code: str, who: Principal) -> None:
    cid = ev.community_of_event(session, code)
    if cid is None or not who.in_community(cid):
        msg = f"事件“{code}”不存在（或不在您所在的社区）"
        raise NotFound(msg, loc=("path", "code"))


def _photo_out(photo: event_photos.EventPhoto, who: Principal) -> dict[str, Any]:
    out = dataclasses.asdict(photo)
    if not who.sees_personal:
        out["taken_by"] = None
    base = f"/api/events/{photo.event}/photos/{photo.uid}"
    return {**out, "url": f"{base}/image", "thumb_url": f"{base}/thumb"}


@router.put(
    "/api/events/{code}/photos/{uid}",
    dependencies=[auth.EVENT_PHOTOS],
    status_code=201,
    summary="上传事件照片（上报或办理时；按照片编号幂等）",
    responses={
        200: {"description": "该编号的照片已收到过"},
        409: {"description": "该编号已用于另一事件的照片"},
        413: {"description": "照片过大"},
        415: {"description": "不是 JPEG、PNG 或 WebP 图片"},
    },
)
def put_photo(
    code: str,
    uid: PhotoUid,
    session: SessionDep,
    who: CurrentUser,
    response: Response,
    file: Annotated[UploadFile, File(description="照片（JPEG、PNG 或 WebP）")],
    caption: Annotated[PlainStr | None, Form(max_length=photos.MAX_CAPTION)] = None,
) -> dict[str, Any]:
    """Keep a photo of the event at its current stage (the report, the work done...)."""
    key = photos.parse_uid(uid)
    data = read_upload(file)
    with session.begin():
        _visible(session, code, who)
        prepared = photos.prepare(data, filename=file.filename or "")
        photo, new = event_photos.save(
            session, code, key, prepared, caption=caption, taken_by=who.username
        )
    if not new:
        response.status_code = 200
    return _photo_out(photo, who)


@router.get("/api/events/{code}/photos", dependencies=[auth.READ], summary="事件照片列表")
def list_photos(code: str, session: SessionDep, who: CurrentUser) -> list[dict[str, Any]]:
    """Return the event's photos, oldest first, each with its stage and links."""
    _visible(session, code, who)
    return [_photo_out(p, who) for p in event_photos.photos_of(session, code)]


@router.get(
    "/api/events/{code}/photos/{uid}/{size}",
    dependencies=[auth.READ],
    summary="事件照片图像（image 原图，thumb 缩略图）",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def photo_image(
    code: str,
    uid: PhotoUid,
    size: Annotated[str, Path(pattern="^(image|thumb)$")],
    session: SessionDep,
    who: CurrentUser,
) -> Response:
    """Return a photo's JPEG (its bytes never change for a uid)."""
    _visible(session, code, who)
    data = event_photos.photo_bytes(session, code, photos.parse_uid(uid), thumb=size == "thumb")
    headers = {"Cache-Control": "private, max-age=31536000, immutable"}
    return Response(data, media_type="image/jpeg", headers=headers)
