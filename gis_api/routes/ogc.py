"""OGC API - Features, by mounting developmentseed/tipg's factory on our layer tables.

tipg names collections ``schema.table``; the issue and our users name them like our layers
(``buildings``), so the catalog is re-keyed by layer name and the collection lookup
dependency is ours. Everything else (items, paging, bbox, CQL2 filters, HTML, conformance,
landing page) is tipg's.

The client errors under the OGC API (:func:`install_errors`, :func:`check_request`) and the
collection lookup dependency (:func:`layer_collection`) live in
:mod:`gis_api.routes.ogc_errors` and :mod:`gis_api.routes.ogc_handlers`; they are
re-exported here.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, FastAPI
from tipg.collections import Catalog, register_collection_catalog
from tipg.database import close_db_connection, connect_to_db
from tipg.factory import OGCFeaturesFactory
from tipg.settings import DatabaseSettings, PostgresSettings

from gis_api.routes.ogc_errors import OgcError, check_request, layer_collection
from gis_api.routes.ogc_handlers import install_errors
from layers.schema import LAYERS, PERSONAL_COLUMNS

__all__ = [
    "COLLECTIONS",
    "OgcError",
    "check_request",
    "close_catalog",
    "features_router",
    "install_errors",
    "layer_collection",
    "open_catalog",
]

#: Table → collection id and title.
COLLECTIONS = {layer.table: (name, layer.zh) for name, layer in LAYERS.items()}
COLLECTIONS["walk_edges"] = ("network", "步行路网")
COLLECTIONS["events"] = ("events", "事件")
#: Personal fields beyond the layers' (an event's reporter): never through OGC API Features.
HIDDEN = PERSONAL_COLUMNS | {"reporter_name", "reporter_phone"}


def features_router() -> OGCFeaturesFactory:
    """Build the OGC API Features endpoints: landing, conformance, collections, items."""
    return OGCFeaturesFactory(
        router=APIRouter(dependencies=[Depends(check_request)]),
        title="gridmap 社区网格化管理 OGC API",
        collection_dependency=layer_collection,
        with_common=True,
    )


async def open_catalog(app: FastAPI, url: str) -> None:
    """Open tipg's connection pool on ``url`` and register our tables as collections."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    await connect_to_db(
        app,
        schemas=["public"],
        settings=PostgresSettings(database_url=dsn),
        server_settings={"jit": "off"},
    )
    await register_collection_catalog(
        app,
        db_settings=DatabaseSettings(
            schemas=["public"],
            tables=[f"public.{t}" for t in COLLECTIONS],
            exclude_function_schemas=["public"],
            datetime_extent=False,
        ),
    )
    catalog: Catalog = app.state.collection_catalog
    renamed = {}
    for collection in catalog["collections"].values():
        if collection.table not in COLLECTIONS:
            continue  # PostGIS's own functions live in public too
        name, title = COLLECTIONS[collection.table]
        # Personal fields (names, phones) never leave through OGC API Features, for anyone:
        # the collection does not know them, so no property list, filter or sort reaches them.
        public = [p for p in collection.properties if p.name not in HIDDEN]
        # tipg's collection list shows ids as titles; the description carries the name too.
        renamed[name] = collection.model_copy(
            update={
                "id": name,
                "title": title,
                "description": f"{title}（{name}）",
                "properties": public,
            }
        )
    app.state.collection_catalog = Catalog(
        collections=renamed, last_updated=dt.datetime.now(tz=dt.UTC)
    )


async def close_catalog(app: FastAPI) -> None:
    """Close tipg's connection pool."""
    await close_db_connection(app)
