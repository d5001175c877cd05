"""The planner's red-house venue selection (红房子选址).

The picks of ``/api/analysis/venues``, their new service areas and the buildings they newly
cover; candidates come from ``/api/layers/candidate_venues``, exports from
``/api/analysis/venues/export``. Nothing is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final, Literal

from layers import domain
from web_map import labels
from web_map.elements import LayerSwitcher, Legend, Loading, ShadingSwitch, VenueLayer, VenuePanel
from web_map.pages.base import (
    CUSTOM_LIMIT_RANGE_M,
    GB50180_LIFE_CIRCLES,
    LEGEND_WIDTH_PX,
    NO_DATA_COLOR,
    SERVICE_STYLE,
    VENUE_COLOR,
    MapData,
    Shading,
    common_config,
    community_and_compounds,
    community_layer,
    legend_labels,
    life_circle_buttons,
    map_page,
    network_hint,
    notices,
    top_bar,
    validate,
    validate_minutes,
)

#: The number of new red houses the venue page offers: up to as many as Qiaohua built among
#: its 30 compounds (docs/domain.md, "红房子选址").
VENUE_K_RANGE: Final = (1, domain.QIAOHUA_RED_HOUSES)
#: The venue page's "at most this many new red houses per compound".
VENUE_PER_COMPOUND_RANGE: Final = (1, 10)
#: The score-vs-coverage slider: residents (or households) per point of score, min, max, step.
VENUE_WEIGHT_RANGE: Final = (0, 1000, 50)


@dataclass(frozen=True)
class VenuesMapData(MapData):
    """Everything the red-house venue page (红房子选址) needs, as plain values.

    The fields of :class:`~web_map.pages.base.MapData`, and:

    Attributes
    ----------
    life_circles, speed_m_per_min
        As for :class:`~web_map.pages.service_circle.ServiceCircleMapData`.
    minutes
        The walking limit the form starts at (one of ``life_circles``); 10 minutes (500 m) is
        the neighbourhood scale of a red house.
    k
        How many new red houses the form starts at (within :data:`VENUE_K_RANGE`).
    demand
        What coverage counts first: ``residents`` or ``households``.
    weight_score, include_incomplete_legal, max_per_compound
        The other parameters of ``/api/analysis/venues`` the form starts at.
    """

    page_url: str = "/map/venues"
    life_circles: tuple[tuple[int, float], ...] = GB50180_LIFE_CIRCLES
    speed_m_per_min: float = 1000 / 15
    minutes: int = 10
    k: int = 3
    demand: Literal["residents", "households"] = "residents"
    weight_score: float = 0.0
    include_incomplete_legal: bool = False
    max_per_compound: int = 1


#: Candidate rooms by status: picked in party red (a red house), the others in the venue
#: colour, excluded ones grey, allowed-but-incomplete ones amber (a warning to the planner).
VENUE_STATUS_COLORS: Final = {
    "picked": SERVICE_STYLE["red_house"][0],
    "eligible": VENUE_COLOR,
    "incomplete": "#e08a00",
    "excluded": "#9aa3ad",
}
#: Candidate rooms by score (0-1, the weighted mean of the criteria): light to dark purple.
VENUE_SCORE = Shading(
    "score",
    (0.5, 0.6, 0.7, 0.8),
    ("#eadcf2", "#cfaee0", "#ac7cc9", "#8547ad", "#571d80"),
)
#: Building coverage before and after the picks.
VENUE_COVERAGE_COLORS: Final = {"covered": "#9fb8cf", "gained": "#1e8e3e", "uncovered": "#c62828"}
#: Width of the venue page's panel (wider than the others: it carries the whole plan).
VENUE_PANEL_WIDTH_PX = 380
#: Export formats of ``/api/analysis/venues/export``: format, button label key, icon.
VENUE_EXPORTS: Final = (
    ("csv", "venue_export_csv", "fa-file-csv"),
    ("xlsx", "venue_export_xlsx", "fa-file-excel"),
    ("geojson", "venue_export_geojson", "fa-map"),
)


def _venue_labels() -> dict[str, str]:
    return {**labels.UI, **labels.CIRCLE_UI, **labels.VENUE_UI, "no_data": labels.NO_DATA}


def _venue_schemes() -> dict[str, dict[str, Any]]:
    """Return the candidates' colourings, as the legend and the shading switch know them."""
    status = ("picked", "eligible", "incomplete", "excluded")
    score = VENUE_SCORE
    b = list(score.breaks)
    texts = [labels.CLASS_BELOW.format(hi=f"{b[0]:.1f}", unit="")]
    texts += [
        labels.VENUE_SCORE_CLASS.format(lo=f"{lo:.1f}", hi=f"{hi:.1f}") for lo, hi in pairwise(b)
    ]
    texts.append(labels.CLASS_ABOVE.format(lo=f"{b[-1]:.1f}", unit=""))
    return {
        "status": {
            "property": "status",
            "colors": dict(VENUE_STATUS_COLORS),
            "nodata": NO_DATA_COLOR,
            "title": labels.VENUE_SHADING["status"]["title"],
            "classes": [
                {"color": VENUE_STATUS_COLORS[k], "label": labels.VENUE_STATUS[k]} for k in status
            ],
        },
        "score": {
            "property": "score",
            "breaks": b,
            "colors": list(score.colors),
            "nodata": NO_DATA_COLOR,
            "title": labels.VENUE_SHADING["score"]["title"],
            "classes": [{"color": c, "label": t} for c, t in zip(score.colors, texts, strict=True)],
        },
    }


