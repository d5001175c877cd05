"""Events dashboard, event tiles and the events list on 200,000 past events (issue 16), over HTTP.

``python -m bench.bench_events [--events 200000] [--communities 50] [--requests 200] [--keep-db]
[--explain]``

1. A throwaway PostGIS cluster in a temp dir (``cluster_up(fast=True)``), migrated; a district
   of ``--communities`` communities from ``generate_city`` (200 buildings each) loaded through
   the validating importer; then ``--events`` past events over the last six years, fewer each
   year (the complaints falling year by year), 90 % closed, some cancelled, the recent ones open and
   some overdue, each at a random building of its community (its grid, compound and building
   taken from it), written by COPY in one transaction stamped with the ``import`` channel
   (the only one migration 0007 lets insert a closed event), two timeline steps each; then
   ``VACUUM ANALYZE``.
2. The real app served by uvicorn in a child process (``bench.bench_api``'s server), one
   persistent ``httpx`` client acting as a planner of every community, warmed up, then
   sequential requests: ``/api/events/stats`` of a random community, of a random grid and of
   the whole district; ``/tiles/events/{z}/{x}/{y}.pbf`` at z 14-16 holding a random event
   (with ``?community=`` and without); ``/api/events?community=`` (its first page, 1,000).
3. Beside them, in-process, the well-known alternatives on the same inputs: the dashboard's
   figures computed by pandas from the community's rows (``read_sql`` then ``groupby``), a
   plain ``ST_AsMVT`` of the events in the tile (no joins, no filters), and ``read_postgis`` +
   ``to_json`` of the community's newest 1,000 events; and our own functions without HTTP.
4. A table: median and p95 ms, bytes, the ratio of our median to the alternative's, goal
   (p95 < 100 ms for the API) and the 1-minute load average before and after measuring.

Everything is stopped and removed at the end, on error too, unless ``--keep-db``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import pandas as pd
from sqlalchemy import Engine, event, text

import geopandas as gpd

from bench.bench_api import _token, server, tile_of
from layers import db

GOAL_MS = 100.0
WARMUP = 20
ZOOMS = (14, 15, 16)
LOAD_ORDER = ("streets", "communities", "grids", "compounds", "buildings")
#: Relative number of events reported each of the last six years, oldest first: complaints
#: fall year by year (150 -> 50 -> 12).
YEAR_WEIGHTS = (150, 110, 70, 50, 25, 12)
#: Open statuses an unfinished event may be in, and their weights.
OPEN = {"reported": 3, "filed": 2, "dispatched": 2, "accepted": 5, "handled": 1, "fed_back": 1}
STEP_TO = {
    "filed": "file",
    "cancelled": "cancel",
    "dispatched": "dispatch",
    "accepted": "accept",
    "handled": "handle",
    "fed_back": "feedback",
    "verified": "verify",
    "closed": "close",
}


def log(msg: str) -> None:
    print(msg, flush=True)


def _since(t0: float) -> float:
    return time.perf_counter() - t0


# --- the data -----------------------------------------------------------------------------------


def load_district(engine: Engine, communities: int, seed: int) -> None:
    """Generate ``communities`` communities of ~200 buildings; load them through the importer."""
    from layers.demo import xiqiao_street
    from layers.importing import Options, import_frame
    from layers.synth import generate_city

    t0 = time.perf_counter()
    city = generate_city(n_buildings=communities * 200, seed=seed, buildings_per_community=200)
    log(
        f"generate_city: {len(city.layers['communities'])} communities, "
        f"{len(city.layers['buildings']):,} buildings, {_since(t0):.1f} s"
    )
    frames = {"streets": xiqiao_street(), **city.layers}
    t0 = time.perf_counter()
    with db.session_scope(engine) as session:
        for layer in LOAD_ORDER:
            import_frame(session, layer, frames[layer], options=Options(boundary_tolerance_m=1.0))
    log(f"load through the importer: {_since(t0):.1f} s")


def make_events(engine: Engine, n: int, communities: int, seed: int, now: datetime) -> None:
    """Draw ``n`` past events over ``communities`` communities (module doc) and write them."""
    rng = np.random.default_rng(seed)
    b, cats = _places(engine)
    t0 = time.perf_counter()
    # Events spread evenly over the communities, each at a random building of its community.
    # generate_city lays communities on a grid of cells (56 for 50): the first ``communities``.
    b = b[b["community_id"].isin(sorted(b["community_id"].unique())[:communities])]
    b = b.reset_index(drop=True)
    order = np.argsort(b["community_id"].to_numpy(), kind="stable")
    comm_ids, starts, counts = np.unique(
        b["community_id"].to_numpy()[order], return_index=True, return_counts=True
    )
    k = np.arange(n) % len(comm_ids)
    comm = comm_ids[k]
    pick = order[starts[k] + (rng.random(n) * counts[k]).astype(np.int64)]
    bld = b.iloc[pick].reset_index(drop=True)
    jitter = rng.normal(0, 5e-5, (n, 2))  # a few metres from the building's point
    lon = bld["lon"].to_numpy() + jitter[:, 0]
    lat = bld["lat"].to_numpy() + jitter[:, 1]
    weights = np.array(YEAR_WEIGHTS, dtype=float)
    year = rng.choice(
        now.year - len(weights) + 1 + np.arange(len(weights)), n, p=weights / weights.sum()
    )
    start = np.array([datetime(y, 1, 1, tzinfo=UTC).timestamp() for y in year])
    end = np.array([min(datetime(y + 1, 1, 1, tzinfo=UTC), now).timestamp() for y in year])
    reported = start + rng.random(n) * (end - start)
    cat = cats.iloc[rng.integers(0, len(cats), n)].reset_index(drop=True)
    age_days = (now.timestamp() - reported) / 86400
    u = rng.random(n)
    open_p = np.array(list(OPEN.values()), dtype=float)
    open_pick = rng.choice(list(OPEN), n, p=open_p / open_p.sum())
    # Recent events are mostly still open; old ones closed (90 %), cancelled (7 %) or stale.
    recent = age_days < 30
    status = np.where(
        recent & (u < 0.6),
        open_pick,
        np.where(u < 0.90, "closed", np.where(u < 0.97, "cancelled", open_pick)),
    )
    hours = rng.lognormal(math.log(36), 0.8, n)
    closed_at = reported + hours * 3600
    final = np.isin(status, ["closed", "cancelled"])
    final &= closed_at < now.timestamp()
    status = np.where(~final & np.isin(status, ["closed", "cancelled"]), "accepted", status)
    handle = cat["handle_hours"].to_numpy()
    due = reported + np.where(status == "accepted", handle, 24.0) * 3600
    with engine.connect() as conn:
        ids = list(
            conn.execute(
                text("SELECT nextval('events_id_seq') FROM generate_series(1, :n)"), {"n": n}
            ).scalars()
        )
    when = pd.to_datetime((reported * 1e6).astype(np.int64), unit="us", utc=True)
    day = when.tz_convert("Asia/Shanghai").strftime("%Y%m%d")
    grid, compound = _ints(bld["grid_id"]), _ints(bld["compound_id"])
    dept, building, category = _ints(cat["department_id"]), _ints(bld["id"]), _ints(cat["id"])
    events, steps = [], []
    for i in range(n):
        r = when[i].to_pydatetime()
        done = datetime.fromtimestamp(closed_at[i], UTC) if final[i] else None
        st = str(status[i])
        events.append(
            (
                ids[i],
                f"SJ{day[i]}{ids[i]:06d}",
                int(comm[i]),
                grid[i],
                compound[i],
                building[i],
                category[i],
                dept[i],
                "bench",
                "历史事件（基准测试）",
                "bench",
                "张三",
                "13800000000",
                "import",
                st,
                r,
                done or r,
                None if final[i] else datetime.fromtimestamp(due[i], UTC),
                done,
                f"SRID=4326;POINT({float(lon[i])!r} {float(lat[i])!r})",
            )
        )
        steps.append((ids[i], "report", None, "reported", "bench", "admin", "导入", r))
        if st != "reported":
            steps.append((ids[i], STEP_TO[st], None, st, "bench", "admin", "导入", done or r))
    log(f"events generated: {n:,} ({_since(t0):.1f} s)")
    write_events(engine, events, steps)


EVENT_COLUMNS = (
    "id", "code", "community_id", "grid_id", "compound_id", "building_id", "category_id",
    "department_id", "reporter", "description", "officer", "reporter_name", "reporter_phone",
    "source", "status", "reported_at", "status_at", "due_at", "closed_at", "geom",
)  # fmt: skip
STEP_COLUMNS = (
    "event_id",
    "action",
    "from_status",
    "to_status",
    "by_user",
    "by_role",
    "note",
    "at",
)


def write_events(
    engine: Engine, events: list[tuple[Any, ...]], steps: list[tuple[Any, ...]]
) -> None:
    """COPY the rows in one transaction stamped with the 'import' channel; VACUUM ANALYZE."""
    from layers.queries.writes import copy_rows

    t0 = time.perf_counter()
    with db.session_scope(engine) as session:
        db.act_as(session, "bench", "import")
        copy_rows(session, "events", EVENT_COLUMNS, events)
        copy_rows(session, "event_steps", STEP_COLUMNS, steps)
    log(f"COPY {len(events):,} events + {len(steps):,} steps (channel import): {_since(t0):.1f} s")
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    log(f"VACUUM ANALYZE: {_since(t0):.1f} s")


def _places(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every building (id, community, grid, compound, a point) and every subclass's rules."""
    with engine.connect() as conn:
        b = pd.read_sql(
            text(
                "SELECT id, community_id, grid_id, compound_id, "
                "ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat "
                "FROM buildings ORDER BY id"
            ),
            conn,
        )
        cats = pd.read_sql(
            text(
                "SELECT id, department_id, handle_hours FROM event_categories "
                "WHERE parent_id IS NOT NULL ORDER BY code"
            ),
            conn,
        )
    return b, cats


