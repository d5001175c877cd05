"""Events on the officer map (/map) and the tablet (/field): HTML, configuration and Chromium.

Without a database: every string of the events' layer, panel, legend and tablet form reads in
Chinese, the statuses and steps are the store's (``layers.events``) with a colour each, the
report form is only for roles that may report (``report_events``), and each role takes the
steps of its side only (community: admin, planner, officer; department: admin, department).

In Chromium on the demo community (generated Qiaohua, QH), as five users logged in through the
real login form, each in a browser of their own: a 扫楼人员 of grid G clicks 上报事件, clicks the
map in G, fills the form (大类 → 小类, description, address, reporter) and saves; reporting the
same problem again shows the open event nearby first, and 仍然上报 files the second one anyway.
The 网格员 of G cancels the second (不予立案), files the first (立案) and dispatches it (派遣,
the category's department offered first); the heat view counts one open event in G, the filter
by status group shows each event where it belongs, and an event past its deadline is outlined
and listed as 超期 with its deadline in red. A user of another department is refused in
Chinese; the 路灯管理所 user accepts (报到), handles and feeds back; the officer verifies and
the 社区书记 closes it. After each stage the API says so, and the timeline in the panel lists
every step with who took it. No console error but the refusal provoked.

On the tablet (T1, a 扫楼人员 of G1): an event reported at a building while offline waits in
IndexedDB, arrives once when the tablet is online again (also when it is sent again after an
answer that never came), and a second report of the same problem is shown on the tablet as
疑似重复 with the open event nearby, then sent anyway with 仍然上报 or withdrawn.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from gis_api.access import ROLE_NAMES, ROLE_PERMISSIONS, Principal
from gis_api.auth import hash_password
from gis_api.routes.pages import event_setup
from layers import accounts, db
from layers import events as ev
from tests.running import get_json
from tests.web_map.browser import Browser, Page, screen_point, text_of, visible
from tests.web_map.page_specs import OFFICER_DATA, STATIC
from tests.web_map.test_access_pages import PASSWORD, _login, _tab
from tests.web_map.test_field_page import _network
from web_map import labels
from web_map.pages import UserBadge, officer_map, page_config
from web_map.pages.events import STATUS_COLORS
from web_map.pages.field import (
    FIELD_UI,
    FieldPageData,
    FieldSpec,
    FieldUser,
    field_config,
    field_page,
    field_service_worker,
)

HAN = re.compile(r"[\u4e00-\u9fff]")
HOSTILE = "路灯坏了<img src=x onerror=alert(1)>，和上一条可能重复"
SCREENSHOT_COPY = Path("/tmp/gridmap-events.png")
ROLES = ("admin", "planner", "officer", "field", "department", "viewer")
REPORTERS = {"admin", "planner", "officer", "field"}


def _principal(role: str) -> Principal:
    return Principal(username=role, role=role)


def _badge(role: str) -> UserBadge:
    return UserBadge(
        username=role,
        role=role,
        role_label=ROLE_NAMES[role],
        permissions=tuple(sorted(p.value for p in ROLE_PERMISSIONS[role])),
    )


def _data(role: str) -> Any:
    return replace(OFFICER_DATA, user=_badge(role), events=event_setup(_principal(role)))


# --- without a database -------------------------------------------------------------------------


def test_every_event_string_is_chinese() -> None:
    config = page_config(_data("officer"))
    texts = {k: v for k, v in config["labels"].items() if k.startswith("ev_")}
    assert texts.keys() == labels.EVENT_UI.keys()
    # Every string reads in Chinese but the placeholders-only and the "—" of no value.
    plain = [k for k, v in texts.items() if not HAN.search(v)]
    assert plain == ["ev_step_by", "ev_none_value"]
    for group in (
        labels.EVENT_LAYER_NAMES,
        labels.EVENT_GROUPS,
        labels.EVENT_PERIODS,
        labels.EVENT_VIEWS,
        labels.EVENT_LEGEND,
        labels.EVENT_SOURCES,
    ):
        assert all(HAN.search(v) for v in group.values()), group
    assert all(HAN.search(v) for v in labels.EVENT_HEAT_CLASSES)
    events = config["events"]
    assert events["groups"] == {"open": "未结", "overdue": "超期", "closed": "已结", "all": "全部"}
    assert events["periods"] == {"7d": "近7天", "30d": "近30天", "year": "今年", "all": "全部"}
    assert config["layerNames"]["events"] == "事件"


def test_statuses_and_steps_are_the_stores_each_with_its_colour() -> None:
    events = page_config(_data("officer"))["events"]
    assert {s["code"]: s["label"] for s in events["statuses"]} == dict(ev.STATUS_ZH)
    assert set(STATUS_COLORS) == set(ev.STATUS_ZH), "a colour for every status"
    assert len(set(STATUS_COLORS.values())) == len(STATUS_COLORS)
    assert set(events["final"]) == set(ev.FINAL)
    assert set(events["open"]) == set(ev.STATUS_ZH) - set(ev.FINAL)
    assert events["actions"] == {
        code: {"label": a.zh, "side": a.side} for code, a in ev.ACTIONS.items()
    }
    assert events["roles"]["department"] == "职能部门人员"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_takes_the_steps_of_its_side(role: str) -> None:
    sides = set(event_setup(_principal(role)).sides)
    expected = set()
    if role in ev.COMMUNITY_ROLES:
        expected.add("community")
    if role in ev.DEPARTMENT_ROLES:
        expected.add("department")
    if role in {"field", "viewer"}:
        expected = set()
    assert sides == expected
    assert page_config(_data(role))["events"]["sides"] == list(event_setup(_principal(role)).sides)


@pytest.mark.parametrize("role", ROLES)
def test_only_roles_that_report_get_the_report_form(role: str) -> None:
    data = _data(role)
    allowed = role in REPORTERS
    assert ("report_events" in ROLE_PERMISSIONS[role]) is allowed
    assert page_config(data)["events"]["mayReport"] is allowed
    html = officer_map(data)
    assert ('data-ev-view="report"' in html) is allowed
    assert ('data-ev-action="report"' in html) is allowed
    assert ("上报事件</button>" in html) is allowed
    # Everyone reads: the filter, the list and an event's page.
    for part in ('data-ev-view="list"', 'data-ev-view="detail"', 'data-ev-group="overdue"'):
        assert part in html, part


def test_the_panel_legend_and_layers_of_the_events() -> None:
    html = officer_map(_data("planner"))
    for text_ in (
        ">概况</button>",
        "事件 <span",
        ">未结</button>",
        ">超期</button>",
        ">已结</button>",
        ">近7天</button>",
        ">近30天</button>",
        ">今年</button>",
        ">点位</button>",
        ">网格热力</button>",
        "全部大类",
        "问题描述",
        "地址（可选）",
        "反映人（可选）",
        "联系电话（可选）",
        "保存上报",
        "仍然上报",
        "办理时间线",
        "办理意见（可选）",
        "派往部门",
        # the legend: every status, the overdue outline, the heat classes (hidden at first)
        "事件（按状态）",
        "超期（红圈）",
        *ev.STATUS_ZH.values(),
        "各网格未结事件数",
        "10 件及以上",
    ):
        assert text_ in html, text_
    assert re.search(r'data-legend="event_heat" hidden', html)
    assert 'data-legend="events">' in html
    script = html.rsplit("<script>", 1)[1]
    control = script.split("L.control.layers(", 1)[1].split(").addTo(", 1)[0]
    assert '"事件"' in control and '"事件热力（各网格未结事件数）"' in control
    assert 'GridMap.events.layer("points")' in script
    assert 'GridMap.events.layer("heat")' in script
    assert "GridMap.events.panel(" in script
    assert "/static/gridmap/events.js" in html and "/static/gridmap/events.css" in html


def test_a_page_without_events_has_none() -> None:
    html = officer_map(OFFICER_DATA)
    assert "events.js" not in html
    assert 'data-panel-view="events"' not in html
    assert "events" not in page_config(OFFICER_DATA)


def test_every_string_events_js_uses_is_in_labels() -> None:
    code = (STATIC / "gridmap" / "events.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\bui\.(ev_\w+)", code))
    used |= set(re.findall(r"GridMap\.text\('(ev_\w+)'", code))
    assert len(used) > 30
    assert sorted(used - set(labels.EVENT_UI)) == []


def test_the_tablet_reports_events_in_chinese() -> None:
    code = (STATIC / "gridmap" / "field.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\bT\.(\w+)", code))
    assert sorted(used - set(FIELD_UI)) == []
    events = {k: v for k, v in FIELD_UI.items() if k.startswith("event_")}
    assert len(events) > 10 and all(HAN.search(v) for v in events.values())
    data = FieldPageData(
        user=FieldUser("f", "field", "扫楼人员", may_edit=True),
        fields=(FieldSpec("households", "户数", "int"),),
    )
    html = field_page(data)
    for part in (
        'data-action="event-open" hidden>上报事件</button>',
        'data-role="event" hidden',
        'name="event_group"',
        'name="event_category"',
        'name="event_description"',
        ">保存上报</button>",
    ):
        assert part in html, part
    assert field_config(data)["labels"]["state_duplicate"] == "疑似重复"
    # The worker keeps the categories for the form offline.
    assert '"/api/event-categories"' in field_service_worker()


# --- in Chromium: the officer map on the demo ----------------------------------------------------

READY = (
    "window.GridMap && GridMap.map && GridMap.pending() === 0 && GridMap.state.statsLoaded > 0"
    " && GridMap.state.events && GridMap.state.events.ready"
    " && !!GridMap.state.events.categories && GridMap.state.events.loads > 0"
)
#: The users of the walk through: username -> (role, display name, grids).
WALKERS = {
    "fld": ("field", "扫楼员小何", True),
    "ofc": ("officer", "网格员小陈", True),
    "plan": ("planner", "陈书记", False),
    "lds": ("department", "路灯所老李", False),
    "hws": ("department", "环卫所小赵", False),
}


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


def _execute(url: str, sql: str, **params: Any) -> None:
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


#: A point of a grid of QH that is that grid's (the smallest grid covering it), with no service
#: point or gate near (their markers would take the click).
SPOT = """
    SELECT g.code, ST_X(x.p) AS lon, ST_Y(x.p) AS lat
    FROM grids g JOIN communities c ON c.id = g.community_id,
         LATERAL (SELECT ST_PointOnSurface(g.geom) AS p) x
    WHERE c.code = 'QH'
      AND (SELECT g2.code FROM grids g2 WHERE g2.community_id = c.id AND ST_Covers(g2.geom, x.p)
           ORDER BY ST_Area(g2.geom) LIMIT 1) = g.code
      AND NOT EXISTS (SELECT 1 FROM service_points s
                      WHERE ST_DWithin(s.geom::geography, x.p::geography, 60))
      AND NOT EXISTS (SELECT 1 FROM gates t WHERE ST_DWithin(t.geom::geography, x.p::geography, 40))
    ORDER BY g.code LIMIT 1