def venues_config(data: VenuesMapData) -> dict[str, Any]:
    """Return the configuration the venue page's scripts start from."""
    return {
        **common_config(data),
        "panelWidth": VENUE_PANEL_WIDTH_PX,
        "legendWidth": LEGEND_WIDTH_PX,
        "labels": _venue_labels(),
        "layerNames": {**labels.LAYER_NAMES, **labels.VENUE_LAYER_NAMES},
        "shading": {"initial": "status", "schemes": _venue_schemes()},
        "venues": {
            "lifeCircles": life_circle_buttons(data.life_circles),
            "minutes": data.minutes,
            "speedMPerMin": data.speed_m_per_min,
            "customRange": list(CUSTOM_LIMIT_RANGE_M),
            "k": data.k,
            "kRange": list(VENUE_K_RANGE),
            "demand": data.demand,
            "demands": {k: dict(v) for k, v in labels.VENUE_DEMANDS.items()},
            "weightScore": data.weight_score,
            "weightRange": list(VENUE_WEIGHT_RANGE),
            "includeIncompleteLegal": data.include_incomplete_legal,
            "maxPerCompound": data.max_per_compound,
            "perCompoundRange": list(VENUE_PER_COMPOUND_RANGE),
            "criteria": dict(labels.VENUE_CRITERIA),
            "coverageColors": dict(VENUE_COVERAGE_COLORS),
        },
    }


def _validate(data: VenuesMapData) -> None:
    validate(data)
    validate_minutes(data.minutes, data.life_circles)
    lo, hi = VENUE_K_RANGE
    if not lo <= data.k <= hi:
        msg = f"k must be within {VENUE_K_RANGE}, got {data.k!r}"
        raise ValueError(msg)
    if data.demand not in labels.VENUE_DEMANDS:
        msg = f"demand must be one of {tuple(labels.VENUE_DEMANDS)}, got {data.demand!r}"
        raise ValueError(msg)
    lo, hi = VENUE_PER_COMPOUND_RANGE
    if not lo <= data.max_per_compound <= hi:
        got = data.max_per_compound
        msg = f"max_per_compound must be within {VENUE_PER_COMPOUND_RANGE}, got {got!r}"
        raise ValueError(msg)
    if not VENUE_WEIGHT_RANGE[0] <= data.weight_score <= VENUE_WEIGHT_RANGE[1]:
        msg = f"weight_score must be within {VENUE_WEIGHT_RANGE[:2]}, got {data.weight_score!r}"
        raise ValueError(msg)


