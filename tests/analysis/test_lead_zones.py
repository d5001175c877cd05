"""Tests of building-lead zones (no DB): the Foshan rule on hand-made cases, brute force on
small random graphs, and properties on the generated Qiaohua community."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, floyd_warshall

import geopandas as gpd
import shapely

from bench import cities
from gis_api.analysis import errors
from gis_api.analysis import lead_zones as lz
from gis_api.analysis.errors import (
    AnalysisInputError,
    CrsError,
    DuplicateIdError,
    InvalidValueError,
    MissingColumnError,
    OptionError,
)

METRIC = "EPSG:32649"


def walk(n: int, links: list[tuple[int, int, float]]) -> csr_matrix:
    """Symmetric walking metres from (i, j, metres) links."""
    rows = [i for i, j, _ in links] + [j for i, j, _ in links]
    cols = [j for i, j, _ in links] + [i for i, j, _ in links]
    vals = [d for *_, d in links] * 2
    return csr_matrix((vals, (rows, cols)), shape=(n, n))


def row(n: int, spacing_m: float = 40.0) -> csr_matrix:
    """Buildings 0..n-1 in a row, each linked to the next."""
    return walk(n, [(i, i + 1, spacing_m) for i in range(n - 1)])


def group(
    households: list[int],
    neighbours: csr_matrix,
    *,
    occupancy: list[float] | None = None,
    party: list[int] | None = None,
    compound: list[int] | None = None,
    **options: Any,
) -> lz.Grouping:
    n = len(households)
    return lz.group_buildings(
        households,
        occupancy if occupancy is not None else [1.0] * n,
        party if party is not None else [0] * n,
        compound if compound is not None else [-1] * n,
        neighbours,
        **options,
    )


def zone_of(g: lz.Grouping, i: int) -> str:
    return g.zone_ids[g.zone[i]]


# --- the rule, by hand --------------------------------------------------------------------------


def test_big_full_building_gets_its_own_lead() -> None:
    g = group([60, 20], row(2), occupancy=[0.9, 1.0])
    assert g.kind[0] == "own"
    assert g.rule[0] == "own"
    assert "单独设楼长" in g.reason_zh[0]
    assert g.members[g.zone[0]].tolist() == [0]


def test_big_half_empty_building_is_grouped_not_own() -> None:
    # 80 households at 30 %: 24 occupied, so it joins its neighbour (24 + 30 = 54 >= 50).
    g = group([80, 30], row(2), occupancy=[0.3, 1.0])
    assert g.kind[0] == "shared"
    assert g.rule[0] == "shared_low_occupancy"
    assert "入住率低于 50%" in g.reason_zh[0]
    assert zone_of(g, 0) == zone_of(g, 1)
    assert g.rule[1] == "shared_small"


def test_occupancy_threshold_is_a_setting() -> None:
    g = group([80, 30], row(2), occupancy=[0.3, 1.0], min_occupancy=0.25)
    assert g.kind[0] == "own"


def test_isolated_building_gets_a_rotating_lead() -> None:
    g = group([30, 30, 30], walk(3, [(0, 1, 40.0)]))
    assert g.kind[2] == "rotating"
    assert g.rule[2] == "rotating_isolated"
    assert "单体楼" in g.reason_zh[2]
    assert g.kind[0] == g.kind[1] == "shared"


def test_wall_between_two_small_buildings_keeps_them_apart() -> None:
    # Two 30-household buildings 20 m apart in a straight line, but the wall between them
    # leaves no walking link: no shared zone. The same pair with a link shares one.
    walled = group([30, 30], walk(2, []))
    assert zone_of(walled, 0) != zone_of(walled, 1)
    assert list(walled.rule) == ["rotating_isolated", "rotating_isolated"]
    linked = group([30, 30], walk(2, [(0, 1, 20.0)]))
    assert zone_of(linked, 0) == zone_of(linked, 1)
    assert linked.zone_kind == ("shared",)


def test_no_buildings_no_zones() -> None:
    g = group([], csr_matrix((0, 0)))
    assert g.n_zones == 0
    assert g.zone.tolist() == []
    empty = gpd.GeoDataFrame(
        {"building_id": [], "households": [], "occupancy": []}, geometry=[], crs=METRIC
    )
    plan = lz.lead_zones(empty, csr_matrix((0, 0)))
    assert len(plan.zones) == 0
    assert len(plan.buildings) == 0


def test_links_beyond_max_walk_do_not_count() -> None:
    g = group([30, 30], walk(2, [(0, 1, 180.0)]), max_walk_m=150.0)
    assert g.n_zones == 2
    g = group([30, 30], walk(2, [(0, 1, 180.0)]), max_walk_m=200.0)
    assert g.n_zones == 1


def test_group_below_threshold_shares_one_rotating_lead() -> None:
    g = group([10, 12, 9], row(3))
    assert g.n_zones == 1
    assert g.zone_kind == ("rotating",)
    assert set(g.rule) == {"rotating_below_threshold"}
    assert "不足 50 户" in g.reason_zh[0]


def test_compound_boundary_is_respected_unless_allowed() -> None:
    links = walk(2, [(0, 1, 30.0)])
    apart = group([30, 30], links, compound=[0, 1])
    assert apart.n_zones == 2
    assert set(apart.kind) == {"rotating"}
    across = group([30, 30], links, compound=[0, 1], cross_compounds=True)
    assert across.n_zones == 1
    # Buildings outside every compound group with each other, not with a compound's.
    outside = group([30, 30, 30], row(3), compound=[-1, -1, 0])
    assert zone_of(outside, 0) == zone_of(outside, 1) != zone_of(outside, 2)


def test_more_zones_are_preferred_to_fewer() -> None:
    # Six buildings of 25 in a row: three zones of two, not one of six.
    g = group([25] * 6, row(6))
    assert g.zone_kind == ("shared",) * 3
    assert g.stats.shared_zones == g.stats.upper_bound == 3
    assert all(len(m) == 2 for m in g.members)


def test_compact_zones_are_preferred() -> None:
    # A square 0-1-2-3 with two short sides (10 m) and two long ones (100 m): the zones
    # pair the buildings across the short sides.
    links = walk(4, [(0, 1, 10.0), (1, 2, 100.0), (2, 3, 10.0), (3, 0, 100.0)])
    g = group([30] * 4, links)
    assert sorted(m.tolist() for m in g.members) == [[0, 1], [2, 3]]
    assert g.diameter_m.tolist() == [10.0, 10.0]


def test_shared_zone_weight_counts_occupied_households_unless_told() -> None:
    # 40 + 40 households at 60 %: 48 occupied, below 50 -> one rotating group.
    g = group([40, 40], row(2), occupancy=[0.6, 0.6])
    assert g.zone_kind == ("rotating",)
    g = group([40, 40], row(2), occupancy=[0.6, 0.6], count_occupied=False)
    assert g.zone_kind == ("shared",)


def test_explicit_zero_walk_is_a_link() -> None:
    zero = csr_matrix((np.array([0.0, 0.0]), np.array([1, 0]), np.array([0, 1, 2])), shape=(2, 2))
    assert zero.nnz == 2
    g = group([30, 30], zero)
    assert g.n_zones == 1
    assert g.diameter_m.tolist() == [0.0]


def test_one_way_link_counts_both_ways() -> None:
    g = group([30, 30], csr_matrix(([25.0], ([0], [1])), shape=(2, 2)))
    assert g.n_zones == 1
    assert g.diameter_m[0] == 25.0


# --- leads and party groups ---------------------------------------------------------------------


def test_lead_is_the_building_with_most_party_members() -> None:
    g = group([20, 20, 20], row(3), party=[2, 0, 1])
    assert g.lead.tolist() == [0]
    assert g.has_party_member.tolist() == [True]
    assert g.party_group_suggested.tolist() == [True]
    assert g.party_group_buildings[0].tolist() == []


def test_lead_ties_go_to_the_most_central_building() -> None:
    g = group([20, 20, 20], row(3), party=[1, 1, 1])
    assert g.lead.tolist() == [1]  # the middle one walks at most 40 m to the others
    g = group([20, 20, 20], row(3))
    assert g.lead.tolist() == [1]
    assert g.has_party_member.tolist() == [False]
    assert "no_party_member" in g.zone_flags[0]


def test_building_with_three_party_members_may_form_a_party_group() -> None:
    g = group([30, 30], row(2), party=[3, 1])
    assert g.party_group_buildings[0].tolist() == [0]
    assert g.party_members.tolist() == [4]
    assert not g.zone_flags[0]


# --- locks, stable ids, diff --------------------------------------------------------------------


def test_locked_zone_is_kept_as_it_is() -> None:
    # Alone, the row would pair (0,1) (2,3) (4,5); an officer locked {1, 2}.
    g = group([25] * 6, row(6), locked={"LZ-A": [1, 2]})
    assert zone_of(g, 1) == zone_of(g, 2) == "LZ-A"
    k = g.zone_ids.index("LZ-A")
    assert g.members[k].tolist() == [1, 2]
    assert g.locked[k]
    assert set(g.rule[[1, 2]]) == {"locked"}
    assert "locked" in g.zone_flags[k]
    # The rest is grouped around it: 0 alone, 3-4-5 together.
    assert g.rule[0] == "rotating_isolated"
    assert zone_of(g, 3) == zone_of(g, 4) == zone_of(g, 5)


def test_locked_zone_that_no_longer_meets_the_rule_is_flagged_not_changed() -> None:
    g = group([10, 10, 60, 30], walk(4, [(0, 1, 30.0), (2, 3, 30.0)]), locked={"X": [0, 1]})
    k = g.zone_ids.index("X")
    assert g.members[k].tolist() == [0, 1]
    assert g.zone_kind[k] == "rotating"
    assert "locked_below_threshold" in g.zone_flags[k]
    g = group([30, 30, 30], walk(3, [(0, 1, 30.0)]), locked={"Y": [0, 2]})
    assert "locked_not_contiguous" in g.zone_flags[g.zone_ids.index("Y")]
    assert math.isnan(g.diameter_m[g.zone_ids.index("Y")])


def test_ids_are_stable_when_nothing_changed() -> None:
    households = [25, 30, 20, 35, 25, 28, 22, 31]
    links = row(8)
    first = group(households, links)
    again = group(households, links, previous=first.zone_members())
    assert again.zone_ids == first.zone_ids
    assert [m.tolist() for m in again.members] == [m.tolist() for m in first.members]
    assert again.diff.is_empty
    assert set(again.diff.unchanged) == set(first.zone_ids)


def test_ids_and_members_are_stable_when_households_change_slightly() -> None:
    households = [25, 30, 20, 35, 25, 28, 22, 31]
    first = group(households, row(8))
    households[3] += 2
    again = group(households, row(8), previous=first.zone_members())
    assert again.zone_members().keys() == first.zone_members().keys()
    for zid, members in first.zone_members().items():
        assert again.zone_members()[zid].tolist() == members.tolist()
    assert again.diff.is_empty


def test_previous_zones_are_kept_even_where_a_fresh_run_would_differ() -> None:
    # Previous zones {0,1} and {2,3}: still valid, so kept (a fresh run would give the same
    # number of zones, and stability wins the tie).
    links = walk(4, [(0, 1, 90.0), (1, 2, 10.0), (2, 3, 90.0), (3, 0, 10.0)])
    g = group([30] * 4, links, previous={"P1": [0, 1], "P2": [2, 3]})
    assert {k: v.tolist() for k, v in g.zone_members().items()} == {"P1": [0, 1], "P2": [2, 3]}
    # Without previous zones the compact pairing wins.
    fresh = group([30] * 4, links)
    assert sorted(m.tolist() for m in fresh.members) == [[0, 3], [1, 2]]


def test_diff_reports_exactly_the_changed_zone() -> None:
    households = [30, 30, 30, 30, 30, 30]
    first = group(households, row(6))
    previous = first.zone_members()
    assert sorted(m.tolist() for m in previous.values()) == [[0, 1], [2, 3], [4, 5]]
    # Building 5 empties: zone {4, 5} falls below 50 and its buildings join {2, 3}.
    households[5] = 10
    households[4] = 10
    again = group(households, row(6), previous=previous)
    a, b, c = (first.zone_ids[first.zone[i]] for i in (0, 2, 4))
    assert again.diff.removed == (c,)
    assert again.diff.added == ()
    assert [ch.zone_id for ch in again.diff.changed] == [b]
    assert again.diff.changed[0].members_in == (4, 5)
    assert again.diff.changed[0].members_out == ()
    assert a in again.diff.unchanged


def test_new_ids_do_not_reuse_previous_ones() -> None:
    g = group([30, 30], row(2), previous={"LZ0001": [0]}, id_prefix="LZ")
    assert g.zone_ids == ("LZ0001",)  # Jaccard 1/2 keeps the id
    g = group([30, 30, 30], walk(3, [(1, 2, 20.0)]), previous={"LZ0001": [0, 1, 2]})
    assert "LZ0001" in g.zone_ids  # {1, 2} overlaps 2/3
    assert len(set(g.zone_ids)) == g.n_zones


def test_diff_zones_compares_members_by_id() -> None:
    d = lz.diff_zones({"A": ["b1", "b2"], "B": ["b3"]}, {"A": ["b1"], "C": ["b3", "b4"]})
    assert d.added == ("C",)
    assert d.removed == ("B",)
    assert d.changed == (lz.ZoneChange("A", (), ("b2",)),)
    assert not d.is_empty


# --- brute force on small random graphs --------------------------------------------------------


def set_partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in set_partitions(rest):
        for i in range(len(p)):
            yield [*p[:i], [first, *p[i]], *p[i + 1 :]]
        yield [[first], *p]


def brute_force(w: list[float], G: csr_matrix, threshold: float) -> tuple[int, float]:
    """Most zones, then least summed diameter, over every partition into connected zones."""
    n = len(w)
    dist = floyd_warshall(G, directed=False)
    best = (0, 0.0)
    for p in set_partitions(list(range(n))):
        ok = all(
            sum(w[i] for i in q) >= threshold
            and connected_components(G[q][:, q], directed=False)[0] == 1
            for q in p
        )
        if not ok:
            continue
        total = sum(float(dist[np.ix_(q, q)].max()) for q in p)
        if len(p) > best[0] or (len(p) == best[0] and total < best[1] - 1e-9):
            best = (len(p), total)
    return best


def random_case(rng: random.Random, n: int) -> tuple[list[int], csr_matrix]:
    pts = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n)]
    links = [
        (i, j, round(math.dist(pts[i], pts[j]), 1))
        for i, j in itertools.combinations(range(n), 2)
        if math.dist(pts[i], pts[j]) < 55
    ]
    return [rng.randint(3, 45) for _ in range(n)], walk(n, links)


def test_small_components_match_brute_force() -> None:
    rng = random.Random(5)
    checked = 0
    while checked < 40:
        households, G = random_case(rng, rng.randint(3, 7))
        if connected_components(G, directed=False)[0] > 1 or sum(households) < 50:
            continue
        checked += 1
        g = group(households, G, max_walk_m=200.0)
        shared = np.asarray(g.zone_kind) == "shared"
        p, total = brute_force([float(h) for h in households], G, 50.0)
        assert int(shared.sum()) == p, households
        assert g.diameter_m[shared].sum() == pytest.approx(total), households


def test_cover_bound_is_an_upper_bound() -> None:
    rng = random.Random(9)
    for _ in range(30):
        households, _ = random_case(rng, rng.randint(3, 7))
        if sum(households) < 50:
            continue
        best = 0
        for p in set_partitions(list(range(len(households)))):  # no contiguity
            if all(sum(households[i] for i in q) >= 50 for q in p):
                best = max(best, len(p))
        assert lz._cover_bound([float(h) for h in households], 50.0) >= best


def test_medium_components_reach_the_bound_on_a_grid() -> None:
    # A 6 x 8 grid of 12-household buildings, 30 m apart: 576 households, but a zone needs
    # 5 buildings (4 x 12 < 50), so 9 zones at most.
    n = 48
    links = [(i, i + 1, 30.0) for i in range(n) if (i + 1) % 8]
    links += [(i, i + 8, 30.0) for i in range(n - 8)]
    g = group([12] * n, walk(n, links))
    assert g.stats.upper_bound == 11
    assert g.stats.bin_bound == 9
    assert g.stats.shared_zones == 9
    assert g.stats.components_at_bound == 1


def test_big_components_use_sparse_distances_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = 48
    links = [(i, i + 1, 30.0) for i in range(n) if (i + 1) % 8]
    links += [(i, i + 8, 30.0) for i in range(n - 8)]
    dense = group([12] * n, walk(n, links), max_walk_m=40.0)
    monkeypatch.setattr(lz, "_DENSE_MAX", 4)
    sparse = group([12] * n, walk(n, links), max_walk_m=40.0)
    assert [m.tolist() for m in sparse.members] == [m.tolist() for m in dense.members]
    assert sparse.diameter_m.tolist() == dense.diameter_m.tolist()
    # A zone wider than the search limit (4 x 40 m) still gets its exact diameter.
    line = group([10] * 6, row(6, 40.0), max_walk_m=40.0)
    assert line.diameter_m.tolist() == [200.0]


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"households": [10, -1]}, errors.LeadZoneInputError, "非负整数"),
        ({"households": [10, 2.5]}, errors.LeadZoneInputError, "非负整数"),
        ({"occupancy": [1.0, 1.2]}, errors.LeadZoneInputError, "0 到 1"),
        ({"occupancy": [1.0, np.nan]}, errors.LeadZoneInputError, "缺失"),
        ({"occupancy": [1.0]}, errors.LeadZoneInputError, "不一致"),
        ({"compound": [0, -2]}, errors.LeadZoneInputError, "小区编号"),
        ({"neighbours": np.zeros((2, 2))}, errors.NeighbourGraphError, "稀疏矩阵"),
        ({"neighbours": csr_matrix((3, 3))}, errors.NeighbourGraphError, "形状"),
        ({"neighbours": walk(2, [(0, 1, -5.0)])}, errors.NeighbourGraphError, "非负米数"),
        ({"min_occupancy": 1.5}, OptionError, "min_occupancy"),
        ({"max_walk_m": 0}, OptionError, "max_walk_m"),
        ({"locked": {"A": [0], "B": [0, 1]}}, errors.LockConflictError, "同时属于"),
        ({"locked": {"A": [5]}}, errors.LockConflictError, "不存在"),
        ({"locked": {"A": []}}, errors.LockConflictError, "没有任何楼栋"),
    ],
)
def test_bad_input_is_refused_in_chinese(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {
        "households": [10, 20],
        "occupancy": [1.0, 1.0],
        "party": [0, 0],
        "compound": [-1, -1],
        "neighbours": row(2),
    }
    options = {k: v for k, v in kwargs.items() if k not in args}
    args.update({k: v for k, v in kwargs.items() if k in args})
    with pytest.raises(error, match=match) as info:
        lz.group_buildings(**args, **options)
    assert isinstance(info.value, AnalysisInputError)
    assert info.value.type


# --- the GeoDataFrame adapter ------------------------------------------------------------------


def hand_buildings() -> gpd.GeoDataFrame:
    xs = [0.0, 40.0, 80.0, 120.0, 400.0]
    return gpd.GeoDataFrame(
        {
            "building_id": ["B1", "B2", "B3", "B4", "B5"],
            "households": [30, 30, 30, 70, 20],
            "occupancy": [1.0, 1.0, 0.9, 0.95, 1.0],
            "party_members": [1, np.nan, 3, 0, 0],
            "mobile_party_members": [0, 1, 0, 0, 0],
            "compound": ["C1", "C1", "C1", "C1", None],
        },
        geometry=[shapely.box(x - 8, -8, x + 8, 8) for x in xs],
        crs=METRIC,
    )


def test_adapter_tables_and_polygons() -> None:
    b = hand_buildings()
    ng = lz.neighbour_graph_euclidean(b, 150.0)
    assert ng.approximate
    assert ng.walk_m[0, 1] == pytest.approx(40.0 * 1.3)
    assert ng.walk_m[0, 3] == 0  # 120 m x 1.3 > 150 m
    plan = lz.lead_zones(b, ng)
    assert plan.approximate
    t = plan.buildings
    assert list(t.columns) == [
        "building_id",
        "zone_id",
        "zone_kind",
        "rule",
        "reason_zh",
        "is_lead",
        "party_group_suggested",
    ]
    assert t.set_index("building_id")["zone_kind"].to_dict() == {
        "B1": "shared",
        "B2": "shared",
        "B3": "shared",
        "B4": "own",
        "B5": "rotating",
    }
    z = plan.zones.set_index("zone_id")
    shared = z[z["kind"] == "shared"].iloc[0]
    assert shared["members"] == ["B1", "B2", "B3"]
    assert shared["lead_building_id"] == "B3"  # 3 party members
    assert shared["party_members"] == 5  # NaN counts 0, mobile members count
    assert shared["party_group_buildings"] == ["B3"]
    assert shared["diameter_m"] == pytest.approx(80 * 1.3)
    assert t.set_index("building_id").loc["B3", "party_group_suggested"]
    geoms = plan.zones.geometry
    assert geoms.is_valid.all()
    for i, fp in enumerate(b.geometry):
        zone = t["zone_id"].iloc[i]
        assert geoms[plan.zones["zone_id"] == zone].iloc[0].contains(fp)
    overlap = sum(
        geoms.iloc[i].intersection(geoms.iloc[j]).area
        for i, j in itertools.combinations(range(len(geoms)), 2)
    )
    assert overlap < 1.0
    assert plan.crs == b.crs


def test_adapter_previous_and_locks_by_building_id() -> None:
    b = hand_buildings()
    ng = lz.neighbour_graph_euclidean(b, 150.0)
    first = lz.lead_zones(b, ng)
    again = lz.lead_zones(b, ng, previous=first.buildings)
    assert again.diff.is_empty
    assert again.zones["zone_id"].tolist() == first.zones["zone_id"].tolist()
    # A demolished building leaves its zone: reported as out before anything is saved.
    shared_id = first.buildings.set_index("building_id").loc["B1", "zone_id"]
    prev = dict(zip(first.zones["zone_id"], first.zones["members"], strict=True))
    prev[shared_id] = [*prev[shared_id], "B0"]
    third = lz.lead_zones(b, ng, previous=prev)
    assert [(c.zone_id, c.members_out) for c in third.diff.changed] == [(shared_id, ("B0",))]
    locked = lz.lead_zones(b, ng, locked={"KEEP": ["B1", "B2", "B9"]})
    row_ = locked.zones.set_index("zone_id").loc["KEEP"]
    assert row_["members"] == ["B1", "B2"]
    assert "locked_member_missing" in row_["flags"]


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda b: b.to_crs("EPSG:4326"), CrsError, "地理坐标系"),
        (lambda b: b.set_crs(None, allow_override=True), CrsError, "没有坐标系"),
        (lambda b: b.drop(columns="occupancy"), MissingColumnError, "入住率"),
        (lambda b: b.assign(building_id=["B1", "B1", "B3", "B4", "B5"]), DuplicateIdError, "唯一"),
        (lambda b: b.assign(occupancy=[90, 1, 1, 1, 1]), InvalidValueError, "除以 100"),
        (lambda b: b.assign(households=[30, None, 1, 1, 1]), InvalidValueError, "缺少户数"),
        (lambda b: b.assign(households=["三十", 1, 1, 1, 1]), InvalidValueError, "不是数值"),
    ],
)
def test_adapter_refuses_bad_buildings(change: Any, error: type, match: str) -> None:
    b = change(hand_buildings())
    with pytest.raises(error, match=match):
        lz.lead_zones(b, csr_matrix((5, 5)))


def test_adapter_refuses_misaligned_or_short_neighbours() -> None:
    with pytest.raises(errors.NeighbourGraphError, match=r"\(5, 5\)"):
        lz.lead_zones(hand_buildings(), csr_matrix((4, 4)))
    short = lz.neighbour_graph_euclidean(hand_buildings(), 100.0)
    with pytest.raises(OptionError, match="100 米"):
        lz.lead_zones(hand_buildings(), short, max_walk_m=150.0)


# --- properties on the generated community -----------------------------------------------------


@pytest.fixture(scope="module")
def community() -> tuple[gpd.GeoDataFrame, Any]:
    """The generated Qiaohua community, projected, with compounds and a walking graph."""
    city = cities.generate()
    b = city.buildings
    return b, lz.neighbour_graph_walking(b, city.graph(), lz.DEFAULT_MAX_WALK_M)


def arrays(b: gpd.GeoDataFrame) -> tuple[Any, Any, Any, Any]:
    party = (b["party_members"] + b["mobile_party_members"]).to_numpy()
    return (
        b["households"].to_numpy(),
        b["occupancy"].to_numpy(),
        party,
        pd.factorize(b["compound"])[0],
    )


def check_properties(g: lz.Grouping, b: gpd.GeoDataFrame, walk_m: Any, cross: bool) -> None:
    h, occ, _, comp = arrays(b)
    n = len(b)
    # A partition: every building in exactly one zone.
    assert np.array_equal(np.sort(np.concatenate(g.members)), np.arange(n))
    for k, m in enumerate(g.members):
        assert (g.zone[m] == k).all()
    allowed = walk_m.copy()
    allowed.data[allowed.data > g.max_walk_m] = 0
    allowed.eliminate_zeros()
    allowed = allowed.maximum(allowed.T)
    for k, m in enumerate(g.members):
        if g.locked[k]:
            continue
        kind = g.zone_kind[k]
        if kind == "own":
            assert len(m) == 1 and h[m[0]] >= 50 and occ[m[0]] >= 0.5
            continue
        assert not ((h[m] >= 50) & (occ[m] >= 0.5)).any()  # own-lead buildings stand alone
        if kind == "shared":
            assert (h[m] * occ[m]).sum() >= 50 - 1e-9  # the threshold, together
        if not cross:
            assert len(set(comp[m].tolist())) == 1  # no compound crossed
        sub = allowed[m][:, m]
        assert connected_components(sub, directed=False)[0] == 1  # contiguous
    assert g.stats.shared_zones <= g.stats.bin_bound <= g.stats.upper_bound


def test_community_properties(community: tuple[gpd.GeoDataFrame, Any]) -> None:
    b, ng = community
    h, occ, party, comp = arrays(b)
    g = lz.group_buildings(h, occ, party, comp, ng.walk_m)
    check_properties(g, b, ng.walk_m, cross=False)
    s = g.stats
    assert s.shared_zones >= 0.9 * s.bin_bound
    assert not g.flags
    # The same inputs and seed give the same zones.
    again = lz.group_buildings(h, occ, party, comp, ng.walk_m)
    assert again.zone_ids == g.zone_ids
    assert all(np.array_equal(a, c) for a, c in zip(again.members, g.members, strict=True))


def test_community_properties_across_compounds(community: tuple[gpd.GeoDataFrame, Any]) -> None:
    b, ng = community
    h, occ, party, comp = arrays(b)
    within = lz.group_buildings(h, occ, party, comp, ng.walk_m)
    across = lz.group_buildings(h, occ, party, comp, ng.walk_m, cross_compounds=True)
    check_properties(across, b, ng.walk_m, cross=True)
    assert across.stats.upper_bound >= within.stats.upper_bound
    assert across.stats.rotating_buildings <= within.stats.rotating_buildings


def test_community_locks_and_previous(community: tuple[gpd.GeoDataFrame, Any]) -> None:
    b, ng = community
    h, occ, party, comp = arrays(b)
    first = lz.group_buildings(h, occ, party, comp, ng.walk_m)
    shared = [k for k, kind in enumerate(first.zone_kind) if kind == "shared"]
    locks = {first.zone_ids[k]: first.members[k] for k in shared[:5]}
    h2 = h.copy()
    rng = np.random.default_rng(3)
    changed = rng.choice(len(h), 20, replace=False)
    h2[changed] = np.maximum(0, h2[changed] + rng.integers(-5, 6, len(changed)))
    again = lz.group_buildings(
        h2, occ, party, comp, ng.walk_m, locked=locks, previous=first.zone_members()
    )
    check_properties(again, b.assign(households=h2), ng.walk_m, cross=False)
    for zid, members in locks.items():
        assert again.zone_members()[zid].tolist() == members.tolist()
    # Most zones come back unchanged under their old id.
    kept = set(again.diff.unchanged)
    assert len(kept) >= 0.8 * len(first.zone_ids)
    same = again.zone_members()
    assert all(np.array_equal(same[z], first.zone_members()[z]) for z in kept)


def test_time_budget_stops_early_but_still_groups(community: tuple[gpd.GeoDataFrame, Any]) -> None:
    b, ng = community
    h, occ, party, comp = arrays(b)
    g = lz.group_buildings(h, occ, party, comp, ng.walk_m, time_budget_s=1e-9)
    assert g.flags == ("time_budget_reached",)
    check_properties(g, b, ng.walk_m, cross=False)


def test_community_plan(community: tuple[gpd.GeoDataFrame, Any]) -> None:
    b, ng = community
    plan = lz.lead_zones(b, ng)
    assert not plan.approximate
    assert len(plan.buildings) == len(b)
    assert plan.buildings["zone_id"].isin(plan.zones["zone_id"]).all()
    assert plan.zones.geometry.is_valid.all()
    assert (plan.zones["n_buildings"] == plan.zones["members"].map(len)).all()
    assert plan.zones["households"].sum() == b["households"].sum()
    assert plan.buildings["reason_zh"].map(len).min() > 10
    assert set(plan.buildings["rule"]) <= set(lz.RULES)
    leads = plan.buildings.loc[plan.buildings["is_lead"], "building_id"]
    assert sorted(leads) == sorted(plan.zones["lead_building_id"])
