"""Import a layer file into the store: map columns, convert coordinates, validate, upsert.

An import is all or nothing: every row is checked first (geometry valid and of the right kind,
coordinates in range and not swapped, inside the community, values in range), every problem
is collected, and only a clean file is written, in the caller's transaction. Rows keep the
``code`` they came with, so importing the same file again updates in place.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely
from pyproj import CRS, Geod

from layers import crs as crsmod
from layers.domain import china_today
from layers.errors import (
    BadFile,
    ConstraintViolation,
    CrsMismatch,
    ImportRowError,
    Loc,
    NotFound,
)
from layers.io.files import read_table
from layers.models import MODELS, Community
from layers.queries import copy_rows, refresh_assignments
from layers.reports import ImportReport, Progress
from layers.schema import (
    COMMUNITY_ALIASES,
    EARLIEST_DATE,
    FALSE_WORDS,
    LAYERS,
    TRUE_WORDS,
    Field,
    Layer,
)
from layers.walkways import rebuild_networks

MAX_PROBLEMS = 50
# Coordinates that moved less than ~5 cm (5e-7 degrees) are the same place: files round
# coordinates (7 decimals is ~1 cm) and CRS round trips wobble; such a row counts as
# unchanged and keeps its stored geometry.
_GEOM_CHANGED = (
    "(NOT ST_Equals(t.geom, excluded.geom) AND ST_HausdorffDistance(t.geom, excluded.geom) > 5e-7)"
)
_GEOM_TYPES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "point": {"Point"},
    "line": {"LineString", "MultiLineString"},
}
_GEOM_ZH = {"polygon": "面（Polygon）", "point": "点（Point）", "line": "线（LineString）"}
_REASONS_ZH = (
    ("Ring Self-intersection", "环自相交"),
    ("Self-intersection", "自相交"),
    ("Too few points", "点数过少"),
    ("Hole lies outside shell", "内环在外环之外"),
    ("Nested holes", "内环嵌套"),
    ("Interior is disconnected", "内部不连通"),
    ("Nested shells", "外环嵌套"),
    ("Duplicate Rings", "环重复"),
    ("Invalid Coordinate", "坐标无效"),
)


@dataclass(frozen=True)
class Options:
    """How to read a file: its CRS, the community it belongs to, a column mapping."""

    crs: str | None = None
    community: str | None = None
    mapping: Mapping[str, str] | None = None
    boundary_tolerance_m: float = 20.0
    gate_tolerance_m: float = 15.0


def load_mapping(path: Path) -> dict[str, str]:
    """Read a column mapping file: JSON ``{"file column": "field"}``, or CSV with two columns."""
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", header=None)
            return {str(k).strip(): str(v).strip() for k, v in frame.iloc[:, :2].to_numpy()}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, IndexError) as exc:
        msg = f"无法读取列映射文件 {path}：{exc}"
        raise BadFile(msg, loc=("mapping",)) from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        msg = f'列映射文件 {path} 应为 JSON 对象：{{"文件列名": "字段名"}}'
        raise BadFile(msg, loc=("mapping",))
    return {str(k).strip(): v.strip() for k, v in data.items()}


def import_file(
    session: Session,
    layer: str,
    path: Path,
    *,
    options: Options | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the features of ``path`` into ``layer``, in ``session``'s transaction.

    Raises a :class:`~layers.errors.GridmapError` and writes nothing when any row is bad.
    """
    started = time.perf_counter()
    table = read_table(path)
    if len(table.frame) == 0:
        msg = f"文件“{path.name}”中没有任何要素（只有表头，或是空图层）：请检查是否选错了文件"
        raise BadFile(msg, loc=("file",))
    if progress:
        progress("read", len(table.frame), len(table.frame))
    try:
        report = import_frame(
            session,
            layer,
            table.frame,
            declared_crs=table.declared_crs,
            options=options or Options(),
            progress=progress,
        )
    except BadFile as exc:
        # Problems of the file as a whole (a missing column): say which file it is.
        if path.name in exc.msg or exc.loc[:1] != ("file",):
            raise
        msg = f"文件“{path.name}”{exc.msg}"
        raise type(exc)(msg, loc=exc.loc) from exc
    report.seconds = time.perf_counter() - started
    return report


