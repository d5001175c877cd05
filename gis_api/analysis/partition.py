"""Balanced, contiguous, compact k-partitions of a weighted unit graph, as several plans.

Domain-free: units with weights, areas and perimeters, links with shared boundary lengths;
:mod:`gis_api.analysis.split` is the community adapter (compounds and loose buildings as
units, residents as weights). :func:`partition` is the entry point, :class:`PartitionResult`
its answer; the search itself is in :mod:`gis_api.analysis.partition_search`.

Problem
-------
Given ``n`` units with weights ``w_i >= 0`` (total ``W > 0``), areas ``a_i`` and perimeters
``p_i``, links ``{i, j}`` with shared boundary lengths ``l_ij >= 0``, a number of parts
``k`` in 2..8, a tolerance ``t`` in (0, 0.5] and locks (unit -> part), find assignments
``x: units -> {0..k-1}`` such that

1. every part is non-empty and connected along links between its own members;
2. every locked unit is in its part;
3. the *deviation* ``dev(x) = max_p |W_p / (W / k) - 1|`` is at most ``t`` (balance), and
4. the mean Polsby–Popper score ``PP(x) = (1/k) sum_p 4 pi A_p / P_p^2`` is as high as
   possible, with ``A_p = sum_{i in p} a_i`` and ``P_p = sum_{i in p} p_i - 2 sum_{ij in p}
   l_ij`` (each boundary shared inside a part is no longer on its perimeter).

The objective is lexicographic: ``(max(0, dev(x) - t), -PP(x))``, lower first; when no plan
meets the tolerance the most balanced plans come first. A plan is distinct from another
when at least one unit is in a different part after relabelling (labels are canonical:
parts holding locked units keep their label, the others are numbered by their lowest unit).

Answer
------
Every distinct local optimum the search meets is scored; the plans within the tolerance (or,
if none is, all of them) are filtered to their Pareto set over (``dev`` lower, ``PP``
higher, and, when given, the share of the cut boundary along *preferred* links higher and
each ``criteria`` value higher): a plan is dropped when another is at least as good on every
one of these and better on one. Of the Pareto set, up to ``max_plans`` are kept: the best
by the objective, the best on each other criterion (the most balanced, the most along
preferred lines, ...), then the others by the objective; with ``min_moved`` > 1 a plan is
skipped while it differs from a kept one by fewer units moved. They are returned sorted by
the objective, best first.

Guarantees
----------
- Every plan returned satisfies 1 and 2; ``within_tolerance`` says whether it satisfies 3.
- Deterministic: the same inputs and seed give the same plans, unless the time budget
  stops the search (``stats.timed_out``).
- A disconnected graph is split component by component: each component gets a number of
  parts (at least one) chosen to make balance reachable, ``sum_c k_c = k``; more components
  than parts is an error (no part may span two components).
- Heuristic: the tests check the first plan against brute force on graphs of up to 12 units;
  ``bench/README.md`` compares it with GerryChain's ReCom and short bursts.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix, csr_matrix, issparse
from scipy.sparse.csgraph import connected_components

from gis_api.analysis.errors import (
    InvalidValueError,
    LockConflictError,
    NeighbourGraphError,
    OptionError,
    SplitInputError,
)
from gis_api.analysis.partition_search import Graph, canonical, search

__all__ = [
    "DEFAULT_KICKS",
    "DEFAULT_STARTS",
    "DEFAULT_TOLERANCE",
    "MAX_PARTS",
    "MIN_PARTS",
    "PartitionResult",
    "PartitionStats",
    "Plan",
    "moved",
    "partition",
    "polsby_popper",
    "relabel",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

#: Districtr's and DistrictBuilder's default population deviation: 5 % either way.
DEFAULT_TOLERANCE = 0.05
MIN_PARTS = 2
MAX_PARTS = 8

#: Default effort: starts of the iterated local search, and kicks per start.
DEFAULT_STARTS = 6
DEFAULT_KICKS = 24
# Comparisons in the Pareto filter ignore differences below these (round-off).
_DEV_EPS = 1e-9
_SCORE_EPS = 1e-12


@dataclass(frozen=True)
class Plan:
    """One plan: a part per unit and its scores.

    Attributes
    ----------
    part
        ``(n,)`` part of every unit, canonical labels in ``0..k-1``.
    weight
        ``(k,)`` weight per part.
    deviation
        ``(k,)`` signed relative deviation ``W_p / ideal - 1`` per part.
    max_deviation
        ``max_p |deviation_p|``.
    within_tolerance
        ``max_deviation <= tolerance`` (with round-off allowed).
    polsby_popper
        ``(k,)`` ``4 pi A_p / P_p^2`` per part.
    mean_pp
        Mean of ``polsby_popper``.
    preferred_share
        Share of the cut boundary length along preferred links (``nan`` without
        ``preferred``; 0 when nothing is cut).
    extra
        The ``criteria`` values, in order (empty without ``criteria``).
    """

    part: Ints
    weight: Floats
    deviation: Floats
    max_deviation: float
    within_tolerance: bool
    polsby_popper: Floats
    mean_pp: float
    preferred_share: float
    extra: tuple[float, ...]


@dataclass(frozen=True)
class PartitionStats:
    """What the search did: starts, kicks, distinct plans met, Pareto size, time."""

    starts: int
    kicks: int
    plans_met: int
    feasible_met: int
    pareto: int
    seconds: float
    timed_out: bool
    seed_failures: int


@dataclass(frozen=True)
class PartitionResult:
    """Plans found by :func:`partition`, best first, and what the search did.

    ``feasible`` is whether any plan met the tolerance (then every plan returned does);
    ``components`` and ``component_parts`` say how a disconnected graph was divided.
    """

    plans: tuple[Plan, ...]
    k: int
    tolerance: float
    ideal: float
    feasible: bool
    components: int
    component_parts: tuple[int, ...]
    stats: PartitionStats


def polsby_popper(area: ArrayLike, perimeter: ArrayLike) -> Floats:
    """Return ``4 pi A / P^2`` elementwise, 0 where the perimeter is 0.

    >>> [round(float(v), 6) for v in polsby_popper([1.0, 2.0], [4.0, 6.0])]
    [0.785398, 0.698132]
    """
    a = np.asarray(area, dtype=np.float64)
    p = np.asarray(perimeter, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, 4.0 * math.pi * a / np.maximum(p, 1e-300) ** 2, 0.0)
    return np.asarray(np.minimum(out, 1.0), dtype=np.float64)


def partition(
    weights: ArrayLike,
    links: Any,
    *,
    k: int,
    areas: ArrayLike,
    perimeters: ArrayLike,
    locks: Mapping[int, int] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    preferred: Any = None,
    criteria: Callable[[Ints], Sequence[float]] | None = None,
    max_plans: int = 5,
    min_moved: int = 1,
    seed: int = 0,
    starts: int = DEFAULT_STARTS,
    kicks: int = DEFAULT_KICKS,
    time_budget_s: float = 10.0,
    unit_names: Sequence[str] | None = None,
) -> PartitionResult:
    """Split a unit graph into ``k`` balanced, connected, compact parts; several plans.

    See the module docstring for the problem, the objective and the Pareto filter.

    Parameters
    ----------
    weights
        ``(n,)`` weights (residents, households), finite, >= 0, not all 0.
    links
        ``(n, n)`` scipy sparse matrix of shared boundary lengths (any unit of length, the
        same as ``perimeters``); a stored entry is a link, an explicit 0 too. Read as
        undirected: the larger of ``l_ij`` and ``l_ji`` counts. The diagonal is ignored.
    k
        Number of parts, 2..8.
    areas, perimeters
        ``(n,)`` area and perimeter of every unit; a unit's perimeter must be at least the
        sum of its shared lengths.
    locks
        ``{unit index: part}``, parts in ``0..k-1``. Locked units stay in their part; the
        labels of parts holding locked units are kept in the answer.
    tolerance
        Largest relative deviation of a part's weight from ``W / k``, in (0, 0.5].
    preferred
        Optional ``(n, n)`` sparse matrix: the length of each link's shared boundary that
        lies along a preferred line (a street); adds the preferred share of the cut boundary
        to the Pareto criteria.
    criteria
        Optional function of a plan's ``part`` array returning more values to maximize in
        the Pareto filter (negate what is to be minimized). Called once per distinct plan.
    max_plans
        Most plans returned (>= 1).
    min_moved
        Fewest units that must move between two plans returned (>= 1; after the best
        relabelling).
    seed
        Seed of the random spanning trees and kicks.
    starts, kicks
        Effort: starts of the iterated local search and kicks per start.
    time_budget_s
        Stop searching after this many seconds: a cap, the plans found so far are returned
        (the default effort takes about 0.3 s on 60 units in 2 parts, 1 s in 4 and 7 s on
        300 units in 8; ``bench/README.md``).
    unit_names
        Names of the units for messages (default: their indices).

    Returns
    -------
    PartitionResult

    Raises
    ------
    OptionError
        If ``k``, ``tolerance``, ``max_plans``, ``min_moved``, ``starts``, ``kicks`` or
        ``time_budget_s`` is out of range.
    InvalidValueError
        If a weight, area or perimeter is missing, negative or not finite, or the weights
        sum to 0.
    NeighbourGraphError
        If ``links`` or ``preferred`` is not an ``(n, n)`` sparse matrix of finite lengths
        >= 0, or a perimeter is shorter than the unit's shared boundaries.
    SplitInputError
        If there are fewer units than parts, or more connected components than parts.
    LockConflictError
        If a lock names a unit or part out of range, or units locked to one part cannot be
        connected without passing through units locked to another, or no plan meets them.

    Examples
    --------
    Four unit squares in a row, split in two:

    >>> from scipy.sparse import csr_matrix
    >>> links = csr_matrix(([1.0, 1.0, 1.0], ([0, 1, 2], [1, 2, 3])), shape=(4, 4))
    >>> r = partition([1, 1, 1, 1], links, k=2, areas=[1] * 4, perimeters=[4] * 4)
    >>> r.plans[0].part.tolist(), round(r.plans[0].mean_pp, 4)
    ([0, 0, 1, 1], 0.6981)
    """
    t0 = time.perf_counter()
    _check_options(
        k=k,
        tolerance=tolerance,
        max_plans=max_plans,
        min_moved=min_moved,
        starts=starts,
        kicks=kicks,
        time_budget_s=time_budget_s,
    )
    prob = _problem(
        weights,
        links,
        areas,
        perimeters,
        k=k,
        tolerance=float(tolerance),
        preferred=preferred,
        locks=locks,
        unit_names=unit_names,
    )
    comps, labels, k_c = _components(prob)
    g = _graph(prob, deadline=t0 + float(time_budget_s), components=comps, labels=labels)
    pool, sstats = search(g, prob.tolerance, random.Random(seed), starts=starts, kicks=kicks)
    if not pool.plans:
        msg = "在时间上限内未能找到满足锁定条件、各部分连成一片的方案；请减少锁定或放宽时间上限"
        raise LockConflictError(msg, loc=("locks",))
    plans_arr = np.asarray(list(pool.plans), dtype=np.int64)
    scored = _score(plans_arr, prob)
    extra = (
        np.asarray([list(criteria(row.copy())) for row in plans_arr], dtype=np.float64)
        if criteria is not None
        else np.zeros((len(plans_arr), 0))
    )
    feasible = scored["within"]
    keep = np.flatnonzero(feasible) if feasible.any() else np.arange(len(plans_arr))
    front = _pareto(keep, scored, extra)
    order = sorted(
        front.tolist(),
        key=lambda i: (
            max(0.0, float(scored["max_dev"][i]) - prob.tolerance),
            -float(scored["mean_pp"][i]),
            float(scored["max_dev"][i]),
            i,
        ),
    )
    chosen = _pick(
        order, plans_arr, prob, max_plans=max_plans, min_moved=min_moved, scored=scored, extra=extra
    )
    plans = tuple(
        Plan(
            part=plans_arr[i].copy(),
            weight=scored["W"][i].copy(),
            deviation=scored["dev"][i].copy(),
            max_deviation=float(scored["max_dev"][i]),
            within_tolerance=bool(feasible[i]),
            polsby_popper=scored["pp"][i].copy(),
            mean_pp=float(scored["mean_pp"][i]),
            preferred_share=float(scored["share"][i]),
            extra=tuple(float(v) for v in extra[i]),
        )
        for i in chosen
    )
    stats = PartitionStats(
        starts=sstats.starts,
        kicks=sstats.kicks,
        plans_met=len(plans_arr),
        feasible_met=int(feasible.sum()),
        pareto=len(front),
        seconds=time.perf_counter() - t0,
        timed_out=sstats.timed_out,
        seed_failures=sstats.seed_failures,
    )
    return PartitionResult(
        plans=plans,
        k=k,
        tolerance=prob.tolerance,
        ideal=prob.ideal,
        feasible=bool(feasible.any()),
        components=len(comps),
        component_parts=tuple(k_c),
        stats=stats,
    )


@dataclass(frozen=True)
class _Problem:
    """The checked inputs: weights, areas, perimeters, links ``i < j`` and their lengths."""

    n: int
    k: int
    tolerance: float
    w: Floats
    a: Floats
    p: Floats
    ei: Ints
    ej: Ints
    el: Floats
    along: Floats | None
    lock: list[int]
    names: list[str]

    @property
    def ideal(self) -> float:
        """Return the ideal part weight, ``W / k``."""
        return float(self.w.sum()) / self.k


def _problem(
    weights: ArrayLike,
    links: Any,
    areas: ArrayLike,
    perimeters: ArrayLike,
    *,
    k: int,
    tolerance: float,
    preferred: Any,
    locks: Mapping[int, int] | None,
    unit_names: Sequence[str] | None,
) -> _Problem:
    """Check and convert the inputs of :func:`partition`."""
    w = _values("weights", "权重", weights, None)
    n = len(w)
    a = _values("areas", "面积", areas, n)
    p = _values("perimeters", "周长", perimeters, n)
    names = [str(x) for x in unit_names] if unit_names is not None else [str(i) for i in range(n)]
    if float(w.sum()) <= 0:
        msg = "参数 weights（权重）总和为 0，无法按权重均衡划分"
        raise InvalidValueError(msg, loc=("weights",))
    if n < k:
        msg = f"只有 {n} 个单元，少于要分的 {k} 部分；每部分至少要有 1 个单元"
        raise SplitInputError(msg, loc=("k",))
    ei, ej, el = _links("links", links, n)
    shared = np.bincount(ei, weights=el, minlength=n) + np.bincount(ej, weights=el, minlength=n)
    short = np.flatnonzero(p < shared - 1e-6 * np.maximum(1.0, shared))
    if len(short):
        i = int(short[0])
        msg = (
            f"单元 {names[i]} 的周长 {p[i]:g} 小于它与相邻单元的共享边界之和 {shared[i]:g}；"
            "周长应包含所有共享边界"
        )
        raise NeighbourGraphError(msg, loc=("perimeters", i))
    along = _along(preferred, n, ei, ej, el) if preferred is not None else None
    lock = _check_locks(locks, n, k, names)
    return _Problem(n, k, tolerance, w, a, p, ei, ej, el, along, lock, names)


def _graph(
    prob: _Problem, *, deadline: float, components: list[list[int]], labels: list[list[int]]
) -> Graph:
    """Return the search's list-based graph of the problem."""
    nbr: list[list[int]] = [[] for _ in range(prob.n)]
    length: list[list[float]] = [[] for _ in range(prob.n)]
    for i, j, d in zip(prob.ei.tolist(), prob.ej.tolist(), prob.el.tolist(), strict=True):
        nbr[i].append(j)
        length[i].append(d)
        nbr[j].append(i)
        length[j].append(d)
    return Graph(
        n=prob.n,
        k=prob.k,
        nbr=nbr,
        length=length,
        weight=prob.w.tolist(),
        area=prob.a.tolist(),
        perimeter=prob.p.tolist(),
        lock=prob.lock,
        ideal=prob.ideal,
        deadline=deadline,
        components=components,
        labels=labels,
    )


