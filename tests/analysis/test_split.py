"""Tests of the community split planner (no DB): hand-made layouts with known answers, shapes
that break naive code (no compounds, one compound, islands, no streets, no service points),
and the constraints on the generated Qiaohua community."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from shapely.geometry import LineString, Point, box

from bench import cities
from gis_api.analysis import split as sp
from gis_api.analysis.errors import (
    CrsError,
    InvalidValueError,
    LockConflictError,
    MissingColumnError,
    SplitColumnError,
    SplitCrsError,
    SplitInputError,
)

METRIC = "EPSG:32649"
X0, Y0 = 600_000.0, 2_500_000.0  # somewhere in UTM 49N, so coordinates look real


def at(geom: Any) -> Any:
    return shapely.transform(geom, lambda xy: xy + np.array([X0, Y0]))


def frame(rows: list[dict[str, Any]], geoms: list[Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=[at(g) for g in geoms], crs=METRIC)


def layout(
    community: Any,
    compounds: dict[str, Any],
    buildings: Sequence[tuple[str, str | None, float, Any]],
    *,
    streets: Sequence[Any] = (),
    points: Sequence[tuple[str, str, Any]] = (),
    grids: Sequence[tuple[str, Any]] = (),
) -> dict[str, Any]:
    """Layers of a hand-made community; buildings as (id, compound id, residents, geometry)."""
    return {
        "community": frame([{"code": "T"}], [community]),
        "compounds": frame([{"id": c} for c in compounds], list(compounds.values())),
        "buildings": frame(
            [
                {"id": b, "compound_id": c, "residents": r, "households": r / 3, "floating": r / 10}
                for b, c, r, _ in buildings
            ],
            [g for *_, g in buildings],
        ),
        "streets": frame([{} for _ in streets], list(streets)),
        "service_points": frame(
            [{"id": i, "kind": k} for i, k, _ in points], [g for *_, g in points]
        ),
        "grids": frame([{"id": i} for i, _ in grids], [g for _, g in grids]),
    }


def two_squares(**extra: Any) -> dict[str, Any]:
    """Two 100 m compounds set 5 m inside a 200 x 100 m community, a street between them."""
    return layout(
        box(0, 0, 200, 100),
        {"A": box(5, 5, 95, 95), "B": box(105, 5, 195, 95)},
        [("a1", "A", 3000, box(40, 40, 60, 60)), ("b1", "B", 1000, box(140, 40, 160, 60))],
        streets=[LineString([(100, -20), (100, 120)])],
        **extra,
    )


# --- a hand case: two unit squares of a 2 x 1 rectangle -----------------------------------


def test_two_squares_by_hand() -> None:
    prep = sp.prepare_split(**two_squares(), cadres=8, staff=4)
    assert prep.unit_ids.tolist() == ["A", "B"]
    # the land between the compounds and the street goes to the compound in front of it
    assert prep.area_m2.tolist() == pytest.approx([10_000.0, 10_000.0], abs=0.01)
    assert prep.perimeter_m.tolist() == pytest.approx([400.0, 400.0], abs=0.01)
    assert prep.edge_length_m.tolist() == pytest.approx([100.0], abs=0.01)
    assert prep.edge_street_share.tolist() == pytest.approx([1.0])

    r = sp.split_plans(prep)
    assert len(r.plans) == 1
    m = r.plans[0].measures
    assert r.plans[0].part.tolist() == [0, 1]
    # PP of a square = pi / 4
    assert m.polsby_popper.tolist() == pytest.approx([math.pi / 4] * 2)
    assert m.mean_pp == pytest.approx(math.pi / 4)
    assert m.street_share == pytest.approx(1.0)
    assert m.boundary_km == pytest.approx(0.1)
    assert m.residents.tolist() == [3000, 1000]
    assert m.households.tolist() == pytest.approx([1000, 1000 / 3])
    assert m.floating.tolist() == pytest.approx([300, 100])
    assert m.area_km2.tolist() == pytest.approx([0.01, 0.01])
    # 4000 residents, ideal 2000: +50 % and -50 %, far over 5 %
    assert m.deviation_pct.tolist() == pytest.approx([50.0, -50.0])
    assert not m.within_tolerance
    assert "tolerance_broken" in m.flags
    assert not r.feasible
    # 8 cadres by residents 3:1 -> 6 and 2, 500 residents each; 4 staff -> 3 and 1
    assert m.cadres is not None and m.cadres.tolist() == [6, 2]
    assert m.residents_per_cadre is not None
    assert m.residents_per_cadre.tolist() == pytest.approx([500.0, 500.0])
    assert m.staff is not None and m.staff.tolist() == [3, 1]
    # 2 cadres: in proportion 1.5 and 0.5, but every part gets one first
    two = sp.measure_plan(sp.prepare_split(**two_squares(), cadres=2), [0, 1])
    assert two.cadres is not None and two.cadres.tolist() == [1, 1]
    assert two.residents_per_cadre is not None
    assert two.residents_per_cadre.tolist() == [3000.0, 1000.0]

    # both in one part: the 2 x 1 rectangle, PP = 4 pi 2 / 36 = 8 pi / 36
    one = sp.measure_plan(prep, [0, 0], parts=1)
    assert one.polsby_popper.tolist() == pytest.approx([8 * math.pi / 36])
    assert one.boundary_km == 0.0
    assert one.street_share == 0.0


def test_two_squares_without_a_street_meet_halfway() -> None:
    layers = two_squares()
    layers["streets"] = layers["streets"].iloc[:0]
    prep = sp.prepare_split(**layers)
    # the ring of land is shared by nearest distance: by symmetry, along x = 100
    assert prep.area_m2.tolist() == pytest.approx([10_000.0, 10_000.0], rel=1e-3)
    assert prep.edge_length_m.tolist() == pytest.approx([100.0], rel=1e-3)
    m = sp.measure_plan(prep, [0, 1])
    assert m.street_share == 0.0
    assert m.polsby_popper.tolist() == pytest.approx([math.pi / 4] * 2, rel=1e-2)


def test_coverage_by_the_parts_own_points() -> None:
    layers = two_squares(
        points=[("c", "centre", Point(50, 80)), ("r", "red_house", Point(150, 80))]
    )
    # a walking matrix: building a1 walks 300 m to c and 1,200 m to r, b1 400 m and 200 m
    walk = np.array([[300.0, 1200.0], [400.0, 200.0]])
    prep = sp.prepare_split(**layers, walk_m=walk)
    assert prep.coverage_source == "walk_matrix"
    m = sp.measure_plan(prep, [0, 1])
    assert m.service_points.tolist() == [1, 1]
    assert m.centres.tolist() == [1, 0]  # a red house is not a centre
    assert m.has_centre.tolist() == [True, False]
    assert "part_without_centre" in m.flags
    assert m.coverage.tolist() == [1.0, 1.0]
    # one part: both buildings reach c (300 and 400 m), a centre, so both covered
    one = sp.measure_plan(prep, [0, 0], parts=1)
    assert one.coverage.tolist() == [1.0]
    assert one.centres.tolist() == [1]
    # only b1 within reach of r: with r gone far (no walk), part B is uncovered
    far = sp.prepare_split(**layers, walk_m=np.array([[300.0, np.inf], [400.0, np.inf]]))
    assert sp.measure_plan(far, [0, 1]).coverage.tolist() == [1.0, 0.0]


def test_coverage_falls_back_to_straight_lines() -> None:
    layers = two_squares(points=[("c", "centre", Point(50, 80))])
    prep = sp.prepare_split(**layers, walk_limit_m=120.0)
    assert prep.coverage_source == "straight_line"
    # a1's footprint is 20 m from c (covered); b1's is ~92 m away, x 1.3 = 120 m: within
    one = sp.measure_plan(prep, [0, 0], parts=1)
    assert one.coverage.tolist() == [1.0]
    short = sp.prepare_split(**layers, walk_limit_m=100.0)
    one = sp.measure_plan(short, [0, 0], parts=1)
    assert one.coverage.tolist() == pytest.approx([3000 / 4000])
    # split: b1's part has no point of its own
    assert sp.measure_plan(prep, [0, 1]).coverage.tolist() == [1.0, 0.0]


def test_grids_cut_by_the_new_boundary() -> None:
    layers = two_squares(
        grids=[
            ("across", box(50, 0, 150, 50)),  # half in each part: cut
            ("left", box(0, 50, 100, 100)),  # all in A: not cut
            ("sliver", box(100, 50, 200.5, 100)),  # 0.5 % in A: not cut (1 % rule)
            ("edge", box(98, 50, 200, 100)),  # 2 % in A: cut
        ]
    )
    prep = sp.prepare_split(**layers)
    m = sp.measure_plan(prep, [0, 1])
    assert m.grids_cut == 2
    assert set(m.grids_cut_ids) == {"across", "edge"}
    assert sp.measure_plan(prep, [0, 0], parts=1).grids_cut == 0


# --- a hand-made community with one obviously best split ----------------------------------


def dumbbell() -> dict[str, Any]:
    """Two 3 x 3 blocks of 100 m compounds joined by a 20 m wide, 200 m long strip of land."""
    rng = np.random.default_rng(3)
    compounds: dict[str, Any] = {}
    buildings = []
    for side, x0 in (("L", 0), ("R", 500)):
        residents = rng.integers(800, 1200, 9).astype(float)
        residents *= 9000 / residents.sum()  # both blocks 9,000 residents
        for c in range(9):
            cx, cy = x0 + 100 * (c % 3), 100 * (c // 3)
            name = f"{side}{c}"
            compounds[name] = box(cx, cy, cx + 100, cy + 100)
            buildings.append(
                (f"{name}-b", name, float(residents[c]), box(cx + 40, cy + 40, cx + 60, cy + 60))
            )
    community = shapely.union_all(
        [box(0, 0, 300, 300), box(300, 140, 500, 160), box(500, 0, 800, 300)]
    )
    return layout(community, compounds, buildings)


def test_the_obvious_split_comes_first() -> None:
    prep = sp.prepare_split(**dumbbell())
    r = sp.split_plans(prep, parts=2)
    first = r.plans[0]
    left = set(prep.unit_ids[first.part == first.part[0]].tolist())
    assert left == {f"L{c}" for c in range(9)}
    assert first.measures.max_deviation_pct == pytest.approx(0.0, abs=1e-6)
    # each part: a 300 m block and half the strip: area 92,000, perimeter 1,400
    pp = 4 * math.pi * 92_000 / 1400**2
    assert first.measures.polsby_popper.tolist() == pytest.approx([pp, pp], rel=1e-6)
    assert all(p.measures.mean_pp <= first.measures.mean_pp + 1e-12 for p in r.plans)


def test_manual_moves_are_measured_and_flagged() -> None:
    prep = sp.prepare_split(**dumbbell())
    left = np.asarray([u.startswith("L") for u in prep.unit_ids.tolist()])
    clean = np.where(left, 0, 1)
    m = sp.measure_plan(prep, clean)
    assert m.contiguous.tolist() == [True, True]
    assert "not_contiguous" not in m.flags
    # a corner compound of each block swapped: balance kept, both parts in two pieces
    moved = clean.copy()
    moved[prep.unit_index("L0")] = 1
    moved[prep.unit_index("R2")] = 0
    m = sp.measure_plan(prep, moved)
    assert m.contiguous.tolist() == [False, False]
    assert "not_contiguous" in m.flags
    assert m.mean_pp < sp.measure_plan(prep, clean).mean_pp
    # a third part named but not used
    m = sp.measure_plan(prep, clean, parts=3)
    assert m.units.tolist()[2] == 0
    assert "empty_part" in m.flags


# --- shapes -----------------------------------------------------------------------------------


def loose_only() -> dict[str, Any]:
    rng = np.random.default_rng(5)
    buildings = [
        (
            f"b{i}",
            None,
            float(rng.integers(50, 150)),
            box(20 + 70 * (i % 4), 20 + 60 * (i // 4), 50 + 70 * (i % 4), 45 + 60 * (i // 4)),
        )
        for i in range(12)
    ]
    return layout(box(0, 0, 300, 200), {}, buildings, streets=[LineString([(150, -5), (150, 205)])])


def test_only_loose_buildings() -> None:
    prep = sp.prepare_split(**loose_only())
    assert prep.n_units == 12
    assert all(u.startswith("loose:") for u in prep.unit_ids.tolist())
    assert prep.compounds.sum() == 0
    r = sp.split_plans(prep, parts=2)
    assert r.feasible
    check_plans(prep, r, loose_only())


def test_loose_buildings_grouped_within_a_distance_not_across_a_street() -> None:
    # footprints 40 m apart in x and 35 m in y; the street at x = 150 runs between the
    # second and third columns
    assert sp.prepare_split(**loose_only(), loose_group_m=30.0).n_units == 12
    prep = sp.prepare_split(**loose_only(), loose_group_m=45.0)
    assert prep.n_units == 2  # the two sides of the street
    groups = pd.Series(prep.building_ids).groupby(prep.building_unit).agg(set)
    assert sorted(map(sorted, groups)) == [
        ["b0", "b1", "b4", "b5", "b8", "b9"],
        ["b10", "b11", "b2", "b3", "b6", "b7"],
    ]
    assert prep.unit_ids.tolist() == ["loose:b0", "loose:b2"]


def test_one_compound_cannot_be_split() -> None:
    layers = layout(
        box(0, 0, 100, 100), {"A": box(0, 0, 100, 100)}, [("a", "A", 10, box(40, 40, 50, 50))]
    )
    prep = sp.prepare_split(**layers)
    with pytest.raises(SplitInputError, match="社区只有 1 个可分单元，无法分成 2 部分") as exc:
        sp.split_plans(prep, parts=2)
    assert exc.value.type == "invalid_split_input"
    assert exc.value.loc == ("parts",)


def islands(n: int) -> dict[str, Any]:
    """``n`` square islands 1 km apart, two compounds on each."""
    compounds, buildings, land = {}, [], []
    for i in range(n):
        x = 1000 * i
        land.append(box(x, 0, x + 200, 100))
        for j in range(2):
            name = f"I{i}C{j}"
            compounds[name] = box(x + 100 * j, 0, x + 100 * (j + 1), 100)
            buildings.append(
                (f"{name}b", name, 500.0, box(x + 100 * j + 40, 40, x + 100 * j + 60, 60))
            )
    return layout(shapely.union_all(land), compounds, buildings)


def test_islands_each_get_their_own_part() -> None:
    prep = sp.prepare_split(**islands(2))
    r = sp.split_plans(prep, parts=2)
    first = r.plans[0].part
    assert first[0] == first[1] and first[2] == first[3] and first[0] != first[2]
    assert r.plans[0].measures.contiguous.all()


def test_more_islands_than_parts_is_a_clear_error() -> None:
    prep = sp.prepare_split(**islands(3))
    with pytest.raises(SplitInputError, match="3 片"):
        sp.split_plans(prep, parts=2)


def test_an_island_of_buildings_in_a_field_joins_by_its_land() -> None:
    # compounds on the left, a cluster of loose buildings far to the right of an empty field
    layers = layout(
        box(0, 0, 1000, 200),
        {"A": box(0, 0, 100, 100), "B": box(0, 100, 100, 200)},
        [
            ("a", "A", 500.0, box(40, 40, 60, 60)),
            ("b", "B", 500.0, box(40, 140, 60, 160)),
            ("x1", None, 250.0, box(900, 90, 910, 100)),
            ("x2", None, 250.0, box(920, 90, 930, 100)),
        ],
    )
    prep = sp.prepare_split(**layers)
    assert prep.n_units == 4
    r = sp.split_plans(prep, parts=2, plans=3)
    for plan in r.plans:
        assert plan.measures.contiguous.all()


def test_no_streets_and_no_service_points() -> None:
    layers = {**dumbbell(), "streets": None, "service_points": None}
    prep = sp.prepare_split(**layers)
    r = sp.split_plans(prep, parts=2, plans=2)
    for plan in r.plans:
        m = plan.measures
        assert m.street_share == 0.0
        assert m.service_points.tolist() == [0, 0]
        assert not m.has_centre.any()
        assert m.coverage.tolist() == [0.0, 0.0]
        assert "part_without_centre" in m.flags
        assert m.cadres is None and m.residents_per_cadre is None
        assert m.grids_cut == 0


# --- errors -----------------------------------------------------------------------------------


def test_geographic_crs_is_refused() -> None:
    layers = two_squares()
    layers["buildings"] = layers["buildings"].to_crs("EPSG:4326")
    with pytest.raises(SplitCrsError, match="地理坐标系") as exc:
        sp.prepare_split(**layers)
    assert isinstance(exc.value, CrsError) and isinstance(exc.value, SplitInputError)
    assert exc.value.type == "crs_not_projected"
    assert exc.value.loc == ("buildings", "crs")


@pytest.mark.parametrize(
    ("layer", "column"), [("buildings", "residents"), ("buildings", "compound_id")]
)
def test_missing_columns(layer: str, column: str) -> None:
    layers = two_squares()
    layers[layer] = layers[layer].drop(columns=[column])
    with pytest.raises(SplitColumnError, match=column) as exc:
        sp.prepare_split(**layers)
    assert isinstance(exc.value, MissingColumnError)
    assert exc.value.type == "missing_column"
    assert exc.value.loc == (layer, column)


def test_unknown_compound_and_bad_figures() -> None:
    layers = two_squares()
    layers["buildings"].loc[0, "compound_id"] = "Z"
    with pytest.raises(InvalidValueError, match="Z"):
        sp.prepare_split(**layers)
    layers = two_squares()
    layers["buildings"].loc[1, "residents"] = -5
    with pytest.raises(InvalidValueError, match="非负"):
        sp.prepare_split(**layers)


def test_locks_and_assignments_by_id() -> None:
    prep = sp.prepare_split(**dumbbell())
    r = sp.split_plans(prep, parts=2, locks={"L4": 1, "R4-b": 0}, plans=2)
    for plan in r.plans:
        assert plan.part[prep.unit_index("L4")] == 1
        assert plan.part[prep.unit_index("R4")] == 0
    with pytest.raises(LockConflictError, match="nowhere"):
        sp.split_plans(prep, parts=2, locks={"nowhere": 0})
    as_map = {
        u: int(p) for u, p in zip(prep.unit_ids.tolist(), r.plans[0].part.tolist(), strict=True)
    }
    assert sp.measure_plan(prep, as_map).mean_pp == pytest.approx(r.plans[0].measures.mean_pp)
    with pytest.raises(InvalidValueError, match="个单元不一致"):
        sp.measure_plan(prep, [0, 1])


# --- the generated Qiaohua community ------------------------------------------------------


@pytest.fixture(scope="module")
def qiaohua() -> dict[str, Any]:
    c = cities.generate(seed=20240)
    layers = c.layers
    b = c.buildings
    ways = c.ways
    return {
        "community": layers["communities"],
        "compounds": layers["compounds"].rename(columns={"code": "id"}),
        "buildings": gpd.GeoDataFrame(
            {
                "id": b["code"],
                "compound_id": b["compound"],
                "residents": b["residents"],
                "households": b["households"],
                "floating": b["floating_residents"],
            },
            geometry=b.geometry,
            crs=b.crs,
        ),
        "streets": ways[ways["highway"].isin(["primary", "secondary", "residential"])],
        "service_points": layers["service_points"].rename(columns={"code": "id"}),
        "grids": layers["grids"].rename(columns={"code": "id"}),
        "staff": int(layers["communities"]["staff"].iloc[0]),
        "cadres": int(layers["communities"]["cadres"].iloc[0]),
    }


def check_plans(prep: sp.PreparedSplit, r: sp.SplitResult, layers: dict[str, Any]) -> None:
    """Constraints checked from the layers themselves, not from the measures."""
    b = layers["buildings"].set_index("id")
    table = r.assignments()
    community = shapely.union_all(layers["community"].geometry.to_numpy())
    bounds = r.boundaries()
    seen = set()
    for i, plan in enumerate(r.plans):
        rows = table[table["plan"] == i].set_index("building_id")
        # compounds whole: every building of a compound in one part
        comp = b["compound_id"].reindex(rows.index)
        assert (rows.groupby(comp.to_numpy())["part"].nunique() == 1).all()
        # balance within the tolerance, from the buildings' residents
        res = b["residents"].reindex(rows.index).groupby(rows["part"].to_numpy()).sum()
        ideal = b["residents"].sum() / r.parts
        assert len(res) == r.parts
        assert (abs(res / ideal - 1) <= prep.tolerance + 1e-9).all()
        assert res.tolist() == pytest.approx(plan.measures.residents.tolist())
        # contiguous on the ground: every part's dissolved territory is one polygon
        polys = bounds[bounds["plan"] == i].sort_values("part")
        assert (polys.geometry.geom_type == "Polygon").all()
        # the parts cover the community exactly
        assert polys.area.sum() == pytest.approx(community.area, rel=1e-6)
        assert shapely.union_all(polys.geometry.to_numpy()).area == pytest.approx(
            community.area, rel=1e-6
        )
        # PP from the dissolved polygons themselves
        pp = 4 * math.pi * polys.area / polys.length**2
        assert pp.tolist() == pytest.approx(plan.measures.polsby_popper.tolist(), rel=1e-6)
        seen.add(
            frozenset(frozenset(np.flatnonzero(plan.part == q).tolist()) for q in range(r.parts))
        )
    assert len(seen) == len(r.plans)  # distinct up to relabelling


def test_generated_community_keeps_every_constraint(qiaohua: dict[str, Any]) -> None:
    prep = sp.prepare_split(**qiaohua)
    assert prep.n_units == len(qiaohua["compounds"])
    lock = {qiaohua["compounds"]["id"].iloc[0]: 0, qiaohua["compounds"]["id"].iloc[-1]: 1}
    r = sp.split_plans(prep, parts=2, locks=lock, plans=4, starts=3, kicks=12)
    assert r.feasible and len(r.plans) >= 2
    check_plans(prep, r, qiaohua)
    for plan in r.plans:
        for unit, part in lock.items():
            assert plan.part[prep.unit_index(unit)] == part
    # Pareto: no plan returned is at least as good as another on every measure the filter
    # weighs and better on one
    rows = r.measures()
    keys = np.column_stack(
        [
            rows["max_deviation_pct"],
            -rows["mean_pp"],
            -rows["street_share"],
            -rows["parts_with_centre"],
            -rows["min_coverage"],
            rows["grids_cut"],
        ]
    )
    for a in range(len(keys)):
        for c in range(len(keys)):
            if a != c:
                assert not (
                    (keys[c] <= keys[a] + 1e-12).all() and (keys[c] < keys[a] - 1e-12).any()
                )
    # the measures table and the assignment table have what the CLI writes
    assert {"plan", "building_id", "unit_id", "part"} <= set(r.assignments().columns)
    assert len(r.assignments()) == len(r.plans) * len(qiaohua["buildings"])


def test_generated_community_in_four_with_households(qiaohua: dict[str, Any]) -> None:
    prep = sp.prepare_split(**qiaohua, by="households", tolerance=0.1)
    r = sp.split_plans(prep, parts=4, plans=3, starts=2, kicks=8)
    assert r.feasible
    hh = qiaohua["buildings"].set_index("id")["households"]
    table = r.assignments()
    for i, plan in enumerate(r.plans):
        rows = table[table["plan"] == i].set_index("building_id")
        per = hh.reindex(rows.index).groupby(rows["part"].to_numpy()).sum()
        assert (abs(per / (hh.sum() / 4) - 1) <= 0.1 + 1e-9).all()
        assert plan.measures.contiguous.all()
