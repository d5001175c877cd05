"""The walk: visit dates, the day's edits and conflicts kept until their author decides.

docs/field.md, "走访" and "冲突". T1: grids G1 (B1, B2) and G2 (B3).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import mapbox_vector_tile
from sqlalchemy import text

from layers.domain import china_today
from tests.api.roles import World
from tests.api.test_tiles import b1_lonlat, tile_of
from web_map.pages.officer import _schemes as officer_schemes


def _patch(
    world: World,
    role: str,
    code: str,
    props: dict[str, Any],
    *,
    version: int | None = None,
    key: str | None = None,
) -> Any:
    headers = world.as_(role) | {"If-Match": f'"{version or world.version("buildings", code)}"'}
    if key is not None:
        headers["Idempotency-Key"] = key
    return world.client.patch(
        f"/api/layers/buildings/{world.fid('buildings', code)}",
        headers=headers,
        json={"properties": props},
    )


def _walk(world: World, role: str, **params: str) -> dict[str, Any]:
    r = world.client.get("/api/walk", headers=world.as_(role), params={"community": "T1"} | params)
    assert r.status_code == 200, r.text
    return r.json()


def test_visits_and_the_days_edits(world: World) -> None:
    today = china_today().isoformat()
    assert _walk(world, "officer")["visited"] == 0
    assert _patch(world, "field", "B1", {"visited_on": today}).status_code == 200
    assert _patch(world, "field", "B2", {"households": 41, "note": "3单元空置"}).status_code == 200
    officer = _walk(world, "officer")
    assert (officer["visited"], officer["total"]) == (2, 3)  # the whole community
    by_code = {b["code"]: b for b in officer["buildings"]}
    assert by_code["B1"]["visited_on"] == today and by_code["B3"]["edited_at"] is None
    assert [(e["code"], e["changed_by"], e["fields"]) for e in officer["edits"]] == [
        ("B2", "u-field", ["households", "note"]),
        ("B1", "u-field", ["visited_on"]),
    ]
    assert officer["edits"][0]["fields_zh"] == ["户数", "备注"]
    # Field staff see their own grid; an officer may name one; yesterday had none.
    mine = _walk(world, "field")
    assert (mine["visited"], mine["total"]) == (2, 2)
    assert _walk(world, "officer", grid="G2")["total"] == 1
    yesterday = (china_today() - timedelta(days=1)).isoformat()
    assert _walk(world, "officer", day=yesterday)["visited"] == 0
    unknown = world.client.get(
        "/api/walk", headers=world.as_("officer"), params={"community": "T1", "grid": "G9"}
    )
    assert unknown.status_code == 404 and "G9" in unknown.json()["detail"][0]["msg"]


def test_visit_dates_are_checked(world: World) -> None:
    tomorrow = (china_today() + timedelta(days=1)).isoformat()
    r = _patch(world, "field", "B1", {"visited_on": tomorrow})
    assert r.status_code == 422 and "不能晚于今天" in r.json()["detail"][0]["msg"]
    r = _patch(world, "field", "B1", {"visited_on": "1999-12-31"})
    assert r.status_code == 422 and "不能早于" in r.json()["detail"][0]["msg"]
    r = _patch(world, "field", "B1", {"visited_on": "昨天"})
    assert r.status_code == 422 and "应为日期" in r.json()["detail"][0]["msg"]
    day = china_today()
    r = _patch(world, "field", "B1", {"visited_on": f"{day.year}年{day.month}月{day.day}日"})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["visited_on"] == day.isoformat()
    r = _patch(world, "field", "B1", {"note": "字" * 501})
    assert r.status_code == 422 and "500" in r.json()["detail"][0]["msg"]
    with world.engine.connect() as conn:  # the database refuses what the API refuses
        check = conn.execute(
            text(
                "SELECT count(*) FROM pg_constraint WHERE conname IN "
                "('ck_buildings_note_length', 'ck_buildings_visited_on_min')"
            )
        ).scalar()
    assert check == 2


def test_a_conflict_waits_until_its_author_decides(world: World) -> None:
    base = world.version("buildings", "B1")
    assert _patch(world, "officer", "B1", {"households": 70}, version=base).status_code == 200
    refused = _patch(world, "field", "B1", {"households": 65}, version=base, key="tab-1:e1")
    assert refused.status_code == 409
    ctx = refused.json()["detail"][0]["ctx"]
    cid = ctx["conflict_id"]
    # Sent again (the answer was lost): the same conflict, not a second one.
    again = _patch(world, "field", "B1", {"households": 65}, version=base, key="tab-1:e1")
    assert again.json()["detail"][0]["ctx"]["conflict_id"] == cid
    (waiting,) = _walk(world, "officer")["conflicts"]
    assert (waiting["id"], waiting["username"], waiting["code"]) == (cid, "u-field", "B1")
    assert waiting["fields"] == [
        {"field": "households", "base": 60, "current": 70, "proposed": 65, "zh": "户数"}
    ]
    # The author chooses field by field and sends the result on the current version: settled.
    chosen = _patch(world, "field", "B1", {"households": 66}, version=ctx["current_version"])
    assert chosen.status_code == 200
    assert _walk(world, "officer")["conflicts"] == []
    with world.engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT resolution FROM edit_conflicts WHERE id = :i"), {"i": cid}
            ).scalar()
            == "merged"
        )


def test_a_conflict_given_up_is_dismissed_by_its_author_or_the_grids_officer(world: World) -> None:
    base = world.version("buildings", "B2")
    assert _patch(world, "planner", "B2", {"lead_name": "王芳"}, version=base).status_code == 200
    refused = _patch(world, "field", "B2", {"lead_name": "李雷"}, version=base)
    cid = refused.json()["detail"][0]["ctx"]["conflict_id"]
    # A viewer sees the conflict with names masked; may not dismiss it.
    (seen,) = _walk(world, "viewer")["conflicts"]
    assert {seen["fields"][0][k] for k in ("current", "proposed")} == {"王*", "李*"}
    url = f"/api/conflicts/{cid}/dismiss"
    assert world.client.post(url, headers=world.as_("viewer")).status_code == 403
    done = world.client.post(url, headers=world.as_("officer"))  # G1's officer: allowed
    assert done.status_code == 200 and done.json()["resolution"] == "dismissed"
    assert _walk(world, "officer")["conflicts"] == []
    assert world.version("buildings", "B2") == base + 1  # the store kept the planner's value
    assert (
        world.client.post("/api/conflicts/99999/dismiss", headers=world.as_("officer")).status_code
        == 404
    )


def test_the_officers_map_colours_buildings_by_their_last_visit(world: World) -> None:
    week_ago = (china_today() - timedelta(days=6)).isoformat()
    assert _patch(world, "field", "B1", {"visited_on": week_ago}).status_code == 200
    assert (
        _patch(world, "field", "B2", {"visited_on": china_today().isoformat()}).status_code == 200
    )
    x, y = tile_of(*b1_lonlat(), 14)
    tile = world.client.get(f"/tiles/buildings/14/{x}/{y}.pbf", headers=world.as_("viewer"))
    features = mapbox_vector_tile.decode(tile.content)["buildings"]["features"]
    ages = {f["properties"]["code"]: f["properties"].get("visit_age_days") for f in features}
    assert ages["B1"] == 6 and ages["B2"] == 0
    assert ages.get("B3") is None  # never visited: no value, drawn as 从未走访
    # The page offers the shading, its classes by the same breaks, and the walk panel.
    page = world.client.get("/map?community=T1", headers=world.as_("officer")).text
    for words in ("按走访", "最近走访", "1–7 天前", "从未走访", "今日走访"):
        assert words in page, words
    scheme = officer_schemes()["visit"]
    colours = [scheme["colors"][sum(age >= b for b in scheme["breaks"])] for age in (0, 6, 45)]
    assert colours == [scheme["colors"][0], scheme["colors"][1], scheme["colors"][3]]
