"""The events dashboard, the ledger export and the event tiles, on hand-checked figures.

On T1 (residents 330; grid G1 holds B1 170 and B2 110 residents, G2 holds B3 50) with one
user per role, and the API's clock controlled. Nine events:

=====  ========  ======================  =====================  ===========================
event  category  reported (UTC)          where                  what became of it
=====  ========  ======================  =====================  ===========================
H0     GY01 LDS  2023-05-01 01:00        B1 (G1)                closed after 72 h (import)
H1     GY01 LDS  2024-03-01 01:00        B1 (G1)                closed after 24 h (import)
H2     SR01 HWS  2024-06-01 01:00        B2 (G1)                closed after 6 h (import)
H3     JM01 JJ   2024-07-01 01:00        B3 (G2)                cancelled after 1 h (import)
E1     GY01 LDS  T0                      B1 (G1)                closed at T0 + 12 h
E2     SR01 HWS  T0 + 1 h                B2 (G1)                closed at T0 + 31 h (30 h)
E3     GY01 LDS  T0 + 2 h                B3 (G2)                accepted at T0 + 4 h: due +76
E4     SR01 HWS  T0 + 3 h                B1 (G1)                cancelled at T0 + 4 h
E5     GY02 SZS  T0 + 5 h                B2 (G1)                left reported: due T0 + 7 h
=====  ========  ======================  =====================  ===========================

At T0 + 100 h: 9 events, 5 closed (12, 30, 72, 24, 6 hours: mean 28.8, median 24), 2
cancelled, 2 open and both overdue; 9 per 330 residents = 27.27 per 1,000; years 2023: 1,
2024: 3, 2025: 0, 2026: 5. 路灯管理所 (LDS): 4 events, closed after 12, 72, 24 h (mean 36,
median 24); 环卫所 (HWS): 3 events, closed after 30 and 6 h (mean and median 18).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import openpyxl
import pytest
from sqlalchemy import text

from gis_api import auth, deps
from layers import accounts, db
from layers import events as ev
from layers.io import events_io
from tests.api.roles import World
from tests.api.test_tiles import tile_of

T0 = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)  # 09:00 in China
NOW_H = 100


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, hours: float) -> None:
        self.now = T0 + timedelta(hours=hours)


def _at(w: World, building: str) -> tuple[float, float]:
    with w.engine.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM buildings WHERE code = :b"
            ),
            {"b": building},
        ).one()
    return float(x), float(y)


def _history(w: World, tmp: Path) -> None:
    """H0-H3, imported from a CSV (historic, closed or cancelled), through the importer."""
    (b1x, b1y), (b2x, b2y), (b3x, b3y) = (_at(w, b) for b in ("B1", "B2", "B3"))
    lines = [
        "编号,小类,描述,状态,上报时间,结案时间,经度,纬度",
        f"H0,GY01,路灯不亮,已结案,2023-05-01 09:00,2023-05-04 09:00,{b1x},{b1y}",
        f"H1,路灯损坏,路灯闪烁,已结案,2024-03-01 09:00,2024-03-02 09:00,{b1x},{b1y}",
        f"H2,SR01,垃圾堆放,closed,2024-06-01T09:00+08:00,2024-06-01 15:00,{b2x},{b2y}",
        f"H3,JM01,乱停车,不予立案,2024-07-01 09:00,2024-07-01 10:00,{b3x},{b3y}",
    ]
    path = tmp / "history.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with db.session_scope(w.engine) as session:
        report = events_io.import_events(session, path, community="T1", user="test")
    assert report.added == 4


def _report(w: World, building: str, category: str, **body: Any) -> str:
    lon, lat = _at(w, building)
    r = w.client.post(
        "/api/events",
        json={
            "lon": lon,
            "lat": lat,
            "category": category,
            "description": f"{category} 在 {building}",
            "reporter_name": "张三丰",
            "reporter_phone": "13812345678",
            "allow_duplicate": True,
            **body,
        },
        headers=w.as_("officer" if building != "B3" else "planner"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def _steps(w: World, clock: Clock, code: str, *steps: tuple[float, str, str]) -> None:
    for hours, role, action in steps:
        clock.at(hours)
        r = w.client.post(f"/api/events/{code}/steps", json={"action": action}, headers=w.as_(role))
        assert r.status_code == 200, (action, r.text)


@pytest.fixture
def nine(world: World, tmp_path: Path) -> Iterator[tuple[World, Clock, dict[str, str]]]:
    """The nine events of the module docstring, the clock left at T0 + 100 h."""
    w = world
    with db.session_scope(w.engine) as session:
        ev.add_department_user(session, "u-department", "LDS")
        uid = accounts.add_user(
            session,
            "u-sanitation",
            role="department",
            password_hash=auth.hash_password("correct-horse-9"),
            communities=["T1"],
        )
        ev.add_department_user(session, "u-sanitation", "HWS")
        w.tokens["sanitation"] = auth.issue(session, uid, "api", w.settings).token
    clock = Clock()
    w.client.app.dependency_overrides[deps.clock] = clock  # type: ignore[attr-defined]
    _history(w, tmp_path)
    codes: dict[str, str] = {}
    clock.at(0)
    codes["E1"] = _report(w, "B1", "GY01")
    dept = ("department", "accept"), ("department", "handle"), ("department", "feedback")
    _steps(
        w,
        clock,
        codes["E1"],
        (1, "officer", "file"),
        (2, "officer", "dispatch"),
        *((3 + i, *s) for i, s in enumerate(dept)),
        (11, "officer", "verify"),
        (12, "officer", "close"),
    )
    clock.at(1)
    codes["E2"] = _report(w, "B2", "SR01")
    clean = ("sanitation", "accept"), ("sanitation", "handle"), ("sanitation", "feedback")
    _steps(
        w,
        clock,
        codes["E2"],
        (2, "officer", "file"),
        (3, "officer", "dispatch"),
        *((4 + i, *s) for i, s in enumerate(clean)),
        (30, "officer", "verify"),
        (31, "officer", "close"),
    )
    clock.at(2)
    codes["E3"] = _report(w, "B3", "GY01")
    _steps(
        w,
        clock,
        codes["E3"],
        (2.5, "planner", "file"),
        (3, "planner", "dispatch"),
        (4, "department", "accept"),
    )
    clock.at(3)
    codes["E4"] = _report(w, "B1", "SR01")
    _steps(w, clock, codes["E4"], (4, "officer", "cancel"))
    clock.at(5)
    codes["E5"] = _report(w, "B2", "GY02")
    clock.at(NOW_H)
    yield w, clock, codes
    w.client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


def _stats(w: World, role: str = "viewer", **params: str) -> Any:
    r = w.client.get("/api/events/stats", params=params, headers=w.as_(role))
    assert r.status_code == 200, r.text
    return r.json()


def test_dashboard_counts_hours_residents_and_years(
    nine: tuple[World, Clock, dict[str, str]],
) -> None:
    w, _, _ = nine
    s = _stats(w, community="T1")
    assert s["counts"] == {"total": 9, "open": 2, "overdue": 2, "closed": 5, "cancelled": 2}
    assert s["labels"]["overdue"] == "超期（督办）"
    status = {r["status"]: r for r in s["by_status"]}
    assert s["by_status"][0]["status"] == "reported" and len(status) == 9
    assert status["accepted"] == {
        "status": "accepted",
        "status_zh": "已报到",
        "events": 1,
        "overdue": 1,
    }
    assert status["reported"]["events"] == 1 and status["reported"]["overdue"] == 1
    assert s["hours_to_close"] == {"closed": 5, "mean_hours": 28.8, "median_hours": 24.0}
    assert s["residents"] == 330 and s["per_1000_residents"] == 27.27
    assert s["years"] == [
        {"year": 2023, "events": 1, "closed": 1, "open": 0},
        {"year": 2024, "events": 3, "closed": 2, "open": 0},
        {"year": 2025, "events": 0, "closed": 0, "open": 0},
        {"year": 2026, "events": 5, "closed": 2, "open": 2},
    ]
    dept = {d["department"]: d for d in s["by_department"]}
    assert dept["LDS"] == {
        "department": "LDS",
        "department_name": "路灯管理所",
        "events": 4,
        "open": 1,
        "overdue": 1,
        "closed": 3,
        "mean_hours": 36.0,
        "median_hours": 24.0,
    }
    assert (dept["HWS"]["events"], dept["HWS"]["mean_hours"], dept["HWS"]["median_hours"]) == (
        3,
        18.0,
        18.0,
    )
    assert dept["SZS"]["mean_hours"] is None and dept["SZS"]["overdue"] == 1
    assert dept["JJ"]["events"] == 1 and dept["JJ"]["closed"] == 0
    assert s["by_department"][0]["department"] == "LDS"  # most events first
    cats = {c["category"]: c for c in s["by_category"]}
    assert cats["GY"]["category_name"] == "公用设施"
    assert (cats["GY"]["events"], cats["GY"]["closed"], cats["GY"]["mean_hours"]) == (5, 3, 36.0)
    children = {c["category"]: c for c in cats["GY"]["children"]}
    assert children["GY01"]["category_name"] == "路灯损坏" and children["GY01"]["events"] == 4
    assert children["GY02"]["open"] == 1 and children["GY02"]["mean_hours"] is None
    assert (cats["SR"]["mean_hours"], cats["SR"]["median_hours"]) == (18.0, 18.0)
    assert cats["JM"]["children"][0]["category"] == "JM01"
    grids = {g["grid"]: g for g in s["grids"]}
    assert (grids["G1"]["events"], grids["G1"]["residents"]) == (7, 280)
    assert grids["G1"]["per_1000_residents"] == 25.0
    assert (grids["G2"]["events"], grids["G2"]["per_1000_residents"]) == (2, 40.0)
    assert grids["G2"]["overdue"] == 1


def test_dashboard_of_a_grid_a_window_and_residents_from_buildings(
    nine: tuple[World, Clock, dict[str, str]],
) -> None:
    w, clock, _ = nine
    g2 = _stats(w, community="T1", grid="G2")
    assert g2["scope"]["grid_name"] == "第二网格"
    assert g2["counts"] == {"total": 2, "open": 1, "overdue": 1, "closed": 0, "cancelled": 1}
    assert g2["residents"] == 50 and g2["per_1000_residents"] == 40.0 and g2["grids"] == []
    this_year = _stats(w, community="T1", since="2026-01-01", until="2026-12-31")
    assert this_year["counts"]["total"] == 5
    assert this_year["hours_to_close"] == {"closed": 2, "mean_hours": 21.0, "median_hours": 21.0}
    assert [y["year"] for y in this_year["years"]] == [2026]
    early = _stats(w, community="T1", until="2024-03-01")  # inclusive: H1's China day
    assert early["counts"]["total"] == 2
    # Before E3's deadline (T0 + 76 h) only E5 is overdue.
    clock.at(50)
    assert _stats(w, community="T1")["counts"]["overdue"] == 1
    clock.at(NOW_H)
    # Residents: the community's own figure first, the buildings' sum when it has none.
    with w.engine.begin() as conn:
        conn.execute(text("UPDATE communities SET residents = 1000 WHERE code = 'T1'"))
    assert _stats(w, community="T1")["per_1000_residents"] == 9.0
    with w.engine.begin() as conn:
        conn.execute(text("UPDATE communities SET residents = NULL WHERE code = 'T1'"))
    assert _stats(w, community="T1")["residents"] == 330
    assert _stats(w)["counts"]["total"] == 9  # every community of the viewer: T1


def test_dashboard_refusals(nine: tuple[World, Clock, dict[str, str]]) -> None:
    w, _, _ = nine
    c = w.client
    r = c.get("/api/events/stats", params={"grid": "G1"}, headers=w.as_("viewer"))
    assert r.status_code == 422 and "请同时指定社区" in r.json()["detail"][0]["msg"]
    r = c.get("/api/events/stats", params={"community": "T1", "grid": "G9"}, headers=w.as_("admin"))
    assert r.status_code == 404 and "G9" in r.json()["detail"][0]["msg"]
    r = c.get("/api/events/stats", params={"community": "ZZ"}, headers=w.as_("admin"))
    assert r.status_code == 404 and "ZZ" in r.json()["detail"][0]["msg"]
    r = c.get("/api/events/stats", params={"community": "ZZ"}, headers=w.as_("viewer"))
    assert r.status_code == 403  # not the viewer's community
    r = c.get(
        "/api/events/stats",
        params={"community": "T1", "since": "2026-02-01", "until": "2026-01-01"},
        headers=w.as_("viewer"),
    )
    assert r.status_code == 422 and "时间范围" in r.text
    for far in ({"since": "0001-01-01"}, {"until": "9999-12-31"}):
        r = c.get("/api/events/stats", params=far, headers=w.as_("viewer"))
        assert r.status_code == 422 and "超出范围" in r.text, far
        r = c.get("/tiles/events/15/0/0.pbf", params=far, headers=w.as_("viewer"))
        assert r.status_code == 422 and "超出范围" in r.text, far
    assert c.get("/api/events/stats").status_code == 401


ZH_HEADERS = [zh for _, zh in events_io.COLUMNS]
EN_HEADERS = [en for en, _ in events_io.COLUMNS]


def _export(w: World, role: str, **params: str) -> Any:
    r = w.client.get(
        "/api/events/export", params={"community": "T1", **params}, headers=w.as_(role)
    )
    assert r.status_code == 200, r.text
    return r


def test_export_masks_reporters_for_viewers_not_planners(
    nine: tuple[World, Clock, dict[str, str]],
) -> None:
    w, _, codes = nine
    rows = {}
    for role in ("viewer", "planner"):
        body = _export(w, role, format="csv").content.decode("utf-8-sig")
        table = list(csv.DictReader(io.StringIO(body)))
        assert list(table[0]) == ZH_HEADERS
        rows[role] = {r["编号"]: r for r in table}
    assert list(rows["planner"])[:4] == ["H0", "H1", "H2", "H3"]  # oldest first
    e1 = rows["planner"][codes["E1"]]
    assert (e1["上报人"], e1["联系电话"]) == ("张三丰", "13812345678")
    assert (rows["viewer"][codes["E1"]]["上报人"], rows["viewer"][codes["E1"]]["联系电话"]) == (
        "张**",
        "138****5678",
    )
    assert (e1["大类"], e1["小类"], e1["承办部门"], e1["状态"]) == (
        "公用设施",
        "路灯损坏",
        "路灯管理所",
        "已结案",
    )
    assert (e1["社区"], e1["网格"], e1["小区"], e1["楼栋"]) == ("T1", "G1", "C1", "B1")
    assert e1["上报时间"] == "2026-12-04 09:00:00" and e1["结案时间"] == "2026-12-04 21:00:00"
    assert (e1["办理时长（小时）"], e1["是否超期"]) == ("12.0", "否")
    e5 = rows["planner"][codes["E5"]]
    assert (e5["是否超期"], e5["办理时长（小时）"], e5["结案时间"]) == ("是", "95.0", "")
    assert float(e1["经度"]) == pytest.approx(_at(w, "B1")[0], abs=1e-6)
    assert rows["planner"]["H3"]["状态"] == "不予立案"
    en = _export(w, "viewer", format="csv", headers="en").content.decode("utf-8-sig")
    scripts = list(csv.DictReader(io.StringIO(en)))
    assert list(scripts[0]) == EN_HEADERS
    h1 = next(r for r in scripts if r["code"] == "H1")
    assert (h1["category_group"], h1["category"], h1["department"]) == ("GY", "GY01", "LDS")
    assert (h1["status"], h1["overdue"], h1["hours"]) == ("closed", "False", "24.0")
    assert h1["reported_at"] == "2024-03-01T09:00:00+08:00"


def test_excel_export_has_a_title_row_and_chinese_headers(
    nine: tuple[World, Clock, dict[str, str]], tmp_path: Path
) -> None:
    w, _, codes = nine
    r = _export(w, "viewer", format="xlsx")
    assert "attachment" in r.headers["content-disposition"]
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(r.content)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    title = str(sheet.cell(row=1, column=1).value)
    assert "测试社区" in title and "T1" in title and "2026年12月08日" in title  # T0 + 100 h
    header = [c.value for c in sheet[3]]
    assert header == ZH_HEADERS
    assert "geometry" not in header and "经度" in header and "纬度" in header
    body = {row[0]: row for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert len(body) == 9
    e1 = body[codes["E1"]]
    assert e1[ZH_HEADERS.index("上报人")] == "张**"
    assert e1[ZH_HEADERS.index("上报时间")] == datetime(2026, 12, 4, 9, 0)
    bad = w.client.get(
        "/api/events/export", params={"community": "T1", "format": "pdf"}, headers=w.as_("viewer")
    )
    assert bad.status_code == 422


def _tiles(w: World, role: str = "viewer", **params: Any) -> dict[str, dict[str, Any]]:
    """The events of the z15 tiles holding B1, B2 and B3, by code (a tile may miss some)."""
    found: dict[str, dict[str, Any]] = {}
    for xy in {tile_of(*_at(w, b), 15) for b in ("B1", "B2", "B3")}:
        r = w.client.get(
            f"/tiles/events/15/{xy[0]}/{xy[1]}.pbf", params=params, headers=w.as_(role)
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.mapbox-vector-tile")
        if r.content:
            for f in mapbox_vector_tile.decode(r.content)["events"]["features"]:
                found[f["properties"]["code"]] = f["properties"]
    return found


def test_event_tiles_carry_status_category_overdue_and_nothing_personal(
    nine: tuple[World, Clock, dict[str, str]],
) -> None:
    w, _, codes = nine
    props = _tiles(w, community="T1")
    assert set(props) == {*codes.values(), "H0", "H1", "H2", "H3"}
    assert props[codes["E5"]] == {
        "code": codes["E5"],
        "status": "reported",
        "category": "GY02",
        "category_group": "GY",
        "overdue": True,
    }
    assert props[codes["E1"]]["overdue"] is False
    assert props[codes["E3"]]["overdue"] is True
    only_open = _tiles(w, status=["reported", "accepted"], category="GY")
    assert set(only_open) == {codes["E3"], codes["E5"]}
    assert set(_tiles(w, since="2024-01-01", until="2024-12-31")) == {"H1", "H2", "H3"}
    # A user of no community sees no events; a bad tile address is refused.
    with w.engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM user_communities WHERE user_id = "
                "(SELECT id FROM users WHERE username = 'u-viewer')"
            )
        )
    assert _tiles(w) == {}
    assert w.client.get("/tiles/events/3/8/1.pbf", headers=w.as_("admin")).status_code == 422
