"""Assembly: a laid-out plan turned into the finished layers and walking ways.

Codes and names, gates, ways, build years, households and residents, compounds' sums,
grids, service points, candidate venues and walls, all mapped to EPSG:4326.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

import geopandas as gpd
import shapely
from pyproj import CRS, Transformer

from layers.schema import LAYERS
from layers.synth.base import (
    _DIRECTIONS,
    _ESTATE_WORDS,
    _NEW_SUFFIXES,
    _OLD_SUFFIXES,
    _ORDINALS,
    _PLACE_WORDS,
    _PROPERTY_COMPANIES,
    _SERVICE_AREA_M2,
    _SERVICE_LABELS,
    _VENUE_LABELS,
    _VILLAGE_SUFFIXES,
    _VILLAGE_WORDS,
    NEW,
    OLD,
    VENUE_ORDER,
    VILLAGE,
    XIQIAO_STREET,
    FloatArray,
    GeomArray,
    IntArray,
    StrArray,
    SynthCity,
)
from layers.synth.compounds import _Buildings, _Sites, _to_world
from layers.synth.helpers import (
    _apportion,
    _geoms,
    _numbered,
    _or_none,
    _person_names,
    _phones,
    _pick,
    _ptr,
    _rank_within,
    _unique_names,
)
from layers.synth.lanes import _Lanes, _lanes
from layers.synth.mesh import _Mesh
from layers.synth.seeds import _Road
from layers.synth.streets import _street_points, _streets


@dataclass(frozen=True)
class _Community:
    code: str
    name: str
    cells: IntArray
    #: Published totals to match exactly (the demo), or None to let them follow the buildings.
    targets: dict[str, int] | None
    n_grids: int
    n_venues: int
    red_houses: int


@dataclass(frozen=True)
class _Plan:
    """A laid-out place before its figures: blocks, roads, compounds, buildings, lanes."""

    mesh: _Mesh
    roads: Sequence[_Road]
    sites: _Sites
    blds: _Buildings
    communities: Sequence[_Community]
    site_comm: IntArray


def _kmeans_seeds(rng: np.random.Generator, xy: FloatArray, weight: FloatArray, k: int) -> IntArray:
    """Return ``k`` distinct points of ``xy`` near the centres of a weighted k-means."""
    centres = xy[rng.choice(len(xy), size=k, replace=False, p=weight / weight.sum())]
    for _ in range(10):
        lab = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        for c in range(k):
            m = lab == c
            if m.any():
                centres[c] = (xy[m] * weight[m, None]).sum(axis=0) / weight[m].sum()
    d = ((xy[:, None, :] - centres[None]) ** 2).sum(axis=2)
    chosen: list[int] = []
    for c in range(k):
        chosen.append(next(int(i) for i in np.argsort(d[:, c]) if int(i) not in chosen))
    return np.asarray(chosen, dtype=np.int64)


def _partition(
    rng: np.random.Generator, mesh: _Mesh, cells: IntArray, weight: FloatArray, k: int
) -> IntArray:
    """Split contiguous ``cells`` into ``k`` contiguous groups of similar weight (grids).

    Weighted k-means picks a seed block per group; every block then joins the seed nearest
    along the block adjacency graph, which keeps groups contiguous.
    """
    k = min(k, len(cells))
    local = np.full(len(mesh.seeds), -1, dtype=np.int64)
    local[cells] = np.arange(len(cells))
    a, b = local[mesh.ridge_pts[:, 0]], local[mesh.ridge_pts[:, 1]]
    both = (a >= 0) & (b >= 0)
    a, b = a[both], b[both]
    xy = mesh.seeds[cells]
    w = np.linalg.norm(xy[a] - xy[b], axis=1)
    graph = coo_matrix((w, (a, b)), shape=(len(cells), len(cells))).tocsr()
    seeds = _kmeans_seeds(rng, xy, weight + 0.05 * weight.mean() + 1e-9, k)
    _, _, source = dijkstra(
        graph, directed=False, indices=seeds, min_only=True, return_predecessors=True
    )
    slot = np.zeros(len(cells), dtype=np.int64)
    slot[seeds] = np.arange(k)
    src = np.asarray(source, dtype=np.int64)
    return np.where(src >= 0, slot[np.maximum(src, 0)], 0).astype(np.int64)


def _frame(layer: str, data: dict[str, Any], geometry: GeomArray) -> gpd.GeoDataFrame:
    """Return a layer's frame: ``code``, ``community`` if scoped, the schema's fields in order."""
    spec = LAYERS[layer]
    n = len(geometry)
    cols: dict[str, Any] = {"code": np.asarray(data["code"], dtype=object)}
    if spec.community_scoped:
        cols["community"] = np.asarray(data["community"], dtype=object)
    for f in spec.fields:
        value = data.get(f.name)
        if value is None:
            value = np.full(n, None, dtype=object)
        cols[f.name] = np.asarray(value, dtype=object) if f.type == "str" else value
    return gpd.GeoDataFrame(cols, geometry=_geoms(geometry), crs="EPSG:4326")


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {k: [r[k] for r in rows] for k in rows[0]} if rows else {"code": [], "community": []}


def _lonlat(
    center_lonlat: tuple[float, float], rot_rad: float, offset_m: FloatArray
) -> Callable[[Any], GeomArray]:
    """Map plan metres (less ``offset_m``, turned by ``rot_rad``) to lon/lat geometries."""
    lon, lat = center_lonlat
    local = CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat} +lon_0={lon} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    )
    tr = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
    c, s = np.cos(rot_rad), np.sin(rot_rad)

    def fn(xy: FloatArray) -> FloatArray:
        px, py = xy[:, 0] - offset_m[0], xy[:, 1] - offset_m[1]
        lo, la = tr.transform(px * c - py * s, px * s + py * c)
        return np.column_stack((lo, la))

    def apply(geoms: Any) -> GeomArray:
        return _geoms(shapely.transform(_geoms(geoms), fn))

    return apply


def _codes(plan: _Plan, rng: np.random.Generator) -> dict[str, StrArray]:
    """Codes and names of compounds and buildings, numbered within each community."""
    sites, blds, s_comm = plan.sites, plan.blds, plan.site_comm
    comm_code = np.asarray([c.code for c in plan.communities], dtype=np.str_)
    n_sites, n_b = len(sites.cell), len(blds.site)
    s_rank = _rank_within(s_comm, np.arange(n_sites, dtype=np.float64))
    s_name = np.empty(n_sites, dtype=object)
    for i in range(len(plan.communities)):
        for kind, words, suffixes in (
            (NEW, _ESTATE_WORDS, _NEW_SUFFIXES),
            (OLD, _PLACE_WORDS, _OLD_SUFFIXES),
            (VILLAGE, _VILLAGE_WORDS, _VILLAGE_SUFFIXES),
        ):
            m = np.flatnonzero((s_comm == i) & (sites.kind == kind))
            s_name[m] = _unique_names(rng, words, suffixes, len(m))
    b_comm = s_comm[blds.site]
    b_rank = _rank_within(b_comm, np.arange(n_b, dtype=np.float64))
    in_site = _rank_within(blds.site, np.arange(n_b, dtype=np.float64)) + 1
    return {
        "s_code": _numbered(np.strings.add(comm_code[s_comm], "-C"), s_rank + 1, 2),
        "s_name": s_name.astype(np.str_),
        "b_code": _numbered(np.strings.add(comm_code[b_comm], "-B"), b_rank + 1, 4),
        "b_name": np.strings.add(in_site.astype(np.str_), "栋"),
        "comm_code": comm_code,
        "comm_name": np.asarray([c.name for c in plan.communities], dtype=np.str_),
    }


def _gate_fields(
    rng: np.random.Generator,
    plan: _Plan,
    lanes: _Lanes,
    *,
    s_code: StrArray,
    closed_gates: int | None,
    rot_rad: float,
) -> dict[str, Any]:
    """Gates' codes, names (from their bearing), kinds and opening state."""
    sites, g_site = plan.sites, lanes.gate_site
    n_g = len(g_site)
    # Main gates take cars (new estates keep cars apart); side gates on footpaths are for walkers.
    kind = np.where(
        lanes.gate_main,
        np.where((sites.kind[g_site] == NEW) & (rng.random(n_g) < 0.6), "vehicle", "mixed"),
        np.where(lanes.gate_on_service | (rng.random(n_g) < 0.4), "mixed", "pedestrian"),
    ).astype(np.str_)
    closable = ~lanes.gate_main & (np.bincount(g_site, minlength=len(sites.cell))[g_site] >= 2)
    is_open = np.ones(n_g, dtype=np.bool_)
    if closed_gates is None:
        is_open[closable & (rng.random(n_g) < 0.08)] = False
    else:
        cand = np.flatnonzero(closable)
        is_open[rng.choice(cand, size=min(closed_gates, len(cand)), replace=False)] = False
    off = lanes.gate_xy - np.column_stack((sites.cx, sites.cy))[g_site]
    sector = np.round((np.arctan2(off[:, 1], off[:, 0]) + rot_rad) / (np.pi / 4)).astype(np.int64)
    sector %= 8
    nth = _rank_within(g_site * 8 + sector, np.arange(n_g, dtype=np.float64))
    side = np.asarray(_DIRECTIONS, dtype=np.str_)[sector]
    name = np.strings.add(np.strings.add(side, np.asarray(_ORDINALS)[np.minimum(nth, 9)]), "门")
    number = (_rank_within(g_site, np.arange(n_g, dtype=np.float64)) + 1).astype(np.str_)
    return {
        "code": np.strings.add(np.strings.add(s_code[g_site], "-M"), number),
        "community": np.asarray([c.code for c in plan.communities])[plan.site_comm[g_site]],
        "name": name,
        "compound": s_code[g_site],
        "is_open": is_open,
        "kind": kind,
    }


