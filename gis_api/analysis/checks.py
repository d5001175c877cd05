"""Checks every analysis makes of its inputs, written once: metric CRS, ids, numbers.

Each returns the checked value or raises an error of :mod:`gis_api.analysis.errors` whose
zh-CN message names the parameter and the offending value, and whose ``loc`` says where.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import geopandas as gpd
import shapely
from pyproj import CRS

from gis_api.analysis.errors import (
    CrsError,
    CrsMismatchError,
    DuplicateIdError,
    GeometryError,
    InvalidValueError,
    MissingColumnError,
    OptionError,
)

__all__ = ["checked_geometries", "ids", "metric_crs", "positive"]

_METRE = frozenset({"metre", "meter", "m"})


def metric_crs(layers: Mapping[str, gpd.GeoDataFrame | None]) -> Any:
    """Refuse layers without one projected CRS in metres; return the first layer's CRS.

    ``None`` entries (an optional layer not given) are skipped; at least one must be given.
    """
    first: tuple[str, CRS, Any] | None = None
    for name, frame in layers.items():
        if frame is None:
            continue
        if not isinstance(frame, gpd.GeoDataFrame):
            msg = f"参数 {name} 应为 GeoDataFrame，实际为 {type(frame).__name__}"
            raise GeometryError(msg, loc=(name,))
        if frame.crs is None:
            msg = (
                f"参数 {name} 没有坐标系（crs 为 None），无法按米计算步行距离；"
                "请先设置坐标系并投影到以米为单位的投影坐标系，如 EPSG:32649"
            )
            raise CrsError(msg, loc=(name, "crs"))
        crs = CRS.from_user_input(frame.crs)
        label = f"{crs.name}（{crs.to_string()}）"
        if not crs.is_projected:
            msg = (
                f"参数 {name} 的坐标系 {label} 是地理坐标系（经纬度），不能按米计算步行距离；"
                "请先投影到以米为单位的投影坐标系，如 UTM 49N（EPSG:32649）"
            )
            raise CrsError(msg, loc=(name, "crs"))
        units = {axis.unit_name for axis in crs.axis_info}
        if not units <= _METRE:
            msg = f"参数 {name} 的坐标系 {label} 的单位是 {'、'.join(sorted(units))}，不是米"
            raise CrsError(msg, loc=(name, "crs"))
        if first is None:
            first = (name, crs, frame.crs)
        elif not crs.equals(first[1]):
            other = f"{first[1].name}（{first[1].to_string()}）"
            msg = (
                f"参数 {name} 的坐标系 {label} 与 {first[0]} 的坐标系 {other} 不同；"
                "请先统一到同一投影坐标系"
            )
            raise CrsMismatchError(msg, loc=(name, "crs"))
    if first is None:
        msg = f"没有给出任何图层（{'、'.join(layers)}）"
        raise OptionError(msg, loc=tuple(layers)[:1])
    return first[2]


def ids(frame: pd.DataFrame, name: str, col: str) -> NDArray[np.object_]:
    """Return the ids of ``frame`` from column or index ``col``: present and unique."""
    if col in frame.columns:
        values = pd.Series(frame[col].to_numpy(dtype=object))
    elif frame.index.name == col:
        values = pd.Series(frame.index.to_numpy(dtype=object))
    else:
        msg = f"参数 {name} 缺少 {col} 列（也可作为索引）"
        raise MissingColumnError(msg, loc=(name, col))
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        msg = f"参数 {name} 第 {row + 1} 行的 {col} 为空"
        raise InvalidValueError(msg, loc=(name, "row", row + 1, col))
    dup = values[values.duplicated(keep=False)]
    if len(dup):
        shown = "、".join(str(v) for v in pd.unique(dup.to_numpy())[:5])
        msg = f"参数 {name} 的 {col} 有重复值：{shown}（共 {len(dup)} 行）；编号必须唯一"
        raise DuplicateIdError(msg, loc=(name, col))
    out: NDArray[np.object_] = values.to_numpy(dtype=object)
    return out


def positive(name: str, value: Any) -> float:
    """Return ``value`` as a float, refusing anything but a positive finite number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not (math.isfinite(out) and out > 0):
        msg = f"参数 {name} 应为正的有限数，实际为 {value!r}"
        raise OptionError(msg, loc=(name,))
    return out


def checked_geometries(
    frame: gpd.GeoDataFrame, ids: Any, *, layer: str = "buildings", noun: str = "楼栋"
) -> Any:
    """Return a layer's geometries as an object array, refusing a missing or empty one.

    The refusal names the feature by ``ids`` (in the frame's order) and the layer's ``noun``.
    """
    geoms = np.asarray(frame.geometry.to_numpy(), dtype=object)
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(bad):
        i = int(bad[0])
        msg = f"{noun} {ids[i]} 没有几何图形（缺失或为空）"
        raise GeometryError(msg, loc=(layer, i, "geometry"))
    return geoms
