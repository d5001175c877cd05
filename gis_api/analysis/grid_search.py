"""The search behind grid delineation: numbers of grids, the range objective, the plan kept.

Domain-light, like :mod:`gis_api.analysis.partition_search` whose moves it drives: a unit
graph (households, residents, areas, perimeters, links with shared and along-street lengths)
in, a grid per unit out. :mod:`gis_api.analysis.grids` is the community adapter; its
docstring states the problem (thresholds, pieces, the choice of ``k``, the plan kept).

Per piece (connected component of the unit graph):

1. ``k`` starts at the largest *slack* ``min(max / ideal - 1, 1 - min / ideal,
   max_residents * k / R - 1)`` (ideal ``W / k``; ties: fewer grids). While the best plan
   misses a threshold, the next ``k`` is one more when more of its grids of two units or more
   are too big than too small, else one fewer (then the other side), up to :data:`K_TRIES`.
2. For each ``k``: iterated local search (``starts`` seeds of random spanning trees cut by
   recursive bisection, each improved by flips, swaps and recombinations, then kicked
   ``kicks`` times, a kicked plan kept when at least as good) on :class:`RangeObjective`.
3. Of every local optimum met, the plan kept has the fewest grids outside the thresholds,
   then the least total excess, then the highest ``mean PP + STREET_WEIGHT * street share``.

The first half of a piece's budget goes to the first ``k``, the rest evenly to the others;
the first seed always runs, however short the budget.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from gis_api.analysis.partition import DEFAULT_KICKS, DEFAULT_STARTS
from gis_api.analysis.partition_search import (
    Graph,
    Objective,
    canonical,
    improve,
    kick,
    polsby_popper,
    seed_plan,
)

__all__ = [
    "K_TRIES",
    "STREET_WEIGHT",
    "Attempt",
    "Limits",
    "RangeObjective",
    "UnitGraph",
    "pieces",
    "solve",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

#: Values of ``k`` tried per piece at most.
K_TRIES = 4
#: Weight of the street share beside the mean Polsby-Popper score when choosing a plan.
STREET_WEIGHT = 0.25

# Comparisons of households and residents allow this much round-off.
_EPS = 1e-6
# The weight of the excess over compactness (the partition core's lambda).
_PENALTY = 1e6
# Share of a piece's budget for the first k tried; later ones share the rest evenly.
_FIRST_SHARE = 0.5


@dataclass(frozen=True)
class Limits:
    """The thresholds: households per grid within ``[low, high]``, residents at most."""

    low: float
    high: float
    residents: float

    def within(self, households: float, residents: float) -> bool:
        """Return True when a grid of these figures meets every threshold."""
        return (
            self.low - _EPS <= households <= self.high + _EPS and residents <= self.residents + _EPS
        )


class UnitGraph(Protocol):
    """What the search reads of the units (:class:`gis_api.analysis.grids.GridUnits` has it)."""

    @property
    def households(self) -> Floats:
        """Households per unit."""

    @property
    def residents(self) -> Floats:
        """Residents per unit."""

    @property
    def area_m2(self) -> Floats:
        """Area of each unit's territory."""

    @property
    def perimeter_m(self) -> Floats:
        """Perimeter of each unit's territory (at least its shared lengths)."""

    @property
    def edge_i(self) -> Ints:
        """First unit of each link."""

    @property
    def edge_j(self) -> Ints:
        """Second unit of each link."""

    @property
    def edge_length_m(self) -> Floats:
        """Shared boundary of each link."""

    @property
    def edge_street_m(self) -> Floats:
        """Length of each link's shared boundary along streets."""


@dataclass(frozen=True)
class Attempt:
    """One number of grids tried for one piece: grids of its best plan outside, plans met."""

    piece: int
    k: int
    outside: int
    plans: int
    seconds: float
    timed_out: bool


