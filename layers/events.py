"""Events (事件): reported at a place, then walked through the workflow by the roles allowed.

docs/events.md holds the rules; in short: an event is *reported* (a point, or a building, a
category, a description); it takes its community, grid, compound, building and the grid's
officer from its point, and its department and time limits from its category. The
community files it (立案) or cancels it, dispatches it to a department (派遣, "blowing the
whistle"); the department accepts it (报到) or returns it as not its own, handles it and
feeds the result back; the grid officer verifies it (核查), sending it back to the
department when the problem is still there, and the community closes it. Each status has a
deadline (``due_at``); a step taken after it is marked late, and an open event past it is
overdue (督办). Every step is a row of ``event_steps``: the event's timeline.

The database refuses any change of status that is not one of the workflow's steps (migration
0007); here each step is also checked against the user's role, community, grid or department,
with a message saying what is missing, so a refusal reaches the user before the database's.
Times come from the caller (``now``): the API's clock, which tests control.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import Conflict, GridmapError, NotFound
from layers.models import EVENT_SOURCES, EVENT_STATUSES

#: The statuses as users read them.
STATUS_ZH: Mapping[str, str] = {
    "reported": "已上报",
    "filed": "已立案",
    "cancelled": "不予立案",
    "dispatched": "已派遣",
    "accepted": "已报到",
    "handled": "已处置",
    "fed_back": "已反馈",
    "verified": "已核查",
    "closed": "已结案",
}
#: Statuses from which no step leads on.
FINAL: frozenset[str] = frozenset({"cancelled", "closed"})
#: The roles that act for the community (file, dispatch, verify, close) and for departments.
COMMUNITY_ROLES: frozenset[str] = frozenset({"admin", "planner", "officer"})
DEPARTMENT_ROLES: frozenset[str] = frozenset({"admin", "department"})
#: Roles that may report an event.
REPORTER_ROLES: frozenset[str] = frozenset({"admin", "planner", "officer", "field"})
#: Hours a status may last before its next step is late; ``accepted`` (the department's
#: handling) takes the category's hours instead.
STEP_HOURS: Mapping[str, float] = {
    "reported": 2,
    "filed": 2,
    "dispatched": 4,
    "handled": 24,
    "fed_back": 24,
    "verified": 24,
}
#: A building within this distance of an event's point is the event's building.
BUILDING_SNAP_M = 30.0
MAX_NOTE = 1000


@dataclass(frozen=True)
class Action:
    """A step of the workflow: from which statuses, to which, taken by which side."""

    zh: str
    sources: tuple[str, ...]
    target: str
    side: Literal["community", "department"]


#: The workflow's steps (their (source, target) pairs are ``event_transitions``).
ACTIONS: Mapping[str, Action] = {
    "file": Action("立案", ("reported",), "filed", "community"),
    "cancel": Action("不予立案", ("reported", "filed"), "cancelled", "community"),
    "dispatch": Action("派遣（吹哨）", ("filed",), "dispatched", "community"),
    "accept": Action("报到受理", ("dispatched",), "accepted", "department"),
    "return": Action("退回（非本部门职责）", ("dispatched",), "filed", "department"),
    "handle": Action("处置完成", ("accepted",), "handled", "department"),
    "feedback": Action("反馈结果", ("handled",), "fed_back", "department"),
    "verify": Action("核查通过", ("fed_back",), "verified", "community"),
    "send_back": Action("核查未通过，退回重办", ("fed_back",), "accepted", "community"),
    "close": Action("结案", ("verified",), "closed", "community"),
}
#: What leads on from each status, for the messages ("应先……").
NEXT: Mapping[str, tuple[str, ...]] = {
    s: tuple(a for a, act in ACTIONS.items() if s in act.sources) for s in EVENT_STATUSES
}


class EventError(GridmapError):
    """A report or step the workflow refuses as asked (unknown category, bad place...)."""

    type = "event_error"
    status = 422


class NotAllowed(GridmapError):
    """A step the user's role, community, grid or department does not allow."""

    type = "forbidden"
    status = 403


class OutOfOrder(Conflict):
    """A step the event's current status does not allow (closing an event never handled)."""

    type = "out_of_order"


