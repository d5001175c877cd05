"""The 15-minute service circle on a generated city: ours against networkx, pandana, pgRouting.

``python -m bench.bench_service_circle [--buildings 50000] [--points 500] [--repeat 5]``

One district from ``layers.synth.generate_city`` as bench/cities.py readies it: projected to
UTM 49N (EPSG:32649); the walking network from ``layers.network.build_network`` with the
compound walls as barriers and the gates; the gates the generator left shut are closed.
``--points`` service points are placed deterministically inside compounds (evenly spaced in
code order, at each compound's representative point), all open, kinds in turn.

Each method runs ``--repeat`` times in a fresh interpreter (``spawn``) that first loads the
city and does the method's untimed set-up; its peak memory is the rise of the process's peak
RSS over its RSS once set up (``VmHWM`` reset through ``/proc/self/clear_refs``). Methods:

- ours, end to end: ``service_coverage`` (graph, snapping with walls, one multi-source
  Dijkstra, one more per kind) + ``summarize`` by community, grid and compound +
  ``uncovered``; no service areas;
- ours, routing only: the multi-source Dijkstra and the buildings' evaluation
  (``nearest_source_distances`` with the limit), on a graph and snaps made in the set-up;
- ours + service areas: ``service_coverage`` with every point's area (the rest as above);
- networkx, end to end: ours for the graph and the snapping, then a ``networkx.Graph`` with one
  virtual node per service point, one ``single_source_dijkstra_path_length`` per point with
  ``cutoff=limit``, and the nearest point per building; "loop only" is the last two steps;
- ours, node snapping: every feature at its nearest node, no access leg, no wall rule (what
  pandana and pgRouting do), ``nearest_source_distances`` with the limit;
- pandana: ``Network`` (its contraction hierarchy) + ``set_pois`` + ``nearest_pois``, the
  buildings read at their nearest node (``get_node_ids``);
- pgRouting: one ``pgr_drivingDistance`` with every point's node as a start vid,
  ``equicost := true``, ``distance := limit``, on an edge table COPYed into a throwaway
  cluster (``layers.db.cluster_up(fast=True)``); the COPY is timed apart, the memory is the
  server backend's.

Covered sets and walking metres are compared: ours with networkx (the same snapping to edges),
ours snapping to nodes with pandana and pgRouting.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import multiprocessing as mp
import os
import pickle
import shutil
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from bench import cities
from gis_api.analysis import service_circle as sc
from gis_api.analysis import walknet as wn

METRIC = "EPSG:32649"
Walks = np.ndarray  # walking metres per building, NaN when beyond the limit


@dataclass
class City:
    buildings: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    walled: gpd.GeoDataFrame
    closed: frozenset[str]
    limit_m: float


@dataclass
class Result:
    method: str
    times: list[float]
    cpu: list[float]
    peak_mb: float
    walk: Walks
    note: str = ""


def log(msg: str) -> None:
    print(msg, flush=True)


# --- the city ---------------------------------------------------------------------------------


def make_city(n_buildings: int, n_points: int, seed: int, limit_m: float) -> City:
    t = time.perf_counter()
    city = cities.generate(n_buildings, seed=seed, crs=METRIC)
    lay = city.layers
    log(f"generate_city({n_buildings:,}) + UTM: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    edges = city.edges[["source", "target", "length_m", "gate", "geometry"]]
    log(f"build_network: {time.perf_counter() - t:.1f} s")
    compounds = lay["compounds"].sort_values("code").reset_index(drop=True)
    walled = city.walled.sort_values("compound").reset_index(drop=True)

    buildings = city.buildings
    rep = gpd.GeoDataFrame(geometry=buildings.representative_point(), crs=METRIC)
    grids = lay["grids"].rename(columns={"code": "grid"})[["grid", "geometry"]]
    buildings["grid"] = (
        gpd.sjoin(rep, grids, predicate="within", how="left").groupby(level=0)["grid"].first()
    )

    pick = np.unique(np.linspace(0, len(compounds) - 1, min(n_points, len(compounds))).round())
    chosen = compounds.iloc[pick.astype(np.int64)]
    kinds = ("centre", "sub_centre", "activity_room", "red_house")
    points = gpd.GeoDataFrame(
        {
            "service_point_id": [f"SP{i + 1:04d}" for i in range(len(chosen))],
            "kind": [kinds[i % len(kinds)] for i in range(len(chosen))],
            "is_open": True,
            "compound": chosen["code"].to_numpy(),
        },
        geometry=chosen.geometry.representative_point().to_numpy(),
        crs=METRIC,
    )
    return City(buildings, points, edges, walled, city.closed_gates, limit_m)


def graph_and_snaps(c: City) -> tuple[wn.WalkGraph, wn.Snapped, wn.Snapped]:
    e = c.edges
    g = wn.build_graph(
        e["source"].to_numpy(),
        e["target"].to_numpy(),
        e["length_m"].to_numpy(),
        np.asarray(e.geometry.array, dtype=object),
        gate=e["gate"].to_numpy(dtype=object),
        closed_gates=c.closed,
        walled=np.asarray(c.walled.geometry.array, dtype=object),
    )
    return g, wn.snap_points(g, _b_xy(c)), wn.snap_points(g, _p_xy(c))


def _b_xy(c: City) -> np.ndarray:
    return shapely.get_coordinates(shapely.point_on_surface(np.asarray(c.buildings.geometry.array)))


def _p_xy(c: City) -> np.ndarray:
    return shapely.get_coordinates(np.asarray(c.points.geometry.array))


def _within(walk: np.ndarray, limit_m: float) -> Walks:
    return np.where(np.isfinite(walk) & (walk <= limit_m), walk, np.nan)


# --- the methods: each set-up returns the timed call ------------------------------------------


def ours_end_to_end(c: City) -> Callable[[], Walks]:
    def run() -> Walks:
        cov = sc.service_coverage(
            c.buildings,
            c.points,
            c.edges,
            walled=c.walled,
            closed_gates=c.closed,
            limit_m=c.limit_m,
            with_areas=False,
        )
        for by in ("community", "grid", "compound"):
            sc.summarize(cov, c.buildings, c.points, by=by)
        sc.uncovered(cov, c.buildings)
        return _within(cov.buildings["walk_m"].to_numpy(), c.limit_m)

    return run


def ours_with_areas(c: City) -> Callable[[], Walks]:
    def run() -> Walks:
        cov = sc.service_coverage(
            c.buildings,
            c.points,
            c.edges,
            walled=c.walled,
            closed_gates=c.closed,
            limit_m=c.limit_m,
        )
        assert cov.areas is not None and len(cov.areas) == len(c.points)
        return _within(cov.buildings["walk_m"].to_numpy(), c.limit_m)

    return run


def ours_routing(c: City) -> Callable[[], Walks]:
    g, bs, ps = graph_and_snaps(c)

    def run() -> Walks:
        res = wn.nearest_source_distances(g, ps, bs, limit_m=c.limit_m)
        return _within(res.walk_m, c.limit_m)

    return run


def _nx_graph(g: wn.WalkGraph, ps: wn.Snapped) -> Any:
    import networkx as nx

    G = nx.Graph()
    G.add_weighted_edges_from(
        zip(g.edge_u.tolist(), g.edge_v.tolist(), g.edge_length_m.tolist(), strict=True)
    )
    n = g.n_nodes
    ell = g.edge_length_m[ps.edge]
    to_u = ps.access_m + ps.t * ell
    to_v = ps.access_m + (1 - ps.t) * ell
    # The two legs add up to more than the edge, so no walk is shortened through a point.
    for i in range(len(ps)):
        G.add_edge(n + i, int(g.edge_u[ps.edge[i]]), weight=float(to_u[i]))
        G.add_edge(n + i, int(g.edge_v[ps.edge[i]]), weight=float(to_v[i]))
    return G


def _nx_loop(G: Any, g: wn.WalkGraph, bs: wn.Snapped, ps: wn.Snapped, limit_m: float) -> Walks:
    import networkx as nx

    n = g.n_nodes
    best = np.full(n, np.inf)
    for i in range(len(ps)):
        d = nx.single_source_dijkstra_path_length(G, n + i, cutoff=limit_m)
        nodes = np.fromiter((k for k in d if k < n), dtype=np.int64)
        vals = np.fromiter((d[k] for k in nodes.tolist()), dtype=np.float64, count=len(nodes))
        np.minimum.at(best, nodes, vals)
    e, t = bs.edge, bs.t
    ell = g.edge_length_m[e]
    walk = np.minimum(best[g.edge_u[e]] + t * ell, best[g.edge_v[e]] + (1 - t) * ell)
    # A building on a point's own edge also walks straight along it.
    pairs = pd.DataFrame({"e": ps.edge, "i": np.arange(len(ps))}).merge(
        pd.DataFrame({"e": e, "j": np.arange(len(e))}), on="e"
    )
    si, bj = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    np.minimum.at(walk, bj, ps.access_m[si] + np.abs(ps.t[si] - t[bj]) * ell[bj])
    return _within(walk + bs.access_m, limit_m)


def networkx_end_to_end(c: City) -> Callable[[], Walks]:
    def run() -> Walks:
        g, bs, ps = graph_and_snaps(c)
        return _nx_loop(_nx_graph(g, ps), g, bs, ps, c.limit_m)

    return run


def networkx_loop(c: City) -> Callable[[], Walks]:
    g, bs, ps = graph_and_snaps(c)

    def run() -> Walks:
        return _nx_loop(_nx_graph(g, ps), g, bs, ps, c.limit_m)

    return run


def _node_setup(c: City) -> tuple[wn.WalkGraph, wn.Snapped, wn.Snapped]:
    g, _, _ = graph_and_snaps(c)
    return g, wn.snap_to_nodes(g, _b_xy(c)), wn.snap_to_nodes(g, _p_xy(c))


def _node_of(g: wn.WalkGraph, s: wn.Snapped) -> np.ndarray:
    return np.where(s.t == 0, g.edge_u[s.edge], g.edge_v[s.edge])


def ours_nodes(c: City) -> Callable[[], Walks]:
    g, bn, pn = _node_setup(c)

    def run() -> Walks:
        return _within(wn.nearest_source_distances(g, pn, bn, limit_m=c.limit_m).walk_m, c.limit_m)

    return run


def pandana_run(c: City) -> Callable[[], Walks]:
    import pandana

    g, _, _ = graph_and_snaps(c)
    used = np.zeros(g.n_nodes, dtype=bool)
    used[g.edge_u] = True
    used[g.edge_v] = True
    nodes = np.flatnonzero(used)
    b_xy, p_xy = _b_xy(c), _p_xy(c)

    def run() -> Walks:
        net = pandana.Network(
            pd.Series(g.node_xy[nodes, 0], index=nodes),
            pd.Series(g.node_xy[nodes, 1], index=nodes),
            pd.Series(g.edge_u),
            pd.Series(g.edge_v),
            pd.DataFrame({"length": g.edge_length_m}),
            twoway=True,
        )
        net.set_pois("sp", c.limit_m, 1, pd.Series(p_xy[:, 0]), pd.Series(p_xy[:, 1]))
        near = net.nearest_pois(c.limit_m, "sp", num_pois=1, include_poi_ids=True)
        at = net.get_node_ids(pd.Series(b_xy[:, 0]), pd.Series(b_xy[:, 1])).to_numpy()
        walk = near[1].reindex(at).to_numpy(dtype=np.float64).copy()
        walk[near["poi1"].reindex(at).isna().to_numpy()] = np.nan
        return _within(walk, c.limit_m)

    return run


N_CANDIDATES = 2_000


def _candidates(c: City) -> tuple[wn.WalkGraph, wn.Snapped, wn.Snapped]:
    """Every building's snap, and 2,000 buildings spread evenly as candidate venues."""
    g, bs, _ = graph_and_snaps(c)
    pick = np.linspace(0, len(bs) - 1, min(N_CANDIDATES, len(bs))).round().astype(np.int64)
    return g, bs, bs.take(pick)


