"""Users, roles and scopes on every route; personal data by role in every channel; history.

Everything runs against the real app and a fresh PostGIS database holding the test
community T1 (grids G1 with buildings B1, B2 and G2 with B3), with one user of each role.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

from pyproj import Transformer

from gis_api import auth, services
from gis_api.access import Permission
from gis_api.app import create_app
from gis_api.routes import (
    analysis,
    event_stats,
    events,
    field,
    layers,
    lead_zones,
    open311,
    pages,
    photos,
    split,
    stats,
    tiles,
    users,
    walk,
)
from gis_api.routes import auth as auth_routes
from gis_api.settings import Settings
from layers import accounts, db
from tests.api.roles import PASSWORD, World
from tests.databases import snapshot
from tests.factories import METRIC, ORIGIN_LONLAT

_to_lonlat = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)
_E0, _N0 = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True).transform(*ORIGIN_LONLAT)

# --- every route is guarded ---------------------------------------------------------------------

#: Writes open to anonymous callers: logging in and out (no data changes but credentials).
PUBLIC_WRITES = {"/api/auth/token", "/login", "/api/auth/logout", "/api/auth/personal-tokens"}


def _guards(dependant: Any) -> list[auth.Guard]:
    found = [dependant.call] if isinstance(dependant.call, auth.Guard) else []
    for sub in dependant.dependencies:
        found += _guards(sub)
    return found


def test_every_route_of_ours_carries_a_guard() -> None:
    """A route without the authorization dependency fails this test, whoever adds it."""
    checked = 0
    modules = (
        analysis,
        auth_routes,
        event_stats,
        events,
        field,
        layers,
        lead_zones,
        open311,
        pages,
        photos,
        split,
        stats,
        tiles,
        users,
        walk,
    )
    for module in modules:
        routers = [module.router] + ([stats.health_router] if module is stats else [])
        for router in routers:
            for route in router.routes:
                assert isinstance(route, APIRoute), route
                guards = _guards(route.dependant)
                assert len(guards) == 1, f"{sorted(route.methods)} {route.path}: {guards}"
                writes = route.methods & {"POST", "PUT", "PATCH", "DELETE"}
                if writes and route.path not in PUBLIC_WRITES:
                    assert guards[0].permission is not Permission.PUBLIC, route.path
                checked += 1
    assert checked >= 30


#: Example values for path parameters, so every operation can be called.
_PATH_VALUES = {
    "layer": "buildings",
    "fid": "1",
    "code": "T1",
    "z": "0",
    "x": "0",
    "y": "0",
    "username": "u-viewer",
    "uid": "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b",
    "size": "thumb",
    "conflict_id": "1",
    "service_request_id": "SJ1",
}
#: Operations anonymous callers may use, by (method, path).
_OPEN = {
    ("get", "/health"),
    ("get", "/login"),
    ("post", "/login"),
    ("post", "/api/auth/token"),
    ("post", "/api/auth/logout"),
}


def test_every_operation_refuses_anonymous_callers(world: World) -> None:
    """Every operation of /openapi.json, ours and the OGC API's: 401, or the login page."""
    schema = world.client.app.openapi()  # type: ignore[attr-defined]
    seen = 0
    for path, operations in schema["paths"].items():
        for method in operations:
            if (method, path) in _OPEN:
                continue
            url = path
            for name, value in _PATH_VALUES.items():
                url = url.replace("{" + name + "}", value)
            url = url.replace("{collectionId}", "buildings").replace("{itemId}", "1")
            url = url.replace("{tileMatrixSetId}", "WebMercatorQuad")
            assert "{" not in url, url
            r = world.client.request(method.upper(), url, follow_redirects=False)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login?next="), (method, path)
            else:
                assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
            seen += 1
    assert seen >= 35


