"""What an import reports, and the progress callback long jobs call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: Called as ``progress(stage, done, total)`` while an import or analysis runs.
Progress = Callable[[str, int, int], None]


@dataclass
class ImportReport:
    """What an import did: counts per outcome, the columns it ignored and the time taken."""

    layer: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    removed: int = 0
    nodes: int = 0
    edges: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    crs: str = ""
    seconds: float = 0.0
