"""Import and export: every layer, every format, every CRS, and every kind of bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely
from pyproj import Geod

from layers import crs as crsmod
from layers.errors import BadFile, CrsMismatch, ImportRowError, NotFound, UnknownCrs
from layers.exporting import export_layer
from layers.importing import Options, import_file, import_frame
from layers.io.files import write_table
from layers.queries import read_layer
from tests import factories
from tests.databases import snapshot

LAYERS = list(factories.community_layers())
FORMATS = [".geojson", ".gpkg", ".zip", ".csv"]
GEOD = Geod(ellps="WGS84")


def load_all(session: Session) -> None:
    for layer, gdf in factories.community_layers().items():
        import_frame(session, layer, gdf)


def max_shift_m(a: gpd.GeoSeries, b: gpd.GeoSeries) -> float:
    """Largest distance in metres between corresponding coordinates of two series."""
    # normalize: formats may start rings elsewhere or flip their orientation (Shapefile does).
    na, nb = shapely.normalize(a.to_numpy()), shapely.normalize(b.to_numpy())
    ca, cb = shapely.get_coordinates(na), shapely.get_coordinates(nb)
    assert ca.shape == cb.shape
    _, _, dist = GEOD.inv(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1])
    return float(np.max(dist))


def test_import_all_layers_assigns_compounds_and_grids(session: Session) -> None:
    load_all(session)
    rows = dict(
        session.execute(
            text(
                "SELECT b.code, c.code || '/' || g.code FROM buildings b "
                "LEFT JOIN compounds c ON c.id = b.compound_id "
                "LEFT JOIN grids g ON g.id = b.grid_id"
            )
        ).all()
    )
    # B1, B2 lie inside compound C1 (grid G1); B3 lies in no compound (so the join is NULL).
    assert rows["B1"] == "C1/G1"
    assert rows["B2"] == "C1/G1"
    assert rows["B3"] is None
    b3_grid = session.execute(
        text("SELECT g.code FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE b.code='B3'")
    ).scalar()
    assert b3_grid == "G2"
    street = session.execute(text("SELECT street_id FROM communities")).scalar()
    assert street is None  # no streets imported: nothing invented
    gates = dict(
        session.execute(
            text("SELECT g.code, c.code FROM gates g JOIN compounds c ON c.id = g.compound_id")
        ).all()
    )
    assert gates == {"C1-M1": "C1", "C1-M2": "C1"}


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_every_layer(session: Session, tmp_path: Path, suffix: str) -> None:
    load_all(session)
    originals = {layer: read_layer(session, layer) for layer in LAYERS}
    for layer in LAYERS:
        path = tmp_path / f"{layer}{suffix}"
        report = export_layer(session, layer, path)
        assert report.rows == len(originals[layer])
    # Wipe the store, then import the exported files back.
    session.execute(text("DELETE FROM communities"))
    assert session.execute(text("SELECT count(*) FROM buildings")).scalar() == 0
    for layer in LAYERS:
        report = import_file(session, layer, tmp_path / f"{layer}{suffix}")
        assert report.added == len(originals[layer]), layer
    for layer in LAYERS:
        back = read_layer(session, layer)
        before = originals[layer]
        assert list(back["code"]) == list(before["code"]), layer
        cols = [c for c in before.columns if c not in ("geom",)]
        for col in cols:
            left, right = before[col].tolist(), back[col].tolist()
            assert _same(left, right), f"{layer}.{col}: {left} != {right}"
        assert max_shift_m(before.geometry, back.geometry) < 0.01, layer


def _same(left: list[object], right: list[object]) -> bool:
    def norm(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (np.bool_, bool)):
            return bool(v)
        if isinstance(v, (int, float, np.number)):
            return round(float(v), 6)
        return v

    return [norm(v) for v in left] == [norm(v) for v in right]


@pytest.mark.parametrize("crs_name", ["gcj02", "bd09", "cgcs2000", "EPSG:32649", "EPSG:4547"])
def test_round_trip_each_crs(session: Session, tmp_path: Path, crs_name: str) -> None:
    load_all(session)
    before = read_layer(session, "buildings")
    path = tmp_path / "b.gpkg"
    export_layer(session, "buildings", path, crs=crs_name)
    written = gpd.read_file(path)
    if crs_name in ("gcj02", "bd09"):
        # The file really is shifted (tens to hundreds of metres), not WGS84 relabelled.
        assert (
            max_shift_m(before.geometry, written.geometry.set_crs(None, allow_override=True)) > 100
        )
    report = import_file(session, "buildings", path, options=Options(crs=crs_name))
    assert report.unchanged == 3  # the same places, whatever the CRS of the file
    back = read_layer(session, "buildings")
    assert max_shift_m(before.geometry, back.geometry) < 0.05


def test_gcj02_points_converted_on_the_way_in(session: Session, tmp_path: Path) -> None:
    load_all(session)
    sp = factories.community_layers()["service_points"]
    lon, lat = sp.geometry.x.to_numpy(), sp.geometry.y.to_numpy()
    glon, glat = crsmod.wgs84_to_gcj02(lon, lat)
    csv = tmp_path / "sp.csv"
    csv.write_text(
        f"编号,名称,类型,经度,纬度\nSP1,中心,党群服务中心,{glon[0]:.8f},{glat[0]:.8f}\n",
        encoding="utf-8",
    )
    import_file(session, "service_points", csv, options=Options(crs="gcj02"))
    back = read_layer(session, "service_points")
    _, _, dist = GEOD.inv(lon[0], lat[0], back.geometry.x[0], back.geometry.y[0])
    assert dist < 0.05


def test_reimport_updates_in_place(session: Session, tmp_path: Path) -> None:
    load_all(session)
    path = tmp_path / "b.geojson"
    gdf = factories.community_layers()["buildings"]
    write_table(gdf, path)
    report = import_file(session, "buildings", path)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 3)
    gdf.loc[gdf["code"] == "B2", "households"] = 45
    write_table(gdf, path)
    report = import_file(session, "buildings", path)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    rows = session.execute(text("SELECT code, households, version FROM buildings ORDER BY code"))
    assert [tuple(r) for r in rows] == [("B1", 60, 1), ("B2", 45, 2), ("B3", 20, 1)]


def test_chinese_headers_and_mapping_file(session: Session, tmp_path: Path) -> None:
    load_all(session)
    csv = tmp_path / "楼栋.csv"
    csv.write_text(
        "楼栋编号,楼名,户数,入住率,党员数,楼层,楼长,wkt\n"
        'B9,9栋,55,85%,3,7,陈静,"POLYGON((0 0,0 1,1 1,1 0,0 0))"\n',
        encoding="utf-8-sig",
    )
    poly = shapely.Polygon(
        shapely.get_coordinates(
            factories.frame([{"geometry": shapely.box(610, 400, 630, 420)}]).geometry[0]
        )
    )
    csv.write_text(
        csv.read_text(encoding="utf-8-sig").replace("POLYGON((0 0,0 1,1 1,1 0,0 0))", poly.wkt),
        encoding="utf-8-sig",
    )
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"楼栋编号": "code", "楼名": "name"}), encoding="utf-8")
    from layers.importing import load_mapping

    report = import_file(
        session, "buildings", csv, options=Options(community="T1", mapping=load_mapping(mapping))
    )
    assert report.added == 1
    row = session.execute(
        text(
            "SELECT name, households, occupancy, party_members, floors, lead_name "
            "FROM buildings WHERE code = 'B9'"
        )
    ).one()
    assert tuple(row) == ("9栋", 55, 0.85, 3, 7, "陈静")


# --- bad input: a clear error naming row and reason, and the database exactly as before -------


def _bad(
    session: Session,
    tmp_path: Path,
    layer: str,
    gdf: gpd.GeoDataFrame,
    suffix: str = ".geojson",
    **options: object,
) -> ImportRowError | Exception:
    path = tmp_path / f"bad{suffix}"
    write_table(gdf, path)
    before = snapshot(session)
    with pytest.raises(Exception) as info:
        import_file(session, layer, path, options=Options(**options))  # type: ignore[arg-type]
    assert snapshot(session) == before, "a rejected import must leave the database unchanged"
    return info.value


def _buildings() -> gpd.GeoDataFrame:
    return factories.community_layers()["buildings"]


def test_self_intersecting_polygon_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    gdf = _buildings()
    bowtie = factories.frame(
        [{"geometry": shapely.Polygon([(150, 150), (190, 170), (190, 150), (150, 170)])}]
    )
    gdf.loc[1, "geometry"] = bowtie.geometry[0]
    exc = _bad(session, tmp_path, "buildings", gdf)
    assert isinstance(exc, ImportRowError)
    assert exc.problems[0][0] == ("file", "row", 2, "geometry")
    assert "第 2 行" in exc.msg and "自相交" in exc.msg


def test_swapped_lonlat_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    csv = tmp_path / "sp.csv"
    csv.write_text("id,name,kind,lon,lat\nSP2,活动室,activity_room,22.9305,112.9705\n")
    before = snapshot(session)
    with pytest.raises(ImportRowError, match="经纬度可能颠倒") as info:
        import_file(session, "service_points", csv)
    assert info.value.problems[0][0] == ("file", "row", 1, "geometry")
    assert snapshot(session) == before


def test_swapped_lonlat_inside_range_detected_by_community(
    session: Session, tmp_path: Path
) -> None:
    # Near the equator-ish band swapped pairs can both be in range; the community tells.
    load_all(session)
    sp = factories.community_layers()["service_points"]
    x, y = sp.geometry.x[0], sp.geometry.y[0]
    swapped = sp.set_geometry([shapely.Point(y, x)], crs="EPSG:4326")
    assert abs(y) <= 90 and abs(x) > 90  # here latitude 112 is out of range: caught early
    exc = _bad(session, tmp_path, "service_points", swapped)
    assert "颠倒" in str(exc)


def test_point_outside_community_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    gdf = factories.community_layers()["service_points"]
    gdf.loc[0, "geometry"] = factories.frame([{"geometry": shapely.Point(1500, 500)}]).geometry[0]
    exc = _bad(session, tmp_path, "service_points", gdf)
    assert isinstance(exc, ImportRowError)
    assert "不在社区“测试社区”（T1）范围内" in exc.msg
    assert exc.problems[0][2] == "outside_community"


def test_gcj02_file_imported_as_wgs84_is_caught(session: Session, tmp_path: Path) -> None:
    """The classic mistake: Amap coordinates imported without --crs gcj02 land ~500 m off."""
    load_all(session)
    gdf = factories.community_layers()["buildings"]
    gdf = gdf.set_geometry(crsmod.from_wgs84(gdf.geometry, crsmod.parse_crs("gcj02")))
    exc = _bad(session, tmp_path, "buildings", gdf)
    assert "--crs gcj02" in str(exc)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_update_in_chinese_coordinates_without_crs_is_caught(
    session: Session, tmp_path: Path, system: str
) -> None:
    """Inside the community but moved by exactly the offset: the file's CRS is wrong."""
    load_all(session)
    gdf = factories.community_layers()["buildings"]
    gdf = gdf.set_geometry(crsmod.from_wgs84(gdf.geometry, crsmod.parse_crs(system)))
    gdf = gdf[gdf["code"] != "B3"]  # B1 and B2 sit well inside: the boundary check passes
    exc = _bad(session, tmp_path, "buildings", gdf)
    assert isinstance(exc, ImportRowError)
    assert exc.problems[0][2] == "crs_offset"
    assert f"--crs {system}" in exc.msg
    # With the right --crs the same file is the same places: nothing changes.
    path = tmp_path / "right.geojson"
    write_table(gdf, path)
    report = import_file(session, "buildings", path, options=Options(crs=system))
    assert report.unchanged == 2


