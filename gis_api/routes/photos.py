"""Photos of buildings: each its own upload, linked to one building (docs/field.md, "照片").

The tablet names a photo by the id it gave it on the device (a UUID) and sends it with
``PUT``, so a resend after a lost answer makes no second photo. Reads follow the building's
community scope; a photo is put aside, never erased.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, Response, UploadFile
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_api import auth
from gis_api.access import Principal
from gis_api.auth import CurrentUser
from gis_api.deps import PlainStr, SessionDep
from layers import photos
from layers.errors import NotFound, RequestTooLarge

router = APIRouter(prefix="/api/layers/buildings/{fid}/photos", tags=["照片 photos"])

FeatureId = Annotated[int, Path(ge=1, le=2**31 - 1, description="楼栋 id")]
PhotoUid = Annotated[str, Path(max_length=64, description="照片编号（设备生成的 UUID）")]


def read_upload(file: UploadFile) -> bytes:
    """Read an uploaded photo, refusing (413) one over the limit without reading it all."""
    data = file.file.read(photos.MAX_BYTES + 1)
    if len(data) > photos.MAX_BYTES:
        msg = f"照片超过上限 {photos.MAX_BYTES >> 20} MB"
        raise RequestTooLarge(msg, loc=("body", "file"))
    return data


def _building(session: Session, fid: int, who: Principal) -> int:
    """Return the building's community id; 404 when it is not one the user may see."""
    community = session.execute(
        text("SELECT community_id FROM buildings WHERE id = :b"), {"b": fid}
    ).scalar()
    if community is None or not who.in_community(int(community)):
        msg = f"楼栋 {fid} 不存在"
        raise NotFound(msg, loc=("path", "fid"))
    return int(community)


def _out(photo: photos.Photo, who: Principal, request: Request) -> dict[str, Any]:
    out = dataclasses.asdict(photo)
    out["created_at"] = photo.created_at.isoformat()
    if not who.sees_personal:
        out["taken_by"] = None  # who walked where is theirs and their officer's to know
    root = str(request.scope.get("root_path", "")).rstrip("/")
    base = f"{root}/api/layers/buildings/{photo.building_id}/photos/{photo.uid}"
    out["url"] = f"{base}/image"
    out["thumb_url"] = f"{base}/thumb"
    return out


@router.get("", dependencies=[auth.READ], summary="楼栋照片列表")
def list_photos(
    fid: FeatureId, request: Request, session: SessionDep, who: CurrentUser
) -> list[dict[str, Any]]:
    """Return a building's photos, oldest first, with the links to their image and thumbnail."""
    _building(session, fid, who)
    return [_out(p, who, request) for p in photos.photos_of(session, fid)]


@router.put(
    "/{uid}",
    dependencies=[auth.EDIT],
    status_code=201,
    summary="上传楼栋照片（按照片编号幂等：重发不会重复）",
    responses={
        200: {"description": "该编号的照片已收到过：返回已有照片"},
        409: {"description": "该编号已用于另一栋楼的照片"},
        413: {"description": "照片过大"},
        415: {"description": "不是 JPEG、PNG 或 WebP 图片"},
    },
)
def put_photo(
    fid: FeatureId,
    uid: PhotoUid,
    request: Request,
    session: SessionDep,
    who: CurrentUser,
    response: Response,
    file: Annotated[UploadFile, File(description="照片（JPEG、PNG 或 WebP）")],
    caption: Annotated[PlainStr | None, Form(max_length=photos.MAX_CAPTION)] = None,
) -> dict[str, Any]:
    """Keep a photo of a building: checked, turned upright, shrunk, its EXIF (GPS) removed."""
    key = photos.parse_uid(uid)
    data = read_upload(file)
    with session.begin():
        _building(session, fid, who)
        prepared = photos.prepare(data, filename=file.filename or "")
        photo, new = photos.save_photo(
            session, fid, key, prepared, caption=caption, taken_by=who.username
        )
    if not new:
        response.status_code = 200
    return _out(photo, who, request)


@router.get(
    "/{uid}/{size}",
    dependencies=[auth.READ],
    summary="照片图像（image 原图，thumb 缩略图）",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def photo_image(
    fid: FeatureId,
    uid: PhotoUid,
    size: Annotated[str, Path(pattern="^(image|thumb)$")],
    session: SessionDep,
    who: CurrentUser,
) -> Response:
    """Return a photo's JPEG; the bytes never change for a uid, so caches may keep them."""
    _building(session, fid, who)
    data = photos.photo_bytes(session, fid, photos.parse_uid(uid), thumb=size == "thumb")
    headers = {"Cache-Control": "private, max-age=31536000, immutable"}
    return Response(data, media_type="image/jpeg", headers=headers)


@router.delete("/{uid}", dependencies=[auth.EDIT], status_code=204, summary="移除照片（留档）")
def remove_photo(fid: FeatureId, uid: PhotoUid, session: SessionDep, who: CurrentUser) -> Response:
    """Put a photo aside: it leaves the building's list and is kept with who removed it."""
    key = photos.parse_uid(uid)
    with session.begin():
        _building(session, fid, who)
        photos.put_aside(session, fid, key, by=who.username)
    return Response(status_code=204)
