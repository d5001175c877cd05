"""Every zh-CN string of the web map, in one place; the page's JavaScript gets them as JSON."""

from __future__ import annotations

from typing import Final

from layers import domain

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

#: The field's kinds and their names are the store's (``layers.domain``), shown as they are.
SERVICE_POINT_KINDS: Final = domain.SERVICE_POINT_KINDS
VENUE_KINDS: Final = domain.VENUE_KINDS
GATE_KINDS: Final = domain.GATE_KINDS
MATURITY: Final = domain.MATURITY

#: Shading of buildings: the switch's button, the legend's title and the classes' unit.
SHADING: Final = {
    "households": {"button": "按户数", "title": "楼栋户数", "unit": " 户"},
    "occupancy": {"button": "按入住率", "title": "楼栋入住率", "unit": "%"},
    "visit": {"button": "按走访", "title": "最近走访", "unit": " 天"},
}
#: The visit shading's classes (days since the last visit) and its "never visited".
VISIT_CLASSES: Final = ("今天", "1–7 天前", "8–30 天前", "31–90 天前", "90 天以前")
NEVER_VISITED: Final = "从未走访"
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
    "walk_title": "今日走访",
    "walk_visited": "已走访 {done} / {total} 栋",
    "walk_conflicts": "{n} 条冲突待处理",
    "walk_no_conflicts": "无待处理冲突",
    "walk_conflict": "冲突：{name}（{who}，{fields}）",
    "walk_edit": "{time} {name}：{who} 修改{fields}",
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
    "error_server": "服务器出错（HTTP {status}），请稍后再试；仍出错请联系系统管理员",
    "error_request": "请求未被接受（HTTP {status}），请检查参数后重试",
    "error_offline": "无法连接服务器，请检查网络后重试",
    # who is logged in
    "logout_failed": "退出登录失败：{error}",
    # the change history of a feature (修改记录), in its popup
    "history_link": "修改记录",
    "history_title": "修改记录",
    "history_hide": "收起",
    "history_loading": "正在读取修改记录…",
    "history_none": "暂无修改记录",
    "history_failed": "读取修改记录失败：{error}",
    "history_by": "修改人",
    "history_channel": "途径",
    "history_channel_api": "网页/接口",
    "history_channel_import": "导入",
    "history_channel_cli": "命令行",
    "history_channel_sql": "数据库",
    "history_action_insert": "新增",
    "history_action_update": "修改",
    "history_action_delete": "删除",
    "history_no_fields": "没有字段变化",
    "history_empty": "（空）",
    "history_changed": "已修改",
    "history_recorded": "已记录",
    "history_true": "是",
    "history_false": "否",
    "history_current": "当前版本",
    "history_restore": "恢复到此版本",
    "history_restoring": "正在恢复…",
    "history_restored": "已恢复到 {time} 的版本",
    "history_restore_failed": "恢复失败：{error}",
}

# --- what a community still lacks -------------------------------------------------------------

#: What a page says when its community has no data in a layer the page needs, then the
#: command that imports it. Real places come without compounds, service points, a walking
#: network or candidate rooms; a page says so in its panel instead of failing.
MISSING: Final = {
    "buildings": "本社区还没有楼栋数据：地图上没有楼栋，各项分析也无从计算。下一步：导入楼栋",
    "service_points": (
        "本社区还没有服务点：覆盖率为 0，全部楼栋都在服务圈外。"
        "下一步：导入服务点，或在“情景推演”中新增服务点试算"
    ),
    "candidate_venues": (
        "本社区还没有候选场地，无法选址。"
        "下一步：导入候选场地（可改作红房子的架空层、物业用房、社区用房等）"
    ),
}
#: The same, said when the community has no buildings either (their consequences differ).
MISSING_WITHOUT_BUILDINGS: Final = {
    "service_points": "本社区也还没有服务点。下一步：导入楼栋之后，再导入服务点",
}
#: The approximate-mode banners' hint when the community has no walking network at all.
MISSING_NETWORK: Final = "导入步行路网后按实际步行距离计算"
#: The command that imports one layer into one community ("文件": the user's file).
IMPORT_COMMAND: Final = "gridmap import {layer} 文件 --community {community}"

