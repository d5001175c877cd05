"""Tests of layers.io.osm: OSM extracts (PBF and XML) and GeoJSON line files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import geopandas as gpd

from layers.errors import BadFile, InvalidGeometry
from layers.io.osm import OsmExtract, read_lines, read_osm
from layers.network import build_network

REAL = Path("/work/shared/data/real")
CAU = REAL / "beijing-haidian-cau-osm"
NANJING = REAL / "nanjing-xuanwu-osm"
needs_cau = pytest.mark.skipif(not CAU.exists(), reason="real CAU extract not available")
needs_nanjing = pytest.mark.skipif(not NANJING.exists(), reason="real Nanjing extract missing")

LAYERS = ("ways", "buildings", "residential", "barriers", "gates", "pois")

TINY = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  <node id="1" lat="40.0000" lon="116.3000"/>
  <node id="2" lat="40.0000" lon="116.3010"/>
  <node id="3" lat="40.0000" lon="116.3020">
    <tag k="barrier" v="gate"/>
    <tag k="name" v="东门"/>
    <tag k="access" v="private"/>
  </node>
  <node id="4" lat="40.0010" lon="116.3010"/>
  <node id="5" lat="40.0010" lon="116.3020">
    <tag k="entrance" v="main"/>
  </node>
  <node id="6" lat="40.0005" lon="116.3005">
    <tag k="amenity" v="cafe"/>
    <tag k="name" v="咖啡馆"/>
  </node>
  <node id="7" lat="40.0005" lon="116.3006">
    <tag k="barrier" v="bollard"/>
  </node>
  <node id="10" lat="40.0020" lon="116.3000"/>
  <node id="11" lat="40.0020" lon="116.3004"/>
  <node id="12" lat="40.0024" lon="116.3004"/>
  <node id="13" lat="40.0024" lon="116.3000"/>
  <way id="100">
    <nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/>
    <tag k="building" v="residential"/>
    <tag k="building:levels" v="6"/>
    <tag k="height" v="18.5 m"/>
    <tag k="name" v="1号楼"/>
  </way>
  <way id="101">
    <nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/>
    <tag k="barrier" v="wall"/>
  </way>
  <way id="102">
    <nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/>
    <tag k="landuse" v="residential"/>
    <tag k="name" v="幸福小区"/>
  </way>
  <way id="200">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="footway"/>
    <tag k="name" v="林荫小路"/>
  </way>
  <way id="201">
    <nd ref="2"/><nd ref="4"/>
    <tag k="highway" v="motorway"/>
  </way>
  <way id="202">
    <nd ref="3"/><nd ref="5"/>
    <tag k="highway" v="service"/>
    <tag k="access" v="private"/>
  </way>
  <way id="203">
    <nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="service"/>
    <tag k="access" v="private"/>
    <tag k="foot" v="yes"/>
  </way>
  <way id="204">
    <nd ref="1"/><nd ref="4"/>
    <tag k="highway" v="construction"/>
  </way>
</osm>
"""


def counts(extract: OsmExtract) -> dict[str, int]:
    return {name: len(getattr(extract, name)) for name in LAYERS}


def test_tiny_hand_written_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY, encoding="utf-8")
    seen: list[int] = []
    osm = read_osm(path, progress=seen.append)
    assert seen[-1] > 0

    assert osm.ways["code"].tolist() == ["w200", "w203"]
    assert osm.ways["highway"].tolist() == ["footway", "service"]
    assert osm.ways["name"].tolist() == ["林荫小路", None]
    assert list(osm.ways.columns) == ["code", "highway", "name", "geometry"]
    assert osm.ways.geometry.iloc[0].coords[:] == [(116.3, 40.0), (116.301, 40.0), (116.302, 40.0)]

    assert len(osm.buildings) == 1
    building = osm.buildings.iloc[0]
    assert (building["code"], building["name"], building["building"]) == (
        "w100",
        "1号楼",
        "residential",
    )
    assert building["levels"] == 6.0
    assert building["height_m"] == 18.5
    assert building.geometry.geom_type == "Polygon"
    assert building.geometry.exterior.coords[0] == (116.3, 40.002)

    assert osm.residential[["code", "name"]].values.tolist() == [["w102", "幸福小区"]]
    assert osm.residential.geometry.iloc[0].geom_type == "Polygon"

    assert osm.barriers[["code", "barrier"]].values.tolist() == [["w101", "wall"]]
    wall = osm.barriers.geometry.iloc[0]
    assert wall.geom_type == "LineString"
    assert wall.is_ring

    gates = osm.gates.set_index("code")
    assert gates.index.tolist() == ["n3", "n5"]
    assert gates.loc["n3", ["name", "kind", "is_open"]].tolist() == ["东门", "gate", False]
    assert gates.loc["n5", ["name", "kind", "is_open"]].tolist() == [None, "main", True]
    assert osm.gates.geometry.iloc[0].coords[:] == [(116.302, 40.0)]

    assert osm.pois[["code", "name", "amenity", "shop", "leisure"]].values.tolist() == [
        ["n6", "咖啡馆", "cafe", None, None]
    ]
    for name in LAYERS:
        assert getattr(osm, name).crs == "EPSG:4326"


