"""The events dashboard: counts, time to close, events per 1,000 residents, the yearly chart.

Pure SQL over ``events`` in the caller's session, for one community, one grid of it, or the
communities a user works in, and a window of report times (``since`` inclusive, ``until``
exclusive; every figure counts the events *reported* in the window). The instant ``now`` is
the caller's (the API's clock): an event is *open* while its status is neither ``closed``
nor ``cancelled``, and *overdue* (督办) when it is open and its deadline ``due_at`` has
passed. *Hours to close* run from the report to the close (``closed_at - reported_at``) of
the events that were closed (结案), not cancelled. Years are China's calendar years.

Residents come from the community's own figure (``communities.residents``) or, when that is
missing, the sum of its buildings' residents; a grid's are the sum of its buildings'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import GridmapError, NotFound
from layers.events import STATUS_ZH
from layers.models import EVENT_STATUSES

#: What the dashboard's figures are, for people.
LABELS: Mapping[str, str] = {
    "total": "事件总数",
    "open": "未结",
    "overdue": "超期（督办）",
    "closed": "已结案",
    "cancelled": "不予立案",
    "per_1000_residents": "每千名居民事件数",
    "mean_hours": "平均办结时长（小时）",
    "median_hours": "办结时长中位数（小时）",
    "years": "历年事件数",
}
#: The department shown for events whose category names none.
NO_DEPARTMENT = "未指定部门"
#: SQL: an event is open / overdue (``:now`` bound).
OPEN_SQL = "e.status NOT IN ('cancelled', 'closed')"
OVERDUE_SQL = f"({OPEN_SQL} AND e.due_at < :now)"
#: SQL: the report's wall-clock time in China (UTC+8 all year: no zone lookup per row).
CHINA_TIME_SQL = "(e.reported_at + interval '8 hours') AT TIME ZONE 'UTC'"
#: SQL: hours from report to close of a closed event (NULL otherwise), in double precision
#: (``extract`` gives numeric, several times slower to sort for the medians).
HOURS_SQL = (
    "CASE WHEN e.status = 'closed' "
    "THEN date_part('epoch', e.closed_at - e.reported_at) / 3600.0 END"
)


class StatsError(GridmapError):
    """A dashboard asked for as it cannot be answered (a grid without its community...)."""

    type = "bad_query"
    status = 422


@dataclass(frozen=True)
class Scope:
    """Which events a dashboard counts: communities (ids; None = all), a grid, a window."""

    community_ids: Sequence[int] | None = None
    community: str | None = None
    community_name: str | None = None
    grid_id: int | None = None
    grid: str | None = None
    grid_name: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def scope(
    session: Session,
    *,
    community: str | None = None,
    grid: str | None = None,
    within: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Scope:
    """Resolve codes to a :class:`Scope`; ``within`` bounds it to those communities (ids).

    A grid needs its community (grid codes are unique within a community only); an unknown
    community or grid is a 404, a window ending before it starts a 422.
    """
    if since is not None and until is not None and until <= since:
        msg = "时间范围有误：截止日期应不早于起始日期"
        raise StatsError(msg, loc=("query", "until"))
    if community is None:
        if grid is not None:
            msg = "按网格统计时请同时指定社区（community）：网格编号只在社区内唯一"
            raise StatsError(msg, loc=("query", "community"))
        ids = None if within is None else list(within)
        return Scope(community_ids=ids, since=since, until=until)
    row = session.execute(
        text("SELECT id, name FROM communities WHERE code = :c"), {"c": community}
    ).one_or_none()
    if row is None or (within is not None and row.id not in within):
        msg = f"社区编号“{community}”不存在"
        raise NotFound(msg, loc=("query", "community"))
    found = Scope(
        community_ids=[int(row.id)],
        community=community,
        community_name=row.name,
        since=since,
        until=until,
    )
    if grid is None:
        return found
    g = session.execute(
        text("SELECT id, name FROM grids WHERE community_id = :c AND code = :g"),
        {"c": row.id, "g": grid},
    ).one_or_none()
    if g is None:
        msg = f"社区“{community}”没有编号为“{grid}”的网格"
        raise NotFound(msg, loc=("query", "grid"))
    return Scope(
        community_ids=found.community_ids,
        community=community,
        community_name=row.name,
        grid_id=int(g.id),
        grid=grid,
        grid_name=g.name,
        since=since,
        until=until,
    )


def where(s: Scope, params: dict[str, Any]) -> str:
    """Return the SQL condition on ``events e`` for the scope, filling ``params``."""
    parts = ["TRUE"]
    if s.community_ids is not None:
        parts.append("e.community_id = ANY(:cids)")
        params["cids"] = list(s.community_ids)
    if s.grid_id is not None:
        parts.append("e.grid_id = :gid")
        params["gid"] = s.grid_id
    if s.since is not None:
        parts.append("e.reported_at >= :since")
        params["since"] = s.since
    if s.until is not None:
        parts.append("e.reported_at < :until")
        params["until"] = s.until
    return " AND ".join(parts)


def dashboard(session: Session, s: Scope, *, now: datetime) -> dict[str, Any]:
    """Return every figure of the dashboard for the scope at ``now`` (see the module doc)."""
    by_status = status_counts(session, s, now=now)
    counts = {
        "total": sum(r["events"] for r in by_status),
        "open": sum(r["events"] for r in by_status if r["status"] not in {"closed", "cancelled"}),
        "overdue": sum(r["overdue"] for r in by_status),
        "closed": next(r["events"] for r in by_status if r["status"] == "closed"),
        "cancelled": next(r["events"] for r in by_status if r["status"] == "cancelled"),
    }
    people = residents(session, s)
    return {
        "scope": {
            "community": s.community,
            "community_name": s.community_name,
            "grid": s.grid,
            "grid_name": s.grid_name,
            "since": s.since,
            "until": s.until,
            "now": now,
        },
        "labels": dict(LABELS),
        "counts": counts,
        "by_status": by_status,
        "residents": people,
        "per_1000_residents": per_1000(counts["total"], people),
        "hours_to_close": hours_to_close(session, s),
        "by_department": by_department(session, s, now=now),
        "by_category": by_category(session, s, now=now),
        "years": years(session, s),
        "grids": grid_counts(session, s, now=now) if s.community and s.grid is None else [],
    }


def per_1000(events: int, people: int | None) -> float | None:
    """Events per 1,000 residents, to two decimals; None without residents."""
    if not people:
        return None
    return round(1000.0 * events / people, 2)


def status_counts(session: Session, s: Scope, *, now: datetime) -> list[dict[str, Any]]:
    """Events and overdue events by status, every status in workflow order (zeros kept)."""
    params: dict[str, Any] = {"now": now}
    rows = session.execute(
        text(
            f"SELECT e.status, count(*) AS n, count(*) FILTER (WHERE {OVERDUE_SQL}) AS late "
            f"FROM events e WHERE {where(s, params)} GROUP BY e.status"
        ),
        params,
    ).all()
    found = {r.status: (int(r.n), int(r.late)) for r in rows}
    return [
        {
            "status": st,
            "status_zh": STATUS_ZH[st],
            "events": found.get(st, (0, 0))[0],
            "overdue": found.get(st, (0, 0))[1],
        }
        for st in EVENT_STATUSES
    ]


def hours_to_close(session: Session, s: Scope) -> dict[str, Any]:
    """Return the closed events' count and their mean and median hours from report to close."""
    params: dict[str, Any] = {}
    row = session.execute(
        text(
            f"SELECT count(h) AS n, avg(h) AS mean, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY h) AS median "
            f"FROM (SELECT {HOURS_SQL} AS h FROM events e WHERE {where(s, params)} "
            f"AND e.status = 'closed') x"
        ),
        params,
    ).one()
    return {"closed": int(row.n), "mean_hours": _h(row.mean), "median_hours": _h(row.median)}


