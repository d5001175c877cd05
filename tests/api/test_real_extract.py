"""Every analysis on real data: the OpenStreetMap extract of Haidian, Beijing."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from gis_api.analyses import common, venues
from gis_api.analyses import lead_zones as lead
from gis_api.analyses import service_circle as circle
from gis_api.settings import Settings
from layers.demo import load_place


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