#: Legend classes of building shading: below the first break, between two, from the last.
CLASS_BELOW: Final = "{hi}{unit}以下"
CLASS_RANGE: Final = "{lo}–{hi}{unit}"
CLASS_ABOVE: Final = "{lo}{unit}及以上"

# --- links between the pages ------------------------------------------------------------------

#: The header's links to the other pages.
NAV: Final = {
    "officer": "网格员工作地图",
    "service_circle": "15分钟党群服务圈",
    "venues": "红房子选址",
}

# --- small screens (phones and tablets) ------------------------------------------------------

#: The header's menu button, which holds the links, the selector and the user on small screens.
MENU: Final = {"open": "菜单", "close": "收起菜单"}

#: The buttons that open each panel on small screens (closed there, the map shown), by the
#: panel's ``data-drawer``; ``close`` is the button that closes an open one.
DRAWERS: Final = {
    "stats": "统计",
    "legend": "图例",
    "circle": "覆盖分析",
    "venues": "选址方案",
    "lead_zones": "责任区",
    "split": "拆分方案",
    "close": "收起",
}

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
    "circle_error": "服务圈计算失败：{error}",
    "circle_no_point": "没有开放的服务点",
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

# --- the red-house venue selection page -------------------------------------------------------

VENUES_TITLE: Final = "红房子选址"

#: Overlay names of the venue page, as the layer control shows them.
VENUE_LAYER_NAMES: Final = {
    "existing": "现有服务点及服务范围",
    "buildings": "楼栋（选址前后覆盖）",
    "areas": "新增红房子服务范围",
    "candidates": "候选场地（按评分排序）",
    "picks": "选址结果",
}

#: The score's criteria (gis_api.analysis.venues.CRITERIA), as the panel names them.
VENUE_CRITERIA: Final = {
    "maturity": "小区成熟度",
    "party_members": "党员覆盖面",
    "governance": "治理基础",
    "floor_area": "场地面积",
    "ground_floor": "位于首层",
    "ventilation": "通风条件",
}

#: What coverage counts (the API's ``demand``): button text and unit.
VENUE_DEMANDS: Final = {
    "residents": {"button": "常住人口", "unit": "人"},
    "households": {"button": "户数", "unit": "户"},
}

#: Candidate colouring (the switch's buttons) and the legend's classes.
VENUE_SHADING: Final = {
    "status": {"button": "按状态", "title": "候选场地（按状态）"},
    "score": {"button": "按评分", "title": "候选场地（按综合评分）"},
}
VENUE_STATUS: Final = {
    "picked": "入选",
    "eligible": "可选（未入选）",
    "excluded": "排除（法律手续不全）",
    "incomplete": "可选但手续不全",
}
VENUE_SCORE_CLASS: Final = "评分 {lo}–{hi}"

