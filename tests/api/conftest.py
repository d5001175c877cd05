"""API test set-up: the test community T1 with its walking network, and an engine on T1.

The app on T1 itself (``client``, ``live_url``) comes from ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gis_api.app import create_app
from gis_api.settings import Settings
from layers import db
from tests import factories, shapes
from tests.api.roles import World, make_world
from tests.databases import admin_headers


@pytest.fixture
def engine_(t1_db: str) -> Iterator[Engine]:
    """An engine on :func:`t1_db`, to read what the app wrote."""
    engine = db.make_engine(t1_db)
    yield engine
    engine.dispose()


@pytest.fixture
def net_db(t1_db: str) -> str:
    """:func:`t1_db` with the walking network of T1 built from its ways."""
    shapes.load(t1_db, {}, factories.network_lines())
    return t1_db


@pytest.fixture
def net_client(net_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=net_db)), headers=admin_headers()) as c:
        yield c


@pytest.fixture
def world(t1_db: str) -> Iterator[World]:
    """The app on T1 with one user of each role (:mod:`tests.api.roles`)."""
    yield from make_world(t1_db)