def ours_within(c: City) -> Callable[[], Walks]:
    g, bs, cs = _candidates(c)

    def run() -> Walks:
        m = wn.distances_within(g, cs, bs, limit_m=c.limit_m).tocsc()
        best = np.full(len(bs), np.nan)
        has = np.diff(m.indptr) > 0
        best[has] = np.minimum.reduceat(m.data, m.indptr[:-1][has])
        return best

    return run


def ours_within_nearest(c: City) -> Callable[[], Walks]:
    g, bs, cs = _candidates(c)

    def run() -> Walks:
        return _within(wn.nearest_source_distances(g, cs, bs, limit_m=c.limit_m).walk_m, c.limit_m)

    return run


METHODS: dict[str, tuple[str, Callable[[City], Callable[[], Walks]]]] = {
    "ours": ("ours, end to end (no areas)", ours_end_to_end),
    "ours_routing": ("ours, routing only", ours_routing),
    "ours_areas": ("ours + service areas", ours_with_areas),
    "nx": ("networkx, end to end", networkx_end_to_end),
    "nx_loop": ("networkx, loop only", networkx_loop),
    "ours_node": ("ours, node snapping, routing", ours_nodes),
    "pandana": ("pandana Network + nearest_pois", pandana_run),
    "within": (f"ours distances_within, {N_CANDIDATES:,} x all buildings", ours_within),
    "within_nearest": (f"ours nearest of the {N_CANDIDATES:,}, one run", ours_within_nearest),
}


