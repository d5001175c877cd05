"""Read and write layer files: GeoJSON, GeoPackage, zipped Shapefile and CSV (lon/lat or WKT).

A reader returns the features with their column names and the CRS the file declares (or
None), leaving column mapping, CRS conversion and validation to :mod:`layers.importing`.

Every way a file can fail to be read ends in :class:`~layers.errors.BadFile`. Its message
names the file by its own name, never by the directory it sits in (for an upload, a
temporary directory of the server), says in zh-CN what is wrong and what to do, and keeps
the reader's own (English) words at most as a short technical note at the end.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

import geopandas as gpd
import pyogrio
import pyogrio.raw
import shapely
from pyproj import CRS

from layers.errors import BadFile, Loc
from layers.schema import (
    CODE_ALIASES,
    COMMUNITY_ALIASES,
    LAT_ALIASES,
    LAYERS,
    LON_ALIASES,
    WKT_ALIASES,
)

Format = Literal["geojson", "gpkg", "shp", "csv"]

_SUFFIXES: dict[str, Format] = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shp",
    ".shp": "shp",
    ".csv": "csv",
}
_FORMAT_ZH: dict[Format, str] = {
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "shp": "Shapefile",
    "csv": "CSV",
}
_ADVICE: dict[Format, str] = {
    "geojson": "请确认文件完整、是 UTF-8 编码的 GeoJSON，或在 QGIS 等软件中重新导出后再试",
    "gpkg": "请在 QGIS 等软件中重新导出 GeoPackage 后再上传",
    "shp": "请把同名的 .shp、.shx、.dbf（及 .prj）文件一起压缩成一个 zip 后再上传",
    "csv": "请用 Excel 或 WPS 打开检查后，“另存为” CSV UTF-8（逗号分隔）再上传",
}
_SUPPORTED = ".geojson/.json、.gpkg、.zip（压缩的 Shapefile）、.csv"
#: Reader failures that mean "this file cannot be read", never a bug of ours.
_READ_ERRORS = (RuntimeError, ValueError, KeyError, TypeError, IndexError, OSError)
_TECH_MAX = 160
_ENCODING_ADVICE = "请将文件另存为 UTF-8 或 GBK 编码（Excel：“另存为”→“CSV UTF-8（逗号分隔）”）"


@dataclass(frozen=True)
class RawTable:
    """Features as read: columns, geometry (maybe None per row) and the declared CRS.

    Column names are the file's own, except that a Traditional Chinese header naming a
    known column (``編號``, ``經度``) is given its Simplified spelling (``编号``, ``经度``).
    ``encoding`` is the text encoding a CSV was read in (``utf-8``, ``gb18030``, ``big5``
    or ``utf-16``), None for the other formats.
    """

    frame: gpd.GeoDataFrame
    declared_crs: CRS | None
    format: Format
    encoding: str | None = None


def file_format(path: Path) -> Format:
    """Return the format of ``path`` from its name, or raise :class:`BadFile`."""
    name = path.name.lower()
    if name.endswith((".shp.zip", ".zip")):
        return "shp"
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        hint = ""
        if path.suffix.lower() in (".xlsx", ".xls", ".et"):
            hint = "；Excel 表格请先“另存为” CSV UTF-8（逗号分隔）再上传"
        elif path.suffix.lower() in (".shx", ".dbf", ".prj", ".cpg"):
            hint = "；Shapefile 请把 .shp、.shx、.dbf、.prj 一起压缩成 zip 上传"
        msg = f"不支持的文件格式：“{path.name}”（支持 {_SUPPORTED}）{hint}"
        raise BadFile(msg, loc=("file",)) from None


def technical(exc: BaseException, path: Path) -> str:
    """Return a reader's own message, shortened, with no directory of ``path`` in it.

    Parameters
    ----------
    exc
        What the reader (GDAL, libosmium, Python) raised.
    path
        The file it was reading: its directory (and any other absolute directory) is cut,
        leaving file names only.

    Returns
    -------
    str
        At most about 160 characters, fit to end a user's message as a technical note.
    """
    text = str(exc) or type(exc).__name__
    for where in (f"/vsizip/{path}", str(path), str(path.resolve())):
        text = text.replace(where, path.name)
    for where in {str(path.parent), str(path.resolve().parent)}:
        if where not in ("", "."):
            text = text.replace(where + "/", "").replace(where, "")
    text = re.sub(r"(?<![\w.])/(?:[^\s'\"/]+/)+", "", text)  # other absolute directories
    text = re.sub(r"[A-Za-z]:\\(?:[^\s'\"\\]+\\)+", "", text)  # ... and Windows ones
    text = re.sub(r"(?:/vsi\w+/)+", "", text)
    if text.startswith("sqlite3_") and "failed: " in text:  # GeoPackage: the SQL is noise
        text = text.split("failed: ", 1)[1]
    text = text.split("; It might help to specify the correct driver")[0]
    text = text.split(" Set SHAPE_RESTORE_SHX")[0]
    text = " ".join(text.split())
    return text if len(text) <= _TECH_MAX else text[: _TECH_MAX - 1] + "…"


def bad_file(
    path: Path,
    reason: str,
    advice: str = "",
    *,
    exc: BaseException | None = None,
    loc: Loc = ("file",),
) -> BadFile:
    """Return the :class:`BadFile` for a file that cannot be read.

    The message reads ``无法读取文件“<name>”：<reason>。<advice>（技术信息：…）``, naming the
    file by its name alone; the technical note (from ``exc``) is left out when there is none.
    """
    note = f"（技术信息：{technical(exc, path)}）" if exc is not None else ""
    tail = f"。{advice}" if advice else ""
    return BadFile(f"无法读取文件“{path.name}”：{reason}{tail}{note}", loc=loc)


def read_table(path: Path) -> RawTable:
    """Read the features of a layer file; raise :class:`BadFile` when it cannot be read."""
    if not path.is_file():
        msg = f"文件不存在：{path}"
        raise BadFile(msg, loc=("file",))
    fmt = file_format(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise bad_file(path, "无法打开文件", exc=exc) from exc
    if size == 0:
        raise bad_file(path, "文件是空的（0 字节）", "请检查是否选错了文件，或文件没有完整上传")
    if fmt == "csv":
        frame, encoding = _read_csv(path)
        return RawTable(frame, None, fmt, encoding)
    source = _shapefile_source(path) if fmt == "shp" else str(path)
    frame = read_vector(source, path, fmt)
    try:
        declared = CRS.from_user_input(frame.crs) if frame.crs is not None else None
    except _READ_ERRORS as exc:
        raise bad_file(path, "文件声明的坐标系无法识别", "请用 --crs 指定", exc=exc) from exc
    if fmt == "geojson" and declared is not None and declared.equals(CRS.from_epsg(4326)):
        # GeoJSON is WGS84 by definition (RFC 7946): readers label every file so; treat it as
        # "nothing declared" so --crs gcj02 on a GeoJSON is not reported as a conflict.
        declared = None
    return RawTable(frame.rename(columns=_simplified_headers(frame.columns)), declared, fmt)


@contextmanager
def _gdal_quiet() -> Iterator[None]:
    """Silence GDAL's warnings about a broken file.

    They ("bad application_id on '/tmp/...'", "Non closed ring detected") name the server's
    directory and say less than the error that follows them.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def read_vector(source: str, path: Path, fmt: Format) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage or Shapefile through GDAL; every failure is a BadFile.

    Parameters
    ----------
    source
        What GDAL opens: the file's path, or a ``/vsizip/`` path into it.
    path
        The file itself, whose name the messages give.
    fmt
        Its format, for the messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The features with the file's columns and CRS.

    Raises
    ------
    BadFile
        If the file is broken, of another format, not UTF-8 (GeoJSON that is neither GBK
        nor Big5 either), has no geometry column or a geometry GEOS cannot parse (then
        ``loc`` names the first such row).
    """
    try:
        with _gdal_quiet():
            frame = gpd.read_file(source, engine="pyogrio")
    except shapely.errors.ShapelyError as exc:
        raise _bad_geometry(source, path, exc) from exc
    except UnicodeDecodeError as exc:
        if fmt != "geojson":
            reason = "属性表中的文字编码无法识别"
            advice = "请在压缩包中加入 .cpg 文件（内容为 UTF-8 或 GBK）后再上传"
            raise bad_file(path, reason, advice if fmt == "shp" else "", exc=exc) from exc
        frame = _read_geojson_text(path, exc)
    except _READ_ERRORS as exc:
        raise bad_file(path, _gdal_reason(str(exc), fmt), _ADVICE[fmt], exc=exc) from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        reason = f"文件中的图层没有几何列，不是空间数据（{_FORMAT_ZH[fmt]} 属性表）"
        raise bad_file(path, reason, "请导出带几何的图层")
    return frame


def _read_geojson_text(path: Path, first: UnicodeDecodeError) -> gpd.GeoDataFrame:
    """Read a GeoJSON that is not UTF-8 (RFC 7946 says it must be): GBK or Big5 text."""
    text, encoding = _decode_text(path.read_bytes(), path)
    if encoding == "utf-8":  # decodes yet GDAL said it does not: report GDAL's words
        raise bad_file(path, "文件不是 UTF-8 编码", _ENCODING_ADVICE, exc=first)
    try:
        frame = gpd.read_file(io.BytesIO(text.encode("utf-8")), engine="pyogrio")
    except shapely.errors.ShapelyError as exc:
        raise bad_file(path, "文件中有无法解析的几何", _ADVICE["geojson"], exc=exc) from exc
    except _READ_ERRORS as exc:
        reason = _gdal_reason(str(exc), "geojson")
        raise bad_file(path, reason, _ADVICE["geojson"], exc=exc) from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        raise bad_file(path, "文件中没有几何", _ADVICE["geojson"])
    return frame


#: What GDAL's messages mean, by a phrase in them (lower case); ``{name}`` is the format.
_GDAL_ZH = (
    (
        ("not recognized as being in a supported file format",),
        "内容无法识别：不是 {name} 文件，或文件已损坏",
    ),
    (
        ("geopackage tables", "not a geopackage"),
        "不是 GeoPackage 文件（缺少 GeoPackage 必需的表，可能是普通 SQLite 数据库）",
    ),
    (
        ("malformed", "not a database", "truncated", "unexpected end"),
        "文件已损坏（可能没有完整上传或下载），不是完整的 {name} 文件",
    ),
    (("codec can't decode",), "文件中的文字不是 UTF-8 编码"),
    (("json",), "GeoJSON 内容不完整或格式有误（JSON 语法错误）"),
    ((".shx", ".dbf"), "Shapefile 缺少配套文件（.shx 或 .dbf）"),
)


def _gdal_reason(text: str, fmt: Format) -> str:
    """Say in zh-CN what a GDAL error message means for a file of format ``fmt``."""
    low = text.lower()
    for phrases, reason in _GDAL_ZH:
        if any(p in low for p in phrases):
            return reason.format(name=_FORMAT_ZH[fmt])
    return f"文件已损坏或不是有效的 {_FORMAT_ZH[fmt]} 文件"


_GEOS_ZH = (
    ("do not form a closed linestring", "面的边界首尾不闭合"),
    ("Invalid number of points in LinearRing", "面的边界点数过少（至少 4 个点）"),
    ("point array must contain 0 or >1 elements", "线的点数过少（至少 2 个点）"),
)


def _bad_geometry(source: str, path: Path, exc: shapely.errors.ShapelyError) -> BadFile:
    """Find the rows whose geometry GEOS refused, and report the first of them."""
    rows: list[int] = []
    try:
        with _gdal_quiet():
            wkb = pyogrio.raw.read(source)[2]
    except _READ_ERRORS:
        wkb = []
    for i, item in enumerate(wkb if wkb is not None else []):
        if item is None:
            continue
        try:
            shapely.from_wkb(item)
        except shapely.errors.ShapelyError:
            rows.append(i + 1)
    text = str(exc)
    reason = next((zh for en, zh in _GEOS_ZH if en in text), "几何无法解析")
    advice = "请在 QGIS 等软件中检查并修复几何后重新导出"
    if not rows:
        return bad_file(path, f"文件中有无法解析的几何：{reason}", advice, exc=exc)
    more = f"（共 {len(rows)} 行有此问题）" if len(rows) > 1 else ""
    return bad_file(
        path,
        f"第 {rows[0]} 行的几何无法解析：{reason}{more}",
        advice,
        exc=exc,
        loc=("file", "row", rows[0], "geometry"),
    )


def _shapefile_source(path: Path) -> str:
    """Return the GDAL path of the single Shapefile inside a zip (or a bare .shp)."""
    if path.suffix.lower() == ".shp":
        return str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and not _is_junk(i.filename)]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        reason = "不是有效的 zip 压缩包（文件已损坏或没有完整上传）"
        raise bad_file(path, reason, _ADVICE["shp"], exc=exc) from exc
    names = [i.filename for i in infos]
    shps = [n for n in names if n.lower().endswith(".shp")]
    if len(shps) != 1:
        if shps:
            listed = "、".join(Path(n).name for n in shps[:5])
            detail = f"实际有 {len(shps)} 个（{listed}）：请每个压缩包只放一个图层"
        else:
            listed = "、".join(Path(n).name for n in names[:5]) or "空压缩包"
            detail = f"实际没有（压缩包内：{listed}）：{_ADVICE['shp']}"
            others = [n for n in names if Path(n).suffix.lower() in (".gpkg", ".geojson", ".csv")]
            if others:
                detail += f"；{Path(others[0]).name} 可以直接上传，不必压缩"
        msg = f"压缩包“{path.name}”应含且只含一个 .shp 文件，{detail}"
        raise BadFile(msg, loc=("file",))
    shp = shps[0]
    if any(i.flag_bits & 0x1 for i in infos):
        raise bad_file(path, "压缩包设有密码", "请去掉密码后重新压缩再上传")
    stem = shp[:-4].lower()
    present = {n.lower() for n in names}
    missing = [
        f"{Path(shp).stem}{ext}（{what}）"
        for ext, what in ((".shx", "索引"), (".dbf", "属性表"))
        if stem + ext not in present
    ]
    if missing:
        reason = f"压缩包中缺少 {'、'.join(missing)}"
        raise bad_file(path, reason, _ADVICE["shp"])
    return f"/vsizip/{path}/{shp}"


def _is_junk(name: str) -> bool:
    """Tell the files macOS and Windows add to zips (``__MACOSX/``, ``._x``) from data."""
    parts = name.replace("\\", "/").split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1] == "Thumbs.db"


# --- column names -------------------------------------------------------------------------------

#: Traditional spellings of the characters of the column names the importer knows, so a
#: Big5 (or Traditional UTF-8) file's ``編號`` / ``經度`` columns are found.
_TRADITIONAL = (
    "業业 兩两 會会 況况 別别 務务 動动 區区 號号 員员 圍围 場场 牆墙 備备 層层 屬属 師师 開开 "
    "態态 戶户 數数 棟栋 欄栏 樓楼 點点 狀状 電电 碼码 積积 稱称 類类 緯纬 經经 編编 記记 話话 "
    "詢询 選选 鎮镇 長长 門门 風风 黨党 種种 築筑 於于 幹干 幾几"
)
_TO_SIMPLIFIED = str.maketrans({pair[0]: pair[1] for pair in _TRADITIONAL.split()})


def _norm(name: object) -> str:
    return re.sub(r"\s+", "", str(name)).lower()


@cache
def known_headers() -> frozenset[str]:
    """Every column name (normalised: no spaces, lower case) some layer's import accepts."""
    names: set[str] = {*CODE_ALIASES, *COMMUNITY_ALIASES, *WKT_ALIASES}
    names |= {*LON_ALIASES, *LAT_ALIASES}
    for layer in LAYERS.values():
        names.update(layer.code_aliases)
        for f in layer.fields:
            names.update((f.name, f.zh, *f.aliases))
    return frozenset(_norm(n) for n in names)


