"""Broken, empty and mis-encoded files: a zh-CN BadFile that names the file; nothing written.

Each broken file of ``tests.factories.broken_files`` is imported the way the CLI does
(``import_file`` on a path); the API test (tests/api/test_bad_input.py) uploads the same files.
Whatever is wrong, the message names the file by its own name (never a directory), says what is
wrong in Chinese, and the database is exactly as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import BadFile, GridmapError
from layers.importing import import_file, import_frame
from layers.io.files import read_table, technical
from layers.io.osm import read_lines, read_osm
from tests import factories
from tests.databases import snapshot


def assert_clear_message(msg: str, name: str, where: Path | str) -> None:
    """The message names the file as the user named it, in Chinese, and no directory."""
    assert name in msg, msg
    assert factories.CJK.search(msg.replace(name, "")), msg
    assert str(where) not in msg, msg
    assert "/tmp" not in msg and "/vsizip" not in msg, msg


def load_all(session: Session) -> None:
    for layer, gdf in factories.community_layers().items():
        import_frame(session, layer, gdf)


@pytest.mark.parametrize("case_id", factories.BROKEN_IDS)
def test_broken_file_is_a_clear_bad_file(session: Session, tmp_path: Path, case_id: str) -> None:
    case = factories.broken_file(tmp_path, case_id)
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
    parts = factories.shapefile_parts(tmp_path)
    junk = {f"__MACOSX/._{n}": b"\x00\x05\x16\x07" for n in parts}
    path = tmp_path / "楼栋.zip"
    path.write_bytes(factories.zipped({**parts, **junk}))
    report = import_file(session, "buildings", path)
    assert report.unchanged == 3


# --- encodings --------------------------------------------------------------------------------


def _footprint_rows() -> list[tuple[str, str, int, int, str, str]]:
    return [
        ("B9", "翠湖花園9棟", 55, 7, "陳靜", factories.polygon_wkt(610, 400)),
        ("B10", "幸福大廈", 20, 12, "林美玲", factories.polygon_wkt(650, 400)),
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
        f'{c},{n},{h},{f},{lead},"{factories.polygon_wkt(610 + 40 * i, 400)}"'
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
