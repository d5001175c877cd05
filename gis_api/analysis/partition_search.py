"""The search behind :func:`gis_api.analysis.partition.partition`: seeds, moves and the driver.

Domain-free, like :mod:`gis_api.analysis.partition`, whose docstring states the problem and
the guarantees; this module holds the moves, which share one mutable :class:`State`:

- :func:`seed_plan`: per connected component, a random spanning tree cut by recursive
  bisection into that component's parts, of balanced weight, locks respected (a cut never
  separates two units locked to one part nor joins units locked to two);
- :func:`improve`: local search to a local optimum of the :class:`Objective` (weight over the
  target tolerance first, then mean Polsby–Popper): boundary *flips* (one unit to an adjacent
  part), *swaps* (two units across one boundary, for fine balance) and *recombination* (two
  adjacent parts merged and re-split along the best cut of a few random spanning trees of
  their union; every cut of a tree is scored exactly, in one pass over the tree);
- :func:`search`: iterated local search from several seeds, each local optimum kicked
  (random flips, or a random recombination) and improved again, the better kept; each start
  ends with a balance polish to tighter and tighter targets. Every local optimum met goes
  into the :class:`Pool` the caller picks plans from.

Every move keeps every part connected and non-empty and never moves a locked unit. Python
lists, not numpy, hold the state: the moves touch a few scalars at a time.

Perimeters: a part's perimeter is the sum of its units' perimeters minus twice the length of
the links inside it (each shared boundary is counted once by each of its two units). Merging
parts ``a`` and ``b`` gives ``P_a + P_b - 2 cut_ab``; splitting a union ``U`` into ``S`` and
``T`` gives ``P_T = P_U - P_S + 2 cut_ST``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "Graph",
    "Objective",
    "Pool",
    "SearchStats",
    "State",
    "canonical",
    "improve",
    "polsby_popper",
    "search",
    "seed_plan",
]

# The weight over the target tolerance outweighs any compactness: lambda in the objective.
_PENALTY = 1e6
# Accept a move only when it improves the objective by more than this.
_GAIN = 1e-12
_FOUR_PI = 4.0 * math.pi
# Spanning trees drawn per recombination of two parts, while improving and when kicking.
_RECOM_TREES = 3
_KICK_TREES = 2
# Seeding: trees tried before giving up on the locks.
_SEED_TRIES = 60
# A kick flips this share of the boundary units (at least 2).
_KICK_SHARE = 0.08
# Swaps: the most promising pairs per boundary checked for contiguity.
_SWAP_TRIES = 8
# The balance polish: weight of the sum of squared excesses beside the largest one, and the
# targets it tightens to in turn, as shares of the tolerance (each stage as compact as it
# can be within its target, so the pool spans balance against compactness).
_BALANCE_SPREAD = 1.0
_POLISH = (0.5, 0.2, 0.05, 0.0)
_POLISH_KICKS = 6


@dataclass
class Graph:
    """The unit graph as lists: neighbours, shared lengths, weights, areas, perimeters, locks.

    ``components`` are the connected components (unit lists) and ``labels`` the parts each
    one is split into (every part in exactly one component); one component holding every
    part when the graph is connected.
    """

    n: int
    k: int
    nbr: list[list[int]]
    length: list[list[float]]
    weight: list[float]
    area: list[float]
    perimeter: list[float]
    lock: list[int]  # part of a locked unit, -1 when free
    ideal: float
    deadline: float
    components: list[list[int]] = field(default_factory=list)
    labels: list[list[int]] = field(default_factory=list)
    lock_total: list[int] = field(default_factory=list)  # locked units per part

    def __post_init__(self) -> None:
        self.lock_total = [0] * self.k
        for p in self.lock:
            if p >= 0:
                self.lock_total[p] += 1
        if not self.components:
            self.components = [list(range(self.n))]
            self.labels = [list(range(self.k))]

    def out_of_time(self) -> bool:
        """Return True once the deadline has passed."""
        return time.perf_counter() > self.deadline


@dataclass
class State:
    """One plan being improved: part per unit and per-part weight, area, perimeter, size."""

    part: list[int]
    W: list[float]
    A: list[float]
    P: list[float]
    size: list[int]

    @classmethod
    def of(cls, g: Graph, part: list[int]) -> State:
        """Return the state of ``part``, its per-part sums computed once."""
        W, A, P, size = [0.0] * g.k, [0.0] * g.k, [0.0] * g.k, [0] * g.k
        for u, p in enumerate(part):
            W[p] += g.weight[u]
            A[p] += g.area[u]
            P[p] += g.perimeter[u]
            size[p] += 1
            for v, d in zip(g.nbr[u], g.length[u], strict=True):
                if part[v] == p:
                    P[p] -= d  # each internal link twice: minus twice its length in all
        return cls(list(part), W, A, P, size)

    def copy(self) -> State:
        """Return an independent copy."""
        return State(self.part[:], self.W[:], self.A[:], self.P[:], self.size[:])

    def assign(self, other: State) -> None:
        """Take ``other``'s plan and sums."""
        self.part, self.W, self.A, self.P, self.size = (
            other.part,
            other.W,
            other.A,
            other.P,
            other.size,
        )

    def move(self, g: Graph, u: int, b: int) -> None:
        """Move unit ``u`` to part ``b``, updating the sums."""
        a = self.part[u]
        s_a = s_b = 0.0
        for v, d in zip(g.nbr[u], g.length[u], strict=True):
            if self.part[v] == a:
                s_a += d
            elif self.part[v] == b:
                s_b += d
        self.W[a] -= g.weight[u]
        self.W[b] += g.weight[u]
        self.A[a] -= g.area[u]
        self.A[b] += g.area[u]
        self.P[a] += 2.0 * s_a - g.perimeter[u]
        self.P[b] += g.perimeter[u] - 2.0 * s_b
        self.size[a] -= 1
        self.size[b] += 1
        self.part[u] = b


