"""The layers and their fields: names, zh-CN labels, aliases, types and bounds, in one place.

Import, export, the ORM models' checks and the demo generator all read this table, so a
field added here is a field everywhere. Each layer's features carry a ``code``: the id a
user's file gave them (``id`` / ``编号``), kept so re-importing a file updates in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from layers.domain import (
    BARRIER_KINDS,
    GATE_KINDS,
    MATURITY,
    SERVICE_POINT_KINDS,
    VENTILATION,
    VENUE_KINDS,
)

FieldType = Literal["str", "int", "float", "bool", "date"]
GeomKind = Literal["polygon", "point", "line"]


@dataclass(frozen=True)
class Field:
    """One attribute column of a layer.

    ``aliases`` are other spellings accepted on import (Chinese first); ``choices`` maps the
    stored English code of an enumerated value to its zh-CN label (both accepted on import).
    ``personal`` marks a person's data (a name, a phone number): only roles that may see it
    get it, in any channel (docs/access.md). ``max_length`` bounds a text in characters; a
    ``date`` field is a calendar day (``2026-12-03``, ``2026/12/3`` or ``2026年12月3日``), not
    before :data:`EARLIEST_DATE` and not after today in China.
    """

    name: str
    type: FieldType
    zh: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: Mapping[str, str] | None = None
    default: object = None
    personal: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class Layer:
    """A layer: its table, geometry kind and attribute fields (``code`` and geometry implied)."""

    name: str
    table: str
    zh: str
    geom: GeomKind
    fields: tuple[Field, ...]
    community_scoped: bool = True
    #: Chinese nouns for the layer's features: "<noun>编号" is accepted as the id column.
    nouns: tuple[str, ...] = ()

    @property
    def code_aliases(self) -> tuple[str, ...]:
        """Column names accepted for the id: the generic ones and "<noun>编号"."""
        return (*CODE_ALIASES, *(f"{n}编号" for n in self.nouns), *(f"{n}id" for n in self.nouns))

    def field(self, name: str) -> Field:
        """Return the field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        msg = f"layer {self.name} has no field {name}"
        raise KeyError(msg)


