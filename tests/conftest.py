"""Test set-up: a real PostgreSQL + PostGIS cluster that the test run starts and stops itself.

The cluster comes from the same ``layers.db.cluster_up`` that ``gridmap db up`` uses. Its
``gridmap`` database is migrated once with Alembic (so the migrations are tested) and then
serves as a template: tests that must commit (the CLI, the API end to end) get a fresh copy;
the rest run in a transaction rolled back at teardown.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from layers import db

TEMPLATE = "gridmap_template"


@pytest.fixture(scope="session")
def cluster() -> Iterator[db.LocalCluster]:
    root = Path(tempfile.mkdtemp(prefix="gridmap-test-"))
    try:
        cluster = db.cluster_up(root, dbname=TEMPLATE, fast=True)
        db.migrate(cluster.url)
        yield cluster
    finally:
        db.cluster_down(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def engine(cluster: db.LocalCluster) -> Iterator[Engine]:
    engine = db.make_engine(cluster.url)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT postgis_lib_version()")).scalar()
    assert version is not None and version.startswith("3"), "PostGIS 3 must be installed"
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every commit is a savepoint inside one transaction rolled back later."""
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            yield s
        outer.rollback()


def _admin(cluster: db.LocalCluster) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        f"host=127.0.0.1 port={cluster.port} user={db.SUPERUSER} dbname=postgres",
        autocommit=True,
    )


@pytest.fixture
def fresh_db(cluster: db.LocalCluster, engine: Engine) -> Iterator[str]:
    """The URL of a fresh migrated database (a copy of the template), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine.dispose()  # the template must have no open connections to be copied
    with _admin(cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    url = db.LocalCluster(cluster.datadir, cluster.port, name).url
    try:
        yield url
    finally:
        with _admin(cluster) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def snapshot(conn: Session | Engine) -> dict[str, tuple[int, str]]:
    """Row count and content checksum of every table of ours, to prove nothing changed."""
    tables = [
        "streets",
        "communities",
        "grids",
        "compounds",
        "gates",
        "buildings",
        "service_points",
        "candidate_venues",
        "barriers",
        "walk_ways",
        "walk_nodes",
        "walk_edges",
    ]
    out = {}
    for table in tables:
        sql = text(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') "
            f"FROM {table} t"
        )
        if isinstance(conn, Session):
            row = conn.execute(sql).one()
        else:
            with conn.connect() as c:
                row = c.execute(sql).one()
        out[table] = (int(row[0]), str(row[1]))
    return out
