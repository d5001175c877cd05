"""Community split plans: ours against GerryChain's ReCom chain and short-burst optimiser.

``python -m bench.bench_split [--seeds 3] [--factor 1] [--cases c60k2,c60k4,d300k8]``

Cases (issue 15): a generated community of 60 compounds (``layers.synth.generate_community``
with ``n_compounds=60``) split into 2 and into 4, and a generated district of about 300
compounds (``generate_city``, every community dissolved into one polygon) split into 8.
Each seed generates a new place. The unit graph is ours (:func:`gis_api.analysis.split.
prepare_split`: compounds, territories covering the community, shared boundary metres), and
every solver gets exactly that graph, the residents as population, the same tolerance (5 %)
and the same Polsby–Popper formula: ``4 pi A / P^2`` with ``P`` the units' perimeters minus
twice the boundaries shared inside the part (GerryChain's ``exterior_boundaries`` +
``interior_boundaries`` with ``boundary_perim`` = perimeter minus shared lengths; checked
against ours on every best plan).

Time: ours runs with its default effort (deterministic for the seed) and its wall time ``T``
is the budget every GerryChain run gets (times ``--factor``), in the same process:

- *ReCom chain*: ``MarkovChain`` with ``recom`` (``epsilon`` = the tolerance, no region
  surcharge: there are no regions), ``within_percent_of_ideal_population``, always accept,
  from ``recursive_tree_part``; the best balance and the best mean PP met in ``T``;
- *short bursts, PP*: ``SingleMetricOptimizer(...).short_bursts`` maximizing mean PP, bursts
  of 10 ReCom steps, for ``T``;
- *short bursts, balance*: the same minimizing the largest deviation, for ``T``.

"Best balance" is the smallest largest deviation (%) of any plan a solver returns or meets;
"best compactness" the highest mean PP of a plan within the tolerance. Ours: over the plans
:func:`split_plans` returns (its Pareto set). Medians over the seeds, and ours over
GerryChain's best of the three runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import random
import statistics
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

import geopandas as gpd
import shapely

from bench import cities
from gis_api.analysis import split as sp
from layers.synth import generate_city, generate_community

TOLERANCE = 0.05
BURST = 10
STREET_KINDS = ("primary", "secondary", "tertiary", "residential", "unclassified")


@dataclass
class Case:
    name: str
    parts: int
    place: str  # "community" or "district"


CASES = {
    "c60k2": Case("60 compounds, 2 parts", 2, "community"),
    "c60k4": Case("60 compounds, 4 parts", 4, "community"),
    "d300k8": Case("district ~300 units, 8 parts", 8, "district"),
}


def layers_of(city: cities.City, *, dissolve: bool) -> dict[str, Any]:
    """The split's inputs from a generated place."""
    layers = city.layers
    b = city.buildings
    community = layers["communities"]
    if dissolve:
        community = gpd.GeoDataFrame(
            {"code": ["district"]},
            geometry=[shapely.union_all(community.geometry.to_numpy())],
            crs=community.crs,
        )
    ways = city.ways
    return {
        "community": community,
        "compounds": layers["compounds"].rename(columns={"code": "id"})[["id", "geometry"]],
        "buildings": gpd.GeoDataFrame(
            {
                "id": b["code"],
                "compound_id": b["compound"],
                "residents": b["residents"],
                "households": b["households"],
                "floating": b.get("floating_residents", 0),
            },
            geometry=b.geometry,
            crs=b.crs,
        ),
        "streets": ways[ways["highway"].isin(STREET_KINDS)][["geometry"]],
        "service_points": layers["service_points"].rename(columns={"code": "id"}),
        "grids": layers["grids"].rename(columns={"code": "id"})[["id", "geometry"]],
    }


def make_place(case: Case, seed: int) -> dict[str, Any]:
    if case.place == "community":
        place = generate_community(seed=seed, n_compounds=60, area_km2=11.0)
        return layers_of(cities.City(place), dissolve=False)
    return layers_of(cities.City(generate_city(n_buildings=4850, seed=seed)), dissolve=True)


# --- our PP formula, used for every solver's plans ------------------------------------------


def deviation_pp(prep: sp.PreparedSplit, part: np.ndarray, k: int) -> tuple[float, float]:
    """(largest deviation %, mean PP) of an assignment, from the prepared arrays."""
    m = sp.measure_plan(prep, part, parts=k)
    return m.max_deviation_pct, m.mean_pp


# --- GerryChain -------------------------------------------------------------------------------


