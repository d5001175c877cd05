"""Time ``generate_city`` and count its layers and network: ``bench/bench_synth.py N [seed]``."""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from layers.crs import to_metric
from layers.network import build_network
from layers.synth import generate_city


def network_size(ways: gpd.GeoDataFrame) -> tuple[int, int]:
    """Edges and nodes once lines are split where they share a vertex (as the builder does)."""
    xy, line = shapely.get_coordinates(ways.geometry.to_numpy(), return_index=True)
    df = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "line": line})
    uses = df.drop_duplicates().groupby(["x", "y"]).size().rename("uses")
    df = df.join(uses, on=["x", "y"])
    new_line = line[1:] != line[:-1]
    end = np.r_[True, new_line] | np.r_[new_line, True]
    node = (df["uses"].to_numpy() >= 2) | end
    edges = int((np.bincount(line, weights=node) - 1).sum())
    return edges, len(df[node].drop_duplicates(["x", "y"]))


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 50_000
    seed = int(argv[2]) if len(argv) > 2 else 7
    started = time.perf_counter()
    city = generate_city(n_buildings=n, seed=seed)
    seconds = time.perf_counter() - started
    print(f"generate_city(n_buildings={n}, seed={seed}): {seconds:.2f} s")
    for name, frame in city.layers.items():
        print(f"  {name:<17}{len(frame):>9,}")
    edges, nodes = network_size(city.ways)
    buildings = len(city.layers["buildings"])
    print(f"  {'ways':<17}{len(city.ways):>9,}")
    print(f"  network: {edges:,} edges, {nodes:,} nodes ({edges / buildings:.2f} edges/building)")
    # The routable network as `gridmap import network` stores it: walls cut, gates passages.
    started = time.perf_counter()
    metric = to_metric(city.ways.geometry).crs
    walled = city.layers["compounds"].to_crs(metric)
    gates = city.layers["gates"].to_crs(metric)
    walls = walled.geometry.boundary.explode(index_parts=False)
    net = build_network(city.ways.to_crs(metric), barriers=walls, gates=gates)
    seconds = time.perf_counter() - started
    gate_edges = int(net.edges["gate_code"].notna().sum())
    print(
        f"build_network: {seconds:.2f} s -> {len(net.nodes):,} nodes, {len(net.edges):,} edges, "
        f"{gate_edges:,} gate edges, {len(net.unconnected_gates):,} gates unconnected"
    )


if __name__ == "__main__":
    main(sys.argv)
