"""The community split planner (社区拆分): its HTML and configuration, and the page in Chromium.

Without a database: the form's ranges and defaults, every string in Chinese, the save form only
for roles that may restructure communities (planners and admins). In Chromium on the demo
community (generated Qiaohua): nothing is asked before 生成方案; while the plans are computed the
page says so and the button is disabled; each plan's card and the comparison table show the
figures of the API's answer (itself checked against ``/api/analysis/split/measure``); a unit
clicked on the map moves to another part, and the panel's figures and the map's colours become
those of a direct ``/measure`` of the moved plan (the parts' residents changed by exactly that
unit's); 撤销 restores the plan as it was; a card selects its plan on the map; the exports
download a file; the plan is saved as new communities through the page's confirm step. It fails
on any console error, and saves a screenshot to ``tmp_path`` and ``/tmp/gridmap-split.png``.

What it shares with every page (assets, header, labels, its route) is tested for all of them in
tests/web_map/test_pages.py, test_route.py, test_responsive.py and test_xss.py.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shapely.geometry import shape

from gis_api.access import ROLE_NAMES, ROLE_PERMISSIONS
from tests.running import post_json
from tests.web_map.browser import SETTLED, Browser, Page, screen_point, text_of, visible
from tests.web_map.page_specs import SPLIT_DATA as DATA
from web_map import labels
from web_map.pages import UserBadge, split_config, split_map

SCREENSHOT_COPY = Path("/tmp/gridmap-split.png")
HAN = re.compile(r"[\u4e00-\u9fff]")
READY = "GridMap.state.split.ready && !GridMap.state.split.running && GridMap.pending() === 0"
MEASURED = (
    "GridMap.state.split.{what} === {n} && !GridMap.state.split.measuring"
    " && GridMap.pending() === 0"
)


# --- without a database -------------------------------------------------------------------------


def test_every_string_is_chinese() -> None:
    config = split_config(DATA)
    texts = {k: v for k, v in config["labels"].items() if k.startswith("split_")}
    assert texts.keys() == labels.SPLIT_UI.keys()
    # Every string but the placeholders-only suffix reads in Chinese.
    plain = {k: v for k, v in texts.items() if k != "split_name_suffix"}
    assert [k for k, v in plain.items() if not HAN.search(v)] == []
    assert config["split"]["by"] == {"residents": "常住人口", "households": "户数"}
    assert all(HAN.search(v) for v in config["split"]["flags"].values())
    assert set(config["split"]["flags"]) == {
        "tolerance_broken",
        "not_contiguous",
        "empty_part",
        "part_without_centre",
    }
    assert config["layerNames"]["units"] == "各片区范围（按方案着色）"
    assert config["drawers"]["split"] == "拆分方案"


def test_form_starts_at_the_defaults_within_the_api_ranges() -> None:
    settings = split_config(DATA)["split"]["settings"]
    assert settings["parts"] == 2
    assert settings["tolerance_pct"] == 5
    assert settings["by"] == "residents"
    assert settings["plans"] == 5
    assert settings["ranges"] == {
        "parts": [2, 8],
        "plans": [1, 10],
        "tolerance_pct": [0.5, 50.0, 0.5],
    }
    # One distinct colour per part, as many as parts may be.
    colors = split_config(DATA)["split"]["colors"]
    assert len(set(colors)) == len(colors) == 8
    html = split_map(replace(DATA, parts=4, by="households", plans=3, tolerance=0.1))
    assert re.search(r'name="parts" value="4"\s+min="2" max="8"', html)
    assert re.search(r'name="plans" value="3"\s+min="1" max="10"', html)
    assert re.search(r'name="tolerance_pct" value="10"', html)
    assert '<option value="households" selected>户数</option>' in html


def _badge(role: str) -> UserBadge:
    return UserBadge(
        username=role,
        role=role,
        role_label=ROLE_NAMES[role],
        permissions=tuple(sorted(p.value for p in ROLE_PERMISSIONS[role])),
    )


@pytest.mark.parametrize("role", ["admin", "planner", "officer", "field", "viewer"])
def test_only_roles_that_restructure_may_save(role: str) -> None:
    data = replace(DATA, user=_badge(role))
    allowed = role in {"admin", "planner"}
    assert split_config(data)["split"]["canSave"] is allowed
    html = split_map(data)
    assert ('class="gm-split-save-form"' in html) is allowed
    assert ('data-action="save-confirm"' in html) is allowed
    assert ('data-view-only="1"' in html) is not allowed
    # Everyone who may analyse compares and exports.
    assert 'data-action="generate"' in html
    assert html.count('class="btn btn-sm gm-split-export"') == 4


def test_a_page_built_without_a_user_shows_every_control() -> None:
    assert split_config(DATA)["split"]["canSave"] is True
    assert 'class="gm-split-save-form"' in split_map(DATA)


def test_route_refuses_parts_out_of_range(client: TestClient) -> None:
    for parts in (1, 9):
        r = client.get(f"/map/split?community=T1&parts={parts}")
        assert r.status_code == 422, parts
        assert r.json()["detail"][0]["loc"] == ["query", "parts"]


# --- in Chromium --------------------------------------------------------------------------------


def _cards(page: Page) -> list[dict[str, Any]]:
    """What each card shows: its figures (value and text), parts' residents, flags."""
    return list(
        page.evaluate(
            """[...document.querySelectorAll('.gm-split-card')].map(c => ({
              plan: Number(c.dataset.plan),
              figures: Object.fromEntries([...c.querySelectorAll('[data-figure]')].map(f =>
                [f.dataset.figure,
                 {value: f.dataset.value, text: f.querySelector('dd').innerText}])),
              residents: [...c.querySelectorAll('.gm-split-card-parts li')].map(li =>
                Number(li.dataset.residents)),
              flags: [...c.querySelectorAll('[data-flag]')].map(b => [b.dataset.flag, b.innerText]),
              thumb: c.querySelectorAll('svg.gm-split-thumb path').length,
            }))"""
        )
    )


