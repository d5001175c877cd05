"""Demo data: the generated Qiaohua community, generated cities and the real Haidian extract.

Everything goes through the same validating importer as a user's files, so demo data obeys
every rule real data does, and loading twice updates in place.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

import geopandas as gpd

from layers.errors import NotFound
from layers.importing import Options, import_frame
from layers.reports import ImportReport, Progress
from layers.synth import SynthCity, generate_community
from layers.walkways import import_ways

DATA_DIR = Path(__file__).parent / "data"
XIQIAO_CODE = "440605-XQ"
#: Layers in load order: parents first, so children find their community and compound.
LOAD_ORDER = (
    "communities",
    "grids",
    "compounds",
    "gates",
    "barriers",
    "buildings",
    "service_points",
    "candidate_venues",
)
PLACES = ("qiaohua", "haidian")


def xiqiao_street() -> gpd.GeoDataFrame:
    """Return the real boundary of Xiqiao town (西樵镇), Nanhai (OpenStreetMap, ODbL)."""
    towns = gpd.read_file(DATA_DIR / "nanhai" / "nanhai_towns_real.geojson")
    town = towns[towns["name"] == "西樵镇"][["name", "geometry"]].copy()
    town.insert(0, "code", XIQIAO_CODE)
    return town.reset_index(drop=True)


def load_place(
    session: Session,
    place: str,
    *,
    gate_tolerance_m: float = 15.0,
    network_buffer_m: float = 500.0,
    progress: Progress | None = None,
) -> list[ImportReport]:
    """Load a demo place into the store, in the session's transaction."""
    if place == "qiaohua":
        reports = [import_frame(session, "streets", xiqiao_street())]
        city = generate_community()
    elif place == "haidian":
        from layers.haidian import haidian_city

        reports = []
        city = haidian_city()
    else:
        msg = f"未知的演示地点：{place}（可选：{'、'.join(PLACES)}）"
        raise NotFound(msg, loc=("place",))
    reports += load_city(
        session,
        city,
        gate_tolerance_m=gate_tolerance_m,
        network_buffer_m=network_buffer_m,
        progress=progress,
    )
    return reports


def load_city(
    session: Session,
    city: SynthCity,
    *,
    gate_tolerance_m: float = 15.0,
    network_buffer_m: float = 500.0,
    progress: Progress | None = None,
) -> list[ImportReport]:
    """Import every layer of ``city`` and each community's walking network."""
    reports = []
    options = Options(boundary_tolerance_m=1.0)
    for layer in LOAD_ORDER:
        frame = city.layers.get(layer)
        if frame is None or len(frame) == 0:
            continue
        reports.append(import_frame(session, layer, frame, options=options, progress=progress))
    network: ImportReport | None = None
    # Each community keeps the ways within its buffer; ways near a shared edge belong to both.
    for community in city.layers["communities"]["code"]:
        report = import_ways(
            session,
            city.ways,
            community=str(community),
            buffer_m=network_buffer_m,
            gate_tolerance_m=gate_tolerance_m,
            progress=progress,
        )
        if network is None:
            network = report
        else:
            for attr in ("rows", "added", "updated", "removed", "nodes", "edges"):
                setattr(network, attr, getattr(network, attr) + getattr(report, attr))
            network.seconds += report.seconds
    if network is not None:
        reports.append(network)
    return reports


def write_city(city: SynthCity, path: Path) -> None:
    """Write every layer of ``city`` (and its ways) to one GeoPackage, a layer each."""
    if path.exists():
        path.unlink()
    for layer, frame in city.layers.items():
        if len(frame):
            frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    city.ways.to_file(path, layer="network", driver="GPKG", engine="pyogrio")