_FIGURES = f"""
    count(*) AS events,
    count(*) FILTER (WHERE {OPEN_SQL}) AS open,
    count(*) FILTER (WHERE {OVERDUE_SQL}) AS overdue,
    count(*) FILTER (WHERE e.status = 'closed') AS closed,
    avg({HOURS_SQL}) AS mean_hours,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {HOURS_SQL}) AS median_hours
"""


def _figures(r: Any) -> dict[str, Any]:
    return {
        "events": int(r.events),
        "open": int(r.open),
        "overdue": int(r.overdue),
        "closed": int(r.closed),
        "mean_hours": _h(r.mean_hours),
        "median_hours": _h(r.median_hours),
    }


def by_department(session: Session, s: Scope, *, now: datetime) -> list[dict[str, Any]]:
    """Per department events are with: counts and hours to close; most events first."""
    params: dict[str, Any] = {"now": now}
    rows = session.execute(
        text(
            f"SELECT d.code, d.name, {_FIGURES} FROM events e "
            f"LEFT JOIN departments d ON d.id = e.department_id WHERE {where(s, params)} "
            "GROUP BY d.code, d.name ORDER BY events DESC, d.code NULLS LAST"
        ),
        params,
    ).all()
    return [
        {"department": r.code, "department_name": r.name or NO_DEPARTMENT, **_figures(r)}
        for r in rows
    ]


