"""Every command of the CLI on thin communities: an answer or a Chinese message, never a traceback.

One of the places is real: the OpenStreetMap extract of Haidian with its residential areas,
walls and gates left out, imported the way a new user would (files, then the ``.osm.pbf``
network), which is where a community without compounds first broke.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd

from gis_api import services
from gis_api.settings import get_settings
from layers.haidian import EXTRACT, haidian_city
from layers.io.files import write_table
from layers.schema import LAYER_NAMES
from tests import factories, shapes
from tests.running import gridmap


def _flat(out: str) -> str:
    """The output with rich's line wrapping undone."""
    return out.replace("\n", "")


def _no_traceback(out: str) -> None:
    assert "Traceback" not in out and 'File "' not in out, out


def test_every_command_on_an_empty_community(env: str, tmp_path: Path) -> None:
    shapes.load(env, {"communities": factories.community_layers()["communities"]}, None)
    out_file = str(tmp_path / "out.csv")
    answers: list[tuple[list[str], int, str]] = [
        (["db", "status"], 0, "buildings"),
        (["db", "migrate"], 0, ""),
        (["analyze", "service-circle", "--community", "T1", "--out", out_file], 2, "楼栋"),
        (["analyze", "venues", "--community", "T1", "--k", "1", "--out", out_file], 2, "楼栋"),
        (["analyze", "lead-zones", "--community", "T1", "--out", out_file], 2, "楼栋"),
        (["analyze", "split", "--community", "T1", "--out", out_file], 2, "楼栋"),
        (["analyze", "service-circle", "--community", "NOPE", "--out", out_file], 2, "NOPE"),
        (["import", "buildings", str(tmp_path / "missing.geojson")], 2, "missing.geojson"),
    ]
    answers += [
        (["export", layer, str(tmp_path / f"{layer}.geojson")], 0, "0 条")
        for layer in LAYER_NAMES
        if layer not in {"communities", "network"}
    ]
    answers += [(["export", "network", str(tmp_path / "net.geojson")], 0, "0 条")]
    for args, code, said in answers:
        got, out = gridmap(*args)
        _no_traceback(out)
        assert got == code, (args, out)
        assert said in _flat(out), (args, out)
    # The analyses tell what to import next.
    _, out = gridmap("analyze", "lead-zones", "--community", "T1", "--out", out_file)
    assert "gridmap import buildings" in _flat(out)


def test_each_shape_through_the_cli(env: str, tmp_path: Path) -> None:
    """Import each thin shape's layers as files, then run every analysis."""
    for name, make in shapes.SHAPES.items():
        layers, ways = make()
        folder = tmp_path / name
        folder.mkdir()
        for layer, gdf in layers.items():
            path = folder / f"{layer}.geojson"
            write_table(gdf, path)
            code, out = gridmap("import", layer, str(path), "--community", "T1")
            assert code == 0, (name, layer, out)
        if ways is not None:
            path = folder / "ways.geojson"
            ways.to_file(path, driver="GeoJSON")
            code, out = gridmap("import", "network", str(path), "--community", "T1")
            assert code == 0, (name, out)
        circle = folder / "circle.csv"
        code, out = gridmap("analyze", "service-circle", "--community", "T1", "--out", str(circle))
        _no_traceback(out)
        assert code == 0, (name, out)
        table = pd.read_csv(circle)
        assert set(table["building_id"]) == set(layers["buildings"]["code"])
        if name == "no_service_points":
            assert not table["covered"].any() and "0.0%" in out
        if name == "no_network":
            assert "直线" in out
        code, out = gridmap(
            "analyze", "lead-zones", "--community", "T1", "--out", str(folder / "z.csv")
        )
        assert code == 0, (name, out)
        code, out = gridmap(
            "analyze", "venues", "--community", "T1", "--k", "1", "--out", str(folder / "v.csv")
        )
        _no_traceback(out)
        if "candidate_venues" in layers:
            assert code == 0, (name, out)
        else:
            assert code == 2 and "gridmap import candidate_venues" in _flat(out), (name, out)
        # The split: plans whose parts cover the community, or a clear refusal (one unit).
        plans, edges = folder / "split.csv", folder / "split.geojson"
        code, out = gridmap(
            "analyze",
            "split",
            "--community",
            "T1",
            "--plans",
            "2",
            "--out",
            str(plans),
            "--boundaries",
            str(edges),
        )
        _no_traceback(out)
        units = (
            layers["buildings"]["compound"].fillna(layers["buildings"]["code"]).nunique()
            if "compound" in layers["buildings"]
            else len(layers["buildings"])
        )
        if units < 2:
            assert code == 2 and "无法分成 2 部分" in _flat(out), (name, out)
        else:
            assert code == 0, (name, out)
            rows = pd.read_csv(plans)
            assert set(rows["building_id"]) == set(layers["buildings"]["code"]), name
            assert set(rows["part"]) == {0, 1}, name
            parts = gpd.read_file(edges).to_crs(factories.METRIC)
            area = layers["communities"].to_crs(factories.METRIC).area.sum()
            for _, plan in parts.groupby("plan"):
                assert plan.area.sum() == pytest.approx(area, rel=1e-6), name
                assert plan.union_all().area == pytest.approx(area, rel=1e-6), name
            assert (folder / "split-measures.csv").exists()
        # The next shape starts from an empty database again.
        code, out = gridmap("db", "status")
        assert code == 0
        with services.transaction(get_settings()) as session:
            from sqlalchemy import text

            session.execute(text("DELETE FROM communities"))


