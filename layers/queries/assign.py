"""Assignment SQL: which compound, grid and street each feature lies in.

:func:`refresh_assignments` re-derives them after an import of a layer, and again for
everything that depends on that layer.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

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
