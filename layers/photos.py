"""Photos of buildings (楼栋照片): checked, shrunk, stripped of EXIF, kept in the database.

A photo is its own upload, linked to one building (docs/field.md, "照片"). What arrives is
decoded to prove it is an image of an accepted type, turned upright by its EXIF orientation,
shrunk to :data:`MAX_SIDE` pixels and re-encoded as JPEG without its metadata: a phone writes
its GPS position and serial number into every photo, and those are not ours to keep. The
photo's ``uid`` is its id on the device, so an upload sent twice makes one photo.

Photos live in PostgreSQL beside the building they show: one backup holds everything, and
a building's deletion takes its photos with it. A photo taken by mistake is put aside
(``deleted_at``), never erased, so a mistaken removal loses nothing.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import GridmapError, NotFound, RequestTooLarge

#: The largest upload accepted (a 12-megapixel phone JPEG is 3–6 MB).
MAX_BYTES = 15 * (1 << 20)
#: The longest side kept, in pixels: enough to read a door plate, small enough to send.
MAX_SIDE = 2048
#: The longest side of the thumbnail lists show.
THUMB_SIDE = 320
#: Image formats accepted, as Pillow names them, with their zh-CN names for messages.
ACCEPTED = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
#: Decoding stops above this many pixels (a "decompression bomb" is refused, not decoded).
MAX_PIXELS = 80_000_000
MAX_CAPTION = 200


class UnsupportedMedia(GridmapError):
    """An upload that is not an image of an accepted type."""

    type = "unsupported_media"
    status = 415


class BadPhotoRequest(GridmapError):
    """A photo id or caption that cannot be kept as sent."""

    type = "invalid_value"
    status = 422


class PhotoConflict(GridmapError):
    """A photo id already used for another building."""

    type = "photo_conflict"
    status = 409


@dataclass(frozen=True)
class Prepared:
    """A photo as it is kept: the re-encoded image, its thumbnail and their facts."""

    image: bytes
    thumb: bytes
    width: int
    height: int
    sha256: str


@dataclass(frozen=True)
class Photo:
    """One photo's facts (not its bytes), as lists and the API give them."""

    id: int
    uid: str
    building_id: int
    community_id: int
    width: int
    height: int
    bytes: int
    caption: str | None
    taken_by: str
    created_at: datetime