# --- measuring --------------------------------------------------------------------------------


def _status_kb(pid: int | str, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


def _reset_peak(pid: int | str) -> None:
    """Reset a process's peak RSS (Linux >= 4.0), so VmHWM counts from now."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _child(key: str, path: str, repeat: int, conn: Any) -> None:
    try:
        with open(path, "rb") as f:
            c = pickle.load(f)
        fn = METHODS[key][1](c)
        gc.collect()
        _reset_peak("self")
        start_rss = _status_kb("self", "VmRSS")
        times, cpu = [], []
        walk = None
        for _ in range(repeat):
            t, p = time.perf_counter(), time.process_time()
            walk = fn()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - p)
        peak = (_status_kb("self", "VmHWM") - start_rss) / 1024
        conn.send(("ok", times, cpu, peak, walk))
    except BaseException:
        conn.send(("error", traceback.format_exc(), None, None, None))
    finally:
        conn.close()


def measure(key: str, path: str, repeat: int) -> Result | None:
    """Run a method ``repeat`` times in a fresh interpreter; None (and why) if it fails."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(key, path, repeat, child))
    proc.start()
    child.close()
    status, times, cpu, peak, walk = parent.recv()
    proc.join()
    method = METHODS[key][0]
    if status != "ok":
        log(f"{method}: FAILED\n{times}")
        return None
    each = ", ".join(f"{t:.2f}" for t in times)
    log(f"{method}: median {statistics.median(times):.3f} s ({each})")
    return Result(method, times, cpu, peak, walk)


def pgrouting(c: City, repeat: int) -> tuple[Result | None, str]:
    """Time pgr_drivingDistance in a throwaway cluster; return the result, or None and why."""
    import psycopg

    from layers import db

    g, bn, pn = _node_setup(c)
    b_nodes, p_nodes = _node_of(g, bn), _node_of(g, pn)
    root = Path(tempfile.mkdtemp(prefix="gridmap-bench-pgr-"))
    try:
        try:
            cluster = db.cluster_up(root, fast=True)
        except Exception as exc:  # report and go on without pgRouting
            return None, f"the cluster could not start: {exc}"
        conninfo = f"host=127.0.0.1 port={cluster.port} user={db.SUPERUSER} dbname={cluster.dbname}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE")
            except psycopg.Error as exc:
                why = exc.diag.message_primary
                return (
                    None,
                    f"pgRouting is not installed ({why}; apt package postgresql-15-pgrouting)",
                )
            version = conn.execute("SELECT pgr_version()").fetchone()
            conn.execute(
                "CREATE TABLE walk_edges (id bigint, source bigint, target bigint,"
                " cost float8, reverse_cost float8)"
            )
            t = time.perf_counter()
            buf = io.StringIO()
            pd.DataFrame(
                {
                    "id": np.arange(1, len(g.edge_u) + 1),
                    "source": g.edge_u + 1,
                    "target": g.edge_v + 1,
                    "cost": g.edge_length_m,
                    "reverse_cost": g.edge_length_m,
                }
            ).to_csv(buf, index=False, header=False, float_format="%.17g")
            with conn.cursor().copy("COPY walk_edges FROM STDIN (FORMAT csv)") as copy:
                copy.write(buf.getvalue())
            conn.execute("ANALYZE walk_edges")
            copy_s = time.perf_counter() - t
            starts = sorted({int(v) + 1 for v in p_nodes.tolist()})
            sql = (
                "SELECT node, agg_cost FROM pgr_drivingDistance("
                "'SELECT id, source, target, cost, reverse_cost FROM walk_edges',"
                " %s::bigint[], %s, directed := false, equicost := true)"
            )
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            pid = int(row[0])
            _reset_peak(pid)
            start_rss = _status_kb(pid, "VmRSS")
            times: list[float] = []
            rows: list[tuple[Any, ...]] = []
            for _ in range(repeat):
                t = time.perf_counter()
                rows = conn.execute(sql, (starts, c.limit_m)).fetchall()
                times.append(time.perf_counter() - t)
            peak = (_status_kb(pid, "VmHWM") - start_rss) / 1024
        best = np.full(g.n_nodes, np.nan)
        for node, cost in rows:
            best[int(node) - 1] = np.fmin(best[int(node) - 1], float(cost))
        walk = _within(best[b_nodes], c.limit_m)
        each = ", ".join(f"{x:.2f}" for x in times)
        log(
            f"pgRouting {version[0] if version else '?'}: median {statistics.median(times):.3f} s"
            f" ({each}); COPY of {len(g.edge_u):,} edges {copy_s:.2f} s"
        )
        note = f"+ COPY {copy_s:.2f} s; memory of the server backend"
        nan = [float("nan")] * len(times)
        return Result("pgRouting pgr_drivingDistance", times, nan, peak, walk, note), ""
    finally:
        db.cluster_down(root)
        shutil.rmtree(root, ignore_errors=True)


