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

# --- links between the pages ------------------------------------------------------------------

#: The header's links to the other pages.
NAV: Final = {"officer": "网格员工作地图", "service_circle": "15分钟党群服务圈"}

# --- the 15-minute service circle page --------------------------------------------------------

CIRCLE_TITLE: Final = "15分钟党群服务圈"

#: Overlay names of the service circle page, as the layer control shows them.
CIRCLE_LAYER_NAMES: Final = {
    "areas": "服务范围（步行可达街道）",
    "buildings": "楼栋（按步行距离着色）",
    "service_points": "服务点",
    "gates": "小区出入口",
}

#: Legend and class labels of walking distance (GB 50180-2018 life circles).
WALK_TITLE: Final = "到最近服务点的步行距离"
WALK_CLASS_FIRST: Final = "{minutes} 分钟内（≤{metres} 米）"
WALK_CLASS: Final = "{lo_min}–{hi_min} 分钟（{lo}–{hi} 米）"
WALK_CLASS_LAST: Final = "{minutes} 分钟以上（>{metres} 米）"
UNREACHABLE: Final = "不可达（路网不通）"
LIFE_CIRCLE_BUTTON: Final = "{minutes} 分钟"
LIFE_CIRCLE_METRES: Final = "{metres} 米"

#: Strings of the service circle page's scripts, panel and legend (merged over ``UI``).
CIRCLE_UI: Final = {
    # panel head and limit control
    "circle_kicker": "15分钟党群服务圈",
    "circle_limit_label": "步行范围（GB 50180-2018 生活圈）",
    "circle_limit_now": "步行 {metres} 米 · 约 {minutes} 分钟",
    "circle_limit_custom_now": "自定义：步行 {metres} 米 · 约 {minutes} 分钟",
    "circle_custom": "自定义",
    "circle_custom_placeholder": "米",
    "circle_custom_apply": "应用",
    "circle_custom_invalid": "请输入 {lo}–{hi} 米之间的步行距离",
    "circle_approximate": "无步行路网，按直线距离×1.3 估算",
    # figures
    "circle_coverage": "服务圈覆盖",
    "circle_state_base": "现状",
    "circle_state_scenario": "情景结果",
    "circle_households_covered": "覆盖户数",
    "circle_residents_covered": "覆盖人口",
    "circle_of_total": "共 {total}",
    "circle_tab_kinds": "按服务点类型",
    "circle_tab_uncovered": "未覆盖楼栋",
    "circle_tab_scenario": "情景推演",
    "circle_kinds_hint": "各类服务点分别统计，同一户可在多类服务点范围内",
    "circle_uncovered_hint": "按超出距离由近到远排列，点击定位",
    "circle_uncovered_none": "全部楼栋均在服务圈内",
    "circle_gap": "超出 {metres} 米",
    "circle_unreachable": "不可达",
    # scenario
    "circle_scenario_hint": "点击地图上的出入口切换开/关，点击服务点移除或恢复；也可新增服务点。",
    "circle_add_point": "新增服务点",
    "circle_add_hint": "在地图上点击新服务点的位置",
    "circle_add_kind": "类型",
    "circle_new_point_name": "拟新增{kind}{n}",
    "circle_run": "计算",
    "circle_running": "计算中…",
    "circle_reset": "重置",
    "circle_not_saved": "情景推演只在本页计算，不会保存，也不改动任何数据",
    "circle_no_changes": "尚未设置任何变化",
    "circle_change_close": "关闭出入口",
    "circle_change_open": "开放出入口",
    "circle_change_add": "新增服务点",
    "circle_change_remove": "移除服务点",
    "circle_undo": "撤销",
    "circle_too_many_points": "一次最多新增 {n} 个服务点",
    "circle_result": "计算结果",
    "circle_before": "现状",
    "circle_after": "情景",
    "circle_delta": "百分点",
    "circle_stale": "情景已修改，请重新计算",
    "circle_gained": "新增覆盖",
    "circle_lost": "失去覆盖",
    "circle_none_changed": "覆盖情况没有变化",
    "circle_counts": "{buildings} 栋 · {households} 户 · {residents} 人",
    "circle_share_households": "户数覆盖率",
    "circle_share_residents": "人口覆盖率",
    # popups
    "circle_nearest_point": "最近服务点",
    "circle_walk_m": "步行距离（米）",
    "circle_walk_min": "步行时间（分钟）",
    "circle_covered": "是否覆盖",
    "circle_yes_covered": "已覆盖",
    "circle_not_covered": "未覆盖",
    "circle_scenario_change": "情景变化",
    "circle_state_now": "现状",
    "circle_state_in_scenario": "情景中",
    "circle_removed": "已移除",
    "circle_kept": "保留",
    "circle_proposed": "拟新增",
    "circle_click_again": "再次点击可恢复",
    "circle_gate_no_network": "无步行路网，按直线距离估算：出入口开关不影响结果",
    "circle_area_street_m": "可达街道 {km} 公里",
    "circle_failed": "服务圈计算",
}

#: Legend entries of coverage and of the scenario's symbols.
CIRCLE_LEGEND: Final = {
    "coverage": "覆盖与情景",
    "uncovered": "服务圈外的楼栋",
    "gained": "情景中新增覆盖",
    "lost": "情景中失去覆盖",
    "proposed": "拟新增服务点",
    "removed": "情景中移除的服务点",
    "changed_gate": "情景中改变的出入口",
    "areas": "服务范围（按服务点类型）",
    "note": "分级按国标生活圈的步行距离；步行时间按每分钟 {speed} 米估算",
}