def _ints(column: pd.Series[Any]) -> list[int | None]:
    return [None if pd.isna(v) else int(v) for v in column]


@dataclass(frozen=True)
class Inputs:
    """Seeded requests: communities, grids (community, grid) and tiles (community, z, x, y)."""

    communities: list[str]
    grids: list[tuple[str, str]]
    tiles: dict[int, list[tuple[str, int, int, int]]]


def inputs(engine: Engine, n: int, seed: int) -> Inputs:
    rng = np.random.default_rng(seed + 1)
    with engine.connect() as conn:
        comms = list(conn.execute(text("SELECT code FROM communities ORDER BY code")).scalars())
        grids = conn.execute(
            text(
                "SELECT c.code, g.code FROM grids g JOIN communities c ON c.id = g.community_id "
                "ORDER BY 1, 2"
            )
        ).all()
        pts = conn.execute(
            text(
                "SELECT c.code, ST_X(e.geom), ST_Y(e.geom) FROM events e TABLESAMPLE SYSTEM (2) "
                "JOIN communities c ON c.id = e.community_id "
                "ORDER BY e.id LIMIT 20000"
            )
        ).all()
    total = n + WARMUP
    tiles = {
        z: [
            (str(pts[i][0]), z, *tile_of(float(pts[i][1]), float(pts[i][2]), z))
            for i in rng.integers(0, len(pts), total)
        ]
        for z in ZOOMS
    }
    return Inputs(
        [comms[i] for i in rng.integers(0, len(comms), total)],
        [(str(grids[i][0]), str(grids[i][1])) for i in rng.integers(0, len(grids), total)],
        tiles,
    )


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    seconds: list[float]
    sizes: list[int]
    goal_ms: float | None = None
    versus: str | None = None  # the alternative's case name

    def ms(self, q: float) -> float:
        return float(np.percentile(self.seconds, q)) * 1000


