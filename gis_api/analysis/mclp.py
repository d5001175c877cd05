"""The maximal covering location problem (MCLP) on a coverage matrix, solved exactly.

Church and ReVelle (1974): choose ``k`` facilities that cover the most demand. As in
pysal/spopt, this core works on a ``(facilities, demand points)`` coverage matrix and knows
nothing of what the facilities or the demand are; a domain adapter builds the matrix, the
groups, the exclusions and the tie-break weights, and calls :func:`maximal_covering`.

The model
---------
Facilities ``j`` that may be chosen (not excluded), demand points ``i`` not already covered,
``w_i >= 0`` their demand, ``s_j`` a facility's tie-break weight (its score), ``a_ij = 1``
when facility ``j`` covers point ``i``, and groups ``g`` of facilities with a per-group cap::

    maximise    sum_i w_i y_i  +  (weight_score + eps) * sum_j (s_j - s_min) x_j
    subject to  y_i <= sum_j a_ij x_j            for every demand point i
                sum_j x_j = k'                   (k' = k, or fewer if fewer can be chosen)
                sum_{j in g} x_j <= max_per_group for every group g
                x_j in {0, 1},  0 <= y_i <= 1

``y`` may be continuous: once ``x`` is integral the best ``y_i`` is ``min(1, sum_j a_ij x_j)``,
which is 0 or 1. ``eps`` makes the score a pure tie-break when ``weight_score`` is 0:
``eps = unit / (2 k' max_j (s_j - s_min))``, so the whole score term is at most half a
``unit`` of coverage and can never buy coverage; ``unit`` is 1 for integer demand, else
``1e-6`` of the total demand. ``weight_score`` (demand per point of score) trades coverage for
score. Since ``k'`` is fixed, subtracting ``s_min`` changes no choice; it keeps every term
non-negative.

Guarantees
----------
* The picks are always feasible: exactly ``k' = min(k, most that can be chosen together)``
  facilities, none excluded, no group over its cap (:attr:`Selection.note` says when
  ``k' < k``).
* :attr:`Selection.optimal` True means proven optimal: HiGHS closed the gap to its dual bound
  (relative gap 1e-9, so its absolute gap of 1e-6 decides, finer than the tie-break), or the
  instance is one where greedy is exact (every facility fits, or no demand is left).
* Otherwise (a time limit, a solver failure, ``method="greedy"``) the result is the better of
  the MILP's incumbent and greedy, with ``gap = (bound - objective) / bound`` to the solver's
  proven upper bound, or ``gap = None`` without one (the note says why).
* Never worse than greedy (to a relative 1e-9): greedy is computed first and returned when
  the MILP's answer is worse or, short of a proof, not strictly better.

Before solving, the problem is reduced without changing its optimum: demand already covered,
of weight 0 or out of every eligible facility's reach is dropped, and demand points reached
by exactly the same facilities are merged into one with their weights added. Dominated
facilities are kept: with exactly ``k'`` picks and group caps, a facility that covers a
subset of another's may still be needed to fill the count, and HiGHS's presolve removes
dominated columns where it can prove it safe.

scipy's ``milp`` takes no starting solution, so the greedy solution is not passed to HiGHS;
instead it is computed first and kept as the fallback: on a time limit the better of the
MILP's incumbent and greedy is returned, with the gap to the MILP's dual bound. (HiGHS's own
Python API, highspy, does take one, but on the hard instances of ``bench/bench_venues.py`` a
greedy start did not shorten the proof: the root LP and its cuts dominate. A solver that
uses :attr:`MilpProblem.start` can be injected through ``solver``.)

:func:`maximal_covering` is :func:`check_inputs`, :func:`reduce`, :func:`greedy`,
:func:`solve` and :func:`to_selection` in turn; they are public so that one reduced instance
can be solved for many ``k`` (a coverage curve). Errors are those of
:mod:`gis_api.analysis.errors`, with zh-CN messages.

At about 950 lines this module is over the project's ~800 on purpose: it is the whole core,
and its parts share invariants that must agree (the tie-break's ``eps`` set in
:func:`reduce`, the bound shifted back by ``s_min`` in :func:`to_selection`, the caps that
:func:`greedy`, the MILP and the check of the solver's answer each enforce). A third of it
is docstrings, a sixth the validation of the inputs.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from gis_api.analysis.errors import CoverageMismatchError, OptionError

__all__ = [
    "CoveringInputs",
    "Method",
    "MilpOutcome",
    "MilpProblem",
    "ReducedModel",
    "Selection",
    "Solution",
    "Solver",
    "as_cover",
    "bool_vector",
    "check_inputs",
    "float_vector",
    "greedy",
    "int_option",
    "maximal_covering",
    "real_option",
    "reduce",
    "scipy_milp",
    "solve",
    "to_selection",
    "vector",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
#: ``"milp"`` (exact) or ``"greedy"`` (lazy greedy only, no proof).
Method = Literal["milp", "greedy"]
#: ``solver(MilpProblem) -> MilpOutcome``; the default is :func:`scipy_milp`.
Solver = Callable[["MilpProblem"], "MilpOutcome"]

# HiGHS stops at a relative gap of 1e-4 by default, which on a demand of 100,000 leaves 10
# unproven; at 1e-9 its absolute gap (1e-6) decides, finer than the score tie-break.
_MIP_REL_GAP = 1e-9
# Two objective values closer than this (relative) are the same solution quality.
_SAME = 1e-9
# How the zh-CN messages name a row and a column of the coverage matrix.
_FACILITY = "候选场地"
_DEMAND_POINT = "需求点"


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
    """The chosen facilities and how good the choice is proven to be.

    Attributes
    ----------
    picks
        Facility indices (rows of ``cover``), ordered by marginal gain: each is the best next
        pick given those before it, by the objective of the module docstring.
    gains
        Demand each pick newly covers, in that order.
    k
        Number of facilities asked for; ``len(picks)`` is smaller only when fewer can be
        chosen (exclusions, per-group caps), which ``note`` says.
    objective
        ``covered_new + weight_score * score_total``: the objective without the tie-break.
    covered_before, covered_new, covered_after
        Demand already covered, newly covered by the picks, and both.
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
        zh-CN remarks for the user (fewer picks than asked, why there is no gap), or "".
    reduced
        ``(facilities, demand groups)`` left after reduction: the size of the MILP.
    eligible, score, weight_score, groups, max_per_group, already_covered
        The rules the selection was made under (kept so that an explanation of the picks
        applies the same).
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


