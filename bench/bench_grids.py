"""Grid delineation on a generated district: ours against spopt's max-p and k-means.

``python -m bench.bench_grids [--buildings 50000] [--seeds 1] [--budget 10] [--communities 0]
[--no-spopt] [--equal-time]``

Issue 17: delineate a 50,000-building district and print the time and the spread of
households per grid beside a regionalization baseline from a well-known library, in the
same run. The district is ``layers.synth.generate_city(n_buildings, seed)`` as
bench/cities.py readies it (UTM, each building's compound by location); one district per
seed. Grids never cross a community's boundary, so the district is delineated community by
community (about 450 buildings each), which is also how a street office draws them.

Per community, on the same layers:

- **ours**: :func:`gis_api.analysis.grids.delineate_grids` with the defaults (300-500
  households, at most 2,500 residents), streets = the primary, secondary, tertiary,
  residential and unclassified ways, paths = the footways and service ways (the lanes that
  cut a large compound), ``--budget`` seconds of search per community;
- **spopt max-p**: ``spopt.region.MaxPHeuristic`` (PySAL spopt 0.7; the max-p-regions
  heuristic of Duque, Anselin and Rey) on exactly our unit graph (compounds that fit, the
  buildings of larger ones and loose buildings; their territories' shared boundaries as
  neighbours), households as the spatially extensive attribute, threshold 300 (the grid
  floor; max-p has no ceiling), the units' centroids as the attributes it keeps
  homogeneous (compact regions), its default iterations (it has no time budget);
- **ours, max-p's time** (``--equal-time``): ours again with max-p's wall time on the same
  community as its search budget (our preparation, which max-p is given for free, on top);
- **k-means**: scikit-learn's ``KMeans`` on the buildings' representative points weighted by
  households, with our ``k`` (so it is told the number of grids), ``n_init=10``: the
  weaker baseline (no contiguity, no compounds, no thresholds).

Figures, over every grid of the district: households per grid (min / median / max), the
share of grids within [300, 500] households and the share meeting every threshold (also
residents <= 2,500); compounds that fit (<= 500 households) but whose buildings are in two
grids or more; mean Polsby-Popper of the grids (ours and max-p: dissolved territories;
k-means has no polygons); the share of the boundaries between grids that runs along streets
(within 5 m; ours and max-p, on the units' shared boundaries); for ours, why the grids
outside a threshold are (from their notes). Time: the total over the communities (ours: with
the preparation of units and territories), and the median per community. The 1-minute load
average is printed before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from bench import cities
from gis_api.analysis import grids as gr

STREET_KINDS = ("primary", "secondary", "tertiary", "residential", "unclassified")
PATH_KINDS = ("footway", "service")
LOW, HIGH, MAX_RESIDENTS = 300.0, 500.0, 2500.0


@dataclass
class Method:
    """What one method gave over the district's communities."""

    name: str
    seconds: list[float] = field(default_factory=list)
    households: list[float] = field(default_factory=list)
    residents: list[float] = field(default_factory=list)
    pp: list[float] = field(default_factory=list)
    compounds_cut: int = 0
    compounds_fit: int = 0
    cut_m: float = 0.0
    street_m: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)

    def boundaries(self, units: gr.GridUnits, label: np.ndarray) -> None:
        """Add the boundaries between the regions of units, and their metres along streets."""
        cut = label[units.edge_i] != label[units.edge_j]
        self.cut_m += float(units.edge_length_m[cut].sum())
        self.street_m += float(units.edge_street_m[cut].sum())

    def add(self, hh: np.ndarray, res: np.ndarray, pp: np.ndarray | None) -> None:
        self.households.extend(hh.tolist())
        self.residents.extend(res.tolist())
        if pp is not None:
            self.pp.extend(pp.tolist())

    def row(self) -> dict[str, Any]:
        hh = np.asarray(self.households)
        res = np.asarray(self.residents)
        within = (hh >= LOW) & (hh <= HIGH)
        return {
            "method": self.name,
            "grids": len(hh),
            "total_s": sum(self.seconds),
            "median_s": statistics.median(self.seconds) if self.seconds else math.nan,
            "hh_min": float(hh.min()) if len(hh) else math.nan,
            "hh_median": float(np.median(hh)) if len(hh) else math.nan,
            "hh_max": float(hh.max()) if len(hh) else math.nan,
            "within_hh": float(within.mean()) if len(hh) else math.nan,
            "within_all": float((within & (res <= MAX_RESIDENTS)).mean()) if len(hh) else math.nan,
            "compounds_cut": self.compounds_cut,
            "compounds_fit": self.compounds_fit,
            "mean_pp": float(np.mean(self.pp)) if self.pp else math.nan,
            "street_share": self.street_m / self.cut_m if self.cut_m > 0 else math.nan,
        }