def _ways(
    rng: np.random.Generator, plan: _Plan, lanes: _Lanes, *, gate_kind: StrArray, prefix: str
) -> tuple[GeomArray, dict[str, Any]]:
    """All walkable lines: streets, lanes, door paths and gate connectors (plan metres)."""
    mesh, sites = plan.mesh, plan.sites
    # Connectors: from each gate out to the street round its block.
    ins_ridge, ins_t, street_xy = _street_points(
        mesh, sites.cell[lanes.gate_site], lanes.gate_xy, sites.poly[lanes.gate_site]
    )
    connectors = _geoms(shapely.linestrings(np.stack((lanes.gate_xy, street_xy), axis=1)))
    used = np.zeros(len(mesh.seeds), dtype=np.bool_)
    for c in plan.communities:
        used[c.cells] = True
    ridges = np.flatnonzero(used[mesh.ridge_pts[:, 0]] | used[mesh.ridge_pts[:, 1]])
    streets = _streets(
        rng, mesh, plan.roads, ridges=ridges, ins_ridge=ins_ridge, ins_t=ins_t, ins_xy=street_xy
    )
    lines = np.concatenate((streets.lines, lanes.lines, connectors))
    walkers = np.where(gate_kind == "pedestrian", "footway", "service")
    highway = np.concatenate((streets.highway, lanes.highway, walkers)).astype(np.str_)
    name = np.concatenate((streets.name, np.full(len(lines) - len(streets.lines), None)))
    code = _numbered(f"{prefix}W", np.arange(1, len(lines) + 1, dtype=np.int64), 6)
    return lines, {"code": code.astype(object), "highway": highway.astype(object), "name": name}


