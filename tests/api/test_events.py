"""Events through the API: reported, walked through every state by the right roles, refused.

On T1 with one user per role (:mod:`tests.api.roles`): the field user (grid G1) reports a
broken street light (GY01, 路灯管理所, 72 hours to handle) at B1; the officer of G1 files and
dispatches it, the 路灯管理所 user accepts, handles and feeds back, the officer sends it back
once and then verifies it, and closes it. The clock is the test's: deadlines and overdue
flags are checked at chosen instants. Every refusal says why in Chinese and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from gis_api import deps
from layers import accounts, db
from layers import events as ev
from tests.api.roles import World
from tests.databases import snapshot

T0 = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)  # 09:00 in China


class Clock:
    """The app's clock in these tests: set, advanced, read by every request."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, hours: float) -> None:
        self.now = T0 + timedelta(hours=hours)


@pytest.fixture
def clock(world: World) -> Iterator[Clock]:
    c = Clock()
    world.client.app.dependency_overrides[deps.clock] = c  # type: ignore[attr-defined]
    yield c
    world.client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


@pytest.fixture
def departments(world: World) -> World:
    """u-department acts for 路灯管理所 (LDS); u-sanitation, in T1 too, for 环卫所 (HWS)."""
    from gis_api import auth

    with db.session_scope(world.engine) as session:
        ev.add_department_user(session, "u-department", "LDS")
        uid = accounts.add_user(
            session,
            "u-sanitation",
            role="department",
            password_hash=auth.hash_password("correct-horse-9"),
            communities=["T1"],
        )
        ev.add_department_user(session, "u-sanitation", "HWS")
        world.tokens["sanitation"] = auth.issue(session, uid, "api", world.settings).token
    return world


def _at(world: World, building: str) -> tuple[float, float]:
    with world.engine.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM buildings WHERE code = :b"
            ),
            {"b": building},
        ).one()
    return float(x), float(y)


def _report(world: World, role: str, **body: Any) -> Any:
    lon, lat = _at(world, "B1")
    payload = {
        "lon": lon,
        "lat": lat,
        "category": "GY01",
        "description": "3 号路灯不亮，晚上很黑",
        "reporter_name": "张三丰",
        "reporter_phone": "13812345678",
        "source": "field",
        **body,
    }
    return world.client.post("/api/events", json=payload, headers=world.as_(role))


def _step(world: World, role: str, code: str, action: str, **body: Any) -> Any:
    return world.client.post(
        f"/api/events/{code}/steps", json={"action": action, **body}, headers=world.as_(role)
    )


