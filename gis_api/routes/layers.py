"""Layer endpoints: GeoJSON features (filtered, paged, by id), create, update, delete, upload."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path as FilePath
from pathlib import PureWindowsPath
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import shapely
from shapely.geometry import shape

from gis_api import auth
from gis_api.access import Principal, redact, redact_frame
from gis_api.auth import CurrentUser
from gis_api.deps import BBoxDep, PageDep, SessionDep, SettingsDep
from gis_api.schemas import FeatureCollectionIn, FeatureIn, FeaturePatch, ImportResult
from layers import accounts, editing, fieldwork
from layers import crs as crsmod
from layers.errors import GridmapError, ImportRowError, Loc, NotFound, RequestTooLarge
from layers.importing import Options, import_file, import_frame
from layers.queries import Filters, layer_features
from layers.reports import ImportReport
from layers.schema import LAYERS

router = APIRouter(prefix="/api/layers", tags=["图层 layers"])

MAX_FEATURES_PER_WRITE = 10_000
OUTPUT_CRS = ("wgs84", "cgcs2000", "gcj02", "bd09")


#: The ``{layer}`` path parameter: any string is accepted (an unknown layer gets our zh-CN
#: 404), but the schema lists the layers, so generated clients and API fuzzers reach data.
LayerPath = Annotated[
    str,
    Path(
        description=f"图层：{'、'.join(f'{n}（{v.zh}）' for n, v in LAYERS.items())}",
        json_schema_extra={"enum": list(LAYERS)},
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='读取要素时得到的 ETag（如 W/"3"），即要素的版本号；与请求体 version 二选一',
    ),
]
#: An edit's id on the client (a tablet's): sent again, the edit is answered, not redone.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="本次修改在客户端的编号（可打印 ASCII，最长 128）：重发同一编号不会重复修改",
    ),
]
_ETAG = re.compile(r'^(?:W/)?"(?:(\d+)-)?(\d+)"$|^(\d+)$')


class BadVersion(GridmapError):
    """An ``If-Match`` header that is no version of ours, or one the body contradicts."""

    type = "bad_version"
    status = 422


def etag(version: int) -> str:
    """Return the (weak) entity tag of a feature's version, as ``ETag`` and ``If-Match`` use."""
    return f'W/"{version}"'


def _expected_version(fid: int, body: int | None, if_match: str | None) -> tuple[int | None, Loc]:
    """Return the version the client started from and where it said so (body or header)."""
    header: int | None = None
    where: Loc = ("header", "If-Match")
    if if_match is not None and if_match.strip():
        found = _ETAG.match(if_match.strip())
        if found is None:
            msg = f'请求头 If-Match 应为读取要素时得到的 ETag（如 W/"3"），实际为“{if_match}”'
            raise BadVersion(msg, loc=where)
        owner, tagged, bare = found.groups()
        if owner is not None and int(owner) != fid:
            msg = f"请求头 If-Match 的 ETag 属于 id 为 {owner} 的要素，不是 {fid}"
            raise BadVersion(msg, loc=where)
        header = int(tagged if tagged is not None else bare)
    if header is not None and body is not None and header != body:
        msg = f"请求体中的版本 {body} 与请求头 If-Match 中的版本 {header} 不一致"
        raise BadVersion(msg, loc=where)
    if header is not None:
        return header, where
    return body, ("body", "version")


def _layer(layer: str) -> str:
    if layer not in LAYERS:
        msg = f"未知图层：{layer}（可选：{'、'.join(LAYERS)}）"
        raise NotFound(msg, loc=("path", "layer"))
    return layer


def _output_crs(crs: str) -> crsmod.CrsSpec:
    spec = crsmod.parse_crs(crs)
    if crs.strip().lower() not in OUTPUT_CRS and not spec.is_geographic:
        msg = f"GeoJSON 输出只支持经纬度坐标系：{'、'.join(OUTPUT_CRS)}，实际为“{crs}”"
        raise NotFound(msg, loc=("query", "crs"))
    return spec