def test_anonymous_gets_login_and_health_only(world: World) -> None:
    c = world.client
    assert c.get("/health").status_code == 200
    assert c.get("/login").status_code == 200
    for path in (
        "/api/layers",
        "/api/layers/buildings",
        "/api/stats/communities/T1",
        "/api/search?q=栋",
        "/tiles/buildings/15/26000/14000.pbf",
        "/collections",
        "/collections/buildings/items",
        "/api/lead-zones/roster?community=T1",
        "/api/analysis/service-circle?community=T1",
    ):
        r = c.get(path)
        assert r.status_code == 401, path
        assert r.json()["detail"][0]["type"] == "not_authenticated"
        assert "登录" in r.json()["detail"][0]["msg"]
    page = c.get("/map?community=T1", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")


# --- each role against each write ---------------------------------------------------------------


def _writes(w: World) -> dict[str, tuple[str, str, dict[str, Any]]]:
    b1, b3 = w.fid("buildings", "B1"), w.fid("buildings", "B3")
    sp1 = w.fid("service_points", "SP1")
    return {
        "patch_own_grid": (
            "PATCH",
            f"/api/layers/buildings/{b1}",
            {"json": {"properties": {"households": 61}, "version": w.version("buildings", "B1")}},
        ),
        "patch_other_grid": (
            "PATCH",
            f"/api/layers/buildings/{b3}",
            {"json": {"properties": {"households": 21}, "version": w.version("buildings", "B3")}},
        ),
        "rename_own_grid": (
            "PATCH",
            f"/api/layers/buildings/{b1}",
            {"json": {"properties": {"name": "改名"}, "version": w.version("buildings", "B1")}},
        ),
        "create_point": (
            "POST",
            "/api/layers/service_points",
            {
                "json": {
                    "type": "Feature",
                    "properties": {"code": "SP9", "name": "新活动室", "kind": "activity_room"},
                    "geometry": {"type": "Point", "coordinates": _lonlat(w, 100, 900)},
                },
                "params": {"community": "T1"},
            },
        ),
        "delete_point": ("DELETE", f"/api/layers/service_points/{sp1}", {}),
        "upload": (
            "POST",
            "/api/layers/service_points/import",
            {
                "files": {
                    "file": ("p.geojson", _point_file(w, "SP8", 120, 880), "application/json")
                },
                "data": {"community": "T1"},
            },
        ),
        "save_zones": ("POST", "/api/lead-zones/save", {"params": {"community": "T1"}}),
        "add_user": (
            "POST",
            "/api/users",
            {"json": {"username": "newbie", "password": PASSWORD, "role": "viewer"}},
        ),
        "escalate": ("PATCH", "/api/users/u-officer", {"json": {"role": "admin"}}),
    }


def _point_file(w: World, code: str, x: float, y: float) -> bytes:
    feature = {
        "type": "Feature",
        "properties": {"code": code, "name": "上传的活动室", "kind": "activity_room"},
        "geometry": {"type": "Point", "coordinates": _lonlat(w, x, y)},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def _lonlat(w: World, x: float, y: float) -> list[float]:
    """Longitude and latitude of the point (x, y) metres from T1's south-west corner."""
    lon, lat = _to_lonlat.transform(_E0 + x, _N0 + y)
    return [float(lon), float(lat)]


def _grid_of(w: World, code: str) -> str | None:
    with w.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT g.code FROM service_points p LEFT JOIN grids g ON g.id = p.grid_id "
                "WHERE p.code = :c"
            ),
            {"c": code},
        ).scalar()