def test_an_event_through_every_state(departments: World, clock: Clock) -> None:
    w = departments
    # Reported by field staff: the place, officer, department and deadline come with it.
    r = _report(w, "field")
    assert r.status_code == 201, r.text
    e = r.json()
    code = e["code"]
    assert code.startswith("SJ20261204")
    assert (e["community"], e["grid"], e["compound"], e["building"]) == ("T1", "G1", "C1", "B1")
    assert e["officer"] == "u-officer" and e["department_name"] == "路灯管理所"
    assert e["status"] == "reported" and e["status_zh"] == "已上报"
    assert datetime.fromisoformat(e["due_at"]) == T0 + timedelta(hours=2)
    assert e["category_group_name"] == "公用设施"

    def refused(role: str, action: str, status: int, words: str, **body: Any) -> None:
        before = snapshot(w.engine)
        r = _step(w, role, code, action, **body)
        assert r.status_code == status, (role, action, r.text)
        assert words in r.json()["detail"][0]["msg"], r.text
        assert snapshot(w.engine) == before

    refused("department", "accept", 409, "当前为“已上报”，不能“报到受理”")
    refused("field", "file", 403, "办理事件")  # field staff report; they do not file
    refused("viewer", "file", 403, "办理事件")
    refused("department", "file", 403, "由社区")
    clock.at(1)
    assert _step(w, "officer", code, "file", note="属实").status_code == 200
    refused("officer", "close", 409, "此时可以：不予立案、派遣（吹哨）")
    refused("officer", "dispatch", 422, "部门“XX”不存在", department="XX")
    clock.at(3)  # exactly on the deadline: not late
    r = _step(w, "officer", code, "dispatch", note="请路灯所处理")
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    refused("sanitation", "accept", 403, "没有派遣给您的部门")
    clock.at(4)
    r = _step(w, "department", code, "accept")
    assert r.status_code == 200
    assert datetime.fromisoformat(r.json()["due_at"]) == T0 + timedelta(hours=4 + 72)
    # Past the handling deadline, the event is overdue and listed for the secretary.
    clock.at(77)
    overdue = w.client.get("/api/events?community=T1&overdue=true", headers=w.as_("planner"))
    assert [f["properties"]["code"] for f in overdue.json()["features"]] == [code]
    clock.at(80)
    assert _step(w, "department", code, "handle", note="已更换灯泡").status_code == 200
    assert _step(w, "department", code, "feedback", note="已修复").status_code == 200
    r = _step(w, "officer", code, "send_back", note="仍然不亮")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    for role, action in (
        ("department", "handle"),
        ("department", "feedback"),
        ("officer", "verify"),
        ("planner", "close"),
    ):
        clock.at(clock.now.timestamp() / 3600 - T0.timestamp() / 3600 + 1)
        r = _step(w, role, code, action)
        assert r.status_code == 200, (action, r.text)
    final = r.json()
    assert final["status"] == "closed" and final["next_actions"] == [] and final["closed_at"]
    steps = final["steps"]
    assert [s["action"] for s in steps] == [
        "report", "file", "dispatch", "accept", "handle", "feedback", "send_back",
        "handle", "feedback", "verify", "close",
    ]  # fmt: skip
    assert [s["by_user"] for s in steps[:4]] == [
        "u-field",
        "u-officer",
        "u-officer",
        "u-department",
    ]
    late = {s["action"]: s["late"] for s in steps[:5]}
    assert late == {
        "report": False,
        "file": False,
        "dispatch": False,
        "accept": False,
        "handle": True,
    }
    refused("planner", "file", 409, "已办结")
    # The reporter's name and phone reach planners, not viewers or departments.
    full = w.client.get(f"/api/events/{code}", headers=w.as_("planner")).json()
    assert (full["reporter_name"], full["reporter_phone"]) == ("张三丰", "13812345678")
    for role in ("viewer", "department"):
        masked = w.client.get(f"/api/events/{code}", headers=w.as_(role)).json()
        assert masked["reporter_name"] == "张**" and masked["reporter_phone"] == "138****5678"


def test_duplicates_are_suggested_before_saving(departments: World, clock: Clock) -> None:
    w = departments
    first = _report(w, "officer").json()["code"]
    lon, lat = _at(w, "B1")
    with w.engine.connect() as conn:
        n_before = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    again = _report(w, "officer")
    assert again.status_code == 409 and first in again.text and "50 米内" in again.text
    near = w.client.get(
        f"/api/events/duplicates?lon={lon}&lat={lat}&category=GY01", headers=w.as_("field")
    ).json()["duplicates"]
    assert [d["code"] for d in near] == [first] and near[0]["distance_m"] == 0
    # 60 m east is beyond GY01's 50 m; another category is no duplicate either.
    east = lon + 60 / (111_320 * 0.9211)
    far = w.client.get(
        f"/api/events/duplicates?lon={east}&lat={lat}&category=GY01", headers=w.as_("field")
    ).json()["duplicates"]
    assert far == []
    assert _report(w, "officer", category="SR01").status_code == 201
    with w.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == n_before + 1
    assert _report(w, "officer", allow_duplicate=True).status_code == 201
    # A cancelled event is no longer open: no duplicate of it.
    assert _step(w, "officer", first, "cancel", note="误报").status_code == 200
    near = w.client.get(
        f"/api/events/duplicates?lon={lon}&lat={lat}&category=GY01", headers=w.as_("field")
    ).json()["duplicates"]
    assert first not in [d["code"] for d in near]