# --- input checks -----------------------------------------------------------------------------


def _check_options(
    *,
    k: Any,
    tolerance: Any,
    max_plans: Any,
    min_moved: Any,
    starts: Any,
    kicks: Any,
    time_budget_s: Any,
) -> None:
    if (
        isinstance(k, bool)
        or not isinstance(k, int | np.integer)
        or not (MIN_PARTS <= int(k) <= MAX_PARTS)
    ):
        msg = f"参数 k（部分数）应为 {MIN_PARTS} 到 {MAX_PARTS} 之间的整数，实际为 {k!r}"
        raise OptionError(msg, loc=("k",))
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        tol = math.nan
    if not (0.0 < tol <= 0.5):
        msg = (
            f"参数 tolerance（允许偏差）应为大于 0、不超过 0.5 的比例（如 0.05 表示 ±5%），"
            f"实际为 {tolerance!r}"
        )
        raise OptionError(msg, loc=("tolerance",))
    for name, zh, value, low in (
        ("max_plans", "方案数", max_plans, 1),
        ("min_moved", "方案间至少不同的单元数", min_moved, 1),
        ("starts", "起点数", starts, 1),
        ("kicks", "扰动次数", kicks, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            msg = f"参数 {name}（{zh}）应为不小于 {low} 的整数，实际为 {value!r}"
            raise OptionError(msg, loc=(name,))
    try:
        budget = float(time_budget_s)
    except (TypeError, ValueError):
        budget = math.nan
    if not (math.isfinite(budget) and budget > 0):
        msg = f"参数 time_budget_s（计算时间上限，秒）应为正的有限数，实际为 {time_budget_s!r}"
        raise OptionError(msg, loc=("time_budget_s",))


def _values(name: str, zh: str, values: ArrayLike, n: int | None) -> Floats:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        msg = f"参数 {name}（{zh}）应为数值数组"
        raise InvalidValueError(msg, loc=(name,)) from exc
    if n is not None and len(arr) != n:
        msg = f"参数 {name}（{zh}）有 {len(arr)} 个值，与 weights 的 {n} 个单元不一致"
        raise InvalidValueError(msg, loc=(name,))
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if len(bad):
        i = int(bad[0])
        msg = f"参数 {name}（{zh}）第 {i} 个单元的值为 {arr[i]:g}，应为非负的有限数"
        raise InvalidValueError(msg, loc=(name, i))
    return arr


def _links(name: str, links: Any, n: int) -> tuple[Ints, Ints, Floats]:
    """Return the undirected links ``i < j`` (each once, the larger length), checked."""
    if not issparse(links):
        msg = (
            f"参数 {name} 应为 scipy 稀疏矩阵（单元之间的共享边界长度），"
            f"实际为 {type(links).__name__}"
        )
        raise NeighbourGraphError(msg, loc=(name,))
    if links.shape != (n, n):
        msg = f"参数 {name} 的形状为 {links.shape}，应为 ({n}, {n})，与单元顺序一一对应"
        raise NeighbourGraphError(msg, loc=(name,))
    coo = coo_matrix(links)
    d = np.asarray(coo.data, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(d) | (d < 0))
    if len(bad):
        b = int(bad[0])
        i, j = int(coo.row[b]), int(coo.col[b])
        msg = f"参数 {name} 中单元 {i} 与 {j} 之间的长度为 {d[b]:g}，应为有限的非负数"
        raise NeighbourGraphError(msg, loc=(name, i, j))
    row, col = np.asarray(coo.row, dtype=np.int64), np.asarray(coo.col, dtype=np.int64)
    off = row != col
    lo, hi, d = np.minimum(row, col)[off], np.maximum(row, col)[off], d[off]
    if len(d) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)
    key = lo * n + hi
    order = np.lexsort((-d, key))
    key, d = key[order], d[order]
    first = np.r_[True, key[1:] != key[:-1]]
    key, d = key[first], d[first]
    return key // n, key % n, d


def _along(preferred: Any, n: int, ei: Ints, ej: Ints, el: Floats) -> Floats:
    """Return the preferred length per link, aligned with ``(ei, ej)``, at most its length."""
    pi, pj, pl = _links("preferred", preferred, n)
    table = csr_matrix((pl, (pi, pj)), shape=(n, n))
    got = np.asarray(table[ei, ej], dtype=np.float64).reshape(-1) if len(ei) else np.zeros(0)
    return np.minimum(got, el)


def _check_locks(locks: Mapping[int, int] | None, n: int, k: int, names: list[str]) -> list[int]:
    lock = [-1] * n
    for unit, part in (locks or {}).items():
        try:
            u, q = int(unit), int(part)
        except (TypeError, ValueError) as exc:
            msg = f"锁定 {unit!r}: {part!r} 应为单元序号和部分编号（整数）"
            raise LockConflictError(msg, loc=("locks", str(unit))) from exc
        if not 0 <= u < n:
            msg = f"锁定的单元序号 {u} 不存在（共 {n} 个单元，序号 0 到 {n - 1}）"
            raise LockConflictError(msg, loc=("locks", u))
        if not 0 <= q < k:
            msg = f"单元 {names[u]} 锁定到第 {q} 部分，但部分编号应为 0 到 {k - 1}"
            raise LockConflictError(msg, loc=("locks", u))
        lock[u] = q
    return lock


def _components(prob: _Problem) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """Return the components, the parts each is given, and how many; locks checked."""
    n, k, ei, ej, w, lock, names = (prob.n, prob.k, prob.ei, prob.ej, prob.w, prob.lock, prob.names)
    G = csr_matrix((np.ones(len(ei)), (ei, ej)), shape=(n, n))
    n_comp, comp = connected_components(G, directed=False)
    comp = np.asarray(comp, dtype=np.int64)
    if n_comp > k:
        sizes = np.bincount(comp)
        msg = (
            f"单元之间互不相连，分成 {n_comp} 片（各 {'、'.join(str(s) for s in sizes[:8])}"
            f"{' 等' if n_comp > 8 else ''} 个单元），多于要分的 {k} 部分；"
            "每部分必须连成一片，一片也不能分给两部分，请检查相邻关系或增加部分数"
        )
        raise SplitInputError(msg, loc=("links",))
    _check_lock_paths(n, ei, ej, lock, names)
    locked_in: list[set[int]] = [set() for _ in range(n_comp)]
    where: dict[int, int] = {}
    for u, q in enumerate(lock):
        if q < 0:
            continue
        c = int(comp[u])
        if q in where and where[q] != c:
            msg = f"锁定到第 {q} 部分的单元分属互不相连的两片，无法组成连成一片的一部分"
            raise LockConflictError(msg, loc=("locks", u))
        where[q] = c
        locked_in[c].add(q)
    size = np.bincount(comp, minlength=n_comp)
    weight = np.bincount(comp, weights=w, minlength=n_comp)
    ideal = float(w.sum()) / k
    low = [max(1, len(locked_in[c])) for c in range(n_comp)]
    high = [int(size[c]) for c in range(n_comp)]
    best: tuple[float, tuple[int, ...]] | None = None
    ranges = [range(low[c], min(high[c], k) + 1) for c in range(n_comp)]
    for alloc in itertools.product(*ranges):
        if sum(alloc) != k:
            continue
        bound = max(abs(weight[c] / (alloc[c] * ideal) - 1.0) for c in range(n_comp))
        if best is None or bound < best[0] - 1e-12:
            best = (float(bound), alloc)
    if best is None:
        msg = (
            f"单元之间互不相连，分成 {n_comp} 片；每片至少要占 1 部分，锁定到不同部分的单元"
            f"所在的片要占更多部分，单元少的片又占不了太多，无法恰好分成 {k} 部分；"
            "请修改锁定或部分数"
        )
        raise SplitInputError(msg, loc=("k",))
    alloc = best[1]
    free = iter(q for q in range(k) if q not in where)
    labels: list[list[int]] = []
    for c in range(n_comp):
        mine = sorted(locked_in[c])
        mine += [next(free) for _ in range(alloc[c] - len(mine))]
        labels.append(mine)
    comps = [np.flatnonzero(comp == c).tolist() for c in range(n_comp)]
    return comps, labels, list(alloc)


def _check_lock_paths(n: int, ei: Ints, ej: Ints, lock: list[int], names: list[str]) -> None:
    """Refuse locks to one part whose units connect only through units locked elsewhere."""
    parts = sorted({q for q in lock if q >= 0})
    for q in parts:
        ok = np.asarray([x < 0 or x == q for x in lock], dtype=np.bool_)
        keep = ok[ei] & ok[ej]
        G = csr_matrix((np.ones(int(keep.sum())), (ei[keep], ej[keep])), shape=(n, n))
        _, comp = connected_components(G, directed=False)
        members = [u for u in range(n) if lock[u] == q]
        first = members[0]
        for u in members[1:]:
            if comp[u] != comp[first]:
                msg = (
                    f"单元 {names[first]} 与 {names[u]} 都锁定到第 {q} 部分，但二者之间只能经过"
                    "锁定到其他部分的单元相连，无法连成一片；请修改锁定"
                )
                raise LockConflictError(msg, loc=("locks", u))


# --- scoring and the Pareto filter --------------------------------------------------------------


def _score(plans: Ints, prob: _Problem) -> dict[str, Any]:
    """Return per plan and part the weight, deviation, Polsby–Popper; the preferred share."""
    k, w, a, p, ei, ej, el = prob.k, prob.w, prob.a, prob.p, prob.ei, prob.ej, prob.el
    along, ideal, tolerance = prob.along, prob.ideal, prob.tolerance
    m, n = plans.shape
    idx = (np.arange(m)[:, None] * k + plans).reshape(-1)

    def per_part(values: Floats) -> Floats:
        tiled = np.broadcast_to(values, (m, n)).reshape(-1)
        out = np.bincount(idx, weights=tiled, minlength=m * k).reshape(m, k)
        return np.asarray(out, dtype=np.float64)

    W, A, P = per_part(w), per_part(a), per_part(p)
    same = plans[:, ei] == plans[:, ej]
    if len(ei):
        inner_idx = (np.arange(m)[:, None] * k + plans[:, ei])[same]
        inner_len = np.broadcast_to(el, same.shape)[same]
        P = P - 2.0 * np.bincount(inner_idx, weights=inner_len, minlength=m * k).reshape(m, k)
    dev = W / ideal - 1.0
    max_dev = np.abs(dev).max(axis=1)
    pp = polsby_popper(A, np.maximum(P, 0.0))
    if along is not None and len(ei):
        cut = ~same
        total = (cut * el).sum(axis=1)
        on = (cut * along).sum(axis=1)
        share = np.where(total > 0, on / np.maximum(total, 1e-300), 0.0)
    else:
        share = np.full(m, math.nan)
    return {
        "W": W,
        "dev": dev,
        "max_dev": max_dev,
        "within": max_dev <= tolerance + _DEV_EPS,
        "pp": pp,
        "mean_pp": pp.mean(axis=1),
        "share": share,
    }


def _pareto(keep: Ints, scored: dict[str, Any], extra: Floats) -> Ints:
    """Return the members of ``keep`` that no other member dominates (criteria minimized)."""
    cols = [
        np.round(scored["max_dev"][keep] / _DEV_EPS) * _DEV_EPS,
        -np.round(scored["mean_pp"][keep] / _SCORE_EPS) * _SCORE_EPS,
    ]
    share = scored["share"][keep]
    if not np.isnan(share).all():
        cols.append(-np.round(share / _SCORE_EPS) * _SCORE_EPS)
    for c in range(extra.shape[1]):
        cols.append(-np.round(extra[keep, c] / _SCORE_EPS) * _SCORE_EPS)
    X = np.column_stack(cols)
    alive = np.ones(len(keep), dtype=np.bool_)
    for i in range(len(keep)):
        le = (X[i] >= X).all(axis=1)
        lt = (X[i] > X).any(axis=1)
        if (le & lt).any():
            alive[i] = False
    return np.asarray(keep[alive], dtype=np.int64)


def moved(a: Ints, b: Ints, k: int, lock: Sequence[int]) -> int:
    """Return the fewest units that change part from ``a`` to ``b``, relabelling ``b``.

    Parts holding locked units keep their label.

    >>> moved(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]), 2, [-1] * 4)
    0
    """
    overlap = np.zeros((k, k))
    np.add.at(overlap, (a, b), 1.0)
    fixed = {q for q in lock if q >= 0}
    for q in fixed:
        row = overlap[q, q]
        overlap[q, :] = -len(a) - 1.0
        overlap[:, q] = -len(a) - 1.0
        overlap[q, q] = row
    r, c = linear_sum_assignment(overlap, maximize=True)
    return int(len(a) - overlap[r, c].sum())


def _pick(
    order: list[int],
    plans: Ints,
    prob: _Problem,
    *,
    max_plans: int,
    min_moved: int,
    scored: dict[str, Any],
    extra: Floats,
) -> list[int]:
    """Return the best plan, the best on each other criterion, then the rest in ``order``.

    Returned in ``order`` (the objective's), so the best plan stays first.
    """
    lead = [order[0]]
    lead.append(min(order, key=lambda i: (float(scored["max_dev"][i]), order.index(i))))
    if not np.isnan(scored["share"][order]).all():
        lead.append(min(order, key=lambda i: (-float(scored["share"][i]), order.index(i))))
    for c in range(extra.shape[1]):
        lead.append(min(order, key=lambda i: (-float(extra[i, c]), order.index(i))))
    chosen: list[int] = []
    for i in [*dict.fromkeys(lead), *order]:
        if len(chosen) >= max_plans:
            break
        if i in chosen:
            continue
        if min_moved > 1 and any(
            moved(plans[i], plans[j], prob.k, prob.lock) < min_moved for j in chosen
        ):
            continue
        chosen.append(i)
    return sorted(chosen, key=order.index)


def relabel(part: ArrayLike, locks: Mapping[int, int] | None, k: int) -> Ints:
    """Return the canonical labels of ``part`` (as the plans carry them) for the locks."""
    lock_total = [0] * k
    for q in (locks or {}).values():
        lock_total[int(q)] += 1
    arr = np.asarray(part, dtype=np.int64).reshape(-1)
    return np.asarray(canonical(arr.tolist(), lock_total), dtype=np.int64)