ALLOWED = {
    "admin": {
        "patch_own_grid",
        "patch_other_grid",
        "rename_own_grid",
        "create_point",
        "delete_point",
        "upload",
        "save_zones",
        "add_user",
        "escalate",
    },
    "planner": {
        "patch_own_grid",
        "patch_other_grid",
        "rename_own_grid",
        "create_point",
        "delete_point",
        "upload",
        "save_zones",
    },
    "officer": {"patch_own_grid", "rename_own_grid"},
    "field": {"patch_own_grid"},
    "department": set(),
    "viewer": set(),
    None: set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_against_each_write(world: World, role: str | None) -> None:
    """Allowed writes succeed; refused ones are 401/403 in zh-CN and change nothing."""
    allowed = set(ALLOWED[role])
    if role == "officer":
        # New points in the officer's grid are theirs; SP1 lies on the G1/G2 line.
        allowed.add("create_point")
        if _grid_of(world, "SP1") == "G1":
            allowed.add("delete_point")
    for name in sorted(_writes(world)):
        method, path, kw = _writes(world)[name]  # fresh versions after earlier writes
        before = snapshot(world.engine)
        r = world.client.request(method, path, headers=world.as_(role), **kw)
        if name in allowed:
            assert r.status_code < 300, (role, name, r.text)
        else:
            assert r.status_code == (401 if role is None else 403), (role, name, r.text)
            detail = r.json()["detail"][0]
            assert detail["type"] in {"not_authenticated", "forbidden"}
            assert any("\u4e00" <= ch <= "\u9fff" for ch in detail["msg"]), detail
            assert snapshot(world.engine) == before, (role, name)


def test_a_grid_officer_is_told_which_grid(world: World) -> None:
    _, path, kw = _writes(world)["patch_other_grid"]
    r = world.client.patch(path, headers=world.as_("officer"), **kw)
    assert r.status_code == 403
    msg = r.json()["detail"][0]["msg"]
    assert "G1" in msg and "G2" in msg and "3栋" in msg


def test_field_staff_record_figures_but_not_geometry(world: World) -> None:
    b1 = world.fid("buildings", "B1")
    r = world.client.patch(
        f"/api/layers/buildings/{b1}",
        headers=world.as_("field"),
        json={
            "properties": {"households": 62, "lead_name": "赵敏", "lead_phone": "13900001111"},
            "version": world.version("buildings", "B1"),
        },
    )
    assert r.status_code == 200, r.text
    square = [[x + 1e-5, y] for x, y in _square(world)]
    r = world.client.patch(
        f"/api/layers/buildings/{b1}",
        headers=world.as_("field"),
        json={
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [square]},  # moved 1 m east
            "version": world.version("buildings", "B1"),
        },
    )
    assert r.status_code == 403
    assert "geom" in r.json()["detail"][0]["msg"]


def _square(w: World) -> list[list[float]]:
    b1 = w.fid("buildings", "B1")
    r = w.client.get(f"/api/layers/buildings/{b1}", headers=w.as_("admin"))
    geometry = r.json()["geometry"]
    rings = (
        geometry["coordinates"][0]
        if geometry["type"] == "MultiPolygon"
        else geometry["coordinates"]
    )
    coords: list[list[float]] = rings[0]
    return coords


def test_reads_stay_in_the_users_communities(world: World) -> None:
    services.load_demo(world.settings, "qiaohua")  # a second community, QH, in the database
    viewer = world.as_("viewer")
    r = world.client.get("/api/layers/buildings", headers=viewer, params={"community": "QH"})
    assert r.status_code == 403
    assert "QH" in r.json()["detail"][0]["msg"] and "T1" in r.json()["detail"][0]["msg"]
    everything = world.client.get("/api/layers/buildings", headers=viewer, params={"limit": 5000})
    assert {f["properties"]["community"] for f in everything.json()["features"]} == {"T1"}
    admin = world.client.get(
        "/api/layers/buildings", headers=world.as_("admin"), params={"limit": 5000}
    )
    assert {f["properties"]["community"] for f in admin.json()["features"]} == {"T1", "QH"}
    with world.engine.connect() as conn:
        qh_building = conn.execute(
            text(
                "SELECT b.id FROM buildings b JOIN communities c ON c.id = b.community_id "
                "WHERE c.code = 'QH' LIMIT 1"
            )
        ).scalar()
    assert (
        world.client.get(f"/api/layers/buildings/{qh_building}", headers=viewer).status_code == 404
    )
    r = world.client.get("/api/analysis/service-circle", headers=viewer, params={"community": "QH"})
    assert r.status_code == 403
    scenario = world.client.post(
        "/api/analysis/service-circle/scenario", headers=viewer, json={"community": "QH"}
    )
    assert scenario.status_code == 403
    assert world.client.get("/api/stats/communities/QH", headers=viewer).status_code == 403
    assert world.client.get("/api/stats/communities/T1", headers=viewer).status_code == 200
    found = world.client.get("/api/search", headers=viewer, params={"q": "栋", "limit": 100})
    admin_found = world.client.get(
        "/api/search", headers=world.as_("admin"), params={"q": "栋", "limit": 100}
    )
    codes = {r["code"] for r in found.json()}
    assert codes == {"B1", "B2", "B3"}
    assert len(admin_found.json()) > len(codes)  # QH's buildings too


