"""The stored walking network: import walkable ways and rebuild the routable edge table.

Ways are kept as imported (``walk_ways``); the routable ``walk_nodes``/``walk_edges`` are
derived from them, the walls (barriers and the boundaries of compounds that have gates) and
the gates, and rebuilt whenever any of those change, so a gate imported after the network
still becomes the only way through its wall.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from layers import crs as crsmod
from layers.errors import BadFile
from layers.io.osm import read_lines, read_osm
from layers.network import build_network
from layers.queries import community_id, copy_rows, read_frame
from layers.reports import ImportReport, Progress

OSM_SUFFIXES = (".pbf", ".osm", ".xml")


def import_network(
    session: Session,
    path: Path,
    *,
    community: str,
    crs: str | None = None,
    buffer_m: float = 500.0,
    gate_tolerance_m: float = 15.0,
    progress: Progress | None = None,
) -> ImportReport:
    """Replace the community's walking network with the walkable ways of ``path``.

    OpenStreetMap files (``.osm.pbf``, ``.osm``) are WGS84 by definition; GeoJSON (lines)
    files may be in any CRS ``crs`` names. Ways are clipped to the community's boundary
    grown by ``buffer_m``, so residents near the edge can walk out and back in.
    """
    started = time.perf_counter()
    name = path.name.lower()
    if name.endswith(OSM_SUFFIXES):
        given = crsmod.parse_crs(crs) if crs is not None else crsmod.WGS84
        if given.kind != "epsg" or given.epsg not in (4326, 4490):
            msg = "OpenStreetMap 文件总是 WGS84 坐标，不能指定其他 --crs"
            raise BadFile(msg, loc=("crs",))
        ways = read_osm(path).ways
    else:
        ways = read_lines(path)
        if crs is not None:
            spec = crsmod.parse_crs(crs)
        elif ways.crs is not None and ways.crs.to_epsg() is not None:
            spec = crsmod.parse_crs(f"EPSG:{ways.crs.to_epsg()}")
        else:
            spec = crsmod.WGS84
        if ways.crs is None or spec.kind != "epsg":
            ways = ways.set_crs(f"EPSG:{spec.epsg}", allow_override=True)
        ways = ways.set_geometry(crsmod.to_wgs84(ways.geometry, spec))
    if progress:
        progress("read", len(ways), len(ways))
    report = import_ways(
        session,
        ways,
        community=community,
        buffer_m=buffer_m,
        gate_tolerance_m=gate_tolerance_m,
        progress=progress,
    )
    report.seconds = time.perf_counter() - started
    return report


def import_ways(
    session: Session,
    ways: gpd.GeoDataFrame,
    *,
    community: str,
    buffer_m: float = 500.0,
    gate_tolerance_m: float = 15.0,
    progress: Progress | None = None,
) -> ImportReport:
    """Replace the community's walkable ways with ``ways`` (WGS84) and rebuild its network.

    ``ways`` has a ``code`` column and optional ``highway``/``name``; lines are clipped to
    the community's boundary grown by ``buffer_m``.
    """
    started = time.perf_counter()
    cid = community_id(session, community)
    for col in ("highway", "name"):
        if col not in ways:
            ways = ways.assign(**{col: None})
    ways = _clip(session, cid, ways, buffer_m)
    if len(ways) == 0:
        msg = f"没有位于社区“{community}”附近的步行道路"
        raise BadFile(msg, loc=("file",))
    before = set(
        session.execute(
            text("SELECT code FROM walk_ways WHERE community_id = :cid"), {"cid": cid}
        ).scalars()
    )
    session.execute(text("DELETE FROM walk_ways WHERE community_id = :cid"), {"cid": cid})
    codes = _store_ways(session, cid, ways, progress=progress)
    report = ImportReport(layer="network", rows=len(ways), crs=crsmod.WGS84.label)
    report.added = len(codes - before)
    report.updated = len(codes & before)
    report.removed = len(before - codes)
    report.nodes, report.edges = rebuild_network(
        session, cid, gate_tolerance_m=gate_tolerance_m, progress=progress
    )
    report.seconds = time.perf_counter() - started
    return report


def share_ways(
    session: Session, cid: int, ways: gpd.GeoDataFrame, *, buffer_m: float = 500.0
) -> tuple[int, int]:
    """Give community ``cid`` the parts of ``ways`` near it and build its network.

    For a community made by a split: its ways are the old community's, clipped as an
    import clips them. Return ``(nodes, edges)`` of the network built.
    """
    ways = _clip(session, cid, ways, buffer_m)
    session.execute(text("DELETE FROM walk_ways WHERE community_id = :cid"), {"cid": cid})
    if len(ways):
        _store_ways(session, cid, ways)
    return rebuild_network(session, cid)


def _store_ways(
    session: Session, cid: int, ways: gpd.GeoDataFrame, *, progress: Progress | None = None
) -> set[str]:
    rows = pd.DataFrame(
        {
            "community_id": cid,
            "code": ways["code"].astype(str),
            "highway": ways["highway"],
            "name": ways["name"],
            "geom": _ewkt(ways.geometry),
        }
    )
    copy_rows(session, "walk_ways", list(rows.columns), rows, progress=progress)
    return set(rows["code"])


def _clip(session: Session, cid: int, ways: gpd.GeoDataFrame, buffer_m: float) -> gpd.GeoDataFrame:
    """Keep the parts of ``ways`` within ``buffer_m`` of the community, one code per part."""
    boundary = session.execute(
        text("SELECT ST_AsBinary(geom) FROM communities WHERE id = :cid"), {"cid": cid}
    ).scalar_one()
    area = gpd.GeoSeries([shapely.from_wkb(bytes(boundary))], crs="EPSG:4326")
    metric = crsmod.metric_crs(area)
    zone = area.to_crs(metric).buffer(buffer_m).to_crs("EPSG:4326").iloc[0]
    ways = ways[ways.geometry.notna() & ~ways.geometry.is_empty]
    ways = ways.iloc[ways.sindex.query(zone, predicate="intersects")].copy()
    ways["geometry"] = ways.geometry.intersection(zone)
    ways = ways.explode(index_parts=False)
    ways = ways[ways.geom_type == "LineString"].copy()
    part = ways.groupby(level=0).cumcount().to_numpy()
    many = ways.index.duplicated(keep=False)
    ways["code"] = np.where(
        many, ways["code"].astype(str) + "-" + (part + 1).astype(str), ways["code"].astype(str)
    )
    return ways.reset_index(drop=True)


def rebuild_networks(
    session: Session, community_ids: list[int], *, gate_tolerance_m: float = 15.0
) -> None:
    """Rebuild the networks of those communities that have one (walls or gates changed)."""
    with_ways = (
        session.execute(
            text("SELECT DISTINCT community_id FROM walk_ways WHERE community_id = ANY(:ids)"),
            {"ids": community_ids},
        )
        .scalars()
        .all()
    )
    for cid in with_ways:
        rebuild_network(session, cid, gate_tolerance_m=gate_tolerance_m)


def rebuild_network(
    session: Session,
    cid: int,
    *,
    gate_tolerance_m: float = 15.0,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Rebuild the community's routable nodes and edges; return ``(nodes, edges)``."""
    params = {"cid": cid}
    ways = read_frame(
        session, "SELECT code, highway, name, geom FROM walk_ways WHERE community_id = :cid", params
    )
    walls = read_frame(
        session,
        """
            SELECT (ST_Dump(geom)).geom AS geom FROM barriers WHERE community_id = :cid
            UNION ALL
            SELECT ST_Boundary((ST_Dump(c.geom)).geom) FROM compounds c
            WHERE c.community_id = :cid
              AND EXISTS (SELECT 1 FROM gates g WHERE g.compound_id = c.id)
        """,
        params,
    )
    gates = read_frame(
        session, "SELECT id, code, geom FROM gates WHERE community_id = :cid", params
    )
    session.execute(text("DELETE FROM walk_edges WHERE community_id = :cid"), params)
    session.execute(text("DELETE FROM walk_nodes WHERE community_id = :cid"), params)
    if len(ways) == 0:
        return 0, 0
    metric = crsmod.metric_crs(ways.geometry)
    walls_m = walls.geometry.explode(index_parts=False).to_crs(metric)
    net = build_network(
        ways.rename_geometry("geometry").to_crs(metric),
        barriers=walls_m if len(walls_m) else None,
        gates=gates.rename_geometry("geometry").to_crs(metric) if len(gates) else None,
        gate_tolerance_m=gate_tolerance_m,
    )
    n_nodes, n_edges = len(net.nodes), len(net.edges)
    # Reserve a block of ids so node ids stay unique across communities.
    first = int(session.execute(text("SELECT nextval('walk_nodes_id_seq')")).scalar_one())
    session.execute(text("SELECT setval('walk_nodes_id_seq', :last)"), {"last": first + n_nodes})
    nodes = net.nodes.to_crs("EPSG:4326")
    node_rows: list[tuple[Any, ...]] = list(
        zip(
            (first + nodes["node_id"].to_numpy()).tolist(),
            [cid] * n_nodes,
            nodes["component"].astype(int).tolist(),
            _ewkt(nodes.geometry),
            strict=True,
        )
    )
    copy_rows(session, "walk_nodes", ["id", "community_id", "component", "geom"], node_rows)
    edges = net.edges.to_crs("EPSG:4326")
    gate_ids = dict(zip(gates["code"], gates["id"], strict=True))
    edge_rows = list(
        zip(
            [cid] * n_edges,
            (first + edges["source"].to_numpy()).tolist(),
            (first + edges["target"].to_numpy()).tolist(),
            edges["length_m"].astype(float).tolist(),
            _nullable(edges["highway"]),
            _nullable(edges["name"]),
            _nullable(edges["way_code"]),
            [gate_ids.get(c) if isinstance(c, str) else None for c in edges["gate_code"]],
            _ewkt(edges.geometry),
            strict=True,
        )
    )
    copy_rows(
        session,
        "walk_edges",
        [
            "community_id",
            "source",
            "target",
            "length_m",
            "highway",
            "name",
            "way_code",
            "gate_id",
            "geom",
        ],
        edge_rows,
        progress=progress,
    )
    return n_nodes, n_edges


def _ewkt(geoms: gpd.GeoSeries) -> list[str]:
    return [f"SRID=4326;{w}" for w in shapely.to_wkt(geoms.to_numpy(), rounding_precision=9)]


def _nullable(values: pd.Series[Any]) -> list[Any]:
    return [v if isinstance(v, str) and v else None for v in values]
