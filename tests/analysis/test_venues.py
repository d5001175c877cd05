"""Red-house venue selection: exactness against brute force, hard rules, tie-breaks, fallbacks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import geopandas as gpd
import shapely

from gis_api.analysis.errors import (
    CoverageMismatchError,
    DuplicateIdError,
    InvalidValueError,
    MissingColumnError,
    OptionError,
)
from gis_api.analysis.venues import (
    MilpOutcome,
    MilpProblem,
    ScoreWeights,
    coverage_curve,
    explain,
    select_venues,
    venue_scores,
    venue_selection,
)

# --- an independent brute force ---------------------------------------------------------------


def brute_force(
    cover: np.ndarray,
    demand: np.ndarray,
    k: int,
    *,
    already: np.ndarray | None = None,
    score: np.ndarray | None = None,
    weight_score: float = 0.0,
    groups: np.ndarray | None = None,
    cap: int | None = 1,
    eligible: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """Best (objective, new coverage, score) over every feasible k-subset.

    Among subsets of equal ``coverage + weight_score * score`` the higher score wins. With
    fewer feasible picks than ``k``, the largest feasible subsets are searched.
    """
    n, d = cover.shape
    already = np.zeros(d, bool) if already is None else already
    score = np.zeros(n) if score is None else score
    groups = np.full(n, -1) if groups is None else groups
    eligible = np.ones(n, bool) if eligible is None else eligible
    pool = [j for j in range(n) if eligible[j]]

    def feasible(combo: Sequence[int]) -> bool:
        if cap is None:
            return True
        g = [groups[j] for j in combo if groups[j] >= 0]
        return all(g.count(x) <= cap for x in set(g))

    for size in range(min(k, len(pool)), -1, -1):
        best: tuple[float, float, float] | None = None
        for combo in itertools.combinations(pool, size):
            if not feasible(combo):
                continue
            hit = cover[list(combo)].any(axis=0) & ~already if combo else np.zeros(d, bool)
            cov = float(demand[hit].sum())
            s = float(score[list(combo)].sum())
            key = (cov + weight_score * s, s, cov)
            if (
                best is None
                or key[0] > best[0] + 1e-9
                or (abs(key[0] - best[0]) <= 1e-9 and s > best[1] + 1e-12)
            ):
                best = key
        if best is not None:
            return best[0], best[2], best[1]
    msg = "no feasible subset"
    raise AssertionError(msg)


def random_instance(seed: int, n: int = 12, d: int = 40, density: float = 0.15):
    rng = np.random.default_rng(seed)
    cover = rng.random((n, d)) < density
    demand = rng.integers(1, 20, d).astype(float)
    score = np.round(rng.random(n), 2)
    groups = rng.integers(-1, 4, n)
    eligible = rng.random(n) < 0.8
    already = rng.random(d) < 0.2
    return cover, demand, score, groups, eligible, already


# --- exactness --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_milp_matches_brute_force_with_caps_and_eligibility(seed: int) -> None:
    cover, demand, score, groups, eligible, already = random_instance(seed)
    sel = select_venues(
        sparse.csr_matrix(cover),
        demand,
        k=3,
        already_covered=already,
        score=score,
        groups=groups,
        max_per_group=1,
        eligible=eligible,
    )
    _, cov, s = brute_force(
        cover, demand, 3, already=already, score=score, groups=groups, cap=1, eligible=eligible
    )
    assert sel.optimal
    assert sel.gap == 0.0
    assert sel.covered_new == pytest.approx(cov)
    assert sel.score_total == pytest.approx(s)  # the score breaks coverage ties
    assert eligible[sel.picks].all()
    g = groups[sel.picks]
    assert len(set(g[g >= 0])) == int((g >= 0).sum())  # one per compound
    assert sel.covered_after == pytest.approx(demand[already].sum() + cov)


@pytest.mark.parametrize("seed", range(4))
def test_milp_matches_brute_force_without_rules(seed: int) -> None:
    cover, demand, _, _, _, _ = random_instance(100 + seed, density=0.2)
    for k in (1, 2, 3, 4):
        sel = select_venues(cover, demand, k=k)
        _, cov, _ = brute_force(cover, demand, k)
        assert sel.optimal
        assert sel.covered_new == pytest.approx(cov)
        assert len(sel.picks) == k


@pytest.mark.parametrize("seed", range(4))
def test_caps_of_two_and_no_cap(seed: int) -> None:
    cover, demand, score, groups, _, _ = random_instance(200 + seed, density=0.25)
    groups = np.where(groups < 0, 0, groups) % 2  # two crowded compounds
    for cap in (2, None):
        sel = select_venues(cover, demand, k=4, score=score, groups=groups, max_per_group=cap)
        _, cov, s = brute_force(cover, demand, 4, score=score, groups=groups, cap=cap)
        assert sel.covered_new == pytest.approx(cov)
        assert sel.score_total == pytest.approx(s)


@pytest.mark.parametrize("seed", range(4))
def test_greedy_is_feasible_and_never_beats_the_optimum(seed: int) -> None:
    cover, demand, score, groups, eligible, already = random_instance(300 + seed)
    kwargs = {
        "k": 3,
        "already_covered": already,
        "score": score,
        "groups": groups,
        "eligible": eligible,
    }
    greedy = select_venues(cover, demand, method="greedy", **kwargs)
    exact = select_venues(cover, demand, **kwargs)
    assert greedy.method == "greedy"
    assert greedy.covered_new <= exact.covered_new + 1e-9
    assert eligible[greedy.picks].all()
    g = groups[greedy.picks]
    assert len(set(g[g >= 0])) == int((g >= 0).sum())


def test_fewer_feasible_than_k_picks_all_it_can() -> None:
    cover = np.eye(4, dtype=bool)
    groups = np.array([0, 0, 1, 1])
    sel = select_venues(cover, np.array([4.0, 3, 2, 1]), k=3, groups=groups)
    assert sorted(sel.picks.tolist()) == [0, 2]
    assert sel.k == 3
    assert "最多只能选 2 处" in sel.note
    assert sel.optimal


def test_identical_demand_columns_are_merged() -> None:
    cover = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1]], dtype=bool)
    sel = select_venues(cover, np.ones(5), k=1)
    # columns 0,1 and 3,4 are reached by the same candidates: 3 groups, not 5
    assert sel.reduced == (2, 3)


# --- hard rules (through the adapter) ---------------------------------------------------------


def layers(n_buildings: int = 6):
    """Six buildings in a row, 100 residents and 40 households each, in compounds X, Y, Z."""
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [f"B{i}" for i in range(n_buildings)],
            "residents": [100] * n_buildings,
            "households": [40] * n_buildings,
            "compound": ["X", "X", "Y", "Y", "Z", "Z"][:n_buildings],
        },
        geometry=[shapely.box(i * 50, 0, i * 50 + 20, 20) for i in range(n_buildings)],
        crs="EPSG:32649",
    )
    return buildings


def candidates(rows: list[dict]) -> gpd.GeoDataFrame:
    base = {
        "kind": "community_room",
        "floor_area_m2": 80.0,
        "ground_floor": True,
        "ventilation": "good",
        "lawyer_consulted": True,
        "housing_filed": True,
        "publicly_noticed": True,
        "property_recorded": True,
        "compound": None,
    }
    data = [{**base, **r} for r in rows]
    return gpd.GeoDataFrame(
        data, geometry=[shapely.Point(i * 10, 0) for i in range(len(data))], crs="EPSG:32649"
    )


def walk(reach: list[list[int]], n_buildings: int = 6, metres: float = 300.0) -> sparse.csr_array:
    rows, cols = [], []
    for j, bs in enumerate(reach):
        rows += [j] * len(bs)
        cols += bs
    return sparse.csr_array(
        (np.full(len(rows), metres), (rows, cols)), shape=(len(reach), n_buildings)
    )


def test_incomplete_legal_is_excluded_unless_included() -> None:
    cands = candidates(
        [
            {
                "candidate_id": "C1",
                "name": "大房",
                "housing_filed": False,
                "publicly_noticed": False,
            },
            {"candidate_id": "C2", "name": "小房"},
        ]
    )
    w = walk([[0, 1, 2, 3], [4]])
    none = np.zeros(6, bool)
    plan = venue_selection(layers(), cands, w, existing_covered=none, k=1)
    assert plan.picks["candidate_id"].tolist() == ["C2"]
    assert plan.excluded["candidate_id"].tolist() == ["C1"]
    reason = plan.excluded["reason"].iat[0]
    assert reason.startswith("法律手续不全")
    assert "住建备案" in reason and "公示" in reason and "律师咨询" not in reason

    for include in (True, ["C1"]):
        plan = venue_selection(
            layers(), cands, w, existing_covered=none, k=1, include_incomplete_legal=include
        )
        assert plan.picks["candidate_id"].tolist() == ["C1"]
        assert not plan.picks["legal_complete"].iat[0]
        assert plan.excluded.empty

    with pytest.raises(InvalidValueError, match=r"include_incomplete_legal.*C9"):
        venue_selection(
            layers(), cands, w, existing_covered=none, k=1, include_incomplete_legal=["C9"]
        )


def test_one_new_venue_per_compound_unless_allowed() -> None:
    cands = candidates(
        [
            {"candidate_id": "A1", "compound": "X"},
            {"candidate_id": "A2", "compound": "X"},
            {"candidate_id": "B1", "compound": "Y"},
        ]
    )
    w = walk([[0, 1], [2, 3], [4]])
    none = np.zeros(6, bool)
    plan = venue_selection(layers(), cands, w, existing_covered=none, k=2)
    assert set(plan.picks["candidate_id"]) == {"A1", "B1"} or set(plan.picks["candidate_id"]) == {
        "A2",
        "B1",
    }
    assert plan.optimal
    for cap in (2, None):
        plan = venue_selection(layers(), cands, w, existing_covered=none, k=2, max_per_compound=cap)
        assert set(plan.picks["candidate_id"]) == {"A1", "A2"}
        assert plan.after.residents == 400


def test_existing_coverage_gives_no_gain_and_existing_points_are_not_candidates() -> None:
    cands = candidates([{"candidate_id": "C1"}, {"candidate_id": "C2"}])
    w = walk([[0, 1, 2], [3]])
    existing = np.array([True, True, True, False, False, False])
    plan = venue_selection(layers(), cands, w, existing_covered=existing, k=1)
    assert plan.picks["candidate_id"].tolist() == ["C2"]
    assert plan.picks["new_residents"].tolist() == [100.0]
    assert plan.before.residents == 300 and plan.before.buildings == 3
    assert plan.after.residents == 400
    assert plan.before.residents_share == pytest.approx(0.5)
    # the core: demand already covered is worth nothing
    sel = select_venues(
        np.array([[1, 1, 1, 0], [0, 0, 0, 1]], bool),
        np.array([10.0, 10, 10, 1]),
        k=1,
        already_covered=np.array([True, True, True, False]),
    )
    assert sel.picks.tolist() == [1]
    assert sel.covered_new == 1.0
    assert sel.covered_before == 30.0


def test_walk_limit_and_explicit_zero_walk() -> None:
    cands = candidates([{"candidate_id": "C1"}, {"candidate_id": "C2"}])
    # C1 reaches B0 at 0 m (stored zero) and B1..B3 at 1,200 m; C2 reaches B4 at 900 m
    w = sparse.csr_array(
        (np.array([0.0, 1200, 1200, 1200, 900]), ([0, 0, 0, 0, 1], [0, 1, 2, 3, 4])), shape=(2, 6)
    )
    none = np.zeros(6, bool)
    plan = venue_selection(layers(), cands, w, existing_covered=none, k=1, limit_m=1000)
    assert plan.selection.covered_new == 100  # a tie at 1 building each
    plan = venue_selection(layers(), cands, w, existing_covered=none, k=1, limit_m=1500)
    assert plan.picks["candidate_id"].tolist() == ["C1"]
    assert plan.picks["new_buildings"].tolist() == [4]


# --- the score --------------------------------------------------------------------------------


def test_score_breaks_ties_between_equal_coverage() -> None:
    cover = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=bool)
    demand = np.array([3.0, 2, 4, 1])  # both cover 5
    for score, best in (([0.2, 0.9], 1), ([0.9, 0.2], 0)):
        for method in ("milp", "greedy"):
            sel = select_venues(cover, demand, k=1, score=np.array(score), method=method)
            assert sel.picks.tolist() == [best]
    # ...but never buys coverage
    sel = select_venues(cover, np.array([3.0, 2, 4, 0]), k=1, score=np.array([0.0, 1000.0]))
    assert sel.picks.tolist() == [0]


def test_score_tie_break_in_the_adapter() -> None:
    cands = candidates(
        [
            {"candidate_id": "Poor", "ventilation": "poor", "ground_floor": False},
            {"candidate_id": "Good", "ventilation": "good"},
        ]
    )
    w = walk([[0, 1], [2, 3]])
    plan = venue_selection(layers(), cands, w, existing_covered=np.zeros(6, bool), k=1)
    assert plan.picks["candidate_id"].tolist() == ["Good"]
    assert plan.picks["runner_up_id"].tolist() == ["Poor"]


def test_weight_score_trades_coverage_for_score() -> None:
    cover = np.array([[1, 0], [0, 1]], dtype=bool)
    demand = np.array([100.0, 90.0])
    score = np.array([0.0, 1.0])
    assert select_venues(cover, demand, k=1, score=score).picks.tolist() == [0]
    assert select_venues(cover, demand, k=1, score=score, weight_score=5).picks.tolist() == [0]
    sel = select_venues(cover, demand, k=1, score=score, weight_score=20)
    assert sel.picks.tolist() == [1]
    assert sel.objective == pytest.approx(90 + 20)
    assert sel.optimal


@pytest.mark.parametrize("seed", range(3))
def test_weight_score_matches_brute_force(seed: int) -> None:
    cover, demand, score, groups, eligible, _ = random_instance(400 + seed)
    sel = select_venues(
        cover, demand, k=3, score=score, weight_score=15.0, groups=groups, eligible=eligible
    )
    obj, _, _ = brute_force(
        cover, demand, 3, score=score, weight_score=15.0, groups=groups, eligible=eligible
    )
    assert sel.objective == pytest.approx(obj, abs=0.5)  # the tie-break is worth < 0.5


def test_venue_scores_are_a_weighted_mean_of_parts() -> None:
    cands = candidates(
        [
            {
                "candidate_id": "A",
                "floor_area_m2": 60.0,
                "ventilation": "fair",
                "ground_floor": False,
                "compound_maturity": "mature",
                "compound_party_members": 10,
                "compound_has_party_branch": True,
                "compound_has_owners_committee": False,
            },
            {"candidate_id": "B", "floor_area_m2": 500.0},
        ]
    )
    s = venue_scores(cands)
    parts = s.filter(like="score_")
    assert np.allclose(parts.sum(axis=1), s["score"])
    a = s.iloc[0]
    assert a["score_floor_area"] == pytest.approx(0.5 / 6)
    assert a["score_ventilation"] == pytest.approx(0.5 / 6)
    assert a["score_maturity"] == pytest.approx(1 / 6)
    assert a["score_party_members"] == pytest.approx(0.5 / 6)
    assert a["score_governance"] == pytest.approx(0.5 / 6)
    assert a["score_ground_floor"] == 0
    assert s.iloc[1]["score_floor_area"] == pytest.approx(1 / 6)  # saturates at 120 m²
    only_area = venue_scores(
        cands,
        ScoreWeights(
            **dict.fromkeys(
                ("maturity", "party_members", "governance", "ground_floor", "ventilation"), 0.0
            )
        ),
    )
    assert only_area["score"].tolist() == pytest.approx([0.5, 1.0])


# --- fallbacks --------------------------------------------------------------------------------


def big_instance(seed: int = 1, n: int = 150, d: int = 3000):
    rng = np.random.default_rng(seed)
    cover = sparse.random(n, d, density=0.03, random_state=rng, format="csr") > 0
    return cover, rng.integers(1, 50, d).astype(float)


def timed_out(bound: float | None, x: str = "none"):
    def solver(problem: MilpProblem) -> MilpOutcome:
        sol = None
        if x == "start":
            sol = problem.start
        elif x == "bad":
            sol = np.ones(len(problem.c))  # breaks the count
        return MilpOutcome(x=sol, status="time_limit", dual_bound=bound, message="time limit")

    return solver


def test_time_limit_falls_back_to_greedy_with_gap() -> None:
    cover, demand = big_instance()
    greedy = select_venues(cover, demand, k=5, method="greedy")
    bound = greedy.objective * 1.2
    sel = select_venues(cover, demand, k=5, solver=timed_out(-bound))
    assert not sel.optimal
    assert sel.method == "greedy"
    assert sel.covered_new == greedy.covered_new
    assert sel.bound == pytest.approx(bound)
    assert sel.gap == pytest.approx((bound - greedy.objective) / bound)
    assert "时限" in sel.note

    sel = select_venues(cover, demand, k=5, solver=timed_out(None))
    assert not sel.optimal and sel.gap is None
    assert "无法计算差距" in sel.note

    sel = select_venues(cover, demand, k=5, solver=timed_out(-bound, x="bad"))
    assert sel.method == "greedy" and sel.covered_new == greedy.covered_new


def test_real_tiny_time_limit_is_not_called_optimal() -> None:
    cover, demand = big_instance(seed=2, n=400, d=20000)
    sel = select_venues(cover, demand, k=15, time_limit_s=1e-6)
    greedy = select_venues(cover, demand, k=15, method="greedy")
    assert not sel.optimal
    assert sel.covered_new >= greedy.covered_new
    assert sel.gap is None or sel.gap >= 0
    if sel.gap is None:
        assert "无法计算差距" in sel.note


def test_greedy_only_has_no_bound() -> None:
    cover, demand = big_instance()
    sel = select_venues(cover, demand, k=3, method="greedy")
    assert not sel.optimal and sel.gap is None and sel.bound is None
    assert "贪心" in sel.note


# --- explanations -----------------------------------------------------------------------------


def test_explanations_add_up_and_name_the_true_runner_up() -> None:
    cover = np.array(
        [
            [1, 1, 1, 1, 0, 0, 0, 0],  # 0: 40
            [0, 0, 0, 0, 1, 1, 1, 0],  # 1: 30
            [1, 1, 1, 0, 0, 0, 0, 0],  # 2: 30, overlaps 0 entirely
            [0, 0, 0, 0, 0, 0, 1, 1],  # 3: 20
            [0, 0, 0, 0, 0, 0, 0, 1],  # 4: 10
        ],
        dtype=bool,
    )
    demand = np.full(8, 10.0)
    compounds = np.array(["X", "X", "X", "Y", "Y", "Y", "Z", "Z"], dtype=object)
    sel = select_venues(cover, demand, k=2, score=np.array([0.1, 0.2, 0.9, 0.3, 0.4]))
    assert sel.picks.tolist() == [0, 1]
    steps = explain(
        sel,
        cover,
        demand,
        names=["甲", "乙", "丙", "丁", "戊"],
        compounds=compounds,
        score_parts={"floor_area": np.arange(5.0)},
    )
    assert sum(s.new_demand for s in steps) == pytest.approx(sel.covered_new)
    assert [s.new_demand for s in steps] == sel.gains.tolist()
    first = steps[0]
    # single gains outside the selection: 2 -> 30 (score 0.9), 3 -> 20, 4 -> 10
    assert first.runner_up == 2 and first.runner_up_name == "丙"
    assert first.runner_up_new_demand == 30.0
    assert first.compounds == (("X", 30.0), ("Y", 10.0))
    assert first.score_parts == {"floor_area": 0.0}
    second = steps[1]
    assert second.runner_up == 3  # after pick 0: 3 -> 20, 2 -> 0, 4 -> 10
    assert second.runner_up_new_demand == 20.0
    assert second.covered_after == 70.0
    assert second.compounds == (("Y", 20.0), ("Z", 10.0))


@pytest.mark.parametrize("seed", range(4))
def test_explained_gains_sum_to_total_on_random_instances(seed: int) -> None:
    cover, demand, score, groups, eligible, already = random_instance(500 + seed)
    sel = select_venues(
        cover, demand, k=3, already_covered=already, score=score, groups=groups, eligible=eligible
    )
    steps = explain(sel, cover, demand)
    assert sum(s.new_demand for s in steps) == pytest.approx(sel.covered_new)
    assert steps[-1].covered_after == pytest.approx(sel.covered_after)
    gains = [s.new_demand for s in steps]
    assert gains == sorted(gains, reverse=True)  # ordered by marginal gain
    # the runner-up at step 1 is the best single candidate outside the selection
    chosen = set(sel.picks.tolist())
    pool = [j for j in range(len(score)) if eligible[j] and j not in chosen]
    single = {j: demand[cover[j] & ~already].sum() for j in pool}
    if pool:
        assert steps[0].runner_up_new_demand == pytest.approx(max(single.values()))


def test_explain_refuses_another_matrix() -> None:
    cover, demand = np.eye(3, dtype=bool), np.ones(3)
    sel = select_venues(cover, demand, k=1)
    with pytest.raises(CoverageMismatchError, match="cover"):
        explain(sel, np.eye(4, dtype=bool), np.ones(4))


# --- the curve --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_curve_is_non_decreasing_and_exact(seed: int) -> None:
    cover, demand, score, groups, eligible, already = random_instance(600 + seed)
    curve = coverage_curve(
        cover,
        demand,
        k_max=4,
        already_covered=already,
        score=score,
        groups=groups,
        eligible=eligible,
    )
    assert curve.k.tolist() == [1, 2, 3, 4]
    assert np.all(np.diff(curve.covered_new) >= 0)
    for k in range(1, 5):
        _, cov, _ = brute_force(
            cover, demand, k, already=already, score=score, groups=groups, eligible=eligible
        )
        assert curve.covered_new[k - 1] == pytest.approx(cov)
    assert curve.optimal.all()
    assert curve.covered_after[0] == pytest.approx(demand[already].sum() + curve.covered_new[0])


def test_curve_without_time_is_greedy_flagged_and_still_non_decreasing() -> None:
    cover, demand = big_instance(seed=3)
    curve = coverage_curve(cover, demand, k_max=6, solver=timed_out(None))
    assert not curve.optimal.any()
    assert set(curve.method) == {"greedy"}
    assert np.all(np.diff(curve.covered_new) >= 0)
    greedy = select_venues(cover, demand, k=6, method="greedy")
    assert curve.covered_new[-1] >= greedy.covered_new


def test_adapter_tables() -> None:
    cands = candidates(
        [
            {"candidate_id": "C1", "name": "一号", "compound": "X"},
            {"candidate_id": "C2", "name": "二号", "compound": "Y"},
            {"candidate_id": "C3", "name": "三号", "compound": "Z", "lawyer_consulted": False},
            {"candidate_id": "C4", "name": "四号", "compound": "Z", "ventilation": "poor"},
        ]
    )
    w = walk([[0, 1, 2], [2, 3], [4, 5], [4]])
    plan = venue_selection(
        layers(), cands, w, existing_covered=np.zeros(6, bool), k=2, demand="households"
    )
    assert plan.demand == "households"
    assert plan.picks["rank"].tolist() == [1, 2]
    assert plan.picks["candidate_id"].tolist() == ["C1", "C2"]
    assert plan.picks["new_households"].tolist() == [120.0, 40.0]
    assert plan.picks["households_covered_after"].tolist() == [120.0, 160.0]
    assert plan.picks["residents_covered_after"].tolist() == [300.0, 400.0]
    assert plan.picks["new_compounds"].iat[0] == ("X", "Y")
    # the runner-up is the best candidate left out (C3 is excluded, C2 is picked later)
    assert plan.picks["runner_up_id"].tolist() == ["C4", "C4"]
    assert plan.picks["runner_up_new_households"].tolist() == [40.0, 40.0]
    assert plan.after.households == 160 and plan.after.buildings == 4
    assert plan.curve["k"].tolist() == [1, 2]
    assert plan.curve["households_covered_after"].tolist() == [120.0, 160.0]
    assert plan.curve["optimal"].all()
    assert plan.excluded["candidate_id"].tolist() == ["C3"]
    assert plan.excluded["reason"].iat[0] == "法律手续不全：缺律师咨询"
    assert plan.scores.set_index("candidate_id").loc["C3", "eligible"] == False  # noqa: E712
    assert plan.optimal and plan.gap == 0.0


# --- validation -------------------------------------------------------------------------------


def test_core_validation_messages() -> None:
    cover = np.eye(3, dtype=bool)
    with pytest.raises(OptionError, match="参数 k 应为不小于 1 的整数，实际为 0"):
        select_venues(cover, np.ones(3), k=0)
    with pytest.raises(CoverageMismatchError, match="参数 demand 应为长度 3"):
        select_venues(cover, np.ones(4), k=1)
    with pytest.raises(OptionError, match="参数 demand 第 1 项"):
        select_venues(cover, np.array([1.0, -1, 1]), k=1)
    with pytest.raises(OptionError, match="weight_score"):
        select_venues(cover, np.ones(3), k=1, weight_score=-1)
    with pytest.raises(OptionError, match="eligible 应为布尔数组"):
        select_venues(cover, np.ones(3), k=1, eligible=np.ones(3))
    with pytest.raises(OptionError, match="max_per_group"):
        select_venues(cover, np.ones(3), k=1, max_per_group=0)
    with pytest.raises(OptionError, match="time_limit_s"):
        select_venues(cover, np.ones(3), k=1, time_limit_s=0)


def test_adapter_validation_messages() -> None:
    none = np.zeros(6, bool)
    cands = candidates([{"candidate_id": "C1"}, {"candidate_id": "C2"}])
    w = walk([[0], [1]])
    with pytest.raises(DuplicateIdError, match="candidate_id 有重复值：C1"):
        venue_selection(
            layers(),
            candidates([{"candidate_id": "C1"}, {"candidate_id": "C1"}]),
            w,
            existing_covered=none,
            k=1,
        )
    with pytest.raises(CoverageMismatchError, match="walk_m 的形状"):
        venue_selection(layers(), cands, walk([[0]]), existing_covered=none, k=1)
    with pytest.raises(CoverageMismatchError, match="existing_covered"):
        venue_selection(layers(), cands, w, existing_covered=np.zeros(5, bool), k=1)
    with pytest.raises(OptionError, match="参数 k"):
        venue_selection(layers(), cands, w, existing_covered=none, k=0)
    with pytest.raises(OptionError, match="参数 demand 应为 residents 或 households"):
        venue_selection(layers(), cands, w, existing_covered=none, k=1, demand="people")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"weights\.floor_area 应为有限的非负数"):
        ScoreWeights(floor_area=-1)
    with pytest.raises(OptionError, match="maturity_points"):
        ScoreWeights(maturity_points={"ancient": 1.0})
    bad_kind = candidates([{"candidate_id": "C1", "kind": "garage"}, {"candidate_id": "C2"}])
    with pytest.raises(InvalidValueError, match="C1 的 kind 为 'garage'"):
        venue_selection(layers(), bad_kind, w, existing_covered=none, k=1)
    with pytest.raises(MissingColumnError, match="housing_filed"):
        venue_selection(
            layers(), cands.drop(columns="housing_filed"), w, existing_covered=none, k=1
        )
    with pytest.raises(MissingColumnError, match="buildings 缺少 households 列"):
        venue_selection(
            layers().drop(columns="households"),
            cands,
            w,
            existing_covered=none,
            k=1,
            demand="households",
        )
    negative = sparse.csr_array((np.array([-5.0]), ([0], [0])), shape=(2, 6))
    with pytest.raises(InvalidValueError, match="walk_m"):
        venue_selection(layers(), cands, negative, existing_covered=none, k=1)
    with pytest.raises(OptionError, match="walk_m 应为 scipy 稀疏矩阵"):
        venue_selection(layers(), cands, np.zeros((2, 6)), existing_covered=none, k=1)
    with pytest.raises(InvalidValueError, match="ground_floor 为 'yes'"):
        venue_selection(
            layers(),
            candidates([{"candidate_id": "C1", "ground_floor": "yes"}]),
            walk([[0]]),
            existing_covered=none,
            k=1,
        )
    assert isinstance(pd.DataFrame(), pd.DataFrame)