@dataclass(frozen=True)
class RangeObjective(Objective):
    """The partition core's objective with a range in place of a tolerance; lower is better.

    A grid's excess is ``e = max(0, (W - high) / ideal, (low - W) / ideal)`` and
    ``f = 1e6 * (max_p e_p + spread * sum_p e_p^2) - mean_p PP_p``, as in
    :class:`gis_api.analysis.partition_search.Objective` (whose moves call
    :meth:`value`, :meth:`rest` and :meth:`pair`): plans within the range compare by
    compactness alone, and the sum of squares lets households flow through grids that are
    not the worst. ``target`` is unused.

    >>> obj = RangeObjective(400.0, 0.0, 2, spread=1.0, low=300.0, high=500.0)
    >>> obj.excess(450.0), obj.excess(550.0), obj.excess(200.0)
    (0.0, 0.125, 0.25)
    """

    low: float = 0.0
    high: float = math.inf

    def excess(self, w: float) -> float:
        """Grid weight ``w``'s distance outside the range, as a share of the ideal."""
        return max(0.0, (w - self.high) / self.ideal, (self.low - w) / self.ideal)

    def value(self, W: Sequence[float], A: Sequence[float], P: Sequence[float]) -> float:
        """Return the objective of per-grid weights, areas and perimeters."""
        top = squares = pp = 0.0
        for w, a, p in zip(W, A, P, strict=True):
            e = self.excess(w)
            top = max(top, e)
            squares += e * e
            pp += polsby_popper(a, p)
        return _PENALTY * (top + self.spread * squares) - pp / self.k

    def pair(
        self,
        rest: tuple[float, float, float],
        one: tuple[float, float, float],
        two: tuple[float, float, float],
    ) -> float:
        """Return the objective with two grids ``(weight, area, perimeter)`` as given."""
        top, squares, pp = rest
        e1, e2 = self.excess(one[0]), self.excess(two[0])
        top = max(top, e1, e2)
        pp += polsby_popper(one[1], one[2]) + polsby_popper(two[1], two[2])
        return _PENALTY * (top + self.spread * (squares + e1 * e1 + e2 * e2)) - pp / self.k


@dataclass(frozen=True)
class _Piece:
    """One connected piece of the unit graph, in local indices, and how to name it."""

    index: int
    units: Ints
    ei: Ints
    ej: Ints
    el: Floats
    es: Floats
    households: Floats
    residents: Floats
    area: Floats
    perimeter: Floats
    where: str

    @property
    def n(self) -> int:
        return len(self.units)


@dataclass(frozen=True)
class _Scored:
    """The best plan met for one ``k``: ranking key, assignment, grids too big and too small."""

    key: tuple[float, float, float]
    x: Ints
    k: int
    over: int
    under: int


def solve(
    graph: UnitGraph,
    limits: Limits,
    *,
    locked: bool = False,
    budget: float,
    seed: int = 0,
    starts: int = DEFAULT_STARTS,
    kicks: int = DEFAULT_KICKS,
) -> tuple[Ints, list[Attempt], dict[int, str]]:
    """Delineate a unit graph piece by piece (module docstring).

    Returns the grid (0..) of every unit, the attempts, and for each grid of a piece whose
    grids could not all meet the thresholds the piece's reason (zh-CN). ``locked`` says
    whether locked grids were taken out first (for the reasons' wording); ``budget`` is
    shared among the pieces by their units, what a piece leaves going to the next.
    """
    n = len(graph.households)
    part = np.full(n, -1, dtype=np.int64)
    attempts: list[Attempt] = []
    reasons: dict[int, str] = {}
    if n == 0:
        return part, attempts, reasons
    piece = pieces(n, graph.edge_i, graph.edge_j)
    n_pieces = int(piece.max()) + 1
    sizes = np.bincount(piece, minlength=n_pieces).astype(np.float64)
    deadline = time.perf_counter() + budget
    if n_pieces > 1:
        where = "该片（与社区其余部分不相连）"
    elif locked:
        where = "锁定网格以外的部分"
    else:
        where = "社区"
    grid = 0
    for c in range(n_pieces):
        p = _piece(graph, piece, c, where)
        x, tried, why = _delineate_piece(
            p,
            limits,
            # what is left, shared by the units left (what a piece leaves goes to the next)
            budget=max(deadline - time.perf_counter(), 0.0) * sizes[c] / sizes[c:].sum(),
            seed=seed,
            starts=starts,
            kicks=kicks,
        )
        attempts.extend(tried)
        k = int(x.max()) + 1
        part[p.units] = x + grid
        for q in range(k):
            if why:
                reasons[grid + q] = why
        grid += k
    return part, attempts, reasons


