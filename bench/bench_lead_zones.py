"""Building-lead zones on a generated district: ours against PySAL spopt's max-p heuristic.

``python -m bench.bench_lead_zones [--buildings 10000] [--repeat 3]``

One district from ``layers.synth.generate_city`` as bench/cities.py readies it: projected to
UTM; each building's compound from the compound polygons; the neighbour graph walked on the
network (``layers.network.build_network`` with walls and gates, then
:func:`gis_api.analysis.lead_zones.neighbour_graph_walking`: snapped buildings, Dijkstra with
a limit of ``max_walk_m``), or straight lines x 1.3 with ``--graph euclidean``.

Both solvers get the same problem: the buildings that do not get their own lead, linked by
the allowed links (walk <= ``max_walk_m`` within one compound), zone weight = occupied
households, threshold 50. spopt's ``MaxPHeuristic`` cannot take a component that cannot
reach the threshold nor a lone building that reaches it alone, so those are set aside for
both: the first go to rotating leads, the second are one zone each. spopt minimizes the
spread of its ``attrs``; we give it the buildings' x, y so it aims at compact zones too.
Diameters (longest shortest walk between two members along allowed links) are computed here,
independently of either solver, and the same way for both. spopt runs in a child process
with a time cap (``--spopt-cap-s``); it is also run on smaller districts (``--spopt-sizes``)
where it finishes.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import multiprocessing as mp
import os
import statistics
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

import geopandas as gpd

from bench import cities
from gis_api.analysis.lead_zones import (
    DEFAULT_MAX_WALK_M,
    group_buildings,
    lead_zones,
    neighbour_graph_euclidean,
    neighbour_graph_walking,
)

THRESHOLD = 50.0
MIN_OCCUPANCY = 0.5
EXACT_MAX = 13


@dataclass
class District:
    buildings: gpd.GeoDataFrame
    walk: Any  # CSR walking metres
    seconds: dict[str, float]


def make_district(n: int, graph: str, max_walk_m: float) -> District:
    """Generate, project, attach compounds and build the neighbour graph."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    city = cities.generate(n)
    seconds["generate_city"] = time.perf_counter() - t
    t = time.perf_counter()
    b = city.buildings
    seconds["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    if graph == "walking":
        ng = neighbour_graph_walking(b, city.graph(), max_walk_m)
    else:
        ng = neighbour_graph_euclidean(b, max_walk_m)
    seconds["neighbour_graph"] = time.perf_counter() - t
    return District(b, ng.walk_m, seconds)


def figures(b: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    h = b["households"].to_numpy(dtype=np.int64)
    occ = b["occupancy"].to_numpy(dtype=np.float64)
    party = (b["party_members"] + b["mobile_party_members"]).to_numpy(dtype=np.int64)
    comp = pd.factorize(b["compound"])[0].astype(np.int64)
    return h, occ, party, comp


def allowed(walk: Any, comp: np.ndarray, max_walk_m: float) -> Any:
    """Allowed links, computed here independently: symmetric, within max walk, one compound."""
    c = coo_matrix(walk)
    pairs = pd.DataFrame(
        {
            "i": np.concatenate([c.row, c.col]),
            "j": np.concatenate([c.col, c.row]),
            "d": np.concatenate([c.data, c.data]),
        }
    )
    pairs = pairs[(pairs.i != pairs.j) & (pairs.d <= max_walk_m)]
    pairs = pairs[comp[pairs.i.to_numpy()] == comp[pairs.j.to_numpy()]]
    pairs = pairs.groupby(["i", "j"], as_index=False)["d"].min()
    n = walk.shape[0]
    # +1 so that a zero walk stays a stored link through the COO -> CSR conversion.
    g = csr_matrix(
        (pairs.d.to_numpy() + 1.0, (pairs.i.to_numpy(), pairs.j.to_numpy())), shape=(n, n)
    )
    g.data -= 1.0
    return g


def diameters(g: Any, labels: np.ndarray) -> np.ndarray:
    """Longest shortest walk between two members of each zone (labels >= 0)."""
    ncomp, comp = connected_components(g, directed=False)
    out = []
    zones = np.unique(labels[labels >= 0])
    order = np.argsort(comp, kind="stable")
    ptr = np.searchsorted(comp[order], np.arange(ncomp + 1))
    blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for z in zones.tolist():
        members = np.flatnonzero(labels == z)
        if len(members) == 1:
            out.append(0.0)
            continue
        c = int(comp[members[0]])
        if c not in blocks:
            idx = order[ptr[c] : ptr[c + 1]]
            blocks[c] = (idx, dijkstra(g[idx][:, idx], directed=False))
        idx, dist = blocks[c]
        loc = np.searchsorted(idx, members)  # a stable sort keeps each component ascending
        out.append(float(dist[np.ix_(loc, loc)].max()))
    return np.asarray(out)


def exact_max_p(w: list[float], links: list[int], threshold: float) -> int:
    """Most zones of a small component, by dynamic programming over subsets (3^m steps).

    ``links[i]`` is the bit mask of member ``i``'s neighbours. Written apart from the solver
    so that it checks it: best(S) = max over connected Z in S holding S's lowest member,
    with weight(Z) >= threshold, of 1 + best(S - Z).
    """
    m = len(w)
    full = (1 << m) - 1
    weight = [0.0] * (full + 1)
    ok = [False] * (full + 1)
    for mask in range(1, full + 1):
        low = mask & -mask
        weight[mask] = weight[mask ^ low] + w[low.bit_length() - 1]
        seen, todo = low, low
        while todo:
            bit = todo & -todo
            todo ^= bit
            new = links[bit.bit_length() - 1] & mask & ~seen
            seen |= new
            todo |= new
        ok[mask] = seen == mask and weight[mask] >= threshold - 1e-9
    best = [-1] * (full + 1)
    best[0] = 0
    for S in range(1, full + 1):
        low = S & -S
        rest = S ^ low
        sub = rest
        while True:
            z = low | sub
            if ok[z] and best[S ^ z] >= 0:
                best[S] = max(best[S], best[S ^ z] + 1)
            if sub == 0:
                break
            sub = (sub - 1) & rest
    return best[full]


def check_exact(
    g: Any, w: np.ndarray, small: np.ndarray, shared_zone: np.ndarray, max_m: int
) -> tuple[int, int]:
    """Components of up to ``max_m`` small buildings where ours is below floor(W/50): how
    many, and in how many ours equals the exact optimum."""
    sub = g[small][:, small].tocsr()
    _, lab = connected_components(sub, directed=False)
    checked = optimal = 0
    for c in np.unique(lab).tolist():
        loc = np.flatnonzero(lab == c)
        idx = small[loc]
        total = float(w[idx].sum())
        ours = len(np.unique(shared_zone[idx][shared_zone[idx] >= 0]))
        if total < THRESHOLD or len(idx) > max_m or ours >= int(total // THRESHOLD):
            continue
        pos = {int(v): i for i, v in enumerate(loc.tolist())}
        links = [0] * len(loc)
        for i, r in enumerate(loc.tolist()):
            for x in sub.indices[sub.indptr[r] : sub.indptr[r + 1]].tolist():
                if x in pos:
                    links[i] |= 1 << pos[x]
        checked += 1
        optimal += exact_max_p(w[idx].tolist(), links, THRESHOLD) == ours
    return checked, optimal


@dataclass
class Problem:
    """The small buildings both solvers group, and what is set aside for both."""

    idx: np.ndarray  # buildings given to spopt: feasible components of 2+ buildings
    weight: np.ndarray
    alone: int  # lone buildings reaching the threshold alone: one zone each
    rotating: int  # buildings in components below the threshold


def problem(h: np.ndarray, occ: np.ndarray, g: Any) -> Problem:
    w = h * occ
    small = np.flatnonzero(~((h >= THRESHOLD) & (occ >= MIN_OCCUPANCY)))
    sub = g[small][:, small]
    _, lab = connected_components(sub, directed=False)
    total = np.bincount(lab, weights=w[small])
    size = np.bincount(lab)
    feasible = total >= THRESHOLD - 1e-9
    keep = feasible[lab] & (size[lab] > 1)
    alone = int((feasible & (size == 1)).sum())
    rotating = int((~feasible[lab]).sum())
    return Problem(small[keep], w, alone, rotating)


def _spopt_child(
    queue: Any, xy: np.ndarray, weight: np.ndarray, neighbours: dict[int, list[int]]
) -> None:
    warnings.filterwarnings("ignore")
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    np.random.seed(0)
    gdf = gpd.GeoDataFrame(
        {"x": xy[:, 0], "y": xy[:, 1], "w": weight},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
    )
    t, c = time.perf_counter(), time.process_time()
    model = MaxPHeuristic(
        gdf, W(neighbours, silence_warnings=True), ["x", "y"], "w", THRESHOLD, policy="keep"
    )
    model.solve()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    queue.put((wall, cpu, np.asarray(model.labels_, dtype=np.int64)))


def run_spopt(
    b: gpd.GeoDataFrame, g: Any, prob: Problem, cap_s: float
) -> tuple[float, float, np.ndarray | None]:
    idx = prob.idx
    sub = g[idx][:, idx].tocsr()
    neighbours = {
        i: sub.indices[sub.indptr[i] : sub.indptr[i + 1]].tolist() for i in range(len(idx))
    }
    pts = b.geometry.iloc[idx].representative_point()
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_spopt_child, args=(queue, xy, prob.weight[idx], neighbours))
    t = time.perf_counter()
    proc.start()
    proc.join(cap_s)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return time.perf_counter() - t, math.nan, None
    if proc.exitcode != 0 or queue.empty():
        msg = f"spopt failed in its child process (exit code {proc.exitcode})"
        raise RuntimeError(msg)
    wall, cpu, labels = queue.get()
    full = np.full(len(b), -1, dtype=np.int64)
    full[idx] = labels
    return wall, cpu, full


def line(name: str, wall: str, cpu: str, *, zones: int, rotating: int, diam: np.ndarray) -> str:
    mean = f"{diam.mean():.1f}" if len(diam) else "-"
    p90 = f"{np.percentile(diam, 90):.1f}" if len(diam) else "-"
    return f"| {name} | {wall} | {cpu} | {zones} | {rotating} | {mean} | {p90} |"


def bench(
    n: int, *, repeat: int, graph: str, max_walk_m: float, spopt_cap_s: float, adapter: bool
) -> None:
    d = make_district(n, graph, max_walk_m)
    b = d.buildings
    h, occ, party, comp = figures(b)
    g = allowed(d.walk, comp, max_walk_m)
    prob = problem(h, occ, g)
    own = (h >= THRESHOLD) & (occ >= MIN_OCCUPANCY)
    print(
        f"\n### {len(b):,} buildings\n\n{b['compound'].nunique()} compounds, "
        f"{int(own.sum())} own-lead buildings; {graph} neighbour graph <= {max_walk_m:g} m: "
        f"{d.walk.nnz / len(b):.1f} links per building. Set-up: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in d.seconds.items())
        + f". Load average before: {os.getloadavg()[0]:.2f}.\n"
    )
    times: list[float] = []
    cpu: list[float] = []
    result = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = group_buildings(h, occ, party, comp, d.walk, max_walk_m=max_walk_m)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    assert result is not None
    s = result.stats
    shared = np.asarray(result.zone_kind) == "shared"
    ours_labels = np.where(shared[result.zone], result.zone, -1)
    checked, optimal = check_exact(g, h * occ, np.flatnonzero(~own), ours_labels, EXACT_MAX)
    print(
        "| solver | wall s | CPU s | shared zones | rotating buildings | mean diam m | p90 diam m |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        line(
            "ours, `group_buildings`",
            f"{statistics.median(times):.2f}",
            f"{statistics.median(cpu):.2f}",
            zones=int(shared.sum()),
            rotating=s.rotating_buildings,
            diam=diameters(g, ours_labels),
        )
    )
    if spopt_cap_s > 0 and importlib.util.find_spec("spopt") is None:
        print("| spopt `MaxPHeuristic` | not installed (`pip install spopt`) | | | | | |")
    elif spopt_cap_s > 0:
        wall, sp_cpu, labels = run_spopt(b, g, prob, spopt_cap_s)
        if labels is None:
            print(f"| spopt `MaxPHeuristic` | > {spopt_cap_s:.0f} (cap) | - | - | - | - | - |")
        else:
            sp_diam = np.concatenate([diameters(g, labels), np.zeros(prob.alone)])
            print(
                line(
                    "spopt `MaxPHeuristic`",
                    f"{wall:.2f}",
                    f"{sp_cpu:.2f}",
                    zones=len(np.unique(labels[labels >= 0])) + prob.alone,
                    rotating=prob.rotating,
                    diam=sp_diam,
                )
            )
    print(
        f"\nUpper bounds on shared zones: sum floor(W/50) = {s.upper_bound}; bin covering "
        f"(contiguity ignored) = {s.bin_bound}; ours reaches the bin-covering bound in "
        f"{s.components_at_bound} of {s.feasible_components} components that hold a zone. "
        f"Components of <= {EXACT_MAX} buildings below sum floor(W/50): {checked}; ours "
        f"equals the exact optimum (subset DP) in {optimal}. Ours: median of {repeat} runs "
        f"(min {min(times):.2f} s wall)."
    )
    if adapter:
        t = time.perf_counter()
        plan = lead_zones(b, d.walk, max_walk_m=max_walk_m)
        print(
            f"The adapter `lead_zones` (validation, tables, zone polygons): "
            f"{time.perf_counter() - t:.2f} s wall for {len(plan.zones)} zones."
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--buildings", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--graph", choices=("walking", "euclidean"), default="walking")
    ap.add_argument("--max-walk-m", type=float, default=DEFAULT_MAX_WALK_M)
    ap.add_argument("--spopt-cap-s", type=float, default=600.0)
    ap.add_argument(
        "--spopt-sizes", default="500,2000", help="smaller districts for spopt, comma-separated"
    )
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.spopt_sizes.split(",") if s.strip()]
    bench(
        args.buildings,
        repeat=args.repeat,
        graph=args.graph,
        max_walk_m=args.max_walk_m,
        spopt_cap_s=args.spopt_cap_s,
        adapter=True,
    )
    for size in sizes:
        bench(
            size,
            repeat=args.repeat,
            graph=args.graph,
            max_walk_m=args.max_walk_m,
            spopt_cap_s=args.spopt_cap_s,
            adapter=False,
        )


if __name__ == "__main__":
    main()
