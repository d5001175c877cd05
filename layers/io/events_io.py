"""Events to and from tables: the ledger export (CSV, Excel) and the import of past events.

**Export.** One row per event (:data:`COLUMNS`): code, category (大类/小类), description,
place, department, status, times, overdue, hours taken, longitude and latitude (no geometry
column), address and reporter. With ``headers="zh"`` the table is for people: Chinese
headers, names for categories, departments and statuses, China's local times, 是/否; with
``headers="en"`` it is for scripts: the English column names, codes, ISO 8601 times with
their offset and true/false. Excel files open with a title row (the community, the date).
*Hours taken* (办理时长) run from the report to the close for events closed or cancelled,
and to ``now`` for open ones. Masking reporters for roles that may not see them is the
caller's (the API's) business: :func:`export_rows` returns them as stored.

**Import.** A CSV or Excel file of past events, with the export's headers in either
language (so an export imports again); the required columns are 小类 (code or name), 描述,
上报时间, 经度 and 纬度. Each row is placed from its point as :func:`layers.events.report`
places a new event (:func:`layers.events.place_of`: community, grid, compound, building and
the grid's officer) and must lie in the community named; its status may be any (closed and
cancelled events need 结案时间). Every row is checked first and every problem collected with
its row number; only a clean file is written, by COPY, in the caller's transaction, which is
stamped with the ``import`` channel (migration 0007 lets only imports insert events that are
not ``reported``). Each event gets a timeline of two steps: reported, and the step that led
to its status, both noted as imported.
"""

from __future__ import annotations

import io
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers import db
from layers import events as ev
from layers.domain import CHINA
from layers.errors import BadFile, ImportRowError, Loc
from layers.event_stats import NO_DEPARTMENT
from layers.queries.writes import Progress, copy_rows

Headers = Literal["zh", "en"]

#: The ledger's columns: English name (``headers="en"``) and Chinese header, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "编号"),
    ("category_group", "大类"),
    ("category", "小类"),
    ("description", "描述"),
    ("community", "社区"),
    ("grid", "网格"),
    ("compound", "小区"),
    ("building", "楼栋"),
    ("department", "承办部门"),
    ("status", "状态"),
    ("reported_at", "上报时间"),
    ("closed_at", "结案时间"),
    ("due_at", "截止时间"),
    ("overdue", "是否超期"),
    ("hours", "办理时长（小时）"),
    ("lon", "经度"),
    ("lat", "纬度"),
    ("address", "地址"),
    ("reporter_name", "上报人"),
    ("reporter_phone", "联系电话"),
)
ZH: Mapping[str, str] = dict(COLUMNS)
#: Personal columns (masked by the API for roles that may not see them).
PERSONAL = ("reporter_name", "reporter_phone")
#: More names a file may give a column (besides both names of :data:`COLUMNS`).
ALIASES: Mapping[str, tuple[str, ...]] = {
    "code": ("事件编号", "event_code", "id"),
    "category_group": ("事件大类", "category_group_name"),
    "category": ("事件小类", "类别", "category_name", "service_code"),
    "description": ("事件描述", "问题描述", "内容"),
    "department": ("部门", "department_name", "agency_responsible"),
    "status": ("事件状态", "status_zh"),
    "reported_at": ("上报日期", "requested_datetime", "时间"),
    "closed_at": ("结案日期", "办结时间"),
    "due_at": ("截止日期",),
    "lon": ("longitude", "long", "x", "经度（wgs84）"),
    "lat": ("latitude", "y", "纬度（wgs84）"),
    "address": ("详细地址", "位置"),
    "reporter_name": ("上报人姓名", "姓名"),
    "reporter_phone": ("电话", "手机", "phone"),
}
#: Columns an import needs.
REQUIRED = ("category", "description", "reported_at", "lon", "lat")
#: The step that leads to each status (for an imported event's timeline).
STEP_TO: Mapping[str, str] = {
    "filed": "file",
    "cancelled": "cancel",
    "dispatched": "dispatch",
    "accepted": "accept",
    "handled": "handle",
    "fed_back": "feedback",
    "verified": "verify",
    "closed": "close",
}
IMPORT_NOTE = "历史数据导入"
MAX_PROBLEMS = 50
MAX_ROWS = 500_000
_STATUS_OF: Mapping[str, str] = {
    **{s: s for s in ev.STATUS_ZH},
    **{zh: s for s, zh in ev.STATUS_ZH.items()},
    "已办结": "closed",
    "结案": "closed",
    "已取消": "cancelled",
}
_TRUE_FALSE = {True: ("是", True), False: ("否", False)}


