"""The hand-checked network of the analysis tests (no DB), and a networkx graph to check on.

The hand network (metres, EPSG:32649, offset to a real UTM 49N spot)::

                         n11 (110,200)
                          |
      walled compound C1  |      B3 (50,115) snaps to the east street at (110,115)
      (0,0)-(100,100)     |
      n7 (50,60)--n8 (99,60)=G-E=n9 (101,60)--n10 (110,60)
       |                  |
      n6 (50,1)           |
      =G-S=               |
      n5 (50,-1)          |
  n1 ---SP1-B4--------- n2 (50,-10) ------ n3 (110,-10) ----- (200,-10) ---- n4 (300,-10)
 (-200,-10)                 \\____ parallel detour (80,-40) ____/

SP1 at (-100,-20) joins the south street at (-100,-10) (access 10); B1 at (50,80) joins n7
(access 20); B2 at (92,90) may not take the east street 18 m away (wall) and joins the lane
at (92,60) (access 30); B4 at (-60,-40) joins the south street at (-60,-10) (access 30), on
SP1's own edge.

:func:`split_graph` builds an explicit networkx graph from a walknet graph and its snaps, to
route independently of walknet.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx
import numpy as np

import shapely

from gis_api.analysis import walknet as wn

X0, Y0 = 700_000.0, 2_540_000.0

NODES: dict[int, tuple[float, float]] = {
    9001: (-200, -10),
    42: (50, -10),
    7: (110, -10),
    123_456_789_012: (300, -10),
    500: (50, -1),
    501: (50, 1),
    600: (50, 60),
    700: (99, 60),
    701: (101, 60),
    800: (110, 60),
    900: (110, 200),
}
# source, target, gate, inner vertices
EDGES: list[tuple[int, int, str | None, list[tuple[float, float]]]] = [
    (9001, 42, None, []),  # south street, west part (SP1 and B4 on it)
    (42, 7, None, []),
    (7, 123_456_789_012, None, [(200, -10)]),
    (42, 500, None, []),  # connector to the south gate
    (500, 501, "G-S", []),  # the south gate, 2 m
    (501, 600, None, []),  # lane L1
    (600, 700, None, []),  # lane L2
    (700, 701, "G-E", []),  # the east gate, 2 m
    (701, 800, None, []),  # connector from the east gate
    (7, 800, None, []),  # east street, south part
    (800, 900, None, []),  # east street, north part
    (42, 7, None, [(80, -40)]),  # a parallel, longer detour
]
COMPOUND = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
BUILDING_XY = {"B1": (50, 80), "B2": (92, 90), "B3": (50, 115), "B4": (-60, -40)}
POINT_XY = {"SP1": (-100, -20), "SP3": (60, 130)}


def xy(p: tuple[float, float]) -> tuple[float, float]:
    return (X0 + p[0], Y0 + p[1])


def hand_edges() -> dict[str, Any]:
    """The hand network as plain columns."""
    geoms = [
        shapely.LineString([xy(NODES[s]), *(xy(p) for p in inner), xy(NODES[t])])
        for s, t, _, inner in EDGES
    ]
    return {
        "source": np.array([e[0] for e in EDGES], dtype=np.int64),
        "target": np.array([e[1] for e in EDGES], dtype=np.int64),
        "gate": np.array([e[2] for e in EDGES], dtype=object),
        "geometry": np.array(geoms, dtype=object),
        "length_m": np.asarray(shapely.length(geoms), dtype=np.float64),
    }


def split_graph(graph: wn.WalkGraph, groups: dict[str, wn.Snapped]) -> nx.Graph:
    """An explicit networkx graph: every edge split at every snap point, features as leaves.

    Independent of walknet's virtual-source arithmetic: features are ordinary nodes
    ``(tag, i)`` hanging on their access leg from a node placed on the street.
    """
    G = nx.Graph()

    def add(a: Any, b: Any, w: float) -> None:
        if not G.has_edge(a, b) or G[a][b]["weight"] > w:
            G.add_edge(a, b, weight=w)

    on: dict[int, set[float]] = defaultdict(set)
    for snapped in groups.values():
        for e, t in zip(snapped.edge.tolist(), snapped.t.tolist(), strict=True):
            if e >= 0:
                on[e].add(t)
    for e in range(len(graph.edge_u)):
        u, v, length = int(graph.edge_u[e]), int(graph.edge_v[e]), float(graph.edge_length_m[e])
        ts = sorted(on.get(e, set()))
        chain = [("n", u), *(("s", e, t) for t in ts), ("n", v)]
        at = [0.0, *ts, 1.0]
        for i in range(len(chain) - 1):
            if chain[i] != chain[i + 1]:
                add(chain[i], chain[i + 1], (at[i + 1] - at[i]) * length)
    for tag, snapped in groups.items():
        for i in range(len(snapped)):
            e = int(snapped.edge[i])
            if e >= 0:
                add((tag, i), ("s", e, float(snapped.t[i])), float(snapped.access_m[i]))
    return G