@dataclass(frozen=True)
class Objective:
    """``f = PENALTY * (max_p e_p + spread * sum_p e_p^2) - mean_p PP_p``, lower is better.

    ``e_p = max(0, |W_p / ideal - 1| - target)`` is part ``p``'s weight over the target
    tolerance and ``PP_p = 4 pi A_p / P_p^2`` its Polsby–Popper score (at most 1, so the
    penalty outweighs any compactness). The search proper uses ``spread`` 0 and ``target``
    the tolerance: then plans within it compare by compactness alone, and the objective is
    the one :mod:`gis_api.analysis.partition` states, for plans out of tolerance too. The
    balance polish uses ``target`` 0 and ``spread`` > 0: it minimizes the deviation itself,
    and the sum of squares lets weight flow through parts that are not the worst (two parts
    over the ideal evening out lowers it), so chains of flips and recombinations even out
    every part; compactness only breaks ties.
    """

    ideal: float
    target: float
    k: int
    spread: float = 0.0

    def excess(self, w: float) -> float:
        """Part weight ``w``'s relative deviation over the target."""
        return max(0.0, abs(w / self.ideal - 1.0) - self.target)

    def value(self, W: Sequence[float], A: Sequence[float], P: Sequence[float]) -> float:
        """Return the objective of per-part weights, areas and perimeters."""
        top = squares = pp = 0.0
        for w, a, p in zip(W, A, P, strict=True):
            e = self.excess(w)
            top = max(top, e)
            squares += e * e
            pp += polsby_popper(a, p)
        return _PENALTY * (top + self.spread * squares) - pp / self.k

    def of(self, st: State) -> float:
        """Return the objective of a state."""
        return self.value(st.W, st.A, st.P)

    def rest(
        self, W: Sequence[float], A: Sequence[float], P: Sequence[float], a: int, b: int
    ) -> tuple[float, float, float]:
        """Return the largest excess, summed squared excesses and summed PP but of ``a``, ``b``."""
        top = squares = pp = 0.0
        for q in range(self.k):
            if q in (a, b):
                continue
            e = self.excess(W[q])
            top = max(top, e)
            squares += e * e
            pp += polsby_popper(A[q], P[q])
        return top, squares, pp

    def pair(
        self,
        rest: tuple[float, float, float],
        one: tuple[float, float, float],
        two: tuple[float, float, float],
    ) -> float:
        """Return the objective with two parts ``(weight, area, perimeter)`` as given.

        The other parts are as :meth:`rest` summed them: the same value as :meth:`value`, a
        few times faster.
        """
        top, squares, pp = rest
        e1 = abs(one[0] / self.ideal - 1.0) - self.target
        e2 = abs(two[0] / self.ideal - 1.0) - self.target
        e1 = e1 if e1 > 0.0 else 0.0
        e2 = e2 if e2 > 0.0 else 0.0
        top = e1 if e1 > top else top
        top = e2 if e2 > top else top
        q1 = _FOUR_PI * one[1] / (one[2] * one[2]) if one[2] > 0.0 else 0.0
        q2 = _FOUR_PI * two[1] / (two[2] * two[2]) if two[2] > 0.0 else 0.0
        pp += (q1 if q1 < 1.0 else 1.0) + (q2 if q2 < 1.0 else 1.0)
        return _PENALTY * (top + self.spread * (squares + e1 * e1 + e2 * e2)) - pp / self.k