def _simplified_headers(columns: Iterable[object]) -> dict[object, str]:
    """Return ``{column: Simplified spelling}`` of Traditional headers naming known columns."""
    columns = list(columns)
    taken = {_norm(c) for c in columns}
    out: dict[object, str] = {}
    for col in columns:
        if not isinstance(col, str):
            continue
        simple = col.translate(_TO_SIMPLIFIED)
        if simple != col and _norm(simple) in known_headers() and _norm(simple) not in taken:
            out[col] = simple
            taken.add(_norm(simple))
    return out


# --- CSV ----------------------------------------------------------------------------------------

#: Share of non-ASCII characters that must be common Chinese ones for a decoding to be right.
_PLAUSIBLE = 0.75


@cache
def _common_char(ch: str) -> bool:
    """Tell whether ``ch`` is a common Chinese character or punctuation mark.

    Common means in GB2312 (its symbols and its 6,763 hanzi) or among Big5's 5,401 frequent
    characters. Text decoded with the wrong one of GBK and Big5 turns largely into kana,
    private-use and rare characters, and so scores low.
    """
    try:
        gb = ch.encode("gb2312")
        if len(gb) == 2 and (0xA1 <= gb[0] <= 0xA3 or 0xB0 <= gb[0] <= 0xF7):
            return True
    except UnicodeEncodeError:
        pass
    try:
        big5 = ch.encode("cp950")
    except UnicodeEncodeError:
        return False
    code = int.from_bytes(big5, "big") if len(big5) == 2 else 0
    return 0xA140 <= code <= 0xA3BF or 0xA440 <= code <= 0xC67E


