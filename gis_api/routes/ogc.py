"""OGC API - Features, by mounting developmentseed/tipg's factory on our layer tables.

tipg names collections ``schema.table``; the issue and our users name them like our layers
(``buildings``), so the catalog is re-keyed by layer name and the collection lookup
dependency is ours. Everything else (items, paging, bbox, CQL2 filters, HTML, conformance,
landing page) is tipg's.
"""

from __future__ import annotations

import datetime
from typing import Annotated

from fastapi import FastAPI, Path, Request
from tipg.collections import Catalog, Collection, register_collection_catalog
from tipg.database import close_db_connection, connect_to_db
from tipg.factory import OGCFeaturesFactory
from tipg.settings import DatabaseSettings, PostgresSettings

from layers.errors import NotFound
from layers.schema import LAYERS

#: Table → collection id and title.
COLLECTIONS = {layer.table: (name, layer.zh) for name, layer in LAYERS.items()}
COLLECTIONS["walk_edges"] = ("network", "步行路网")


def layer_collection(
    request: Request,
    collectionId: Annotated[str, Path(description="图层 id，如 buildings")],
) -> Collection:
    """Find a collection by layer name (``buildings``), not tipg's ``public.buildings``."""
    catalog: Catalog = request.app.state.collection_catalog
    if collectionId in catalog["collections"]:
        return catalog["collections"][collectionId]
    known = "、".join(sorted(catalog["collections"]))
    msg = f"没有名为“{collectionId}”的图层集合（可选：{known}）"
    raise NotFound(msg, loc=("path", "collectionId"))


def features_router() -> OGCFeaturesFactory:
    """Build the OGC API Features endpoints: landing, conformance, collections, items."""
    return OGCFeaturesFactory(
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
        # tipg's collection list shows ids as titles; the description carries the name too.
        renamed[name] = collection.model_copy(
            update={"id": name, "title": title, "description": f"{title}（{name}）"}
        )
    app.state.collection_catalog = Catalog(
        collections=renamed, last_updated=datetime.datetime.now(tz=datetime.UTC)
    )


async def close_catalog(app: FastAPI) -> None:
    """Close tipg's connection pool."""
    await close_db_connection(app)
