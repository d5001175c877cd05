"""Users, credentials and the change history in the store (docs/access.md).

The store keeps hashes only (passwords, tokens); hashing and the rules of who may do what
are the app's. History rows are written by the database's triggers (migration 0004); this
module reads them and restores a feature from them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import GridmapError, NotFound
from layers.models import ROLES
from layers.schema import LAYERS


class AccountError(GridmapError):
    """A user that cannot be created or changed as asked (name taken, unknown grid...)."""

    type = "account_error"
    status = 422


@dataclass(frozen=True)
class UserRow:
    """A user as the store holds it, with the communities and grids they work in."""

    id: int
    username: str
    display_name: str | None
    role: str
    password_hash: str
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    community_ids: tuple[int, ...]
    community_codes: tuple[str, ...]
    grid_ids: tuple[int, ...]
    grid_codes: tuple[str, ...]


_USER = """
    SELECT u.id, u.username, u.display_name, u.role, u.password_hash, u.disabled,
           u.failed_logins, u.locked_until,
           coalesce(array_agg(DISTINCT c.id) FILTER (WHERE c.id IS NOT NULL), '{}') AS cids,
           coalesce(array_agg(DISTINCT c.code) FILTER (WHERE c.id IS NOT NULL), '{}') AS ccodes,
           coalesce(array_agg(DISTINCT g.id) FILTER (WHERE g.id IS NOT NULL), '{}') AS gids,
           coalesce(array_agg(DISTINCT g.code) FILTER (WHERE g.id IS NOT NULL), '{}') AS gcodes
    FROM users u
    LEFT JOIN user_communities uc ON uc.user_id = u.id
    LEFT JOIN communities c ON c.id = uc.community_id
    LEFT JOIN user_grids ug ON ug.user_id = u.id
    LEFT JOIN grids g ON g.id = ug.grid_id
