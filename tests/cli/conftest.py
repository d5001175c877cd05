"""CLI test set-up: the command line pointed at a fresh database, its log file in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gis_api.settings import get_settings


@pytest.fixture
def env(fresh_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """``DATABASE_URL`` set to :func:`fresh_db` (returned) and the log in ``tmp_path``."""
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    monkeypatch.setenv("GRIDMAP_LOG_FILE", str(tmp_path / "gridmap.log"))
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()
