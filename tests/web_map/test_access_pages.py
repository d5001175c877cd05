"""The pages for people with roles, in a real headless Chromium over the real app (T1).

Users are created in the test database (``layers.accounts.add_user``) and log in through the
real login form. The tests check what each role sees: who is logged in in the header, the
lead-zone page's save and lock only for roles that may save plans, a notice instead of an
analysis page for 职能部门人员, the building popup's 修改记录 (an edit made through the API,
with who and the field's Chinese label) and an admin's restore, the user management page
(list, add, refuse in Chinese, disable), and logging out (back to the login page; the old
cookie is dead); the split page's 保存为新社区 only for roles that may restructure communities.
Every page must end without a console error.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from gis_api.auth import SESSION_COOKIE, hash_password
from layers import accounts, db
from tests.web_map.browser import Browser, Page, screen_point, text_of, visible

PASSWORD = "correct-horse-9"
#: username -> (role, display name, communities, grids)
USERS: dict[str, tuple[str, str | None, list[str], list[str]]] = {
    "root": ("admin", "系统管理员老周", [], []),
    "plan": ("planner", "陈书记", ["T1"], []),
    "look": ("viewer", None, ["T1"], []),
    "dept": ("department", "民政科小李", ["T1"], []),
}
MAP_READY = (
    "window.GridMap && GridMap.map && GridMap.pending() === 0 && GridMap.state.statsLoaded > 0"
    " && ['communities', 'grids', 'compounds', 'gates', 'service_points']"
    ".every(n => GridMap.state.layersLoaded[n] !== undefined)"
)
LZ_READY = (
    "window.GridMap && GridMap.state.leadZones && (GridMap.state.leadZones.ready"
    " || GridMap.state.leadZones.error) && GridMap.pending() === 0"
)

SPLIT_READY = "window.GridMap && GridMap.state.split && GridMap.state.split.idle"


def _add_users(url: str) -> None:
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            for username, (role, name, communities, grids) in USERS.items():
                accounts.add_user(
                    session,
                    username,
                    role=role,
                    password_hash=hash_password(PASSWORD),
                    communities=communities,
                    grids=grids,
                    display_name=name,
                )
    finally:
        engine.dispose()


# --- the API, as a client with a token --------------------------------------------------------


def _call(
    base: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    cookie: str | None = None,
    body: Any = None,
    form: dict[str, str] | None = None,
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie:
        headers["Cookie"] = cookie
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        if exc.headers.get_content_type() != "application/json":
            return exc.code, raw.decode("utf-8", "replace")  # a page: the zh-CN 403 page
        return exc.code, json.loads(raw) if raw else None


def _token(base: str, username: str, password: str = PASSWORD) -> str:
    status, out = _call(
        base,
        "POST",
        "/api/auth/token",
        form={"username": username, "password": password},
    )
    assert status == 200, out
    return str(out["access_token"])


# --- the browser --------------------------------------------------------------------------------


def _tab(browser: Browser) -> Page:
    """A tab of its own browser (its own cookies) that logs in as a person does: by the form.

    Each user gets a separate browser context, as separate people have separate browsers; no
    test credentials are set (``login=False`` where the test helpers would set them).
    """
    context = browser.send("Target.createBrowserContext")["browserContextId"]
    target = browser.send(
        "Target.createTarget", {"url": "about:blank", "browserContextId": context}
    )["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})
    return Page(browser, session["sessionId"], width=1440, height=900, login=False)


def _click_still(page: Page, selector: str) -> None:
    """Click ``selector`` once it has stopped moving (a popup that grew pans the map)."""
    where = (
        f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
        ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()"
    )
    deadline = time.monotonic() + 10
    last = page.evaluate(where)
    while True:
        time.sleep(0.3)
        now = page.evaluate(where)
        if now == last or time.monotonic() > deadline:
            break
        last = now
    page.click(selector)


def _path(page: Page) -> str:
    return str(page.evaluate("location.pathname + location.search"))


def _login(page: Page, base: str, username: str, target: str = "/map?community=T1") -> None:
    """Log in through the real login form, going to ``target`` (basemap none: offline)."""
    query = urllib.parse.urlencode({"next": f"{target}&basemap=none"})
    page.call("Page.bringToFront")  # a tab in the background gets no frames to click in
    page.navigate(f"{base}/login?{query}")
    assert page.evaluate("document.title").startswith("登录")
    page.type_text('input[name="username"]', username)
    page.type_text('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    path = target.split("?", 1)[0]
    page.wait_for(
        f"location.pathname === {json.dumps(path)} && document.readyState === 'complete'",
        what=f"{username} logged in at {path}",
        across_reloads=True,
        timeout=60,
    )


def _session_cookie(page: Page) -> str:
    cookies = page.call("Network.getCookies")["cookies"]
    found = [c["value"] for c in cookies if c["name"] == SESSION_COOKIE]
    assert found, cookies
    return str(found[0])


#: The login page (gis_api/routes/auth.py) names no icon, so Chromium asks for /favicon.ico,
#: which the app does not serve: the one failed load tolerated (the map pages name ``data:,``).
FAVICON = "/favicon.ico"


def _no_errors(page: Page, *refused: str) -> None:
    """No console error but the favicon's, and the refusals (``"422 /api/users"``) provoked."""
    errors = [e for e in page.console_errors() if not e.rstrip().endswith(FAVICON)]
    for expected in refused:
        status, path = expected.split(" ", 1)
        errors = [e for e in errors if not (f"status of {status}" in e and e.endswith(path))]
    assert errors == []


