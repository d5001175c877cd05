"""Vector tiles: a layer's Mapbox Vector Tile at ``z/x/y`` by ST_AsMVT, and what it carries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.queries.reads import community_id
from layers.schema import LAYERS, PERSONAL_COLUMNS

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
        "visit_age_days",
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
    session: Session,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    community: str | None = None,
    within: Sequence[int] | None = None,
    personal: bool = False,
) -> bytes:
    """Return the Mapbox Vector Tile of ``layer`` at ``z/x/y`` (Web Mercator), by ST_AsMVT.

    ``within`` limits the features to those communities (ids); unless ``personal``, the
    personal fields are masked (a name keeps its first character).
    """
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "layer": layer}
    scope = ""
    key = "t.id" if layer == "communities" else "t.community_id"
    if community is not None:
        params["cid"] = community_id(session, community)
        scope = f" AND {key} = :cid"
    if within is not None:
        params["within"] = list(within)
        scope += f" AND {key} = ANY(:within)"
    # Parents' names by joins, not per-feature subqueries: a z14 tile holds ~2,000 buildings.
    joins = {
        "compound_name": ("p_c.name", "LEFT JOIN compounds p_c ON p_c.id = t.compound_id"),
        "grid_name": ("p_g.name", "LEFT JOIN grids p_g ON p_g.id = t.grid_id"),
        "gate": ("p_gate.code", "LEFT JOIN gates p_gate ON p_gate.id = t.gate_id"),
        # Days since the last visit, counted in China's days (docs/field.md, "走访").
        "visit_age_days": (
            "((now() AT TIME ZONE 'Asia/Shanghai')::date - t.visited_on)",
            "",
        ),
    }
    props, join_sql = [], []
    for name in TILE_PROPERTIES[layer]:
        if name in joins:
            props.append(f"{joins[name][0]} AS {name}")
            if joins[name][1]:
                join_sql.append(joins[name][1])
        elif name in PERSONAL_COLUMNS and not personal:
            props.append(
                f"CASE WHEN coalesce(t.{name}, '') = '' THEN t.{name} ELSE left(t.{name}, 1) "
                f"|| repeat('*', greatest(1, char_length(t.{name}) - 1)) END AS {name}"
            )
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


#: What an event's tile feature carries: no personal field (reporters stay in the API).
EVENT_TILE_PROPERTIES = ("code", "status", "category", "category_group", "overdue")


def event_tile(
    session: Session,
    z: int,
    x: int,
    y: int,
    *,
    now: Any,
    community: str | None = None,
    within: Sequence[int] | None = None,
    status: Sequence[str] = (),
    category: str | None = None,
    since: Any = None,
    until: Any = None,
) -> bytes:
    """Return the Mapbox Vector Tile of the events at ``z/x/y`` (MVT layer ``events``).

    Each point carries :data:`EVENT_TILE_PROPERTIES`; ``overdue`` is open and past its
    deadline at ``now`` (the API's clock). ``within`` limits the events to those communities
    (ids); ``status``, ``category`` (a subclass or its main class) and the report window
    (``since`` inclusive, ``until`` exclusive) filter them, as the events list does.
    """
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "now": now}
    scope = ""
    if community is not None:
        params["cid"] = community_id(session, community)
        scope += " AND e.community_id = :cid"
    if within is not None:
        params["within"] = list(within)
        scope += " AND e.community_id = ANY(:within)"
    if status:
        params["status"] = list(status)
        scope += " AND e.status = ANY(:status)"
    if category is not None:
        params["category"] = category
        scope += " AND (c.code = :category OR p.code = :category)"
    if since is not None:
        params["since"] = since
        scope += " AND e.reported_at >= :since"
    if until is not None:
        params["until"] = until
        scope += " AND e.reported_at < :until"
    sql = f"""
        WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env),
        features AS MATERIALIZED (
            SELECT e.id, e.code, e.status, c.code AS category, p.code AS category_group,
                   (e.status NOT IN ('cancelled', 'closed') AND e.due_at < :now) AS overdue,
                   ST_AsMVTGeom(ST_Transform(e.geom, 3857), b.env, 4096, 64, true) AS geom
            FROM events e CROSS JOIN bounds b
            JOIN event_categories c ON c.id = e.category_id
            LEFT JOIN event_categories p ON p.id = c.parent_id
            WHERE e.geom && ST_Transform(b.env, 4326){scope}
        )
        SELECT ST_AsMVT(features.*, 'events', 4096, 'geom', 'id') FROM features
        WHERE geom IS NOT NULL
    """
    tile = session.execute(text(sql), params).scalar()
    return bytes(tile) if tile else b""