def test_bad_reports_are_refused_in_chinese_and_change_nothing(
    departments: World, clock: Clock
) -> None:
    w = departments
    before = snapshot(w.engine)
    lon, lat = _at(w, "B1")
    cases = [
        ({"lon": lon + 1, "lat": lat}, 422, "不在任何社区范围内"),
        ({"lon": lat, "lat": lon}, 422, None),  # swapped: latitude 112 is out of range
        ({"category": "NOPE"}, 422, "类别“NOPE”不存在"),
        ({"category": "GY"}, 422, "是大类"),
        ({"building": "B99"}, 422, "没有编号为“B99”的楼栋"),
        ({"description": ""}, 422, None),
        ({"description": "x" * 2001}, 422, None),
        ({"reporter_phone": "call me"}, 422, None),
    ]
    for body, status, words in cases:
        r = _report(w, "officer", **body)
        assert r.status_code == status, (body, r.text)
        assert "Traceback" not in r.text
        if words:
            assert words in r.json()["detail"][0]["msg"], r.text
        assert snapshot(w.engine) == before
    for role in ("viewer", "department"):
        assert _report(w, role).status_code == 403
    assert snapshot(w.engine) == before


def test_grids_and_versions_bound_the_steps(departments: World, clock: Clock) -> None:
    w = departments
    lon, lat = _at(w, "B3")  # grid G2: not the officer's
    r = _report(w, "planner", lon=lon, lat=lat, building="B3")
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["grid"] == "G2" and e["compound"] is None and e["officer"] is None
    refused = _step(w, "officer", e["code"], "file")
    assert refused.status_code == 403 and "不在您负责的网格内" in refused.text
    ok = _step(w, "planner", e["code"], "file", version=e["version"])
    assert ok.status_code == 200
    stale = _step(w, "planner", e["code"], "dispatch", version=e["version"])
    assert stale.status_code == 409 and "已被他人办理" in stale.text
    # Another community's event is not found, not shown.
    other = w.client.get(f"/api/events/{e['code']}", headers=w.as_("viewer"))
    assert other.status_code == 200
    with w.engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM user_communities WHERE user_id = "
                "(SELECT id FROM users WHERE username = 'u-viewer')"
            )
        )
    hidden = w.client.get(f"/api/events/{e['code']}", headers=w.as_("viewer"))
    assert hidden.status_code in (403, 404)


def test_categories_and_states_in_chinese(world: World) -> None:
    body = world.client.get("/api/event-categories", headers=world.as_("viewer")).json()
    groups = {g["code"]: g for g in body["categories"]}
    assert groups["SR"]["name"] == "市容环境"
    assert {c["code"] for c in groups["SR"]["children"]} >= {"SR01"}
    assert (
        body["statuses"]["fed_back"] == "已反馈" and body["actions"]["dispatch"] == "派遣（吹哨）"
    )


#: The fields GeoReport v2 gives each service and service request.
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
}  # fmt: skip


