"""Test set-up: a real PostgreSQL + PostGIS cluster that the test run starts and stops itself.

The cluster comes from the same ``layers.db.cluster_up`` that ``gridmap db up`` uses. Its
``gridmap`` database is migrated once with Alembic (so the migrations are tested) and then
serves as a template: tests that must commit (the CLI, the API end to end) get a fresh copy;
the rest run in a transaction rolled back at teardown.

The fixtures every directory shares are here: the cluster and its template, a fresh database
(``fresh_db``), one holding the hand-drawn test community T1 (``t1_db``), and the real app on
it, in-process (``client``) and over real HTTP (``live_url``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis_api.app import create_app
from gis_api.settings import Settings
from layers import db
from tests import factories, shapes
from tests.databases import TEMPLATE, admin_headers, fresh_database, make_admin
from tests.running import serve


@pytest.fixture(scope="session")
def cluster() -> Iterator[db.LocalCluster]:
    root = Path(tempfile.mkdtemp(prefix="gridmap-test-"))
    try:
        cluster = db.cluster_up(root, dbname=TEMPLATE, fast=True)
        db.migrate(cluster.url)
        make_admin(cluster.url)  # every copy of the template holds it
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


@pytest.fixture
def fresh_db(cluster: db.LocalCluster, engine: Engine) -> Iterator[str]:
    """The URL of a fresh migrated database (a copy of the template), dropped afterwards."""
    with fresh_database(cluster, engine) as url:
        yield url


@pytest.fixture
def t1_db(fresh_db: str) -> str:
    """A fresh database with every layer of the test community T1 committed (no network)."""
    shapes.load(fresh_db, factories.community_layers(), None)
    return fresh_db


@pytest.fixture
def settings(t1_db: str) -> Settings:
    return Settings(database_url=t1_db)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app (API and pages) on :func:`t1_db`, in-process, as the tests' admin."""
    with TestClient(create_app(settings), headers=admin_headers()) as c:
        yield c


@pytest.fixture
def live_url(t1_db: str) -> Iterator[str]:
    """The real app on :func:`t1_db` over real HTTP (for owslib, threads and Chromium)."""
    with serve(t1_db) as url:
        yield url
