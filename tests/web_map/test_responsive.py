"""Every map page on a desktop, a tablet and a phone, in a real headless Chromium.

For each map page at 1440 × 900, 1024 × 768 and 390 × 844 (the demo community
QH): the map is shown and most of it is not covered by panels, nothing overflows the window
sideways, the header fits, the community is in view, and nothing failed in the console. On the
phone the panels start closed (each behind a toggle button), the header's links and the user
sit behind a menu button, and every button there is at least 44 px tall. Screenshots go to
``tmp_path`` and are copied to ``/tmp/gridmap-responsive/``.
"""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.web_map.browser import SETTLED, Browser, Page
from tests.web_map.page_specs import PAGES

SIZES: dict[str, tuple[int, int]] = {
    "desktop": (1440, 900),
    "tablet": (1024, 768),
    "phone": (390, 844),
}
SCREENSHOTS = Path("/tmp/gridmap-responsive")
TOUCH_PX = 44

#: What the page's layout is, measured: the map, the header, the open panels, the community.
MEASURE = """(() => {
  const shown = (e) => {
    // Not offsetParent: a bottom sheet is fixed, and has none.
    if (!e || e.hidden || e.getClientRects().length === 0) return false;
    const s = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0;
  };
  const box = (e) => {
    const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,
            width: r.width, height: r.height};
  };
  const vw = innerWidth, vh = innerHeight;
  const map = GridMap.map;
  const mapEl = map.getContainer();
  const bar = document.querySelector('.gm-topbar');
  const panels = [...document.querySelectorAll('.gm-panel, .gm-legend')].filter(shown);
  const covers = panels.map(box).concat([box(bar)]);
  // The share of the window's map left uncovered, on a grid of 10 px.
  let free = 0, all = 0;
  const m = box(mapEl);
  for (let x = 5; x < vw; x += 10) {
    for (let y = 5; y < vh; y += 10) {
      all++;
      const inMap = x >= m.left && x <= m.right && y >= m.top && y <= m.bottom;
      const covered = covers.some(
        (c) => x >= c.left && x <= c.right && y >= c.top && y <= c.bottom);
      if (inMap && !covered) free++;
    }
  }
  const b = GridMap.config.bounds;
  const centre = L.latLng((b[1] + b[3]) / 2, (b[0] + b[2]) / 2);
  const p = map.latLngToContainerPoint(centre);
  const cx = p.x + m.left, cy = p.y + m.top;
  const centreCovered = covers.some(
    (c) => cx >= c.left && cx <= c.right && cy >= c.top && cy <= c.bottom);
  const community = L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]);
  const view = map.getBounds();
  const barParts = [...bar.querySelectorAll('*')].filter(shown).map(box);
  const targets = [...document.querySelectorAll(
    'button, select, input:not([type=hidden]), .leaflet-control-zoom a,'
    + ' .leaflet-control-layers-toggle, .gm-nav-link')]
    .filter(shown)
    .filter((e) => { const r = e.getBoundingClientRect();
                     return r.right > 0 && r.left < vw && r.bottom > 0 && r.top < vh; })
    .map((e) => ({what: e.outerHTML.slice(0, 120), height: e.getBoundingClientRect().height,
                  width: e.getBoundingClientRect().width}));
  return {
    vw, vh,
    scrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    map: m,
    mapShown: shown(mapEl),
    freeShare: free / all,
    bar: box(bar),
    barScroll: [bar.scrollWidth, bar.clientWidth],
    barOutside: barParts.filter((r) => r.right > vw + 0.5 || r.left < -0.5
                                       || r.bottom > box(bar).bottom + 0.5).length,
    panels: panels.map((e) => e.className),
    centreInView: view.contains(centre),
    centreCovered,
    communityInView: view.contains(community),
    zoom: map.getZoom(),
    viewSpan: [view.getEast() - view.getWest(), view.getNorth() - view.getSouth()],
    communitySpan: [b[2] - b[0], b[3] - b[1]],
    targets,
  };
})()"""


def open_page(browser: Browser, base: str, name: str, width: int, height: int) -> Page:
    """Open the map page ``name`` of the demo community at ``width`` × ``height``, settled."""
    page = browser.page(width=width, height=height)
    query = urllib.parse.urlencode({"community": "QH", "basemap": "none"})
    page.navigate(f"{base}{PAGES[name].path}?{query}")
    page.wait_for(
        f"window.GridMap && GridMap.map && ({SETTLED[name]}) && GridMap.pending() === 0",
        timeout=60,
        what=f"{name} settled",
    )
    return page