def _geojson(frame: gpd.GeoDataFrame, spec: crsmod.CrsSpec) -> dict[str, Any]:
    frame = frame.rename_geometry("geometry")
    frame = frame.set_geometry(crsmod.from_wgs84(frame.geometry, spec))
    frame = frame.set_index("id", drop=True)
    out: dict[str, Any] = frame.to_geo_dict(na="null", drop_id=False)
    for feature in out["features"]:
        feature["id"] = int(feature["id"])
    return out


def _geojson_response(out: dict[str, Any]) -> Response:
    # orjson straight to bytes: a page of 1,000 buildings is ~0.5 MB, and FastAPI's generic
    # encoder walking it again doubled the time of a bbox page (bench/README.md).
    data = orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(data, media_type="application/geo+json")


CrsQuery = Annotated[
    str, Query(description="输出坐标系：wgs84（默认）、gcj02（高德/腾讯底图）、bd09、cgcs2000")
]


@router.get("", dependencies=[auth.READ], summary="图层列表")
def list_layers(session: SessionDep) -> list[dict[str, Any]]:
    """List the layers with their Chinese names, geometry kinds and feature counts."""
    return [
        {
            "id": name,
            "title": layer.zh,
            "geometry": layer.geom,
            "count": int(session.execute(text(f"SELECT count(*) FROM {layer.table}")).scalar_one()),
            "fields": [{"name": f.name, "title": f.zh, "type": f.type} for f in layer.fields],
        }
        for name, layer in LAYERS.items()
    ]


