"""API latency (issue 4): bbox GeoJSON pages and vector tiles of a generated city, over HTTP.

``python -m bench.bench_api [--buildings 100000] [--requests 200] [--keep-db] [--explain]``

1. A throwaway PostGIS cluster in a temp dir (``cluster_up(fast=True)``), migrated; a city from
   ``generate_city`` loaded through the validating importer (streets, communities, grids,
   compounds, buildings, service points: what the buildings' queries join), then
   ``VACUUM ANALYZE``.
2. The real app (``create_app(Settings(database_url=...))``) served by uvicorn in a child
   process on a free 127.0.0.1 port, so the client's GIL is not the server's.
3. One persistent ``httpx`` client, warmed up, then sequential requests: bbox windows of an
   officer's screen at zoom 16-17 (600 m x 400 m) centred on seeded random buildings, and
   tiles at z 14-17 holding seeded random buildings. Then the same requests from 4 workers.
4. Beside them, in-process and without HTTP: the same bbox by a plain
   ``geopandas.read_postgis`` + ``to_json()`` (what the raw database gives), and our own
   ``layer_features`` alone (the database part of the API's answer).

Goals (issue 4): tiles p95 < 50 ms, bbox pages p95 < 100 ms, for sequential requests.
Everything is stopped and removed at the end, on error too, unless ``--keep-db``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
from sqlalchemy import Engine, event, text

import geopandas as gpd

from layers import db

ROOT = Path(__file__).resolve().parent.parent
LOAD_ORDER = ("streets", "communities", "grids", "compounds", "buildings", "service_points")
TILE_ZOOMS = (14, 15, 16, 17)
WINDOW_M = (600.0, 400.0)  # what an officer's screen shows at zoom 16-17
PAGE = 1000
WORKERS = 4
WARMUP = 20
GOAL_TILE_MS = 50.0
GOAL_BBOX_MS = 100.0
#: The alternative: a plain query of the buildings' own columns, no joins, no ordering.
PLAIN_SQL = """
    SELECT id, code, name, households, residents, floating_residents, occupancy, floors,
           party_members, mobile_party_members, lead_name, lead_phone, address, version, geom
    FROM buildings WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) LIMIT :limit
"""

BBox = tuple[float, float, float, float]


def log(msg: str) -> None:
    print(msg, flush=True)


# --- the database -----------------------------------------------------------------------------


def load_city(engine: Engine, n_buildings: int, seed: int) -> None:
    """Generate the city and load it through the importer; print how long each part took."""
    from layers.demo import xiqiao_street
    from layers.importing import Options, import_frame
    from layers.synth import generate_city

    started = time.perf_counter()
    city = generate_city(n_buildings=n_buildings, seed=seed)
    log(f"generate_city(n_buildings={n_buildings:,}, seed={seed}): {_since(started):.1f} s")
    frames = {"streets": xiqiao_street(), **city.layers}
    options = Options(boundary_tolerance_m=1.0)  # as layers.demo.load_city
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        for layer in LOAD_ORDER:
            t0 = time.perf_counter()
            report = import_frame(session, layer, frames[layer], options=options)
            log(f"  import {layer:<15}{report.added:>9,} rows  {_since(t0):6.1f} s")
    log(f"load through the importer (one transaction): {_since(started):.1f} s")
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    log(f"VACUUM ANALYZE: {_since(t0):.1f} s")


def _since(t0: float) -> float:
    return time.perf_counter() - t0


def building_points(engine: Engine) -> tuple[np.ndarray[Any, Any], BBox]:
    """Centroids (lon, lat) of every building, in code order, and the buildings' extent."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c, code FROM buildings) s "
                "ORDER BY code"
            )
        ).all()
        ext = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                "FROM (SELECT ST_Extent(geom) e FROM buildings) s"
            )
        ).one()
    return np.asarray(rows, dtype=float), (ext[0], ext[1], ext[2], ext[3])


# --- the requests -----------------------------------------------------------------------------


def bbox_windows(
    points: np.ndarray[Any, Any], extent: BBox, n: int, rng: np.random.Generator
) -> list[BBox]:
    """``n`` windows of WINDOW_M centred on random buildings, kept inside the extent."""
    lat0 = (extent[1] + extent[3]) / 2
    w = WINDOW_M[0] / (111_320.0 * math.cos(math.radians(lat0)))
    h = WINDOW_M[1] / 110_574.0
    out = []
    for lon, lat in points[rng.integers(0, len(points), n)]:
        x0 = min(max(lon - w / 2, extent[0]), extent[2] - w)
        y0 = min(max(lat - h / 2, extent[1]), extent[3] - h)
        out.append((round(x0, 6), round(y0, 6), round(x0 + w, 6), round(y0 + h, 6)))
    return out


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The slippy-map (XYZ) tile holding a point."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles(
    points: np.ndarray[Any, Any], z: int, n: int, rng: np.random.Generator
) -> list[tuple[int, int, int]]:
    """``n`` tiles at zoom ``z`` each holding a random building (so none is empty)."""
    return [(z, *tile_of(lon, lat, z)) for lon, lat in points[rng.integers(0, len(points), n)]]


