"""Red-house venue selection (红房子选址): the k rooms that bring the most residents within a walk.

docs/domain.md, "红房子选址": candidates are community-use rooms,
property rooms, owners' activity centres and stilted ground floors; the choice weighs compound
maturity, party-member coverage and governance foundation, and every venue's use must pass a
four-point legal checklist. Qiaohua built 10 red houses among 30 compounds, so by default a
compound gets at most one new venue. Coverage is the 15-minute service circle (GB 50180-2018:
1,000 m on foot, walked on the network).

The problem is the maximal covering location problem (MCLP, Church and ReVelle 1974), solved
exactly as a mixed-integer programme with HiGHS. As in pysal/spopt, a core works on a
coverage matrix (:func:`select_venues`, :func:`coverage_curve`, :func:`explain`) and a thin
GeoDataFrame adapter (:func:`venue_selection`) validates, builds the matrix and delegates.

The objective
-------------
Candidates ``j`` (only eligible ones), demand points ``i`` not already covered by an existing
service point, ``w_i`` their demand (residents or households), ``s_j`` the candidate's score,
``a_ij = 1`` when ``i`` lies within the walking limit of ``j``::

    maximise    sum_i w_i y_i  +  (weight_score + eps) * sum_j (s_j - s_min) x_j
    subject to  y_i <= sum_j a_ij x_j            for every demand point i
                sum_j x_j = k'                   (k' = k, or fewer if fewer can be chosen)
                sum_{j in g} x_j <= max_per_group for every group g (a compound)
                x_j in {0, 1},  0 <= y_i <= 1

``y`` may be continuous: once ``x`` is integral the best ``y_i`` is ``min(1, sum_j a_ij x_j)``,
which is 0 or 1. ``eps`` makes the score a pure tie-break when ``weight_score`` is 0:
``eps = unit / (2 k' max_j (s_j - s_min))``, so the whole score term is at most half a
``unit`` of coverage and can never buy coverage; ``unit`` is 1 (one resident or household)
for integer demand, else ``1e-6`` of the total demand. ``weight_score`` (demand per point of
score) trades coverage for score: with the adapter's scores in [0, 1], ``weight_score=200``
lets the best-scored room beat the worst if it covers at most 200 fewer residents. Since
``k'`` is fixed, subtracting ``s_min`` changes no choice; it keeps every term non-negative.

Before solving, the problem is reduced without changing its optimum: demand already covered,
of weight 0 or out of every eligible candidate's reach is dropped, and demand points reached
by exactly the same candidates are merged into one with their weights added (on a city, this
shrinks the demand side several times). Dominated candidates are kept: with exactly ``k'``
picks and compound caps, a room that covers a subset of another's may still be needed to
fill the count, and HiGHS's presolve removes dominated columns where it can prove it safe.

scipy's ``milp`` takes no starting solution, so the greedy solution is not passed to HiGHS;
instead it is computed first and kept as the fallback: on a time limit the better of the
MILP's incumbent and greedy is returned, with the gap to the MILP's dual bound. (HiGHS's own
Python API, highspy, does take one, but on the hard instances of ``bench/bench_venues.py`` a
greedy start did not shorten the proof: the root LP and its cuts dominate. A solver that
uses :attr:`MilpProblem.start` can be injected through ``solver``.)
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

import geopandas as gpd

from gis_api.analysis import checks
from gis_api.analysis.errors import (
    CoverageMismatchError,
    InvalidValueError,
    MissingColumnError,
    OptionError,
)
from layers import domain

__all__ = [
    "CRITERIA",
    "DEFAULT_LIMIT_M",
    "DEMANDS",
    "LEGAL_CHECKS",
    "VENUE_KINDS",
    "CoverageCurve",
    "CoverageSummary",
    "MilpOutcome",
    "MilpProblem",
    "PickExplanation",
    "ScoreWeights",
    "Selection",
    "VenuePlan",
    "coverage_curve",
    "explain",
    "scipy_milp",
    "select_venues",
    "venue_scores",
    "venue_selection",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Method = Literal["milp", "greedy"]
Solver = Callable[["MilpProblem"], "MilpOutcome"]

#: The 15-minute circle of GB 50180-2018, metres on foot.
DEFAULT_LIMIT_M = domain.SERVICE_CIRCLE_M
#: Kinds of candidate venue, with their zh-CN names (docs/domain.md, 红房子选址).
VENUE_KINDS = domain.VENUE_KINDS
#: The legal-use checklist: column -> zh-CN name of the step (docs/domain.md, 红房子选址).
LEGAL_CHECKS = domain.LEGAL_CHECKS
#: What coverage counts: a building's residents or its households.
DEMANDS: tuple[str, ...] = ("residents", "households")
#: The soft criteria of the score, in the order of :class:`ScoreWeights`.
CRITERIA: tuple[str, ...] = (
    "maturity",
    "party_members",
    "governance",
    "floor_area",
    "ground_floor",
    "ventilation",
)

# HiGHS stops at a relative gap of 1e-4 by default, which on 100,000 residents leaves 10 of
# them unproven; at 1e-9 its absolute gap (1e-6) decides, finer than the score tie-break.
_MIP_REL_GAP = 1e-9
# Two objective values closer than this (relative) are the same solution quality.
_SAME = 1e-9


# --- the solver seam --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MilpProblem:
    """A mixed-integer programme: ``min c @ z``, ``row_lb <= A @ z <= row_ub``, ``lb <= z <= ub``.

    Attributes
    ----------
    c
        Objective coefficients (minimised).
    A
        Sparse constraint matrix (CSR).
    row_lb, row_ub
        Row bounds (``-inf``/``inf`` for one-sided rows).
    lb, ub
        Variable bounds.
    integrality
        1 for an integer variable, 0 for a continuous one.
    time_limit_s
        Wall-clock limit for the solver, seconds.
    mip_rel_gap
        Relative gap at which the solver may stop and call the solution optimal.
    start
        A feasible solution (greedy's), for solvers that accept a starting point; the default
        :func:`scipy_milp` cannot and ignores it.
    """

    c: Floats
    A: Any
    row_lb: Floats
    row_ub: Floats
    lb: Floats
    ub: Floats
    integrality: Ints
    time_limit_s: float
    mip_rel_gap: float
    start: Floats | None = None


@dataclass(frozen=True, eq=False)
class MilpOutcome:
    """What a solver returns.

    Attributes
    ----------
    x
        The best solution found, or None when none was found.
    status
        ``"optimal"`` (proven within ``mip_rel_gap``), ``"time_limit"`` (stopped by a limit;
        ``x`` is the incumbent if any) or ``"failed"`` (anything else).
    dual_bound
        A proven lower bound on ``c @ z`` (the problem is a minimisation), or None.
    message
        The solver's own words.
    """

    x: Floats | None
    status: Literal["optimal", "time_limit", "failed"]
    dual_bound: float | None
    message: str = ""


def scipy_milp(problem: MilpProblem) -> MilpOutcome:
    """Solve with ``scipy.optimize.milp`` (HiGHS branch and cut); the default solver.

    Parameters
    ----------
    problem
        The programme; ``problem.start`` is ignored (scipy cannot pass it on).

    Returns
    -------
    MilpOutcome
    """
    res = milp(
        c=problem.c,
        integrality=problem.integrality,
        bounds=Bounds(problem.lb, problem.ub),
        constraints=LinearConstraint(problem.A, problem.row_lb, problem.row_ub),
        options={
            "time_limit": float(problem.time_limit_s),
            "mip_rel_gap": float(problem.mip_rel_gap),
            "presolve": True,
            "disp": False,
        },
    )
    status: Literal["optimal", "time_limit", "failed"]
    status = "optimal" if res.status == 0 else "time_limit" if res.status == 1 else "failed"
    bound = res.get("mip_dual_bound")
    dual = float(bound) if bound is not None and np.isfinite(bound) else None
    x = None if res.x is None else np.asarray(res.x, dtype=np.float64)
    return MilpOutcome(x=x, status=status, dual_bound=dual, message=str(res.message))


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Selection:
    """The chosen venues and how good the choice is proven to be.

    Attributes
    ----------
    picks
        Candidate indices (rows of ``cover``), ordered by marginal gain: each is the best
        next pick given those before it, by the objective of the module docstring.
    gains
        Demand each pick newly covers, in that order.
    k
        Number of venues asked for; ``len(picks)`` is smaller only when fewer candidates can be
        chosen (eligibility, per-group caps), which ``note`` says.
    objective
        ``covered_new + weight_score * score_total``: the objective without the tie-break.
    covered_before, covered_new, covered_after
        Demand covered by existing service points, newly by the picks, and both.
    score_total
        Sum of the picks' scores.
    optimal
        True when the picks are proven optimal (within HiGHS's absolute gap of 1e-6).
    gap
        ``(bound - objective) / bound`` when not proven optimal but a bound is known, 0.0 when
        optimal, None without a bound (``note`` says why).
    bound
        Proven upper bound on ``objective`` (None without one).
    method
        ``"milp"`` if the picks are the MILP's, ``"greedy"`` if greedy's.
    seconds
        Wall-clock time of the whole call.
    note
        zh-CN remarks for the planner (fewer picks than asked, why there is no gap), or "".
    reduced
        ``(candidates, demand groups)`` left after reduction: the size of the MILP.
    eligible, score, weight_score, groups, max_per_group, already_covered
        The rules the selection was made under (kept so :func:`explain` applies the same).
    """

    picks: Ints
    gains: Floats
    k: int
    objective: float
    covered_before: float
    covered_new: float
    covered_after: float
    score_total: float
    optimal: bool
    gap: float | None
    bound: float | None
    method: Method
    seconds: float
    note: str
    reduced: tuple[int, int]
    eligible: Bools = field(repr=False)
    score: Floats = field(repr=False)
    weight_score: float = field(repr=False)
    groups: Ints = field(repr=False)
    max_per_group: int | None = field(repr=False)
    already_covered: Bools = field(repr=False)


@dataclass(frozen=True, eq=False)
class CoverageCurve:
    """Covered demand against the number of new venues, ``k = 1..k_max``.

    Attributes
    ----------
    k
        ``1..k_max``.
    covered_new, covered_after
        Demand newly covered by the best ``k`` picks found, and with the existing coverage.
    optimal
        Whether each point is proven optimal (MILP) or not (greedy, or a MILP stopped by the
        time limit).
    method
        ``"milp"`` or ``"greedy"``: which solution each point comes from.
    picks
        The picks behind each point.
    seconds
        Wall-clock time of the whole curve.
    """

    k: Ints
    covered_new: Floats
    covered_after: Floats
    optimal: Bools
    method: tuple[Method, ...]
    picks: tuple[Ints, ...] = field(repr=False)
    seconds: float = 0.0


@dataclass(frozen=True, eq=False)
class PickExplanation:
    """Why one venue was picked: what it adds and what it beat.

    Attributes
    ----------
    rank
        1 for the first pick.
    candidate, name
        The pick (row of ``cover``) and its name.
    new_demand
        Demand it newly covers, given the existing coverage and the picks ranked before it.
    new_points
        Indices of the demand points it newly covers.
    covered_after
        Demand covered after it (existing coverage included).
    compounds
        ``(compound, new demand)`` for every compound where it newly covers someone, largest
        first (empty when no compounds were given).
    score, score_parts
        Its score and the score's parts by criterion.
    runner_up, runner_up_name, runner_up_new_demand, runner_up_score
        The best candidate outside the selection at this step (eligible, within its group's
        cap given the picks before), by the same objective and tie-break; None if none.
    """

    rank: int
    candidate: int
    name: str
    new_demand: float
    new_points: Ints = field(repr=False)
    covered_after: float = 0.0
    compounds: tuple[tuple[str, float], ...] = ()
    score: float = 0.0
    score_parts: Mapping[str, float] = field(default_factory=dict)
    runner_up: int | None = None
    runner_up_name: str | None = None
    runner_up_new_demand: float | None = None
    runner_up_score: float | None = None


# --- validation of the core's inputs ----------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Inputs:
    cover: Any  # csr_array (n, d) bool, indices sorted
    demand: Floats
    already: Bools
    score: Floats
    weight_score: float
    groups: Ints
    cap: int | None
    eligible: Bools
    time_limit_s: float

    @property
    def n(self) -> int:
        return int(self.cover.shape[0])


def _as_cover(cover: Any, name: str = "cover") -> Any:
    if sparse.issparse(cover):
        if cover.ndim != 2:
            msg = f"参数 {name} 应为二维矩阵（候选场地 × 需求点），实际维数为 {cover.ndim}"
            raise OptionError(msg, loc=(name,))
        mat = sparse.csr_array(cover)
    else:
        arr = np.asarray(cover)
        if arr.ndim != 2:
            msg = f"参数 {name} 应为二维矩阵（候选场地 × 需求点），实际维数为 {arr.ndim}"
            raise OptionError(msg, loc=(name,))
        mat = sparse.csr_array(arr)
    out = mat.astype(np.bool_, copy=True)  # never change the caller's matrix in place
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _vector(name: str, value: ArrayLike, n: int, what: str) -> NDArray[Any]:
    arr = np.asarray(value)
    if arr.ndim != 1 or len(arr) != n:
        msg = f"参数 {name} 应为长度 {n} 的一维数组（每个{what}一个值），实际形状为 {arr.shape}"
        raise CoverageMismatchError(msg, loc=(name,))
    return arr


def _floats(name: str, value: ArrayLike, n: int, what: str, *, nonneg: bool) -> Floats:
    arr = _vector(name, value, n, what)
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"参数 {name} 应为数值数组，实际类型为 {arr.dtype}"
        raise OptionError(msg, loc=(name,)) from exc
    bad = ~np.isfinite(out) | ((out < 0) if nonneg else False)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        want = "有限的非负数" if nonneg else "有限数"
        msg = f"参数 {name} 第 {i} 项为 {arr[i]!r}，应为{want}"
        raise OptionError(msg, loc=(name, i))
    return out


def _bools(name: str, value: ArrayLike | None, n: int, what: str, default: bool) -> Bools:
    if value is None:
        return np.full(n, default, dtype=np.bool_)
    arr = _vector(name, value, n, what)
    if arr.dtype != np.bool_:
        msg = f"参数 {name} 应为布尔数组（True/False），实际类型为 {arr.dtype}"
        raise OptionError(msg, loc=(name,))
    return arr.astype(np.bool_)


def _int_option(name: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        msg = f"参数 {name} 应为不小于 {low} 的整数，实际为 {value!r}"
        raise OptionError(msg, loc=(name,))
    return int(value)


def _real_option(name: str, value: Any, *, positive: bool) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    ok = math.isfinite(out) and (out > 0 if positive else out >= 0)
    if isinstance(value, bool) or not ok:
        want = "正的有限数" if positive else "有限的非负数"
        msg = f"参数 {name} 应为{want}，实际为 {value!r}"
        raise OptionError(msg, loc=(name,))
    return out


def _inputs(
    cover: Any,
    demand: ArrayLike,
    *,
    already_covered: ArrayLike | None,
    score: ArrayLike | None,
    weight_score: float,
    groups: ArrayLike | None,
    max_per_group: int | None,
    eligible: ArrayLike | None,
    time_limit_s: float,
) -> _Inputs:
    mat = _as_cover(cover)
    n, d = mat.shape
    w = _floats("demand", demand, d, "需求点", nonneg=True)
    already = _bools("already_covered", already_covered, d, "需求点", default=False)
    s = np.zeros(n) if score is None else _floats("score", score, n, "候选场地", nonneg=False)
    if groups is None:
        g = np.full(n, -1, dtype=np.int64)
    else:
        raw = _vector("groups", groups, n, "候选场地")
        if not np.issubdtype(raw.dtype, np.integer) or (len(raw) and raw.min() < -1):
            msg = f"参数 groups 应为整数数组（组号 >= 0，无组为 -1），实际为 {raw.dtype} 类型"
            raise OptionError(msg, loc=("groups",))
        g = raw.astype(np.int64)
    cap = None if max_per_group is None else _int_option("max_per_group", max_per_group, low=1)
    return _Inputs(
        cover=mat,
        demand=w,
        already=already,
        score=s,
        weight_score=_real_option("weight_score", weight_score, positive=False),
        groups=g,
        cap=cap,
        eligible=_bools("eligible", eligible, n, "候选场地", default=True),
        time_limit_s=_real_option("time_limit_s", time_limit_s, positive=True),
    )


def _max_picks(inp: _Inputs) -> int:
    """How many candidates can be chosen together under eligibility and group caps."""
    g = inp.groups[inp.eligible]
    free = int(np.sum(g < 0))
    if inp.cap is None:
        return free + int(np.sum(g >= 0))
    counts = np.bincount(g[g >= 0]) if np.any(g >= 0) else np.zeros(0, dtype=np.int64)
    return free + int(np.minimum(counts, inp.cap).sum())


# --- the reduced model ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Model:
    """The problem after reduction: eligible candidates x merged demand groups."""

    cand: Ints  # original index of each model candidate
    C: Any  # csr_array (m, q) bool: candidate covers demand group
    w: Floats  # (q,) summed demand of each group
    s: Floats  # (m,) score - min score, >= 0
    s_min: float
    group: Ints  # (m,) group id, -1 none
    cap: int | None
    coef: float  # weight_score + eps: the factor of s in the objective
    weight_score: float

    @property
    def m(self) -> int:
        return len(self.cand)

    @property
    def q(self) -> int:
        return len(self.w)

    def value(self, picks: Sequence[int] | Ints) -> float:
        """Return the reduced objective ``sum w y + coef * sum s x`` of model picks ``picks``."""
        idx = np.asarray(picks, dtype=np.int64)
        if len(idx) == 0:
            return 0.0
        rows = self.C[idx]
        hit = np.zeros(self.q, dtype=np.bool_)
        hit[rows.indices] = True
        return float(self.w[hit].sum() + self.coef * self.s[idx].sum())


def _reduce(inp: _Inputs, k_eps: int) -> _Model:
    """Drop ineligible candidates and useless demand; merge demand reached by the same rooms."""
    cand = np.flatnonzero(inp.eligible).astype(np.int64)
    sub = inp.cover[cand]
    reach = np.zeros(inp.cover.shape[1], dtype=np.bool_)
    reach[sub.indices] = True
    keep = np.flatnonzero(reach & ~inp.already & (inp.demand > 0))
    D = sparse.csr_array(sub[:, keep].T)
    D.sort_indices()
    ptr, ind = D.indptr, D.indices
    seen: dict[bytes, int] = {}
    cls = np.empty(len(keep), dtype=np.int64)
    for r in range(len(keep)):
        cls[r] = seen.setdefault(ind[ptr[r] : ptr[r + 1]].tobytes(), len(seen))
    q = len(seen)
    first = np.empty(q, dtype=np.int64)
    first[cls[::-1]] = np.arange(len(keep) - 1, -1, -1, dtype=np.int64)
    w = np.bincount(cls, weights=inp.demand[keep], minlength=q).astype(np.float64)
    C = sparse.csr_array(D[first].T) if q else sparse.csr_array((len(cand), 0), dtype=np.bool_)
    C.sort_indices()

    raw = inp.score[cand]
    s_min = float(raw.min()) if len(raw) else 0.0
    s = raw - s_min
    top = float(s.max()) if len(s) else 0.0
    integral = bool(np.all(inp.demand == np.floor(inp.demand)))
    unit = 1.0 if integral else 1e-6 * max(float(inp.demand.sum()), 1e-300)
    eps = unit / (2.0 * max(k_eps, 1) * top) if top > 0 else 0.0
    return _Model(
        cand=cand,
        C=C,
        w=w,
        s=s,
        s_min=s_min,
        group=inp.groups[cand],
        cap=inp.cap,
        coef=inp.weight_score + eps,
        weight_score=inp.weight_score,
    )


def _greedy(model: _Model, k: int, start: Sequence[int] = ()) -> list[int]:
    """Lazy greedy (Minoux): the best next pick by gain + coef * s, ties by s, then index.

    The coverage gain only shrinks as picks are added, so a stale gain is an upper bound and
    only the top of the heap needs re-evaluating. Group caps are respected; ``start`` are
    picks already made (their coverage and group slots count).
    """
    C, w = model.C, model.w
    covered = np.zeros(model.q, dtype=np.bool_)
    used: dict[int, int] = {}
    picks = [int(j) for j in start]
    for j in picks:
        covered[C.indices[C.indptr[j] : C.indptr[j + 1]]] = True
        g = int(model.group[j])
        used[g] = used.get(g, 0) + 1
    taken = set(picks)
    gains = np.asarray(C @ np.where(covered, 0.0, w), dtype=np.float64) if model.q else None
    heap: list[tuple[float, float, int]] = []
    for j in range(model.m):
        if j in taken:
            continue
        gain = float(gains[j]) if gains is not None else 0.0
        heap.append((-(gain + model.coef * model.s[j]), -float(model.s[j]), j))
    heapq.heapify(heap)
    while len(picks) < k and heap:
        _, neg_s, j = heapq.heappop(heap)
        g = int(model.group[j])
        if model.cap is not None and g >= 0 and used.get(g, 0) >= model.cap:
            continue
        cols = C.indices[C.indptr[j] : C.indptr[j + 1]]
        gain = float(w[cols][~covered[cols]].sum())
        key = (-(gain + model.coef * model.s[j]), neg_s, j)
        if heap and key > heap[0]:
            heapq.heappush(heap, key)
            continue
        covered[cols] = True
        picks.append(j)
        used[g] = used.get(g, 0) + 1
    return picks


def _order(model: _Model, picks: Iterable[int]) -> list[int]:
    """Order a set of model picks by marginal gain (the greedy rule within the set)."""
    rest = sorted(int(j) for j in picks)
    covered = np.zeros(model.q, dtype=np.bool_)
    out: list[int] = []
    while rest:
        best: tuple[float, float, int] | None = None
        for j in rest:
            cols = model.C.indices[model.C.indptr[j] : model.C.indptr[j + 1]]
            gain = float(model.w[cols][~covered[cols]].sum())
            key = (-(gain + model.coef * model.s[j]), -float(model.s[j]), j)
            if best is None or key < best:
                best = key
        assert best is not None
        j = best[2]
        covered[model.C.indices[model.C.indptr[j] : model.C.indptr[j + 1]]] = True
        out.append(j)
        rest.remove(j)
    return out


def _problem(model: _Model, k: int, start: Sequence[int], time_limit_s: float) -> MilpProblem:
    """Build the MILP of the module docstring on the reduced model; variables ``[x, y]``."""
    m, q = model.m, model.q
    ct = sparse.csr_array(model.C.T, dtype=np.float64)
    cover_rows = sparse.hstack([-ct, sparse.eye_array(q, format="csr")], format="csr")
    count_row = sparse.csr_array(
        (np.ones(m), (np.zeros(m, dtype=np.int64), np.arange(m))), shape=(1, m + q)
    )
    blocks = [cover_rows, count_row]
    row_lb = [np.full(q, -np.inf), np.array([float(k)])]
    row_ub = [np.zeros(q), np.array([float(k)])]
    if model.cap is not None:
        grouped = np.flatnonzero(model.group >= 0)
        counts = np.bincount(model.group[grouped]) if len(grouped) else np.zeros(0, np.int64)
        over = np.flatnonzero(counts > model.cap)
        if len(over):
            row_of = np.full(len(counts), -1, dtype=np.int64)
            row_of[over] = np.arange(len(over))
            cols = grouped[row_of[model.group[grouped]] >= 0]
            rows = row_of[model.group[cols]]
            blocks.append(
                sparse.csr_array((np.ones(len(cols)), (rows, cols)), shape=(len(over), m + q))
            )
            row_lb.append(np.full(len(over), -np.inf))
            row_ub.append(np.full(len(over), float(model.cap)))
    x0 = np.zeros(m + q)
    if start:
        x0[list(start)] = 1.0
        hit = model.C[np.asarray(start, dtype=np.int64)].indices
        x0[m + hit] = 1.0
    return MilpProblem(
        c=-np.concatenate([model.coef * model.s, model.w]),
        A=sparse.vstack(blocks, format="csr"),
        row_lb=np.concatenate(row_lb),
        row_ub=np.concatenate(row_ub),
        lb=np.zeros(m + q),
        ub=np.ones(m + q),
        integrality=np.concatenate([np.ones(m, np.int64), np.zeros(q, np.int64)]),
        time_limit_s=time_limit_s,
        mip_rel_gap=_MIP_REL_GAP,
        start=x0,
    )


def _feasible(model: _Model, x: Floats | None, k: int) -> list[int] | None:
    """Return the picks of a solver's ``x``, or None if it is missing or breaks a rule."""
    if x is None or len(x) < model.m:
        return None
    picks = [int(j) for j in np.flatnonzero(x[: model.m] > 0.5)]
    if len(picks) != k:
        return None
    if model.cap is not None:
        g = model.group[picks]
        g = g[g >= 0]
        if len(g) and int(np.bincount(g).max()) > model.cap:
            return None
    return picks


@dataclass(frozen=True)
class _Solved:
    picks: list[int]  # model indices, unordered
    method: Method
    optimal: bool
    bound: float | None  # upper bound on the reduced objective
    note: str


def _solve(
    model: _Model,
    k: int,
    greedy: list[int],
    *,
    method: Method,
    time_limit_s: float,
    solver: Solver | None,
) -> _Solved:
    """Greedy, then (unless trivial or asked not to) the MILP; keep the better."""
    g_value = model.value(greedy)
    if model.m <= k or model.q == 0:
        # All candidates fit, or only the score is left: a linear objective over a
        # partition matroid, where greedy is optimal (Edmonds 1971).
        return _Solved(greedy, "greedy", True, g_value, "")
    if method == "greedy":
        return _Solved(greedy, "greedy", False, None, "仅用贪心算法求解，未证明最优，也没有上界")
    problem = _problem(model, k, greedy, time_limit_s)
    try:
        out = (solver or scipy_milp)(problem)
    except (ValueError, RuntimeError, MemoryError) as exc:
        note = f"整数规划求解失败（{exc}），结果为贪心解，未证明最优"
        return _Solved(greedy, "greedy", False, None, note)
    bound = None if out.dual_bound is None else -out.dual_bound
    picks = _feasible(model, out.x, k)
    if picks is not None and out.status == "optimal":
        m_value = model.value(picks)
        if g_value > m_value + _SAME * max(abs(m_value), 1.0):
            return _Solved(greedy, "greedy", True, bound, "")
        return _Solved(picks, "milp", True, bound, "")
    if out.status == "time_limit":
        note = f"整数规划在 {time_limit_s:g} 秒时限内未证明最优"
    else:
        note = f"整数规划未能求解（{out.message}）"
    used: Method
    if picks is not None and model.value(picks) > g_value + _SAME * max(abs(g_value), 1.0):
        best, used = picks, "milp"
        note += "，结果为整数规划的当前最好解"
    else:
        best, used = greedy, "greedy"
        note += "，结果为贪心解" + ("（优于或等于整数规划的当前最好解）" if picks else "")
    if bound is None:
        note += "；求解器未给出上界，无法计算差距"
    return _Solved(best, used, False, bound, note)


def _covered(inp: _Inputs, picks: Ints) -> Bools:
    hit = inp.already.copy()
    if len(picks):
        hit[inp.cover[picks].indices] = True
    return hit


def _selection(
    inp: _Inputs, model: _Model, solved: _Solved, *, k: int, note: str, started: float
) -> Selection:
    ordered = model.cand[_order(model, solved.picks)] if solved.picks else np.zeros(0, np.int64)
    ordered = np.asarray(ordered, dtype=np.int64)
    covered = inp.already.copy()
    gains = np.zeros(len(ordered))
    for r, j in enumerate(ordered):
        cols = inp.cover.indices[inp.cover.indptr[j] : inp.cover.indptr[j + 1]]
        new = cols[~covered[cols]]
        gains[r] = float(inp.demand[new].sum())
        covered[new] = True
    before = float(inp.demand[inp.already].sum())
    new_total = float(gains.sum())
    score_total = float(inp.score[ordered].sum())
    objective = new_total + inp.weight_score * score_total
    # The model objective is objective + eps-term - weight_score * k * s_min; shift the bound.
    bound = solved.bound
    if bound is not None:
        bound = bound + inp.weight_score * len(ordered) * model.s_min
    gap: float | None
    if solved.optimal:
        gap = 0.0
    elif bound is None:
        gap = None
    else:
        gap = max(bound - objective, 0.0) / abs(bound) if abs(bound) > 0 else 0.0
    notes = "；".join(x for x in (note, solved.note) if x)
    return Selection(
        picks=ordered,
        gains=gains,
        k=k,
        objective=objective,
        covered_before=before,
        covered_new=new_total,
        covered_after=before + new_total,
        score_total=score_total,
        optimal=solved.optimal,
        gap=gap,
        bound=bound,
        method=solved.method,
        seconds=time.perf_counter() - started,
        note=notes,
        reduced=(model.m, model.q),
        eligible=inp.eligible,
        score=inp.score,
        weight_score=inp.weight_score,
        groups=inp.groups,
        max_per_group=inp.cap,
        already_covered=inp.already,
    )


def _short_note(k: int, k_eff: int) -> str:
    if k_eff >= k:
        return ""
    if k_eff == 0:
        return "没有可选的候选场地（均不符合条件），未选出场地"
    return f"按资格和每组上限最多只能选 {k_eff} 处，少于要求的 {k} 处"


# --- the core ---------------------------------------------------------------------------------


def select_venues(
    cover: Any,
    demand: ArrayLike,
    *,
    k: int,
    already_covered: ArrayLike | None = None,
    score: ArrayLike | None = None,
    weight_score: float = 0.0,
    groups: ArrayLike | None = None,
    max_per_group: int | None = 1,
    eligible: ArrayLike | None = None,
    time_limit_s: float = 10.0,
    solver: Solver | None = None,
    method: Method = "milp",
) -> Selection:
    """Choose ``k`` candidates covering the most demand not yet covered (MCLP, exact).

    The objective, the reduction and the solver strategy are in the module docstring: lazy
    greedy first; then HiGHS on the reduced MILP; on a time limit the better of the MILP's
    incumbent and greedy, with the gap to the MILP's dual bound.

    Parameters
    ----------
    cover
        ``(candidates, demand points)`` matrix, true (non-zero) where the demand point lies
        within the walking limit of the candidate; scipy sparse or dense.
    demand
        Demand of each point (residents or households), finite and >= 0.
    k
        Number of venues to choose (>= 1).
    already_covered
        True for demand points an existing service point already covers: they bring no gain.
    score
        Score of each candidate (any finite numbers; higher is better). Without
        ``weight_score`` it only breaks ties between equal coverage.
    weight_score
        Demand one point of score is worth (>= 0); 0 makes the score a pure tie-break.
    groups
        Group of each candidate (a compound), ``-1`` for none.
    max_per_group
        At most this many picks per group (None: no cap). Default 1: one new venue per
        compound.
    eligible
        False for candidates that may not be chosen (incomplete legal checks, say).
    time_limit_s
        Time limit of the MILP solver, seconds.
    solver
        ``solver(MilpProblem) -> MilpOutcome``; default :func:`scipy_milp` (HiGHS).
    method
        ``"milp"`` (exact) or ``"greedy"`` (lazy greedy only, no proof).

    Returns
    -------
    Selection

    Raises
    ------
    OptionError
        An option out of range, or an array of the wrong type.
    CoverageMismatchError
        An array whose length does not match ``cover``.

    Examples
    --------
    >>> import numpy as np
    >>> cover = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool)
    >>> sel = select_venues(cover, np.array([5, 1, 1, 5]), k=2)
    >>> sel.picks.tolist(), sel.covered_new, sel.optimal
    ([0, 2], 12.0, True)
    """
    started = time.perf_counter()
    k = _int_option("k", k, low=1)
    if method not in ("milp", "greedy"):
        msg = f"参数 method 应为 'milp' 或 'greedy'，实际为 {method!r}"
        raise OptionError(msg, loc=("method",))
    inp = _inputs(
        cover,
        demand,
        already_covered=already_covered,
        score=score,
        weight_score=weight_score,
        groups=groups,
        max_per_group=max_per_group,
        eligible=eligible,
        time_limit_s=time_limit_s,
    )
    k_eff = min(k, _max_picks(inp))
    model = _reduce(inp, k_eff)
    greedy = _greedy(model, k_eff)
    solved = _solve(
        model, k_eff, greedy, method=method, time_limit_s=inp.time_limit_s, solver=solver
    )
    return _selection(inp, model, solved, k=k, note=_short_note(k, k_eff), started=started)


def coverage_curve(
    cover: Any,
    demand: ArrayLike,
    *,
    k_max: int,
    already_covered: ArrayLike | None = None,
    score: ArrayLike | None = None,
    weight_score: float = 0.0,
    groups: ArrayLike | None = None,
    max_per_group: int | None = 1,
    eligible: ArrayLike | None = None,
    time_limit_s: float = 10.0,
    solver: Solver | None = None,
) -> CoverageCurve:
    """Covered demand for ``k = 1..k_max`` new venues.

    Each ``k`` is solved exactly (the MILP of :func:`select_venues`) while the shared
    ``time_limit_s`` lasts; a ``k`` the MILP cannot prove in the time left, or reached once
    the time is spent, takes the better of greedy's first ``k`` picks and the solution for
    ``k - 1`` plus its best greedy addition, flagged not optimal. That second option keeps
    the curve non-decreasing when ``weight_score`` is 0. The reduction is done once.

    Parameters
    ----------
    cover, demand, already_covered, score, weight_score, groups, max_per_group, eligible,
    solver
        As for :func:`select_venues`.
    k_max
        Largest ``k`` (>= 1).
    time_limit_s
        Time for the whole curve, seconds.

    Returns
    -------
    CoverageCurve
    """
    started = time.perf_counter()
    k_max = _int_option("k_max", k_max, low=1)
    inp = _inputs(
        cover,
        demand,
        already_covered=already_covered,
        score=score,
        weight_score=weight_score,
        groups=groups,
        max_per_group=max_per_group,
        eligible=eligible,
        time_limit_s=time_limit_s,
    )
    most = _max_picks(inp)
    model = _reduce(inp, min(k_max, most))
    greedy = _greedy(model, min(k_max, most))
    deadline = started + inp.time_limit_s
    before = float(inp.demand[inp.already].sum())
    new = np.zeros(k_max)
    optimal = np.zeros(k_max, dtype=np.bool_)
    methods: list[Method] = []
    all_picks: list[Ints] = []
    prev: list[int] = []
    for k in range(1, k_max + 1):
        k_eff = min(k, most)
        left = deadline - time.perf_counter()
        g_k = greedy[:k_eff]
        if len(prev) < k_eff:
            extended = _greedy(model, k_eff, start=prev)
            if model.value(extended) > model.value(g_k):
                g_k = extended
        if left > 0:
            solved = _solve(model, k_eff, g_k, method="milp", time_limit_s=left, solver=solver)
        else:
            trivial = model.m <= k_eff or model.q == 0
            solved = _Solved(g_k, "greedy", trivial, None, "")
        prev = list(solved.picks)
        sel = _selection(inp, model, solved, k=k, note="", started=started)
        new[k - 1] = sel.covered_new
        optimal[k - 1] = sel.optimal
        methods.append(sel.method)
        all_picks.append(sel.picks)
    return CoverageCurve(
        k=np.arange(1, k_max + 1, dtype=np.int64),
        covered_new=new,
        covered_after=before + new,
        optimal=optimal,
        method=tuple(methods),
        picks=tuple(all_picks),
        seconds=time.perf_counter() - started,
    )


def explain(
    selection: Selection,
    cover: Any,
    demand: ArrayLike,
    *,
    names: Sequence[str] | ArrayLike | None = None,
    compounds: Sequence[str | None] | ArrayLike | None = None,
    score_parts: Mapping[str, ArrayLike] | pd.DataFrame | None = None,
) -> tuple[PickExplanation, ...]:
    """Explain each pick: what it newly covers, its score by criterion, and the runner-up.

    Picks are taken in the selection's order; "newly" means given the existing coverage and
    the picks ranked before, so the ``new_demand`` add up to ``selection.covered_new``. The
    runner-up at a step is the best candidate outside the selection that could have taken
    the pick's place (eligible, its group under the cap given the picks before), by the same
    objective ``gain + weight_score * score``, ties by score, then by lower index.

    Parameters
    ----------
    selection
        From :func:`select_venues` on the same ``cover`` and ``demand``.
    cover, demand
        As given to :func:`select_venues`.
    names
        A name per candidate (default: its index).
    compounds
        The compound of each demand point (None for none), to say which compounds a pick
        reaches.
    score_parts
        Criterion -> value per candidate (the parts of the score).

    Returns
    -------
    tuple of PickExplanation

    Raises
    ------
    CoverageMismatchError
        If ``cover`` or an array does not match the selection.
    """
    mat = _as_cover(cover)
    n, d = mat.shape
    if len(selection.score) != n or len(selection.already_covered) != d:
        msg = (
            f"参数 cover 的形状 {mat.shape} 与选址结果不符（候选场地 {len(selection.score)} 个、"
            f"需求点 {len(selection.already_covered)} 个）"
        )
        raise CoverageMismatchError(msg, loc=("cover",))
    w = _floats("demand", demand, d, "需求点", nonneg=True)
    label = (
        [str(i) for i in range(n)]
        if names is None
        else [str(x) for x in _vector("names", np.asarray(names, dtype=object), n, "候选场地")]
    )
    comp = (
        None
        if compounds is None
        else _vector("compounds", np.asarray(compounds, dtype=object), d, "需求点")
    )
    parts: dict[str, Floats] = {}
    if score_parts is not None:
        for key, values in score_parts.items():
            parts[str(key)] = _floats(f"score_parts[{key}]", values, n, "候选场地", nonneg=False)
    chosen = np.zeros(n, dtype=np.bool_)
    chosen[selection.picks] = True
    others = selection.eligible & ~chosen
    s, ws, cap = selection.score, selection.weight_score, selection.max_per_group
    covered = selection.already_covered.copy()
    used: dict[int, int] = {}
    total = float(w[covered].sum())
    weights = mat.astype(np.float64)
    out: list[PickExplanation] = []
    for rank, j in enumerate(selection.picks.tolist(), start=1):
        gains = np.asarray(weights @ np.where(covered, 0.0, w), dtype=np.float64)
        ok = others.copy()
        if cap is not None:
            for g, c in used.items():
                if g >= 0 and c >= cap:
                    ok &= selection.groups != g
        runner: int | None = None
        if ok.any():
            cand = np.flatnonzero(ok)
            value = gains[cand] + ws * s[cand]
            order = np.lexsort((cand, -s[cand], -value))
            runner = int(cand[order[0]])
        cols = mat.indices[mat.indptr[j] : mat.indptr[j + 1]]
        new_pts = cols[~covered[cols]].astype(np.int64)
        new_demand = float(w[new_pts].sum())
        covered[new_pts] = True
        total += new_demand
        g = int(selection.groups[j])
        used[g] = used.get(g, 0) + 1
        reached: tuple[tuple[str, float], ...] = ()
        if comp is not None and len(new_pts):
            frame = pd.DataFrame({"c": comp[new_pts], "w": w[new_pts]}).dropna()
            sums = (
                frame.groupby("c", sort=False)["w"]
                .sum()
                .sort_values(ascending=False, kind="stable")
            )
            reached = tuple((str(key), float(val)) for key, val in sums.items())
        out.append(
            PickExplanation(
                rank=rank,
                candidate=int(j),
                name=label[j],
                new_demand=new_demand,
                new_points=new_pts,
                covered_after=total,
                compounds=reached,
                score=float(s[j]),
                score_parts={key: float(v[j]) for key, v in parts.items()},
                runner_up=runner,
                runner_up_name=None if runner is None else label[runner],
                runner_up_new_demand=None if runner is None else float(gains[runner]),
                runner_up_score=None if runner is None else float(s[runner]),
            )
        )
    return tuple(out)


# --- the score --------------------------------------------------------------------------------


def _points(name: str, value: Mapping[str, float], keys: Iterable[str]) -> Mapping[str, float]:
    out = dict(value)
    unknown = sorted(set(out) - set(keys))
    if unknown:
        msg = f"参数 {name} 含未知取值 {unknown}，应为 {sorted(keys)} 之一"
        raise OptionError(msg, loc=(name,))
    for key, v in out.items():
        x = _real_option(f"{name}[{key}]", v, positive=False)
        if x > 1:
            msg = f"参数 {name}[{key}] 应在 0 到 1 之间，实际为 {v!r}"
            raise OptionError(msg, loc=(name, key))
        out[key] = x
    return MappingProxyType(out)


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the soft criteria: maturity, party members, governance, the room.

    The criteria are docs/domain.md's, "红房子选址".

    Each criterion is a part in [0, 1]; the score is the weighted mean
    ``sum_c weight_c * part_c / sum_c weight_c`` (0 when all weights are 0), so it lies in
    [0, 1] and ``weight_score`` of :func:`venue_selection` has one meaning whatever the
    weights. A part is 0 when its input is missing.

    ============== ================================================================
    criterion      part
    ============== ================================================================
    maturity       ``maturity_points[compound_maturity]`` (new / mature / old)
    party_members  ``min(compound_party_members / party_members_full, 1)``
    governance     (has party branch + has owners' committee) / 2
    floor_area     ``min(floor_area_m2 / floor_area_full_m2, 1)``
    ground_floor   1 on the ground floor, else 0
    ventilation    ``ventilation_points[ventilation]`` (good / fair / poor)
    ============== ================================================================

    Attributes
    ----------
    maturity, party_members, governance, floor_area, ground_floor, ventilation
        Weights, finite and >= 0.
    maturity_points
        Part for each compound maturity. Default: a mature compound 1, a new or old one 0.5
        (an established community is the better foundation; planners may prefer old estates).
    party_members_full
        Party members of the compound at which that part is full (Qiaohua: 226 members in 30
        compounds, about 8 each).
    floor_area_full_m2
        Floor area at which the room's part is full (red houses run 40-120 m²).
    ventilation_points
        Part for each ventilation grade (a badly ventilated room was rejected at Qiaohua).
    """

    maturity: float = 1.0
    party_members: float = 1.0
    governance: float = 1.0
    floor_area: float = 1.0
    ground_floor: float = 1.0
    ventilation: float = 1.0
    maturity_points: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"new": 0.5, "mature": 1.0, "old": 0.5})
    )
    party_members_full: float = 20.0
    floor_area_full_m2: float = 120.0
    ventilation_points: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"good": 1.0, "fair": 0.5, "poor": 0.0})
    )

    def __post_init__(self) -> None:
        for name in CRITERIA:
            _real_option(f"weights.{name}", getattr(self, name), positive=False)
        _real_option("weights.party_members_full", self.party_members_full, positive=True)
        _real_option("weights.floor_area_full_m2", self.floor_area_full_m2, positive=True)
        maturity = _points("weights.maturity_points", self.maturity_points, _MATURITY)
        ventilation = _points("weights.ventilation_points", self.ventilation_points, _VENT)
        object.__setattr__(self, "maturity_points", maturity)
        object.__setattr__(self, "ventilation_points", ventilation)

    def of(self, name: str) -> float:
        """Return the weight of criterion ``name``."""
        return float(getattr(self, name))


_MATURITY = tuple(domain.MATURITY)
_VENT = ("good", "fair", "poor")


def _column(frame: pd.DataFrame, col: str) -> pd.Series | None:
    return frame[col] if col in frame.columns else None


def _bool_column(frame: pd.DataFrame, name: str, col: str, ids: NDArray[np.object_]) -> Bools:
    """Read a yes/no column: bools, 0/1 or missing (False); anything else is an error."""
    values = frame[col].to_numpy(dtype=object)
    out = np.zeros(len(values), dtype=np.bool_)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, bool | np.bool_) or (isinstance(v, int | np.integer) and v in (0, 1)):
            out[i] = bool(v)
            continue
        msg = f"参数 {name} 中 {ids[i]} 的 {col} 为 {v!r}，应为 True/False"
        raise InvalidValueError(msg, loc=(name, str(ids[i]), col))
    return out


def _numeric_column(frame: pd.DataFrame, name: str, col: str) -> Floats:
    """Read a numeric column; missing values are NaN, negative ones an error."""
    try:
        out = pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        msg = f"参数 {name} 的 {col} 列应为数值"
        raise InvalidValueError(msg, loc=(name, col)) from exc
    bad = np.isfinite(out) & (out < 0) | np.isinf(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = f"参数 {name} 第 {i + 1} 行的 {col} 为 {out[i]}，应为有限的非负数"
        raise InvalidValueError(msg, loc=(name, "row", i + 1, col))
    return out


def _choice_column(
    frame: pd.DataFrame, name: str, col: str, choices: Iterable[str], ids: NDArray[np.object_]
) -> NDArray[np.object_]:
    """Read a coded column: each value one of ``choices`` or missing (None)."""
    allowed = set(choices)
    values = frame[col].to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out[i] = None
        elif str(v) in allowed:
            out[i] = str(v)
        else:
            msg = f"参数 {name} 中 {ids[i]} 的 {col} 为 {v!r}，应为 {sorted(allowed)} 之一"
            raise InvalidValueError(msg, loc=(name, str(ids[i]), col))
    return out


def _text(values: pd.Series | None, n: int) -> NDArray[np.object_]:
    out = np.full(n, None, dtype=object)
    if values is None:
        return out
    raw = values.to_numpy(dtype=object)
    keep = ~pd.isna(raw)
    out[keep] = [str(v) for v in raw[keep]]
    return out


def _is_weights(value: object) -> bool:
    return isinstance(value, ScoreWeights)


def venue_scores(candidates: pd.DataFrame, weights: ScoreWeights | None = None) -> pd.DataFrame:
    """Score candidate venues on the soft criteria of :class:`ScoreWeights`.

    Parameters
    ----------
    candidates
        ``candidate_id`` (column or index) and any of ``floor_area_m2``, ``ground_floor``,
        ``ventilation``, ``compound_maturity``, ``compound_party_members``,
        ``compound_has_party_branch``, ``compound_has_owners_committee``.
    weights
        Criterion weights (default :class:`ScoreWeights`).

    Returns
    -------
    pandas.DataFrame
        One row per candidate, in input order: ``candidate_id``, ``score`` in [0, 1] and
        ``score_<criterion>`` for each of :data:`CRITERIA`, its weighted share of the score
        (the parts add up to ``score``).

    Raises
    ------
    MissingColumnError, DuplicateIdError, InvalidValueError
        No ``candidate_id``, repeated ids, or an unusable value.
    """
    weights = ScoreWeights() if weights is None else weights
    if not _is_weights(weights):
        msg = f"参数 weights 应为 ScoreWeights，实际为 {type(weights).__name__}"
        raise OptionError(msg, loc=("weights",))
    name = "candidates"
    ids = checks.ids(candidates, name, "candidate_id")
    n = len(ids)
    raw: dict[str, Floats] = {c: np.zeros(n) for c in CRITERIA}
    if "compound_maturity" in candidates.columns:
        mat = _choice_column(candidates, name, "compound_maturity", _MATURITY, ids)
        raw["maturity"] = np.array([weights.maturity_points.get(v, 0.0) if v else 0.0 for v in mat])
    if "compound_party_members" in candidates.columns:
        members = _numeric_column(candidates, name, "compound_party_members")
        raw["party_members"] = np.minimum(np.nan_to_num(members) / weights.party_members_full, 1)
    gov = np.zeros(n)
    for col in ("compound_has_party_branch", "compound_has_owners_committee"):
        if col in candidates.columns:
            gov += 0.5 * _bool_column(candidates, name, col, ids)
    raw["governance"] = gov
    if "floor_area_m2" in candidates.columns:
        area = _numeric_column(candidates, name, "floor_area_m2")
        raw["floor_area"] = np.minimum(np.nan_to_num(area) / weights.floor_area_full_m2, 1.0)
    if "ground_floor" in candidates.columns:
        raw["ground_floor"] = _bool_column(candidates, name, "ground_floor", ids).astype(float)
    if "ventilation" in candidates.columns:
        vent = _choice_column(candidates, name, "ventilation", _VENT, ids)
        raw["ventilation"] = np.array(
            [weights.ventilation_points.get(v, 0.0) if v else 0.0 for v in vent]
        )
    total_w = sum(weights.of(c) for c in CRITERIA)
    out = pd.DataFrame({"candidate_id": ids})
    score = np.zeros(n)
    parts = {}
    for c in CRITERIA:
        part = raw[c] * weights.of(c) / total_w if total_w > 0 else np.zeros(n)
        parts[f"score_{c}"] = part
        score += part
    out["score"] = score
    for key, part in parts.items():
        out[key] = part
    return out


# --- the adapter ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageSummary:
    """Residents, households and buildings within the walking limit of a service point.

    Attributes
    ----------
    residents, households, buildings
        Covered totals.
    residents_share, households_share
        Covered over all (NaN when the total is 0).
    """

    residents: float
    households: float
    buildings: int
    residents_share: float
    households_share: float


@dataclass(frozen=True, eq=False)
class VenuePlan:
    """Where to open the next red houses, and why.

    Attributes
    ----------
    picks
        One row per pick in order of marginal gain: ``rank``, ``candidate_id``, ``name``,
        ``kind``, ``compound``, ``new_residents``, ``new_households``, ``new_buildings``
        (newly covered given the picks ranked before), ``residents_covered_after``,
        ``households_covered_after``, ``score``, ``score_<criterion>`` (its parts),
        ``legal_complete``, ``new_compounds`` (compounds it newly reaches, most demand first;
        needs the buildings' ``compound``), ``runner_up_id``, ``runner_up_name``,
        ``runner_up_new_<demand>`` and ``runner_up_score``.
    before, after
        Coverage by the existing service points, and with the picks.
    curve
        ``k``, ``<demand>_covered_after``, ``new_<demand>``, ``share``, ``optimal``,
        ``method``: coverage for ``k = 1..k``.
    excluded
        Candidates that could not be chosen: ``candidate_id``, ``name``, ``reason`` (zh-CN).
    scores
        Every candidate: ``candidate_id``, ``name``, ``kind``, ``compound``,
        ``legal_complete``, ``legal_missing``, ``eligible``, ``score`` and its parts.
    demand
        What was maximised: ``"residents"`` or ``"households"``.
    optimal, gap, bound, method, seconds, note
        As in :class:`Selection`.
    selection, explanation
        The core's results.
    """

    picks: pd.DataFrame
    before: CoverageSummary
    after: CoverageSummary
    curve: pd.DataFrame
    excluded: pd.DataFrame
    scores: pd.DataFrame
    demand: str
    optimal: bool
    gap: float | None
    bound: float | None
    method: Method
    seconds: float
    note: str
    selection: Selection = field(repr=False)
    explanation: tuple[PickExplanation, ...] = field(repr=False)


def _summary(covered: Bools, residents: Floats, households: Floats) -> CoverageSummary:
    r_all, h_all = float(residents.sum()), float(households.sum())
    r, h = float(residents[covered].sum()), float(households[covered].sum())
    return CoverageSummary(
        residents=r,
        households=h,
        buildings=int(covered.sum()),
        residents_share=r / r_all if r_all > 0 else math.nan,
        households_share=h / h_all if h_all > 0 else math.nan,
    )


def _walk_cover(walk_m: Any, shape: tuple[int, int], limit_m: float) -> Any:
    """Candidates x buildings reachable within ``limit_m`` from a sparse matrix of metres."""
    if not sparse.issparse(walk_m):
        what = type(walk_m).__name__
        msg = f"参数 walk_m 应为 scipy 稀疏矩阵（候选场地 × 楼栋的步行米数），实际为 {what}"
        raise OptionError(msg, loc=("walk_m",))
    if walk_m.shape != shape:
        msg = f"参数 walk_m 的形状为 {walk_m.shape}，应为（候选场地数, 楼栋数）= {shape}"
        raise CoverageMismatchError(msg, loc=("walk_m",))
    mat = sparse.csr_array(walk_m, dtype=np.float64, copy=True)  # fixed below in place
    mat.sum_duplicates()
    bad = ~np.isfinite(mat.data) | (mat.data < 0)
    if bad.any():
        v = mat.data[np.flatnonzero(bad)[0]]
        msg = f"参数 walk_m 含有 {v}，步行距离应为有限的非负米数（不可达请不存储）"
        raise InvalidValueError(msg, loc=("walk_m",))
    within = sparse.csr_array(
        ((mat.data <= limit_m).astype(np.bool_), mat.indices.copy(), mat.indptr.copy()),
        shape=shape,
    )
    within.eliminate_zeros()
    return within


def _included(value: bool | Iterable[Any], ids: NDArray[np.object_]) -> Bools:
    if isinstance(value, bool | np.bool_):
        return np.full(len(ids), bool(value), dtype=np.bool_)
    if isinstance(value, str | bytes):
        msg = (
            "参数 include_incomplete_legal 应为 True/False 或候选场地编号的集合，"
            f"而不是单个字符串 {value!r}"
        )
        raise OptionError(msg, loc=("include_incomplete_legal",))
    wanted = set(value)
    known = set(ids.tolist())
    unknown = [str(v) for v in wanted if v not in known]
    if unknown:
        shown = "、".join(sorted(unknown)[:10])
        msg = f"参数 include_incomplete_legal 中的候选场地编号不存在：{shown}"
        raise InvalidValueError(msg, loc=("include_incomplete_legal",))
    return np.array([v in wanted for v in ids.tolist()], dtype=np.bool_)


def venue_selection(
    buildings: gpd.GeoDataFrame | pd.DataFrame,
    candidates: gpd.GeoDataFrame | pd.DataFrame,
    walk_m: Any,
    *,
    existing_covered: ArrayLike,
    k: int,
    limit_m: float = DEFAULT_LIMIT_M,
    demand: Literal["residents", "households"] = "residents",
    weights: ScoreWeights | None = None,
    include_incomplete_legal: bool | Iterable[Any] = False,
    max_per_compound: int | None = 1,
    weight_score: float = 0.0,
    time_limit_s: float = 10.0,
    solver: Solver | None = None,
) -> VenuePlan:
    """Choose ``k`` candidate venues for red houses that cover the most residents on foot.

    Hard rules (docs/domain.md, "红房子选址"): a candidate whose four legal checks
    (``lawyer_consulted``, ``housing_filed``, ``publicly_noticed``, ``property_recorded``)
    are not all done is excluded unless the planner includes it; at most
    ``max_per_compound`` new venues per compound. Soft criteria form the score of
    :class:`ScoreWeights`, which breaks ties between equal coverage and, with
    ``weight_score``, trades against it (see :func:`select_venues` and the module docstring
    for the exact objective). Existing service points are not candidates: their coverage
    comes in as ``existing_covered`` and counts as already served. Then
    :func:`select_venues`, :func:`coverage_curve` (``k = 1..k``, with its own
    ``time_limit_s``) and :func:`explain` do the work.

    Parameters
    ----------
    buildings
        ``building_id`` (column or index), ``residents`` and/or ``households`` (the one
        maximised is required; missing values count 0), optional ``compound``.
    candidates
        ``candidate_id`` (column or index), ``kind`` (one of :data:`VENUE_KINDS`), the four
        legal checks (bools), optional ``name``, ``compound``, ``floor_area_m2``,
        ``ground_floor``, ``ventilation`` and the compound's ``compound_maturity``,
        ``compound_party_members``, ``compound_has_party_branch``,
        ``compound_has_owners_committee``.
    walk_m
        ``(candidates, buildings)`` scipy sparse matrix of walking metres, as from
        :func:`gis_api.analysis.walknet.distances_within`: a stored entry is a walk (an
        explicit 0 is a zero walk), an absent one is out of reach.
    existing_covered
        True for buildings already within the limit of an existing service point.
    k
        Number of new venues (>= 1).
    limit_m
        Walking limit, metres (1,000 m: the 15-minute circle).
    demand
        Maximise covered ``"residents"`` or ``"households"``.
    weights
        Score weights (default :class:`ScoreWeights`).
    include_incomplete_legal
        True to allow every candidate with incomplete legal checks, or the ids of those the
        planner includes.
    max_per_compound
        New venues per compound (None: no cap). Candidates without a compound are not capped.
    weight_score
        Demand one point of score (in [0, 1]) is worth; 0: score only breaks ties.
    time_limit_s
        Solver time limit, seconds (the selection and the curve have one each).
    solver
        MILP solver (see :func:`select_venues`).

    Returns
    -------
    VenuePlan

    Raises
    ------
    MissingColumnError, DuplicateIdError, InvalidValueError
        A missing column, repeated ids, or an unusable value.
    CoverageMismatchError
        ``walk_m`` or ``existing_covered`` not matching the layers.
    OptionError
        An option out of range.
    """
    k = _int_option("k", k, low=1)
    limit_m = _real_option("limit_m", limit_m, positive=True)
    if demand not in DEMANDS:
        msg = f"参数 demand 应为 {' 或 '.join(DEMANDS)}，实际为 {demand!r}"
        raise OptionError(msg, loc=("demand",))
    if max_per_compound is not None:
        max_per_compound = _int_option("max_per_compound", max_per_compound, low=1)
    weight_score = _real_option("weight_score", weight_score, positive=False)
    time_limit_s = _real_option("time_limit_s", time_limit_s, positive=True)

    b_ids = checks.ids(buildings, "buildings", "building_id")
    if demand not in buildings.columns:
        what = "常住人口" if demand == "residents" else "户数"
        msg = f"参数 buildings 缺少 {demand} 列（按{what}计算覆盖）"
        raise MissingColumnError(msg, loc=("buildings", demand))
    nb = len(b_ids)
    people = {
        d: np.nan_to_num(_numeric_column(buildings, "buildings", d))
        if d in buildings.columns
        else np.zeros(nb)
        for d in DEMANDS
    }
    table = _candidates(candidates, weights, include_incomplete_legal)
    c_ids = table["candidate_id"].to_numpy(dtype=object)
    cover = _walk_cover(walk_m, (len(c_ids), nb), limit_m)
    existing = _bools("existing_covered", existing_covered, nb, "楼栋", default=False)

    group = pd.factorize(table["compound"], use_na_sentinel=True)[0].astype(np.int64)
    rules: dict[str, Any] = {
        "already_covered": existing,
        "score": table["score"].to_numpy(dtype=np.float64),
        "weight_score": weight_score,
        "groups": group,
        "max_per_group": max_per_compound,
        "eligible": table["eligible"].to_numpy(dtype=np.bool_),
        "time_limit_s": time_limit_s,
        "solver": solver,
    }
    selection = select_venues(cover, people[demand], k=k, **rules)
    curve = coverage_curve(cover, people[demand], k_max=k, **rules)
    part_cols = [f"score_{c}" for c in CRITERIA]
    steps = explain(
        selection,
        cover,
        people[demand],
        names=table["name"].to_numpy(dtype=object),
        compounds=_text(buildings["compound"], nb) if "compound" in buildings.columns else None,
        score_parts={c: table[c].to_numpy() for c in part_cols},
    )
    picks, covered = _picks_table(steps, table, people, existing, demand)
    total = float(people[demand].sum())
    curve_frame = pd.DataFrame(
        {
            "k": curve.k,
            f"{demand}_covered_after": curve.covered_after,
            f"new_{demand}": curve.covered_new,
            "share": curve.covered_after / total if total > 0 else np.nan,
            "optimal": curve.optimal,
            "method": list(curve.method),
        }
    )
    out = table[~table["eligible"]]
    excluded = pd.DataFrame(
        {
            "candidate_id": out["candidate_id"].to_numpy(dtype=object),
            "name": out["name"].to_numpy(dtype=object),
            "reason": [f"法律手续不全：缺{m}" for m in out["legal_missing"]],
        }
    )
    return VenuePlan(
        picks=picks,
        before=_summary(existing, people["residents"], people["households"]),
        after=_summary(covered, people["residents"], people["households"]),
        curve=curve_frame,
        excluded=excluded,
        scores=table,
        demand=demand,
        optimal=selection.optimal,
        gap=selection.gap,
        bound=selection.bound,
        method=selection.method,
        seconds=selection.seconds,
        note=selection.note,
        selection=selection,
        explanation=steps,
    )


def _candidates(
    candidates: pd.DataFrame,
    weights: ScoreWeights | None,
    include_incomplete_legal: bool | Iterable[Any],
) -> pd.DataFrame:
    """Build the candidates' table: ids, names, kinds, compounds, legality, eligibility, score."""
    name = "candidates"
    ids = checks.ids(candidates, name, "candidate_id")
    n = len(ids)
    if "kind" not in candidates.columns:
        msg = "参数 candidates 缺少 kind 列（场地类型）"
        raise MissingColumnError(msg, loc=(name, "kind"))
    kind = _choice_column(candidates, name, "kind", VENUE_KINDS, ids)
    missing_kind = np.flatnonzero(pd.isna(kind))
    if len(missing_kind):
        i = int(missing_kind[0])
        msg = f"参数 candidates 中 {ids[i]} 的 kind 为空，应为 {sorted(VENUE_KINDS)} 之一"
        raise InvalidValueError(msg, loc=(name, str(ids[i]), "kind"))
    legal: dict[str, Bools] = {}
    for col, label in LEGAL_CHECKS.items():
        if col not in candidates.columns:
            msg = f"参数 candidates 缺少 {col} 列（合法使用核查：{label}）"
            raise MissingColumnError(msg, loc=(name, col))
        legal[col] = _bool_column(candidates, name, col, ids)
    complete = np.logical_and.reduce(list(legal.values()))
    names = _text(_column(candidates, "name"), n)
    names = np.where(pd.isna(names), ids.astype(str), names)
    table = pd.DataFrame(
        {
            "candidate_id": ids,
            "name": names,
            "kind": kind,
            "compound": _text(_column(candidates, "compound"), n),
            "legal_complete": complete,
            "legal_missing": [
                "、".join(LEGAL_CHECKS[c] for c in LEGAL_CHECKS if not legal[c][i])
                for i in range(n)
            ],
            "eligible": complete | _included(include_incomplete_legal, ids),
        }
    )
    scores = venue_scores(candidates, weights)
    return pd.concat([table, scores.drop(columns="candidate_id")], axis=1)


def _picks_table(
    steps: tuple[PickExplanation, ...],
    table: pd.DataFrame,
    people: dict[str, Floats],
    existing: Bools,
    demand: str,
) -> tuple[pd.DataFrame, Bools]:
    """One row per pick (see :class:`VenuePlan`), and the buildings covered after all picks."""
    part_cols = [f"score_{c}" for c in CRITERIA]
    ids = table["candidate_id"].to_numpy(dtype=object)
    covered = existing.copy()
    rows = []
    for step in steps:
        j, pts, r = step.candidate, step.new_points, step.runner_up
        covered[pts] = True
        rows.append(
            {
                "rank": step.rank,
                "candidate_id": ids[j],
                "name": step.name,
                "kind": table["kind"].iat[j],
                "compound": table["compound"].iat[j],
                "new_residents": float(people["residents"][pts].sum()),
                "new_households": float(people["households"][pts].sum()),
                "new_buildings": len(pts),
                "residents_covered_after": float(people["residents"][covered].sum()),
                "households_covered_after": float(people["households"][covered].sum()),
                "score": step.score,
                **{c: step.score_parts[c] for c in part_cols},
                "legal_complete": bool(table["legal_complete"].iat[j]),
                "new_compounds": tuple(c for c, _ in step.compounds),
                "runner_up_id": None if r is None else ids[r],
                "runner_up_name": step.runner_up_name,
                f"runner_up_new_{demand}": step.runner_up_new_demand,
                "runner_up_score": step.runner_up_score,
            }
        )
    columns = [
        "rank",
        "candidate_id",
        "name",
        "kind",
        "compound",
        "new_residents",
        "new_households",
        "new_buildings",
        "residents_covered_after",
        "households_covered_after",
        "score",
        *part_cols,
        "legal_complete",
        "new_compounds",
        "runner_up_id",
        "runner_up_name",
        f"runner_up_new_{demand}",
        "runner_up_score",
    ]
    return pd.DataFrame(rows, columns=columns), covered
