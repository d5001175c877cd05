"""A small hand-drawn community near Xiqiao, in metres, for tests that need known answers.

Layout (metres east/north of the community's south-west corner; the community is 1 km²)::

    compound C1: the square 100..400 x 100..400, walled, with an open south gate M1 at
    (250, 100) and a closed east gate M2 at (400, 250); buildings B1, B2 inside it and B3
    outside it; a wall W1 at x = 700; roads along y = 50 and x = 450, lanes through both gates.

And the broken files a user may give instead of T1's layers (:func:`broken_files`): each with
what the zh-CN error must say, for the importer's tests and the upload's.
"""

from __future__ import annotations

import io
import json
import random
import re
import sqlite3
import zipfile
from dataclasses import dataclass
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


# --- broken files ---------------------------------------------------------------------------


#: Chinese characters: what every message to a user must hold.
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Broken:
    """A broken file: the name a user gives it, its bytes, what the error must say and where."""

    id: str
    name: str
    content: bytes
    says: str
    loc: tuple[str | int, ...] = ("file",)


def polygon_wkt(x0: float = 610, y0: float = 400) -> str:
    """A building footprint inside the test community, as WKT in WGS84."""
    geom = frame([{"geometry": shapely.box(x0, y0, x0 + 20, y0 + 20)}]).geometry[0]
    return str(shapely.to_wkt(geom, rounding_precision=8))


def _gpkg_bytes(tmp: Path) -> bytes:
    from layers.io.files import write_table

    path = tmp / "good.gpkg"
    write_table(community_layers()["buildings"], path)
    return path.read_bytes()