def polsby_popper(area: float, perimeter: float) -> float:
    """``4 pi A / P^2``, 0 for a part without perimeter, at most 1.

    >>> round(polsby_popper(1.0, 4.0), 6) == round(math.pi / 4, 6)
    True
    """
    if perimeter <= 0.0:
        return 0.0
    return min(1.0, 4.0 * math.pi * area / (perimeter * perimeter))


# --- contiguity -------------------------------------------------------------------------------


def removable(g: Graph, part: list[int], u: int) -> bool:
    """Return True when part ``part[u]`` stays connected (and non-empty) without ``u``."""
    a = part[u]
    starts = [v for v in g.nbr[u] if part[v] == a]
    if len(starts) <= 1:
        return len(starts) == 1
    targets = set(starts[1:])
    seen = {u, starts[0]}
    stack = [starts[0]]
    while stack:
        x = stack.pop()
        for y in g.nbr[x]:
            if y not in seen and part[y] == a:
                seen.add(y)
                if y in targets:
                    targets.discard(y)
                    if not targets:
                        return True
                stack.append(y)
    return False


def connected(g: Graph, members: Sequence[int], inside: Sequence[bool]) -> bool:
    """Return True when ``members`` (all ``x`` with ``inside[x]``) are connected together."""
    if not members:
        return False
    seen = {members[0]}
    stack = [members[0]]
    while stack:
        x = stack.pop()
        for y in g.nbr[x]:
            if y not in seen and inside[y]:
                seen.add(y)
                stack.append(y)
    return len(seen) == len(members)


# --- spanning trees and seeds -----------------------------------------------------------------


def random_tree(
    g: Graph, nodes: Sequence[int], member: dict[int, int], rng: random.Random, compact: bool
) -> list[list[int]]:
    """Tree neighbours (local indices) of a random spanning tree of ``nodes`` (Kruskal).

    Link keys are uniform random numbers, or random numbers over the shared length with
    ``compact`` (long shared boundaries stay inside a part). Assumes ``nodes`` connected.
    """
    edges: list[tuple[float, int, int]] = []
    for i, u in enumerate(nodes):
        for v, d in zip(g.nbr[u], g.length[u], strict=True):
            j = member.get(v, -1)
            if j > i:
                key = rng.random()
                edges.append((key / (d + 1e-9) if compact else key, i, j))
    edges.sort()
    root = list(range(len(nodes)))

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    tree: list[list[int]] = [[] for _ in nodes]
    joined = 0
    for _, i, j in edges:
        ri, rj = find(i), find(j)
        if ri != rj:
            root[ri] = rj
            tree[i].append(j)
            tree[j].append(i)
            joined += 1
            if joined == len(nodes) - 1:
                break
    return tree


def _rooted(tree: list[list[int]], root: int) -> tuple[list[int], list[int]]:
    """BFS order and parent (-1 at the root) of a tree given by neighbour lists."""
    order = [root]
    parent = [-2] * len(tree)
    parent[root] = -1
    for x in order:
        for y in tree[x]:
            if parent[y] == -2:
                parent[y] = x
                order.append(y)
    return order, parent


