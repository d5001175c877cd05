"""Result tables as file downloads (CSV, Excel, GeoJSON), written to a folder removed after."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

import geopandas as gpd

from gis_api.analyses.common import write_table

#: The file formats a download may be asked in.
Format = Annotated[str, Query(alias="format", pattern="^(csv|xlsx|geojson)$")]


def table_download(frame: gpd.GeoDataFrame, filename: str) -> FileResponse:
    """Return ``frame`` written as ``filename`` (its suffix picks the format) for download."""
    folder = Path(tempfile.mkdtemp(prefix="gridmap-download-"))
    path = folder / filename
    write_table(frame, path)
    return FileResponse(
        path, filename=path.name, background=BackgroundTask(shutil.rmtree, folder, True)
    )