def _site_years(rng: np.random.Generator, plan: _Plan) -> IntArray:
    """Return build years: walk-ups 1985-2000, village houses 1980-2005, new estates 2008-2020.

    New estates' years spread evenly within each community, so both new and mature appear.
    """
    sites, s_comm = plan.sites, plan.site_comm
    n = len(sites.cell)
    is_new = (sites.kind == NEW).astype(np.int64)
    nth = _rank_within(s_comm * 2 + is_new, rng.random(n))
    n_new = np.bincount(s_comm, weights=is_new, minlength=len(plan.communities))[s_comm]
    spread = np.minimum(2008 + np.floor((nth + rng.random(n)) / np.maximum(n_new, 1) * 13), 2020)
    year = np.select(
        [sites.kind == NEW, sites.kind == OLD],
        [spread.astype(np.int64), rng.integers(1985, 2001, n)],
        rng.integers(1980, 2006, n),
    ).astype(np.int64)
    return np.asarray(year, dtype=np.int64)


def _building_figures(
    rng: np.random.Generator, plan: _Plan, year: IntArray
) -> tuple[dict[str, Any], list[dict[str, int]]]:
    """Households, residents, occupancy, party members and leads of every building.

    Households follow floor area (flats of 95, 80 and 60 m2 in new estates, walk-ups and
    village houses); a community with published ``targets`` matches them exactly.
    """
    sites, blds = plan.sites, plan.blds
    n_b = len(blds.site)
    kind = sites.kind[blds.site]
    b_comm = plan.site_comm[blds.site]
    hh_w = blds.floors * (blds.u1 - blds.u0) * (blds.v1 - blds.v0) / np.asarray((95, 80, 60))[kind]
    # Recent estates are often half empty; walk-ups and villages are full (DOMAIN: occupancy).
    n = len(sites.cell)
    base = np.select(
        [(sites.kind == NEW) & (year >= 2018), sites.kind == NEW, sites.kind == OLD],
        [rng.uniform(0.3, 0.6, n), rng.uniform(0.78, 0.97, n), rng.uniform(0.85, 0.98, n)],
        rng.uniform(0.88, 1.0, n),
    )
    occ = np.round(np.clip(base[blds.site] + rng.normal(0, 0.04, n_b), 0.3, 1.0), 2)
    res_w_per_hh = occ * np.asarray((3.1, 2.6, 3.8))[kind]
    float_rate = np.asarray((0.12, 0.2, 0.55))[kind]
    # Old estates house more (older) party members, villages fewer (DOMAIN: 51 of 226 over 60).
    party_w = np.asarray((1.0, 1.6, 0.7))[kind] * rng.gamma(1.5, 1.0, n_b)
    out = {k: np.zeros(n_b, dtype=np.int64) for k in ("households", "residents", "floating")}
    out["party"] = np.zeros(n_b, dtype=np.int64)
    totals: list[dict[str, int]] = []
    for i, c in enumerate(plan.communities):
        m = np.flatnonzero(b_comm == i)
        t = c.targets
        hh = _apportion(t["households"], hh_w[m]) if t else np.round(hh_w[m]).astype(np.int64)
        hh = np.maximum(hh, 1)
        res = (
            _apportion(t["residents"], hh * res_w_per_hh[m])
            if t
            else np.round(hh * res_w_per_hh[m])
        )
        res = np.maximum(res, 1).astype(np.int64)
        fl_w = res * float_rate[m]
        fl = _apportion(t["floating_residents"] if t else round(float(fl_w.sum())), fl_w, cap=res)
        p_total = t["party_members"] if t else round(0.0056 * float(res.sum()))
        pw = res * party_w[m]
        party = rng.multinomial(p_total, pw / pw.sum()).astype(np.int64)
        out["households"][m], out["residents"][m], out["floating"][m] = hh, res, fl
        out["party"][m] = party
        tot_res, tot_fl = int(res.sum()), int(fl.sum())
        totals.append(
            {
                "households": int(hh.sum()),
                "residents": tot_res,
                "registered_residents": t["registered_residents"] if t else tot_res - tot_fl,
                "floating_residents": t["floating_residents"] if t else tot_fl,
                "staff": t["staff"] if t else max(8, round(tot_res / 1750)),
                "cadres": t["cadres"] if t else int(rng.integers(7, 10)),
                "party_members": int(party.sum()),
            }
        )
    # Foshan rule (DOMAIN): big, well-occupied buildings get their own lead; others share or
    # are still looking, so about 60% have a named lead.
    big = (out["households"] >= 50) & (occ >= 0.5)
    has_lead = rng.random(n_b) < np.where(big, 0.85, 0.55)
    figures = {
        "households": out["households"],
        "residents": out["residents"],
        "floating_residents": out["floating"],
        "occupancy": occ,
        "floors": blds.floors,
        "party_members": out["party"],
        "mobile_party_members": rng.binomial(out["party"], 0.2).astype(np.int64),
        "lead_name": _or_none(has_lead, _person_names(rng, n_b)),
        "lead_phone": _or_none(has_lead, _phones(rng, n_b)),
    }
    return figures, totals


