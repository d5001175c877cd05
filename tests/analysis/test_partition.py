"""Tests of the balanced k-partition core (no DB): brute force on small graphs, hand values,
constraints, distinct plans, the Pareto filter and the errors."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from gis_api.analysis import partition_search as ps
from gis_api.analysis.errors import (
    InvalidValueError,
    LockConflictError,
    NeighbourGraphError,
    OptionError,
    SplitInputError,
)
from gis_api.analysis.partition import moved, partition, polsby_popper

Link = tuple[int, int, float]


def links_matrix(n: int, links: list[Link]) -> csr_matrix:
    """Upper-triangle sparse matrix of shared lengths (the core reads it as undirected)."""
    return csr_matrix(
        ([d for *_, d in links], ([i for i, *_ in links], [j for _, j, _ in links])), shape=(n, n)
    )


def rect_grid(
    rng: np.random.Generator, rows: int, cols: int
) -> tuple[int, np.ndarray, np.ndarray, list[Link]]:
    """A tiling of a rectangle by rows x cols rectangles of random widths and heights: exact
    areas, perimeters and shared lengths."""
    xs = np.r_[0.0, np.cumsum(rng.uniform(0.5, 2.0, cols))]
    ys = np.r_[0.0, np.cumsum(rng.uniform(0.5, 2.0, rows))]
    area, perim, links = [], [], []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            w, h = xs[c + 1] - xs[c], ys[r + 1] - ys[r]
            area.append(w * h)
            perim.append(2 * (w + h))
            if c + 1 < cols:
                links.append((i, i + 1, float(h)))
            if r + 1 < rows:
                links.append((i, i + cols, float(w)))
    return rows * cols, np.asarray(area), np.asarray(perim), links


def set_partitions(n: int, k: int) -> Iterator[list[int]]:
    """Every partition of 0..n-1 into exactly k blocks, as restricted-growth label lists."""
    a = [0] * n

    def rec(i: int, used: int) -> Iterator[list[int]]:
        if i == n:
            if used == k:
                yield list(a)
            return
        if k - used > n - i:
            return
        for v in range(min(used + 1, k)):
            a[i] = v
            yield from rec(i + 1, max(used, v + 1))

    yield from rec(1, 1)


def connected_parts(n: int, links: list[Link], x: list[int], k: int) -> bool:
    nbr: list[list[int]] = [[] for _ in range(n)]
    for i, j, _ in links:
        nbr[i].append(j)
        nbr[j].append(i)
    for q in range(k):
        members = [u for u in range(n) if x[u] == q]
        if not members:
            return False
        seen, stack = {members[0]}, [members[0]]
        while stack:
            y = stack.pop()
            for z in nbr[y]:
                if x[z] == q and z not in seen:
                    seen.add(z)
                    stack.append(z)
        if len(seen) != len(members):
            return False
    return True


class Problem(NamedTuple):
    n: int
    k: int
    w: np.ndarray
    area: np.ndarray
    perim: np.ndarray
    links: list[Link]


def scores(x: list[int], prob: Problem) -> tuple[float, float]:
    """(max relative deviation, mean Polsby–Popper), computed here from the definitions."""
    k, w, area, perim, links = prob.k, prob.w, prob.area, prob.perim, prob.links
    W, A, P = [0.0] * k, [0.0] * k, [0.0] * k
    for u, q in enumerate(x):
        W[q] += w[u]
        A[q] += area[u]
        P[q] += perim[u]
    for i, j, d in links:
        if x[i] == x[j]:
            P[x[i]] -= 2 * d
    ideal = sum(W) / k
    dev = max(abs(Wq / ideal - 1) for Wq in W)
    pp = sum(4 * math.pi * A[q] / P[q] ** 2 for q in range(k)) / k
    return dev, pp


def brute_force(prob: Problem, tol: float, locks: dict[int, int]) -> tuple[float, float]:
    """The optimum of the stated objective: (max(0, dev - tol), -mean PP), over all plans."""
    n, k, links = prob.n, prob.k, prob.links
    best = (math.inf, math.inf)
    for labels in set_partitions(n, k):
        perms = itertools.permutations(range(k)) if locks else [tuple(range(k))]
        for perm in perms:
            x = [perm[v] for v in labels]
            if any(x[u] != q for u, q in locks.items()):
                continue
            if not connected_parts(n, links, x, k):
                break
            dev, pp = scores(x, prob)
            best = min(best, (max(0.0, dev - tol), -pp))
    return best


def as_blocks(part: np.ndarray) -> frozenset[frozenset[int]]:
    return frozenset(frozenset(np.flatnonzero(part == q).tolist()) for q in np.unique(part))


# --- the best plan is the brute-force optimum ------------------------------------------------


CASES = [
    # (seed, rows, cols, k, tolerance, locks)
    (1, 3, 4, 2, 0.05, {}),
    (2, 2, 6, 2, 0.02, {}),
    (3, 3, 4, 2, 0.05, {0: 1, 11: 0}),
    (4, 2, 5, 3, 0.10, {}),
    (5, 2, 5, 3, 0.05, {0: 0, 9: 2}),
    (6, 3, 3, 4, 0.20, {}),
    (7, 3, 3, 4, 0.05, {}),  # no plan within 5 %: the most balanced comes first
    (8, 3, 4, 2, 0.01, {}),
]


@pytest.mark.parametrize(("seed", "rows", "cols", "k", "tol", "locks"), CASES)
def test_best_plan_is_the_brute_force_optimum(
    *, seed: int, rows: int, cols: int, k: int, tol: float, locks: dict[int, int]
) -> None:
    rng = np.random.default_rng(seed)
    n, area, perim, links = rect_grid(rng, rows, cols)
    w = rng.integers(50, 500, n).astype(float)
    r = partition(
        w, links_matrix(n, links), k=k, areas=area, perimeters=perim, tolerance=tol, locks=locks
    )
    prob = Problem(n, k, w, area, perim, links)
    best = brute_force(prob, tol, locks)
    first = r.plans[0]
    dev, pp = scores(first.part.tolist(), prob)
    assert max(0.0, dev - tol) == pytest.approx(best[0], abs=1e-12)
    assert -pp == pytest.approx(best[1], abs=1e-12)
    # the plan's own figures agree with the independent computation
    assert first.max_deviation == pytest.approx(dev)
    assert first.mean_pp == pytest.approx(pp)
    assert first.within_tolerance == (dev <= tol)
    assert r.feasible == (best[0] == 0.0)


def test_the_infeasible_case_really_has_no_plan_within_tolerance() -> None:
    seed, rows, cols, k, tol, _ = CASES[6]
    rng = np.random.default_rng(seed)
    n, area, perim, links = rect_grid(rng, rows, cols)
    w = rng.integers(50, 500, n).astype(float)
    assert brute_force(Problem(n, k, w, area, perim, links), tol, {})[0] > 0
    r = partition(w, links_matrix(n, links), k=k, areas=area, perimeters=perim, tolerance=tol)
    assert not r.feasible
    assert not any(p.within_tolerance for p in r.plans)


# --- hand values ------------------------------------------------------------------------------


def test_polsby_popper_by_hand() -> None:
    # unit square: 4 pi / 16 = pi / 4; 2 x 1 rectangle: 4 pi 2 / 36 = 8 pi / 36
    assert polsby_popper([1.0], [4.0])[0] == pytest.approx(math.pi / 4)
    assert polsby_popper([2.0], [6.0])[0] == pytest.approx(8 * math.pi / 36)
    assert ps.polsby_popper(2.0, 6.0) == pytest.approx(8 * math.pi / 36)
    assert polsby_popper([1.0], [0.0])[0] == 0.0


def test_two_unit_squares_of_a_two_by_one_rectangle() -> None:
    # the 2 x 1 rectangle in two unit squares sharing a side of length 1
    r = partition(
        [10, 10], links_matrix(2, [(0, 1, 1.0)]), k=2, areas=[1.0, 1.0], perimeters=[4.0, 4.0]
    )
    assert len(r.plans) == 1
    plan = r.plans[0]
    assert plan.part.tolist() == [0, 1]
    assert plan.polsby_popper.tolist() == pytest.approx([math.pi / 4, math.pi / 4])
    assert plan.max_deviation == 0.0


def test_row_of_four_squares_splits_in_the_middle() -> None:
    links = links_matrix(4, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0)])
    r = partition([1, 1, 1, 1], links, k=2, areas=[1.0] * 4, perimeters=[4.0] * 4)
    # two 2 x 1 rectangles, each with perimeter 4 + 4 - 2 = 6
    assert r.plans[0].part.tolist() == [0, 0, 1, 1]
    assert r.plans[0].mean_pp == pytest.approx(8 * math.pi / 36)


def test_preferred_share_of_the_cut() -> None:
    # a row of three squares; the link 1-2 lies along a street for half its length
    links = links_matrix(3, [(0, 1, 1.0), (1, 2, 1.0)])
    along = links_matrix(3, [(1, 2, 0.5)])
    r = partition(
        [1, 1, 2],
        links,
        k=2,
        areas=[1.0] * 3,
        perimeters=[4.0] * 3,
        preferred=along,
        tolerance=0.5,
    )
    by_part = {tuple(p.part.tolist()): p.preferred_share for p in r.plans}
    assert by_part[(0, 0, 1)] == pytest.approx(0.5)
    assert by_part.get((0, 1, 1), 0.0) == pytest.approx(0.0)


# --- constraints, distinct plans, Pareto ------------------------------------------------------


@pytest.mark.parametrize(("seed", "k"), [(11, 2), (12, 3), (13, 5)])
def test_plans_keep_the_constraints_are_distinct_and_not_dominated(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    n, area, perim, links = rect_grid(rng, 6, 7)
    w = rng.integers(100, 1000, n).astype(float)
    locks = {0: 0, n - 1: k - 1}
    r = partition(
        w,
        links_matrix(n, links),
        k=k,
        areas=area,
        perimeters=perim,
        locks=locks,
        max_plans=8,
        seed=seed,
    )
    assert r.feasible
    assert len(r.plans) >= 2
    blocks = set()
    figures = []
    for plan in r.plans:
        x = plan.part.tolist()
        assert sorted(set(x)) == list(range(k))
        assert connected_parts(n, links, x, k)
        assert all(x[u] == q for u, q in locks.items())
        dev, pp = scores(x, Problem(n, k, w, area, perim, links))
        assert dev <= 0.05 + 1e-12
        assert plan.max_deviation == pytest.approx(dev)
        assert plan.mean_pp == pytest.approx(pp)
        blocks.add(as_blocks(plan.part))
        figures.append((dev, pp))
    assert len(blocks) == len(r.plans)  # distinct even up to relabelling
    for a, (da, pa) in enumerate(figures):
        for b, (db, pb) in enumerate(figures):
            if a != b:
                assert not (db <= da and pb >= pa and (db < da or pb > pa)), (a, b)
    # best first by the objective: within tolerance, the most compact
    assert figures[0][1] == max(pp for _, pp in figures)
    # and the most balanced plan met is among them
    assert min(d for d, _ in figures) == pytest.approx(min(p.max_deviation for p in r.plans))


def test_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(21)
    n, area, perim, links = rect_grid(rng, 5, 6)
    w = rng.integers(100, 1000, n).astype(float)
    runs = [
        partition(
            w, links_matrix(n, links), k=3, areas=area, perimeters=perim, seed=4, starts=2, kicks=6
        )
        for _ in range(2)
    ]
    assert [p.part.tolist() for p in runs[0].plans] == [p.part.tolist() for p in runs[1].plans]


def test_time_budget_stops_the_search_with_a_plan() -> None:
    rng = np.random.default_rng(23)
    n, area, perim, links = rect_grid(rng, 6, 7)
    w = rng.integers(100, 1000, n).astype(float)
    r = partition(w, links_matrix(n, links), k=4, areas=area, perimeters=perim, time_budget_s=1e-6)
    assert r.stats.timed_out
    assert r.stats.starts == 1
    assert len(r.plans) >= 1
    assert connected_parts(n, links, r.plans[0].part.tolist(), 4)


def test_min_moved_keeps_plans_apart() -> None:
    rng = np.random.default_rng(22)
    n, area, perim, links = rect_grid(rng, 5, 6)
    w = rng.integers(100, 1000, n).astype(float)
    r = partition(
        w,
        links_matrix(n, links),
        k=3,
        areas=area,
        perimeters=perim,
        max_plans=4,
        min_moved=3,
        tolerance=0.1,
    )
    for a, b in itertools.combinations(r.plans, 2):
        # fewest units moved over every relabelling, counted here by brute force
        fewest = min(
            int((a.part != np.asarray(perm)[b.part]).sum())
            for perm in itertools.permutations(range(3))
        )
        assert fewest >= 3
        assert moved(a.part, b.part, 3, [-1] * n) == fewest


def test_criteria_join_the_pareto_filter() -> None:
    # A row of six unit squares, equal weights, tolerance 34 %: 3 | 3 (deviation 0, PP of
    # 3 x 1 = 12 pi / 64) and the two 4 | 2 plans (deviation 1/3, PP (16 pi / 100 + 8 pi /
    # 36) / 2, higher): none dominates another on (deviation, PP).
    links = links_matrix(6, [(i, i + 1, 1.0) for i in range(5)])
    options = {"k": 2, "areas": [1.0] * 6, "perimeters": [4.0] * 6, "tolerance": 0.34}
    plain = partition([1] * 6, links, max_plans=10, **options)  # type: ignore[arg-type]
    got = {tuple(p.part.tolist()) for p in plain.plans}
    assert got == {(0, 0, 0, 1, 1, 1), (0, 0, 0, 0, 1, 1), (0, 0, 1, 1, 1, 1)}
    pp_42 = (16 * math.pi / 100 + 8 * math.pi / 36) / 2
    assert plain.plans[0].mean_pp == pytest.approx(pp_42)

    # A criterion preferring units 0 and 3 apart makes 4 | 2 = (0 0 0 0 | 1 1) dominated by
    # 2 | 4, which is as balanced and compact and better on it.
    def apart(part: np.ndarray) -> list[float]:
        return [float(part[3] != part[0])]

    r = partition([1] * 6, links, max_plans=10, criteria=apart, **options)  # type: ignore[arg-type]
    got = {tuple(p.part.tolist()) for p in r.plans}
    assert got == {(0, 0, 0, 1, 1, 1), (0, 0, 1, 1, 1, 1)}
    assert all(p.extra == (1.0,) for p in r.plans)


# --- disconnected graphs ----------------------------------------------------------------------


def test_two_islands_make_two_parts() -> None:
    # two rows of three squares with no link between them
    links = links_matrix(6, [(0, 1, 1.0), (1, 2, 1.0), (3, 4, 1.0), (4, 5, 1.0)])
    r = partition([5, 5, 5, 6, 5, 4], links, k=2, areas=[1.0] * 6, perimeters=[4.0] * 6)
    assert r.components == 2
    assert as_blocks(r.plans[0].part) == {frozenset({0, 1, 2}), frozenset({3, 4, 5})}


def test_islands_share_the_parts_by_weight() -> None:
    # a big island (weight 20 in four units) and a small one (weight 10 in two): 2 + 1 parts
    links = links_matrix(6, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (4, 5, 1.0)])
    r = partition(
        [5, 5, 5, 5, 5, 5], links, k=3, areas=[1.0] * 6, perimeters=[4.0] * 6, tolerance=0.05
    )
    assert r.component_parts == (2, 1)
    assert as_blocks(r.plans[0].part) == {
        frozenset({0, 1}),
        frozenset({2, 3}),
        frozenset({4, 5}),
    }


def test_more_islands_than_parts_is_an_error() -> None:
    links = links_matrix(3, [])
    with pytest.raises(SplitInputError, match="分成 3 片") as exc:
        partition([1, 1, 1], links, k=2, areas=[1.0] * 3, perimeters=[4.0] * 3)
    assert exc.value.type == "invalid_split_input"


# --- errors -----------------------------------------------------------------------------------


def row(n: int) -> csr_matrix:
    return links_matrix(n, [(i, i + 1, 1.0) for i in range(n - 1)])


@pytest.mark.parametrize("k", [1, 9, 2.5, True])
def test_k_out_of_range(k: object) -> None:
    with pytest.raises(OptionError, match="部分数") as exc:
        partition([1] * 10, row(10), k=k, areas=[1] * 10, perimeters=[4] * 10)  # type: ignore[arg-type]
    assert exc.value.loc == ("k",)


@pytest.mark.parametrize("tolerance", [0.0, -0.1, 0.51, float("nan"), "x"])
def test_tolerance_out_of_range(tolerance: object) -> None:
    with pytest.raises(OptionError, match="tolerance"):
        partition(
            [1] * 4,
            row(4),
            k=2,
            areas=[1] * 4,
            perimeters=[4] * 4,
            tolerance=tolerance,  # type: ignore[arg-type]
        )


def test_fewer_units_than_parts() -> None:
    with pytest.raises(SplitInputError, match="只有 3 个单元，少于要分的 4 部分"):
        partition([1] * 3, row(3), k=4, areas=[1] * 3, perimeters=[4] * 3)


def test_locks_that_break_contiguity() -> None:
    # 0 and 2 locked together, 1 (between them, the only path) locked elsewhere
    with pytest.raises(LockConflictError, match="无法连成一片") as exc:
        partition(
            [1, 1, 1, 1],
            row(4),
            k=2,
            areas=[1] * 4,
            perimeters=[4] * 4,
            locks={0: 0, 2: 0, 1: 1},
        )
    assert exc.value.type == "lock_conflict"


def test_lock_out_of_range() -> None:
    with pytest.raises(LockConflictError, match="部分编号应为 0 到 1"):
        partition([1] * 4, row(4), k=2, areas=[1] * 4, perimeters=[4] * 4, locks={0: 2})
    with pytest.raises(LockConflictError, match="不存在"):
        partition([1] * 4, row(4), k=2, areas=[1] * 4, perimeters=[4] * 4, locks={7: 0})


def test_bad_numbers_and_graphs() -> None:
    with pytest.raises(InvalidValueError, match="总和为 0"):
        partition([0] * 4, row(4), k=2, areas=[1] * 4, perimeters=[4] * 4)
    with pytest.raises(InvalidValueError, match="weights"):
        partition([1, -1, 1, 1], row(4), k=2, areas=[1] * 4, perimeters=[4] * 4)
    with pytest.raises(NeighbourGraphError, match="稀疏矩阵"):
        partition([1] * 4, np.eye(4), k=2, areas=[1] * 4, perimeters=[4] * 4)
    with pytest.raises(NeighbourGraphError, match="周长"):
        partition([1] * 4, row(4), k=2, areas=[1] * 4, perimeters=[4, 1, 4, 4])


def test_every_unit_its_own_part() -> None:
    r = partition([1, 1, 1], row(3), k=3, areas=[1] * 3, perimeters=[4] * 3)
    assert r.plans[0].part.tolist() == [0, 1, 2]


# --- the search's incremental sums, against recomputation -------------------------------------


def search_graph(seed: int, k: int) -> tuple[ps.Graph, ps.State, ps.Objective]:
    rng = np.random.default_rng(seed)
    n, area, perim, links = rect_grid(rng, 4, 5)
    w = rng.integers(100, 1000, n).astype(float)
    nbr: list[list[int]] = [[] for _ in range(n)]
    length: list[list[float]] = [[] for _ in range(n)]
    for i, j, d in links:
        nbr[i] += [j]
        nbr[j] += [i]
        length[i] += [d]
        length[j] += [d]
    g = ps.Graph(
        n=n,
        k=k,
        nbr=nbr,
        length=length,
        weight=w.tolist(),
        area=area.tolist(),
        perimeter=perim.tolist(),
        lock=[-1] * n,
        ideal=float(w.sum()) / k,
        deadline=math.inf,
    )
    # columns 0-1 | 2 | 3-4 of the 4 x 5 grid: three connected parts
    part = [0 if c < 2 else (1 if c == 2 else 2) for r in range(4) for c in range(5)][:n]
    part = [min(p, k - 1) for p in part]
    return g, ps.State.of(g, part), ps.Objective(g.ideal, 0.05, k)


def test_moves_keep_the_sums_of_a_recomputation() -> None:
    g, st, _ = search_graph(31, 3)
    rng = np.random.default_rng(0)
    for _ in range(30):
        u = int(rng.integers(g.n))
        others = sorted({st.part[v] for v in g.nbr[u]} - {st.part[u]})
        if not others or not ps.removable(g, st.part, u):
            continue
        st.move(g, u, others[0])
        fresh = ps.State.of(g, st.part)
        weight, area, perimeter = st.W, st.A, st.P
        assert weight == pytest.approx(fresh.W)
        assert area == pytest.approx(fresh.A)
        assert perimeter == pytest.approx(fresh.P)
        assert st.size == fresh.size


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_tree_cut_is_scored_exactly(seed: int) -> None:
    # The recombination scores every cut of a tree from subtree sums; here every cut is
    # applied and the plan's objective recomputed from scratch.
    import random

    g, st, obj = search_graph(seed, 3)
    un = ps._Union.of(g, st, obj, 0, 1)
    assert un is not None
    rnd = random.Random(seed)
    m = len(un.nodes)
    for _ in range(5):
        tree = ps.random_tree(g, un.nodes, un.member, rnd, compact=False)
        order, parent = ps._rooted(tree, rnd.randrange(m))
        values = []
        for top in order[1:]:
            inside = ps._subtree(order, parent, top, m)
            part = st.part[:]
            for i, u in enumerate(un.nodes):
                part[u] = 0 if inside[i] else 1
            values.append((obj.of(ps.State.of(g, part)), top))
        best, top, first = ps._best_cut(g, un, obj, order, parent)
        assert best == pytest.approx(min(values)[0], abs=1e-12)
        assert best == pytest.approx({t: v for v, t in values}[top], abs=1e-12)
        assert first in (0, 1)