def _parts_table(page: Page) -> list[dict[str, float]]:
    """The selected plan's parts as the panel lists them (the map's legend)."""
    return list(
        page.evaluate(
            """[...document.querySelectorAll('.gm-split-parts tbody tr[data-part]')].map(r =>
              Object.fromEntries([...r.querySelectorAll('td[data-col]')].map(td =>
                [td.dataset.col, Number(td.dataset.value)])))"""
        )
    )


def _unit_colours(page: Page) -> dict[str, str]:
    """Each unit's fill colour on the map."""
    return dict(
        page.evaluate(
            """(() => { const out = {};
              GridMap.layers.split_units.eachLayer(g => g.eachLayer(l => {
                out[l.feature.properties.unit_id] = l.options.fillColor; }));
              return out; })()"""
        )
    )


def _click(page: Page, selector: str) -> None:
    """Scroll ``selector`` into view (the panel scrolls), wait until it stays where it is (a
    popup pans the map open), then click it as a user does."""
    where = (
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " const r = e.getBoundingClientRect(); return [r.left, r.top, r.width]; })()"
    )
    page.evaluate(
        f"document.querySelector({json.dumps(selector)}).scrollIntoView({{block: 'center'}})"
    )
    last = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = page.evaluate(where)
        if now == last and now[2] > 0:
            break
        last = now
        time.sleep(0.25)
    page.click(selector)


def _pct(value: float) -> str:
    """A per-cent figure as the page writes it: one decimal at most."""
    return f"{round(value, 1):g}%"


