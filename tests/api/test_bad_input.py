"""Bad input over HTTP: broken uploads and odd search text get a zh-CN 4xx and change nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests import factories
from tests.databases import snapshot
from tests.factories import BROKEN_IDS, CJK, broken_file, polygon_wkt

UPLOAD = "/api/layers/buildings/import"


@pytest.mark.parametrize("case_id", BROKEN_IDS)
def test_broken_upload_is_a_clear_422(
    client: TestClient, engine_: Engine, tmp_path: Path, case_id: str
) -> None:
    case = broken_file(tmp_path, case_id)
    before = snapshot(engine_)
    r = client.post(UPLOAD, files={"file": (case.name, case.content)})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["type"] == "bad_file"
    assert detail[0]["loc"] == list(case.loc)
    msg = detail[0]["msg"]
    assert case.name in msg and case.says in msg, msg
    assert CJK.search(msg.replace(case.name, ""))
    for leak in ("/tmp", "/vsizip", tempfile.gettempdir(), str(tmp_path)):
        assert leak not in r.text, r.text
    assert snapshot(engine_) == before


def test_a_windows_path_in_the_upload_name_is_not_echoed(client: TestClient) -> None:
    r = client.post(UPLOAD, files={"file": ("C:\\Users\\李娜\\楼栋.gpkg", b"not a gpkg")})
    assert r.status_code == 422, r.text
    msg = r.json()["detail"][0]["msg"]
    assert "楼栋.gpkg" in msg and "Users" not in msg and "C:" not in msg


def test_big5_upload_is_read_as_big5(client: TestClient) -> None:
    lines = ["編號,名稱,戶數,樓層,樓長,幾何", f'B9,翠湖花園9棟,55,7,陳靜,"{polygon_wkt()}"']
    data = ("\r\n".join(lines) + "\r\n").encode("big5")
    r = client.post(UPLOAD, files={"file": ("樓棟.csv", data)})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 1
    hits = client.get("/api/search?q=翠湖花園").json()
    assert [(h["code"], h["name"]) for h in hits] == [("B9", "翠湖花園9棟")]


def test_gbk_upload_still_imports(client: TestClient) -> None:
    lines = ["楼栋编号,名称,户数,几何", f'B9,9栋,55,"{polygon_wkt()}"']
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    r = client.post(UPLOAD, files={"file": ("楼栋.csv", data)})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 1


# --- search -----------------------------------------------------------------------------------


def _codes(client: TestClient, q: str) -> list[str]:
    r = client.get("/api/search", params={"q": q})
    assert r.status_code == 200, r.text
    return sorted(h["code"] for h in r.json())


def test_like_wildcards_match_themselves(client: TestClient, engine_: Engine) -> None:
    assert _codes(client, "栋") == ["B1", "B2", "B3"]
    for wildcard in ("%", "_", "\\", "%%", "!", "栋%", "_栋"):
        assert _codes(client, wildcard) == [], wildcard
    geom = factories.frame([{"geometry": factories.shapely.box(610, 400, 630, 420)}])
    feature = {
        "type": "Feature",
        "geometry": json.loads(geom.to_json())["features"][0]["geometry"],
        "properties": {"code": "B_9", "name": "满意度100%楼"},
    }
    r = client.post("/api/layers/buildings?community=T1", json=feature)
    assert r.status_code == 201, r.text
    assert _codes(client, "%") == ["B_9"]
    assert _codes(client, "_") == ["B_9"]
    assert _codes(client, "0%楼") == ["B_9"]
    assert _codes(client, "100%") == ["B_9"]
    assert _codes(client, "楼") == ["B_9"]
    assert _codes(client, "栋") == ["B1", "B2", "B3"]
    assert _codes(client, "  翠湖  ") == ["C1"]  # blanks around the words are ignored
    with engine_.connect() as conn:  # the LIKE is on bound parameters, no text spliced in
        assert conn.execute(text("SELECT count(*) FROM buildings")).scalar() == 4


@pytest.mark.parametrize(
    ("q", "says"),
    [
        (None, "不能为空"),
        ("", "不能为空"),
        ("   ", "不能为空"),
        ("楼" * 101, "过长"),
        ("a\x00b", "空字符"),
        ("a\nb", "控制字符"),
    ],
)
def test_bad_search_text_is_a_zh_422(client: TestClient, q: str | None, says: str) -> None:
    r = client.get("/api/search", params={} if q is None else {"q": q})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["query", "q"]
    assert says in detail[0]["msg"]


def test_search_text_of_100_characters_is_fine(client: TestClient) -> None:
    assert _codes(client, "楼" * 100) == []