def _plausibility(text: str) -> tuple[float, int]:
    """Return the share of common Chinese characters among the non-ASCII ones, and their count."""
    chars = [c for c in text[:200_000] if ord(c) > 127 and not c.isspace()]
    if not chars:
        return 1.0, 0
    return sum(map(_common_char, chars)) / len(chars), len(chars)


def _header_hits(text: str) -> int:
    """Count the cells of the first line that name a known column (Traditional ones too)."""
    first = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    cells = re.split(r"[,;\t]", first)
    return sum(
        _norm(c.strip().strip('"').translate(_TO_SIMPLIFIED)) in known_headers() for c in cells
    )


def _decode_text(data: bytes, path: Path) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, GBK or Big5.

    GBK and Big5 bytes both decode, wrongly, as the other; the right one is told by the
    known column names its header then holds and by how much of its text is common Chinese.
    Text that is still not Chinese-looking is refused as an encoding problem, not read as
    garbled names (or reported as a missing column).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _encoding_error(path, exc) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        first_error = exc
    candidates: list[tuple[int, float, int, str, str]] = []
    for rank, encoding in enumerate(("gb18030", "big5")):
        try:
            text = data.decode("cp950" if encoding == "big5" else encoding)
        except UnicodeDecodeError:
            continue
        share, _ = _plausibility(text)
        # Round the share so near ties go to GBK (the usual encoding of mainland files).
        candidates.append((_header_hits(text), round(share, 1), -rank, text, encoding))
    if not candidates:
        raise _encoding_error(path, first_error)
    text, encoding = max(candidates)[3:]
    real_share, count = _plausibility(text)
    if count >= 4 and real_share < _PLAUSIBLE:
        raise _encoding_error(path, None)
    return text, encoding