def _check_cards(page: Page, plans: list[dict[str, Any]], labels_: dict[str, str]) -> None:
    cards = _cards(page)
    assert [c["plan"] for c in cards] == list(range(len(plans)))
    for card, plan in zip(cards, plans, strict=True):
        s = plan["summary"]
        f = card["figures"]
        assert float(f["max_deviation_pct"]["value"]) == pytest.approx(s["max_deviation_pct"])
        assert f["max_deviation_pct"]["text"] == _pct(s["max_deviation_pct"])
        assert float(f["mean_pp"]["value"]) == pytest.approx(s["mean_pp"])
        assert f["mean_pp"]["text"] == f"{s['mean_pp']:.2f}"
        assert float(f["street_share"]["value"]) == pytest.approx(s["street_share"])
        assert f["street_share"]["text"] == _pct(100 * s["street_share"])
        assert card["residents"] == pytest.approx([p["residents"] for p in plan["parts"]])
        assert card["flags"] == [[code, labels_[code]] for code in plan["flags"]]
        assert card["thumb"] >= len(plan["parts"])


def _inside(page: Page, unit: dict[str, Any]) -> tuple[float, float] | None:
    """A pixel inside ``unit``'s territory, on the map and clear of the panel, or None."""
    point = shape(unit["geometry"]).representative_point()
    x, y = screen_point(page, point.y, point.x)
    hit = page.evaluate(
        f"(() => {{ const e = document.elementFromPoint({x}, {y});"
        " return !!e && e.classList.contains('gm-split-unit'); })()"
    )
    return (x, y) if hit else None


def _move_target(page: Page, answer: dict[str, Any]) -> tuple[dict[str, Any], tuple[float, float]]:
    """A unit of part 1 of the first plan with residents, to click on the map (its pixel)."""
    plan = answer["plans"][0]
    candidates = sorted(
        (
            f
            for f in answer["units"]["features"]
            if plan["assignment"][f["properties"]["unit_id"]] == 0
            and f["properties"]["residents"] > 0
        ),
        key=lambda f: f["properties"]["residents"],
    )
    for unit in candidates:
        at = _inside(page, unit)
        if at is not None:
            return unit, at
    msg = "no unit of part 1 to click on the map"
    raise AssertionError(msg)


def _measure(base: str, answer: dict[str, Any], assignment: dict[str, int]) -> Any:
    return post_json(
        base,
        "/api/analysis/split/measure",
        {
            "community": "QH",
            "parts": answer["parts"],
            "by": answer["by"],
            "tolerance": answer["tolerance"],
            "assignment": assignment,
        },
    )