def _logout(page: Page) -> None:
    page.click('.gm-user [data-action="logout"]')
    page.wait_for(
        "location.pathname === '/login'",
        what="back at the login page",
        across_reloads=True,
        timeout=60,
    )


def _header(page: Page) -> dict[str, Any]:
    out: dict[str, Any] = page.evaluate(
        """(() => ({
          name: document.querySelector('.gm-user .gm-user-name').textContent,
          role: document.querySelector('.gm-user .gm-user-role').textContent,
          logout: document.querySelector('.gm-user [data-action="logout"]').textContent.trim(),
          links: [...document.querySelectorAll('.gm-nav-link')].map(a => a.getAttribute('href')),
        }))()"""
    )
    return out


# --- the tests ----------------------------------------------------------------------------------


def test_login_header_and_logout(t1_db: str, live_url: str, browser: Browser) -> None:
    _add_users(t1_db)
    base = live_url
    page = _tab(browser)

    # Not logged in: the map sends to the login page, coming back afterwards.
    page.navigate(f"{base}/map?community=T1&basemap=none")
    assert page.evaluate("location.pathname") == "/login"
    assert "next=" in _path(page)
    assert visible(page, "main.login form")
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.login button')).backgroundColor")
        == "rgb(198, 40, 40)"
    ), "login.css is loaded: the button in the project's red"

    _login(page, base, "plan")
    page.wait_for(MAP_READY, what="officer map loaded", across_reloads=True, timeout=60)
    header = _header(page)
    assert header["name"] == "陈书记"
    assert header["role"] == "社区书记/规划人员"
    assert header["logout"] == "退出登录"
    assert any("/map/service-circle" in link for link in header["links"])
    assert not any("/admin/users" in link for link in header["links"]), "no user management"
    user = page.evaluate("GridMap.config.user")
    assert user["username"] == "plan"
    assert user["role"] == "planner"
    assert {"analyse", "save_plans", "history"} <= set(user["permissions"])
    assert "restore" not in user["permissions"]
    _no_errors(page)

    # Logging out ends the session: back at the login page, the old cookie refused.
    old = _session_cookie(page)
    assert _call(base, "GET", "/api/auth/me", cookie=f"{SESSION_COOKIE}={old}")[0] == 200
    _logout(page)
    assert visible(page, "main.login form")
    status, body = _call(base, "GET", "/api/auth/me", cookie=f"{SESSION_COOKIE}={old}")
    assert status == 401, body
    page.navigate(f"{base}/map?community=T1&basemap=none")
    assert page.evaluate("location.pathname") == "/login"
    _no_errors(page)