"""


def _row(r: Any) -> UserRow:
    return UserRow(
        id=r.id,
        username=r.username,
        display_name=r.display_name,
        role=r.role,
        password_hash=r.password_hash,
        disabled=r.disabled,
        failed_logins=r.failed_logins,
        locked_until=r.locked_until,
        community_ids=tuple(sorted(r.cids)),
        community_codes=tuple(sorted(r.ccodes)),
        grid_ids=tuple(sorted(r.gids)),
        grid_codes=tuple(sorted(r.gcodes)),
    )


def find_user(session: Session, username: str) -> UserRow | None:
    """Return the user called ``username`` (exactly), or None."""
    r = session.execute(
        text(_USER + " WHERE u.username = :u GROUP BY u.id"), {"u": username}
    ).one_or_none()
    return None if r is None else _row(r)


def list_users(session: Session) -> list[UserRow]:
    """Return every user, by name."""
    rows = session.execute(text(_USER + " GROUP BY u.id ORDER BY u.username")).all()
    return [_row(r) for r in rows]


def user_for_token(session: Session, token_hash: str, kinds: Sequence[str]) -> UserRow | None:
    """Return the user of a live token (not expired, not revoked, user not disabled)."""
    r = session.execute(
        text(
            _USER
            + """ JOIN auth_tokens t ON t.user_id = u.id
            WHERE t.token_hash = :h AND t.kind = ANY(:kinds) AND t.revoked_at IS NULL
              AND t.expires_at > now() AND NOT u.disabled
            GROUP BY u.id"""
        ),
        {"h": token_hash, "kinds": list(kinds)},
    ).one_or_none()
    return None if r is None else _row(r)


def csrf_of(session: Session, token_hash: str) -> str | None:
    """Return the CSRF hash bound to a session token."""
    return session.execute(
        text("SELECT csrf_hash FROM auth_tokens WHERE token_hash = :h"), {"h": token_hash}
    ).scalar_one_or_none()


def add_user(
    session: Session,
    username: str,
    *,
    role: str,
    password_hash: str,
    communities: Sequence[str] = (),
    grids: Sequence[str] = (),
    display_name: str | None = None,
) -> int:
    """Create a user in the given communities (codes) and grids (codes); return its id."""
    if role not in ROLES:
        msg = f"角色“{role}”不存在，可选：{'、'.join(ROLES)}"
        raise AccountError(msg, loc=("role",))
    if find_user(session, username) is not None:
        msg = f"用户名“{username}”已被使用"
        raise AccountError(msg, loc=("username",))
    uid = session.execute(
        text(
            "INSERT INTO users (username, display_name, role, password_hash) "
            "VALUES (:u, :d, :r, :p) RETURNING id"
        ),
        {"u": username, "d": display_name, "r": role, "p": password_hash},
    ).scalar_one()
    set_memberships(session, uid, communities=communities, grids=grids)
    return int(uid)


def set_memberships(
    session: Session, user_id: int, *, communities: Sequence[str], grids: Sequence[str]
) -> None:
    """Replace a user's communities and grids (codes; a grid must lie in one of them)."""
    known: dict[str, int] = dict(
        session.execute(
            text("SELECT code, id FROM communities WHERE code = ANY(:c)"),
            {"c": list(communities)},
        ).all()
    )
    missing = sorted(set(communities) - set(known))
    if missing:
        msg = f"社区编号不存在：{'、'.join(missing)}"
        raise AccountError(msg, loc=("communities",))
    found = session.execute(
        text("SELECT code, id FROM grids WHERE code = ANY(:g) AND community_id = ANY(:c)"),
        {"g": list(grids), "c": list(known.values())},
    ).all()
    grid_ids: dict[str, int] = dict(found)
    missing = sorted(set(grids) - set(grid_ids))
    if missing:
        msg = f"网格编号不存在或不在所属社区内：{'、'.join(missing)}"
        raise AccountError(msg, loc=("grids",))
    session.execute(text("DELETE FROM user_communities WHERE user_id = :u"), {"u": user_id})
    session.execute(text("DELETE FROM user_grids WHERE user_id = :u"), {"u": user_id})
    for cid in known.values():
        session.execute(
            text("INSERT INTO user_communities (user_id, community_id) VALUES (:u, :c)"),
            {"u": user_id, "c": cid},
        )
    for gid in grid_ids.values():
        session.execute(
            text("INSERT INTO user_grids (user_id, grid_id) VALUES (:u, :g)"),
            {"u": user_id, "g": gid},
        )


def _require_user(session: Session, username: str) -> UserRow:
    user = find_user(session, username)
    if user is None:
        msg = f"用户“{username}”不存在"
        raise NotFound(msg, loc=("username",))
    return user


def set_password(session: Session, username: str, password_hash: str) -> None:
    """Change a user's password; every credential they had stops working."""
    user = _require_user(session, username)
    session.execute(
        text(
            "UPDATE users SET password_hash = :p, failed_logins = 0, locked_until = NULL "
            "WHERE id = :id"
        ),
        {"p": password_hash, "id": user.id},
    )
    revoke_all(session, user.id)


def set_disabled(session: Session, username: str, *, disabled: bool = True) -> None:
    """Disable (or enable again) a user; a disabled user's credentials stop working."""
    user = _require_user(session, username)
    session.execute(
        text("UPDATE users SET disabled = :d WHERE id = :id"), {"d": disabled, "id": user.id}
    )
    if disabled:
        revoke_all(session, user.id)


def set_role(session: Session, username: str, role: str) -> None:
    """Change a user's role."""
    if role not in ROLES:
        msg = f"角色“{role}”不存在，可选：{'、'.join(ROLES)}"
        raise AccountError(msg, loc=("role",))
    user = _require_user(session, username)
    session.execute(text("UPDATE users SET role = :r WHERE id = :id"), {"r": role, "id": user.id})


def login_failed(session: Session, user_id: int, *, lock_after: int, lock_minutes: int) -> bool:
    """Count a failed login; lock the account after ``lock_after``. Return whether locked."""
    locked = session.execute(
        text(
            """UPDATE users SET failed_logins = failed_logins + 1,
                   locked_until = CASE WHEN failed_logins + 1 >= :n
                                       THEN now() + make_interval(mins => :m) END
               WHERE id = :id RETURNING locked_until IS NOT NULL"""
        ),
        {"n": lock_after, "m": lock_minutes, "id": user_id},
    ).scalar_one()
    return bool(locked)


