"""Read and write layer files: GeoJSON, GeoPackage, zipped Shapefile and CSV (lon/lat or WKT).

A reader returns the features with their raw column names and the CRS the file declares (or
None), leaving column mapping, CRS conversion and validation to :mod:`layers.importing`.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS

from layers.errors import BadFile
from layers.schema import LAT_ALIASES, LON_ALIASES, WKT_ALIASES

Format = Literal["geojson", "gpkg", "shp", "csv"]

_SUFFIXES: dict[str, Format] = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shp",
    ".shp": "shp",
    ".csv": "csv",
}


@dataclass(frozen=True)
class RawTable:
    """Features as read: raw columns, geometry (maybe None per row) and the declared CRS."""

    frame: gpd.GeoDataFrame
    declared_crs: CRS | None
    format: Format


def file_format(path: Path) -> Format:
    """Return the format of ``path`` from its name, or raise :class:`BadFile`."""
    name = path.name.lower()
    if name.endswith((".shp.zip", ".zip")):
        return "shp"
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        msg = (
            f"不支持的文件格式：{path.name}（支持 .geojson/.json、.gpkg、"
            ".zip（压缩的 Shapefile）、.csv）"
        )
        raise BadFile(msg, loc=("file",)) from None


def read_table(path: Path) -> RawTable:
    """Read the features of a layer file; raise :class:`BadFile` when it cannot be read."""
    if not path.exists():
        msg = f"文件不存在：{path}"
        raise BadFile(msg, loc=("file",))
    fmt = file_format(path)
    if fmt == "csv":
        return RawTable(_read_csv(path), None, fmt)
    source = _shapefile_source(path) if fmt == "shp" else str(path)
    try:
        frame = gpd.read_file(source, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        msg = f"无法读取文件 {path.name}：文件已损坏或不是有效的 {fmt} 文件（{exc}）"
        raise BadFile(msg, loc=("file",)) from exc
    declared = CRS.from_user_input(frame.crs) if frame.crs is not None else None
    if fmt == "geojson" and declared is not None and declared.equals(CRS.from_epsg(4326)):
        # GeoJSON is WGS84 by definition (RFC 7946): readers label every file so; treat it as
        # "nothing declared" so --crs gcj02 on a GeoJSON is not reported as a conflict.
        declared = None
    return RawTable(frame, declared, fmt)


def _shapefile_source(path: Path) -> str:
    """Return the GDAL path of the single Shapefile inside a zip (or a bare .shp)."""
    if path.suffix.lower() == ".shp":
        return str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
    except zipfile.BadZipFile as exc:
        msg = f"无法打开压缩包 {path.name}：文件已损坏或不是 zip 文件"
        raise BadFile(msg, loc=("file",)) from exc
    if len(shps) != 1:
        msg = f"压缩包 {path.name} 应含且只含一个 .shp 文件，实际有 {len(shps)} 个"
        raise BadFile(msg, loc=("file",))
    return f"/vsizip/{path}/{shps[0]}"


def _find(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    for alias in aliases:
        if alias in lowered:
            return lowered[alias]
    return None


def _read_csv(path: Path) -> gpd.GeoDataFrame:
    """Read a CSV with a WKT column or lon/lat columns (UTF-8, UTF-8 with BOM or GBK)."""
    frame: pd.DataFrame | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            msg = f"无法解析 CSV 文件 {path.name}：{exc}"
            raise BadFile(msg, loc=("file",)) from exc
    if frame is None:
        msg = f"CSV 文件 {path.name} 的编码无法识别（请用 UTF-8 或 GBK）"
        raise BadFile(msg, loc=("file",))
    frame = frame.replace("", None)
    columns = list(frame.columns)
    wkt_col = _find(columns, WKT_ALIASES)
    lon_col, lat_col = _find(columns, LON_ALIASES), _find(columns, LAT_ALIASES)
    if wkt_col is not None:
        geoms = _parse_wkt(frame[wkt_col], wkt_col)
        drop = [c for c in (wkt_col, lon_col, lat_col) if c is not None]
    elif lon_col is not None and lat_col is not None:
        lon = _parse_numbers(frame[lon_col], lon_col)
        lat = _parse_numbers(frame[lat_col], lat_col)
        geoms = np.asarray(shapely.points(lon, lat), dtype=object)
        geoms[np.isnan(lon) | np.isnan(lat)] = None
        drop = [lon_col, lat_col]
    else:
        msg = (
            f"CSV 文件 {path.name} 缺少坐标列：需要 经度/纬度（lon/lat）两列，"
            "或一列 WKT 几何（wkt）"
        )
        raise BadFile(msg, loc=("file", "columns"))
    return gpd.GeoDataFrame(frame.drop(columns=drop), geometry=list(geoms), crs=None)


def _parse_numbers(values: pd.Series[Any], column: str) -> np.ndarray[Any, Any]:
    out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(out) & values.notna().to_numpy())
    if len(bad):
        row = int(bad[0]) + 1
        msg = f"第 {row} 行“{column}”列不是数字：{values.iloc[bad[0]]!r}"
        raise BadFile(msg, loc=("file", "row", row, column))
    return out


def _parse_wkt(values: pd.Series[Any], column: str) -> np.ndarray[Any, Any]:
    geoms = np.empty(len(values), dtype=object)
    for i, text in enumerate(values):
        if text is None:
            geoms[i] = None
            continue
        try:
            geoms[i] = shapely.from_wkt(text)
        except shapely.errors.GEOSException as exc:
            msg = f"第 {i + 1} 行“{column}”列不是有效的 WKT 几何：{exc}"
            raise BadFile(msg, loc=("file", "row", i + 1, column)) from exc
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