def _encoding_error(path: Path, exc: UnicodeDecodeError | None) -> BadFile:
    reason = "文件的文字编码无法识别：按 UTF-8、GBK、Big5 都读不出正常的中文（编码问题）"
    return bad_file(path, reason, _ENCODING_ADVICE, exc=exc, loc=("file", "encoding"))


def _sniff_delimiter(text: str) -> str:
    """Comma, unless the header line has none and tabs or semicolons instead."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    if "," in first:
        return ","
    if "\t" in first:
        return "\t"
    return ";" if ";" in first else ","


def _parse_csv(text: str, path: Path) -> tuple[list[str], list[list[str | None]]]:
    """Split CSV text into a header and rows; say which row breaks the CSV rules."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 28))  # a WKT may be megabytes
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text), strict=True
    )
    header: list[str] | None = None
    rows: list[list[str | None]] = []
    start = 1  # the file line the record being read starts on
    try:
        for record in reader:
            cells = [c.strip() for c in record]
            start = reader.line_num + 1
            if not any(cells):
                continue  # blank lines and lines of empty cells (Excel leaves them)
            if header is None:
                header = cells
                continue
            rows.append([c or None for c in record])
    except csv.Error as exc:
        row = len(rows) + 1
        reason = f"第 {row} 行（文件第 {start} 行起）不符合 CSV 格式：引号不成对或位置不对"
        raise bad_file(path, reason, _ADVICE["csv"], exc=exc, loc=("file", "row", row)) from exc
    if header is None:
        raise bad_file(path, "文件中没有内容", "第一行应为列名，如 编号,名称,经度,纬度")
    return header, rows


