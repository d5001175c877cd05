"""Read OpenStreetMap extracts (.osm.pbf, .osm XML) and GeoJSON line files for networks."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import osmium
import shapely

from layers.errors import BadFile, InvalidGeometry
from layers.io.files import bad_file, read_vector, technical

__all__ = ["OsmExtract", "read_lines", "read_osm"]

WGS84 = "EPSG:4326"
PROGRESS_EVERY = 10_000

WALKABLE = frozenset({
    "footway", "path", "pedestrian", "steps", "living_street", "residential", "service",
    "unclassified", "tertiary", "secondary", "primary", "track", "cycleway", "corridor",
    "trunk_link", "primary_link", "secondary_link", "tertiary_link", "road", "bridleway",
})  # fmt: skip
# Motor roads people may not walk on unless a foot tag says they may.
MOTOR_ONLY = frozenset({"motorway", "motorway_link", "trunk"})
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
WALLS = frozenset({"wall", "fence", "city_wall"})
GATES = frozenset({
    "gate", "entrance", "lift_gate", "turnstile", "kissing_gate", "swing_gate", "sliding_gate",
})  # fmt: skip
POI_KEYS = ("amenity", "shop", "leisure", "office")
LINE_SUFFIXES = (".geojson", ".json", ".geojsonl", ".geojsons", ".ndjson")

# Every key read below; the filter drops all other objects (most nodes) before Python.
_KEYS = ("highway", "barrier", "entrance", "building", "landuse", "residential", *POI_KEYS)
_AREA_KEYS = ("building", "landuse", "residential")
_HEIGHT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(?:m|metres?|meters?|米)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class OsmExtract:
    """The layers of an OSM extract that gridmap uses, all in EPSG:4326.

    Attributes
    ----------
    ways
        Walkable highways as LineStrings: ``code`` (``"w<way id>"``), ``highway``, ``name``.
    buildings
        Polygons / MultiPolygons of ``building=*`` closed ways and multipolygon relations:
        ``code`` (``"w<id>"`` / ``"r<id>"``), ``name``, ``building`` (its value), ``levels``
        (from ``building:levels``) and ``height_m`` (from ``height``), NaN when absent or
        unreadable.
    residential
        ``landuse=residential`` (or ``residential=*``) areas: ``code``, ``name``.
    barriers
        ``barrier=wall|fence|city_wall`` ways as LineStrings (closed ones stay rings):
        ``code``, ``barrier``.
    gates
        Gate and entrance nodes: ``code`` (``"n<node id>"``), ``name``, ``kind`` (the
        ``barrier`` value, else the ``entrance`` value) and ``is_open`` (False when
        ``access=no|private`` or ``locked=yes``).
    pois
        Nodes with ``amenity``, ``shop``, ``leisure`` or ``office``: ``code``, ``name``,
        ``amenity``, ``shop``, ``leisure``, ``office``.
    """

    ways: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    residential: gpd.GeoDataFrame
    barriers: gpd.GeoDataFrame
    gates: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame


@dataclass
class _Layer:
    """Rows of one output layer, gathered column by column."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    wkb: list[bytes | str] = field(default_factory=list)

    def add(self, wkb: bytes | str, *values: Any) -> None:
        """Add a feature: its WKB and its values in column order."""
        self.wkb.append(wkb)
        self.rows.append(values)

    def frame(
        self, *, float_columns: tuple[str, ...] = (), polygons: bool = False
    ) -> gpd.GeoDataFrame:
        """Return the layer as a GeoDataFrame in EPSG:4326.

        With ``polygons``, areas of one part are Polygons rather than MultiPolygons.
        """
        data: dict[str, Any] = {}
        for i, col in enumerate(self.columns):
            values = [row[i] for row in self.rows]
            if col in float_columns:
                data[col] = np.asarray(values, dtype=np.float64)
            elif col == "is_open":
                data[col] = np.asarray(values, dtype=bool)
            else:  # text: object dtype keeps missing values as None
                data[col] = pd.Series(values, dtype=object)
        geoms = np.asarray(shapely.from_wkb(self.wkb), dtype=object).reshape(-1)
        if polygons and len(geoms):
            single = shapely.get_num_geometries(geoms) == 1
            geoms[single] = shapely.get_geometry(geoms[single], 0)
        return gpd.GeoDataFrame(data, geometry=geoms, crs=WGS84)


