"""Tests of layers.synth: the generated Qiaohua demo community and generated cities (no DB)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from geopandas.testing import assert_geodataframe_equal

from layers.schema import LAYERS
from layers.synth import QIAOHUA, XIQIAO_CENTER, SynthCity, generate_city, generate_community

METRIC = "EPSG:32649"
# The real town boundaries (OpenStreetMap), as shipped with the package's demo data.
TOWNS = Path(__file__).parents[2] / "layers" / "data" / "nanhai" / "nanhai_towns_real.geojson"


@pytest.fixture(scope="module")
def demo() -> SynthCity:
    return generate_community()


@pytest.fixture(scope="module")
def metric(demo: SynthCity) -> dict[str, gpd.GeoDataFrame]:
    out = {name: frame.to_crs(METRIC) for name, frame in demo.layers.items()}
    out["ways"] = demo.ways.to_crs(METRIC)
    return out


@pytest.fixture(scope="module")
def city() -> SynthCity:
    return generate_city(n_buildings=2000)


def _edges_after_split(ways: gpd.GeoDataFrame) -> tuple[int, int]:
    """Edges and nodes of the network the builder makes: lines split where vertices are shared."""
    xy, line = shapely.get_coordinates(ways.geometry.values, return_index=True)
    df = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "line": line})
    uses = df.drop_duplicates().groupby(["x", "y"]).size().rename("uses")
    df = df.join(uses, on=["x", "y"])
    end = np.r_[True, line[1:] != line[:-1]] | np.r_[line[1:] != line[:-1], True]
    node = (df["uses"].to_numpy() >= 2) | end
    edges = int((np.bincount(line, weights=node) - 1).sum())
    nodes = len(df[node].drop_duplicates(["x", "y"]))
    return edges, nodes


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_output(demo: SynthCity) -> None:
    again = generate_community()
    for name, frame in demo.layers.items():
        assert_geodataframe_equal(frame, again.layers[name], check_less_precise=False)
    assert_geodataframe_equal(demo.ways, again.ways)


def test_other_seed_gives_other_place(demo: SynthCity) -> None:
    other = generate_community(seed=99)
    a, b = demo.layers["buildings"], other.layers["buildings"]
    assert len(a) != len(b) or not a.geometry.geom_equals(b.geometry).all()
    assert (
        not demo.layers["communities"]
        .geometry.iloc[0]
        .equals(other.layers["communities"].geometry.iloc[0])
    )


# ---------------------------------------------------------------- the demo's figures


def test_demo_totals_match_qiaohua(demo: SynthCity) -> None:
    b = demo.layers["buildings"]
    assert abs(b["households"].sum() / QIAOHUA["households"] - 1) <= 0.02
    assert abs(b["residents"].sum() / QIAOHUA["residents"] - 1) <= 0.02
    assert b["party_members"].sum() == 226
    assert (b["mobile_party_members"] <= b["party_members"]).all()
    assert (b["floating_residents"] <= b["residents"]).all()
    assert 400 <= len(b) <= 650
    assert b["occupancy"].between(0.3, 1.0).all()
    assert 0.5 <= b["lead_name"].notna().mean() <= 0.7
    comm = demo.layers["communities"].iloc[0]
    assert comm["code"] == "QH" and comm["name"] == "樵华社区" and comm["street"] == "440605-XQ"
    assert comm["households"] == b["households"].sum()
    assert comm["residents"] == b["residents"].sum()
    for key in ("registered_residents", "floating_residents", "staff", "cadres", "party_members"):
        assert comm[key] == QIAOHUA[key]


def test_demo_compounds_and_service_points(demo: SynthCity, metric: dict) -> None:
    compounds = demo.layers["compounds"]
    assert len(compounds) == 30
    assert set(compounds["maturity"]) == {"new", "mature", "old"}
    kinds = Counter(demo.layers["service_points"]["kind"])
    assert kinds["centre"] == 1
    assert kinds["sub_centre"] == 5
    assert kinds["activity_room"] == 4
    assert 2 <= kinds["red_house"] <= 3
    assert 30 <= len(demo.layers["candidate_venues"]) <= 40
    # Compound totals are the sums of the buildings standing in them.
    j = metric["buildings"].sjoin(metric["compounds"][["code", "geometry"]], predicate="within")
    sums = j.groupby("code_right")[["households", "residents"]].sum()
    c = compounds.set_index("code")
    assert (sums["households"] == c.loc[sums.index, "households"]).all()
    assert (sums["residents"] == c.loc[sums.index, "residents"]).all()
    # New estates have sub-centres, old estates activity rooms.
    sp = metric["service_points"].sjoin(metric["compounds"][["maturity", "geometry"]])
    assert (sp[sp["kind"] == "sub_centre"]["maturity"] != "old").all()
    assert (sp[sp["kind"] == "activity_room"]["maturity"] == "old").all()


def test_columns_are_the_schema_fields(demo: SynthCity, city: SynthCity) -> None:
    for place in (demo, city):
        assert set(place.layers) == {
            "communities",
            "grids",
            "compounds",
            "gates",
            "buildings",
            "service_points",
            "candidate_venues",
            "barriers",
        }
        for name, frame in place.layers.items():
            spec = LAYERS[name]
            expected = ["code"] + (["community"] if spec.community_scoped else [])
            expected += [f.name for f in spec.fields] + ["geometry"]
            assert list(frame.columns) == expected, name
            assert frame.crs.to_epsg() == 4326
            for f in spec.fields:
                values = frame[f.name].dropna()
                if f.choices:
                    assert set(values) <= set(f.choices), (name, f.name)
                if f.min is not None:
                    assert (values >= f.min).all(), (name, f.name)
                if f.max is not None:
                    assert (values <= f.max).all(), (name, f.name)
        assert list(place.ways.columns) == ["code", "highway", "name", "geometry"]
        assert place.ways.crs.to_epsg() == 4326


def test_codes_are_unique(demo: SynthCity, city: SynthCity) -> None:
    for place in (demo, city):
        for name, frame in place.layers.items():
            assert frame["code"].is_unique, name
        assert place.ways["code"].is_unique
    assert demo.layers["compounds"]["code"].str.fullmatch(r"QH-C\d{2}").all()
    assert demo.layers["buildings"]["code"].str.fullmatch(r"QH-B\d{4}").all()
    assert demo.layers["gates"]["code"].str.fullmatch(r"QH-C\d{2}-M\d").all()
    assert demo.layers["grids"]["code"].str.fullmatch(r"QH-G\d{2}").all()


# ---------------------------------------------------------------- geometry


def test_every_geometry_is_valid(demo: SynthCity, city: SynthCity) -> None:
    for place in (demo, city):
        for name, frame in place.layers.items():
            assert frame.geometry.notna().all() and not frame.geometry.is_empty.any(), name
            assert frame.geometry.is_valid.all(), name
        assert place.ways.geometry.is_valid.all()
        assert (place.ways.geom_type == "LineString").all()


def test_buildings_inside_compounds_and_apart(metric: dict) -> None:
    b, c = metric["buildings"], metric["compounds"]
    j = b.sjoin(c[["geometry"]], predicate="within")
    assert j.index.is_unique and len(j) == len(b)
    left, right = b.sindex.query(b.geometry, predicate="intersects")
    assert (left == right).all(), "buildings overlap or touch"
    assert (b.area > 50).all()


def test_compounds_inside_community_inside_xiqiao(metric: dict) -> None:
    community = metric["communities"].geometry.iloc[0]
    assert 5.2e6 <= community.area <= 5.8e6
    assert community.geom_type == "Polygon"
    grown = community.buffer(0.05)
    assert metric["compounds"].within(grown).all()
    for name in ("gates", "service_points", "candidate_venues", "buildings", "barriers"):
        assert metric[name].within(grown).all(), name
    # Irregular, not a rectangle or a circle.
    hull = community.convex_hull
    assert community.area / hull.area < 0.97
    towns = gpd.read_file(TOWNS)
    xiqiao = towns[towns["name"] == "西樵镇"].to_crs(METRIC).geometry.iloc[0]
    assert xiqiao.contains(community)
    assert xiqiao.contains(
        gpd.GeoSeries.from_xy(*[[v] for v in XIQIAO_CENTER], crs=4326).to_crs(METRIC).iloc[0]
    )


def test_gates_on_compound_walls(metric: dict, demo: SynthCity) -> None:
    gates, compounds = metric["gates"], metric["compounds"].set_index("code")
    walls = compounds.loc[gates["compound"]].boundary.to_numpy()
    assert (shapely.distance(gates.geometry.to_numpy(), walls) < 1.0).all()
    per = gates.groupby("compound").size()
    assert per.between(1, 4).all() and set(per.index) == set(compounds.index)
    assert (~demo.layers["gates"]["is_open"]).sum() >= 1
    assert set(demo.layers["gates"]["kind"]) <= {"pedestrian", "vehicle", "mixed"}


def test_lanes_cross_walls_only_at_gates(metric: dict) -> None:
    ways, compounds, gates = metric["ways"], metric["compounds"], metric["gates"]
    walls = gpd.GeoDataFrame(
        {"compound": compounds["code"]}, geometry=compounds.boundary, crs=METRIC
    )
    hits = ways.sjoin(walls, predicate="intersects")
    assert len(hits) > 0
    by_compound = {k: g.geometry.union_all() for k, g in gates.groupby("compound")}
    for i, row in hits.iterrows():
        wall = walls.geometry.iloc[row["index_right"]]
        meet = shapely.get_parts(shapely.intersection(ways.geometry.loc[i], wall))
        pts = shapely.get_coordinates(meet)
        gate_pts = by_compound[row["compound"]]
        assert shapely.distance(shapely.points(pts), gate_pts).max() < 1.0, row["code"]
    # No street runs through a compound.
    streets = ways[ways["highway"].isin(["primary", "secondary", "residential"])]
    assert len(streets.sjoin(compounds, predicate="crosses")) == 0


def test_ways_meet_at_shared_vertices(metric: dict, demo: SynthCity) -> None:
    ways = demo.ways
    edges, nodes = _edges_after_split(ways)
    assert edges > 2 * len(ways)
    assert nodes > len(ways)
    assert {"primary", "secondary", "residential", "service", "footway"} <= set(ways["highway"])
    streets = ways[ways["highway"].isin(["primary", "secondary", "residential"])]
    assert streets["name"].notna().all()
    assert {"樵华路", "新村大道"} <= set(streets["name"])
    # Each gate is a vertex of at least two ways (its lane and the connector to the street).
    xy = shapely.get_coordinates(ways.geometry.values)
    vertex_uses = Counter(map(tuple, xy))
    gate_xy = shapely.get_coordinates(demo.layers["gates"].geometry.values)
    assert all(vertex_uses[tuple(p)] >= 2 for p in gate_xy)
    # The network is mostly one piece: most ways touch the largest connected group.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    coords, line = shapely.get_coordinates(ways.geometry.values, return_index=True)
    _, vid = np.unique(coords, axis=0, return_inverse=True)
    vid = vid.ravel()
    n = len(ways) + vid.max() + 1
    g = coo_matrix((np.ones(len(line)), (line, len(ways) + vid)), shape=(n, n))
    _, label = connected_components(g, directed=False)
    biggest = np.bincount(label[: len(ways)]).max()
    assert biggest / len(ways) > 0.97


def test_grids_partition_the_community(metric: dict, demo: SynthCity) -> None:
    grids = metric["grids"]
    community = metric["communities"].geometry.iloc[0]
    assert 6 <= len(grids) <= 8
    assert abs(grids.union_all().area / community.area - 1) < 0.01
    left, right = grids.sindex.query(grids.geometry, predicate="intersects")
    overlap = sum(
        grids.geometry.iloc[a].intersection(grids.geometry.iloc[b]).area
        for a, b in zip(left, right, strict=True)
        if a < b
    )
    assert overlap < 1.0
    j = metric["buildings"].sjoin(grids[["code", "geometry"]], predicate="within")
    assert len(j) == len(metric["buildings"])
    sums = j.groupby("code_right")["households"].sum()
    assert (sums == grids.set_index("code").loc[sums.index, "households"]).all()
    assert grids["officer_phone"].str.fullmatch(r"138\d{8}").all()
    assert grids["officer_name"].str.len().between(2, 3).all()


def test_venues_legal_checks_vary(demo: SynthCity) -> None:
    v = demo.layers["candidate_venues"]
    checks = v[["lawyer_consulted", "housing_filed", "publicly_noticed", "property_recorded"]]
    complete = checks.all(axis=1)
    assert 0 < complete.sum() < len(v) / 2
    assert v["floor_area_m2"].between(20, 300).all()
    assert set(v["kind"]) == {"community_room", "property_room", "owners_centre", "stilted_floor"}


# ---------------------------------------------------------------- cities


def test_city_has_the_buildings_asked_for(city: SynthCity) -> None:
    b = city.layers["buildings"]
    assert 1800 <= len(b) <= 2200
    communities = city.layers["communities"]
    assert len(communities) >= 3
    codes = set(communities["code"])
    assert all(c.startswith("C") and len(c) == 4 for c in codes)
    for name, frame in city.layers.items():
        if LAYERS[name].community_scoped:
            assert set(frame["community"]) <= codes, name
    assert set(b["community"]) == codes
    # A building's community is the one its compound is in, and it stands inside it.
    metric = {k: v.to_crs(METRIC) for k, v in city.layers.items()}
    j = metric["buildings"].sjoin(
        metric["compounds"][["community", "geometry"]], predicate="within"
    )
    assert len(j) == len(b)
    assert (j["community_left"] == j["community_right"]).all()
    j = metric["buildings"].sjoin(metric["communities"][["code", "geometry"]], predicate="within")
    assert (j["community"] == j["code_right"]).all() and len(j) == len(b)
    totals = b.groupby("community")["households"].sum()
    assert (totals == communities.set_index("code").loc[totals.index, "households"]).all()
    gates = city.layers["gates"]
    assert set(gates["compound"]) == set(city.layers["compounds"]["code"])


def test_city_network_has_about_four_edges_per_building(city: SynthCity) -> None:
    edges, nodes = _edges_after_split(city.ways)
    n = len(city.layers["buildings"])
    assert 3.0 * n <= edges <= 5.5 * n
    assert nodes < edges


def test_city_is_deterministic() -> None:
    a = generate_city(n_buildings=600, seed=3)
    b = generate_city(n_buildings=600, seed=3)
    assert_geodataframe_equal(a.layers["buildings"], b.layers["buildings"])
    assert_geodataframe_equal(a.ways, b.ways)
    with pytest.raises(ValueError, match="n_buildings"):
        generate_city(n_buildings=0)