"""


def _add_walkers(url: str, grid: str) -> None:
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            for username, (role, name, in_grid) in WALKERS.items():
                accounts.add_user(
                    session,
                    username,
                    role=role,
                    password_hash=hash_password(PASSWORD),
                    communities=["QH"],
                    grids=[grid] if in_grid else [],
                    display_name=name,
                )
            ev.add_department_user(session, "lds", "LDS")
            ev.add_department_user(session, "hws", "HWS")
    finally:
        engine.dispose()


def _events(base: str) -> list[dict[str, Any]]:
    """The events of QH through the API (as the tests' administrator), oldest first."""
    found = get_json(base, "/api/events", community="QH")
    return sorted((f["properties"] for f in found["features"]), key=lambda p: p["code"])


def _event(base: str, code: str) -> dict[str, Any]:
    out: dict[str, Any] = get_json(base, f"/api/events/{code}")
    return out


def _open_map(browser: Browser, base: str, username: str) -> Page:
    page = _tab(browser)
    _login(page, base, username, "/map?community=QH")
    page.wait_for(READY, what=f"{username}'s map ready", across_reloads=True, timeout=90)
    return page


def _press(page: Page, selector: str) -> None:
    """Click ``selector`` as a user would: scrolled into sight in the panel first."""
    page.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " const panel = e.closest('.gm-panel'); if (!panel) return;"
        " const r = e.getBoundingClientRect(), p = panel.getBoundingClientRect();"
        " if (r.bottom > p.bottom || r.top < p.top)"
        " panel.scrollTop += r.top - p.top - p.height / 2; })()"
    )
    page.click(selector)