#: Strings of the venue page's scripts, panel and legend (merged over ``UI`` and ``CIRCLE_UI``).
VENUE_UI: Final = {
    "venue_kicker": "红房子选址",
    "venue_params_now": "步行 {metres} 米 · 约 {minutes} 分钟 · 按{demand}覆盖",
    "venue_k_label": "新增红房子个数",
    "venue_k_unit": "处",
    "venue_limit_label": "步行范围（GB 50180-2018 生活圈）",
    "venue_demand_label": "覆盖目标",
    "venue_weight_label": "评分与覆盖的权衡",
    "venue_weight_zero": "0 · 只看覆盖",
    "venue_weight_value": "1 分评分 ≈ {value} {unit}",
    "venue_weight_hint": "向右拖动，评分高的场地可以少覆盖一些居民而入选",
    "venue_incomplete": "允许法律手续不全的场地",
    "venue_per_compound": "每个小区最多新增",
    "venue_run": "计算",
    "venue_running": "求解中…",
    "venue_stale": "参数已修改，请重新计算",
    "venue_k_invalid": "新增个数须为 {lo}–{hi}",
    "venue_per_compound_invalid": "每个小区最多新增须为 1–{hi}",
    "venue_failed": "红房子选址",
    "venue_error": "选址计算失败：{error}",
    # result
    "venue_coverage": "覆盖变化",
    "venue_before": "现状",
    "venue_after": "选址后",
    "venue_points": "百分点",
    "venue_optimal": "已证明最优",
    "venue_gap": "未证明最优，差距 ≤ {gap}",
    "venue_method": "{method} · {seconds} 秒",
    "venue_method_milp": "整数规划（HiGHS）",
    "venue_method_greedy": "贪心算法",
    "venue_approximate": "无步行路网，按直线距离×1.3 估算",
    "venue_picks": "选址方案",
    "venue_no_picks": "没有可选的候选场地",
    "venue_new_cover": "新增覆盖",
    "venue_new_counts": "+{residents} 人 · +{households} 户 · {buildings} 栋",
    "venue_new_compounds": "新覆盖小区",
    "venue_no_new_compounds": "无（只补足数量）",
    "venue_score": "综合评分",
    "venue_beat": "胜过",
    "venue_beat_gain": "新增 {value} {unit} · 评分 {score}",
    "venue_no_runner_up": "没有其他可选场地",
    "venue_curve": "覆盖率随新增个数的变化",
    "venue_curve_hint": "曲线变平处：再多建也不再增加覆盖",
    "venue_curve_flat": "第 {k} 处起不再增加覆盖",
    "venue_curve_k": "{k} 处",
    "venue_curve_base": "现状",
    "venue_excluded": "排除的候选场地",
    "venue_excluded_none": "没有排除的候选场地",
    "venue_export": "导出",
    "venue_export_csv": "CSV",
    "venue_export_xlsx": "Excel",
    "venue_export_geojson": "GeoJSON",
    "venue_not_saved": "选址只在本页计算，不会保存，也不改动任何数据",
    # popups
    "venue_candidate": "候选场地",
    "venue_status": "状态",
    "venue_rank": "评分排名",
    "venue_rank_value": "第 {rank} / {total}",
    "venue_pick_rank": "选址序号",
    "venue_legal": "法律手续",
    "venue_legal_complete": "齐全",
    "venue_legal_missing": "缺{missing}",
    "venue_reason": "排除原因",
    "venue_newly_covered": "选址后新增覆盖",
    "venue_still_uncovered": "选址后仍未覆盖",
    "venue_covered_before": "现状已覆盖",
}

#: Legend entries of the venue page.
VENUE_LEGEND: Final = {
    "coverage": "楼栋覆盖",
    "covered": "现状已覆盖",
    "gained": "选址后新增覆盖",
    "uncovered": "选址后仍未覆盖",
    "symbols": "服务点与服务范围",
    "pick": "入选红房子（序号）",
    "pick_area": "新增服务范围",
    "existing": "现有服务点及范围（淡显）",
    "note": "服务范围为步行可达的街道；覆盖按步行路网距离计算",
}

# --- the building-lead zone page (楼长责任区) ---------------------------------------------------

LEAD_ZONES_TITLE: Final = "楼长责任区"
LEAD_ZONES_NAV: Final = "楼长责任区"

#: Zone kinds (Foshan rule), as the popups and panel name them.
LEAD_ZONE_KINDS: Final = domain.LEAD_ZONE_KINDS

LEAD_ZONE_LAYER_NAMES: Final = {
    "zones": "楼长责任区",
    "buildings": "楼栋（按责任区）",
    "leads": "建议楼长楼栋（★）",
}

