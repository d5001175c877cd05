"""Export a layer from the store to a file, in WGS84 or converted to the CRS asked for."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from layers import crs as crsmod
from layers.errors import NotFound
from layers.io.files import file_format, write_table
from layers.queries import read_layer, read_network
from layers.schema import LAYER_NAMES, LAYERS


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    layer: str
    path: Path
    rows: int
    crs: str
    seconds: float


def export_layer(
    session: Session,
    layer: str,
    path: Path,
    *,
    crs: str | None = None,
    community: str | None = None,
    headers: str = "en",
) -> ExportReport:
    """Write ``layer`` (optionally one community's features) to ``path``.

    Coordinates are WGS84 unless ``crs`` names another system (``gcj02`` for Amap overlays,
    ``bd09``, ``cgcs2000`` or ``EPSG:n``). ``headers="zh"`` writes Chinese column names,
    which the importer reads back.
    """
    started = time.perf_counter()
    if layer not in LAYER_NAMES:
        msg = f"未知图层：{layer}（可选：{'、'.join(LAYER_NAMES)}）"
        raise NotFound(msg, loc=("layer",))
    file_format(path)  # fail on an unknown suffix before querying anything
    spec = crsmod.parse_crs(crs)
    if layer == "network":
        frame = read_network(session, community=community)
    else:
        frame = read_layer(session, layer, community=community)
    frame = frame.rename_geometry("geometry")
    frame = frame.set_geometry(crsmod.from_wgs84(frame.geometry, spec))
    if headers == "zh" and layer in LAYERS:
        names = {f.name: f.zh for f in LAYERS[layer].fields}
        names |= {"code": "编号", "community": "社区"}
        frame = frame.rename(columns=names)
    write_table(frame, path)
    return ExportReport(layer, path, len(frame), spec.label, time.perf_counter() - started)
