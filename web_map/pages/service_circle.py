"""The 15-minute service circle (15分钟党群服务圈) with its what-if scenarios.

The page asks ``/api/analysis/service-circle`` for the community's coverage at the limit
chosen, and ``/api/analysis/service-circle/scenario`` for a what-if (gates closed or opened,
service points added or removed). Nothing it does is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final

from web_map import labels
from web_map.elements import CircleLayer, CirclePanel, LayerSwitcher, Legend, Loading
from web_map.pages.base import (
    CUSTOM_LIMIT_RANGE_M,
    GB50180_LIFE_CIRCLES,
    LEGEND_WIDTH_PX,
    SERVICE_STYLE,
    MapData,
    common_config,
    community_and_compounds,
    community_layer,
    legend_labels,
    life_circle_buttons,
    map_page,
    metres_text,
    network_hint,
    notices,
    service_kinds,
    top_bar,
    validate,
    validate_minutes,
)


@dataclass(frozen=True)
class ServiceCircleMapData(MapData):
    """Everything the 15-minute service circle page needs, as plain values.

    The fields of :class:`~web_map.pages.base.MapData`, and:

    Attributes
    ----------
    life_circles
        ``(minutes, metres)`` of the life circles the limit control offers (GB 50180-2018);
        they also split the buildings' walking-distance classes.
    minutes
        The life circle shown first (one of ``life_circles``).
    speed_m_per_min
        The walking speed the analysis turns metres into minutes with (for the legend).
    """

    page_url: str = "/map/service-circle"
    life_circles: tuple[tuple[int, float], ...] = GB50180_LIFE_CIRCLES
    minutes: int = 15
    speed_m_per_min: float = 1000 / 15


#: Buildings by walking metres to the nearest open service point, one class per life circle
#: and one beyond: blues within reach (darker is nearer), orange beyond the largest circle.
#: Greens and reds are kept for the scenario's gains and losses.
WALK_COLORS: Final = ("#0b4f9c", "#3a89c9", "#9fcae6", "#f59e42")
UNREACHABLE_COLOR = "#5f5f66"
#: Kinds a proposed service point may be, red houses first (the usual proposal).
ADD_KINDS: Final = ("red_house", "activity_room", "sub_centre", "centre", "other")


def walk_scheme(life_circles: Sequence[tuple[int, float]]) -> dict[str, Any]:
    """Return the buildings' walking-distance classes: one per life circle and one beyond.

    A building is in the first class whose upper bound its walking metres do not exceed, as
    "covered" is ``walk_m <= limit_m``; buildings no open point reaches are ``nodata``.

    >>> [c["label"] for c in walk_scheme(GB50180_LIFE_CIRCLES)["classes"]][1:3]
    ['5–10 分钟（300–500 米）', '10–15 分钟（500–1000 米）']
    """
    circles = sorted(life_circles, key=lambda c: c[1])
    if len(circles) + 1 > len(WALK_COLORS):
        msg = f"at most {len(WALK_COLORS) - 1} life circles, got {len(circles)}"
        raise ValueError(msg)
    (m0, d0), (m_last, d_last) = circles[0], circles[-1]
    texts = [labels.WALK_CLASS_FIRST.format(minutes=m0, metres=metres_text(d0))]
    texts += [
        labels.WALK_CLASS.format(lo_min=a, hi_min=b, lo=metres_text(lo), hi=metres_text(hi))
        for (a, lo), (b, hi) in pairwise(circles)
    ]
    texts.append(labels.WALK_CLASS_LAST.format(minutes=m_last, metres=metres_text(d_last)))
    colors = WALK_COLORS[len(WALK_COLORS) - len(texts) :]
    return {
        "property": "walk_m",
        "breaks": [d for _, d in circles],
        "colors": list(colors),
        "nodata": UNREACHABLE_COLOR,
        "title": labels.WALK_TITLE,
        "classes": [{"color": c, "label": t} for c, t in zip(colors, texts, strict=True)],
    }


def _circle_labels() -> dict[str, str]:
    return {**labels.UI, **labels.CIRCLE_UI, "no_data": labels.UNREACHABLE}


def service_circle_config(data: ServiceCircleMapData) -> dict[str, Any]:
    """Return the configuration the service circle page's scripts start from."""
    return {
        **common_config(data),
        "legendWidth": LEGEND_WIDTH_PX,
        "labels": _circle_labels(),
        "layerNames": {**labels.LAYER_NAMES, **labels.CIRCLE_LAYER_NAMES},
        "shading": {"initial": "walk", "schemes": {"walk": walk_scheme(data.life_circles)}},
        "circle": {
            "lifeCircles": life_circle_buttons(data.life_circles),
            "minutes": data.minutes,
            "customRange": list(CUSTOM_LIMIT_RANGE_M),
            "maxNewPoints": 50,
        },
    }