# --- main -------------------------------------------------------------------------------------


# The name ``--skip`` knows a method by.
SKIP_NAME = {
    "ours_areas": "areas",
    "nx": "networkx",
    "nx_loop": "networkx",
    "within_nearest": "within",
}


def run_all(c: City, args: argparse.Namespace) -> dict[str, Result]:
    g, _, _ = graph_and_snaps(c)
    log(
        f"network: {g.n_nodes:,} nodes, {len(g.edge_u):,} edges ({len(c.closed)} gates closed); "
        f"{len(c.buildings):,} buildings; {len(c.points)} service points; "
        f"limit {c.limit_m:g} m; {os.cpu_count()} cores"
    )
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as f:
        pickle.dump(c, f)
        path = f.name
    results: dict[str, Result] = {}
    try:
        for key in METHODS:
            if SKIP_NAME.get(key, key) in args.skip:
                continue
            module = {"nx": "networkx", "nx_loop": "networkx", "pandana": "pandana"}.get(key)
            if module is not None:
                try:
                    __import__(module)
                except ImportError:
                    log(f"{module}: NOT INSTALLED (pip install '.[dev,bench]'), skipped")
                    continue
            slow = key in ("ours_areas", "pandana")
            r = measure(key, path, args.slow_repeat if slow else args.repeat)
            if r is not None:
                if key == "ours_areas":
                    r.method = f"ours + {len(c.points)} service areas"
                results[key] = r
    finally:
        os.unlink(path)
    if "pgrouting" not in args.skip:
        try:
            pgr, why = pgrouting(c, args.repeat)
        except Exception:  # a competitor failing must not stop the bench
            pgr, why = None, traceback.format_exc()
        if pgr is None:
            log(f"pgRouting: NOT RUN: {why}")
        else:
            results["pgr"] = pgr
    return results


