"""Web map test set-up: the real app with the map page, served over HTTP, and a Chromium."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gis_api.app import create_app
from gis_api.routes import pages
from gis_api.settings import Settings
from layers import db
from layers.demo import load_place
from layers.importing import import_frame
from tests import factories
from tests.web_map.browser import Browser

VENDOR = Path(__file__).resolve().parents[2] / "web_map" / "static" / "vendor"


def app_with_pages(settings: Settings) -> FastAPI:
    """The app as deployed: ``create_app`` plus the pages router (until the app includes it)."""
    app = create_app(settings)
    if not any(getattr(route, "path", None) == "/map" for route in app.routes):
        app.include_router(pages.router)
    return app


@dataclass
class LiveApp:
    """The app on a loopback port."""

    url: str
    database_url: str


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _load(url: str, *, place: str | None) -> None:
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            if place is None:
                for layer, gdf in factories.community_layers().items():
                    import_frame(session, layer, gdf)
            else:
                load_place(session, place)
    finally:
        engine.dispose()


@pytest.fixture
def demo_app(fresh_db: str) -> Iterator[LiveApp]:
    """The demo community (generated Qiaohua) served by the real app."""
    _load(fresh_db, place="qiaohua")
    with _serve(app_with_pages(Settings(database_url=fresh_db))) as url:
        yield LiveApp(url, fresh_db)


@pytest.fixture
def small_db(fresh_db: str) -> str:
    """A fresh database holding the hand-drawn test community T1."""
    _load(fresh_db, place=None)
    return fresh_db


@pytest.fixture
def small_app(small_db: str) -> Iterator[LiveApp]:
    """The test community T1 served by the real app."""
    with _serve(app_with_pages(Settings(database_url=small_db))) as url:
        yield LiveApp(url, small_db)


@pytest.fixture
def page_client(small_db: str) -> Iterator[TestClient]:
    with TestClient(app_with_pages(Settings(database_url=small_db))) as client:
        yield client


@pytest.fixture
def vendor_assets() -> Path:
    """The installed browser assets; failing (not skipping) when set-up has not run."""
    if not (VENDOR / ".installed").exists():
        pytest.fail(
            "web_map/static/vendor/ is empty: run `bash scripts/install-web-assets.sh` "
            "(part of `make setup`)"
        )
    return VENDOR


@pytest.fixture
def browser(vendor_assets: Path) -> Iterator[Browser]:
    """A fresh headless Chromium (skipped only when GRIDMAP_SKIP_BROWSER=1 says so)."""
    if os.environ.get("GRIDMAP_SKIP_BROWSER") == "1":
        pytest.skip("GRIDMAP_SKIP_BROWSER=1: no Chromium on this machine by choice")
    b = Browser()
    try:
        yield b
    finally:
        b.close()