# --- personal data by role, in every channel ----------------------------------------------------


def test_personal_fields_are_masked_for_viewers_in_every_channel(world: World) -> None:
    c, viewer, planner = world.client, world.as_("viewer"), world.as_("planner")
    b1 = world.fid("buildings", "B1")
    # GeoJSON, one feature, grids.
    page = c.get("/api/layers/buildings", headers=viewer).json()
    lead = {f["properties"]["code"]: f["properties"]["lead_name"] for f in page["features"]}
    assert lead["B1"] == "张*"
    assert (
        c.get(f"/api/layers/buildings/{b1}", headers=viewer).json()["properties"]["lead_name"]
        == "张*"
    )
    grids = c.get("/api/layers/grids", headers=viewer).json()["features"]
    assert {g["properties"]["officer_name"] for g in grids} == {"李*", "王*"}
    full = c.get("/api/layers/buildings", headers=planner).json()
    assert {f["properties"]["code"]: f["properties"]["lead_name"] for f in full["features"]}[
        "B1"
    ] == "张伟"
    # Vector tiles (the tile holding B1 at z16).
    tile = _tile_with(world, "B1", viewer)
    assert tile["B1"]["lead_name"] == "张*"
    assert _tile_with(world, "B1", planner)["B1"]["lead_name"] == "张伟"
    # OGC API Features: never, for anyone; filtering on it is refused.
    for who in (viewer, planner):
        items = c.get("/collections/buildings/items", headers=who).json()["features"]
        assert items and all("lead_name" not in f["properties"] for f in items)
    r = c.get("/collections/buildings/items", headers=viewer, params={"filter": "lead_name='张伟'"})
    assert r.status_code == 400
    # The roster export.
    c.post("/api/lead-zones/save", headers=planner, params={"community": "T1"})
    csv_text = c.get(
        "/api/lead-zones/roster", headers=viewer, params={"community": "T1", "format": "csv"}
    ).text
    assert "张伟" not in csv_text
    assert "张*" in csv_text
    # The history.
    c.patch(
        f"/api/layers/buildings/{b1}",
        headers=planner,
        json={
            "properties": {"lead_phone": "13812345678"},
            "version": world.version("buildings", "B1"),
        },
    )
    officer_history = c.get(f"/api/layers/buildings/{b1}/history", headers=world.as_("officer"))
    change = officer_history.json()[0]["changes"]
    assert {"field": "lead_phone", "old": None, "new": "13812345678"} in change
    page = c.get("/api/layers/buildings", headers=viewer).json()
    phones = {f["properties"]["code"]: f["properties"]["lead_phone"] for f in page["features"]}
    assert phones["B1"] == "138****5678"
    # Search never matches or shows personal fields.
    assert c.get("/api/search", headers=viewer, params={"q": "张伟"}).json() == []


def _tile_with(w: World, code: str, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    with w.engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
                "FROM buildings WHERE code = :c"
            ),
            {"c": code},
        ).one()
    import math

    z = 16
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    r = w.client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf", headers=headers)
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("private")
    layer = mapbox_vector_tile.decode(r.content)["buildings"]
    return {f["properties"]["code"]: f["properties"] for f in layer["features"]}


# --- credentials --------------------------------------------------------------------------------


