"""The field's facts, each written once: kinds and their zh-CN names, standards, rule thresholds.

Every package may import this module (the store, the analyses, the API and the pages; an
import-linter contract keeps it free of the database, HTTP and maps), so a kind or a number
the field works by lives here and nowhere else. Where each comes from is in
``docs/domain.md``; the section is named beside each fact.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final


def _frozen(pairs: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(pairs)


# --- kinds, code -> zh-CN name, in display order (docs/domain.md, "图层") ----------------------

#: Service points residents go to; the "1 + N" set of a community.
SERVICE_POINT_KINDS: Final = _frozen(
    {
        "centre": "党群服务中心",
        "sub_centre": "党群服务分中心",
        "activity_room": "活动室",
        "red_house": "红房子",
        "other": "其他公共服务",
    }
)
#: Rooms that could become a red house (Qiaohua practice).
VENUE_KINDS: Final = _frozen(
    {
        "community_room": "社区用房",
        "property_room": "物业用房",
        "owners_centre": "业主活动中心",
        "stilted_floor": "架空层",
    }
)
#: The legal-use checklist every red house passes: column -> the step's zh-CN name.
LEGAL_CHECKS: Final = _frozen(
    {
        "lawyer_consulted": "律师咨询",
        "housing_filed": "住建备案",
        "publicly_noticed": "公示",
        "property_recorded": "物业登记",
    }
)
MATURITY: Final = _frozen({"new": "新建小区", "mature": "成熟小区", "old": "老旧小区"})
VENTILATION: Final = _frozen({"good": "良好", "fair": "一般", "poor": "较差"})
GATE_KINDS: Final = _frozen({"pedestrian": "人行门", "vehicle": "车行门", "mixed": "人车混行门"})
BARRIER_KINDS: Final = _frozen({"wall": "围墙", "fence": "围栏"})

# --- walking (docs/domain.md, "15 分钟党群服务圈") -------------------------------------------

#: GB 50180-2018 life circles: walking minutes -> walking metres (15 min: 800–1,000 m; the
#: upper bound is used, the standard's own planning figure).
LIFE_CIRCLES_M: Final[Mapping[int, float]] = MappingProxyType({5: 300.0, 10: 500.0, 15: 1000.0})
#: The service circle residents are promised: 15 minutes on foot.
SERVICE_CIRCLE_MINUTES: Final = 15
#: The 15-minute circle in metres.
SERVICE_CIRCLE_M: Final = LIFE_CIRCLES_M[SERVICE_CIRCLE_MINUTES]
#: The walking speed the standard implies: 1,000 m in 15 minutes.
WALK_SPEED_M_PER_MIN: Final = SERVICE_CIRCLE_M / SERVICE_CIRCLE_MINUTES
#: Walking metres over straight metres, used (and said) only where there is no network.
DETOUR_FACTOR: Final = 1.3

# --- building leads (docs/domain.md, "楼长：佛山规则"; docs/lead_zones.md) ---------------------

#: A building with this many households and high occupancy has its own lead; a shared zone
#: reaches it together.
LEAD_MIN_HOUSEHOLDS: Final = 50
#: "High occupancy": the source gives no number; 50 % is the default (a setting).
LEAD_MIN_OCCUPANCY: Final = 0.5
#: Two buildings are neighbours within this walk (about two minutes at 70 m/min).
LEAD_MAX_WALK_M: Final = 150.0
#: Qiaohua rule: a building or zone with this many party members may form a party group.
PARTY_GROUP_MIN: Final = 3
#: Lead-zone kinds: own lead, shared lead, rotating lead.
LEAD_ZONE_KINDS: Final = _frozen(
    {"own": "独立楼长", "shared": "合并责任区", "rotating": "轮值楼长"}
)

# --- the reference community (docs/domain.md, "参考社区") ------------------------------------

#: Qiaohua built this many red houses among its 30 compounds.
QIAOHUA_RED_HOUSES: Final = 10


# --- days (docs/field.md, "走访") ---------------------------------------------------------------

#: China Standard Time: a day's visits and "today" are the community's, whatever the server's zone.
CHINA: Final = _dt.timezone(_dt.timedelta(hours=8), "Asia/Shanghai")


def china_today() -> _dt.date:
    """Return today's date in China."""
    return _dt.datetime.now(CHINA).date()