def _compound_fields(
    rng: np.random.Generator, plan: _Plan, figures: dict[str, Any], year: IntArray
) -> dict[str, Any]:
    """Compounds' sums of their buildings, age, maturity and governance."""
    sites, b_site = plan.sites, plan.blds.site
    n = len(sites.cell)
    party = np.bincount(b_site, weights=figures["party_members"], minlength=n).astype(np.int64)
    # Qiaohua rule (DOMAIN): three or more party members may form their own group.
    branch = np.where(party >= 3, rng.random(n) < 0.9, rng.random(n) < 0.1)
    managed = (sites.kind == NEW) | ((sites.kind == OLD) & (rng.random(n) < 0.55))
    return {
        "households": np.bincount(b_site, weights=figures["households"], minlength=n).astype(
            np.int64
        ),
        "residents": np.bincount(b_site, weights=figures["residents"], minlength=n).astype(
            np.int64
        ),
        "build_year": year,
        "maturity": np.select([sites.kind != NEW, year >= 2016], ["old", "new"], "mature"),
        "has_party_branch": branch,
        "has_owners_committee": rng.random(n) < np.asarray((0.6, 0.25, 0.0))[sites.kind],
        "property_company": _or_none(managed, _pick(rng, _PROPERTY_COMPANIES, n)),
        "party": party,
    }


