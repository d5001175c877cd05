"""What every stage of the generator shares: array types, compound kinds and layout numbers.

Also the published figures of the reference community, the word lists that names are
drawn from, and :class:`SynthCity`, the generated place every generator returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

import geopandas as gpd

from layers.domain import SERVICE_POINT_KINDS, VENUE_KINDS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
GeomArray = NDArray[np.object_]
StrArray = NDArray[np.str_]
ObjArray = NDArray[np.object_]

#: A point in the flat built-up part of Xiqiao town (西樵镇), about 3 km inside its boundary.
XIQIAO_CENTER: tuple[float, float] = (112.970, 22.930)
#: An invented street (镇/街道) code for Xiqiao.
XIQIAO_STREET = "440605-XQ"
#: Qiaohua community's published figures (docs/domain.md, "参考社区").
QIAOHUA: dict[str, int] = {
    "households": 13_234,
    "residents": 40_335,
    "registered_residents": 13_126,
    "floating_residents": 9_268,
    "staff": 23,
    "cadres": 8,
    "party_members": 226,
}
#: Every kind of candidate venue, in the order the demo guarantees one of each.
VENUE_ORDER = ("community_room", "property_room", "owners_centre", "stilted_floor")

# Compound kinds; RURAL only zones land that stays empty (fields, works, hills).
NEW, OLD, VILLAGE, RURAL = 0, 1, 2, 3
# Poisson-disc spacing per zone kind; a block's area comes out near 1.3 x spacing squared.
_SPACING_M = (212.0, 142.0, 72.0, 270.0)
# Building counts that make a block a believable compound of each kind, and a typical one.
_BUILDINGS_RANGE = ((5, 24), (4, 20), (8, 70))
_BUILDINGS_TYPICAL = (14.0, 11.0, 27.0)
# Street half-width from the centreline to the wall, then the wall to the nearest building.
_SETBACK_M = (9.0, 7.0, 4.5)
_WALL_MARGIN_M = (8.0, 5.5, 4.0)
# Lanes stop this far inside a wall unless they pass a gate.
_LANE_INSET_M = 3.0
# Arterial half-widths (centreline to wall) by road rank: 1 secondary, 2 primary.
_ROAD_HALF_WIDTH_M = (0.0, 11.0, 15.0)
_HIGHWAY_BY_RANK = ("residential", "secondary", "primary")
# Connector ends this close to a junction snap onto it, so no sliver edges appear.
_SNAP_M = 0.5
# Street junctions closer than this are one junction, and so are the ends of a jog this
# short in a road (see _mesh).
_MERGE_M = 1.5
_JOG_M = 20.0
# Road-fronting seeds: spacing along a road, and distance from it, as shares of the spacing.
_FRONT_STEP = 1.2
_FRONT_DEPTH = 0.5
# Side of one city community, for 450 buildings (blocks then hold about 1.5 times that).
_CITY_SIDE_M = 1050.0


def _words(text: str) -> tuple[str, ...]:
    """Split a space-separated word list (kept as one string so the lists stay compact)."""
    return tuple(text.split())


_SURNAMES = tuple("陈梁黄何冯李邓潘关区麦罗谭吴张林刘周杨卢苏叶霍岑简招余郭曾彭胡袁朱徐莫钟严")
_GIVEN = tuple(
    "伟志强秀英丽敏华建国明杰燕玲芳婷俊嘉锦荣雪梅卓立晓文海美惠冬德"
    "永健坤洁桂娟振耀汉炳少慧彩家宝源辉颖欣倩琪淑桃金满"
)
_PLACE_WORDS = _words(
    "樵华 新村 西岸 文昌 永安 康乐 富民 兴业 东风 建设 民乐 百西 太平 松岗"
    " 简溪 儒林 朝阳 迎宾 和平 环湖 翠屏 南华 北岸 德政 龙腾 云路 岭南 福庆"
    " 崇文 仁厚 金沙 锦湖 丰宁 荔枝 桂花 紫荆 木棉 凤凰 樵乐 官山 大同 七星"
    " 河溪 松塘 良溪 山根 吉水 崇北 新田 上金 沙水 海舟 平沙 江浦 聚龙"
)
_STREET_SUFFIXES = _words("路 街 二路 一街 巷 横街 直街 大街 东路 西街")
_ESTATE_WORDS = _words(
    "翠湖 金碧 樵华 锦绣 碧水 丽景 君悦 怡景 御景 逸翠 云山 星河 名都 海逸"
    " 雅居 翡翠 峰景 绿茵 华庭 玉兰 天悦 美林 富豪 南国 紫薇 嘉华 汇景 山水"
    " 璟园 东方"
)
_NEW_SUFFIXES = _words("花园 苑 豪庭 华府 名苑 山庄 新城 雅苑 湾 公馆")
_OLD_SUFFIXES = _words("新村 小区 宿舍区 大院 花园 住宅区")
_VILLAGE_WORDS = _words(
    "简溪 百西 上金瓯 民乐 太平 河溪 大同 七星 儒溪 松塘 崇北 新田 良溪 山根"
    " 吉水 沙水 海舟 江浦 聚龙 平沙 白石 樵北 岗头 新基 竹园 塘边 南坊 西坊"
    " 东头 大岸"
)
_VILLAGE_SUFFIXES = _words("村 坊 里 社")
_PROPERTY_COMPANIES = tuple(
    f"{w}物业{('管理', '服务')[i % 2]}有限公司"
    for i, w in enumerate(_words("樵山 华信 南海城建 锦辉 粤秀 西岸 嘉和 恒顺 百越"))
)
_PRIMARY_NAMES = ("樵华路", "新村大道")
_SECONDARY_NAMES = ("西岸街", "文昌路")
_DIRECTIONS = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")
_ORDINALS = ("", "二", "三", "四", "五", "六", "七", "八", "九", "十")
#: A generated service point is named by its host and its kind (activity rooms as the party
#: members' ones they usually are).
_SERVICE_LABELS = {**SERVICE_POINT_KINDS, "activity_room": "党员活动室"}
_SERVICE_AREA_M2 = {
    "centre": (600, 1000),
    "sub_centre": (150, 400),
    "activity_room": (60, 150),
    "red_house": (40, 120),
}
_VENUE_LABELS = VENUE_KINDS


@dataclass(frozen=True)
class SynthCity:
    """A generated place: every layer and the walkable ways, all in EPSG:4326.

    ``layers`` holds ``communities``, ``grids``, ``compounds``, ``gates``, ``buildings``,
    ``service_points``, ``candidate_venues`` and ``barriers``, each with a unique ``code``
    and exactly the fields of :data:`layers.schema.LAYERS` (plus ``community`` where the
    layer is community-scoped); ``ways`` holds LineStrings with ``code``, ``highway`` and
    ``name`` that meet only at shared vertices.
    """

    layers: dict[str, gpd.GeoDataFrame]
    ways: gpd.GeoDataFrame