def test_bad_credentials_are_refused_and_change_nothing(world: World) -> None:
    c = world.client
    before = snapshot(world.engine)
    forged = {"Authorization": "Bearer " + "x" * 43}
    assert c.get("/api/layers", headers=forged).status_code == 401
    assert c.get("/api/layers", headers={"Authorization": "Basic abc"}).status_code == 401
    assert c.get("/api/layers", headers={"Authorization": "Bearer " + "y" * 500}).status_code == 401
    r = c.post("/api/auth/token", data={"username": "u-viewer", "password": "wrong-password"})
    assert r.status_code == 401 and "用户名或密码错误" in r.json()["detail"][0]["msg"]
    r = c.post("/api/auth/token", data={"username": "nobody", "password": "wrong-password"})
    assert r.status_code == 401 and "用户名或密码错误" in r.json()["detail"][0]["msg"]
    r = c.post("/api/auth/token", data={"username": "u" * 300, "password": "p" * 3000})
    assert r.status_code in (401, 422)
    assert {k: v for k, v in snapshot(world.engine).items() if k != "users"} == {
        k: v for k, v in before.items() if k != "users"
    }
    # An expired token, a token of a disabled user.
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE auth_tokens SET expires_at = now() - interval '1 minute' "
                "WHERE user_id = (SELECT id FROM users WHERE username = 'u-viewer')"
            )
        )
    assert c.get("/api/layers", headers=world.as_("viewer")).status_code == 401
    with db.session_scope(world.engine) as session:
        accounts.set_disabled(session, "u-planner")
    r = c.get("/api/layers", headers=world.as_("planner"))
    assert r.status_code == 401
    r = c.post("/api/auth/token", data={"username": "u-planner", "password": PASSWORD})
    assert r.status_code == 401 and "停用" in r.json()["detail"][0]["msg"]