def test_empty_layers_keep_their_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.osm"
    path.write_text('<?xml version="1.0"?><osm version="0.6"></osm>', encoding="utf-8")
    osm = read_osm(path)
    assert counts(osm) == dict.fromkeys(LAYERS, 0)
    assert list(osm.buildings.columns) == [
        "code",
        "name",
        "building",
        "levels",
        "height_m",
        "geometry",
    ]
    assert list(osm.gates.columns) == ["code", "name", "kind", "is_open", "geometry"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.osm.pbf", b"\x00\x00\x00\x0dnot really a pbf at all"),
        ("page.osm", b"<html><body>not osm</body></html>"),
        ("cut.osm", b'<?xml version="1.0"?><osm version="0.6"><node id="1" lat="4'),
        ("text.osm", b"hello"),
        ("empty.osm.pbf", b""),
    ],
)
def test_broken_files_are_bad_files(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadFile) as info:
        read_osm(path)
    assert name in info.value.msg
    assert info.value.loc == ("file",)


def test_missing_file_is_a_bad_file(tmp_path: Path) -> None:
    with pytest.raises(BadFile, match="不存在"):
        read_osm(tmp_path / "nothing.osm.pbf")


@needs_cau
def test_truncated_real_pbf_is_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.osm.pbf"
    path.write_bytes((CAU / "map.osm.pbf").read_bytes()[:5000])
    with pytest.raises(BadFile, match=r"cut\.osm\.pbf"):
        read_osm(path)


@needs_cau
def test_real_extract_reads_the_same_from_pbf_and_xml() -> None:
    pbf = read_osm(CAU / "map.osm.pbf")
    xml = read_osm(CAU / "map.osm")
    assert counts(pbf) == counts(xml)
    for name in LAYERS:
        assert sorted(getattr(pbf, name)["code"]) == sorted(getattr(xml, name)["code"])
    assert len(pbf.buildings) == 257
    assert pbf.buildings["code"].is_unique
    assert pbf.buildings.geometry.is_valid.mean() > 0.95
    assert set(pbf.buildings.geom_type) <= {"Polygon", "MultiPolygon"}
    # building:levels is on only 6 buildings; the rest are NaN, never zero.
    assert pbf.buildings["levels"].notna().sum() == 6
    assert 10 <= len(pbf.residential) <= 12
    assert len(pbf.ways) > 250
    assert {"footway", "service", "primary"} <= set(pbf.ways["highway"])
    assert not set(pbf.ways["highway"]) & {"motorway", "construction", "proposed"}
    assert pbf.ways.geom_type.eq("LineString").all()
    assert len(pbf.barriers) > 10
    assert set(pbf.barriers["barrier"]) <= {"wall", "fence", "city_wall"}
    assert len(pbf.gates) > 15
    assert "gate" in set(pbf.gates["kind"])
    assert len(pbf.pois) > 100
    assert pbf.pois["amenity"].eq("restaurant").sum() > 20


@needs_cau
def test_real_extract_builds_a_mostly_connected_network() -> None:
    osm = read_osm(CAU / "map.osm.pbf")
    utm = "EPSG:32650"
    ways = osm.ways.to_crs(utm)
    net = build_network(
        ways, barriers=osm.barriers.to_crs(utm).geometry, gates=osm.gates.to_crs(utm)
    )
    edges = net.edges
    main = net.nodes["component"].to_numpy()[edges["source"].to_numpy()] == 0
    assert main.mean() > 0.85
    assert edges.loc[main, "length_m"].sum() > 0.85 * edges["length_m"].sum()
    # Nothing but the wall gaps goes missing (connectors only add length).
    made = edges["way_code"] == ""
    kept = edges.loc[~made, "length_m"].sum()
    assert ways.length.sum() - 50 < kept <= ways.length.sum() + 1e-6
    gate_edges = edges[edges["gate_code"].notna()]
    assert len(gate_edges) >= 10
    assert set(gate_edges["gate_code"]) <= set(osm.gates["code"])
    assert set(net.unconnected_gates) <= set(osm.gates["code"])