def gerry_graph(prep: sp.PreparedSplit) -> Any:
    import networkx as nx  # type: ignore[import-untyped]

    G = nx.Graph()
    shared = np.zeros(prep.n_units)
    np.add.at(shared, prep.edge_i, prep.edge_length_m)
    np.add.at(shared, prep.edge_j, prep.edge_length_m)
    for u in range(prep.n_units):
        outer = max(0.0, float(prep.perimeter_m[u] - shared[u]))
        G.add_node(
            u,
            population=float(prep.residents[u]),
            area=float(prep.area_m2[u]),
            boundary_perim=outer,
            boundary_node=outer > 1e-6,
        )
    for i, j, d in zip(
        prep.edge_i.tolist(), prep.edge_j.tolist(), prep.edge_length_m.tolist(), strict=True
    ):
        G.add_edge(i, j, shared_perim=float(d))
    return G


def mean_pp_of(partition: Any) -> float:
    area, perim = partition["area"], partition["perimeter"]
    return sum(
        4 * math.pi * area[p] / perim[p] ** 2 if perim[p] > 0 else 0.0 for p in partition.parts
    ) / len(partition.parts)


def max_dev_of(partition: Any, ideal: float) -> float:
    return 100.0 * float(max(abs(v / ideal - 1.0) for v in partition["population"].values()))


def original_parts(state: Any, n: int) -> np.ndarray:
    """The part of every unit 0..n-1 (GerryChain renumbers nodes inside)."""
    out = np.full(n, -1, dtype=np.int64)
    graph = state.graph
    for node, part in state.assignment.items():
        out[graph.original_nx_node_id_for_internal_node_id(node)] = part
    return out


@dataclass
class Found:
    best_dev: float
    best_pp: float
    steps: int
    seconds: float
    best_part: np.ndarray | None


def run_gerrychain(prep: sp.PreparedSplit, k: int, budget_s: float, seed: int, mode: str) -> Found:
    from gerrychain import GeographicPartition, Graph, MarkovChain
    from gerrychain.accept import always_accept
    from gerrychain.constraints import within_percent_of_ideal_population
    from gerrychain.optimization import SingleMetricOptimizer
    from gerrychain.partition.initial_partition_generators import recursive_tree_part
    from gerrychain.proposals import recom
    from gerrychain.updaters import Tally

    rng = random.Random(seed)
    G = Graph.from_networkx(gerry_graph(prep))
    ideal = float(prep.residents.sum()) / k
    t0 = time.perf_counter()
    assignment = recursive_tree_part(G, range(k), ideal, "population", TOLERANCE, rng=rng)
    updaters = {
        "population": Tally("population", alias="population", dtype_fn=float),
        "area": Tally("area", alias="area", dtype_fn=float),
    }
    initial = GeographicPartition(G, assignment, updaters)
    proposal = partial(recom, pop_col="population", pop_target=ideal, epsilon=TOLERANCE)
    constraints = [within_percent_of_ideal_population(initial, TOLERANCE)]
    if mode == "chain":
        states: Any = MarkovChain(
            proposal, constraints, always_accept, initial, total_steps=10**9, rng=rng
        )
    else:
        score = mean_pp_of if mode == "bursts_pp" else partial(max_dev_of, ideal=ideal)
        opt = SingleMetricOptimizer(
            proposal, constraints, initial, score, maximize=mode == "bursts_pp", rng=rng
        )
        states = opt.short_bursts(BURST, 10**9)
    best_dev, best_pp, steps, best_part = math.inf, -math.inf, 0, None
    for state in states:
        steps += 1
        dev = max_dev_of(state, ideal)
        best_dev = min(best_dev, dev)
        if dev <= 100 * TOLERANCE + 1e-9:
            pp = mean_pp_of(state)
            if pp > best_pp:
                best_pp = pp
                best_part = original_parts(state, prep.n_units)
        if time.perf_counter() - t0 >= budget_s:
            break
    return Found(best_dev, best_pp, steps, time.perf_counter() - t0, best_part)


# --- the run --------------------------------------------------------------------------------


