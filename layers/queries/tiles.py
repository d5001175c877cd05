"""Vector tiles: a layer's Mapbox Vector Tile at ``z/x/y`` by ST_AsMVT, and what it carries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.queries.reads import community_id
from layers.schema import LAYERS

#: Attributes carried into vector tiles, per layer (what a map needs to style and pop up).
TILE_PROPERTIES: dict[str, tuple[str, ...]] = {
    "buildings": (
        "code",
        "name",
        "households",
        "residents",
        "occupancy",
        "floors",
        "party_members",
        "lead_name",
        "compound_name",
        "grid_name",
    ),
    "compounds": ("code", "name", "households", "residents", "build_year", "maturity"),
    "grids": ("code", "name", "officer_name", "households"),
    "communities": ("code", "name"),
    "gates": ("code", "name", "is_open", "kind"),
    "service_points": ("code", "name", "kind", "is_open"),
    "candidate_venues": ("code", "name", "kind", "floor_area_m2"),
    "barriers": ("code", "kind"),
    "network": ("highway", "name", "length_m", "gate"),
}


def vector_tile(
    session: Session, layer: str, z: int, x: int, y: int, *, community: str | None = None
) -> bytes:
    """Return the Mapbox Vector Tile of ``layer`` at ``z/x/y`` (Web Mercator), by ST_AsMVT."""
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "layer": layer}
    scope = ""
    if community is not None:
        params["cid"] = community_id(session, community)
        scope = " AND t.community_id = :cid" if layer != "communities" else " AND t.id = :cid"
    # Parents' names by joins, not per-feature subqueries: a z14 tile holds ~2,000 buildings.
    joins = {
        "compound_name": ("p_c.name", "LEFT JOIN compounds p_c ON p_c.id = t.compound_id"),
        "grid_name": ("p_g.name", "LEFT JOIN grids p_g ON p_g.id = t.grid_id"),
        "gate": ("p_gate.code", "LEFT JOIN gates p_gate ON p_gate.id = t.gate_id"),
    }
    props, join_sql = [], []
    for name in TILE_PROPERTIES[layer]:
        if name in joins:
            props.append(f"{joins[name][0]} AS {name}")
            join_sql.append(joins[name][1])
        else:
            props.append(f"t.{name}")
    table = "walk_edges" if layer == "network" else LAYERS[layer].table
    sql = f"""
        WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env),
        features AS MATERIALIZED (
            SELECT t.id, {", ".join(props)},
                   ST_AsMVTGeom(ST_Transform(t.geom, 3857), b.env, 4096, 64, true) AS geom
            FROM {table} t CROSS JOIN bounds b {" ".join(join_sql)}
            WHERE t.geom && ST_Transform(b.env, 4326){scope}
        )
        -- MATERIALIZED: otherwise the planner pushes this filter into the scan and computes
        -- ST_AsMVTGeom twice per row.
        SELECT ST_AsMVT(features.*, :layer, 4096, 'geom', 'id') FROM features
        WHERE geom IS NOT NULL
    """
    tile = session.execute(text(sql), params).scalar()
    return bytes(tile) if tile else b""