def _subtree(order: list[int], parent: list[int], top: int, m: int) -> list[bool]:
    """Membership of the subtree under ``top`` (BFS ``order``: parents before children)."""
    in_sub = [False] * m
    in_sub[top] = True
    for x in order:
        if x != top and parent[x] >= 0 and in_sub[parent[x]]:
            in_sub[x] = True
    return in_sub


@dataclass
class _Cut:
    node: int  # local index of the subtree's top node
    to_first: int  # how many of the labels go to the subtree
    error: float


def _split(
    g: Graph,
    nodes: list[int],
    labels: list[int],
    rng: random.Random,
    *,
    compact: bool,
    out: list[int],
) -> bool:
    """Cut ``nodes`` into ``len(labels)`` parts along one random tree; write them to ``out``.

    ``nodes`` must be connected and hold every locked unit of each label in ``labels`` and
    no locked unit of another label.
    """
    if len(labels) == 1:
        for u in nodes:
            out[u] = labels[0]
        return True
    member = {u: i for i, u in enumerate(nodes)}
    tree = random_tree(g, nodes, member, rng, compact)
    order, parent = _rooted(tree, rng.randrange(len(nodes)))
    locked_here = [p for p in labels if g.lock_total[p] > 0]
    free = [p for p in labels if g.lock_total[p] == 0]
    m = len(nodes)
    sub_w = [g.weight[u] for u in nodes]
    sub_n = [1] * m
    counts = [[1 if g.lock[u] == p else 0 for p in locked_here] for u in nodes]
    for x in reversed(order[1:]):
        up = parent[x]
        sub_w[up] += sub_w[x]
        sub_n[up] += sub_n[x]
        if locked_here:
            counts[up] = [a + b for a, b in zip(counts[up], counts[x], strict=True)]
    j = len(labels)
    share = sub_w[order[0]] / j
    cuts: list[_Cut] = []
    for x in order[1:]:
        inside = sum(1 for i, c in enumerate(counts[x]) if c == g.lock_total[locked_here[i]])
        outside = sum(1 for c in counts[x] if c == 0)
        if inside + outside < len(locked_here):
            continue  # a part's locked units on both sides
        # The subtree takes t labels: its locked ones and some free ones; the rest takes the
        # others, at least one; each side has at least as many units as labels.
        lo = max(1, inside, j - (m - sub_n[x]))
        hi = min(j - max(1, outside), sub_n[x], inside + len(free))
        for t in range(lo, hi + 1):
            err = abs(sub_w[x] - t * share) / max(share, 1e-12)
            cuts.append(_Cut(x, t, err + 0.02 * abs(t - j / 2) / j))
    if not cuts:
        return False
    best = min(c.error for c in cuts)
    near = [c for c in cuts if c.error <= best + 1e-9]
    cut = near[rng.randrange(len(near))]
    in_sub = _subtree(order, parent, cut.node, m)
    first = [nodes[i] for i in order if in_sub[i]]
    second = [nodes[i] for i in order if not in_sub[i]]
    inside_labels = [
        locked_here[i] for i, c in enumerate(counts[cut.node]) if c == g.lock_total[locked_here[i]]
    ]
    outside_labels = [p for p in locked_here if p not in inside_labels]
    n_free_first = cut.to_first - len(inside_labels)
    labels_first = inside_labels + free[:n_free_first]
    labels_second = outside_labels + free[n_free_first:]
    return _split(g, first, labels_first, rng, compact=compact, out=out) and _split(
        g, second, labels_second, rng, compact=compact, out=out
    )


def seed_plan(g: Graph, rng: random.Random, compact: bool) -> State | None:
    """Return a plan of random spanning trees cut by recursive bisection (None: locks unmet)."""
    out = [-1] * g.n
    for nodes, labels in zip(g.components, g.labels, strict=True):
        for _ in range(_SEED_TRIES):
            if _split(g, list(nodes), list(labels), rng, compact=compact, out=out):
                break
            if g.out_of_time():
                return None
        else:
            return None
    return State.of(g, out)