class _Reader:
    """Sorts the objects of an OSM file into the layers of an :class:`OsmExtract`."""

    def __init__(self) -> None:
        self.factory = osmium.geom.WKBFactory()
        self.ways = _Layer(("code", "highway", "name"))
        self.buildings = _Layer(("code", "name", "building", "levels", "height_m"))
        self.residential = _Layer(("code", "name"))
        self.barriers = _Layer(("code", "barrier"))
        self.gates = _Layer(("code", "name", "kind", "is_open"))
        self.pois = _Layer(("code", "name", *POI_KEYS))

    def node(self, obj: Any) -> None:
        """Keep gates and points of interest."""
        tags = obj.tags
        barrier = tags.get("barrier")
        entrance = tags.get("entrance")
        is_gate = barrier in GATES or entrance is not None
        is_poi = any(key in tags for key in POI_KEYS)
        if not (is_gate or is_poi) or not obj.location.valid():
            return
        wkb = self.factory.create_point(obj.location)
        code, name = f"n{obj.id}", _name(tags)
        if is_gate:
            kind = barrier if barrier in GATES else entrance
            closed = tags.get("access") in ("no", "private") or tags.get("locked") == "yes"
            self.gates.add(wkb, code, name, kind, not closed)
        if is_poi:
            self.pois.add(wkb, code, name, *(tags.get(key) for key in POI_KEYS))

    def way(self, obj: Any) -> None:
        """Keep walkable highways and walls."""
        tags = obj.tags
        highway = tags.get("highway")
        barrier = tags.get("barrier")
        walk = highway is not None and _walkable(tags, highway)
        wall = barrier in WALLS
        if not (walk or wall):
            return
        wkb = self._line(obj)
        if wkb is None:
            return
        if walk:
            self.ways.add(wkb, f"w{obj.id}", highway, _name(tags))
        if wall:
            self.barriers.add(wkb, f"w{obj.id}", barrier)

    def area(self, obj: Any) -> None:
        """Keep buildings and residential areas."""
        tags = obj.tags
        building = tags.get("building")
        is_building = building is not None and building != "no"
        is_residential = tags.get("landuse") == "residential" or "residential" in tags
        if not (is_building or is_residential):
            return
        try:
            wkb = self.factory.create_multipolygon(obj)
        except (RuntimeError, osmium.InvalidLocationError):
            return  # a broken multipolygon: libosmium could not assemble its rings
        code = f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}"
        name = _name(tags)
        if is_building:
            levels = _number(tags.get("building:levels"))
            height = _number(tags.get("height"), _HEIGHT)
            self.buildings.add(wkb, code, name, building, levels, height)
        if is_residential:
            self.residential.add(wkb, code, name)

    def _line(self, obj: Any) -> bytes | str | None:
        """Return a way's WKB; of a way cut by the extract's edge, its longest known run."""
        try:
            return self.factory.create_linestring(obj)
        except (RuntimeError, osmium.InvalidLocationError):
            pass
        runs: list[list[tuple[float, float]]] = [[]]
        for ref in obj.nodes:
            if ref.location.valid():
                runs[-1].append((ref.lon, ref.lat))
            elif runs[-1]:
                runs.append([])
        best = max(runs, key=len)
        line = shapely.LineString(best) if len(best) >= 2 else None
        if line is None or line.length == 0:
            return None
        return shapely.to_wkb(line, hex=True)

    def extract(self) -> OsmExtract:
        """Return the gathered layers."""
        return OsmExtract(
            ways=self.ways.frame(),
            buildings=self.buildings.frame(float_columns=("levels", "height_m"), polygons=True),
            residential=self.residential.frame(polygons=True),
            barriers=self.barriers.frame(),
            gates=self.gates.frame(),
            pois=self.pois.frame(),
        )


