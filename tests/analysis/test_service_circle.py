"""Tests of the 15-minute service circle adapter (no DB).

The hand network is drawn in tests/analysis/hand_network.py; with the east gate closed and a
300 m limit, B1 walks 250 m through the south gate, B2 302 m (2 m short), B3 405 m and B4
80 m (on SP1's own street edge).
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from bench import cities
from gis_api.analysis import errors
from gis_api.analysis import service_circle as sc
from gis_api.analysis import walknet as wn
from tests.analysis.hand_network import (
    BUILDING_XY,
    COMPOUND,
    X0,
    Y0,
    hand_edges,
    split_graph,
    xy,
)

METRIC = "EPSG:32649"
LIMIT = 300.0


def square(p: tuple[float, float], half: float) -> shapely.Polygon:
    x, y = xy(p)
    return shapely.box(x - half, y - half, x + half, y + half)


@pytest.fixture
def edges() -> gpd.GeoDataFrame:
    e = hand_edges()
    geometry = e.pop("geometry")
    return gpd.GeoDataFrame(e, geometry=geometry, crs=METRIC)


@pytest.fixture
def buildings() -> gpd.GeoDataFrame:
    half = {"B1": 5, "B2": 3, "B3": 5, "B4": 5}
    return gpd.GeoDataFrame(
        {
            "building_id": list(BUILDING_XY),
            "households": [100, 60, 40, 20],
            "residents": [300.0, np.nan, 120.0, 50.0],
            "compound": ["C1", "C1", None, None],
            "grid": ["G01", "G01", "G02", "G01"],
            "community": ["Q1", "Q1", "Q2", "Q1"],
        },
        geometry=[square(p, half[k]) for k, p in BUILDING_XY.items()],
        crs=METRIC,
    )


def make_points(**extra: tuple[tuple[float, float], str, bool]) -> gpd.GeoDataFrame:
    rows = {"SP1": ((-100, -20), "centre", True), "SP3": ((60, 130), "red_house", False)}
    rows.update(extra)
    return gpd.GeoDataFrame(
        {
            "service_point_id": list(rows),
            "kind": [r[1] for r in rows.values()],
            "is_open": [r[2] for r in rows.values()],
        },
        geometry=[shapely.Point(xy(r[0])) for r in rows.values()],
        crs=METRIC,
    )


@pytest.fixture
def points() -> gpd.GeoDataFrame:
    return make_points()


@pytest.fixture
def walled() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"compound": ["C1"]}, geometry=[COMPOUND], crs=METRIC)


def cover(
    buildings: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame | None,
    walled: gpd.GeoDataFrame | None,
    closed: tuple[str, ...] = ("G-E",),
    **kwargs: Any,
) -> sc.Coverage:
    return sc.service_coverage(
        buildings, points, edges, walled=walled, closed_gates=closed, limit_m=LIMIT, **kwargs
    )


# --- the hand network -------------------------------------------------------------------------


def test_walk_through_the_open_gate(buildings, points, edges, walled) -> None:
    cov = cover(buildings, points, edges, walled)
    b = cov.buildings
    assert not cov.approximate
    assert b["building_id"].tolist() == ["B1", "B2", "B3", "B4"]
    np.testing.assert_allclose(b["walk_m"], [250.0, 302.0, 405.0, 80.0], atol=1e-9)
    np.testing.assert_allclose(b["walk_min"], b["walk_m"] / (1000 / 15))
    assert b["walk_min"].iloc[0] == pytest.approx(3.75)
    assert b["covered"].tolist() == [True, False, False, True]
    np.testing.assert_allclose(b["access_m"], [20.0, 30.0, 60.0, 30.0])
    assert b["nearest_service_point_id"].tolist() == ["SP1"] * 4
    assert not b["snap_unrestricted"].any()
    p = cov.points.set_index("service_point_id")
    assert p.loc["SP1", "access_m"] == pytest.approx(10.0)
    assert p.loc["SP1", "buildings_served"] == 2
    assert p.loc["SP1", "households_served"] == 120
    assert p.loc["SP3", "buildings_served"] == 0


def test_big_loop_when_the_near_gate_is_closed(buildings, points, edges, walled) -> None:
    cov = cover(buildings, points, edges, walled, closed=("G-S",))
    np.testing.assert_allclose(cov.buildings["walk_m"], [370.0, 338.0, 405.0, 80.0], atol=1e-9)
    assert cov.buildings["covered"].tolist() == [False, False, False, True]


def test_both_gates_closed_leaves_the_compound_unreachable(
    buildings, points, edges, walled
) -> None:
    cov = cover(buildings, points, edges, walled, closed=("G-S", "G-E"))
    b = cov.buildings
    assert b["walk_m"].iloc[:2].isna().all()
    assert b["walk_min"].iloc[:2].isna().all()
    assert not b["covered"].iloc[:2].any()
    assert b["nearest_service_point_id"].iloc[:2].isna().all()
    np.testing.assert_allclose(b["walk_m"].iloc[2:], [405.0, 80.0])


def test_walls_change_the_walk(buildings, points, edges) -> None:
    # Without the wall rule B2 joins the east street 18 m away at (110,90) and walks
    # 18 + 30 + 70 + 60 + 150 + 10 around the outside.
    cov = cover(buildings, points, edges, None)
    assert cov.buildings["access_m"].iloc[1] == pytest.approx(18.0)
    assert cov.buildings["walk_m"].iloc[1] == pytest.approx(338.0)


def test_closed_points_serve_nobody(buildings, edges, walled) -> None:
    closed = cover(buildings, make_points(), edges, walled)
    opened = cover(buildings, make_points(SP3=((60, 130), "red_house", True)), edges, walled)
    assert closed.buildings["walk_m"].iloc[2] == pytest.approx(405.0)
    # SP3 joins the east street at (110,130): 60 + 15 + 50.
    assert opened.buildings["walk_m"].iloc[2] == pytest.approx(125.0)
    assert opened.buildings["nearest_service_point_id"].iloc[2] == "SP3"
    assert closed.areas is not None and closed.areas["service_point_id"].tolist() == ["SP1"]


def test_nearest_by_kind(buildings, edges, walled) -> None:
    pts = make_points(SP3=((60, 130), "red_house", True))
    cov = cover(buildings, pts, edges, walled)
    k = cov.by_kind
    assert list(k.columns) == list(sc.KINDS)
    np.testing.assert_allclose(k["centre"], [250.0, np.nan, np.nan, 80.0])
    # SP3 to B1 through the south gate is 50+70+70+60+9+2+59+20 = 340 > 300.
    np.testing.assert_allclose(k["red_house"], [np.nan, np.nan, 125.0, np.nan])
    assert k["sub_centre"].isna().all()
    within = (k.to_numpy() <= LIMIT).any(axis=1)
    np.testing.assert_array_equal(within, cov.buildings["covered"].to_numpy())


def test_service_area_follows_the_streets_and_cuts_partial_edges(
    buildings, points, edges, walled
) -> None:
    cov = cover(buildings, points, edges, walled)
    assert cov.areas is not None
    area = cov.areas.geometry.iloc[0]
    minx, _, maxx, maxy = area.bounds
    buffer_m = sc.STREET_BUFFER_M
    # 80 m remain at (110,-10): the street is reached to x = 190, no farther.
    assert maxx - buffer_m - X0 == pytest.approx(190.0, abs=1.0)
    # 10 m remain at (110,60) going north.
    assert maxy - buffer_m - Y0 == pytest.approx(70.0, abs=1.0)
    assert minx + buffer_m - X0 == pytest.approx(-200.0, abs=1.0)  # the street's end
    assert area.contains(shapely.Point(xy((50, 40))))  # up the lane through the open gate
    assert not area.contains(shapely.Point(xy((110, 150))))  # a compass circle would
    assert not area.contains(shapely.Point(xy((250, -10))))
    # The access leg of SP1 is walked too.
    assert area.contains(shapely.Point(xy((-100, -19))))
    street = 250 + 60 + 80 + 9 + 2 + 59 + 49 + 70 + 10 + 9 + 60 * 2**0.5
    assert cov.areas["street_m"].iloc[0] == pytest.approx(street)
    assert cov.areas.crs == buildings.crs


def test_service_areas_can_be_skipped(buildings, points, edges, walled) -> None:
    assert cover(buildings, points, edges, walled, with_areas=False).areas is None


def test_approximate_without_a_network(buildings, points, edges, walled) -> None:
    for none in (None, edges.iloc[:0]):
        cov = cover(buildings, points, none, walled)
        assert cov.approximate
        straight = np.hypot(150, 100)
        assert cov.buildings["walk_m"].iloc[0] == pytest.approx(straight * 1.3)
        assert cov.buildings["access_m"].isna().all()
        assert cov.areas is not None
        minx, _, maxx, _ = cov.areas.geometry.iloc[0].bounds
        assert (maxx - minx) / 2 == pytest.approx(LIMIT / 1.3, rel=1e-3)
    cov = cover(buildings, points, None, None, detour_factor=1.5)
    assert cov.buildings["walk_m"].iloc[0] == pytest.approx(np.hypot(150, 100) * 1.5)


def test_ids_may_be_the_index(buildings, points, edges, walled) -> None:
    cov = cover(
        buildings.set_index("building_id"), points.set_index("service_point_id"), edges, walled
    )
    assert cov.buildings["building_id"].tolist() == ["B1", "B2", "B3", "B4"]


# --- summaries and scenarios ------------------------------------------------------------------


def test_summarize_by_community(buildings, points, edges, walled) -> None:
    cov = cover(buildings, points, edges, walled)
    s = sc.summarize(cov, buildings, points, by="community")
    assert s.index.tolist() == ["Q1", "Q2"]
    q1 = s.loc["Q1"]
    assert (q1["buildings"], q1["buildings_covered"]) == (3, 2)
    assert (q1["households"], q1["households_covered"]) == (180, 120)
    assert q1["households_covered_share"] == pytest.approx(120 / 180)
    # B2's residents are unknown: left out of both sums.
    assert (q1["residents"], q1["residents_covered"]) == (350, 350)
    assert q1["residents_covered_share"] == pytest.approx(1.0)
    assert q1["households_covered_centre"] == 120
    assert q1["households_covered_red_house"] == 0
    q2 = s.loc["Q2"]
    assert (q2["buildings_covered"], q2["households_covered"], q2["residents_covered"]) == (0, 0, 0)
    assert q2["households_covered_share"] == 0


def test_summarize_by_grid_and_compound(buildings, edges, walled) -> None:
    pts = make_points(SP3=((60, 130), "red_house", True))
    cov = cover(buildings, pts, edges, walled)
    g = sc.summarize(cov, buildings, pts, by="grid")
    assert g.loc["G02", "households_covered_red_house"] == 40
    assert g.loc["G02", "households_covered"] == 40
    assert g.loc["G01", "households_covered"] == 120
    c = sc.summarize(cov, buildings, pts, by="compound")
    assert c.loc["C1", "buildings"] == 2
    assert c.loc["C1", "households_covered"] == 100
    outside = c[c.index.isna()]
    assert outside["buildings"].iloc[0] == 2
    assert outside["households_covered"].iloc[0] == 60


def test_uncovered_nearest_to_the_edge_first(buildings, points, edges, walled) -> None:
    u = sc.uncovered(cover(buildings, points, edges, walled), buildings)
    assert u["building_id"].tolist() == ["B2", "B3"]
    np.testing.assert_allclose(u["gap_m"], [2.0, 105.0])
    assert u.crs == buildings.crs
    assert u.geometry.iloc[0].equals(buildings.geometry.iloc[1])
    shut = sc.uncovered(cover(buildings, points, edges, walled, closed=("G-S", "G-E")), buildings)
    assert shut["building_id"].tolist() == ["B3", "B1", "B2"]  # unreachable last
    assert shut["gap_m"].iloc[1:].isna().all()


def test_compare_closing_a_gate(buildings, points, edges, walled) -> None:
    before = cover(buildings, points, edges, walled, closed=("G-E",))
    after = cover(buildings, points, edges, walled, closed=("G-S",))
    diff = sc.compare(before, after, buildings)
    assert diff.gained == ()
    assert diff.lost == ("B1",)
    assert (diff.households_lost, diff.residents_lost) == (100, 300)
    assert diff.households_net == -100


def test_compare_opening_and_adding_points(buildings, edges, walled) -> None:
    before = cover(buildings, make_points(), edges, walled)
    more = make_points(SP3=((60, 130), "red_house", True), SP2=((55, 40), "sub_centre", True))
    after = cover(buildings, more, edges, walled)
    diff = sc.compare(before, after, buildings)
    # SP2 joins lane L1 at (50,40): B2 walks 30 + 42 + 20 + 5 = 97.
    assert after.buildings["walk_m"].iloc[1] == pytest.approx(97.0)
    assert diff.gained == ("B2", "B3")
    assert diff.lost == ()
    assert (diff.households_gained, diff.residents_gained) == (100, 120)  # B2 residents unknown
    back = sc.compare(after, before, buildings)
    assert back.lost == ("B2", "B3") and back.households_net == -100


def test_compare_refuses_mixed_methods(buildings, points, edges, walled) -> None:
    with pytest.raises(errors.CoverageMismatchError, match="直线"):
        sc.compare(
            cover(buildings, points, edges, walled), cover(buildings, points, None, None), buildings
        )


# --- limits -----------------------------------------------------------------------------------


def test_limit_from_gb50180() -> None:
    assert sc.limit_from() == 1000.0
    assert sc.limit_from(minutes=15) == 1000.0
    assert sc.limit_from(minutes=10) == 500.0
    assert sc.limit_from(minutes=5) == 300.0
    assert sc.limit_from(minutes=12) == pytest.approx(800.0)
    assert sc.limit_from(minutes=10, speed_m_per_min=80) == 800.0
    assert sc.limit_from(metres=750) == 750.0
    with pytest.raises(errors.OptionError, match="只能给出一个"):
        sc.limit_from(metres=500, minutes=10)
    with pytest.raises(errors.OptionError, match="minutes"):
        sc.limit_from(minutes=-1)


# --- validation -------------------------------------------------------------------------------


def test_geographic_crs_is_refused(buildings, points, edges, walled) -> None:
    with pytest.raises(errors.CrsError, match=r"buildings.*EPSG:4326.*地理坐标系"):
        cover(buildings.to_crs(4326), points, edges, walled)
    with pytest.raises(errors.CrsError, match="没有坐标系"):
        cover(buildings.set_crs(None, allow_override=True), points, edges, walled)
    # Geographic is refused even without a network.
    with pytest.raises(errors.CrsError, match="points"):
        cover(buildings, points.to_crs(4490), None, None)


def test_mixed_crs_is_refused(buildings, points, edges, walled) -> None:
    with pytest.raises(errors.CrsMismatchError, match=r"edges.*32650"):
        cover(buildings, points, edges.set_crs(32650, allow_override=True), walled)


def test_duplicate_ids_are_refused(buildings, points, edges, walled) -> None:
    dup = buildings.assign(building_id=["B1", "B2", "B1", "B4"])
    with pytest.raises(errors.DuplicateIdError, match=r"building_id.*B1"):
        cover(dup, points, edges, walled)
    twice = pd.concat([points, points])
    with pytest.raises(errors.DuplicateIdError, match="SP1"):
        cover(buildings, twice, edges, walled)
    assert issubclass(errors.DuplicateIdError, ValueError)


def test_empty_and_wrong_geometry_is_refused(buildings, points, edges, walled) -> None:
    empty = buildings.copy()
    empty.loc[1, "geometry"] = shapely.Polygon()
    with pytest.raises(errors.GeometryError, match=r"B2.*为空"):
        cover(empty, points, edges, walled)
    as_points = buildings.copy()
    as_points["geometry"] = as_points.geometry.centroid
    with pytest.raises(errors.GeometryError, match=r"B1.*Point"):
        cover(as_points, points, edges, walled)
    bowtie = buildings.copy()
    bowtie.loc[0, "geometry"] = shapely.Polygon(
        [xy((45, 75)), xy((55, 85)), xy((55, 75)), xy((45, 85))]
    )
    with pytest.raises(errors.GeometryError, match=r"B1.*无效"):
        cover(bowtie, points, edges, walled)


def test_bad_options_and_columns_are_refused(buildings, points, edges, walled) -> None:
    with pytest.raises(errors.UnknownGateError, match="G-X"):
        cover(buildings, points, edges, walled, closed=("G-X",))
    with pytest.raises(errors.OptionError, match="closed_gates"):
        sc.service_coverage(buildings, points, edges, closed_gates="G-E")
    with pytest.raises(errors.OptionError, match="limit_m"):
        sc.service_coverage(buildings, points, edges, limit_m=0)
    with pytest.raises(errors.MissingColumnError, match="households"):
        cover(buildings.drop(columns="households"), points, edges, walled)
    with pytest.raises(errors.MissingColumnError, match="building_id"):
        cover(buildings.drop(columns="building_id"), points, edges, walled)
    with pytest.raises(errors.InvalidValueError, match="library"):
        cover(buildings, points.assign(kind=["centre", "library"]), edges, walled)
    with pytest.raises(errors.InvalidValueError, match="is_open"):
        cover(buildings, points.assign(is_open=[True, None]), edges, walled)
    cov = cover(buildings, points, edges, walled)
    with pytest.raises(errors.OptionError, match="street"):
        sc.summarize(cov, buildings, points, by="street")
    with pytest.raises(errors.CoverageMismatchError, match="buildings"):
        sc.summarize(cov, buildings.iloc[:3], points, by="grid")
    with pytest.raises(errors.CoverageMismatchError, match="points"):
        sc.summarize(cov, buildings, make_points(SP9=((0, 0), "other", True)), by="grid")


# --- an independent check on a generated city -------------------------------------------------


@pytest.fixture(scope="module")
def city() -> dict[str, Any]:
    c = cities.generate(1500, seed=11, crs=METRIC)
    return {
        "edges": c.edges,
        "walled": c.walled,
        "buildings": c.buildings,
        "points": c.layers["service_points"].rename(columns={"code": "service_point_id"}),
        "shut": c.closed_gates,
    }


def test_walks_match_networkx_on_a_generated_city(city) -> None:
    b, p, e = city["buildings"], city["points"], city["edges"]
    cov = sc.service_coverage(
        b, p, e, walled=city["walled"], closed_gates=city["shut"], limit_m=300.0
    )
    assert len(city["shut"]) > 0
    # The same graph and snaps, then an explicit networkx graph routed independently.
    g = wn.build_graph(
        e["source"].to_numpy(),
        e["target"].to_numpy(),
        e["length_m"].to_numpy(),
        e.geometry.array,
        gate=e["gate"].to_numpy(dtype=object),
        closed_gates=city["shut"],
        walled=city["walled"].geometry.array,
    )
    bs = wn.snap_points(g, shapely.get_coordinates(b.geometry.representative_point().array))
    opened = p[p["is_open"]]
    ps = wn.snap_points(g, shapely.get_coordinates(opened.geometry.array))
    G = split_graph(g, {"b": bs, "p": ps})
    ref = nx.multi_source_dijkstra_path_length(G, [("p", i) for i in range(len(ps))])
    expect = np.array([ref.get(("b", j), np.nan) for j in range(len(bs))])
    got = cov.buildings["walk_m"].to_numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expect))
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-6)
    np.testing.assert_allclose(cov.buildings["access_m"], bs.access_m)
    assert 0.2 < cov.buildings["covered"].mean() < 1.0


def test_snapping_matches_brute_force_on_a_generated_city(city) -> None:
    b, e, walled = city["buildings"], city["edges"], city["walled"]
    cov = sc.service_coverage(
        b, city["points"], e, walled=walled, closed_gates=city["shut"], with_areas=False
    )
    keep = ~e["gate"].isin(city["shut"]) & e["gate"].isna()  # gate edges are never joined
    cand = e[keep]
    mid = gpd.GeoDataFrame(geometry=cand.geometry.interpolate(0.5, normalized=True), crs=METRIC)
    edge_zone = (
        gpd.sjoin(mid, walled, predicate="within", how="left").groupby(level=0)["compound"].first()
    )
    rng = np.random.default_rng(0)
    rep = b.geometry.representative_point()
    for i in rng.choice(len(b), 150, replace=False):
        zone = b["compound"].iloc[i]
        same = edge_zone.isna() if pd.isna(zone) else edge_zone == zone
        d = cand.geometry[same.to_numpy()].distance(rep.iloc[i]).min()
        assert cov.buildings["snap_unrestricted"].iloc[i] == (d > wn.SNAP_SEARCH_M)
        if d <= wn.SNAP_SEARCH_M:
            assert cov.buildings["access_m"].iloc[i] == pytest.approx(d, abs=1e-6)


def test_closing_gates_never_gains_on_a_generated_city(city) -> None:
    b, p, e, walled = city["buildings"], city["points"], city["edges"], city["walled"]
    before = sc.service_coverage(
        b, p, e, walled=walled, closed_gates=city["shut"], with_areas=False
    )
    some = set(e["gate"].dropna().iloc[::3])
    after = sc.service_coverage(
        b, p, e, walled=walled, closed_gates=city["shut"] | some, with_areas=False
    )
    diff = sc.compare(before, after, b)
    assert diff.gained == ()
    assert len(diff.lost) > 0
    assert diff.households_lost == pytest.approx(
        b.set_index("building_id").loc[list(diff.lost), "households"].sum()
    )
    s = sc.summarize(after, b, p, by="community")
    assert s["buildings"].sum() == len(b)
    assert s["households_covered"].sum() == pytest.approx(
        b["households"].to_numpy()[after.buildings["covered"].to_numpy()].sum()
    )


def test_no_open_point_covers_nobody(buildings, edges, walled) -> None:
    shut = make_points(SP1=((-100, -20), "centre", False))
    for net in (edges, None):
        cov = cover(buildings, shut, net, walled)
        assert not cov.buildings["covered"].any()
        assert cov.buildings["walk_m"].isna().all()
        assert cov.buildings["nearest_service_point_id"].isna().all()
        assert cov.areas is not None and len(cov.areas) == 0
    s = sc.summarize(cov, buildings, shut, by="grid")
    assert (s["households_covered"] == 0).all()
    assert sc.uncovered(cov, buildings)["building_id"].tolist() == ["B1", "B2", "B3", "B4"]
