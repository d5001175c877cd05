"""The walk (扫楼) as the store sees it: conflicts waiting for a decision and the day's visits.

An edit refused because its fields collided with a newer change (a 409 from
:func:`layers.editing.rebase`) is recorded here, so the officer's map can list what is still
waiting (docs/field.md, "冲突"). One open conflict is kept per user and feature: a resend of
the same refused edit refreshes it. The conflict is settled when its author's next edit of the
feature is accepted (they chose, field by field, and sent the result: ``merged``) or when the
author keeps the other value for every field (``dismissed``).

A building counts as visited on a day when its ``visited_on`` is that day or when it was
edited that day; days are China's (UTC+8), whatever the server's clock zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from layers.domain import CHINA
from layers.errors import NotFound

__all__ = [
    "conflict",
    "dismiss_conflict",
    "open_conflicts",
    "record_conflict",
    "settle_conflicts",
    "walk",
]


def record_conflict(
    session: Session,
    *,
    username: str,
    layer: str,
    feature_id: int,
    base_version: int,
    current_version: int,
    fields: Sequence[Mapping[str, Any]],
) -> int:
    """Keep a refused edit's collisions; return the conflict's id (the same one on resends)."""
    params = {
        "u": username,
        "l": layer,
        "f": feature_id,
        "b": base_version,
        "c": current_version,
        "fields": [dict(f) for f in fields],
    }
    again = session.execute(
        text(
            """UPDATE edit_conflicts
               SET base_version = :b, current_version = :c, fields = :fields,
                   created_at = now()
               WHERE username = :u AND layer = :l AND feature_id = :f AND resolved_at IS NULL
               RETURNING id"""
        ).bindparams(_json("fields")),
        params,
    ).scalar()
    if again is not None:
        return int(again)
    return int(
        session.execute(
            text(
                """INSERT INTO edit_conflicts
                       (username, layer, feature_id, base_version, current_version, fields)
                   VALUES (:u, :l, :f, :b, :c, :fields)
                   RETURNING id"""
            ).bindparams(_json("fields")),
            params,
        ).scalar_one()
    )


def settle_conflicts(session: Session, *, username: str, layer: str, feature_id: int) -> int:
    """Mark the user's open conflicts on the feature merged (their edit was accepted)."""
    done = session.execute(
        text(
            """UPDATE edit_conflicts SET resolved_at = now(), resolution = 'merged'
               WHERE username = :u AND layer = :l AND feature_id = :f AND resolved_at IS NULL"""
        ),
        {"u": username, "l": layer, "f": feature_id},
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def conflict(session: Session, conflict_id: int) -> dict[str, Any]:
    """Return one conflict with its building's community and grid; 404 when there is none."""
    row = (
        session.execute(
            text(f"{_CONFLICTS} WHERE c.id = :i"),
            {"i": conflict_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        msg = f"冲突记录 {conflict_id} 不存在"
        raise NotFound(msg, loc=("path", "conflict_id"))
    return dict(row)


def dismiss_conflict(session: Session, conflict_id: int) -> None:
    """Settle a conflict by keeping the other values (the edit is given up)."""
    session.execute(
        text(
            """UPDATE edit_conflicts SET resolved_at = now(), resolution = 'dismissed'
               WHERE id = :i AND resolved_at IS NULL"""
        ),
        {"i": conflict_id},
    )


def open_conflicts(
    session: Session, community_id: int, grids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Return the conflicts waiting in a community (or in some of its grids), oldest first."""
    rows = session.execute(
        text(
            f"""{_CONFLICTS}
                WHERE c.resolved_at IS NULL AND b.community_id = :c
                  AND (CAST(:grids AS int[]) IS NULL OR b.grid_id = ANY(:grids))
                ORDER BY c.created_at, c.id"""
        ),
        {"c": community_id, "grids": None if grids is None else list(grids)},
    ).mappings()
    return [dict(r) for r in rows]


def walk(
    session: Session,
    community_id: int,
    day: date,
    *,
    fields: Sequence[str],
    grids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Return the day's walk in a community (or some of its grids).

    An edit counts when it changed one of ``fields`` (the registration a walk records, not
    an import's reassignment of grids). ``buildings``: each building's id, code, name, grid,
    compound, ``visited_on`` and the time of its last such edit on ``day`` (None: none);
    ``edits``: the day's edits, newest first (at most 500), with who made them and which
    fields they changed; ``conflicts``: those waiting; ``visited``/``total``: the day's count
    of buildings visited (``visited_on`` that day, or edited).
    """
    start = datetime.combine(day, datetime.min.time(), CHINA)
    params: dict[str, Any] = {
        "c": community_id,
        "grids": None if grids is None else list(grids),
        "start": start,
        "end": start + timedelta(days=1),
        "fields": list(fields),
    }
    edits_cte = """
        WITH edits AS (
            SELECT h.id, h.feature_id, h.changed_by, h.channel, h.changed_at,
                   ARRAY(SELECT n.key FROM jsonb_each(h.new) n
                         WHERE n.key NOT IN ('version', 'updated_at')
                           AND n.value IS DISTINCT FROM h.old -> n.key
                         ORDER BY n.key) AS fields
            FROM history h
            WHERE h.layer = 'buildings' AND h.action = 'update'
              AND h.changed_at >= :start AND h.changed_at < :end
        ), walked AS (
            SELECT e.* FROM edits e
            JOIN buildings b ON b.id = e.feature_id
            WHERE e.fields && CAST(:fields AS text[])
              AND b.community_id = :c
              AND (CAST(:grids AS int[]) IS NULL OR b.grid_id = ANY(:grids))
        )"""
    scope = "b.community_id = :c AND (CAST(:grids AS int[]) IS NULL OR b.grid_id = ANY(:grids))"
    buildings = session.execute(
        text(
            f"""{edits_cte}
                SELECT b.id, b.code, b.name, g.code AS grid, k.name AS compound, b.visited_on,
                       (SELECT max(w.changed_at) FROM walked w WHERE w.feature_id = b.id)
                           AS edited_at
                FROM buildings b
                LEFT JOIN grids g ON g.id = b.grid_id
                LEFT JOIN compounds k ON k.id = b.compound_id
                WHERE {scope}
                ORDER BY b.code"""
        ),
        params,
    ).mappings()
    listed = [dict(r) for r in buildings]
    edits = session.execute(
        text(
            f"""{edits_cte}
                SELECT w.id, w.feature_id AS building_id, b.code, b.name, w.changed_by,
                       w.channel, w.changed_at, w.fields
                FROM walked w JOIN buildings b ON b.id = w.feature_id
                ORDER BY w.changed_at DESC, w.id DESC
                LIMIT 500"""
        ),
        params,
    ).mappings()
    visited = sum(1 for b in listed if b["visited_on"] == day or b["edited_at"] is not None)
    return {
        "day": day,
        "visited": visited,
        "total": len(listed),
        "buildings": listed,
        "edits": [dict(e) for e in edits],
        "conflicts": open_conflicts(session, community_id, grids),
    }


_CONFLICTS = """
    SELECT c.id, c.username, c.layer, c.feature_id, c.base_version, c.current_version,
           c.fields, c.created_at, c.resolved_at, c.resolution,
           b.code, b.name, b.community_id, b.grid_id, g.code AS grid
    FROM edit_conflicts c
    LEFT JOIN buildings b ON c.layer = 'buildings' AND b.id = c.feature_id
    LEFT JOIN grids g ON g.id = b.grid_id
"""


def _json(name: str) -> Any:
    return bindparam(name, type_=JSONB)
