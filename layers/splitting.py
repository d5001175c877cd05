"""Saving a community split: its parts become communities and every feature moves with them.

docs/domain.md, "Splitting a community (Qiaohua)", says what a saved split does; in short,
in one transaction (the caller's):

- each part becomes a community with the code and name the planner gave; a part may keep
  the old community's code, and then the old row is that part (its id, users and history
  stay); otherwise the old community is removed once everything has left it;
- compounds and buildings go where the plan put them; gates, service points, candidate
  rooms and barriers follow their compound, or else lie where they lie (the part that
  contains them, or the nearest); a grid goes to the part holding most of its area, and a
  building or point whose grid went elsewhere loses it (the grids must be redrawn there);
  a building-lead zone follows its buildings, and one whose buildings now lie in two
  communities is removed; photos follow their building;
- the walking ways are shared out as an import would clip them (each part's boundary grown
  by 500 m) and each part's network is built again;
- the old community's users work in every part (an administrator narrows that down later).

Every row changed is in ``history`` (the store's triggers), under the user the session acts
for. Nothing is half-done: any refusal raises before the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

import shapely

from layers.errors import Conflict, InvalidGeometry, NotFound
from layers.queries import read_frame, refresh_assignments
from layers.walkways import share_ways

#: Walking ways are kept this far around each part (as ``gridmap import network`` does).
WAYS_BUFFER_M = 500.0
#: Layers whose features follow their compound, else their location.
_FOLLOW_COMPOUND = ("gates", "service_points", "candidate_venues")
_MAX_CODE = 64


@dataclass(frozen=True)
class NewCommunity:
    """A part as it is saved: code, name, boundary (EPSG:4326) and its figures."""

    code: str
    name: str
    geometry: Any
    residents: int
    households: int
    floating: int
    staff: int | None = None
    cadres: int | None = None


@dataclass(frozen=True)
class SavedSplit:
    """What a saved split did: the communities by part, the rows moved, what was removed."""

    communities: tuple[str, ...]
    community_ids: tuple[int, ...] = ()
    moved: dict[str, int] = field(default_factory=dict)
    removed: str | None = None
    lead_zones_removed: int = 0
    #: Buildings that lay in a grid before and lie in none of their new community's grids.
    grid_links_dropped: int = 0


def save_split(
    session: Session,
    community: str,
    parts: Sequence[NewCommunity],
    *,
    compound_part: Mapping[str, int],
    building_part: Mapping[str, int],
) -> SavedSplit:
    """Replace ``community`` by ``parts``, moving its features (module docstring)."""
    old = lock_community(session, community)
    _check_parts(session, community, parts)
    ids = [_community_row(session, old, p) for p in parts]
    params: dict[str, Any] = {"old": old["id"]}
    session.execute(
        text(
            "DROP TABLE IF EXISTS pg_temp.split_parts, pg_temp.split_units, pg_temp.split_features"
        )
    )
    _snapshot(session, old["id"])
    session.execute(
        text("CREATE TEMP TABLE split_parts (part int, cid int, geom geometry) ON COMMIT DROP")
    )
    session.execute(
        text("INSERT INTO split_parts SELECT :part, :cid, geom FROM communities WHERE id = :cid"),
        [{"part": i, "cid": cid} for i, cid in enumerate(ids)],
    )
    session.execute(
        text("CREATE TEMP TABLE split_units (kind text, code text, cid int) ON COMMIT DROP")
    )
    rows = [{"k": "compounds", "c": c, "cid": ids[p]} for c, p in compound_part.items()]
    rows += [{"k": "buildings", "c": b, "cid": ids[p]} for b, p in building_part.items()]
    if rows:
        session.execute(text("INSERT INTO split_units VALUES (:k, :c, :cid)"), rows)
    moved = {
        "compounds": _by_code(session, "compounds", params),
        "buildings": _by_code(session, "buildings", params)
        + _by_place(session, "buildings", params),
    }
    for layer in _FOLLOW_COMPOUND:
        moved[layer] = _by_compound(session, layer, params) + _by_place(session, layer, params)
    moved["barriers"] = _by_place(session, "barriers", params)
    moved["grids"] = _grids(session, params)
    zones_removed, moved["lead_zones"] = _lead_zones(session, params)
    session.execute(
        text(
            "UPDATE building_photos ph SET community_id = b.community_id FROM buildings b "
            "WHERE ph.building_id = b.id AND ph.community_id = :old "
            "AND b.community_id <> ph.community_id"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO user_communities (user_id, community_id) "
            "SELECT uc.user_id, p.cid FROM user_communities uc CROSS JOIN split_parts p "
            "WHERE uc.community_id = :old ON CONFLICT DO NOTHING"
        ),
        params,
    )
    refresh_assignments(session, ids, layer="grids")
    dropped = _gridded(session)
    session.execute(
        text(
            "UPDATE communities m SET party_members = least(m.residents, ("
            "SELECT coalesce(sum(b.party_members), 0) FROM buildings b "
            "WHERE b.community_id = m.id)) WHERE m.id = ANY(:ids)"
        ),
        {"ids": ids},
    )
    ways = read_frame(
        session, "SELECT code, highway, name, geom FROM walk_ways WHERE community_id = :old", params
    )
    if len(ways):
        for cid in ids:
            share_ways(session, cid, ways, buffer_m=WAYS_BUFFER_M)
    removed = None
    if old["id"] not in ids:
        _left_behind(session, community, params)
        session.execute(text("DELETE FROM communities WHERE id = :old"), params)
        removed = community
    return SavedSplit(
        communities=tuple(p.code for p in parts),
        community_ids=tuple(ids),
        moved=moved,
        removed=removed,
        lead_zones_removed=zones_removed,
        grid_links_dropped=dropped,
    )


# --- the communities ----------------------------------------------------------------------------


def lock_community(session: Session, community: str) -> dict[str, Any]:
    """Lock the community's row for the transaction (two splits of one wait for each other)."""
    row = (
        session.execute(
            text(
                "SELECT id, code, street_id, registered_residents, residents, party_members "
                "FROM communities WHERE code = :code FOR UPDATE"
            ),
            {"code": community},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        msg = f"社区“{community}”不存在"
        raise NotFound(msg, loc=("community",))
    return dict(row)


def _check_parts(session: Session, community: str, parts: Sequence[NewCommunity]) -> None:
    codes = [p.code for p in parts]
    for i, p in enumerate(parts):
        if not p.code.strip() or len(p.code) > _MAX_CODE or p.code != p.code.strip():
            msg = f"片区 {i + 1} 的社区编号应为 1～{_MAX_CODE} 个字符，首尾不含空格"
            raise Conflict(msg, loc=("communities", i, "code"))
        if not p.name.strip():
            msg = f"片区 {i + 1} 还没有社区名称"
            raise Conflict(msg, loc=("communities", i, "name"))
        if codes.index(p.code) != i:
            msg = f"片区 {codes.index(p.code) + 1} 和片区 {i + 1} 的社区编号都是“{p.code}”"
            raise Conflict(msg, loc=("communities", i, "code"))
    taken = (
        session.execute(
            text("SELECT code FROM communities WHERE code = ANY(:codes) AND code <> :old"),
            {"codes": codes, "old": community},
        )
        .scalars()
        .all()
    )
    if taken:
        i = codes.index(taken[0])
        msg = f"社区编号“{taken[0]}”已被其他社区使用，请换一个"
        raise Conflict(msg, loc=("communities", i, "code"))


def _community_row(session: Session, old: Mapping[str, Any], part: NewCommunity) -> int:
    """Insert the part's community (or rewrite the old one, when it keeps its code)."""
    geom = shapely.make_valid(part.geometry)
    if geom.is_empty or geom.area <= 0:
        msg = f"片区“{part.name}”的边界为空"
        raise InvalidGeometry(msg, loc=("communities", part.code))
    share = part.residents / old["residents"] if old["residents"] else None
    values = {
        "code": part.code,
        "name": part.name,
        "street": old["street_id"],
        "wkb": shapely.to_wkb(geom),
        "residents": int(part.residents),
        "households": int(part.households),
        "floating": min(int(part.floating), int(part.residents)),
        "registered": None
        if share is None or old["registered_residents"] is None
        else round(old["registered_residents"] * share),
        "staff": part.staff,
        "cadres": part.cadres,
        "old": old["id"],
    }
    geom_sql = "ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(:wkb, 4326)), 3))"
    if part.code == old["code"]:
        sql = (
            f"UPDATE communities SET name = :name, geom = {geom_sql}, residents = :residents, "
            "households = :households, floating_residents = :floating, "
            "registered_residents = :registered, staff = :staff, cadres = :cadres, "
            "party_members = NULL, version = version + 1 WHERE id = :old RETURNING id"
        )
    else:
        sql = (
            "INSERT INTO communities (code, name, street_id, geom, residents, households, "
            "floating_residents, registered_residents, staff, cadres) "
            f"VALUES (:code, :name, :street, {geom_sql}, :residents, :households, :floating, "
            ":registered, :staff, :cadres) ON CONFLICT (code) DO NOTHING RETURNING id"
        )
    made = session.execute(text(sql), values).scalar_one_or_none()
    if made is None:  # taken meanwhile by another transaction
        msg = f"社区编号“{part.code}”已被其他社区使用，请换一个"
        raise Conflict(msg, loc=("communities", part.code))
    return int(made)


# --- moving features ----------------------------------------------------------------------------

_LAYERS = (
    "compounds",
    "buildings",
    "gates",
    "service_points",
    "candidate_venues",
    "barriers",
    "grids",
    "lead_zones",
)


def _snapshot(session: Session, old: int) -> None:
    """Remember which rows were the old community's: a reused old row keeps receiving."""
    union = " UNION ALL ".join(
        f"SELECT '{layer}'::text AS layer, id FROM {layer} WHERE community_id = :old"
        for layer in _LAYERS
    )
    session.execute(
        text(f"CREATE TEMP TABLE split_features ON COMMIT DROP AS {union}"), {"old": old}
    )
    session.execute(
        text(
            "INSERT INTO split_features SELECT 'gridded', id FROM buildings "
            "WHERE community_id = :old AND grid_id IS NOT NULL"
        ),
        {"old": old},
    )
    session.execute(text("CREATE INDEX ON split_features (layer, id)"))


def _of(layer: str, alias: str = "f") -> str:
    return f"{alias}.id IN (SELECT id FROM split_features WHERE layer = '{layer}')"


#: Layers with a ``version`` (optimistic concurrency): a move is an edit like any other.
_VERSIONED = frozenset(_LAYERS) - {"lead_zones"}


def _moved_to(layer: str, value: str) -> str:
    """Return the SET clause of a move: the new community, a new version, the time."""
    bump = ", version = f.version + 1" if layer in _VERSIONED else ""
    return f"community_id = {value}{bump}, updated_at = now()"


def _count(session: Session, sql: str, params: Mapping[str, Any]) -> int:
    result = cast("CursorResult[Any]", session.execute(text(sql), params))
    return int(result.rowcount or 0)


def _by_code(session: Session, layer: str, params: Mapping[str, Any]) -> int:
    return _count(
        session,
        f"UPDATE {layer} f SET {_moved_to(layer, 'u.cid')} FROM split_units u "
        f"WHERE u.kind = '{layer}' AND f.code = u.code AND {_of(layer)} "
        "AND f.community_id <> u.cid",
        params,
    )


def _by_compound(session: Session, layer: str, params: Mapping[str, Any]) -> int:
    return _count(
        session,
        f"UPDATE {layer} f SET {_moved_to(layer, 'c.community_id')} FROM compounds c "
        f"WHERE c.id = f.compound_id AND {_of(layer)} AND f.community_id <> c.community_id",
        params,
    )


def _by_place(session: Session, layer: str, params: Mapping[str, Any]) -> int:
    """Move what no plan named and no compound carries to the part it lies in (or nearest)."""
    keep = "f.compound_id IS NULL AND " if layer in _FOLLOW_COMPOUND else ""
    if layer == "buildings":
        keep = "f.code NOT IN (SELECT code FROM split_units WHERE kind = 'buildings') AND "
    if layer == "lead_zones":  # zones with buildings have followed them
        keep = "NOT EXISTS (SELECT 1 FROM lead_zone_members m WHERE m.zone_id = f.id) AND "
    nearest = (
        "SELECT p.cid FROM split_parts p "
        "ORDER BY ST_Distance(p.geom, ST_PointOnSurface(f.geom)) NULLS LAST, p.part LIMIT 1"
    )
    return _move(session, layer, nearest, f"{keep}{_of(layer)} AND f.community_id = :old", params)


def _grids(session: Session, params: Mapping[str, Any]) -> int:
    """Give each grid to the part holding most of its area."""
    most = (
        "SELECT p.cid FROM split_parts p "
        "ORDER BY ST_Area(ST_Intersection(p.geom, f.geom)) DESC, "
        "ST_Distance(p.geom, ST_PointOnSurface(f.geom)), p.part LIMIT 1"
    )
    return _move(session, "grids", most, _of("grids"), params)


def _move(session: Session, layer: str, pick: str, where: str, params: Mapping[str, Any]) -> int:
    """Move the rows ``where`` selects to the community ``pick`` chooses; count those moved."""
    return _count(
        session,
        f"WITH t AS (SELECT f.id, ({pick}) AS cid FROM {layer} f WHERE {where}) "
        f"UPDATE {layer} f SET {_moved_to(layer, 't.cid')} FROM t "
        "WHERE f.id = t.id AND t.cid IS NOT NULL AND f.community_id <> t.cid",
        params,
    )


def _gridded(session: Session) -> int:
    """Count the buildings that lay in a grid and lie in none of their community's grids now."""
    return int(
        session.execute(
            text(
                "SELECT count(*) FROM buildings f LEFT JOIN grids g ON g.id = f.grid_id "
                "WHERE f.id IN (SELECT id FROM split_features WHERE layer = 'gridded') "
                "AND (g.id IS NULL OR g.community_id <> f.community_id)"
            )
        ).scalar_one()
    )


def _lead_zones(session: Session, params: Mapping[str, Any]) -> tuple[int, int]:
    """Zones follow their buildings; a zone now in two communities is removed."""
    split = """
        SELECT m.zone_id, min(b.community_id) AS lo, max(b.community_id) AS hi
        FROM lead_zone_members m JOIN buildings b ON b.id = m.building_id
        WHERE m.zone_id IN (SELECT id FROM split_features WHERE layer = 'lead_zones')
        GROUP BY m.zone_id
    """
    removed = _count(
        session,
        f"DELETE FROM lead_zones WHERE id IN (SELECT zone_id FROM ({split}) z WHERE lo <> hi)",
        params,
    )
    moved = _count(
        session,
        f"UPDATE lead_zones f SET {_moved_to('lead_zones', 'z.lo')} FROM ({split}) z "
        "WHERE f.id = z.zone_id AND z.lo = z.hi AND f.community_id <> z.lo",
        params,
    )
    moved += _by_place(session, "lead_zones", params)
    return removed, moved


def _left_behind(session: Session, community: str, params: Mapping[str, Any]) -> None:
    """Refuse to remove the old community while any of its features is still in it."""
    for layer in _LAYERS:
        n = session.execute(
            text(f"SELECT count(*) FROM {layer} WHERE community_id = :old"), params
        ).scalar_one()
        if n:
            msg = f"社区“{community}”还有 {n} 个{layer}未能分到新社区，未保存"
            raise Conflict(msg, loc=("community",))