def _spread(rng: np.random.Generator, xy: FloatArray, centre: FloatArray, k: int) -> IntArray:
    """Return ``k`` of the points, spread round ``centre`` (evenly by bearing)."""
    if k <= 0 or len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(xy) <= k:
        return np.arange(len(xy), dtype=np.int64)
    order = np.argsort(np.arctan2(xy[:, 1] - centre[1], xy[:, 0] - centre[0]))
    start = int(rng.integers(0, len(xy)))
    return order[(start + np.floor(np.arange(k) * len(xy) / k).astype(np.int64)) % len(xy)]


def _service_hosts(
    rng: np.random.Generator, plan: _Plan, ci: int, *, centre: FloatArray, party: IntArray
) -> list[tuple[str, int]]:
    """Compounds hosting the "1 + N" service points of community ``ci``: (kind, site).

    One party-mass centre near the middle, five sub-centres in new estates, four activity
    rooms in old estates and a few red houses already running (DOMAIN: 15-minute circle).
    """
    sites, c = plan.sites, plan.communities[ci]
    mine = np.flatnonzero(plan.site_comm == ci)
    xy = np.column_stack((sites.cx, sites.cy))[mine]
    kind = sites.kind[mine]
    estates = np.flatnonzero(kind != VILLAGE)
    pool = estates if len(estates) else np.arange(len(mine))
    first = int(pool[np.argmin(np.linalg.norm(xy[pool] - centre, axis=1))])
    picks = [("centre", first)]
    used = {first}
    for sp_kind, want, k in (("sub_centre", 5, NEW), ("activity_room", 4, OLD)):
        same = [int(j) for j in np.flatnonzero(kind == k) if int(j) not in used]
        other = [j for j in range(len(mine)) if j not in used and j not in same]
        cand = np.asarray(same + other[: max(want - len(same), 0)], dtype=np.int64)
        for j in cand[_spread(rng, xy[cand], centre, want)]:
            picks.append((sp_kind, int(j)))
            used.add(int(j))
    rest = np.array([j for j in range(len(mine)) if j not in used], dtype=np.int64)
    if len(rest):
        score = party[mine[rest]] + rng.random(len(rest))
        picks += [("red_house", int(j)) for j in rest[np.argsort(-score)][: c.red_houses]]
    return [(k, int(mine[j])) for k, j in picks]


