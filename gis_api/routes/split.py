"""The community split: plans, a plan moved by hand, the comparison export, saving a plan.

docs/domain.md, "Splitting a community (Qiaohua)". Generating, measuring and exporting change
nothing (any role that may analyse); saving replaces the community by its parts
(``restructure``: planners and administrators). Every request names the community in its
body, checked against the user's communities here (the guard sees only the query).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, StringConstraints
from starlette.background import BackgroundTask

from gis_api import auth
from gis_api.analyses import common
from gis_api.analyses import split as glue
from gis_api.auth import CurrentUser
from gis_api.deps import PlainStr, SessionDep
from layers import domain
from layers.errors import GridmapError

router = APIRouter(tags=["社区拆分 split"])

#: Most units an assignment may name (a district's street office has fewer).
MAX_UNITS = 20_000
Part = Annotated[int, Field(ge=0, le=7)]
Assignment = Annotated[dict[PlainStr, Part], Field(max_length=MAX_UNITS)]
By = Literal["residents", "households"]


class _Plan(BaseModel):
    """What every split request names: the community, how many parts, what balances."""

    community: PlainStr
    parts: int = Field(default=2, ge=2, le=8, description="分成几个片区（2～8）")
    tolerance: float = Field(default=0.05, gt=0, le=0.5, description="均衡容差，默认 5%")
    by: By = Field(default="residents", description="按常住人口或户数均衡")


class SplitIn(_Plan):
    """Generate plans; nothing is stored."""

    plans: int = Field(default=5, ge=1, le=10, description="最多给出几个方案")
    locks: Assignment = Field(default_factory=dict, description="锁定：{小区或单元编号: 片区}")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    time_budget_s: float = Field(default=5.0, gt=0, le=30, description="搜索时间（秒）")


class MeasureIn(_Plan):
    """A plan as the planner changed it: every unit's part (from 0)."""

    assignment: Assignment


class ExportIn(_Plan):
    """The plans to compare, each every unit's part."""

    plans: list[Assignment] = Field(min_length=1, max_length=10)


Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00]+$"),
]


class NewCommunityIn(BaseModel):
    """The code and name one part is saved under."""

    code: Code
    name: Name


class SaveIn(_Plan):
    """Save a plan: each part becomes a community (one code and name per part, in order)."""

    assignment: Assignment
    communities: list[NewCommunityIn] = Field(min_length=2, max_length=8)
    revision: str | None = Field(
        default=None, max_length=64, description="生成方案时的数据版本（答复中的 revision）"
    )


