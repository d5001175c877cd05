"""A small hand-drawn community near Xiqiao, in metres, for tests that need known answers.

Layout (metres east/north of the community's south-west corner; the community is 1 km²)::

    compound C1: the square 100..400 x 100..400, walled, with an open south gate M1 at
    (250, 100) and a closed east gate M2 at (400, 250); buildings B1, B2 inside it and B3
    outside it; a wall W1 at x = 700; roads along y = 50 and x = 450, lanes through both gates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

ORIGIN_LONLAT = (112.97, 22.93)
METRIC = "EPSG:32649"
_to_metric = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True)
_E0, _N0 = _to_metric.transform(*ORIGIN_LONLAT)


def _shift(geom: Any) -> Any:
    return shapely.transform(geom, lambda xy: xy + np.array([_E0, _N0]))


def frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Rows with geometry in local metres → GeoDataFrame in WGS84."""
    data = pd.DataFrame(rows)
    geoms = [_shift(g) for g in data.pop("geometry")]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=METRIC).to_crs("EPSG:4326")


def community_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the test community "T1", in load order."""
    return {
        "communities": frame(
            [
                {
                    "code": "T1",
                    "name": "测试社区",
                    "households": 120,
                    "residents": 330,
                    "registered_residents": 200,
                    "floating_residents": 100,
                    "staff": 5,
                    "cadres": 2,
                    "party_members": 12,
                    "geometry": box(0, 0, 1000, 1000),
                }
            ]
        ),
        "grids": frame(
            [
                {
                    "code": "G1",
                    "name": "第一网格",
                    "officer_name": "李娜",
                    "households": 80,
                    "geometry": box(0, 0, 500, 1000),
                },
                {
                    "code": "G2",
                    "name": "第二网格",
                    "officer_name": "王强",
                    "households": 40,
                    "geometry": box(500, 0, 1000, 1000),
                },
            ]
        ),
        "compounds": frame(
            [
                {
                    "code": "C1",
                    "name": "翠湖花园",
                    "households": 100,
                    "residents": 280,
                    "build_year": 2012,
                    "maturity": "mature",
                    "has_party_branch": True,
                    "has_owners_committee": True,
                    "property_company": "樵华物业",
                    "geometry": box(100, 100, 400, 400),
                },
            ]
        ),
        "gates": frame(
            [
                {
                    "code": "C1-M1",
                    "name": "南门",
                    "compound": "C1",
                    "is_open": True,
                    "kind": "mixed",
                    "geometry": Point(250, 100),
                },
                {
                    "code": "C1-M2",
                    "name": "东门",
                    "compound": "C1",
                    "is_open": False,
                    "kind": "pedestrian",
                    "geometry": Point(400, 250),
                },
            ]
        ),
        "barriers": frame(
            [{"code": "W1", "kind": "wall", "geometry": LineString([(700, 0), (700, 500)])}]
        ),
        "buildings": frame(
            [
                {
                    "code": "B1",
                    "name": "1栋",
                    "households": 60,
                    "residents": 170,
                    "floating_residents": 20,
                    "occupancy": 0.9,
                    "floors": 18,
                    "party_members": 5,
                    "mobile_party_members": 1,
                    "lead_name": "张伟",
                    "geometry": box(150, 150, 190, 170),
                },
                {
                    "code": "B2",
                    "name": "2栋",
                    "households": 40,
                    "residents": 110,
                    "occupancy": 0.4,
                    "floors": 11,
                    "party_members": 2,
                    "geometry": box(300, 300, 340, 320),
                },
                {
                    "code": "B3",
                    "name": "3栋",
                    "households": 20,
                    "residents": 50,
                    "occupancy": 0.75,
                    "floors": 6,
                    "party_members": 0,
                    "geometry": box(600, 600, 640, 620),
                },
            ]
        ),
        "service_points": frame(
            [
                {
                    "code": "SP1",
                    "name": "樵华社区党群服务中心",
                    "kind": "centre",
                    "is_open": True,
                    "floor_area_m2": 600.0,
                    "geometry": Point(500, 40),
                }
            ]
        ),
        "candidate_venues": frame(
            [
                {
                    "code": "CV1",
                    "name": "翠湖花园架空层",
                    "kind": "stilted_floor",
                    "floor_area_m2": 120.0,
                    "ground_floor": True,
                    "ventilation": "good",
                    "lawyer_consulted": True,
                    "housing_filed": False,
                    "publicly_noticed": False,
                    "property_recorded": False,
                    "geometry": Point(200, 200),
                }
            ]
        ),
    }


def network_lines() -> gpd.GeoDataFrame:
    """Ways of the test community: two roads, a lane through each gate, an inner lane."""
    return frame(
        [
            {
                "code": "R1",
                "highway": "secondary",
                "name": "樵华路",
                "geometry": LineString([(0, 50), (250, 50), (450, 50), (1000, 50)]),
            },
            {
                "code": "R2",
                "highway": "residential",
                "name": "西岸街",
                "geometry": LineString([(450, 50), (450, 250), (450, 400)]),
            },
            {
                "code": "L1",
                "highway": "footway",
                "name": None,
                "geometry": LineString([(250, 50), (250, 250)]),
            },
            {
                "code": "L2",
                "highway": "footway",
                "name": None,
                "geometry": LineString([(250, 250), (350, 250)]),
            },
            {
                "code": "L3",
                "highway": "footway",
                "name": None,
                "geometry": LineString([(350, 250), (450, 250)]),
            },
        ]
    )


def write_layers(directory: Path, suffix: str) -> dict[str, Path]:
    """Write every layer of the test community to ``directory`` as ``<layer><suffix>``."""
    from layers.io.files import write_table

    paths = {}
    for layer, gdf in community_layers().items():
        path = directory / f"{layer}{suffix}"
        write_table(gdf, path)
        paths[layer] = path
    return paths