def _service_points(
    rng: np.random.Generator,
    plan: _Plan,
    ci: int,
    *,
    names: dict[str, StrArray],
    households: IntArray,
    party: IntArray,
    lanes: _Lanes,
    centre: FloatArray,
) -> list[dict[str, Any]]:
    """Return the service points of community ``ci``, each at the door of a big building."""
    c = plan.communities[ci]
    b_order = np.argsort(plan.blds.site, kind="stable")
    b_ptr = _ptr(plan.blds.site, len(plan.sites.cell))
    rows: list[dict[str, Any]] = []
    taken: set[int] = set()
    for n, (sp_kind, site) in enumerate(_service_hosts(rng, plan, ci, centre=centre, party=party)):
        bs = b_order[b_ptr[site] : b_ptr[site + 1]]
        bs = bs[np.argsort(-households[bs], kind="stable")]
        b = next((int(x) for x in bs if int(x) not in taken), int(bs[0]))
        taken.add(b)
        host = c.name if sp_kind == "centre" else str(names["s_name"][site])
        lo, hi = _SERVICE_AREA_M2[sp_kind]
        rows.append(
            {
                "code": f"{c.code}-SP{n + 1:02d}",
                "community": c.code,
                "name": host + _SERVICE_LABELS[sp_kind],
                "kind": sp_kind,
                "is_open": True,
                "floor_area_m2": float(np.round(rng.uniform(lo, hi))),
                "address": str(names["s_name"][site]) + str(names["b_name"][b]),
                "geometry": shapely.Point(lanes.entrance_xy[b]),
            }
        )
    return rows