# --- export -------------------------------------------------------------------------------------


def export_rows(
    session: Session,
    *,
    community_id: int,
    grid_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Return the community's events as ledger rows (oldest first), reporters as stored.

    Every name as well as every code is returned (``*_name``); :func:`ledger` picks.
    """
    params: dict[str, Any] = {"cid": community_id, "now": now}
    cond = ["e.community_id = :cid"]
    if grid_id is not None:
        cond.append("e.grid_id = :gid")
        params["gid"] = grid_id
    if since is not None:
        cond.append("e.reported_at >= :since")
        params["since"] = since
    if until is not None:
        cond.append("e.reported_at < :until")
        params["until"] = until
    rows = session.execute(
        text(
            f"""
            SELECT e.code, p.code AS category_group, p.name AS category_group_name,
                   c.code AS category, c.name AS category_name, e.description,
                   m.code AS community, g.code AS grid, k.code AS compound,
                   b.code AS building, d.code AS department, d.name AS department_name,
                   e.status, e.reported_at, e.closed_at, e.due_at,
                   (e.status NOT IN ('cancelled', 'closed') AND e.due_at < :now) AS overdue,
                   extract(epoch FROM coalesce(e.closed_at, CAST(:now AS timestamptz))
                           - e.reported_at) / 3600.0 AS hours,
                   ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.address,
                   e.reporter_name, e.reporter_phone
            FROM events e
            JOIN communities m ON m.id = e.community_id
            JOIN event_categories c ON c.id = e.category_id
            LEFT JOIN event_categories p ON p.id = c.parent_id
            LEFT JOIN grids g ON g.id = e.grid_id
            LEFT JOIN compounds k ON k.id = e.compound_id
            LEFT JOIN buildings b ON b.id = e.building_id
            LEFT JOIN departments d ON d.id = e.department_id
            WHERE {" AND ".join(cond)}
            ORDER BY e.reported_at, e.id
            """
        ),
        params,
    ).mappings()
    return [dict(r) for r in rows]


def ledger(rows: Sequence[Mapping[str, Any]], *, headers: Headers = "zh") -> pd.DataFrame:
    """Return the rows as the ledger table (module doc): for people (zh) or scripts (en)."""
    out: dict[str, list[Any]] = {name: [] for name, _ in COLUMNS}
    for r in rows:
        for name, _ in COLUMNS:
            out[name].append(_cell(r, name, headers))
    frame = pd.DataFrame(out, columns=[name for name, _ in COLUMNS])
    if headers == "zh":
        frame = frame.rename(columns=ZH)
    return frame


def _cell(r: Mapping[str, Any], name: str, headers: Headers) -> Any:
    value = r.get(name)
    zh = headers == "zh"
    if name in ("category_group", "category", "department"):
        value = r.get(f"{name}_name") if zh else value
    elif name == "status":
        value = ev.STATUS_ZH[str(value)] if zh else value
    elif name == "overdue":
        value = _TRUE_FALSE[bool(value)][0 if zh else 1]
    elif value is not None and name in ("hours", "lon", "lat"):
        value = round(float(value), 1 if name == "hours" else 7)
    elif isinstance(value, datetime):
        local = value.astimezone(CHINA)
        # People read China's wall clock (Excel takes no time zones); scripts get the offset.
        value = local.replace(tzinfo=None) if zh else local.isoformat()
    return value


def write_ledger(frame: pd.DataFrame, path: Path, *, title: str | None = None) -> None:
    """Write the ledger as CSV (UTF-8 with BOM, for Excel) or Excel (under ``title``)."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d %H:%M:%S")
        return
    if suffix != ".xlsx":
        msg = f"不支持的导出格式：“{path.name}”（可选 .csv、.xlsx）"
        raise BadFile(msg, loc=("file",))
    start = 0 if title is None else 2
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, startrow=start, sheet_name="事件台账")
        sheet = writer.sheets["事件台账"]
        if title is not None:
            sheet.cell(row=1, column=1, value=title)
        for i, column in enumerate(frame.columns, start=1):
            letter = sheet.cell(row=start + 1, column=i).column_letter
            wide = 40 if column in ("描述", "description") else 2 * len(str(column))
            sheet.column_dimensions[letter].width = max(10, min(40, wide))
            if column in ("上报时间", "结案时间", "截止时间"):
                sheet.column_dimensions[letter].width = 18
                for (cell,) in sheet.iter_rows(
                    min_row=start + 2, min_col=i, max_col=i, max_row=start + 1 + len(frame)
                ):
                    cell.number_format = "yyyy-mm-dd hh:mm"