# --- validation of the core's inputs ----------------------------------------------------------


def as_cover(cover: Any, name: str = "cover") -> Any:
    """Return ``cover`` as a new boolean ``csr_array``, indices sorted; OptionError unless 2-D."""
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


def vector(name: str, value: ArrayLike, n: int, what: str) -> NDArray[Any]:
    """Return ``value`` as an array of ``n`` (one per ``what``), or raise CoverageMismatchError."""
    arr = np.asarray(value)
    if arr.ndim != 1 or len(arr) != n:
        msg = f"参数 {name} 应为长度 {n} 的一维数组（每个{what}一个值），实际形状为 {arr.shape}"
        raise CoverageMismatchError(msg, loc=(name,))
    return arr


def float_vector(name: str, value: ArrayLike, n: int, what: str, *, nonneg: bool) -> Floats:
    """Return ``value`` as ``n`` finite floats (``>= 0`` if ``nonneg``); else raise OptionError."""
    arr = vector(name, value, n, what)
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


def bool_vector(name: str, value: ArrayLike | None, n: int, what: str, default: bool) -> Bools:
    """Return ``value`` as ``n`` bools (``default`` when None); OptionError if not boolean."""
    if value is None:
        return np.full(n, default, dtype=np.bool_)
    arr = vector(name, value, n, what)
    if arr.dtype != np.bool_:
        msg = f"参数 {name} 应为布尔数组（True/False），实际类型为 {arr.dtype}"
        raise OptionError(msg, loc=(name,))
    return arr.astype(np.bool_)


