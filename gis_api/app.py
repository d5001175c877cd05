"""The FastAPI application: ``create_app(settings)`` builds it; the engines live in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from gis_api import errors, services
from gis_api.routes import analysis, lead_zones, ogc, pages, stats, tiles
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
    )
    app.state.settings = settings
    errors.install(app)
    app.include_router(layer_routes.router)
    app.include_router(tiles.router)
    app.include_router(stats.router)
    app.include_router(stats.health_router)
    app.include_router(analysis.router)
    app.include_router(lead_zones.router)
    app.include_router(pages.router)

    @app.middleware("http")
    async def browsers_to_the_map(request: Request, call_next: Any) -> Any:
        # "/" is the OGC API landing page (QGIS, owslib ask for JSON); people get the map.
        accept = request.headers.get("accept", "")
        wants_page = "text/html" in accept and "f" not in request.query_params
        if request.url.path == "/" and wants_page:
            return RedirectResponse("/map")
        return await call_next(request)

    app.include_router(ogc.features_router().router, tags=["OGC API Features"])
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    return app