# What each row is compared with, and how the comparison is named.
BASE = {
    "ours_areas": ("ours", "end to end"),
    "nx": ("ours", "end to end"),
    "nx_loop": ("ours_routing", "routing only"),
    "pandana": ("ours_node", "node routing"),
    "pgr": ("ours_node", "node routing"),
}


def compare(a: Walks | None, b: Walks | None) -> str:
    if a is None or b is None:
        return "n/a"
    ca, cb = np.isfinite(a), np.isfinite(b)
    both = ca & cb
    diff = float(np.abs(a[both] - b[both]).max(initial=0.0))
    n = int((ca != cb).sum())
    sets = "identical covered sets" if n == 0 else f"{n:,} buildings covered by one only"
    return f"{sets}; walks differ by at most {diff:.2g} m"


def report(results: dict[str, Result], n_buildings: int) -> None:
    log("")
    log("| method | median s | p95 s | CPU s | peak MB | ratio to ours | note |")
    log("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for key, r in results.items():
        med = statistics.median(r.times)
        ratio = ""
        if key in BASE and BASE[key][0] in results:
            ref, name = BASE[key]
            ratio = f"{med / statistics.median(results[ref].times):.1f}x ({name})"
        cpu = statistics.median(r.cpu)
        cpu_s = "" if np.isnan(cpu) else f"{cpu:.2f}"
        p95 = float(np.percentile(r.times, 95))
        log(
            f"| {r.method} | {med:.3f} | {p95:.3f} | {cpu_s} | {r.peak_mb:.0f} | "
            f"{ratio} | {r.note} |"
        )
    log("")

    def walk(k: str) -> Walks | None:
        return results[k].walk if k in results else None

    ours = walk("ours")
    if ours is not None:
        log(f"covered by ours: {int(np.isfinite(ours).sum()):,} of {n_buildings:,} buildings")
    log(f"ours vs networkx (same snapping to edges): {compare(ours, walk('nx'))}")
    log(f"ours routing only vs ours end to end: {compare(walk('ours_routing'), ours)}")
    log(f"ours node snapping vs pandana: {compare(walk('ours_node'), walk('pandana'))}")
    log(f"ours node snapping vs pgRouting: {compare(walk('ours_node'), walk('pgr'))}")
    log(f"ours, snapping to edges vs to nodes: {compare(ours, walk('ours_node'))}")
    log(
        f"nearest of the {N_CANDIDATES:,} candidates, from the distances_within matrix vs one "
        f"multi-source run: {compare(walk('within'), walk('within_nearest'))}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--buildings", type=int, default=50_000)
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--slow-repeat", type=int, default=3, help="repeats of areas and pandana")
    ap.add_argument("--limit", type=float, default=sc.DEFAULT_LIMIT_M, help="walking metres")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--skip", nargs="*", default=[], help="any of: areas networkx pandana pgrouting within"
    )
    args = ap.parse_args(argv)
    c = make_city(args.buildings, args.points, args.seed, float(args.limit))
    load_before = os.getloadavg()[0]
    results = run_all(c, args)
    load_after = os.getloadavg()[0]
    report(results, len(c.buildings))
    log(f"1-min load average {load_before:.2f} before, {load_after:.2f} after measuring")


if __name__ == "__main__":
    main()
