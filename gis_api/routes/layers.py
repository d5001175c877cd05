"""Layer endpoints: health and each layer as a GeoJSON FeatureCollection."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import text

from gis_api.deps import SessionDep
from layers.errors import NotFound
from layers.queries import read_layer
from layers.schema import LAYERS

router = APIRouter(tags=["layers"])


@router.get("/health", summary="服务与数据库状态")
def health(session: SessionDep) -> dict[str, Any]:
    """Answer whether the database is reachable, with PostGIS version and feature counts."""
    postgis = session.execute(text("SELECT postgis_lib_version()")).scalar()
    counts = {
        name: int(session.execute(text(f"SELECT count(*) FROM {layer.table}")).scalar_one())
        for name, layer in LAYERS.items()
    }
    return {"status": "ok", "postgis": postgis, "counts": counts}


@router.get("/api/layers/{layer}", summary="图层要素（GeoJSON）")
def layer_features(
    layer: str,
    session: SessionDep,
    community: Annotated[str | None, Query(description="社区编号")] = None,
) -> dict[str, Any]:
    """Return every feature of ``layer`` (optionally one community's) as GeoJSON, WGS84."""
    if layer not in LAYERS:
        msg = f"未知图层：{layer}（可选：{'、'.join(LAYERS)}）"
        raise NotFound(msg, loc=("path", "layer"))
    frame = read_layer(session, layer, community=community)
    collection: dict[str, Any] = json.loads(frame.to_json(na="null", drop_id=True))
    collection["numberMatched"] = collection["numberReturned"] = len(frame)
    return collection