def test_unexpected_error_has_an_id_and_the_log_has_the_traceback(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        msg = "simulated bug"
        raise RuntimeError(msg)

    monkeypatch.setattr(services, "db_status", broken)
    code, out = gridmap("db", "status")
    assert code == 3
    _no_traceback(out)
    assert "内部错误" in out and "错误编号" in out and "--debug" in _flat(out)
    eid = out.split("错误编号 ")[1].split("）")[0]
    log = (tmp_path / "gridmap.log").read_text(encoding="utf-8")
    assert eid in log and "Traceback" in log and "simulated bug" in log
    code, out = gridmap("--debug", "db", "status")
    assert code == 3 and "Traceback" in out and "simulated bug" in out


def test_real_extract_without_compounds(env: str, tmp_path: Path) -> None:
    """Haidian from OSM as most extracts come: no residential areas, walls or gates."""
    city = haidian_city()
    for layer in ("communities", "buildings", "service_points"):
        gdf = city.layers[layer].drop(columns=["compound", "grid"], errors="ignore")
        path = tmp_path / f"{layer}.geojson"
        write_table(gdf, path)
        code, out = gridmap("import", layer, str(path), "--community", "HD")
        assert code == 0, (layer, out)
    code, out = gridmap("import", "network", str(EXTRACT), "--community", "HD")
    _no_traceback(out)
    assert code == 0, out
    assert "路网" in out
    circle = tmp_path / "circle.geojson"
    code, out = gridmap("analyze", "service-circle", "--community", "HD", "--out", str(circle))
    assert code == 0, out
    assert "沿步行路网" in out
    result = gpd.read_file(circle)
    assert len(result) == len(city.layers["buildings"])
    walk = result["walk_m"].to_numpy(dtype=float)
    reached = np.isfinite(walk)
    assert reached.mean() > 0.9  # no walls: nearly everyone reaches a service point
    # Independent check: walking on the network is never shorter than the straight line.
    metric = result.estimate_utm_crs()
    points = city.layers["service_points"].set_index("code").to_crs(metric).geometry
    b = result.to_crs(metric).geometry.representative_point()
    nearest = result["nearest_service_point_id"]
    straight = np.array(
        [
            b.iloc[i].distance(points[nearest.iloc[i]]) if reached[i] else np.nan
            for i in range(len(b))
        ]
    )
    assert np.all(walk[reached] >= straight[reached] - 0.5)
    code, out = gridmap(
        "analyze", "lead-zones", "--community", "HD", "--out", str(tmp_path / "zones.csv")
    )
    assert code == 0, out
    zones = pd.read_csv(tmp_path / "zones.csv")
    assert set(zones["building_id"]) == set(city.layers["buildings"]["code"])
    # The split of a real place without compounds: every building a unit of its own.
    edges = tmp_path / "split.geojson"
    code, out = gridmap(
        "analyze",
        "split",
        "--community",
        "HD",
        "--plans",
        "2",
        "--out",
        str(tmp_path / "split.csv"),
        "--boundaries",
        str(edges),
    )
    _no_traceback(out)
    assert code == 0, out
    rows = pd.read_csv(tmp_path / "split.csv")
    assert set(rows["building_id"]) == set(city.layers["buildings"]["code"])
    measures = pd.read_csv(tmp_path / "split-measures.csv")
    assert measures["max_deviation_pct"].min() <= 5.0 + 1e-9  # within the default tolerance
    metric = gpd.read_file(edges).estimate_utm_crs()
    area = city.layers["communities"].to_crs(metric).area.sum()
    parts = gpd.read_file(edges).to_crs(metric)
    for _, plan in parts.groupby("plan"):
        # Within 10 m² per km²: what GeoJSON's rounding of an OSM outline leaves.
        assert plan.union_all().area == pytest.approx(area, rel=1e-5)
        assert plan.area.sum() == pytest.approx(area, rel=1e-5)  # no overlap
