"""The events dashboard and the events ledger export (基层吹哨、部门报到, docs/events.md).

``GET /api/events/stats``: open, overdue, closed and cancelled counts, mean and median
hours to close by department and by category, events per 1,000 residents, the year-by-year
chart and the per-grid figures, for a community, a grid of it or all the user's communities,
over a window of report dates (:mod:`layers.event_stats`). ``GET /api/events/export``: one row
per event as CSV or Excel (:mod:`layers.io.events_io`), reporters masked for roles that may
not see personal data. Both read only the user's communities; times come from the API's
clock (:func:`gis_api.deps.clock`).

The app includes this router before the events router, whose ``/api/events/{code}`` would
otherwise take ``stats`` and ``export`` for event codes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from gis_api import auth
from gis_api.access import Principal, mask
from gis_api.auth import CurrentUser
from gis_api.deps import BadQuery, ClockDep, SessionDep
from layers import domain
from layers import event_stats as st
from layers.io import events_io

router = APIRouter(tags=["事件统计 event stats"])

Community = Annotated[str | None, Query(max_length=64, description="社区编号")]
Grid = Annotated[str | None, Query(max_length=64, description="网格编号（须同时指定社区）")]
Since = Annotated[date | None, Query(description="上报日期自（含）")]
Until = Annotated[date | None, Query(description="上报日期至（含）")]


@router.get(
    "/api/events/stats",
    dependencies=[auth.READ],
    summary="事件统计：未结/超期/结案数、各部门与各类别办结时长、每千人事件数、历年事件数",
)
def stats(
    session: SessionDep,
    who: CurrentUser,
    now: ClockDep,
    community: Community = None,
    grid: Grid = None,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """Return the dashboard of a community, one of its grids, or all the user's communities."""
    scope = _scope(session, who, community, grid, since, until)
    return st.dashboard(session, scope, now=now)


@router.get(
    "/api/events/export",
    dependencies=[auth.READ],
    summary="导出事件台账（CSV、Excel；每个事件一行，含经纬度；上报人信息按角色脱敏）",
    response_class=FileResponse,
)
def export(
    session: SessionDep,
    who: CurrentUser,
    now: ClockDep,
    community: Annotated[str, Query(max_length=64, description="社区编号")],
    fmt: Annotated[
        Literal["csv", "xlsx"], Query(alias="format", description="文件格式：csv 或 xlsx")
    ] = "xlsx",
    headers: Annotated[
        Literal["zh", "en"], Query(description="表头：zh 中文（给人看），en 英文（给程序用）")
    ] = "zh",
    grid: Grid = None,
    since: Since = None,
    until: Until = None,
) -> FileResponse:
    """Return the community's events, one row each, as a file to download."""
    scope = _scope(session, who, community, grid, since, until)
    assert scope.community_ids is not None  # a community was named
    rows = events_io.export_rows(
        session,
        community_id=scope.community_ids[0],
        grid_id=scope.grid_id,
        since=scope.since,
        until=scope.until,
        now=now,
    )
    if not who.sees_personal:
        rows = [{**r, **{c: mask(c, r.get(c)) for c in events_io.PERSONAL}} for r in rows]
    table = events_io.ledger(rows, headers=headers)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", community)
    folder = Path(tempfile.mkdtemp(prefix="gridmap-download-"))
    try:
        path = folder / f"事件台账_{safe}.{fmt}"
        title = None
        if fmt == "xlsx" and headers == "zh":
            where = scope.community_name
            if scope.grid is not None:
                where = f"{where} {scope.grid_name or scope.grid}"
            title = events_io.title_of(community, where, day=now)
        events_io.write_ledger(table, path, title=title)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path, filename=path.name, background=BackgroundTask(shutil.rmtree, folder, True)
    )


def _scope(
    session: SessionDep,
    who: Principal,
    community: str | None,
    grid: str | None,
    since: date | None,
    until: date | None,
) -> st.Scope:
    """Return the scope asked for, within the user's communities (the guard checked the code)."""
    return st.scope(
        session,
        community=community,
        grid=grid,
        within=who.within,
        since=day_start(since, "since"),
        until=day_start(until, "until", after=True),
    )


#: The report dates a window may name (events are of this century; the rest is a typo).
EARLIEST, LATEST = date(1990, 1, 1), date(2199, 12, 31)


def day_start(day: date | None, name: str, *, after: bool = False) -> datetime | None:
    """Return the start of ``day`` (of the next day when ``after``) in China's time zone."""
    if day is None:
        return None
    if not EARLIEST <= day <= LATEST:
        msg = f"日期 {day.isoformat()} 超出范围（{EARLIEST.year}–{LATEST.year} 年）"
        raise BadQuery(msg, loc=("query", name))
    if after:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=domain.CHINA).astimezone(UTC)