def _validate(data: ServiceCircleMapData) -> None:
    validate(data)
    validate_minutes(data.minutes, data.life_circles)
    walk_scheme(data.life_circles)


def _legend(data: ServiceCircleMapData, static: str) -> Legend:
    kinds = service_kinds()
    t = labels.CIRCLE_LEGEND
    red = SERVICE_STYLE["red_house"]
    return Legend(
        title=labels.UI["legend_title"],
        schemes={"walk": walk_scheme(data.life_circles)},
        initial="walk",
        boundaries=community_and_compounds(),
        service_kinds={},
        gates=[
            {"kind": "open", "icon": "fa-door-open", "label": labels.UI["gate_open"]},
            {"kind": "closed", "icon": "fa-door-closed", "label": labels.UI["gate_closed"]},
        ],
        labels=legend_labels(labels.UNREACHABLE),
        extra=[
            {
                "title": t["areas"],
                "items": [
                    {
                        "label": k["label"],
                        "swatch": "gm-poi-pin gm-poi-pin-sm gm-sc-kind-swatch",
                        "style": f"background:{k['color']};--gm-kind:{k['color']}",
                        "icon": k["icon"],
                    }
                    for k in kinds.values()
                ],
            },
            {
                "title": t["coverage"],
                "items": [
                    {"label": t["uncovered"], "swatch": "gm-sc-swatch gm-sc-swatch-uncovered"},
                    {"label": t["gained"], "swatch": "gm-sc-swatch gm-sc-swatch-gained"},
                    {"label": t["lost"], "swatch": "gm-sc-swatch gm-sc-swatch-lost"},
                    {
                        "label": t["proposed"],
                        "swatch": "gm-poi-pin gm-poi-pin-sm gm-sc-pin-proposed",
                        "style": f"background:{red[0]}",
                        "icon": red[1],
                    },
                    {
                        "label": t["removed"],
                        "swatch": "gm-poi-pin gm-poi-pin-sm gm-sc-pin-removed",
                        "icon": "fa-xmark",
                    },
                    {
                        "label": t["changed_gate"],
                        "swatch": "gm-gate gm-gate-closed gm-sc-gate-changed",
                        "icon": "fa-door-closed",
                    },
                ],
                "note": t["note"].format(speed=f"{data.speed_m_per_min:.0f}"),
            },
        ],
        css_class="gm-sc-legend",
        static_url=static,
    )


def service_circle_map(data: ServiceCircleMapData) -> str:
    """Return the 15-minute service circle page for ``data`` as a complete HTML document.

    The page asks ``/api/analysis/service-circle`` for the community's coverage at the limit
    chosen, and ``/api/analysis/service-circle/scenario`` for a what-if (gates closed or
    opened, service points added or removed). Nothing it does is saved.
    """
    _validate(data)
    static = data.static_url.rstrip("/")
    config = service_circle_config(data)
    page, fmap = map_page(data, title=labels.CIRCLE_TITLE, config=config)

    fmap.add_child(community_layer(data, "communities"))
    fmap.add_child(community_layer(data, "compounds"))
    for part in ("areas", "buildings", "service_points", "gates"):
        fmap.add_child(CircleLayer(part, labels.CIRCLE_LAYER_NAMES[part], static_url=static))

    fmap.add_child(top_bar(data, title=labels.CIRCLE_TITLE))
    fmap.add_child(LayerSwitcher(position="topright", collapsed=True))
    kinds = service_kinds()
    fmap.add_child(
        CirclePanel(
            community_name=data.community_name,
            labels=_circle_labels(),
            life_circles=life_circle_buttons(data.life_circles),
            service_kinds=kinds,
            add_kinds=[(k, kinds[k]["label"]) for k in ADD_KINDS],
            custom_range_m=CUSTOM_LIMIT_RANGE_M,
            notices=notices(data, ("buildings", "service_points")),
            network_hint=network_hint(data),
            static_url=static,
        )
    )
    fmap.add_child(_legend(data, static))
    fmap.add_child(Loading(text=labels.UI["loading"], static_url=static))
    html: str = page.render()
    return html
