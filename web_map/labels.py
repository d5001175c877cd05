"""Every zh-CN string of the web map, in one place; the page's JavaScript gets them as JSON."""

from __future__ import annotations

from typing import Final

TITLE: Final = "网格员工作地图"
BRAND: Final = "社区网格化管理"
COMMUNITY_SELECT: Final = "切换社区"
COORDINATES_NOTE: Final = "坐标：WGS84 / CGCS2000"

#: Overlay names as the layer control shows them.
LAYER_NAMES: Final = {
    "communities": "社区边界",
    "grids": "网格",
    "compounds": "小区/院落",
    "buildings": "楼栋",
    "service_points": "服务点",
    "gates": "小区出入口",
    "candidate_venues": "候选场地（红房子选址）",
}

#: Basemap names in the layer control.
BASEMAPS: Final = {
    "osm": "OpenStreetMap 地图",
    "amap": "高德地图（已纠偏至 WGS84）",
    "tianditu": "天地图",
    "none": "无底图（离线）",
}
ATTRIBUTION: Final = {
    "osm": "© OpenStreetMap 贡献者",
    "amap": "© 高德地图",
    "tianditu": "© 天地图 国家地理信息公共服务平台",
}

SERVICE_POINT_KINDS: Final = {
    "centre": "党群服务中心",
    "sub_centre": "党群服务分中心",
    "activity_room": "活动室",
    "red_house": "红房子",
    "other": "其他公共服务",
}
VENUE_KINDS: Final = {
    "community_room": "社区用房",
    "property_room": "物业用房",
    "owners_centre": "业主活动中心",
    "stilted_floor": "架空层",
}
GATE_KINDS: Final = {"pedestrian": "人行门", "vehicle": "车行门", "mixed": "人车混行门"}
MATURITY: Final = {"new": "新建小区", "mature": "成熟小区", "old": "老旧小区"}

#: Shading of buildings: the switch's button, the legend's title and the classes' unit.
SHADING: Final = {
    "households": {"button": "按户数", "title": "楼栋户数", "unit": " 户"},
    "occupancy": {"button": "按入住率", "title": "楼栋入住率", "unit": "%"},
}
NO_DATA: Final = "无数据"

#: Strings of the page's scripts: popups, panel, search, legend, loading and errors.
UI: Final = {
    # popups
    "building": "楼栋",
    "compound": "小区",
    "service_point": "服务点",
    "gate": "出入口",
    "grid": "网格",
    "community": "社区",
    "candidate_venue": "候选场地",
    "name": "名称",
    "code": "编号",
    "compound_name": "所属小区",
    "grid_name": "所属网格",
    "households": "户数",
    "residents": "常住人口",
    "occupancy": "入住率",
    "floors": "楼层",
    "party_members": "党员数",
    "lead_name": "楼长",
    "no_lead": "未设楼长",
    "build_year": "建成年份",
    "property_company": "物业",
    "no_property": "无物业",
    "has_party_branch": "党支部",
    "has_owners_committee": "业委会",
    "maturity": "成熟度",
    "yes": "有",
    "no": "无",
    "kind": "类型",
    "is_open": "开放状态",
    "open": "开放",
    "closed": "关闭",
    "floor_area_m2": "面积",
    "square_metres": "平方米",
    "address": "地址",
    "officer_name": "网格员",
    "officer_phone": "联系电话",
    "ground_floor": "位于首层",
    "ventilation": "通风",
    "unit_households": "户",
    "unit_people": "人",
    "unit_floors": "层",
    "unit_buildings": "栋",
    "unknown": "—",
    # side panel
    "panel_title": "当前视图",
    "panel_hint": "显示地图中心所在社区或网格的统计",
    "panel_outside": "地图中心不在任何社区内",
    "panel_community_tab": "社区",
    "panel_grid_tab": "网格",
    "panel_no_grid": "地图中心不在任何网格内",
    "registered": "户籍",
    "floating": "流动",
    "buildings": "楼栋数",
    "buildings_with_lead": "有楼长的楼栋",
    "residents_per_cadre": "每名两委干部服务居民数",
    "per_cadre_community_only": "按社区统计",
    "service_points": "服务点",
    "lead_coverage": "覆盖率",
    # search
    "search_placeholder": "搜索小区或楼栋名称…",
    "search_button": "搜索",
    "search_none": "没有找到名称包含“{q}”的小区或楼栋",
    "search_layer_compounds": "小区",
    "search_layer_buildings": "楼栋",
    # legend
    "legend_title": "图例",
    "legend_boundaries": "边界",
    "legend_service_points": "服务点",
    "legend_gates": "出入口",
    "gate_open": "开放的出入口",
    "gate_closed": "关闭的出入口",
    "shading_label": "楼栋着色",
    # loading and errors
    "loading": "加载中…",
    "load_failed": "加载失败：{what}",
    "stats": "统计数据",
    "search_failed": "搜索失败，请稍后再试",
}

#: Legend classes of building shading: below the first break, between two, from the last.
CLASS_BELOW: Final = "{hi}{unit}以下"
CLASS_RANGE: Final = "{lo}–{hi}{unit}"
CLASS_ABOVE: Final = "{lo}{unit}及以上"
