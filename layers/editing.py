"""Edit and delete single features safely: no lost update, no accidental cascade.

Every editable layer carries a ``version``. An edit names the version it started from; the
row is locked (``SELECT ... FOR NO KEY UPDATE``), the version compared, the sent values
validated exactly as an import validates them, and then one statement writes *only* the
sent fields::

    UPDATE <table> SET <sent fields>, updated_at = now(), version = version + 1
    WHERE id = :fid AND version = :version RETURNING version

so of any number of writers holding one version exactly one wins and the others are told
the version to re-read. A delete refuses, with counts, to take features that depend on
the one deleted (a community's buildings, a compound's gates...) unless asked to cascade.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely
from shapely.geometry import shape

from layers import crs as crsmod
from layers import importing
from layers.errors import (
    ConstraintViolation,
    GridmapError,
    ImportRowError,
    Loc,
    NotFound,
)
from layers.models import MODELS
from layers.queries import refresh_assignments
from layers.schema import LAYERS
from layers.walkways import rebuild_networks

#: Layers whose features carry a ``version`` (every layer the API edits).
VERSIONED: frozenset[str] = frozenset(
    name for name, model in MODELS.items() if "version" in model.__table__.c
)
#: Layers that shape the walking network: changing their geometry rebuilds it.
NETWORK_LAYERS = frozenset({"gates", "compounds", "barriers"})
#: Fields whose values the cross-field rules compare (docs/domain.md, "数据的合理性").
_RULE_FIELDS = ("residents", "party_members", "mobile_party_members", "floating_residents")
_ROW_PREFIX = re.compile(r"^第 \d+ 行：")


class VersionRequired(GridmapError):
    """An edit that does not say which version it started from."""

    type = "version_required"
    status = 428


class VersionConflict(GridmapError):
    """Someone changed the feature since the editor loaded it."""

    type = "version_conflict"
    status = 409

    def __init__(
        self,
        msg: str,
        *,
        loc: Loc = (),
        current: int,
        fields: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(msg, loc=loc)
        self.current = current
        self.fields = [dict(f) for f in fields]
        #: The recorded conflict (:mod:`layers.fieldwork`), once the caller kept it.
        self.conflict_id: int | None = None

    def details(self) -> list[dict[str, object]]:
        """Return the error with the current version in ``ctx``, for a client to re-read.

        When the edit collided with a newer change, ``ctx.fields`` lists each colliding field
        with its value at the editor's version (``base``), now (``current``) and as proposed.
        """
        out = super().details()
        ctx: dict[str, object] = {"current_version": self.current}
        if self.fields:
            ctx["fields"] = self.fields
        if self.conflict_id is not None:
            ctx["conflict_id"] = self.conflict_id
        out[0]["ctx"] = ctx
        return out


class HasDependents(GridmapError):
    """A delete that would take (or orphan) other features with it."""

    type = "has_dependents"
    status = 409

    def __init__(self, msg: str, *, loc: Loc = (), counts: Mapping[str, int]) -> None:
        super().__init__(msg, loc=loc)
        self.counts = dict(counts)

    def details(self) -> list[dict[str, object]]:
        """Return the error with the count per dependent layer in ``ctx``."""
        out = super().details()
        out[0]["ctx"] = {"dependents": self.counts}
        return out


@dataclass(frozen=True)
class Locked:
    """A feature row locked for this transaction: its code, community and version."""

    id: int
    code: str
    community_id: int | None
    version: int
    values: dict[str, Any]


def _scope_column(layer: str) -> str:
    if layer == "communities":
        return "id"
    return "community_id" if LAYERS[layer].community_scoped else "NULL::integer"


def _not_found(layer: str, fid: int) -> NotFound:
    msg = f"图层 {LAYERS[layer].zh} 中没有 id 为 {fid} 的要素"
    return NotFound(msg, loc=("path", "fid"))


def lock_feature(session: Session, layer: str, fid: int, *, for_delete: bool = False) -> Locked:
    """Lock feature ``fid`` of ``layer`` until the transaction ends and return its state.

    An edit takes ``FOR NO KEY UPDATE`` (children may still point at the row meanwhile), a
    delete ``FOR UPDATE`` (no child can start pointing at a row about to go).

    Raises
    ------
    NotFound
        When the layer has no feature ``fid``.
    """
    spec = LAYERS[layer]
    rules = [f for f in _RULE_FIELDS if f in {x.name for x in spec.fields}]
    cols = ", ".join(["code", f"{_scope_column(layer)} AS scope", "version", *rules])
    mode = "UPDATE" if for_delete else "NO KEY UPDATE"
    row = (
        session.execute(
            text(f"SELECT {cols} FROM {spec.table} WHERE id = :fid FOR {mode}"), {"fid": fid}
        )
        .mappings()
        .first()
    )
    if row is None:
        raise _not_found(layer, fid)
    scope = row["scope"]
    return Locked(
        id=fid,
        code=str(row["code"]),
        community_id=None if scope is None else int(scope),
        version=int(row["version"]),
        values={f: row[f] for f in rules},
    )


def feature_version(session: Session, layer: str, fid: int) -> int | None:
    """Return the current version of feature ``fid``, or None when there is none."""
    found = session.execute(
        text(f"SELECT version FROM {LAYERS[layer].table} WHERE id = :fid"), {"fid": fid}
    ).scalar()
    return None if found is None else int(found)


def check_version(
    layer: str, locked: Locked, expected: int | None, *, loc: Loc, required: bool = True
) -> None:
    """Refuse an edit that names no version (428) or a stale one (409)."""
    if expected is None:
        if not required:
            return
        msg = (
            f"修改{LAYERS[layer].zh}时必须给出版本号：请在请求体 version 中写读取时的"
            f" properties.version，或在请求头 If-Match 中带上读取时的 ETag（当前版本"
            f" {locked.version}），以免覆盖他人的修改"
        )
        raise VersionRequired(msg, loc=loc)
    if expected != locked.version:
        msg = f"该要素已被他人修改（您的版本 {expected}，当前版本 {locked.version}），请刷新后再改"
        raise VersionConflict(msg, loc=loc, current=locked.version)


# --- patch ------------------------------------------------------------------------------------


def patch_feature(
    session: Session,
    layer: str,
    fid: int,
    *,
    version: int | None,
    properties: Mapping[str, Any],
    geometry: Mapping[str, Any] | None = None,
    version_loc: Loc = ("version",),
    where: Loc = (),
    boundary_tolerance_m: float = 20.0,
    gate_tolerance_m: float = 15.0,
) -> int:
    """Change some fields (and maybe the geometry, GeoJSON in WGS84) of one feature.

    Runs in the caller's transaction: locks the row, compares ``version``, validates the
    sent values as :func:`layers.importing.import_frame` would (types, bounds, choices,
    cross-field rules, geometry validity and kind, inside the community, China offsets),
    writes only them with one ``UPDATE ... WHERE version = :version`` and refreshes what
    the import derives (compound/grid assignment, the walking network) when it can change.

    Parameters
    ----------
    session
        The session; its transaction must be open and is left to the caller to end.
    layer, fid
        The layer and the feature's database id.
    version
        The version the editor loaded, or None (refused with 428).
    properties, geometry
        The fields to change and the new geometry (None keeps the stored one).
    version_loc, where
        Where in the caller's request the version and the feature are, for error ``loc``s.
    boundary_tolerance_m, gate_tolerance_m
        As for an import.

    Returns
    -------
    int
        The feature's new version.
    """
    spec = LAYERS[layer]
    known = {f.name for f in spec.fields}
    unknown = sorted(set(properties) - known)
    if unknown:
        msg = f"图层 {spec.zh} 没有这些字段：{'、'.join(unknown)}"
        raise NotFound(msg, loc=(*where, "properties", unknown[0]))
    locked = lock_feature(session, layer, fid)
    if version is not None and version != locked.version:
        version = rebase(
            session,
            layer,
            locked,
            version,
            properties=properties,
            geometry=geometry,
            loc=version_loc,
        )
    check_version(layer, locked, version, loc=version_loc)
    assert version is not None
    if not properties and geometry is None:
        msg = "请求中没有要修改的字段或几何"
        raise ImportRowError([((*where, "properties"), msg, "empty_patch")])
    geom = _geometry(geometry, where)
    sets = _validated(
        session,
        layer,
        locked,
        properties,
        geom,
        where=where,
        boundary_tolerance_m=boundary_tolerance_m,
    )
    new_version = _write(
        session, layer, locked, sets, version=version, where=where, version_loc=version_loc
    )
    moved = "geom" in sets
    if moved or "compound_id" in sets or "street_id" in sets:
        touched = [] if locked.community_id is None else [locked.community_id]
        refresh_assignments(session, touched, layer=layer)
    if layer in NETWORK_LAYERS and (moved or "compound_id" in sets):
        assert locked.community_id is not None
        rebuild_networks(session, [locked.community_id], gate_tolerance_m=gate_tolerance_m)
    return new_version


def rebase(
    session: Session,
    layer: str,
    locked: Locked,
    base: int,
    *,
    properties: Mapping[str, Any],
    geometry: Mapping[str, Any] | None,
    loc: Loc,
) -> int:
    """Merge an edit based on an older version ``base`` onto the current one, field by field.

    The feature as it was at ``base`` comes from the history (migration 0004). An edit whose
    fields nobody changed since ``base`` applies to the current version, which is returned.
    One that touches a field changed since ``base`` collides, even when it proposes the value
    it holds now (a read-modify-write of a count must not be merged into a lost increment),
    and is refused with 409 and, per colliding field, its value at ``base``, now and as
    proposed; so is one whose base the history does not hold.
    """
    table = LAYERS[layer].table
    then = session.execute(
        text(
            "SELECT new FROM history WHERE layer = :t AND feature_id = :f "
            "AND (new->>'version')::int = :v ORDER BY id DESC LIMIT 1"
        ),
        {"t": table, "f": locked.id, "v": base},
    ).scalar()
    stale = f"该要素已被他人修改（您的版本 {base}，当前版本 {locked.version}），请刷新后再改"
    if then is None or base > locked.version:
        raise VersionConflict(stale, loc=loc, current=locked.version)
    now = session.execute(
        text(f"SELECT to_jsonb(t) FROM {table} t WHERE id = :f"), {"f": locked.id}
    ).scalar_one()
    proposed: dict[str, Any] = dict(properties)
    if geometry is not None:
        proposed["geom"] = dict(geometry)
    collisions = [
        {"field": name, "base": then.get(name), "current": now.get(name), "proposed": value}
        for name, value in proposed.items()
        if then.get(name) != now.get(name)
    ]
    if collisions:
        names = "、".join(
            LAYERS[layer].field(c["field"]).zh if c["field"] != "geom" else "几何"
            for c in collisions
        )
        msg = (
            f"该要素已被他人修改（您的版本 {base}，当前版本 {locked.version}），"
            f"以下字段与他人的修改冲突：{names}；请逐项选择保留哪个值"
        )
        raise VersionConflict(msg, loc=loc, current=locked.version, fields=collisions)
    return locked.version


def _geometry(geometry: Mapping[str, Any] | None, where: Loc) -> Any:
    if geometry is None:
        return None
    try:
        return shape(dict(geometry))
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
        msg = f"几何不是有效的 GeoJSON：{exc}"
        raise ImportRowError([((*where, "geometry"), msg, "bad_geojson")]) from exc


def _validated(
    session: Session,
    layer: str,
    locked: Locked,
    properties: Mapping[str, Any],
    geom: Any,
    *,
    where: Loc,
    boundary_tolerance_m: float,
) -> dict[str, Any]:
    """Return the columns to set, checked the way an import checks a row."""
    spec = LAYERS[layer]
    sent = list(properties)
    # The rules compare fields: check a sent one against the stored values of its partners.
    partners = {f: v for f, v in locked.values.items() if f not in properties}
    data: dict[str, list[Any]] = {"code": [locked.code]}
    data |= {f: [v] for f, v in properties.items()}
    if any(f in _RULE_FIELDS for f in sent):
        data |= {f: [v] for f, v in partners.items()}
    frame = gpd.GeoDataFrame(
        pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()}),
        geometry=[geom],
        crs="EPSG:4326",
    )
    columns = {c: c for c in data}
    problems: list[tuple[Loc, str, str]] = []
    wgs84 = crsmod.WGS84
    geoms = importing._check_geometry(frame, spec, wgs84, problems) if geom is not None else None
    values = importing._convert_values(frame, spec, columns, problems)
    values.pop("code")
    scoped = spec.community_scoped and locked.community_id is not None
    cids = np.array([locked.community_id] if scoped else [], dtype=np.int64)
    if geoms is not None and not problems:
        importing._check_offset(
            session,
            spec,
            geoms,
            codes=[locked.code],
            community_ids=cids,
            crs_spec=wgs84,
            problems=problems,
        )
    if geoms is not None and not problems and spec.community_scoped:
        importing._check_inside(session, geoms, cids, boundary_tolerance_m, problems)
    sets: dict[str, Any] = {f: values[f][0] for f in sent}
    try:
        if not problems and layer == "gates" and "compound" in sets:
            sets["compound_id"] = importing._resolve_compounds(
                session, [sets.pop("compound")], cids, problems
            )[0]
        if not problems and layer == "communities" and "street" in sets:
            sets["street_id"] = importing._street_ids(session, pd.Series([sets.pop("street")]))[0]
    except ImportRowError as exc:
        problems = list(exc.problems)
    except NotFound as exc:
        problems = [(exc.loc, exc.msg, exc.type)]
    if problems:
        raise ImportRowError([_in_feature(p, sent, where) for p in problems])
    if geoms is not None:
        sets["geom"] = geoms[0]
    return sets


def _in_feature(problem: tuple[Loc, str, str], sent: list[str], where: Loc) -> tuple[Loc, str, str]:
    """Say where in the edited feature an import problem (``file, row, 1, column``) is."""
    loc, msg, typ = problem
    text_ = _ROW_PREFIX.sub("", msg)
    if loc[:2] != ("file", "row") or len(loc) < 4:
        return ((*where, *loc) if loc else where, text_, typ)
    column = str(loc[3])
    if column == "geometry":
        return ((*where, "geometry"), text_, typ)
    if column not in sent:  # a rule broken by a sent field against a stored one
        column = next((f for f in sent if f in _RULE_FIELDS), sent[0] if sent else column)
    return ((*where, "properties", column), text_, typ)


def _write(
    session: Session,
    layer: str,
    locked: Locked,
    sets: dict[str, Any],
    *,
    version: int,
    where: Loc,
    version_loc: Loc,
) -> int:
    """Write the sent columns if the version still holds; return the new version."""
    table = LAYERS[layer].table
    params: dict[str, Any] = {"fid": locked.id, "version": version}
    assigns = []
    for i, (column, value) in enumerate(sets.items()):
        if column == "geom":
            assigns.append("geom = ST_GeomFromWKB(:geom, 4326)")
            params["geom"] = shapely.to_wkb(value)
        else:
            assigns.append(f"{column} = :v{i}")
            params[f"v{i}"] = value
    sql = (
        f"UPDATE {table} SET {', '.join(assigns)}, updated_at = now(), version = version + 1 "
        "WHERE id = :fid AND version = :version RETURNING version"
    )
    try:
        with session.begin_nested():
            found = session.execute(text(sql), params).scalar()
    except (IntegrityError, DataError) as exc:
        diag = getattr(exc.orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or ""
        field = _constraint_field(table, constraint, list(sets))
        detail = f"约束 {constraint}" if constraint else "取值超出数据库允许的范围"
        msg = f"数据库拒绝了这次修改（{detail}）：{str(exc.orig).splitlines()[0]}"
        loc: Loc = (*where, "properties", field) if field else (*where, "properties")
        raise ConstraintViolation(msg, loc=loc) from exc
    if found is None:  # unreachable under the row lock; the statement is the guarantee
        now = session.execute(text(f"SELECT version FROM {table} WHERE id = :fid"), params)
        current = int(now.scalar_one())
        msg = f"该要素已被他人修改（您的版本 {version}，当前版本 {current}），请刷新后再改"
        raise VersionConflict(msg, loc=version_loc, current=current)
    return int(found)


def _constraint_field(table: str, constraint: str, sent: list[str]) -> str | None:
    """Guess the sent field a violated check is about (``ck_buildings_households_min``)."""
    rest = constraint.removeprefix(f"ck_{table}_")
    for field in sorted(sent, key=len, reverse=True):
        if field != "geom" and rest.startswith(field):
            return field
    fields = [f for f in sent if f != "geom"]
    if rest.startswith("geom"):
        return None
    return fields[0] if fields else None


# --- delete -----------------------------------------------------------------------------------

#: What points at a feature of each layer: (table, column) pairs; a community's are deleted
#: with it (ON DELETE CASCADE), the others are left without a parent (ON DELETE SET NULL).
_DEPENDENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "streets": (("communities", "street_id"),),
    "communities": tuple(
        (table, "community_id")
        for table in (
            "buildings",
            "compounds",
            "grids",
            "gates",
            "service_points",
            "candidate_venues",
            "barriers",
            "walk_ways",
            "lead_zones",
        )
    ),
    "grids": (("compounds", "grid_id"), ("buildings", "grid_id"), ("service_points", "grid_id")),
    "compounds": (
        ("buildings", "compound_id"),
        ("gates", "compound_id"),
        ("service_points", "compound_id"),
        ("candidate_venues", "compound_id"),
    ),
}
_NOUNS = {
    "walk_ways": ("条", "步行道"),
    "lead_zones": ("个", "楼长责任区"),
    "buildings": ("栋", "楼栋"),
    "barriers": ("段", "围墙/围栏"),
}
# A building is in lead zones (as a member or as the zone's lead).
_BUILDING_ZONES = """
    SELECT count(*) FROM lead_zones z
    WHERE z.lead_building_id = :fid
       OR EXISTS (SELECT 1 FROM lead_zone_members m WHERE m.zone_id = z.id AND m.building_id = :fid)