def _venues(
    rng: np.random.Generator, plan: _Plan, ci: int, *, names: dict[str, StrArray]
) -> list[dict[str, Any]]:
    """Rooms that could become red houses (DOMAIN: candidate venues), spread over compounds.

    Stilted ground floors and owners' centres come with new estates; most rooms lack some
    of the four legal checks.
    """
    sites, blds, c = plan.sites, plan.blds, plan.communities[ci]
    mine = np.flatnonzero(plan.site_comm == ci)
    if len(mine) == 0 or c.n_venues <= 0:
        return []
    w = np.asarray((3.0, 2.0, 1.0))[sites.kind[mine]]
    site = mine[rng.choice(len(mine), size=c.n_venues, p=w / w.sum())]
    r = rng.random(len(site))
    v_kind = np.where(
        sites.kind[site] == NEW,
        np.select([r < 0.3, r < 0.55, r < 0.85], list(VENUE_ORDER[1:]), VENUE_ORDER[0]),
        np.where((sites.kind[site] == OLD) & (r < 0.4), VENUE_ORDER[1], VENUE_ORDER[0]),
    ).astype(np.str_)
    new_estates = mine[sites.kind[mine] == NEW]
    if len(new_estates) and len(site) >= len(VENUE_ORDER):
        # Every kind of room is on the list at least once: new estates have all four.
        site[: len(VENUE_ORDER)] = rng.choice(new_estates, size=len(VENUE_ORDER))
        v_kind[: len(VENUE_ORDER)] = VENUE_ORDER
    order = np.argsort(site, kind="stable")
    site, v_kind = site[order], v_kind[order]
    b_ptr = _ptr(blds.site, len(sites.cell))
    b = b_ptr[site] + rng.integers(0, np.maximum(b_ptr[site + 1] - b_ptr[site], 1))
    lo = np.select([v_kind == k for k in VENUE_ORDER[1:]], [20.0, 80.0, 100.0], 40.0)
    area = np.round(rng.uniform(lo, np.where(v_kind == VENUE_ORDER[1], 120.0, 300.0)))
    stilted = v_kind == "stilted_floor"
    ground = stilted | (rng.random(len(site)) < 0.7)
    vent = np.where(
        stilted,
        np.where(rng.random(len(site)) < 0.7, "good", "fair"),
        np.asarray(["good", "fair", "poor"])[rng.choice(3, size=len(site), p=[0.4, 0.35, 0.25])],
    )
    checks = (rng.random(len(site)) < 0.2)[:, None] | (rng.random((len(site), 4)) < 0.4)
    width = blds.u1[b] - blds.u0[b]
    u = 0.5 * (blds.u0[b] + blds.u1[b]) + rng.uniform(-0.3, 0.3, len(b)) * width
    front = np.minimum(1.5, 0.5 * sites.lane_off_m[site])
    xy = _to_world(sites, site, u, blds.v0[b] - front)
    label = [
        str(names["s_name"][s]) + str(names["b_name"][x]) for s, x in zip(site, b, strict=True)
    ]
    return [
        {
            "code": f"{c.code}-CV{n + 1:02d}",
            "community": c.code,
            "name": label[n] + _VENUE_LABELS[str(v_kind[n])],
            "kind": str(v_kind[n]),
            "floor_area_m2": float(area[n]),
            "ground_floor": bool(ground[n]),
            "ventilation": str(vent[n]),
            "lawyer_consulted": bool(checks[n, 0]),
            "housing_filed": bool(checks[n, 1]),
            "publicly_noticed": bool(checks[n, 2]),
            "property_recorded": bool(checks[n, 3]),
            "geometry": shapely.Point(xy[n]),
        }
        for n in range(len(site))
    ]


def _grids(
    rng: np.random.Generator, plan: _Plan, ci: int, *, site_households: IntArray
) -> list[dict[str, Any]]:
    """Grids of community ``ci``: neighbouring blocks grouped, balanced on households."""
    mesh, c = plan.mesh, plan.communities[ci]
    cell_hh = np.zeros(len(mesh.seeds))
    np.add.at(cell_hh, plan.sites.cell, site_households)
    label = _partition(rng, mesh, c.cells, cell_hh[c.cells], c.n_grids)
    k = int(label.max()) + 1
    officers, phones = _person_names(rng, k), _phones(rng, k)
    return [
        {
            "code": f"{c.code}-G{g + 1:02d}",
            "community": c.code,
            "name": f"{c.name}第{g + 1}网格",
            "officer_name": str(officers[g]),
            "officer_phone": str(phones[g]),
            "households": int(cell_hh[c.cells[label == g]].sum()),
            "geometry": shapely.coverage_union_all(mesh.cells[c.cells[label == g]]),
        }
        for g in range(k)
    ]


def _barriers(
    plan: _Plan, lanes: _Lanes, rng: np.random.Generator
) -> tuple[GeomArray, IntArray, StrArray]:
    """Each compound's wall as lines, open 5 m wide at its gates: (lines, site, kind)."""
    sites = plan.sites
    holes = shapely.buffer(shapely.multipoints(lanes.gate_xy, indices=lanes.gate_site), 2.5)
    walls = shapely.difference(shapely.get_exterior_ring(sites.poly), holes)
    parts, site = shapely.get_parts(walls, return_index=True)
    fence = (sites.kind[site] == NEW) & (rng.random(len(site)) < 0.5)
    return _geoms(parts), site.astype(np.int64), np.where(fence, "fence", "wall").astype(np.str_)


