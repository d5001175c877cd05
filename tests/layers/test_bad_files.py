"""Broken, empty and mis-encoded files: a zh-CN BadFile that names the file; nothing written.

Each broken file is imported the way the CLI does (``import_file`` on a path); the API test
(tests/api/test_bad_input.py) uploads the same files. Whatever is wrong, the message names
the file by its own name (never a directory), says what is wrong in Chinese, and the
database is exactly as before.
"""

from __future__ import annotations

import io
import json
import random
import re
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely

from layers.errors import BadFile, GridmapError
from layers.importing import import_file, import_frame
from layers.io.files import read_table, technical, write_table
from layers.io.osm import read_lines, read_osm
from tests import factories
from tests.conftest import snapshot

CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Broken:
    """A broken file: the name a user gives it, its bytes, what the error must say and where."""

    id: str
    name: str
    content: bytes
    says: str
    loc: tuple[str | int, ...] = ("file",)


def polygon_wkt(x0: float = 610, y0: float = 400) -> str:
    """A building footprint inside the test community, as WKT in WGS84."""
    geom = factories.frame([{"geometry": shapely.box(x0, y0, x0 + 20, y0 + 20)}]).geometry[0]
    return str(shapely.to_wkt(geom, rounding_precision=8))


def _gpkg_bytes(tmp: Path) -> bytes:
    path = tmp / "good.gpkg"
    write_table(factories.community_layers()["buildings"], path)
    return path.read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _shapefile_parts(tmp: Path) -> dict[str, bytes]:
    zipped = tmp / "good.zip"
    write_table(factories.community_layers()["buildings"], zipped)
    with zipfile.ZipFile(zipped) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def broken_files(tmp: Path) -> list[Broken]:
    """Every kind of broken file, built in ``tmp`` (the user's names are Chinese)."""
    noise = random.Random(7).randbytes(4000)
    gpkg = _gpkg_bytes(tmp)
    sqlite_path = tmp / "plain.sqlite"
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE t (a)")
    parts = _shapefile_parts(tmp)
    shp = next(n for n in parts if n.endswith(".shp"))
    no_dbf = {n: d for n, d in parts.items() if not n.endswith(".dbf")}
    bad_shp = {**parts, shp: noise[:700]}
    open_ring = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": f"X{i}"},
                "geometry": {"type": "Polygon", "coordinates": ring},
            }
            for i, ring in enumerate(
                [
                    [[[112.975, 22.935], [112.976, 22.935], [112.976, 22.936], [112.975, 22.935]]],
                    [[[112.975, 22.935], [112.976, 22.936]]],
                ]
            )
        ],
    }
    wkt = polygon_wkt()
    return [
        Broken("gpkg-truncated", "楼栋.gpkg", gpkg[: len(gpkg) // 3], "GeoPackage"),
        Broken("gpkg-noise", "楼栋.gpkg", noise, "GeoPackage"),
        Broken("gpkg-plain-sqlite", "楼栋.gpkg", sqlite_path.read_bytes(), "GeoPackage"),
        Broken("gpkg-empty", "楼栋.gpkg", b"", "空"),
        Broken("geojson-noise", "楼栋.geojson", noise, "GeoJSON"),
        Broken(
            "geojson-truncated", "楼栋.geojson", b'{"type": "FeatureCollection", "fea', "GeoJSON"
        ),
        Broken("geojson-not-geojson", "楼栋.json", b'{"name": "not a layer"}', "GeoJSON"),
        Broken(
            "geojson-open-ring",
            "楼栋.geojson",
            json.dumps(open_ring).encode(),
            "第 2 行的几何无法解析",
            ("file", "row", 2, "geometry"),
        ),
        Broken("geojson-empty", "楼栋.geojson", b"", "空"),
        Broken(
            "geojson-no-features",
            "楼栋.geojson",
            b'{"type": "FeatureCollection", "features": []}',
            "没有任何要素",
        ),
        Broken("zip-noise", "楼栋.zip", noise, "zip"),
        Broken("zip-empty", "楼栋.zip", b"", "空"),
        Broken("zip-without-shp", "楼栋.zip", _zip({"说明.txt": b"hello"}), "没有"),
        Broken("zip-without-dbf", "楼栋.zip", _zip(no_dbf), ".dbf"),
        Broken("zip-broken-shp", "楼栋.zip", _zip(bad_shp), "Shapefile"),
        Broken("txt", "楼栋.txt", b"code,lon,lat\n", "不支持的文件格式"),
        Broken("xlsx", "楼栋.xlsx", _zip({"[Content_Types].xml": b"<x/>"}), "另存为"),
        Broken("csv-is-xlsx", "楼栋.csv", _zip({"[Content_Types].xml": b"<x/>"}), "Excel"),
        Broken("csv-binary", "楼栋.csv", noise, "不是文本文件"),
        Broken("csv-empty", "楼栋.csv", b"", "空"),
        Broken("csv-blank-lines", "楼栋.csv", b"\r\n\r\n", "没有内容"),
        Broken("csv-header-only", "楼栋.csv", b"code,wkt\n", "没有任何要素"),
        Broken(
            "csv-open-quote",
            "楼栋.csv",
            f'code,wkt\nB9,"{wkt}\nB10,x\n'.encode(),
            "引号",
            ("file", "row", 1),
        ),
        Broken(
            "csv-too-many-values",
            "楼栋.csv",
            f'code,name,wkt\nB9,9栋,"{wkt}"\nB10,10栋,"{wkt}",多余\n'.encode(),
            "第 2 行有 4 个值",
            ("file", "row", 2),
        ),
        Broken(
            "csv-duplicate-column",
            "楼栋.csv",
            f'code,name,name,wkt\nB9,9栋,9栋,"{wkt}"\n'.encode(),
            "重复",
            ("file", "columns", "name"),
        ),
        Broken(
            "csv-no-coordinates",
            "楼栋.csv",
            "编号,名称\nB9,9栋\n".encode(),
            "缺少坐标列",
            ("file", "columns"),
        ),
        Broken(
            "csv-no-code",
            "楼栋.csv",
            f'名称,wkt\n9栋,"{wkt}"\n'.encode(),
            "缺少编号列",
            ("file", "columns", "编号"),
        ),
        Broken(
            "csv-bad-number",
            "楼栋.csv",
            "编号,经度,纬度\nB9,112.97,22.93\nB10,东经112度,22.93\n".encode(),
            "应为数字",
            ("file", "row", 2, "经度"),
        ),
        Broken(
            "csv-bad-wkt",
            "楼栋.csv",
            b'code,wkt\nB9,"POLYGON((1 2, 3"\n',
            "WKT",
            ("file", "row", 1, "wkt"),
        ),
        Broken(
            "csv-shift-jis",
            "楼栋.csv",
            f'code,name,wkt\nB9,東京タワー駅前ビル,"{wkt}"\nB10,ひまわり荘,"{wkt}"\n'.encode(
                "shift_jis"
            ),
            "编码",
            ("file", "encoding"),
        ),
    ]


#: The ids of :func:`broken_files`, for parametrising (the files are built per test).
BROKEN_IDS = (
    "gpkg-truncated",
    "gpkg-noise",
    "gpkg-plain-sqlite",
    "gpkg-empty",
    "geojson-noise",
    "geojson-truncated",
    "geojson-not-geojson",
    "geojson-open-ring",
    "geojson-empty",
    "geojson-no-features",
    "zip-noise",
    "zip-empty",
    "zip-without-shp",
    "zip-without-dbf",
    "zip-broken-shp",
    "txt",
    "xlsx",
    "csv-is-xlsx",
    "csv-binary",
    "csv-empty",
    "csv-blank-lines",
    "csv-header-only",
    "csv-open-quote",
    "csv-too-many-values",
    "csv-duplicate-column",
    "csv-no-coordinates",
    "csv-no-code",
    "csv-bad-number",
    "csv-bad-wkt",
    "csv-shift-jis",
)


def broken_file(tmp: Path, case_id: str) -> Broken:
    """The broken file of id ``case_id``, built in ``tmp``."""
    cases = {b.id: b for b in broken_files(tmp)}
    assert set(cases) == set(BROKEN_IDS)
    return cases[case_id]


def assert_clear_message(msg: str, name: str, where: Path | str) -> None:
    """The message names the file as the user named it, in Chinese, and no directory."""
    assert name in msg, msg
    assert CJK.search(msg.replace(name, "")), msg
    assert str(where) not in msg, msg
    assert "/tmp" not in msg and "/vsizip" not in msg, msg


def load_all(session: Session) -> None:
    for layer, gdf in factories.community_layers().items():
        import_frame(session, layer, gdf)


@pytest.mark.parametrize("case_id", BROKEN_IDS)
def test_broken_file_is_a_clear_bad_file(session: Session, tmp_path: Path, case_id: str) -> None:
    case = broken_file(tmp_path, case_id)
    load_all(session)
    path = tmp_path / case.name
    path.write_bytes(case.content)
    before = snapshot(session)
    with pytest.raises(BadFile) as info:
        import_file(session, "buildings", path)
    err = info.value
    assert err.status == 422 and err.type == "bad_file"
    assert_clear_message(err.msg, case.name, tmp_path)
    assert case.says in err.msg, err.msg
    assert err.loc == case.loc
    assert snapshot(session) == before


def test_technical_note_has_no_directory(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    exc = RuntimeError(f"Unable to open /vsizip/{path}/s.shx or /srv/data/x/s.SHX. Set X")
    note = technical(exc, path)
    assert str(tmp_path) not in note and "/srv" not in note and "/vsizip" not in note
    assert "a.zip/s.shx" in note and "s.SHX" in note
    assert len(technical(RuntimeError("x" * 1000), path)) <= 160


def test_macos_junk_in_zip_is_ignored(session: Session, tmp_path: Path) -> None:
    load_all(session)
    parts = _shapefile_parts(tmp_path)
    junk = {f"__MACOSX/._{n}": b"\x00\x05\x16\x07" for n in parts}
    path = tmp_path / "楼栋.zip"
    path.write_bytes(_zip({**parts, **junk}))
    report = import_file(session, "buildings", path)
    assert report.unchanged == 3


# --- encodings --------------------------------------------------------------------------------


def _footprint_rows() -> list[tuple[str, str, int, int, str, str]]:
    return [
        ("B9", "翠湖花園9棟", 55, 7, "陳靜", polygon_wkt(610, 400)),
        ("B10", "幸福大廈", 20, 12, "林美玲", polygon_wkt(650, 400)),
    ]


def _stored(session: Session) -> list[tuple[object, ...]]:
    rows = session.execute(
        text(
            "SELECT code, name, households, floors, lead_name FROM buildings "
            "WHERE code IN ('B9', 'B10') ORDER BY code DESC"
        )
    ).all()
    return [tuple(r) for r in rows]


def test_big5_csv_with_traditional_headers_is_read_as_big5(
    session: Session, tmp_path: Path
) -> None:
    load_all(session)
    lines = ["編號,名稱,戶數,樓層,樓長,幾何"]
    lines += [f'{c},{n},{h},{f},{lead},"{w}"' for c, n, h, f, lead, w in _footprint_rows()]
    path = tmp_path / "樓棟.csv"
    data = ("\r\n".join(lines) + "\r\n").encode("big5")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert "編號" not in data.decode("gb18030")  # decodes as GBK without error, garbled
    path.write_bytes(data)
    assert read_table(path).encoding == "big5"
    report = import_file(session, "buildings", path)
    assert report.added == 2 and report.ignored_columns == []
    assert _stored(session) == [
        ("B9", "翠湖花園9棟", 55, 7, "陳靜"),
        ("B10", "幸福大廈", 20, 12, "林美玲"),
    ]


def test_big5_csv_with_ascii_headers_is_read_as_big5(session: Session, tmp_path: Path) -> None:
    """The header alone cannot tell GBK from Big5 here: the text of the values does."""
    load_all(session)
    lines = ["code,name,households,floors,lead_name,wkt"]
    lines += [f'{c},{n},{h},{f},{lead},"{w}"' for c, n, h, f, lead, w in _footprint_rows()]
    path = tmp_path / "buildings.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("big5"))
    import_file(session, "buildings", path)
    assert [r[1] for r in _stored(session)] == ["翠湖花園9棟", "幸福大廈"]


def test_gbk_csv_still_imports(session: Session, tmp_path: Path) -> None:
    load_all(session)
    lines = ["楼栋编号,名称,户数,楼层,楼长,几何"]
    rows = [("B9", "翠湖花园9栋", 55, 7, "陈静"), ("B10", "幸福大厦", 20, 12, "林美玲")]
    lines += [
        f'{c},{n},{h},{f},{lead},"{polygon_wkt(610 + 40 * i, 400)}"'
        for i, (c, n, h, f, lead) in enumerate(rows)
    ]
    path = tmp_path / "楼栋.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    assert read_table(path).encoding == "gb18030"
    report = import_file(session, "buildings", path)
    assert report.added == 2
    assert _stored(session) == rows


def test_traditional_headers_in_utf8_and_utf16(session: Session, tmp_path: Path) -> None:
    load_all(session)
    lines = ["編號,名稱,戶數,樓層,樓長,幾何"]
    lines += [f'{c},{n},{h},{f},{lead},"{w}"' for c, n, h, f, lead, w in _footprint_rows()]
    text_ = "\n".join(lines) + "\n"
    for encoding, expected in (("utf-8-sig", "utf-8"), ("utf-16", "utf-16")):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text_.encode(encoding))
        assert read_table(path).encoding == expected
    report = import_file(session, "buildings", tmp_path / "utf-16.csv")
    assert report.added == 2
    assert _stored(session)[0] == ("B9", "翠湖花園9棟", 55, 7, "陳靜")


def test_gbk_geojson_is_read(tmp_path: Path) -> None:
    """GeoJSON must be UTF-8 (RFC 7946), but Chinese tools write GBK ones too."""
    feature = {"type": "Feature", "properties": {"名称": "翠湖花园"}, "geometry": None}
    body = {"type": "FeatureCollection", "features": [feature]}
    path = tmp_path / "小区.geojson"
    path.write_bytes(json.dumps(body, ensure_ascii=False).encode("gbk"))
    assert read_table(path).frame["名称"].tolist() == ["翠湖花园"]


# --- network files (OSM, GeoJSON lines) ---------------------------------------------------------

OSM_XML = b'<?xml version="1.0"?><osm version="0.6">'


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("路网.osm", OSM_XML + b'<node id="1" lat="999" lon="116"><tag k="amenity" v="x"/></node>'),
        ("路网.osm", OSM_XML + b'<node id="1" lat="4'),
        ("路网.osm.pbf", b"\x00\x00\x00\x0d\x0a\x09OSMHeader" + b"\x01" * 200),
        ("路网.osm.gz", b"\x1f\x8b" + b"\x07" * 200),
        ("路网.osm.bz2", b"BZh9" + b"\x07" * 200),
        ("路网.osm.pbf", b""),
    ],
)
def test_broken_osm_is_a_clear_bad_file(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadFile) as info:
        read_osm(path)
    assert_clear_message(info.value.msg, name, tmp_path)
    assert info.value.loc == ("file",)


@pytest.mark.parametrize(
    ("content", "loc"),
    [
        (b"", ("file",)),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, ("file",)),
        (
            b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
            b' "geometry": {"type": "LineString", "coordinates": [[116.3, 40.0]]}}]}',
            ("file", "row", 1, "geometry"),
        ),
    ],
)
def test_broken_line_file_is_a_clear_bad_file(
    tmp_path: Path, content: bytes, loc: tuple[str | int, ...]
) -> None:
    path = tmp_path / "路网.geojson"
    path.write_bytes(content)
    with pytest.raises(GridmapError) as info:
        read_lines(path)
    assert isinstance(info.value, BadFile)
    assert_clear_message(info.value.msg, path.name, tmp_path)
    assert info.value.loc == loc
