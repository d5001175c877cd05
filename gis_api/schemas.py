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
    """A change to one feature: some properties, maybe a new geometry.

    For buildings, ``version`` is the version the editor started from: a stale one is refused
    with 409, so two field staff editing one building never silently overwrite each other.
    """

    properties: dict[str, Any] = Field(default_factory=dict)
    geometry: dict[str, Any] | None = None
    version: int | None = None


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
