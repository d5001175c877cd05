"""The FastAPI application: ``create_app(settings)`` builds it; the engines live in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from gis_api import auth, errors, services
from gis_api.deps import TextParams
from gis_api.limits import BodySizeLimit
from gis_api.routes import (
    analysis,
    event_stats,
    events,
    field,
    lead_zones,
    ogc,
    open311,
    pages,
    photos,
    split,
    stats,
    tiles,
    users,
    walk,
)
from gis_api.routes import auth as auth_routes
from gis_api.routes import layers as layer_routes
from gis_api.settings import Settings, get_settings
from layers import db

STATIC_DIR = services.PROJECT_ROOT / "web_map" / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (read from the environment when not given)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = services.database_url(settings)
        engine = db.make_engine(url)
        app.state.engine = engine
        app.state.sessionmaker = db.make_sessionmaker(engine)
        await ogc.open_catalog(app, url)
        yield
        await ogc.close_catalog(app)
        engine.dispose()

    app = FastAPI(
        title="gridmap 社区网格化管理",
        description=(
            "社区、网格、小区、楼栋、服务点等图层的 GIS 服务：GeoJSON、矢量瓦片、"
            "OGC API Features（可在 QGIS 中直接添加）、汇总统计与搜索。"
        ),
        version="0.1.0",
        lifespan=lifespan,
        # Every operation, ours and the OGC API's: no NUL in a query or path parameter.
        dependencies=[TextParams],
    )
    app.state.settings = settings
    app.state.login_attempts = auth.Attempts()
    errors.install(app)
    ogc.install_errors(app)

    @app.exception_handler(auth.LoginRequired)
    async def _to_login(request: Request, _exc: auth.LoginRequired) -> RedirectResponse:
        return auth_routes.login_redirect(request)

    @app.exception_handler(auth.PageForbidden)
    async def _forbidden_page(_request: Request, exc: auth.PageForbidden) -> HTMLResponse:
        return auth_routes.forbidden_page(exc.msg)

    app.include_router(auth_routes.router)
    app.include_router(users.router)
    app.include_router(layer_routes.router)
    app.include_router(tiles.router)
    app.include_router(stats.router)
    app.include_router(stats.health_router)
    app.include_router(analysis.router)
    app.include_router(lead_zones.router)
    app.include_router(split.router)
    app.include_router(event_stats.router)  # before events: /api/events/{code} takes all
    app.include_router(events.router)
    app.include_router(open311.router)
    app.include_router(pages.router)
    app.include_router(field.router)
    app.include_router(photos.router)
    app.include_router(walk.router)

    # QGIS and other OGC clients send the same bearer token (a personal token) as the API.
    app.include_router(
        ogc.features_router().router, tags=["OGC API Features"], dependencies=[auth.READ]
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    app.add_middleware(BrowsersToTheMap)
    app.add_middleware(
        BodySizeLimit,
        json_bytes=int(settings.max_body_mb * (1 << 20)),
        upload_bytes=int(settings.max_upload_mb * (1 << 20)),
    )
    return app


class BrowsersToTheMap:
    """ASGI middleware: people asking "/" for HTML get the map.

    "/" is the OGC API landing page, which QGIS and owslib ask for as JSON.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
    runs the app in a task group, which wraps an error raised while the body is read (the
    size limit's) in an exception group that no handler would recognise.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Redirect a browser's "/" to "/map"; pass everything else on."""
        if scope["type"] == "http" and scope["path"] == "/":
            request = Request(scope)
            accept = request.headers.get("accept", "")
            if "text/html" in accept and "f" not in request.query_params:
                await RedirectResponse("/map")(scope, receive, send)
                return
        await self.app(scope, receive, send)
