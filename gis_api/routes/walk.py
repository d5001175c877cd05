"""The walk (扫楼) for the officer's map and the tablet: visits, the day's edits, conflicts.

docs/field.md, "走访" and "冲突". The store's part is :mod:`layers.fieldwork`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import text

from gis_api import auth
from gis_api.access import FIELD_STAFF_FIELDS, GRID_BOUND, Forbidden, Principal, mask
from gis_api.auth import CurrentUser
from gis_api.deps import SessionDep
from layers import fieldwork
from layers.domain import china_today
from layers.errors import NotFound
from layers.queries import community_id
from layers.schema import EARLIEST_DATE, LAYERS, PERSONAL_COLUMNS

router = APIRouter(prefix="/api", tags=["扫楼 walk"])


@router.get("/walk", dependencies=[auth.READ], summary="走访进度：今日走访、今日修改、待处理冲突")
def walk(
    session: SessionDep,
    who: CurrentUser,
    community: Annotated[str, Query(max_length=64, description="社区编号")],
    grid: Annotated[str | None, Query(max_length=64, description="网格编号（默认全社区）")] = None,
    day: Annotated[
        date | None,
        Query(description="日期（默认今天，北京时间）", ge=date.fromisoformat(EARLIEST_DATE)),
    ] = None,
) -> dict[str, Any]:
    """Return a community's (or grid's) walk on a day: buildings visited, edits, conflicts.

    Field staff see their own grids unless they name one. Each building carries its last
    visit (``visited_on``) and the time of its last edit that day; ``visited`` counts those
    visited or edited that day.
    """
    who.check_community(community)
    cid = community_id(session, community)
    grids = _grids(session, who, cid, community, grid)
    out = fieldwork.walk(
        session, cid, day or china_today(), fields=sorted(FIELD_STAFF_FIELDS), grids=grids
    )
    zh = {f.name: f.zh for f in LAYERS["buildings"].fields}
    for e in out["edits"]:
        e["fields_zh"] = [zh.get(f, f) for f in e["fields"]]
    out["conflicts"] = [_conflict_out(c, who, zh) for c in out["conflicts"]]
    out["grids"] = None if grids is None else sorted(grids)
    return out


def _grids(
    session: Any, who: Principal, cid: int, community: str, grid: str | None
) -> list[int] | None:
    if grid is None:
        return sorted(who.grids) if who.role == "field" and who.grids else None
    found = session.execute(
        text("SELECT id FROM grids WHERE code = :g AND community_id = :c"), {"g": grid, "c": cid}
    ).scalar()
    if found is None:
        msg = f"社区“{community}”中没有网格“{grid}”"
        raise NotFound(msg, loc=("query", "grid"))
    return [int(found)]


def _conflict_out(c: dict[str, Any], who: Principal, zh: dict[str, str]) -> dict[str, Any]:
    fields = []
    for given in c["fields"]:
        f = dict(given)
        f["zh"] = zh.get(f["field"], "几何" if f["field"] == "geom" else f["field"])
        if f["field"] in PERSONAL_COLUMNS and not who.sees_personal:
            for side in ("base", "current", "proposed"):
                f[side] = mask(f["field"], f.get(side))
        fields.append(f)
    return {**c, "fields": fields}


@router.post(
    "/conflicts/{conflict_id}/dismiss",
    dependencies=[auth.EDIT],
    status_code=200,
    summary="放弃冲突的修改（保留他人的值）",
)
def dismiss(
    conflict_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, who: CurrentUser
) -> dict[str, Any]:
    """Settle a conflict by keeping the values now in the store: its author gives the edit up.

    The author may, and so may an officer or planner of the building's community (a tablet
    lost or its user gone); a resolved conflict stays as it was.
    """
    with session.begin():
        c = fieldwork.conflict(session, conflict_id)
        if not who.in_community(c["community_id"]):
            msg = f"冲突记录 {conflict_id} 不存在"
            raise NotFound(msg, loc=("path", "conflict_id"))
        if c["username"] != who.username and (
            who.role == "field" or (who.role in GRID_BOUND and c["grid_id"] not in who.grids)
        ):
            msg = f"只有修改人 {c['username']} 或本网格的网格员可以放弃这条冲突的修改"
            raise Forbidden(msg, loc=("path", "conflict_id"))
        if c["resolved_at"] is None:
            fieldwork.dismiss_conflict(session, conflict_id)
        return fieldwork.conflict(session, conflict_id)
