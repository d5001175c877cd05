"""Coordinate systems: parse CRS names, convert GCJ-02/BD-09/EPSG to WGS84 on the way in."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

import pyproj
import shapely
from geopandas import GeoSeries
from pyproj.exceptions import CRSError

from layers.errors import CrsMismatch, UnknownCrs

FloatArray = NDArray[np.float64]
LonLat = tuple[FloatArray, FloatArray]

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_TOL = 1e-9  # degrees, residual at which an inverse iteration stops
_MAX_ITER = 30


def _arrays(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return x, y


def _out_of_china(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    return ~((lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271))


def _transform_lat(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


Conversion = Callable[[FloatArray, FloatArray], LonLat]


def _invert(forward: Conversion, target: LonLat, start: LonLat) -> LonLat:
    """Solve ``forward(x, y) == target`` by fixed-point iteration from ``start``."""
    (lon, lat), (x, y) = target, start
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if not np.any((np.abs(dx) >= _TOL) | (np.abs(dy) >= _TOL)):  # NaN counts as converged
            break
    return x, y


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert WGS84 to GCJ-02 ("Mars") coordinates; points outside China are unchanged."""
    x, y = _arrays(lon, lat)
    dlat = _transform_lat(x - 105.0, y - 35.0)
    dlon = _transform_lon(x - 105.0, y - 35.0)
    radlat = y / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    out = _out_of_china(x, y)
    return np.where(out, x, x + dlon), np.where(out, y, y + dlat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert GCJ-02 to WGS84 exactly, iterating the forward transform to 1e-9 degrees."""
    target = _arrays(lon, lat)
    return _invert(wgs84_to_gcj02, target, target)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert GCJ-02 to BD-09 (Baidu); points outside China are unchanged."""
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    out = _out_of_china(x, y)
    return np.where(out, x, z * np.cos(theta) + 0.0065), np.where(out, y, z * np.sin(theta) + 0.006)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert BD-09 to GCJ-02 exactly.

    The published closed-form inverse is off by up to ~0.2 m; it is the starting point
    of an iteration of :func:`gcj02_to_bd09` down to 1e-9 degrees. Points whose GCJ-02
    position lies outside China are unchanged.
    """
    bx, by = _arrays(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, (bx, by), (z * np.cos(theta), z * np.sin(theta)))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert WGS84 to BD-09 via GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert BD-09 to WGS84 via GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


@lru_cache(maxsize=256)
def _epsg_crs(code: int) -> pyproj.CRS:
    return pyproj.CRS.from_epsg(code)


@dataclass(frozen=True)
class CrsSpec:
    """A coordinate system a user's data is declared in.

    Attributes
    ----------
    kind
        ``"epsg"`` for any EPSG code, or one of the Chinese obfuscated systems.
    epsg
        The EPSG code; 4326 (the datum they are offsets from) for GCJ-02 and BD-09.
    label
        Human-readable name for messages and the UI.
    """

    kind: Literal["epsg", "gcj02", "bd09"]
    epsg: int
    label: str

    @property
    def is_geographic(self) -> bool:
        """Whether coordinates are longitude/latitude degrees."""
        return self.kind != "epsg" or bool(_epsg_crs(self.epsg).is_geographic)


WGS84 = CrsSpec("epsg", 4326, "WGS84 (EPSG:4326)")
CGCS2000 = CrsSpec("epsg", 4490, "CGCS2000 (EPSG:4490)")
GCJ02 = CrsSpec("gcj02", 4326, "GCJ-02（高德/腾讯）")
BD09 = CrsSpec("bd09", 4326, "BD-09（百度）")

_ALIASES: dict[str, CrsSpec] = {
    **dict.fromkeys(("wgs84", "wgs-84", "epsg:4326", "4326"), WGS84),
    **dict.fromkeys(("cgcs2000", "epsg:4490"), CGCS2000),
    **dict.fromkeys(("gcj02", "gcj-02", "amap", "gaode", "tencent", "高德", "腾讯", "火星"), GCJ02),
    **dict.fromkeys(("bd09", "bd-09", "baidu", "百度"), BD09),
}
_ACCEPTED = "WGS84、CGCS2000、GCJ-02（高德/腾讯/火星）、BD-09（百度）或 EPSG:代码（如 EPSG:4326）"


def parse_crs(text: str | None) -> CrsSpec:
    """Parse a user-given coordinate system name; ``None`` means WGS84.

    Raises
    ------
    UnknownCrs
        If ``text`` is neither a known alias nor an EPSG code pyproj knows.
    """
    if text is None:
        return WGS84
    key = re.sub(r"\s+", "", text).replace("：", ":").lower()
    if key in _ALIASES:
        return _ALIASES[key]
    match = re.fullmatch(r"epsg:(\d{1,6})", key)
    if match:
        code = int(match.group(1))
        try:
            crs = _epsg_crs(code)
        except CRSError:
            pass
        else:
            return CrsSpec("epsg", code, f"{crs.name} (EPSG:{code})")
    msg = f"无法识别的坐标系“{text}”；可用：{_ACCEPTED}"
    raise UnknownCrs(msg, loc=("crs",))


def _convert(geoms: GeoSeries, src: int, dst: int, func: Conversion | None) -> GeoSeries:
    """Convert ``geoms`` from EPSG ``src`` to ``dst``, or apply ``func`` within EPSG:4326."""
    if geoms.crs is not None and not geoms.crs.equals(_epsg_crs(src), ignore_axis_order=True):
        msg = f"数据自带坐标系 {geoms.crs.name} 与声明的 EPSG:{src} 不一致"
        raise CrsMismatch(msg, loc=("crs",))
    if func is None:
        labelled = geoms.set_crs(src, allow_override=True)
        if {src, dst} <= {4326, 4490}:  # CGCS2000 and WGS84 differ by cm: relabel only
            return labelled.set_crs(dst, allow_override=True)
        return labelled.to_crs(dst)

    def apply(coords: FloatArray) -> FloatArray:
        out = coords.copy()
        out[:, 0], out[:, 1] = func(coords[:, 0], coords[:, 1])
        return out

    moved = shapely.transform(np.asarray(geoms.values), apply, include_z=True)
    return GeoSeries(moved, index=geoms.index, crs="EPSG:4326", name=geoms.name)


def to_wgs84(geoms: GeoSeries, spec: CrsSpec) -> GeoSeries:
    """Convert geometries declared in ``spec`` to WGS84 (EPSG:4326).

    GCJ-02/BD-09 inputs are de-obfuscated exactly. CGCS2000 (EPSG:4490) is relabelled as
    WGS84 without a shift: the two differ by centimetres, below map scale.

    Raises
    ------
    CrsMismatch
        If ``geoms`` carries a CRS other than the one ``spec`` declares.
    """
    shift = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}.get(spec.kind)
    return _convert(geoms, spec.epsg, 4326, shift)


def from_wgs84(geoms: GeoSeries, spec: CrsSpec) -> GeoSeries:
    """Convert WGS84 geometries to ``spec`` for export; the inverse of :func:`to_wgs84`.

    Raises
    ------
    CrsMismatch
        If ``geoms`` carries a CRS other than WGS84.
    """
    shift = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}.get(spec.kind)
    return _convert(geoms, 4326, spec.epsg, shift)


def lonlat_problems(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Flag coordinates outside [-180, 180] x [-90, 90] (or not finite).

    A flagged point under a geographic CRS usually means projected coordinates or
    swapped longitude/latitude columns.
    """
    x, y = _arrays(lon, lat)
    return ~((np.abs(x) <= 180.0) & (np.abs(y) <= 90.0))


def metric_crs(geoms: GeoSeries) -> pyproj.CRS:
    """Return the WGS84 UTM zone containing the centre of the total bounds of ``geoms``.

    Every distance and area computation projects into this CRS. Geometries without a
    CRS are taken to be WGS84 longitude/latitude.

    Raises
    ------
    CrsMismatch
        If ``geoms`` are not in longitude/latitude degrees.
    """
    if geoms.crs is not None and not geoms.crs.is_geographic:
        msg = f"需要经纬度坐标，但数据坐标系为投影坐标系 {geoms.crs.name}"
        raise CrsMismatch(msg, loc=("crs",))
    minx, miny, maxx, maxy = (float(v) for v in geoms.total_bounds)
    lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    if bool(lonlat_problems(lon, lat)):
        msg = f"无法确定投影带：数据为空或范围中心（{lon}, {lat}）不是有效的经纬度"
        raise CrsMismatch(msg, loc=("crs",))
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return _epsg_crs((32600 if lat >= 0 else 32700) + zone)


def to_metric(geoms: GeoSeries) -> GeoSeries:
    """Project longitude/latitude geometries into their :func:`metric_crs`."""
    crs = metric_crs(geoms)
    return (geoms if geoms.crs is not None else geoms.set_crs(4326)).to_crs(crs)