LEAD_ZONE_UI: Final = {
    "lz_kicker": "楼长责任区划分（佛山规则：就近、连片、方便）",
    "lz_loading": "正在计算责任区…",
    "lz_counts": "各类责任区",
    "lz_total": "合计",
    "lz_mean_diameter": "平均直径",
    "lz_unit_m": "米",
    "lz_unit_zones": "个",
    "lz_settings": "划分参数",
    "lz_min_households": "独立楼长户数门槛",
    "lz_min_occupancy": "入住率门槛",
    "lz_max_walk": "相邻楼栋步行距离（米）",
    "lz_cross": "允许跨小区合并",
    "lz_preview": "预览",
    "lz_save": "保存方案",
    "lz_saved": "已保存方案：{n} 个责任区",
    "lz_save_failed": "保存失败：{error}",
    "lz_failed": "责任区计算失败：{error}",
    "lz_approximate": "部分楼栋间没有步行路网，距离按直线 ×1.3 估算（近似方案）",
    "lz_diff": "与已保存方案相比（保存前预览）",
    "lz_added": "新增",
    "lz_removed": "删除",
    "lz_changed": "变动",
    "lz_unchanged": "不变",
    "lz_no_saved": "尚无已保存方案：保存后全部为新增",
    "lz_exports": "楼长名单导出",
    "lz_export_csv": "CSV",
    "lz_export_xlsx": "Excel",
    "lz_not_saved": "预览不会改动数据；点击“保存方案”后才保存（已锁定的责任区保持不变）",
    # popups
    "lz_zone": "责任区",
    "lz_zone_id": "责任区编号",
    "lz_kind": "类型",
    "lz_buildings": "楼栋",
    "lz_households": "户数",
    "lz_party_members": "党员数",
    "lz_lead_building": "建议楼长楼栋",
    "lz_party_group": "可建楼宇党小组",
    "lz_party_group_yes": "可以（3 名及以上党员）",
    "lz_party_group_no": "不足 3 名党员，就近加入",
    "lz_locked": "锁定状态",
    "lz_locked_yes": "已锁定",
    "lz_locked_no": "未锁定",
    "lz_lock": "锁定",
    "lz_unlock": "解锁",
    "lz_lock_hint": "锁定需先保存方案",
    "lz_lock_failed": "锁定失败：{error}",
    "lz_no_party": "暂无党员：轮值至有合适人选",
    "lz_rule": "划分依据",
    "lz_is_lead": "建议楼长所在楼栋",
    "lz_view_only": "你的角色只能预览责任区划分；保存方案和锁定责任区需要规划人员或网格员账户",
}

# --- the community split planner (社区拆分) ------------------------------------------------------

SPLIT_TITLE: Final = "社区拆分"
SPLIT_NAV: Final = "社区拆分"

SPLIT_LAYER_NAMES: Final = {
    "units": "各片区范围（按方案着色）",
    "boundaries": "新边界线",
}

#: What a plan balances (the API's ``by``), as the form's choices name it.
SPLIT_BY: Final = {"residents": "常住人口", "households": "户数"}

#: The plans' problems (the API's flag codes), when an answer names none of its own texts.
SPLIT_FLAGS: Final = {
    "tolerance_broken": "人口偏差超出容差",
    "not_contiguous": "有片区不连片",
    "empty_part": "有空片区",
    "part_without_centre": "有片区没有党群服务中心",
}

#: The layers a save moves, as its answer names them (the others by their own name).
SPLIT_MOVED: Final = {
    **LAYER_NAMES,
    "lead_zones": "楼长责任区",
    "streets": "街道",
    "barriers": "围墙与隔离",
    "network": "步行路网",
    "walk_edges": "步行路网",
}