def _csv_columns(header: list[str], rows: list[list[str | None]], path: Path) -> pd.DataFrame:
    """Build the frame of a CSV: named, unique columns, every row as long as the header."""
    width = len(header)
    for i, row in enumerate(rows):
        extra = row[width:]
        if any(c is not None and c.strip() for c in extra):
            reason = (
                f"第 {i + 1} 行有 {len(row)} 个值，但表头只有 {width} 列"
                "（某个值里可能含有逗号却没有加引号）"
            )
            raise bad_file(path, reason, _ADVICE["csv"], loc=("file", "row", i + 1))
        rows[i] = (row + [None] * width)[:width]
    columns: list[str] = []
    keep: list[int] = []
    seen: dict[str, int] = {}
    for k, given in enumerate(header):
        if not given and not any((r[k] or "").strip() for r in rows):
            continue  # a trailing empty column
        name = given or f"第{k + 1}列"
        key = _norm(name)
        if key in seen:
            reason = f"列名“{name}”重复（第 {seen[key] + 1} 列和第 {k + 1} 列）"
            raise bad_file(path, reason, "请删除或改名其中一列", loc=("file", "columns", name))
        seen[key] = k
        columns.append(name)
        keep.append(k)
    data = {name: [r[k] for r in rows] for name, k in zip(columns, keep, strict=True)}
    frame = pd.DataFrame({n: pd.Series(v, dtype=object) for n, v in data.items()})
    if not columns:
        frame = pd.DataFrame(index=range(len(rows)))
    return frame