def test_wgs84_file_declared_gcj02_is_caught(session: Session, tmp_path: Path) -> None:
    load_all(session)
    gdf = factories.community_layers()["buildings"]
    gdf = gdf[gdf["code"] != "B3"]
    exc = _bad(session, tmp_path, "buildings", gdf, crs="gcj02")
    assert "可能已是 WGS84" in str(exc)


def test_negative_households_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    gdf = _buildings()
    gdf.loc[2, "households"] = -5
    exc = _bad(session, tmp_path, "buildings", gdf)
    assert isinstance(exc, ImportRowError)
    assert exc.problems[0][0] == ("file", "row", 3, "households")
    assert "“户数”不能小于 0，实际为 -5" in exc.msg


def test_all_problems_reported_at_once(session: Session, tmp_path: Path) -> None:
    load_all(session)
    gdf = _buildings()
    gdf.loc[0, "occupancy"] = 1.7
    gdf.loc[1, "party_members"] = 500
    gdf.loc[2, "households"] = -1
    exc = _bad(session, tmp_path, "buildings", gdf)
    assert isinstance(exc, ImportRowError)
    rows = sorted(loc[2] for loc, _, _ in exc.problems)
    assert rows == [1, 2, 3]
    assert any("百分比请写作 85%" in msg for _, msg, _ in exc.problems)
    assert any("党员数不能多于常住人口" in msg for _, msg, _ in exc.problems)


