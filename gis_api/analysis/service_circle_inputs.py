"""Checks of the service circle's inputs: gate codes, geometry, numbers, kinds, open flags.

Part of :mod:`gis_api.analysis.service_circle`, which validates its GeoDataFrames with these
before it walks; each refusal names the layer, the feature and the column, in zh-CN. The kinds
of service point (:data:`KINDS`) are here because :func:`_kinds` checks against them; the
adapter re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import geopandas as gpd
import shapely

from gis_api.analysis.errors import (
    GeometryError,
    InvalidValueError,
    MissingColumnError,
    OptionError,
)
from layers import domain

__all__ = ["KINDS"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Geoms = NDArray[np.object_]

#: Kinds of service point (the store's ``service_points.kind``), in display order.
KINDS: tuple[str, ...] = tuple(domain.SERVICE_POINT_KINDS)


# --- input checks -----------------------------------------------------------------------------


def _gate_codes(closed_gates: Iterable[str]) -> set[str]:
    if isinstance(closed_gates, str | bytes):
        msg = (
            "参数 closed_gates 应为出入口编号的集合（如 ['G1']），"
            f"而不是单个字符串 {closed_gates!r}"
        )
        raise OptionError(msg, loc=("closed_gates",))
    return {str(code) for code in closed_gates}


def _geoms(frame: gpd.GeoDataFrame) -> Geoms:
    return np.asarray(frame.geometry.array, dtype=object)


def _check_geometry(
    frame: gpd.GeoDataFrame,
    name: str,
    col: str,
    ids: NDArray[np.object_],
    expect: tuple[tuple[int, ...], str],
) -> None:
    """Refuse missing, empty, wrongly typed or invalid geometry, naming the feature."""
    types, expected = expect
    geoms = _geoms(frame)
    missing = shapely.is_missing(geoms)
    empty = missing | shapely.is_empty(geoms)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        what = "缺失" if missing[i] else "为空"
        msg = f"参数 {name} 中 {col}={ids[i]} 的几何{what}"
        raise GeometryError(msg, loc=(name, str(ids[i]), "geometry"))
    wrong = ~np.isin(shapely.get_type_id(geoms), types)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        msg = f"参数 {name} 中 {col}={ids[i]} 的几何是 {geoms[i].geom_type}，应为{expected}"
        raise GeometryError(msg, loc=(name, str(ids[i]), "geometry"))
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        i = int(np.flatnonzero(invalid)[0])
        reason = shapely.is_valid_reason(geoms[i])
        msg = f"参数 {name} 中 {col}={ids[i]} 的几何无效：{reason}"
        raise GeometryError(msg, loc=(name, str(ids[i]), "geometry"))


def _numbers(frame: pd.DataFrame, name: str, col: str) -> Floats:
    if col not in frame.columns:
        msg = f"参数 {name} 缺少 {col} 列"
        raise MissingColumnError(msg, loc=(name, col))
    try:
        return pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        msg = f"参数 {name} 的 {col} 列应为数值"
        raise InvalidValueError(msg, loc=(name, col)) from exc


def _kinds(points: pd.DataFrame, ids: NDArray[np.object_]) -> NDArray[np.object_]:
    if "kind" not in points.columns:
        msg = "参数 points 缺少 kind 列"
        raise MissingColumnError(msg, loc=("points", "kind"))
    kind = points["kind"].to_numpy(dtype=object)
    bad = ~np.isin(kind, np.asarray(KINDS, dtype=object))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"参数 points 中 service_point_id={ids[i]} 的 kind 为 {kind[i]!r}，"
            f"应为 {'、'.join(KINDS)} 之一"
        )
        raise InvalidValueError(msg, loc=("points", str(ids[i]), "kind"))
    return kind


def _open(points: pd.DataFrame, ids: NDArray[np.object_]) -> Bools:
    if "is_open" not in points.columns:
        msg = "参数 points 缺少 is_open 列"
        raise MissingColumnError(msg, loc=("points", "is_open"))
    values = points["is_open"].to_numpy(dtype=object)
    bad = np.array([not isinstance(v, bool | np.bool_) for v in values], dtype=np.bool_)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"参数 points 中 service_point_id={ids[i]} 的 is_open 为 {values[i]!r}，"
            "应为 True 或 False"
        )
        raise InvalidValueError(msg, loc=("points", str(ids[i]), "is_open"))
    return values.astype(np.bool_)