def bbox_url(b: BBox) -> str:
    return f"/api/layers/buildings?bbox={b[0]},{b[1]},{b[2]},{b[3]}&limit={PAGE}"


def tile_url(t: tuple[int, int, int]) -> str:
    return f"/tiles/buildings/{t[0]}/{t[1]}/{t[2]}.pbf"


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(url: str, port: int) -> None:
    """Child process: the real app, by uvicorn, as ``gridmap serve`` runs it (one process)."""
    import uvicorn

    from gis_api.app import create_app
    from gis_api.settings import Settings

    app = create_app(Settings(database_url=url))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@contextlib.contextmanager
def server(url: str, logfile: Path) -> Iterator[str]:
    """Start the app in a child process; yield its base URL; stop it (only it) at the end."""
    port = _free_port()
    cmd = [sys.executable, "-m", "bench.bench_api", "--serve", url, "--port", str(port)]
    with logfile.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                msg = f"the server exited ({proc.returncode}):\n{logfile.read_text()[-3000:]}"
                raise RuntimeError(msg)
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/openapi.json", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                msg = f"the server did not answer in 90 s:\n{logfile.read_text()[-3000:]}"
                raise RuntimeError(msg)
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully (lifespan end)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Case:
    """One row of the table: latencies (s) and sizes (bytes) of ``n`` requests."""

    name: str
    seconds: list[float]
    sizes: list[int] | None
    goal_ms: float | None = None
    wall: float | None = None  # wall time of the whole run, for throughput

    def ms(self, q: float) -> float:
        return float(np.percentile(self.seconds, q)) * 1000

    @property
    def rate(self) -> float:
        return len(self.seconds) / (self.wall if self.wall else sum(self.seconds))

    @property
    def verdict(self) -> str:
        if self.goal_ms is None:
            return "-"
        return "pass" if self.ms(95) < self.goal_ms else "FAIL"


def fetch(client: httpx.Client, path: str) -> tuple[float, int]:
    """GET ``path``; return (seconds, body bytes); raise on anything but 200."""
    t0 = time.perf_counter()
    resp = client.get(path)
    body = resp.content
    dt = time.perf_counter() - t0
    if resp.status_code != 200:
        msg = f"GET {path} -> {resp.status_code}: {body[:500]!r}"
        raise RuntimeError(msg)
    return dt, len(body)


def sequential(client: httpx.Client, name: str, paths: Sequence[str], goal: float | None) -> Case:
    timed = [fetch(client, p) for p in paths]
    return Case(name, [t for t, _ in timed], [s for _, s in timed], goal)


def concurrent(client: httpx.Client, name: str, paths: Sequence[str]) -> Case:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        timed = list(pool.map(lambda p: fetch(client, p), paths))
    return Case(name, [t for t, _ in timed], [s for _, s in timed], wall=_since(t0))


def in_process(
    name: str, windows: Sequence[BBox], run: Callable[[BBox], int], *, bytes_: bool = True
) -> Case:
    """Time ``run`` on every window; it returns the bytes it made (or rows when not ``bytes_``)."""
    seconds, sizes = [], []
    for b in windows:
        t0 = time.perf_counter()
        size = run(b)
        seconds.append(_since(t0))
        sizes.append(size)
    if not bytes_:
        log(f"  features per bbox page: median {np.median(sizes):.0f}, max {max(sizes)}")
    return Case(name, seconds, sizes if bytes_ else None)


def plain_read_postgis(engine: Engine) -> Callable[[BBox], int]:
    """The alternative: ``read_postgis`` of a plain bbox query, then ``to_json()``."""
    conn = engine.connect()  # held, as the app's pool holds its connections

    def run(b: BBox) -> int:
        params = dict(zip(("x0", "y0", "x1", "y1"), b, strict=True), limit=PAGE)
        frame = gpd.read_postgis(text(PLAIN_SQL), conn, geom_col="geom", params=params)
        return len(frame.to_json().encode())

    return run


def our_layer_features(engine: Engine) -> Callable[[BBox], int]:
    """Our query alone (``layer_features``: page + count, in a session), without HTTP or JSON."""
    from layers.queries import Filters, layer_features

    session = db.make_sessionmaker(engine)()

    def run(b: BBox) -> int:
        frame, _ = layer_features(session, "buildings", Filters(bbox=b, limit=PAGE))
        session.rollback()  # end the read transaction, as the app's session does
        return len(frame)

    return run


# --- the report -------------------------------------------------------------------------------


def table(cases: Sequence[Case]) -> str:
    head = ("case", "n", "median ms", "p95 ms", "bytes median", "req/s", "goal p95", "result")
    rows = [
        (
            c.name,
            f"{len(c.seconds)}",
            f"{c.ms(50):.1f}",
            f"{c.ms(95):.1f}",
            f"{int(np.median(c.sizes)):,}" if c.sizes else "-",
            f"{c.rate:.0f}",
            f"< {c.goal_ms:.0f} ms" if c.goal_ms else "-",
            c.verdict,
        )
        for c in cases
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |"
        for r in [head, *rows]
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def explain(engine: Engine, window: BBox, tile: tuple[int, int, int]) -> None:
    """EXPLAIN ANALYZE the statements ``layer_features`` and ``vector_tile`` really send."""
    from layers.queries import Filters, layer_features, vector_tile

    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    session = db.make_sessionmaker(engine)()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        layer_features(session, "buildings", Filters(bbox=window, limit=PAGE))
        vector_tile(session, "buildings", *tile)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    for statement, params in sent:
        if "pg_catalog" in statement:
            continue
        plan = session.connection().exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
        )
        log(f"\n-- {statement.strip()[:100]}...  {params}")
        log("\n".join(r[0] for r in plan))
    session.close()


