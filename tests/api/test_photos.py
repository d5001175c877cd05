"""Photos of buildings: type- and size-checked, upright, without EXIF, sent once, in scope.

docs/field.md, "照片". The images are made here with Pillow; what the server keeps is read
back from the database and decoded independently.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from PIL import Image
from sqlalchemy import text

from layers import photos
from tests.api.roles import World
from tests.databases import snapshot


def _jpeg(width: int, height: int, *, orientation: int | None = None, gps: bool = False) -> bytes:
    """A JPEG whose left half is red and right half blue, with the EXIF a phone writes."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (39.0, 59.0, 0.0), 3: "E", 4: (116.0, 18.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def _put(
    world: World,
    fid: int,
    data: bytes,
    *,
    role: str = "field",
    uid: str | None = None,
    name: str = "photo.jpg",
    caption: str | None = None,
) -> Any:
    form = {} if caption is None else {"caption": caption}
    return world.client.put(
        f"/api/layers/buildings/{fid}/photos/{uid or uuid.uuid4()}",
        headers=world.as_(role),
        files={"file": (name, data, "image/jpeg")},
        data=form,
    )


def _rows(world: World) -> list[dict[str, object]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT uid, building_id, width, height, image, thumb, caption, taken_by, "
                "deleted_at, deleted_by FROM building_photos ORDER BY id"
            )
        ).mappings()
        return [dict(r) for r in rows]


def test_a_photo_is_kept_upright_shrunk_and_without_its_exif(world: World) -> None:
    b1 = world.fid("buildings", "B1")
    # A phone held upright writes a landscape sensor image with orientation 6 (turn 90° CW).
    sent = _jpeg(3000, 1500, orientation=6, gps=True)
    assert Image.open(io.BytesIO(sent)).getexif()[0x0112] == 6
    r = _put(world, b1, sent, caption="3单元门口")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (1024, 2048)  # turned upright, longest side 2048
    assert body["taken_by"] == "u-field" and body["caption"] == "3单元门口"
    (row,) = _rows(world)
    kept = Image.open(io.BytesIO(row["image"]))  # type: ignore[arg-type]
    assert kept.format == "JPEG" and kept.size == (1024, 2048)
    assert len(kept.getexif()) == 0  # no make, model or GPS position left
    assert b"PhoneMaker" not in row["image"]  # type: ignore[operator]
    # Upright: the red half that was on the left is now on top.
    top, bottom = kept.getpixel((512, 200)), kept.getpixel((512, 1800))
    assert top[0] > 200 and top[2] < 60, top  # type: ignore[index]
    assert bottom[2] > 200 and bottom[0] < 60, bottom  # type: ignore[index]
    thumb = Image.open(io.BytesIO(row["thumb"]))  # type: ignore[arg-type]
    assert max(thumb.size) == photos.THUMB_SIDE
    # The list and the image, through the API.
    listed = world.client.get(f"/api/layers/buildings/{b1}/photos", headers=world.as_("field"))
    assert [p["uid"] for p in listed.json()] == [body["uid"]]
    image = world.client.get(listed.json()[0]["url"], headers=world.as_("viewer"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content == row["image"]
    assert (
        world.client.get(listed.json()[0]["thumb_url"], headers=world.as_("viewer")).content
        == row["thumb"]
    )


def test_a_resent_photo_is_kept_once(world: World) -> None:
    b1, b2 = world.fid("buildings", "B1"), world.fid("buildings", "B2")
    uid = str(uuid.uuid4())
    data = _jpeg(800, 600)
    first = _put(world, b1, data, uid=uid)
    again = _put(world, b1, data, uid=uid)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(_rows(world)) == 1
    # The same id for another building is a mistake on the device, said as such.
    other = _put(world, b2, data, uid=uid)
    assert other.status_code == 409
    assert "照片编号" in other.json()["detail"][0]["msg"]
    assert len(_rows(world)) == 1


def test_what_is_not_a_photo_is_refused_and_nothing_kept(world: World) -> None:
    b1 = world.fid("buildings", "B1")
    before = snapshot(world.engine)
    cases = {
        "text": (b"households,12\n", "data.csv", 415, "不是可识别的图片"),
        "empty": (b"", "empty.jpg", 415, "空文件"),
        "truncated": (_jpeg(800, 600)[:600], "cut.jpg", 415, "已损坏"),
        "gif": (_gif(), "anim.gif", 415, "GIF"),
    }
    for what, (data, name, status, words) in cases.items():
        r = _put(world, b1, data, name=name)
        assert r.status_code == status, (what, r.text)
        assert words in r.json()["detail"][0]["msg"], (what, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", "file"]
    big = _put(world, b1, b"\xff\xd8" + b"\0" * (photos.MAX_BYTES + 10))
    assert big.status_code == 413 and "MB" in big.json()["detail"][0]["msg"]
    bad_uid = world.client.put(
        f"/api/layers/buildings/{b1}/photos/not-a-uuid",
        headers=world.as_("field"),
        files={"file": ("a.jpg", _jpeg(10, 10), "image/jpeg")},
    )
    assert bad_uid.status_code == 422
    long_caption = _put(world, b1, _jpeg(10, 10), caption="长" * (photos.MAX_CAPTION + 1))
    assert long_caption.status_code == 422
    assert snapshot(world.engine) == before


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (20, 20)).save(out, "GIF")
    return out.getvalue()


def test_photos_follow_the_roles_and_grids(world: World) -> None:
    b1, b3 = world.fid("buildings", "B1"), world.fid("buildings", "B3")
    data = _jpeg(400, 300)
    # Field staff of G1 may not add a photo to B3 in G2; viewers add none at all.
    outside = _put(world, b3, data)
    assert outside.status_code == 403 and "G1" in outside.json()["detail"][0]["msg"]
    assert _put(world, b1, data, role="viewer").status_code == 403
    assert _put(world, b3, data, role="planner").status_code == 201
    assert len(_rows(world)) == 1
    # Who walked where is not for a viewer to know.
    listed = world.client.get(f"/api/layers/buildings/{b3}/photos", headers=world.as_("viewer"))
    assert listed.status_code == 200 and listed.json()[0]["taken_by"] is None
    assert (
        world.client.get(
            "/api/layers/buildings/999999/photos", headers=world.as_("viewer")
        ).status_code
        == 404
    )


def test_a_photo_put_aside_leaves_the_list_and_stays_kept(world: World) -> None:
    b1 = world.fid("buildings", "B1")
    uid = _put(world, b1, _jpeg(400, 300)).json()["uid"]
    url = f"/api/layers/buildings/{b1}/photos/{uid}"
    assert world.client.delete(url, headers=world.as_("viewer")).status_code == 403
    assert world.client.delete(url, headers=world.as_("field")).status_code == 204
    assert (
        world.client.get(f"/api/layers/buildings/{b1}/photos", headers=world.as_("field")).json()
        == []
    )
    assert world.client.get(f"{url}/image", headers=world.as_("field")).status_code == 404
    assert world.client.delete(url, headers=world.as_("field")).status_code == 404
    (row,) = _rows(world)
    assert row["deleted_by"] == "u-field" and row["deleted_at"] is not None
    # The history records both, without the image bytes.
    with world.engine.connect() as conn:
        seen = conn.execute(
            text(
                "SELECT action, new ? 'image' AS has_image, changed_by FROM history "
                "WHERE layer = 'building_photos' ORDER BY id"
            )
        ).all()
    assert [(a, h, by) for a, h, by in seen] == [
        ("insert", False, "u-field"),
        ("update", False, "u-field"),
    ]
