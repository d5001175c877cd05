"""Red-house venue selection (issue 6): our exact MCLP against PySAL spopt and plain greedy.

``python -m bench.bench_venues [--candidates 2000] [--buildings 50000] [--existing 500]
[--k 20] [--repeat 3] [--seed 7] [--spopt-timeout 900] [--no-spopt]``

1. A city from ``layers.synth.generate_city`` as bench/cities.py readies it (projected to UTM
   49N, each building's compound joined); its walking network from
   ``layers.network.build_network`` (walls of gated compounds, open gates), routed by
   ``gis_api.analysis.walknet`` (``build_graph``, ``snap_points``, ``distances_within``).
2. ``--candidates`` candidate venues drawn (seeded) from the city's rooms, with their compound
   and its maturity, party members, branch and committee joined by location; ``--existing``
   open service points drawn the same way, whose 1,000 m walk gives ``existing_covered``.
3. The candidates x buildings walking metres within 1,000 m, then, ``--repeat`` times each
   (medians reported):

   * ours: ``select_venues`` (MILP, HiGHS through scipy) on the full rules (legal checks, one
     per compound, score tie-break), and ``venue_selection`` end to end (curve k = 1..K and
     explanations included);
   * the same core on the plain MCLP that spopt can state (eligible candidates, no compound
     cap, no score), for a like-for-like comparison;
   * ``spopt.locate.MCLP.from_cost_matrix`` + ``solve(pulp.PULP_CBC_CMD(msg=False))``
     (spopt's documented default, PuLP's bundled CBC) on that plain MCLP, two ways: as its
     docs show (every building, existing points as predefined facilities, p = k + existing)
     and helped (only the buildings not yet covered, no predefined facilities). Each runs in a
     child process with a time limit and is stopped, with its CBC, when it overruns;
   * plain greedy (``method="greedy"``) on both.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import signal
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

import geopandas as gpd
import shapely

from bench import cities
from gis_api.analysis import walknet
from gis_api.analysis.venues import select_venues, venue_selection

LIMIT_M = 1000.0
CRS = "EPSG:32649"  # UTM 49N: Foshan


@dataclass
class City:
    buildings: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    walk_m: Any  # csr (candidates, buildings)
    existing_covered: np.ndarray
    existing_walk_m: Any  # csr (existing, buildings)
    notes: list[str]

    @property
    def cover(self) -> Any:
        """Candidates x buildings, True within the limit (every stored pair is)."""
        out = sparse.csr_array(self.walk_m, copy=True)
        out.data = np.ones(len(out.data), dtype=bool)
        return out


def _log(msg: str) -> None:
    print(msg, flush=True)


def make_city(n_buildings: int, n_candidates: int, n_existing: int, seed: int) -> City:
    from layers.network import build_network

    notes: list[str] = []
    t = time.perf_counter()
    city = cities.generate(n_buildings, seed=seed, crs=CRS)
    lay, ways = city.layers, city.ways
    _log(f"  generate_city({n_buildings:,}): {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    compounds, gates = lay["compounds"], lay["gates"]
    walled = compounds[compounds["code"].isin(set(gates["compound"].dropna()))]
    walls = shapely.boundary(np.asarray(walled.geometry.array, dtype=object))
    barriers = gpd.GeoSeries(
        np.concatenate(
            [
                np.asarray(lay["barriers"].geometry.explode(index_parts=False).array),
                np.asarray(gpd.GeoSeries(walls, crs=CRS).explode(index_parts=False).array),
            ]
        ),
        crs=CRS,
    )
    net = build_network(
        ways, barriers=barriers, gates=gates[gates["is_open"]][["code", "geometry"]]
    )
    e = net.edges
    graph = walknet.build_graph(
        e["source"].to_numpy(),
        e["target"].to_numpy(),
        e["length_m"].to_numpy(),
        np.asarray(e.geometry.array, dtype=object),
        gate=e["gate_code"].to_numpy(dtype=object),
        walled=np.asarray(walled.geometry.array, dtype=object),
    )
    _log(
        f"  walking network: {len(e):,} edges, {len(net.nodes):,} nodes, "
        f"{time.perf_counter() - t:.1f} s"
    )

    rng = np.random.default_rng(seed)
    rooms = lay["candidate_venues"]
    if n_candidates > len(rooms):
        notes.append(f"the city has only {len(rooms):,} candidate rooms; all are used")
    rooms = rooms.iloc[np.sort(rng.permutation(len(rooms))[:n_candidates])].reset_index(drop=True)
    points = lay["service_points"]
    points = points[points["is_open"]].reset_index(drop=True)
    if n_existing > len(points):
        notes.append(f"the city has only {len(points):,} open service points; all are used")
    points = points.iloc[np.sort(rng.permutation(len(points))[:n_existing])].reset_index(drop=True)

    blds = city.buildings
    b_xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(blds.geometry.array)))
    # building -> compound, for the explanations and the compounds' party members
    b_comp = blds["compound"]
    members = (
        pd.DataFrame({"c": b_comp.to_numpy(), "m": blds["party_members"].fillna(0).to_numpy()})
        .groupby("c")["m"]
        .sum()
    )
    c_comp = gpd.sjoin(
        rooms[["geometry"]], compounds[["code", "geometry"]], predicate="within", how="left"
    )
    c_comp = c_comp[~c_comp.index.duplicated()]["code"].reindex(range(len(rooms)))
    attrs = compounds.set_index("code")
    code = c_comp.to_numpy(dtype=object)
    known = pd.notna(code)
    candidates = gpd.GeoDataFrame(
        {
            "candidate_id": rooms["code"].to_numpy(),
            "name": rooms["name"].to_numpy(),
            "kind": rooms["kind"].to_numpy(),
            "floor_area_m2": rooms["floor_area_m2"].to_numpy(),
            "ground_floor": rooms["ground_floor"].to_numpy(dtype=bool),
            "ventilation": rooms["ventilation"].to_numpy(),
            "lawyer_consulted": rooms["lawyer_consulted"].to_numpy(dtype=bool),
            "housing_filed": rooms["housing_filed"].to_numpy(dtype=bool),
            "publicly_noticed": rooms["publicly_noticed"].to_numpy(dtype=bool),
            "property_recorded": rooms["property_recorded"].to_numpy(dtype=bool),
            "compound": code,
            "compound_maturity": np.where(
                known, attrs["maturity"].reindex(code).to_numpy(dtype=object), None
            ),
            "compound_party_members": members.reindex(code).fillna(0).to_numpy(),
            "compound_has_party_branch": attrs["has_party_branch"]
            .reindex(code)
            .fillna(False)
            .to_numpy(dtype=bool),
            "compound_has_owners_committee": attrs["has_owners_committee"]
            .reindex(code)
            .fillna(False)
            .to_numpy(dtype=bool),
        },
        geometry=rooms.geometry.to_numpy(),
        crs=CRS,
    )
    buildings = gpd.GeoDataFrame(
        {
            "building_id": blds["code"].to_numpy(),
            "residents": blds["residents"].fillna(0).to_numpy(dtype=float),
            "households": blds["households"].fillna(0).to_numpy(dtype=float),
            "compound": b_comp.to_numpy(dtype=object),
        },
        geometry=blds.geometry.to_numpy(),
        crs=CRS,
    )

    t = time.perf_counter()
    b_snap = walknet.snap_points(graph, b_xy)
    c_snap = walknet.snap_points(graph, shapely.get_coordinates(np.asarray(rooms.geometry.array)))
    p_snap = walknet.snap_points(graph, shapely.get_coordinates(np.asarray(points.geometry.array)))
    walk_m = walknet.distances_within(graph, c_snap, b_snap, limit_m=LIMIT_M)
    existing_walk = walknet.distances_within(graph, p_snap, b_snap, limit_m=LIMIT_M)
    existing = np.zeros(len(blds), dtype=bool)
    existing[existing_walk.indices] = True
    _log(
        f"  walking metres within {LIMIT_M:g} m (walknet.distances_within): "
        f"{walk_m.shape[0]:,} x {walk_m.shape[1]:,}, {walk_m.nnz:,} pairs; existing points "
        f"cover {existing.sum():,} buildings; {time.perf_counter() - t:.1f} s"
    )
    return City(buildings, candidates, walk_m, existing, existing_walk, notes)


# --- spopt in a child process -----------------------------------------------------------------


def _spopt_child(
    queue: Any, cost: np.ndarray, weights: np.ndarray, p: int, predefined: Any
) -> None:
    os.setpgrp()  # CBC runs as our child: one process group to stop on a timeout
    try:
        import pulp
        from spopt.locate import MCLP

        t0 = time.perf_counter()
        model = MCLP.from_cost_matrix(
            cost,
            weights,
            service_radius=LIMIT_M,
            p_facilities=p,
            predefined_facilities_arr=predefined,
        )
        t1 = time.perf_counter()
        model = model.solve(pulp.PULP_CBC_CMD(msg=False), results=False)
        t2 = time.perf_counter()
        x = np.array([v.value() or 0.0 for v in model.fac_vars]) > 0.5
        status = pulp.LpStatus[model.problem.status]
        queue.put(("ok", t1 - t0, t2 - t1, np.flatnonzero(x), status))
    except BaseException as exc:  # report anything, MemoryError included
        queue.put(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=3)))


def run_spopt(
    cost: np.ndarray, weights: np.ndarray, p: int, predefined: Any, timeout_s: float
) -> tuple[str, Any]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_spopt_child, args=(queue, cost, weights, p, predefined))
    proc.start()
    try:
        result = queue.get(timeout=timeout_s)
    except Exception:  # queue.Empty: overran
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the child's own group: it and its CBC
        proc.join()
        return "timeout", f"did not finish within {timeout_s:g} s (stopped)"
    proc.join()
    if result[0] == "ok":
        return "ok", result[1:]
    return "error", result[1]


# --- measuring --------------------------------------------------------------------------------


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def covered_new(walk_m: Any, picks: np.ndarray, existing: np.ndarray, weights: np.ndarray) -> float:
    hit = np.zeros(walk_m.shape[1], dtype=bool)
    if len(picks):
        hit[sparse.csr_array(walk_m)[picks].indices] = True
    return float(weights[hit & ~existing].sum())


def bench_full(city: City, args: argparse.Namespace, eligible: np.ndarray) -> None:
    """Ours on the full rules, end to end and the core alone, and greedy."""
    b, c, k, rep = city.buildings, city.candidates, args.k, args.repeat
    residents = b["residents"].to_numpy(dtype=float)
    t_plan, plan = median_time(
        lambda: venue_selection(
            b,
            c,
            city.walk_m,
            existing_covered=city.existing_covered,
            k=k,
            include_incomplete_legal=args.include_incomplete_legal,
            time_limit_s=args.time_limit,
        ),
        rep,
    )
    sel = plan.selection
    rules = {
        "already_covered": city.existing_covered,
        "score": plan.scores["score"].to_numpy(),
        "groups": pd.factorize(c["compound"], use_na_sentinel=True)[0],
        "eligible": eligible,
        "time_limit_s": args.time_limit,
    }
    t_core, core = median_time(lambda: select_venues(city.cover, residents, k=k, **rules), rep)
    t_greedy, greedy = median_time(
        lambda: select_venues(city.cover, residents, k=k, method="greedy", **rules), rep
    )
    _log("")
    _log("full rules (legal checks, one per compound, score tie-break):")
    _log(
        f"  ours venue_selection (selection + curve k=1..{k} + explanations): {t_plan:.2f} s; "
        f"new residents {sel.covered_new:,.0f}, optimal={sel.optimal}, gap={sel.gap}, "
        f"curve optimal {int(plan.curve['optimal'].sum())}/{len(plan.curve)}"
    )
    _log(
        f"  ours select_venues (MILP):  {t_core:7.3f} s  new residents {core.covered_new:>9,.0f}  "
        f"optimal={core.optimal} gap={core.gap} method={core.method} reduced={core.reduced}"
    )
    _log(
        f"  greedy:                     {t_greedy:7.3f} s  new residents "
        f"{greedy.covered_new:>9,.0f}  "
        f"({greedy.covered_new / max(core.covered_new, 1):.4%} of ours)"
    )


def bench_plain(city: City, args: argparse.Namespace, elig: np.ndarray) -> tuple[float, Any]:
    """Ours and greedy on the plain MCLP that spopt can state."""
    residents = city.buildings["residents"].to_numpy(dtype=float)
    plain_cover = city.cover[elig]
    plain = {"already_covered": city.existing_covered, "max_per_group": None}
    t_mine, mine = median_time(
        lambda: select_venues(
            plain_cover, residents, k=args.k, time_limit_s=args.time_limit, **plain
        ),
        args.repeat,
    )
    t_pg, pgreedy = median_time(
        lambda: select_venues(plain_cover, residents, k=args.k, method="greedy", **plain),
        args.repeat,
    )
    _log("")
    _log(f"plain MCLP ({len(elig):,} eligible candidates, no compound cap, no score):")
    _log(
        f"  ours select_venues (MILP):  {t_mine:7.3f} s  new residents {mine.covered_new:>9,.0f}  "
        f"optimal={mine.optimal} gap={mine.gap} method={mine.method} reduced={mine.reduced}"
    )
    _log(
        f"  greedy:                     {t_pg:7.3f} s  new residents {pgreedy.covered_new:>9,.0f}"
        f"  ({pgreedy.covered_new / max(mine.covered_new, 1):.4%} of ours)"
    )
    return t_mine, mine


def bench_spopt(
    city: City, args: argparse.Namespace, elig: np.ndarray, t_mine: float, mine: Any
) -> None:
    """spopt's MCLP with PuLP's CBC, as documented and helped, in a child process."""
    try:
        import pulp  # noqa: F401  (imported before the fork, so the child's time is the work)
        import spopt.locate  # noqa: F401
    except Exception as exc:
        _log(f"  spopt cannot run: {type(exc).__name__}: {exc}")
        return
    residents = city.buildings["residents"].to_numpy(dtype=float)
    walk_e = sparse.csr_array(city.walk_m)[elig]
    n_ex = city.existing_walk_m.shape[0]
    open_b = np.flatnonzero(~city.existing_covered)
    runs = {
        "spopt as documented (all buildings, existing points predefined)": (
            sparse.vstack([walk_e, sparse.csr_array(city.existing_walk_m)], format="csr"),
            np.arange(len(residents)),
            args.k + n_ex,
            np.r_[np.zeros(len(elig)), np.ones(n_ex)].astype(int) if n_ex else None,
        ),
        "spopt helped (only buildings not yet covered)": (walk_e[:, open_b], open_b, args.k, None),
    }
    for label, (walk_sub, cols, p, predefined) in runs.items():
        dense = np.full(walk_sub.shape[::-1], np.inf)  # spopt wants clients x facilities
        coo = sparse.coo_array(walk_sub)
        dense[coo.col, coo.row] = coo.data
        _log(
            f"  {label}: cost matrix {dense.shape[0]:,} x {dense.shape[1]:,} "
            f"({dense.nbytes / 2**30:.2f} GiB dense), p={p}"
        )
        work: list[float] = []
        build: list[float] = []
        result: Any = None
        for r in range(args.repeat):
            status, result = run_spopt(dense, residents[cols], p, predefined, args.spopt_timeout)
            if status != "ok":
                _log(f"    run {r + 1}: {status}: {result}")
                break
            build.append(result[0])
            work.append(result[0] + result[1])
            if work[-1] > 120 and r + 1 < args.repeat:
                _log(f"    run {r + 1} took {work[-1]:.0f} s: not repeated")
                break
        if not work:
            continue
        picks = result[2][result[2] < len(elig)]
        value = covered_new(walk_e, picks, city.existing_covered, residents)
        t_sp = statistics.median(work)
        same = "matches" if abs(value - mine.covered_new) < 0.5 else "DIFFERS from"
        _log(
            f"    {t_sp:8.2f} s (median of {len(work)}; model build {statistics.median(build):.2f}"
            f" s, CBC {t_sp - statistics.median(build):.2f} s), status {result[3]}, "
            f"new residents {value:,.0f}: {same} ours; ours {t_sp / t_mine:,.0f}x faster"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--candidates", type=int, default=2000)
    ap.add_argument("--buildings", type=int, default=50_000)
    ap.add_argument("--existing", type=int, default=500)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--time-limit", type=float, default=10.0, help="our MILP limit, seconds")
    ap.add_argument(
        "--include-incomplete-legal",
        action="store_true",
        help="every candidate eligible (a harder problem: about 5x the candidates)",
    )
    ap.add_argument("--spopt-timeout", type=float, default=900.0, help="per spopt run, seconds")
    ap.add_argument("--no-spopt", action="store_true")
    args = ap.parse_args()

    _log(
        f"bench_venues: {args.buildings:,} buildings, {args.candidates:,} candidates, "
        f"{args.existing:,} existing points, k={args.k}, repeat={args.repeat}, seed={args.seed}"
        + (", all candidates eligible" if args.include_incomplete_legal else "")
    )
    _log(f"  load average before: {os.getloadavg()[0]:.2f} (2 cores: figures under load vary)")
    city = make_city(args.buildings, args.candidates, args.existing, args.seed)
    for note in city.notes:
        _log(f"  note: {note}")
    residents = city.buildings["residents"].to_numpy(dtype=float)
    legal = city.candidates[
        ["lawyer_consulted", "housing_filed", "publicly_noticed", "property_recorded"]
    ].all(axis=1)
    eligible = np.ones(len(legal), bool) if args.include_incomplete_legal else legal.to_numpy()
    before = float(residents[city.existing_covered].sum())
    _log(
        f"  residents {residents.sum():,.0f}, covered by existing points {before:,.0f} "
        f"({before / residents.sum():.1%}); candidates with complete legal checks "
        f"{int(legal.sum()):,} of {len(legal):,}; eligible {int(eligible.sum()):,}"
    )
    bench_full(city, args, eligible)
    elig = np.flatnonzero(eligible)
    t_mine, mine = bench_plain(city, args, elig)
    if not args.no_spopt:
        bench_spopt(city, args, elig, t_mine, mine)
    _log(f"  load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
