"""Red-house venue selection (红房子选址): the k rooms that bring the most residents within a walk.

docs/domain.md, "红房子选址": candidates are community-use rooms,
property rooms, owners' activity centres and stilted ground floors; the choice weighs compound
maturity, party-member coverage and governance foundation, and every venue's use must pass a
four-point legal checklist. Qiaohua built 10 red houses among 30 compounds, so by default a
compound gets at most one new venue. Coverage is the 15-minute service circle (GB 50180-2018:
1,000 m on foot, walked on the network).

The problem is the maximal covering location problem (MCLP, Church and ReVelle 1974), solved
exactly as a mixed-integer programme with HiGHS. As in pysal/spopt, the work is split:

* :mod:`gis_api.analysis.mclp`, the domain-free core on a coverage matrix: the model (its
  objective, constraints and guarantees are in that module's docstring), the reduction, the
  exact MILP with its greedy start and fallback, and the solver seam (:class:`MilpProblem`,
  :class:`MilpOutcome`, :func:`scipy_milp`);
* :mod:`gis_api.analysis.venue_scores`, the soft criteria: :class:`ScoreWeights`,
  :func:`venue_scores`;
* this module, the domain on top: :func:`select_venues` (the core with the red-house
  defaults), :func:`coverage_curve`, :func:`explain`, and the GeoDataFrame adapter
  :func:`venue_selection`, which applies the hard rules, builds the matrix and delegates.

In the core's terms the facilities are the candidate rooms, the demand points the buildings
(their residents or households) not already within reach of an existing service point, the
groups the compounds (at most one new venue each by default), the excluded facilities the
rooms whose legal checks are incomplete, and the tie-break weight the venue score. With the
scores in [0, 1], ``weight_score=200`` lets the best-scored room beat the worst if it covers
at most 200 fewer residents.

At about 870 lines this module is a little over the project's ~800: what is left is the
domain (the hard rules, the explanations, the curve, the adapter's checks and its tables),
whose parts read the same columns and name the same things; the core and the score are
already apart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

import geopandas as gpd

from gis_api.analysis import checks, mclp
from gis_api.analysis.errors import (
    CoverageMismatchError,
    InvalidValueError,
    MissingColumnError,
    OptionError,
)
from gis_api.analysis.mclp import (
    Method,
    MilpOutcome,
    MilpProblem,
    Selection,
    Solver,
    as_cover,
    bool_vector,
    float_vector,
    int_option,
    real_option,
    scipy_milp,
    vector,
)
from gis_api.analysis.venue_scores import (
    CRITERIA,
    ScoreWeights,
    bool_column,
    choice_column,
    column,
    numeric_column,
    text_values,
    venue_scores,
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

#: The 15-minute circle of GB 50180-2018, metres on foot.
DEFAULT_LIMIT_M = domain.SERVICE_CIRCLE_M
#: Kinds of candidate venue, with their zh-CN names (docs/domain.md, 红房子选址).
VENUE_KINDS = domain.VENUE_KINDS
#: The legal-use checklist: column -> zh-CN name of the step (docs/domain.md, 红房子选址).
LEGAL_CHECKS = domain.LEGAL_CHECKS
#: What coverage counts: a building's residents or its households.
DEMANDS: tuple[str, ...] = ("residents", "households")


# --- results ----------------------------------------------------------------------------------


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


# --- the core, with the red-house rules --------------------------------------------------------


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

    :func:`gis_api.analysis.mclp.maximal_covering` (which has the parameters, the model, the
    solver strategy and the guarantees) with the venues' default of at most one new venue per
    group (``max_per_group=1``), a group being a compound.

    In the venues' terms: ``cover`` is ``(candidates, demand points)``, true where the demand
    point lies within the walking limit of the candidate; ``demand`` is residents or
    households; ``already_covered`` is what existing service points cover; ``score`` is the
    venue score (:func:`venue_scores`); ``groups`` are the compounds; ``eligible`` is False
    for candidates that may not be chosen (incomplete legal checks, say).

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
    return mclp.maximal_covering(
        cover,
        demand,
        k=k,
        already_covered=already_covered,
        score=score,
        weight_score=weight_score,
        groups=groups,
        max_per_group=max_per_group,
        eligible=eligible,
        time_limit_s=time_limit_s,
        solver=solver,
        method=method,
    )


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
    k_max = int_option("k_max", k_max, low=1)
    inputs = mclp.check_inputs(
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
    most = inputs.max_picks()
    model = mclp.reduce(inputs, min(k_max, most))
    greedy = mclp.greedy(model, min(k_max, most))
    deadline = started + inputs.time_limit_s
    before = float(inputs.demand[inputs.already_covered].sum())
    new = np.zeros(k_max)
    optimal = np.zeros(k_max, dtype=np.bool_)
    methods: list[Method] = []
    all_picks: list[Ints] = []
    prev: list[int] = []
    for k in range(1, k_max + 1):
        k_eff = min(k, most)
        left = deadline - time.perf_counter()
        start = greedy[:k_eff]
        if len(prev) < k_eff:
            extended = mclp.greedy(model, k_eff, start=prev)
            if model.value(extended) > model.value(start):
                start = extended
        # In time, the MILP on the time left; after it, greedy (optimal only where exact).
        solution = mclp.solve(
            model,
            k_eff,
            start,
            method="milp" if left > 0 else "greedy",
            time_limit_s=left,
            solver=solver,
        )
        prev = list(solution.picks)
        sel = mclp.to_selection(inputs, model, solution, k=k, started=started)
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
    mat = as_cover(cover)
    n, d = mat.shape
    if len(selection.score) != n or len(selection.already_covered) != d:
        msg = (
            f"参数 cover 的形状 {mat.shape} 与选址结果不符（候选场地 {len(selection.score)} 个、"
            f"需求点 {len(selection.already_covered)} 个）"
        )
        raise CoverageMismatchError(msg, loc=("cover",))
    w = float_vector("demand", demand, d, "需求点", nonneg=True)
    label = (
        [str(i) for i in range(n)]
        if names is None
        else [str(x) for x in vector("names", np.asarray(names, dtype=object), n, "候选场地")]
    )
    comp = (
        None
        if compounds is None
        else vector("compounds", np.asarray(compounds, dtype=object), d, "需求点")
    )
    parts: dict[str, Floats] = {}
    if score_parts is not None:
        for key, values in score_parts.items():
            parts[str(key)] = float_vector(
                f"score_parts[{key}]", values, n, "候选场地", nonneg=False
            )
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
    k = int_option("k", k, low=1)
    limit_m = real_option("limit_m", limit_m, positive=True)
    if demand not in DEMANDS:
        msg = f"参数 demand 应为 {' 或 '.join(DEMANDS)}，实际为 {demand!r}"
        raise OptionError(msg, loc=("demand",))
    if max_per_compound is not None:
        max_per_compound = int_option("max_per_compound", max_per_compound, low=1)
    weight_score = real_option("weight_score", weight_score, positive=False)
    time_limit_s = real_option("time_limit_s", time_limit_s, positive=True)

    b_ids = checks.ids(buildings, "buildings", "building_id")
    if demand not in buildings.columns:
        what = "常住人口" if demand == "residents" else "户数"
        msg = f"参数 buildings 缺少 {demand} 列（按{what}计算覆盖）"
        raise MissingColumnError(msg, loc=("buildings", demand))
    nb = len(b_ids)
    people = {
        d: np.nan_to_num(numeric_column(buildings, "buildings", d))
        if d in buildings.columns
        else np.zeros(nb)
        for d in DEMANDS
    }
    table = _candidates(candidates, weights, include_incomplete_legal)
    c_ids = table["candidate_id"].to_numpy(dtype=object)
    cover = _walk_cover(walk_m, (len(c_ids), nb), limit_m)
    existing = bool_vector("existing_covered", existing_covered, nb, "楼栋", default=False)

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
    reached = column(buildings, "compound")
    steps = explain(
        selection,
        cover,
        people[demand],
        names=table["name"].to_numpy(dtype=object),
        compounds=None if reached is None else text_values(reached, nb),
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
    kind = choice_column(candidates, name, "kind", VENUE_KINDS, ids)
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
        legal[col] = bool_column(candidates, name, col, ids)
    complete = np.logical_and.reduce(list(legal.values()))
    names = text_values(column(candidates, "name"), n)
    names = np.where(pd.isna(names), ids.astype(str), names)
    table = pd.DataFrame(
        {
            "candidate_id": ids,
            "name": names,
            "kind": kind,
            "compound": text_values(column(candidates, "compound"), n),
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