def _select(page: Page, selector: str, value: str) -> None:
    page.evaluate(
        f"(() => {{ const s = document.querySelector({json.dumps(selector)});"
        f" s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change', {{bubbles: true}}));"
        " })()"
    )


def _focus_on(page: Page, lat: float, lon: float) -> tuple[float, float]:
    """Centre the map on the point (away from the panels); return its pixel."""
    page.evaluate(f"void GridMap.map.setView([{lat}, {lon}], 17, {{animate: false}})")
    page.wait_for("GridMap.pending() === 0", what="tiles after the move")
    return screen_point(page, lat, lon)


def _report(page: Page, lat: float, lon: float, description: str) -> None:
    """Click 上报事件, then the map at the point, and fill the form (GY → GY01)."""
    if not visible(page, '[data-ev-action="report"]'):
        _press(page, '[data-ev-action="back"]')  # from an event's page to the list
    _press(page, '[data-ev-action="report"]')
    page.wait_for("GridMap.state.events.placing", what="placing")
    assert visible(page, ".gm-ev-placing-bar")
    assert text_of(page, ".gm-ev-placing-bar span") == "点击地图选择事件位置"
    x, y = _focus_on(page, lat, lon)
    page.click_at(x, y)
    page.wait_for("!!GridMap.state.events.place && !GridMap.state.events.placing", what="placed")
    assert not page.evaluate("document.querySelector('.leaflet-popup')"), "no popup: a place"
    _select(page, 'select[name="group"]', "GY")
    options = page.evaluate(
        "[...document.querySelectorAll('select[name=\"category\"] option')].map(o => o.text)"
    )
    assert options == ["请选择", "路灯损坏", "井盖缺失、破损", "供水管道破裂"]
    _select(page, 'select[name="category"]', "GY01")
    page.type_text('textarea[name="description"]', description)


