"""API request and response models (GeoJSON in, GeoJSON out)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class FeatureIn(BaseModel):
    """A GeoJSON Feature to create or replace: ``properties.code`` is its id in the layer."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None
    properties: dict[str, Any] = Field(default_factory=dict)


class FeatureCollectionIn(BaseModel):
    """A GeoJSON FeatureCollection to create or update, all or nothing."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[FeatureIn]


class FeaturePatch(BaseModel):
    """A change to one feature: some properties, maybe a new geometry, and its version.

    ``version`` is the version the editor started from (``properties.version`` of the
    feature read, or send its ``ETag`` as ``If-Match`` instead): it is required, a stale one
    is refused with 409, so two field staff editing one feature never overwrite each other.
    Only the properties sent are written.
    """

    properties: dict[str, Any] = Field(
        default_factory=dict, description="要修改的字段（只写这些，其余字段不变）"
    )
    geometry: dict[str, Any] | None = Field(
        default=None, description="新的几何（GeoJSON，WGS84）；不给则不变"
    )
    version: int | None = Field(
        default=None,
        ge=1,
        description="读取时的版本号（properties.version）；也可用请求头 If-Match 代替",
    )


class ImportResult(BaseModel):
    """What an import or a write did."""

    layer: str
    rows: int
    added: int
    updated: int
    unchanged: int
    ids: list[int] = Field(default_factory=list)
    ignored_columns: list[str] = Field(default_factory=list)
    crs: str
    seconds: float
