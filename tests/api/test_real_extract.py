"""Every analysis on real data: the OpenStreetMap extracts of Haidian, Beijing, and Nanjing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_api.analyses import common, split, venues
from gis_api.analyses import lead_zones as lead
from gis_api.analyses import service_circle as circle
from gis_api.settings import Settings
from layers.demo import load_city, load_place


def test_all_analyses_on_haidian(session: Session) -> None:
    load_place(session, "haidian")
    p = common.project(session, "HD")
    edges = p.walker.edges
    assert edges is not None and len(edges) > 500  # the real walking network

    cov = circle.run(p, limit_m=1000).coverage
    assert not cov.approximate
    walk = cov.buildings["walk_m"].to_numpy(dtype=float)
    reached = np.isfinite(walk)
    assert reached.mean() > 0.5  # most residential buildings reach a service point
    # Walking on the network is never shorter than the straight line.
    b = p.buildings.geometry.representative_point().to_numpy()
    points = p.points.set_index("service_point_id").geometry
    nearest = cov.buildings["nearest_service_point_id"].to_numpy()
    straight = np.array(
        [b[i].distance(points[nearest[i]]) if reached[i] else np.nan for i in range(len(b))]
    )
    assert np.all(walk[reached] >= straight[reached] - 1e-6)
    assert cov.areas is not None and len(cov.areas) == int(p.points["is_open"].sum())

    picked = venues.run(p, venues.Options(k=2, include_incomplete_legal=True), limit_m=500)
    plan = picked.plan
    assert not picked.approximate
    assert plan.after.residents >= plan.before.residents
    assert len(plan.picks) <= 2

    defaults = Settings(lead_min_households=50, lead_min_occupancy=0.5, lead_max_walk_m=150)
    zones = lead.run(session, "HD", defaults).plan
    ids = zones.buildings["building_id"]
    assert ids.is_unique and set(ids) == set(p.buildings["building_id"])
    assert set(zones.buildings["zone_kind"]) <= {"own", "shared", "rotating"}


NANJING = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "nanjing-xuanwu-osm"


@pytest.mark.skipif(not NANJING.exists(), reason="real Nanjing extract missing")
def test_split_of_the_nanjing_extract_and_saving_it(session: Session) -> None:
    """Central Nanjing (OSM): compounds from residential land, buildings, its real network."""
    from layers.haidian import haidian_city

    city = haidian_city(NANJING / "osm_bbox.osm.pbf")
    load_city(session, city)
    result = split.run(session, "HD", split.Options(parts=2, plans=3, time_budget_s=3))
    assert result.plans
    rows = split.assignments(result)
    codes = set(city.layers["buildings"]["code"])
    assert set(rows["building_id"]) == codes
    best = result.plans[0].measures
    assert best.contiguous.all()
    if result.feasible:
        assert best.max_deviation_pct <= 5.0 + 1e-9
    area = city.layers["communities"].to_crs(result.prepared.crs).area.sum()
    for _, plan in split.boundaries(result).to_crs(result.prepared.crs).groupby("plan"):
        assert plan.union_all().area == pytest.approx(area, rel=1e-5)
    # Save the best plan: the buildings, residents and area add up in the two communities.
    prepared = split.prepare(session, "HD")
    plan = result.plans[0]
    assignment = dict(zip(prepared.split.unit_ids.tolist(), plan.part.tolist(), strict=True))
    names = [split.NewName("HD", "南京演示社区"), split.NewName("HD-2", "南京演示二社区")]
    _, saved = split.save(session, "HD", assignment, names)
    assert saved.removed is None and saved.communities == ("HD", "HD-2")
    got = session.execute(
        text(
            "SELECT m.code, count(b.id), sum(b.residents) FROM communities m "
            "JOIN buildings b ON b.community_id = m.id WHERE m.code IN ('HD', 'HD-2') "
            "GROUP BY m.code ORDER BY m.code"
        )
    ).all()
    assert sum(int(n) for _, n, _ in got) == len(codes)
    assert [float(r) for _, _, r in got] == pytest.approx(best.residents.tolist())
    p = common.project(session, "HD-2")
    assert p.walker.edges is not None and len(p.walker.edges) > 0
    # The extract's one service point went to one part; the other part's circle is empty.
    points = {code: len(common.project(session, code).points) for code in ("HD", "HD-2")}
    assert sorted(points.values()) == [0, 1]
    assert best.service_points.tolist() == [points["HD"], points["HD-2"]]
    reached = circle.run(p, limit_m=1000).coverage.buildings["walk_m"].notna().any()
    assert reached == (points["HD-2"] == 1)
