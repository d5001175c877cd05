"""API test set-up: the real app on a fresh database holding the hand-drawn test community."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

import geopandas as gpd

from gis_api.app import create_app
from gis_api.settings import Settings
from layers import db
from layers.importing import import_frame
from layers.walkways import import_ways
from tests import factories


@pytest.fixture
def api_db(fresh_db: str) -> str:
    """A fresh database with every layer of the test community committed."""
    engine = db.make_engine(fresh_db)
    try:
        with db.session_scope(engine) as session:
            for layer, gdf in factories.community_layers().items():
                import_frame(session, layer, gdf)
    finally:
        engine.dispose()
    return fresh_db


@pytest.fixture
def settings(api_db: str) -> Settings:
    return Settings(database_url=api_db)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    """The app served over real HTTP on a free loopback port (for HTTP clients like owslib)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def net_db(api_db: str) -> str:
    engine = db.make_engine(api_db)
    try:
        with db.session_scope(engine) as session:
            ways = gpd.GeoDataFrame(factories.network_lines(), crs="EPSG:4326")
            import_ways(session, ways, community="T1")
    finally:
        engine.dispose()
    return api_db


@pytest.fixture
def net_client(net_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=net_db))) as c:
        yield c