def test_open311_services_and_requests(departments: World, clock: Clock) -> None:
    w = departments
    c = w.client
    services = c.get("/open311/v2/services.json", headers=w.as_("viewer")).json()
    assert services and all(set(s) == SERVICE_FIELDS for s in services)
    lights = next(s for s in services if s["service_code"] == "GY01")
    assert lights["service_name"] == "路灯损坏" and lights["group"] == "公用设施"
    assert lights["type"] == "realtime" and lights["metadata"] is False
    assert c.get("/open311/v2/services.json").status_code == 401  # a token, not api_key
    lon, lat = _at(w, "B1")
    form = {
        "service_code": "GY01",
        "lat": str(lat),
        "long": str(lon),
        "description": "12345 热线：路灯不亮",
        "last_name": "李",
        "first_name": "四",
        "phone": "13900001111",
        "address_string": "樵华路 3 号",
    }
    r = c.post("/open311/v2/requests.json", data=form, headers=w.as_("officer"))
    assert r.status_code == 201, r.text
    (made,) = r.json()
    assert set(made) == {"service_request_id", "service_notice", "account_id"}
    sid = made["service_request_id"]
    assert (
        c.post("/open311/v2/requests.json", data=form, headers=w.as_("viewer")).status_code == 403
    )
    bad = c.post(
        "/open311/v2/requests.json", data={**form, "service_code": "NOPE"}, headers=w.as_("officer")
    )
    assert bad.status_code == 422 and "类别" in bad.text
    nul = c.post(
        "/open311/v2/requests.json",
        data={**form, "service_code": "G\x00Y"},
        headers=w.as_("officer"),
    )
    assert nul.status_code == 422, nul.text
    (got,) = c.get(f"/open311/v2/requests/{sid}.json", headers=w.as_("planner")).json()
    assert set(got) >= REQUEST_FIELDS
    assert got["status"] == "open" and got["service_code"] == "GY01"
    assert got["agency_responsible"] == "路灯管理所"
    assert (got["lat"], got["long"]) == pytest.approx((lat, lon))
    assert (got["community"], got["grid"], got["building"]) == ("T1", "G1", "B1")
    assert got["requested_datetime"].endswith("+08:00")
    assert got["address"] == "樵华路 3 号"
    listed = c.get(
        f"/open311/v2/requests.json?service_request_id={sid},SJ0", headers=w.as_("viewer")
    ).json()
    assert [x["service_request_id"] for x in listed] == [sid]
    for action, role in (("cancel", "officer"),):
        assert _step(w, role, sid, action, note="重复").status_code == 200
    closed = c.get("/open311/v2/requests.json?status=closed", headers=w.as_("viewer")).json()
    assert [x["service_request_id"] for x in closed] == [sid]
    assert closed[0]["status_notes"] == "重复"
    assert c.get("/open311/v2/requests.json?status=open", headers=w.as_("viewer")).json() == []
    later = (T0 + timedelta(days=1)).isoformat()
    assert (
        c.get(
            "/open311/v2/requests.json", params={"start_date": later}, headers=w.as_("viewer")
        ).json()
        == []
    )
    assert c.get("/open311/v2/requests/SJ0.json", headers=w.as_("viewer")).status_code == 404


def test_events_through_ogc_api_features_without_the_reporter(
    departments: World, clock: Clock
) -> None:
    w = departments
    code = _report(w, "field").json()["code"]
    for role in ("planner", "viewer"):
        items = w.client.get("/collections/events/items", headers=w.as_(role)).json()
        (feature,) = [f for f in items["features"] if f["properties"]["code"] == code]
        assert feature["properties"]["status"] == "reported"
        assert not {"reporter_name", "reporter_phone"} & set(feature["properties"]), role
    r = w.client.get(
        "/collections/events/items",
        headers=w.as_("planner"),
        params={"filter": "reporter_name='张三丰'"},
    )
    assert r.status_code == 400, r.text