def test_unknown_crs_leaves_database_unchanged(session: Session, tmp_path: Path) -> None:
    load_all(session)
    exc = _bad(session, tmp_path, "buildings", _buildings(), crs="mars2000")
    assert isinstance(exc, UnknownCrs)
    assert exc.loc == ("crs",)
    assert "mars2000" in exc.msg


def test_crs_conflicting_with_file_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    projected = _buildings().to_crs("EPSG:32649")
    exc = _bad(session, tmp_path, "buildings", projected, suffix=".gpkg", crs="gcj02")
    assert isinstance(exc, CrsMismatch)
    assert "32649" in exc.msg


def test_projected_coordinates_without_crs_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    metric = _buildings().to_crs("EPSG:32649").set_crs(None, allow_override=True)
    exc = _bad(session, tmp_path, "buildings", metric, suffix=".csv")
    assert isinstance(exc, ImportRowError)
    assert "投影坐标" in exc.msg and "--crs" in exc.msg


def test_wrong_geometry_type_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    gdf = _buildings()
    gdf["geometry"] = gdf.geometry.representative_point()
    exc = _bad(session, tmp_path, "buildings", gdf)
    assert "几何类型应为面" in str(exc)


def test_duplicate_codes_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    gdf = _buildings()
    gdf.loc[2, "code"] = "B1"
    exc = _bad(session, tmp_path, "buildings", gdf)
    assert "编号“B1”与第 1 行重复" in str(exc)


