"""Photos of events: the reporter's, and each step's (docs/events.md).

Checked and re-encoded as buildings' photos are (:func:`layers.photos.prepare`: JPEG, PNG or
WebP, upright, at most 2,048 px, EXIF and GPS removed); named by the device's UUID, so a
resend makes no second photo. ``stage`` records the event's status when the photo came.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import NotFound
from layers.photos import MAX_CAPTION, BadPhotoRequest, PhotoConflict, Prepared

#: Photos one event keeps at most (a report and a few steps' worth).
MAX_PER_EVENT = 30


@dataclass(frozen=True)
class EventPhoto:
    """One photo's facts (not its bytes)."""

    uid: str
    event: str
    stage: str
    width: int
    height: int
    bytes: int
    caption: str | None
    taken_by: str
    created_at: datetime


_COLUMNS = (
    "p.uid, e.code AS event, p.stage, p.width, p.height, p.bytes, p.caption, p.taken_by, "
    "p.created_at"
)


def _photo(row: Any) -> EventPhoto:
    return EventPhoto(
        uid=str(row.uid),
        event=str(row.event),
        stage=str(row.stage),
        width=int(row.width),
        height=int(row.height),
        bytes=int(row.bytes),
        caption=row.caption,
        taken_by=str(row.taken_by),
        created_at=row.created_at,
    )


def save(
    session: Session,
    event: str,
    uid: uuid.UUID,
    prepared: Prepared,
    *,
    caption: str | None,
    taken_by: str,
) -> tuple[EventPhoto, bool]:
    """Keep a photo of an event; return it and whether it is new (False: sent before)."""
    if caption is not None and len(caption) > MAX_CAPTION:
        msg = f"照片说明最多 {MAX_CAPTION} 个字，实际为 {len(caption)} 个字"
        raise BadPhotoRequest(msg, loc=("body", "caption"))
    found = session.execute(
        text(
            "SELECT e.id, e.community_id, e.status, (SELECT count(*) FROM event_photos p "
            "WHERE p.event_id = e.id) AS n FROM events e WHERE e.code = :c FOR UPDATE OF e"
        ),
        {"c": event},
    ).one_or_none()
    if found is None:
        msg = f"事件“{event}”不存在"
        raise NotFound(msg, loc=("path", "code"))
    before = _existing(session, uid)
    if before is not None:
        if before.event != event:
            msg = f"照片编号 {uid} 已用于事件 {before.event} 的照片：每张照片请用新的编号"
            raise PhotoConflict(msg, loc=("path", "uid"))
        return before, False
    if found.n >= MAX_PER_EVENT:
        msg = f"事件 {event} 已有 {found.n} 张照片，最多 {MAX_PER_EVENT} 张"
        raise BadPhotoRequest(msg, loc=("path", "uid"))
    row = session.execute(
        text(
            "INSERT INTO event_photos (uid, event_id, community_id, stage, width, height, "
            "bytes, sha256, image, thumb, caption, taken_by) VALUES (:uid, :e, :c, :stage, "
            ":w, :h, :n, :sha, :image, :thumb, :caption, :by) ON CONFLICT (uid) DO NOTHING "
            "RETURNING uid, :code AS event, "
            "stage, width, height, bytes, caption, taken_by, created_at"
        ),
        {
            "uid": uid,
            "e": found.id,
            "c": found.community_id,
            "stage": found.status,
            "w": prepared.width,
            "h": prepared.height,
            "n": len(prepared.image),
            "sha": prepared.sha256,
            "image": prepared.image,
            "thumb": prepared.thumb,
            "caption": caption or None,
            "by": taken_by,
            "code": event,
        },
    ).one_or_none()
    if row is not None:
        return _photo(row), True
    # Sent at the same moment for another event: the first one keeps the uid.
    again = _existing(session, uid)
    if again is None or again.event != event:
        msg = f"照片编号 {uid} 已用于另一事件的照片：每张照片请用新的编号"
        raise PhotoConflict(msg, loc=("path", "uid"))
    return again, False


def _existing(session: Session, uid: uuid.UUID) -> EventPhoto | None:
    row = session.execute(
        text(
            f"SELECT {_COLUMNS} FROM event_photos p JOIN events e ON e.id = p.event_id "
            "WHERE p.uid = :uid"
        ),
        {"uid": uid},
    ).one_or_none()
    return None if row is None else _photo(row)


def photos_of(session: Session, event: str) -> list[EventPhoto]:
    """Return an event's photos, oldest first."""
    rows = session.execute(
        text(
            f"SELECT {_COLUMNS} FROM event_photos p JOIN events e ON e.id = p.event_id "
            "WHERE e.code = :c ORDER BY p.created_at, p.id"
        ),
        {"c": event},
    )
    return [_photo(r) for r in rows]


def photo_bytes(session: Session, event: str, uid: uuid.UUID, *, thumb: bool) -> bytes:
    """Return one photo's JPEG (or thumbnail); 404 when the event has no such photo."""
    column = "thumb" if thumb else "image"
    data = session.execute(
        text(
            f"SELECT p.{column} FROM event_photos p JOIN events e ON e.id = p.event_id "
            "WHERE p.uid = :uid AND e.code = :c"
        ),
        {"uid": uid, "c": event},
    ).scalar()
    if data is None:
        msg = f"事件 {event} 没有照片 {uid}"
        raise NotFound(msg, loc=("path", "uid"))
    return bytes(data)