def test_photos_of_the_report_and_of_the_work_done(departments: World, clock: Clock) -> None:
    import io
    import uuid

    from PIL import Image

    from tests.api.test_photos import _jpeg

    w = departments
    code = _report(w, "field").json()["code"]

    def put(role: str, uid: str, data: bytes, name: str = "p.jpg") -> Any:
        return w.client.put(
            f"/api/events/{code}/photos/{uid}",
            files={"file": (name, data, "image/jpeg")},
            data={"caption": "现场"},
            headers=w.as_(role),
        )

    first = str(uuid.uuid4())
    r = put("field", first, _jpeg(3000, 1000, gps=True))
    assert r.status_code == 201, r.text
    assert r.json()["stage"] == "reported" and r.json()["width"] == 2048
    assert put("field", first, _jpeg(3000, 1000, gps=True)).status_code == 200  # resent: once
    kept = w.client.get(f"/api/events/{code}/photos/{first}/image", headers=w.as_("viewer"))
    assert len(Image.open(io.BytesIO(kept.content)).getexif()) == 0  # no GPS position left
    before = snapshot(w.engine)
    assert put("field", str(uuid.uuid4()), b"GIF89a not a photo", "x.gif").status_code == 415
    assert put("viewer", str(uuid.uuid4()), _jpeg(10, 10)).status_code == 403
    assert put("field", "not-a-uuid", _jpeg(10, 10)).status_code == 422
    assert snapshot(w.engine) == before
    for role, action in (("officer", "file"), ("officer", "dispatch"), ("department", "accept")):
        assert _step(w, role, code, action).status_code == 200
    assert _step(w, "department", code, "handle", note="已修复").status_code == 200
    assert put("department", str(uuid.uuid4()), _jpeg(800, 600)).status_code == 201
    listed = w.client.get(f"/api/events/{code}/photos", headers=w.as_("viewer")).json()
    assert [p["stage"] for p in listed] == ["reported", "handled"]
    assert all(p["taken_by"] is None for p in listed)  # who took it: not for viewers
    mine = w.client.get(f"/api/events/{code}/photos", headers=w.as_("planner")).json()
    assert [p["taken_by"] for p in mine] == ["u-field", "u-department"]


def test_two_people_taking_the_same_step_at_once_take_it_once(departments: World) -> None:
    """The officer and the planner both file one event at the same instant: one files it."""
    import json
    import threading
    import urllib.error
    import urllib.request

    from tests.running import serve

    w = departments
    code = _report(w, "field").json()["code"]
    url_db = w.settings.database_url
    results: list[int] = []
    with serve(url_db) as url:
        barrier = threading.Barrier(4)

        def file_it(role: str) -> None:
            req = urllib.request.Request(
                f"{url}/api/events/{code}/steps",
                data=json.dumps({"action": "file", "note": role}).encode(),
                headers={**w.as_(role), "Content-Type": "application/json"},
                method="POST",
            )
            barrier.wait()
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    results.append(r.status)
            except urllib.error.HTTPError as e:
                results.append(e.code)

        threads = [
            threading.Thread(target=file_it, args=(r,))
            for r in ("officer", "planner", "admin", "planner")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [200, 409, 409, 409], results
    with w.engine.connect() as conn:
        actions = (
            conn.execute(
                text(
                    "SELECT s.action FROM event_steps s JOIN events e ON e.id = s.event_id "
                    "WHERE e.code = :c ORDER BY s.id"
                ),
                {"c": code},
            )
            .scalars()
            .all()
        )
    assert actions == ["report", "file"]


def test_a_department_returns_what_is_not_its_own(departments: World, clock: Clock) -> None:
    """Dispatched to 路灯管理所 by default, returned, then dispatched to 环卫所 by choice."""
    w = departments
    code = _report(w, "officer").json()["code"]
    assert _step(w, "officer", code, "file").status_code == 200
    assert _step(w, "officer", code, "dispatch").json()["department"] == "LDS"
    back = _step(w, "department", code, "return", note="不是路灯问题，是垃圾").json()
    assert back["status"] == "filed" and back["department"] is None
    assert back["steps"][-1]["department"] == "LDS"  # the timeline says who returned it
    again = _step(w, "officer", code, "dispatch", department="HWS").json()
    assert again["department_name"] == "环卫所"
    assert _step(w, "department", code, "accept").status_code == 403  # no longer theirs
    assert _step(w, "sanitation", code, "accept").status_code == 200
