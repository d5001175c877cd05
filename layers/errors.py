"""Errors of the spatial store: each says what went wrong and where, in zh-CN for people.

Every error carries a stable English ``type`` code, a ``loc`` path (like FastAPI's 422 body:
``("file", "row", 17, "户数")``) and a zh-CN ``msg``. The API maps them to one 4xx body shape;
the CLI prints them.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

Loc = tuple[str | int, ...]


def plain_loc(loc: Sequence[object]) -> list[str | int]:
    """Return ``loc`` with every part a JSON-ready ``str`` or ``int``.

    Row numbers often come from numpy or pandas (``numpy.int64``), which no JSON encoder
    takes as they are; the error must still reach the user as a clean 4xx.
    """
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, bool):
            out.append(str(part))
        elif isinstance(part, int) or hasattr(part, "__index__"):
            out.append(operator.index(part))
        else:
            out.append(str(part))
    return out


class GridmapError(Exception):
    """Base of every error a user can cause; ``status`` is the HTTP status it maps to."""

    type: str = "gridmap_error"
    status: int = 400

    def __init__(self, msg: str, *, loc: Loc = ()) -> None:
        super().__init__(msg)
        self.msg = msg
        self.loc = loc

    def details(self) -> list[dict[str, object]]:
        """Return the error as FastAPI-style ``detail`` items."""
        return [{"loc": plain_loc(self.loc), "msg": self.msg, "type": self.type}]


class NotFound(GridmapError):
    """A named community, layer or feature does not exist."""

    type = "not_found"
    status = 404


class InvalidGeometry(GridmapError):
    """A geometry is empty, invalid, self-intersecting or of the wrong kind."""

    type = "invalid_geometry"
    status = 422


class UnknownCrs(GridmapError):
    """A coordinate system name that is neither a known alias nor ``EPSG:n``."""

    type = "unknown_crs"
    status = 422


class CrsMismatch(GridmapError):
    """Coordinates that do not fit the coordinate system they were declared in."""

    type = "crs_mismatch"
    status = 422


class BadFile(GridmapError):
    """A file that cannot be read: broken, empty, unknown format, missing columns."""

    type = "bad_file"
    status = 422


class ConstraintViolation(GridmapError):
    """The database refused a write that broke one of its checks."""

    type = "constraint_violation"
    status = 422


class Conflict(GridmapError):
    """The store changed under a request, or a name it would create is taken."""

    type = "conflict"
    status = 409


class MissingData(GridmapError):
    """A layer an operation needs is still empty: the message says what to import next."""

    type = "missing_data"
    status = 422


class RequestTooLarge(GridmapError):
    """A file or request over the configured limits."""

    type = "request_too_large"
    status = 413


class ImportRowError(GridmapError):
    """One or more rows of an import are bad; the whole file is rejected.

    ``problems`` holds every problem found (up to a limit), each a ``(loc, msg, type)``
    triple, so a user can fix the file in one pass rather than one error per attempt.
    """

    type = "import_row_error"
    status = 422

    def __init__(
        self, problems: Sequence[tuple[Loc, str, str]], *, total: int | None = None
    ) -> None:
        self.problems = list(problems)
        self.total = total if total is not None else len(self.problems)
        first_loc, first_msg, _ = self.problems[0]
        more = f"（共 {self.total} 处问题）" if self.total > 1 else ""
        super().__init__(f"{first_msg}{more}", loc=first_loc)

    def details(self) -> list[dict[str, object]]:
        """Return every problem as a FastAPI-style ``detail`` item."""
        return [
            {"loc": plain_loc(loc), "msg": str(msg), "type": str(typ)}
            for loc, msg, typ in self.problems
        ]
