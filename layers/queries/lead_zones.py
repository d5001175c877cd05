"""Building-lead zones: a community's saved zones, saving and locking them, the roster."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely

from layers.errors import NotFound
from layers.queries.reads import community_id, read_frame
from layers.queries.writes import copy_rows


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