def test_split_in_chromium(demo_url: str, browser: Browser, tmp_path: Path) -> None:
    base = demo_url
    page = browser.page(width=1440, height=900)
    page.navigate(f"{base}/map/split?community=QH&basemap=none")
    page.wait_for(f"window.GridMap && GridMap.map && ({SETTLED['split']})", what="page ready")
    assert page.requests(lambda u: "/api/analysis/split" in u) == []  # asked for by the button
    assert "生成方案" in text_of(page, ".gm-split-status")
    assert page.evaluate("document.querySelector('.gm-split-export').disabled") is True

    _click(page, '[data-action="generate"]')
    page.wait_for("GridMap.state.split.running", what="generating", timeout=10)
    assert page.evaluate("document.querySelector('.gm-split-generate').disabled") is True
    assert text_of(page, ".gm-split-generate").strip() == "生成中…"
    assert visible(page, ".gm-loading")
    assert "正在生成拆分方案" in text_of(page, ".gm-loading")
    page.wait_for(f"({READY}) || GridMap.state.split.error", timeout=120, what="plans")
    assert page.evaluate("GridMap.state.split.error") is None
    assert page.evaluate("document.querySelector('.gm-split-generate').disabled") is False

    answer: dict[str, Any] = page.evaluate("GridMap.split.last()")
    plans = answer["plans"]
    assert plans and answer["parts"] == 2 and answer["by"] == "residents"
    assert answer["tolerance"] == pytest.approx(0.05)
    # The answer is the API's own: its first plan measures the same when asked again.
    again = _measure(base, answer, plans[0]["assignment"])
    assert again["summary"] == pytest.approx(plans[0]["summary"])
    flag_labels = answer["flag_labels"]

    # One card per plan, with the answer's figures; the table has a column per plan.
    _check_cards(page, plans, flag_labels)
    status = text_of(page, ".gm-split-status")
    assert f"共 {len(plans)} 个方案" in status
    table = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('.gm-split-compare tbody tr')]"
        ".map(r => [r.dataset.measure, [...r.querySelectorAll('td')].map(td => td.dataset.value)]))"
    )
    for key in ("max_deviation_pct", "mean_pp", "street_share", "boundary_km", "residents_0"):
        assert [float(v) for v in table[key]] == pytest.approx([p["summary"][key] for p in plans])
    head = page.evaluate(
        "[...document.querySelectorAll('.gm-split-compare thead th')].map(t => t.innerText)"
    )
    assert head == ["指标", *(f"方案 {i + 1}" for i in range(len(plans)))]
    rows = text_of(page, ".gm-split-compare")
    for text in (
        "最大偏差",
        "平均紧凑度",
        "沿街比例",
        "有服务中心的片区",
        "片区 1人口",
        "片区 2人口",
    ):
        assert text in rows, text

    # The first plan on the map: every unit coloured by its part; boundaries drawn bold.
    colors = split_config(DATA)["split"]["colors"]
    shown = _unit_colours(page)
    assert shown == {u: colors[p] for u, p in plans[0]["assignment"].items()}
    assert page.evaluate("document.querySelectorAll('path.gm-split-boundary').length") >= 2
    legend = _parts_table(page)
    assert [r["residents"] for r in legend] == pytest.approx(
        [p["residents"] for p in plans[0]["parts"]]
    )
    assert [r["deviation"] for r in legend] == pytest.approx(
        [p["deviation_pct"] for p in plans[0]["parts"]]
    )

    # Click a unit of 片区 1 on the map: its popup moves it to 片区 2.
    unit, (x, y) = _move_target(page, answer)
    uid = unit["properties"]["unit_id"]
    page.click_at(x, y)
    page.wait_for("!!document.querySelector('.leaflet-popup-content .gm-split-popup')")
    popup = text_of(page, ".gm-split-popup")
    assert unit["properties"]["name"] in popup
    assert "现属片区" in popup and "片区 1" in popup and "移至片区 2" in popup
    assert page.evaluate("document.querySelector('.gm-split-popup').dataset.unit") == uid
    _click(page, '.gm-split-move[data-part="1"]')
    page.wait_for(MEASURED.format(what="moves", n=1), timeout=60, what="measured")
    assert page.evaluate("GridMap.state.split.error") is None

    moved = {**plans[0]["assignment"], uid: 1}
    direct = _measure(base, answer, moved)
    shown_plan = page.evaluate("GridMap.split.plan(0)")
    assert shown_plan["assignment"] == moved
    assert shown_plan["summary"] == pytest.approx(direct["summary"])
    assert shown_plan["flags"] == direct["flags"]
    legend = _parts_table(page)
    residents = [r["residents"] for r in legend]
    before = [p["residents"] for p in plans[0]["parts"]]
    share = unit["properties"]["residents"]
    assert residents == pytest.approx([before[0] - share, before[1] + share])
    assert residents == pytest.approx([p["residents"] for p in direct["parts"]])
    assert [r["deviation"] for r in legend] == pytest.approx(
        [p["deviation_pct"] for p in direct["parts"]]
    )
    moved_plans = [{**plans[0], **direct}, *plans[1:]]
    _check_cards(page, moved_plans, flag_labels)
    assert "已手动调整" in text_of(page, '.gm-split-card[data-plan="0"]')
    assert _unit_colours(page)[uid] == colors[1]
    flags = page.evaluate(
        "[...document.querySelectorAll('.gm-split-flags [data-flag]')].map(b => b.innerText)"
    )
    assert flags == [flag_labels[c] for c in direct["flags"]]
    assert "撤销" in text_of(page, ".gm-split-undo")
    assert unit["properties"]["name"] in text_of(page, ".gm-split-undo-what")

    # 撤销: the plan as it was, on the map and in the panel.
    _click(page, '[data-action="undo"]')
    page.wait_for("GridMap.state.split.undos === 1")
    restored = page.evaluate("GridMap.split.plan(0)")
    assert restored["assignment"] == plans[0]["assignment"]
    assert restored["summary"] == plans[0]["summary"]
    assert restored["moves"] == 0
    _check_cards(page, plans, flag_labels)
    assert _unit_colours(page) == shown
    assert page.evaluate("document.querySelector('.gm-split-undo').disabled") is True

    # A card selects its plan on the map.
    if len(plans) > 1:
        _click(page, '.gm-split-card[data-plan="1"]')
        page.wait_for("GridMap.state.split.selected === 1")
        assert _unit_colours(page) == {u: colors[p] for u, p in plans[1]["assignment"].items()}
        assert page.evaluate(
            "document.querySelector('.gm-split-card[data-plan=\"1\"]')"
            ".classList.contains('gm-split-card-selected')"
        )
        _click(page, '.gm-split-card[data-plan="0"]')
        page.wait_for("GridMap.state.split.selected === 0")

    # Exports: the plans as shown, posted with the CSRF header; the file saved.
    for n, fmt in enumerate(("csv", "geojson"), start=1):
        _click(page, f'.gm-split-export[data-format="{fmt}"]')
        page.wait_for(MEASURED.format(what="exports", n=n), timeout=60, what=f"{fmt} export")
        got = page.evaluate("GridMap.state.split.lastExport")
        assert got["format"] == fmt and got["size"] > 0, got
        assert got["name"].endswith(f".{fmt}") and "QH" in got["name"], got
    assert page.evaluate("GridMap.state.split.error") is None

    shot = tmp_path / "split.png"
    page.evaluate(
        "GridMap.map.closePopup(), document.querySelector('.gm-split-plans').scrollIntoView(),"
        " document.querySelector('.gm-toast').classList.remove('gm-toast-visible'), null"
    )
    page.screenshot(shot)
    shutil.copyfile(shot, SCREENSHOT_COPY)

    # Save as new communities: prefilled names, a confirm step, the answer and its links.
    _click(page, '[data-action="save-open"]')
    rows = page.evaluate(
        "[...document.querySelectorAll('.gm-split-save-row')].map(r =>"
        " [...r.querySelectorAll('input')].map(i => i.value))"
    )
    assert rows == [["QH", "樵华社区"], ["QH-2", "樵华社区（二）"]]
    _click(page, '[data-action="save-next"]')
    page.wait_for("!document.querySelector('[data-step=\"confirm\"]').hidden")
    check = text_of(page, ".gm-split-save-check")
    assert "拆分为 2 个新社区" in check and "QH-2 樵华社区（二）" in check
    _click(page, '[data-action="save-confirm"]')
    page.wait_for("GridMap.state.split.saves === 1 || !!GridMap.state.split.error", timeout=60)
    saved = page.evaluate("GridMap.state.split.saved")
    assert [c["code"] for c in saved["communities"]] == ["QH", "QH-2"]
    result = text_of(page, ".gm-split-saved")
    assert "已保存为 2 个新社区" in result
    links = page.evaluate(
        "[...document.querySelectorAll('.gm-split-saved a.gm-split-open')]"
        ".map(a => a.getAttribute('href'))"
    )
    assert links == ["/map?community=QH&basemap=none", "/map?community=QH-2&basemap=none"]

    assert page.console_errors() == []


