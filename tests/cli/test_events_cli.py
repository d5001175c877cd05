"""``gridmap events import|export``: past events in from CSV or Excel, the ledger out.

On a fresh database holding the test community T1 (grids G1 with B1, B2 and G2 with B3).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from sqlalchemy import Engine, text

from layers import db
from tests import factories, shapes
from tests.running import gridmap


def _read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _engine(url: str) -> Engine:
    return db.make_engine(url)


def _points(url: str) -> dict[str, tuple[float, float]]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                    "FROM buildings"
                )
            ).all()
    finally:
        engine.dispose()
    return {r[0]: (float(r[1]), float(r[2])) for r in rows}


def _count(url: str, sql: str = "SELECT count(*) FROM events") -> int:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _history(path: Path, p: dict[str, tuple[float, float]], *extra: str) -> Path:
    """Three past events: two closed, one cancelled (Chinese headers, a UTF-8 CSV)."""
    lines = [
        "小类,描述,状态,上报时间,结案时间,经度,纬度,上报人,联系电话",
        f"GY01,3 号路灯不亮,已结案,2024-03-01 09:00,2024-03-02 09:00,{p['B1'][0]},{p['B1'][1]},"
        "张三丰,13812345678",
        f"暴露垃圾,垃圾堆放,已结案,2024/06/01 09:00,2024/06/01 15:30,{p['B3'][0]},{p['B3'][1]},,",
        f"JM01,乱停车,不予立案,2025-01-05,2025-01-05 10:00,{p['B2'][0]},{p['B2'][1]},,",
        *extra,
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_closed_history_then_export(env: str, tmp_path: Path) -> None:
    shapes.load(env, factories.community_layers(), None)
    p = _points(env)
    code, out = gridmap(
        "events", "import", str(_history(tmp_path / "历史事件.csv", p)), "--community", "T1"
    )
    assert code == 0, out
    assert "已导入" in out and "3 个事件" in out and "已结案 2" in out and "不予立案 1" in out
    assert _count(env, "SELECT count(*) FROM events WHERE source = 'import'") == 3
    assert _count(env, "SELECT count(*) FROM event_steps") == 6  # reported + the last step
    ledger = tmp_path / "台账.csv"
    code, out = gridmap("events", "export", "--community", "T1", "--out", str(ledger))
    assert code == 0 and "3 个事件" in out, out
    rows = _read(ledger)
    assert [r["小类"] for r in rows] == ["路灯损坏", "暴露垃圾", "乱停车"]  # oldest first
    first, second, third = rows
    assert (first["网格"], first["小区"], first["楼栋"]) == ("G1", "C1", "B1")  # from the point
    assert (second["网格"], second["小区"], second["楼栋"]) == ("G2", "", "B3")
    assert (first["状态"], first["办理时长（小时）"], first["是否超期"]) == ("已结案", "24.0", "否")
    assert second["办理时长（小时）"] == "6.5" and second["承办部门"] == "环卫所"
    assert third["状态"] == "不予立案" and third["上报时间"] == "2025-01-05 00:00:00"
    assert first["上报人"] == "张三丰"  # the CLI is the local administrator
    assert first["编号"].startswith("SJ20240301")
    # For scripts: English names and codes.
    scripts = tmp_path / "events.csv"
    code, out = gridmap(
        "events", "export", "--community", "T1", "--out", str(scripts), "--headers", "en"
    )
    assert code == 0, out
    en = _read(scripts)
    assert list(en[0])[:4] == ["code", "category_group", "category", "description"]
    assert [r["status"] for r in en] == ["closed", "closed", "cancelled"]
    # The same file again: every row's code is taken, nothing is added.
    code, out = gridmap("events", "import", str(scripts), "--community", "T1")
    assert code == 2 and "整个文件未写入" in out and "已存在" in out and "第 3 行" in out, out
    assert "共 3 处问题" in out and out.count("已存在") == 3, out  # nothing else is wrong
    assert _count(env) == 3
    # An Excel ledger (title row, Chinese headers) imports back after the events are gone.
    book = tmp_path / "台账.xlsx"
    code, out = gridmap("events", "export", "--community", "T1", "--out", str(book))
    assert code == 0, out
    sheet = openpyxl.load_workbook(book).active
    assert sheet is not None and "事件台账" in str(sheet["A1"].value)
    engine = _engine(env)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM events"))
    engine.dispose()
    code, out = gridmap("events", "import", str(book), "--community", "T1")
    assert code == 0 and "3 个事件" in out, out
    assert _count(env, "SELECT count(*) FROM events WHERE grid_id IS NOT NULL") == 3
    again = tmp_path / "again.csv"
    gridmap("events", "export", "--community", "T1", "--out", str(again))
    assert _read(again) == rows


def test_a_bad_row_refuses_the_whole_file(env: str, tmp_path: Path) -> None:
    shapes.load(env, factories.community_layers(), None)
    p = _points(env)
    lon, lat = p["B1"]
    bad = _history(
        tmp_path / "bad.csv",
        p,
        f"NOPE,不知道是什么,已结案,2024-03-01 09:00,2024-03-02 09:00,{lon},{lat},,",
        f"GY01,结案早于上报,已结案,2024-03-05 09:00,2024-03-01 09:00,{lon},{lat},,",
        f"GY01,远在天边,已上报,2024-03-05 09:00,,{lon + 1},{lat},,",
        f"GY01,已结案却无结案时间,已结案,2024-03-05 09:00,,{lon},{lat},,",
    )
    code, out = gridmap("events", "import", str(bad), "--community", "T1")
    assert code == 2, out
    assert "整个文件未写入" in out and "共 4 处问题" in out
    assert "第 4 行" in out and "类别“NOPE”不存在" in out
    assert "第 5 行" in out and "早于上报时间" in out
    assert "第 6 行" in out and "不在任何社区范围内" in out
    assert "第 7 行" in out and "须填写结案时间" in out
    assert "Traceback" not in out
    assert _count(env) == 0 and _count(env, "SELECT count(*) FROM event_steps") == 0
    missing = tmp_path / "missing.csv"
    missing.write_text("小类,描述\nGY01,路灯\n", encoding="utf-8")
    code, out = gridmap("events", "import", str(missing), "--community", "T1")
    assert code == 2 and "缺少必需的列" in out and "上报时间" in out, out
    code, out = gridmap("events", "import", str(bad), "--community", "ZZ")
    assert code == 2 and "ZZ" in out, out
    code, out = gridmap("events", "export", "--community", "T1", "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and ".xlsx" in out, out


def test_a_department_user_from_the_command_line(env: str) -> None:
    """gridmap user add --role department --department LDS: the user acts for 路灯管理所."""
    from sqlalchemy import text as sql

    from gis_api.cli import app
    from layers import db
    from tests import factories, shapes
    from tests.running import runner

    shapes.load(env, factories.community_layers(), None)
    result = runner.invoke(
        app,
        ["user", "add", "u-lights", "--role", "department", "--community", "T1",
         "--department", "LDS", "--password-stdin"],
        input="correct-horse-9\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    engine = db.make_engine(env)
    try:
        with engine.connect() as conn:
            got = (
                conn.execute(
                    sql(
                        "SELECT d.code FROM department_users du "
                        "JOIN users u ON u.id = du.user_id "
                        "JOIN departments d ON d.id = du.department_id "
                        "WHERE u.username = 'u-lights'"
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert got == ["LDS"]
    wrong = runner.invoke(
        app,
        ["user", "add", "u-x", "--role", "viewer", "--department", "LDS", "--password-stdin"],
        input="correct-horse-9\n",
    )
    assert wrong.exit_code == 2 and "只有职能部门人员" in wrong.output
    unknown = runner.invoke(
        app,
        ["user", "add", "u-y", "--role", "department", "--department", "NOPE",
         "--password-stdin"],
        input="correct-horse-9\n",
    )  # fmt: skip
    assert unknown.exit_code == 2 and "部门“NOPE”不存在" in unknown.output