class DuplicateSuggested(Conflict):
    """Open events of the same kind lie within the category's distance (the same problem)."""

    type = "duplicate_suggested"


@dataclass(frozen=True)
class Actor:
    """Who reports or takes a step: their role and where they work (None: everywhere)."""

    username: str
    role: str
    user_id: int | None = None
    communities: frozenset[int] | None = None
    grids: frozenset[int] = frozenset()


# --- reporting ----------------------------------------------------------------------------------


def report(
    session: Session,
    actor: Actor,
    *,
    now: datetime,
    lon: float,
    lat: float,
    category: str,
    description: str,
    source: str = "api",
    building: str | None = None,
    address: str | None = None,
    reporter_name: str | None = None,
    reporter_phone: str | None = None,
    allow_duplicate: bool = False,
) -> str:
    """Record a new event at (lon, lat) WGS84; return its code. See the module docstring."""
    if actor.role not in REPORTER_ROLES:
        msg = "只有网格员、扫楼人员、社区书记/规划人员和管理员可以上报事件"
        raise NotAllowed(msg, loc=("role",))
    if source not in EVENT_SOURCES:
        msg = f"来源“{source}”不存在，可选：{'、'.join(EVENT_SOURCES)}"
        raise EventError(msg, loc=("body", "source"))
    cat = _category(session, category)
    place = _place(session, lon, lat, building)
    if actor.communities is not None and place["community_id"] not in actor.communities:
        msg = f"位置 ({lon:.6f}, {lat:.6f}) 在社区“{place['community']}”，不是您所在的社区"
        raise NotAllowed(msg, loc=("body", "lon"))
    if not allow_duplicate:
        near = duplicates(session, lon=lon, lat=lat, category=category)
        if near:
            codes = "、".join(d["code"] for d in near[:5])
            msg = (
                f"{cat['duplicate_m']:g} 米内已有同类未结事件：{codes}；是同一问题请勿重复上报，"
                "确认是新问题请勾选“仍然上报”（allow_duplicate）"
            )
            raise DuplicateSuggested(msg, loc=("body", "allow_duplicate"))
    values = {
        **place,
        "category_id": cat["id"],
        "department_id": cat["department_id"],
        "description": description,
        "address": address,
        "reporter": actor.username,
        "reporter_name": reporter_name,
        "reporter_phone": reporter_phone,
        "source": source,
        "now": now,
        "due": now + timedelta(hours=STEP_HOURS["reported"]),
        "lon": lon,
        "lat": lat,
    }
    row = session.execute(
        text(
            """
            WITH n AS (SELECT nextval('events_id_seq') AS id)
            INSERT INTO events (id, code, community_id, grid_id, compound_id, building_id,
                category_id, department_id, officer, description, address, reporter,
                reporter_name, reporter_phone, source, status, reported_at, status_at, due_at,
                geom)
            SELECT n.id,
                   'SJ' || to_char(CAST(:now AS timestamptz) AT TIME ZONE 'Asia/Shanghai',
                                   'YYYYMMDD') || lpad(n.id::text, 6, '0'),
                   :community_id, :grid_id, :compound_id, :building_id, :category_id,
                   :department_id, :officer, :description, :address, :reporter,
                   :reporter_name, :reporter_phone, :source, 'reported', :now, :now, :due,
                   ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
            FROM n RETURNING id, code
            """
        ),
        values,
    ).one()
    _step(
        session,
        row.id,
        "report",
        source=None,
        target="reported",
        actor=actor,
        now=now,
        note=None,
        due=None,
    )
    return str(row.code)


def duplicates(session: Session, *, lon: float, lat: float, category: str) -> list[dict[str, Any]]:
    """Return the open events of ``category`` within its duplicate distance, nearest first."""
    cat = _category(session, category)
    rows = session.execute(
        text(
            """
            SELECT e.code, e.status, e.description, e.reported_at,
                   ST_Distance(e.geom::geography, p.g::geography) AS distance_m
            FROM events e,
                 (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) p
            WHERE e.category_id = :cid AND e.status NOT IN ('cancelled', 'closed')
              AND ST_DWithin(e.geom::geography, p.g::geography, :m)
            ORDER BY distance_m, e.code
            """
        ),
        {"lon": lon, "lat": lat, "cid": cat["id"], "m": cat["duplicate_m"]},
    ).mappings()
    return [
        {
            **dict(r),
            "distance_m": round(float(r["distance_m"]), 1),
            "status_zh": STATUS_ZH[r["status"]],
        }
        for r in rows
    ]