def measure(page: Page) -> dict[str, Any]:
    """The page's layout, as :data:`MEASURE` reads it."""
    value: dict[str, Any] = page.evaluate(MEASURE)
    return value


def shoot(page: Page, tmp_path: Path, name: str) -> None:
    """Save a screenshot to ``tmp_path`` and copy it to :data:`SCREENSHOTS`."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)


def small(targets: list[dict[str, Any]]) -> list[str]:
    """The touch targets of ``targets`` (as :data:`MEASURE` lists them) under 44 px tall."""
    return [f"{t['height']:.0f} px: {t['what']}" for t in targets if t["height"] < TOUCH_PX - 0.5]


#: The drawers' toggles shown, and the drawers open, by their ``data-drawer``.
DRAWERS = """(() => {
  const shown = (e) => !!e && !e.hidden && e.getClientRects().length > 0
    && getComputedStyle(e).display !== 'none';
  return {
    toggles: [...document.querySelectorAll('[data-drawer-toggle]')].filter(shown)
      .map((e) => e.getAttribute('data-drawer-toggle')),
    open: [...document.querySelectorAll('[data-drawer]')].filter(shown)
      .map((e) => e.getAttribute('data-drawer')),
    menuButton: shown(document.querySelector('.gm-menu-toggle')),
  };
})()"""


def box(page: Page, selector: str) -> dict[str, float]:
    """The viewport rectangle of the first element matching ``selector``."""
    value: dict[str, float] = page.evaluate(
        f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();"
        " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,"
        " width: r.width, height: r.height}; })()"
    )
    return value


def inside(rect: dict[str, float], width: int, height: int) -> bool:
    """Whether ``rect`` lies within a window of ``width`` × ``height``."""
    return (
        rect["left"] >= -0.5
        and rect["top"] >= -0.5
        and rect["right"] <= width + 0.5
        and rect["bottom"] <= height + 0.5
    )


def check_layout(got: dict[str, Any], size: str, where: str) -> None:
    """The checks every page passes at every size, on its first view."""
    width, height = SIZES[size]
    assert got["mapShown"], where
    assert got["map"]["width"] * got["map"]["height"] >= 0.85 * width * height, where
    # Most of the map is the map: not under a panel or the header.
    least = {"desktop": 0.5, "tablet": 0.55, "phone": 0.6}[size]
    assert got["freeShare"] >= least, (where, got["freeShare"], got["panels"])
    # Nothing sideways: no horizontal scrolling, the header's parts all within it.
    assert got["scrollWidth"] <= width, where
    assert got["bodyScrollWidth"] <= width, where
    assert got["bar"]["right"] <= width + 0.5, where
    assert got["barScroll"][0] <= got["barScroll"][1], (where, got["barScroll"])
    assert got["barOutside"] == 0, where
    # The community fits in the map, its centre not under a panel.
    assert got["centreInView"], where
    assert not got["centreCovered"], where
    assert got["communityInView"], (where, got["viewSpan"], got["communitySpan"])
    # Fitted to the community, not to the city: the view is at most a few times wider.
    assert got["viewSpan"][0] <= 6 * got["communitySpan"][0], (where, got["viewSpan"])


def check_phone_drawers(page: Page, tmp_path: Path, name: str) -> None:
    """On the phone each panel opens as a bottom sheet over the map, and closes again."""
    width, height = SIZES["phone"]
    state = page.evaluate(DRAWERS)
    assert state["open"] == [], f"{name}: panels open at first on a phone: {state['open']}"
    assert state["toggles"], f"{name}: no toggle for its panels"
    for kind in state["toggles"]:
        where = f"{name} phone, {kind} open"
        page.click(f'[data-drawer-toggle="{kind}"]')
        page.wait_for(f"{DRAWERS}.open.includes({kind!r})", what=f"{kind} open", timeout=5)
        opened = page.evaluate(DRAWERS)
        assert opened["open"] == [kind], where  # one sheet at a time
        sheet = box(page, f'[data-drawer="{kind}"]')
        assert inside(sheet, width, height), (where, sheet)
        assert sheet["width"] >= width - 1, (where, sheet)  # the whole width
        assert sheet["top"] >= box(page, ".gm-topbar")["bottom"], (where, sheet)
        assert sheet["height"] <= 0.6 * height, (where, sheet)  # the map stays in sight above
        # Nothing of the map (its other controls) lies over the sheet.
        over = page.evaluate(
            f"(() => {{ const s = document.querySelector('[data-drawer=\"{kind}\"]');"
            " const r = s.getBoundingClientRect(); const out = [];"
            " for (const fx of [0.1, 0.5, 0.9]) for (const fy of [0.1, 0.5, 0.95]) {"
            " const e = document.elementFromPoint(r.left + fx * r.width, r.top + fy * r.height);"
            " if (!s.contains(e)) out.push(e ? e.outerHTML.slice(0, 80) : null); }"
            " return out; })()"
        )
        assert over == [], (where, over)
        got = measure(page)
        assert got["scrollWidth"] <= width, where
        close = box(page, f'[data-drawer="{kind}"] .gm-drawer-close')
        assert close["height"] >= TOUCH_PX and close["width"] >= TOUCH_PX, where
        toggles = [t for t in got["targets"] if "gm-drawer" in t["what"]]
        assert not small(toggles), where
        shoot(page, tmp_path, f"{name}-phone-{kind}")
        page.click(f'[data-drawer="{kind}"] .gm-drawer-close')
        page.wait_for(f"!{DRAWERS}.open.length", what=f"{kind} closed", timeout=5)
        assert kind in page.evaluate(DRAWERS)["toggles"], where


def check_phone_menu(page: Page, tmp_path: Path, name: str) -> None:
    """On the phone the header's links, selector and user open from its menu button."""
    width, height = SIZES["phone"]
    assert not page.evaluate(
        "document.querySelector('.gm-topbar-menu').getClientRects().length > 0"
    ), f"{name}: the menu is open at first"
    page.click(".gm-menu-toggle")
    page.wait_for(
        "document.querySelector('.gm-topbar-menu').getClientRects().length > 0",
        what="menu open",
        timeout=5,
    )
    menu = box(page, ".gm-topbar-menu")
    assert inside(menu, width, height), (name, menu)
    for selector in (".gm-nav-link", ".gm-community-select select", ".gm-logout"):
        part = box(page, f".gm-topbar-menu {selector}")
        assert inside(part, width, height), (name, selector, part)
        assert part["height"] >= TOUCH_PX - 0.5, (name, selector, part)
    assert (
        page.evaluate("document.querySelector('.gm-menu-toggle').getAttribute('aria-expanded')")
        == "true"
    )
    assert not small(measure(page)["targets"]), name
    shoot(page, tmp_path, f"{name}-phone-menu")
    # A tap on the map closes it.
    page.click_at(width / 2, height - 120)
    page.wait_for(
        "document.querySelector('.gm-topbar-menu').getClientRects().length === 0",
        what="menu closed",
        timeout=5,
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_map_pages_fit_the_screen(
    size: str, demo_url: str, browser: Browser, tmp_path: Path
) -> None:
    width, height = SIZES[size]
    for name in PAGES:
        page = open_page(browser, demo_url, name, width, height)
        shoot(page, tmp_path, f"{name}-{size}")
        got = measure(page)
        where = f"{name} at {size} ({width} × {height})"
        check_layout(got, size, where)
        drawers = page.evaluate(DRAWERS)
        if size == "desktop":
            # As it always was: every panel open, no toggle and no menu button.
            assert drawers["toggles"] == [], where
            assert not drawers["menuButton"], where
            assert page.evaluate("document.querySelector('.gm-nav').offsetParent !== null")
        elif size == "tablet":
            # The panel open as a drawer; the legend closed behind its toggle.
            assert drawers["menuButton"], where
            assert "legend" not in drawers["open"], where
            assert [k for k in drawers["open"] if k != "legend"], where
            assert page.evaluate(
                "document.querySelector('.gm-community-select').offsetParent !== null"
            ), where
        else:
            assert not small(got["targets"]), (where, small(got["targets"]))
            check_phone_menu(page, tmp_path, name)
            check_phone_drawers(page, tmp_path, name)
        assert page.console_errors() == [], where
        page.call("Page.close")
