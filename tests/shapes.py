"""The shapes a real community has during its life, built from the hand-drawn test community.

Each shape is the test community "T1" of :mod:`tests.factories` with some layers left out or
changed, as real places come: no compounds at all (most OpenStreetMap extracts), compounds
without walls or gates, a walled compound with no gate (sealed), no service points, no
walking network, no candidate venues, a single building, a network that misses a building,
and a second community "T2" beside T1 in the same database.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
from shapely.geometry import LineString, box

from tests import factories

Layers = dict[str, gpd.GeoDataFrame]


def _base() -> tuple[Layers, gpd.GeoDataFrame | None]:
    return factories.community_layers(), factories.network_lines()


def _drop(layers: Layers, *names: str) -> Layers:
    return {k: v for k, v in layers.items() if k not in names}


def no_compounds() -> tuple[Layers, gpd.GeoDataFrame | None]:
    layers, ways = _base()
    return _drop(layers, "compounds", "gates", "barriers"), ways


def compounds_without_walls() -> tuple[Layers, gpd.GeoDataFrame | None]:
    """Compounds drawn, but no gates or walls surveyed yet: the compounds are open."""
    layers, ways = _base()
    return _drop(layers, "gates", "barriers"), ways


def sealed_compound() -> tuple[Layers, gpd.GeoDataFrame | None]:
    """A wall all around C1 and no gate: B1 and B2 inside cannot be reached."""
    layers, ways = _base()
    ring = LineString(list(box(100, 100, 400, 400).exterior.coords))
    layers = _drop(layers, "gates")
    layers["barriers"] = factories.frame([{"code": "W9", "kind": "wall", "geometry": ring}])
    return layers, ways


def no_service_points() -> tuple[Layers, gpd.GeoDataFrame | None]:
    layers, ways = _base()
    return _drop(layers, "service_points"), ways


def no_network() -> tuple[Layers, gpd.GeoDataFrame | None]:
    layers, _ = _base()
    return layers, None


def no_candidates() -> tuple[Layers, gpd.GeoDataFrame | None]:
    layers, ways = _base()
    return _drop(layers, "candidate_venues"), ways


def one_building() -> tuple[Layers, gpd.GeoDataFrame | None]:
    """Only B3, in the open, with its service point and the network."""
    layers, ways = _base()
    layers = _drop(layers, "compounds", "gates", "barriers", "candidate_venues")
    layers["buildings"] = layers["buildings"][layers["buildings"]["code"] == "B3"]
    return layers, ways


def network_misses_a_building() -> tuple[Layers, gpd.GeoDataFrame | None]:
    """The network covers the south-west only; B3 (600, 600) is ~400 m from the nearest way."""
    layers, ways = _base()
    assert ways is not None
    short = {
        "R1": LineString([(0, 50), (250, 50), (450, 50)]),
        "R2": LineString([(450, 50), (450, 250)]),
    }
    ways = ways.copy()
    for code, line in short.items():
        ways.loc[ways["code"] == code, "geometry"] = factories.frame(
            [{"code": code, "geometry": line}]
        ).geometry.iloc[0]
    return layers, ways


SHAPES: dict[str, Callable[[], tuple[Layers, gpd.GeoDataFrame | None]]] = {
    "no_compounds": no_compounds,
    "compounds_without_walls": compounds_without_walls,
    "sealed_compound": sealed_compound,
    "no_service_points": no_service_points,
    "no_network": no_network,
    "no_candidates": no_candidates,
    "one_building": one_building,
    "network_misses_a_building": network_misses_a_building,
}


def second_community() -> Layers:
    """Community "T2": 1 km east of T1, one building, one service point, no compounds."""
    layers = factories.community_layers()
    moved: Layers = {}
    for name in ("communities", "buildings", "service_points"):
        frame = layers[name]
        if name == "buildings":
            frame = frame[frame["code"] == "B3"]
        frame = frame.copy()
        metric = frame.to_crs(factories.METRIC)
        frame = metric.set_geometry(metric.geometry.translate(xoff=1000)).to_crs("EPSG:4326")
        if name == "communities":
            frame["code"], frame["name"] = "T2", "第二测试社区"
        else:
            frame["code"] = "T2-" + frame["code"]
            frame["community"] = "T2"
        moved[name] = frame
    return moved


def load(
    url: str,
    layers: Layers,
    ways: gpd.GeoDataFrame | None,
    *extra: Layers,
    community: str = "T1",
) -> None:
    """Commit ``layers``, then ``extra`` communities, then the network built from ``ways``.

    One transaction on the database at ``url``; the network is ``community``'s.
    """
    from layers import db
    from layers.importing import import_frame
    from layers.walkways import import_ways

    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            for frames in (layers, *extra):
                for layer, gdf in frames.items():
                    import_frame(session, layer, gdf)
            if ways is not None:
                import_ways(session, ways, community=community)
    finally:
        engine.dispose()
