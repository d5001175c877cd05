"""The red-house venue score (红房子选址): the soft criteria of a candidate room.

docs/domain.md, "红房子选址": besides the hard rules (the four-point legal checklist, one new
venue per compound), the choice weighs the compound's maturity, its party-member coverage and
its governance foundation, and the room itself: floor area, ground floor, ventilation. This
module turns those columns into a score in [0, 1] (:func:`venue_scores`, weighted by
:class:`ScoreWeights`); :mod:`gis_api.analysis.venues` uses it as the tie-break weight of the
maximal covering core (:mod:`gis_api.analysis.mclp`). It also holds the readers of the
candidates' coded columns, which the venue adapter shares.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis_api.analysis import checks
from gis_api.analysis.errors import InvalidValueError, OptionError
from gis_api.analysis.mclp import real_option
from layers import domain

__all__ = [
    "CRITERIA",
    "ScoreWeights",
    "bool_column",
    "choice_column",
    "column",
    "numeric_column",
    "text_values",
    "venue_scores",
]

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

#: The soft criteria of the score, in the order of :class:`ScoreWeights`.
CRITERIA: tuple[str, ...] = (
    "maturity",
    "party_members",
    "governance",
    "floor_area",
    "ground_floor",
    "ventilation",
)


# --- the weights ------------------------------------------------------------------------------


def _points(name: str, value: Mapping[str, float], keys: Iterable[str]) -> Mapping[str, float]:
    out = dict(value)
    unknown = sorted(set(out) - set(keys))
    if unknown:
        msg = f"参数 {name} 含未知取值 {unknown}，应为 {sorted(keys)} 之一"
        raise OptionError(msg, loc=(name,))
    for key, v in out.items():
        x = real_option(f"{name}[{key}]", v, positive=False)
        if x > 1:
            msg = f"参数 {name}[{key}] 应在 0 到 1 之间，实际为 {v!r}"
            raise OptionError(msg, loc=(name, key))
        out[key] = x
    return MappingProxyType(out)


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the soft criteria: maturity, party members, governance, the room.

    The criteria are docs/domain.md's, "红房子选址".

    Each criterion is a part in [0, 1]; the score is the weighted mean
    ``sum_c weight_c * part_c / sum_c weight_c`` (0 when all weights are 0), so it lies in
    [0, 1] and ``weight_score`` of :func:`gis_api.analysis.venues.venue_selection` has one
    meaning whatever the weights. A part is 0 when its input is missing.

    ============== ================================================================
    criterion      part
    ============== ================================================================
    maturity       ``maturity_points[compound_maturity]`` (new / mature / old)
    party_members  ``min(compound_party_members / party_members_full, 1)``
    governance     (has party branch + has owners' committee) / 2
    floor_area     ``min(floor_area_m2 / floor_area_full_m2, 1)``
    ground_floor   1 on the ground floor, else 0
    ventilation    ``ventilation_points[ventilation]`` (good / fair / poor)
    ============== ================================================================

    Attributes
    ----------
    maturity, party_members, governance, floor_area, ground_floor, ventilation
        Weights, finite and >= 0.
    maturity_points
        Part for each compound maturity. Default: a mature compound 1, a new or old one 0.5
        (an established community is the better foundation; planners may prefer old estates).
    party_members_full
        Party members of the compound at which that part is full (Qiaohua: 226 members in 30
        compounds, about 8 each).
    floor_area_full_m2
        Floor area at which the room's part is full (red houses run 40-120 m²).
    ventilation_points
        Part for each ventilation grade (a badly ventilated room was rejected at Qiaohua).
    """

    maturity: float = 1.0
    party_members: float = 1.0
    governance: float = 1.0
    floor_area: float = 1.0
    ground_floor: float = 1.0
    ventilation: float = 1.0
    maturity_points: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"new": 0.5, "mature": 1.0, "old": 0.5})
    )
    party_members_full: float = 20.0
    floor_area_full_m2: float = 120.0
    ventilation_points: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"good": 1.0, "fair": 0.5, "poor": 0.0})
    )

    def __post_init__(self) -> None:
        for name in CRITERIA:
            real_option(f"weights.{name}", getattr(self, name), positive=False)
        real_option("weights.party_members_full", self.party_members_full, positive=True)
        real_option("weights.floor_area_full_m2", self.floor_area_full_m2, positive=True)
        maturity = _points("weights.maturity_points", self.maturity_points, _MATURITY)
        ventilation = _points("weights.ventilation_points", self.ventilation_points, _VENT)
        object.__setattr__(self, "maturity_points", maturity)
        object.__setattr__(self, "ventilation_points", ventilation)

    def of(self, name: str) -> float:
        """Return the weight of criterion ``name``."""
        return float(getattr(self, name))


_MATURITY = tuple(domain.MATURITY)
_VENT = ("good", "fair", "poor")


# --- reading the candidates' columns ----------------------------------------------------------


def column(frame: pd.DataFrame, col: str) -> pd.Series | None:
    """Return column ``col`` of ``frame``, or None when it has none."""
    return frame[col] if col in frame.columns else None