def _wait_detail(page: Page, code: str, status: str) -> None:
    page.wait_for(
        f"!!GridMap.state.events.event && GridMap.state.events.event.code === {json.dumps(code)}"
        f" && GridMap.state.events.event.status === {json.dumps(status)}"
        " && GridMap.pending() === 0",
        what=f"{code} shown as {status}",
        timeout=60,
    )


def _open(page: Page, code: str, status: str) -> None:
    page.evaluate(f"void GridMap.events.open({json.dumps(code)})")
    _wait_detail(page, code, status)


def _buttons(page: Page) -> list[str]:
    value = page.evaluate(
        "[...document.querySelectorAll('[data-ev=\"next\"] [data-ev-step]')]"
        ".map(b => b.dataset.evStep + ':' + b.textContent)"
    )
    return list(value)


def _take(page: Page, code: str, action: str, status: str, note: str | None = None) -> None:
    """Click the step's button, write the note, confirm; wait for the event's new status."""
    steps = page.evaluate("GridMap.state.events.steps")
    _press(page, f'[data-ev-step="{action}"]')
    page.wait_for("!document.querySelector('[data-ev=\"step\"]').hidden", what="step form")
    if note:
        page.type_text('[data-ev="step"] textarea[name="note"]', note)
    _press(page, '[data-ev-action="step-confirm"]')
    page.wait_for(f"GridMap.state.events.steps === {steps + 1}", what=f"{action} taken")
    _wait_detail(page, code, status)


def _fact(page: Page, key: str) -> str:
    return text_of(page, f'[data-ev="facts"] [data-fact="{key}"] dd')


def _errors(page: Page, *refused: str) -> list[str]:
    """Console errors but the favicon's (the login page) and the refusals provoked."""
    errors = [e for e in page.console_errors() if not e.rstrip().endswith("/favicon.ico")]
    for status in refused:
        errors = [e for e in errors if f"status of {status}" not in e]
    return errors