#: Strings of the split page's scripts and panel (merged over ``UI``).
SPLIT_UI: Final = {
    "split_kicker": "社区拆分（小区不拆分 · 各片区连片 · 人口均衡 · 各有服务中心）",
    "split_loading": "正在生成拆分方案…",
    "split_settings": "拆分参数",
    "split_parts": "拆分为几个片区",
    "split_tolerance": "人口偏差容差（%）",
    "split_by": "均衡依据",
    "split_plans": "方案个数",
    "split_generate": "生成方案",
    "split_generating": "生成中…",
    "split_idle": "设置参数后点击“生成方案”，将给出几个可比较的拆分方案（约需 5–10 秒）",
    "split_invalid": "参数不在允许范围内：片区 {parts}，容差 {tolerance}%，方案 {plans} 个",
    "split_failed": "生成拆分方案失败：{error}",
    "split_status": "共 {n} 个方案 · 用时 {seconds} 秒",
    "split_infeasible": "在容差内找不到满足全部条件的方案：以下为最接近的方案，问题标为红色",
    "split_coverage_straight": "服务圈覆盖按直线距离×1.3 估算（缺少步行路网）",
    # the plans
    "split_plans_head": "方案对比（点击方案在地图上查看）",
    "split_plan": "方案 {n}",
    "split_part": "片区 {n}",
    "split_edited": "已手动调整",
    "split_no_flags": "无问题",
    "split_compare": "对比表",
    "split_measure": "指标",
    # measures
    "split_max_deviation": "最大偏差",
    "split_within_tolerance": "容差内",
    "split_contiguous": "全部连片",
    "split_mean_pp": "平均紧凑度",
    "split_mean_pp_hint": "Polsby–Popper 指数 4πA/P²，越接近 1 越紧凑",
    "split_min_pp": "最低紧凑度",
    "split_boundary_km": "新边界长度",
    "split_street_share": "沿街比例",
    "split_parts_with_centre": "有服务中心的片区",
    "split_min_coverage": "最低15分钟覆盖率",
    "split_grids_cut": "被切分的网格",
    "split_max_per_cadre": "每名干部最多服务居民",
    "split_part_residents": "{part}人口",
    "split_flags": "问题",
    "split_yes": "是",
    "split_no": "否",
    "split_unit_km": "公里",
    "split_unit_grids": "个",
    # the parts of the selected plan (the map's legend)
    "split_parts_head": "各片区（地图图例）",
    "split_col_part": "片区",
    "split_col_residents": "常住人口",
    "split_col_households": "户数",
    "split_col_deviation": "偏差",
    "split_col_centres": "服务中心",
    "split_part_not_contiguous": "不连片",
    "split_part_empty": "空片区",
    "split_part_no_centre": "无服务中心",
    "split_part_over": "超出容差",
    "split_boundary_line": "新边界线",
    "split_no_plan": "尚未生成方案",
    # manual moves
    "split_move_hint": "点击地图上的小区或楼栋单元，可把它改划到其他片区；各项指标随即重新计算",
    "split_move_to": "移至片区 {n}",
    "split_in_part": "现属片区",
    "split_unit": "划分单元",
    "split_unit_compound": "小区",
    "split_unit_loose": "小区外楼栋",
    "split_unit_buildings": "楼栋数",
    "split_undo": "撤销",
    "split_undo_what": "撤销：{name} 移回片区 {n}",
    "split_moved": "已把 {name} 移至片区 {n}",
    "split_measuring": "正在重新计算…",
    "split_measure_failed": "重新计算失败：{error}",
    # exports
    "split_exports": "导出",
    "split_export_csv": "对比表 CSV",
    "split_export_xlsx": "对比表 Excel",
    "split_export_geojson": "边界 GeoJSON",
    "split_export_gpkg": "边界 GeoPackage",
    "split_export_file": "社区拆分方案",
    "split_export_failed": "导出失败：{error}",
    "split_exported": "已导出 {file}",
    "split_not_saved": "方案只在本页计算，不会改动任何数据；保存为新社区需规划人员确认",
    # saving as new communities
    "split_save_head": "保存为新社区",
    "split_save": "保存为新社区",
    "split_save_hint": "把当前方案的各片区保存为新社区：填写每个新社区的编号和名称",
    "split_save_code": "编号",
    "split_save_name": "名称",
    "split_save_next": "下一步",
    "split_save_cancel": "取消",
    "split_save_confirm": "确认保存",
    "split_save_back": "返回修改",
    "split_save_check": (
        "将把“{name}”拆分为 {n} 个新社区，并把各片区的小区、楼栋等数据移入新社区。"
        "此操作会改动数据库，确定吗？"
    ),
    "split_save_missing": "请填写每个新社区的编号和名称",
    "split_save_duplicate": "新社区编号不能重复：{code}",
    "split_save_flags": "当前方案仍有问题：{flags}",
    "split_saving": "正在保存…",
    "split_saved": "已保存为 {n} 个新社区",
    "split_saved_moved": "移动的数据",
    "split_saved_removed": "原社区 {code} 已撤销",
    "split_saved_lead_zones": "{n} 个跨片区的楼长责任区已撤销，请在新社区重新划分",
    "split_saved_grid_links": "{n} 栋楼不再属于新社区的任何网格，请调整网格",
    "split_saved_open": "打开 {name} 的工作地图",
    "split_save_failed": "保存失败：{error}",
    "split_name_suffix": "（{n}）",
    "split_view_only": "你的角色只能比较方案；保存为新社区需要规划人员或系统管理员账户",
}