def _build(
    rng: np.random.Generator,
    plan: _Plan,
    *,
    way_prefix: str,
    closed_gates: int | None,
    center_lonlat: tuple[float, float],
    rot_rad: float,
    offset_m: FloatArray | None = None,
) -> SynthCity:
    """Everything after the layout: lanes, gates, ways, figures, grids, service points."""
    sites, blds, s_comm = plan.sites, plan.blds, plan.site_comm
    names = _codes(plan, rng)
    comm_code = names["comm_code"]
    lanes = _lanes(rng, sites, blds)
    gate = _gate_fields(
        rng, plan, lanes, s_code=names["s_code"], closed_gates=closed_gates, rot_rad=rot_rad
    )
    way_lines, way_cols = _ways(rng, plan, lanes, gate_kind=gate["kind"], prefix=way_prefix)
    year = _site_years(rng, plan)
    figures, totals = _building_figures(rng, plan, year)
    compound = _compound_fields(rng, plan, figures, year)
    comm_geoms = [shapely.coverage_union_all(plan.mesh.cells[c.cells]) for c in plan.communities]
    sp_rows: list[dict[str, Any]] = []
    cv_rows: list[dict[str, Any]] = []
    grid_rows: list[dict[str, Any]] = []
    for i, geom in enumerate(comm_geoms):
        centre = shapely.get_coordinates(shapely.centroid(geom))[0]
        sp_rows += _service_points(
            rng,
            plan,
            i,
            names=names,
            households=figures["households"],
            party=compound["party"],
            lanes=lanes,
            centre=centre,
        )
        cv_rows += _venues(rng, plan, i, names=names)
        grid_rows += _grids(rng, plan, i, site_households=compound["households"])
    wall_lines, wall_site, wall_kind = _barriers(plan, lanes, rng)

    to_ll = _lonlat(center_lonlat, rot_rad, np.zeros(2) if offset_m is None else offset_m)
    corners = [(blds.u0, blds.v0), (blds.u1, blds.v0), (blds.u1, blds.v1), (blds.u0, blds.v1)]
    ring = np.stack([_to_world(sites, blds.site, u, v) for u, v in [*corners, corners[0]]], axis=1)
    b_comm = s_comm[blds.site]
    address = np.strings.add(
        np.strings.add(names["comm_name"][b_comm], names["s_name"][blds.site]), names["b_name"]
    )
    del compound["party"]
    layers = {
        "communities": _frame(
            "communities",
            {
                "code": comm_code,
                "name": names["comm_name"],
                "street": [XIQIAO_STREET] * len(comm_code),
                **{k: [t[k] for t in totals] for k in totals[0]},
            },
            to_ll(comm_geoms),
        ),
        "grids": _frame(
            "grids", _columns(grid_rows), to_ll([r.pop("geometry") for r in grid_rows])
        ),
        "compounds": _frame(
            "compounds",
            {"code": names["s_code"], "community": comm_code[s_comm], "name": names["s_name"]}
            | compound,
            to_ll(sites.poly),
        ),
        "gates": _frame("gates", gate, to_ll(shapely.points(lanes.gate_xy))),
        "buildings": _frame(
            "buildings",
            {"code": names["b_code"], "community": comm_code[b_comm], "name": names["b_name"]}
            | figures
            | {"address": address},
            to_ll(shapely.polygons(ring)),
        ),
        "service_points": _frame(
            "service_points", _columns(sp_rows), to_ll([r.pop("geometry") for r in sp_rows])
        ),
        "candidate_venues": _frame(
            "candidate_venues", _columns(cv_rows), to_ll([r.pop("geometry") for r in cv_rows])
        ),
        "barriers": _frame(
            "barriers",
            {
                "code": np.strings.add(
                    np.strings.add(names["s_code"][wall_site], "-W"),
                    (
                        _rank_within(wall_site, np.arange(len(wall_site), dtype=np.float64)) + 1
                    ).astype(np.str_),
                ),
                "community": comm_code[s_comm[wall_site]],
                "kind": wall_kind,
            },
            to_ll(wall_lines),
        ),
    }
    ways = gpd.GeoDataFrame(way_cols, geometry=to_ll(way_lines), crs="EPSG:4326")
    return SynthCity(layers=layers, ways=ways)
