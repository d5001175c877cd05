"""A headless Chromium driven over the Chrome DevTools Protocol, on a pipe.

``--remote-debugging-pipe`` makes Chromium read commands on fd 3 and write answers and events on
fd 4, each a JSON message ending in a NUL byte. That needs neither a driver binary nor a
websocket library: the Debian ``chromium`` package and the standard library are enough.

Below the driver, the helpers every Chromium test of the pages uses: reading a page
(:func:`text_of`, :func:`visible`, :func:`js`), a map point's pixel (:func:`screen_point`) and
opening the pages side by side until they have settled (:func:`open_pages`).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.databases import ADMIN
from tests.web_map.page_specs import PAGES

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def find_chromium() -> str:
    """Return the Chromium binary, or fail saying how to install it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    msg = "Chromium is not installed: run `bash scripts/install-system-deps.sh` (Debian chromium)"
    raise RuntimeError(msg)


def _high_pipe() -> tuple[int, int]:
    """A pipe whose two ends are numbered 10 or above."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return ends[0], ends[1]


class CdpError(RuntimeError):
    """A DevTools command answered with an error, or timed out."""


class Browser:
    """One Chromium process; ``page()`` opens a tab to drive."""

    def __init__(self, *, binary: str | None = None) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="gridmap-chromium-"))
        self.log = self.profile.with_suffix(".log")
        to_child_r, self._to_child = _high_pipe()
        self._from_child, from_child_w = _high_pipe()
        # bash puts our pipe ends on fds 3 and 4, where Chromium expects them (both ends
        # were first moved above fd 9, so neither redirection clobbers the other).
        script = f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w}'
        args = [binary or find_chromium(), *FLAGS, f"--user-data-dir={self.profile}"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["/bin/bash", "-c", script, *args],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        os.close(to_child_r)
        os.close(from_child_w)
        self._lock = threading.Condition()
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.version = self.send("Browser.getVersion")
        except (CdpError, OSError) as exc:
            output = self.log.read_text(errors="replace")[-2000:]
            self.close()
            msg = f"Chromium did not start: {exc}\n{output}"
            raise CdpError(msg) from exc

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    self._lock.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._lock:
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                    self._lock.notify_all()

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send one command and return its result."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_child, json.dumps(message).encode() + b"\0")
        except OSError as exc:
            msg = f"{method}: Chromium is gone ({exc})"
            raise CdpError(msg) from exc
        deadline = time.monotonic() + timeout
        with self._lock:
            while ident not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    msg = f"{method}: no answer from Chromium within {timeout} s"
                    raise CdpError(msg)
                self._lock.wait(left)
            answer = self._answers.pop(ident)
        if "error" in answer:
            msg = f"{method}: {answer['error']}"
            raise CdpError(msg)
        result: dict[str, Any] = answer.get("result", {})
        return result

    def page(self, *, width: int = 1440, height: int = 900, login: bool = True) -> Page:
        """Open a blank tab of ``width`` x ``height`` CSS pixels.

        With ``login`` every page it opens is the tests' administrator's (the session and CSRF
        cookies of :data:`tests.databases.ADMIN`); without, the tab logs in as a user would.
        """
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        return Page(self, session["sessionId"], width=width, height=height, login=login)

    def close(self) -> None:
        """Quit Chromium and remove its profile."""
        with contextlib.suppress(CdpError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log.unlink(missing_ok=True)


class Page:
    """One tab: navigate, evaluate JavaScript, click, screenshot, collect console errors."""

    def __init__(
        self, browser: Browser, session: str, *, width: int, height: int, login: bool = True
    ) -> None:
        self.browser = browser
        self.session = session
        self.login = login
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command to this tab."""
        return self.browser.send(method, params, session=self.session)

    def _events(self) -> list[dict[str, Any]]:
        with self.browser._lock:
            return [e for e in self.browser.events if e.get("sessionId") == self.session]

    def log_in(self, url: str) -> None:
        """Give the tab the administrator's session for the site of ``url`` (with ``login``)."""
        if not self.login:
            return
        origin = "/".join(url.split("/")[:3])
        for name, value in (
            ("gridmap_session", ADMIN.session_token),
            ("gridmap_csrf", ADMIN.csrf),
        ):
            self.call("Network.setCookie", {"name": name, "value": value, "url": origin})

    def navigate(self, url: str, *, timeout: float = 30.0) -> None:
        """Open ``url`` and wait for its load event."""
        self.log_in(url)
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", timeout=timeout)

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        """Evaluate ``expression`` in the page and return its value (JSON-serialisable)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": await_promise},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            msg = f"JavaScript error in {expression!r}: {text}"
            raise CdpError(msg)
        return result["result"].get("value")

    def wait_for(
        self,
        expression: str,
        *,
        timeout: float = 30.0,
        what: str = "",
        across_reloads: bool = False,
    ) -> Any:
        """Poll ``expression`` until it is truthy; return its value.

        With ``across_reloads`` an error counts as "not yet": a page being replaced by a
        navigation or a reload answers no evaluation for a moment.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except CdpError:
                if not across_reloads:
                    raise
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                msg = f"timed out after {timeout} s waiting for {what or expression}"
                raise TimeoutError(msg)
            time.sleep(0.1)

    def click_at(self, x: float, y: float) -> None:
        """Click the left mouse button at viewport CSS pixel (x, y)."""
        self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    def click(self, selector: str) -> None:
        """Click the centre of the first element matching ``selector``."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        self.click_at(*box)

    def type_text(self, selector: str, text: str) -> None:
        """Focus ``selector`` and type ``text`` into it (as an input method would)."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", {"text": text})

    def screenshot(self, path: Path) -> bytes:
        """Save a PNG of the viewport to ``path`` and return its bytes."""
        data = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads the page has had so far."""
        errors = []
        for event in self._events():
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
                args = params.get("args", [])
                errors.append(
                    "console.error: "
                    + " ".join(str(a.get("value", a.get("description", ""))) for a in args)
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                text = details.get("exception", {}).get("description") or details.get("text")
                errors.append(f"uncaught: {text}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                errors.append(f"network: {params.get('errorText')} ({params.get('type')})")
        return errors

    def requests(self, predicate: Callable[[str], bool] | None = None) -> list[str]:
        """URLs the page has requested (optionally only those ``predicate`` accepts)."""
        urls = [
            e["params"]["request"]["url"]
            for e in self._events()
            if e.get("method") == "Network.requestWillBeSent"
        ]
        return [u for u in urls if predicate is None or predicate(u)]


# --- reading the gridmap pages ----------------------------------------------------------------


def js(page: Page, expression: str) -> Any:
    """The value of ``expression`` in ``page``."""
    return page.evaluate(expression)


def text_of(page: Page, selector: str) -> str:
    """The rendered text of the first element matching ``selector`` (failing when none does)."""
    value = page.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " return e ? e.innerText : null; })()"
    )
    assert value is not None, f"nothing matches {selector}"
    return str(value)


def visible(page: Page, selector: str) -> bool:
    """Whether the first element matching ``selector`` is shown."""
    return bool(
        page.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " return !!e && !e.hidden && e.offsetParent !== null; })()"
        )
    )


def screen_point(page: Page, lat: float, lon: float) -> tuple[float, float]:
    """Viewport pixel of a WGS84 point on the map."""
    x, y = page.evaluate(
        f"(() => {{ const p = GridMap.map.latLngToContainerPoint([{lat}, {lon}]);"
        " const r = GridMap.map.getContainer().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; })()"
    )
    return float(x), float(y)


#: When a page has nothing more to load: drawn, or told what it cannot compute.
SETTLED = {
    "officer": (
        "GridMap.state.statsLoaded > 0 && ['communities', 'grids', 'compounds', 'gates',"
        " 'service_points'].every(n => GridMap.state.layersLoaded[n] !== undefined)"
    ),
    "circle": (
        "GridMap.state.circle && (GridMap.state.circle.ready || GridMap.state.circle.blocked"
        " || GridMap.state.circle.error)"
    ),
    "venues": (
        "GridMap.state.venues && (GridMap.state.venues.ready || GridMap.state.venues.blocked"
        " || GridMap.state.venues.error)"
    ),
    "lead_zones": (
        "GridMap.state.leadZones && (GridMap.state.leadZones.ready"
        " || GridMap.state.leadZones.blocked || GridMap.state.leadZones.error)"
    ),
    # The split asks for plans only when told to (生成方案): it has settled once it waits.
    "split": (
        "GridMap.state.split && (GridMap.state.split.idle || GridMap.state.split.blocked)"
        " && !GridMap.state.split.running"
    ),
}


def open_pages(
    browser: Browser,
    base: str,
    community: str = "T1",
    *,
    before: str | None = None,
    which: tuple[str, ...] = tuple(PAGES),
) -> dict[str, Page]:
    """Open the pages side by side (``before``: a script run first in each) until settled."""
    pages: dict[str, Page] = {}
    for name in which:
        page = browser.page(width=1280, height=800)
        if before:
            page.call("Page.addScriptToEvaluateOnNewDocument", {"source": before})
        query = urllib.parse.urlencode({"community": community, "basemap": "none"})
        page.log_in(base)
        page.call("Page.navigate", {"url": f"{base}{PAGES[name].path}?{query}"})
        pages[name] = page
    for name, page in pages.items():
        # A tab in the background gets no animation frames: bring each forward to finish.
        page.call("Page.bringToFront")
        page.wait_for("document.readyState === 'complete'", what=f"{name} loaded")
        page.wait_for(
            f"window.GridMap && GridMap.map && ({SETTLED[name]}) && GridMap.pending() === 0",
            timeout=60,
            what=f"{name} settled",
        )
    return pages