def int_option(name: str, value: Any, *, low: int) -> int:
    """Return ``value`` as an int ``>= low``, or raise OptionError (for a bool too)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        msg = f"参数 {name} 应为不小于 {low} 的整数，实际为 {value!r}"
        raise OptionError(msg, loc=(name,))
    return int(value)


def real_option(name: str, value: Any, *, positive: bool) -> float:
    """Return ``value`` as a finite float, ``> 0`` if ``positive`` else ``>= 0``, or OptionError."""
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


@dataclass(frozen=True, eq=False)
class CoveringInputs:
    """A checked instance: the arguments of :func:`maximal_covering`, in one form.

    ``cover`` is a boolean ``csr_array`` with sorted indices, ``groups`` is -1 where a
    facility has none, ``eligible`` is False for an excluded facility; the rest as given.
    """

    cover: Any
    demand: Floats
    already_covered: Bools
    score: Floats
    weight_score: float
    groups: Ints
    max_per_group: int | None
    eligible: Bools
    time_limit_s: float

    def max_picks(self) -> int:
        """Return how many facilities can be chosen together under exclusions and group caps."""
        g = self.groups[self.eligible]
        free = int(np.sum(g < 0))
        if self.max_per_group is None:
            return free + int(np.sum(g >= 0))
        counts = np.bincount(g[g >= 0]) if np.any(g >= 0) else np.zeros(0, dtype=np.int64)
        return free + int(np.minimum(counts, self.max_per_group).sum())


def check_inputs(
    cover: Any,
    demand: ArrayLike,
    *,
    already_covered: ArrayLike | None = None,
    score: ArrayLike | None = None,
    weight_score: float = 0.0,
    groups: ArrayLike | None = None,
    max_per_group: int | None = None,
    eligible: ArrayLike | None = None,
    time_limit_s: float = 10.0,
) -> CoveringInputs:
    """Check the arguments of :func:`maximal_covering` (which see) and bring them to one form.

    Returns
    -------
    CoveringInputs

    Raises
    ------
    OptionError
        An option out of range, or an array of the wrong type.
    CoverageMismatchError
        An array whose length does not match ``cover``.
    """
    mat = as_cover(cover)
    n, d = mat.shape
    w = float_vector("demand", demand, d, _DEMAND_POINT, nonneg=True)
    already = bool_vector("already_covered", already_covered, d, _DEMAND_POINT, default=False)
    s = np.zeros(n) if score is None else float_vector("score", score, n, _FACILITY, nonneg=False)
    if groups is None:
        g = np.full(n, -1, dtype=np.int64)
    else:
        raw = vector("groups", groups, n, _FACILITY)
        if not np.issubdtype(raw.dtype, np.integer) or (len(raw) and raw.min() < -1):
            msg = f"参数 groups 应为整数数组（组号 >= 0，无组为 -1），实际为 {raw.dtype} 类型"
            raise OptionError(msg, loc=("groups",))
        g = raw.astype(np.int64)
    cap = None if max_per_group is None else int_option("max_per_group", max_per_group, low=1)
    return CoveringInputs(
        cover=mat,
        demand=w,
        already_covered=already,
        score=s,
        weight_score=real_option("weight_score", weight_score, positive=False),
        groups=g,
        max_per_group=cap,
        eligible=bool_vector("eligible", eligible, n, _FACILITY, default=True),
        time_limit_s=real_option("time_limit_s", time_limit_s, positive=True),
    )


# --- the reduced model ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReducedModel:
    """The problem after reduction: eligible facilities x merged demand groups.

    ``facilities`` are the original indices (rows of ``cover``) of the model's facilities;
    ``cover`` is ``a`` (model facilities x demand groups), ``weight`` the groups' summed
    demand ``w``, ``score`` is ``s - s_min`` (>= 0) and ``score_coef`` is
    ``weight_score + eps``, the factor of ``score`` in the objective.
    """

    facilities: Ints
    cover: Any
    weight: Floats
    score: Floats
    score_min: float
    group: Ints
    max_per_group: int | None
    score_coef: float
    weight_score: float

    @property
    def n_facilities(self) -> int:
        """Return the number of model facilities."""
        return len(self.facilities)

    @property
    def n_demand(self) -> int:
        """Return the number of demand groups."""
        return len(self.weight)

    def value(self, picks: Sequence[int] | Ints) -> float:
        """Return the reduced objective ``sum w y + score_coef * sum s x`` of model ``picks``."""
        idx = np.asarray(picks, dtype=np.int64)
        if len(idx) == 0:
            return 0.0
        rows = self.cover[idx]
        hit = np.zeros(self.n_demand, dtype=np.bool_)
        hit[rows.indices] = True
        return float(self.weight[hit].sum() + self.score_coef * self.score[idx].sum())


def reduce(inputs: CoveringInputs, k: int) -> ReducedModel:
    """Drop excluded facilities and useless demand; merge demand reached by the same facilities.

    Parameters
    ----------
    inputs
        The checked instance.
    k
        The largest number of picks the model will be solved for; it sets the tie-break's
        ``eps`` (module docstring), so that the score can never buy coverage up to ``k``.

    Returns
    -------
    ReducedModel
    """
    cand = np.flatnonzero(inputs.eligible).astype(np.int64)
    sub = inputs.cover[cand]
    reach = np.zeros(inputs.cover.shape[1], dtype=np.bool_)
    reach[sub.indices] = True
    keep = np.flatnonzero(reach & ~inputs.already_covered & (inputs.demand > 0))
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
    w = np.bincount(cls, weights=inputs.demand[keep], minlength=q).astype(np.float64)
    C = sparse.csr_array(D[first].T) if q else sparse.csr_array((len(cand), 0), dtype=np.bool_)
    C.sort_indices()

    raw = inputs.score[cand]
    s_min = float(raw.min()) if len(raw) else 0.0
    s = raw - s_min
    top = float(s.max()) if len(s) else 0.0
    integral = bool(np.all(inputs.demand == np.floor(inputs.demand)))
    unit = 1.0 if integral else 1e-6 * max(float(inputs.demand.sum()), 1e-300)
    eps = unit / (2.0 * max(k, 1) * top) if top > 0 else 0.0
    return ReducedModel(
        facilities=cand,
        cover=C,
        weight=w,
        score=s,
        score_min=s_min,
        group=inputs.groups[cand],
        max_per_group=inputs.max_per_group,
        score_coef=inputs.weight_score + eps,
        weight_score=inputs.weight_score,
    )


def greedy(model: ReducedModel, k: int, start: Sequence[int] = ()) -> list[int]:
    """Lazy greedy (Minoux): the best next pick by gain + coef * s, ties by s, then index.

    The coverage gain only shrinks as picks are added, so a stale gain is an upper bound and
    only the top of the heap needs re-evaluating. Group caps are respected; ``start`` are
    picks already made (their coverage and group slots count).

    Parameters
    ----------
    model
        The reduced model.
    k
        Number of picks wanted, ``start`` included.
    start
        Model indices already picked.

    Returns
    -------
    list of int
        Model indices (``start`` first), in the order picked; fewer than ``k`` if the caps
        leave no more.
    """
    C, w = model.cover, model.weight
    covered = np.zeros(model.n_demand, dtype=np.bool_)
    used: dict[int, int] = {}
    picks = [int(j) for j in start]
    for j in picks:
        covered[C.indices[C.indptr[j] : C.indptr[j + 1]]] = True
        g = int(model.group[j])
        used[g] = used.get(g, 0) + 1
    taken = set(picks)
    gains = np.asarray(C @ np.where(covered, 0.0, w), dtype=np.float64) if model.n_demand else None
    heap: list[tuple[float, float, int]] = []
    for j in range(model.n_facilities):
        if j in taken:
            continue
        gain = float(gains[j]) if gains is not None else 0.0
        heap.append((-(gain + model.score_coef * model.score[j]), -float(model.score[j]), j))
    heapq.heapify(heap)
    cap = model.max_per_group
    while len(picks) < k and heap:
        _, neg_s, j = heapq.heappop(heap)
        g = int(model.group[j])
        if cap is not None and g >= 0 and used.get(g, 0) >= cap:
            continue
        cols = C.indices[C.indptr[j] : C.indptr[j + 1]]
        gain = float(w[cols][~covered[cols]].sum())
        key = (-(gain + model.score_coef * model.score[j]), neg_s, j)
        if heap and key > heap[0]:
            heapq.heappush(heap, key)
            continue
        covered[cols] = True
        picks.append(j)
        used[g] = used.get(g, 0) + 1
    return picks


def _order(model: ReducedModel, picks: Iterable[int]) -> list[int]:
    """Order a set of model picks by marginal gain (the greedy rule within the set)."""
    C = model.cover
    rest = sorted(int(j) for j in picks)
    covered = np.zeros(model.n_demand, dtype=np.bool_)
    out: list[int] = []
    while rest:
        best: tuple[float, float, int] | None = None
        for j in rest:
            cols = C.indices[C.indptr[j] : C.indptr[j + 1]]
            gain = float(model.weight[cols][~covered[cols]].sum())
            key = (-(gain + model.score_coef * model.score[j]), -float(model.score[j]), j)
            if best is None or key < best:
                best = key
        assert best is not None
        j = best[2]
        covered[C.indices[C.indptr[j] : C.indptr[j + 1]]] = True
        out.append(j)
        rest.remove(j)
    return out


# --- the exact solution -----------------------------------------------------------------------


def _milp_problem(
    model: ReducedModel, k: int, start: Sequence[int], time_limit_s: float
) -> MilpProblem:
    """Build the MILP of the module docstring on the reduced model; variables ``[x, y]``."""
    m, q = model.n_facilities, model.n_demand
    ct = sparse.csr_array(model.cover.T, dtype=np.float64)
    cover_rows = sparse.hstack([-ct, sparse.eye_array(q, format="csr")], format="csr")
    count_row = sparse.csr_array(
        (np.ones(m), (np.zeros(m, dtype=np.int64), np.arange(m))), shape=(1, m + q)
    )
    blocks = [cover_rows, count_row]
    row_lb = [np.full(q, -np.inf), np.array([float(k)])]
    row_ub = [np.zeros(q), np.array([float(k)])]
    if model.max_per_group is not None:
        grouped = np.flatnonzero(model.group >= 0)
        counts = np.bincount(model.group[grouped]) if len(grouped) else np.zeros(0, np.int64)
        over = np.flatnonzero(counts > model.max_per_group)
        if len(over):
            row_of = np.full(len(counts), -1, dtype=np.int64)
            row_of[over] = np.arange(len(over))
            cols = grouped[row_of[model.group[grouped]] >= 0]
            rows = row_of[model.group[cols]]
            blocks.append(
                sparse.csr_array((np.ones(len(cols)), (rows, cols)), shape=(len(over), m + q))
            )
            row_lb.append(np.full(len(over), -np.inf))
            row_ub.append(np.full(len(over), float(model.max_per_group)))
    x0 = np.zeros(m + q)
    if start:
        x0[list(start)] = 1.0
        hit = model.cover[np.asarray(start, dtype=np.int64)].indices
        x0[m + hit] = 1.0
    return MilpProblem(
        c=-np.concatenate([model.score_coef * model.score, model.weight]),
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


def _feasible(model: ReducedModel, x: Floats | None, k: int) -> list[int] | None:
    """Return the picks of a solver's ``x``, or None if it is missing or breaks a rule."""
    if x is None or len(x) < model.n_facilities:
        return None
    picks = [int(j) for j in np.flatnonzero(x[: model.n_facilities] > 0.5)]
    if len(picks) != k:
        return None
    if model.max_per_group is not None:
        g = model.group[picks]
        g = g[g >= 0]
        if len(g) and int(np.bincount(g).max()) > model.max_per_group:
            return None
    return picks