def prepare(data: bytes, *, filename: str = "") -> Prepared:
    """Check an upload and return it re-encoded; raise 413 or 415 with a zh-CN message."""
    name = f"“{filename}”" if filename else "上传的文件"
    if len(data) > MAX_BYTES:
        msg = f"照片{name}为 {len(data) / (1 << 20):.1f} MB，超过上限 {MAX_BYTES >> 20} MB"
        raise RequestTooLarge(msg, loc=("body", "file"))
    if not data:
        msg = f"{name}是空文件"
        raise UnsupportedMedia(msg, loc=("body", "file"))
    accepted = "、".join(ACCEPTED.values())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                if kind not in ACCEPTED:
                    msg = f"{name}是 {kind or '未知'} 格式，只接受 {accepted} 照片"
                    raise UnsupportedMedia(msg, loc=("body", "file"))
                if probe.width * probe.height > MAX_PIXELS:
                    msg = f"{name}有 {probe.width}×{probe.height} 像素，超过上限"
                    raise RequestTooLarge(msg, loc=("body", "file"))
                probe.load()
                image = ImageOps.exif_transpose(probe)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        msg = (
            f"{name}不是可识别的图片，只接受 {accepted} 照片"
            "（iPhone 请在相机设置中选择“兼容性最佳”）"
        )
        raise UnsupportedMedia(msg, loc=("body", "file")) from None
    except (OSError, ValueError, SyntaxError) as exc:
        msg = f"{name}已损坏，无法读取：{exc}"
        raise UnsupportedMedia(msg, loc=("body", "file")) from None
    image = _rgb(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    full = _jpeg(image, quality=85)
    small = image.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Prepared(full, _jpeg(small, quality=75), image.width, image.height, _sha(full))


def _rgb(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white (a PNG screenshot) and return an RGB image."""
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image, *, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)  # no exif= : none is written
    return out.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_uid(value: str) -> uuid.UUID:
    """Return the photo id a device sent, or raise 422 saying what it should look like."""
    try:
        return uuid.UUID(value)
    except ValueError:
        msg = f"照片编号“{value[:40]}”不是 UUID（如 0b7e…-…）"
        raise BadPhotoRequest(msg, loc=("path", "uid")) from None


_COLUMNS = "id, uid, building_id, community_id, width, height, bytes, caption, taken_by, created_at"


def _photo(row: Any) -> Photo:
    return Photo(
        id=int(row.id),
        uid=str(row.uid),
        building_id=int(row.building_id),
        community_id=int(row.community_id),
        width=int(row.width),
        height=int(row.height),
        bytes=int(row.bytes),
        caption=row.caption,
        taken_by=row.taken_by,
        created_at=row.created_at,
    )


def save_photo(
    session: Session,
    building_id: int,
    uid: uuid.UUID,
    prepared: Prepared,
    *,
    caption: str | None,
    taken_by: str,
) -> tuple[Photo, bool]:
    """Keep a photo of a building; return it and whether it is new (False: sent before).

    A resend of the same ``uid`` for the same building is answered with the photo it made;
    the same ``uid`` for another building is refused (409).
    """
    if caption is not None and len(caption) > MAX_CAPTION:
        msg = f"照片说明最多 {MAX_CAPTION} 个字，实际为 {len(caption)} 个字"
        raise BadPhotoRequest(msg, loc=("body", "caption"))
    community = session.execute(
        text("SELECT community_id FROM buildings WHERE id = :b"), {"b": building_id}
    ).scalar()
    if community is None:
        msg_0 = f"楼栋 {building_id} 不存在"
        raise NotFound(msg_0, loc=("path", "fid"))
    row = session.execute(
        text(
            f"""INSERT INTO building_photos
                    (uid, building_id, community_id, media_type, width, height, bytes, sha256,
                     image, thumb, caption, taken_by)
                VALUES (:uid, :b, :c, 'image/jpeg', :w, :h, :n, :sha, :image, :thumb, :caption,
                        :by)
                ON CONFLICT (uid) DO NOTHING
                RETURNING {_COLUMNS}"""
        ),
        {
            "uid": uid,
            "b": building_id,
            "c": community,
            "w": prepared.width,
            "h": prepared.height,
            "n": len(prepared.image),
            "sha": prepared.sha256,
            "image": prepared.image,
            "thumb": prepared.thumb,
            "caption": caption or None,
            "by": taken_by,
        },
    ).first()
    if row is not None:
        return _photo(row), True
    before = session.execute(
        text(f"SELECT {_COLUMNS} FROM building_photos WHERE uid = :uid"), {"uid": uid}
    ).one()
    if int(before.building_id) != building_id:
        msg = f"照片编号 {uid} 已用于楼栋 {before.building_id} 的照片：每张照片请用新的编号"
        raise PhotoConflict(msg, loc=("path", "uid"))
    return _photo(before), False


def photos_of(session: Session, building_id: int) -> list[Photo]:
    """Return a building's photos, oldest first (those put aside left out)."""
    rows = session.execute(
        text(
            f"SELECT {_COLUMNS} FROM building_photos WHERE building_id = :b AND deleted_at IS NULL "
            "ORDER BY created_at, id"
        ),
        {"b": building_id},
    )
    return [_photo(r) for r in rows]


def photo_counts(session: Session, building_ids: list[int]) -> dict[int, int]:
    """Return how many photos each of ``building_ids`` has."""
    rows = session.execute(
        text(
            "SELECT building_id, count(*) AS n FROM building_photos "
            "WHERE building_id = ANY(:b) AND deleted_at IS NULL GROUP BY building_id"
        ),
        {"b": building_ids},
    )
    return {int(r.building_id): int(r.n) for r in rows}


def photo_bytes(session: Session, building_id: int, uid: uuid.UUID, *, thumb: bool) -> bytes:
    """Return one photo's JPEG (or its thumbnail); 404 when the building has no such photo."""
    column = "thumb" if thumb else "image"
    data = session.execute(
        text(
            f"SELECT {column} FROM building_photos WHERE uid = :uid AND building_id = :b "
            "AND deleted_at IS NULL"
        ),
        {"uid": uid, "b": building_id},
    ).scalar()
    if data is None:
        msg = f"楼栋 {building_id} 没有照片 {uid}"
        raise NotFound(msg, loc=("path", "uid"))
    return bytes(data)


def put_aside(session: Session, building_id: int, uid: uuid.UUID, *, by: str) -> None:
    """Remove a photo from the building's list (kept, with who removed it and when)."""
    done = session.execute(
        text(
            "UPDATE building_photos SET deleted_at = now(), deleted_by = :by "
            "WHERE uid = :uid AND building_id = :b AND deleted_at IS NULL RETURNING id"
        ),
        {"uid": uid, "b": building_id, "by": by},
    ).first()
    if done is None:
        msg = f"楼栋 {building_id} 没有照片 {uid}"
        raise NotFound(msg, loc=("path", "uid"))