def _find(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    for alias in aliases:
        if alias in lowered:
            return lowered[alias]
    return None


def _read_csv(path: Path) -> tuple[gpd.GeoDataFrame, str]:
    """Read a CSV with a WKT column or lon/lat columns; return it and its encoding."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise bad_file(path, "无法打开文件", exc=exc) from exc
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        reason = "这是 Excel 表格（或压缩包），不是 CSV 文本文件"
        raise bad_file(path, reason, "请在 Excel 中“另存为”→“CSV UTF-8（逗号分隔）”后再上传")
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise bad_file(path, "这不是文本文件（含有二进制内容），不是 CSV", _ADVICE["csv"])
    text, encoding = _decode_text(data, path)
    header, rows = _parse_csv(text, path)
    frame = _csv_columns(header, rows, path)
    frame = frame.rename(columns=_simplified_headers(frame.columns))
    columns = [str(c) for c in frame.columns]
    wkt_col = _find(columns, WKT_ALIASES)
    lon_col, lat_col = _find(columns, LON_ALIASES), _find(columns, LAT_ALIASES)
    if wkt_col is not None:
        geoms = _parse_wkt(frame[wkt_col], wkt_col, path)
        drop = [c for c in (wkt_col, lon_col, lat_col) if c is not None]
    elif lon_col is not None and lat_col is not None:
        lon = _parse_numbers(frame[lon_col], lon_col, path)
        lat = _parse_numbers(frame[lat_col], lat_col, path)
        geoms = np.asarray(shapely.points(lon, lat), dtype=object)
        geoms[np.isnan(lon) | np.isnan(lat)] = None
        drop = [lon_col, lat_col]
    else:
        listed = "、".join(columns[:8]) + ("…" if len(columns) > 8 else "")
        msg = (
            f"文件“{path.name}”缺少坐标列：需要 经度/纬度（lon/lat）两列，"
            f"或一列 WKT 几何（wkt）；文件中的列为：{listed or '无'}"
        )
        raise BadFile(msg, loc=("file", "columns"))
    out = gpd.GeoDataFrame(frame.drop(columns=drop), geometry=list(geoms), crs=None)
    return out, encoding


def _parse_numbers(values: pd.Series[Any], column: str, path: Path) -> np.ndarray[Any, Any]:
    out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(out) & values.notna().to_numpy())
    if len(bad):
        row = int(bad[0]) + 1
        more = f"（共 {len(bad)} 行）" if len(bad) > 1 else ""
        msg = (
            f"文件“{path.name}”第 {row} 行：“{column}”列应为数字（十进制度，如 112.97），"
            f"实际为“{values.iloc[bad[0]]}”{more}"
        )
        raise BadFile(msg, loc=("file", "row", row, column))
    return out


def _parse_wkt(values: pd.Series[Any], column: str, path: Path) -> np.ndarray[Any, Any]:
    geoms = np.empty(len(values), dtype=object)
    for i, text in enumerate(values):
        if text is None:
            geoms[i] = None
            continue
        try:
            geoms[i] = shapely.from_wkt(text)
        except (shapely.errors.ShapelyError, ValueError, TypeError) as exc:
            reason = (
                f"第 {i + 1} 行：“{column}”列不是有效的 WKT 几何"
                "（应形如 POLYGON((113.1 22.9, 113.2 22.9, 113.2 23.0, 113.1 22.9))）"
            )
            raise bad_file(path, reason, exc=exc, loc=("file", "row", i + 1, column)) from exc
    return geoms


def write_table(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` in the format its name says (CSV gets lon/lat and WKT)."""
    fmt = file_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        _write_csv(frame, path)
    elif fmt == "shp":
        _write_zipped_shapefile(frame, path)
    else:
        driver = "GeoJSON" if fmt == "geojson" else "GPKG"
        if path.exists():
            path.unlink()
        frame.to_file(path, driver=driver, engine="pyogrio", layer=path.stem)


def _write_csv(frame: gpd.GeoDataFrame, path: Path) -> None:
    geoms = frame.geometry.to_numpy()
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    points = shapely.get_type_id(geoms) == 0
    reps = np.where(points, geoms, shapely.point_on_surface(geoms))
    out["lon"] = np.round(shapely.get_x(reps), 8)
    out["lat"] = np.round(shapely.get_y(reps), 8)
    if not points.all():
        out["wkt"] = shapely.to_wkt(geoms, rounding_precision=8)
    # utf-8-sig so Excel on Windows opens the Chinese text correctly.
    out.to_csv(path, index=False, encoding="utf-8-sig")


def _write_zipped_shapefile(frame: gpd.GeoDataFrame, path: Path) -> None:
    # DBF field names hold at most 10 bytes: English names are cut to 10 characters, which the
    # importer maps back (layers.importing matches name[:10]).
    renamed = frame.rename(columns={c: c[:10] for c in frame.columns if c != frame.geometry.name})
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{path.name.split('.')[0]}.shp"
        renamed.to_file(shp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
        if path.exists():
            path.unlink()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)