def community_layers(city: cities.City, code: str) -> dict[str, Any]:
    """The inputs of :func:`delineate_grids` for one community of a generated district."""
    b = city.buildings
    mine = b[b["community"] == code]
    comp = city.layers["compounds"]
    ways = city.ways
    return {
        "community": city.layers["communities"].query("code == @code"),
        "compounds": comp[comp["community"] == code].rename(columns={"code": "id"})[
            ["id", "geometry"]
        ],
        "buildings": gpd.GeoDataFrame(
            {
                "id": mine["code"].to_numpy(),
                "compound_id": mine["compound"].to_numpy(),
                "households": mine["households"].to_numpy(),
                "residents": mine["residents"].to_numpy(),
            },
            geometry=mine.geometry.to_numpy(),
            crs=mine.crs,
        ),
        "streets": ways[ways["highway"].isin(STREET_KINDS)][["geometry"]],
        "paths": ways[ways["highway"].isin(PATH_KINDS)][["geometry"]],
    }


def cut_compounds(buildings: gpd.GeoDataFrame, label: np.ndarray) -> tuple[int, int]:
    """(fitting compounds whose buildings have two labels or more, fitting compounds)."""
    frame = pd.DataFrame(
        {"c": buildings["compound_id"].to_numpy(), "h": buildings["households"], "g": label}
    ).dropna(subset=["c"])
    per = frame.groupby("c").agg(h=("h", "sum"), g=("g", "nunique"))
    fits = per[per["h"] <= HIGH]
    return int((fits["g"] > 1).sum()), len(fits)


def pp_of(units: gr.GridUnits, label: np.ndarray) -> np.ndarray:
    """Polsby-Popper of each region of units, from their dissolved territories."""
    out = []
    for q in np.unique(label):
        geom = shapely.union_all(units.territories[label == q], grid_size=0.01)
        out.append(4 * math.pi * geom.area / geom.length**2 if geom.length > 0 else 0.0)
    return np.asarray(out)


REASONS = (
    ("只有 1 栋楼", "one-building compound over the maximum"),
    ("单栋成一个网格", "one building over the maximum"),
    ("单独不足", "a unit too small alone, too big with any neighbour"),
    ("时间上限", "none found in the time budget"),
    ("无法每格都在", "no k meets both limits"),
)


def reason(note: str) -> str:
    """The kind of a grid's note (its zh-CN reason), in English for the bench's table."""
    return next((en for zh, en in REASONS if zh in note), "other")


def run_ours(layers: dict[str, Any], budget: float, seed: int, m: Method) -> gr.GridPlan:
    t = time.perf_counter()
    plan = gr.delineate_grids(
        layers["community"],
        layers["compounds"],
        layers["buildings"],
        streets=layers["streets"],
        paths=layers["paths"],
        seed=seed,
        time_budget_s=budget,
    )
    m.seconds.append(time.perf_counter() - t)
    g = plan.grids
    m.add(g["households"].to_numpy(), g["residents"].to_numpy(), g["polsby_popper"].to_numpy())
    m.reasons.update(reason(n) for n in g.loc[~g["within_limits"], "note"])
    label = plan.buildings["grid"].to_numpy(dtype=object)
    u = plan.units
    unit_grid = pd.Series(label, index=plan.buildings["building_id"]).reindex(u.building_ids)
    part = np.zeros(u.n_units, dtype=np.int64)
    part[u.building_unit] = pd.factorize(unit_grid.to_numpy())[0]
    m.boundaries(u, part)
    cut, fit = cut_compounds(layers["buildings"], label)
    m.compounds_cut += cut
    m.compounds_fit += fit
    return plan


def run_maxp(plan: gr.GridPlan, layers: dict[str, Any], seed: int, m: Method) -> float:
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    u = plan.units
    nbr: dict[int, list[int]] = {i: [] for i in range(u.n_units)}
    for i, j in zip(u.edge_i.tolist(), u.edge_j.tolist(), strict=True):
        nbr[i].append(j)
        nbr[j].append(i)
    c = shapely.centroid(u.territories)
    gdf = gpd.GeoDataFrame(
        {"x": shapely.get_x(c), "y": shapely.get_y(c), "hh": u.households},
        geometry=list(u.territories),
        crs=u.crs,
    )
    np.random.seed(seed)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MaxPHeuristic(gdf, W(nbr, silence_warnings=True), ["x", "y"], "hh", LOW)
        model.solve()
    m.seconds.append(time.perf_counter() - t)
    label = np.asarray(model.labels_, dtype=np.int64)
    hh = np.bincount(label, weights=u.households)
    res = np.bincount(label, weights=u.residents)
    used = np.unique(label)
    m.add(hh[used], res[used], pp_of(u, label))
    m.boundaries(u, label)
    by_building = dict(zip(u.building_ids.tolist(), label[u.building_unit].tolist(), strict=True))
    got = np.asarray(
        [by_building.get(b, -1) for b in layers["buildings"]["id"].tolist()], dtype=np.int64
    )
    cut, fit = cut_compounds(layers["buildings"], got)
    m.compounds_cut += cut
    m.compounds_fit += fit
    return m.seconds[-1]