def zipped(members: dict[str, bytes]) -> bytes:
    """A zip archive of ``members`` (name: bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def shapefile_parts(tmp: Path) -> dict[str, bytes]:
    """The members of the test community's buildings written as a zipped Shapefile."""
    from layers.io.files import write_table

    path = tmp / "good.zip"
    write_table(community_layers()["buildings"], path)
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def broken_files(tmp: Path) -> list[Broken]:
    """Every kind of broken file, built in ``tmp`` (the user's names are Chinese)."""
    noise = random.Random(7).randbytes(4000)
    gpkg = _gpkg_bytes(tmp)
    sqlite_path = tmp / "plain.sqlite"
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE t (a)")
    parts = shapefile_parts(tmp)
    shp = next(n for n in parts if n.endswith(".shp"))
    no_dbf = {n: d for n, d in parts.items() if not n.endswith(".dbf")}
    bad_shp = {**parts, shp: noise[:700]}
    open_ring = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": f"X{i}"},
                "geometry": {"type": "Polygon", "coordinates": ring},
            }
            for i, ring in enumerate(
                [
                    [[[112.975, 22.935], [112.976, 22.935], [112.976, 22.936], [112.975, 22.935]]],
                    [[[112.975, 22.935], [112.976, 22.936]]],
                ]
            )
        ],
    }
    wkt = polygon_wkt()
    return [
        Broken("gpkg-truncated", "楼栋.gpkg", gpkg[: len(gpkg) // 3], "GeoPackage"),
        Broken("gpkg-noise", "楼栋.gpkg", noise, "GeoPackage"),
        Broken("gpkg-plain-sqlite", "楼栋.gpkg", sqlite_path.read_bytes(), "GeoPackage"),
        Broken("gpkg-empty", "楼栋.gpkg", b"", "空"),
        Broken("geojson-noise", "楼栋.geojson", noise, "GeoJSON"),
        Broken(
            "geojson-truncated", "楼栋.geojson", b'{"type": "FeatureCollection", "fea', "GeoJSON"
        ),
        Broken("geojson-not-geojson", "楼栋.json", b'{"name": "not a layer"}', "GeoJSON"),
        Broken(
            "geojson-open-ring",
            "楼栋.geojson",
            json.dumps(open_ring).encode(),
            "第 2 行的几何无法解析",
            ("file", "row", 2, "geometry"),
        ),
        Broken("geojson-empty", "楼栋.geojson", b"", "空"),
        Broken(
            "geojson-no-features",
            "楼栋.geojson",
            b'{"type": "FeatureCollection", "features": []}',
            "没有任何要素",
        ),
        Broken("zip-noise", "楼栋.zip", noise, "zip"),
        Broken("zip-empty", "楼栋.zip", b"", "空"),
        Broken("zip-without-shp", "楼栋.zip", zipped({"说明.txt": b"hello"}), "没有"),
        Broken("zip-without-dbf", "楼栋.zip", zipped(no_dbf), ".dbf"),
        Broken("zip-broken-shp", "楼栋.zip", zipped(bad_shp), "Shapefile"),
        Broken("txt", "楼栋.txt", b"code,lon,lat\n", "不支持的文件格式"),
        Broken("xlsx", "楼栋.xlsx", zipped({"[Content_Types].xml": b"<x/>"}), "另存为"),
        Broken("csv-is-xlsx", "楼栋.csv", zipped({"[Content_Types].xml": b"<x/>"}), "Excel"),
        Broken("csv-binary", "楼栋.csv", noise, "不是文本文件"),
        Broken("csv-empty", "楼栋.csv", b"", "空"),
        Broken("csv-blank-lines", "楼栋.csv", b"\r\n\r\n", "没有内容"),
        Broken("csv-header-only", "楼栋.csv", b"code,wkt\n", "没有任何要素"),
        Broken(
            "csv-open-quote",
            "楼栋.csv",
            f'code,wkt\nB9,"{wkt}\nB10,x\n'.encode(),
            "引号",
            ("file", "row", 1),
        ),
        Broken(
            "csv-too-many-values",
            "楼栋.csv",
            f'code,name,wkt\nB9,9栋,"{wkt}"\nB10,10栋,"{wkt}",多余\n'.encode(),
            "第 2 行有 4 个值",
            ("file", "row", 2),
        ),
        Broken(
            "csv-duplicate-column",
            "楼栋.csv",
            f'code,name,name,wkt\nB9,9栋,9栋,"{wkt}"\n'.encode(),
            "重复",
            ("file", "columns", "name"),
        ),
        Broken(
            "csv-no-coordinates",
            "楼栋.csv",
            "编号,名称\nB9,9栋\n".encode(),
            "缺少坐标列",
            ("file", "columns"),
        ),
        Broken(
            "csv-no-code",
            "楼栋.csv",
            f'名称,wkt\n9栋,"{wkt}"\n'.encode(),
            "缺少编号列",
            ("file", "columns", "编号"),
        ),
        Broken(
            "csv-bad-number",
            "楼栋.csv",
            "编号,经度,纬度\nB9,112.97,22.93\nB10,东经112度,22.93\n".encode(),
            "应为数字",
            ("file", "row", 2, "经度"),
        ),
        Broken(
            "csv-bad-wkt",
            "楼栋.csv",
            b'code,wkt\nB9,"POLYGON((1 2, 3"\n',
            "WKT",
            ("file", "row", 1, "wkt"),
        ),
        Broken(
            "csv-shift-jis",
            "楼栋.csv",
            f'code,name,wkt\nB9,東京タワー駅前ビル,"{wkt}"\nB10,ひまわり荘,"{wkt}"\n'.encode(
                "shift_jis"
            ),
            "编码",
            ("file", "encoding"),
        ),
    ]


#: The ids of :func:`broken_files`, for parametrising (the files are built per test).
BROKEN_IDS = (
    "gpkg-truncated",
    "gpkg-noise",
    "gpkg-plain-sqlite",
    "gpkg-empty",
    "geojson-noise",
    "geojson-truncated",
    "geojson-not-geojson",
    "geojson-open-ring",
    "geojson-empty",
    "geojson-no-features",
    "zip-noise",
    "zip-empty",
    "zip-without-shp",
    "zip-without-dbf",
    "zip-broken-shp",
    "txt",
    "xlsx",
    "csv-is-xlsx",
    "csv-binary",
    "csv-empty",
    "csv-blank-lines",
    "csv-header-only",
    "csv-open-quote",
    "csv-too-many-values",
    "csv-duplicate-column",
    "csv-no-coordinates",
    "csv-no-code",
    "csv-bad-number",
    "csv-bad-wkt",
    "csv-shift-jis",
)


def broken_file(tmp: Path, case_id: str) -> Broken:
    """The broken file of id ``case_id``, built in ``tmp``."""
    cases = {b.id: b for b in broken_files(tmp)}
    assert set(cases) == set(BROKEN_IDS)
    return cases[case_id]