#: Chinese numerals for the names of new communities: part 2 is "（二）", and so on.
SPLIT_NUMERALS: Final = ("一", "二", "三", "四", "五", "六", "七", "八")

# --- who is logged in, and what their role may do (docs/access.md) ---------------------------

#: The header's user area: the logged-in user and role, the admin page, logging out.
USER: Final = {
    "label": "当前用户",
    "logout": "退出登录",
    "admin_nav": "用户管理",
}

#: History columns the store adds to a layer's own fields (labels of the fields themselves
#: come with the page data: ``MapData.field_labels``). The ``_id`` columns (the community,
#: grid or compound a feature lies in) are said changed, without their internal numbers.
HISTORY_COLUMNS: Final = {
    "geom": "位置/形状",
    "code": "编号",
    "compound": "所属小区",
    "community_id": "所属社区",
    "street_id": "所属街道",
    "grid_id": "所属网格",
    "compound_id": "所属小区",
}

#: What an analysis page says to a role that may not run analyses (职能部门人员).
NO_ANALYSIS: Final = {
    "title": "无权使用分析功能",
    "text": "“{role}”角色可以查看社区的图层和统计，但不能运行分析，因此不能使用“{page}”。",
    "next": "请在网格员工作地图查看数据；如需使用分析功能，请联系系统管理员调整角色。",
    "back": "打开网格员工作地图",
}

# --- the admin's user management page (/admin/users) -----------------------------------------

ADMIN_USERS_TITLE: Final = "用户管理"

#: Strings of the user management page and its script.
ADMIN_UI: Final = {
    "users": "用户列表",
    "users_hint": "停用用户或修改密码后，其所有登录会话和令牌立即失效",
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "communities": "所属社区",
    "grids": "负责网格",
    "status": "状态",
    "actions": "操作",
    "password": "密码",
    "new_password": "新密码",
    "active": "正常",
    "disabled": "已停用",
    "all_communities": "全部社区",
    "none": "（无）",
    "you": "（当前登录）",
    "edit": "修改",
    "disable": "停用",
    "enable": "启用",
    "save": "保存",
    "cancel": "取消",
    "add_title": "新增用户",
    "add": "新增用户",
    "codes_hint": "编号，多个用逗号分隔",
    "password_hint": "至少 8 个字符",
    "password_keep": "不修改请留空",
    "known_communities": "现有社区：",
    "loading": "正在读取用户…",
    "load_failed": "读取用户列表失败：{error}",
    "added": "已新增用户 {username}",
    "saved": "已保存用户 {username} 的修改",
    "disabled_done": "已停用用户 {username}",
    "enabled_done": "已启用用户 {username}",
    "failed": "操作失败：{error}",
    "count": "共 {n} 个用户",
}

# --- events on the officer map (事件：基层吹哨、部门报到) ------------------------------

#: Overlay names of the events, as the layer control shows them.
EVENT_LAYER_NAMES: Final = {
    "events": "事件",
    "event_heat": "事件热力（各网格未结事件数）",
}

#: The status groups the filter offers: open (未结), overdue (超期), done (已结), all.
EVENT_GROUPS: Final = {"open": "未结", "overdue": "超期", "closed": "已结", "all": "全部"}
#: The periods the filter offers (by the day of the report, China's time).
EVENT_PERIODS: Final = {"7d": "近7天", "30d": "近30天", "year": "今年", "all": "全部"}
#: The two ways of showing events: the points, or the open events per grid.
EVENT_VIEWS: Final = {"points": "点位", "heat": "网格热力"}

#: The heat view's classes: open events per grid (the upper bounds exclusive).
EVENT_HEAT_CLASSES: Final = ("无", "1–2 件", "3–5 件", "6–9 件", "10 件及以上")

#: The legend's sections of the events (the officer map's legend).
EVENT_LEGEND: Final = {
    "statuses": "事件（按状态）",
    "overdue": "超期（红圈）",
    "heat": "各网格未结事件数",
}

