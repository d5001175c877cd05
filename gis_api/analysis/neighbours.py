"""Neighbour graphs of buildings: walking metres between buildings near each other.

:func:`neighbour_graph_walking` walks the network through open gates;
:func:`neighbour_graph_euclidean` stands in with straight distance times a detour factor when
there is no network, and says so (:attr:`NeighbourGraph.approximate`). Both give a
:class:`NeighbourGraph`, the input of :func:`gis_api.analysis.lead_zones.lead_zones`, and are
re-exported from :mod:`gis_api.analysis.lead_zones`. :func:`checked_geometries` is the
buildings' geometry check they share with the lead-zone adapter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

import geopandas as gpd
import shapely

from gis_api.analysis import checks
from gis_api.analysis.errors import OptionError
from gis_api.analysis.graphs import csr_from_pairs
from gis_api.analysis.walknet import WalkGraph, distances_within, snap_points
from layers import domain

__all__ = [
    "NeighbourGraph",
    "checked_geometries",
    "neighbour_graph_euclidean",
    "neighbour_graph_walking",
]

Floats = NDArray[np.float64]
Objects = NDArray[np.object_]


@dataclass(frozen=True)
class NeighbourGraph:
    """Walking metres between neighbouring buildings, and how they were measured.

    Attributes
    ----------
    walk_m
        ``(n, n)`` CSR matrix of walking metres; stored entries (explicit zeros included)
        are neighbour pairs, absent entries are not neighbours.
    approximate
        True when straight distance times ``detour_factor`` stood in for a network walk.
    detour_factor
        The factor used (1 on a network).
    max_m
        Longest walk kept.
    """

    walk_m: Any
    approximate: bool
    detour_factor: float
    max_m: float


def neighbour_graph_euclidean(
    buildings: gpd.GeoDataFrame,
    max_m: float = domain.LEAD_MAX_WALK_M,
    *,
    detour: float = domain.DETOUR_FACTOR,
) -> NeighbourGraph:
    """Approximate walking metres between buildings when there is no network.

    ``walk_ij = detour * |p_i - p_j|`` between the buildings' representative points, kept
    when ``walk_ij <= max_m``. Walls and gates are unknown, so the result is flagged
    ``approximate``; pass the compound of each building to
    :func:`gis_api.analysis.lead_zones.lead_zones` so zones still stop at compound
    boundaries.

    Raises
    ------
    CrsError
        If the buildings are not in a projected CRS in metres.
    OptionError
        If ``max_m`` or ``detour`` is not a positive finite number (``detour >= 1``).
    GeometryError
        If a geometry is missing or empty.
    """
    checks.metric_crs({"buildings": buildings})
    if not (math.isfinite(max_m) and max_m > 0):
        msg = f"参数 max_m（最大步行距离，米）应为大于 0 的有限数，实际为 {max_m!r}"
        raise OptionError(msg, loc=("max_m",))
    if not (math.isfinite(detour) and detour >= 1):
        msg = f"参数 detour（绕行系数）应为不小于 1 的有限数，实际为 {detour!r}"
        raise OptionError(msg, loc=("detour",))
    xy = _points_xy(buildings)
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(max_m / detour, output_type="ndarray").astype(np.int64)
    d = detour * np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    d = np.concatenate([d, d])
    order = np.lexsort((j, i))
    walk = csr_from_pairs(i[order], j[order], d[order], n)
    return NeighbourGraph(walk, True, float(detour), float(max_m))


def neighbour_graph_walking(
    buildings: gpd.GeoDataFrame,
    graph: WalkGraph,
    max_m: float = domain.LEAD_MAX_WALK_M,
) -> NeighbourGraph:
    """Measure walking metres between buildings on the network, through open gates only.

    Each building joins the network at its representative point
    (:func:`gis_api.analysis.walknet.snap_points`: inside a walled compound only to that
    compound's lanes); ``walk_ij`` is access leg + network + access leg
    (:func:`gis_api.analysis.walknet.distances_within`), kept when ``<= max_m``. Same CRS
    as the graph, in metres.
    """
    checks.metric_crs({"buildings": buildings})
    if not (math.isfinite(max_m) and max_m > 0):
        msg = f"参数 max_m（最大步行距离，米）应为大于 0 的有限数，实际为 {max_m!r}"
        raise OptionError(msg, loc=("max_m",))
    snapped = snap_points(graph, _points_xy(buildings))
    walk = csr_matrix(distances_within(graph, snapped, snapped, limit_m=float(max_m)))
    return NeighbourGraph(walk, False, 1.0, float(max_m))


def checked_geometries(buildings: gpd.GeoDataFrame, ids: Objects) -> Objects:
    """Return the buildings' geometries, refusing a missing or empty one (named by ``ids``)."""
    geoms: Objects = checks.checked_geometries(buildings, ids)
    return geoms


def _points_xy(buildings: gpd.GeoDataFrame) -> Floats:
    geoms = checked_geometries(buildings, np.asarray(buildings.index.to_numpy(), dtype=object))
    pts = shapely.point_on_surface(geoms)
    return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]).astype(np.float64)
