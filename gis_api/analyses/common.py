"""What every analysis's glue shares: inputs projected once, the walker chosen once, one error.

Nothing here writes to the database; scenarios change only what an analysis sees.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_array
from scipy.spatial import cKDTree
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from gis_api.analysis import lead_zones as lz
from gis_api.analysis import service_circle as sc
from gis_api.analysis import walknet
from gis_api.analysis.errors import AnalysisInputError
from layers import crs as crsmod
from layers import domain
from layers.errors import GridmapError, Loc, MissingData, NotFound
from layers.queries import AnalysisInputs, analysis_inputs

# --- errors -----------------------------------------------------------------------------------


class AnalysisError(GridmapError):
    """An analysis refused its inputs or options; ``type`` and ``loc`` are the analysis's own.

    The one translation of :mod:`gis_api.analysis.errors` for the API (422) and the CLI.
    """

    status = 422

    def __init__(self, msg: str, *, loc: Loc = (), type: str = "analysis_error") -> None:
        super().__init__(msg, loc=loc)
        self.type = type

    @classmethod
    def of(cls, exc: AnalysisInputError) -> AnalysisError:
        """Return the error for an analysis's refusal, keeping its type and location."""
        return cls(exc.msg, loc=tuple(exc.loc), type=exc.type)


@contextmanager
def refusals() -> Iterator[None]:
    """Run an analysis, turning its refusal (:class:`AnalysisInputError`) into ours."""
    try:
        yield
    except AnalysisInputError as exc:
        raise AnalysisError.of(exc) from exc


# --- scenarios ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPoint:
    """A service point a scenario adds (WGS84)."""

    lon: float
    lat: float
    kind: str = "red_house"
    name: str = "拟新增服务点"


@dataclass(frozen=True)
class Scenario:
    """What a scenario changes: gates closed or opened, points added or removed."""

    close_gates: tuple[str, ...] = ()
    open_gates: tuple[str, ...] = ()
    add_points: tuple[NewPoint, ...] = ()
    remove_points: tuple[str, ...] = ()


def scenario_from(
    *,
    close_gates: Sequence[str] = (),
    open_gates: Sequence[str] = (),
    add_points: Sequence[dict[str, Any]] = (),
    remove_points: Sequence[str] = (),
) -> Scenario:
    """Build a scenario from plain values (request bodies, CLI options)."""
    return Scenario(
        close_gates=tuple(close_gates),
        open_gates=tuple(open_gates),
        add_points=tuple(NewPoint(**a) for a in add_points),
        remove_points=tuple(remove_points),
    )


# --- walking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walker:
    """How people walk in a community: on its network, or straight x detour where it has none.

    Chosen once per community (:func:`project`) and shared by every analysis, so "network or
    straight line" is decided in one place; :attr:`approximate` says which it is.
    """

    edges: gpd.GeoDataFrame | None
    walled: gpd.GeoDataFrame
    closed_gates: frozenset[str]
    detour_factor: float = domain.DETOUR_FACTOR

    @property
    def approximate(self) -> bool:
        """Whether walks are straight distance x :attr:`detour_factor` (no network)."""
        return self.edges is None

    def closing(self, closed_gates: frozenset[str]) -> Walker:
        """Return the same walker with exactly ``closed_gates`` closed."""
        return replace(self, closed_gates=closed_gates)

    @cached_property
    def graph(self) -> walknet.WalkGraph:
        """The validated walking graph (walls, closed gates); only when there is a network."""
        if self.edges is None:
            msg = "no walking network: the walker is approximate"
            raise RuntimeError(msg)
        with refusals():
            return sc.walk_graph(self.edges, self.walled, set(self.closed_gates))

    def matrix(
        self, sources: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, *, limit_m: float
    ) -> csr_array:
        """Return walking metres from every source to every target within ``limit_m`` (sparse)."""
        s_xy = shapely.get_coordinates(shapely.point_on_surface(sources.geometry.to_numpy()))
        t_xy = shapely.get_coordinates(shapely.point_on_surface(targets.geometry.to_numpy()))
        if self.approximate:
            pairs = cKDTree(s_xy).sparse_distance_matrix(
                cKDTree(t_xy), limit_m / self.detour_factor, output_type="coo_matrix"
            )
            return csr_array(
                (pairs.data * self.detour_factor, (pairs.row, pairs.col)),
                shape=(len(s_xy), len(t_xy)),
            )
        with refusals():
            return walknet.distances_within(
                self.graph,
                walknet.snap_points(self.graph, s_xy),
                walknet.snap_points(self.graph, t_xy),
                limit_m=limit_m,
            )

    def neighbours(self, buildings: gpd.GeoDataFrame, max_m: float) -> lz.NeighbourGraph:
        """Return the lead-zone neighbour graph: buildings within ``max_m`` on foot."""
        with refusals():
            if self.approximate:
                return lz.neighbour_graph_euclidean(buildings, max_m, detour=self.detour_factor)
            return lz.neighbour_graph_walking(buildings, self.graph, max_m)