# --- moves --------------------------------------------------------------------------------------


def _shared_by_part(g: Graph, part: list[int], u: int) -> dict[int, float]:
    shared: dict[int, float] = {}
    for v, d in zip(g.nbr[u], g.length[u], strict=True):
        p = part[v]
        shared[p] = shared.get(p, 0.0) + d
    return shared


def flip_pass(g: Graph, st: State, obj: Objective, order: list[int]) -> bool:
    """One pass of first-improvement boundary flips over ``order``; True if one was made."""
    changed = False
    f = obj.of(st)
    W, A, P = st.W, st.A, st.P
    for u in order:
        if g.lock[u] >= 0:
            continue
        a = st.part[u]
        if st.size[a] == 1:
            continue
        shared = _shared_by_part(g, st.part, u)
        if len(shared) == 1 and a in shared:
            continue
        s_a = shared.get(a, 0.0)
        wu, au, pu = g.weight[u], g.area[u], g.perimeter[u]
        best_b, best_f = -1, f - _GAIN
        for b, s_b in shared.items():
            if b == a:
                continue
            nf = obj.pair(
                obj.rest(W, A, P, a, b),
                (W[a] - wu, A[a] - au, P[a] + 2.0 * s_a - pu),
                (W[b] + wu, A[b] + au, P[b] + pu - 2.0 * s_b),
            )
            if nf < best_f:
                best_b, best_f = b, nf
        if best_b >= 0 and removable(g, st.part, u):
            st.move(g, u, best_b)
            f = best_f
            changed = True
    return changed


def _boundary(g: Graph, part: list[int], a: int, b: int) -> list[int]:
    """Free units of part ``a`` with a neighbour in part ``b``."""
    return [
        u
        for u in range(g.n)
        if part[u] == a and g.lock[u] < 0 and any(part[v] == b for v in g.nbr[u])
    ]


def _both_connected(g: Graph, part: list[int], a: int, b: int) -> bool:
    for p in (a, b):
        members = [u for u in range(g.n) if part[u] == p]
        inside = [q == p for q in part]
        if not connected(g, members, inside):
            return False
    return True


def swap_pass(g: Graph, st: State, obj: Objective, pairs: list[tuple[int, int]]) -> bool:
    """Exchange a unit of ``a`` and one of ``b`` across their boundary when that improves."""
    changed = False
    for a, b in pairs:
        f = obj.of(st)
        ua, ub = _boundary(g, st.part, a, b), _boundary(g, st.part, b, a)
        if not ua or not ub:
            continue
        tries: list[tuple[float, int, int]] = []
        rest = obj.rest(st.W, st.A, st.P, a, b)
        wa, aa, pa, wb, ab, pb = st.W[a], st.A[a], st.P[a], st.W[b], st.A[b], st.P[b]
        for u in ua:
            for v in ub:
                delta = g.weight[v] - g.weight[u]
                # balance only (areas and perimeters as now); checked in full below
                nf = obj.pair(rest, (wa + delta, aa, pa), (wb - delta, ab, pb))
                if nf < f - _GAIN:
                    tries.append((nf, u, v))
        tries.sort()
        for _, u, v in tries[:_SWAP_TRIES]:
            part = st.part[:]
            part[u], part[v] = b, a
            if not _both_connected(g, part, a, b):
                continue
            trial = State.of(g, part)
            if obj.of(trial) < f - _GAIN:
                st.assign(trial)
                changed = True
                break
    return changed


def adjacent_pairs(g: Graph, part: list[int]) -> list[tuple[int, int]]:
    """Pairs ``(a, b)``, ``a < b``, of parts that share a boundary, sorted."""
    pairs: set[tuple[int, int]] = set()
    for u in range(g.n):
        a = part[u]
        for v in g.nbr[u]:
            b = part[v]
            if a < b:
                pairs.add((a, b))
    return sorted(pairs)