"""


def _noun(table: str) -> tuple[str, str]:
    return _NOUNS.get(table) or ("个", LAYERS[table].zh)


def dependents(session: Session, layer: str, fid: int) -> dict[str, int]:
    """Return how many features of each table depend on feature ``fid`` (non-zero only)."""
    counts: dict[str, int] = {}
    for table, column in _DEPENDENTS.get(layer, ()):
        n = session.execute(
            text(f"SELECT count(*) FROM {table} WHERE {column} = :fid"), {"fid": fid}
        ).scalar_one()
        if n:
            counts[table] = int(n)
    if layer == "buildings":
        n = session.execute(text(_BUILDING_ZONES), {"fid": fid}).scalar_one()
        if n:
            counts["lead_zones"] = int(n)
    return counts


def _dependents_message(layer: str, counts: Mapping[str, int]) -> str:
    listed = "、".join(f"{n} {_noun(t)[0]}{_noun(t)[1]}" for t, n in counts.items())
    zh = LAYERS[layer].zh
    if layer == "communities":
        return (
            f"该社区下还有 {listed}，删除社区会把它们一并删除；如确需一并删除，请加 ?cascade=true"
        )
    if layer == "buildings":
        return f"该楼栋还在 {listed}中，删除后将从责任区中移除；如确需删除，请加 ?cascade=true"
    return f"还有 {listed}属于该{zh}，删除后它们将不再属于任何{zh}；如确需删除，请加 ?cascade=true"


def delete_feature(
    session: Session,
    layer: str,
    fid: int,
    *,
    version: int | None = None,
    version_loc: Loc = ("version",),
    cascade: bool = False,
    gate_tolerance_m: float = 15.0,
) -> None:
    """Delete feature ``fid`` of ``layer`` in the caller's transaction.

    Refused with :class:`HasDependents` (counts per layer, in zh-CN) when other features
    depend on it, unless ``cascade``; refused with :class:`VersionConflict` when ``version``
    is given and stale. Afterwards what depended on a grid or compound is assigned again
    (to another one it lies in, if any), and the walking network is rebuilt when a gate,
    compound or wall went.
    """
    locked = lock_feature(session, layer, fid, for_delete=True)
    check_version(layer, locked, version, loc=version_loc, required=False)
    counts = dependents(session, layer, fid)
    if counts and not cascade:
        raise HasDependents(
            _dependents_message(layer, counts), loc=("query", "cascade"), counts=counts
        )
    session.execute(text(f"DELETE FROM {LAYERS[layer].table} WHERE id = :fid"), {"fid": fid})
    cid = locked.community_id
    if cid is None or layer == "communities":
        return
    if layer in {"grids", "compounds"} and counts:
        refresh_assignments(session, [cid], layer=layer)
    if layer in NETWORK_LAYERS:
        rebuild_networks(session, [cid], gate_tolerance_m=gate_tolerance_m)


# --- edits applied once -------------------------------------------------------------------------


class KeyReused(GridmapError):
    """An Idempotency-Key sent again for another feature."""

    type = "idempotency_key_reused"
    status = 422


def claim_edit(
    session: Session, username: str, key: str, layer: str, fid: int
) -> dict[str, Any] | None:
    """Claim ``key`` for this edit; return the first delivery's answer if it was sent before.

    The claim is a row inserted in the edit's transaction: a concurrent resend waits on it
    and then finds the answer, and an edit that fails leaves no claim behind.
    """
    claimed = session.execute(
        text(
            "INSERT INTO applied_edits (username, key, layer, feature_id) "
            "VALUES (:u, :k, :l, :f) ON CONFLICT DO NOTHING RETURNING key"
        ),
        {"u": username, "k": key, "l": layer, "f": fid},
    ).first()
    if claimed is not None:
        return None
    row = session.execute(
        text(
            "SELECT layer, feature_id, response FROM applied_edits WHERE username = :u AND key = :k"
        ),
        {"u": username, "k": key},
    ).one()
    if (row.layer, row.feature_id) != (layer, fid):
        msg = (
            f"Idempotency-Key“{key}”已用于另一次修改（{row.layer} {row.feature_id}）："
            "每次修改请用新的编号"
        )
        raise KeyReused(msg, loc=("header", "Idempotency-Key"))
    answer: dict[str, Any] = row.response
    return answer


def remember_edit(session: Session, username: str, key: str, response: Mapping[str, Any]) -> None:
    """Keep the answer of an edit under its key (in the edit's transaction)."""
    session.execute(
        text(
            "UPDATE applied_edits SET response = CAST(:r AS jsonb) WHERE username = :u AND key = :k"
        ),
        {"u": username, "k": key, "r": json.dumps(dict(response), default=str)},
    )