# --- the inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projected:
    """A community's inputs in its metric CRS, ready for the analyses."""

    inputs: AnalysisInputs
    crs: Any
    buildings: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    walker: Walker
    gates: tuple[str, ...] = field(default=())

    @property
    def community(self) -> str:
        """The community's code."""
        return self.inputs.community

    @property
    def closed_gates(self) -> frozenset[str]:
        """The gates stored as closed."""
        return self.walker.closed_gates


def project(session: Session, community: str) -> Projected:
    """Read a community's layers once, project them to its UTM zone and choose the walker."""
    inputs = analysis_inputs(session, community)
    if len(inputs.buildings) == 0:
        msg = (
            f"社区“{community}”还没有楼栋数据，无法分析："
            f"请先导入楼栋（gridmap import buildings 文件 --community {community}）"
        )
        raise MissingData(msg, loc=("community",))
    metric = crsmod.metric_crs(inputs.buildings.geometry)

    def m(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return frame.rename_geometry("geometry").to_crs(metric)

    gate_rows = inputs.edges.dropna(subset=["gate"])
    closed = frozenset(gate_rows.loc[~gate_rows["gate_open"].astype(bool), "gate"])
    walker = Walker(
        edges=m(inputs.edges) if len(inputs.edges) else None,
        walled=m(inputs.walled),
        closed_gates=closed,
    )
    return Projected(
        inputs=inputs,
        crs=metric,
        buildings=m(inputs.buildings),
        points=m(inputs.points),
        candidates=m(inputs.candidates),
        walker=walker,
        gates=tuple(sorted(set(gate_rows["gate"]))),
    )


def points_for(p: Projected, scenario: Scenario | None) -> gpd.GeoDataFrame:
    """Return the service points a scenario leaves: stored ones, less removed, plus added."""
    scenario = scenario or Scenario()
    points = p.points
    unknown = set(scenario.remove_points) - set(points["service_point_id"])
    if unknown:
        msg = f"没有这些服务点：{'、'.join(sorted(unknown))}"
        raise NotFound(msg, loc=("body", "remove_points"))
    points = points[~points["service_point_id"].isin(scenario.remove_points)]
    if scenario.add_points:
        added = gpd.GeoDataFrame(
            {
                "service_point_id": [f"新增{i + 1}" for i in range(len(scenario.add_points))],
                "name": [a.name for a in scenario.add_points],
                "kind": [a.kind for a in scenario.add_points],
                "is_open": True,
            },
            geometry=[shapely.Point(a.lon, a.lat) for a in scenario.add_points],
            crs="EPSG:4326",
        ).to_crs(p.crs)
        points = pd.concat([points, added], ignore_index=True)
    return gpd.GeoDataFrame(points, geometry="geometry", crs=p.crs)


def walker_for(p: Projected, scenario: Scenario | None) -> Walker:
    """Return the community's walker with the scenario's gates closed or opened."""
    scenario = scenario or Scenario()
    if not (scenario.close_gates or scenario.open_gates):
        return p.walker
    unknown = (set(scenario.close_gates) | set(scenario.open_gates)) - set(p.gates)
    if unknown:
        msg = f"路网中没有这些出入口：{'、'.join(sorted(unknown))}"
        raise NotFound(msg, loc=("body", "gates"))
    closed = (p.closed_gates | set(scenario.close_gates)) - set(scenario.open_gates)
    return p.walker.closing(frozenset(closed))


def limit_m(*, metres: float | None, minutes: float | None, speed_m_per_min: float | None) -> float:
    """Return the walking limit in metres from what the user gave (GB 50180-2018)."""
    with refusals():
        return sc.limit_from(metres=metres, minutes=minutes, speed_m_per_min=speed_m_per_min)


# --- output -------------------------------------------------------------------------------------


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn a table into JSON-ready records (NaN to None, numpy scalars to Python)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, np.generic):
            return clean(v.item())
        return v

    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """Return a frame as a GeoJSON FeatureCollection in WGS84 (NaN as null)."""
    import json

    if len(frame) == 0:
        return {"type": "FeatureCollection", "features": []}
    return dict(json.loads(frame.to_crs("EPSG:4326").to_json(na="null", drop_id=True)))


def write_table(frame: gpd.GeoDataFrame, path: Path | str) -> None:
    """Write a result table: ``.xlsx`` for spreadsheets, else by the store's file formats."""
    from layers.io.files import write_table as write_file

    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        reps = frame.geometry.representative_point()
        table["lon"], table["lat"] = reps.x.round(7), reps.y.round(7)
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_excel(path, index=False)
    else:
        write_file(frame, path)
