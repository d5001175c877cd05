"""FastAPI dependencies: settings, a database session per request, bbox, paging, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from gis_api.settings import Settings
from layers.errors import GridmapError, RequestTooLarge


class BadQuery(GridmapError):
    """A query parameter that cannot be used as given."""

    type = "bad_query"
    status = 422


def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Yield a session for one request; routes that write open ``session.begin()``.

    The session acts for the request's user (the route's guard found them): the history
    records who changed what, and a commit is checked against the user's scope
    (:func:`gis_api.auth.acting_session`).
    """
    from gis_api.auth import acting_session

    yield from acting_session(request)


def text_params(request: Request) -> None:
    """Refuse a query or path parameter holding a NUL character (``%00``).

    PostgreSQL text cannot hold NUL, so such a value would fail in the database (a 500);
    no community, grid or building code has one. The app adds it to every operation.
    """
    given = [("query", name, value) for name, value in request.query_params.multi_items()]
    given += [("path", name, str(value)) for name, value in request.path_params.items()]
    for where, name, value in given:
        if "\x00" in name or "\x00" in value:
            shown = name.replace("\x00", "\\x00")
            msg = f"{_WHERE[where]} {shown} 含有空字符（%00），无法使用：请去掉后重试"
            raise BadQuery(msg, loc=(where, shown))


_WHERE = {"query": "查询参数", "path": "路径参数"}

#: The app's dependency on every operation (``FastAPI(dependencies=[TextParams])``).
TextParams = Depends(text_params)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        msg = "不能含有空字符（%00、\\u0000）"
        raise ValueError(msg)
    return value


#: A text field of a JSON body that reaches the database: no NUL character.
PlainStr = Annotated[str, AfterValidator(_no_nul)]


def bbox_param(
    bbox: Annotated[
        str | None,
        Query(
            description="经纬度范围 minlon,minlat,maxlon,maxlat（WGS84）",
            examples=["112.95,22.9,113.0,22.95"],
        ),
    ] = None,
) -> tuple[float, float, float, float] | None:
    """Parse ``bbox`` and say exactly what is wrong with a bad one."""
    if bbox is None:
        return None
    parts = bbox.split(",")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        msg = f"bbox 应为 4 个以逗号分隔的数字 minlon,minlat,maxlon,maxlat，实际为“{bbox}”"
        raise BadQuery(msg, loc=("query", "bbox")) from None
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        hint = "（经纬度可能颠倒）" if abs(y0) > 90 and abs(x0) <= 90 else ""
        msg = f"bbox 超出经纬度范围：{bbox}{hint}"
        raise BadQuery(msg, loc=("query", "bbox"))
    if x0 >= x1 or y0 >= y1:
        msg = f"bbox 的最小值应小于最大值：{bbox}"
        raise BadQuery(msg, loc=("query", "bbox"))
    return (x0, y0, x1, y1)


@dataclass(frozen=True)
class Page:
    """A page of results."""

    limit: int
    offset: int


MAX_LIMIT = 10_000


def page_param(
    limit: Annotated[int, Query(ge=1, description=f"每页要素数（最多 {MAX_LIMIT}）")] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page:
    """Return the page asked for, refusing pages over the limit."""
    if limit > MAX_LIMIT:
        msg = f"每页最多 {MAX_LIMIT} 个要素，请求了 {limit} 个：请分页（offset）或缩小范围（bbox）"
        raise RequestTooLarge(msg, loc=("query", "limit"))
    return Page(limit, offset)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
BBoxDep = Annotated[tuple[float, float, float, float] | None, Depends(bbox_param)]
PageDep = Annotated[Page, Depends(page_param)]


def clock() -> datetime:
    """Return the time now (UTC): the events' clock, which tests replace."""
    return datetime.now(UTC)


ClockDep = Annotated[datetime, Depends(clock)]
