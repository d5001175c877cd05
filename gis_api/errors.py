"""One handler for every user error: FastAPI's 422 body shape, zh-CN messages."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from layers.errors import GridmapError

log = logging.getLogger("gridmap")


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridmapError)
    if exc.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.msg, exc_info=exc)
    else:
        log.info("%s %s: %s %s", request.method, request.url.path, exc.type, exc.msg)
    return JSONResponse({"detail": exc.details()}, status_code=exc.status)


def install(app: FastAPI) -> None:
    """Register the handler for every :class:`GridmapError`."""
    app.add_exception_handler(GridmapError, _handle)