@dataclass(frozen=True)
class Solution:
    """What :func:`solve` found on the reduced model.

    Model ``picks`` (unordered), whose they are (``method``), whether proven ``optimal``, an
    upper ``bound`` on the reduced objective (or None) and a zh-CN ``note`` (why not proven,
    or "").
    """

    picks: list[int]
    method: Method
    optimal: bool
    bound: float | None
    note: str


def solve(
    model: ReducedModel,
    k: int,
    greedy_picks: list[int],
    *,
    method: Method = "milp",
    time_limit_s: float = 10.0,
    solver: Solver | None = None,
) -> Solution:
    """Solve the reduced model for ``k`` picks: greedy, then (unless trivial) the MILP.

    Parameters
    ----------
    model
        The reduced model.
    k
        Number of picks, no more than can be chosen together.
    greedy_picks
        A feasible solution of ``k`` picks (greedy's): the fallback, kept if at least as good.
    method
        ``"milp"``, or ``"greedy"`` to return ``greedy_picks`` without a proof.
    time_limit_s, solver
        Limit and solver of the MILP (default :func:`scipy_milp`).

    Returns
    -------
    Solution
        Where greedy is exact (every facility fits, or no demand is left) ``greedy_picks``,
        optimal; otherwise as the module docstring's guarantees say.
    """
    g_value = model.value(greedy_picks)
    if model.n_facilities <= k or model.n_demand == 0:
        # All facilities fit, or only the score is left: a linear objective over a
        # partition matroid, where greedy is optimal (Edmonds 1971).
        return Solution(greedy_picks, "greedy", True, g_value, "")
    if method == "greedy":
        note = "仅用贪心算法求解，未证明最优，也没有上界"
        return Solution(greedy_picks, "greedy", False, None, note)
    problem = _milp_problem(model, k, greedy_picks, time_limit_s)
    try:
        out = (solver or scipy_milp)(problem)
    except (ValueError, RuntimeError, MemoryError) as exc:
        note = f"整数规划求解失败（{exc}），结果为贪心解，未证明最优"
        return Solution(greedy_picks, "greedy", False, None, note)
    bound = None if out.dual_bound is None else -out.dual_bound
    picks = _feasible(model, out.x, k)
    if picks is not None and out.status == "optimal":
        m_value = model.value(picks)
        if g_value > m_value + _SAME * max(abs(m_value), 1.0):
            return Solution(greedy_picks, "greedy", True, bound, "")
        return Solution(picks, "milp", True, bound, "")
    if out.status == "time_limit":
        note = f"整数规划在 {time_limit_s:g} 秒时限内未证明最优"
    else:
        note = f"整数规划未能求解（{out.message}）"
    used: Method
    if picks is not None and model.value(picks) > g_value + _SAME * max(abs(g_value), 1.0):
        best, used = picks, "milp"
        note += "，结果为整数规划的当前最好解"
    else:
        best, used = greedy_picks, "greedy"
        note += "，结果为贪心解" + ("（优于或等于整数规划的当前最好解）" if picks else "")
    if bound is None:
        note += "；求解器未给出上界，无法计算差距"
    return Solution(best, used, False, bound, note)