def import_frame(
    session: Session,
    layer: str,
    frame: gpd.GeoDataFrame,
    *,
    declared_crs: CRS | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate and upsert the features of ``frame`` (raw columns) into ``layer``."""
    started = time.perf_counter()
    options = options or Options()
    spec = LAYERS.get(layer)
    if spec is None:
        msg = f"未知图层：{layer}（可选：{'、'.join(LAYERS)}）"
        raise NotFound(msg, loc=("layer",))
    if len(frame) == 0:
        msg = "文件中没有任何要素"
        raise BadFile(msg, loc=("file",))
    crs_spec = _resolve_crs(options.crs, declared_crs)
    columns, ignored = _map_columns(frame, spec, options.mapping)
    report = ImportReport(layer=layer, rows=len(frame), ignored_columns=ignored)
    report.crs = crs_spec.label

    problems: list[tuple[Loc, str, str]] = []
    geoms = _check_geometry(frame, spec, crs_spec, problems)
    values = _convert_values(frame, spec, columns, problems)
    codes = values.pop("code")
    community_ids = _resolve_communities(session, spec, frame, columns, options, problems=problems)
    if not problems:
        _check_offset(
            session,
            spec,
            geoms,
            codes=codes,
            community_ids=community_ids,
            crs_spec=crs_spec,
            problems=problems,
        )
    if not problems and spec.community_scoped:
        _check_inside(session, geoms, community_ids, options.boundary_tolerance_m, problems)
    if not problems and layer == "gates" and "compound" in values:
        values["compound_id"] = _resolve_compounds(
            session, values.pop("compound"), community_ids, problems
        )
    if problems:
        raise ImportRowError(problems[:MAX_PROBLEMS], total=len(problems))
    if progress:
        progress("validate", len(frame), len(frame))

    # object dtype: an int column with gaps must stay ints and None, not become floats.
    rows = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in values.items()})
    rows.insert(0, "code", codes)
    if spec.community_scoped:
        rows.insert(1, "community_id", community_ids)
    if layer == "communities" and "street" in rows:
        rows["street_id"] = _street_ids(session, rows.pop("street"))
    rows["geom"] = shapely.to_wkb(geoms, hex=True, include_srid=False)
    added, updated = _upsert(session, spec, rows, progress=progress)
    report.added, report.updated = added, updated
    report.unchanged = len(frame) - added - updated
    report.codes = [str(c) for c in codes]
    touched = sorted({int(c) for c in community_ids}) if spec.community_scoped else []
    if layer == "communities":
        touched = _community_ids_of(session, codes)
    refresh_assignments(session, touched, layer=layer)
    if layer in {"gates", "compounds", "barriers"}:
        rebuild_networks(session, touched, gate_tolerance_m=options.gate_tolerance_m)
    report.seconds = time.perf_counter() - started
    return report


def _rebuild_networks(session: Session, community_ids: list[int], gate_tolerance_m: float) -> None:
    """Walls and gates shape the walking network: rebuild it where one exists."""
    with_ways = (
        session.execute(
            text("SELECT DISTINCT community_id FROM walk_ways WHERE community_id = ANY(:ids)"),
            {"ids": community_ids},
        )
        .scalars()
        .all()
    )
    if with_ways:
        from layers.walkways import rebuild_network

        for cid in with_ways:
            rebuild_network(session, cid, gate_tolerance_m=gate_tolerance_m)


# --- columns ----------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", str(name)).lower()


def _map_columns(
    frame: gpd.GeoDataFrame, spec: Layer, mapping: Mapping[str, str] | None
) -> tuple[dict[str, str], list[str]]:
    """Return ``{field: file column}`` for the fields found and the file columns ignored."""
    lookup: dict[str, str] = {}
    for alias in COMMUNITY_ALIASES:
        lookup[_norm(alias)] = "community"
    for alias in spec.code_aliases:  # "社区编号" is the id of a community, not its parent
        lookup[_norm(alias)] = "code"
    for f in spec.fields:
        for alias in (f.name, f.zh, *f.aliases, f.name[:10]):
            lookup.setdefault(_norm(alias), f.name)
    known = {f.name for f in spec.fields} | {"code", "community"}
    user = {_norm(k): v for k, v in (mapping or {}).items()}
    for wanted in user.values():
        if wanted not in known:
            choices = "、".join(sorted(known))
            msg = f"列映射中的字段“{wanted}”不是图层 {spec.name} 的字段（可选：{choices}）"
            raise BadFile(msg, loc=("mapping", wanted))
    found: dict[str, str] = {}
    ignored: list[str] = []
    for col in frame.columns:
        if col == frame.geometry.name:
            continue
        target: str | None = user.get(_norm(col)) or lookup.get(_norm(col))
        if target is None or target in found:
            ignored.append(str(col))
        else:
            found[target] = str(col)
    if "code" not in found:
        msg = (
            f"缺少编号列：每个要素需要一个编号（列名 {' / '.join(spec.code_aliases[:4])}），"
            "再次导入时据此更新而不是重复添加"
        )
        raise BadFile(msg, loc=("file", "columns", "编号"))
    missing = [f for f in spec.fields if f.required and f.name not in found]
    if missing:
        names = "、".join(f"{f.zh}（{f.name}）" for f in missing)
        msg = f"缺少必填列：{names}"
        raise BadFile(msg, loc=("file", "columns", missing[0].zh))
    return found, ignored


# --- coordinates and geometry -----------------------------------------------------------------


def _resolve_crs(given: str | None, declared: CRS | None) -> crsmod.CrsSpec:
    """Decide the CRS of the file's coordinates; refuse a --crs that contradicts the file."""
    if given is None:
        if declared is None:
            return crsmod.parse_crs(None)
        epsg = declared.to_epsg()
        if epsg is None:
            msg = f"文件的坐标系无法识别为 EPSG 编码：{declared.name}；请用 --crs 指定"
            raise CrsMismatch(msg, loc=("crs",))
        return crsmod.parse_crs(f"EPSG:{epsg}")
    spec = crsmod.parse_crs(given)
    if declared is None:
        return spec
    declared_epsg = declared.to_epsg()
    geographic = {4326, 4490}
    if spec.kind in ("gcj02", "bd09"):
        if declared_epsg in geographic:
            return spec
    elif declared_epsg == spec.epsg or {declared_epsg, spec.epsg} <= geographic:
        return spec
    msg = (
        f"坐标系不一致：文件声明为 {declared.name}（EPSG:{declared_epsg}），"
        f"但指定的是 {spec.label}；请去掉 --crs 或改正文件"
    )
    raise CrsMismatch(msg, loc=("crs",))


def _check_geometry(
    frame: gpd.GeoDataFrame,
    spec: Layer,
    crs_spec: crsmod.CrsSpec,
    problems: list[tuple[Loc, str, str]],
) -> np.ndarray[Any, Any]:
    """Return the geometries in WGS84, recording every bad row in ``problems``."""
    geoms = np.asarray(frame.geometry.to_numpy(), dtype=object)
    allowed = _GEOM_TYPES[spec.geom]
    ok = np.ones(len(geoms), dtype=bool)
    for i, g in enumerate(geoms):
        row = i + 1
        if g is None or g.is_empty:
            problems.append(_row(row, "geometry", "缺少几何", "missing_geometry"))
            ok[i] = False
        elif g.geom_type not in allowed:
            msg = f"几何类型应为{_GEOM_ZH[spec.geom]}，实际为 {g.geom_type}"
            problems.append(_row(row, "geometry", msg, "wrong_geometry_type"))
            ok[i] = False
    if crs_spec.is_geographic and ok.any():
        _check_lonlat(geoms, ok, problems)
    if not ok.any():
        return geoms
    series = gpd.GeoSeries(geoms[ok], crs=f"EPSG:{crs_spec.epsg}")
    converted = np.empty(len(geoms), dtype=object)
    converted[ok] = crsmod.to_wgs84(series, crs_spec).to_numpy()
    valid = shapely.is_valid(converted[ok])
    for i in np.flatnonzero(ok)[~valid]:
        reason = shapely.is_valid_reason(converted[i])
        problems.append(
            _row(i + 1, "geometry", f"几何无效：{_reason_zh(reason)}", "invalid_geometry")
        )
    if spec.geom == "polygon":
        converted[ok] = [
            shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in converted[ok]
        ]
    elif spec.geom == "line" and spec.name == "barriers":
        converted[ok] = [
            shapely.MultiLineString([g]) if g.geom_type == "LineString" else g
            for g in converted[ok]
        ]
    return converted


def _check_lonlat(
    geoms: np.ndarray[Any, Any], ok: np.ndarray[Any, Any], problems: list[tuple[Loc, str, str]]
) -> None:
    """Flag rows whose coordinates cannot be longitude/latitude, saying whether swapped."""
    for i in np.flatnonzero(ok):
        coords = shapely.get_coordinates(geoms[i])
        bad = crsmod.lonlat_problems(coords[:, 0], coords[:, 1])
        if not bad.any():
            continue
        x, y = coords[np.argmax(bad)]
        swapped = abs(y) <= 180 and abs(x) <= 90
        if swapped:
            msg = f"坐标 ({x:g}, {y:g}) 的纬度超出 ±90°：经纬度可能颠倒，应为（经度, 纬度）"
            typ = "swapped_lonlat"
        else:
            msg = (
                f"坐标 ({x:g}, {y:g}) 超出经纬度范围：可能是投影坐标，"
                "请用 --crs 指定文件的坐标系（如 EPSG:4547）"
            )
            typ = "out_of_range"
        problems.append(_row(int(i) + 1, "geometry", msg, typ))
        ok[i] = False


def _reason_zh(reason: str) -> str:
    for en, zh in _REASONS_ZH:
        if reason.startswith(en):
            where = reason[len(en) :].strip("[] ")
            return f"{zh}（位置 {where}）" if where else zh
    return reason


def _row(row: int, column: str, msg: str, typ: str) -> tuple[Loc, str, str]:
    return (("file", "row", row, column), f"第 {row} 行：{msg}", typ)


# --- attribute values -------------------------------------------------------------------------


def _convert_values(
    frame: gpd.GeoDataFrame,
    spec: Layer,
    columns: dict[str, str],
    problems: list[tuple[Loc, str, str]],
) -> dict[str, list[Any]]:
    """Convert every mapped column to its field type, recording bad values in ``problems``."""
    out: dict[str, list[Any]] = {}
    codes = [_text(v) for v in frame[columns["code"]]]
    seen: dict[str, int] = {}
    for i, code in enumerate(codes):
        if code is None:
            problems.append(_row(i + 1, columns["code"], "缺少编号", "missing_code"))
        elif NUL in code:
            problems.append(_row(i + 1, columns["code"], _NUL_MSG, "bad_value"))
        elif code in seen:
            msg = f"编号“{code}”与第 {seen[code]} 行重复"
            problems.append(_row(i + 1, columns["code"], msg, "duplicate_code"))
        else:
            seen[code] = i + 1
    out["code"] = codes
    for f in spec.fields:
        if f.name not in columns:
            continue
        col = columns[f.name]
        converted: list[Any] = []
        for i, raw in enumerate(frame[col]):
            try:
                value = _convert(raw, f)
            except ValueError as exc:
                problems.append(_row(i + 1, col, str(exc), "bad_value"))
                value = None
            converted.append(value)
        out[f.name] = converted
    _check_rules(out, columns, problems)
    return out


#: PostgreSQL text cannot hold the NUL character; a value with one is refused by row.
NUL = "\x00"
_NUL_MSG = "含有空字符（\\u0000），数据库无法保存：请删除后重试"


def _text(raw: object) -> str | None:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    value = str(raw).strip()
    return value or None


def _convert(raw: object, f: Field) -> object:
    """Convert one file value to the field's type; raise ValueError with a zh-CN message."""
    if f.type == "date" and isinstance(raw, datetime.date) and not pd.isna(raw):
        raw = raw.date().isoformat() if isinstance(raw, datetime.datetime) else raw.isoformat()
    value = _text(raw)
    if value is None:
        if f.default is not None:
            return f.default
        if f.required:
            msg = f"“{f.zh}”为必填项"
            raise ValueError(msg)
        return None
    if f.type == "str":
        if NUL in value:
            raise ValueError(_NUL_MSG)
        if f.max_length is not None and len(value) > f.max_length:
            msg = f"“{f.zh}”最多 {f.max_length} 个字，实际为 {len(value)} 个字"
            raise ValueError(msg)
        return _choice(value, f) if f.choices else value
    if f.type == "bool":
        return _boolean(value, f)
    if f.type == "date":
        return _date(value, f)
    return _bounded(value, f)


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


def _date(value: str, f: Field) -> datetime.date:
    """Parse ``2026-12-03``, ``2026/12/3``, ``2026.12.3`` or ``2026年12月3日``."""
    m = _DATE.match(value)
    try:
        if m is None:
            raise ValueError(value)
        day = datetime.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        msg = f"“{f.zh}”应为日期（如 2026-12-03），实际为“{value}”"
        raise ValueError(msg) from None
    return _day(day, value, f)


def _day(day: datetime.date, value: str, f: Field) -> datetime.date:
    today = china_today()
    if day > today:
        msg = f"“{f.zh}”不能晚于今天（{today.isoformat()}），实际为 {value}"
        raise ValueError(msg)
    if day < datetime.date.fromisoformat(EARLIEST_DATE):
        msg = f"“{f.zh}”不能早于 {EARLIEST_DATE}，实际为 {value}"
        raise ValueError(msg)
    return day


def _bounded(value: str, f: Field) -> int | float:
    """Parse a number and check it against the field's bounds and type."""
    number = _number(value, f)
    if f.min is not None and number < f.min:
        msg = f"“{f.zh}”不能小于 {f.min:g}，实际为 {value}"
        raise ValueError(msg)
    if f.max is not None and number > f.max:
        percent = f.name == "occupancy" and not value.endswith("%")
        hint = "（百分比请写作 85%）" if percent else ""
        limit = "100%" if f.name == "occupancy" and value.endswith("%") else f"{f.max:g}"
        msg = f"“{f.zh}”不能大于 {limit}，实际为 {value}{hint}"
        raise ValueError(msg)
    if f.type == "int":
        if not float(number).is_integer():
            msg = f"“{f.zh}”应为整数，实际为 {value}"
            raise ValueError(msg)
        return int(number)
    return float(number)


def _boolean(value: str, f: Field) -> bool:
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    msg = f"“{f.zh}”应为 是/否，实际为“{value}”"
    raise ValueError(msg)


def _number(value: str, f: Field) -> float:
    percent = value.endswith("%")
    try:
        number = float(value.rstrip("%").replace(",", ""))
    except ValueError:
        msg = f"“{f.zh}”应为数字，实际为“{value}”"
        raise ValueError(msg) from None
    if math.isnan(number) or math.isinf(number):
        msg = f"“{f.zh}”应为数字，实际为“{value}”"
        raise ValueError(msg)
    return number / 100 if percent else number


def _choice(value: str, f: Field) -> str:
    assert f.choices is not None
    for code, label in f.choices.items():
        if value.lower() == code or value == label or (len(value) >= 2 and value in label):
            return code
    allowed = "、".join(f"{label}（{code}）" for code, label in f.choices.items())
    msg = f"“{f.zh}”的值“{value}”无法识别，可选：{allowed}"
    raise ValueError(msg)


def _check_rules(
    values: dict[str, list[Any]],
    columns: dict[str, str],
    problems: list[tuple[Loc, str, str]],
) -> None:
    """Cross-field rules that the database also checks (docs/domain.md, "数据的合理性")."""
    rules = [
        ("party_members", "residents", "党员数不能多于常住人口"),
        ("mobile_party_members", "party_members", "流动党员数不能多于党员数"),
        ("floating_residents", "residents", "流动人口不能多于常住人口"),
    ]
    # Not rules: households <= residents (户数 counts flats and 入住率 the share occupied, so a
    # half-empty estate rightly has fewer residents than households), and registered <=
    # residents (people registered here often live elsewhere: 人户分离).
    for small, big, msg in rules:
        if small not in values or big not in values:
            continue
        for i, (a, b) in enumerate(zip(values[small], values[big], strict=True)):
            if a is not None and b is not None and a > b:
                detail = f"{msg}（{a} > {b}）"
                problems.append(_row(i + 1, columns[small], detail, "rule_violation"))


# --- community, compounds and streets ---------------------------------------------------------


def _resolve_communities(
    session: Session,
    spec: Layer,
    frame: gpd.GeoDataFrame,
    columns: dict[str, str],
    options: Options,
    *,
    problems: list[tuple[Loc, str, str]],
) -> np.ndarray[Any, Any]:
    """Return the community id of every row (empty for unscoped layers)."""
    if not spec.community_scoped:
        return np.array([], dtype=np.int64)
    known = dict(session.execute(select(Community.code, Community.id)).all())
    if options.community is not None:
        if options.community not in known:
            msg = f"社区编号“{options.community}”不存在：请先导入社区（gridmap import communities）"
            raise NotFound(msg, loc=("community",))
        return np.full(len(frame), known[options.community], dtype=np.int64)
    if "community" in columns:
        ids = np.zeros(len(frame), dtype=np.int64)
        for i, raw in enumerate(frame[columns["community"]]):
            code = _text(raw)
            if code not in known:
                msg = f"社区编号“{code}”不存在"
                problems.append(_row(i + 1, columns["community"], msg, "unknown_community"))
            else:
                ids[i] = known[code]
        return ids
    if len(known) == 1:
        return np.full(len(frame), next(iter(known.values())), dtype=np.int64)
    msg = (
        "请用 --community 指定要素所属的社区编号"
        if known
        else "库中还没有社区：请先导入社区（gridmap import communities）"
    )
    raise NotFound(msg, loc=("community",))


def _check_inside(
    session: Session,
    geoms: np.ndarray[Any, Any],
    community_ids: np.ndarray[Any, Any],
    tolerance_m: float,
    problems: list[tuple[Loc, str, str]],
) -> None:
    """Every feature must lie inside its community (within ``tolerance_m``), in metres."""
    ids = sorted({int(c) for c in community_ids})
    rows = session.execute(
        select(Community.id, Community.code, Community.name, Community.geom.ST_AsBinary()).where(
            Community.id.in_(ids)
        )
    ).all()
    bounds = {r[0]: (r[1], r[2], shapely.from_wkb(bytes(r[3]))) for r in rows}
    series = gpd.GeoSeries(geoms, crs="EPSG:4326")
    metric = crsmod.metric_crs(series)
    proj = series.to_crs(metric).to_numpy()
    for cid in ids:
        code, name, boundary = bounds[cid]
        area = gpd.GeoSeries([boundary], crs="EPSG:4326").to_crs(metric).iloc[0]
        zone = shapely.buffer(area, tolerance_m)
        shapely.prepare(zone)
        idx = np.flatnonzero(community_ids == cid)
        inside = shapely.covers(zone, proj[idx])
        for i in idx[~inside]:
            problems.append(_outside(i, geoms[i], code, name, boundary))


#: How close a move must be to a China offset to be that offset, and how big the offset is.
_OFFSET_MATCH_M = 5.0
_OFFSET_MIN_M = 50.0


def _check_offset(
    session: Session,
    spec: Layer,
    geoms: np.ndarray[Any, Any],
    *,
    codes: list[str | None],
    community_ids: np.ndarray[Any, Any],
    crs_spec: crsmod.CrsSpec,
    problems: list[tuple[Loc, str, str]],
) -> None:
    """Catch coordinates in the wrong Chinese system by how they move features already stored.

    Amap/Tencent (GCJ-02) and Baidu (BD-09) positions are WGS84 ones shifted by a smooth
    offset of tens to hundreds of metres, so a file in the wrong system usually still lands
    inside the community. But when it updates features we already hold, every one of them
    moves by exactly that offset: that is no survey correction, it is the coordinate system.
    """
    table = spec.table
    scoped = spec.community_scoped
    rows = session.execute(
        text(
            f"SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            f"FROM {table} WHERE code = ANY(:codes)"
            + (" AND community_id = ANY(:cids)" if scoped else "")
        ),
        {"codes": [c for c in codes if c], "cids": sorted({int(c) for c in community_ids})},
    ).all()
    if not rows:
        return
    old = {r[0]: (r[1], r[2]) for r in rows}
    index = [i for i, c in enumerate(codes) if c in old]
    old_xy = np.array([old[codes[i]] for i in index])
    new_pts = shapely.point_on_surface(geoms[index])
    new_xy = np.column_stack([shapely.get_x(new_pts), shapely.get_y(new_pts)])
    geod = Geod(ellps="WGS84")
    moved = geod.inv(old_xy[:, 0], old_xy[:, 1], new_xy[:, 0], new_xy[:, 1])[2]
    if np.median(moved) < _OFFSET_MIN_M:
        return
    # What the old positions would be in each Chinese system, and the system the file claims.
    shifted = {
        "gcj02": crsmod.wgs84_to_gcj02(old_xy[:, 0], old_xy[:, 1]),
        "bd09": crsmod.wgs84_to_bd09(old_xy[:, 0], old_xy[:, 1]),
    }
    claimed = crsmod.WGS84.label if crs_spec.kind == "epsg" else crs_spec.label
    for name, (sx, sy) in shifted.items():
        gap = geod.inv(sx, sy, new_xy[:, 0], new_xy[:, 1])[2]
        if np.mean(gap < _OFFSET_MATCH_M) > 0.8:
            hint = f"请加 --crs {name}" if crs_spec.kind == "epsg" else "请检查 --crs"
            for k, i in enumerate(index):
                msg = (
                    f"坐标按 {claimed} 读入后，与库中同编号要素相比整体偏移约 {moved[k]:.0f} 米，"
                    f"恰好是 {'GCJ-02（高德/腾讯）' if name == 'gcj02' else 'BD-09（百度）'}"
                    f"的偏移：文件坐标系可能不对，{hint}"
                )
                problems.append(_row(i + 1, "geometry", msg, "crs_offset"))
            return
    if crs_spec.kind != "epsg":
        # Declared Chinese but converted positions sit one offset *short* of the stored ones:
        # the file was WGS84 already.
        back = {
            "gcj02": crsmod.gcj02_to_wgs84(old_xy[:, 0], old_xy[:, 1]),
            "bd09": crsmod.bd09_to_wgs84(old_xy[:, 0], old_xy[:, 1]),
        }[crs_spec.kind]
        gap = geod.inv(back[0], back[1], new_xy[:, 0], new_xy[:, 1])[2]
        if np.mean(gap < _OFFSET_MATCH_M) > 0.8:
            for k, i in enumerate(index):
                msg = (
                    f"按 {crs_spec.label} 转换后，要素整体偏移约 {moved[k]:.0f} 米："
                    "文件坐标可能已是 WGS84，请去掉 --crs"
                )
                problems.append(_row(i + 1, "geometry", msg, "crs_offset"))


def _outside(i: int, geom: Any, code: str, name: str, boundary: Any) -> tuple[Loc, str, str]:
    swapped = shapely.transform(geom, lambda xy: xy[:, ::-1])
    rep = shapely.point_on_surface(geom)
    where = f"({rep.x:.6f}, {rep.y:.6f})"
    if shapely.intersects(boundary, swapped):
        msg = f"位置 {where} 不在社区“{name}”（{code}）内，经纬度可能颠倒"
        return _row(i + 1, "geometry", msg, "swapped_lonlat")
    msg = (
        f"位置 {where} 不在社区“{name}”（{code}）范围内；"
        "若坐标来自高德/腾讯或百度，请用 --crs gcj02 或 --crs bd09"
    )
    return _row(i + 1, "geometry", msg, "outside_community")


def _resolve_compounds(
    session: Session,
    codes: list[Any],
    community_ids: np.ndarray[Any, Any],
    problems: list[tuple[Loc, str, str]],
) -> list[int | None]:
    from layers.models import Compound

    known = {
        (cid, code): id_
        for id_, cid, code in session.execute(
            select(Compound.id, Compound.community_id, Compound.code)
        )
    }
    out: list[int | None] = []
    for i, (code, cid) in enumerate(zip(codes, community_ids, strict=True)):
        if code is None:
            out.append(None)
        elif (int(cid), code) in known:
            out.append(known[(int(cid), code)])
        else:
            problems.append(_row(i + 1, "compound", f"小区编号“{code}”不存在", "unknown_compound"))
            out.append(None)
    if problems:
        raise ImportRowError(problems[:MAX_PROBLEMS], total=len(problems))
    return out


def _street_ids(session: Session, codes: pd.Series[Any]) -> list[int | None]:
    from layers.models import Street

    known = dict(session.execute(select(Street.code, Street.id)).all())
    out: list[int | None] = []
    for i, code in enumerate(codes):
        if code is not None and code not in known:
            msg = f"第 {i + 1} 行：街道编号“{code}”不存在：请先导入街道（gridmap import streets）"
            raise NotFound(msg, loc=("file", "row", i + 1, "street"))
        out.append(known.get(code))
    return out


def _community_ids_of(session: Session, codes: list[str | None]) -> list[int]:
    ids = session.execute(select(Community.id).where(Community.code.in_(codes))).scalars()
    return sorted(ids)


# --- writing ----------------------------------------------------------------------------------


def _upsert(
    session: Session, spec: Layer, rows: pd.DataFrame, *, progress: Progress | None
) -> tuple[int, int]:
    """Insert new rows and update changed ones; return ``(added, updated)``."""
    model = MODELS[spec.name]
    table = model.__table__
    cols = [c for c in rows.columns if c != "geom"]
    key = ["community_id", "code"] if spec.community_scoped else ["code"]
    stage = f"_stage_{spec.table}"
    dialect = session.get_bind().dialect
    col_types = ", ".join(f"{c} {table.c[c].type.compile(dialect)}" for c in cols)
    session.execute(text(f"CREATE TEMP TABLE {stage} ({col_types}, geom geometry) ON COMMIT DROP"))
    copy_rows(session, stage, [*cols, "geom"], rows, progress=progress)
    updatable = [c for c in cols if c not in key] + ["geom"]
    geom_sql = "ST_SetSRID(s.geom, 4326)"
    sets = ", ".join(f"{c} = excluded.{c}" for c in updatable)
    # Every versioned layer: a row an import changes gets a new version, as an API edit would.
    extra = ", version = t.version + 1" if "version" in table.c else ""
    changed = " OR ".join(
        f"t.{c} IS DISTINCT FROM excluded.{c}" if c != "geom" else _GEOM_CHANGED for c in updatable
    )
    insert_cols = ", ".join([*cols, "geom"])
    select_cols = ", ".join([*(f"s.{c}" for c in cols), geom_sql])
    sql = (
        f"INSERT INTO {spec.table} AS t ({insert_cols}) SELECT {select_cols} FROM {stage} s "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}, updated_at = now(){extra} "
        f"WHERE {changed} RETURNING (xmax = 0) AS inserted"
    )
    try:
        with session.begin_nested():
            flags = session.execute(text(sql)).scalars().all()
    except IntegrityError as exc:
        diag = getattr(exc.orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None)
        msg = f"数据库拒绝了这批数据（约束 {constraint or '未知'}）：{exc.orig}"
        raise ConstraintViolation(msg, loc=("file",)) from exc
    session.execute(text(f"DROP TABLE {stage}"))
    added = sum(1 for f in flags if f)
    return added, len(flags) - added