def _legend(static: str) -> Legend:
    t = labels.VENUE_LEGEND
    red = SERVICE_STYLE["red_house"]
    colors = VENUE_COVERAGE_COLORS
    return Legend(
        title=labels.UI["legend_title"],
        schemes=_venue_schemes(),
        initial="status",
        boundaries=community_and_compounds(),
        service_kinds={},
        gates=[],
        labels=legend_labels(labels.NO_DATA),
        extra=[
            {
                "title": t["coverage"],
                "items": [
                    {
                        "label": t["covered"],
                        "swatch": "gm-sc-swatch",
                        "style": f"background:{colors['covered']}",
                    },
                    {"label": t["gained"], "swatch": "gm-sc-swatch gm-vn-swatch-gained"},
                    {"label": t["uncovered"], "swatch": "gm-sc-swatch gm-sc-swatch-uncovered"},
                ],
            },
            {
                "title": t["symbols"],
                "items": [
                    {
                        "label": t["pick"],
                        "swatch": "gm-vn-pick-swatch",
                        "style": f"background:{red[0]}",
                    },
                    {"label": t["pick_area"], "swatch": "gm-sc-swatch gm-vn-swatch-area"},
                    {
                        "label": t["existing"],
                        "swatch": "gm-poi-pin gm-poi-pin-sm gm-vn-faded-swatch",
                        "style": f"background:{SERVICE_STYLE['centre'][0]}",
                        "icon": SERVICE_STYLE["centre"][1],
                    },
                ],
                "note": t["note"],
            },
        ],
        css_class="gm-sc-legend gm-vn-legend",
        static_url=static,
    )


def venues_map(data: VenuesMapData) -> str:
    """Return the red-house venue selection page for ``data`` as a complete HTML document.

    The page asks ``/api/analysis/venues`` for the picks, then
    ``/api/analysis/service-circle/scenario`` with the picks added for their service areas and
    the buildings they newly cover; candidates come from ``/api/layers/candidate_venues``.
    Exports link to ``/api/analysis/venues/export`` with the parameters of the result shown.
    Nothing is saved.
    """
    _validate(data)
    static = data.static_url.rstrip("/")
    page, fmap = map_page(data, title=labels.VENUES_TITLE, config=venues_config(data))

    fmap.add_child(community_layer(data, "communities"))
    fmap.add_child(community_layer(data, "compounds"))
    for part in ("existing", "buildings", "areas", "candidates", "picks"):
        fmap.add_child(VenueLayer(part, labels.VENUE_LAYER_NAMES[part], static_url=static))

    fmap.add_child(top_bar(data, title=labels.VENUES_TITLE))
    # Top left (there is no search box here): the tall panel gets the whole right edge.
    fmap.add_child(LayerSwitcher(position="topleft", collapsed=True))
    ui = _venue_labels()
    fmap.add_child(
        VenuePanel(
            community_name=data.community_name,
            labels=ui,
            life_circles=life_circle_buttons(data.life_circles),
            demands={k: v["button"] for k, v in labels.VENUE_DEMANDS.items()},
            k_range=VENUE_K_RANGE,
            per_compound_range=VENUE_PER_COMPOUND_RANGE,
            weight_range=VENUE_WEIGHT_RANGE,
            custom_range_m=CUSTOM_LIMIT_RANGE_M,
            exports=[(fmt, ui[key], icon) for fmt, key, icon in VENUE_EXPORTS],
            notices=notices(data, ("buildings", "candidate_venues")),
            network_hint=network_hint(data),
            static_url=static,
        )
    )
    fmap.add_child(_legend(static))
    fmap.add_child(
        ShadingSwitch(
            label=labels.VENUE_UI["venue_candidate"],
            buttons={k: v["button"] for k, v in labels.VENUE_SHADING.items()},
            initial="status",
            static_url=static,
        )
    )
    fmap.add_child(Loading(text=labels.UI["loading"], static_url=static))
    html: str = page.render()
    return html