def _shared_between(
    g: Graph, part: list[int], nodes: list[int], a: int, b: int
) -> tuple[bool, float]:
    """Whether parts ``a`` and ``b`` touch, and their shared length (each link once)."""
    touch, total = False, 0.0
    for u in nodes:
        if part[u] == a:
            for v, d in zip(g.nbr[u], g.length[u], strict=True):
                if part[v] == b:
                    touch = True
                    total += d
    return touch, total


@dataclass
class _Union:
    """Two adjacent parts merged: their units (local indices) and what a cut needs of them."""

    a: int
    b: int
    nodes: list[int]
    member: dict[int, int]
    links: list[list[tuple[int, float]]]  # links i -> j > i inside the union
    deg: list[float]  # shared length of each unit with the rest of the union
    w: list[float]
    ar: list[float]
    pe: list[float]
    lock_a: list[int]
    lock_b: list[int]
    perimeter: float
    rest: tuple[float, float, float]

    @classmethod
    def of(cls, g: Graph, st: State, obj: Objective, a: int, b: int) -> _Union | None:
        """Return the union of parts ``a`` and ``b``, or None when they do not touch."""
        nodes = [u for u in range(g.n) if st.part[u] in (a, b)]
        touch, cut_ab = _shared_between(g, st.part, nodes, a, b)
        if not touch:
            return None
        member = {u: i for i, u in enumerate(nodes)}
        links: list[list[tuple[int, float]]] = [[] for _ in nodes]
        deg = [0.0] * len(nodes)
        for i, u in enumerate(nodes):
            for v, d in zip(g.nbr[u], g.length[u], strict=True):
                j = member.get(v, -1)
                if j >= 0:
                    deg[i] += d
                    if j > i:
                        links[i].append((j, d))
        return cls(
            a=a,
            b=b,
            nodes=nodes,
            member=member,
            links=links,
            deg=deg,
            w=[g.weight[u] for u in nodes],
            ar=[g.area[u] for u in nodes],
            pe=[g.perimeter[u] for u in nodes],
            lock_a=[1 if g.lock[u] == a else 0 for u in nodes],
            lock_b=[1 if g.lock[u] == b else 0 for u in nodes],
            perimeter=st.P[a] + st.P[b] - 2.0 * cut_ab,
            rest=obj.rest(st.W, st.A, st.P, a, b),
        )


def _inner_lengths(un: _Union, order: list[int], parent: list[int]) -> list[float]:
    """Return, per tree node, the length of the links whose ends' lowest common ancestor it is."""
    m = len(un.nodes)
    depth = [0] * m
    for x in order[1:]:
        depth[x] = depth[parent[x]] + 1
    inner = [0.0] * m
    for i in range(m):
        for j, d in un.links[i]:
            x, y = i, j
            while depth[x] > depth[y]:
                x = parent[x]
            while depth[y] > depth[x]:
                y = parent[y]
            while x != y:
                x, y = parent[x], parent[y]
            inner[x] += d
    return inner


def _best_cut(
    g: Graph, un: _Union, obj: Objective, order: list[int], parent: list[int]
) -> tuple[float, int, int]:
    """Return the best cut of one rooted tree: (objective, subtree top, the subtree's part).

    One bottom-up pass sums each subtree's weight, area, perimeters, shared lengths, lock
    counts and inner links (counted at their lowest common ancestor): a subtree's perimeter
    is its units' perimeters minus twice its inner links, its cut the shared lengths minus
    twice the same. ``(inf, -1, -1)`` when no cut keeps the locks.
    """
    inner = _inner_lengths(un, order, parent)
    sw, sa, sp, sd = un.w[:], un.ar[:], un.pe[:], un.deg[:]
    la, lb = un.lock_a[:], un.lock_b[:]
    for x in reversed(order[1:]):
        up = parent[x]
        sw[up] += sw[x]
        sa[up] += sa[x]
        sp[up] += sp[x]
        sd[up] += sd[x]
        inner[up] += inner[x]
        la[up] += la[x]
        lb[up] += lb[x]
    root = order[0]
    total_w, total_a = sw[root], sa[root]
    need_a, need_b = g.lock_total[un.a], g.lock_total[un.b]
    best = (math.inf, -1, -1)
    for x in order[1:]:
        # The subtree becomes ``a`` when it holds all of a's locks and none of b's, ``b``
        # the other way round; without locks either way gives the same value.
        if la[x] == need_a and lb[x] == 0:
            first = un.a
        elif lb[x] == need_b and la[x] == 0:
            first = un.b
        else:
            continue
        p_sub = sp[x] - 2.0 * inner[x]
        p_rest = un.perimeter - p_sub + 2.0 * (sd[x] - 2.0 * inner[x])
        val = obj.pair(un.rest, (sw[x], sa[x], p_sub), (total_w - sw[x], total_a - sa[x], p_rest))
        if val < best[0]:
            best = (val, x, first)
    return best