def to_selection(
    inputs: CoveringInputs,
    model: ReducedModel,
    solution: Solution,
    *,
    k: int,
    note: str = "",
    started: float,
) -> Selection:
    """Order a solution's picks by marginal gain and state it in the original indices.

    Parameters
    ----------
    inputs, model, solution
        The instance, its reduced model and a solution of that model.
    k
        Number of picks asked for.
    note
        A remark of the caller's, put before the solution's own.
    started
        ``time.perf_counter()`` at the start of the call, for :attr:`Selection.seconds`.

    Returns
    -------
    Selection
    """
    ordered = (
        model.facilities[_order(model, solution.picks)] if solution.picks else np.zeros(0, np.int64)
    )
    ordered = np.asarray(ordered, dtype=np.int64)
    mat = inputs.cover
    covered = inputs.already_covered.copy()
    gains = np.zeros(len(ordered))
    for r, j in enumerate(ordered):
        cols = mat.indices[mat.indptr[j] : mat.indptr[j + 1]]
        new = cols[~covered[cols]]
        gains[r] = float(inputs.demand[new].sum())
        covered[new] = True
    before = float(inputs.demand[inputs.already_covered].sum())
    new_total = float(gains.sum())
    score_total = float(inputs.score[ordered].sum())
    objective = new_total + inputs.weight_score * score_total
    # The model objective is objective + eps-term - weight_score * k * s_min; shift the bound.
    bound = solution.bound
    if bound is not None:
        bound = bound + inputs.weight_score * len(ordered) * model.score_min
    gap: float | None
    if solution.optimal:
        gap = 0.0
    elif bound is None:
        gap = None
    else:
        gap = max(bound - objective, 0.0) / abs(bound) if abs(bound) > 0 else 0.0
    notes = "；".join(x for x in (note, solution.note) if x)
    return Selection(
        picks=ordered,
        gains=gains,
        k=k,
        objective=objective,
        covered_before=before,
        covered_new=new_total,
        covered_after=before + new_total,
        score_total=score_total,
        optimal=solution.optimal,
        gap=gap,
        bound=bound,
        method=solution.method,
        seconds=time.perf_counter() - started,
        note=notes,
        reduced=(model.n_facilities, model.n_demand),
        eligible=inputs.eligible,
        score=inputs.score,
        weight_score=inputs.weight_score,
        groups=inputs.groups,
        max_per_group=inputs.max_per_group,
        already_covered=inputs.already_covered,
    )