def test_an_event_reported_on_the_map_and_closed_by_three_users(
    fresh_db: str, demo_url: str, browser: Browser, tmp_path: Path
) -> None:
    base = demo_url
    grid, lon, lat = _rows(fresh_db, SPOT)[0]
    _add_walkers(fresh_db, grid)
    grid_name = _rows(fresh_db, "SELECT name FROM grids WHERE code = :g", g=grid)[0][0]

    # 1. The field user reports a broken light where they click, in grid G.
    fld = _open_map(browser, base, "fld")
    assert fld.evaluate("GridMap.state.events.features.length") == 0
    assert fld.evaluate("GridMap.map.hasLayer(GridMap.layers.events)"), "shown at first"
    assert visible(fld, '[data-view="events"]')
    _press(fld, '[data-view="events"]')
    assert text_of(fld, '[data-ev="summary"]') == "没有符合条件的事件"
    _report(fld, lat, lon, "路口第三根路灯不亮，晚上很黑")
    fld.type_text('input[name="address"]', "樵华路与新村路路口")
    fld.type_text('input[name="reporter_name"]', "张大爷")
    fld.type_text('input[name="reporter_phone"]', "13812345678")
    _press(fld, '[data-ev-action="report-save"]')
    fld.wait_for("GridMap.state.events.reports === 1", what="reported", timeout=60)
    (first,) = _events(base)
    code = first["code"]
    assert (first["status"], first["category"], first["source"]) == ("reported", "GY01", "map")
    assert (first["grid"], first["reporter"], first["officer"]) == (grid, "fld", "ofc")
    assert (first["reporter_name"], first["address"]) == ("张大爷", "樵华路与新村路路口")
    assert first["department"] == "LDS"
    # The panel shows it: its place, department, deadline, and no step for field staff.
    _wait_detail(fld, code, "reported")
    assert text_of(fld, '[data-ev="category"]') == "公用设施 · 路灯损坏"
    assert _fact(fld, "grid") == f"{grid_name}（{grid}）"
    assert _fact(fld, "community").startswith("樵华社区")
    assert _fact(fld, "department") == "路灯管理所"
    assert _fact(fld, "officer") == "ofc"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d", _fact(fld, "due"))
    assert _buttons(fld) == []
    assert "当前步骤由社区" in text_of(fld, '[data-ev="next"]')
    fld.wait_for("GridMap.state.events.shown === 1", what="drawn")
    assert fld.evaluate(f"!!document.querySelector('path.gm-ev-marker[data-code=\"{code}\"]')")

    # The same problem again: the open event nearby is shown first; 不上报 sends nothing ...
    _report(fld, lat, lon, "路灯坏了")
    _press(fld, '[data-ev-action="report-save"]')
    fld.wait_for("!document.querySelector('[data-ev=\"duplicates\"]').hidden", what="duplicates")
    assert "附近已有同类未结事件" in text_of(fld, '[data-ev="duplicates"]')
    nearby = "[...document.querySelectorAll('[data-ev=\"duplicate-list\"] li')]"
    assert fld.evaluate(f"{nearby}.map(l => l.dataset.evCode)") == [code]
    assert "路口第三根路灯不亮" in text_of(fld, '[data-ev="duplicate-list"]')
    _press(fld, '[data-ev-action="duplicate-back"]')
    _press(fld, '[data-ev-action="report-cancel"]')
    assert len(_events(base)) == 1
    # ... and 仍然上报 files it anyway.
    _report(fld, lat, lon, HOSTILE)
    _press(fld, '[data-ev-action="report-save"]')
    fld.wait_for("!document.querySelector('[data-ev=\"duplicates\"]').hidden", what="duplicates")
    _press(fld, '[data-ev-action="duplicate-force"]')
    fld.wait_for("GridMap.state.events.reports === 2", what="reported anyway", timeout=60)
    events = _events(base)
    assert [e["status"] for e in events] == ["reported", "reported"]
    second = events[1]["code"]
    assert _errors(fld) == []

    # 2. The officer of G: cancels the second, files and dispatches the first.
    ofc = _open_map(browser, base, "ofc")
    assert ofc.evaluate("GridMap.state.events.features.length") == 2
    assert text_of(ofc, '[data-ev="tab-count"]') == "(2)"
    _press(ofc, '[data-view="events"]')
    _press(ofc, f'.gm-ev-item[data-ev-code="{second}"]')
    _wait_detail(ofc, second, "reported")
    assert _buttons(ofc) == ["file:立案", "cancel:不予立案"]
    # What people type stays text: in the list, the tooltips and the event's page.
    assert _fact(ofc, "description") == HOSTILE
    assert ofc.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    _take(ofc, second, "cancel", "cancelled", note="与上一条重复")
    assert _event(base, second)["status"] == "cancelled"
    assert "事件已办结" in text_of(ofc, '[data-ev="next"]')
    # The first, opened from its marker on the map.
    _press(ofc, '[data-ev-action="back"]')
    x, y = _focus_on(ofc, lat, lon)
    ofc.click_at(x, y)
    _wait_detail(ofc, code, "reported")
    _take(ofc, code, "file", "filed", note="情况属实，予以立案")
    assert _event(base, code)["status"] == "filed"
    assert _buttons(ofc) == ["cancel:不予立案", "dispatch:派遣（吹哨）"]
    _press(ofc, '[data-ev-step="dispatch"]')
    assert visible(ofc, '[data-ev="step-department"]')
    assert ofc.evaluate("document.querySelector('select[name=\"department\"]').value") == "LDS"
    assert text_of(ofc, '[data-ev-action="step-confirm"]') == "确认：派遣（吹哨）"
    _press(ofc, '[data-ev-action="step-cancel"]')
    _take(ofc, code, "dispatch", "dispatched", note="请路灯所尽快更换")
    after = _event(base, code)
    assert (after["status"], after["department"]) == ("dispatched", "LDS")
    assert "当前步骤由承办部门办理" in text_of(ofc, '[data-ev="next"]')

    # The filter: the open one under 未结, the cancelled one under 已结.
    _press(ofc, '[data-ev-action="back"]')
    listed = "[...document.querySelectorAll('.gm-ev-item')].map(b => b.dataset.evCode)"
    assert ofc.evaluate(listed) == [code]
    _press(ofc, '[data-ev-group="closed"]')
    ofc.wait_for(f"JSON.stringify({listed}) === {json.dumps(json.dumps([second]))}", what="已结")
    _press(ofc, '[data-ev-group="all"]')
    ofc.wait_for(f"{listed}.length === 2", what="全部")
    _press(ofc, '[data-ev-period="7d"]')
    ofc.wait_for(f"{listed}.length === 2 && GridMap.pending() === 0", what="近7天")
    _select(ofc, 'select[name="ev_filter_category"]', "SR")
    ofc.wait_for(f"{listed}.length === 0 && GridMap.pending() === 0", what="市容环境: none")
    _select(ofc, 'select[name="ev_filter_category"]', "GY")
    ofc.wait_for(f"{listed}.length === 2 && GridMap.pending() === 0", what="公用设施")
    _press(ofc, '[data-ev-group="open"]')
    ofc.wait_for(f"{listed}.length === 1 && GridMap.pending() === 0", what="未结")

    # The heat view: one open event in G, none elsewhere; its legend shown meanwhile.
    _press(ofc, '[data-ev-show="heat"]')
    ofc.wait_for(
        f"GridMap.state.events.heat[{json.dumps(grid)}] === 1 && GridMap.pending() === 0",
        what="heat",
    )
    heat = ofc.evaluate("GridMap.state.events.heat")
    assert sum(heat.values()) == 1 and len(heat) > 1
    assert not ofc.evaluate("GridMap.map.hasLayer(GridMap.layers.events)")
    assert visible(ofc, '[data-ev="heat-legend"]')
    assert visible(ofc, '.gm-legend [data-legend="event_heat"]')
    assert "1–2 件" in text_of(ofc, '[data-ev="heat-legend"]')
    assert ofc.evaluate("document.querySelectorAll('.gm-ev-heat-label').length") == 1
    shot = tmp_path / "events-heat.png"
    ofc.screenshot(shot)
    _press(ofc, '[data-ev-show="points"]')
    ofc.wait_for("GridMap.map.hasLayer(GridMap.layers.events)", what="points again")
    assert not visible(ofc, '.gm-legend [data-legend="event_heat"]')

    # Past its deadline (the clock moved on): outlined red, under 超期, the deadline red.
    _execute(
        fresh_db, "UPDATE events SET due_at = now() - interval '1 hour' WHERE code = :c", c=code
    )
    _press(ofc, '[data-ev-group="overdue"]')
    ofc.wait_for(f"{listed}.length === 1 && GridMap.pending() === 0", what="超期")
    assert "超期" in text_of(ofc, f'.gm-ev-item[data-ev-code="{code}"]')
    assert ofc.evaluate(
        f"!!document.querySelector('path.gm-ev-marker-overdue[data-code=\"{code}\"]')"
    )
    assert text_of(ofc, '[data-ev-status-count="overdue"]') == "1"
    _open(ofc, code, "dispatched")
    assert _fact(ofc, "due").endswith("（已超期）")
    assert ofc.evaluate("!!document.querySelector('[data-fact=\"due\"].gm-ev-fact-overdue')")
    assert "超期" in text_of(ofc, '[data-ev="status"]')
    assert _errors(ofc) == []

    # 3. A department the event was not dispatched to: refused, in Chinese.
    hws = _open_map(browser, base, "hws")
    _open(hws, code, "dispatched")
    assert _buttons(hws) == ["accept:报到受理", "return:退回（非本部门职责）"]
    _press(hws, '[data-ev-step="accept"]')
    _press(hws, '[data-ev-action="step-confirm"]')
    hws.wait_for("GridMap.state.events.refusals === 1", what="refused")
    assert "没有派遣给您的部门" in text_of(hws, '[data-ev="step-error"]')
    assert _event(base, code)["status"] == "dispatched"
    masked = _fact(hws, "reporter_name")
    assert "张**" in masked and "13812345678" not in masked, "personal data masked for departments"
    assert _errors(hws, "403") == []

    # The 路灯管理所 reports (报到), handles and feeds back.
    lds = _open_map(browser, base, "lds")
    _open(lds, code, "dispatched")
    _take(lds, code, "accept", "accepted")
    assert _event(base, code)["status"] == "accepted"
    assert _buttons(lds) == ["handle:处置完成"]
    _take(lds, code, "handle", "handled", note="已更换灯泡")
    assert _event(base, code)["status"] == "handled"
    _take(lds, code, "feedback", "fed_back", note="已修复，请核查")
    assert _event(base, code)["status"] == "fed_back"
    assert _errors(lds) == []

    # 4. The officer verifies; the 社区书记 closes.
    _open(ofc, code, "fed_back")
    assert _buttons(ofc) == ["verify:核查通过", "send_back:核查未通过，退回重办"]
    _take(ofc, code, "verify", "verified", note="现场核查，路灯已亮")
    assert _event(base, code)["status"] == "verified"
    plan = _open_map(browser, base, "plan")
    _open(plan, code, "verified")
    assert _buttons(plan) == ["close:结案"]
    _take(plan, code, "close", "closed", note="结案")
    closed = _event(base, code)
    assert closed["status"] == "closed" and closed["closed_at"]

    # The timeline lists every step, by whom, with the accept past the deadline marked late.
    steps = plan.evaluate(
        "[...document.querySelectorAll('[data-ev=\"timeline\"] li')].map(li => ({"
        " action: li.dataset.action, late: li.dataset.late, text: li.innerText }))"
    )
    assert (
        [s["action"] for s in steps]
        == [s["action"] for s in closed["steps"]]
        == [
            "report",
            "file",
            "dispatch",
            "accept",
            "handle",
            "feedback",
            "verify",
            "close",
        ]
    )
    who = ["fld", "ofc", "ofc", "lds", "lds", "lds", "ofc", "plan"]
    roles = ["扫楼人员", "网格员", "网格员", *["职能部门人员"] * 3, "网格员", "社区书记/规划人员"]
    for step, user, role in zip(steps, who, roles, strict=True):
        assert f"{user}（{role}）" in step["text"], step
    assert [s["late"] for s in steps].count("true") == 1 and steps[3]["late"] == "true"
    assert "超时" in steps[3]["text"]
    assert "派往：路灯管理所" in steps[2]["text"]
    for note in ("情况属实，予以立案", "已更换灯泡", "已修复，请核查", "现场核查，路灯已亮"):
        assert note in text_of(plan, '[data-ev="timeline"]'), note
    assert text_of(plan, '[data-ev="timeline"] li').startswith("上报")
    assert "事件已办结" in text_of(plan, '[data-ev="next"]')
    assert _fact(plan, "closed_at") != "—"
    # Closed: no longer among the open ones, among the done.
    _press(plan, '[data-ev-action="back"]')
    assert plan.evaluate(listed) == []
    _press(plan, '[data-ev-group="closed"]')
    plan.wait_for(f"{listed}.length === 2 && GridMap.pending() === 0", what="已结")
    assert _errors(plan) == []

    plan.screenshot(tmp_path / "events.png")
    shutil.copyfile(tmp_path / "events.png", SCREENSHOT_COPY)


