"""The gridmap command line, end to end on a real database (committed, so a fresh copy each)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from gis_api.settings import get_settings
from layers import db
from layers.io.files import write_table
from tests import factories
from tests.running import gridmap


def summary_row(out: str, layer: str) -> list[str]:
    """The cells of the summary table's row for ``layer``: rows, added, updated, unchanged..."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] == layer:
            return cells[1:]
    msg = f"no summary row for {layer} in:\n{out}"
    raise AssertionError(msg)


def test_import_prints_summary_then_reimport_updates(env: str, tmp_path: Path) -> None:
    paths = factories.write_layers(tmp_path, ".geojson")
    for layer in ("communities", "compounds", "buildings"):
        code, out = gridmap("import", layer, str(paths[layer]))
        assert code == 0, out
        assert "导入结果" in out
    # rows, added, updated, unchanged, rejected
    assert summary_row(out, "buildings")[:5] == ["3", "3", "0", "0", "0"]
    code, out = gridmap("import", "buildings", str(paths["buildings"]))
    assert code == 0
    assert summary_row(out, "buildings")[:5] == ["3", "0", "0", "3", "0"]
    code, out = gridmap("db", "status")
    assert code == 0 and "buildings" in out and db.head_revision() in out


def test_bad_import_exits_2_and_names_the_row(env: str, tmp_path: Path) -> None:
    paths = factories.write_layers(tmp_path, ".geojson")
    gridmap("import", "communities", str(paths["communities"]))
    gdf = factories.community_layers()["buildings"]
    gdf.loc[2, "households"] = -3
    bad = tmp_path / "bad.geojson"
    write_table(gdf, bad)
    code, out = gridmap("import", "buildings", str(bad))
    assert code == 2
    assert "整个文件未写入" in out and "第 3 行" in out and "户数" in out
    code, out = gridmap("export", "buildings", str(tmp_path / "b.csv"))
    assert code == 0 and "0 条" in out  # nothing was written by the failed import


def test_export_gcj02_csv(env: str, tmp_path: Path) -> None:
    paths = factories.write_layers(tmp_path, ".geojson")
    for layer in ("communities", "service_points"):
        gridmap("import", layer, str(paths[layer]))
    out_path = tmp_path / "sp.csv"
    code, out = gridmap(
        "export", "service_points", str(out_path), "--crs", "gcj02", "--headers", "zh"
    )
    assert code == 0, out
    assert "GCJ-02" in out
    header = out_path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("编号,社区,名称,类型")


def test_unknown_crs_message(env: str, tmp_path: Path) -> None:
    paths = factories.write_layers(tmp_path, ".geojson")
    code, out = gridmap("import", "communities", str(paths["communities"]), "--crs", "mars")
    assert code == 2
    assert "无法识别的坐标系" in out or "mars" in out


def test_db_up_and_down_local_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(tempfile.mkdtemp(prefix="gridmap-cli-"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("GRIDMAP_LOCAL_DB_DIR", str(root))
    get_settings.cache_clear()
    try:
        code, out = gridmap("db", "up")
        assert code == 0, out
        assert "数据库已就绪" in out
        cluster = db.cluster_status(root)
        assert cluster is not None
        assert db.current_revision(cluster.url) == db.head_revision()
        code, out = gridmap("db", "down")
        assert "已停止" in out
        assert db.cluster_status(root) is None
        code, out = gridmap("db", "status")
        assert code == 2 and "gridmap db up" in out
    finally:
        db.cluster_down(root)
        shutil.rmtree(root, ignore_errors=True)
        get_settings.cache_clear()


def test_split_keeps_locks_and_refuses_a_bad_one(env: str, tmp_path: Path) -> None:
    """T1 split in two with B3 (loose) locked to part 1 and C1 to part 0: every plan keeps both."""
    import pandas as pd

    from tests import shapes

    shapes.load(env, factories.community_layers(), None)
    out_file = tmp_path / "split.csv"
    code, out = gridmap(
        "analyze",
        "split",
        "--community",
        "T1",
        "--tolerance",
        "0.5",
        "--by",
        "households",
        "--lock",
        "B3=1",
        "--lock",
        "C1=0",
        "--seconds",
        "2",
        "--out",
        str(out_file),
    )
    assert code == 0, out
    rows = pd.read_csv(out_file)
    part = rows.groupby("building_id")["part"].agg(set).to_dict()
    assert part == {"B1": {0}, "B2": {0}, "B3": {1}}
    code, out = gridmap(
        "analyze", "split", "--community", "T1", "--lock", "C1", "--out", str(out_file)
    )
    assert code == 2 and "编号=部分" in out, out
    code, out = gridmap(
        "analyze", "split", "--community", "T1", "--lock", "C9=0", "--out", str(out_file)
    )
    assert code == 2 and "C9" in out and "Traceback" not in out, out