def by_category(session: Session, s: Scope, *, now: datetime) -> list[dict[str, Any]]:
    """Per main class (大类), with its subclasses (小类) as ``children``: counts and hours."""
    params: dict[str, Any] = {"now": now}
    rows = session.execute(
        text(
            f"""
            SELECT p.code AS group_code, p.name AS group_name, c.code, c.name,
                   GROUPING(c.code) AS whole, {_FIGURES}
            FROM events e JOIN event_categories c ON c.id = e.category_id
            LEFT JOIN event_categories p ON p.id = c.parent_id
            WHERE {where(s, params)}
            GROUP BY GROUPING SETS ((p.code, p.name), (p.code, p.name, c.code, c.name))
            ORDER BY p.code NULLS LAST, whole DESC, c.code
            """
        ),
        params,
    ).all()
    groups: dict[str | None, dict[str, Any]] = {}
    for r in rows:
        if r.whole:
            groups[r.group_code] = {
                "category": r.group_code,
                "category_name": r.group_name,
                **_figures(r),
                "children": [],
            }
        else:
            groups[r.group_code]["children"].append(
                {"category": r.code, "category_name": r.name, **_figures(r)}
            )
    return sorted(groups.values(), key=lambda g: (-g["events"], g["category"] or ""))


def years(session: Session, s: Scope) -> list[dict[str, Any]]:
    """Events reported (and how many of them are closed, open) per China year, gaps as zeros."""
    params: dict[str, Any] = {}
    rows = session.execute(
        text(
            f"SELECT date_part('year', {CHINA_TIME_SQL})::int AS y, "
            f"count(*) AS n, count(*) FILTER (WHERE e.status = 'closed') AS closed, "
            f"count(*) FILTER (WHERE {OPEN_SQL}) AS open "
            f"FROM events e WHERE {where(s, params)} GROUP BY y ORDER BY y"
        ),
        params,
    ).all()
    if not rows:
        return []
    found = {int(r.y): r for r in rows}
    out = []
    for y in range(min(found), max(found) + 1):
        r = found.get(y)
        out.append(
            {
                "year": y,
                "events": int(r.n) if r else 0,
                "closed": int(r.closed) if r else 0,
                "open": int(r.open) if r else 0,
            }
        )
    return out


def residents(session: Session, s: Scope) -> int | None:
    """Residents of the scope (module doc); None when nothing is known."""
    if s.grid_id is not None:
        total = session.execute(
            text("SELECT sum(residents) FROM buildings WHERE grid_id = :g"), {"g": s.grid_id}
        ).scalar()
        return None if total is None else int(total)
    params: dict[str, Any] = {}
    cond = "TRUE"
    if s.community_ids is not None:
        cond = "c.id = ANY(:cids)"
        params["cids"] = list(s.community_ids)
    total = session.execute(
        text(
            "SELECT sum(coalesce(c.residents, (SELECT sum(b.residents) FROM buildings b "
            f"WHERE b.community_id = c.id))) FROM communities c WHERE {cond}"
        ),
        params,
    ).scalar()
    return None if total is None else int(total)


def grid_counts(session: Session, s: Scope, *, now: datetime) -> list[dict[str, Any]]:
    """Per grid of the community (every grid, and events outside all grids): for a heat map."""
    params: dict[str, Any] = {"now": now}
    rows = session.execute(
        text(
            f"""
            WITH counted AS (
                SELECT e.grid_id, count(*) AS events,
                       count(*) FILTER (WHERE {OPEN_SQL}) AS open,
                       count(*) FILTER (WHERE {OVERDUE_SQL}) AS overdue,
                       count(*) FILTER (WHERE e.status = 'closed') AS closed
                FROM events e WHERE {where(s, params)} GROUP BY e.grid_id
            ), people AS (
                SELECT b.grid_id, sum(b.residents) AS residents FROM buildings b
                WHERE b.community_id = ANY(:cids) GROUP BY b.grid_id
            )
            SELECT g.code, g.name, p.residents, coalesce(k.events, 0) AS events,
                   coalesce(k.open, 0) AS open, coalesce(k.overdue, 0) AS overdue,
                   coalesce(k.closed, 0) AS closed
            FROM grids g LEFT JOIN counted k ON k.grid_id = g.id
            LEFT JOIN people p ON p.grid_id = g.id
            WHERE g.community_id = ANY(:cids)
            UNION ALL
            SELECT NULL, NULL, NULL, k.events, k.open, k.overdue, k.closed
            FROM counted k WHERE k.grid_id IS NULL
            ORDER BY 1 NULLS LAST
            """
        ),
        params,
    ).all()
    return [
        {
            "grid": r.code,
            "grid_name": r.name if r.code is not None else "不在任何网格内",
            "events": int(r.events),
            "open": int(r.open),
            "overdue": int(r.overdue),
            "closed": int(r.closed),
            "residents": None if r.residents is None else int(r.residents),
            "per_1000_residents": per_1000(
                int(r.events), None if r.residents is None else int(r.residents)
            ),
        }
        for r in rows
    ]


def _h(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)
