"""Run gridmap as the tests do: its command line in-process, its app over real HTTP.

:func:`serve` puts the real app (``gis_api.app.create_app``, pages included) on a free
loopback port; :func:`get_json` and :func:`post_json` ask it, as a browser's scripts would.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from typer.testing import CliRunner

from gis_api.app import create_app
from gis_api.cli import app
from gis_api.settings import Settings
from tests.databases import admin_headers

runner = CliRunner()


def gridmap(*args: str) -> tuple[int, str]:
    """Run ``gridmap ARGS``; return its exit code and everything it printed."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@contextmanager
def serve(database_url: str, *, log_level: str = "warning") -> Iterator[str]:
    """Serve the app on ``database_url`` over HTTP on a free loopback port; yield its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(Settings(database_url=database_url)),
        host="127.0.0.1",
        port=port,
        log_level=log_level,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def get_json(base: str, path: str, **params: Any) -> Any:
    """GET ``path?params`` of the app at ``base``; its JSON answer."""
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers=admin_headers())
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def post_json(base: str, path: str, body: dict[str, Any]) -> Any:
    """POST ``body`` as JSON to ``path`` of the app at ``base``; its JSON answer."""
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            **admin_headers(),
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)