def _category(session: Session, code: str) -> dict[str, Any]:
    row = (
        session.execute(
            text(
                "SELECT k.id, k.code, k.name, k.parent_id, k.department_id, k.handle_hours, "
                "k.duplicate_m, k.active FROM event_categories k WHERE k.code = :c"
            ),
            {"c": code},
        )
        .mappings()
        .one_or_none()
    )
    if row is None or not row["active"]:
        msg = f"事件类别“{code}”不存在或已停用（类别见 /api/event-categories）"
        raise EventError(msg, loc=("body", "category"))
    if row["parent_id"] is None:
        msg = f"“{row['name']}”是大类，请选择其下的小类"
        raise EventError(msg, loc=("body", "category"))
    return dict(row)


def _place(session: Session, lon: float, lat: float, building: str | None) -> dict[str, Any]:
    """Return the community, grid, compound, building and officer of a point."""
    params = {"lon": lon, "lat": lat, "snap": BUILDING_SNAP_M, "building": building}
    point = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    row = (
        session.execute(
            text(
                f"""
                SELECT c.id AS community_id, c.code AS community,
                  (SELECT g.id FROM grids g WHERE g.community_id = c.id
                     AND ST_Covers(g.geom, {point}) ORDER BY ST_Area(g.geom) LIMIT 1) AS grid_id,
                  (SELECT k.id FROM compounds k WHERE k.community_id = c.id
                     AND ST_Covers(k.geom, {point}) ORDER BY ST_Area(k.geom) LIMIT 1)
                     AS compound_id,
                  (SELECT b.id FROM buildings b WHERE b.community_id = c.id
                     AND (b.code = :building OR (CAST(:building AS text) IS NULL
                          AND ST_DWithin(b.geom::geography, {point}::geography, :snap)))
                     ORDER BY b.code = :building DESC NULLS LAST,
                              ST_Distance(b.geom::geography, {point}::geography) LIMIT 1)
                     AS building_id
                FROM communities c WHERE ST_Covers(c.geom, {point})
                ORDER BY ST_Area(c.geom) LIMIT 1
                """
            ),
            params,
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        msg = (
            f"位置 ({lon:.6f}, {lat:.6f}) 不在任何社区范围内；若坐标来自高德/腾讯或百度地图，"
            "请先转换为 WGS84（经度在前、纬度在后）"
        )
        raise EventError(msg, loc=("body", "lon"))
    place = dict(row)
    if building is not None and place["building_id"] is None:
        msg = f"社区“{place['community']}”没有编号为“{building}”的楼栋"
        raise EventError(msg, loc=("body", "building"))
    place["officer"] = session.execute(
        text(
            "SELECT u.username FROM users u JOIN user_grids ug ON ug.user_id = u.id "
            "WHERE ug.grid_id = :g AND u.role = 'officer' AND NOT u.disabled "
            "ORDER BY u.username LIMIT 1"
        ),
        {"g": place["grid_id"]},
    ).scalar_one_or_none()
    place.pop("community")
    return place


# --- the workflow -------------------------------------------------------------------------------


def take_step(
    session: Session,
    code: str,
    action: str,
    actor: Actor,
    *,
    now: datetime,
    note: str | None = None,
    department: str | None = None,
    version: int | None = None,
) -> None:
    """Take one step of an event's workflow (module docstring), or say why not."""
    step = ACTIONS.get(action)
    if step is None:
        msg = (
            f"没有“{action}”这一步，可选：{'、'.join(f'{a}（{s.zh}）' for a, s in ACTIONS.items())}"
        )
        raise EventError(msg, loc=("body", "action"))
    event = _locked(session, code, actor)
    _may(session, actor, step, event)
    if event["status"] not in step.sources:
        later = "、".join(ACTIONS[a].zh for a in NEXT[event["status"]]) or "无（已办结）"
        msg = (
            f"事件 {code} 当前为“{STATUS_ZH[event['status']]}”，不能“{step.zh}”；此时可以：{later}"
        )
        raise OutOfOrder(msg, loc=("body", "action"))
    if version is not None and version != event["version"]:
        msg = f"事件 {code} 已被他人办理（版本 {event['version']}，您看到的是 {version}），请刷新"
        raise Conflict(msg, loc=("body", "version"))
    department_id = event["department_id"]
    if action == "dispatch":  # the one chosen, else the category's
        department_id = _department(session, department, default=event["default_department"])
    elif action == "return":  # not theirs: the community dispatches it again
        department_id = None
    hours = event["handle_hours"] if step.target == "accepted" else STEP_HOURS.get(step.target)
    due = None if step.target in FINAL or hours is None else now + timedelta(hours=hours)
    session.execute(
        text(
            "UPDATE events SET status = :s, status_at = :now, due_at = :due, "
            "department_id = :d, version = version + 1, "
            "closed_at = :closed WHERE id = :id"
        ),
        {
            "s": step.target,
            "now": now,
            "due": due,
            "d": department_id,
            "closed": now if step.target in FINAL else None,
            "id": event["id"],
        },
    )
    _step(
        session,
        event["id"],
        action,
        source=event["status"],
        target=step.target,
        actor=actor,
        now=now,
        note=note,
        due=event["due_at"],
        department_id=department_id or event["department_id"],  # who returned it, too
    )


def _locked(session: Session, code: str, actor: Actor) -> dict[str, Any]:
    row = (
        session.execute(
            text(
                "SELECT e.id, e.code, e.status, e.version, e.community_id, e.grid_id, "
                "e.department_id, e.due_at, k.handle_hours, k.department_id AS "
                "default_department FROM events e "
                "JOIN event_categories k ON k.id = e.category_id WHERE e.code = :c "
                "FOR UPDATE OF e"
            ),
            {"c": code},
        )
        .mappings()
        .one_or_none()
    )
    if row is None or (
        actor.communities is not None and row["community_id"] not in actor.communities
    ):
        msg = f"事件“{code}”不存在（或不在您所在的社区）"
        raise NotFound(msg, loc=("path", "code"))
    return dict(row)


def _may(session: Session, actor: Actor, step: Action, event: Mapping[str, Any]) -> None:
    if step.side == "community":
        if actor.role not in COMMUNITY_ROLES:
            msg = f"“{step.zh}”由社区（网格员、社区书记/规划人员）办理，您的角色不能办理"
            raise NotAllowed(msg, loc=("role",))
        if actor.role == "officer" and event["grid_id"] not in actor.grids:
            msg = f"事件 {event['code']} 不在您负责的网格内，请由所在网格的网格员或社区办理"
            raise NotAllowed(msg, loc=("scope", "grid"))
        return
    if actor.role not in DEPARTMENT_ROLES:
        msg = f"“{step.zh}”由承办部门办理，社区不能代办"
        raise NotAllowed(msg, loc=("role",))
    if actor.role == "department":
        mine = (
            session.execute(
                text("SELECT department_id FROM department_users WHERE user_id = :u"),
                {"u": actor.user_id},
            )
            .scalars()
            .all()
        )
        if event["department_id"] not in mine:
            msg = f"事件 {event['code']} 没有派遣给您的部门"
            raise NotAllowed(msg, loc=("scope", "department"))


def _department(session: Session, code: str | None, *, default: int | None) -> int:
    if code is None:
        if default is None:
            msg = "这一类事件没有默认的承办部门，请选择派遣到哪个部门"
            raise EventError(msg, loc=("body", "department"))
        return default
    found = session.execute(
        text("SELECT id FROM departments WHERE code = :c"), {"c": code}
    ).scalar_one_or_none()
    if found is None:
        msg = f"部门“{code}”不存在（部门见 /api/event-categories）"
        raise EventError(msg, loc=("body", "department"))
    return int(found)


def _step(
    session: Session,
    event_id: int,
    action: str,
    *,
    source: str | None,
    target: str,
    actor: Actor,
    now: datetime,
    note: str | None,
    due: datetime | None,
    department_id: int | None = None,
) -> None:
    session.execute(
        text(
            "INSERT INTO event_steps (event_id, action, from_status, to_status, by_user, "
            "by_role, department_id, note, at, due_at, late) VALUES (:e, :a, :f, :t, :u, :r, "
            ":d, :note, :now, :due, coalesce(:now > :due, false))"
        ),
        {
            "e": event_id,
            "a": action,
            "f": source,
            "t": target,
            "u": actor.username,
            "r": actor.role,
            "d": department_id,
            "note": note,
            "now": now,
            "due": due,
        },
    )


# --- reading ------------------------------------------------------------------------------------

_EVENT = """
    SELECT e.id, e.code, m.code AS community, g.code AS grid, k2.code AS compound,
           b.code AS building, c.code AS category, c.name AS category_name,
           p.code AS category_group, p.name AS category_group_name,
           d.code AS department, d.name AS department_name, e.officer, e.description,
           e.address, e.reporter, e.reporter_name, e.reporter_phone, e.source, e.status,
           e.reported_at, e.status_at, e.due_at, e.closed_at, e.version,
           (e.status NOT IN ('cancelled', 'closed') AND e.due_at < :now) AS overdue,
           (SELECT s.note FROM event_steps s WHERE s.event_id = e.id AND s.note IS NOT NULL
            ORDER BY s.at DESC, s.id DESC LIMIT 1) AS last_note,
           ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat
    FROM events e
    JOIN communities m ON m.id = e.community_id
    JOIN event_categories c ON c.id = e.category_id
    LEFT JOIN event_categories p ON p.id = c.parent_id
    LEFT JOIN grids g ON g.id = e.grid_id
    LEFT JOIN compounds k2 ON k2.id = e.compound_id
    LEFT JOIN buildings b ON b.id = e.building_id
    LEFT JOIN departments d ON d.id = e.department_id
"""


@dataclass(frozen=True)
class EventFilter:
    """Which events to list; ``communities`` None for every one."""

    communities: Sequence[int] | None = None
    community: str | None = None
    status: Sequence[str] = ()
    category: str | None = None
    grid: str | None = None
    department: str | None = None
    overdue: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    codes: Sequence[str] = ()
    limit: int = 1000


def list_events(session: Session, f: EventFilter, *, now: datetime) -> list[dict[str, Any]]:
    """Return events as flat rows (newest first), with status in Chinese and ``overdue``."""
    where = ["TRUE"]
    params: dict[str, Any] = {"now": now, "limit": f.limit}
    if f.communities is not None:
        where.append("e.community_id = ANY(:cids)")
        params["cids"] = list(f.communities)
    clauses = {
        "community": "m.code = :community",
        "category": "(c.code = :category OR p.code = :category)",  # a subclass or its class
        "grid": "g.code = :grid",
        "department": "d.code = :department",
    }
    for key, clause in clauses.items():
        value = getattr(f, key)
        if value is not None:
            where.append(clause)
            params[key] = value
    if f.status:
        where.append("e.status = ANY(:status)")
        params["status"] = list(f.status)
    if f.overdue is not None:
        where.append(
            ("" if f.overdue else "NOT ")
            + "(e.status NOT IN ('cancelled', 'closed') AND e.due_at < :now)"
        )
    if f.since is not None:
        where.append("e.reported_at >= :since")
        params["since"] = f.since
    if f.until is not None:
        where.append("e.reported_at < :until")
        params["until"] = f.until
    if f.codes:
        where.append("e.code = ANY(:codes)")
        params["codes"] = list(f.codes)
    sql = _EVENT + " WHERE " + " AND ".join(where) + " ORDER BY e.reported_at DESC, e.id DESC"
    rows = session.execute(text(sql + " LIMIT :limit"), params).mappings().all()
    return [_with_zh(dict(r)) for r in rows]


def get_event(session: Session, code: str, *, now: datetime) -> dict[str, Any]:
    """Return one event with its timeline (steps, oldest first)."""
    rows = session.execute(text(_EVENT + " WHERE e.code = :c"), {"c": code, "now": now})
    row = rows.mappings().one_or_none()
    if row is None:
        msg = f"事件“{code}”不存在"
        raise NotFound(msg, loc=("path", "code"))
    event = _with_zh(dict(row))
    steps = session.execute(
        text(
            "SELECT s.action, s.from_status, s.to_status, s.by_user, s.by_role, "
            "d.code AS department, d.name AS department_name, s.note, s.at, s.due_at, s.late "
            "FROM event_steps s LEFT JOIN departments d ON d.id = s.department_id "
            "WHERE s.event_id = :e ORDER BY s.at, s.id"
        ),
        {"e": event["id"]},
    ).mappings()
    event["steps"] = [
        {
            **dict(s),
            "action_zh": ACTIONS[s["action"]].zh if s["action"] in ACTIONS else "上报",
            "to_status_zh": STATUS_ZH[s["to_status"]],
        }
        for s in steps
    ]
    return event


def community_of_event(session: Session, code: str) -> int | None:
    """Return the community id of an event (None when there is no such event)."""
    found = session.execute(
        text("SELECT community_id FROM events WHERE code = :c"), {"c": code}
    ).scalar_one_or_none()
    return None if found is None else int(found)


def categories(session: Session) -> list[dict[str, Any]]:
    """Return the category tree: main classes, each with its subclasses and their rules."""
    rows = session.execute(
        text(
            "SELECT k.code, k.name, p.code AS parent, d.code AS department, "
            "d.name AS department_name, k.handle_hours, k.duplicate_m, k.active "
            "FROM event_categories k LEFT JOIN event_categories p ON p.id = k.parent_id "
            "LEFT JOIN departments d ON d.id = k.department_id ORDER BY k.code"
        )
    ).mappings()
    tree: dict[str, dict[str, Any]] = {}
    children: list[dict[str, Any]] = []
    for r in rows:
        item = dict(r)
        if item["parent"] is None:
            tree[item["code"]] = {"code": item["code"], "name": item["name"], "children": []}
        else:
            children.append(item)
    for child in children:
        if child["parent"] in tree:
            tree[child["parent"]]["children"].append(child)
    return list(tree.values())


def departments(session: Session) -> list[dict[str, Any]]:
    """Return every department (code, name)."""
    rows = session.execute(text("SELECT code, name FROM departments ORDER BY code")).mappings()
    return [dict(r) for r in rows]


def add_department_user(session: Session, username: str, department: str) -> None:
    """Let a user act for a department."""
    done = session.execute(
        text(
            "INSERT INTO department_users (user_id, department_id) "
            "SELECT u.id, d.id FROM users u, departments d "
            "WHERE u.username = :u AND d.code = :d ON CONFLICT DO NOTHING RETURNING user_id"
        ),
        {"u": username, "d": department},
    ).scalar_one_or_none()
    if done is None:
        exists = session.execute(
            text(
                "SELECT (SELECT count(*) FROM users WHERE username = :u), "
                "(SELECT count(*) FROM departments WHERE code = :d)"
            ),
            {"u": username, "d": department},
        ).one()
        if not exists[0]:
            msg = f"用户“{username}”不存在"
            raise NotFound(msg, loc=("username",))
        if not exists[1]:
            msg = f"部门“{department}”不存在"
            raise NotFound(msg, loc=("department",))


def _with_zh(row: dict[str, Any]) -> dict[str, Any]:
    row["status_zh"] = STATUS_ZH[row["status"]]
    row["next_actions"] = list(NEXT[row["status"]])
    return row


def place_of(
    session: Session, lon: float, lat: float, building: str | None = None
) -> dict[str, Any]:
    """Return the place of a point as :func:`report` gives it (community, grid, compound, ...).

    The ids ``community_id``, ``grid_id``, ``compound_id``, ``building_id`` and the grid's
    ``officer``; an :class:`EventError` for a point outside every community or an unknown
    ``building`` (the history importer, :mod:`layers.io.events_io`, places rows so).
    """
    return _place(session, lon, lat, building)
