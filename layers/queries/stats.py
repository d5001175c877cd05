"""Summary figures of a community or grid (or at a point), and search by name or code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.domain import SERVICE_POINT_KINDS
from layers.errors import NotFound
from layers.queries.reads import community_id


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
    session: Session,
    q: str,
    *,
    community: str | None = None,
    limit: int = 20,
    within: Sequence[int] | None = None,
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
    if within is not None:  # the communities the searcher may see
        params["within"] = list(within)
        scope += " AND t.community_id = ANY(:within)"
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