def test_a_good_login_gives_a_token_and_logout_ends_it(world: World) -> None:
    c = world.client
    r = c.post("/api/auth/token", data={"username": "u-officer", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = c.get("/api/auth/me", headers=headers).json()
    assert me["role"] == "officer" and me["communities"] == ["T1"] and me["grids"] == ["G1"]
    assert c.post("/api/auth/logout", headers=headers).status_code == 204
    assert c.get("/api/auth/me", headers=headers).status_code == 401


def test_repeated_failures_lock_the_account(world: World) -> None:
    c = world.client
    for _ in range(world.settings.login_lock_after):
        c.post("/api/auth/token", data={"username": "u-field", "password": "not-the-one"})
    r = c.post("/api/auth/token", data={"username": "u-field", "password": PASSWORD})
    assert r.status_code == 401 and "锁定" in r.json()["detail"][0]["msg"]


def test_login_attempts_are_rate_limited_per_address(t1_db: str) -> None:
    settings = Settings(database_url=t1_db, login_attempts_per_minute=3)
    with TestClient(create_app(settings)) as c:
        codes = [
            c.post("/api/auth/token", data={"username": "x", "password": "y" * 8}).status_code
            for _ in range(4)
        ]
    assert codes == [401, 401, 401, 429]


def test_a_cookie_session_needs_the_csrf_token_to_write(world: World) -> None:
    c = world.client
    r = c.post(
        "/login",
        data={"username": "u-planner", "password": PASSWORD, "next": "/map"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/map"
    csrf = c.cookies[auth.CSRF_COOKIE]
    b2 = world.fid("buildings", "B2")
    body = {"properties": {"households": 42}, "version": world.version("buildings", "B2")}
    refused = c.patch(f"/api/layers/buildings/{b2}", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"][0]["msg"]
    ok = c.patch(f"/api/layers/buildings/{b2}", json=body, headers={auth.CSRF_HEADER: csrf})
    assert ok.status_code == 200, ok.text
    assert c.get("/map?community=T1").status_code == 200
    c.cookies.clear()


def test_the_login_page_sends_only_to_local_paths(world: World) -> None:
    r = world.client.post(
        "/login",
        data={"username": "u-viewer", "password": PASSWORD, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/map"
    world.client.cookies.clear()


# --- the history --------------------------------------------------------------------------------


def test_history_records_the_api_the_cli_an_import_and_plain_sql(
    world: World, tmp_path: Any
) -> None:
    b2 = world.fid("buildings", "B2")
    c = world.client
    c.patch(
        f"/api/layers/buildings/{b2}",
        headers=world.as_("planner"),
        json={"properties": {"households": 43}, "version": world.version("buildings", "B2")},
    )
    feature = c.get(f"/api/layers/buildings/{b2}", headers=world.as_("admin")).json()
    feature["properties"] = {"code": "B2", "households": 44}
    path = tmp_path / "b2.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    services.import_layer(world.settings, "buildings", path, community="T1")
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE buildings SET households = 45 WHERE code = 'B2'"))
    entries = c.get(f"/api/layers/buildings/{b2}/history", headers=world.as_("admin")).json()
    seen = [(e["changed_by"], e["channel"], e["changes"]) for e in entries[:3]]
    hh = [(by, ch, [x for x in chg if x["field"] == "households"]) for by, ch, chg in seen]
    assert hh == [
        ("db:gridmap", "sql", [{"field": "households", "old": 44, "new": 45}]),
        ("cli-local", "import", [{"field": "households", "old": 43, "new": 44}]),
        ("u-planner", "api", [{"field": "households", "old": 40, "new": 43}]),
    ]


def test_an_admin_restores_an_earlier_version(world: World) -> None:
    c = world.client
    b3 = world.fid("buildings", "B3")
    version = world.version("buildings", "B3")
    c.patch(
        f"/api/layers/buildings/{b3}",
        headers=world.as_("admin"),
        json={"properties": {"households": 99, "name": "错名"}, "version": version},
    )
    entries = c.get(f"/api/layers/buildings/{b3}/history", headers=world.as_("admin")).json()
    first = entries[-1]["entry"]  # the building as imported
    refused = c.post(
        f"/api/layers/buildings/{b3}/restore", headers=world.as_("planner"), json={"entry": first}
    )
    assert refused.status_code == 403
    r = c.post(
        f"/api/layers/buildings/{b3}/restore", headers=world.as_("admin"), json={"entry": first}
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["households"] == 20
    assert r.json()["properties"]["name"] == "3栋"
    latest = c.get(f"/api/layers/buildings/{b3}/history", headers=world.as_("admin")).json()[0]
    assert latest["changed_by"] == "u-admin"
    assert {"field": "households", "old": 99, "new": 20} in latest["changes"]


def test_a_deleted_feature_comes_back(world: World) -> None:
    c, admin = world.client, world.as_("admin")
    sp1 = world.fid("service_points", "SP1")
    assert c.delete(f"/api/layers/service_points/{sp1}", headers=admin).status_code == 204
    entries = c.get(f"/api/layers/service_points/{sp1}/history", headers=admin).json()
    assert entries[0]["action"] == "delete"
    r = c.post(
        f"/api/layers/service_points/{sp1}/restore",
        headers=admin,
        json={"entry": entries[0]["entry"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["name"] == "樵华社区党群服务中心"


def test_the_cli_manages_users(world: World) -> None:
    services.add_user(
        world.settings, "u-cli", role="officer", password=PASSWORD, communities=["T1"], grids=["G2"]
    )
    r = world.client.post("/api/auth/token", data={"username": "u-cli", "password": PASSWORD})
    assert r.status_code == 200
    with db.session_scope(world.engine) as session:
        user = accounts.find_user(session, "u-cli")
    assert user is not None and user.grid_codes == ("G2",)
    with world.engine.connect() as conn:
        who = conn.execute(
            text("SELECT changed_by, channel FROM history WHERE layer = 'users' AND code = 'u-cli'")
        ).all()
        stored = conn.execute(text("SELECT new FROM history WHERE code = 'u-cli'")).scalar()
    assert who == [("cli-local", "cli")]
    assert "password_hash" not in stored


def test_csv_of_the_roster_is_readable(world: World) -> None:
    planner = world.as_("planner")
    world.client.post("/api/lead-zones/save", headers=planner, params={"community": "T1"})
    text_ = world.client.get(
        "/api/lead-zones/roster", headers=planner, params={"community": "T1"}
    ).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text_)))
    assert rows and any("张伟" in (r.get("lead_name") or "") for r in rows)


def test_an_officer_locks_only_zones_of_their_grid(world: World) -> None:
    c = world.client
    assert c.post(
        "/api/lead-zones/save", headers=world.as_("planner"), params={"community": "T1"}
    ).is_success
    with world.engine.connect() as conn:
        zones = dict(
            conn.execute(
                text(
                    "SELECT z.code, array_agg(DISTINCT g.code) FROM lead_zones z "
                    "JOIN lead_zone_members m ON m.zone_id = z.id "
                    "JOIN buildings b ON b.id = m.building_id JOIN grids g ON g.id = b.grid_id "
                    "GROUP BY z.code"
                )
            ).all()
        )
    mine = next(code for code, grids in zones.items() if grids == ["G1"])
    other = next(code for code, grids in zones.items() if "G2" in grids)
    officer = world.as_("officer")
    lock = {"params": {"community": "T1"}, "json": {"locked": True}}
    assert c.post(f"/api/lead-zones/{mine}/lock", headers=officer, **lock).status_code == 200
    r = c.post(f"/api/lead-zones/{other}/lock", headers=officer, **lock)
    assert r.status_code == 403
    assert "G1" in r.json()["detail"][0]["msg"]


def test_a_stale_session_can_log_in_again(world: World) -> None:
    c = world.client
    c.post("/login", data={"username": "u-viewer", "password": PASSWORD, "next": "/map"})
    with db.session_scope(world.engine) as session:
        accounts.set_password(session, "u-viewer", auth.hash_password("a-new-password-1"))
    # The old cookie is revoked: pages send to the login page, the login form still works.
    page = c.get("/map?community=T1", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    again = c.post(
        "/login",
        data={"username": "u-viewer", "password": "a-new-password-1", "next": "/map"},
        follow_redirects=False,
    )
    assert again.status_code == 303 and again.headers["location"] == "/map"
    assert c.get("/api/auth/me").json()["username"] == "u-viewer"
    # A page the role may not open is a zh-CN page, not JSON.
    forbidden = c.get("/admin/users")
    assert forbidden.status_code == 403
    assert "text/html" in forbidden.headers["content-type"] and "无权" in forbidden.text
    c.cookies.clear()


def test_ogc_features_stay_in_the_readers_communities(world: World) -> None:
    services.load_demo(world.settings, "qiaohua")
    c = world.client
    viewer, admin = world.as_("viewer"), world.as_("admin")
    mine = c.get("/collections/buildings/items", headers=viewer, params={"limit": 1000}).json()
    every = c.get("/collections/buildings/items", headers=admin, params={"limit": 1000}).json()
    assert len(mine["features"]) == 3  # T1's three buildings, not QH's 476
    assert len(every["features"]) > 400
    with world.engine.connect() as conn:
        qh = conn.execute(text("SELECT id FROM communities WHERE code = 'QH'")).scalar()
    sneaky = c.get(
        "/collections/buildings/items",
        headers=viewer,
        params={"filter": f"community_id = {qh}", "limit": 1000},
    ).json()
    assert sneaky["features"] == []
    assert len(c.get("/collections/communities/items", headers=viewer).json()["features"]) == 1


def test_a_planner_cannot_write_into_another_community(world: World) -> None:
    services.load_demo(world.settings, "qiaohua")
    with world.engine.connect() as conn:
        fid, version, code, geometry = conn.execute(
            text(
                "SELECT b.id, b.version, b.code, ST_AsGeoJSON(b.geom)::json FROM buildings b "
                "JOIN communities c ON c.id = b.community_id WHERE c.code = 'QH' LIMIT 1"
            )
        ).one()
    before = snapshot(world.engine)
    planner = world.as_("planner")
    # By id: not theirs to see, so not found; nothing written.
    r = world.client.patch(
        f"/api/layers/buildings/{fid}",
        headers=planner,
        json={"properties": {"households": 1}, "version": version},
    )
    assert r.status_code == 404
    # By a file naming the other community: the database's record of the write is refused.
    feature = {
        "type": "Feature",
        "properties": {"code": code, "community": "QH", "households": 1},
        "geometry": geometry,
    }
    r = world.client.post("/api/layers/buildings", headers=planner, json=feature)
    assert r.status_code == 403, r.text
    assert "其他社区" in r.json()["detail"][0]["msg"]
    assert snapshot(world.engine) == before


def test_field_staff_land_on_the_tablet_page(world: World) -> None:
    r = world.client.post(
        "/login",
        data={"username": "u-field", "password": PASSWORD, "next": "/map"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/field"
    world.client.cookies.clear()