@router.get(
    "/{layer}",
    dependencies=[auth.READ],
    summary="图层要素（GeoJSON，可按范围/社区/网格/小区筛选，分页）",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def features(
    layer: LayerPath,
    session: SessionDep,
    who: CurrentUser,
    bbox: BBoxDep,
    page: PageDep,
    community: Annotated[str | None, Query(description="社区编号")] = None,
    grid: Annotated[str | None, Query(description="网格编号")] = None,
    compound: Annotated[str | None, Query(description="小区编号")] = None,
    crs: CrsQuery = "wgs84",
) -> Response:
    """Return a page of features as a GeoJSON FeatureCollection with the total matched."""
    spec = _output_crs(crs)
    filters = Filters(
        bbox=bbox,
        community=community,
        grid=grid,
        compound=compound,
        limit=page.limit,
        offset=page.offset,
        within=who.within,
    )
    frame, total = layer_features(session, _layer(layer), filters)
    out = _geojson(redact_frame(who, frame), spec)
    out["numberMatched"] = total
    out["numberReturned"] = len(frame)
    links = []
    if page.offset + len(frame) < total:
        links.append({"rel": "next", "offset": page.offset + page.limit, "limit": page.limit})
    if page.offset > 0:
        links.append({"rel": "prev", "offset": max(0, page.offset - page.limit)})
    out["links"] = links
    return _geojson_response(out)


@router.get(
    "/{layer}/{fid}",
    dependencies=[auth.READ],
    summary="单个要素（带 ETag：修改时作为 If-Match 或 version）",
)
def feature(
    layer: LayerPath,
    fid: int,
    session: SessionDep,
    who: CurrentUser,
    response: Response,
    crs: CrsQuery = "wgs84",
) -> dict[str, Any]:
    """Return one feature by its id, its version in ``properties.version`` and ``ETag``."""
    spec = _output_crs(crs)
    # The version first: should an edit land in between, the tag is older than the body
    # and a write based on it is refused, rather than the other way round.
    version = editing.feature_version(session, _layer(layer), fid)
    out = _with_version(_geojson(_one(session, layer, fid, who), spec)["features"][0], version)
    response.headers["ETag"] = etag(int(out["properties"]["version"]))
    return out


def _with_version(feature: dict[str, Any], version: int | None) -> dict[str, Any]:
    props = feature["properties"]
    if props.get("version") is None and version is not None:
        props["version"] = version
    return feature


def _one(session: Session, layer: str, fid: int, who: Principal) -> gpd.GeoDataFrame:
    """Return one feature the user may see (personal fields masked as their role needs)."""
    frame, _ = layer_features(session, layer, Filters(ids=[fid], within=who.within))
    if len(frame) == 0:
        msg = f"图层 {LAYERS[layer].zh} 中没有 id 为 {fid} 的要素"
        raise NotFound(msg, loc=("path", "fid"))
    return redact_frame(who, frame)


@router.post(
    "/{layer}",
    status_code=201,
    dependencies=[auth.EDIT],
    summary="新增或更新要素（整批校验，全部成功才写入）",
)
def create(
    layer: LayerPath,
    body: FeatureCollectionIn | FeatureIn,
    session: SessionDep,
    settings: SettingsDep,
    community: Annotated[str | None, Query(description="社区编号")] = None,
    crs: Annotated[str | None, Query(description="坐标系：wgs84、gcj02、bd09、EPSG:n")] = None,
) -> ImportResult:
    """Validate and write features (by ``properties.code``): all of them or none."""
    items = body.features if isinstance(body, FeatureCollectionIn) else [body]
    if len(items) > MAX_FEATURES_PER_WRITE:
        msg = f"一次最多写入 {MAX_FEATURES_PER_WRITE} 个要素，本次 {len(items)} 个：请分批"
        raise RequestTooLarge(msg, loc=("body", "features"))
    frame = _frame(items)
    options = Options(
        crs=crs,
        community=community,
        boundary_tolerance_m=settings.boundary_tolerance_m,
        gate_tolerance_m=settings.gate_tolerance_m,
    )
    with session.begin():
        report = _body_errors(lambda: import_frame(session, _layer(layer), frame, options=options))
        ids = _ids(session, layer, report.codes)
    return _result(report, ids)


def _frame(items: list[FeatureIn]) -> gpd.GeoDataFrame:
    geoms: list[Any] = []
    problems: list[tuple[Loc, str, str]] = []
    for i, item in enumerate(items):
        try:
            geoms.append(shape(item.geometry) if item.geometry else None)
        except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
            loc: Loc = ("body", "features", i, "geometry")
            problems.append(
                (loc, f"第 {i + 1} 个要素的几何不是有效的 GeoJSON：{exc}", "bad_geojson")
            )
            geoms.append(None)
    if problems:
        raise ImportRowError(problems)
    return gpd.GeoDataFrame([item.properties for item in items], geometry=geoms, crs=None)


def _body_errors(run: Any) -> ImportReport:
    """Run an import; say where in the request body each problem is."""
    try:
        report: ImportReport = run()
    except ImportRowError as exc:
        problems = []
        for loc, msg, typ in exc.problems:
            if loc[:2] == ("file", "row"):
                row = int(loc[2])
                where = "geometry" if loc[3] == "geometry" else "properties"
                body_loc: Loc = ("body", "features", row - 1, where)
                if where == "properties":
                    body_loc = (*body_loc, loc[3])
                text_ = re.sub(r"^第 (\d+) 行", r"第 \1 个要素", msg)
                problems.append((body_loc, text_, typ))
            else:
                problems.append((loc, msg, typ))
        raise ImportRowError(problems, total=exc.total) from exc
    return report


def _ids(session: Session, layer: str, codes: list[str]) -> list[int]:
    rows = session.execute(
        text(f"SELECT id FROM {LAYERS[layer].table} WHERE code = ANY(:codes) ORDER BY id"),
        {"codes": codes},
    ).scalars()
    return [int(r) for r in rows]


def _result(report: ImportReport, ids: list[int]) -> ImportResult:
    return ImportResult(
        layer=report.layer,
        rows=report.rows,
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
        ids=ids,
        ignored_columns=report.ignored_columns,
        crs=report.crs,
        seconds=round(report.seconds, 3),
    )


@router.patch(
    "/{layer}/{fid}",
    dependencies=[auth.EDIT],
    summary="修改要素（必须带版本号：只写所给字段，版本不符则 409）",
    responses={
        409: {"description": "版本已过期：他人已修改，请重新读取"},
        428: {"description": "缺少版本号（请求体 version 或请求头 If-Match）"},
    },
)
def update(
    layer: LayerPath,
    fid: int,
    body: FeaturePatch,
    session: SessionDep,
    settings: SettingsDep,
    who: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Change some properties (and maybe the geometry) of one feature, validated as on import.

    Give the version you loaded, as ``version`` in the body or as the ``ETag`` you got in an
    ``If-Match`` header: without one the answer is 428; if someone saved in between it is
    409 with the current version. Either way nothing is written. Only the fields sent are
    written, with the version bumped, in one statement that checks the version.

    An edit based on an older version is merged when nobody changed its fields since that
    version; when it collides, the 409 lists each colliding field with its value then, now
    and as proposed (``ctx.fields``). With ``Idempotency-Key`` an edit sent again is
    answered as the first time and not applied twice.
    """
    _layer(layer)
    version, version_loc = _expected_version(fid, body.version, if_match)
    try:
        with session.begin():
            if idempotency_key is not None:
                replay = editing.claim_edit(session, who.username, idempotency_key, layer, fid)
                if replay is not None:
                    response.headers["ETag"] = etag(int(replay["properties"]["version"]))
                    return replay
            new_version = editing.patch_feature(
                session,
                layer,
                fid,
                version=version,
                properties=body.properties,
                geometry=body.geometry,
                version_loc=version_loc,
                where=("body",),
                boundary_tolerance_m=settings.boundary_tolerance_m,
                gate_tolerance_m=settings.gate_tolerance_m,
            )
            updated = _one(session, layer, fid, who)
            out = _with_version(_geojson(updated, crsmod.WGS84)["features"][0], new_version)
            out["properties"]["version"] = new_version
            if idempotency_key is not None:
                editing.remember_edit(session, who.username, idempotency_key, out)
            fieldwork.settle_conflicts(session, username=who.username, layer=layer, feature_id=fid)
    except editing.VersionConflict as exc:
        if exc.fields and version is not None:
            # The edit is refused, and nothing of it written; what collided is kept, apart,
            # until its author decides (the officer's map lists it: docs/field.md, "冲突").
            with session.begin():
                exc.conflict_id = fieldwork.record_conflict(
                    session,
                    username=who.username,
                    layer=layer,
                    feature_id=fid,
                    base_version=version,
                    current_version=exc.current,
                    fields=exc.fields,
                )
        raise
    response.headers["ETag"] = etag(new_version)
    return out


@router.delete(
    "/{layer}/{fid}",
    dependencies=[auth.EDIT],
    status_code=204,
    summary="删除要素（有从属要素时需 ?cascade=true）",
    responses={409: {"description": "还有要素依赖于它（附各图层数量），或 If-Match 版本已过期"}},
)
def delete(
    layer: LayerPath,
    fid: int,
    session: SessionDep,
    settings: SettingsDep,
    cascade: Annotated[
        bool,
        Query(description="确认一并删除（社区）或解除关联（网格、小区等）依赖它的要素"),
    ] = False,
    if_match: IfMatch = None,
) -> Response:
    """Delete one feature; refuse with 409 and counts when others depend on it.

    With ``?cascade=true`` a community's features go with it, and a grid's or compound's
    are left unassigned (or assigned to another one they lie in). ``If-Match`` is optional
    here; a stale one is refused with 409.
    """
    _layer(layer)
    version, version_loc = _expected_version(fid, None, if_match)
    with session.begin():
        editing.delete_feature(
            session,
            layer,
            fid,
            version=version,
            version_loc=version_loc,
            cascade=cascade,
            gate_tolerance_m=settings.gate_tolerance_m,
        )
    return Response(status_code=204)


@router.post(
    "/{layer}/import",
    dependencies=[auth.IMPORT],
    summary="上传文件导入（GeoJSON、GeoPackage、Shapefile.zip、CSV）",
)
def upload(
    layer: LayerPath,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="图层文件")],
    crs: Annotated[str | None, Form(description="坐标系")] = None,
    community: Annotated[str | None, Form(description="社区编号")] = None,
) -> ImportResult:
    """Import an uploaded file into a layer: one transaction, all rows or none."""
    _layer(layer)
    limit = int(settings.max_upload_mb * 1024 * 1024)
    # The name the user's machine gave, without its folders ("C:\\Users\\…\\楼栋.csv" too).
    name = PureWindowsPath(file.filename or "upload").name or "upload"
    with tempfile.TemporaryDirectory() as tmp:
        path = FilePath(tmp) / name
        size = 0
        with path.open("wb") as out:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    msg = f"文件过大：超过 {settings.max_upload_mb:g} MB 上限"
                    raise RequestTooLarge(msg, loc=("body", "file"))
                out.write(chunk)
        options = Options(
            crs=crs,
            community=community,
            boundary_tolerance_m=settings.boundary_tolerance_m,
            gate_tolerance_m=settings.gate_tolerance_m,
        )
        with session.begin():
            report = import_file(session, layer, path, options=options)
    return _result(report, [])


# --- the change history -------------------------------------------------------------------------


def _changes(entry: dict[str, Any], who: Principal) -> list[dict[str, Any]]:
    """Return the fields an entry changed with old and new values (personal ones masked)."""
    old = redact(who, entry["old"] or {})
    new = redact(who, entry["new"] or {})
    keys = sorted((set(old) | set(new)) - {"updated_at", "version"})
    return [
        {"field": k, "old": old.get(k), "new": new.get(k)} for k in keys if old.get(k) != new.get(k)
    ]


@router.get(
    "/{layer}/{fid}/history",
    dependencies=[auth.HISTORY],
    summary="要素的修改记录（谁、何时、经由何处、改了什么），最新在前",
)
def history(
    layer: LayerPath, fid: int, session: SessionDep, who: CurrentUser
) -> list[dict[str, Any]]:
    """Every recorded change of one feature, by the database's own triggers."""
    _layer(layer)
    entries = accounts.feature_history(session, layer, fid)
    rows = [e["new"] or e["old"] or {} for e in entries]
    communities = {
        r.get("community_id", r.get("id") if layer == "communities" else None) for r in rows
    }
    if not entries or any(c is not None and not who.in_community(c) for c in communities):
        msg = f"图层 {LAYERS[layer].zh} 中 id 为 {fid} 的要素没有修改记录"
        raise NotFound(msg, loc=("path", "fid"))
    return [
        {
            "entry": e["id"],
            "action": e["action"],
            "changed_by": e["changed_by"],
            "channel": e["channel"],
            "changed_at": e["changed_at"].isoformat(),
            "changes": _changes(e, who),
        }
        for e in entries
    ]


class RestoreIn(BaseModel):
    """Which recorded version to go back to."""

    entry: int = Field(ge=1, description="修改记录编号（/history 中的 entry）")


@router.post(
    "/{layer}/{fid}/restore",
    dependencies=[auth.RESTORE],
    summary="恢复到某条修改记录之后的版本（管理员；恢复本身也记入修改记录）",
)
def restore(
    layer: LayerPath, fid: int, body: RestoreIn, session: SessionDep, who: CurrentUser
) -> dict[str, Any]:
    """Put a feature back as it was after a recorded change (or before its deletion)."""
    _layer(layer)
    with session.begin():
        accounts.restore(session, layer, fid, body.entry)
    return _with_version(
        _geojson(_one(session, layer, fid, who), crsmod.WGS84)["features"][0], None
    )
