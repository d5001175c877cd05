"""Max-p regionalization: the most connected regions that each reach a threshold weight.

Why one module of about 1,100 lines: it is one search, whose moves (tree cuts, sweeps,
bisection, subset DP) share the state of one partition and one set of tuning constants;
split apart, each piece would need the whole of that state, and the moves could no longer be
read next to each other.

Problem
-------
Given ``n`` units with weights ``w_i >= 0``, a threshold ``T > 0`` and an undirected graph
of links with lengths ``d_ij >= 0``, partition the *active* units of every connected
component (connected along links between active units) whose total weight reaches ``T``
into regions ``R_1..R_p`` that

1. are connected along links between their own members (contiguity),
2. each weigh ``sum(w_i, i in R_k) >= T``,
3. are as many as possible (maximize ``p``), then
4. are as compact as possible: minimize ``sum_k diam(R_k)``, ``diam(R)`` being the longest
   shortest path between two members. Paths may pass through any unit of the graph, active
   or not; pairs farther apart than ``distance_limit`` count as twice that limit.

A component weighing less than ``T`` cannot hold one region; it is returned whole, as
*unassigned*. Optional ``labels`` say which units may not mix: units with different labels
never share a region (the links between them are dropped, for paths too). This is the
max-p-regions problem (Duque, Anselin and Rey 2012), NP-hard in general.

Inputs are plain arrays and a scipy sparse matrix; the module knows nothing of what the units,
weights or lengths stand for. :func:`max_p_regions` is the entry point, :class:`MaxPResult`
its answer, :func:`cover_bound` the bound it reports.

Guarantees
----------
- Every region is connected and reaches ``T``; every active unit of a component that reaches
  ``T`` is in exactly one region. This holds also when the time budget runs out.
- Components of up to 10 active units: the exact optimum of 3 then 4, by dynamic programming
  over subsets (``3^m`` steps).
- Larger components: a heuristic (below). :class:`MaxPResult` reports two upper bounds on the
  number of regions, ``sum_C floor(W_C / T)`` and a bin-covering bound that also counts how
  many units a region needs (:func:`cover_bound`); a component whose regions reach the latter
  is optimal in number.
- Deterministic: the same inputs and seed give the same regions in the same order, unless
  the time budget stops the search.

Algorithm
---------
On a *tree* max-p is solved exactly by one bottom-up pass (carry each subtree's unassigned
weight to its parent, cut a region as soon as the carry reaches ``T``, join what is left at
the root to an adjacent region), and every partition into connected regions is a cut of some
spanning tree. So several randomized spanning trees are cut optimally and the best kept:
near-minimum trees (compact regions) and nearest-neighbour walks (long paths whose cuts
overshoot ``T`` least, so more regions). Then local search, every move keeping contiguity and
thresholds: *recombination* merges two adjacent regions and re-splits the union along a
sweep between two centres (members ordered by ``dist(c1, .) - dist(c2, .)``; every
front/back split of every centre pair is scored at once with running maxima) when that
shortens the summed diameters; *regrouping* merges a region with its heaviest neighbours and
re-splits them into one region more when their weight allows it; while below the bound, the
whole component is split anew by *recursive bisection* (each half must hold its share of
regions; all subsets of small halves, sweeps of large ones, with backtracking).

With ``start`` regions (a previous answer), each one still connected and above the threshold
is kept as it is and only the rest is regrouped; a fresh search replaces this only in a
component where it finds more regions.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import issparse
from scipy.sparse.csgraph import connected_components

from gis_api.analysis import checks
from gis_api.analysis.errors import InvalidValueError, NeighbourGraphError, OptionError
from gis_api.analysis.graphs import DENSE_MAX, GraphDistances, undirected_links

__all__ = ["MaxPResult", "cover_bound", "max_p_regions"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

# Weight comparisons allow this much round-off (weights are often products).
_EPS = 1e-9
# Multi-start trees: (kind, noise added to link lengths). "prim" trees are near-minimum
# spanning trees (compact regions); "walk" trees follow nearest-neighbour walks, long paths
# whose cuts overshoot the threshold least (more regions).
_STARTS: tuple[tuple[str, float], ...] = (
    ("prim", 0.0),
    ("walk", 0.0),
    ("walk", 0.5),
    ("prim", 0.5),
    ("walk", 1.0),
    ("prim", 1.0),
    ("walk", 2.0),
    ("walk", 4.0),
)
# Construction stops after this many starts once it reaches the bound.
_EARLY_STOP = 3
# Spanning trees tried per regrouping move.
_GROUP_TRIES = 4
# Neighbours taken into a regrouping move, and local-search passes over a component.
_GROUP_NEIGHBOURS = 3
_MAX_PASSES = 6
# Recombination sweeps two regions' union up to this many units.
_SWEEP_MAX = 48
# Bisection: centre pairs sampled per sweep, splits tried per level, sweeps per attempt, and
# the largest set of units it splits.
_BISECT_PAIRS = 160
_BISECT_KEEP = 6
_BISECT_BUDGET = 40
_BISECT_MAX = 120
# Sets up to this size are split by trying every subset; components up to _EXACT_MAX
# units are solved exactly (3^m steps).
_SUBSET_MAX = 13
_EXACT_MAX = 10
# A recombination must shorten the summed diameters by this much to be taken.
_MIN_GAIN = 0.5

# A two-region split: (summed diameters, one side, the other side).
_Split = tuple[float, list[int], list[int]]


@dataclass(frozen=True)
class MaxPResult:
    """Regions found by :func:`max_p_regions`, and how good they are.

    Attributes
    ----------
    regions
        Member units of each region, ascending; component by component, components in
        the order of their lowest unit.
    unassigned
        Member units, ascending, of each component of active units that weighs less than
        the threshold (so holds no region); a unit without any link is one of these when
        it is light, a region of its own when it reaches the threshold alone.
    upper_bound
        ``sum_C floor(W_C / T)`` over the components that reach the threshold.
    cover_bound
        The tighter bound: per component, :func:`cover_bound` (at most ``floor(W_C / T)``).
    components, feasible_components
        Components of active units, and those that reach the threshold.
    components_at_bound
        Feasible components whose regions reach ``cover_bound``: optimal in number.
    starts, moves
        Spanning trees cut in the construction, improving moves taken.
    time_budget_reached
        True when the search stopped improving early on the time budget.
    distances
        The shortest paths the search used (links between different labels dropped), for
        the caller to measure its regions with.
    """

    regions: tuple[Ints, ...]
    unassigned: tuple[Ints, ...]
    upper_bound: int
    cover_bound: int
    components: int
    feasible_components: int
    components_at_bound: int
    starts: int
    moves: int
    time_budget_reached: bool
    distances: GraphDistances


def max_p_regions(
    weights: ArrayLike,
    threshold: float,
    links: Any,
    *,
    active: ArrayLike | None = None,
    labels: ArrayLike | None = None,
    start: Iterable[ArrayLike] = (),
    distance_limit: float = math.inf,
    seed: int = 0,
    time_budget_s: float = math.inf,
    dense_max: int = DENSE_MAX,
) -> MaxPResult:
    """Partition the active units into the most connected regions reaching ``threshold``.

    See the module docstring for the problem, the objective and the guarantees.

    Parameters
    ----------
    weights
        ``(n,)`` weight of each unit, finite and ``>= 0``.
    threshold
        Weight each region must reach, positive.
    links
        ``(n, n)`` scipy sparse matrix of link lengths (finite, ``>= 0``); stored entries are
        links, explicit zeros included. Read as undirected: the shorter of ``d_ij`` and
        ``d_ji`` counts; self-links are ignored.
    active
        ``(n,)`` booleans: the units to group (default all). Paths between active units may
        pass through inactive ones; regions are connected through active units only.
    labels
        ``(n,)`` labels of units that may not mix: links between different labels are dropped.
    start
        Regions of a previous answer, as unit indices (a unit named twice counts in the
        first); those still connected and above the threshold are kept.
    distance_limit
        Paths are followed up to this length; a longer one counts as twice the limit.
        A limit a few times the longest link keeps regions compact and the search fast.
    seed
        Seed of the randomized spanning trees.
    time_budget_s
        Stop improving after this many seconds (the regions stay valid).
    dense_max
        Components of up to this many units keep a dense matrix of path lengths, larger ones
        a sparse one: memory against speed; the regions do not depend on it.

    Returns
    -------
    MaxPResult

    Raises
    ------
    NeighbourGraphError
        If ``links`` is not an ``(n, n)`` sparse matrix of finite lengths ``>= 0``.
    InvalidValueError
        If ``weights``, ``active`` or ``labels`` has a bad length or value.
    OptionError
        If ``threshold``, ``distance_limit``, ``time_budget_s`` or ``start`` is out of range.

    Examples
    --------
    Five units in a row, 10 apart, weighing 2, 1, 1, 2, 2, threshold 3:

    >>> from scipy.sparse import csr_matrix
    >>> row = csr_matrix(([10.0] * 4, ([0, 1, 2, 3], [1, 2, 3, 4])), shape=(5, 5))
    >>> result = max_p_regions([2, 1, 1, 2, 2], 3.0, row)
    >>> [r.tolist() for r in result.regions], result.cover_bound
    ([[0, 1, 2], [3, 4]], 2)
    """
    started = time.perf_counter()
    weight = _checked_weights(weights)
    n_units = len(weight)
    _check_links(links, n_units)
    threshold_value = checks.positive("threshold", threshold)
    limit = _checked_limit(distance_limit)
    budget = _checked_budget(time_budget_s)
    active_mask = _checked_mask(active, n_units)
    if labels is not None and np.asarray(labels).reshape(-1).shape != (n_units,):
        msg = (
            f"参数 labels 应有 {n_units} 个值（每个单元一个），实际为 {np.asarray(labels).size} 个"
        )
        raise InvalidValueError(msg, loc=("labels",))
    start_regions = _checked_start(start, n_units)
    graph = undirected_links(links, labels)
    distances = GraphDistances(graph, limit, dense_max=dense_max)
    search = _Search(
        graph,
        active_mask,
        weight,
        threshold_value,
        distances,
        seed=seed,
        deadline=started + budget,
    )
    outcome = search.run(start_regions)
    return MaxPResult(
        regions=tuple(np.asarray(sorted(part), dtype=np.int64) for part in outcome.regions),
        unassigned=tuple(np.asarray(part, dtype=np.int64) for part in outcome.unassigned),
        upper_bound=outcome.upper_bound,
        cover_bound=outcome.cover_bound,
        components=outcome.components,
        feasible_components=outcome.feasible,
        components_at_bound=outcome.at_bound,
        starts=search.starts,
        moves=search.moves,
        time_budget_reached=search.out_of_time,
        distances=distances,
    )


# --- input checks -----------------------------------------------------------------------------


def _checked_weights(weights: ArrayLike) -> Floats:
    try:
        out = np.asarray(weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        msg = "参数 weights（权重）应为数值数组"
        raise InvalidValueError(msg, loc=("weights",)) from exc
    bad = np.flatnonzero(~np.isfinite(out) | (out < 0))
    if len(bad):
        first = int(bad[0])
        msg = f"参数 weights（权重）应为非负的有限数，第 {first} 个单元为 {out[first]:g}"
        raise InvalidValueError(msg, loc=("weights", first))
    return out


def _check_links(links: Any, n_units: int) -> None:
    if not issparse(links):
        msg = f"参数 links 应为 scipy 稀疏矩阵（单元之间的连接长度），实际为 {type(links).__name__}"
        raise NeighbourGraphError(msg, loc=("links",))
    if links.shape != (n_units, n_units):
        msg = f"参数 links 的形状为 {links.shape}，应为 ({n_units}, {n_units})，与 weights 一一对应"
        raise NeighbourGraphError(msg, loc=("links",))
    lengths = np.asarray(links.data, dtype=np.float64)
    if not (np.isfinite(lengths) & (lengths >= 0)).all():
        msg = "参数 links 的连接长度应为有限的非负数"
        raise NeighbourGraphError(msg, loc=("links",))


def _checked_limit(value: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not out > 0:
        msg = f"参数 distance_limit（路径长度上限）应为正数（可为 inf），实际为 {value!r}"
        raise OptionError(msg, loc=("distance_limit",))
    return out


def _checked_budget(value: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not out >= 0:
        msg = f"参数 time_budget_s（计算时间上限，秒）应为非负数（可为 inf），实际为 {value!r}"
        raise OptionError(msg, loc=("time_budget_s",))
    return out


def _checked_mask(active: ArrayLike | None, n_units: int) -> Bools:
    if active is None:
        return np.ones(n_units, dtype=np.bool_)
    out = np.asarray(active)
    if out.dtype != np.bool_ or out.shape != (n_units,):
        msg = f"参数 active 应为 {n_units} 个布尔值（每个单元一个）"
        raise InvalidValueError(msg, loc=("active",))
    return out


def _checked_start(start: Iterable[ArrayLike], n_units: int) -> list[Ints]:
    out: list[Ints] = []
    for k, region in enumerate(start):
        try:
            units = np.asarray(region, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError) as exc:
            msg = f"参数 start 的第 {k} 个分区应为单元序号（整数）"
            raise OptionError(msg, loc=("start", k)) from exc
        if ((units < 0) | (units >= n_units)).any():
            msg = f"参数 start 的第 {k} 个分区含有不存在的单元序号（共 {n_units} 个单元）"
            raise OptionError(msg, loc=("start", k))
        out.append(units)
    return out


# --- the bound --------------------------------------------------------------------------------


def cover_bound(weights: Sequence[float], threshold: float) -> int:
    """Most regions the weights could fill if contiguity did not matter (bin covering).

    A region holds a unit of weight ``>= T`` (at most one region each), or two *heavy* units
    (``>= T/2``), or one heavy unit ``h`` plus light ones worth ``T - h``, or light ones
    worth ``T``. Light ones are counted by weight and by number: a region of light units
    needs at least ``k_min`` of them (the fewest whose largest weights reach ``T``), a heavy
    one ``h`` at least ``k(T - h)``. With the ``b`` heaviest heavies alone in a region, at
    most ``(|heavy| - b) // 2 + b + c`` regions, where ``c`` light-only regions fit in the
    light weight and number left; the bound is the best ``b``.
    """
    big = sum(1 for weight in weights if weight >= threshold)
    heavy = sorted(
        (weight for weight in weights if threshold / 2 <= weight < threshold), reverse=True
    )
    lights = sorted((weight for weight in weights if weight < threshold / 2), reverse=True)
    prefix = np.cumsum(lights) if lights else np.zeros(0)
    light = float(prefix[-1]) if lights else 0.0

    def fewest(amount: float) -> int:
        """Fewest light units worth ``amount`` (len + 1 when all of them are not enough)."""
        return int(np.searchsorted(prefix, amount - _EPS)) + 1 if amount > 0 else 0

    k_min = fewest(threshold)

    def light_regions(weight_left: float, count_left: int) -> int:
        if weight_left < -_EPS or count_left < 0:
            return -1
        by_weight = math.floor(weight_left / threshold + _EPS)
        return min(by_weight, count_left // k_min) if k_min <= len(lights) else 0

    best = len(heavy) // 2 + max(0, light_regions(light, len(lights)))
    need_weight, need_count = 0.0, 0
    for alone, heavy_weight in enumerate(heavy, start=1):
        need_weight += threshold - heavy_weight
        need_count += fewest(threshold - heavy_weight)
        light_only = light_regions(light - need_weight, len(lights) - need_count)
        if light_only < 0:
            break
        best = max(best, (len(heavy) - alone) // 2 + alone + light_only)
    return big + best


# --- the search -------------------------------------------------------------------------------


@dataclass
class _Outcome:
    regions: list[list[int]] = field(default_factory=list)
    unassigned: list[list[int]] = field(default_factory=list)
    upper_bound: int = 0
    cover_bound: int = 0
    components: int = 0
    feasible: int = 0
    at_bound: int = 0


@dataclass
class _Partition:
    """Regions of one component under construction; ``region_of`` maps unit -> region key."""

    members: dict[int, list[int]]
    weight: dict[int, float]
    diameter: dict[int, float]
    region_of: dict[int, int]
    next_key: int = 0
    fixed: set[int] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.members)

    def add(
        self, members: list[int], weight: float, diameter: float, *, fixed: bool = False
    ) -> int:
        key = self.next_key
        self.next_key += 1
        self.members[key] = members
        self.weight[key] = weight
        self.diameter[key] = diameter
        for unit in members:
            self.region_of[unit] = key
        if fixed:
            self.fixed.add(key)
        return key

    def drop(self, key: int) -> list[int]:
        members = self.members.pop(key)
        del self.weight[key], self.diameter[key]
        self.fixed.discard(key)
        return members


def _empty_partition() -> _Partition:
    return _Partition({}, {}, {}, {})


class _Search:
    """Max-p search over the active units, component by component."""

    def __init__(
        self,
        graph: Any,
        active: Bools,
        weight: Floats,
        threshold: float,
        distances: GraphDistances,
        *,
        seed: int,
        deadline: float,
    ) -> None:
        self.weights: list[float] = weight.tolist()
        # What a region must weigh, less round-off; the threshold itself counts bounds.
        self.min_weight = threshold - _EPS * max(1.0, threshold)
        self.threshold = threshold
        self.distances = distances
        self.seed = seed
        self.deadline = deadline
        self.out_of_time = False
        self.starts = 0
        self.moves = 0
        units = np.flatnonzero(active)
        sub = graph[units][:, units].tocsr()
        self.active_units = units
        self.n_components, label = connected_components(sub, directed=False)
        self.component_of = np.asarray(label, dtype=np.int64)
        # Links among active units, in global indices, as Python lists for speed.
        n_units = graph.shape[0]
        self.links: list[list[tuple[int, float]]] = [[] for _ in range(n_units)]
        indptr, targets, lengths = sub.indptr, units[sub.indices], sub.data
        for row, unit in enumerate(units.tolist()):
            first, stop = int(indptr[row]), int(indptr[row + 1])
            self.links[unit] = list(
                zip(targets[first:stop].tolist(), lengths[first:stop].tolist(), strict=True)
            )

    def _time_left(self) -> bool:
        if time.perf_counter() > self.deadline:
            self.out_of_time = True
        return not self.out_of_time

    # --- driver ---

    def run(self, start: Sequence[Ints]) -> _Outcome:
        out = _Outcome(components=self.n_components)
        start_of: dict[int, int] = {}
        for k, units in enumerate(start):
            for unit in units.tolist():
                start_of.setdefault(unit, k)
        order = np.argsort(self.component_of, kind="stable")
        bounds = np.searchsorted(self.component_of[order], np.arange(self.n_components + 1))
        for comp in range(self.n_components):
            nodes = sorted(self.active_units[order[bounds[comp] : bounds[comp + 1]]].tolist())
            total = sum(self.weights[unit] for unit in nodes)
            if total < self.min_weight:
                out.unassigned.append(nodes)
                continue
            out.feasible += 1
            bound = math.floor(total / self.threshold + _EPS)
            bin_bound = min(
                bound, cover_bound([self.weights[unit] for unit in nodes], self.min_weight)
            )
            out.upper_bound += bound
            out.cover_bound += bin_bound
            rnd = random.Random(self.seed * 1_000_003 + nodes[0])
            best = self._solve(nodes, total, bin_bound, rnd)
            if any(unit in start_of for unit in nodes):
                warm = self._warm_start(nodes, start_of, bin_bound, rnd)
                if warm.count >= best.count:
                    best = warm
            out.at_bound += best.count >= bin_bound
            out.regions.extend(best.members.values())
        return out

    # --- building blocks ---

    def _weight(self, members: Iterable[int]) -> float:
        return sum(self.weights[unit] for unit in members)

    def _diameter(self, members: list[int]) -> float:
        if len(members) < 2:
            return 0.0
        return float(self.distances.block(members).max())

    def _prim_tree(
        self, nodes: Sequence[int], inside: set[int], root: int, noise: float, rnd: random.Random
    ) -> tuple[list[int], dict[int, int]]:
        """Randomized Prim: a spanning tree of ``inside`` favouring short links.

        Returns the nodes in the order added (parents before children) and each node's
        parent (-1 for the root).
        """
        parent = {root: -1}
        order = [root]
        heap: list[tuple[float, int, int]] = []
        rand = rnd.random
        for nbr, length in self.links[root]:
            if nbr in inside:
                heap.append((length * (1.0 + noise * rand()), nbr, root))
        heapq.heapify(heap)
        while heap and len(order) < len(nodes):
            _, unit, via = heapq.heappop(heap)
            if unit in parent:
                continue
            parent[unit] = via
            order.append(unit)
            for nbr, length in self.links[unit]:
                if nbr in inside and nbr not in parent:
                    heapq.heappush(heap, (length * (1.0 + noise * rand()), nbr, unit))
        return order, parent

    def _walk_tree(
        self, nodes: Sequence[int], inside: set[int], root: int, noise: float, rnd: random.Random
    ) -> tuple[list[int], dict[int, int]]:
        """Depth-first tree stepping to the nearest unvisited neighbour: long, thin paths."""
        parent = {root: -1}
        order = [root]
        stack = [root]
        rand = rnd.random
        while stack:
            unit = stack[-1]
            step, best = -1, math.inf
            for nbr, length in self.links[unit]:
                if nbr in inside and nbr not in parent:
                    key = length * (1.0 + noise * rand())
                    if key < best:
                        step, best = nbr, key
            if step < 0:
                stack.pop()
                continue
            parent[step] = unit
            order.append(step)
            stack.append(step)
        del nodes
        return order, parent

    def _cut_tree(self, order: list[int], parent: dict[int, int]) -> list[list[int]]:
        """Optimal max-p cut of a tree: cut a region as soon as the carried weight reaches T.

        Bottom-up, each node carries its own weight plus what its uncut children carry;
        a node whose carry reaches the threshold closes a region. This maximizes the number
        of regions on the tree (an exchange argument: cutting as low as possible never loses
        a region and leaves the most weight free above). What remains at the root joins the
        adjacent region it makes least wide.
        """
        weights = self.weights
        carry_weight = {unit: weights[unit] for unit in order}
        carry: dict[int, list[int]] = {unit: [unit] for unit in order}
        parts: list[list[int]] = []
        leftover: list[int] = []
        for unit in reversed(order):
            carried = carry_weight[unit]
            if carried >= self.min_weight:
                parts.append(carry.pop(unit))
                continue
            up = parent[unit]
            if up < 0:
                leftover = carry.pop(unit)
                break
            carry_weight[up] += carried
            carry[up].extend(carry.pop(unit))
        if leftover and parts:
            where = {unit: k for k, part in enumerate(parts) for unit in part}
            near = {where[nbr] for unit in leftover for nbr, _ in self.links[unit] if nbr in where}
            if len(near) == 1:
                target = near.pop()
            else:
                target = min(sorted(near), key=lambda k: self._diameter(parts[k] + leftover))
            parts[target] = parts[target] + leftover
        elif leftover:
            parts.append(leftover)
        return parts

    def _construct(
        self, nodes: list[int], total: float, rnd: random.Random, bound: int = 0
    ) -> list[list[int]]:
        """Best of several randomized spanning-tree cuts: most regions, then least diameter.

        Stops early once a cut reaches ``bound`` regions and the first trees of both kinds
        have been tried: the local search then works on compactness alone.
        """
        inside = set(nodes)
        best: list[list[int]] = []
        best_key = (-1, 0.0)
        edge = self._edge_unit(nodes, inside)
        for k, (kind, noise) in enumerate(_STARTS):
            if k > 0 and not self._time_left():
                break
            root = edge if k < 2 else nodes[rnd.randrange(len(nodes))]
            grow = self._prim_tree if kind == "prim" else self._walk_tree
            order, parent = grow(nodes, inside, root, noise, rnd)
            parts = self._cut_tree(order, parent)
            self.starts += 1
            key = (len(parts), -sum(self._diameter(part) for part in parts))
            if key > best_key:
                best, best_key = parts, key
            if len(nodes) <= 2 or total < 2 * self.threshold:
                break  # one region is all there can be
            if k >= _EARLY_STOP and best_key[0] >= bound > 0:
                break
        return best

    def _edge_unit(self, nodes: list[int], inside: set[int]) -> int:
        """Return a unit at the edge of the component (farthest by links from the first)."""
        seen = {nodes[0]}
        frontier = [nodes[0]]
        last = nodes[0]
        while frontier:
            reached = []
            for unit in frontier:
                for nbr, _ in self.links[unit]:
                    if nbr in inside and nbr not in seen:
                        seen.add(nbr)
                        reached.append(nbr)
            if reached:
                last = min(reached)
            frontier = reached
        return last

    def _partition_of(self, parts: Iterable[list[int]]) -> _Partition:
        partition = _empty_partition()
        for part in parts:
            partition.add(list(part), self._weight(part), self._diameter(list(part)))
        return partition

    def _solve(
        self, nodes: list[int], total: float, bin_bound: int, rnd: random.Random
    ) -> _Partition:
        if len(nodes) <= _EXACT_MAX:
            exact = self._exact(nodes)
            if exact is not None:
                return self._partition_of(exact)
        partition = self._partition_of(self._construct(nodes, total, rnd, bin_bound))
        if partition.count > 1 or len(nodes) > 2:
            self._improve(partition, bin_bound, rnd, compact=True)
        while partition.count < bin_bound and len(nodes) <= _BISECT_MAX and self._time_left():
            split = self._bisect(nodes, partition.count + 1, rnd, [_BISECT_BUDGET])
            if split is None:
                break
            partition = self._partition_of(split)
            self.moves += 1
            self._improve(partition, bin_bound, rnd, compact=True)
        return partition

    def _warm_start(
        self, nodes: list[int], start_of: Mapping[int, int], bin_bound: int, rnd: random.Random
    ) -> _Partition:
        """Keep every start region still connected and above the threshold; regroup the rest."""
        groups: dict[int, list[int]] = {}
        for unit in nodes:
            if unit in start_of:
                groups.setdefault(start_of[unit], []).append(unit)
        partition = _empty_partition()
        kept: set[int] = set()
        for members in groups.values():
            for piece in self._pieces(members):
                piece_weight = self._weight(piece)
                if piece_weight >= self.min_weight:
                    partition.add(piece, piece_weight, self._diameter(piece), fixed=True)
                    kept.update(piece)
        free = [unit for unit in nodes if unit not in kept]
        leftovers: list[int] = []
        for piece in self._pieces(free):
            piece_weight = self._weight(piece)
            if piece_weight >= self.min_weight:
                for part in self._construct(sorted(piece), piece_weight, rnd):
                    partition.add(part, self._weight(part), self._diameter(part))
            else:
                leftovers.extend(piece)
        if partition.count == 0:
            return self._partition_of([nodes])
        self._absorb(partition, leftovers)
        self._improve(partition, bin_bound, rnd, compact=True)
        return partition

    def _pieces(self, members: list[int]) -> list[list[int]]:
        """Return the connected pieces of ``members`` along links."""
        inside = set(members)
        pieces: list[list[int]] = []
        for seed_unit in members:
            if seed_unit not in inside:
                continue
            inside.discard(seed_unit)
            piece = [seed_unit]
            stack = [seed_unit]
            while stack:
                unit = stack.pop()
                for nbr, _ in self.links[unit]:
                    if nbr in inside:
                        inside.discard(nbr)
                        piece.append(nbr)
                        stack.append(nbr)
            pieces.append(sorted(piece))
        return pieces

    def _absorb(self, partition: _Partition, leftovers: list[int]) -> None:
        """Join units left over to the adjacent region they widen least, nearest first."""
        todo = set(leftovers)
        region_of = partition.region_of
        while todo:
            progress = False
            for unit in sorted(todo):
                near = sorted(
                    {
                        region_of[nbr]
                        for nbr, _ in self.links[unit]
                        if nbr in region_of and nbr not in todo
                    }
                )
                near = [key for key in near if key in partition.members]
                if not near:
                    continue
                key = min(near, key=lambda k: self._diameter([*partition.members[k], unit]))
                members = [*partition.members[key], unit]
                fixed = key in partition.fixed
                partition.drop(key)
                partition.add(members, self._weight(members), self._diameter(members), fixed=fixed)
                todo.discard(unit)
                progress = True
            if not progress:  # cannot happen in a connected component holding a region
                break

    # --- local search ---

    def _improve(
        self, partition: _Partition, bin_bound: int, rnd: random.Random, *, compact: bool
    ) -> None:
        """Regroup (more regions) and recombine (smaller diameters) until nothing improves."""
        dirty = set(partition.members)
        for _ in range(_MAX_PASSES):
            if not dirty or not self._time_left():
                break
            changed: set[int] = set()
            keys = sorted(dirty & set(partition.members))
            rnd.shuffle(keys)
            if partition.count < bin_bound:
                for key in keys:
                    if key in partition.members and key not in partition.fixed:
                        changed |= self._regroup(partition, key, rnd)
            keys = sorted(dirty & set(partition.members)) if compact else []
            rnd.shuffle(keys)
            seen: set[tuple[int, int]] = set()
            for one in keys:
                if one not in partition.members or one in partition.fixed:
                    continue
                for other in self._adjacent(partition, one):
                    pair = (min(one, other), max(one, other))
                    if (
                        other in partition.fixed
                        or one not in partition.members
                        or other not in partition.members
                        or pair in seen
                    ):
                        continue
                    seen.add(pair)
                    changed |= self._recombine(partition, one, other)
            dirty = changed & set(partition.members)

    def _adjacent(self, partition: _Partition, key: int) -> list[int]:
        region_of = partition.region_of
        near = {region_of[nbr] for unit in partition.members[key] for nbr, _ in self.links[unit]}
        near.discard(key)
        return sorted(other for other in near if other in partition.members)

    def _replace(self, partition: _Partition, old: list[int], parts: list[list[int]]) -> set[int]:
        for key in old:
            partition.drop(key)
        self.moves += 1
        return {partition.add(part, self._weight(part), self._diameter(part)) for part in parts}

    def _regroup(self, partition: _Partition, key: int, rnd: random.Random) -> set[int]:
        """One more region from a region and its heaviest neighbours, if their weight allows."""
        near = [other for other in self._adjacent(partition, key) if other not in partition.fixed]
        near.sort(key=lambda other: -partition.weight[other])
        group = [key, *near[:_GROUP_NEIGHBOURS]]
        total = sum(partition.weight[member] for member in group)
        if total < (len(group) + 1) * self.threshold - _EPS:
            return set()
        nodes = sorted(unit for member in group for unit in partition.members[member])
        if len(nodes) <= _BISECT_MAX:
            split = self._bisect(nodes, len(group) + 1, rnd, [_BISECT_BUDGET])
            if split is not None:
                return self._replace(partition, group, split)
        inside = set(nodes)
        for _ in range(_GROUP_TRIES):
            root = nodes[rnd.randrange(len(nodes))]
            order, parent = self._walk_tree(nodes, inside, root, 1.0, rnd)
            parts = self._cut_tree(order, parent)
            if len(parts) > len(group):
                return self._replace(partition, group, parts)
        return set()

    def _recombine(self, partition: _Partition, one: int, other: int) -> set[int]:
        """Merge two adjacent regions and re-split them where their diameters sum least."""
        nodes = partition.members[one] + partition.members[other]
        if len(nodes) > _SWEEP_MAX:
            return set()
        size_one = len(partition.members[one])
        first, second = np.divmod(
            np.arange(size_one * (len(nodes) - size_one)), len(nodes) - size_one
        )
        second = second + size_one
        found = self._sweep(
            nodes,
            self.distances.block(nodes),
            (first, second),
            need=(self.min_weight, self.min_weight),
            below=partition.diameter[one] + partition.diameter[other] - _MIN_GAIN,
            keep=1,
        )
        if not found:
            return set()
        return self._replace(partition, [one, other], [found[0][1], found[0][2]])

    def _sweep(
        self,
        nodes: list[int],
        lengths: Floats,
        centres: tuple[Ints, Ints],
        *,
        need: tuple[float, float],
        below: float,
        keep: int,
    ) -> list[_Split]:
        """Two-region splits of ``nodes`` by sweeps between two centres, least diameters first.

        For each centre pair ``(c1, c2)`` order the members by ``lengths[c1] - lengths[c2]``
        (nearer to ``c1`` first) and consider every split of that order into a front and a
        back. Keep splits whose front weighs at least ``need[0]`` and back ``need[1]``, whose
        diameter sum is below ``below`` and whose two sides are connected; return up to
        ``keep`` of them, least diameter sum first. Vectorized over centre pairs and
        positions: prefix and suffix diameters are running maxima of the reordered matrix.
        """
        size = len(nodes)
        weight = np.asarray([self.weights[unit] for unit in nodes])
        order = np.argsort(lengths[centres[0]] - lengths[centres[1]], axis=1, kind="stable")
        reordered = lengths[order[:, :, None], order[:, None, :]]
        lower = np.tril(np.ones((size, size), dtype=np.bool_), -1)
        front = np.maximum.accumulate(np.where(lower, reordered, 0.0).max(axis=2), axis=1)
        back_row = np.where(lower.T, reordered, 0.0).max(axis=2)[:, ::-1]
        back = np.maximum.accumulate(back_row, axis=1)[:, ::-1]
        cumulative = np.cumsum(weight[order], axis=1)
        left = cumulative[:, :-1]
        cost = front[:, :-1] + back[:, 1:]
        too_light = (left < need[0]) | (cumulative[:, -1:] - left < need[1])
        cost[too_light | (cost >= below)] = np.inf
        found: list[_Split] = []
        tried: set[frozenset[int]] = set()
        flat = np.argsort(cost, axis=None, kind="stable")
        for cell in flat[: 8 * size].tolist():
            pair, cut = divmod(cell, size - 1)
            if not np.isfinite(cost[pair, cut]):
                break
            side = frozenset(order[pair, : cut + 1].tolist())
            if side in tried:
                continue
            tried.add(side)
            one = [nodes[i] for i in sorted(side)]
            two = [nodes[i] for i in range(size) if i not in side]
            if self._connected(one) and self._connected(two):
                found.append((float(cost[pair, cut]), one, two))
                if len(found) >= keep:
                    break
        return found

    def _bisect(
        self, nodes: list[int], count: int, rnd: random.Random, budget: list[int]
    ) -> list[list[int]] | None:
        """Split ``nodes`` into ``count`` connected regions above the threshold, by halves.

        A split leaves ``a`` regions' worth of weight on one side and ``count - a`` on the
        other, ``a = count // 2`` first and then ``a = 1``; the best few splits (all subsets
        of a small set, else sweeps) are tried in turn, so a side that cannot be split
        further backtracks. ``budget`` caps the splits searched, across the recursion.
        """
        if count == 1:
            return [nodes]
        size = len(nodes)
        for share in sorted({count // 2, 1}, reverse=True):
            if budget[0] <= 0 or size < count:
                return None
            budget[0] -= 1
            need = (share * self.min_weight, (count - share) * self.min_weight)
            if size <= _SUBSET_MAX:
                found = self._subset_splits(nodes, need=need, keep=_BISECT_KEEP)
            else:
                first, second = np.divmod(np.arange(size * size), size)
                pairs = np.flatnonzero(first != second)
                if len(pairs) > _BISECT_PAIRS:
                    pairs = np.asarray(sorted(rnd.sample(pairs.tolist(), _BISECT_PAIRS)))
                found = self._sweep(
                    nodes,
                    self.distances.block(nodes),
                    (first[pairs], second[pairs]),
                    need=need,
                    below=np.inf,
                    keep=_BISECT_KEEP,
                )
            parts = self._descend(found, share, count, rnd, budget)
            if parts is not None:
                return parts
        return None

    def _descend(
        self,
        found: list[_Split],
        share: int,
        count: int,
        rnd: random.Random,
        budget: list[int],
    ) -> list[list[int]] | None:
        for _, one, two in found:
            first = self._bisect(one, share, rnd, budget)
            if first is None:
                continue
            second = self._bisect(two, count - share, rnd, budget)
            if second is not None:
                return first + second
        return None

    def _subset_tables(self, nodes: list[int]) -> tuple[Floats, Floats, list[int]]:
        """Every subset of ``nodes`` as a bit mask: its weight and diameter; links as masks."""
        size = len(nodes)
        bits = ((np.arange(1 << size)[:, None] >> np.arange(size)) & 1).astype(np.bool_)
        weight = bits @ np.asarray([self.weights[unit] for unit in nodes])
        lengths = self.distances.block(nodes)
        rows, cols = np.triu_indices(size, 1)
        both = bits[:, rows] & bits[:, cols]
        if len(rows):
            diameter = np.where(both, lengths[rows, cols], 0.0).max(axis=1)
        else:
            diameter = np.zeros(1 << size)
        position = {unit: i for i, unit in enumerate(nodes)}
        links = [0] * size
        for i, unit in enumerate(nodes):
            for nbr, _ in self.links[unit]:
                if nbr in position:
                    links[i] |= 1 << position[nbr]
        return weight, diameter, links

    @staticmethod
    def _mask_connected(mask: int, links: list[int]) -> bool:
        seen = mask & -mask
        frontier = seen
        while frontier:
            lowest = frontier & -frontier
            frontier ^= lowest
            reached = links[lowest.bit_length() - 1] & mask & ~seen
            seen |= reached
            frontier |= reached
        return seen == mask

    def _exact(self, nodes: list[int]) -> list[list[int]] | None:
        """Most regions, then least diameter sum, by dynamic programming over subsets.

        ``f(S) = best over connected Z in S holding S's lowest member with w(Z) >= T of
        (1, diam(Z)) + f(S - Z)``, lexicographically (more regions, then less diameter);
        ``3^m`` steps, so only for small components. None when no region fits.
        """
        size = len(nodes)
        weight, diameter, links = self._subset_tables(nodes)
        full = (1 << size) - 1
        fits = [
            bool(weight[mask] >= self.min_weight) and self._mask_connected(mask, links)
            for mask in range(full + 1)
        ]
        diameters = diameter.tolist()
        best_count = [-1] * (full + 1)
        best_diameter = [0.0] * (full + 1)
        choice = [0] * (full + 1)
        best_count[0] = 0
        for subset in range(1, full + 1):
            lowest = subset & -subset
            rest = subset ^ lowest
            sub = rest
            count, total, chosen = -1, 0.0, 0
            while True:
                region = lowest | sub
                remainder = subset ^ region
                if fits[region] and best_count[remainder] >= 0:
                    with_it = best_count[remainder] + 1
                    summed = best_diameter[remainder] + diameters[region]
                    if with_it > count or (with_it == count and summed < total - 1e-9):
                        count, total, chosen = with_it, summed, region
                if sub == 0:
                    break
                sub = (sub - 1) & rest
            best_count[subset], best_diameter[subset], choice[subset] = count, total, chosen
        if best_count[full] <= 0:
            return None
        parts: list[list[int]] = []
        subset = full
        while subset:
            region = choice[subset]
            parts.append([nodes[i] for i in range(size) if region >> i & 1])
            subset ^= region
        return parts

    def _subset_splits(
        self, nodes: list[int], *, need: tuple[float, float], keep: int
    ) -> list[_Split]:
        """All two-region splits of a small set, least diameter sum first (as :meth:`_sweep`)."""
        size = len(nodes)
        weight, diameter, links = self._subset_tables(nodes)
        full = (1 << size) - 1
        masks = np.arange(1, full)
        cost = diameter[masks] + diameter[full ^ masks]
        fits = (weight[masks] >= need[0]) & (weight[full ^ masks] >= need[1])
        masks, cost = masks[fits], cost[fits]
        found: list[_Split] = []
        for k in np.argsort(cost, kind="stable").tolist():
            mask = int(masks[k])
            if self._mask_connected(mask, links) and self._mask_connected(full ^ mask, links):
                one = [nodes[i] for i in range(size) if mask >> i & 1]
                two = [nodes[i] for i in range(size) if not mask >> i & 1]
                found.append((float(cost[k]), one, two))
                if len(found) >= keep:
                    break
        return found

    def _connected(self, members: list[int]) -> bool:
        inside = set(members)
        seen = {members[0]}
        stack = [members[0]]
        while stack:
            unit = stack.pop()
            for nbr, _ in self.links[unit]:
                if nbr in inside and nbr not in seen:
                    seen.add(nbr)
                    stack.append(nbr)
        return len(seen) == len(inside)
