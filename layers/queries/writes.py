"""COPY writes: rows into a table through the session's own connection, in its transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

#: ``progress(stage, done, total)``
Progress = Callable[[str, int, int], None]

COPY_CHUNK = 5000


def copy_rows(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: pd.DataFrame | Iterable[Sequence[Any]],
    *,
    progress: Progress | None = None,
) -> int:
    """COPY ``rows`` into ``table`` through the session's own connection; return the count.

    COPY is an order of magnitude faster than INSERT for the 50,000-building cities the
    benchmarks load, and it runs inside the caller's transaction like any other statement.
    """
    if isinstance(rows, pd.DataFrame):
        frame = rows[list(columns)].astype(object).where(rows[list(columns)].notna(), None)
        data: list[Sequence[Any]] = list(frame.itertuples(index=False, name=None))
    else:
        data = list(rows)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    cols = ", ".join(columns)
    total = len(data)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for start in range(0, total, COPY_CHUNK):
            for row in data[start : start + COPY_CHUNK]:
                copy.write_row(row)
            if progress:
                progress("write", min(start + COPY_CHUNK, total), total)
    return total