def login_succeeded(session: Session, user_id: int) -> None:
    """Reset the failure count after a good login."""
    session.execute(
        text("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = :id"),
        {"id": user_id},
    )


def is_locked(session: Session, user_id: int) -> bool:
    """Whether the account is locked now."""
    return bool(
        session.execute(
            text("SELECT coalesce(locked_until > now(), false) FROM users WHERE id = :id"),
            {"id": user_id},
        ).scalar_one()
    )


def add_token(
    session: Session,
    user_id: int,
    *,
    kind: str,
    token_hash: str,
    hours: float,
    csrf_hash: str | None = None,
    name: str | None = None,
) -> datetime:
    """Store a credential's hash, valid for ``hours``; return when it expires."""
    expires: datetime = session.execute(
        text(
            """INSERT INTO auth_tokens (user_id, token_hash, kind, name, csrf_hash, expires_at)
               VALUES (:u, :h, :k, :n, :c, now() + make_interval(secs => :s))
               RETURNING expires_at"""
        ),
        {"u": user_id, "h": token_hash, "k": kind, "n": name, "c": csrf_hash, "s": hours * 3600},
    ).scalar_one()
    return expires


def revoke(session: Session, token_hash: str) -> None:
    """Revoke one credential (log-out)."""
    session.execute(
        text("UPDATE auth_tokens SET revoked_at = now() WHERE token_hash = :h"), {"h": token_hash}
    )


def revoke_all(session: Session, user_id: int) -> None:
    """Revoke every credential of a user."""
    session.execute(
        text("UPDATE auth_tokens SET revoked_at = now() WHERE user_id = :u AND revoked_at IS NULL"),
        {"u": user_id},
    )


# --- the history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """A change the running transaction made, as the trigger recorded it."""

    layer: str
    action: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    member_grid: int | None
    #: Codes of the grids the rows name (grid id -> code), for messages people read.
    grid_codes: dict[int, str]
    #: For a lead zone: the grids of its member buildings now.
    zone_grids: tuple[int, ...] = ()


def changes_in_transaction(session: Session) -> list[Recorded]:
    """Return every change the session's running transaction has recorded so far."""
    rows = session.execute(
        text(
            """SELECT h.layer, h.action, h.old, h.new, b.grid_id AS member_grid,
                      go.id AS old_grid, go.code AS old_grid_code,
                      gn.id AS new_grid, gn.code AS new_grid_code,
                      gm.code AS member_grid_code,
                      CASE WHEN h.layer = 'lead_zones' THEN ARRAY(
                          SELECT DISTINCT zb.grid_id FROM lead_zone_members zm
                          JOIN buildings zb ON zb.id = zm.building_id
                          WHERE zm.zone_id = coalesce(h.new->>'id', h.old->>'id')::int
                            AND zb.grid_id IS NOT NULL
                      ) END AS zone_grids
               FROM history h
               LEFT JOIN buildings b ON h.layer IN ('lead_zone_members', 'building_photos')
                    AND b.id = coalesce(h.new->>'building_id', h.old->>'building_id')::int
               LEFT JOIN grids go ON go.id = (h.old->>'grid_id')::int
               LEFT JOIN grids gn ON gn.id = (h.new->>'grid_id')::int
               LEFT JOIN grids gm ON gm.id = b.grid_id
               WHERE h.txid = txid_current()
               ORDER BY h.id"""
        )
    ).all()
    out = []
    for r in rows:
        codes = {
            gid: code
            for gid, code in (
                (r.old_grid, r.old_grid_code),
                (r.new_grid, r.new_grid_code),
                (r.member_grid, r.member_grid_code),
            )
            if gid is not None
        }
        out.append(
            Recorded(
                r.layer, r.action, r.old, r.new, r.member_grid, codes, tuple(r.zone_grids or ())
            )
        )
    return out