# --- the run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="gridmap-bench-api-"))
    root.chmod(0o755)  # the postgres user must enter it; cluster_up chowns it
    engine: Engine | None = None
    try:
        cluster = db.cluster_up(root, fast=True)
        db.migrate(cluster.url)
        engine = db.make_engine(cluster.url)
        load_city(engine, args.buildings, args.seed)
        points, extent = building_points(engine)
        rng = np.random.default_rng(args.seed)
        n = args.requests
        windows = bbox_windows(points, extent, n + WARMUP, rng)
        warm_windows, windows = windows[:WARMUP], windows[WARMUP:]
        by_zoom = {z: tiles(points, z, n + WARMUP, rng) for z in TILE_ZOOMS}
        load_before = os.getloadavg()[0]
        cases = measure(cluster.url, root, engine, Requests(windows, warm_windows, by_zoom))
        log(
            f"\n{len(points):,} buildings; {n} requests a case; machine: {os.cpu_count()} cores, "
            f"1-min load average {load_before:.2f} before measuring, "
            f"{os.getloadavg()[0]:.2f} after (other processes share the cores)"
        )
        log(table(cases))
        if args.explain:
            explain(engine, windows[0], by_zoom[14][WARMUP])
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


@dataclass(frozen=True)
class Requests:
    """The seeded requests: measured and warm-up bbox windows, and tiles by zoom."""

    windows: list[BBox]
    warm_windows: list[BBox]
    by_zoom: dict[int, list[tuple[int, int, int]]]  # the first WARMUP of each warm up


def _token(url: str) -> str:
    """An API token of a planner of every community: the reader the benchmark acts as."""
    from sqlalchemy import text

    from gis_api import auth
    from gis_api.settings import Settings
    from layers import accounts, db

    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            user = accounts.find_user(session, "bench-reader")
            if user is None:
                codes = list(session.execute(text("SELECT code FROM communities")).scalars())
                uid = accounts.add_user(
                    session,
                    "bench-reader",
                    role="planner",
                    password_hash=auth.hash_password(auth.new_password()),
                    communities=codes,
                )
            else:
                uid = user.id
            return auth.issue(session, uid, "api", Settings(database_url=url)).token
    finally:
        engine.dispose()


def measure(url: str, root: Path, engine: Engine, req: Requests) -> list[Case]:
    """Warm up, then time every case; return the table's rows."""
    windows, warm_windows, by_zoom = req.windows, req.warm_windows, req.by_zoom
    cases: list[Case] = []
    bbox_paths = [bbox_url(b) for b in windows]
    tile_paths = {z: [tile_url(t) for t in ts[WARMUP:]] for z, ts in by_zoom.items()}
    limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)
    headers = {"Authorization": f"Bearer {_token(url)}"}  # every route asks who is reading
    with (
        server(url, root / "uvicorn.log") as base,
        httpx.Client(base_url=base, timeout=60, limits=limits, headers=headers) as client,
    ):
        log(f"\nserving the app at {base}; warming up")
        for path in [bbox_url(b) for b in warm_windows]:
            fetch(client, path)
        for ts in by_zoom.values():
            for t in ts[:WARMUP]:
                fetch(client, tile_url(t))
        log("sequential requests, one persistent client")
        cases.append(sequential(client, "bbox GeoJSON page (API)", bbox_paths, GOAL_BBOX_MS))
        for z, paths in tile_paths.items():
            cases.append(sequential(client, f"tile z{z} (API)", paths, GOAL_TILE_MS))
        log(f"the same requests from {WORKERS} workers")
        cases.append(concurrent(client, f"bbox GeoJSON page, {WORKERS} workers", bbox_paths))
        mixed = [p for group in zip(*tile_paths.values(), strict=True) for p in group]
        cases.append(concurrent(client, f"tiles z14-17 mixed, {WORKERS} workers", mixed))
    log("in-process, no HTTP")
    plain = plain_read_postgis(engine)
    ours = our_layer_features(engine)
    for b in warm_windows:
        plain(b)
        ours(b)
    cases.insert(1, in_process("bbox read_postgis+to_json (plain)", windows, plain))
    cases.insert(2, in_process("bbox layer_features() only", windows, ours, bytes_=False))
    return cases


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_api", description=__doc__)
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per case")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-db", action="store_true", help="leave the cluster running")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the queries")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return
    # SIGTERM unwinds like Ctrl-C, so the server, the cluster and the temp dir still go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    run(args)
    log(f"\nwhole run: {_since(started):.0f} s")


if __name__ == "__main__":
    main()