def _shortfall_note(k: int, k_eff: int) -> str:
    if k_eff >= k:
        return ""
    if k_eff == 0:
        return "没有可选的候选场地（均不符合条件），未选出场地"
    return f"按资格和每组上限最多只能选 {k_eff} 处，少于要求的 {k} 处"


# --- the core ---------------------------------------------------------------------------------


def maximal_covering(
    cover: Any,
    demand: ArrayLike,
    *,
    k: int,
    already_covered: ArrayLike | None = None,
    score: ArrayLike | None = None,
    weight_score: float = 0.0,
    groups: ArrayLike | None = None,
    max_per_group: int | None = None,
    eligible: ArrayLike | None = None,
    time_limit_s: float = 10.0,
    solver: Solver | None = None,
    method: Method = "milp",
) -> Selection:
    """Choose ``k`` facilities covering the most demand not yet covered (MCLP, exact).

    The model, the reduction, the solver strategy and the guarantees are in the module
    docstring: lazy greedy first; then HiGHS on the reduced MILP; on a time limit the better
    of the MILP's incumbent and greedy, with the gap to the MILP's dual bound.

    Parameters
    ----------
    cover
        ``(facilities, demand points)`` matrix, true (non-zero) where the facility covers the
        demand point; scipy sparse or dense.
    demand
        Demand of each point, finite and >= 0.
    k
        Number of facilities to choose (>= 1).
    already_covered
        True for demand points already covered: they bring no gain.
    score
        Tie-break weight of each facility (any finite numbers; higher is better). Without
        ``weight_score`` it only breaks ties between equal coverage.
    weight_score
        Demand one point of score is worth (>= 0); 0 makes the score a pure tie-break.
    groups
        Group of each facility, ``-1`` for none.
    max_per_group
        At most this many picks per group (default None: no cap).
    eligible
        False for excluded facilities, which may not be chosen.
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
    >>> sel = maximal_covering(cover, np.array([5, 1, 1, 5]), k=2)
    >>> sel.picks.tolist(), sel.covered_new, sel.optimal
    ([0, 2], 12.0, True)
    """
    started = time.perf_counter()
    k = int_option("k", k, low=1)
    if method not in ("milp", "greedy"):
        msg = f"参数 method 应为 'milp' 或 'greedy'，实际为 {method!r}"
        raise OptionError(msg, loc=("method",))
    inputs = check_inputs(
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
    k_eff = min(k, inputs.max_picks())
    model = reduce(inputs, k_eff)
    solution = solve(
        model,
        k_eff,
        greedy(model, k_eff),
        method=method,
        time_limit_s=inputs.time_limit_s,
        solver=solver,
    )
    note = _shortfall_note(k, k_eff)
    return to_selection(inputs, model, solution, k=k, note=note, started=started)
