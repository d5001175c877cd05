"""The field staff's tablet page (/field) in a real headless Chromium over the real app (T1).

A 扫楼人员 of grid G1 logs in through the real login form and opens /field on a 1024x768
tablet. The test records a building online, goes offline (DevTools network emulation, for the
page and its service worker), records two more edits, reloads the page offline (the service
worker serves it; the edits wait in IndexedDB), comes back online and checks in the database
that each of the three edits landed exactly once (one ``history`` row per edit, by that user),
also after the page resends one of them with its key. Then an administrator's colliding edit
(through the API) makes the page show the conflict screen, resolved field by field, and a
non-colliding one merges. No console error but the offline failures provoked.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from gis_api.auth import hash_password
from layers import accounts, db
from tests.databases import admin_headers
from tests.web_map.browser import Browser, Page, text_of, visible

USERNAME = "field1"
PASSWORD = "field-staff-pw-9"
READY = "window.GridField && GridField.state.ready"
WORKER = "GridField.state.swReady && GridField.state.swControlled && GridField.state.workerData"


@pytest.fixture
def field_url(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    """``live_url`` with the field page's router (added here until gis_api/app.py has it)."""
    from gis_api.app import create_app
    from gis_api.routes import field
    from tests import running

    def with_field(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)
        if not any(getattr(r, "path", None) == "/field" for r in app.routes):
            app.include_router(field.router)
        return app

    monkeypatch.setattr(running, "create_app", with_field)
    yield request.getfixturevalue("live_url")


def _add_field_user(url: str) -> None:
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            accounts.add_user(
                session,
                USERNAME,
                role="field",
                password_hash=hash_password(PASSWORD),
                communities=["T1"],
                grids=["G1"],
                display_name="扫楼员小王",
            )
    finally:
        engine.dispose()


def _api(base: str, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}{path}",
        data=data,
        method=method,
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json",
            **admin_headers(),
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _admin_edit(base: str, code: str, properties: dict[str, Any]) -> None:
    """An edit by a second user (the tests' administrator) through the API."""
    status, found = _api(base, "GET", "/api/layers/buildings?community=T1&limit=100")
    assert status == 200, found
    feature = next(f for f in found["features"] if f["properties"]["code"] == code)
    version = feature["properties"]["version"]
    status, out = _api(
        base,
        "PATCH",
        f"/api/layers/buildings/{feature['id']}",
        {"properties": properties},
        **{"If-Match": f'W/"{version}"'},
    )
    assert status == 200, out


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


def _building(url: str, code: str) -> Any:
    return _rows(
        url,
        "SELECT id, households, residents, occupancy, version FROM buildings WHERE code = :c",
        c=code,
    )[0]


def _history(url: str, code: str) -> list[Any]:
    """The updates of building ``code`` recorded for the field user, oldest first."""
    return _rows(
        url,
        "SELECT h.old, h.new FROM history h JOIN buildings b ON b.id = h.feature_id"
        " WHERE h.layer = 'buildings' AND b.code = :c AND h.action = 'update'"
        " AND h.changed_by = :u ORDER BY h.id",
        c=code,
        u=USERNAME,
    )


# --- the browser --------------------------------------------------------------------------------


def _login(page: Page, base: str) -> None:
    query = urllib.parse.urlencode({"next": "/field?basemap=none"})
    page.call("Page.bringToFront")
    page.navigate(f"{base}/login?{query}")
    page.type_text('input[name="username"]', USERNAME)
    page.type_text('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for(
        "location.pathname === '/field' && document.readyState === 'complete'",
        what="logged in at /field",
        across_reloads=True,
        timeout=30,
    )


def _network(browser: Browser, page: Page, *, offline: bool) -> None:
    """Cut (or restore) the network of the page and of its service worker."""
    conditions = {
        "offline": offline,
        "latency": 0,
        "downloadThroughput": -1,
        "uploadThroughput": -1,
    }
    page.call("Network.emulateNetworkConditions", conditions)
    workers = [
        t
        for t in browser.send("Target.getTargets")["targetInfos"]
        if t["type"] == "service_worker" and t["url"].endswith("/field/sw.js")
    ]
    assert workers, "the field page's service worker is running"
    for worker in workers:
        # One session per worker: conditions set by a session stay until that session resets them.
        session = _WORKER_SESSIONS.get(worker["targetId"])
        if session is None:
            session = browser.send(
                "Target.attachToTarget", {"targetId": worker["targetId"], "flatten": True}
            )["sessionId"]
            browser.send("Network.enable", session=session)
            _WORKER_SESSIONS[worker["targetId"]] = session
        browser.send("Network.emulateNetworkConditions", conditions, session=session)


