"""The analyses' errors: one hierarchy, each with a zh-CN ``msg``, a ``loc`` and a stable ``type``.

Every analysis raises these and only these for bad input; the API and the CLI translate them
in one place (``gis_api.analyses.common``), keeping ``type`` and ``loc``. They are
``ValueError`` subclasses, so plain Python callers may catch that.
"""

from __future__ import annotations

__all__ = [
    "AnalysisInputError",
    "CoverageMismatchError",
    "CrsError",
    "CrsMismatchError",
    "DuplicateIdError",
    "GeometryError",
    "InvalidValueError",
    "LeadZoneInputError",
    "LockConflictError",
    "MissingColumnError",
    "NeighbourGraphError",
    "OptionError",
    "SplitColumnError",
    "SplitCrsError",
    "SplitInputError",
    "UnknownGateError",
]


class AnalysisInputError(ValueError):
    """Bad input to an analysis; ``msg`` is zh-CN, ``loc`` says where, ``type`` is a code.

    The shape follows the store's errors (``loc`` like FastAPI's 422 ``detail``), so the API
    can map these to one 4xx body without the analyses importing the store.
    """

    type: str = "analysis_input"

    def __init__(self, msg: str, *, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(msg)
        self.msg = msg
        self.loc = loc


class CrsError(AnalysisInputError):
    """A layer without a CRS, in a geographic CRS, or in one whose unit is not the metre."""

    type = "crs_not_projected"


class CrsMismatchError(AnalysisInputError):
    """Two layers of one analysis in different CRSs."""

    type = "crs_mismatch"


class GeometryError(AnalysisInputError):
    """A missing, empty, invalid or wrongly typed geometry, or bad network arrays."""

    type = "invalid_geometry"


class DuplicateIdError(AnalysisInputError):
    """Two features with the same id."""

    type = "duplicate_id"


class MissingColumnError(AnalysisInputError):
    """A column the analysis needs is not there."""

    type = "missing_column"


class InvalidValueError(AnalysisInputError):
    """An attribute value the analysis cannot use (an unknown kind, a missing open state)."""

    type = "invalid_value"


class OptionError(AnalysisInputError):
    """A keyword option out of range (a limit, a speed, a grouping)."""

    type = "invalid_option"


class UnknownGateError(AnalysisInputError):
    """A gate to close that the network does not have."""

    type = "unknown_gate"


class CoverageMismatchError(AnalysisInputError):
    """A coverage used with buildings, points or another coverage it was not computed for."""

    type = "coverage_mismatch"


# --- the building-lead zones ------------------------------------------------------------------


class LeadZoneInputError(AnalysisInputError):
    """Bad figures for the lead-zone analysis (households, occupancy, party members)."""

    type = "invalid_lead_zone_input"


class NeighbourGraphError(AnalysisInputError):
    """A neighbour graph of the wrong shape or with negative or non-finite metres."""

    type = "invalid_neighbour_graph"


class LockConflictError(AnalysisInputError):
    """Locked zones that overlap, are empty or name buildings that do not exist."""

    type = "lock_conflict"


# --- the community split planner ----------------------------------------------------------------


class SplitInputError(AnalysisInputError):
    """A community (or unit graph) that cannot be split as asked: too few units, islands."""

    type = "invalid_split_input"


class SplitCrsError(SplitInputError, CrsError):
    """A split's layer without a projected CRS in metres: caught as either, typed as a CRS."""

    type = CrsError.type


class SplitColumnError(SplitInputError, MissingColumnError):
    """A column the split needs is not there: caught as either, typed as a missing column."""

    type = MissingColumnError.type