@needs_nanjing
def test_nanjing_extract() -> None:
    pbf = read_osm(NANJING / "osm_bbox.osm.pbf")
    xml = read_osm(NANJING / "osm_bbox.osm.xml")
    assert counts(pbf) == counts(xml)
    # 1,278 building objects; one multipolygon lacks a member way in the extract.
    assert 1270 <= len(pbf.buildings) <= 1278
    assert pbf.buildings["levels"].notna().sum() > 100
    heights = pbf.buildings["height_m"].dropna()
    assert len(heights) > 40
    assert (heights >= 0).all()
    assert heights.max() > 100  # the tower blocks round Xinjiekou
    assert len(pbf.residential) == 11
    assert set(pbf.barriers["barrier"]) == {"city_wall"}
    assert pbf.ways["highway"].value_counts().index[0] == "footway"
    assert not math.isnan(pbf.buildings.total_bounds[0])


# --- read_lines --------------------------------------------------------------------------------


def feature(coords: Any, kind: str = "LineString", **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": kind, "coordinates": coords},
    }


def test_read_lines_geojson_codes_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "lines.geojson"
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature([[116.30, 40.0], [116.31, 40.0]], 编号="A-1", name="主路", highway="service"),
            feature([[116.30, 40.0], [116.30, 40.01]], 编号=None, name=None),
            feature(
                [[[116.3, 40.0], [116.3, 40.1]], [[116.4, 40.0], [116.4, 40.1]]],
                "MultiLineString",
                编号="M",
            ),
        ],
    }
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    lines = read_lines(path)
    assert list(lines.columns) == ["code", "highway", "name", "geometry"]
    assert lines["code"].tolist() == ["A-1", "l1", "M"]
    assert lines["name"].tolist() == ["主路", None, None]
    assert lines["highway"].tolist() == ["service", None, None]
    assert lines.crs == "EPSG:4326"
    assert lines.geom_type.tolist() == ["LineString", "LineString", "MultiLineString"]


@pytest.mark.parametrize("suffix", [".geojsonl", ".geojsons", ".ndjson"])
def test_read_lines_line_delimited(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"lines{suffix}"
    rows = [
        feature([[116.30, 40.0], [116.31, 40.0]], id=7, name="甲"),
        feature([[116.30, 40.0], [116.30, 40.01]], id=8),
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    lines = read_lines(path)
    assert lines["code"].tolist() == ["7", "8"]
    assert lines["name"].tolist() == ["甲", None]
    assert len(lines) == 2


def test_read_lines_refuses_points_and_other_formats(tmp_path: Path) -> None:
    path = tmp_path / "mixed.geojson"
    collection = {
        "type": "FeatureCollection",
        "features": [feature([[116.3, 40.0], [116.31, 40.0]]), feature([116.3, 40.0], "Point")],
    }
    path.write_text(json.dumps(collection), encoding="utf-8")
    with pytest.raises(InvalidGeometry) as info:
        read_lines(path)
    assert info.value.loc == ("file", "row", 2, "geometry")
    with pytest.raises(BadFile, match="不支持"):
        read_lines(tmp_path / "lines.csv")
    with pytest.raises(BadFile, match="不存在"):
        read_lines(tmp_path / "missing.geojson")
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(BadFile, match=r"broken\.geojson"):
        read_lines(broken)


def test_read_lines_feed_build_network(tmp_path: Path) -> None:
    path = tmp_path / "drawn.geojson"
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature([[116.300, 40.000], [116.302, 40.000]], code="h"),
            feature([[116.301, 39.999], [116.301, 40.001]], code="v"),
        ],
    }
    path.write_text(json.dumps(collection), encoding="utf-8")
    lines = read_lines(path).to_crs("EPSG:32650")
    assert len(build_network(lines).edges) == 2
    net = build_network(lines, node_crossings=True)
    assert len(net.edges) == 4
    assert np.bincount(np.r_[net.edges["source"], net.edges["target"]]).max() == 4
    assert isinstance(net.edges, gpd.GeoDataFrame)