#: DevTools sessions attached to service workers, by target id.
_WORKER_SESSIONS: dict[str, str] = {}


def _set_input(page: Page, name: str, value: str) -> None:
    selector = f'.gm-field-form input[name="{name}"]'
    page.evaluate(f"document.querySelector({json.dumps(selector)}).value = ''")
    page.type_text(selector, value)


def _edit(page: Page, code: str, values: dict[str, str]) -> str:
    """Tap building ``code`` in the list, type ``values`` and save; return the edit's id."""
    before = page.evaluate("GridField.state.edits.length")
    page.click(f'.gm-field-item[data-code="{code}"] [data-action="open"]')
    page.wait_for(
        "!document.querySelector('[data-role=\"form\"]').hidden",
        what="form open",
        across_reloads=True,
        timeout=30,
    )
    for name, value in values.items():
        _set_input(page, name, value)
    page.click('[data-action="save"]')

    page.wait_for(
        f"GridField.state.edits.length === {before + 1}",
        what=f"edit of {code} saved",
        across_reloads=True,
        timeout=30,
    )
    edit_id: str = page.evaluate(
        "GridField.state.edits.slice().sort((a, b) => a.created - b.created).pop().id"
    )
    return edit_id


def _state_of(page: Page, edit_id: str) -> str | None:
    value = page.evaluate(
        f"(GridField.state.edits.find(e => e.id === {json.dumps(edit_id)}) || {{}}).state"
    )
    return None if value is None else str(value)


def _wait_state(page: Page, edit_id: str, state: str) -> None:
    """Wait until edit ``edit_id`` is in ``state``, in the page's records and in its log."""
    selector = f'.gm-field-log-item[data-edit="{edit_id}"][data-state="{state}"]'
    page.wait_for(
        f"(GridField.state.edits.find(e => e.id === {json.dumps(edit_id)}) || {{}}).state"
        f" === {json.dumps(state)} && !!document.querySelector({json.dumps(selector)})",
        what=f"edit {edit_id} {state}",
        across_reloads=True,
        timeout=30,
    )


#: What an offline tablet's failed requests look like in the console; nothing else may fail.
OFFLINE = "ERR_INTERNET_DISCONNECTED"


def _errors(page: Page, *, conflicts: int = 0) -> list[str]:
    """Console errors but the offline failures and the ``conflicts`` 409s provoked."""
    errors = [e for e in page.console_errors() if OFFLINE not in e]
    refused = [e for e in errors if "status of 409" in e and "/api/layers/buildings/" in e]
    assert len(refused) == conflicts, errors
    return [e for e in errors if e not in refused]