#: Makes the page's calls to a path of ``window.__answers`` get that answer instead.
FAKE_ANSWERS = (
    "window.__answers = {}; (() => { const real = window.fetch;"
    " window.fetch = function (url) {"
    " const path = new URL(String(url), location.href).pathname; const a = window.__answers[path];"
    " if (a) { return Promise.resolve(new Response(JSON.stringify(a.body),"
    " { status: a.status, headers: { 'Content-Type': 'application/json' } })); }"
    " return real.apply(this, arguments); }; })();"
)


def _answer(page: Page, path: str, status: int, body: object) -> None:
    page.evaluate(
        f"window.__answers[{json.dumps(path)}] = {json.dumps({'status': status, 'body': body})}"
    )


def test_split_says_why_it_failed(live_url: str, browser: Browser) -> None:
    """Refusals show the API's zh-CN message in the panel; a failed move is taken back."""
    page = browser.page(width=1440, height=900)
    page.call("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_ANSWERS})
    page.navigate(f"{live_url}/map/split?community=T1&basemap=none")
    page.wait_for(f"window.GridMap && GridMap.map && ({SETTLED['split']})", what="page ready")

    refusal = {"detail": [{"msg": "社区只有 1 个可分单元，无法分成 3 部分（小区不拆分）"}]}
    _answer(page, "/api/analysis/split", 422, refusal)
    _click(page, '[data-action="generate"]')
    page.wait_for("!!GridMap.state.split.error && !GridMap.state.split.running")
    assert text_of(page, ".gm-split-error") == (
        "生成拆分方案失败：社区只有 1 个可分单元，无法分成 3 部分（小区不拆分）"
    )
    assert page.evaluate("document.querySelector('.gm-split-generate').disabled") is False
    assert not page.evaluate("GridMap.state.split.ready")

    page.evaluate("delete window.__answers['/api/analysis/split']")
    page.evaluate("GridMap.split.generate()", await_promise=True)
    page.wait_for(READY, timeout=60, what="plans")
    assert not visible(page, ".gm-split-error")
    before = page.evaluate("GridMap.split.plan(0)")

    # The measure fails (a raw English 500): the move is taken back, the panel says so.
    _answer(page, "/api/analysis/split/measure", 500, {"detail": "Internal Server Error"})
    unit = next(iter(before["assignment"]))
    part = 1 - before["assignment"][unit]
    page.evaluate(
        f"GridMap.split.move({json.dumps(unit)}, {part}).catch(() => null)", await_promise=True
    )
    assert (
        text_of(page, ".gm-split-error")
        == "重新计算失败：服务器出错（HTTP 500），请稍后再试；仍出错请联系系统管理员"
    )
    assert page.evaluate("GridMap.split.plan(0)") == before
    assert page.evaluate("document.querySelector('.gm-split-undo').disabled") is True

    # An export refused: its message, nothing saved.
    _answer(page, "/api/analysis/split/export", 422, {"detail": [{"msg": "方案不能超过 10 个"}]})
    _click(page, '.gm-split-export[data-format="xlsx"]')
    page.wait_for(
        "GridMap.pending() === 0 && !!GridMap.state.split.error"
        " && GridMap.state.split.error.startsWith('导出失败')"
    )
    assert text_of(page, ".gm-split-error") == "导出失败：方案不能超过 10 个"
    assert page.evaluate("GridMap.state.split.exports") == 0

    # Saving refused (409): the form says why and stays open to change the names.
    conflict = {"detail": [{"msg": "社区编号“T1-2”已存在"}]}
    _answer(page, "/api/split/save", 409, conflict)
    assert page.evaluate("GridMap.split.openSave()") is True
    assert page.evaluate("GridMap.split.confirmSave()") is True
    page.evaluate("GridMap.split.save().catch(() => null)", await_promise=True)
    assert text_of(page, ".gm-split-save-error") == "保存失败：社区编号“T1-2”已存在"
    assert visible(page, '[data-step="names"]')
    assert page.evaluate("GridMap.state.split.saves") == 0
    # Names left empty or given twice are refused before anything is sent.
    page.evaluate("document.querySelector('.gm-split-save-row input[name=\"code\"]').value = ''")
    assert page.evaluate("GridMap.split.confirmSave()") is False
    assert text_of(page, ".gm-split-save-error") == "请填写每个新社区的编号和名称"
    page.evaluate(
        "document.querySelectorAll('.gm-split-save-row input[name=\"code\"]')"
        ".forEach(i => { i.value = 'T9'; })"
    )
    assert page.evaluate("GridMap.split.confirmSave()") is False
    assert text_of(page, ".gm-split-save-error") == "新社区编号不能重复：T9"
    assert page.console_errors() == []