def bool_column(frame: pd.DataFrame, name: str, col: str, ids: NDArray[np.object_]) -> Bools:
    """Read a yes/no column: bools, 0/1 or missing (False); anything else is an error."""
    values = frame[col].to_numpy(dtype=object)
    out = np.zeros(len(values), dtype=np.bool_)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, bool | np.bool_) or (isinstance(v, int | np.integer) and v in (0, 1)):
            out[i] = bool(v)
            continue
        msg = f"参数 {name} 中 {ids[i]} 的 {col} 为 {v!r}，应为 True/False"
        raise InvalidValueError(msg, loc=(name, str(ids[i]), col))
    return out


def numeric_column(frame: pd.DataFrame, name: str, col: str) -> Floats:
    """Read a numeric column; missing values are NaN, negative ones an error."""
    try:
        out = pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        msg = f"参数 {name} 的 {col} 列应为数值"
        raise InvalidValueError(msg, loc=(name, col)) from exc
    bad = np.isfinite(out) & (out < 0) | np.isinf(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = f"参数 {name} 第 {i + 1} 行的 {col} 为 {out[i]}，应为有限的非负数"
        raise InvalidValueError(msg, loc=(name, "row", i + 1, col))
    return out


def choice_column(
    frame: pd.DataFrame, name: str, col: str, choices: Iterable[str], ids: NDArray[np.object_]
) -> NDArray[np.object_]:
    """Read a coded column: each value one of ``choices`` or missing (None)."""
    allowed = set(choices)
    values = frame[col].to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out[i] = None
        elif str(v) in allowed:
            out[i] = str(v)
        else:
            msg = f"参数 {name} 中 {ids[i]} 的 {col} 为 {v!r}，应为 {sorted(allowed)} 之一"
            raise InvalidValueError(msg, loc=(name, str(ids[i]), col))
    return out


def text_values(values: pd.Series | None, n: int) -> NDArray[np.object_]:
    """Return ``n`` strings, None where missing (everywhere when ``values`` is None)."""
    out = np.full(n, None, dtype=object)
    if values is None:
        return out
    raw = values.to_numpy(dtype=object)
    keep = ~pd.isna(raw)
    out[keep] = [str(v) for v in raw[keep]]
    return out


# --- the score --------------------------------------------------------------------------------


def _is_weights(value: object) -> bool:
    return isinstance(value, ScoreWeights)


def venue_scores(candidates: pd.DataFrame, weights: ScoreWeights | None = None) -> pd.DataFrame:
    """Score candidate venues on the soft criteria of :class:`ScoreWeights`.

    Parameters
    ----------
    candidates
        ``candidate_id`` (column or index) and any of ``floor_area_m2``, ``ground_floor``,
        ``ventilation``, ``compound_maturity``, ``compound_party_members``,
        ``compound_has_party_branch``, ``compound_has_owners_committee``.
    weights
        Criterion weights (default :class:`ScoreWeights`).

    Returns
    -------
    pandas.DataFrame
        One row per candidate, in input order: ``candidate_id``, ``score`` in [0, 1] and
        ``score_<criterion>`` for each of :data:`CRITERIA`, its weighted share of the score
        (the parts add up to ``score``).

    Raises
    ------
    MissingColumnError, DuplicateIdError, InvalidValueError
        No ``candidate_id``, repeated ids, or an unusable value.
    """
    weights = ScoreWeights() if weights is None else weights
    if not _is_weights(weights):
        msg = f"参数 weights 应为 ScoreWeights，实际为 {type(weights).__name__}"
        raise OptionError(msg, loc=("weights",))
    name = "candidates"
    ids = checks.ids(candidates, name, "candidate_id")
    n = len(ids)
    raw: dict[str, Floats] = {c: np.zeros(n) for c in CRITERIA}
    if "compound_maturity" in candidates.columns:
        mat = choice_column(candidates, name, "compound_maturity", _MATURITY, ids)
        raw["maturity"] = np.array([weights.maturity_points.get(v, 0.0) if v else 0.0 for v in mat])
    if "compound_party_members" in candidates.columns:
        members = numeric_column(candidates, name, "compound_party_members")
        raw["party_members"] = np.minimum(np.nan_to_num(members) / weights.party_members_full, 1)
    gov = np.zeros(n)
    for col in ("compound_has_party_branch", "compound_has_owners_committee"):
        if col in candidates.columns:
            gov += 0.5 * bool_column(candidates, name, col, ids)
    raw["governance"] = gov
    if "floor_area_m2" in candidates.columns:
        area = numeric_column(candidates, name, "floor_area_m2")
        raw["floor_area"] = np.minimum(np.nan_to_num(area) / weights.floor_area_full_m2, 1.0)
    if "ground_floor" in candidates.columns:
        raw["ground_floor"] = bool_column(candidates, name, "ground_floor", ids).astype(float)
    if "ventilation" in candidates.columns:
        vent = choice_column(candidates, name, "ventilation", _VENT, ids)
        raw["ventilation"] = np.array(
            [weights.ventilation_points.get(v, 0.0) if v else 0.0 for v in vent]
        )
    total_w = sum(weights.of(c) for c in CRITERIA)
    out = pd.DataFrame({"candidate_id": ids})
    score = np.zeros(n)
    parts = {}
    for c in CRITERIA:
        part = raw[c] * weights.of(c) / total_w if total_w > 0 else np.zeros(n)
        parts[f"score_{c}"] = part
        score += part
    out["score"] = score
    for key, part in parts.items():
        out[key] = part
    return out
