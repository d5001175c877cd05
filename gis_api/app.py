"""The FastAPI application: ``create_app(settings)`` builds it; the engine lives in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from gis_api import errors, services
from gis_api.routes import layers as layer_routes
from gis_api.settings import Settings, get_settings
from layers import db


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (read from the environment when not given)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db.make_engine(services.database_url(settings))
        app.state.engine = engine
        app.state.sessionmaker = db.make_sessionmaker(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="gridmap 社区网格化管理",
        description="社区、网格、小区、楼栋、服务点等图层的 GIS 服务",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.include_router(layer_routes.router)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