def fetch(client: httpx.Client, path: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = client.get(path)
    body = r.content
    dt = _since(t0)
    if r.status_code != 200:
        msg = f"GET {path} -> {r.status_code}: {body[:300]!r}"
        raise RuntimeError(msg)
    return dt, len(body)


def http_case(
    client: httpx.Client,
    name: str,
    paths: Sequence[str],
    versus: str | None = None,
) -> Case:
    for p in paths[:WARMUP]:
        fetch(client, p)
    timed = [fetch(client, p) for p in paths[WARMUP:]]
    return Case(name, [t for t, _ in timed], [s for _, s in timed], GOAL_MS, versus)


def local_case(
    name: str, items: Sequence[Any], run: Callable[[Any], int], versus: str | None = None
) -> Case:
    for item in items[:WARMUP]:
        run(item)
    seconds, sizes = [], []
    for item in items[WARMUP:]:
        t0 = time.perf_counter()
        sizes.append(run(item))
        seconds.append(_since(t0))
    return Case(name, seconds, sizes, versus=versus)


# The alternatives --------------------------------------------------------------------------------

PANDAS_SQL = """
    SELECT e.status, e.reported_at, e.closed_at, e.due_at, e.grid_id,
           d.name AS department, c.code AS category, p.code AS category_group
    FROM events e JOIN communities m ON m.id = e.community_id
    JOIN event_categories c ON c.id = e.category_id
    LEFT JOIN event_categories p ON p.id = c.parent_id
    LEFT JOIN departments d ON d.id = e.department_id
    WHERE m.code = :community
"""


def pandas_dashboard(engine: Engine, now: datetime) -> Callable[[str], int]:
    """The alternative: read the community's rows, compute the same figures with pandas."""
    conn = engine.connect()

    def run(community: str) -> int:
        f = pd.read_sql(text(PANDAS_SQL), conn, params={"community": community})
        for column in ("reported_at", "closed_at", "due_at"):
            f[column] = pd.to_datetime(f[column], utc=True)
        final = f["status"].isin(["closed", "cancelled"])
        overdue = ~final & (f["due_at"] < pd.Timestamp(now))
        closed = f[f["status"] == "closed"]
        hours = (closed["closed_at"] - closed["reported_at"]).dt.total_seconds() / 3600
        out: dict[str, Any] = {
            "total": len(f),
            "open": int((~final).sum()),
            "overdue": int(overdue.sum()),
            "closed": len(closed),
            "mean": hours.mean(),
            "median": hours.median(),
            "status": f.groupby("status").size().to_dict(),
        }
        f = f.assign(hours=hours, open=~final, overdue=overdue)
        for key in ("department", "category", "category_group"):
            out[key] = (
                f.groupby(key, dropna=False)
                .agg(
                    events=("status", "size"),
                    open=("open", "sum"),
                    overdue=("overdue", "sum"),
                    mean=("hours", "mean"),
                    median=("hours", "median"),
                )
                .to_dict("index")
            )
        years = f["reported_at"].dt.tz_convert("Asia/Shanghai").dt.year
        out["years"] = years.value_counts().sort_index().to_dict()
        out["grids"] = f.groupby("grid_id", dropna=False).size().to_dict()
        conn.rollback()
        return len(str(out))

    return run


def our_dashboard(engine: Engine, now: datetime) -> Callable[[str], int]:
    from layers import event_stats as st

    session = db.make_sessionmaker(engine)()

    def run(community: str) -> int:
        figures = st.dashboard(session, st.scope(session, community=community), now=now)
        session.rollback()
        return len(str(figures))

    return run


PLAIN_MVT = """
    WITH b AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env)
    SELECT ST_AsMVT(q, 'events', 4096, 'geom') FROM (
        SELECT e.code, e.status,
               ST_AsMVTGeom(ST_Transform(e.geom, 3857), b.env, 4096, 64, true) AS geom
        FROM events e, b WHERE e.geom && ST_Transform(b.env, 4326)
    ) q WHERE geom IS NOT NULL
"""


def plain_mvt(engine: Engine) -> Callable[[tuple[str, int, int, int]], int]:
    """The alternative: PostGIS ST_AsMVT of the events in the tile, nothing else."""
    conn = engine.connect()

    def run(t: tuple[str, int, int, int]) -> int:
        tile = conn.execute(text(PLAIN_MVT), {"z": t[1], "x": t[2], "y": t[3]}).scalar()
        conn.rollback()
        return len(bytes(tile)) if tile else 0

    return run


def our_tile(engine: Engine, now: datetime) -> Callable[[tuple[str, int, int, int]], int]:
    from layers.queries.tiles import event_tile

    session = db.make_sessionmaker(engine)()

    def run(t: tuple[str, int, int, int]) -> int:
        data = event_tile(session, t[1], t[2], t[3], now=now)
        session.rollback()
        return len(data)

    return run


PLAIN_LIST = """
    SELECT e.id, e.code, e.status, e.description, e.reported_at, e.due_at, e.closed_at, e.geom
    FROM events e JOIN communities m ON m.id = e.community_id WHERE m.code = :community
    ORDER BY e.reported_at DESC LIMIT 1000
"""


def plain_list(engine: Engine) -> Callable[[str], int]:
    """The alternative: read_postgis of the community's newest 1,000 events, then to_json."""
    conn = engine.connect()

    def run(community: str) -> int:
        frame = gpd.read_postgis(
            text(PLAIN_LIST), conn, geom_col="geom", params={"community": community}
        )
        conn.rollback()
        return len(frame.to_json(default=str).encode())

    return run


# --- the report ---------------------------------------------------------------------------------


def report(cases: Sequence[Case]) -> str:
    by_name = {c.name: c for c in cases}
    head = (
        "case",
        "n",
        "median ms",
        "p95 ms",
        "bytes median",
        "vs alt. (median)",
        "goal",
        "result",
    )
    rows = []
    for c in cases:
        alt = by_name.get(c.versus) if c.versus else None
        ratio = f"{c.ms(50) / alt.ms(50):.2f}x {alt.name}" if alt else "-"
        verdict = "-" if c.goal_ms is None else ("pass" if c.ms(95) < c.goal_ms else "FAIL")
        rows.append(
            (
                c.name,
                str(len(c.seconds)),
                f"{c.ms(50):.1f}",
                f"{c.ms(95):.1f}",
                f"{int(np.median(c.sizes)):,}",
                ratio,
                f"p95 < {c.goal_ms:.0f} ms" if c.goal_ms else "-",
                verdict,
            )
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |"
        for r in [head, *rows]
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def explain(engine: Engine, community: str, tile: tuple[str, int, int, int], now: datetime) -> None:
    """EXPLAIN ANALYZE every statement the dashboard and one event tile send."""
    from layers import event_stats as st
    from layers.queries.tiles import event_tile

    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    session = db.make_sessionmaker(engine)()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        st.dashboard(session, st.scope(session, community=community), now=now)
        event_tile(session, tile[1], tile[2], tile[3], now=now, community=tile[0])
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    for statement, params in sent:
        if "pg_catalog" in statement:
            continue
        plan = session.connection().exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
        )
        log(f"\n-- {' '.join(statement.split())[:110]}...")
        log("\n".join(r[0] for r in plan))
    session.close()


# --- the run ------------------------------------------------------------------------------------


def measure(url: str, root: Path, engine: Engine, req: Inputs, now: datetime) -> list[Case]:
    cases: list[Case] = []
    headers = {"Authorization": f"Bearer {_token(url)}"}
    with (
        server(url, root / "uvicorn.log") as base,
        httpx.Client(base_url=base, timeout=120, headers=headers) as client,
    ):
        log(f"serving the app at {base}; sequential requests, one persistent client")
        cases.append(
            http_case(
                client,
                "stats, one community (API)",
                [f"/api/events/stats?community={c}" for c in req.communities],
                "stats, pandas on the rows",
            )
        )
        cases.append(
            http_case(
                client,
                "stats, one grid (API)",
                [f"/api/events/stats?community={c}&grid={g}" for c, g in req.grids],
            )
        )
        district = [f"/api/events/stats?since=2000-01-0{1 + i % 9}" for i in range(WARMUP + 50)]
        cases.append(http_case(client, "stats, whole district (API)", district))
        for z, ts in req.tiles.items():
            cases.append(
                http_case(
                    client,
                    f"event tile z{z}, ?community (API)",
                    [f"/tiles/events/{z}/{x}/{y}.pbf?community={c}" for c, _, x, y in ts],
                    f"event tile z{z}, plain ST_AsMVT",
                )
            )
            cases.append(
                http_case(
                    client,
                    f"event tile z{z}, all communities (API)",
                    [f"/tiles/events/{z}/{x}/{y}.pbf" for _, _, x, y in ts],
                    f"event tile z{z}, plain ST_AsMVT",
                )
            )
        cases.append(
            http_case(
                client,
                "events list, 1,000 (API)",
                [f"/api/events?community={c}" for c in req.communities],
                "list, read_postgis+to_json",
            )
        )
    log(report(cases))  # the API's figures first, should an alternative fail
    log("in-process, no HTTP")
    cases.append(
        local_case("stats, pandas on the rows", req.communities, pandas_dashboard(engine, now))
    )
    cases.append(
        local_case(
            "stats, dashboard() only",
            req.communities,
            our_dashboard(engine, now),
            "stats, pandas on the rows",
        )
    )
    for z, ts in req.tiles.items():
        cases.append(local_case(f"event tile z{z}, plain ST_AsMVT", ts, plain_mvt(engine)))
        cases.append(
            local_case(
                f"event tile z{z}, event_tile() only",
                ts,
                our_tile(engine, now),
                f"event tile z{z}, plain ST_AsMVT",
            )
        )
    cases.append(local_case("list, read_postgis+to_json", req.communities, plain_list(engine)))
    return cases


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="gridmap-bench-events-"))
    root.chmod(0o755)  # the postgres user must enter it; cluster_up chowns it
    engine: Engine | None = None
    now = datetime.now(UTC)
    try:
        cluster = db.cluster_up(root, fast=True)
        db.migrate(cluster.url)
        engine = db.make_engine(cluster.url)
        load_district(engine, args.communities, args.seed)
        make_events(engine, args.events, args.communities, args.seed, now)
        with engine.connect() as conn:
            per = conn.execute(
                text(
                    "SELECT count(*), min(n), max(n) FROM "
                    "(SELECT community_id, count(*) n FROM events GROUP BY 1) s"
                )
            ).one()
        log(f"{per[0]} communities hold {per[1]:,}-{per[2]:,} events each")
        req = inputs(engine, args.requests, args.seed)
        load_before = os.getloadavg()[0]
        cases = measure(cluster.url, root, engine, req, now)
        log(
            f"\n{args.events:,} events; {args.requests} requests a case (district: 50); "
            f"{os.cpu_count()} cores, 1-min load average {load_before:.2f} before measuring, "
            f"{os.getloadavg()[0]:.2f} after"
        )
        log(report(cases))
        if args.explain:
            explain(engine, req.communities[0], req.tiles[14][0], now)
    finally:
        if engine is not None:
            engine.dispose()
        if args.keep_db:
            log(f"\nkept: {db.cluster_status(root)} under {root}")
            log(
                f'stop: .venv/bin/python -c "from pathlib import Path; from layers.db import '
                f"cluster_down; cluster_down(Path('{root}'))\" && rm -rf {root}"
            )
        else:
            with contextlib.suppress(Exception):
                db.cluster_down(root)
            shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_events", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--communities", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200, help="requests per case")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-db", action="store_true", help="leave the cluster running")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the queries")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    run(args)
    log(f"\nwhole run: {_since(started):.0f} s")


if __name__ == "__main__":
    main()