def test_what_each_role_may_do_is_what_it_sees(t1_db: str, live_url: str, browser: Browser) -> None:
    _add_users(t1_db)
    base = live_url

    # A viewer previews the lead zones, but neither saves nor locks.
    viewer = _tab(browser)
    _login(viewer, base, "look", "/map/lead-zones?community=T1")
    viewer.wait_for(LZ_READY, what="lead zones previewed", across_reloads=True, timeout=60)
    assert viewer.evaluate("GridMap.state.leadZones.ready"), viewer.evaluate(
        "GridMap.state.leadZones.error"
    )
    assert _header(viewer)["name"] == "look"  # no display name: the username
    assert _header(viewer)["role"] == "只读用户"
    assert viewer.evaluate("document.querySelector('.gm-lz-save')") is None
    assert "只能预览" in text_of(viewer, ".gm-lz-view-only")
    zone = viewer.evaluate("GridMap.leadZones.last().zones.features[0].properties.zone_id")
    assert viewer.evaluate(f"GridMap.leadZones.openZone({json.dumps(zone)})")
    viewer.wait_for(
        "!!document.querySelector('.leaflet-popup-content .gm-lz-popup')",
        across_reloads=True,
        timeout=60,
    )
    assert viewer.evaluate("document.querySelector('.leaflet-popup-content .gm-lz-lock')") is None
    # ... and a viewer reads no history: the building popup has no 修改记录.
    assert "gm-history" not in viewer.evaluate("GridMap.popups.buildings({name: '1栋'}, 1)")
    _no_errors(viewer)
    # ... compares community splits, but saves none as new communities.
    viewer.navigate(f"{base}/map/split?community=T1&basemap=none")
    viewer.wait_for(SPLIT_READY, what="split page ready")
    assert viewer.evaluate("document.querySelector('.gm-split-save-open')") is None
    assert "保存为新社区需要规划人员" in text_of(viewer, ".gm-split-view-only")
    assert visible(viewer, '[data-action="generate"]')
    _no_errors(viewer)

    # A planner saves and locks.
    planner = _tab(browser)
    _login(planner, base, "plan", "/map/lead-zones?community=T1")
    planner.wait_for(LZ_READY, what="lead zones previewed", across_reloads=True, timeout=60)
    assert visible(planner, ".gm-lz-save")
    assert planner.evaluate("document.querySelector('.gm-lz-view-only')") is None
    assert planner.evaluate(f"GridMap.leadZones.openZone({json.dumps(zone)})")
    planner.wait_for(
        "!!document.querySelector('.leaflet-popup-content .gm-lz-lock')",
        across_reloads=True,
        timeout=60,
    )
    assert "gm-history" in planner.evaluate("GridMap.popups.buildings({name: '1栋'}, 1)")
    _no_errors(planner)
    planner.navigate(f"{base}/map/split?community=T1&basemap=none")
    planner.wait_for(SPLIT_READY, what="split page ready")
    assert visible(planner, ".gm-split-save-open")
    assert planner.evaluate("document.querySelector('.gm-split-view-only')") is None
    _no_errors(planner)

    # 职能部门人员 may not run analyses: the header does not link them, the pages say why.
    dept = _tab(browser)
    _login(dept, base, "dept")
    dept.wait_for(MAP_READY, what="officer map loaded", across_reloads=True, timeout=60)
    header = _header(dept)
    assert header["role"] == "职能部门人员"
    for path in (
        "/map/service-circle",
        "/map/venues",
        "/map/lead-zones",
        "/map/split",
        "/admin/users",
    ):
        assert not any(path in link for link in header["links"]), path
    for path in ("/map/service-circle", "/map/venues", "/map/lead-zones", "/map/split"):
        dept.navigate(f"{base}{path}?community=T1&basemap=none")
        assert visible(dept, '[data-notice="no-analysis"]'), path
        notice = text_of(dept, '[data-notice="no-analysis"]')
        assert "无权使用分析功能" in notice
        assert "“职能部门人员”角色" in notice and "不能运行分析" in notice
        assert _header(dept)["name"] == "民政科小李"
        assert dept.evaluate("document.querySelector('.gm-notice a').getAttribute('href')") == (
            "/map?community=T1&basemap=none"
        )
    assert dept.requests(lambda u: "/api/analysis/" in u) == [], "no request refused"
    _no_errors(dept)