def run_case(case: Case, seed: int, factor: float) -> dict[str, Any]:
    t = time.perf_counter()
    layers = make_place(case, seed)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    prep = sp.prepare_split(**layers, tolerance=TOLERANCE)
    t_prep = time.perf_counter() - t
    t = time.perf_counter()
    result = sp.split_plans(prep, parts=case.parts, seed=seed)
    t_ours = time.perf_counter() - t
    ours_dev = min(p.measures.max_deviation_pct for p in result.plans)
    ours_pp = max(
        (p.measures.mean_pp for p in result.plans if p.measures.within_tolerance),
        default=math.nan,
    )
    x = result.plans[0].part
    t = time.perf_counter()
    for _ in range(20):
        sp.measure_plan(prep, x)
    t_measure = (time.perf_counter() - t) / 20
    row: dict[str, Any] = {
        "case": case.name,
        "seed": seed,
        "units": prep.n_units,
        "links": len(prep.edge_i),
        "generate_s": t_gen,
        "prepare_s": t_prep,
        "ours_s": t_ours,
        "measure_ms": 1000 * t_measure,
        "ours_dev": ours_dev,
        "ours_pp": ours_pp,
        "ours_plans": len(result.plans),
    }
    if importlib.util.find_spec("gerrychain") is None:
        return row
    for mode in ("chain", "bursts_pp", "bursts_dev"):
        found = run_gerrychain(prep, case.parts, factor * t_ours, seed, mode)
        row[f"{mode}_dev"] = found.best_dev
        row[f"{mode}_pp"] = found.best_pp
        row[f"{mode}_steps"] = found.steps
        row[f"{mode}_s"] = found.seconds
        if found.best_part is not None:
            # the same PP by our formula, so the comparison is of one measure
            _, pp = deviation_pp(prep, found.best_part, case.parts)
            assert abs(pp - found.best_pp) < 1e-9, (pp, found.best_pp)
    return row


def fmt(v: float, digits: int = 3) -> str:
    return (
        "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--factor", type=float, default=1.0, help="GerryChain's budget over ours")
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for key in args.cases.split(","):
        case = CASES[key]
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            row = run_case(case, seed, args.factor)
            rows.append(row)
            gerry = (
                "  ".join(
                    f"{m}: dev {fmt(row[m + '_dev'])} % pp {fmt(row[m + '_pp'])} "
                    f"({row[m + '_steps']} steps)"
                    for m in ("chain", "bursts_pp", "bursts_dev")
                )
                if "chain_dev" in row
                else "gerrychain not installed"
            )
            print(
                f"{case.name} seed {seed}: {row['units']} units, prepare {row['prepare_s']:.2f} s, "
                f"ours {row['ours_s']:.2f} s dev {fmt(row['ours_dev'])} % pp {fmt(row['ours_pp'])} "
                f"({row['ours_plans']} plans), measure_plan {row['measure_ms']:.2f} ms | {gerry}",
                flush=True,
            )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print(
        "\n| case | units | prepare s | ours s | measure_plan ms | best dev % ours | chain | "
        "bursts PP | bursts dev | best mean PP ours | chain | bursts PP | bursts dev | "
        "PP ours / best GC | dev best GC / ours |"
    )
    print("|" + " --- |" * 15)
    for key in args.cases.split(","):
        case = CASES[key]
        sel = [r for r in rows if r["case"] == case.name]

        def med(col: str, sel: list[dict[str, Any]] = sel) -> float:
            vals = [r[col] for r in sel if col in r and math.isfinite(r[col])]
            return statistics.median(vals) if vals else math.nan

        gc = "chain_dev" in sel[0]
        pp_ratio = (
            statistics.median(
                r["ours_pp"] / max(r["chain_pp"], r["bursts_pp_pp"], r["bursts_dev_pp"])
                for r in sel
            )
            if gc
            else math.nan
        )
        dev_ratio = (
            statistics.median(
                min(r["chain_dev"], r["bursts_pp_dev"], r["bursts_dev_dev"])
                / max(r["ours_dev"], 1e-6)
                for r in sel
            )
            if gc
            else math.nan
        )
        print(
            f"| {case.name} | {med('units'):.0f} | {fmt(med('prepare_s'), 2)} | "
            f"{fmt(med('ours_s'), 2)} | {fmt(med('measure_ms'), 2)} | {fmt(med('ours_dev'))} | "
            f"{fmt(med('chain_dev'))} | {fmt(med('bursts_pp_dev'))} | "
            f"{fmt(med('bursts_dev_dev'))} | "
            f"{fmt(med('ours_pp'))} | {fmt(med('chain_pp'))} | {fmt(med('bursts_pp_pp'))} | "
            f"{fmt(med('bursts_dev_pp'))} | {fmt(pp_ratio, 2)} | {fmt(dev_ratio, 1)} |"
        )


if __name__ == "__main__":
    main()