def pieces(n: int, edge_i: Ints, edge_j: Ints) -> Ints:
    """Return the connected piece of each of ``n`` units, pieces numbered by their lowest unit.

    >>> pieces(4, np.array([0, 2]), np.array([3, 1])).tolist()
    [0, 1, 1, 0]
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    links = csr_matrix((np.ones(len(edge_i)), (edge_i, edge_j)), shape=(n, n))
    _, label = connected_components(links, directed=False)
    _, first = np.unique(label, return_index=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return np.asarray(rank[label], dtype=np.int64)


def _piece(graph: UnitGraph, piece: Ints, c: int, where: str) -> _Piece:
    members = np.flatnonzero(piece == c).astype(np.int64)
    local = np.full(len(piece), -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    inside = (piece[graph.edge_i] == c) & (piece[graph.edge_j] == c)
    return _Piece(
        index=c,
        units=members,
        ei=local[graph.edge_i[inside]],
        ej=local[graph.edge_j[inside]],
        el=graph.edge_length_m[inside],
        es=graph.edge_street_m[inside],
        households=graph.households[members],
        residents=graph.residents[members],
        area=graph.area_m2[members],
        perimeter=graph.perimeter_m[members],
        where=where,
    )


def _slack(k: int, w: float, r: float, limits: Limits) -> float:
    """Return the largest symmetric deviation ``k`` grids of a piece have within the limits."""
    ideal = w / k
    tol = min(limits.high / ideal - 1.0, 1.0 - limits.low / ideal)
    res = limits.residents * k / r - 1.0 if r > 0 else math.inf
    return min(tol, res)


def _k_range(p: _Piece, limits: Limits) -> tuple[int, int]:
    """Return the first ``k`` to try (best slack; ties: fewer grids) and the largest."""
    w, r = float(p.households.sum()), float(p.residents.sum())
    if p.n <= 1 or w <= 0 or w < limits.low - _EPS:
        return 1, 1
    top = max(
        math.ceil(w / max(limits.low, 1.0)),
        math.ceil(r / limits.residents),
        math.ceil(w / limits.high),
    )
    top = max(1, min(p.n, top + 1))
    first = min(range(1, top + 1), key=lambda k: (-_slack(k, w, r, limits), k))
    return first, top


def _delineate_piece(
    p: _Piece, limits: Limits, *, budget: float, seed: int, starts: int, kicks: int
) -> tuple[Ints, list[Attempt], str]:
    """Return the best plan for a piece, the attempts, and why it misses a threshold."""
    best: _Scored | None = None
    tried: list[Attempt] = []
    deadline = time.perf_counter() + budget
    k, top = _k_range(p, limits)
    todo: int | None = k
    while todo is not None:
        k = todo
        t = time.perf_counter()
        left = max(deadline - t, 0.0)
        mine = left * _FIRST_SHARE if not tried else left / max(1, K_TRIES - len(tried))
        if k == 1:
            plans, timed_out = np.zeros((1, p.n), dtype=np.int64), False
        else:
            plans, timed_out = _search(
                p, k, limits, budget=mine, seed=seed, starts=starts, kicks=kicks
            )
        got = _best_plan(p, plans, k, limits)
        tried.append(
            Attempt(p.index, k, int(got.key[0]), len(plans), time.perf_counter() - t, timed_out)
        )
        if best is None or got.key < best.key:
            best = got
        if best.key[0] == 0 or len(tried) >= K_TRIES or time.perf_counter() > deadline:
            break
        done = {a.k for a in tried}
        step = 1 if best.over >= best.under else -1
        todo = next(
            (c for c in (best.k + step, best.k - step) if 1 <= c <= top and c not in done), None
        )
    assert best is not None
    if best.key[0] == 0:
        return best.x, tried, ""
    return best.x, tried, _piece_reason(p, limits, tried)


def _search(
    p: _Piece, k: int, limits: Limits, *, budget: float, seed: int, starts: int, kicks: int
) -> tuple[Ints, bool]:
    """Every local optimum an iterated local search meets for ``k`` grids of a piece.

    ``starts`` seeds, each improved to a local optimum and kicked ``kicks`` times (the
    kicked plan, improved, replaces the current one when at least as good), on the moves of
    :mod:`gis_api.analysis.partition_search` and :class:`RangeObjective`.
    """
    nbr: list[list[int]] = [[] for _ in range(p.n)]
    length: list[list[float]] = [[] for _ in range(p.n)]
    for i, j, d in zip(p.ei.tolist(), p.ej.tolist(), p.el.tolist(), strict=True):
        nbr[i].append(j)
        length[i].append(d)
        nbr[j].append(i)
        length[j].append(d)
    ideal = float(p.households.sum()) / k
    g = Graph(
        n=p.n,
        k=k,
        nbr=nbr,
        length=length,
        weight=p.households.tolist(),
        area=p.area.tolist(),
        perimeter=p.perimeter.tolist(),
        lock=[-1] * p.n,
        ideal=ideal,
        deadline=time.perf_counter() + budget,
    )
    obj = RangeObjective(ideal, 0.0, k, spread=1.0, low=limits.low, high=limits.high)
    rng = random.Random(seed * 1_000_003 + p.index * 1_009 + k)
    pool: dict[tuple[int, ...], None] = {}
    for s in range(starts):
        if s > 0 and g.out_of_time():
            break  # the first start always runs: a plan, however short the budget
        st = seed_plan(g, rng, compact=s % 2 == 0)
        if st is None:
            continue
        improve(g, st, obj, rng, swaps=True)
        pool.setdefault(canonical(st.part, g.lock_total), None)
        cur, f_cur = st, obj.of(st)
        for _ in range(kicks):
            if g.out_of_time():
                break
            nxt = cur.copy()
            kick(g, nxt, obj, rng)
            improve(g, nxt, obj, rng, swaps=True)
            pool.setdefault(canonical(nxt.part, g.lock_total), None)
            f_nxt = obj.of(nxt)
            if f_nxt <= f_cur:
                cur, f_cur = nxt, f_nxt
    plans = np.asarray(list(pool), dtype=np.int64).reshape(-1, p.n)
    return plans, g.out_of_time()


def _best_plan(p: _Piece, plans: Ints, k: int, limits: Limits) -> _Scored:
    """Return the plan with the fewest grids outside the thresholds, least excess, best shape."""
    m, n = plans.shape
    idx = (np.arange(m)[:, None] * k + plans).reshape(-1)

    def per_grid(values: Floats) -> Floats:
        tiled = np.broadcast_to(values, (m, n)).reshape(-1)
        got = np.bincount(idx, weights=tiled, minlength=m * k).reshape(m, k)
        return np.asarray(got, dtype=np.float64)

    H, R = per_grid(p.households), per_grid(p.residents)
    A, P = per_grid(p.area), per_grid(p.perimeter)
    size = per_grid(np.ones(n))
    cut_len, cut_street = np.zeros(m), np.zeros(m)
    if len(p.ei):
        same = plans[:, p.ei] == plans[:, p.ej]
        inner_idx = (np.arange(m)[:, None] * k + plans[:, p.ei])[same]
        inner_len = np.broadcast_to(p.el, same.shape)[same]
        P = P - 2.0 * np.bincount(inner_idx, weights=inner_len, minlength=m * k).reshape(m, k)
        cut_len = (~same * p.el).sum(axis=1)
        cut_street = (~same * p.es).sum(axis=1)
    ideal_h = max(float(p.households.sum()) / k, 1.0)
    ideal_r = max(float(p.residents.sum()) / k, 1.0)
    over = np.maximum(H - limits.high, 0.0)
    under = np.maximum(limits.low - H, 0.0)
    crowd = np.maximum(R - limits.residents, 0.0)
    too_big = (over > _EPS) | (crowd > _EPS)
    too_small = under > _EPS
    outside = (too_big | too_small).sum(axis=1).astype(np.float64)
    excess = np.round(((over + under) / ideal_h + crowd / ideal_r).sum(axis=1), 9)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = np.where(P > 0, 4.0 * math.pi * A / np.maximum(P, 1e-300) ** 2, 0.0)
        share = np.where(cut_len > 0, cut_street / np.maximum(cut_len, 1e-300), 0.0)
    score = np.minimum(pp, 1.0).mean(axis=1) + STREET_WEIGHT * share
    b = int(np.lexsort((-score, excess, outside))[0])
    return _Scored(
        key=(float(outside[b]), float(excess[b]), -float(score[b])),
        x=plans[b].copy(),
        k=k,
        over=int((too_big[b] & (size[b] > 1)).sum()),
        under=int(too_small[b].sum()),
    )


def _piece_reason(p: _Piece, limits: Limits, tried: list[Attempt]) -> str:
    """Why a piece's grids could not all meet the thresholds (zh-CN)."""
    w, r = float(p.households.sum()), float(p.residents.sum())
    lo, hi = f"{limits.low:g}", f"{limits.high:g}"
    if w < limits.low - _EPS:
        return f"{p.where}共 {w:g} 户，不足每格下限 {lo} 户，划为一个网格"
    if p.n == 1:
        return f"{p.where}只有 1 个小区或楼栋（{w:g} 户），无法再分"
    fits = [
        k for k in range(1, p.n + 1) if limits.low * k <= w + _EPS <= limits.high * k + 2 * _EPS
    ]
    if not fits:
        k1 = max(1, math.floor(w / limits.high))
        return (
            f"{p.where}共 {w:g} 户：分成 {k1} 个网格则每格平均超过 {hi} 户，分成 {k1 + 1} 个"
            f"则每格平均不足 {lo} 户，无法每格都在 {lo}–{hi} 户之间"
        )
    if r > limits.residents * max(fits) + _EPS:
        return (
            f"{p.where}共 {w:g} 户、{r:g} 人：户数都在 {lo}–{hi} 户之间时最多 {max(fits)} 个网格，"
            f"每格居民平均仍超过 {limits.residents:g} 人"
        )
    shown = "、".join(str(a.k) for a in tried)
    return (
        f"小区整体不拆分、每格连成一片时，各小区和楼栋户数大小不一；试过 {shown} 个网格，"
        f"在时间上限内未找到每格都在 {lo}–{hi} 户之间的划分"
    )