def test_history_in_the_building_popup_and_restore(
    t1_db: str, live_url: str, browser: Browser
) -> None:
    _add_users(t1_db)
    base = live_url
    planner = _token(base, "plan")
    admin = _token(base, "root")
    status, found = _call(base, "GET", "/api/search?q=B1&community=T1", token=planner)
    assert status == 200, found
    hit = next(r for r in found if r["layer"] == "buildings")
    fid = hit["id"]
    status, before = _call(base, "GET", f"/api/layers/buildings/{fid}", token=planner)
    assert status == 200
    assert before["properties"]["households"] == 60
    # An edit through the API, by the planner.
    status, after = _call(
        base,
        "PATCH",
        f"/api/layers/buildings/{fid}",
        token=planner,
        body={"properties": {"households": 75}, "version": before["properties"]["version"]},
    )
    assert status == 200, after
    status, history = _call(base, "GET", f"/api/layers/buildings/{fid}/history", token=admin)
    assert status == 200 and len(history) >= 2, history
    assert history[0]["changed_by"] == "plan"

    page = _tab(browser)
    _login(page, base, "root")
    page.wait_for(MAP_READY, what="officer map loaded", across_reloads=True, timeout=60)
    header = _header(page)
    assert header["role"] == "系统管理员"
    assert any("/admin/users" in link for link in header["links"]), "用户管理 for admins"
    page.evaluate(f"void GridMap.map.setView([{hit['lat']}, {hit['lon']}], 19, {{animate: false}})")
    page.wait_for(
        "GridMap.pending() === 0 && GridMap.state.buildingTilesLoaded > 0",
        across_reloads=True,
        timeout=60,
    )
    page.click_at(*screen_point(page, hit["lat"], hit["lon"]))
    page.wait_for(
        "!!document.querySelector('.leaflet-popup-content .gm-history')",
        what="popup",
        across_reloads=True,
        timeout=60,
    )
    assert "75 户" in text_of(page, ".leaflet-popup-content")
    assert text_of(page, ".gm-history-toggle").strip() == "修改记录"

    _click_still(page, '.leaflet-popup-content [data-action="history"]')
    page.wait_for(
        "GridMap.state.history && GridMap.state.history.loads === 1",
        what="history",
        across_reloads=True,
        timeout=60,
    )
    entries = page.evaluate(
        """[...document.querySelectorAll('.gm-history-entry')].map(li => ({
          entry: Number(li.dataset.entry),
          text: li.innerText,
          who: li.querySelector('.gm-history-who').textContent,
          channel: li.querySelector('.gm-history-channel').textContent,
          time: li.querySelector('.gm-history-time').textContent,
          restore: !!li.querySelector('[data-action="restore"]'),
        }))"""
    )
    assert [e["entry"] for e in entries] == [h["entry"] for h in history]
    newest = entries[0]
    assert newest["who"] == "plan"
    assert newest["channel"] == "网页/接口"
    assert "修改" in newest["text"]
    assert "户数" in newest["text"] and "60" in newest["text"] and "75" in newest["text"]
    assert "households" not in newest["text"], "fields by their Chinese labels"
    assert "T" not in newest["time"] and "20" in newest["time"], "a local, readable time"
    assert "当前版本" in newest["text"] and not newest["restore"]
    assert all(e["restore"] for e in entries[1:]), "admins restore every earlier version"

    # Restore the version before the edit: a toast, the popup shows the old value again.
    earlier = entries[1]["entry"]
    button = f'.gm-history-entry[data-entry="{earlier}"] [data-action="restore"]'
    # Scroll the history (a box of its own in the popup) to the button, as a person would.
    page.evaluate(
        f"""(() => {{
          const el = document.querySelector({json.dumps(button)});
          const box = el.closest('.gm-history-body');
          const off = el.getBoundingClientRect().top - box.getBoundingClientRect().top;
          box.scrollTop += off - box.clientHeight / 2;
        }})()"""
    )
    _click_still(page, button)
    page.wait_for(
        "GridMap.state.history.restores === 1 && GridMap.state.history.loads === 2"
        " && GridMap.pending() === 0",
        what="restored and history shown anew",
        across_reloads=True,
        timeout=60,
    )
    assert "已恢复到" in text_of(page, ".gm-toast")
    assert "60 户" in text_of(page, ".leaflet-popup-content")
    status, restored = _call(base, "GET", f"/api/layers/buildings/{fid}", token=planner)
    assert status == 200
    assert restored["properties"]["households"] == 60
    status, history = _call(base, "GET", f"/api/layers/buildings/{fid}/history", token=admin)
    assert history[0]["changed_by"] == "root"
    assert page.evaluate("document.querySelectorAll('.gm-history-entry').length") == len(history)
    _no_errors(page)

    # A planner reads the history but restores nothing.
    other = _tab(browser)
    _login(other, base, "plan")
    other.wait_for(MAP_READY, what="officer map loaded", across_reloads=True, timeout=60)
    other.evaluate(
        f"void GridMap.map.setView([{hit['lat']}, {hit['lon']}], 19, {{animate: false}})"
    )
    other.wait_for(
        "GridMap.pending() === 0 && GridMap.state.buildingTilesLoaded > 0",
        across_reloads=True,
        timeout=60,
    )
    other.click_at(*screen_point(other, hit["lat"], hit["lon"]))
    other.wait_for(
        "!!document.querySelector('.leaflet-popup-content .gm-history')",
        what="popup",
        across_reloads=True,
        timeout=60,
    )
    _click_still(other, '.leaflet-popup-content [data-action="history"]')
    other.wait_for(
        "GridMap.state.history && GridMap.state.history.loads === 1",
        what="history",
        across_reloads=True,
        timeout=60,
    )
    assert other.evaluate("document.querySelectorAll('.gm-history-entry').length") == len(history)
    assert other.evaluate("document.querySelector('[data-action=\"restore\"]')") is None
    _no_errors(other)