def test_field_page_records_offline_and_resolves_conflicts(
    t1_db: str, field_url: str, browser: Browser
) -> None:
    _add_field_user(t1_db)
    base = field_url
    page = browser.page(width=1024, height=768, login=False)
    _login(page, base)
    page.wait_for(READY, what="field page ready", across_reloads=True, timeout=30)
    page.wait_for(
        WORKER, what="service worker controlling the page", across_reloads=True, timeout=30
    )

    # The header: who, online, nothing waiting; the grid's two buildings, none visited yet.
    assert text_of(page, ".gm-field-user-name") == "扫楼员小王"
    assert text_of(page, ".gm-field-user-role") == "扫楼人员"
    assert text_of(page, '[data-role="connection"]') == "在线"
    assert text_of(page, '[data-role="queue"]') == "修改已全部发送"
    assert text_of(page, '[data-role="progress"]') == "今日已走访 0 / 2 栋"
    codes = page.evaluate(
        "[...document.querySelectorAll('.gm-field-item')].map(i => i.dataset.code)"
    )
    assert sorted(codes) == ["B1", "B2"], "only the buildings of the user's grid G1"
    assert page.evaluate("GridField.state.source") == "network"
    assert page.evaluate("GridField.map.hasLayer !== undefined")

    # 定位 near B2: B2 comes first (both unvisited), with its distance.
    centre = page.evaluate(
        "(() => { const id = Number(document.querySelector('.gm-field-item[data-code=\"B2\"]')"
        ".dataset.fid); return GridField.state.centres.get(id); })()"
    )
    origin = "/".join(base.split("/")[:3])
    browser.send("Browser.grantPermissions", {"origin": origin, "permissions": ["geolocation"]})
    page.call(
        "Emulation.setGeolocationOverride",
        {"latitude": centre[0], "longitude": centre[1] + 0.0002, "accuracy": 10},
    )
    page.click('[data-action="locate"]')
    page.wait_for("GridField.state.position", what="located", across_reloads=True, timeout=30)
    order = page.evaluate(
        "[...document.querySelectorAll('.gm-field-item')].map(i => i.dataset.code)"
    )
    assert order == ["B2", "B1"]
    assert "米" in text_of(page, '.gm-field-item[data-code="B2"] .gm-field-item-sub')

    # The form has the recording fields that exist, with big buttons.
    page.click('.gm-field-item[data-code="B1"] [data-action="open"]')
    page.wait_for(
        "!document.querySelector('[data-role=\"form\"]').hidden", across_reloads=True, timeout=30
    )
    labels = page.evaluate(
        "[...document.querySelectorAll('.gm-field-row-label')].map(e => e.textContent)"
    )
    assert labels == [
        "户数",
        "入住率 (%)",
        "常住人口",
        "流动人口",
        "党员数",
        "流动党员数",
        "楼长",
        "楼长电话",
        "走访日期",
        "备注",
    ]
    # Opening the form is visiting: the date is today's, and the note a text area.
    today = page.evaluate("new Date().toLocaleDateString('sv')")  # YYYY-MM-DD, local
    assert page.evaluate("document.querySelector('[name=\"visited_on\"]').value") == today
    assert page.evaluate("document.querySelector('[name=\"note\"]').tagName") == "TEXTAREA"
    small = page.evaluate(
        "[...document.querySelectorAll('.gm-field-form button, .gm-field-locate')]"
        ".filter(b => b.offsetParent !== null)"
        ".map(b => b.getBoundingClientRect()).filter(r => r.height < 44 || r.width < 44).length"
    )
    assert small == 0, "every button is at least 44 px"
    assert page.evaluate("document.querySelector('input[name=\"households\"]').value") == "60"
    page.click('[data-action="close-form"]')

    # 1. Online: B1's households recorded and sent.
    first = _edit(page, "B1", {"households": "65"})
    _wait_state(page, first, "sent")
    assert _building(t1_db, "B1").households == 65
    visit = _rows(t1_db, "SELECT visited_on::text FROM buildings WHERE code = 'B1'")[0][0]
    assert visit == today, "saving the form records the visit"
    assert page.evaluate(
        "document.querySelector('.gm-field-item[data-code=\"B1\"]').dataset.visited"
    ) == ("true")
    assert text_of(page, '[data-role="progress"]') == "今日已走访 1 / 2 栋"
    assert (
        page.evaluate(
            "[...document.querySelectorAll('.gm-field-item')].map(i => i.dataset.code)[0]"
        )
        == "B2"
    ), "未走访 first"

    # 2. Offline: two more edits wait on the tablet (the second on top of the first).
    _network(browser, page, offline=True)
    page.wait_for("!navigator.onLine", across_reloads=True, timeout=30)
    second = _edit(page, "B2", {"households": "45"})
    third = _edit(page, "B2", {"households": "47", "residents": "112"})
    _wait_state(page, second, "pending")
    _wait_state(page, third, "pending")
    assert text_of(page, '[data-role="queue"]') == "2 条修改待发送"
    assert text_of(page, '[data-role="connection"]') == "离线"
    assert _building(t1_db, "B2").households == 40, "nothing sent while offline"

    # 3. Reloaded offline: the service worker serves the page, IndexedDB the edits and data.
    seen = len(page._events())
    page.call("Page.reload", {"ignoreCache": False})
    time.sleep(0.5)
    page.wait_for(
        f"document.readyState === 'complete' && {READY}",
        what="reloaded offline",
        across_reloads=True,
        timeout=30,
    )
    answers = [
        e["params"] for e in page._events()[seen:] if e.get("method") == "Network.responseReceived"
    ]
    document = [a for a in answers if a["type"] == "Document"]
    assert document, "the reload was answered"
    assert all(a["response"].get("fromServiceWorker") for a in document), document
    scripts = [a for a in answers if a["response"]["url"].split("?")[0].endswith("/field.js")]
    assert scripts and scripts[0]["response"].get("fromServiceWorker")
    assert page.evaluate("GridField.state.source") == "cache"
    assert text_of(page, '[data-role="queue"]') == "2 条修改待发送"
    assert visible(page, '[data-role="note"]')
    assert text_of(page, '[data-role="note"]') == "离线：显示本机保存的楼栋数据"
    b2 = page.evaluate(
        "(() => { const id = Number(document.querySelector('.gm-field-item[data-code=\"B2\"]')"
        ".dataset.fid); return GridField.shown(id); })()"
    )
    assert (b2["households"], b2["residents"]) == (47, 112), "the waiting edits are shown"
    assert text_of(page, '[data-role="progress"]') == "今日已走访 2 / 2 栋"
    assert _state_of(page, second) == "pending" and _state_of(page, third) == "pending"

    # 4. Back online: the queue drains in order, each edit applied exactly once.
    _network(browser, page, offline=False)
    _wait_state(page, second, "sent")
    _wait_state(page, third, "sent")
    page.wait_for("GridField.waiting() === 0", across_reloads=True, timeout=30)
    assert text_of(page, '[data-role="queue"]') == "修改已全部发送"
    assert text_of(page, '[data-role="connection"]') == "在线"
    b2_row = _building(t1_db, "B2")
    assert (b2_row.households, b2_row.residents) == (47, 112)
    assert len(_history(t1_db, "B1")) == 1
    b2_history = _history(t1_db, "B2")
    assert len(b2_history) == 2, "one history row per edit"
    assert b2_history[0].new["households"] == 45
    assert b2_history[1].new["households"] == 47

    # A resend of a sent edit reuses its key: answered, not applied again.
    sends = page.evaluate("GridField.state.sends")
    page.evaluate(
        f"(() => {{ const e = GridField.state.edits.find(e => e.id === {json.dumps(first)});"
        " e.state = 'pending'; return GridField.flush(); })()"
    )
    page.wait_for(f"GridField.state.sends === {sends + 1}", across_reloads=True, timeout=30)
    _wait_state(page, first, "sent")
    assert len(_history(t1_db, "B1")) == 1, "the resent edit is applied once"
    assert _building(t1_db, "B1").households == 65

    # 5. A colliding edit by someone else: the conflict screen, chosen field by field.
    _admin_edit(base, "B1", {"households": 99})
    fourth = _edit(page, "B1", {"households": "70"})
    page.wait_for(
        "!document.querySelector('[data-role=\"conflict\"]').hidden",
        what="conflict",
        across_reloads=True,
        timeout=30,
    )
    assert _state_of(page, fourth) == "conflict"
    assert "修改冲突：1栋" in text_of(page, '[data-role="conflict-title"]')
    rows = page.evaluate(
        """[...document.querySelectorAll('[data-role="conflict-rows"] tr')].map(r => ({
          field: r.dataset.field,
          cells: [...r.children].map(c => c.textContent.trim()),
        }))"""
    )
    assert rows == [{"field": "households", "cells": ["户数", "65", "99", "70"]}]
    headings = page.evaluate(
        "[...document.querySelectorAll('.gm-field-conflict-table th')].map(t => t.textContent)"
    )
    assert headings[:4] == ["字段", "原值", "当前值", "我的值"]
    assert page.evaluate("document.querySelector('[data-action=\"conflict-submit\"]').disabled")
    assert text_of(page, '[data-role="queue"]') == "1 条冲突待处理"
    page.click('.gm-field-choice[data-field="households"][data-choice="mine"]')
    page.click('[data-action="conflict-submit"]')
    page.wait_for(
        "document.querySelector('[data-role=\"conflict\"]').hidden", across_reloads=True, timeout=30
    )
    _wait_state(page, fourth, "resolved")
    resolution = page.evaluate(
        f"GridField.state.edits.find(e => e.resolves === {json.dumps(fourth)}).id"
    )
    _wait_state(page, resolution, "sent")
    assert _building(t1_db, "B1").households == 70
    b1_history = _history(t1_db, "B1")
    assert len(b1_history) == 2, "the refused edit wrote nothing; its resolution once"
    assert b1_history[-1].old["households"] == 99 and b1_history[-1].new["households"] == 70

    # 6. A non-colliding edit by someone else: merged, no conflict screen.
    _admin_edit(base, "B2", {"occupancy": 0.55})
    fifth = _edit(page, "B2", {"residents": "115"})
    _wait_state(page, fifth, "sent")
    assert page.evaluate("document.querySelector('[data-role=\"conflict\"]').hidden")
    b2_row = _building(t1_db, "B2")
    assert (b2_row.occupancy, b2_row.residents, b2_row.households) == (0.55, 115, 47)
    merged = page.evaluate(
        "(() => { const id = Number(document.querySelector('.gm-field-item[data-code=\"B2\"]')"
        ".dataset.fid); return GridField.shown(id); })()"
    )
    assert merged["occupancy"] == 0.55 and merged["residents"] == 115
    assert len(_history(t1_db, "B2")) == 3
    assert text_of(page, '[data-role="queue"]') == "修改已全部发送"

    # 7. A photo taken offline waits on the tablet and is sent once when online again.
    _network(browser, page, offline=True)
    page.wait_for("!navigator.onLine", across_reloads=True, timeout=30)
    page.click('.gm-field-item[data-code="B2"] [data-action="open"]')
    photo = page.evaluate(
        """(async () => {
          const c = document.createElement('canvas');
          c.width = 3000; c.height = 1000;
          const g = c.getContext('2d');
          g.fillStyle = '#c00'; g.fillRect(0, 0, 3000, 1000);
          const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
          return GridField.takePhoto(blob);
        })()""",
        await_promise=True,
    )
    _wait_state(page, photo, "pending")
    assert page.evaluate("document.querySelectorAll('.gm-field-photo-waiting').length") == 1
    assert _rows(t1_db, "SELECT count(*) FROM building_photos")[0][0] == 0
    page.click('[data-action="close-form"]')
    _network(browser, page, offline=False)
    _wait_state(page, photo, "sent")
    (kept,) = _rows(
        t1_db,
        "SELECT p.width, p.height, p.taken_by, b.code FROM building_photos p"
        " JOIN buildings b ON b.id = p.building_id",
    )
    assert tuple(kept) == (2048, 683, USERNAME, "B2"), "shrunk on the device, kept once"

    # 8. A conflict resolved by keeping the other value: nothing sent but the dismissal.
    _admin_edit(base, "B2", {"floating_residents": 9})
    sixth = _edit(page, "B2", {"floating_residents": "12"})
    page.wait_for(
        "!document.querySelector('[data-role=\"conflict\"]').hidden",
        across_reloads=True,
        timeout=30,
    )
    assert _rows(t1_db, "SELECT count(*) FROM edit_conflicts WHERE resolved_at IS NULL")[0][0] == 1
    page.click('.gm-field-choice[data-field="floating_residents"][data-choice="current"]')
    page.click('[data-action="conflict-submit"]')
    _wait_state(page, sixth, "resolved")
    page.wait_for("GridField.waiting() === 0", across_reloads=True, timeout=30)
    settled = _rows(t1_db, "SELECT resolution FROM edit_conflicts ORDER BY id")
    assert [r[0] for r in settled] == ["merged", "dismissed"], "step 5's, then this one"
    assert len(_history(t1_db, "B2")) == 3, "keeping theirs writes nothing"

    assert _errors(page, conflicts=2) == []


def test_field_page_routes(settings: Any) -> None:
    """Anonymous visitors go to the login page; the worker may control /field itself."""
    from fastapi.testclient import TestClient

    from gis_api.app import create_app
    from gis_api.routes import field

    app = create_app(settings)
    if not any(getattr(r, "path", None) == "/field" for r in app.routes):
        app.include_router(field.router)
    with TestClient(app) as anonymous:
        page = anonymous.get("/field", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Ffield"
        worker = anonymous.get("/field/sw.js")
        assert worker.status_code == 200
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["service-worker-allowed"] == "/field"
        assert "/static/vendor/leaflet/leaflet.js?v=" in worker.text
        assert "/static/gridmap/field.js?v=" in worker.text
    with TestClient(app, headers=admin_headers()) as admin:
        html = admin.get("/field").text
        assert "扫楼登记" in html and "/static/gridmap/field.js?v=" in html
        assert 'src="https://' not in html and 'href="https://' not in html, "only local files"
        assert "tile.openstreetmap.org" in html  # the basemap's tiles, kept once viewed