def read_osm(path: str | Path, *, progress: Callable[[int], None] | None = None) -> OsmExtract:
    """Read the walkable ways, buildings, walls, gates and POIs of an OSM extract.

    Parameters
    ----------
    path
        An ``.osm.pbf``, ``.osm`` / ``.osm.xml`` (optionally ``.gz`` / ``.bz2``) file. The
        format is told from the file's first bytes, not its name.
    progress
        Called with the number of objects read so far, every 10,000 objects and once at the
        end. Only tagged objects of interest are counted: the rest (most nodes) are skipped
        before they reach Python.

    Returns
    -------
    OsmExtract
        The layers, in EPSG:4326.

    Raises
    ------
    BadFile
        If the file is missing, unreadable or not OSM data.
    """
    p = Path(path)
    fmt = _osm_format(p)
    reader = _Reader()
    handlers = {"n": reader.node, "w": reader.way, "a": reader.area}
    count = 0
    try:
        processor = (
            osmium.FileProcessor(osmium.io.File(str(p), fmt))
            .with_areas(osmium.filter.KeyFilter(*_AREA_KEYS))
            .with_filter(osmium.filter.KeyFilter(*_KEYS))
        )
        for obj in processor:
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
            handle = handlers.get(obj.type_str())
            if handle is not None:
                handle(obj)
    # libosmium reports parse errors as RuntimeError, a coordinate it cannot parse
    # ("lat='999'") as InvalidLocationError; a gzip/bzip2 stream may fail as OSError.
    except (RuntimeError, osmium.InvalidLocationError, OSError, ValueError) as exc:
        reason = f"文件已损坏或不是 OSM 数据（{_OSM_FORMAT_ZH.get(fmt, fmt)}）"
        raise _bad_osm(p, reason, exc) from exc
    if progress is not None:
        progress(count)
    return reader.extract()


_OSM_FORMAT_ZH = {
    "pbf": ".osm.pbf",
    "osm": ".osm XML",
    "osm.gz": "gzip 压缩的 .osm",
    "osm.bz2": "bzip2 压缩的 .osm",
}
_OSM_ADVICE = (
    "请重新下载或导出 OSM 数据（如从 Geofabrik、OpenStreetMap 网站或 JOSM 导出 .osm.pbf / .osm）"
)


def _bad_osm(path: Path, reason: str, exc: BaseException | None = None) -> BadFile:
    """Return the :class:`BadFile` for an OSM file that cannot be read, naming it by name."""
    note = f"（技术信息：{technical(exc, path)}）" if exc is not None else ""
    msg = f"无法读取 OSM 文件“{path.name}”：{reason}。{_OSM_ADVICE}{note}"
    return BadFile(msg, loc=("file",))


def _osm_format(path: Path) -> str:
    """Tell the libosmium format of a file from its first bytes."""
    if not path.is_file():
        msg = f"OSM 文件不存在：{path}"
        raise BadFile(msg, loc=("file",))
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise _bad_osm(path, f"无法打开文件（{exc.strerror or exc}）") from exc
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"\x1f\x8b"):
        return "osm.gz"
    if head.startswith(b"BZh"):
        return "osm.bz2"
    if text.startswith(b"<"):
        return "osm"
    # A PBF file opens with the length of a blob header naming an "OSMHeader" block.
    if b"OSMHeader" in head[:24]:
        return "pbf"
    what = "是空文件（0 字节）" if not head else "不是 OSM 数据（.osm.pbf 或 .osm XML）"
    raise _bad_osm(path, what)


