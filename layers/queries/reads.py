"""Reading the store: :func:`read_frame`, a community's id, and layers' features.

:func:`read_frame` is the one place layers are read (always EPSG:4326, even when empty);
:func:`layer_features` selects a layer's features by box, community, grid, compound or ids,
a page at a time (the GeoJSON of the layer API), and :func:`read_layer` /
:func:`read_network` read whole layers and the walking network for export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

import geopandas as gpd

from layers.errors import NotFound
from layers.models import MODELS, Community
from layers.schema import LAYERS

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
    #: The communities (ids) the reader may see; None: every one.
    within: Sequence[int] | None = None


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
    if filters.within is not None:
        if spec.community_scoped:
            clauses.append("t.community_id = ANY(:within)")
        elif layer == "communities":
            clauses.append("t.id = ANY(:within)")
        params["within"] = list(filters.within)
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