# --- in Chromium: the tablet ------------------------------------------------------------------

FIELD_USER = "field1"
FIELD_READY = "window.GridField && GridField.state.ready"
WORKER = "GridField.state.swReady && GridField.state.swControlled && GridField.state.workerData"


def _field_login(page: Page, base: str) -> None:
    query = urllib.parse.urlencode({"next": "/field?basemap=none"})
    page.call("Page.bringToFront")
    page.navigate(f"{base}/login?{query}")
    page.type_text('input[name="username"]', FIELD_USER)
    page.type_text('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for(
        "location.pathname === '/field' && document.readyState === 'complete'",
        what="logged in at /field",
        across_reloads=True,
        timeout=60,
    )


def _field_report(page: Page, building: str, category: tuple[str, str], description: str) -> str:
    """Open the building's form, 上报事件, fill and save; return the record's id."""
    before = page.evaluate("GridField.state.edits.length")
    page.click('.gm-field-tab[data-tab="list"]')
    page.click(f'.gm-field-item[data-code="{building}"] [data-action="open"]')
    page.wait_for("!document.querySelector('[data-role=\"form\"]').hidden", timeout=30)
    assert visible(page, '[data-action="event-open"]')
    page.click('[data-action="event-open"]')
    page.wait_for("!document.querySelector('[data-role=\"event\"]').hidden", timeout=30)
    assert text_of(page, '[data-role="event-title"]').startswith("上报事件：")
    _select(page, '[name="event_group"]', category[0])
    _select(page, '[name="event_category"]', category[1])
    page.type_text('[name="event_description"]', description)
    page.click('[data-action="event-save"]')
    page.wait_for(f"GridField.state.edits.length === {before + 1}", timeout=30)
    page.click('[data-action="close-form"]')
    record: str = page.evaluate(
        "GridField.state.edits.filter(e => e.kind === 'event')"
        ".sort((a, b) => a.created - b.created).pop().id"
    )
    return record


