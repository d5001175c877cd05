"""Field edits: tablets editing overlapping buildings at once, over HTTP (docs/robustness.md).

``python -m bench.bench_field_edits [--tablets 50] [--seconds 60] [--hot 4] [--think-ms 500]``

1. A throwaway PostGIS cluster in a temp dir (``cluster_up(fast=True)``), migrated, with the
   generated demo community 樵华 (``load_demo(..., "qiaohua")``: 476 buildings in 7 grids).
   ``--tablets`` field users (role ``field``) are spread over the grids, one grid each. The
   real app is served by uvicorn on a free 127.0.0.1 port, in a child process (the client's
   GIL is not the server's; ``--server thread`` runs it in a thread of this process instead),
   or ``--url`` names a running server (then ``--database-url`` is its database, for the users
   and the check; use a throwaway copy: the bench writes users and edits into it).
2. Every tablet logs in (``POST /api/auth/token``) and, for ``--seconds``, picks a building of
   its grid among a small hot set (``--hot`` a grid, so the tablets of a grid overlap), reads
   it (GET), changes 1-3 random fields it may record and PATCHes them with ``If-Match`` (the
   version read) and a fresh ``Idempotency-Key``. Sometimes (``--lost``) the answer is taken as
   lost: the tablet makes its next edit on the same stale read, sends it, then resends the
   first with the same key. Sometimes (``--queued``) two edits made offline on one read go out
   in the wrong order (the second first). On 409 the tablet re-reads and retries the same
   fields with a new key. The values always keep the cross-field rules, whatever the
   interleaving, so no edit is refused for its values.
3. Prints requests/s and p50/p95/p99 latency of every request, the count of edits applied,
   merged (new version > base + 1), conflicts (409) and resends answered from their key; then
   checks in the database that every accepted edit is exactly one ``history`` row (same
   building, version, user and exactly the fields and values it set) and no row is extra
   (0 lost, 0 doubled), and that each hot building holds, per field, the value of the last
   accepted edit that set it.

Goal: p95 < 200 ms with 0 lost and 0 doubled. Everything the bench started is stopped at the
end, on error too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
from sqlalchemy import Engine, text

from layers import db

ROOT = Path(__file__).resolve().parent.parent
COMMUNITY = "QH"
PASSWORD = "bench-field-password"
GOAL_P95_MS = 200.0
MAX_TRIES = 6  # a tablet gives an edit up after this many 409s in a row
LOGINS_PER_MINUTE = 100_000  # the served app's login limit: every tablet logs in from 127.0.0.1
NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周婷", "吴军")


def log(msg: str) -> None:
    print(msg, flush=True)


# --- values a field user records --------------------------------------------------------------
#
# Ranges chosen so that any mix of them with the demo's values keeps the cross-field rules
# (party <= residents, mobile party <= party, floating <= residents; docs/domain.md): the demo
# has residents >= 12, floating <= 77, party <= 17, mobile party <= 3.


def _phone(rng: random.Random) -> str:
    return "13" + "".join(rng.choice("0123456789") for _ in range(9))


#: field -> a new value, given the building as read (each tablet has its own ``rng``).
VALUES: dict[str, Callable[[dict[str, Any], random.Random], Any]] = {
    "households": lambda _now, rng: rng.randint(3, 300),
    "occupancy": lambda _now, rng: round(rng.uniform(0.3, 1.0), 2),
    "residents": lambda _now, rng: rng.randint(100, 600),
    "floating_residents": lambda _now, rng: rng.randint(0, 10),
    "party_members": lambda _now, rng: rng.randint(3, 10),
    # Party members only ever rise to >= 3 in the bench, so <= the value read stays valid.
    "mobile_party_members": lambda now, rng: rng.randint(
        0, min(3, int(now.get("party_members") or 0))
    ),
    "floors": lambda _now, rng: rng.randint(1, 40),
    "lead_name": lambda _now, rng: rng.choice(NAMES),
    "lead_phone": lambda _now, rng: _phone(rng),
}
FIELDS = tuple(VALUES)


def changes(names: Sequence[str], now: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """New values, each different from the one read, for ``names`` (a field left out if none)."""
    out: dict[str, Any] = {}
    for name in names:
        for _ in range(20):
            v = VALUES[name](now, rng)
            if v != now.get(name):
                out[name] = v
                break
    return out


# --- what was sent and answered ---------------------------------------------------------------


@dataclass
class Edit:
    """One PATCH as the tablet made it: its key, building, base version and changed fields."""

    key: str
    user: str
    fid: int
    base: int
    props: dict[str, Any]


@dataclass
class Record:
    """Everything the tablets saw, for the figures and the check."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    counts: Counter[str] = field(default_factory=Counter)
    #: key -> (edit, first 200 answer): the accepted edits.
    accepted: dict[str, tuple[Edit, dict[str, Any]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class Tablet:
    """One field user's tablet: its own connection, token, grid and random choices."""

    def __init__(
        self,
        n: int,
        *,
        user: str,
        hot: Sequence[int],
        client: httpx.AsyncClient,
        rec: Record,
        args: argparse.Namespace,
    ) -> None:
        self.n, self.user, self.hot = n, user, hot
        self.client, self.rec, self.args = client, rec, args
        self.rng = random.Random(args.seed * 1000 + n)
        self.serial = 0

    def _key(self) -> str:
        self.serial += 1
        return f"tablet-{self.n:03d}:edit-{self.serial:06d}"

    async def _timed(self, kind: str, method: str, url: str, **kw: Any) -> httpx.Response:
        """Send one request; on a transport error, the same request again (up to 5 times)."""
        for attempt in range(5):
            t0 = time.perf_counter()
            try:
                resp = await self.client.request(method, url, **kw)
            except httpx.TransportError as exc:
                self.rec.counts["transport errors"] += 1
                if attempt == 4:
                    raise
                self.rec.problems.append(f"{method} {url}: {exc!r}, sent again")
                continue
            self.rec.latency[kind].append(time.perf_counter() - t0)
            return resp
        msg = "unreachable"
        raise AssertionError(msg)

    async def read(self, fid: int) -> tuple[int, dict[str, Any]]:
        resp = await self._timed("GET", "GET", f"/api/layers/buildings/{fid}")
        if resp.status_code != 200:
            msg = f"GET building {fid} as {self.user} -> {resp.status_code}: {resp.text[:300]}"
            raise RuntimeError(msg)
        props: dict[str, Any] = resp.json()["properties"]
        return int(props["version"]), props

    def make(self, fid: int, base: int, now: dict[str, Any]) -> Edit:
        names = self.rng.sample(FIELDS, self.rng.randint(1, 3))
        props = changes(names, now, self.rng)
        if not props:  # only mobile party members, with no other value allowed
            props = changes(["floors"], now, self.rng)
        return Edit(self._key(), self.user, fid, base, props)

    async def send(self, edit: Edit, *, kind: str = "PATCH") -> httpx.Response:
        """PATCH the edit (a resend when ``kind`` says so); note an accepted one's answer."""
        resp = await self._timed(
            kind,
            "PATCH",
            f"/api/layers/buildings/{edit.fid}",
            json={"properties": edit.props},
            headers={"If-Match": f'W/"{edit.base}"', "Idempotency-Key": edit.key},
        )
        rec = self.rec
        if resp.status_code == 200:
            body = resp.json()
            first = rec.accepted.get(edit.key)
            if first is not None:
                rec.counts["resends answered from the key"] += 1
                if body != first[1]:
                    rec.problems.append(f"{edit.key}: the resend's answer differs from the first")
                    rec.counts["resends answered differently"] += 1
            else:
                rec.accepted[edit.key] = (edit, body)
                new = int(body["properties"]["version"])
                rec.counts["applied" if new == edit.base + 1 else "merged"] += 1
                if new <= edit.base:
                    rec.problems.append(f"{edit.key}: new version {new} <= base {edit.base}")
        elif resp.status_code == 409:
            rec.counts["conflicts (409)"] += 1
            detail = resp.json()["detail"][0]
            if detail.get("type") != "version_conflict":
                rec.problems.append(f"{edit.key}: 409 {detail.get('type')}")
            else:
                named = {f["field"] for f in detail["ctx"].get("fields") or []}
                if not named or not named <= set(edit.props):
                    rec.problems.append(f"{edit.key}: 409 names {named}, edit set {edit.props}")
        else:
            rec.counts[f"refused ({resp.status_code})"] += 1
            rec.problems.append(f"{edit.key}: {resp.status_code} {resp.text[:300]}")
        return resp

    async def rebased(self, edit: Edit) -> Edit | None:
        """After a 409: read the building again; the same fields, on its version, a new key."""
        base, now = await self.read(edit.fid)
        props = changes(list(edit.props), now, self.rng)
        return Edit(self._key(), self.user, edit.fid, base, props) if props else None

    async def submit(self, edit: Edit | None) -> None:
        """Send an edit; on 409 read again and retry its fields with a new key."""
        for _ in range(MAX_TRIES):
            if edit is None:
                return
            resp = await self.send(edit)
            if resp.status_code != 409:
                return
            edit = await self.rebased(edit)
        self.rec.counts["edits given up after retries"] += 1

    async def run(self, deadline: float) -> None:
        a = self.args
        while time.monotonic() < deadline:
            fid = self.rng.choice(self.hot)
            base, now = await self.read(fid)
            first = self.make(fid, base, now)
            draw = self.rng.random()
            if draw < a.lost:
                # The answer is lost (no signal): the next edit is made on the same read,
                # goes out, and then the first is sent again with its key.
                resp = await self.send(first)
                await self.submit(self.make(fid, base, now))
                again = await self.send(first, kind="resend")
                self.rec.counts["resends"] += 1
                if resp.status_code == 200 and again.status_code != 200:
                    self.rec.problems.append(f"{first.key}: 200, then {again.status_code}")
                if again.status_code == 409:  # refused twice (its key stays free): retry
                    self.rec.counts["resends of a refused edit (409 again)"] += 1
                    await self.submit(await self.rebased(first))
            elif draw < a.lost + a.queued:
                # Two edits made offline on one read arrive second first.
                second = self.make(fid, base, now)
                self.rec.counts["out-of-order pairs"] += 1
                await self.submit(second)
                await self.submit(first)
            else:
                await self.submit(first)
            if a.think_ms > 0:
                await asyncio.sleep(self.rng.uniform(0, 2 * a.think_ms) / 1000)


async def log_in(client: httpx.AsyncClient, user: str) -> str:
    resp = await client.post("/api/auth/token", data={"username": user, "password": PASSWORD})
    if resp.status_code != 200:
        msg = f"login {user} -> {resp.status_code}: {resp.text[:300]}"
        raise RuntimeError(msg)
    return str(resp.json()["access_token"])


async def drive(
    base_url: str, users: dict[str, str], hot: dict[str, list[int]], args: argparse.Namespace
) -> tuple[Record, float]:
    """Log every tablet in, then run them all for ``--seconds``; return the record and wall s."""
    rec = Record()
    clients = [
        httpx.AsyncClient(base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=1))
        for _ in users
    ]
    try:
        tokens = []
        for c, user in zip(clients, users, strict=True):  # one by one: argon2 is the cost here
            tokens.append(await log_in(c, user))
        tablets = []
        for n, (c, (user, grid), token) in enumerate(
            zip(clients, users.items(), tokens, strict=True)
        ):
            c.headers["Authorization"] = f"Bearer {token}"
            tablets.append(Tablet(n, user=user, hot=hot[grid], client=c, rec=rec, args=args))
        log(f"{len(tablets)} tablets logged in; editing for {args.seconds:g} s")
        t0 = time.monotonic()
        await asyncio.gather(*(t.run(t0 + args.seconds) for t in tablets))
        wall = time.monotonic() - t0
    finally:
        for c in clients:
            await c.aclose()
    return rec, wall


# --- the database: users, hot buildings, the check --------------------------------------------


def make_users(engine: Engine, n: int, run_id: str) -> dict[str, str]:
    """Create ``n`` field users spread over the community's grids; return user -> grid code."""
    from gis_api.auth import hash_password
    from layers import accounts

    hashed = hash_password(PASSWORD)
    with db.session_scope(engine) as session:
        grids = list(
            session.execute(
                text(
                    "SELECT g.code FROM grids g JOIN communities c ON c.id = g.community_id "
                    "WHERE c.code = :c ORDER BY g.code"
                ),
                {"c": COMMUNITY},
            ).scalars()
        )
        if not grids:
            msg = f"community {COMMUNITY} has no grids: load the demo (qiaohua) first"
            raise RuntimeError(msg)
        users = {f"bench-field-{run_id}-{i:02d}": grids[i % len(grids)] for i in range(n)}
        for user, grid in users.items():
            accounts.add_user(
                session,
                user,
                role="field",
                password_hash=hashed,
                communities=[COMMUNITY],
                grids=[grid],
                display_name=f"扫楼 {user[-2:]}",
            )
    return users


def hot_buildings(
    engine: Engine, grids: Sequence[str], per_grid: int, seed: int
) -> dict[str, list[int]]:
    """A seeded random ``per_grid`` buildings of each grid: what its tablets fight over."""
    rng = random.Random(seed)
    out: dict[str, list[int]] = {}
    with engine.connect() as conn:
        for grid in sorted(set(grids)):
            ids = list(
                conn.execute(
                    text(
                        "SELECT b.id FROM buildings b JOIN grids g ON g.id = b.grid_id "
                        "WHERE g.code = :g ORDER BY b.id"
                    ),
                    {"g": grid},
                ).scalars()
            )
            out[grid] = sorted(rng.sample(ids, min(per_grid, len(ids))))
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9
    return bool(a == b)


_BOOKKEEPING = {"version", "updated_at"}


def check(engine: Engine, rec: Record, users: Sequence[str], hot: Sequence[int]) -> dict[str, int]:
    """Compare the accepted edits with ``history`` and the buildings table; count mismatches."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, feature_id, changed_by, old, new FROM history "
                "WHERE layer = 'buildings' AND action = 'update' AND changed_by = ANY(:u)"
            ),
            {"u": list(users)},
        ).all()
        final = {
            r.id: dict(r._mapping)
            for r in conn.execute(
                text(f"SELECT id, {', '.join(FIELDS)} FROM buildings WHERE id = ANY(:ids)"),
                {"ids": list(hot)},
            )
        }
    by_version: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for r in rows:
        by_version[(r.feature_id, int(r.new["version"]))].append(r)
    lost = doubled = wrong = 0
    matched: set[int] = set()
    for key, (edit, answer) in rec.accepted.items():
        version = int(answer["properties"]["version"])
        hits = [
            r
            for r in by_version.get((edit.fid, version), [])
            if r.changed_by == edit.user
            and all(_same(r.new.get(f), v) for f, v in edit.props.items())
        ]
        if not hits:
            lost += 1
            rec.problems.append(f"lost: {key} {edit.props} (building {edit.fid} v{version})")
            continue
        doubled += len(hits) - 1
        for r in hits:
            matched.add(r.id)
            touched = {
                f
                for f in set(r.new) | set(r.old)
                if f not in _BOOKKEEPING and not _same(r.new.get(f), r.old.get(f))
            }
            if touched != set(edit.props):
                wrong += 1
                rec.problems.append(
                    f"{key}: history changed {sorted(touched)}, edit set {edit.props}"
                )
    extra = [r for r in rows if r.id not in matched]
    doubled += len(extra)
    for r in extra[:10]:
        rec.problems.append(
            f"history row {r.id} (building {r.feature_id}) matches no accepted edit"
        )
    last: dict[tuple[int, str], tuple[int, Any]] = {}
    for edit, answer in rec.accepted.values():
        version = int(answer["properties"]["version"])
        for f, v in edit.props.items():
            if (edit.fid, f) not in last or last[(edit.fid, f)][0] < version:
                last[(edit.fid, f)] = (version, v)
    stale = 0
    for (fid, f), (version, v) in last.items():
        if not _same(final[fid][f], v):
            stale += 1
            rec.problems.append(
                f"building {fid} {f} = {final[fid][f]!r}, last edit (v{version}) set {v!r}"
            )
    return {
        "history rows": len(rows),
        "lost": lost,
        "doubled": doubled,
        "rows with other changes": wrong,
        "fields checked": len(last),
        "final values wrong": stale,
    }


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _app(url: str) -> Any:
    from gis_api.app import create_app
    from gis_api.settings import Settings

    return create_app(Settings(database_url=url, login_attempts_per_minute=LOGINS_PER_MINUTE))


def serve(url: str, port: int) -> None:
    """Child process: the real app by uvicorn, one process, as ``gridmap serve`` runs it."""
    import uvicorn

    uvicorn.run(_app(url), host="127.0.0.1", port=port, log_level="warning")


def _wait_up(base: str, alive: Any, what: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        if not alive():
            msg = f"the server stopped while starting: {what}"
            raise RuntimeError(msg)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/openapi.json", timeout=5).status_code == 200:
                return
        if time.monotonic() > deadline:
            msg = f"the server did not answer in 90 s: {what}"
            raise RuntimeError(msg)
        time.sleep(0.2)


@contextlib.contextmanager
def server(url: str, logfile: Path, mode: str) -> Iterator[str]:
    """Serve the app (child process or thread); yield its base URL; stop it at the end."""
    import uvicorn

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    if mode == "thread":
        srv = uvicorn.Server(
            uvicorn.Config(_app(url), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        try:
            _wait_up(base, thread.is_alive, "see the output above")
            yield base
        finally:
            srv.should_exit = True
            thread.join(timeout=15)
        return
    cmd = [sys.executable, "-m", "bench.bench_field_edits", "--serve", url, "--port", str(port)]
    with logfile.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_up(base, lambda: proc.poll() is None, logfile.read_text()[-3000:])
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- the run ----------------------------------------------------------------------------------


def _ms(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(xs, q)) * 1000


def report(rec: Record, wall: float, result: dict[str, int]) -> bool:
    every = [x for xs in rec.latency.values() for x in xs]
    log(f"\n{len(every):,} requests in {wall:.1f} s: {len(every) / wall:.1f} requests/s")
    log("| requests | n | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    kinds = [(k, rec.latency[k]) for k in ("GET", "PATCH", "resend") if rec.latency.get(k)]
    for kind, xs in [*kinds, ("all", every)]:
        cells = " | ".join(f"{_ms(xs, q):.1f}" for q in (50, 95, 99))
        log(f"| {kind} | {len(xs):,} | {cells} |")
    log("")
    log(f"accepted edits: {len(rec.accepted):,}")
    for name in (
        "applied",
        "merged",
        "conflicts (409)",
        "resends",
        "resends answered from the key",
        "resends answered differently",
        "resends of a refused edit (409 again)",
        "out-of-order pairs",
        "edits given up after retries",
        "transport errors",
    ):
        log(f"  {name}: {rec.counts.get(name, 0):,}")
    for name, n in sorted(rec.counts.items()):
        if name.startswith("refused"):
            log(f"  {name}: {n:,}")
    log("\ncheck against the database:")
    for name, n in result.items():
        log(f"  {name}: {n:,}")
    p95 = _ms(every, 95)
    clean = (
        result["lost"] == 0
        and result["doubled"] == 0
        and result["rows with other changes"] == 0
        and result["final values wrong"] == 0
        and rec.counts.get("resends answered differently", 0) == 0
        and result["history rows"] == len(rec.accepted)
    )
    log(f"\n{'PASS' if clean else 'FAIL'}: 0 lost, 0 doubled (and final values = last edit)")
    log(f"{'PASS' if p95 < GOAL_P95_MS else 'FAIL'}: p95 {p95:.1f} ms < {GOAL_P95_MS:.0f} ms")
    for p in rec.problems[:20]:
        log(f"  problem: {p}")
    if len(rec.problems) > 20:
        log(f"  ... {len(rec.problems) - 20} more problems")
    return clean


def bench(base_url: str, engine: Engine, args: argparse.Namespace) -> bool:
    run_id = f"{os.getpid()}{int(time.time()) % 10000}"
    users = make_users(engine, args.tablets, run_id)
    hot = hot_buildings(engine, list(users.values()), args.hot, args.seed)
    log(
        f"{args.tablets} field users over {len(hot)} grids; "
        f"{sum(len(v) for v in hot.values())} hot buildings ({args.hot} a grid)"
    )
    load_before = os.getloadavg()[0]
    rec, wall = asyncio.run(drive(base_url, users, hot, args))
    log(
        f"machine: {os.cpu_count()} cores, 1-min load {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after (shared with other work)"
    )
    result = check(engine, rec, list(users), [i for ids in hot.values() for i in ids])
    return report(rec, wall, result)


def run(args: argparse.Namespace) -> bool:
    if args.url:
        if not args.database_url:
            msg = "--url needs --database-url (its database: users and the check)"
            raise SystemExit(msg)
        remote = db.make_engine(args.database_url)
        try:
            return bench(args.url.rstrip("/"), remote, args)
        finally:
            remote.dispose()
    from gis_api.services import load_demo
    from gis_api.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="gridmap-bench-edits-"))
    root.chmod(0o755)  # the postgres user must enter it; cluster_up chowns it
    engine: Engine | None = None
    try:
        t0 = time.perf_counter()
        cluster = db.cluster_up(root, fast=True)
        db.migrate(cluster.url)
        load_demo(Settings(database_url=cluster.url), "qiaohua")
        log(f"cluster up, migrated, 樵华 loaded: {time.perf_counter() - t0:.1f} s")
        engine = db.make_engine(cluster.url)
        with server(cluster.url, root / "uvicorn.log", args.server) as base:
            log(f"serving the app at {base} ({args.server})")
            return bench(base, engine, args)
    finally:
        if engine is not None:
            engine.dispose()
        with contextlib.suppress(Exception):
            db.cluster_down(root)
        shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_field_edits", description=__doc__)
    parser.add_argument("--tablets", type=int, default=50, help="field users, one tablet each")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hot", type=int, default=4, help="hot buildings a grid")
    parser.add_argument(
        "--think-ms", type=float, default=500.0, help="mean pause between a tablet's edits"
    )
    parser.add_argument("--lost", type=float, default=0.2, help="share of answers lost (resend)")
    parser.add_argument("--queued", type=float, default=0.1, help="share of out-of-order pairs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server", choices=("process", "thread"), default="process")
    parser.add_argument("--url", help="a running server instead of a throwaway one")
    parser.add_argument("--database-url", help="with --url: that server's database")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return
    # SIGTERM unwinds like Ctrl-C, so the server, the cluster and the temp dir still go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    consistent = run(args)
    log(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    if not consistent:
        sys.exit(1)


if __name__ == "__main__":
    main()
