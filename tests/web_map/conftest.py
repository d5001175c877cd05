"""Web map test set-up: the demo community served over HTTP, the assets and a Chromium.

The test community T1 served (``live_url``) or in-process (``client``) comes from
``tests/conftest.py``; the pages themselves are listed in ``tests/web_map/page_specs.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from layers import db
from layers.demo import load_place
from tests.running import serve
from tests.web_map.browser import Browser

VENDOR = Path(__file__).resolve().parents[2] / "web_map" / "static" / "vendor"


@pytest.fixture
def demo_url(fresh_db: str) -> Iterator[str]:
    """The demo community (generated Qiaohua) served by the real app over real HTTP."""
    engine = db.make_engine(fresh_db)
    try:
        with db.session_scope(engine) as session:
            load_place(session, "qiaohua")
    finally:
        engine.dispose()
    with serve(fresh_db) as url:
        yield url


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
