"""Inputs of the analyses: one community's layers as the analyses take them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd

from layers.queries.reads import community_id, read_frame


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


@dataclass(frozen=True)
class SplitInputs:
    """What the community split reads besides :class:`AnalysisInputs` (EPSG:4326).

    ``community``: its polygon, ``staff`` and ``cadres``; ``floating``: each building's
    floating residents (by building code); ``grids``: the community's grids.
    """

    community: gpd.GeoDataFrame
    floating: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame


def split_inputs(session: Session, community: str) -> SplitInputs:
    """Read the community's polygon and staff, its grids and buildings' floating residents."""
    params = {"cid": community_id(session, community)}

    def read(sql: str) -> gpd.GeoDataFrame:
        return read_frame(session, sql, params)

    return SplitInputs(
        community=read(
            "SELECT c.code, c.staff, c.cadres, c.geom FROM communities c WHERE c.id = :cid"
        ),
        floating=read(
            "SELECT b.code AS building_id, coalesce(b.floating_residents, 0) AS floating, b.geom "
            "FROM buildings b WHERE b.community_id = :cid ORDER BY b.code"
        ),
        grids=read(
            "SELECT g.code AS id, g.geom FROM grids g WHERE g.community_id = :cid ORDER BY g.code"
        ),
    )


def split_revision(session: Session, community: str) -> str:
    """Return a digest of everything the community split reads: it changes when any of it does.

    Read from the rows themselves (the community, its buildings, compounds, gates, service
    points and grids, and its network's edges by count and ids), so it follows what is
    committed, whatever order transactions commit in. Read it before the layers: a change
    committed in between makes the next digest differ, never an old one match newer data.
    """
    parts = [
        "(SELECT md5(c::text) FROM communities c WHERE c.id = :cid)",
        *(
            f"(SELECT count(*) || ':' || coalesce(sum(hashtextextended(t::text, 0)), 0) "
            f"FROM {table} t WHERE t.community_id = :cid)"
            for table in ("buildings", "compounds", "gates", "service_points", "grids")
        ),
        "(SELECT count(*) || ':' || coalesce(min(id), 0) || ':' || coalesce(max(id), 0) "
        "FROM walk_edges WHERE community_id = :cid)",
    ]
    sql = "SELECT md5(concat_ws('|', " + ", ".join(parts) + "))"
    cid = community_id(session, community)
    return str(session.execute(text(sql), {"cid": cid}).scalar_one())
