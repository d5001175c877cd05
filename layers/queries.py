"""PostGIS queries of the store: each takes the caller's session and runs in its transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import geopandas as gpd

from layers.errors import NotFound
from layers.models import Community
from layers.schema import LAYERS

#: ``progress(stage, done, total)``
Progress = Callable[[str, int, int], None]

COPY_CHUNK = 5000


def copy_rows(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: pd.DataFrame | Iterable[Sequence[Any]],
    *,
    progress: Progress | None = None,
) -> int:
    """COPY ``rows`` into ``table`` through the session's own connection; return the count.

    COPY is an order of magnitude faster than INSERT for the 50,000-building cities the
    benchmarks load, and it runs inside the caller's transaction like any other statement.
    """
    if isinstance(rows, pd.DataFrame):
        frame = rows[list(columns)].astype(object).where(rows[list(columns)].notna(), None)
        data: list[Sequence[Any]] = list(frame.itertuples(index=False, name=None))
    else:
        data = list(rows)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    cols = ", ".join(columns)
    total = len(data)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for start in range(0, total, COPY_CHUNK):
            for row in data[start : start + COPY_CHUNK]:
                copy.write_row(row)
            if progress:
                progress("write", min(start + COPY_CHUNK, total), total)
    return total


_ASSIGN = {
    # A feature belongs to the compound / grid that contains its representative point
    # (the smallest, should two overlap).
    "compound": """
        UPDATE {table} AS f SET compound_id = sub.pid
        FROM (
            SELECT f2.id, (
                SELECT c.id FROM compounds c
                WHERE c.community_id = f2.community_id
                  AND ST_Contains(c.geom, ST_PointOnSurface(f2.geom))
                ORDER BY ST_Area(c.geom) LIMIT 1
            ) AS pid
            FROM {table} f2 WHERE f2.community_id = ANY(:ids)
        ) sub
        WHERE f.id = sub.id AND f.compound_id IS DISTINCT FROM sub.pid
    """,
    "grid": """
        UPDATE {table} AS f SET grid_id = sub.pid
        FROM (
            SELECT f2.id, (
                SELECT g.id FROM grids g
                WHERE g.community_id = f2.community_id
                  AND ST_Contains(g.geom, ST_PointOnSurface(f2.geom))
                ORDER BY ST_Area(g.geom) LIMIT 1
            ) AS pid
            FROM {table} f2 WHERE f2.community_id = ANY(:ids)
        ) sub
        WHERE f.id = sub.id AND f.grid_id IS DISTINCT FROM sub.pid
    """,
}
# A gate with no compound named belongs to the compound whose wall is nearest (within gate_m).
_GATES = """
    UPDATE gates AS g SET compound_id = (
        SELECT c.id FROM compounds c
        WHERE c.community_id = g.community_id
          AND ST_DWithin(c.geom::geography, g.geom::geography, :gate_m)
        ORDER BY ST_Distance(ST_Boundary(c.geom)::geography, g.geom::geography) LIMIT 1
    )
    WHERE g.community_id = ANY(:ids) AND g.compound_id IS NULL
"""
_STREETS = """
    UPDATE communities AS m SET street_id = (
        SELECT s.id FROM streets s WHERE ST_Contains(s.geom, ST_PointOnSurface(m.geom))
        ORDER BY ST_Area(s.geom) LIMIT 1
    )
    WHERE m.id = ANY(:ids) AND m.street_id IS NULL
"""
_WHICH = {
    "compounds": ("grid",),
    "buildings": ("compound", "grid"),
    "service_points": ("compound", "grid"),
    "candidate_venues": ("compound",),
}
_DEPENDENTS = {
    "grids": ("compounds", "buildings", "service_points"),
    "compounds": ("buildings", "service_points", "candidate_venues", "gates"),
}


def refresh_assignments(
    session: Session, community_ids: Sequence[int], *, layer: str, gate_m: float = 30.0
) -> None:
    """Re-derive which compound and grid each feature of the communities lies in.

    Called after an import of ``layer``: its own features are assigned, and when compounds
    or grids changed, everything that depends on them is assigned again, so "buildings
    belong to the compound they lie inside" holds whatever order files come in.
    """
    if layer == "communities":
        session.execute(text(_STREETS), {"ids": list(community_ids)})
        return
    if not community_ids:
        return
    params = {"ids": list(community_ids), "gate_m": gate_m}
    targets = [layer, *_DEPENDENTS.get(layer, ())]
    for target in targets:
        for kind in _WHICH.get(target, ()):
            session.execute(text(_ASSIGN[kind].format(table=target)), params)
        if target == "gates":
            session.execute(text(_GATES), params)


def community_id(session: Session, code: str) -> int:
    """Return the id of the community ``code`` or raise :class:`NotFound`."""
    found = session.execute(select(Community.id).where(Community.code == code)).scalar()
    if found is None:
        msg = f"社区编号“{code}”不存在"
        raise NotFound(msg, loc=("community",))
    return int(found)


_PARENT_COLUMNS = {
    "communities": "(SELECT s.code FROM streets s WHERE s.id = t.street_id) AS street",
    "gates": "(SELECT c.code FROM compounds c WHERE c.id = t.compound_id) AS compound",
}


def read_layer(session: Session, layer: str, *, community: str | None = None) -> gpd.GeoDataFrame:
    """Read a layer as a GeoDataFrame in EPSG:4326 with its schema columns, by code.

    Community-scoped layers carry a ``community`` column with the community's code.
    """
    spec = LAYERS[layer]
    parent = {"communities": "street", "gates": "compound"}.get(layer)
    fields = [f.name for f in spec.fields if f.name != parent]
    cols = ["t.code", *(f"t.{f}" for f in fields)]
    if layer in _PARENT_COLUMNS:
        cols.append(_PARENT_COLUMNS[layer])
    params: dict[str, Any] = {}
    where = ""
    if spec.community_scoped:
        cols.insert(1, "m.code AS community")
        join = "JOIN communities m ON m.id = t.community_id"
        if community is not None:
            params["cid"] = community_id(session, community)
            where = "WHERE t.community_id = :cid"
    else:
        join = ""
        if community is not None and layer == "communities":
            community_id(session, community)
            params["code"] = community
            where = "WHERE t.code = :code"
    sql = f"SELECT {', '.join(cols)}, t.geom FROM {spec.table} t {join} {where} ORDER BY t.code"
    return gpd.read_postgis(text(sql), session.connection(), geom_col="geom", params=params)


def read_network(session: Session, *, community: str | None = None) -> gpd.GeoDataFrame:
    """Read the routable walking edges (with gate codes) as a GeoDataFrame in EPSG:4326."""
    params: dict[str, Any] = {}
    where = ""
    if community is not None:
        params["cid"] = community_id(session, community)
        where = "WHERE e.community_id = :cid"
    sql = f"""
        SELECT e.id AS edge_id, m.code AS community, e.source, e.target, e.length_m,
               e.highway, e.name, e.way_code, g.code AS gate, g.is_open AS gate_open, e.geom
        FROM walk_edges e JOIN communities m ON m.id = e.community_id
        LEFT JOIN gates g ON g.id = e.gate_id {where} ORDER BY e.id
    """
    return gpd.read_postgis(text(sql), session.connection(), geom_col="geom", params=params)