#: Strings of the officer map's event scripts and panel (merged over ``UI``).
EVENT_UI: Final = {
    # the panel's two views
    "ev_tab_stats": "概况",
    "ev_tab_events": "事件",
    "ev_kicker": "事件：基层吹哨、部门报到",
    # the filter
    "ev_filter_status": "状态",
    "ev_filter_category": "大类",
    "ev_filter_period": "时间",
    "ev_filter_view": "显示",
    "ev_all_categories": "全部大类",
    "ev_count": "共 {n} 件",
    "ev_count_overdue": "其中超期 {n} 件",
    "ev_heat_count": "{n} 件",
    "ev_none": "没有符合条件的事件",
    "ev_list_more": "仅列出最近 {n} 件，可缩小筛选范围",
    "ev_loading": "正在读取事件…",
    "ev_load_failed": "读取事件失败：{error}",
    "ev_overdue": "超期",
    "ev_late": "超时",
    # reporting
    "ev_report": "上报事件",
    "ev_report_title": "上报事件",
    "ev_place_hint": "请在地图上点击事件位置（点在楼栋上即记入该楼栋）",
    "ev_placing": "点击地图选择事件位置",
    "ev_place_cancel": "取消",
    "ev_place_point": "位置：{lon}，{lat}",
    "ev_place_building": "楼栋：{name}",
    "ev_place_again": "重新选点",
    "ev_group": "大类",
    "ev_category": "小类",
    "ev_choose": "请选择",
    "ev_description": "问题描述",
    "ev_description_placeholder": "发生了什么、在哪里、影响到谁",
    "ev_address": "地址（可选）",
    "ev_reporter_name": "反映人（可选）",
    "ev_reporter_phone": "联系电话（可选）",
    "ev_save": "保存上报",
    "ev_cancel": "取消",
    "ev_saving": "正在上报…",
    "ev_missing_place": "请先在地图上点击事件位置",
    "ev_missing_category": "请选择事件小类",
    "ev_missing_description": "请填写问题描述",
    "ev_bad_phone": "联系电话只能包含数字、空格、+ 和 -（3–32 位）",
    "ev_checking": "正在查重…",
    "ev_duplicates": "附近已有同类未结事件，可能是同一问题：",
    "ev_duplicate_item": "{code} · {status} · 相距 {m} 米",
    "ev_duplicate_force": "仍然上报",
    "ev_duplicate_back": "不上报",
    "ev_reported": "已上报事件 {code}",
    "ev_report_failed": "上报失败：{error}",
    # one event
    "ev_back": "返回列表",
    "ev_code": "事件编号",
    "ev_status": "状态",
    "ev_community": "社区",
    "ev_grid": "网格",
    "ev_compound": "小区",
    "ev_building": "楼栋",
    "ev_address_label": "地址",
    "ev_department": "承办部门",
    "ev_officer": "网格员",
    "ev_due": "截止时间",
    "ev_due_overdue": "{time}（已超期）",
    "ev_closed_at": "办结时间",
    "ev_reported_at": "上报时间",
    "ev_reporter": "上报人",
    "ev_reporter_who": "反映人",
    "ev_source": "来源",
    "ev_description_label": "问题描述",
    "ev_timeline": "办理时间线",
    "ev_step_by": "{who}（{role}）",
    "ev_step_department": "派往：{department}",
    "ev_step_due": "时限：{time}",
    "ev_no_steps": "暂无办理记录",
    "ev_actions": "下一步",
    "ev_wait_community": "当前步骤由社区（网格员、社区书记）办理",
    "ev_wait_department": "当前步骤由承办部门办理",
    "ev_finished": "事件已办结",
    "ev_note": "办理意见（可选）",
    "ev_note_placeholder": "说明情况、处理结果或退回原因",
    "ev_dispatch_to": "派往部门",
    "ev_confirm": "确认：{action}",
    "ev_step_done": "已{action}：{code}",
    "ev_step_failed": "办理失败：{error}",
    "ev_open_failed": "读取事件失败：{error}",
    "ev_none_value": "—",
}

#: Where an event came from, as the panel names it.
EVENT_SOURCES: Final = {
    "map": "工作地图",
    "field": "扫楼平板",
    "open311": "热线（Open311）",
    "api": "接口",
    "import": "历史导入",
}