def run_kmeans(layers: dict[str, Any], k: int, seed: int, m: Method) -> None:
    from sklearn.cluster import KMeans

    b = layers["buildings"]
    pts = b.geometry.representative_point()
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    hh = b["households"].to_numpy(dtype=float)
    t = time.perf_counter()
    k = max(1, min(k, len(b)))
    label = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(xy, sample_weight=hh).labels_
    m.seconds.append(time.perf_counter() - t)
    label = np.asarray(label, dtype=np.int64)
    used = np.unique(label)
    m.add(
        np.bincount(label, weights=hh)[used],
        np.bincount(label, weights=b["residents"].to_numpy(dtype=float))[used],
        None,
    )
    cut, fit = cut_compounds(b, label)
    m.compounds_cut += cut
    m.compounds_fit += fit


def fmt(v: float, digits: int = 0) -> str:
    return "-" if not math.isfinite(v) else f"{v:,.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=10.0, help="our search, s per community")
    parser.add_argument("--communities", type=int, default=0, help="only the first N (0: all)")
    parser.add_argument("--no-spopt", action="store_true")
    parser.add_argument(
        "--equal-time",
        action="store_true",
        help="also run ours with max-p's time per community as its search budget",
    )
    args = parser.parse_args()
    spopt = not args.no_spopt and importlib.util.find_spec("spopt") is not None
    kmeans = importlib.util.find_spec("sklearn") is not None
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        t = time.perf_counter()
        city = cities.generate(args.buildings, seed=seed)
        b = city.buildings
        codes = sorted(b["community"].dropna().unique())
        if args.communities:
            codes = codes[: args.communities]
        print(
            f"seed {seed}: {len(b):,} buildings, {int(b['households'].sum()):,} households, "
            f"{len(codes)} communities, generated in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        ours, maxp, km = Method("ours"), Method("spopt MaxPHeuristic"), Method("k-means")
        same = Method("ours, max-p's time")
        units = []
        for i, code in enumerate(codes):
            layers = community_layers(city, code)
            plan = run_ours(layers, args.budget, seed, ours)
            units.append(plan.units.n_units)
            if spopt:
                spent = run_maxp(plan, layers, seed, maxp)
                if args.equal_time:
                    run_ours(layers, max(spent, 0.05), seed, same)
            if kmeans:
                run_kmeans(layers, plan.k, seed, km)
            if (i + 1) % 10 == 0 or i + 1 == len(codes):
                print(
                    f"  {i + 1}/{len(codes)} communities: ours {sum(ours.seconds):.0f} s, "
                    f"max-p {sum(maxp.seconds):.0f} s, k-means {sum(km.seconds):.0f} s",
                    flush=True,
                )
        print(f"  units per community: median {statistics.median(units):.0f}, max {max(units)}")
        for m in (ours, same, maxp, km):
            if m.seconds:
                rows.append({"seed": seed, **m.row()})
                if m.reasons:
                    shown = ", ".join(f"{n} {why}" for why, n in m.reasons.most_common())
                    print(f"  {m.name}, grids outside the thresholds: {shown}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    table = pd.DataFrame(rows)
    med = table.groupby("method", sort=False).median(numeric_only=True)
    print(
        "\n| method | grids | time s (total) | s per community (median) | households min | "
        "median | max | within 300-500 | all thresholds | fitting compounds cut | mean PP | "
        "boundaries on streets |"
    )
    print("|" + " --- |" * 12)
    for name, r in med.iterrows():
        print(
            f"| {name} | {fmt(r['grids'])} | {fmt(r['total_s'], 1)} | {fmt(r['median_s'], 2)} | "
            f"{fmt(r['hh_min'])} | {fmt(r['hh_median'])} | {fmt(r['hh_max'])} | "
            f"{fmt(100 * r['within_hh'], 1)} % | {fmt(100 * r['within_all'], 1)} % | "
            f"{fmt(r['compounds_cut'])} of {fmt(r['compounds_fit'])} | {fmt(r['mean_pp'], 3)} | "
            f"{fmt(100 * r['street_share'], 1)} % |"
        )
    if args.seeds > 1:
        print("\n(medians over the seeds' figures)")


if __name__ == "__main__":
    main()
