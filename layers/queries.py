"""PostGIS queries of the store: each takes the caller's session and runs in its transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from layers.domain import SERVICE_POINT_KINDS
from layers.errors import NotFound
from layers.models import MODELS, Community
from layers.schema import LAYERS

#: ``progress(stage, done, total)``
Progress = Callable[[str, int, int], None]

COPY_CHUNK = 5000
STORE_CRS = "EPSG:4326"


def read_frame(
    session: Session, sql: str, params: dict[str, Any] | None = None, *, geom_col: str = "geom"
) -> gpd.GeoDataFrame:
    """Run a query of the store and return its rows as a GeoDataFrame in EPSG:4326.

    The one place layers are read: every geometry we store is EPSG:4326, so the frame says
    so even when the query returns no rows. ``read_postgis`` takes the CRS from the first
    row's SRID and leaves an empty result without one, and a community without compounds,
    gates or a network yields exactly such empty layers; everything downstream (``to_crs``,
    ``sjoin``, ``concat``) then works on them as on full ones.
    """
    frame = gpd.read_postgis(
        text(sql), session.connection(), geom_col=geom_col, params=params or {}
    )
    if frame.crs is None:
        frame = frame.set_crs(STORE_CRS)
    return frame


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


#: Codes and names of the parents a feature points to, joined for exports and popups.
_PARENTS: dict[str, dict[str, str]] = {
    "communities": {"street": "(SELECT s.code FROM streets s WHERE s.id = t.street_id)"},
    "gates": {"compound": "(SELECT c.code FROM compounds c WHERE c.id = t.compound_id)"},
}
_NAMES = {
    "compound_name": "(SELECT c.name FROM compounds c WHERE c.id = t.compound_id)",
    "grid_name": "(SELECT g.name FROM grids g WHERE g.id = t.grid_id)",
}
_NAMED_PARENTS = {
    "compounds": ("grid_name",),
    "gates": ("compound_name",),
    "buildings": ("compound_name", "grid_name"),
    "service_points": ("compound_name", "grid_name"),
    "candidate_venues": ("compound_name",),
}
_VERSIONED = {name for name, model in MODELS.items() if "version" in model.__table__.c}


@dataclass(frozen=True)
class Filters:
    """Which features of a layer: by box (WGS84), community, grid, compound, ids; a page."""

    bbox: tuple[float, float, float, float] | None = None
    community: str | None = None
    grid: str | None = None
    compound: str | None = None
    ids: Sequence[int] | None = None
    limit: int | None = None
    offset: int = 0


def _where(session: Session, layer: str, filters: Filters) -> tuple[list[str], dict[str, Any]]:
    spec = LAYERS[layer]
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.community is not None:
        cid = community_id(session, filters.community)
        if spec.community_scoped:
            clauses.append("t.community_id = :cid")
        elif layer == "communities":
            clauses.append("t.id = :cid")
        params["cid"] = cid
    for parent, table in (("grid", "grids"), ("compound", "compounds")):
        code = getattr(filters, parent)
        if code is None:
            continue
        column = f"{parent}_id"
        model = MODELS[layer]
        if column not in model.__table__.c:
            msg = f"图层 {layer} 不能按{'网格' if parent == 'grid' else '小区'}筛选"
            raise NotFound(msg, loc=("query", parent))
        scope = " AND p.community_id = :cid" if filters.community is not None else ""
        clauses.append(
            f"t.{column} IN (SELECT p.id FROM {table} p WHERE p.code = :{parent}{scope})"
        )
        params[parent] = code
    if filters.bbox is not None:
        clauses.append("t.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)")
        params.update(zip(("x0", "y0", "x1", "y1"), filters.bbox, strict=True))
    if filters.ids is not None:
        clauses.append("t.id = ANY(:ids)")
        params["ids"] = list(filters.ids)
    return clauses, params


def layer_features(
    session: Session, layer: str, filters: Filters | None = None, *, for_export: bool = False
) -> tuple[gpd.GeoDataFrame, int]:
    """Select features of ``layer`` as a GeoDataFrame (EPSG:4326) and the total matched.

    Rows carry ``code``, the community's code, every schema field and the parents' codes;
    unless ``for_export``, also the database ``id``, parents' names and ``version``.
    """
    filters = filters or Filters()
    spec = LAYERS[layer]
    parents = _PARENTS.get(layer, {})
    cols = ["t.code"]
    if not for_export:
        cols.insert(0, "t.id")
    if spec.community_scoped:
        cols.append("(SELECT m.code FROM communities m WHERE m.id = t.community_id) AS community")
    cols += [f"t.{f.name}" for f in spec.fields if f.name not in parents]
    cols += [f"{sql} AS {name}" for name, sql in parents.items()]
    if not for_export:
        cols += [f"{_NAMES[n]} AS {n}" for n in _NAMED_PARENTS.get(layer, ())]
        if layer in _VERSIONED:
            cols.append("t.version")
    clauses, params = _where(session, layer, filters)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    page = ""
    if filters.limit is not None:
        page = " LIMIT :limit OFFSET :offset"
        params.update(limit=filters.limit, offset=filters.offset)
    sql = (
        f"SELECT {', '.join(cols)}, t.geom FROM {spec.table} t {where} ORDER BY t.code, t.id{page}"
    )
    frame = read_frame(session, sql, params)
    if filters.limit is None:
        total = len(frame)
    else:
        count = f"SELECT count(*) FROM {spec.table} t {where}"
        total = int(session.execute(text(count), params).scalar_one())
    return frame, total


def read_layer(session: Session, layer: str, *, community: str | None = None) -> gpd.GeoDataFrame:
    """Read a whole layer (optionally one community's) for export, ordered by code."""
    frame, _ = layer_features(session, layer, Filters(community=community), for_export=True)
    return frame


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
    return read_frame(session, sql, params)


# --- vector tiles -----------------------------------------------------------------------------

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


# --- summary figures --------------------------------------------------------------------------


def summary(session: Session, *, community: str, grid: str | None = None) -> dict[str, Any]:
    """Summary figures of a community, or of one of its grids (docs/domain.md, "网格员看的数字").

    Households, residents (registered and floating), buildings, party members and buildings
    with a lead come from the buildings; service points are counted by kind; residents per
    cadre uses the community's cadre count (for a community only).
    """
    cid = community_id(session, community)
    head = session.execute(
        text(
            "SELECT name, cadres, registered_residents, floating_residents FROM communities "
            "WHERE id = :cid"
        ),
        {"cid": cid},
    ).one()
    params: dict[str, Any] = {"cid": cid}
    scope = "community_id = :cid"
    name = head.name
    if grid is not None:
        row = session.execute(
            text("SELECT id, name FROM grids WHERE community_id = :cid AND code = :code"),
            {"cid": cid, "code": grid},
        ).first()
        if row is None:
            msg = f"网格编号“{grid}”在社区“{community}”中不存在"
            raise NotFound(msg, loc=("path", "grid"))
        params["gid"] = row.id
        scope += " AND grid_id = :gid"
        name = row.name or grid
    b = session.execute(
        text(f"""
            SELECT count(*) AS buildings, coalesce(sum(households), 0) AS households,
                   coalesce(sum(residents), 0) AS residents,
                   sum(floating_residents) AS floating,
                   coalesce(sum(party_members), 0) AS party_members,
                   count(*) FILTER (WHERE coalesce(lead_name, '') <> '') AS with_lead
            FROM buildings WHERE {scope}
        """),
        params,
    ).one()
    kinds: dict[str, int] = dict(
        session.execute(
            text(f"SELECT kind, count(*) FROM service_points WHERE {scope} GROUP BY kind"),
            params,
        ).all()
    )
    # A community's own record holds the official registered/floating split; a grid's comes
    # from its buildings (registered = residents - floating where floating is recorded).
    official = grid is None and head.registered_residents is not None
    floating = head.floating_residents if official else b.floating
    registered = (
        head.registered_residents
        if official
        else (b.residents - floating if floating is not None else None)
    )
    per_cadre = round(b.residents / head.cadres, 1) if grid is None and head.cadres else None
    return {
        "level": "grid" if grid else "community",
        "code": grid or community,
        "name": name,
        "households": int(b.households),
        "residents": int(b.residents),
        "registered_residents": registered,
        "floating_residents": floating,
        "buildings": int(b.buildings),
        "party_members": int(b.party_members),
        "buildings_with_lead": int(b.with_lead),
        "service_points": {k: int(kinds.get(k, 0)) for k in SERVICE_POINT_KINDS},
        "residents_per_cadre": per_cadre,
    }


def summary_at(session: Session, lon: float, lat: float) -> dict[str, Any]:
    """Summary figures of the community and the grid at a point (None where there is none)."""
    row = session.execute(
        text("""
            SELECT m.code AS community, g.code AS grid
            FROM communities m
            LEFT JOIN grids g ON g.community_id = m.id
                 AND ST_Contains(g.geom, ST_SetSRID(ST_Point(:lon, :lat), 4326))
            WHERE ST_Contains(m.geom, ST_SetSRID(ST_Point(:lon, :lat), 4326))
            ORDER BY ST_Area(m.geom) LIMIT 1
        """),
        {"lon": lon, "lat": lat},
    ).first()
    if row is None:
        return {"community": None, "grid": None}
    return {
        "community": summary(session, community=row.community),
        "grid": summary(session, community=row.community, grid=row.grid) if row.grid else None,
    }


def search(
    session: Session, q: str, *, community: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Find compounds and buildings whose name or code contains ``q``, compounds first.

    ``q`` is plain text: its ``%``, ``_`` and backslashes match themselves, not any text
    (they are escaped for ``ILIKE ... ESCAPE '!'``); blanks around it are ignored. The caller
    refuses an empty or overlong ``q`` (the API does, in zh-CN).
    """
    needle = q.strip().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    params: dict[str, Any] = {"q": f"%{needle}%", "limit": limit}
    scope = ""
    if community is not None:
        params["cid"] = community_id(session, community)
        scope = " AND t.community_id = :cid"
    parts = [
        f"""SELECT '{layer}' AS layer, {rank} AS rank, t.id, t.code, t.name,
                   ST_X(ST_PointOnSurface(t.geom)) AS lon, ST_Y(ST_PointOnSurface(t.geom)) AS lat,
                   ST_XMin(t.geom) AS x0, ST_YMin(t.geom) AS y0,
                   ST_XMax(t.geom) AS x1, ST_YMax(t.geom) AS y1
            FROM {layer} t
            WHERE (t.name ILIKE :q ESCAPE '!' OR t.code ILIKE :q ESCAPE '!'){scope}"""
        for rank, layer in enumerate(("compounds", "buildings"))
    ]
    union = " UNION ALL ".join(parts)
    sql = f"SELECT * FROM ({union}) s ORDER BY rank, length(name), code LIMIT :limit"
    return [
        {
            "layer": r.layer,
            "id": r.id,
            "code": r.code,
            "name": r.name,
            "lon": r.lon,
            "lat": r.lat,
            "bbox": [r.x0, r.y0, r.x1, r.y1],
        }
        for r in session.execute(text(sql), params)
    ]


# --- inputs of the analyses -------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisInputs:
    """One community's layers as the analyses take them (EPSG:4326; project before use).

    ``edges`` is empty when the community has no walking network yet.
    """

    community: str
    buildings: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    walled: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame


def analysis_inputs(session: Session, community: str) -> AnalysisInputs:
    """Read what the service circle, venue selection and lead zones need, for one community."""
    params = {"cid": community_id(session, community)}

    def read(sql: str) -> gpd.GeoDataFrame:
        return read_frame(session, sql, params)

    buildings = read("""
        SELECT b.id, b.code AS building_id, b.name, b.households, b.residents, b.occupancy,
               b.floors, b.party_members, b.mobile_party_members, b.lead_name,
               c.code AS compound, c.name AS compound_name, g.code AS grid, g.name AS grid_name,
               b.geom
        FROM buildings b
        LEFT JOIN compounds c ON c.id = b.compound_id
        LEFT JOIN grids g ON g.id = b.grid_id
        WHERE b.community_id = :cid ORDER BY b.code
    """)
    points = read("""
        SELECT p.id, p.code AS service_point_id, p.name, p.kind, p.is_open,
               c.code AS compound, p.geom
        FROM service_points p LEFT JOIN compounds c ON c.id = p.compound_id
        WHERE p.community_id = :cid ORDER BY p.code
    """)
    edges = read("""
        SELECT e.id AS edge_id, e.source, e.target, e.length_m, e.highway,
               g.code AS gate, g.is_open AS gate_open, e.geom
        FROM walk_edges e LEFT JOIN gates g ON g.id = e.gate_id
        WHERE e.community_id = :cid ORDER BY e.id
    """)
    walled = read("""
        SELECT c.code AS compound, c.geom FROM compounds c
        WHERE c.community_id = :cid
          AND EXISTS (SELECT 1 FROM gates g WHERE g.compound_id = c.id)
        ORDER BY c.code
    """)
    compounds = read("""
        SELECT c.id, c.code AS compound, c.name, c.households, c.residents, c.build_year,
               c.maturity, c.has_party_branch, c.has_owners_committee, c.geom,
               (SELECT coalesce(sum(b.party_members), 0) FROM buildings b
                WHERE b.compound_id = c.id) AS party_members
        FROM compounds c WHERE c.community_id = :cid ORDER BY c.code
    """)
    candidates = read("""
        SELECT v.id, v.code AS candidate_id, v.name, v.kind, v.floor_area_m2, v.ground_floor,
               v.ventilation, v.lawyer_consulted, v.housing_filed, v.publicly_noticed,
               v.property_recorded, c.code AS compound, c.name AS compound_name,
               c.maturity AS compound_maturity,
               c.has_party_branch AS compound_has_party_branch,
               c.has_owners_committee AS compound_has_owners_committee,
               (SELECT coalesce(sum(b.party_members), 0) FROM buildings b
                WHERE b.compound_id = c.id) AS compound_party_members,
               v.geom
        FROM candidate_venues v LEFT JOIN compounds c ON c.id = v.compound_id
        WHERE v.community_id = :cid ORDER BY v.code
    """)
    return AnalysisInputs(community, buildings, points, edges, walled, candidates, compounds)


# --- building-lead zones ----------------------------------------------------------------------


def stored_zones(session: Session, community: str) -> pd.DataFrame:
    """Return the saved lead zones of a community: code, kind, locked, member codes."""
    cid = community_id(session, community)
    rows = session.execute(
        text("""
            SELECT z.code, z.kind, z.locked, array_agg(b.code ORDER BY b.code) AS members
            FROM lead_zones z
            JOIN lead_zone_members m ON m.zone_id = z.id
            JOIN buildings b ON b.id = m.building_id
            WHERE z.community_id = :cid GROUP BY z.id ORDER BY z.code
        """),
        {"cid": cid},
    ).all()
    return pd.DataFrame(rows, columns=["code", "kind", "locked", "members"])


def save_zones(
    session: Session, community: str, zones: gpd.GeoDataFrame, members: pd.DataFrame
) -> dict[str, int]:
    """Replace a community's unlocked lead zones with ``zones``; locked ones stay as they are.

    ``zones`` (WGS84): ``zone_id``, ``kind``, ``lead_building_id`` (building code),
    ``households``, ``party_members``, ``has_party_member``, ``party_group_suggested``,
    ``diameter_m``, geometry. ``members``: ``building_id`` (code), ``zone_id``, ``rule``,
    ``reason_zh``. Returns counts of zones saved and kept locked.
    """
    cid = community_id(session, community)
    params: dict[str, Any] = {"cid": cid}
    locked = set(
        session.execute(
            text("SELECT code FROM lead_zones WHERE community_id = :cid AND locked"), params
        ).scalars()
    )
    session.execute(text("DELETE FROM lead_zones WHERE community_id = :cid AND NOT locked"), params)
    new = zones[~zones["zone_id"].isin(locked)]
    building_ids: dict[str, int] = dict(
        session.execute(
            text("SELECT code, id FROM buildings WHERE community_id = :cid"), params
        ).all()
    )
    for row in new.itertuples(index=False):
        geom = shapely.force_2d(row.geometry)
        if geom is not None and geom.geom_type == "Polygon":
            geom = shapely.MultiPolygon([geom])
        session.execute(
            text("""
                INSERT INTO lead_zones (community_id, code, kind, lead_building_id, households,
                    party_members, has_party_member, party_group_suggested, diameter_m, geom)
                VALUES (:cid, :code, :kind, :lead, :hh, :party, :has_party, :group, :diam,
                    ST_MakeValid(ST_GeomFromText(:wkt, 4326)))
            """),
            {
                "cid": cid,
                "code": row.zone_id,
                "kind": row.kind,
                "lead": building_ids.get(row.lead_building_id),
                "hh": int(row.households),
                "party": int(row.party_members),
                "has_party": bool(row.has_party_member),
                "group": bool(row.party_group_suggested),
                "diam": None if pd.isna(row.diameter_m) else float(row.diameter_m),
                "wkt": None if geom is None or geom.is_empty else geom.wkt,
            },
        )
    zone_ids: dict[str, int] = dict(
        session.execute(
            text("SELECT code, id FROM lead_zones WHERE community_id = :cid"), params
        ).all()
    )
    # Members of the replaced zones went with them (ON DELETE CASCADE).
    fresh = members[~members["zone_id"].isin(locked)]
    rows = [
        (building_ids[str(r.building_id)], zone_ids[str(r.zone_id)], r.rule, r.reason_zh)
        for r in fresh.itertuples(index=False)
    ]
    copy_rows(session, "lead_zone_members", ["building_id", "zone_id", "rule", "reason"], rows)
    return {"saved": len(new), "locked": len(locked)}


def lock_zone(session: Session, community: str, code: str, *, locked: bool) -> None:
    """Lock (confirm) or unlock a saved zone."""
    done = session.execute(
        text(
            "UPDATE lead_zones SET locked = :locked, updated_at = now() "
            "WHERE community_id = :cid AND code = :code RETURNING id"
        ),
        {"cid": community_id(session, community), "code": code, "locked": locked},
    ).first()
    if done is None:
        msg = f"社区“{community}”没有已保存的楼长责任区“{code}”"
        raise NotFound(msg, loc=("path", "code"))


def zone_roster(session: Session, community: str) -> gpd.GeoDataFrame:
    """Return the saved zones with their buildings, households and lead (the roster)."""
    sql = """
        SELECT z.code AS zone_id, z.kind, z.locked, z.households, z.party_members,
               lb.code AS lead_building_id, lb.name AS lead_building, lb.lead_name,
               string_agg(b.name || '（' || b.code || '）', '、' ORDER BY b.code) AS buildings,
               count(b.id) AS n_buildings, z.has_party_member, z.party_group_suggested,
               z.diameter_m, z.geom
        FROM lead_zones z
        JOIN lead_zone_members m ON m.zone_id = z.id
        JOIN buildings b ON b.id = m.building_id
        LEFT JOIN buildings lb ON lb.id = z.lead_building_id
        WHERE z.community_id = :cid GROUP BY z.id, lb.id ORDER BY z.code
    """
    return read_frame(session, sql, {"cid": community_id(session, community)})