def _walkable(tags: Any, highway: str) -> bool:
    """Tell whether people may walk along a highway, from its tags."""
    if tags.get("area") == "yes":
        return False  # a pedestrian square's outline is not a path along it
    foot = tags.get("foot")
    if foot == "no":
        return False
    if highway in MOTOR_ONLY:
        return foot in FOOT_ALLOWED
    if highway not in WALKABLE:
        return False  # construction, proposed, platforms, raceways...
    if tags.get("access") in ("no", "private"):
        return foot in FOOT_ALLOWED
    return True


def _name(tags: Any) -> str | None:
    """Return the name of an object, preferring the plain tag to the Chinese one."""
    name = tags.get("name") or tags.get("name:zh")
    return str(name) if name else None


def _number(value: str | None, pattern: re.Pattern[str] | None = None) -> float:
    """Parse a numeric tag (levels; a height in metres with ``pattern``), NaN if unreadable."""
    if value is None:
        return math.nan
    if pattern is not None:
        match = pattern.match(value)
        if match is None:
            return math.nan
        value = match.group(1).replace(",", ".")
    try:
        number = float(value)
    except ValueError:
        return math.nan
    return number if math.isfinite(number) and number >= 0 else math.nan


def read_lines(path: str | Path) -> gpd.GeoDataFrame:
    """Read a non-OSM network file: GeoJSON or line-delimited GeoJSON lines.

    Parameters
    ----------
    path
        A ``.geojson``, ``.json``, ``.geojsonl``, ``.geojsons`` or ``.ndjson`` file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code`` (from an ``id`` / ``code`` / ``编号`` column, else ``"l<row>"``),
        ``highway`` and ``name`` (None when absent) and the lines, in the file's CRS. Rows
        without geometry are skipped.

    Raises
    ------
    BadFile
        If the file is missing, of another format or unreadable.
    InvalidGeometry
        If a feature is not a line.
    """
    p = Path(path)
    if not p.name.lower().endswith(LINE_SUFFIXES):
        msg = f"不支持的路网文件格式：“{p.name}”（支持 .osm.pbf、.osm、{'、'.join(LINE_SUFFIXES)}）"
        raise BadFile(msg, loc=("file",))
    if not p.is_file():
        msg = f"文件不存在：{p}"
        raise BadFile(msg, loc=("file",))
    if p.stat().st_size == 0:
        raise bad_file(p, "文件是空的（0 字节）", "请检查是否选错了文件，或文件没有完整上传")
    frame = read_vector(str(p), p, "geojson")
    geoms = np.asarray(frame.geometry.array, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    wrong = present & ~np.isin(shapely.get_type_id(geoms), (1, 2, 5))
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        msg = f"第 {row + 1} 行：几何是 {geoms[row].geom_type}，路网文件只能包含线"
        raise InvalidGeometry(msg, loc=("file", "row", row + 1, "geometry"))
    rows = np.flatnonzero(present)
    columns = {str(c).lower(): c for c in frame.columns if c != frame.geometry.name}
    codes = pd.Series([f"l{i}" for i in range(len(frame))], dtype=object)
    for alias in ("id", "code", "编号"):
        if alias in columns:
            given = _texts(frame[columns[alias]])
            codes = codes.where(given.isna(), given)
            break

    def optional(*aliases: str) -> pd.Series[Any]:
        for alias in aliases:
            if alias in columns:
                return _texts(frame[columns[alias]])
        return pd.Series([None] * len(frame), dtype=object)

    out = gpd.GeoDataFrame(
        {"code": codes, "highway": optional("highway"), "name": optional("name", "名称")},
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    return out.iloc[rows].reset_index(drop=True)


def _texts(values: pd.Series[Any]) -> pd.Series[Any]:
    """Return values as text (whole floats without ``.0``), missing or blank as None."""
    out: list[str | None] = []
    for value in values.tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
        elif isinstance(value, float) and value.is_integer():
            out.append(str(int(value)))
        else:
            text = str(value).strip()
            out.append(text or None)
    return pd.Series(out, index=values.index, dtype=object)