def _record(page: Page, record: str) -> dict[str, Any]:
    out: dict[str, Any] = page.evaluate(
        f"GridField.state.edits.find(e => e.id === {json.dumps(record)})"
    )
    return out


def _wait_record(page: Page, record: str, state: str) -> None:
    selector = f'.gm-field-log-item[data-edit="{record}"][data-state="{state}"]'
    page.wait_for(
        f"(GridField.state.edits.find(e => e.id === {json.dumps(record)}) || {{}}).state"
        f" === {json.dumps(state)} && !!document.querySelector({json.dumps(selector)})",
        what=f"report {record} {state}",
        across_reloads=True,
        timeout=60,
    )


def _field_events(url: str) -> list[Any]:
    return _rows(
        url,
        "SELECT e.code, e.status, e.source, e.reporter, b.code AS building, c.code AS category,"
        " e.description FROM events e JOIN event_categories c ON c.id = e.category_id"
        " LEFT JOIN buildings b ON b.id = e.building_id ORDER BY e.id",
    )


def test_the_tablet_reports_an_event_offline_once(
    t1_db: str, live_url: str, browser: Browser
) -> None:
    engine = db.make_engine(t1_db)
    try:
        with db.session_scope(engine) as session:
            accounts.add_user(
                session,
                FIELD_USER,
                role="field",
                password_hash=hash_password(PASSWORD),
                communities=["T1"],
                grids=["G1"],
                display_name="扫楼员小王",
            )
    finally:
        engine.dispose()
    base = live_url
    page = browser.page(width=1024, height=768, login=False)
    _field_login(page, base)
    page.wait_for(FIELD_READY, what="field page ready", across_reloads=True, timeout=60)
    page.wait_for(WORKER, what="worker in control", across_reloads=True, timeout=60)
    assert page.evaluate("GridField.state.categories.length") >= 5

    # Offline: the report waits on the tablet.
    _network(browser, page, offline=True)
    page.wait_for("!navigator.onLine", across_reloads=True, timeout=30)
    first = _field_report(page, "B1", ("FW", "FW02"), "3 单元顶楼漏水，墙面发霉")
    _wait_record(page, first, "pending")
    assert text_of(page, '[data-role="queue"]') == "1 条修改待发送"
    assert _field_events(t1_db) == []
    assert "房屋建筑 · 房屋漏水" in text_of(page, f'[data-edit="{first}"]')

    # Online again: it arrives, once.
    _network(browser, page, offline=False)
    _wait_record(page, first, "sent")
    rows = _field_events(t1_db)
    assert len(rows) == 1
    code = rows[0].code
    assert tuple(rows[0])[1:] == (
        "reported",
        "field",
        FIELD_USER,
        "B1",
        "FW02",
        "3 单元顶楼漏水，墙面发霉",
    )
    assert _record(page, first)["eventCode"] == code
    assert code in text_of(page, f'[data-edit="{first}"]')
    assert text_of(page, '[data-role="queue"]') == "修改已全部发送"

    # Sent again as if its answer never came: looked up first, not filed twice.
    lookups = page.evaluate("GridField.state.lookups")
    page.evaluate(
        f"(() => {{ const e = GridField.state.edits.find(e => e.id === {json.dumps(first)});"
        " e.state = 'pending'; e.tried = true; return GridField.flush(); })()"
    )
    page.wait_for(f"GridField.state.lookups === {lookups + 1}", across_reloads=True, timeout=30)
    _wait_record(page, first, "sent")
    assert len(_field_events(t1_db)) == 1
    assert _record(page, first)["eventCode"] == code

    # The same problem again: shown on the tablet as a likely duplicate, nothing filed ...
    second = _field_report(page, "B1", ("FW", "FW02"), "顶楼还在漏水")
    _wait_record(page, second, "duplicate")
    assert len(_field_events(t1_db)) == 1
    item = f'[data-role="log"] .gm-field-log-item[data-edit="{second}"]'
    page.click('.gm-field-tab[data-tab="log"]')
    assert "附近已有同类未结事件" in text_of(page, item)
    assert page.evaluate(
        f"[...document.querySelectorAll('{item} .gm-field-duplicates li')].map(l => l.dataset.code)"
    ) == [code]
    assert text_of(page, '[data-role="queue"]') == "1 条事件待确认"
    # ... sent anyway with 仍然上报.
    page.click(f'{item} [data-action="event-force"]')
    _wait_record(page, second, "sent")
    assert len(_field_events(t1_db)) == 2
    # A third, withdrawn: nothing sent.
    third = _field_report(page, "B1", ("FW", "FW02"), "又一次漏水")
    _wait_record(page, third, "duplicate")
    page.click('.gm-field-tab[data-tab="log"]')
    page.click(f'[data-role="log"] [data-edit="{third}"] [data-action="event-withdraw"]')
    _wait_record(page, third, "withdrawn")
    assert len(_field_events(t1_db)) == 2
    assert text_of(page, '[data-role="queue"]') == "修改已全部发送"
    # Reporting is not visiting: B1 counts as not yet visited today.
    assert text_of(page, '[data-role="progress"]') == "今日已走访 0 / 2 栋"

    errors = [e for e in page.console_errors() if "ERR_INTERNET_DISCONNECTED" not in e]
    duplicates = [e for e in errors if "status of 409" in e]
    assert len(duplicates) == 2, errors
    assert [e for e in errors if e not in duplicates] == []