@router.post(
    "/api/analysis/split",
    dependencies=[auth.ANALYSE],
    summary="社区拆分：生成几个人口均衡、连片、小区不拆的方案及各项指标",
)
def split(body: SplitIn, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    """Several distinct plans, best first, with their measures and the new boundaries."""
    who.check_community(body.community)
    prepared = glue.prepare(session, body.community, by=body.by, tolerance=body.tolerance)
    options = glue.Options(
        parts=body.parts,
        tolerance=body.tolerance,
        plans=body.plans,
        by=body.by,
        locks=_keys(body.locks),
        time_budget_s=body.time_budget_s,
        seed=body.seed,
    )
    return glue.to_json(prepared, glue.split(prepared, options))


@router.post(
    "/api/analysis/split/measure",
    dependencies=[auth.ANALYSE],
    summary="社区拆分：手动调整后的方案指标（移动一个小区后立即重算）",
)
def measure(body: MeasureIn, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    """Measure the plan as sent, with its parts' boundaries; nothing is stored."""
    who.check_community(body.community)
    prepared = glue.prepare(session, body.community, by=body.by, tolerance=body.tolerance)
    plan = glue.measure(prepared, _keys(body.assignment), parts=body.parts)
    return glue.measure_json(prepared, plan)


SplitFormat = Annotated[
    str, Query(alias="format", pattern="^(csv|xlsx|geojson|gpkg)$", description="文件格式")
]
Headers = Annotated[
    Literal["zh", "en"], Query(description="表头：zh 中文（给人看），en 英文（给程序用）")
]


@router.post(
    "/api/analysis/split/export",
    dependencies=[auth.ANALYSE],
    summary="导出社区拆分方案：对比表（CSV、Excel）或新社区边界（GeoJSON、GeoPackage）",
    response_class=FileResponse,
)
def export(
    body: ExportIn,
    session: SessionDep,
    who: CurrentUser,
    fmt: SplitFormat = "xlsx",
    headers: Headers = "zh",
) -> FileResponse:
    """Return the plans' comparison table, or their parts' boundaries, as a file."""
    who.check_community(body.community)
    prepared = glue.prepare(session, body.community, by=body.by, tolerance=body.tolerance)
    plans = [glue.measure(prepared, _keys(a), parts=body.parts) for a in body.plans]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", body.community)
    folder = Path(tempfile.mkdtemp(prefix="gridmap-download-"))
    try:
        if fmt in {"geojson", "gpkg"}:
            path = folder / f"社区拆分边界_{safe}.{fmt}"
            common.write_table(glue.plan_boundaries(prepared, plans), path)
        else:
            path = folder / f"社区拆分方案对比_{safe}.{fmt}"
            table = glue.comparison(plans, headers=headers)
            if fmt == "csv":
                table.to_csv(path, index=False, encoding="utf-8-sig")
            else:
                day = f"{domain.china_today():%Y年%m月%d日}"
                title = f"社区拆分方案对比：{body.community}，{body.parts} 个片区，{day}"
                _excel(table, path, title=title if headers == "zh" else None)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path, filename=path.name, background=BackgroundTask(shutil.rmtree, folder, True)
    )


@router.post(
    "/api/split/save",
    dependencies=[auth.RESTRUCTURE],
    summary="把社区拆分方案保存为新社区（规划人员；要素随之迁移，留有修改记录）",
)
def save(body: SaveIn, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    """Replace the community by the plan's parts, in one transaction; return what moved."""
    who.check_community(body.community)
    if len(body.communities) != body.parts:
        msg = f"分成 {body.parts} 个片区，但给了 {len(body.communities)} 个新社区的编号和名称"
        raise GridmapError(msg, loc=("body", "communities"))
    names = [glue.NewName(code=c.code, name=c.name) for c in body.communities]
    with session.begin():
        plan, saved = glue.save(
            session,
            body.community,
            _keys(body.assignment),
            names,
            by=body.by,
            tolerance=body.tolerance,
            revision=body.revision,
        )
        # The parts are made of the user's own community, and the user works in them now
        # (the old community's users are given every part): the scope checked at commit.
        session.info["principal"] = who.working_in(saved.community_ids)
    m = plan.measures
    return {
        "communities": [
            {
                "code": n.code,
                "name": n.name,
                "residents": round(float(m.residents[p])),
                "households": round(float(m.households[p])),
                "compounds": int(m.compounds[p]),
                "buildings": int(m.buildings[p]),
            }
            for p, n in enumerate(names)
        ],
        "moved": saved.moved,
        "removed": saved.removed,
        "lead_zones_removed": saved.lead_zones_removed,
        "grid_links_dropped": saved.grid_links_dropped,
        "flags": list(m.flags),
    }


def _keys(values: dict[str, int]) -> dict[Hashable, int]:
    out: dict[Hashable, int] = {}
    out.update(values)
    return out


def _excel(table: Any, path: Path, *, title: str | None) -> None:
    """Write the table to Excel, under a title row when there is one."""
    import pandas as pd

    start = 0 if title is None else 2
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, startrow=start, sheet_name="方案对比")
        sheet = writer.sheets["方案对比"]
        if title is not None:
            sheet.cell(row=1, column=1, value=title)
        for i, column in enumerate(table.columns, start=1):
            width = max(10, min(40, 2 * len(str(column))))
            sheet.column_dimensions[sheet.cell(row=start + 1, column=i).column_letter].width = width
