"""Database plumbing: engines and sessions, migrations, and the project-local PostGIS cluster.

With no ``DATABASE_URL`` the project runs its own PostgreSQL cluster under a git-ignored
folder, on a free loopback port. ``gridmap db up`` and the test suite both start it through
:func:`cluster_up`, so the demo and the tests run on the same path. PostgreSQL refuses to run
as root, so as root the server runs as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from layers.errors import GridmapError

DEFAULT_DBNAME = "gridmap"
SUPERUSER = "gridmap"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class ClusterError(GridmapError):
    """The local PostgreSQL cluster could not be set up, started or stopped."""

    type = "cluster_error"
    status = 500


@dataclass(frozen=True)
class LocalCluster:
    """A running project-local cluster: where it lives and how to reach it."""

    datadir: Path
    port: int
    dbname: str = DEFAULT_DBNAME

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the cluster's project database."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{self.dbname}"


def normalise_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver, whatever scheme it came with.

    >>> normalise_url("postgres://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine for ``url`` (normalised to psycopg 3).

    JIT compilation is turned off for our connections: every query we send is short, and
    PostgreSQL's JIT spent ~25 ms compiling each dense vector tile (bench/README.md).
    """
    connect_args = {"options": "-c jit=off"}
    return create_engine(
        normalise_url(url), pool_pre_ping=True, connect_args=connect_args, **kwargs
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Create the session factory used by the app, the CLI and the tests."""
    return sessionmaker(bind=engine, expire_on_commit=False)


# --- who acts: the history triggers record it ---------------------------------------------------


def act_as(session: Session, user: str, channel: str) -> None:
    """Name who ``session``'s transactions act for, and through which channel.

    Every transaction the session begins then sets ``gridmap.user`` and ``gridmap.channel``
    (``SET LOCAL``), which the history triggers of migration 0004 record with each change.
    """
    session.info["actor"] = (user, channel)
    if session.in_transaction():  # already begun: stamp the running transaction too
        _stamp(session.connection(), user, channel)


def actor(session: Session) -> tuple[str, str] | None:
    """Return who ``session`` acts for, as :func:`act_as` set it."""
    value = session.info.get("actor")
    return None if value is None else (str(value[0]), str(value[1]))


def _stamp(connection: Connection, user: str, channel: str) -> None:
    connection.execute(
        text(
            "SELECT set_config('gridmap.user', :u, true), set_config('gridmap.channel', :c, true)"
        ),
        {"u": user, "c": channel},
    )


@event.listens_for(Session, "after_begin")
def _stamp_actor(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    who = actor(session)
    if who is not None:
        _stamp(connection, *who)


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session; commit on success, roll back on error."""
    with make_sessionmaker(engine)() as session, session.begin():
        yield session


# --- migrations -------------------------------------------------------------------------------


def alembic_config(url: str) -> object:
    """Return an Alembic ``Config`` pointing at our migrations and ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (creating PostGIS if missing)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)  # type: ignore[arg-type]


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision`` (``base`` drops every table)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)  # type: ignore[arg-type]


def head_revision() -> str:
    """Return the newest revision of our migrations (what ``migrate`` brings a database to)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if head is None:
        msg = f"no migrations in {MIGRATIONS_DIR}"
        raise RuntimeError(msg)
    return head


def current_revision(url: str) -> str | None:
    """Return the database's Alembic revision, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            if exists is None:
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


# --- the local cluster ------------------------------------------------------------------------


def pg_bindir() -> Path:
    """Find PostgreSQL's server binaries (``initdb``, ``pg_ctl``), newest version first."""
    override = os.environ.get("GRIDMAP_PG_BINDIR")
    candidates = [Path(override)] if override else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if found := shutil.which("pg_ctl"):
        candidates.append(Path(found).parent)
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    msg = "未找到 PostgreSQL 服务器程序（initdb/pg_ctl）：请先运行 scripts/install-postgis.sh"
    raise ClusterError(msg, loc=("pg_bindir",))


def _server_user() -> str | None:
    """Return the user to run the server as: ``postgres`` when we are root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        msg = "以 root 运行时需要 postgres 系统用户：请先运行 scripts/install-postgis.sh"
        raise ClusterError(msg, loc=("user",)) from exc
    return "postgres"


def _run(args: Sequence[str], *, user: str | None) -> subprocess.CompletedProcess[str]:
    cmd = ["runuser", "-u", user, "--", *args] if user else list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = f"命令失败：{' '.join(args[:2])}：{proc.stderr.strip() or proc.stdout.strip()}"
        raise ClusterError(msg, loc=("cluster",))
    return proc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _running_port(datadir: Path) -> int | None:
    """Return the port of the live server on ``datadir`` (from ``postmaster.pid``), or None."""
    pidfile = datadir / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return port


def cluster_status(root: Path, *, dbname: str = DEFAULT_DBNAME) -> LocalCluster | None:
    """Return the running local cluster under ``root``, or None when it is not running."""
    datadir = root.resolve() / "pgdata"
    port = _running_port(datadir)
    return LocalCluster(datadir, port, dbname) if port else None


def cluster_up(
    root: Path, *, dbname: str = DEFAULT_DBNAME, port: int | None = None, fast: bool = False
) -> LocalCluster:
    """Create (once) and start a local PostGIS cluster under ``root``; return how to reach it.

    Idempotent: a running cluster is returned as is. ``fast`` turns off fsync, for throwaway
    test clusters only.
    """
    root = root.resolve()
    datadir = root / "pgdata"
    if running := cluster_status(root, dbname=dbname):
        _ensure_database(running)
        return running
    bindir = pg_bindir()
    user = _server_user()
    root.mkdir(parents=True, exist_ok=True)
    if user:
        # The server user must be able to reach the folder through every parent.
        root.chmod(0o755)
        shutil.chown(root, user=user)
    if not (datadir / "PG_VERSION").exists():
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            user=user,
        )
    port = port or _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    if fast:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        user=user,
    )
    cluster = LocalCluster(datadir, port, dbname)
    _ensure_database(cluster)
    return cluster


def cluster_down(root: Path) -> bool:
    """Stop the local cluster under ``root``; return False when it was not running."""
    datadir = root.resolve() / "pgdata"
    if _running_port(datadir) is None:
        return False
    _run(
        [str(pg_bindir() / "pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop"],
        user=_server_user(),
    )
    return True


def _ensure_database(cluster: LocalCluster) -> None:
    """Create the project database and the PostGIS extension if they are missing."""
    admin = f"host=127.0.0.1 port={cluster.port} user={SUPERUSER} dbname=postgres"
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(admin, autocommit=True)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (cluster.dbname,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cluster.dbname)))
    ensure_postgis(cluster.url)


def ensure_postgis(url: str) -> str:
    """Create the PostGIS extension in the database at ``url``; return its version."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            try:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            except Exception as exc:
                msg = (
                    "数据库中无法创建 PostGIS 扩展：请运行 scripts/install-postgis.sh "
                    f"安装 postgresql-15-postgis-3（{exc.__class__.__name__}）"
                )
                raise ClusterError(msg, loc=("postgis",)) from exc
            return str(conn.execute(text("SELECT postgis_lib_version()")).scalar())
    finally:
        engine.dispose()