_NAME = Field("name", "str", "名称", ("名字", "title"))
_HOUSEHOLDS = Field("households", "int", "户数", ("住户数", "hh"), min=0)
_RESIDENTS = Field("residents", "int", "常住人口", ("人口", "居民数", "pop", "population"), min=0)
_FLOATING = Field("floating_residents", "int", "流动人口", ("floating",), min=0)
_PARTY = Field("party_members", "int", "党员数", ("党员", "party"), min=0)
_OPEN = Field("is_open", "bool", "是否开放", ("开放", "开放状态", "open", "状态"), default=True)
_AREA = Field("floor_area_m2", "float", "面积(平方米)", ("面积", "建筑面积", "area_m2"), min=0)
_ADDRESS = Field("address", "str", "地址", ("addr",))
#: The oldest day a date field accepts: a typo like 1926 is refused, not stored.
EARLIEST_DATE = "2000-01-01"

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "streets",
            "streets",
            "街道/镇",
            "polygon",
            (Field("name", "str", "名称", ("名字",), required=True),),
            community_scoped=False,
            nouns=("街道", "镇"),
        ),
        Layer(
            "communities",
            "communities",
            "社区",
            "polygon",
            (
                Field("name", "str", "名称", ("名字", "社区名称"), required=True),
                Field("street", "str", "所属街道", ("街道", "镇", "street_code")),
                _HOUSEHOLDS,
                _RESIDENTS,
                Field("registered_residents", "int", "户籍人口", ("户籍",), min=0),
                _FLOATING,
                Field("staff", "int", "工作人员数", ("工作人员", "社工"), min=0),
                Field("cadres", "int", "两委干部数", ("两委干部", "干部数"), min=0),
                _PARTY,
            ),
            community_scoped=False,
            nouns=("社区",),
        ),
        Layer(
            "grids",
            "grids",
            "网格",
            "polygon",
            (
                _NAME,
                Field("officer_name", "str", "网格员", ("网格员姓名", "officer"), personal=True),
                Field("officer_phone", "str", "网格员电话", ("电话", "phone"), personal=True),
                _HOUSEHOLDS,
                _RESIDENTS,
                Field("locked", "bool", "锁定", ("锁定网格",), default=False),
            ),
            nouns=("网格",),
        ),
        Layer(
            "compounds",
            "compounds",
            "小区/院落",
            "polygon",
            (
                Field("name", "str", "名称", ("名字", "小区名称"), required=True),
                _HOUSEHOLDS,
                _RESIDENTS,
                Field("build_year", "int", "建成年份", ("建成年代", "年份"), min=1900, max=2100),
                Field("maturity", "str", "成熟度", ("小区成熟度",), choices=MATURITY),
                Field("has_party_branch", "bool", "有党支部", ("党支部",), default=False),
                Field("has_owners_committee", "bool", "有业委会", ("业委会",), default=False),
                Field("property_company", "str", "物业公司", ("物业",)),
            ),
            nouns=("小区", "院落"),
        ),
        Layer(
            "gates",
            "gates",
            "出入口",
            "point",
            (
                _NAME,
                Field("compound", "str", "所属小区", ("小区", "小区编号", "compound_code")),
                _OPEN,
                Field("kind", "str", "类型", ("出入口类型",), choices=GATE_KINDS, default="mixed"),
            ),
            nouns=("出入口", "门"),
        ),
        Layer(
            "buildings",
            "buildings",
            "楼栋",
            "polygon",
            (
                _NAME,
                _HOUSEHOLDS,
                _RESIDENTS,
                _FLOATING,
                Field("occupancy", "float", "入住率", ("入住", "occupancy_rate"), min=0, max=1),
                Field("floors", "int", "楼层", ("层数", "楼层数", "levels"), min=1, max=200),
                _PARTY,
                Field(
                    "mobile_party_members",
                    "int",
                    "流动党员数",
                    ("流动党员",),
                    min=0,
                    default=0,
                ),
                Field("lead_name", "str", "楼长", ("楼长姓名", "lead"), personal=True),
                Field("lead_phone", "str", "楼长电话", ("lead_tel",), personal=True),
                _ADDRESS,
                # Field staff's walk (扫楼): the day of the last visit and what they noted.
                Field("visited_on", "date", "走访日期", ("走访时间", "visited", "visit_date")),
                Field("note", "str", "备注", ("说明", "remarks", "notes"), max_length=500),
            ),
            nouns=("楼栋", "楼"),
        ),
        Layer(
            "service_points",
            "service_points",
            "服务点",
            "point",
            (
                Field("name", "str", "名称", ("名字",), required=True),
                Field(
                    "kind",
                    "str",
                    "类型",
                    ("类别", "种类"),
                    required=True,
                    choices=SERVICE_POINT_KINDS,
                ),
                _OPEN,
                _AREA,
                _ADDRESS,
            ),
            nouns=("服务点", "站点"),
        ),
        Layer(
            "candidate_venues",
            "candidate_venues",
            "候选场地",
            "point",
            (
                _NAME,
                Field("kind", "str", "类型", ("类别", "种类"), required=True, choices=VENUE_KINDS),
                _AREA,
                Field("ground_floor", "bool", "位于首层", ("首层", "一楼"), default=False),
                Field("ventilation", "str", "通风", ("通风情况",), choices=VENTILATION),
                Field("lawyer_consulted", "bool", "律师咨询", ("律师",), default=False),
                Field("housing_filed", "bool", "住建备案", ("备案",), default=False),
                Field("publicly_noticed", "bool", "已公示", ("公示",), default=False),
                Field("property_recorded", "bool", "物业登记", ("物业备案",), default=False),
            ),
            nouns=("场地", "候选场地"),
        ),
        Layer(
            "barriers",
            "barriers",
            "围墙/围栏",
            "line",
            (Field("kind", "str", "类型", ("类别",), choices=BARRIER_KINDS, default="wall"),),
            nouns=("围墙", "围栏"),
        ),
    )
}

#: Layers the importer and exporter accept, in load order (parents before children).
LAYER_NAMES: tuple[str, ...] = (*LAYERS, "network")

#: Column names accepted for the feature id, the community and the geometry in files.
CODE_ALIASES = ("code", "id", "编号", "代码", "fid_code")
COMMUNITY_ALIASES = ("community", "社区", "社区编号", "community_code")
WKT_ALIASES = ("wkt", "geometry", "geom", "几何", "the_geom")
LON_ALIASES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_ALIASES = ("lat", "latitude", "y", "纬度")

TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "是", "有", "开", "开放", "启用", "对"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "否", "无", "关", "关闭", "停用", "未开放"})


#: Personal fields of every layer (a person's name or phone), from the ``personal`` marks.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    name: frozenset(f.name for f in layer.fields if f.personal) for name, layer in LAYERS.items()
}
#: Personal fields of tables that are no layer: a party organisation's secretary (docs/grids.md).
PERSONAL_OTHER: frozenset[str] = frozenset({"secretary_name", "secretary_phone"})
#: Every column name that holds personal data, in any layer or table.
PERSONAL_COLUMNS: frozenset[str] = frozenset().union(*PERSONAL_FIELDS.values(), PERSONAL_OTHER)