def recombine(
    g: Graph,
    st: State,
    obj: Objective,
    pair: tuple[int, int],
    rng: random.Random,
    *,
    trees: int,
    improve_only: bool,
) -> bool:
    """Merge the two parts of ``pair`` and re-split them along the best cut of random trees.

    Every edge of every tree is a candidate cut, scored exactly (:func:`_best_cut`). With
    ``improve_only`` the best split is kept only when it lowers the objective; otherwise (a
    kick) it is kept whatever its value, unless it is the same split.
    """
    a, b = pair
    un = _Union.of(g, st, obj, a, b)
    if un is None:
        return False  # no longer adjacent (an earlier move of the same pass changed them)
    m = len(un.nodes)
    best_val, best_set, best_first = math.inf, None, a
    for _ in range(trees):
        tree = random_tree(g, un.nodes, un.member, rng, compact=rng.random() < 0.5)
        order, parent = _rooted(tree, rng.randrange(m))
        val, top, first = _best_cut(g, un, obj, order, parent)
        if val < best_val:
            best_val, best_set, best_first = val, (order, parent, top), first
    if best_set is None or (improve_only and best_val >= obj.of(st) - _GAIN):
        return False
    in_sub = _subtree(best_set[0], best_set[1], best_set[2], m)
    second = b if best_first == a else a
    new_part = st.part[:]
    for i, u in enumerate(un.nodes):
        new_part[u] = best_first if in_sub[i] else second
    if new_part == st.part:
        return False
    st.assign(State.of(g, new_part))
    return True


def kick(g: Graph, st: State, obj: Objective, rng: random.Random) -> None:
    """Perturb a local optimum: a random recombination (k > 2, half the time) or random flips."""
    pairs = adjacent_pairs(g, st.part)
    if g.k > 2 and pairs and rng.random() < 0.5:
        recombine(
            g, st, obj, pairs[rng.randrange(len(pairs))], rng, trees=_KICK_TREES, improve_only=False
        )
        return
    _flip_kick(g, st, rng)


def _flip_kick(g: Graph, st: State, rng: random.Random) -> None:
    """Move a few random boundary units (``_KICK_SHARE`` of them) to a random adjacent part."""
    boundary = [
        u for u in range(g.n) if g.lock[u] < 0 and any(st.part[v] != st.part[u] for v in g.nbr[u])
    ]
    flips = max(2, round(_KICK_SHARE * len(boundary)))
    rng.shuffle(boundary)
    done = 0
    for u in boundary:
        if done >= flips:
            break
        a = st.part[u]
        targets = sorted({st.part[v] for v in g.nbr[u]} - {a})
        if not targets or st.size[a] == 1 or not removable(g, st.part, u):
            continue
        st.move(g, u, targets[rng.randrange(len(targets))])
        done += 1


def improve(
    g: Graph, st: State, obj: Objective, rng: random.Random, *, swaps: bool = False
) -> None:
    """Local search to a local optimum of ``obj``: flips, then swaps, then recombinations."""
    order = list(range(g.n))
    while not g.out_of_time():
        rng.shuffle(order)
        if flip_pass(g, st, obj, order):
            continue
        pairs = adjacent_pairs(g, st.part)
        if swaps and swap_pass(g, st, obj, pairs):
            continue
        changed = False
        for a, b in pairs:
            if g.out_of_time():
                return
            changed |= recombine(g, st, obj, (a, b), rng, trees=_RECOM_TREES, improve_only=True)
        if not changed:
            return