def test_admin_manages_users(t1_db: str, live_url: str, browser: Browser) -> None:
    _add_users(t1_db)
    base = live_url
    page = _tab(browser)
    _login(page, base, "root", "/admin/users?from=test")
    page.wait_for(
        "GridMap.state.admin && GridMap.state.admin.loads === 1",
        what="users listed",
        across_reloads=True,
        timeout=60,
    )
    assert page.evaluate("document.title").startswith("用户管理")
    assert _header(page)["name"] == "系统管理员老周"
    rows = page.evaluate(
        """Object.fromEntries([...document.querySelectorAll('tr[data-username]')].map(tr =>
          [tr.dataset.username, tr.innerText]))"""
    )
    assert set(USERS) <= set(rows)  # (with any user the test database starts with)
    assert "社区书记/规划人员" in rows["plan"] and "陈书记" in rows["plan"] and "T1" in rows["plan"]
    assert "全部社区" in rows["root"] and "正常" in rows["look"]

    # A refusal is the API's own message, in Chinese.
    page.type_text('[data-form="add"] input[name="username"]', "newbie")
    page.type_text('[data-form="add"] input[name="communities"]', "XX")
    page.type_text('[data-form="add"] input[name="password"]', "fresh-start-42")
    page.evaluate(
        "document.querySelector('[data-form=\"add\"] select[name=\"role\"]').value = 'officer'"
    )
    page.click('[data-form="add"] [data-action="add"]')
    page.wait_for(
        "!document.querySelector('[data-form=\"add\"] .gm-admin-error').hidden",
        across_reloads=True,
        timeout=60,
    )
    assert "社区编号不存在：XX" in text_of(page, '[data-form="add"] .gm-admin-error')

    # Added for real: listed, and the new user can log in.
    page.evaluate(
        "document.querySelector('[data-form=\"add\"] input[name=\"communities\"]').value = ''"
    )
    page.type_text('[data-form="add"] input[name="communities"]', "T1")
    page.type_text('[data-form="add"] input[name="display_name"]', "新网格员")
    page.click('[data-form="add"] [data-action="add"]')
    page.wait_for(
        "GridMap.state.admin.saves === 1 && GridMap.state.admin.loads === 2",
        what="added",
        across_reloads=True,
        timeout=60,
    )
    assert page.evaluate("document.querySelector('[data-form=\"add\"] .gm-admin-error').hidden")
    row = text_of(page, 'tr[data-username="newbie"]')
    assert "新网格员" in row and "网格员" in row and "T1" in row
    status, body = _call(base, "GET", "/api/users", token=_token(base, "root"))
    assert {"username": "newbie", "role": "officer", "communities": ["T1"]}.items() <= next(
        u for u in body if u["username"] == "newbie"
    ).items()

    # Change a role, then disable a user: the API says so too.
    page.click('tr[data-username="look"] [data-action="edit"]')
    page.wait_for(
        "!!document.querySelector('tr[data-edit=\"look\"]')", across_reloads=True, timeout=60
    )
    page.evaluate("document.querySelector('tr[data-edit=\"look\"] select').value = 'department'")
    page.click('tr[data-edit="look"] [data-action="save"]')
    page.wait_for(
        "GridMap.state.admin.saves === 2 && GridMap.state.admin.loads === 3",
        what="saved",
        across_reloads=True,
        timeout=60,
    )
    assert "职能部门人员" in text_of(page, 'tr[data-username="look"] [data-field="role"]')
    page.click('tr[data-username="dept"] [data-action="disable"]')
    page.wait_for(
        "GridMap.state.admin.saves === 3 && GridMap.state.admin.loads === 4",
        what="off",
        across_reloads=True,
        timeout=60,
    )
    assert "已停用" in text_of(page, 'tr[data-username="dept"] [data-field="status"]')
    assert (
        page.evaluate(
            'document.querySelector(\'tr[data-username="root"] [data-action="disable"]\')'
        )
        is None
    )
    status, body = _call(base, "GET", "/api/users", token=_token(base, "root"))
    assert status == 200, body
    by_name = {u["username"]: u for u in body}
    assert by_name["look"]["role"] == "department"
    assert by_name["dept"]["disabled"] is True
    _no_errors(page, "422 /api/users")  # the refusal above, and nothing else

    # Log out; the new user logs in through the form.
    _logout(page)
    page.navigate(f"{base}/login?next=%2Fmap%3Fcommunity%3DT1%26basemap%3Dnone")
    page.type_text('input[name="username"]', "newbie")
    page.type_text('input[name="password"]', "fresh-start-42")
    page.click('button[type="submit"]')
    page.wait_for(
        "location.pathname === '/map' && document.readyState === 'complete'",
        across_reloads=True,
        timeout=60,
    )
    page.wait_for(MAP_READY, what="officer map loaded", across_reloads=True, timeout=60)
    assert _header(page)["name"] == "新网格员"
    assert _header(page)["role"] == "网格员"
    # Not an admin: the user management page is refused, with a zh-CN page.
    status, refused = _call(
        base, "GET", "/admin/users", cookie=f"{SESSION_COOKIE}={_session_cookie(page)}"
    )
    assert status == 403 and "无权" in refused
    _no_errors(page, "422 /api/users")