def title_of(community: str, name: str | None, *, day: datetime | None = None) -> str:
    """Return the Excel title row: the community and the day of the export (China's)."""
    when = (day or datetime.now(UTC)).astimezone(CHINA)
    who = f"{name}（{community}）" if name else community
    return f"事件台账：{who}，导出于 {when:%Y年%m月%d日}"


# --- import -------------------------------------------------------------------------------------


@dataclass
class EventImport:
    """What an import did: rows read and added, by status, and how long it took."""

    rows: int = 0
    added: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class _Table:
    frame: pd.DataFrame  # every cell as read (str, number, datetime or None)
    first_row: int  # the sheet row of the first data row (for Excel's messages)
    excel: bool


def read_events_file(path: Path) -> _Table:
    """Read a CSV (UTF-8, GBK) or Excel file of events; raise :class:`BadFile` if unreadable."""
    if not path.is_file():
        msg = f"文件不存在：{path}"
        raise BadFile(msg, loc=("file",))
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        msg = f"文件“{path.name}”是空的（0 字节）"
        raise BadFile(msg, loc=("file",))
    if suffix == ".csv":
        return _Table(_read_csv(path), 2, excel=False)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path)
    msg = f"不支持的文件格式：“{path.name}”（事件导入支持 .csv、.xlsx）"
    raise BadFile(msg, loc=("file",))


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        msg = f"文件“{path.name}”的文字编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV"
        raise BadFile(msg, loc=("file",))
    try:
        frame = pd.read_csv(
            io.StringIO(content), dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except (ValueError, pd.errors.ParserError) as exc:
        msg = f"无法读取文件“{path.name}”：CSV 格式有误（{str(exc)[:120]}）"
        raise BadFile(msg, loc=("file",)) from exc
    return frame.replace({"": None})


def _read_excel(path: Path) -> _Table:
    """Read the first sheet; its header row is the first of the top ten naming known columns."""
    try:
        raw = pd.read_excel(path, header=None, dtype=object, sheet_name=0, engine="openpyxl")
    except (ValueError, OSError, KeyError, TypeError) as exc:
        msg = f"无法读取文件“{path.name}”：不是有效的 Excel（.xlsx）文件（{str(exc)[:120]}）"
        raise BadFile(msg, loc=("file",)) from exc
    known = _known_names()
    for i in range(min(10, len(raw))):
        names = [_norm(v) for v in raw.iloc[i].tolist() if v is not None and str(v) != "nan"]
        if sum(n in known for n in names) >= 2:
            header = [
                str(v).strip() if _filled(v) else f"列{j + 1}" for j, v in enumerate(raw.iloc[i])
            ]
            frame = raw.iloc[i + 1 :].reset_index(drop=True)
            frame.columns = header
            frame = frame.astype(object).where(frame.notna(), None)
            blank = frame.apply(lambda row: all(not _filled(v) for v in row), axis=1)
            return _Table(frame[~blank].reset_index(drop=True), i + 2, excel=True)
    msg = f"文件“{path.name}”的前 10 行中没有找到表头（应有 小类、描述、上报时间、经度、纬度 等列）"
    raise BadFile(msg, loc=("file", "columns"))


def _norm(name: object) -> str:
    return re.sub(r"\s+", "", str(name)).lower()


def _known_names() -> dict[str, str]:
    """Every accepted column name (normalised) -> the column it names."""
    out: dict[str, str] = {}
    for name, zh in COLUMNS:
        for alias in (name, zh, *ALIASES.get(name, ())):
            out[_norm(alias)] = name
    return out


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return str(value).strip() != ""


def import_events(
    session: Session,
    path: Path,
    *,
    community: str,
    user: str,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> EventImport:
    """Import the past events of ``path`` into ``community`` (module doc); all or nothing."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    table = read_events_file(path)
    frame = table.frame
    if len(frame) == 0:
        msg = f"文件“{path.name}”中没有任何事件（只有表头）"
        raise BadFile(msg, loc=("file",))
    if len(frame) > MAX_ROWS:
        msg = f"文件“{path.name}”有 {len(frame):,} 行，一次最多导入 {MAX_ROWS:,} 行：请分批导入"
        raise BadFile(msg, loc=("file",))
    columns, ignored = _columns(frame, path)
    if progress:
        progress("read", len(frame), len(frame))
    db.act_as(session, user, "import")  # the only channel that may insert a closed event
    cid = _community(session, community)
    rows, problems = _validate(
        session, table, columns, cid=cid, community=community, now=now, progress=progress
    )
    if problems:
        raise ImportRowError(problems[:MAX_PROBLEMS], total=len(problems))
    _write(session, rows, user=user, progress=progress)
    report = EventImport(rows=len(frame), added=len(rows), ignored_columns=ignored)
    for r in rows:
        report.by_status[r["status"]] = report.by_status.get(r["status"], 0) + 1
    report.seconds = time.perf_counter() - started
    return report


def _columns(frame: pd.DataFrame, path: Path) -> tuple[dict[str, str], list[str]]:
    """Map the file's columns to ours; refuse a file missing a required one."""
    known = _known_names()
    found: dict[str, str] = {}
    ignored = []
    for col in frame.columns:
        name = known.get(_norm(col))
        if name is None or name in found:
            ignored.append(str(col))
        else:
            found[name] = str(col)
    missing = [ZH[c] for c in REQUIRED if c not in found]
    if missing:
        msg = (
            f"文件“{path.name}”缺少必需的列：{'、'.join(missing)}"
            f"（表头可用中文或英文，如 {'、'.join(f'{ZH[c]}/{c}' for c in REQUIRED)}）"
        )
        raise BadFile(msg, loc=("file", "columns"))
    return found, ignored


def _community(session: Session, code: str) -> int:
    found = session.execute(
        text("SELECT id FROM communities WHERE code = :c"), {"c": code}
    ).scalar_one_or_none()
    if found is None:
        msg = f"社区编号“{code}”不存在"
        raise BadFile(msg, loc=("community",))
    return int(found)


@dataclass
class _Lookups:
    categories: dict[str, dict[str, Any]]  # by code
    by_name: dict[str, list[dict[str, Any]]]  # subclasses by name
    departments: dict[str, int]  # by code and by name
    taken: set[str]  # event codes already stored


def _lookups(session: Session) -> _Lookups:
    cats = session.execute(
        text(
            "SELECT c.id, c.code, c.name, c.department_id, c.handle_hours, c.active, "
            "c.parent_id, p.code AS group_code, p.name AS group_name "
            "FROM event_categories c LEFT JOIN event_categories p ON p.id = c.parent_id"
        )
    ).mappings()
    by_code: dict[str, dict[str, Any]] = {}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for c in cats:
        item = dict(c)
        by_code[item["code"]] = item
        if item["parent_id"] is not None:
            by_name.setdefault(item["name"], []).append(item)
    departments: dict[str, int] = {}
    for d in session.execute(text("SELECT id, code, name FROM departments")):
        departments[d.code] = int(d.id)
        departments.setdefault(d.name, int(d.id))
    return _Lookups(by_code, by_name, departments, set())


def _validate(
    session: Session,
    table: _Table,
    columns: Mapping[str, str],
    *,
    cid: int,
    community: str,
    now: datetime,
    progress: Progress | None,
) -> tuple[list[dict[str, Any]], list[tuple[Loc, str, str]]]:
    """Check and place every row; return the rows to write, or every problem found."""
    look = _lookups(session)
    frame = table.frame
    codes = (
        [str(v).strip() for v in frame[columns["code"]] if _filled(v)] if "code" in columns else []
    )
    if codes:
        look.taken = set(
            session.execute(
                text("SELECT code FROM events WHERE code = ANY(:c)"), {"c": codes}
            ).scalars()
        )
    problems: list[tuple[Loc, str, str]] = []
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    total = len(frame)
    for i, record in enumerate(frame.to_dict("records")):
        n = i + 1
        where = f"第 {n} 行" + (f"（工作表第 {table.first_row + i} 行）" if table.excel else "")
        values = {name: record.get(col) for name, col in columns.items()}
        row, row_problems = _row(session, values, look=look, cid=cid, community=community, now=now)
        code = row.get("code")
        if code and code in seen:
            row_problems.append(("code", f"编号“{code}”与第 {seen[code]} 行重复"))
        elif code:
            seen[code] = n
        for column, message in row_problems:
            header = columns.get(column, ZH.get(column, column))
            problems.append((("file", "row", n, header), f"{where}：{message}", "invalid_row"))
        if not row_problems:
            out.append(row)
        if progress and (n % 200 == 0 or n == total):
            progress("validate", n, total)
        if len(problems) >= MAX_PROBLEMS * 4:  # enough to fix in one pass
            break
    return out, problems


def _row(
    session: Session,
    v: Mapping[str, Any],
    *,
    look: _Lookups,
    cid: int,
    community: str,
    now: datetime,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Check and place one row; return it and its problems as (column, message)."""
    problems: list[tuple[str, str]] = []

    def bad(column: str, message: str) -> None:
        problems.append((column, message))

    row: dict[str, Any] = {"code": _code(v, look, bad)}
    cat = _category(v, look, bad)
    description = _text(v.get("description"))
    if description is None:
        bad("description", "描述不能为空")
    elif len(description) > 2000:
        bad("description", f"描述最多 2000 个字，实际 {len(description)} 个")
    status, reported, closed, due = _times(v, now, bad)
    department = _department(v.get("department"), look, cat, bad)
    place = _point(session, v, cid, community, bad)
    row.update(_texts(v, bad))
    if problems or cat is None or status is None or reported is None or place is None:
        return row, problems
    if due is None and status not in ev.FINAL:
        hours = cat["handle_hours"] if status == "accepted" else ev.STEP_HOURS.get(status)
        due = None if hours is None else reported + timedelta(hours=float(hours))
    final = status in ev.FINAL
    row.update(place)
    row.update(
        {
            "category_id": cat["id"],
            "department_id": department,
            "description": description,
            "status": status,
            "reported_at": reported,
            "status_at": closed if final else reported,
            "due_at": None if final else due,
            "closed_at": closed if final else None,
        }
    )
    return row, problems


def _code(v: Mapping[str, Any], look: _Lookups, bad: Any) -> str | None:
    code = _text(v.get("code"))
    if code is None:
        return None
    if len(code) > 32 or not re.fullmatch(r"[A-Za-z0-9_.-]+", code):
        bad("code", f"编号“{code}”应为不超过 32 位的字母、数字、_.-")
    elif code in look.taken:
        bad("code", f"编号“{code}”的事件已存在（是否重复导入了同一文件？）")
    return code


def _times(
    v: Mapping[str, Any], now: datetime, bad: Any
) -> tuple[str | None, datetime | None, datetime | None, datetime | None]:
    """Return the status and the report, close and due times, checked against each other."""
    status = _status(v.get("status"), bad)
    reported = _when(v.get("reported_at"), "reported_at", bad, required=True)
    closed = _when(v.get("closed_at"), "closed_at", bad)
    due = _when(v.get("due_at"), "due_at", bad)
    if status is None and not _filled(v.get("status")):
        status = "closed" if closed is not None else "reported"
    if reported is not None and reported > now:
        bad("reported_at", f"上报时间 {_show(reported)} 晚于现在")
    if status in ev.FINAL:
        if closed is None:
            bad("closed_at", f"状态为“{ev.STATUS_ZH[status]}”的事件须填写结案时间")
        elif reported is not None and closed < reported:
            bad("closed_at", f"结案时间 {_show(closed)} 早于上报时间 {_show(reported)}")
    elif status is not None and closed is not None:
        bad("closed_at", f"状态为“{ev.STATUS_ZH[status]}”的事件尚未办结，不应有结案时间")
    return status, reported, closed, due


def _texts(v: Mapping[str, Any], bad: Any) -> dict[str, str | None]:
    out = {}
    for column, longest in {"address": 500, "reporter_name": 64, "reporter_phone": 32}.items():
        value = _text(v.get(column))
        if value is not None and len(value) > longest:
            bad(column, f"{ZH[column]}最多 {longest} 个字符，实际 {len(value)} 个")
        out[column] = value
    return out


def _text(value: Any) -> str | None:
    if not _filled(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _category(v: Mapping[str, Any], look: _Lookups, bad: Any) -> dict[str, Any] | None:
    given = _text(v.get("category"))
    group = _text(v.get("category_group"))
    if given is None:
        bad("category", "小类不能为空")
        return None
    found = look.categories.get(given)
    if found is None:
        named = look.by_name.get(given, [])
        if group is not None:
            named = [c for c in named if group in (c["group_code"], c["group_name"])]
        if len(named) > 1:
            bad("category", f"小类“{given}”不止一个大类下有，请填写大类或小类编号")
            return None
        found = named[0] if named else None
    if found is None:
        bad("category", f"事件类别“{given}”不存在（类别见 /api/event-categories）")
        return None
    if found["parent_id"] is None:
        bad("category", f"“{found['name']}”是大类，请填写其下的小类")
        return None
    if group is not None and group not in (found["group_code"], found["group_name"]):
        bad("category_group", f"小类“{found['name']}”属于“{found['group_name']}”，不是“{group}”")
        return None
    return found


def _status(value: Any, bad: Any) -> str | None:
    given = _text(value)
    if given is None:
        return None
    status = _STATUS_OF.get(given) or _STATUS_OF.get(given.lower())
    if status is None:
        choices = "、".join(ev.STATUS_ZH.values())
        bad("status", f"状态“{given}”无法识别，可选：{choices}（或英文 {', '.join(ev.STATUS_ZH)}）")
    return status


_DATE_FORMS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d")


def _when(value: Any, column: str, bad: Any, *, required: bool = False) -> datetime | None:
    """Parse a time: ISO 8601 with an offset, or China's wall clock (text or an Excel date)."""
    if not _filled(value):
        if required:
            bad(column, f"{ZH[column]}不能为空")
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CHINA)
    words = str(value).strip().replace("/", "-").replace("T", " ")
    words = re.sub(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3", words)
    words = re.sub(r"-(\d)(?=\D|$)", r"-0\1", words)
    try:
        found = datetime.fromisoformat(words)
    except ValueError:
        found = None
        for form in _DATE_FORMS:
            try:
                found = datetime.strptime(words, form)  # China's wall clock
                break
            except ValueError:
                continue
    if found is None:
        bad(column, f"{ZH[column]}“{value}”无法识别，应写成 2024-05-01 09:30 这样")
        return None
    return found if found.tzinfo else found.replace(tzinfo=CHINA)


def _show(when: datetime) -> str:
    return f"{when.astimezone(CHINA):%Y-%m-%d %H:%M}"


def _department(value: Any, look: _Lookups, cat: dict[str, Any] | None, bad: Any) -> int | None:
    given = _text(value)
    if given is None or given == NO_DEPARTMENT:
        return None if cat is None else cat["department_id"]
    found = look.departments.get(given)
    if found is None:
        bad("department", f"承办部门“{given}”不存在（部门见 /api/event-categories）")
    return found


def _point(
    session: Session, v: Mapping[str, Any], cid: int, community: str, bad: Any
) -> dict[str, Any] | None:
    """Return the row's place from its point (and building), which must lie in ``community``."""
    coords = []
    for column, bound in (("lon", 180.0), ("lat", 90.0)):
        raw = v.get(column)
        try:
            number = float(str(raw).strip()) if _filled(raw) else math.nan
        except ValueError:
            number = math.nan
        if math.isnan(number):
            shown = raw if _filled(raw) else ""
            bad(column, f"{ZH[column]}应为数字（WGS84 经纬度），实际为“{shown}”")
            return None
        if abs(number) > bound:
            bad(column, f"{ZH[column]} {number:g} 超出范围（经纬度是否颠倒？）")
            return None
        coords.append(number)
    lon, lat = coords
    building = _text(v.get("building"))
    try:
        place = ev.place_of(session, lon, lat, building)
    except ev.EventError as exc:
        column = "building" if exc.loc[-1:] == ("building",) else "lon"
        bad(column, exc.msg)
        return None
    if place["community_id"] != cid:
        other = session.execute(
            text("SELECT code FROM communities WHERE id = :i"), {"i": place["community_id"]}
        ).scalar_one()
        bad("lon", f"位置 ({lon:.6f}, {lat:.6f}) 在社区“{other}”，不在社区“{community}”内")
        return None
    given = _text(v.get("community"))
    if given is not None and given != community:
        bad("community", f"社区一列为“{given}”，与导入的社区“{community}”不符")
        return None
    return {**place, "lon": lon, "lat": lat}


_EVENT_COLUMNS = (
    "id",
    "code",
    "community_id",
    "grid_id",
    "compound_id",
    "building_id",
    "category_id",
    "department_id",
    "officer",
    "description",
    "address",
    "reporter",
    "reporter_name",
    "reporter_phone",
    "source",
    "status",
    "reported_at",
    "status_at",
    "due_at",
    "closed_at",
    "geom",
)
_STEP_COLUMNS = (
    "event_id",
    "action",
    "from_status",
    "to_status",
    "by_user",
    "by_role",
    "department_id",
    "note",
    "at",
)


def _write(
    session: Session, rows: list[dict[str, Any]], *, user: str, progress: Progress | None
) -> None:
    """COPY the events and their two-step timelines, in the session's transaction."""
    ids = list(
        session.execute(
            text("SELECT nextval('events_id_seq') FROM generate_series(1, :n)"), {"n": len(rows)}
        ).scalars()
    )
    events, steps = [], []
    for eid, r in zip(ids, rows, strict=True):
        day = r["reported_at"].astimezone(CHINA)
        code = r.get("code") or f"SJ{day:%Y%m%d}{eid:06d}"
        events.append(
            (
                eid,
                code,
                r["community_id"],
                r["grid_id"],
                r["compound_id"],
                r["building_id"],
                r["category_id"],
                r["department_id"],
                r["officer"],
                r["description"],
                r["address"],
                user,
                r["reporter_name"],
                r["reporter_phone"],
                "import",
                r["status"],
                r["reported_at"],
                r["status_at"],
                r["due_at"],
                r["closed_at"],
                f"SRID=4326;POINT({r['lon']!r} {r['lat']!r})",
            )
        )
        steps.append(
            (eid, "report", None, "reported", user, "admin", None, IMPORT_NOTE, r["reported_at"])
        )
        if r["status"] != "reported":
            steps.append(
                (
                    eid,
                    STEP_TO[r["status"]],
                    None,
                    r["status"],
                    user,
                    "admin",
                    r["department_id"],
                    IMPORT_NOTE,
                    r["status_at"],
                )
            )
    copy_rows(session, "events", _EVENT_COLUMNS, events, progress=progress)
    copy_rows(session, "event_steps", _STEP_COLUMNS, steps)
