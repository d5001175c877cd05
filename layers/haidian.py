"""A real place for the demo: the OpenStreetMap extract of Haidian, Beijing, as a community.

OpenStreetMap has buildings, residential areas, walls, gates, paths and points of interest,
but no communities, households or party members. What it lacks is derived deterministically
(same file, same numbers), as follows; every number below is a stated assumption, not data:

- **Community** "HD" (海淀演示社区): the residential buildings and residential areas, each
  grown by 60 m, merged, closed (grow 60 m, shrink 40 m) and with holes filled: the
  neighbourhood the buildings make, not the file's rectangle.
- **Compounds**: the ``landuse=residential`` areas, named by their OSM name or "住宅区 N".
  Compounds that have gates are walled (their boundary is a barrier, gates the passages).
- **Buildings**: footprints tagged residential/apartments/house/dormitory, or ``building=yes``
  inside a residential area. Floors: ``building:levels``, else ``height`` / 3 m, else by
  footprint (under 150 m² → 2, under 1,500 m² → 6, larger → 12). Households: usable floor
  area (footprint × floors × 0.75) / 90 m² per household, at least 1. Occupancy: 0.65–0.95,
  from a hash of the OSM id. Residents: households × occupancy × 2.62 (the 2020 census's
  urban household size). Party members: 2.5% of residents, rounded by the same hash.
- **Grids**: four, the Voronoi cells of the residential buildings' quartile centres.
- **Gates**: OSM gates/entrances within 20 m of a compound; walls and fences as barriers.
- **Service points**: public amenities (community centre, social facility, library, clinic,
  townhall, police, post office) as "other"; the one nearest the community's centre stands
  in as its party-mass service centre (推定), since OSM does not record those.
- **Candidate venues**: in each compound, a ground-floor community room in the building
  nearest its centre (floor area 30% of the footprint, at most 200 m²); no legal checks done.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from layers import crs as crsmod
from layers.io.osm import OsmExtract, read_osm
from layers.synth import SynthCity

EXTRACT = Path(__file__).parent / "data" / "haidian" / "map.osm.pbf"
CODE = "HD"
RESIDENTIAL_TYPES = {"residential", "apartments", "house", "dormitory", "detached", "terrace"}
PUBLIC_AMENITIES = {
    "community_centre",
    "social_facility",
    "library",
    "clinic",
    "townhall",
    "police",
    "post_office",
}
M2_PER_HOUSEHOLD = 90.0
NET_TO_GROSS = 0.75
PERSONS_PER_HOUSEHOLD = 2.62
PARTY_SHARE = 0.025


def _fraction(code: str) -> float:
    """Return a stable number in [0, 1) from an OSM id, the same on every machine."""
    digest = hashlib.sha256(code.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def haidian_city(path: Path = EXTRACT) -> SynthCity:
    """Build every layer of the Haidian demo community from the OSM extract at ``path``."""
    osm = read_osm(path)
    metric = crsmod.metric_crs(osm.buildings.geometry)
    residential = osm.residential.to_crs(metric)
    residential = residential[residential.geometry.is_valid & (residential.area > 2000)]
    buildings = _residential_buildings(osm, residential, metric)
    community_geom = _community_shape(buildings, residential)
    # The community is the largest built-up blob; buildings of other blobs are left out.
    buildings = buildings[buildings.representative_point().within(community_geom)].copy()
    compounds = _compounds(residential, community_geom)
    gates = _gates(osm, compounds, metric)
    compounds["walled"] = compounds["code"].isin(set(gates["compound"]))
    layers = {
        "communities": _frame(
            [
                {
                    "code": CODE,
                    "name": "海淀演示社区",
                    "households": int(buildings["households"].sum()),
                    "residents": int(buildings["residents"].sum()),
                    "party_members": int(buildings["party_members"].sum()),
                    "geometry": community_geom,
                }
            ],
            metric,
        ),
        "grids": _grids(buildings, community_geom, metric),
        "compounds": compounds.drop(columns=["walled"]).to_crs("EPSG:4326"),
        "gates": gates.to_crs("EPSG:4326"),
        "barriers": _barriers(osm, community_geom, metric),
        "buildings": buildings.to_crs("EPSG:4326"),
        "service_points": _service_points(osm, community_geom, metric),
        "candidate_venues": _venues(buildings, compounds, metric),
    }
    for frame in layers.values():
        frame["community"] = CODE
    return SynthCity(layers=layers, ways=osm.ways[["code", "highway", "name", "geometry"]])


def _frame(rows: list[dict[str, Any]], crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=crs).to_crs("EPSG:4326")


def _residential_buildings(
    osm: OsmExtract, residential: gpd.GeoDataFrame, metric: Any
) -> gpd.GeoDataFrame:
    b = osm.buildings.to_crs(metric)
    b = b[b.geometry.is_valid & b.geom_type.isin(["Polygon", "MultiPolygon"])].copy()
    in_area = b.representative_point().within(residential.union_all())
    b = b[b["building"].isin(RESIDENTIAL_TYPES) | ((b["building"] == "yes") & in_area)].copy()
    area = b.area.to_numpy()
    floors = np.where(area < 150, 2, np.where(area < 1500, 6, 12)).astype(float)
    height_floors = np.round(b["height_m"].to_numpy(dtype=float) / 3.0)
    floors = np.where(np.isfinite(height_floors) & (height_floors >= 1), height_floors, floors)
    levels = b["levels"].to_numpy(dtype=float)
    floors = np.where(np.isfinite(levels) & (levels >= 1), levels, floors).astype(int)
    frac = np.array([_fraction(c) for c in b["code"]])
    households = np.maximum(1, np.round(area * floors * NET_TO_GROSS / M2_PER_HOUSEHOLD))
    occupancy = np.round(0.65 + 0.30 * frac, 2)
    residents = np.maximum(1, np.round(households * occupancy * PERSONS_PER_HOUSEHOLD))
    party = np.floor(residents * PARTY_SHARE + frac).astype(int)
    names = b["name"].where(b["name"].notna(), None)
    return gpd.GeoDataFrame(
        {
            "code": "HD-" + b["code"].astype(str),
            "name": names.to_numpy(),
            "households": households.astype(int),
            "residents": residents.astype(int),
            "occupancy": occupancy,
            "floors": floors,
            "party_members": np.minimum(party, residents.astype(int)),
        },
        geometry=b.geometry.to_numpy(),
        crs=metric,
    ).reset_index(drop=True)


def _community_shape(buildings: gpd.GeoDataFrame, residential: gpd.GeoDataFrame) -> Any:
    parts = [*buildings.geometry.buffer(60), *residential.geometry.buffer(60)]
    merged = shapely.union_all(parts).buffer(60).buffer(-40)
    polys = list(getattr(merged, "geoms", [merged]))
    largest = max(polys, key=lambda p: p.area)
    return shapely.Polygon(largest.exterior).simplify(5)


def _compounds(residential: gpd.GeoDataFrame, community: Any) -> gpd.GeoDataFrame:
    r = residential.copy()
    r["geometry"] = r.geometry.intersection(community).buffer(0)
    r = r[~r.geometry.is_empty & (r.area > 2000)].sort_values("code").reset_index(drop=True)
    names = [n if isinstance(n, str) and n else f"住宅区 {i + 1}" for i, n in enumerate(r["name"])]
    return gpd.GeoDataFrame(
        {"code": "HD-" + r["code"].astype(str), "name": names},
        geometry=r.geometry.to_numpy(),
        crs=r.crs,
    )


def _gates(osm: OsmExtract, compounds: gpd.GeoDataFrame, metric: Any) -> gpd.GeoDataFrame:
    g = osm.gates.to_crs(metric)
    rings = compounds.geometry.boundary
    rows = []
    for code, name, is_open, point in zip(
        g["code"], g["name"], g["is_open"], g.geometry, strict=True
    ):
        dist = rings.distance(point).to_numpy()
        if len(dist) and dist.min() <= 20:
            nearest = int(np.argmin(dist))
            rows.append(
                {
                    "code": f"HD-{code}",
                    "name": name if isinstance(name, str) else None,
                    "compound": compounds["code"].iloc[nearest],
                    "is_open": bool(is_open),
                    "geometry": point,
                }
            )
    columns = ["code", "name", "compound", "is_open", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=metric)


def _barriers(osm: OsmExtract, community: Any, metric: Any) -> gpd.GeoDataFrame:
    w = osm.barriers.to_crs(metric)
    w = w[w.intersects(community)].copy()
    w["geometry"] = w.geometry.intersection(community)
    w = w.explode(index_parts=False)
    w = w[w.geom_type == "LineString"]
    w = w.assign(
        code="HD-" + w["code"].astype(str) + "-" + w.groupby(level=0).cumcount().astype(str),
        kind=np.where(w["barrier"] == "fence", "fence", "wall"),
    )
    return w[["code", "kind", "geometry"]].reset_index(drop=True).to_crs("EPSG:4326")


def _grids(buildings: gpd.GeoDataFrame, community: Any, metric: Any) -> gpd.GeoDataFrame:
    centres = buildings.geometry.centroid
    x, y = centres.x.to_numpy(), centres.y.to_numpy()
    mx, my = np.median(x), np.median(y)
    seeds = []
    for east in (False, True):
        for north in (False, True):
            sel = ((x >= mx) == east) & ((y >= my) == north)
            seeds.append(shapely.Point(x[sel].mean(), y[sel].mean()))
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=community.buffer(500))
    rows = []
    for i, cell in enumerate(sorted(cells.geoms, key=lambda c: (c.centroid.y, c.centroid.x))):
        part = cell.intersection(community)
        if not part.is_empty:
            rows.append({"code": f"HD-G{i + 1}", "name": f"第{i + 1}网格", "geometry": part})
    return _frame(rows, metric)


def _service_points(osm: OsmExtract, community: Any, metric: Any) -> gpd.GeoDataFrame:
    p = osm.pois.to_crs(metric)
    p = p[p["amenity"].isin(PUBLIC_AMENITIES) & p.within(community)].copy()
    rows = [
        {
            "code": f"HD-{code}",
            "name": name if isinstance(name, str) and name else f"公共服务点（{amenity}）",
            "kind": "other",
            "geometry": geom,
        }
        for code, name, amenity, geom in zip(
            p["code"], p["name"], p["amenity"], p.geometry, strict=True
        )
    ]
    centre = community.centroid
    if rows:
        nearest = min(rows, key=lambda r: r["geometry"].distance(centre))
        nearest["kind"] = "centre"
        nearest["name"] = f"{nearest['name']}（推定党群服务中心）"
    else:
        spot = community.representative_point() if not community.contains(centre) else centre
        rows.append(
            {"code": "HD-SP1", "name": "党群服务中心（推定）", "kind": "centre", "geometry": spot}
        )
    return _frame(rows, metric)


def _venues(
    buildings: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame, metric: Any
) -> gpd.GeoDataFrame:
    reps = buildings.geometry.representative_point()
    rows = []
    for code, name, area in zip(
        compounds["code"], compounds["name"], compounds.geometry, strict=True
    ):
        inside = np.flatnonzero(reps.within(area).to_numpy())
        if not len(inside):
            continue
        centre = area.centroid
        best = inside[np.argmin(reps.iloc[inside].distance(centre).to_numpy())]
        footprint = buildings.geometry.iloc[best]
        rows.append(
            {
                "code": f"{code}-CV1",
                "name": f"{name}社区用房",
                "kind": "community_room",
                "floor_area_m2": round(min(200.0, footprint.area * 0.3), 1),
                "ground_floor": True,
                "geometry": reps.iloc[best],
            }
        )
    columns = ["code", "name", "kind", "floor_area_m2", "ground_floor", "geometry"]
    return (
        _frame(rows, metric)
        if rows
        else gpd.GeoDataFrame(pd.DataFrame(columns=columns), geometry="geometry", crs="EPSG:4326")
    )
