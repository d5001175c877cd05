"""PostGIS queries of the store: each takes the caller's session and runs in its transaction.

One module per concern, every public name re-exported here:

- :mod:`layers.queries.reads`: :func:`read_frame` (the one place layers are read), community
  ids, layers' features by filter and page, whole layers and the network for export;
- :mod:`layers.queries.writes`: COPY of rows into a table;
- :mod:`layers.queries.assign`: the compound, grid and street each feature lies in;
- :mod:`layers.queries.tiles`: Mapbox Vector Tiles of the layers;
- :mod:`layers.queries.stats`: summary figures and search;
- :mod:`layers.queries.inputs`: the layers the analyses read;
- :mod:`layers.queries.lead_zones`: saved building-lead zones.
"""

from __future__ import annotations

from layers.queries.assign import refresh_assignments
from layers.queries.inputs import (
    AnalysisInputs,
    SplitInputs,
    analysis_inputs,
    split_inputs,
    split_revision,
)
from layers.queries.lead_zones import lock_zone, save_zones, stored_zones, zone_roster
from layers.queries.reads import (
    STORE_CRS,
    Filters,
    community_id,
    layer_features,
    read_frame,
    read_layer,
    read_network,
)
from layers.queries.stats import search, summary, summary_at
from layers.queries.tiles import TILE_PROPERTIES, vector_tile
from layers.queries.writes import COPY_CHUNK, Progress, copy_rows

__all__ = [
    "COPY_CHUNK",
    "STORE_CRS",
    "TILE_PROPERTIES",
    "AnalysisInputs",
    "Filters",
    "Progress",
    "SplitInputs",
    "analysis_inputs",
    "community_id",
    "copy_rows",
    "layer_features",
    "lock_zone",
    "read_frame",
    "read_layer",
    "read_network",
    "refresh_assignments",
    "save_zones",
    "search",
    "split_inputs",
    "split_revision",
    "stored_zones",
    "summary",
    "summary_at",
    "vector_tile",
    "zone_roster",
]