# --- the pool and the driver --------------------------------------------------------------------


def canonical(part: Sequence[int], lock_total: Sequence[int]) -> tuple[int, ...]:
    """Labels renumbered so that equal plans read equal: free parts by their first unit.

    Parts holding locked units keep their label; the other labels are given, in increasing
    order, to the free parts in the order of their lowest unit.

    >>> canonical([2, 2, 0, 1], [0, 0, 0])
    (0, 0, 1, 2)
    """
    free = [p for p, c in enumerate(lock_total) if c == 0]
    if not free:
        return tuple(part)
    mapping: dict[int, int] = {p: p for p, c in enumerate(lock_total) if c > 0}
    nxt = iter(free)
    out = []
    for p in part:
        if p not in mapping:
            mapping[p] = next(nxt)
        out.append(mapping[p])
    return tuple(out)


@dataclass
class Pool:
    """Distinct plans met (canonical labels), in the order first met."""

    plans: dict[tuple[int, ...], None] = field(default_factory=dict)

    def add(self, g: Graph, st: State) -> None:
        """Add a plan (once)."""
        self.plans.setdefault(canonical(st.part, g.lock_total), None)


@dataclass
class SearchStats:
    """What the driver did: starts and kicks run, seeds that failed, whether time ran out."""

    starts: int = 0
    kicks: int = 0
    timed_out: bool = False
    seed_failures: int = 0


def search(
    g: Graph, tolerance: float, rng: random.Random, *, starts: int, kicks: int
) -> tuple[Pool, SearchStats]:
    """Run iterated local search from ``starts`` seeds, ``kicks`` kicks each; pool the optima.

    The kicked plan replaces the current one when it is at least as good (so the walk may
    drift along plateaus). Each start ends with a polish of its best plan for balance, swaps
    on, to tighter and tighter targets (half the tolerance, a fifth, a twentieth, 0), each
    stage pooled: the pool's most balanced plans, each as compact as its target allows.
    """
    pool = Pool()
    stats = SearchStats()
    compact = Objective(g.ideal, tolerance, g.k)
    for s in range(starts):
        if s > 0 and g.out_of_time():
            break  # the first start always runs: a plan, however short the budget
        st = seed_plan(g, rng, compact=s % 2 == 0)
        if st is None:
            stats.seed_failures += 1
            continue
        stats.starts += 1
        improve(g, st, compact, rng)
        pool.add(g, st)
        cur, f_cur = st, compact.of(st)
        for _ in range(kicks):
            if g.out_of_time():
                break
            nxt = cur.copy()
            kick(g, nxt, compact, rng)
            improve(g, nxt, compact, rng)
            pool.add(g, nxt)
            stats.kicks += 1
            f_nxt = compact.of(nxt)
            if f_nxt <= f_cur:
                cur, f_cur = nxt, f_nxt
        _polish(g, cur.copy(), tolerance, rng, pool)
    stats.timed_out = g.out_of_time()
    return pool, stats


def _polish(g: Graph, st: State, tolerance: float, rng: random.Random, pool: Pool) -> None:
    """Polish a plan for balance to tighter and tighter targets, pooling every stage.

    The last stage (target 0) is itself iterated: ``_POLISH_KICKS`` kicks of random
    boundary flips, each improved again and kept when more balanced.
    """
    target = Objective(g.ideal, 0.0, g.k, spread=_BALANCE_SPREAD)
    for share in _POLISH:
        if g.out_of_time():
            return
        target = Objective(g.ideal, share * tolerance, g.k, spread=_BALANCE_SPREAD)
        improve(g, st, target, rng, swaps=True)
        pool.add(g, st)
    f_cur = target.of(st)
    for _ in range(_POLISH_KICKS):
        if g.out_of_time():
            return
        nxt = st.copy()
        _flip_kick(g, nxt, rng)
        improve(g, nxt, target, rng, swaps=True)
        f_nxt = target.of(nxt)
        if f_nxt < f_cur:
            st, f_cur = nxt, f_nxt
            pool.add(g, st)