def test_missing_id_column_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    exc = _bad(session, tmp_path, "buildings", _buildings().drop(columns="code"))
    assert isinstance(exc, BadFile)
    assert "缺少编号列" in exc.msg


def test_unknown_community_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    exc = _bad(session, tmp_path, "buildings", _buildings(), community="NOPE")
    assert isinstance(exc, NotFound)
    assert "NOPE" in exc.msg


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Fea'),
        ("broken.zip", b"PK\x03\x04 not really a zip"),
        ("broken.gpkg", b"SQLite format 3\x00 truncated"),
        ("broken.csv", b"id,name\n"),
        ("buildings.xlsx", b"whatever"),
    ],
)
def test_broken_upload_rejected(
    session: Session, tmp_path: Path, name: str, content: bytes
) -> None:
    load_all(session)
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(session)
    with pytest.raises(BadFile) as info:
        import_file(session, "buildings", path)
    assert info.value.msg
    assert snapshot(session) == before


def test_zip_with_two_shapefiles_rejected(session: Session, tmp_path: Path) -> None:
    load_all(session)
    one = tmp_path / "one.zip"
    write_table(_buildings(), one)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(one) as src, zipfile.ZipFile(two, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            dst.writestr(item, data)
            dst.writestr("copy_" + item, data)
    with pytest.raises(BadFile, match=r"只含一个 \.shp"):
        import_file(session, "buildings", two)


def test_database_constraints_back_the_importer(session: Session) -> None:
    """The database itself refuses what the importer refuses (a second line of defence)."""
    load_all(session)
    for sql in (
        "UPDATE buildings SET households = -1 WHERE code = 'B1'",
        "UPDATE buildings SET occupancy = 1.5 WHERE code = 'B1'",
        "UPDATE buildings SET party_members = 999 WHERE code = 'B1'",
        "UPDATE service_points SET kind = 'pub' WHERE code = 'SP1'",
        "UPDATE buildings SET geom = ST_Multi(ST_GeomFromText("
        "'POLYGON((0 0,1 1,1 0,0 1,0 0))', 4326)) WHERE code = 'B1'",
    ):
        with pytest.raises(Exception, match="violates check constraint"), session.begin_nested():
            session.execute(text(sql))