def outside_communities(session: Session, within: Sequence[int]) -> str | None:
    """Name a row the running transaction changed outside communities ``within``, or None.

    A row's community is its ``community_id`` (a community's own ``id``), before and after
    the change; rows of no community (streets, users) are not judged here.
    """
    row = session.execute(
        text(
            """SELECT h.layer, coalesce(h.new->>'name', h.old->>'name', h.code) AS what
               FROM history h
               CROSS JOIN LATERAL (VALUES (h.old), (h.new)) AS r(j)
               WHERE h.txid = txid_current() AND r.j IS NOT NULL
                 AND (CASE WHEN h.layer = 'communities' THEN r.j->>'id'
                           ELSE r.j->>'community_id' END)::int <> ALL(:within)
               LIMIT 1"""
        ),
        {"within": list(within)},
    ).first()
    return None if row is None else f"{row.layer} {row.what}"


def feature_history(session: Session, layer: str, feature_id: int) -> list[dict[str, Any]]:
    """Return a feature's changes, newest first: who, when, through what, old and new values."""
    table = LAYERS[layer].table
    rows = session.execute(
        text(
            """SELECT id, action, old, new, changed_by, channel, changed_at
               FROM history WHERE layer = :t AND feature_id = :f ORDER BY id DESC"""
        ),
        {"t": table, "f": feature_id},
    ).mappings()
    return [dict(r) for r in rows]


def history_entry(session: Session, entry_id: int) -> dict[str, Any]:
    """Return one history row."""
    r = (
        session.execute(text("SELECT * FROM history WHERE id = :i"), {"i": entry_id})
        .mappings()
        .one_or_none()
    )
    if r is None:
        msg = f"修改记录 {entry_id} 不存在"
        raise NotFound(msg, loc=("path", "entry"))
    return dict(r)


#: Columns a restore never writes: the row's identity and its bookkeeping.
_NOT_RESTORED = frozenset({"id", "created_at", "updated_at", "version"})


def restore(session: Session, layer: str, feature_id: int, entry_id: int) -> None:
    """Put a feature back as it was after history entry ``entry_id`` (or before a delete).

    The restore is itself a change and is recorded like any other; a deleted feature comes
    back with its old id.
    """
    table = LAYERS[layer].table
    entry = history_entry(session, entry_id)
    if entry["layer"] != table or entry["feature_id"] != feature_id:
        msg = f"修改记录 {entry_id} 不属于 {layer} {feature_id}"
        raise NotFound(msg, loc=("path", "entry"))
    values = entry["new"] if entry["action"] != "delete" else entry["old"]
    if values is None:
        msg = f"修改记录 {entry_id} 是新增之前的状态，无法恢复到该版本；可删除该要素"
        raise AccountError(msg, loc=("path", "entry"))
    columns = {
        r.column_name: r.udt_name
        for r in session.execute(
            text(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = :t"
            ),
            {"t": table},
        )
    }
    cols = [c for c in values if c in columns and c not in _NOT_RESTORED]
    params: dict[str, Any] = {"id": feature_id}
    exprs = []
    for c in cols:
        params[c] = json.dumps(values[c]) if columns[c] == "geometry" else values[c]
        exprs.append(
            f"ST_SetSRID(ST_GeomFromGeoJSON(:{c}), 4326)" if columns[c] == "geometry" else f":{c}"
        )
    exists = session.execute(
        text(f"SELECT 1 FROM {table} WHERE id = :id"), {"id": feature_id}
    ).first()
    if exists:
        sets = ", ".join(f"{c} = {e}" for c, e in zip(cols, exprs, strict=True))
        session.execute(
            text(f"UPDATE {table} SET {sets}, version = version + 1 WHERE id = :id"), params
        )
    else:
        names = ", ".join(["id", *cols])
        session.execute(
            text(f"INSERT INTO {table} ({names}) VALUES (:id, {', '.join(exprs)})"), params
        )
